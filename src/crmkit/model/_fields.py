"""
Field specifiers for entities: light converters plus checks that report every error.

Converters only tidy (strip text, make tuples and frozen maps) and never raise; each
field's check runs after construction, and all failures are raised together in one
`ValidationError`, so a form with three bad fields hears about all three.

Each field also declares a cheap test (an expression over ``v``, its value); one
function per class, generated from those tests, accepts a valid instance in a single
call. Only when it says no do the detailed checks run to name every problem.
"""

from __future__ import annotations

import enum
import functools
from collections.abc import Callable, Iterator, Mapping
from datetime import UTC, date, datetime
from typing import Any, TypeVar
from uuid import UUID

import attrs
from immutabledict import immutabledict

from crmkit.errors import FieldError, ValidationError

__all__ = [
    "EMPTY_MAP",
    "Checked",
    "checked",
    "choice",
    "count",
    "day",
    "field_errors",
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
_FAST = "crmkit.fast"


def _field(
    check: Check, fast: str, names: Mapping[str, object] | None = None, **options: Any
) -> Any:
    """An attrs field with its detailed check and its fast test over ``v``."""
    return attrs.field(
        metadata={_CHECK: check, _FAST: (fast, dict(names or {}))}, **options
    )


def _optional(test: str) -> str:
    return f"(v is None or {test})"


def _type_error(path: str, value: object, expected: str) -> ValidationError:
    return ValidationError.single(
        path, value, "type", f"expected {expected}, not {type(value).__name__}"
    )


def _clean_text(value: Any) -> Any:
    if isinstance(value, str):
        return " ".join(value.split()) or None
    return value


def _clean_lines(value: Any) -> Any:
    """Tidy multi-line text: trim each line's end and the whole, keep line breaks."""
    if isinstance(value, str):
        lines = value.replace("\r\n", "\n").replace("\r", "\n").split("\n")
        return "\n".join(line.rstrip() for line in lines).strip() or None
    return value


def text(
    *, required: bool = False, default: str | None = None, multiline: bool = False
) -> Any:
    """
    A text field; blank becomes `None`.

    One-line text has its whitespace collapsed; ``multiline`` text (notes, bodies)
    keeps its line breaks. With ``required`` (or a ``default``) blank is refused.
    """
    required = required or default is not None

    def check(value: object, path: str) -> None:
        if value is None:
            if required:
                raise ValidationError.single(path, value, "required", "is required")
            return
        if not isinstance(value, str):
            raise _type_error(path, value, "str")

    fast = "v.__class__ is str" if required else _optional("v.__class__ is str")
    tidy = _clean_lines if multiline else _clean_text
    if required and default is None:
        return _field(check, fast, converter=tidy)
    return _field(check, fast, default=default, converter=tidy)


def _to_utc(value: Any) -> Any:
    """Store instants in UTC, so that comparisons never depend on a zone's rules."""
    if value.__class__ is datetime and value.tzinfo is UTC:
        return value
    if isinstance(value, datetime) and value.utcoffset() is not None:
        return value.astimezone(UTC)
    return value


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
    """An instant: a timezone-aware `datetime`, kept in UTC (naive ones are refused)."""
    aware = "(v.__class__ is {datetime} and v.tzinfo is {utc})"
    names = {"datetime": datetime, "utc": UTC}
    if optional:
        return _field(
            _check_optional_aware,
            _optional(aware),
            names,
            default=None,
            converter=_to_utc,
        )
    return _field(_check_aware, aware, names, converter=_to_utc)


def _check_optional_day(value: object, path: str) -> None:
    if value is not None and (
        isinstance(value, datetime) or not isinstance(value, date)
    ):
        raise _type_error(path, value, "date")


def day() -> Any:
    """An optional calendar date (a `datetime` is refused)."""
    fast = _optional("v.__class__ is {date}")
    return _field(_check_optional_day, fast, {"date": date}, default=None)


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

    fast = "isinstance(v, {kinds})"
    if bool not in kinds:
        fast += " and v.__class__ is not bool"
    if required:
        return _field(check, f"({fast})", {"kinds": kinds})
    return _field(check, _optional(f"({fast})"), {"kinds": kinds}, default=None)


def _check_flag(value: object, path: str) -> None:
    if not isinstance(value, bool):
        raise _type_error(path, value, "bool")


def flag(*, default: bool) -> Any:
    """A yes/no field."""
    return _field(_check_flag, "v.__class__ is bool", default=default)


def identifier(*, required: bool = False) -> Any:
    """An entity id (a `UUID`), optional unless ``required``."""
    return one_of(UUID, required=required)


def _as_tuple(value: Any) -> Any:
    if value.__class__ is tuple:
        return value
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

    fast = "(v.__class__ is tuple and (not v or {{*map(type, v)}} <= {exact}))"
    exact = frozenset(kinds)
    return _field(check, fast, {"exact": exact}, factory=tuple, converter=_as_tuple)


def _as_tag_set(value: Any) -> Any:
    if value.__class__ is frozenset and not value:
        return value
    if isinstance(value, list | tuple | set | frozenset):
        return frozenset(_clean_text(tag) for tag in value)
    return value


def _check_tags(value: object, path: str) -> None:
    if not isinstance(value, frozenset):
        raise _type_error(path, value, "a set of tags")
    bad = [tag for tag in value if not isinstance(tag, str)]
    if bad:
        raise ValidationError.single(
            path, bad[0], "tag.invalid", "tags must be non-blank text"
        )


def tag_set() -> Any:
    """Free labels, tidied and unordered (duplicates collapse)."""
    fast = "(v.__class__ is frozenset and (not v or {{*map(type, v)}} <= {text}))"
    return _field(
        _check_tags,
        fast,
        {"text": frozenset({str})},
        factory=frozenset,
        converter=_as_tag_set,
    )


EMPTY_MAP: immutabledict[Any, Any] = immutabledict()
"""The one empty mapping entities share (most have no custom values)."""


def _empty_map() -> immutabledict[Any, Any]:
    return EMPTY_MAP


def _as_frozen_map(value: Any) -> Any:
    if value.__class__ is immutabledict:
        return value
    if isinstance(value, Mapping) and not isinstance(value, immutabledict):
        return immutabledict(value) if value else EMPTY_MAP
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
    fast = (
        "(v.__class__ is {immutabledict}"
        " and (not v or ({{*map(type, v)}} <= {text} and '' not in v)))"
    )
    return _field(
        _check_map,
        fast,
        {"immutabledict": immutabledict, "text": frozenset({str})},
        factory=_empty_map,
        converter=_as_frozen_map,
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

    fast = _optional("v.__class__ is {kind}") if optional else "v.__class__ is {kind}"
    if default is None and not optional:
        return _field(check, fast, {"kind": kind}, converter=convert)
    return _field(check, fast, {"kind": kind}, default=default, converter=convert)


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

    fast = _optional("(v.__class__ is int and v >= 0)")
    return _field(check, fast, default=None)


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


_FAST_BY_CLASS: dict[type, Callable[[Any], bool]] = {}


def _fast_check(cls: type) -> Callable[[Any], bool]:
    """
    Generate, once per class, one function running every field's fast test.

    The source is built only from crmkit's own field specifiers, never from input.
    """
    fast = _FAST_BY_CLASS.get(cls)
    if fast is not None:
        return fast
    lines = ["def fast(self):"]
    env: dict[str, object] = {"ValidationError": ValidationError}
    for index, field in enumerate(attrs.fields(cls)):
        if _CHECK not in field.metadata:
            continue
        lines.append(f"    v = self.{field.name}")
        spec = field.metadata.get(_FAST)
        if spec is None:
            env[f"check_{index}"] = field.metadata[_CHECK]
            lines += [
                "    try:",
                f"        check_{index}(v, {field.name!r})",
                "    except ValidationError:",
                "        return False",
            ]
            continue
        template, names = spec
        renamed = {name: f"{name}_{index}" for name in names}
        env.update({renamed[name]: value for name, value in names.items()})
        lines.append(f"    if not ({template.format(**renamed)}):")
        lines.append("        return False")
    lines.append("    return True")
    source = "\n".join(lines)
    exec(compile(source, f"<crmkit checks of {cls.__qualname__}>", "exec"), env)  # noqa: S102 - crmkit's own source
    compiled: Callable[[Any], bool] = env["fast"]  # type: ignore[assignment]
    _FAST_BY_CLASS[cls] = compiled
    return compiled


@functools.cache
def _fields_by_name(cls: type) -> dict[str, attrs.Attribute[Any]]:
    return attrs.fields_dict(cls)


def field_errors(cls: type, name: str, value: Any) -> list[FieldError]:
    """
    The errors of one field's value, tidied as the field would tidy it.

    Used to report a field's own problems when the whole record could not be built.
    """
    field = _fields_by_name(cls).get(name)
    if field is None or _CHECK not in field.metadata:
        return []
    if callable(field.converter):
        value = field.converter(value)
    try:
        field.metadata[_CHECK](value, name)
    except ValidationError as error:
        return list(error.errors)
    return []


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
        errors: list[FieldError]
        if _fast_check(type(self))(self):
            errors = list(self._invariants())
            if errors:
                raise ValidationError(errors)
            return
        errors = []
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
