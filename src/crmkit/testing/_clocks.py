"""Clocks for tests: one that never moves, one that moves when told."""

from __future__ import annotations

from datetime import datetime, timedelta

from crmkit._validation import aware_utc
from crmkit.errors import ValidationError

__all__ = ["FixedClock", "ManualClock"]


class FixedClock:
    """
    A clock stopped at one instant.

    >>> from datetime import datetime, UTC
    >>> FixedClock(datetime(2026, 11, 22, 9, tzinfo=UTC)).now().isoformat()
    '2026-11-22T09:00:00+00:00'

    .. versionadded:: 0.1
    """

    __slots__ = ("_at",)

    def __init__(self, at: datetime) -> None:
        self._at = aware_utc(at, "at")

    def now(self) -> datetime:
        """Return the fixed instant."""
        return self._at

    def __repr__(self) -> str:
        return f"FixedClock({self._at.isoformat()!r})"


class ManualClock:
    """
    A clock that moves only when a test moves it, and never backwards.

    >>> from datetime import datetime, timedelta, UTC
    >>> clock = ManualClock(datetime(2026, 11, 22, 9, tzinfo=UTC))
    >>> clock.advance(timedelta(hours=2)).hour
    11

    .. versionadded:: 0.1
    """

    __slots__ = ("_at",)

    def __init__(self, start: datetime) -> None:
        self._at = aware_utc(start, "start")

    def now(self) -> datetime:
        """Return the current instant of this clock."""
        return self._at

    def advance(self, by: timedelta) -> datetime:
        """Move forward by ``by`` and return the new instant."""
        if by < timedelta(0):
            raise ValidationError.single(
                "by", by, "clock.backwards", "a clock cannot go backwards"
            )
        self._at += by
        return self._at

    def set(self, at: datetime) -> datetime:
        """Jump to ``at``, which must not be earlier than now."""
        instant = aware_utc(at, "at")
        if instant < self._at:
            raise ValidationError.single(
                "at", at, "clock.backwards", "a clock cannot go backwards"
            )
        self._at = instant
        return self._at

    def __repr__(self) -> str:
        return f"ManualClock({self._at.isoformat()!r})"
