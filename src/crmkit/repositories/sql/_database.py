"""SQL databases (SQLite, PostgreSQL) and their units of work."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from types import TracebackType
from typing import Any, Self, TypeVar

from sqlalchemy import (
    Connection,
    Engine,
    Row,
    create_engine,
    event,
    func,
    insert,
    select,
    update,
)
from sqlalchemy.exc import DatabaseError, OperationalError
from sqlalchemy.pool import StaticPool

from crmkit._validation import aware_utc
from crmkit.errors import DatabaseLocked, SchemaMismatch, ValidationError
from crmkit.model import Entity, EntitySchema
from crmkit.repositories._base import HistoryPolicy, UnitOfWorkBase, event_record
from crmkit.repositories._catalog import CATALOG
from crmkit.repositories._ports import (
    OutboxMessage,
    Repository,
    StageHistoryRepository,
)
from crmkit.repositories._query import limit_error
from crmkit.repositories.sql._merges import SqlMergeLog
from crmkit.repositories.sql._migrations import CURRENT_VERSION, schema_version, upgrade
from crmkit.repositories.sql._repository import SqlRepository
from crmkit.repositories.sql._stage_history import SqlStageHistory
from crmkit.repositories.sql._tables import OUTBOX
from crmkit.serialization import make_converter

__all__ = ["SqlDatabase", "SqlUnitOfWork"]

_READONLY = "crmkit.readonly"
_OUTBOX_COLUMNS = ("event_type", "entity_type", "entity_id", "at", "payload")

_E = TypeVar("_E", bound=Entity)


@contextmanager
def _translated_errors(engine: Engine) -> Iterator[None]:
    """Turn driver errors a user can act on into crmkit errors."""
    try:
        yield
    except OperationalError as error:
        if "database is locked" in str(error.orig):
            msg = "the database stayed locked by another writer past the busy timeout"
            raise DatabaseLocked(msg) from error
        raise
    except DatabaseError as error:
        if isinstance(error.orig, sqlite3.DatabaseError) and "not a database" in str(
            error.orig
        ):
            msg = f"{engine.url.database} is not a SQLite database"
            raise SchemaMismatch(msg, found=None, expected=CURRENT_VERSION) from error
        raise


class SqlDatabase:
    """
    crmkit's entities in a SQL database: SQLite (the embedded default) or PostgreSQL.

    Building one does no I/O; the first unit of work connects and checks that the
    schema is crmkit's, at this version. `upgrade` creates or upgrades the schema.

    >>> from datetime import datetime, UTC
    >>> from crmkit.model import Person
    >>> db = SqlDatabase.sqlite(":memory:")
    >>> db.upgrade(at=datetime(2026, 11, 22, tzinfo=UTC)) == CURRENT_VERSION
    True
    >>> with db.unit_of_work() as uow:
    ...     uow.people.add(
    ...         Person.create(at=datetime(2026, 11, 22, tzinfo=UTC), first_name="Jean")
    ...     )
    ...     uow.commit()

    Args:
        engine: A SQLAlchemy engine; see `sqlite`, `postgres` and `connect`.
        schemas: Custom field schemas by entity class, so custom values come back typed.
        history: Which fields' changes to record (all by default).

    .. versionadded:: 0.1
    """

    def __init__(
        self,
        engine: Engine,
        *,
        schemas: Mapping[type[Entity], EntitySchema] | None = None,
        history: HistoryPolicy | None = None,
    ) -> None:
        self.engine = engine
        self.converter = make_converter(schemas=schemas)
        self.history_policy = history or HistoryPolicy()
        self._checked = False

    @classmethod
    def sqlite(
        cls,
        path: str | Path = ":memory:",
        *,
        busy_timeout: float = 5.0,
        **options: Any,
    ) -> SqlDatabase:
        """
        A SQLite database file (or ``":memory:"``), the embedded default.

        Files use WAL journaling; foreign keys are on; a writer waits up to
        ``busy_timeout`` seconds for another before `DatabaseLocked` is raised.
        Read-only units start with a plain ``BEGIN`` and never block writers (WAL);
        the others start with ``BEGIN IMMEDIATE``, so two writers queue
        instead of failing halfway.
        """
        in_memory = str(path) == ":memory:"
        engine = create_engine(
            f"sqlite:///{path}",
            connect_args={"check_same_thread": False, "timeout": busy_timeout},
            poolclass=StaticPool if in_memory else None,
        )

        @event.listens_for(engine, "connect")
        def _configure(connection: sqlite3.Connection, _: Any) -> None:
            connection.isolation_level = None
            cursor = connection.cursor()
            if not in_memory:
                cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute(f"PRAGMA busy_timeout={int(busy_timeout * 1000)}")
            cursor.close()

        @event.listens_for(engine, "begin")
        def _begin(connection: Connection) -> None:
            readonly = connection.info.get(_READONLY, False)
            connection.exec_driver_sql("BEGIN" if readonly else "BEGIN IMMEDIATE")

        return cls(engine, **options)

    @classmethod
    def postgres(cls, dsn: str, **options: Any) -> SqlDatabase:
        """A PostgreSQL database, from a ``postgresql://`` DSN (psycopg 3 driver)."""
        try:
            import psycopg  # noqa: F401, PLC0415 - an optional extra
        except ImportError:
            msg = "PostgreSQL needs psycopg: pip install 'crmkit[postgres]'"
            raise ImportError(msg) from None
        url = dsn.replace("postgresql://", "postgresql+psycopg://", 1)
        url = url.replace("postgres://", "postgresql+psycopg://", 1)
        return cls(create_engine(url, pool_pre_ping=True), **options)

    @classmethod
    def connect(cls, target: str | Path, **options: Any) -> SqlDatabase:
        """Open a ``postgresql://`` DSN, or a SQLite path (or ``sqlite:///path``)."""
        text = str(target)
        if text.startswith(("postgresql://", "postgres://")):
            return cls.postgres(text, **options)
        return cls.sqlite(text.removeprefix("sqlite:///"), **options)

    def schema_version(self) -> int:
        """The schema version stored in the database (0 when it is empty)."""
        with _translated_errors(self.engine), self.engine.connect() as connection:
            return schema_version(connection)

    def upgrade(self, *, at: datetime) -> int:
        """Create the schema, or upgrade an older one; return the version reached."""
        at = aware_utc(at, "at")
        with _translated_errors(self.engine), self.engine.begin() as connection:
            version = upgrade(connection, at=at)
        self._checked = True
        return version

    def check(self) -> None:
        """
        Refuse to work on a database that is not at this crmkit's schema version.

        Raises:
            SchemaMismatch: Empty, older, newer, or not a crmkit database.
        """
        found = self.schema_version()
        if found == CURRENT_VERSION:
            self._checked = True
            return
        if found == 0:
            msg = "the database has no crmkit schema yet; run `crmkit init`"
        elif found < CURRENT_VERSION:
            msg = (
                f"the database is at schema version {found}, this crmkit needs "
                f"{CURRENT_VERSION}; run `crmkit db upgrade`"
            )
        else:
            msg = (
                f"the database is at schema version {found}, newer than this crmkit "
                f"({CURRENT_VERSION}); upgrade crmkit"
            )
        raise SchemaMismatch(msg, found=found, expected=CURRENT_VERSION)

    def unit_of_work(self, *, readonly: bool = False) -> SqlUnitOfWork:
        """
        A new unit of work; its first use opens a transaction.

        A ``readonly`` unit refuses writes; on SQLite it reads without the write
        lock, on PostgreSQL its transaction is ``READ ONLY``.
        """
        if not self._checked:
            self.check()
        return SqlUnitOfWork(self, readonly=readonly)

    def dispose(self) -> None:
        """Close every pooled connection."""
        self.engine.dispose()


class SqlUnitOfWork(UnitOfWorkBase):
    """
    One transaction on a `SqlDatabase`; it begins at first use.

    .. versionadded:: 0.1
    """

    indexed_queries = True  # queryable fields are indexed columns and link rows

    def __init__(self, database: SqlDatabase, *, readonly: bool = False) -> None:
        self.database = database
        self.readonly = readonly
        self._connection: Connection | None = None
        self._repositories: dict[type[Entity], SqlRepository[Any]] = {}
        self.stage_history: StageHistoryRepository = SqlStageHistory(self)

    def connection(self) -> Connection:
        """The connection of the current transaction, opened on first use."""
        if self._connection is None:
            with _translated_errors(self.database.engine):
                connection = self.database.engine.connect()
                try:
                    connection.info[_READONLY] = self.readonly
                    connection.begin()
                    if self.readonly and connection.dialect.name == "postgresql":
                        connection.exec_driver_sql("SET TRANSACTION READ ONLY")
                except BaseException:
                    connection.close()
                    raise
            self._connection = connection
        return self._connection

    @property
    def merges(self) -> SqlMergeLog:
        """The merge records, in this transaction."""
        return SqlMergeLog(self)

    def repository(self, cls: type[_E]) -> Repository[_E]:
        """The repository of an entity class."""
        if cls not in CATALOG:
            raise ValidationError.single(
                "cls", cls, "storage.type", f"{cls!r} is not a stored entity type"
            )
        if cls not in self._repositories:
            self._repositories[cls] = SqlRepository(self, cls)
        return self._repositories[cls]

    def record(self, event: Any) -> None:
        """Add a domain event to the outbox, in this transaction."""
        self.record_many([event])

    def record_many(self, events: Iterable[Any]) -> None:
        """Add domain events to the outbox, in order, in this transaction."""
        self.ensure_writable()
        rows = [
            dict(
                zip(
                    _OUTBOX_COLUMNS,
                    event_record(event, self.database.converter),
                    strict=True,
                )
            )
            for event in events
        ]
        if rows:
            self.connection().execute(insert(OUTBOX), rows)

    def pending_messages(self, *, limit: int = 100) -> list[OutboxMessage]:
        """Outbox messages not yet published, oldest first."""
        bad_limit = limit_error(limit)
        if bad_limit is not None:
            raise ValidationError([bad_limit])
        rows = self.connection().execute(
            select(OUTBOX)
            .where(OUTBOX.c.published_at.is_(None))
            .order_by(OUTBOX.c.id)
            .limit(limit)
        )
        return [_message(row) for row in rows]

    def messages(
        self, *, after: int = 0, limit: int = 100, ids: Iterable[int] | None = None
    ) -> list[OutboxMessage]:
        """Outbox messages, published or not, by id: after ``after``, or ``ids``."""
        bad_limit = limit_error(limit)
        if bad_limit is not None:
            raise ValidationError([bad_limit])
        query = select(OUTBOX).order_by(OUTBOX.c.id)
        if ids is not None:
            query = query.where(OUTBOX.c.id.in_(sorted(set(ids))))
        else:
            query = query.where(OUTBOX.c.id > after).limit(limit)
        return [_message(row) for row in self.connection().execute(query)]

    def last_message_id(self) -> int:
        """The id of the newest outbox message (0 when there is none)."""
        newest = self.connection().execute(select(func.max(OUTBOX.c.id))).scalar()
        return int(newest or 0)

    def mark_published(self, message_ids: Iterable[int], *, at: datetime) -> None:
        """Mark outbox messages as published."""
        self.ensure_writable()
        at = aware_utc(at, "at")
        ids = list(message_ids)
        if ids:
            self.connection().execute(
                update(OUTBOX).where(OUTBOX.c.id.in_(ids)).values(published_at=at)
            )

    def commit(self) -> None:
        """Commit the transaction; the next use begins a new one."""
        if self._connection is None:
            return
        try:
            with _translated_errors(self.database.engine):
                self._connection.commit()
        finally:
            self._close()

    def rollback(self) -> None:
        """Roll the transaction back."""
        if self._connection is not None:
            try:
                self._connection.rollback()
            finally:
                self._close()

    def _close(self) -> None:
        if self._connection is not None:
            self._connection.close()
            self._connection = None

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.rollback()


def _message(row: Row[Any]) -> OutboxMessage:
    return OutboxMessage(
        id=row.id,
        event_type=row.event_type,
        entity_type=row.entity_type,
        entity_id=row.entity_id,
        at=row.at,
        payload=row.payload,
    )
