"""
Turning crmkit objects into plain data and back, with one cattrs converter.

Encoding decisions, the same for dicts and JSON:

- datetimes: ISO 8601 with their offset; a naive one is refused when read back;
- dates: ISO 8601 (``"2026-11-22"``);
- `Decimal`: a string (``"12.30"``), so no precision is lost; floats are refused;
- ids: the UUID's text;
- `EmailAddress`, `PhoneNumber`, `Url`: their text (E.164 for phones);
- `Money`: ``{"amount": "12.30", "currency": "EUR"}``;
- `Probability`: a number in [0, 1];
- enums: their value; tuples: lists; sets: sorted lists;
- custom fields: by their Python type, and typed back by the `EntitySchema`
  given to `make_converter` (without one, they stay as plain JSON values).

Reading refuses unknown keys, and every problem found comes back in one
`ValidationError` with a path per field, such as ``emails[1]`` or ``custom.revenue``.

>>> from datetime import datetime, UTC
>>> from crmkit.model import Person
>>> jean = Person.create(at=datetime(2026, 11, 22, tzinfo=UTC), first_name="Jean")
>>> from_json(Person, to_json(jean)) == jean
True
"""

from __future__ import annotations

import enum
import json
from collections.abc import Callable, Mapping, Sequence
from collections.abc import Set as AbstractSet
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from functools import cache, partial
from types import UnionType
from typing import Any, Final, TypeVar, Union, get_args, get_origin
from uuid import UUID

import attrs
import cattrs
from cattrs.errors import (
    AttributeValidationNote,
    BaseValidationError,
    ForbiddenExtraKeysError,
    IterableValidationNote,
)
from cattrs.fns import identity
from cattrs.gen import make_dict_unstructure_fn, override
from immutabledict import immutabledict

from crmkit import model, values
from crmkit._validation import aware_utc
from crmkit.errors import FieldError, InvalidDefinition, ValidationError, join_path
from crmkit.ids import new_id
from crmkit.model import ENTITY_TYPES, Entity, EntitySchema
from crmkit.model._entity import BOOKKEEPING
from crmkit.model._fields import EMPTY_MAP, Checked, field_errors
from crmkit.values import EmailAddress, Money, PhoneNumber, Probability, Url

__all__ = [
    "create_from_dict",
    "from_dict",
    "from_json",
    "make_converter",
    "to_dict",
    "to_json",
]

_T = TypeVar("_T")
_E = TypeVar("_E", bound=Entity)


def _refuse(value: object, expected: str) -> ValidationError:
    return ValidationError.single(
        "", value, "type", f"expected {expected}, not {type(value).__name__}"
    )


def _structure_datetime(value: Any, _: type) -> datetime:
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value)
        except ValueError:
            raise ValidationError.single(
                "", value, "datetime.invalid", "not an ISO 8601 date and time"
            ) from None
    if not isinstance(value, datetime):
        raise _refuse(value, "an ISO 8601 datetime")
    if value.utcoffset() is None:
        raise ValidationError.single(
            "",
            value,
            "datetime.naive",
            "naive datetime; include an offset, e.g. +00:00",
        )
    return value


def _structure_date(value: Any, _: type) -> date:
    if isinstance(value, str):
        try:
            return date.fromisoformat(value)
        except ValueError:
            raise ValidationError.single(
                "", value, "date.invalid", "not an ISO 8601 date"
            ) from None
    if isinstance(value, datetime) or not isinstance(value, date):
        raise _refuse(value, "an ISO 8601 date")
    return value


def _structure_decimal(value: Any, _: type) -> Decimal:
    if isinstance(value, float):
        raise ValidationError.single(
            "",
            value,
            "decimal.float",
            "floats are inexact; write the number as a string, e.g. '12.30'",
        )
    if isinstance(value, bool) or not isinstance(value, str | int | Decimal):
        raise _refuse(value, "a decimal number as a string")
    try:
        number = Decimal(value)
    except InvalidOperation:
        raise ValidationError.single(
            "", value, "decimal.invalid", "not a decimal number"
        ) from None
    if not number.is_finite():
        raise ValidationError.single("", value, "decimal.invalid", "must be finite")
    return number


def _structure_uuid(value: Any, _: type) -> UUID:
    if isinstance(value, UUID):
        return value
    if not isinstance(value, str):
        raise _refuse(value, "a UUID string")
    try:
        return UUID(value)
    except ValueError:
        raise ValidationError.single("", value, "id.invalid", "not a UUID") from None


def _structure_money(value: Any, _: type) -> Money:
    if isinstance(value, Money):
        return value
    if not isinstance(value, Mapping) or set(value) != {"amount", "currency"}:
        raise _refuse(value, "{'amount': '12.30', 'currency': 'EUR'}")
    try:
        amount = _structure_decimal(value["amount"], Decimal)
    except ValidationError as error:
        raise error.at("amount") from None
    return Money(amount, value["currency"])


def _structure_probability(value: Any, _: type) -> Probability:
    if isinstance(value, Probability):
        return value
    try:
        return Probability(value)
    except ValidationError as error:
        raise ValidationError(attrs.evolve(e, path="") for e in error.errors) from None


def _structure_enum(value: Any, cls: type[enum.Enum]) -> enum.Enum:
    try:
        return cls(value)
    except ValueError:
        allowed = ", ".join(repr(member.value) for member in cls)
        raise ValidationError.single(
            "", value, "choice.invalid", f"must be one of {allowed}"
        ) from None


def _structure_str(value: Any, cls: type) -> str:
    if cls is not str:  # a StrEnum dispatches here, before Enum
        return _structure_enum(value, cls)  # type: ignore[return-value]
    if not isinstance(value, str):
        raise _refuse(value, "str")
    return value


def _structure_int(value: Any, _: type) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise _refuse(value, "int")
    return value


def _structure_bool(value: Any, _: type) -> bool:
    if not isinstance(value, bool):
        raise _refuse(value, "bool")
    return value


def _custom_value_to_json(value: Any) -> Any:
    """Encode one custom field value as JSON-ready data, by its Python type."""
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Money):
        return {"amount": str(value.amount), "currency": value.currency}
    if isinstance(value, EmailAddress | PhoneNumber | Url):
        return str(value)
    if isinstance(value, tuple | list | frozenset | set):
        return [_custom_value_to_json(item) for item in value]
    return value


_SETS = (frozenset, set, AbstractSet)
_COLLECTIONS = (tuple, list, *_SETS, Sequence)


def _is_collection(cls: Any) -> bool:
    return get_origin(cls) in _COLLECTIONS


def _is_immutabledict(cls: Any) -> bool:
    return get_origin(cls) is immutabledict or cls is immutabledict


def _structure_email(value: Any, _: type) -> EmailAddress:
    return value if isinstance(value, EmailAddress) else EmailAddress(value)


def _structure_url(value: Any, _: type) -> Url:
    return value if isinstance(value, Url) else Url(value)


def _unstructure_money(money: Money) -> dict[str, str]:
    return {"amount": str(money.amount), "currency": money.currency}


def _unstructure_probability(probability: Probability) -> float:
    return probability.value


_VALUE_HOOKS: Final[
    dict[type, tuple[Callable[[Any, Any], Any], Callable[[Any], Any]]]
] = {
    datetime: (_structure_datetime, datetime.isoformat),
    date: (_structure_date, date.isoformat),
    Decimal: (_structure_decimal, str),
    UUID: (_structure_uuid, str),
    EmailAddress: (_structure_email, str),
    Url: (_structure_url, str),
    Money: (_structure_money, _unstructure_money),
    Probability: (_structure_probability, _unstructure_probability),
}
"""How each value type is read from and written to plain data."""

_STRICT_BUILTINS: Final[dict[type, Callable[[Any, Any], Any]]] = {
    str: _structure_str,
    int: _structure_int,
    bool: _structure_bool,
}
"""cattrs would coerce (``int("3")``, ``str(3)``); crmkit refuses instead."""


def _is_enum(cls: Any) -> bool:
    return isinstance(cls, type) and issubclass(cls, enum.Enum)


def _is_optional(cls: Any) -> bool:
    """``X | None`` for one type X (cattrs would dispatch X again on every call)."""
    args = get_args(cls)
    return (
        get_origin(cls) in (Union, UnionType)
        and len(args) == 2  # noqa: PLR2004 - X and None
        and type(None) in args
    )


def _collection_structure(
    converter: cattrs.Converter, cls: Any
) -> Callable[[Any, Any], Any]:
    """Read a list, tuple or set; refuse a bare string; name every bad item."""
    item_type = get_args(cls)[0]
    item_hook = converter.get_structure_hook(item_type)
    origin = get_origin(cls)
    build: Callable[[list[Any]], Any] = (
        frozenset if origin in _SETS else list if origin is list else tuple
    )

    def structure(value: Any, _: Any) -> Any:
        if value.__class__ not in (list, tuple) and (
            isinstance(value, str | bytes | Mapping)
            or not isinstance(value, list | tuple | set | frozenset)
        ):
            raise _refuse(value, "a list")
        items, errors = [], []
        for index, item in enumerate(value):
            try:
                items.append(item_hook(item, item_type))
            except Exception as error:  # noqa: BLE001 - collected, then raised
                errors.extend(_field_errors(error, item, f"[{index}]"))
        if errors:
            raise ValidationError(errors)
        return build(items)

    return structure


def _collection_unstructure(
    converter: cattrs.Converter, cls: Any
) -> Callable[[Any], Any]:
    """Write a collection as a list; sets sorted, so the output is stable."""
    args = get_args(cls)
    item_hook = converter.get_unstructure_hook(args[0] if args else Any)
    if get_origin(cls) in _SETS:
        if args and args[0] is str:
            return sorted
        return lambda items: sorted(map(item_hook, items), key=str)
    if item_hook is identity:
        return list
    return lambda items: list(map(item_hook, items)) if items else []


def _optional_structure(
    converter: cattrs.Converter, cls: Any
) -> Callable[[Any, Any], Any]:
    """Read ``X | None`` with X's hook, looked up once."""
    inner = next(arg for arg in get_args(cls) if arg is not type(None))
    inner_hook = converter.get_structure_hook(inner)
    return lambda value, _: None if value is None else inner_hook(value, inner)


def _optional_unstructure(
    converter: cattrs.Converter, cls: Any
) -> Callable[[Any], Any]:
    """Write ``X | None``; plain text, numbers and flags are written as they are."""
    inner = next(arg for arg in get_args(cls) if arg is not type(None))
    if inner in (str, int, bool):
        return identity
    inner_hook = converter.get_unstructure_hook(inner)
    return lambda value: None if value is None else inner_hook(value)


def _mapping_structure(
    converter: cattrs.Converter, cls: Any
) -> Callable[[Any, Any], Any]:
    """Read an immutable mapping, its values typed when the annotation says how."""
    args = get_args(cls)
    as_dict = dict[args[0], args[1]] if args and args[1] is not Any else None  # type: ignore[valid-type]

    def structure(value: Any, _: Any) -> immutabledict[Any, Any]:
        if not isinstance(value, Mapping):
            raise _refuse(value, "a mapping")
        if not value:
            return EMPTY_MAP
        if as_dict is None:
            return immutabledict(value)
        return immutabledict(converter.structure(value, as_dict))

    return structure


def _mapping_unstructure(converter: cattrs.Converter, cls: Any) -> Callable[[Any], Any]:
    """Write an immutable mapping as a dict."""
    args = get_args(cls)
    if args and args[1] is str:
        return dict
    return lambda mapping: converter.unstructure(dict(mapping))


def _register_containers(converter: cattrs.Converter) -> None:
    """Hooks for collections, optionals and mappings, resolved once per type."""
    for predicate, structure, unstructure in (
        (_is_collection, _collection_structure, _collection_unstructure),
        (_is_optional, _optional_structure, _optional_unstructure),
        (_is_immutabledict, _mapping_structure, _mapping_unstructure),
    ):
        converter.register_structure_hook_factory(
            predicate, partial(structure, converter)
        )
        converter.register_unstructure_hook_factory(
            predicate, partial(unstructure, converter)
        )


def make_converter(
    *,
    schemas: Mapping[type[Entity], EntitySchema] | None = None,
    phone_region: str | None = None,
) -> cattrs.Converter:
    """
    Build a cattrs converter that knows every crmkit type.

    Each call returns a new converter; nothing is shared or global, so an
    application may register its own hooks on the one it gets.

    Args:
        schemas: Custom field schemas by entity class; their custom values are
            typed when read and checked against the schema.
        phone_region: The region of phone numbers written without ``+``.

    Returns:
        A converter for `to_dict`, `from_dict`, `to_json` and `from_json`.
    """
    converter = cattrs.Converter(
        forbid_extra_keys=True,
        detailed_validation=True,
        unstruct_collection_overrides={
            AbstractSet: lambda items: sorted(items, key=str),
            Sequence: list,
        },
    )

    def structure_phone(value: Any, _: type) -> PhoneNumber:
        if isinstance(value, PhoneNumber):
            return value
        if not isinstance(value, str):
            raise _refuse(value, "a phone number as text")
        if value.strip().startswith(("+", "tel:")):
            return PhoneNumber(value)
        return PhoneNumber.parse(value, region=phone_region)

    _register_containers(converter)
    for cls, structure in _STRICT_BUILTINS.items():
        converter.register_structure_hook(cls, structure)
    for cls, (structure, unstructure) in _VALUE_HOOKS.items():
        converter.register_structure_hook(cls, structure)
        converter.register_unstructure_hook(cls, unstructure)
    converter.register_structure_hook(PhoneNumber, structure_phone)
    converter.register_unstructure_hook(PhoneNumber, str)
    converter.register_structure_hook_func(_is_enum, _structure_enum)
    for name in (*model.__all__, *values.__all__):
        member = getattr(model, name, None) or getattr(values, name)
        if isinstance(member, type) and issubclass(member, enum.StrEnum):
            # Exact registrations beat str's hook, which a StrEnum would hit.
            converter.register_unstructure_hook(member, str)
    for cls in ENTITY_TYPES.values():
        _register_entity(converter, cls)
    converter.register_structure_hook_factory(
        _is_checked, partial(_checked_structure, converter, schemas or {})
    )
    return converter


def _custom_to_json(custom: Mapping[str, Any]) -> dict[str, Any]:
    return (
        {key: _custom_value_to_json(value) for key, value in custom.items()}
        if custom
        else {}
    )


def _register_entity(converter: cattrs.Converter, cls: type[Entity]) -> None:
    """Write an entity's custom values by their type."""
    converter.register_unstructure_hook(
        cls,
        make_dict_unstructure_fn(
            cls, converter, custom=override(unstruct_hook=_custom_to_json)
        ),
    )


def _is_checked(cls: Any) -> bool:
    return isinstance(cls, type) and issubclass(cls, Checked) and attrs.has(cls)


def _checked_structure(
    converter: cattrs.Converter,
    schemas: Mapping[type[Entity], EntitySchema],
    cls: type[Checked],
) -> Callable[[Any, Any], Any]:
    """
    Read a checked class, reporting every bad field at once.

    When some fields cannot be read, the others still get their own checks, and
    custom values their schema's, so one bad email does not hide a bad version.
    """
    structure_fields = converter.gen_structure_attrs_fromdict(cls)
    schema = schemas.get(cls) if issubclass(cls, Entity) else None

    def structure(data: Any, _: Any) -> Any:
        try:
            record = structure_fields(data, cls)
        except Exception as error:  # noqa: BLE001 - every error is reported below
            errors = _field_errors(error, data)
            if isinstance(data, Mapping):
                errors += _other_field_errors(converter, cls, data, errors)
                custom = data.get("custom")
                if schema is not None and isinstance(custom, Mapping):
                    try:
                        schema.validate_custom(custom)
                    except ValidationError as custom_error:
                        errors += custom_error.errors
            raise ValidationError(errors) from None
        return record if schema is None else schema.apply(record)  # type: ignore[arg-type]

    return structure


def _other_field_errors(
    converter: cattrs.Converter,
    cls: type,
    data: Mapping[str, Any],
    found: list[FieldError],
) -> list[FieldError]:
    """Check each field that did read, on its own, beside those that did not."""
    failed = {e.path.split(".", maxsplit=1)[0].split("[", maxsplit=1)[0] for e in found}
    errors: list[FieldError] = []
    for field in attrs.fields(cls):
        if field.name in failed or field.name not in data or field.type is None:
            continue
        try:
            value = converter.structure(data[field.name], field.type)
        except Exception:  # noqa: BLE001, S112 - already reported, or not this field's
            continue
        errors += field_errors(cls, field.name, value)
    return errors


def _child(data: Any, key: str | int) -> Any:
    try:
        return data[key]
    except (KeyError, IndexError, TypeError):
        return None


def _field_errors(error: BaseException, data: Any, path: str = "") -> list[FieldError]:
    """Flatten cattrs' exception groups into `FieldError`s with paths and values."""
    if isinstance(error, ValidationError):
        return [e.at(path) for e in error.errors]
    if isinstance(error, BaseValidationError):
        found: list[FieldError] = []
        for inner in error.exceptions:
            inner_path, inner_data = path, data
            for note in getattr(inner, "__notes__", ()):
                if isinstance(note, AttributeValidationNote):
                    inner_path = join_path(path, note.name)
                    inner_data = _child(data, note.name)
                elif isinstance(note, IterableValidationNote):
                    key = note.index
                    inner_path = join_path(
                        path, f"[{key}]" if isinstance(key, int) else str(key)
                    )
                    inner_data = _child(data, key)
            found.extend(_field_errors(inner, inner_data, inner_path))
        return found
    if isinstance(error, ForbiddenExtraKeysError):
        return [
            FieldError(
                join_path(path, key),
                _child(data, key),
                "unknown_field",
                f"{error.cl.__name__} has no field {key!r}",
            )
            for key in sorted(error.extra_fields)
        ]
    if isinstance(error, KeyError):
        return [FieldError(path, None, "required", "is required")]
    if isinstance(error, InvalidDefinition):
        field = error.path.split(".", maxsplit=1)[0].split("[", maxsplit=1)[0]
        return [
            FieldError(
                join_path(path, error.path),
                _child(data, field) if field else data,
                "definition.invalid",
                error.reason,
            )
        ]
    return [FieldError(path, data, "invalid", f"{type(error).__name__}: {error}")]


@cache
def _default_converter() -> cattrs.Converter:
    return make_converter()


def to_dict(obj: Any, *, converter: cattrs.Converter | None = None) -> Any:
    """
    Turn a crmkit object into plain data: dicts, lists, strings, numbers, booleans.

    Args:
        obj: An entity, a value, a definition, or a collection of them.
        converter: One from `make_converter`; a default one otherwise.
    """
    return (converter or _default_converter()).unstructure(obj)


def from_dict(
    cls: type[_T], data: Any, *, converter: cattrs.Converter | None = None
) -> _T:
    """
    Build a ``cls`` from plain data, validating everything.

    Raises:
        ValidationError: Every problem found, each with its field path.
    """
    try:
        return (converter or _default_converter()).structure(data, cls)
    except ValidationError:
        raise
    except Exception as error:  # noqa: BLE001 - cattrs raises many kinds; all become field errors
        raise ValidationError(_field_errors(error, data)) from None


def create_from_dict(
    cls: type[_E],
    data: Mapping[str, Any],
    *,
    at: datetime,
    converter: cattrs.Converter | None = None,
) -> _E:
    """
    Create a new entity from plain data, such as a web form or an API payload.

    Like `Entity.create`, it stamps id, version and times from ``at``; like
    `from_dict`, it reads text values (emails, phones, dates...) and reports every
    problem at once.

    >>> from datetime import datetime, UTC
    >>> from crmkit.model import Person
    >>> at = datetime(2026, 11, 22, tzinfo=UTC)
    >>> create_from_dict(
    ...     Person, {"first_name": "Jean", "emails": ["a@b.fr"]}, at=at
    ... ).version
    1

    Raises:
        ValidationError: Every problem found, each with its field path; the
            bookkeeping fields (id, version, times) cannot be given.
    """
    at = aware_utc(at, "at")
    errors = [
        FieldError(
            name, data[name], "read_only", "is managed by crmkit and cannot be set"
        )
        for name in sorted(BOOKKEEPING & set(data))
    ]
    stamped = {
        **data,
        "id": new_id(at),
        "version": 1,
        "created_at": at,
        "updated_at": at,
    }
    try:
        entity = from_dict(cls, stamped, converter=converter)
    except ValidationError as error:
        errors.extend(error.errors)
    if errors:
        raise ValidationError(errors)
    return entity


def to_json(obj: Any, *, converter: cattrs.Converter | None = None) -> str:
    """Turn a crmkit object into a JSON string (see `to_dict`)."""
    return json.dumps(to_dict(obj, converter=converter), ensure_ascii=False)


def from_json(
    cls: type[_T], text: str | bytes, *, converter: cattrs.Converter | None = None
) -> _T:
    """
    Build a ``cls`` from a JSON string, validating everything.

    Raises:
        ValidationError: Malformed JSON, or every problem found in the data.
    """
    try:
        data = json.loads(text)
    except json.JSONDecodeError as error:
        raise ValidationError.single(
            "", text, "json.invalid", f"not valid JSON: {error}"
        ) from None
    return from_dict(cls, data, converter=converter)
