"""
Typed, time-sortable ids for every entity.

Ids are UUIDv7 (RFC 9562): the first 48 bits are the creation time in milliseconds, so
ids sort by creation time, and an id made for an instant never reads the clock itself.
Each entity has its own `NewType`, so a type checker catches a `DealId` passed where a
`PersonId` is expected.

>>> from datetime import datetime, UTC
>>> at = datetime(2026, 11, 22, 9, 30, tzinfo=UTC)
>>> pid = new_id(at)
>>> pid.version
7
>>> id_time(pid) == at
True
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import NewType
from uuid import UUID

from uuid_utils.compat import uuid7

from crmkit._validation import aware_utc
from crmkit.errors import ValidationError

__all__ = [
    "ActivityId",
    "CampaignId",
    "DealId",
    "EntityId",
    "LeadId",
    "OrderId",
    "OrganizationId",
    "PersonId",
    "ProductId",
    "RelationshipId",
    "TeamId",
    "TicketId",
    "UserId",
    "id_time",
    "new_id",
    "parse_id",
]

EntityId = UUID
PersonId = NewType("PersonId", UUID)
OrganizationId = NewType("OrganizationId", UUID)
RelationshipId = NewType("RelationshipId", UUID)
LeadId = NewType("LeadId", UUID)
DealId = NewType("DealId", UUID)
ActivityId = NewType("ActivityId", UUID)
TicketId = NewType("TicketId", UUID)
OrderId = NewType("OrderId", UUID)
ProductId = NewType("ProductId", UUID)
UserId = NewType("UserId", UUID)
TeamId = NewType("TeamId", UUID)
CampaignId = NewType("CampaignId", UUID)

_NANOS_PER_MICRO = 1_000
_MICROS_PER_SECOND = 1_000_000


def new_id(at: datetime) -> UUID:
    """
    Make a new UUIDv7 whose timestamp is ``at`` (to the millisecond).

    Args:
        at: The creation instant, timezone-aware.

    Returns:
        A fresh id; two calls with the same instant differ in their random bits.

    Raises:
        ValidationError: ``at`` is naive.
    """
    instant = aware_utc(at, "at")
    micros = (
        int((instant - _EPOCH).total_seconds()) * _MICROS_PER_SECOND
        + instant.microsecond
    )
    return uuid7(nanoseconds=micros * _NANOS_PER_MICRO)


def id_time(entity_id: UUID) -> datetime:
    """Return the creation instant (to the millisecond) encoded in a UUIDv7."""
    if entity_id.version != 7:  # noqa: PLR2004 - the UUID version
        raise ValidationError.single(
            "id", str(entity_id), "id.version", "only UUIDv7 ids carry a time"
        )
    millis = entity_id.int >> 80
    return datetime.fromtimestamp(millis / 1000, tz=UTC)


def parse_id(text: str | UUID, path: str = "id") -> UUID:
    """
    Read an id from its text form.

    Raises:
        ValidationError: ``text`` is not a UUID.
    """
    if isinstance(text, UUID):
        return text
    if not isinstance(text, str):
        raise ValidationError.single(
            path, text, "type", f"expected a UUID string, not {type(text).__name__}"
        )
    try:
        return UUID(text)
    except ValueError:
        raise ValidationError.single(
            path, text, "id.invalid", "not a valid UUID"
        ) from None


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
