"""
Round-robin cursors in crmkit's SQL database (SQLite or PostgreSQL).

Turns are taken, one or a block at a time, with one atomic ``INSERT ... ON
CONFLICT DO UPDATE ... RETURNING``, so routers in several processes sharing a
database never get the same turn, and a restarted router continues where the
last one stopped. The table
(``routing_cursor``) comes with schema version 2: run ``crmkit db upgrade``.
"""

from __future__ import annotations

from sqlalchemy import Executable, select
from sqlalchemy.dialects import postgresql, sqlite

from crmkit import _public
from crmkit.repositories.sql import SqlDatabase
from crmkit.repositories.sql._tables import ROUTING_CURSORS
from crmkit.routing._state import _check_count

__all__ = ["SqlCursorStore"]


def _increment(dialect: str, key: str, count: int) -> Executable:
    """Insert the key at ``count``, or add ``count`` to it; return the new position."""
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    upsert = insert(ROUTING_CURSORS).values(key=key, position=count)
    return upsert.on_conflict_do_update(
        index_elements=[ROUTING_CURSORS.c.key],
        set_={"position": ROUTING_CURSORS.c.position + count},
    ).returning(ROUTING_CURSORS.c.position)


class SqlCursorStore:
    """
    A `crmkit.routing.CursorStore` in a crmkit SQL database.

    >>> from crmkit.repositories.sql import SqlDatabase
    >>> from datetime import datetime, UTC
    >>> database = SqlDatabase.sqlite(":memory:")
    >>> _ = database.upgrade(at=datetime(2026, 3, 2, tzinfo=UTC))
    >>> store = SqlCursorStore(database)
    >>> store.take("team:fr"), store.take("team:fr"), store.position("team:fr")
    (0, 1, 2)

    .. versionadded:: 0.1
    """

    def __init__(self, database: SqlDatabase) -> None:
        self._database = database
        self._checked = False

    def _check(self) -> None:
        if not self._checked:
            self._database.check()
            self._checked = True

    def take(self, key: str) -> int:
        """Reserve the next turn of ``key`` atomically and return it."""
        return self.take_many(key, 1)

    def take_many(self, key: str, count: int) -> int:
        """Reserve the next ``count`` turns of ``key`` atomically; return the first."""
        _check_count(count)
        self._check()
        engine = self._database.engine
        statement = _increment(engine.dialect.name, key, count)
        with engine.begin() as connection:
            position = connection.execute(statement).scalar_one()
        return int(position) - count

    def position(self, key: str) -> int:
        """The next turn of ``key``, without taking it."""
        self._check()
        query = select(ROUTING_CURSORS.c.position).where(ROUTING_CURSORS.c.key == key)
        with self._database.engine.connect() as connection:
            found = connection.execute(query).scalar_one_or_none()
        return int(found or 0)


_public.publish(globals(), __all__)
