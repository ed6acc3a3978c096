"""One SQL repository for SQLite and PostgreSQL, written with SQLAlchemy Core."""

from __future__ import annotations

import functools
from collections.abc import Iterable, Iterator, Mapping, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any, TypeVar
from uuid import UUID

from sqlalchemy import (
    ColumnElement,
    Connection,
    Select,
    Table,
    and_,
    bindparam,
    delete,
    false,
    func,
    insert,
    or_,
    select,
    true,
    update,
)
from sqlalchemy.exc import IntegrityError

from crmkit._validation import aware_utc
from crmkit.errors import AlreadyExists, ConcurrencyError, NotFound
from crmkit.ids import UserId
from crmkit.model import (
    Entity,
)
from crmkit.repositories._base import RepositoryBase
from crmkit.repositories._catalog import CATALOG, EntityCatalog
from crmkit.repositories._ports import FieldHistoryEntry
from crmkit.repositories._query import (
    Condition,
    Op,
    Page,
    Query,
    SortKey,
    encode_cursor,
)
from crmkit.repositories.sql._tables import (
    CONTACT_POINTS,
    ENTITY_LINKS,
    ENTITY_TABLES,
    EXTERNAL_IDS,
    FIELD_HISTORY,
)
from crmkit.serialization import from_dict, to_dict

if TYPE_CHECKING:
    from crmkit.repositories.sql._database import SqlUnitOfWork

__all__ = ["SqlRepository"]

_E = TypeVar("_E", bound=Entity)
_T = TypeVar("_T")
_CHUNK = 500
"""Values per ``IN (...)``: well under SQLite's and PostgreSQL's bind limits."""


def _condition(column: Any, condition: Condition) -> ColumnElement[bool]:
    op, value = condition.op, condition.value
    if op == Op.IS_NULL:
        return column.is_(None) if value else column.is_not(None)  # type: ignore[no-any-return]
    clauses: dict[Op, Any] = {
        Op.EQ: lambda: column == value,
        Op.NE: lambda: and_(column.is_not(None), column != value),
        Op.LT: lambda: column < value,
        Op.LTE: lambda: column <= value,
        Op.GT: lambda: column > value,
        Op.GTE: lambda: column >= value,
        Op.IN: lambda: column.in_(value) if value else false(),
    }
    return clauses[op]()  # type: ignore[no-any-return]


def _after(
    keys: Sequence[tuple[Any, bool]], cursor: Sequence[Any]
) -> ColumnElement[bool]:
    """
    Rows strictly after ``cursor`` in the sort ``keys`` (column, descending).

    Empty values sort last (first when descending), as in the memory adapter, so
    each key is compared as (is empty, value).
    """
    alternatives = []
    for index, ((column, descending), value) in enumerate(
        zip(keys, cursor, strict=True)
    ):
        earlier = [
            column_.is_(None) if previous is None else column_ == previous
            for (column_, _), previous in zip(keys[:index], cursor[:index], strict=True)
        ]
        if value is None:
            beyond: ColumnElement[bool] = (
                false() if not descending else column.is_not(None)
            )
        elif descending:
            beyond = column < value
        else:
            beyond = or_(column > value, column.is_(None))
        alternatives.append(and_(true(), *earlier, beyond))
    return or_(*alternatives)


class SqlRepository(RepositoryBase[_E]):
    """Stored entities of one type, inside one `SqlUnitOfWork`'s transaction."""

    _unit: SqlUnitOfWork

    def __init__(self, unit: SqlUnitOfWork, cls: type[_E]) -> None:
        self._unit = unit
        self._cls = cls
        self._catalog: EntityCatalog = CATALOG[cls]
        self._table: Table = ENTITY_TABLES[cls]
        self._type = cls.entity_type

    @property
    def _connection(self) -> Connection:
        return self._unit.connection()

    def _load(self, data: Any) -> _E:
        return from_dict(self._cls, data, converter=self._unit.database.converter)

    def _dump(self, entity: Entity) -> dict[str, Any]:
        data: dict[str, Any] = to_dict(entity, converter=self._unit.database.converter)
        return data

    # Reading --------------------------------------------------------------------

    def _select_row(self, entity_id: UUID, *, lock: bool = False) -> Any:
        statement = _row_by_id(self._table, lock=lock)
        return self._connection.execute(statement, {"id": entity_id}).first()

    def get(self, entity_id: UUID, *, include_archived: bool = False) -> _E:
        """Return the entity, or raise `NotFound`."""
        row = self._select_row(entity_id)
        if row is None or (row.archived_at is not None and not include_archived):
            raise NotFound(self._type, entity_id)
        return self._load(row.data)

    def get_many(self, entity_ids: Iterable[UUID]) -> list[_E]:
        """Return the entities in the order asked; `NotFound` names any missing."""
        ids = list(entity_ids)
        found: dict[UUID, Any] = {}
        for chunk in _chunks(ids):
            rows = self._connection.execute(
                select(self._table.c.id, self._table.c.data).where(
                    self._table.c.id.in_(chunk), self._table.c.archived_at.is_(None)
                )
            )
            found.update((row.id, row.data) for row in rows)
        missing = [i for i in ids if i not in found]
        if missing:
            raise NotFound(self._type, ", ".join(map(str, missing)))
        return [self._load(found[i]) for i in ids]

    def _filters(self, query: Query) -> list[ColumnElement[bool]]:
        filters = [
            self._holding(name, c.value)
            if c.op == Op.CONTAINS
            else _condition(self._table.c[name], c)
            for name, c in query.where
        ]
        if not query.include_archived:
            filters.append(self._table.c.archived_at.is_(None))
        return filters

    def find(
        self,
        *,
        where: Mapping[str, Any] | None = None,
        order_by: str | Sequence[str] = "created_at",
        limit: int = 100,
        after: str | None = None,
        include_archived: bool = False,
    ) -> Page[_E]:
        """Return one page of entities matching every condition, in order."""
        query = self._query(where, order_by, limit, after, include_archived)
        keys = [(self._table.c[key.field], key.descending) for key in query.order_by]
        filters = self._filters(query)
        if query.after is not None:
            filters.append(_after(keys, query.after))
        statement = (
            select(self._table.c.data, *(column for column, _ in keys))
            .where(*filters)
            .order_by(*_ordering(keys))
            .limit(query.limit + 1)
        )
        rows = self._connection.execute(statement).all()
        page = rows[: query.limit]
        cursor = None
        if len(rows) > query.limit:
            cursor = encode_cursor(_cursor_values(page[-1], query.order_by))
        return Page(tuple(self._load(row.data) for row in page), cursor)

    def _holding(self, field: str, target: UUID) -> ColumnElement[bool]:
        """The entities whose ``field`` holds ``target``, through the link index."""
        links = ENTITY_LINKS.c
        holders = select(links.entity_id).where(
            links.entity_type == self._type,
            links.field == field,
            links.target_id == target,
        )
        return self._table.c.id.in_(holders)

    def count(
        self, *, where: Mapping[str, Any] | None = None, include_archived: bool = False
    ) -> int:
        """Count the entities matching every condition."""
        query = self._query(where, "id", 1, None, include_archived)
        statement = (
            select(func.count()).select_from(self._table).where(*self._filters(query))
        )
        return int(self._connection.execute(statement).scalar_one())

    def _by_point(self, kind: str, value: str) -> list[_E]:
        rows = self._connection.execute(
            _point_lookup(self._table),
            {"entity_type": self._type, "kind": kind, "value": value},
        )
        return [self._load(row.data) for row in rows]

    def find_by_external_id(self, system: str, value: str) -> _E | None:
        """
        The entity known as ``value`` in another ``system``, if any.

        Archived entities are found too: they keep their external ids taken.
        """
        return self.find_by_external_ids(system, [value]).get(value)

    def find_by_external_ids(self, system: str, values: Iterable[str]) -> dict[str, _E]:
        """The entities known by ``values`` in ``system``, keyed by value."""
        ids = EXTERNAL_IDS.c
        found: dict[str, _E] = {}
        for chunk in _chunks(sorted(set(values))):
            statement = (
                select(ids.value, self._table.c.data)
                .join(EXTERNAL_IDS, ids.entity_id == self._table.c.id)
                .where(
                    ids.entity_type == self._type,
                    ids.system == system,
                    ids.value.in_(chunk),
                )
            )
            for row in self._connection.execute(statement):
                found[row.value] = self._load(row.data)
        return found

    def history(self, entity_id: UUID) -> list[FieldHistoryEntry]:
        """Every recorded field change of the entity, oldest first."""
        table = FIELD_HISTORY.c
        rows = self._connection.execute(
            select(FIELD_HISTORY)
            .where(table.entity_type == self._type, table.entity_id == entity_id)
            .order_by(table.id)
        )
        return [
            FieldHistoryEntry(
                entity_type=row.entity_type,
                entity_id=row.entity_id,
                version=row.version,
                field=row.field,
                old=row.old,
                new=row.new,
                actor=row.actor,
                at=row.at,
            )
            for row in rows
        ]

    # Writing --------------------------------------------------------------------

    def _columns(self, entity: Entity) -> dict[str, Any]:
        values = self._catalog.values(entity)
        values["data"] = self._dump(entity)
        return values

    def _check_external_ids(self, entity: Entity) -> None:
        for system, value in self._catalog.external_ids(entity):
            owner = self._connection.execute(
                select(EXTERNAL_IDS.c.entity_id).where(
                    EXTERNAL_IDS.c.entity_type == self._type,
                    EXTERNAL_IDS.c.system == system,
                    EXTERNAL_IDS.c.value == value,
                )
            ).scalar()
            if owner is not None and owner != entity.id:
                raise AlreadyExists(self._type, f"external id {system}", value)

    def _write_lookups(self, entity: Entity) -> None:
        self._delete_lookups(entity.id)
        points = [
            {"entity_type": self._type, "entity_id": entity.id, "kind": k, "value": v}
            for k, v in self._catalog.contact_points(entity)
        ]
        if points:
            self._connection.execute(insert(CONTACT_POINTS), points)
        external = [
            {"entity_type": self._type, "system": s, "value": v, "entity_id": entity.id}
            for s, v in self._catalog.external_ids(entity)
        ]
        links = self._links([entity])
        if links:
            self._connection.execute(insert(ENTITY_LINKS), links)
        if external:
            try:
                self._connection.execute(insert(EXTERNAL_IDS), external)
            except IntegrityError:
                # Another transaction took the id between our check and now.
                taken = ", ".join(f"{e['system']}={e['value']}" for e in external)
                raise AlreadyExists(self._type, "external id", taken) from None

    def _links(self, entities: Iterable[Entity]) -> list[dict[str, Any]]:
        """The link index rows of ``entities``: one per id a list field holds."""
        return [
            {
                "entity_type": self._type,
                "field": field,
                "target_id": target,
                "entity_id": entity.id,
            }
            for entity in entities
            for field, target in self._catalog.links(entity)
        ]

    def _delete_lookups(self, entity_id: UUID) -> None:
        for table in (CONTACT_POINTS, EXTERNAL_IDS, ENTITY_LINKS):
            self._connection.execute(
                delete(table).where(
                    table.c.entity_type == self._type, table.c.entity_id == entity_id
                )
            )

    def add(self, entity: _E, *, actor: UserId | None = None) -> None:
        """Store a new entity; `AlreadyExists` if its id or an external id is taken."""
        self.add_many([entity], actor=actor)

    def add_many(self, entities: Iterable[_E], *, actor: UserId | None = None) -> None:
        """Store new entities together; all or nothing (see `Repository.add_many`)."""
        self._unit.ensure_writable()
        batch = self._new_batch(entities)
        if not batch:
            return
        self._check_free(batch)
        rows = [self._columns(entity) for entity in batch]
        points = [
            {"entity_type": self._type, "entity_id": entity.id, "kind": k, "value": v}
            for entity in batch
            for k, v in self._catalog.contact_points(entity)
        ]
        external = [
            {"entity_type": self._type, "system": s, "value": v, "entity_id": entity.id}
            for entity in batch
            for s, v in self._catalog.external_ids(entity)
        ]
        links = self._links(batch)
        connection = self._connection
        try:
            with connection.begin_nested():
                connection.execute(insert(self._table), rows)
                if points:
                    connection.execute(insert(CONTACT_POINTS), points)
                if links:
                    connection.execute(insert(ENTITY_LINKS), links)
                if external:
                    connection.execute(insert(EXTERNAL_IDS), external)
        except IntegrityError:
            # Another transaction took an id or external id since _check_free.
            raise AlreadyExists(
                self._type, "id or external id", "taken by a concurrent transaction"
            ) from None
        self._unit.record_many(self._created_event(e, actor) for e in batch)

    def _check_free(self, batch: Sequence[_E]) -> None:
        """Refuse a batch whose ids or external ids are already stored."""
        table = self._table
        for chunk in _chunks([entity.id for entity in batch]):
            taken = self._connection.execute(
                select(table.c.id).where(table.c.id.in_(chunk)).order_by(table.c.id)
            ).scalar()
            if taken is not None:
                raise AlreadyExists(self._type, "id", taken)
        ids = EXTERNAL_IDS.c
        for system, values in sorted(self._claims(batch).items()):
            for values_chunk in _chunks(sorted(values)):
                held = self._connection.execute(
                    select(ids.value)
                    .where(
                        ids.entity_type == self._type,
                        ids.system == system,
                        ids.value.in_(values_chunk),
                    )
                    .order_by(ids.value)
                ).scalar()
                if held is not None:
                    raise AlreadyExists(self._type, f"external id {system}", held)

    def update(self, entity: _E, *, actor: UserId | None = None) -> None:
        """Store a new version; the stored one must be at ``entity.version - 1``."""
        self._unit.ensure_writable()
        self._check_type(entity)
        row = self._select_row(entity.id, lock=True)
        if row is None or row.archived_at is not None:
            raise NotFound(self._type, entity.id)
        old = self._load(row.data)
        expected = entity.version - 1
        if old.version != expected:
            raise ConcurrencyError(
                self._type,
                entity.id,
                expected_version=expected,
                actual_version=old.version,
            )
        self._check_external_ids(entity)
        result = self._connection.execute(
            update(self._table)
            .where(self._table.c.id == entity.id, self._table.c.version == expected)
            .values(**self._columns(entity))
        )
        if result.rowcount != 1:
            raise ConcurrencyError(
                self._type, entity.id, expected_version=expected, actual_version=None
            )
        self._write_lookups(entity)
        database = self._unit.database
        entries = database.history_policy.entries(
            old, entity, actor=actor, plain=database.converter.unstructure
        )
        if entries:
            self._connection.execute(
                insert(FIELD_HISTORY),
                [
                    {
                        "entity_type": e.entity_type,
                        "entity_id": e.entity_id,
                        "version": e.version,
                        "field": e.field,
                        "old": e.old,
                        "new": e.new,
                        "actor": e.actor,
                        "at": e.at,
                    }
                    for e in entries
                ],
            )
        self._record_updated(old, entity, actor)

    def delete(
        self,
        entity_id: UUID,
        *,
        at: datetime,
        actor: UserId | None = None,
        hard: bool = False,
    ) -> None:
        """Archive the entity (it can be restored), or erase it with ``hard=True``."""
        self._unit.ensure_writable()
        at = aware_utc(at, "at")
        table = self._table
        if hard:
            result = self._connection.execute(
                delete(table).where(table.c.id == entity_id)
            )
            if result.rowcount != 1:
                raise NotFound(self._type, entity_id)
            self._delete_lookups(entity_id)
        else:
            result = self._connection.execute(
                update(table)
                .where(table.c.id == entity_id, table.c.archived_at.is_(None))
                .values(archived_at=at)
            )
            if result.rowcount != 1:
                raise NotFound(self._type, entity_id)
        self._record_removed(entity_id, at=at, actor=actor, hard=hard)

    def restore(
        self, entity_id: UUID, *, at: datetime, actor: UserId | None = None
    ) -> None:
        """Bring an archived entity back."""
        self._unit.ensure_writable()
        at = aware_utc(at, "at")
        table = self._table
        result = self._connection.execute(
            update(table)
            .where(table.c.id == entity_id, table.c.archived_at.is_not(None))
            .values(archived_at=None)
        )
        if result.rowcount != 1:
            raise NotFound(self._type, entity_id)
        self._record_restored(entity_id, at=at, actor=actor)


@functools.cache
def _row_by_id(table: Table, *, lock: bool) -> Select[tuple[Any, Any]]:
    """One row's document and archive time, built once per table."""
    statement = select(table.c.data, table.c.archived_at).where(
        table.c.id == bindparam("id")
    )
    return statement.with_for_update() if lock else statement


@functools.cache
def _point_lookup(table: Table) -> Select[tuple[Any]]:
    """
    The live entities of ``table`` having one contact point, built once per table.

    Lookups by email and phone are the hottest reads; building the statement
    each time cost more than running it.
    """
    points = CONTACT_POINTS.c
    return (
        select(table.c.data)
        .join(CONTACT_POINTS, points.entity_id == table.c.id)
        .where(
            points.entity_type == bindparam("entity_type"),
            points.kind == bindparam("kind"),
            points.value == bindparam("value"),
            table.c.archived_at.is_(None),
        )
        .order_by(table.c.id)
    )


def _chunks(values: Sequence[_T]) -> Iterator[Sequence[_T]]:
    """``values`` in slices small enough for one ``IN (...)`` on every dialect."""
    for start in range(0, len(values), _CHUNK):
        yield values[start : start + _CHUNK]


def _ordering(keys: Sequence[tuple[Any, bool]]) -> list[Any]:
    """ORDER BY terms: empty values last ascending, first descending, on any dialect."""
    terms = []
    for column, descending in keys:
        if descending:
            terms += [column.is_(None).desc(), column.desc()]
        else:
            terms += [column.is_(None).asc(), column.asc()]
    return terms


def _cursor_values(row: Any, order_by: Sequence[SortKey]) -> list[Any]:
    return [row._mapping[key.field] for key in order_by]  # noqa: SLF001 - SQLAlchemy's API
