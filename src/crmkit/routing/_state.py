"""What routing reads and keeps between runs: round-robin cursors, workloads, owners."""

from __future__ import annotations

import functools
from collections.abc import Mapping
from typing import TYPE_CHECKING, Protocol, runtime_checkable

import attrs
from immutabledict import immutabledict

if TYPE_CHECKING:
    from crmkit.dedup import Normalizer

__all__ = [
    "AccountDirectory",
    "AccountOwners",
    "CursorStore",
    "MemoryCursorStore",
    "Workload",
]


@runtime_checkable
class CursorStore(Protocol):
    """
    Where round-robin cursors live, so turns stay fair across restarts and workers.

    `take` and `take_many` are atomic: two workers taking turns at once get
    different turns.

    .. versionadded:: 0.1
    """

    def take(self, key: str) -> int:
        """Reserve the next turn of ``key`` and return it (0, 1, 2, ...)."""
        ...

    def take_many(self, key: str, count: int) -> int:
        """Reserve the next ``count`` turns of ``key`` at once; return the first."""
        ...

    def position(self, key: str) -> int:
        """The next turn `take` would return, without taking it."""
        ...


def _check_count(count: int) -> None:
    if count < 1:
        msg = f"count must be at least 1, not {count}"
        raise ValueError(msg)


class MemoryCursorStore:
    """
    Cursors in a dict: for tests, dry runs and single-process use.

    .. versionadded:: 0.1
    """

    def __init__(self, positions: Mapping[str, int] | None = None) -> None:
        self._positions: dict[str, int] = dict(positions or {})

    def take(self, key: str) -> int:
        """Reserve the next turn of ``key`` and return it."""
        return self.take_many(key, 1)

    def take_many(self, key: str, count: int) -> int:
        """Reserve the next ``count`` turns of ``key``; return the first."""
        _check_count(count)
        turn = self._positions.get(key, 0)
        self._positions[key] = turn + count
        return turn

    def position(self, key: str) -> int:
        """The next turn of ``key``."""
        return self._positions.get(key, 0)

    def snapshot(self) -> dict[str, int]:
        """Every cursor's next turn."""
        return dict(self._positions)


def _counts(values: Mapping[str, int]) -> immutabledict[str, int]:
    return immutabledict(values)


@attrs.frozen(kw_only=True)
class Workload:
    """
    How loaded each member is before a routing run (all zero by default).

    Attributes:
        open_leads: Open leads per member, for least-loaded teams.
        assigned_today: Leads assigned today per member, for daily quotas.
        assigned_this_month: Leads assigned this month, for monthly quotas and
            capacity mode.

    .. versionadded:: 0.1
    """

    open_leads: immutabledict[str, int] = attrs.field(
        factory=immutabledict, converter=_counts
    )
    assigned_today: immutabledict[str, int] = attrs.field(
        factory=immutabledict, converter=_counts
    )
    assigned_this_month: immutabledict[str, int] = attrs.field(
        factory=immutabledict, converter=_counts
    )


@runtime_checkable
class AccountOwners(Protocol):
    """
    Who owns a lead's company, if anyone (the dedup matcher will implement it).

    .. versionadded:: 0.1
    """

    def owner_of(self, record: Mapping[str, object]) -> str | None:
        """The owner of the lead's account, or `None`."""
        ...


def company_key(name: str, normalizer: Normalizer | None = None) -> str:
    """A company name as deduplication compares it (``""``: no name left)."""
    # crmkit.dedup (numpy, rapidfuzz) loads when accounts are first matched,
    # not with every import of crmkit.routing.
    from crmkit.dedup import FieldKind  # noqa: PLC0415

    return (normalizer or _default_normalizer()).normalize(FieldKind.COMPANY, name)


@functools.cache
def _default_normalizer() -> Normalizer:
    from crmkit.dedup import Normalizer  # noqa: PLC0415 - see company_key

    return Normalizer()


class AccountDirectory:
    """
    Account owners by company name, matched as deduplication matches companies.

    Names are compared after `crmkit.dedup.Normalizer.company`: case, accents,
    punctuation, ``&``/et/and and legal forms (SA, SARL, GmbH, Ltd...) do not
    count, so a lead from "ACME S.A." reaches the owner of "Acme".

    .. versionadded:: 0.1
    """

    def __init__(
        self,
        owners: Mapping[str, str],
        *,
        field: str = "company_name",
        normalizer: Normalizer | None = None,
    ) -> None:
        self.field = field
        self._normalizer = normalizer or _default_normalizer()
        self._owners = {self._key(name): owner for name, owner in owners.items()}

    def _key(self, name: str) -> str:
        return company_key(name, self._normalizer)

    def owner_of(self, record: Mapping[str, object]) -> str | None:
        """The owner of the company named in the record's `field`."""
        name = record.get(self.field)
        if not isinstance(name, str):
            return None
        key = self._key(name)
        return self._owners.get(key) if key else None
