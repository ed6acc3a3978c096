"""The people who use the CRM: users and teams."""

from __future__ import annotations

from collections.abc import Iterator
from uuid import UUID
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import attrs

from crmkit.errors import FieldError, ValidationError
from crmkit.ids import TeamId, UserId
from crmkit.model._entity import Entity, entity_id
from crmkit.model._fields import checked, flag, identifier, many, one_of, tag_set, text
from crmkit.values import EmailAddress

__all__ = ["Team", "User"]


def _check_time_zone(value: object, path: str) -> None:
    if not isinstance(value, str):
        raise ValidationError.single(
            path,
            value,
            "type",
            f"expected an IANA zone name, not {type(value).__name__}",
        )
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValidationError.single(
            path,
            value,
            "time_zone.unknown",
            "not an IANA time zone such as 'Europe/Paris'",
        ) from None


@attrs.frozen(kw_only=True)
class User(Entity):
    """
    Someone who works in the CRM: a sales rep, an agent, a manager.

    `time_zone` is an IANA name; `skills` and `languages` feed routing.

    .. versionadded:: 0.1
    """

    entity_type = "user"

    id: UserId = entity_id()
    name: str = text(required=True)
    email: EmailAddress = one_of(EmailAddress, required=True)
    time_zone: str = checked(_check_time_zone, default="UTC")
    languages: tuple[str, ...] = many(str)
    skills: frozenset[str] = tag_set()
    active: bool = flag(default=True)

    @property
    def zone(self) -> ZoneInfo:
        """The user's time zone."""
        return ZoneInfo(self.time_zone)


@attrs.frozen(kw_only=True)
class Team(Entity):
    """
    A group of users: a sales team, a territory, a support queue.

    .. versionadded:: 0.1
    """

    entity_type = "team"

    id: TeamId = entity_id()
    name: str = text(required=True)
    member_ids: tuple[UserId, ...] = many(UUID)
    manager_id: UserId | None = identifier()
    email: EmailAddress | None = one_of(EmailAddress)

    def _invariants(self) -> Iterator[FieldError]:
        yield from super()._invariants()
        seen = set()
        for index, member in enumerate(self.member_ids):
            if member in seen:
                yield FieldError(
                    f"member_ids[{index}]", member, "duplicate", "is listed twice"
                )
            seen.add(member)
