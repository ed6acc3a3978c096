"""Per entity type: the fields queries may use, and the contact points to index."""

from __future__ import annotations

from collections.abc import Callable, Iterator
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

__all__ = ["CATALOG", "EntityCatalog"]

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
class EntityCatalog:
    """
    How one entity type is stored: its table, queryable fields, contact points.

    Attributes:
        table: The table (or collection) name.
        fields: Queryable field name to (Python type, how to read it off an entity).
    """

    cls: type[Entity]
    table: str
    fields: dict[str, tuple[type, Extract]]

    def field_types(self) -> dict[str, type]:
        """Queryable field names and their types."""
        return {name: kind for name, (kind, _) in self.fields.items()}

    def values(self, entity: Entity) -> dict[str, Any]:
        """The queryable values of an entity, by field."""
        return {name: extract(entity) for name, (_, extract) in self.fields.items()}

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

CATALOG: Final[dict[type[Entity], EntityCatalog]] = {
    cls: EntityCatalog(cls, name, _SPECS[cls]) for name, cls in ENTITY_TYPES.items()
}
"""How each entity type is stored and queried."""
