"""
An in-memory database: the reference implementation of crmkit's storage ports.

It behaves like the SQL adapters (the same contract suite runs on both), so it can
stand in for them in an application's tests. Units of work stage their writes and
apply them at commit, after checking that nobody changed the same entities since;
a lock makes commits atomic across threads.

>>> from datetime import datetime, UTC
>>> from crmkit.model import Person
>>> db = MemoryDatabase()
>>> with db.unit_of_work() as uow:
...     uow.people.add(
...         Person.create(at=datetime(2026, 11, 22, tzinfo=UTC), first_name="Jean")
...     )
...     uow.commit()
>>> with db.unit_of_work() as uow:
...     uow.people.count()
1
"""

from __future__ import annotations

import bisect
import functools
import heapq
import itertools
import threading
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from datetime import datetime
from types import TracebackType
from typing import Any, Self, TypeVar
from uuid import UUID

import attrs

from crmkit._validation import aware_utc
from crmkit.errors import AlreadyExists, ConcurrencyError, NotFound, ValidationError
from crmkit.ids import UserId
from crmkit.model import (
    Entity,
)
from crmkit.repositories._base import (
    HistoryPolicy,
    RepositoryBase,
    UnitOfWorkBase,
    event_record,
)
from crmkit.repositories._catalog import CATALOG, EntityCatalog
from crmkit.repositories._merges import MemoryMergeLog, MergeRecord
from crmkit.repositories._ports import (
    FieldHistoryEntry,
    OutboxMessage,
    Repository,
    StageEntry,
    StageHistoryRepository,
    StageVisit,
)
from crmkit.repositories._query import (
    Condition,
    Op,
    Page,
    Query,
    encode_cursor,
    limit_error,
)
from crmkit.repositories._stages import chain_stays, check_entries, check_override
from crmkit.serialization import make_converter

__all__ = ["MemoryDatabase", "MemoryStageHistory", "MemoryUnitOfWork"]

_E = TypeVar("_E", bound=Entity)
_Key = tuple[type[Entity], UUID]


@attrs.frozen
class _Row:
    entity: Entity
    archived_at: datetime | None = None


class MemoryDatabase:
    """
    Entities, field history and an outbox, held in memory.

    Args:
        history: Which fields' changes to record (all by default).

    .. versionadded:: 0.1
    """

    def __init__(self, *, history: HistoryPolicy | None = None) -> None:
        self.history_policy = history or HistoryPolicy()
        self.converter = make_converter()
        self._lock = threading.Lock()
        # Rows by type, so that reading one type never walks the others.
        self._rows: dict[type[Entity], dict[UUID, _Row]] = {}
        self._points: dict[tuple[type[Entity], str, str], set[UUID]] = {}
        self._external: dict[tuple[type[Entity], str, str], UUID] = {}
        self._history: list[FieldHistoryEntry] = []
        self._stays: dict[UUID, tuple[StageVisit, ...]] = {}
        self._outbox: list[OutboxMessage] = []
        self._message_ids = itertools.count(1)
        self._published: set[int] = set()
        self._merges: dict[UUID, MergeRecord] = {}

    def unit_of_work(self, *, readonly: bool = False) -> MemoryUnitOfWork:
        """A new unit of work over this database; a ``readonly`` one refuses writes."""
        return MemoryUnitOfWork(self, readonly=readonly)

    def _apply(self, unit: MemoryUnitOfWork) -> None:
        with self._lock:
            for key, seen in unit.seen_rows.items():
                current = self._stored(key)
                # Rows are replaced, never changed: any other commit since the
                # unit read this one (an update, an archive) is a new object.
                if current is not seen:
                    raise ConcurrencyError(
                        key[0].entity_type,
                        key[1],
                        expected_version=-1 if seen is None else seen.entity.version,
                        actual_version=None
                        if current is None
                        else current.entity.version,
                    )
            for deal_id, seen_stays in unit.seen_stays.items():
                current_stays = self._stays.get(deal_id)
                # A deal's stays are replaced as a whole, like rows.
                if current_stays is not seen_stays:
                    raise ConcurrencyError(
                        "deal stage history",
                        deal_id,
                        expected_version=len(seen_stays or ()),
                        actual_version=len(current_stays or ()),
                    )
            self._check_external_ids(unit)
            for key, row in unit.writes.items():
                self._unindex(key)
                rows = self._rows.setdefault(key[0], {})
                if row is None:
                    rows.pop(key[1], None)
                else:
                    rows[key[1]] = row
                    self._index(key, row)
            self._history.extend(unit.new_history)
            self._stays.update(unit.new_stays)
            self._outbox.extend(unit.new_events)
            # Ids are taken when events are recorded; units commit in any order.
            self._outbox.sort(key=_message_id)
            self._published.update(unit.new_published)
            self._merges.update(unit.new_merges)

    def _check_external_ids(self, unit: MemoryUnitOfWork) -> None:
        """Refuse a commit that would give two entities one external id."""
        claimed: dict[tuple[type[Entity], str, str], UUID] = {}
        for (cls, entity_id), row in unit.writes.items():
            if row is None:
                continue
            for system, value in CATALOG[cls].external_ids(row.entity):
                key = (cls, system, value)
                owner = claimed.get(key, self._external.get(key))
                rewritten = owner is not None and (cls, owner) in unit.writes
                if owner is not None and owner != entity_id and not rewritten:
                    raise AlreadyExists(cls.entity_type, f"external id {system}", value)
                claimed[key] = entity_id

    def _index(self, key: _Key, row: _Row) -> None:
        cls, entity_id = key
        catalog = CATALOG[cls]
        for kind, value in catalog.contact_points(row.entity):
            self._points.setdefault((cls, kind, value), set()).add(entity_id)
        for system, value in catalog.external_ids(row.entity):
            self._external[(cls, system, value)] = entity_id

    def _stored(self, key: _Key) -> _Row | None:
        """The committed row of an entity, if any."""
        return self._rows.get(key[0], {}).get(key[1])

    def _unindex(self, key: _Key) -> None:
        row = self._stored(key)
        if row is None:
            return
        cls, entity_id = key
        catalog = CATALOG[cls]
        for kind, value in catalog.contact_points(row.entity):
            self._points.get((cls, kind, value), set()).discard(entity_id)
        for system, value in catalog.external_ids(row.entity):
            self._external.pop((cls, system, value), None)


class MemoryUnitOfWork(UnitOfWorkBase):
    """
    A transaction over a `MemoryDatabase`: writes are staged until `commit`.

    .. versionadded:: 0.1
    """

    indexed_queries = False  # every query reads the whole table

    def __init__(self, database: MemoryDatabase, *, readonly: bool = False) -> None:
        self.database = database
        self.readonly = readonly
        self.writes: dict[_Key, _Row | None] = {}
        self.seen_rows: dict[_Key, _Row | None] = {}
        self.new_history: list[FieldHistoryEntry] = []
        self.new_stays: dict[UUID, tuple[StageVisit, ...]] = {}
        self.seen_stays: dict[UUID, tuple[StageVisit, ...] | None] = {}
        self.stage_history: StageHistoryRepository = MemoryStageHistory(self)
        self.new_events: list[OutboxMessage] = []
        self.new_published: set[int] = set()
        self.new_merges: dict[UUID, MergeRecord] = {}
        self._repositories: dict[type[Entity], MemoryRepository[Any]] = {}

    @property
    def merges(self) -> MemoryMergeLog:
        """The merge records, staged with the unit's other writes."""
        return MemoryMergeLog(
            self.database._merges,  # noqa: SLF001 - the unit's own database
            self.new_merges,
            ensure_writable=self.ensure_writable,
        )

    def repository(self, cls: type[_E]) -> Repository[_E]:
        """The repository of an entity class."""
        if cls not in CATALOG:
            raise ValidationError.single(
                "cls", cls, "storage.type", f"{cls!r} is not a stored entity type"
            )
        if cls not in self._repositories:
            self._repositories[cls] = MemoryRepository(self, cls)
        return self._repositories[cls]

    def record(self, event: Any) -> None:
        """Add a domain event to the outbox, stored when the unit commits."""
        self.ensure_writable()
        event_type, entity_type, entity_id, at, payload = event_record(
            event, self.database.converter
        )
        with self.database._lock:  # noqa: SLF001 - ids are taken like a SQL sequence's
            number = next(self.database._message_ids)  # noqa: SLF001
        self.new_events.append(
            OutboxMessage(
                id=number,
                event_type=event_type,
                entity_type=entity_type,
                entity_id=entity_id,
                at=at,
                payload=payload,
            )
        )

    def pending_messages(self, *, limit: int = 100) -> list[OutboxMessage]:
        """Outbox messages not yet published, oldest first."""
        bad_limit = limit_error(limit)
        if bad_limit is not None:
            raise ValidationError([bad_limit])
        published = self.database._published | self.new_published  # noqa: SLF001
        messages = heapq.merge(
            self.database._outbox,  # noqa: SLF001
            self.new_events,
            key=_message_id,
        )
        pending = (m for m in messages if m.id not in published)
        return list(itertools.islice(pending, limit))

    def mark_published(self, message_ids: Iterable[int], *, at: datetime) -> None:
        """Mark outbox messages as published."""
        self.ensure_writable()
        aware_utc(at, "at")
        self.new_published.update(message_ids)

    def messages(
        self, *, after: int = 0, limit: int = 100, ids: Iterable[int] | None = None
    ) -> list[OutboxMessage]:
        """Outbox messages, published or not, by id: after ``after``, or ``ids``."""
        bad_limit = limit_error(limit)
        if bad_limit is not None:
            raise ValidationError([bad_limit])
        stored = self.database._outbox  # noqa: SLF001
        if ids is not None:
            wanted = set(ids)
            found = (m for m in (*stored, *self.new_events) if m.id in wanted)
            return sorted(found, key=_message_id)
        start = bisect.bisect_right(stored, after, key=_message_id)
        later = heapq.merge(
            itertools.islice(stored, start, None),
            (m for m in self.new_events if m.id > after),
            key=_message_id,
        )
        return list(itertools.islice(later, limit))

    def last_message_id(self) -> int:
        """The id of the newest outbox message (0 when there is none)."""
        newest = (*self.database._outbox[-1:], *self.new_events)  # noqa: SLF001
        return max((m.id for m in newest), default=0)

    def commit(self) -> None:
        """Apply every staged change atomically, or raise `ConcurrencyError`."""
        try:
            self.database._apply(self)  # noqa: SLF001
        finally:
            self.rollback()

    def rollback(self) -> None:
        """Drop every staged change."""
        self.writes.clear()
        self.seen_rows.clear()
        self.new_history.clear()
        self.new_stays.clear()
        self.seen_stays.clear()
        self.new_events.clear()
        self.new_published.clear()
        self.new_merges.clear()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.rollback()


class MemoryStageHistory:
    """
    Stage history as seen from one `MemoryUnitOfWork`: each deal's stays, in order.

    .. versionadded:: 0.1
    """

    def __init__(self, unit: MemoryUnitOfWork) -> None:
        self._unit = unit

    def _stays(self, deal_id: UUID) -> tuple[StageVisit, ...]:
        staged = self._unit.new_stays.get(deal_id)
        if staged is not None:
            return staged
        return self._unit.database._stays.get(deal_id, ())  # noqa: SLF001

    def _stage(self, deal_id: UUID, stays: tuple[StageVisit, ...]) -> None:
        seen = self._unit.database._stays.get(deal_id)  # noqa: SLF001
        self._unit.seen_stays.setdefault(deal_id, seen)
        self._unit.new_stays[deal_id] = stays

    def enter(self, entries: Iterable[StageEntry]) -> None:
        """Record deals entering stages, in order (see `StageHistoryRepository`)."""
        self._unit.ensure_writable()
        checked = check_entries(entries)
        open_stays = {}
        for entry in checked:
            stays = self._stays(entry.deal_id)
            if stays and stays[-1].exited_at is None:
                open_stays[entry.deal_id] = stays[-1]
        closed, new = chain_stays(checked, open_stays)
        added: dict[UUID, list[StageVisit]] = {}
        for stay in new:
            added.setdefault(stay.deal_id, []).append(stay)
        for deal_id, stays_added in added.items():
            kept = self._stays(deal_id)
            if deal_id in closed:
                kept = (*kept[:-1], closed[deal_id])
            self._stage(deal_id, (*kept, *stays_added))

    def override(
        self,
        deal_id: UUID,
        probability: float,
        *,
        at: datetime,
        actor: UserId | None = None,
    ) -> None:
        """Record an owner's probability on the deal's open stay."""
        self._unit.ensure_writable()
        stays = self._stays(deal_id)
        if not stays or stays[-1].exited_at is not None:
            raise NotFound("open stage stay of deal", deal_id)
        value, at = check_override(stays[-1], probability, at)
        changed = attrs.evolve(stays[-1], override=value, override_by=actor)
        self._stage(deal_id, (*stays[:-1], changed))

    def visits(self, deal_id: UUID) -> list[StageVisit]:
        """The deal's stays, oldest first (empty when it has none)."""
        return list(self._stays(deal_id))

    def visits_of(self, deal_ids: Iterable[UUID]) -> dict[UUID, list[StageVisit]]:
        """The stays of many deals; every id asked is a key."""
        return {deal_id: list(self._stays(deal_id)) for deal_id in deal_ids}


class MemoryRepository(RepositoryBase[_E]):
    """Stored entities of one type, as seen from one `MemoryUnitOfWork`."""

    _unit: MemoryUnitOfWork

    def __init__(self, unit: MemoryUnitOfWork, cls: type[_E]) -> None:
        self._unit = unit
        self._db = unit.database
        self._cls = cls
        self._catalog: EntityCatalog = CATALOG[cls]

    # Reading --------------------------------------------------------------------

    def _row(self, entity_id: UUID) -> _Row | None:
        key = (self._cls, entity_id)
        if key in self._unit.writes:
            return self._unit.writes[key]
        return self._db._stored(key)  # noqa: SLF001

    def _all_rows(self) -> Iterator[_Row]:
        staged = {k: r for k, r in self._unit.writes.items() if k[0] is self._cls}
        stored = self._db._rows.get(self._cls, {})  # noqa: SLF001
        for entity_id, row in list(stored.items()):
            if (self._cls, entity_id) not in staged:
                yield row
        yield from (row for row in staged.values() if row is not None)

    def get(self, entity_id: UUID, *, include_archived: bool = False) -> _E:
        """Return the entity, or raise `NotFound`."""
        row = self._row(entity_id)
        if row is None or (row.archived_at is not None and not include_archived):
            raise NotFound(self._cls.entity_type, entity_id)
        return row.entity  # type: ignore[return-value]

    def get_many(self, entity_ids: Iterable[UUID]) -> list[_E]:
        """Return the entities in the order asked; `NotFound` names any missing."""
        ids = list(entity_ids)
        rows = [self._row(i) for i in ids]
        missing = [
            i for i, r in zip(ids, rows, strict=True) if r is None or r.archived_at
        ]
        if missing:
            raise NotFound(self._cls.entity_type, ", ".join(map(str, missing)))
        return [r.entity for r in rows if r is not None]  # type: ignore[misc]

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
        fields = [key.field for key in query.order_by]
        descending = [key.descending for key in query.order_by]
        compare = _comparator(descending)
        keyed = [
            (tuple(values[f] for f in fields), row.entity)
            for row, values in self._matching(query, fields)
        ]
        if query.after is not None:
            keyed = [item for item in keyed if compare(item[0], query.after) > 0]
        if any(descending):
            keyed.sort(key=functools.cmp_to_key(lambda a, b: compare(a[0], b[0])))  # type: ignore[index]
        else:  # the same order by a key (empty values last), a page and one more
            keyed = heapq.nsmallest(query.limit + 1, keyed, key=_empty_last)
        page = keyed[: query.limit]
        cursor = encode_cursor(page[-1][0]) if len(keyed) > query.limit else None
        return Page(tuple(entity for _, entity in page), cursor)  # type: ignore[misc]

    def _matching(
        self, query: Query, sort_fields: Sequence[str] = ()
    ) -> Iterator[tuple[_Row, dict[str, Any]]]:
        """The rows the query keeps, each with its values of the fields read."""
        lists = self._catalog.lists
        extract = {
            name: self._catalog.fields[name][1]
            for name in (*(name for name, _ in query.where), *sort_fields)
            if name not in lists
        }
        for row in self._all_rows():
            if row.archived_at is not None and not query.include_archived:
                continue
            values = {name: read(row.entity) for name, read in extract.items()}
            if all(
                _holds(
                    lists[name].ids(row.entity) if name in lists else values[name], c
                )
                for name, c in query.where
            ):
                yield row, values

    def count(
        self, *, where: Mapping[str, Any] | None = None, include_archived: bool = False
    ) -> int:
        """Count the entities matching every condition."""
        query = self._query(where, "id", 1, None, include_archived)
        return sum(1 for _ in self._matching(query))

    def _by_point(self, kind: str, value: str) -> list[_E]:
        stored = self._db._points.get((self._cls, kind, value), set())  # noqa: SLF001
        candidates = {i: self._row(i) for i in stored}
        for key, row in self._unit.writes.items():
            if key[0] is self._cls:
                candidates[key[1]] = row
        found = [
            row.entity
            for row in candidates.values()
            if row is not None
            and row.archived_at is None
            and (kind, value) in set(self._catalog.contact_points(row.entity))
        ]
        return sorted(found, key=lambda e: e.id)  # type: ignore[arg-type]

    def find_by_external_id(self, system: str, value: str) -> _E | None:
        """
        The entity known as ``value`` in another ``system``, if any.

        Archived entities are found too: they keep their external ids taken.
        """
        return self.find_by_external_ids(system, [value]).get(value)

    def find_by_external_ids(self, system: str, values: Iterable[str]) -> dict[str, _E]:
        """The entities known by ``values`` in ``system``, keyed by value."""
        wanted = set(values)
        found: dict[str, _E] = {}
        for key, row in self._unit.writes.items():
            if key[0] is not self._cls or row is None:
                continue
            for held_system, value in self._catalog.external_ids(row.entity):
                if held_system == system and value in wanted:
                    found[value] = row.entity  # type: ignore[assignment]
        stored = self._db._rows.get(self._cls, {})  # noqa: SLF001
        for value in wanted - found.keys():
            owner = self._db._external.get((self._cls, system, value))  # noqa: SLF001
            if owner is None or (self._cls, owner) in self._unit.writes:
                continue
            row = stored.get(owner)
            if row is not None:
                found[value] = row.entity  # type: ignore[assignment]
        return found

    def history(self, entity_id: UUID) -> list[FieldHistoryEntry]:
        """Every recorded field change of the entity, oldest first."""
        entries = self._db._history + self._unit.new_history  # noqa: SLF001
        return [
            e
            for e in entries
            if e.entity_id == entity_id and e.entity_type == self._cls.entity_type
        ]

    # Writing --------------------------------------------------------------------

    def _stage(self, entity_id: UUID, row: _Row | None, *, seen: _Row | None) -> None:
        """
        Stage ``row``; ``seen`` is the row the caller checked before writing.

        The first write of an entity remembers that row, and commit refuses to
        apply the unit if the stored row is no longer that very one.
        """
        key = (self._cls, entity_id)
        self._unit.seen_rows.setdefault(key, seen)
        self._unit.writes[key] = row

    def _check_external_ids(self, entity: Entity) -> None:
        for system, value in self._catalog.external_ids(entity):
            owner = self.find_by_external_id(system, value)
            if owner is not None and owner.id != entity.id:
                raise AlreadyExists(
                    self._cls.entity_type, f"external id {system}", value
                )

    def add(self, entity: _E, *, actor: UserId | None = None) -> None:
        """Store a new entity; `AlreadyExists` if its id or an external id is taken."""
        self.add_many([entity], actor=actor)

    def add_many(self, entities: Iterable[_E], *, actor: UserId | None = None) -> None:
        """Store new entities together; all or nothing (see `Repository.add_many`)."""
        self._unit.ensure_writable()
        batch = self._new_batch(entities)
        for entity in batch:
            if self._row(entity.id) is not None:
                raise AlreadyExists(self._cls.entity_type, "id", entity.id)
        for system, values in self._claims(batch).items():
            taken = self.find_by_external_ids(system, values)
            if taken:
                value = min(taken)
                raise AlreadyExists(
                    self._cls.entity_type, f"external id {system}", value
                )
        for entity in batch:
            self._stage(entity.id, _Row(entity), seen=None)
        self._unit.record_many(self._created_event(e, actor) for e in batch)

    def update(self, entity: _E, *, actor: UserId | None = None) -> None:
        """Store a new version; the stored one must be at ``entity.version - 1``."""
        self._unit.ensure_writable()
        self._check_type(entity)
        row = self._row(entity.id)
        if row is None or row.archived_at is not None:
            raise NotFound(self._cls.entity_type, entity.id)
        if row.entity.version != entity.version - 1:
            raise ConcurrencyError(
                self._cls.entity_type,
                entity.id,
                expected_version=entity.version - 1,
                actual_version=row.entity.version,
            )
        self._check_external_ids(entity)
        self._stage(entity.id, attrs.evolve(row, entity=entity), seen=row)
        plain = self._db.converter.unstructure
        self._unit.new_history.extend(
            self._db.history_policy.entries(
                row.entity, entity, actor=actor, plain=plain
            )
        )
        self._record_updated(row.entity, entity, actor)

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
        row = self._row(entity_id)
        if row is None or (row.archived_at is not None and not hard):
            raise NotFound(self._cls.entity_type, entity_id)
        self._stage(
            entity_id, None if hard else attrs.evolve(row, archived_at=at), seen=row
        )
        self._record_removed(entity_id, at=at, actor=actor, hard=hard)

    def restore(
        self, entity_id: UUID, *, at: datetime, actor: UserId | None = None
    ) -> None:
        """Bring an archived entity back."""
        self._unit.ensure_writable()
        at = aware_utc(at, "at")
        row = self._row(entity_id)
        if row is None or row.archived_at is None:
            raise NotFound(self._cls.entity_type, entity_id)
        self._stage(entity_id, attrs.evolve(row, archived_at=None), seen=row)
        self._record_restored(entity_id, at=at, actor=actor)


def _message_id(message: OutboxMessage) -> int:
    return message.id


def _holds(value: Any, condition: Condition) -> bool:
    """Whether a stored value meets a condition; empty values only meet is_null."""
    op, wanted = condition.op, condition.value
    if op == Op.IS_NULL:
        return (value is None) is wanted
    if value is None:
        return False
    checks: dict[Op, Callable[[], bool]] = {
        Op.EQ: lambda: bool(value == wanted),
        Op.NE: lambda: bool(value != wanted),
        Op.LT: lambda: bool(value < wanted),
        Op.LTE: lambda: bool(value <= wanted),
        Op.GT: lambda: bool(value > wanted),
        Op.GTE: lambda: bool(value >= wanted),
        Op.IN: lambda: value in wanted,
        Op.CONTAINS: lambda: wanted in value,
    }
    return checks[op]()


def _empty_last(item: tuple[Sequence[Any], Any]) -> list[tuple[bool, Any]]:
    """An ascending sort key of a row's values: empty values after the others."""
    return [(value is None, value) for value in item[0]]


def _comparator(
    descending: Sequence[bool],
) -> Callable[[Sequence[Any], Sequence[Any]], int]:
    """Compare sort keys field by field; empty values sort last, or first descending."""

    def compare(left: Sequence[Any], right: Sequence[Any]) -> int:
        for a, b, desc in zip(left, right, descending, strict=True):
            if a == b:
                continue
            if a is None or b is None:
                result = 1 if a is None else -1
            else:
                result = -1 if a < b else 1
            return -result if desc else result
        return 0

    return compare
