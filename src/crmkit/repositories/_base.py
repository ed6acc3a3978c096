"""What the storage adapters share: repository attributes, history and events."""

from __future__ import annotations

from collections.abc import (
    Callable,
    Collection,
    Iterable,
    Iterator,
    Mapping,
    Sequence,
)
from datetime import datetime
from typing import Any, Generic, TypeVar
from uuid import UUID

import cattrs

from crmkit._validation import aware_utc
from crmkit.errors import AlreadyExists, StorageError, ValidationError
from crmkit.ids import UserId
from crmkit.model import (
    Activity,
    Campaign,
    Deal,
    Entity,
    EntityArchived,
    EntityCreated,
    EntityDeleted,
    EntityRestored,
    EntityUpdated,
    Lead,
    Order,
    Organization,
    Person,
    Product,
    Relationship,
    Team,
    Ticket,
    User,
    diff,
)
from crmkit.repositories._catalog import CATALOG
from crmkit.repositories._ports import FieldHistoryEntry, Repository
from crmkit.repositories._query import Page, Query
from crmkit.values import EmailAddress, PhoneNumber

__all__ = [
    "HistoryPolicy",
    "RepositoryAttribute",
    "RepositoryBase",
    "UnitOfWorkBase",
    "event_record",
]

_E = TypeVar("_E", bound=Entity)


class RepositoryAttribute(Generic[_E]):
    """A descriptor: ``uow.people`` is ``uow.repository(Person)``."""

    def __init__(self, cls: type[_E]) -> None:
        self.cls = cls

    def __get__(self, uow: UnitOfWorkBase, owner: type) -> Repository[_E]:
        return uow.repository(self.cls)


class UnitOfWorkBase:
    """The repository attributes every unit of work has, and its read-only guard."""

    readonly: bool = False

    people = RepositoryAttribute(Person)
    organizations = RepositoryAttribute(Organization)
    relationships = RepositoryAttribute(Relationship)
    leads = RepositoryAttribute(Lead)
    deals = RepositoryAttribute(Deal)
    activities = RepositoryAttribute(Activity)
    tickets = RepositoryAttribute(Ticket)
    orders = RepositoryAttribute(Order)
    products = RepositoryAttribute(Product)
    users = RepositoryAttribute(User)
    teams = RepositoryAttribute(Team)
    campaigns = RepositoryAttribute(Campaign)

    def repository(self, cls: type[_E]) -> Repository[_E]:
        """The repository of an entity class."""
        raise NotImplementedError

    def record(self, event: Any) -> None:
        """Add a domain event to the outbox, stored when the unit commits."""
        raise NotImplementedError

    def record_many(self, events: Iterable[Any]) -> None:
        """Add domain events to the outbox, in order, stored when the unit commits."""
        for event in events:
            self.record(event)

    def ensure_writable(self) -> None:
        """Refuse a write in a read-only unit of work."""
        if self.readonly:
            msg = (
                "this unit of work is read-only; open one with readonly=False to write"
            )
            raise StorageError(msg)


class HistoryPolicy:
    """
    Which fields' changes are recorded, per entity type (all of them by default).

    ``HistoryPolicy({Person: {"emails", "owner_id"}})`` tracks only those two fields
    of people and every field of the other types; ``custom`` tracks every custom
    field, ``custom.revenue`` only that one.
    """

    def __init__(
        self, tracked: Mapping[type[Entity], Collection[str]] | None = None
    ) -> None:
        self._tracked = {
            cls: frozenset(fields) for cls, fields in (tracked or {}).items()
        }

    def tracks(self, cls: type[Entity], field: str) -> bool:
        """True when changes of ``field`` on ``cls`` are recorded."""
        fields = self._tracked.get(cls)
        if fields is None:
            return True
        return field in fields or field.split(".", maxsplit=1)[0] in fields

    def entries(
        self,
        old: Entity,
        new: Entity,
        *,
        actor: UserId | None,
        plain: Callable[[Any], Any],
    ) -> list[FieldHistoryEntry]:
        """History entries for the tracked fields that differ between two versions."""
        return [
            FieldHistoryEntry(
                entity_type=new.entity_type,
                entity_id=new.id,
                version=new.version,
                field=change.field,
                old=plain(change.old),
                new=plain(change.new),
                actor=actor,
                at=new.updated_at,
            )
            for change in diff(old, new)
            if self.tracks(type(new), change.field)
        ]


def event_record(
    event: Any, converter: cattrs.Converter
) -> tuple[str, str | None, Any, datetime, dict[str, Any]]:
    """Split an event into outbox columns: type, entity type and id, time, payload."""
    at = getattr(event, "at", None)
    if not isinstance(at, datetime):
        raise ValidationError.single(
            "event.at", at, "event.at", "an event needs an aware `at` datetime"
        )
    payload = converter.unstructure(event)
    if not isinstance(payload, dict):
        raise ValidationError.single(
            "event", event, "event.type", "an event must be an attrs class"
        )
    return (
        type(event).__name__,
        getattr(event, "entity_type", None),
        getattr(event, "entity_id", None),
        aware_utc(at, "event.at"),
        payload,
    )


class RepositoryBase(Generic[_E]):
    """What every adapter's repository does the same way, on top of its own `find`."""

    _cls: type[_E]
    _unit: UnitOfWorkBase

    def _query(
        self,
        where: Mapping[str, Any] | None,
        order_by: str | Sequence[str],
        limit: int,
        after: str | None,
        include_archived: bool,
    ) -> Query:
        """A checked query of this entity type's queryable fields."""
        catalog = CATALOG[self._cls]
        return Query.build(
            catalog.field_types(),
            where=where,
            order_by=order_by,
            limit=limit,
            after=after,
            include_archived=include_archived,
            lists=catalog.list_types(),
        )

    def _created_event(self, entity: Entity, actor: UserId | None) -> EntityCreated:
        return EntityCreated(
            entity_type=self._cls.entity_type,
            entity_id=entity.id,
            version=entity.version,
            at=entity.created_at,
            actor=actor,
        )

    def _new_batch(self, entities: Iterable[_E]) -> list[_E]:
        """
        Check a batch for `add_many` on its own: types, and no id or external id twice.

        What is already stored is each adapter's to check.
        """
        batch = list(entities)
        ids: set[UUID] = set()
        external: set[tuple[str, str]] = set()
        for entity in batch:
            self._check_type(entity)
            if entity.id in ids:
                raise AlreadyExists(self._cls.entity_type, "id", entity.id)
            ids.add(entity.id)
            for system, value in CATALOG[self._cls].external_ids(entity):
                if (system, value) in external:
                    raise AlreadyExists(
                        self._cls.entity_type, f"external id {system}", value
                    )
                external.add((system, value))
        return batch

    def _claims(self, batch: Iterable[_E]) -> dict[str, list[str]]:
        """The external ids a batch would take, by system."""
        claims: dict[str, list[str]] = {}
        for entity in batch:
            for system, value in CATALOG[self._cls].external_ids(entity):
                claims.setdefault(system, []).append(value)
        return claims

    def _record_updated(self, old: Entity, new: Entity, actor: UserId | None) -> None:
        self._unit.record(
            EntityUpdated(
                entity_type=self._cls.entity_type,
                entity_id=new.id,
                version=new.version,
                at=new.updated_at,
                actor=actor,
                changes=diff(old, new),
            )
        )

    def _record_removed(
        self, entity_id: UUID, *, at: datetime, actor: UserId | None, hard: bool
    ) -> None:
        event = EntityDeleted if hard else EntityArchived
        self._unit.record(
            event(
                entity_type=self._cls.entity_type,
                entity_id=entity_id,
                at=at,
                actor=actor,
            )
        )

    def _record_restored(
        self, entity_id: UUID, *, at: datetime, actor: UserId | None
    ) -> None:
        self._unit.record(
            EntityRestored(
                entity_type=self._cls.entity_type,
                entity_id=entity_id,
                at=at,
                actor=actor,
            )
        )

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
        raise NotImplementedError

    def _by_point(self, kind: str, value: str) -> list[_E]:
        """Entities having the contact point ``(kind, value)``, in id order."""
        raise NotImplementedError

    def batches(
        self,
        *,
        size: int = 1000,
        where: Mapping[str, Any] | None = None,
        include_archived: bool = False,
    ) -> Iterator[list[_E]]:
        """Go through every matching entity, ``size`` at a time, in id order."""
        cursor: str | None = None
        while True:
            page = self.find(
                where=where,
                order_by="id",
                limit=size,
                after=cursor,
                include_archived=include_archived,
            )
            if page.items:
                yield list(page.items)
            if page.next_cursor is None:
                return
            cursor = page.next_cursor

    def find_by_email(self, email: EmailAddress | str) -> list[_E]:
        """Entities having that email address (compared normalised)."""
        address = email if isinstance(email, EmailAddress) else EmailAddress(email)
        return self._by_point("email", address.normalized)

    def find_by_phone(self, phone: PhoneNumber | str) -> list[_E]:
        """Entities having that phone number (compared in E.164)."""
        number = phone if isinstance(phone, PhoneNumber) else PhoneNumber(phone)
        return self._by_point("phone", number.e164)

    def _check_type(self, entity: Entity) -> None:
        if type(entity) is not self._cls:
            raise ValidationError.single(
                "entity",
                type(entity).__name__,
                "storage.type",
                f"this repository stores {self._cls.__name__}",
            )
