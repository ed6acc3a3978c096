"""The ports: what any storage of crmkit entities must offer, as Protocols."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from datetime import datetime
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
        """Return one page of entities matching every condition, in order."""
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
