"""
Per entity type: the fields queries may use, and the contact points to index.

Some fields hold several ids (an activity's ``lead_ids``, the ids of its
``parties``, the organisations of a person's ``roles``): `contains` finds the
entities that hold one, through an index of (field, id) pairs that the
adapters keep beside each entity. Every reference to a person or an
organisation is queryable, so that a merge finds the records pointing to the
merged ones without reading every table.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from datetime import date, datetime
from decimal import Decimal
from typing import Any, Final
from uuid import UUID

import attrs

from crmkit.model import (
    ENTITY_TYPES,
    Activity,
    Campaign,
    Deal,
    Entity,
    Lead,
    Order,
    Organization,
    Person,
    Product,
    Relationship,
    Team,
    Ticket,
    User,
)

__all__ = ["CATALOG", "EntityCatalog", "ListField"]

Extract = Callable[[Any], Any]


def _attr(name: str) -> Extract:
    return lambda entity: getattr(entity, name)


def _country(entity: Any) -> str | None:
    address = entity.primary_address
    return None if address is None else address.country


def _amount(entity: Deal) -> Decimal | None:
    return None if entity.amount is None else entity.amount.amount


def _currency(entity: Deal) -> str | None:
    return None if entity.amount is None else entity.amount.currency


@attrs.frozen
class ListField:
    """
    A queryable field holding several ids: an attribute, or the ids of its items.

    Attributes:
        attribute: The entity's attribute, also the key of its stored document.
        item_id: The attribute of each item that holds the id (``None``: the
            items are ids).
    """

    attribute: str
    item_id: str | None = None

    def ids(self, entity: Entity) -> tuple[UUID, ...]:
        """The ids an entity holds in this field, each once, in order."""
        items = getattr(entity, self.attribute)
        if self.item_id is not None:
            items = (getattr(item, self.item_id) for item in items)
        return tuple(dict.fromkeys(items))

    def document_ids(self, data: Mapping[str, Any]) -> tuple[UUID, ...]:
        """The same ids, read from the entity's stored document (plain data)."""
        items = data.get(self.attribute) or ()
        if self.item_id is not None:
            items = (item[self.item_id] for item in items)
        return tuple(dict.fromkeys(UUID(str(item)) for item in items))


@attrs.frozen
class EntityCatalog:
    """
    How one entity type is stored: its table, queryable fields, contact points.

    Attributes:
        table: The table (or collection) name.
        fields: Queryable field name to (Python type, how to read it off an entity).
        lists: Queryable fields holding several ids, queried with `contains`.
    """

    cls: type[Entity]
    table: str
    fields: dict[str, tuple[type, Extract]]
    lists: dict[str, ListField] = attrs.Factory(dict)

    def field_types(self) -> dict[str, type]:
        """Queryable field names and their types."""
        return {name: kind for name, (kind, _) in self.fields.items()}

    def list_types(self) -> dict[str, type]:
        """The fields holding several ids, and the type of each item."""
        return dict.fromkeys(self.lists, UUID)

    def values(self, entity: Entity) -> dict[str, Any]:
        """The queryable values of an entity, by field."""
        return {name: extract(entity) for name, (_, extract) in self.fields.items()}

    def links(self, entity: Entity) -> Iterator[tuple[str, UUID]]:
        """The ``(field, id)`` pairs of an entity's fields holding several ids."""
        for name, field in self.lists.items():
            for target in field.ids(entity):
                yield name, target

    def document_links(self, data: Mapping[str, Any]) -> Iterator[tuple[str, UUID]]:
        """The same pairs, read from a stored document."""
        for name, field in self.lists.items():
            for target in field.document_ids(data):
                yield name, target

    def contact_points(self, entity: Entity) -> Iterator[tuple[str, str]]:
        """The ``("email", normalized)`` and ``("phone", e164)`` pairs to index."""
        emails = getattr(entity, "emails", None)
        if emails is None:
            single = getattr(entity, "email", None)
            emails = () if single is None else (single,)
        phones = getattr(entity, "phones", None)
        if phones is None:
            single = getattr(entity, "phone", None)
            phones = () if single is None else (single,)
        seen: set[tuple[str, str]] = set()
        for point in [("email", e.normalized) for e in emails] + [
            ("phone", p.e164) for p in phones
        ]:
            if point not in seen:
                seen.add(point)
                yield point

    def external_ids(self, entity: Entity) -> Iterator[tuple[str, str]]:
        """The ``(system, id)`` pairs that identify the entity elsewhere."""
        yield from sorted(getattr(entity, "external_ids", {}).items())


_COMMON: Final[dict[str, tuple[type, Extract]]] = {
    "id": (UUID, _attr("id")),
    "version": (int, _attr("version")),
    "created_at": (datetime, _attr("created_at")),
    "updated_at": (datetime, _attr("updated_at")),
}


def _fields(**extra: tuple[type, Extract] | type) -> dict[str, tuple[type, Extract]]:
    fields = dict(_COMMON)
    for name, spec in extra.items():
        fields[name] = spec if isinstance(spec, tuple) else (spec, _attr(name))
    return fields


_SPECS: Final[dict[type[Entity], dict[str, tuple[type, Extract]]]] = {
    Person: _fields(
        first_name=str,
        last_name=str,
        job_title=str,
        lifecycle_stage=str,
        owner_id=UUID,
        source=str,
        primary_organization_id=UUID,
        country=(str, _country),
    ),
    Organization: _fields(
        name=str,
        parent_id=UUID,
        industry=str,
        employees=int,
        lifecycle_stage=str,
        owner_id=UUID,
        source=str,
        country=(str, _country),
    ),
    Relationship: _fields(
        label=str,
        source_id=(UUID, lambda r: r.source.id),
        target_id=(UUID, lambda r: r.target.id),
        started_on=date,
        ended_on=date,
    ),
    Lead: _fields(
        status=str,
        company_name=str,
        last_name=str,
        score=int,
        source=str,
        owner_id=UUID,
        team_id=UUID,
        campaign_id=UUID,
        lifecycle_stage=str,
        converted_person_id=UUID,
        converted_organization_id=UUID,
    ),
    Deal: _fields(
        name=str,
        pipeline=str,
        stage=str,
        status=str,
        owner_id=UUID,
        team_id=UUID,
        organization_id=UUID,
        expected_close_date=date,
        closed_at=datetime,
        amount=(Decimal, _amount),
        currency=(str, _currency),
    ),
    Activity: _fields(
        kind=str,
        owner_id=UUID,
        due_at=datetime,
        starts_at=datetime,
        done_at=datetime,
    ),
    Ticket: _fields(
        status=str,
        kind=str,
        priority=str,
        category=str,
        owner_id=UUID,
        team_id=UUID,
        organization_id=UUID,
        requester_id=(UUID, lambda t: None if t.requester is None else t.requester.id),
    ),
    Order: _fields(
        number=str,
        status=str,
        ordered_at=datetime,
        currency=str,
        customer_id=(UUID, lambda o: o.customer.id),
    ),
    Product: _fields(sku=str, name=str, category=str, active=bool),
    User: _fields(name=str, active=bool, email=(str, lambda u: u.email.normalized)),
    Team: _fields(name=str, manager_id=UUID),
    Campaign: _fields(
        name=str, status=str, owner_id=UUID, starts_on=date, ends_on=date
    ),
}

_LISTS: Final[dict[type[Entity], dict[str, ListField]]] = {
    Activity: {
        "lead_ids": ListField("lead_ids"),
        "deal_ids": ListField("deal_ids"),
        "ticket_ids": ListField("ticket_ids"),
        "party_ids": ListField("parties", item_id="id"),
    },
    Deal: {"contact_ids": ListField("contact_ids")},
    Person: {"organization_ids": ListField("roles", item_id="organization_id")},
}
"""Fields holding several ids, by entity type: the links to other records."""

CATALOG: Final[dict[type[Entity], EntityCatalog]] = {
    cls: EntityCatalog(cls, name, _SPECS[cls], _LISTS.get(cls, {}))
    for name, cls in ENTITY_TYPES.items()
}
"""How each entity type is stored and queried."""
