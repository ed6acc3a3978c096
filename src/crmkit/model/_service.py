"""Activities (calls, emails, meetings, tasks, notes, visit reports) and tickets."""

from __future__ import annotations

import enum
from collections.abc import Iterator
from datetime import datetime
from uuid import UUID

import attrs

from crmkit._validation import aware_utc
from crmkit.errors import FieldError
from crmkit.ids import ActivityId, OrganizationId, TeamId, TicketId, UserId
from crmkit.model._consent import Channel
from crmkit.model._entity import Entity, entity_id
from crmkit.model._fields import (
    choice,
    identifier,
    many,
    one_of,
    tag_set,
    text,
    timestamp,
)
from crmkit.model._parties import PartyRef

__all__ = [
    "Activity",
    "ActivityKind",
    "Direction",
    "Priority",
    "Ticket",
    "TicketKind",
]


class ActivityKind(enum.StrEnum):
    """
    What sort of interaction an activity records.

    .. versionadded:: 0.1
    """

    CALL = "call"
    EMAIL = "email"
    MEETING = "meeting"
    TASK = "task"
    NOTE = "note"
    VISIT_REPORT = "visit_report"


class Direction(enum.StrEnum):
    """
    Who started a call or an email.

    .. versionadded:: 0.1
    """

    INBOUND = "inbound"
    OUTBOUND = "outbound"


@attrs.frozen(kw_only=True)
class Activity(Entity):
    """
    An interaction or a piece of work: together they make the customer's history.

    An activity links to the parties, deals, tickets and leads it concerns.

    Tasks and reminders have `due_at`; meetings and calls `starts_at`/`ends_at`;
    anything done has `done_at` and, usually, an `outcome`.

    .. versionadded:: 0.1
    """

    entity_type = "activity"

    id: ActivityId = entity_id()
    kind: ActivityKind = choice(ActivityKind)
    subject: str = text(required=True)
    body: str | None = text(multiline=True)
    direction: Direction | None = choice(Direction, optional=True)
    due_at: datetime | None = timestamp(optional=True)
    starts_at: datetime | None = timestamp(optional=True)
    ends_at: datetime | None = timestamp(optional=True)
    done_at: datetime | None = timestamp(optional=True)
    outcome: str | None = text()
    location: str | None = text()
    owner_id: UserId | None = identifier()
    parties: tuple[PartyRef, ...] = many(PartyRef)
    deal_ids: tuple[UUID, ...] = many(UUID)
    ticket_ids: tuple[UUID, ...] = many(UUID)
    lead_ids: tuple[UUID, ...] = many(UUID)

    def _invariants(self) -> Iterator[FieldError]:
        yield from super()._invariants()
        if self.starts_at and self.ends_at and self.ends_at < self.starts_at:
            yield FieldError(
                "ends_at", self.ends_at, "time.order", "is before starts_at"
            )

    @property
    def is_done(self) -> bool:
        """True once the activity has been carried out."""
        return self.done_at is not None

    def is_overdue(self, at: datetime) -> bool:
        """True when it is not done and its due time has passed at ``at``."""
        return (
            self.done_at is None
            and self.due_at is not None
            and self.due_at < aware_utc(at, "at")
        )


class TicketKind(enum.StrEnum):
    """
    A request for information or service, or an incident to fix.

    .. versionadded:: 0.1
    """

    REQUEST = "request"
    INCIDENT = "incident"


class Priority(enum.StrEnum):
    """
    How urgent a ticket is.

    .. versionadded:: 0.1
    """

    LOW = "low"
    NORMAL = "normal"
    HIGH = "high"
    URGENT = "urgent"


@attrs.frozen(kw_only=True)
class Ticket(Entity):
    """
    A customer service case: a request or an incident.

    `status` follows the ticket lifecycle (new, assigned, in progress, waiting on
    customer, resolved, closed, reopened by default); the timestamps feed SLA and
    first-contact-resolution measures.

    .. versionadded:: 0.1
    """

    entity_type = "ticket"

    id: TicketId = entity_id()
    kind: TicketKind = choice(TicketKind, TicketKind.REQUEST)
    subject: str = text(required=True)
    description: str | None = text(multiline=True)
    priority: Priority = choice(Priority, Priority.NORMAL)
    category: str | None = text()
    channel: Channel | None = choice(Channel, optional=True)
    status: str = text(default="new")
    requester: PartyRef | None = one_of(PartyRef)
    organization_id: OrganizationId | None = identifier()
    owner_id: UserId | None = identifier()
    team_id: TeamId | None = identifier()
    first_response_at: datetime | None = timestamp(optional=True)
    resolved_at: datetime | None = timestamp(optional=True)
    closed_at: datetime | None = timestamp(optional=True)
    tags: frozenset[str] = tag_set()

    def _invariants(self) -> Iterator[FieldError]:
        yield from super()._invariants()
        for name in ("first_response_at", "resolved_at", "closed_at"):
            moment = getattr(self, name)
            if moment is not None and moment < self.created_at:
                yield FieldError(
                    name, moment, "time.order", "is before the ticket was opened"
                )
