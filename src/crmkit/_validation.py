"""Small checks shared by values and entities; each raises `ValidationError`."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

from crmkit.errors import ValidationError

__all__ = [
    "aware_utc",
    "optional_aware_utc",
    "require_aware",
    "require_date",
    "require_non_blank",
    "require_non_negative",
    "require_type",
    "strip_or_none",
]


def require_type(value: object, expected: type | tuple[type, ...], path: str) -> None:
    """Refuse a value that is not of the expected type (`bool` is never an int)."""
    if isinstance(value, bool) and bool not in _as_tuple(expected):
        ok = False
    else:
        ok = isinstance(value, expected)
    if not ok:
        names = " or ".join(t.__name__ for t in _as_tuple(expected))
        raise ValidationError.single(
            path, value, "type", f"expected {names}, not {type(value).__name__}"
        )


def _as_tuple(expected: type | tuple[type, ...]) -> tuple[type, ...]:
    return expected if isinstance(expected, tuple) else (expected,)


def require_aware(value: datetime, path: str) -> None:
    """Refuse a naive datetime: crmkit never guesses a time zone."""
    require_type(value, datetime, path)
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValidationError.single(
            path,
            value,
            "datetime.naive",
            "naive datetime; give a timezone-aware one, e.g. with tzinfo=UTC",
        )


def aware_utc(value: datetime, path: str = "") -> datetime:
    """Check that ``value`` is aware and return it converted to UTC."""
    require_aware(value, path)
    return value.astimezone(UTC)


def optional_aware_utc(value: datetime | None, path: str = "") -> datetime | None:
    """Like `aware_utc`, letting `None` through."""
    return None if value is None else aware_utc(value, path)


def require_date(value: object, path: str) -> None:
    """Refuse anything but a plain `date` (a `datetime` is not a date here)."""
    if isinstance(value, datetime) or not isinstance(value, date):
        raise ValidationError.single(
            path, value, "type", f"expected date, not {type(value).__name__}"
        )


def require_non_blank(value: str, path: str) -> None:
    """Refuse an empty or whitespace-only string."""
    require_type(value, str, path)
    if not value.strip():
        raise ValidationError.single(path, value, "blank", "must not be blank")


def require_non_negative(value: int, path: str) -> None:
    """Refuse a negative integer."""
    require_type(value, int, path)
    if value < 0:
        raise ValidationError.single(path, value, "negative", "must not be negative")


def strip_or_none(value: Any) -> Any:
    """Trim a string and turn a blank one into `None`; leave anything else alone."""
    if isinstance(value, str):
        value = value.strip()
        return value or None
    return value
