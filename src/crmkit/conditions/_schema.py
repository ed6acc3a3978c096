"""What fields a record has and their types, so conditions are checked at load time."""

from __future__ import annotations

import enum
import types
import typing
from collections.abc import Mapping
from datetime import date, datetime
from decimal import Decimal
from typing import Final
from uuid import UUID

import attrs
from immutabledict import immutabledict

from crmkit.errors import InvalidDefinition
from crmkit.model import CustomFieldType, Entity, EntitySchema
from crmkit.values import EmailAddress, PhoneNumber, Probability, Url

__all__ = ["FieldType", "Schema", "record_of"]


class FieldType(enum.StrEnum):
    """
    The type of a field as conditions see it.

    .. versionadded:: 0.1
    """

    TEXT = "text"
    NUMBER = "number"
    BOOL = "bool"
    DATE = "date"
    DATETIME = "datetime"
    TEXT_SET = "text_set"
    """A collection of texts, such as tags or languages: ``tags contains "vip"``."""


_AS_TEXT: Final = (EmailAddress, PhoneNumber, Url, UUID)
_CUSTOM: Final = {
    CustomFieldType.TEXT: FieldType.TEXT,
    CustomFieldType.INTEGER: FieldType.NUMBER,
    CustomFieldType.DECIMAL: FieldType.NUMBER,
    CustomFieldType.BOOL: FieldType.BOOL,
    CustomFieldType.DATE: FieldType.DATE,
    CustomFieldType.DATETIME: FieldType.DATETIME,
    CustomFieldType.CHOICE: FieldType.TEXT,
    CustomFieldType.MULTI_CHOICE: FieldType.TEXT_SET,
    CustomFieldType.EMAIL: FieldType.TEXT,
    CustomFieldType.PHONE: FieldType.TEXT,
    CustomFieldType.URL: FieldType.TEXT,
}
_MONEY_FIELDS: Final = immutabledict(
    {"amount": FieldType.NUMBER, "currency": FieldType.TEXT}
)
_MAX_DEPTH: Final = 3


def _field_type(value: object) -> FieldType | Schema:
    if isinstance(value, Schema):
        return value
    allowed = [kind.value for kind in FieldType]
    if isinstance(value, str) and value in allowed:
        return FieldType(value)
    raise InvalidDefinition("type", f"{value!r} is not one of {', '.join(allowed)}")


def _fields(
    value: Mapping[str, FieldType | Schema | str],
) -> immutabledict[str, FieldType | Schema]:
    return immutabledict({name: _field_type(kind) for name, kind in value.items()})


@attrs.frozen
class Schema:
    """
    The fields of a record and their types; nested schemas are related records.

    >>> lead = Schema("lead", {"country": "text", "score": "number"})
    >>> lead.type_of("score")
    <FieldType.NUMBER: 'number'>

    .. versionadded:: 0.1
    """

    name: str
    fields: immutabledict[str, FieldType | Schema] = attrs.field(converter=_fields)

    def type_of(self, path: str) -> FieldType | Schema | None:
        """The type at a dotted path, or `None` when there is no such field."""
        current: FieldType | Schema = self
        for part in path.split("."):
            if not isinstance(current, Schema) or part not in current.fields:
                return None
            current = current.fields[part]
        return current

    def paths(self) -> tuple[str, ...]:
        """Every leaf path, sorted: ``("address.city", ..., "score")``."""
        found: list[str] = []
        for name, kind in self.fields.items():
            if isinstance(kind, Schema):
                found.extend(f"{name}.{inner}" for inner in kind.paths())
            else:
                found.append(name)
        return tuple(sorted(found))

    def extended(self, fields: Mapping[str, FieldType | Schema | str]) -> Schema:
        """The same schema with more (or retyped) fields."""
        return Schema(self.name, {**self.fields, **fields})

    @classmethod
    def of(
        cls,
        record_type: type,
        *,
        custom: EntitySchema | None = None,
        related: Mapping[str, Schema] | None = None,
    ) -> Schema:
        """
        The schema of an attrs class such as `crmkit.model.Lead`.

        Args:
            record_type: The attrs class; fields of types conditions cannot test
                (consents, for instance) are left out.
            custom: The business's custom fields, reachable as ``custom.<name>``.
            related: Related records by name, such as ``{"organization":
                Schema.of(Organization)}``: ``organization.employees``.
        """
        schema = _attrs_schema(record_type, 0)
        fields = dict(schema.fields)
        if custom is not None:
            fields["custom"] = Schema(
                "custom",
                {
                    field.name: Schema("money", _MONEY_FIELDS)
                    if field.type is CustomFieldType.MONEY
                    else _CUSTOM[field.type]
                    for field in custom.custom_fields
                },
            )
        fields.update(related or {})
        name = getattr(record_type, "entity_type", record_type.__name__.lower())
        return Schema(name, fields)


def _leaf_type(kind: object, depth: int) -> FieldType | Schema | None:
    while hasattr(kind, "__supertype__"):  # a NewType such as LeadId
        kind = kind.__supertype__
    args = typing.get_args(kind)
    if isinstance(kind, types.UnionType) or typing.get_origin(kind) is typing.Union:
        options = [arg for arg in args if arg is not type(None)]
        return _leaf_type(options[0], depth) if len(options) == 1 else None
    origin = typing.get_origin(kind)
    if origin in {tuple, frozenset, set, list}:
        inner = _leaf_type(args[0], depth) if args else None
        return FieldType.TEXT_SET if inner is FieldType.TEXT else None
    if not isinstance(kind, type):
        return None
    simple: tuple[tuple[type | tuple[type, ...], FieldType], ...] = (
        (bool, FieldType.BOOL),
        ((str, *_AS_TEXT), FieldType.TEXT),
        ((int, float, Decimal, Probability), FieldType.NUMBER),
        (datetime, FieldType.DATETIME),
        (date, FieldType.DATE),
    )
    for types_, field_type in simple:
        if issubclass(kind, types_):
            return field_type
    if attrs.has(kind) and depth < _MAX_DEPTH:
        return _attrs_schema(kind, depth + 1)
    return None


def _attrs_schema(record_type: type, depth: int) -> Schema:
    if not attrs.has(record_type):
        raise InvalidDefinition("record_type", f"{record_type!r} is not an attrs class")
    attrs.resolve_types(record_type)
    fields: dict[str, FieldType | Schema] = {}
    for field in attrs.fields(record_type):
        if field.name.startswith("_"):
            continue
        kind = _leaf_type(field.type, depth)
        if kind is not None:
            fields[field.name] = kind
    return Schema(record_type.__name__.lower(), fields)


def _plain(value: object) -> object:  # noqa: PLR0911 - one return per kind of value
    if value is None or isinstance(value, str | bool | int | Decimal | date):
        return value
    if isinstance(value, _AS_TEXT):
        return str(value)
    if isinstance(value, float):
        return value
    if isinstance(value, Probability):
        return value.value
    if isinstance(value, tuple | frozenset | set | list):
        return frozenset(_plain(item) for item in value)
    if isinstance(value, Mapping):
        return {key: _plain(item) for key, item in value.items()}
    kind = type(value)
    if attrs.has(kind):
        return {
            field.name: _plain(getattr(value, field.name))
            for field in attrs.fields(kind)
        }
    return value


def record_of(entity: Entity | object) -> dict[str, object]:
    """
    A plain record of an attrs entity, as conditions read it.

    Emails, phones, urls and ids become text, collections become frozensets,
    related values (address, money) become nested records.
    """
    record = _plain(entity)
    if not isinstance(record, dict):
        raise InvalidDefinition("entity", f"{entity!r} is not an attrs record")
    return record
