"""Small checks shared by values and entities; each raises `ValidationError`."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from crmkit.errors import ValidationError

__all__ = ["aware_utc", "strip_or_none"]


def aware_utc(value: datetime, path: str = "") -> datetime:
    """
    Check that ``value`` is a timezone-aware datetime and return it in UTC.

    Raises:
        ValidationError: ``value`` is naive or not a datetime; crmkit never guesses
            a time zone.
    """
    if not isinstance(value, datetime):
        raise ValidationError.single(
            path, value, "type", f"expected datetime, not {type(value).__name__}"
        )
    if value.utcoffset() is None:
        raise ValidationError.single(
            path,
            value,
            "datetime.naive",
            "naive datetime; give a timezone-aware one, e.g. with tzinfo=UTC",
        )
    return value.astimezone(UTC)


def strip_or_none(value: Any) -> Any:
    """Trim a string and turn a blank one into `None`; leave anything else alone."""
    if isinstance(value, str):
        value = value.strip()
        return value or None
    return value
