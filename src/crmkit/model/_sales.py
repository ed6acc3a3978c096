"""Sales entities: leads and deals."""

from __future__ import annotations

import enum
from collections.abc import Iterator
from datetime import date, datetime
from uuid import UUID

import attrs

from crmkit.errors import FieldError
from crmkit.ids import (
    CampaignId,
    DealId,
    LeadId,
    OrganizationId,
    PersonId,
    TeamId,
    UserId,
)
from crmkit.model._consent import ConsentRecord
from crmkit.model._entity import Entity, entity_id
from crmkit.model._fields import (
    choice,
    count,
    day,
    identifier,
    many,
    one_of,
    tag_set,
    text,
    timestamp,
)
from crmkit.values import (
    EmailAddress,
    Money,
    PhoneNumber,
    PostalAddress,
    Probability,
    Url,
)

__all__ = ["Deal", "DealStatus", "ForecastCategory", "Lead"]


@attrs.frozen(kw_only=True)
class Lead(Entity):
    """
    Someone who showed interest and is not yet qualified: a person, a company, or both.

    `status` follows the lead lifecycle (new, contacted, qualified, disqualified,
    converted by default); conversion fills the ``converted_*`` references.

    .. versionadded:: 0.1
    """

    entity_type = "lead"

    id: LeadId = entity_id()
    salutation: str | None = text()
    first_name: str | None = text()
    last_name: str | None = text()
    company_name: str | None = text()
    job_title: str | None = text()
    email: EmailAddress | None = one_of(EmailAddress)
    phone: PhoneNumber | None = one_of(PhoneNumber)
    address: PostalAddress | None = one_of(PostalAddress)
    website: Url | None = one_of(Url)
    industry: str | None = text()
    employees: int | None = count()
    annual_revenue: Money | None = one_of(Money)
    status: str = text(default="new")
    disqualified_reason: str | None = text()
    score: int | None = one_of(int)
    source: str | None = text()
    campaign_id: CampaignId | None = identifier()
    owner_id: UserId | None = identifier()
    team_id: TeamId | None = identifier()
    lifecycle_stage: str | None = text()
    tags: frozenset[str] = tag_set()
    consents: tuple[ConsentRecord, ...] = many(ConsentRecord)
    converted_at: datetime | None = timestamp(optional=True)
    converted_person_id: PersonId | None = identifier()
    converted_organization_id: OrganizationId | None = identifier()
    converted_deal_id: DealId | None = identifier()

    def _invariants(self) -> Iterator[FieldError]:
        yield from super()._invariants()
        if not (
            self.first_name
            or self.last_name
            or self.company_name
            or self.email
            or self.phone
        ):
            yield FieldError(
                "last_name",
                None,
                "identity.missing",
                "a lead needs a name, a company, an email or a phone",
            )


class DealStatus(enum.StrEnum):
    """
    Whether a deal is still being worked, won or lost (beside its stage).

    .. versionadded:: 0.1
    """

    OPEN = "open"
    WON = "won"
    LOST = "lost"


# Enum members are slow to reach on Python 3.11; the checks use these names.
_LOST = DealStatus.LOST
_OPEN = DealStatus.OPEN


class ForecastCategory(enum.StrEnum):
    """
    How sure the owner is of a deal, for forecast roll-ups.

    .. versionadded:: 0.1
    """

    PIPELINE = "pipeline"
    BEST_CASE = "best_case"
    COMMIT = "commit"
    CLOSED = "closed"
    OMITTED = "omitted"


@attrs.frozen(kw_only=True)
class Deal(Entity):
    """
    An opportunity: an amount expected to close at a stage of a pipeline.

    A won or lost deal has `closed_at`; a lost one also needs `lost_reason`.

    .. versionadded:: 0.1
    """

    entity_type = "deal"

    id: DealId = entity_id()
    name: str = text(required=True)
    pipeline: str = text(required=True)
    stage: str = text(required=True)
    status: DealStatus = choice(DealStatus, DealStatus.OPEN)
    amount: Money | None = one_of(Money)
    probability: Probability | None = one_of(Probability)
    forecast_category: ForecastCategory | None = choice(ForecastCategory, optional=True)
    expected_close_date: date | None = day()
    closed_at: datetime | None = timestamp(optional=True)
    lost_reason: str | None = text()
    owner_id: UserId | None = identifier()
    team_id: TeamId | None = identifier()
    organization_id: OrganizationId | None = identifier()
    contact_ids: tuple[PersonId, ...] = many(UUID)
    lead_id: LeadId | None = identifier()
    campaign_id: CampaignId | None = identifier()
    source: str | None = text()
    tags: frozenset[str] = tag_set()

    def _invariants(self) -> Iterator[FieldError]:
        yield from super()._invariants()
        lost = self.status == _LOST
        if lost and not self.lost_reason:
            yield FieldError(
                "lost_reason",
                self.lost_reason,
                "required",
                "a lost deal needs a reason",
            )
        if not lost and self.lost_reason:
            yield FieldError(
                "lost_reason",
                self.lost_reason,
                "deal.not_lost",
                "only a lost deal has a lost reason",
            )
        is_open = self.status == _OPEN
        if is_open and self.closed_at is not None:
            yield FieldError(
                "closed_at",
                self.closed_at,
                "deal.open",
                "an open deal has no close time",
            )
        if not is_open and self.closed_at is None:
            yield FieldError(
                "closed_at", None, "required", f"a {self.status} deal needs closed_at"
            )

    @property
    def weighted_amount(self) -> Money | None:
        """Amount times probability, when both are known."""
        if self.amount is None or self.probability is None:
            return None
        return self.amount * self.probability
