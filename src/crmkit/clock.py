"""
Where crmkit gets the time: a `Clock` is passed in, never read from a global.

Pure functions take ``at``/``now`` as an aware `datetime`; services take a `Clock`.
This is the only module that reads the system clock.
`crmkit.testing` has `FixedClock` and `ManualClock` for tests.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Protocol, final, runtime_checkable

__all__ = ["Clock", "SystemClock"]


@runtime_checkable
class Clock(Protocol):
    """
    Anything that can tell the current time as an aware UTC `datetime`.

    .. versionadded:: 0.1
    """

    def now(self) -> datetime:
        """Return the current instant, timezone-aware, in UTC."""
        ...


@final
class SystemClock:
    """
    The real clock of the machine, in UTC.

    .. versionadded:: 0.1
    """

    def now(self) -> datetime:
        """Return the current instant, timezone-aware, in UTC."""
        return datetime.now(UTC)

    def __repr__(self) -> str:
        return "SystemClock()"
