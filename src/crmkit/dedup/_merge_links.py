"""
The records that point to a person or an organisation, and how to re-point them.

They are found by queries on the fields that hold a reference to a party
(`contains` on the fields holding several ids, `in_` on the others), which
the SQL adapters answer from indexes: a merge reads the records that point to
the merged ones, not every activity, deal, ticket, relationship, order and lead.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Collection, Iterable, Iterator, Mapping
from typing import Any, Final, TypeVar
from uuid import UUID

import attrs

from crmkit.errors import NotFound
from crmkit.ids import OrganizationId
from crmkit.model import (
    Activity,
    Deal,
    Entity,
    Lead,
    Order,
    Organization,
    OrganizationRole,
    PartyKind,
    PartyRef,
    Person,
    Relationship,
    Ticket,
)
from crmkit.repositories import UnitOfWork, contains, in_
from crmkit.repositories._catalog import CATALOG

__all__ = [
    "Link",
    "LinkIndex",
    "find_links",
    "index_links",
    "query_links",
    "repoint_self",
    "scan_links",
]

_T = TypeVar("_T")
Moves = Mapping[UUID, UUID]
"""Merged record id -> survivor id."""


def _ref(ref: PartyRef | None, kind: PartyKind, moves: Moves) -> PartyRef | None:
    if ref is None or ref.kind != kind or ref.id not in moves:
        return ref
    return PartyRef(kind, moves[ref.id])


def _unique(items: tuple[_T, ...]) -> tuple[_T, ...]:
    return tuple(dict.fromkeys(items))


def _id(value: UUID | None, moves: Moves) -> UUID | None:
    return moves.get(value, value) if value is not None else None


def _activity(entity: Activity, kind: PartyKind, moves: Moves) -> dict[str, Any]:
    parties = _unique(tuple(_ref(p, kind, moves) or p for p in entity.parties))
    return {"parties": parties}


def _deal(entity: Deal, kind: PartyKind, moves: Moves) -> dict[str, Any]:
    if kind == PartyKind.PERSON:
        return {
            "contact_ids": _unique(tuple(moves.get(i, i) for i in entity.contact_ids))
        }
    return {"organization_id": _id(entity.organization_id, moves)}


def _ticket(entity: Ticket, kind: PartyKind, moves: Moves) -> dict[str, Any]:
    changes: dict[str, Any] = {"requester": _ref(entity.requester, kind, moves)}
    if kind == PartyKind.ORGANIZATION:
        changes["organization_id"] = _id(entity.organization_id, moves)
    return changes


def _relationship(
    entity: Relationship, kind: PartyKind, moves: Moves
) -> dict[str, Any]:
    return {
        "source": _ref(entity.source, kind, moves),
        "target": _ref(entity.target, kind, moves),
    }


def _order(entity: Order, kind: PartyKind, moves: Moves) -> dict[str, Any]:
    return {"customer": _ref(entity.customer, kind, moves)}


def _lead(entity: Lead, kind: PartyKind, moves: Moves) -> dict[str, Any]:
    if kind == PartyKind.PERSON:
        return {"converted_person_id": _id(entity.converted_person_id, moves)}
    return {"converted_organization_id": _id(entity.converted_organization_id, moves)}


def _person_roles(entity: Person, kind: PartyKind, moves: Moves) -> dict[str, Any]:
    if kind != PartyKind.ORGANIZATION:
        return {}
    return {"roles": _merged_roles(entity.roles, moves)}


def _merged_roles(
    roles: tuple[OrganizationRole, ...], moves: Moves
) -> tuple[OrganizationRole, ...]:
    """Re-point roles; two roles now in one organisation keep the primary (or first)."""
    moved = [
        attrs.evolve(
            r,
            organization_id=OrganizationId(
                moves.get(r.organization_id, r.organization_id)
            ),
        )
        for r in roles
    ]
    kept: dict[UUID, OrganizationRole] = {}
    for role in moved:
        held = kept.get(role.organization_id)
        if held is None or (role.is_primary and not held.is_primary):
            kept[role.organization_id] = role
    return tuple(r for r in moved if kept[r.organization_id] is r)


def _organization(
    entity: Organization, kind: PartyKind, moves: Moves
) -> dict[str, Any]:
    if kind != PartyKind.ORGANIZATION:
        return {}
    parent = _id(entity.parent_id, moves)
    return {"parent_id": None if parent == entity.id else parent}


_REPOINT: Final[
    dict[type[Entity], Callable[[Any, PartyKind, Moves], dict[str, Any]]]
] = {
    Activity: _activity,
    Deal: _deal,
    Ticket: _ticket,
    Relationship: _relationship,
    Order: _order,
    Lead: _lead,
    Person: _person_roles,
    Organization: _organization,
}
"""Every entity type that can point to a party, and how it is re-pointed."""


def _mentions(entity: Entity, kind: PartyKind, ids: Collection[UUID]) -> Counter[UUID]:
    """How many times ``entity`` points to each of ``ids``."""
    fields = _REPOINT[type(entity)](entity, kind, {})
    return Counter(
        item
        for name in fields
        for item in _flatten(getattr(entity, name))
        if item in ids
    )


def _flatten(value: Any) -> Iterator[UUID]:
    if isinstance(value, UUID):
        yield value
    elif isinstance(value, PartyRef):
        yield value.id
    elif isinstance(value, OrganizationRole):
        yield value.organization_id
    elif isinstance(value, tuple):
        for item in value:
            yield from _flatten(item)


@attrs.frozen
class Link:
    """A record that points to some of the records being merged."""

    entity: Entity
    counts: Counter[UUID]

    def changes(self, kind: PartyKind, moves: Moves) -> dict[str, Any]:
        """The fields to change so that the record points to the survivors."""
        changes = _REPOINT[type(self.entity)](self.entity, kind, moves)
        return {k: v for k, v in changes.items() if getattr(self.entity, k) != v}

    def points_to_itself(self, kind: PartyKind, moves: Moves) -> bool:
        """True for a relationship that re-pointing would turn into a loop."""
        if not isinstance(self.entity, Relationship):
            return False
        changes = _REPOINT[Relationship](self.entity, kind, moves)
        return bool(changes["source"] == changes["target"])


_LINKING: Final[dict[PartyKind, tuple[type[Entity], ...]]] = {
    PartyKind.PERSON: (Activity, Deal, Ticket, Relationship, Order, Lead),
    PartyKind.ORGANIZATION: tuple(_REPOINT),
}
"""The entity types that can point to a person, or to an organisation."""

_REFERENCES: Final[dict[PartyKind, tuple[tuple[type[Entity], str], ...]]] = {
    PartyKind.PERSON: (
        (Activity, "party_ids"),
        (Deal, "contact_ids"),
        (Ticket, "requester_id"),
        (Relationship, "source_id"),
        (Relationship, "target_id"),
        (Order, "customer_id"),
        (Lead, "converted_person_id"),
    ),
    PartyKind.ORGANIZATION: (
        (Activity, "party_ids"),
        (Deal, "organization_id"),
        (Ticket, "requester_id"),
        (Ticket, "organization_id"),
        (Relationship, "source_id"),
        (Relationship, "target_id"),
        (Order, "customer_id"),
        (Lead, "converted_organization_id"),
        (Person, "organization_ids"),
        (Organization, "parent_id"),
    ),
}
"""
The queryable fields through which each type can point to a person, or to an
organisation: one for each field that `_REPOINT` changes.
"""

_IN_SIZE: Final = 500
"""Ids in one ``in_`` condition, well below every dialect's limit of parameters."""

_PAGE: Final = 10_000
"""Records read at a time from a query: the largest page `find` gives."""

ROWS_PER_QUERY: Final = 8
"""
How many stored records a scan reads in the time one indexed query takes.

Measured on SQLite (``benchmarks/bench_dedup_merge.py``): a query by an
indexed field costs about 0.46 ms, reading a record in a scan 0.045 to 0.07
ms, so a query is worth 7 to 10 records. Queries cost the same whatever the
table size, a scan grows with it: with this ratio `index_links` picks the
cheaper of the two for the number of records to merge and of records stored.
"""

MEMORY_QUERY_AT_MOST: Final = 8
"""
Without indexed queries (the in-memory adapter), up to this many records are queried.

It keeps no index of references: each query reads the whole table, so past a
handful of records one scan of each table costs less than a query per record
(measured: 16 records took 1.5 times a scan among 2,000 activities).
"""

LinkIndex = dict[UUID, set[tuple[type[Entity], UUID]]]
"""For each record, the (type, id) of the records that point to it."""


def _holding(
    uow: UnitOfWork, cls: type[Entity], field: str, ids: Collection[UUID]
) -> Iterator[Entity]:
    """The active records of ``cls`` whose ``field`` refers to one of ``ids``."""
    repository = uow.repository(cls)
    ordered = sorted(ids)
    if field in CATALOG[cls].lists:
        conditions = [contains(i) for i in ordered]
    else:
        conditions = [
            in_(ordered[start : start + _IN_SIZE])
            for start in range(0, len(ordered), _IN_SIZE)
        ]
    for condition in conditions:
        for batch in repository.batches(size=_PAGE, where={field: condition}):
            yield from batch


def _linked(
    uow: UnitOfWork, kind: PartyKind, ids: Collection[UUID]
) -> dict[tuple[type[Entity], UUID], Entity]:
    """Every active record pointing to one of ``ids`` (themselves aside), by key."""
    wanted = frozenset(ids)
    found: dict[tuple[type[Entity], UUID], Entity] = {}
    for cls, field in _REFERENCES[kind]:
        for entity in _holding(uow, cls, field, wanted):
            if entity.id not in wanted:
                found[cls, entity.id] = entity
    return found


def _indexed(
    entities: Iterable[Entity], kind: PartyKind, wanted: frozenset[UUID]
) -> LinkIndex:
    index: LinkIndex = {i: set() for i in wanted}
    for entity in entities:
        for target in _mentions(entity, kind, wanted):
            index[target].add((type(entity), entity.id))
    return index


def query_links(uow: UnitOfWork, kind: PartyKind, ids: Collection[UUID]) -> LinkIndex:
    """Index who points to ``ids``, found by queries on the referring fields."""
    wanted = frozenset(ids)
    return _indexed(_linked(uow, kind, wanted).values(), kind, wanted)


def scan_links(
    uow: UnitOfWork, kind: PartyKind, ids: Collection[UUID], *, batch_size: int = 1000
) -> LinkIndex:
    """
    Go once through every type that can point to a party; index who points to ``ids``.

    Reading every linking table costs the same for one record as for many:
    for many records, it can cost less than a query per record.
    """
    wanted = frozenset(ids)
    scanned = (
        entity
        for cls in _LINKING[kind]
        for batch in uow.repository(cls).batches(size=batch_size)
        for entity in batch
        if entity.id not in wanted
    )
    return _indexed(scanned, kind, wanted)


def index_links(uow: UnitOfWork, kind: PartyKind, ids: Collection[UUID]) -> LinkIndex:
    """
    Index who points to ``ids``, for several merges: by queries, or by a scan.

    Whichever costs less (see `ROWS_PER_QUERY`): `contains` takes one id at a
    time, so the queries grow with the number of records to merge, while a
    scan reads each linking table once, and grows with the records stored.
    Each merge reads its indexed records again, so that it sees the merges
    made before it.
    """
    if _queries_cost_less(uow, kind, len(ids)):
        return query_links(uow, kind, ids)
    return scan_links(uow, kind, ids)


def _query_count(kind: PartyKind, ids: int) -> int:
    """How many queries `query_links` makes for ``ids`` records."""
    chunks = -(-ids // _IN_SIZE)
    return sum(
        ids if field in CATALOG[cls].lists else chunks
        for cls, field in _REFERENCES[kind]
    )


def _queries_cost_less(uow: UnitOfWork, kind: PartyKind, ids: int) -> bool:
    """Whether querying the links of ``ids`` records costs less than a scan."""
    if not uow.indexed_queries:
        return ids <= MEMORY_QUERY_AT_MOST
    stored = sum(uow.repository(cls).count() for cls in _LINKING[kind])
    return _query_count(kind, ids) * ROWS_PER_QUERY <= stored


def find_links(
    uow: UnitOfWork,
    kind: PartyKind,
    ids: Collection[UUID],
    *,
    index: LinkIndex | None = None,
) -> list[Link]:
    """Every active record that points to one of ``ids``, read now, of any type."""
    wanted = frozenset(ids)
    if index is None or not wanted <= index.keys():
        entities: Iterable[Entity] = _linked(uow, kind, wanted).values()
    else:
        entities = _read(uow, {key for i in wanted for key in index[i]})
    links = [
        Link(entity, counts)
        for entity in entities
        if (counts := _mentions(entity, kind, wanted))
    ]
    return sorted(links, key=lambda link: (link.entity.entity_type, link.entity.id))


def _read(
    uow: UnitOfWork, keys: Iterable[tuple[type[Entity], UUID]]
) -> Iterator[Entity]:
    """The records of ``keys`` as they are now; archived ones are skipped."""
    for cls, entity_id in keys:
        try:
            yield uow.repository(cls).get(entity_id)
        except NotFound:
            continue


def repoint_self(
    master: Entity, changes: Mapping[str, Any], moves: Moves
) -> dict[str, Any]:
    """
    The survivor's own changes, with references to merged records re-pointed.

    An organisation whose surviving parent is one of the merged records (or
    itself) gets no parent rather than a loop.
    """
    if not isinstance(master, Organization):
        return dict(changes)
    adjusted = dict(changes)
    parent = _id(changes.get("parent_id", master.parent_id), moves)
    if parent == master.id:
        parent = None
    if parent != master.parent_id:
        adjusted["parent_id"] = parent
    else:
        adjusted.pop("parent_id", None)
    return adjusted
