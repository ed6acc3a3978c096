"""The ports: what any storage of crmkit entities must offer, as Protocols."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from datetime import datetime, timedelta
from types import TracebackType
from typing import Any, Protocol, Self, TypeVar
from uuid import UUID

import attrs

from crmkit.ids import UserId
from crmkit.model import (
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
from crmkit.repositories._merges import MergeLog
from crmkit.repositories._query import Page
from crmkit.values import EmailAddress, PhoneNumber

__all__ = [
    "Database",
    "FieldHistoryEntry",
    "OutboxMessage",
    "Repository",
    "StageEntry",
    "StageHistoryRepository",
    "StageVisit",
    "UnitOfWork",
]

_E = TypeVar("_E", bound=Entity)


@attrs.frozen(kw_only=True)
class FieldHistoryEntry:
    """
    One change to one field of a stored entity: who, when, from what, to what.

    Values are kept in their plain-data form (as `crmkit.serialization.to_dict`
    writes them), so history stays readable whatever the model becomes.

    .. versionadded:: 0.1
    """

    entity_type: str
    entity_id: UUID
    version: int
    field: str
    old: Any
    new: Any
    actor: UserId | None
    at: datetime


@attrs.frozen(kw_only=True)
class OutboxMessage:
    """
    A domain event stored in the same transaction as the change that caused it.

    A relay reads pending messages and publishes them, then marks them published.

    .. versionadded:: 0.1
    """

    id: int
    event_type: str
    entity_type: str | None
    entity_id: UUID | None
    at: datetime
    payload: Mapping[str, Any]


@attrs.frozen(kw_only=True)
class StageVisit:
    """
    One stay of a deal in one stage of a pipeline.

    Attributes:
        probability: The stage's win probability when the deal entered it: a
            snapshot that later changes to the stage definition do not rewrite.
        exited_at: When the deal left the stage; `None` while it is there.
        override: The owner's probability, if one was set during the stay.
        override_by: Who set it.

    .. versionadded:: 0.1
    """

    deal_id: UUID
    pipeline: str
    stage: str
    entered_at: datetime
    entered_by: UserId | None
    exited_at: datetime | None = None
    exited_by: UserId | None = None
    probability: float | None = None
    override: float | None = None
    override_by: UserId | None = None

    @property
    def duration(self) -> timedelta | None:
        """How long the stay lasted; `None` while the deal is still there."""
        return None if self.exited_at is None else self.exited_at - self.entered_at


@attrs.frozen(kw_only=True)
class StageEntry:
    """
    A deal entering a stage: what `StageHistoryRepository.enter` stores.

    .. versionadded:: 0.1
    """

    deal_id: UUID
    pipeline: str
    stage: str
    at: datetime
    actor: UserId | None = None
    probability: float | None = None


class StageHistoryRepository(Protocol):
    """
    Stored stage history: each deal's stays, in order, one row per stay.

    Written in the unit of work that stores the deal's move, so both commit or
    neither does. Implementations must pass
    `crmkit.testing.contract.RepositoryContract`.

    .. versionadded:: 0.1
    """

    def enter(self, entries: Iterable[StageEntry]) -> None:
        """
        Record deals entering stages, in order.

        Each entry closes its deal's open stay (exited at the entry's ``at``, by
        its ``actor``) and opens a new one at the entry's probability.

        Raises:
            ValidationError: A naive time, a time before the open stay's entry, a
                probability outside [0, 1], or a blank pipeline or stage.
        """
        ...

    def override(
        self,
        deal_id: UUID,
        probability: float,
        *,
        at: datetime,
        actor: UserId | None = None,
    ) -> None:
        """
        Record an owner's probability on the deal's open stay.

        Raises:
            NotFound: The deal has no open stay.
            ValidationError: A naive time or a probability outside [0, 1].
        """
        ...

    def visits(self, deal_id: UUID) -> list[StageVisit]:
        """The deal's stays, oldest first (empty when it has none)."""
        ...

    def visits_of(self, deal_ids: Iterable[UUID]) -> dict[UUID, list[StageVisit]]:
        """The stays of many deals, read together; every id asked is a key."""
        ...


class Repository(Protocol[_E]):
    """
    Stored entities of one type.

    Implementations must pass `crmkit.testing.contract.RepositoryContract`.

    .. versionadded:: 0.1
    """

    def get(self, entity_id: UUID, *, include_archived: bool = False) -> _E:
        """Return the entity, or raise `NotFound` (archived ones count as gone)."""
        ...

    def get_many(self, entity_ids: Iterable[UUID]) -> list[_E]:
        """Return the entities in the order asked; `NotFound` names any missing."""
        ...

    def add(self, entity: _E, *, actor: UserId | None = None) -> None:
        """Store a new entity; `AlreadyExists` if its id or an external id is taken."""
        ...

    def add_many(self, entities: Iterable[_E], *, actor: UserId | None = None) -> None:
        """
        Store new entities together: what `add` does for each, in fewer round trips.

        All or nothing: `AlreadyExists` names the first id or external id taken
        (by a stored entity or by another of ``entities``), and none is stored.
        """
        ...

    def update(self, entity: _E, *, actor: UserId | None = None) -> None:
        """
        Store a new version: the stored one must be at ``entity.version - 1``.

        Raises `ConcurrencyError` otherwise, and records the field history.
        """
        ...

    def delete(
        self,
        entity_id: UUID,
        *,
        at: datetime,
        actor: UserId | None = None,
        hard: bool = False,
    ) -> None:
        """Archive the entity (it can be restored), or erase it with ``hard=True``."""
        ...

    def restore(
        self, entity_id: UUID, *, at: datetime, actor: UserId | None = None
    ) -> None:
        """Bring an archived entity back."""
        ...

    def find(
        self,
        *,
        where: Mapping[str, Any] | None = None,
        order_by: str | Sequence[str] = "created_at",
        limit: int = 100,
        after: str | None = None,
        include_archived: bool = False,
    ) -> Page[_E]:
        """
        Return one page of entities matching every condition, in order.

        A field holding several ids (an activity's ``lead_ids``) takes only
        `contains`: ``where={"lead_ids": contains(lead_id)}``.
        """
        ...

    def count(
        self, *, where: Mapping[str, Any] | None = None, include_archived: bool = False
    ) -> int:
        """Count the entities matching every condition."""
        ...

    def batches(
        self,
        *,
        size: int = 1000,
        where: Mapping[str, Any] | None = None,
        include_archived: bool = False,
    ) -> Iterator[list[_E]]:
        """Go through every matching entity, ``size`` at a time, in id order."""
        ...

    def find_by_email(self, email: EmailAddress | str) -> list[_E]:
        """Entities having that email address (compared normalised)."""
        ...

    def find_by_phone(self, phone: PhoneNumber | str) -> list[_E]:
        """Entities having that phone number (compared in E.164)."""
        ...

    def find_by_external_id(self, system: str, value: str) -> _E | None:
        """
        The entity known as ``value`` in another ``system``, if any.

        Archived entities are found too: they keep their external ids taken.
        """
        ...

    def find_by_external_ids(self, system: str, values: Iterable[str]) -> dict[str, _E]:
        """The entities known by ``values`` in ``system``, keyed by value."""
        ...

    def history(self, entity_id: UUID) -> list[FieldHistoryEntry]:
        """Every recorded field change of the entity, oldest first."""
        ...


class UnitOfWork(Protocol):
    """
    One transaction over every repository: explicit commit, rollback on exit.

    ``with db.unit_of_work() as uow: ...; uow.commit()``; leaving the block without
    `commit` rolls everything back, events included.

    .. versionadded:: 0.1
    """

    people: Repository[Person]
    organizations: Repository[Organization]
    relationships: Repository[Relationship]
    leads: Repository[Lead]
    deals: Repository[Deal]
    activities: Repository[Activity]
    tickets: Repository[Ticket]
    orders: Repository[Order]
    products: Repository[Product]
    users: Repository[User]
    teams: Repository[Team]
    campaigns: Repository[Campaign]
    stage_history: StageHistoryRepository
    indexed_queries: bool
    """
    Whether a query on an indexed field (equality, `in_`, `contains`) reads only
    the matching records (SQL) or every record of the table (in memory): callers
    choosing between many queries and one scan read it.
    """

    @property
    def merges(self) -> MergeLog:
        """The merge records (see `crmkit.dedup.merge`), in this transaction."""
        ...

    def repository(self, cls: type[_E]) -> Repository[_E]:
        """The repository of an entity class."""
        ...

    def record(self, event: Any) -> None:
        """Add a domain event to the outbox, stored when the unit commits."""
        ...

    def record_many(self, events: Iterable[Any]) -> None:
        """Add domain events to the outbox, in order, stored when the unit commits."""
        ...

    def pending_messages(self, *, limit: int = 100) -> list[OutboxMessage]:
        """Outbox messages not yet published, oldest first."""
        ...

    def mark_published(self, message_ids: Iterable[int], *, at: datetime) -> None:
        """Mark outbox messages as published."""
        ...

    def messages(
        self, *, after: int = 0, limit: int = 100, ids: Iterable[int] | None = None
    ) -> list[OutboxMessage]:
        """
        Outbox messages, published or not, oldest first.

        Those whose id is above ``after`` (at most ``limit``), or, given ``ids``,
        those with one of these ids. For readers that keep their own cursor
        (an index kept in sync, a projection).
        """
        ...

    def last_message_id(self) -> int:
        """The id of the newest outbox message (0 when there is none)."""
        ...

    def commit(self) -> None:
        """Make every change of this unit durable, atomically."""
        ...

    def rollback(self) -> None:
        """Drop every change of this unit."""
        ...

    def __enter__(self) -> Self: ...

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None: ...


class Database(Protocol):
    """
    A store of crmkit entities that hands out units of work.

    .. versionadded:: 0.1
    """

    def unit_of_work(self, *, readonly: bool = False) -> UnitOfWork:
        """
        A new unit of work; use it in a ``with`` block.

        A ``readonly`` unit refuses writes, and on SQLite reads without taking the
        write lock, so long reads (exports, reports) never block writers.
        """
        ...
