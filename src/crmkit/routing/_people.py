"""Who leads go to: members with hours, absences, quotas, languages, territories."""

from __future__ import annotations

import enum
import re
from collections.abc import Iterable, Mapping
from datetime import date, datetime, time
from typing import Final
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import attrs

from crmkit._validation import aware_utc
from crmkit.errors import InvalidDefinition

__all__ = [
    "Absence",
    "Member",
    "Shift",
    "Strategy",
    "TeamSpec",
    "Territory",
]

_DAYS: Final = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_SHIFT: Final = re.compile(
    r"\s*(?P<first>[a-z]{3})(?:\s*-\s*(?P<last>[a-z]{3}))?\s+"
    r"(?P<start>\d{2}:\d{2})\s*-\s*(?P<end>\d{2}:\d{2})\s*\Z"
)
_RANGE: Final = re.compile(r"(?P<low>[0-9A-Za-z]+)-(?P<high>[0-9A-Za-z]+)\Z")


class Strategy(enum.StrEnum):
    """
    How a team picks one of its available members.

    .. versionadded:: 0.1
    """

    ROUND_ROBIN = "round_robin"
    """In turn, with a cursor persisted through a `CursorStore`."""
    WEIGHTED_ROUND_ROBIN = "weighted_round_robin"
    """In turn, each member ``weight`` times per cycle, interleaved."""
    LEAST_LOADED = "least_loaded"
    """The member with the fewest open leads (ties go in member order)."""


@attrs.frozen
class Shift:
    """
    Working hours on some weekdays, in the member's time zone: ``mon-fri 09:00-18:00``.

    .. versionadded:: 0.1
    """

    days: frozenset[int]
    start: time
    end: time

    @classmethod
    def parse(cls, text: str) -> Shift:
        """
        Read ``"mon-fri 09:00-18:00"`` or ``"sat 10:00-12:00"``.

        Raises:
            InvalidDefinition: Not in that form, or the end is not after the start.
        """
        match = _SHIFT.match(text.lower()) if isinstance(text, str) else None
        if match is None:
            raise InvalidDefinition(
                "hours", f"{text!r} is not like 'mon-fri 09:00-18:00'"
            )
        first, last = match["first"], match["last"] or match["first"]
        if first not in _DAYS or last not in _DAYS:
            raise InvalidDefinition("hours", f"{text!r}: days are {', '.join(_DAYS)}")
        low, high = _DAYS.index(first), _DAYS.index(last)
        days = (
            range(low, high + 1) if low <= high else [*range(low, 7), *range(high + 1)]
        )
        try:
            start, end = (
                time.fromisoformat(match["start"]),
                time.fromisoformat(match["end"]),
            )
        except ValueError:
            raise InvalidDefinition("hours", f"{text!r} has an invalid time") from None
        if end <= start:
            raise InvalidDefinition("hours", f"{text!r} ends before it starts")
        return cls(frozenset(days), start, end)

    def covers(self, local: datetime) -> bool:
        """Whether a local time falls in this shift."""
        return local.weekday() in self.days and self.start <= local.time() < self.end

    def __str__(self) -> str:
        days = sorted(self.days)
        first, last = _DAYS[days[0]], _DAYS[days[-1]]
        span = first if first == last else f"{first}-{last}"
        return f"{span} {self.start:%H:%M}-{self.end:%H:%M}"


@attrs.frozen
class Absence:
    """
    An out-of-office period, first and last day included, in the member's time zone.

    .. versionadded:: 0.1
    """

    first: date
    last: date

    def __attrs_post_init__(self) -> None:
        if self.last < self.first:
            raise InvalidDefinition(
                "out_of_office", f"{self.first} to {self.last} ends before it starts"
            )


def _postcode_matches(pattern: str, postcode: str) -> bool:
    if pattern.endswith("*"):
        return postcode.startswith(pattern[:-1])
    bounds = _RANGE.match(pattern)
    if bounds and len(bounds["low"]) == len(bounds["high"]) == len(postcode):
        return bounds["low"] <= postcode <= bounds["high"]
    return postcode == pattern


def _upper_set(values: Iterable[str]) -> frozenset[str]:
    return frozenset(str(value).strip().upper() for value in values)


def _upper_tuple(values: Iterable[str]) -> tuple[str, ...]:
    return tuple(str(value).strip().upper() for value in values)


@attrs.frozen
class Territory:
    """
    Where a member sells: countries, regions and postcodes (prefixes and ranges).

    Postcodes are exact (``"1000"``), prefixes (``"75*"``) or ranges of equal
    length (``"92000-92999"``). A lead is covered when it matches every kind of
    constraint given.

    .. versionadded:: 0.1
    """

    countries: frozenset[str] = attrs.field(default=frozenset(), converter=_upper_set)
    regions: frozenset[str] = attrs.field(default=frozenset(), converter=_upper_set)
    postcodes: tuple[str, ...] = attrs.field(default=(), converter=_upper_tuple)

    def covers(self, record: Mapping[str, object]) -> bool:
        """Whether the lead's ``country``, ``region`` and ``postcode`` fall here."""
        checks = (
            (self.countries, record.get("country")),
            (self.regions, record.get("region")),
        )
        for allowed, value in checks:
            if allowed and (
                not isinstance(value, str) or value.strip().upper() not in allowed
            ):
                return False
        if self.postcodes:
            postcode = record.get("postcode")
            if not isinstance(postcode, str | int):
                return False
            code = str(postcode).replace(" ", "").upper()
            return any(_postcode_matches(p, code) for p in self.postcodes)
        return True

    def __str__(self) -> str:
        parts = [*sorted(self.countries), *sorted(self.regions), *self.postcodes]
        return ", ".join(parts) or "anywhere"


def _zone(_: object, __: attrs.Attribute[str], value: str) -> None:
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError, TypeError):
        raise InvalidDefinition(
            "time_zone", f"{value!r} is not an IANA time zone such as 'Europe/Paris'"
        ) from None


def _positive(
    _: object, attribute: attrs.Attribute[int | None], value: int | None
) -> None:
    if value is not None and (
        isinstance(value, bool) or not isinstance(value, int) or value < 0
    ):
        raise InvalidDefinition(attribute.name, f"{value!r} is not a whole number >= 0")


def _shifts(values: Iterable[Shift | str] | str) -> tuple[Shift, ...]:
    items = [values] if isinstance(values, str) else values
    return tuple(v if isinstance(v, Shift) else Shift.parse(v) for v in items)


def _absences(values: Iterable[Absence | tuple[date, date]]) -> tuple[Absence, ...]:
    return tuple(v if isinstance(v, Absence) else Absence(*v) for v in values)


def _lower_set(values: Iterable[str]) -> frozenset[str]:
    return frozenset(str(value).strip().casefold() for value in values)


@attrs.frozen(kw_only=True)
class Member:
    """
    Someone leads can be assigned to, and when and how many.

    Attributes:
        name: The user's name (or id) as rule sets refer to it.
        time_zone: IANA zone of `hours` and `out_of_office`.
        hours: When the member works (`Shift`, or text such as ``"mon-fri
            09:00-18:00"``); empty means always.
        out_of_office: Absences (`Absence`, or ``(first, last)`` dates).
        languages: Languages spoken (lower case), for ``language_field`` rules.
        skills: Skills, for ``require_skills`` rules.
        daily_quota: At most this many new leads per day (`None`: no limit).
        monthly_quota: At most this many per month; also the member's share of
            its team's capacity in capacity mode.
        weight: Turns per cycle in weighted round robin.
        territory: Where the member sells, for ``by_territory`` rules.
        active: Inactive members get nothing.

    .. versionadded:: 0.1
    """

    name: str
    time_zone: str = attrs.field(default="UTC", validator=_zone)
    hours: tuple[Shift, ...] = attrs.field(default=(), converter=_shifts)
    out_of_office: tuple[Absence, ...] = attrs.field(default=(), converter=_absences)
    languages: frozenset[str] = attrs.field(default=frozenset(), converter=_lower_set)
    skills: frozenset[str] = attrs.field(default=frozenset(), converter=_lower_set)
    daily_quota: int | None = attrs.field(default=None, validator=_positive)
    monthly_quota: int | None = attrs.field(default=None, validator=_positive)
    weight: int = attrs.field(default=1, validator=_positive)  # type: ignore[arg-type]
    territory: Territory | None = None
    active: bool = True

    def absence_at(self, now: datetime) -> str | None:
        """Why the member is away at ``now`` (aware), or `None` when available."""
        local = aware_utc(now, "now").astimezone(ZoneInfo(self.time_zone))
        if not self.active:
            return "inactive"
        for absence in self.out_of_office:
            if absence.first <= local.date() <= absence.last:
                return f"out of office from {absence.first} to {absence.last}"
        if self.hours and not any(shift.covers(local) for shift in self.hours):
            hours = ", ".join(map(str, self.hours))
            return (
                f"outside working hours ({hours} {self.time_zone}; "
                f"it is {local:%a %H:%M})"
            )
        return None


def _members(values: Iterable[str]) -> tuple[str, ...]:
    return tuple(values)


@attrs.frozen(kw_only=True)
class TeamSpec:
    """
    A team or queue: its members, in order, and how it picks one.

    .. versionadded:: 0.1
    """

    name: str
    members: tuple[str, ...] = attrs.field(converter=_members)
    strategy: Strategy = attrs.field(default=Strategy.ROUND_ROBIN, converter=Strategy)

    def __attrs_post_init__(self) -> None:
        if not self.members:
            raise InvalidDefinition(
                f"teams.{self.name}.members", "a team needs members"
            )
        seen: set[str] = set()
        for index, member in enumerate(self.members):
            if member in seen:
                raise InvalidDefinition(
                    f"teams.{self.name}.members[{index}]", f"{member!r} is listed twice"
                )
            seen.add(member)
