"""Marketing campaigns (the fields; targeting and attribution come later)."""

from __future__ import annotations

import enum
from collections.abc import Iterator
from datetime import date

import attrs

from crmkit.errors import FieldError
from crmkit.ids import CampaignId, UserId
from crmkit.model._consent import Channel
from crmkit.model._entity import Entity, entity_id
from crmkit.model._fields import choice, day, identifier, one_of, tag_set, text
from crmkit.values import Money

__all__ = ["Campaign", "CampaignStatus"]


class CampaignStatus(enum.StrEnum):
    """
    Where a campaign stands.

    .. versionadded:: 0.1
    """

    PLANNED = "planned"
    ACTIVE = "active"
    COMPLETED = "completed"
    CANCELLED = "cancelled"


@attrs.frozen(kw_only=True)
class Campaign(Entity):
    """
    A marketing action on a channel, with its budget, cost and expected revenue.

    `parent_id` groups campaigns into programmes.

    .. versionadded:: 0.1
    """

    entity_type = "campaign"

    id: CampaignId = entity_id()
    name: str = text(required=True)
    channel: Channel | None = choice(Channel, optional=True)
    status: CampaignStatus = choice(CampaignStatus, CampaignStatus.PLANNED)
    starts_on: date | None = day()
    ends_on: date | None = day()
    budget: Money | None = one_of(Money)
    actual_cost: Money | None = one_of(Money)
    expected_revenue: Money | None = one_of(Money)
    description: str | None = text(multiline=True)
    owner_id: UserId | None = identifier()
    parent_id: CampaignId | None = identifier()
    tags: frozenset[str] = tag_set()

    def _invariants(self) -> Iterator[FieldError]:
        yield from super()._invariants()
        if self.starts_on and self.ends_on and self.ends_on < self.starts_on:
            yield FieldError(
                "ends_on", self.ends_on, "date.order", "is before starts_on"
            )
        currencies = {
            name: money.currency
            for name in ("budget", "actual_cost", "expected_revenue")
            if (money := getattr(self, name)) is not None
        }
        if len(set(currencies.values())) > 1:
            name = max(currencies)
            yield FieldError(
                name,
                getattr(self, name),
                "money.currency_mismatch",
                "budget, cost and revenue must share one currency",
            )
        if self.parent_id is not None and self.parent_id == self.id:
            yield FieldError(
                "parent_id", self.parent_id, "parent.self", "cannot be its own parent"
            )
