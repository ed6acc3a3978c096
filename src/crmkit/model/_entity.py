"""The base of every persisted entity, and how entities are created and changed."""

from __future__ import annotations

import functools
from collections.abc import Iterator, Mapping
from datetime import datetime
from typing import TYPE_CHECKING, Any, ClassVar, Generic, NamedTuple, Self, TypeVar
from uuid import UUID

import attrs
from immutabledict import immutabledict

from crmkit._validation import aware_utc
from crmkit.errors import FieldError, ValidationError
from crmkit.ids import UserId, new_id
from crmkit.model._fields import Checked, checked, frozen_map, timestamp

if TYPE_CHECKING:
    from crmkit.model._custom import EntitySchema

__all__ = [
    "Entity",
    "EntityArchived",
    "EntityCreated",
    "EntityDeleted",
    "EntityRestored",
    "EntityUpdated",
    "FieldChange",
    "Updated",
    "diff",
]

BOOKKEEPING = frozenset({"id", "version", "created_at", "updated_at"})

_E = TypeVar("_E", bound="Entity")


@attrs.frozen
class FieldChange:
    """
    One field's change: ``field`` went from ``old`` to ``new``.

    Custom fields are reported one by one, as ``custom.<name>``.

    .. versionadded:: 0.1
    """

    field: str
    old: Any
    new: Any


@attrs.frozen(kw_only=True)
class EntityUpdated:
    """
    Domain event: an entity changed; `changes` lists every field that moved.

    .. versionadded:: 0.1
    """

    entity_type: str
    entity_id: UUID
    version: int
    at: datetime
    actor: UserId | None
    changes: tuple[FieldChange, ...]


@attrs.frozen(kw_only=True)
class EntityCreated:
    """
    Domain event: an entity was stored for the first time.

    .. versionadded:: 0.1
    """

    entity_type: str
    entity_id: UUID
    version: int
    at: datetime
    actor: UserId | None


@attrs.frozen(kw_only=True)
class EntityArchived:
    """
    Domain event: an entity was archived (soft-deleted); it can be restored.

    .. versionadded:: 0.1
    """

    entity_type: str
    entity_id: UUID
    at: datetime
    actor: UserId | None


@attrs.frozen(kw_only=True)
class EntityRestored:
    """
    Domain event: an archived entity was brought back.

    .. versionadded:: 0.1
    """

    entity_type: str
    entity_id: UUID
    at: datetime
    actor: UserId | None


@attrs.frozen(kw_only=True)
class EntityDeleted:
    """
    Domain event: an entity was erased for good.

    .. versionadded:: 0.1
    """

    entity_type: str
    entity_id: UUID
    at: datetime
    actor: UserId | None


class Updated(NamedTuple, Generic[_E]):
    """What `Entity.update` returns: the new entity and the event describing it."""

    entity: _E
    event: EntityUpdated


def diff(old: Entity, new: Entity) -> tuple[FieldChange, ...]:
    """
    List what changed between two versions of an entity, field by field.

    Bookkeeping fields are left out; custom fields are compared key by key.
    """
    return tuple(_changes(old, new))


def _changes(old: Entity, new: Entity) -> Iterator[FieldChange]:
    for field in attrs.fields(type(old)):
        if field.name in BOOKKEEPING:
            continue
        before, after = getattr(old, field.name), getattr(new, field.name)
        if field.name == "custom":
            for key in sorted(before.keys() | after.keys()):
                if before.get(key) != after.get(key):
                    yield FieldChange(f"custom.{key}", before.get(key), after.get(key))
        elif before != after:
            yield FieldChange(field.name, before, after)


@functools.cache
def _settable(cls: type) -> frozenset[str]:
    """The fields a caller may give: all but the bookkeeping ones."""
    return frozenset(attrs.fields_dict(cls)) - BOOKKEEPING


@functools.cache
def _required(cls: type) -> tuple[str, ...]:
    """The settable fields without a default, in class order."""
    return tuple(
        f.name
        for f in attrs.fields(cls)
        if f.name not in BOOKKEEPING and f.default is attrs.NOTHING
    )


def _refuse_fields(cls: type, values: Mapping[str, Any]) -> None:
    """Refuse names that are not fields, and the bookkeeping fields crmkit sets."""
    if values.keys() <= _settable(cls):
        return
    known = attrs.fields_dict(cls)
    errors = [
        FieldError(
            name, value, "unknown_field", f"{cls.__name__} has no field {name!r}"
        )
        for name, value in sorted(values.items())
        if name not in known
    ]
    errors += [
        FieldError(name, value, "read_only", "is managed by crmkit and cannot be set")
        for name, value in sorted(values.items())
        if name in BOOKKEEPING
    ]
    if errors:
        raise ValidationError(errors)


def _check_id(value: object, path: str) -> None:
    if not isinstance(value, UUID):
        raise ValidationError.single(
            path, value, "type", f"expected UUID, not {type(value).__name__}"
        )


def _check_version(value: object, path: str) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValidationError.single(path, value, "version", "must be an int >= 1")


def entity_id() -> Any:
    """The ``id`` field; entities redeclare it with their own id type."""
    return checked(_check_id)


@attrs.frozen(kw_only=True)
class Entity(Checked):
    """
    What every persisted entity carries: id, version and timestamps, plus custom fields.

    Entities are immutable. Build one with `create` (which stamps id, version and
    times from ``at``) and change it with `update`, which returns the new entity and
    an `EntityUpdated` event listing each change.

    .. versionadded:: 0.1
    """

    entity_type: ClassVar[str] = "entity"

    id: UUID = entity_id()
    version: int = checked(_check_version, default=1)
    created_at: datetime = timestamp()
    updated_at: datetime = timestamp()
    custom: immutabledict[str, Any] = frozen_map()

    def _invariants(self) -> Iterator[FieldError]:
        if self.updated_at < self.created_at:
            yield FieldError(
                "updated_at", self.updated_at, "time.order", "is before created_at"
            )

    @classmethod
    def create(
        cls,
        *,
        at: datetime,
        id: UUID | None = None,  # noqa: A002 - the entity's own field name
        schema: EntitySchema | None = None,
        **fields: Any,
    ) -> Self:
        """
        Build a new entity at version 1, stamped with ``at``.

        Args:
            at: When it is created (timezone-aware); also the time inside its id.
            id: An id to use instead of a new UUIDv7 (when importing, say).
            schema: Custom field and lifecycle definitions to validate against.
            **fields: The entity's own fields.

        Raises:
            ValidationError: Every problem found: unknown, missing or invalid fields.
        """
        at = aware_utc(at, "at")
        _refuse_fields(cls, fields)
        entity_class: type = cls  # a plain type, as functools.cache's keys need
        missing = [
            FieldError(name, None, "required", "is required")
            for name in _required(entity_class)
            if name not in fields
        ]
        if missing:
            raise ValidationError(missing)
        entity = cls(
            id=new_id(at) if id is None else id,
            created_at=at,
            updated_at=at,
            **fields,
        )
        return entity if schema is None else schema.apply(entity)

    def update(
        self,
        changes: Mapping[str, Any],
        /,
        *,
        at: datetime,
        actor: UserId | None = None,
        schema: EntitySchema | None = None,
    ) -> Updated[Self]:
        """
        Apply ``changes`` and return the new entity with an `EntityUpdated` event.

        The version goes up by one and `updated_at` becomes ``at``. When nothing
        actually changes, the same entity comes back with an event that has no
        changes. A ``custom`` change replaces the whole mapping; merge it yourself
        (``{**entity.custom, "revenue": ...}``) to change one key.

        Raises:
            ValidationError: An unknown or read-only field, an invalid value, or
                ``at`` earlier than the entity's last update.
        """
        at = aware_utc(at, "at")
        if at < self.updated_at:
            raise ValidationError.single(
                "at", at, "time.order", f"is before the last update ({self.updated_at})"
            )
        _refuse_fields(type(self), changes)
        candidate = attrs.evolve(self, **changes)
        if schema is not None:
            candidate = schema.apply(candidate)
        field_changes = diff(self, candidate)
        new = (
            attrs.evolve(candidate, version=self.version + 1, updated_at=at)
            if field_changes
            else self
        )
        event = EntityUpdated(
            entity_type=self.entity_type,
            entity_id=self.id,
            version=new.version,
            at=at,
            actor=actor,
            changes=field_changes,
        )
        return Updated(new, event)
