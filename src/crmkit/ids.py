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

import os
from collections import deque
from datetime import UTC, datetime, timedelta
from typing import NewType
from uuid import UUID, SafeUUID

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
    "new_ids",
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

_VERSION_7 = 0x7 << 76
_VARIANT = 0b10 << 62
_RANDOM_B = (1 << 62) - 1
_SAFE_UNKNOWN = SafeUUID.unknown  # an enum member costs an attribute lookup each time
_POOL_BYTES = 10 * 400
_EIGHTY_BITS = (1 << 80) - 1


class _RandomPool:
    """
    80-bit random numbers from `os.urandom`, read a few kilobytes at a time.

    ``deque.popleft`` is atomic, so threads never share a number; a forked child
    empties its copy of the pool, so it never repeats its parent's numbers.
    """

    def __init__(self) -> None:
        self._numbers: deque[int] = deque()
        os.register_at_fork(after_in_child=self._numbers.clear)

    def take(self) -> int:
        try:
            return self._numbers.popleft()
        except IndexError:
            data = int.from_bytes(os.urandom(_POOL_BYTES))
            self._numbers.extend(
                data >> shift & _EIGHTY_BITS for shift in range(0, _POOL_BYTES * 8, 80)
            )
            return self._numbers.popleft()


_RANDOM = _RandomPool()


def new_id(at: datetime) -> UUID:
    """
    Make a new UUIDv7 whose timestamp is ``at`` (to the millisecond).

    The layout is RFC 9562's: 48 bits of Unix time in milliseconds, the version,
    12 random bits, the variant, 62 random bits (74 random bits in all, from
    `os.urandom`).

    Args:
        at: The creation instant, timezone-aware.

    Returns:
        A fresh id; two calls with the same instant differ in their random bits.

    Raises:
        ValidationError: ``at`` is naive.
    """
    return _uuid7(_millis(at), _RANDOM.take())


def new_ids(at: datetime, count: int) -> list[UUID]:
    """
    Make ``count`` new UUIDv7s for the instant ``at``, as `new_id` does, at once.

    Raises:
        ValidationError: ``at`` is naive.
    """
    millis = _millis(at)
    take = _RANDOM.take
    return [_uuid7(millis, take()) for _ in range(count)]


def _millis(at: datetime) -> int:
    since = aware_utc(at, "at") - _EPOCH
    return since.days * 86_400_000 + since.seconds * 1_000 + since.microseconds // 1_000


def _uuid7(millis: int, bits: int) -> UUID:
    """What ``UUID(int=...)`` gives, without checking a value built in range."""
    uuid = object.__new__(UUID)
    object.__setattr__(
        uuid,
        "int",
        (millis << 80) | _VERSION_7 | (bits >> 68 << 64) | _VARIANT | bits & _RANDOM_B,
    )
    object.__setattr__(uuid, "is_safe", _SAFE_UNKNOWN)
    return uuid


def id_time(entity_id: UUID) -> datetime:
    """Return the creation instant (to the millisecond) encoded in a UUIDv7."""
    if entity_id.version != 7:  # noqa: PLR2004 - the UUID version
        raise ValidationError.single(
            "id", str(entity_id), "id.version", "only UUIDv7 ids carry a time"
        )
    return _EPOCH + timedelta(milliseconds=entity_id.int >> 80)


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
