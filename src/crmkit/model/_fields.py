"""
Field specifiers for entities: light converters plus checks that report every error.

Converters only tidy (strip text, make tuples and frozen maps) and never raise; each
field's check runs after construction, and all failures are raised together in one
`ValidationError`, so a form with three bad fields hears about all three.
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Iterator, Mapping
from datetime import date, datetime
from typing import Any, TypeVar
from uuid import UUID

import attrs
from immutabledict import immutabledict

from crmkit.errors import FieldError, ValidationError

__all__ = [
    "Checked",
    "checked",
    "choice",
    "count",
    "day",
    "flag",
    "frozen_map",
    "identifier",
    "many",
    "one_of",
    "tag_set",
    "text",
    "timestamp",
]

Check = Callable[[Any, str], None]
E = TypeVar("E", bound=enum.Enum)

_CHECK = "crmkit.check"


def _type_error(path: str, value: object, expected: str) -> ValidationError:
    return ValidationError.single(
        path, value, "type", f"expected {expected}, not {type(value).__name__}"
    )


def _clean_text(value: Any) -> Any:
    if isinstance(value, str):
        return " ".join(value.split()) or None
    return value


def text(*, required: bool = False, default: str | None = None) -> Any:
    """
    A text field, whitespace tidied; blank becomes `None`.

    With ``required`` (or a ``default``) a blank value is refused.
    """
    required = required or default is not None

    def check(value: object, path: str) -> None:
        if value is None:
            if required:
                raise ValidationError.single(path, value, "required", "is required")
            return
        if not isinstance(value, str):
            raise _type_error(path, value, "str")

    if required and default is None:
        return attrs.field(converter=_clean_text, metadata={_CHECK: check})
    return attrs.field(default=default, converter=_clean_text, metadata={_CHECK: check})


def _check_aware(value: object, path: str) -> None:
    if not isinstance(value, datetime):
        raise _type_error(path, value, "datetime")
    if value.utcoffset() is None:
        raise ValidationError.single(
            path,
            value,
            "datetime.naive",
            "naive datetime; give a timezone-aware one, e.g. with tzinfo=UTC",
        )


def _check_optional_aware(value: object, path: str) -> None:
    if value is not None:
        _check_aware(value, path)


def timestamp(*, optional: bool = False) -> Any:
    """An instant: a timezone-aware `datetime` (naive ones are refused)."""
    if optional:
        return attrs.field(default=None, metadata={_CHECK: _check_optional_aware})
    return attrs.field(metadata={_CHECK: _check_aware})


def _check_optional_day(value: object, path: str) -> None:
    if value is not None and (
        isinstance(value, datetime) or not isinstance(value, date)
    ):
        raise _type_error(path, value, "date")


def day() -> Any:
    """An optional calendar date (a `datetime` is refused)."""
    return attrs.field(default=None, metadata={_CHECK: _check_optional_day})


def one_of(kind: type | tuple[type, ...], *, required: bool = False) -> Any:
    """A field holding an instance of ``kind``, optional unless ``required``."""
    kinds = kind if isinstance(kind, tuple) else (kind,)
    names = " or ".join(k.__name__ for k in kinds)

    def check(value: object, path: str) -> None:
        if value is None and not required:
            return
        if isinstance(value, bool) and bool not in kinds:
            raise _type_error(path, value, names)
        if not isinstance(value, kinds):
            raise _type_error(path, value, names)

    if required:
        return attrs.field(metadata={_CHECK: check})
    return attrs.field(default=None, metadata={_CHECK: check})


def _check_flag(value: object, path: str) -> None:
    if not isinstance(value, bool):
        raise _type_error(path, value, "bool")


def flag(*, default: bool) -> Any:
    """A yes/no field."""
    return attrs.field(default=default, metadata={_CHECK: _check_flag})


def identifier(*, required: bool = False) -> Any:
    """An entity id (a `UUID`), optional unless ``required``."""
    return one_of(UUID, required=required)


def _as_tuple(value: Any) -> Any:
    if isinstance(value, list | tuple | set | frozenset):
        return tuple(value)
    return value


def many(kind: type | tuple[type, ...]) -> Any:
    """An ordered tuple of ``kind`` (a list is accepted and made a tuple)."""
    kinds = kind if isinstance(kind, tuple) else (kind,)
    names = " or ".join(k.__name__ for k in kinds)

    def check(value: object, path: str) -> None:
        if not isinstance(value, tuple):
            raise _type_error(path, value, f"a list of {names}")
        errors = [
            FieldError(
                f"{path}[{index}]",
                item,
                "type",
                f"expected {names}, not {type(item).__name__}",
            )
            for index, item in enumerate(value)
            if not isinstance(item, kinds)
        ]
        if errors:
            raise ValidationError(errors)

    return attrs.field(factory=tuple, converter=_as_tuple, metadata={_CHECK: check})


def _as_tag_set(value: Any) -> Any:
    if isinstance(value, list | tuple | set | frozenset):
        return frozenset(_clean_text(tag) for tag in value)
    return value


def _check_tags(value: object, path: str) -> None:
    if not isinstance(value, frozenset):
        raise _type_error(path, value, "a set of tags")
    for tag in sorted(value, key=repr):
        if not isinstance(tag, str):
            raise ValidationError.single(
                path, tag, "tag.invalid", "tags must be non-blank text"
            )


def tag_set() -> Any:
    """Free labels, tidied and unordered (duplicates collapse)."""
    return attrs.field(
        factory=frozenset, converter=_as_tag_set, metadata={_CHECK: _check_tags}
    )


def _as_frozen_map(value: Any) -> Any:
    if isinstance(value, Mapping) and not isinstance(value, immutabledict):
        return immutabledict(value)
    return value


def _check_map(value: object, path: str) -> None:
    if not isinstance(value, immutabledict):
        raise _type_error(path, value, "a mapping")
    for key in value:
        if not isinstance(key, str) or not key:
            raise ValidationError.single(
                path, key, "key.invalid", "keys must be non-empty text"
            )


def frozen_map() -> Any:
    """An immutable mapping with text keys (a plain dict is accepted)."""
    return attrs.field(
        factory=immutabledict, converter=_as_frozen_map, metadata={_CHECK: _check_map}
    )


def choice(kind: type[E], default: E | None = None, *, optional: bool = False) -> Any:
    """One member of the enum ``kind``; its text value is accepted too."""

    def convert(value: Any) -> Any:
        if isinstance(value, str) and not isinstance(value, kind):
            try:
                return kind(value)
            except ValueError:
                return value
        return value

    allowed = ", ".join(repr(member.value) for member in kind)

    def check(value: object, path: str) -> None:
        if value is None and optional:
            return
        if not isinstance(value, kind):
            raise ValidationError.single(
                path, value, "choice.invalid", f"must be one of {allowed}"
            )

    if default is None and not optional:
        return attrs.field(converter=convert, metadata={_CHECK: check})
    return attrs.field(default=default, converter=convert, metadata={_CHECK: check})


def count() -> Any:
    """An optional whole number that cannot be negative (a headcount, a quantity)."""

    def check(value: object, path: str) -> None:
        if value is None:
            return
        if isinstance(value, bool) or not isinstance(value, int):
            raise _type_error(path, value, "int")
        if value < 0:
            raise ValidationError.single(
                path, value, "negative", "must not be negative"
            )

    return attrs.field(default=None, metadata={_CHECK: check})


_CHECKS_BY_CLASS: dict[type, tuple[tuple[str, Check], ...]] = {}


def _checks(cls: type) -> tuple[tuple[str, Check], ...]:
    checks = _CHECKS_BY_CLASS.get(cls)
    if checks is None:
        checks = tuple(
            (field.name, field.metadata[_CHECK])
            for field in attrs.fields(cls)
            if _CHECK in field.metadata
        )
        _CHECKS_BY_CLASS[cls] = checks
    return checks


def checked(check: Check, **field_options: Any) -> Any:
    """A field with a custom ``check(value, path)`` that raises `ValidationError`."""
    return attrs.field(metadata={_CHECK: check}, **field_options)


class Checked:
    """
    Mixin for attrs classes: run every field's check and each cross-field invariant.

    Subclasses add invariants by overriding `_invariants`.
    """

    __slots__ = ()

    def __attrs_post_init__(self) -> None:
        errors: list[FieldError] = []
        for name, check in _checks(type(self)):
            try:
                check(getattr(self, name), name)
            except ValidationError as error:
                errors.extend(error.errors)
        if not errors:
            errors.extend(self._invariants())
        if errors:
            raise ValidationError(errors)

    def _invariants(self) -> Iterator[FieldError]:
        """Yield the errors of rules that span several fields."""
        return iter(())
