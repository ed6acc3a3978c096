"""What routing gives: decisions that explain themselves, one by one or in a batch."""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from typing import TypeAlias, overload

import attrs
from immutabledict import immutabledict

from crmkit.conditions import is_empty

__all__ = [
    "Assignment",
    "Decision",
    "DryRun",
    "Reason",
    "RoutedLeads",
    "SteadyTarget",
    "Unassigned",
]


@attrs.frozen
class Reason:
    """
    One step of a decision, and the rule it is about (`None`: the rule set's own).

    .. versionadded:: 0.1
    """

    rule: str | None
    text: str

    def __str__(self) -> str:
        return f"{self.rule}: {self.text}" if self.rule else self.text


@attrs.frozen(kw_only=True)
class Assignment:
    """
    A lead assigned: to whom, through which team, rule and strategy, and why.

    `rule` is ``None`` for the default target and for a kept owner.

    .. versionadded:: 0.1
    """

    lead_id: str | None
    owner: str
    team: str | None
    rule: str | None
    strategy: str
    reasons: tuple[Reason, ...]

    @property
    def assigned(self) -> bool:
        """Always true."""
        return True


@attrs.frozen(kw_only=True)
class Unassigned:
    """
    A lead nobody could take, with the reason each rule gave.

    .. versionadded:: 0.1
    """

    lead_id: str | None
    reasons: tuple[Reason, ...]

    @property
    def assigned(self) -> bool:
        """Always false."""
        return False


Decision: TypeAlias = Assignment | Unassigned
"""What routing one lead gives."""


@attrs.frozen(kw_only=True)
class DryRun:
    """
    A batch routed without touching stored cursors: decisions and distributions.

    .. versionadded:: 0.1
    """

    decisions: tuple[Decision, ...]
    by_owner: immutabledict[str, int]
    by_rule: immutabledict[str, int]
    unassigned: int

    def report(self) -> str:
        """The distributions as aligned text lines."""
        lines = [f"{len(self.decisions)} leads, {self.unassigned} unassigned"]
        for title, counts in (("owner", self.by_owner), ("rule", self.by_rule)):
            lines.append(f"by {title}:")
            width = max(map(len, counts), default=0)
            lines.extend(
                f"  {name:<{width}}  {count}" for name, count in counts.items()
            )
        return "\n".join(lines)


def _text_of(value: object) -> str | None:
    if value is None or is_empty(value):
        return None
    return str(value)


@attrs.frozen(kw_only=True, cache_hash=True)
class SteadyTarget:
    """
    A target whose pick, at a given moment, depends on nothing but the turn.

    Nobody in it is away and nobody has a quota, and its entry filters on
    nothing (no skills, language, territory or account owner): a lead sent
    there gets ``owners[turn % len(owners)]``, where ``turn`` comes from the
    round-robin ``cursor`` (``None`` for a single user, who takes every lead).
    Batches route such leads without building their decisions, which
    `RoutedLeads` builds, equal to what routing one lead gives, when read.

    .. versionadded:: 0.1
    """

    rule: str | None
    team: str | None
    strategy: str
    owners: tuple[str, ...]
    cursor: str | None
    lead_in: tuple[Reason, ...]
    """The reasons before the pick: the entry matched, or the default applies."""
    keeps_owner: bool = False
    """A lead that has an owner keeps it: such leads take the long road."""

    def decision(self, lead_id: str | None, turn: int) -> Assignment:
        """The assignment of a lead that got ``turn``."""
        owner = self.owners[turn % len(self.owners)]
        if self.cursor is None:
            pick = f"assigned to {owner}"
        else:
            kind = self.strategy.replace("_", " ")
            pick = f"{kind}: turn {turn} of team {self.team} went to {owner}"
        return Assignment(
            lead_id=lead_id,
            owner=owner,
            team=self.team,
            rule=self.rule,
            strategy=self.strategy,
            reasons=(*self.lead_in, Reason(self.rule, pick)),
        )


Waiting: TypeAlias = tuple[SteadyTarget, int, object, Mapping[str, int]]
"""
What builds a steady lead's decision: its target, its offset in its run's block
of turns, its raw id, and where the run's block starts for each cursor.
"""

Routed: TypeAlias = Decision | Waiting
"""A lead of a batch: its decision, or what builds it."""


class RoutedLeads(Sequence[Decision]):
    """
    The decisions of a batch, in lead order, each built when first read.

    A list of `Decision` in every use but changes (``len``, indexing, slicing,
    iteration, ``+`` giving a list, equality with another sequence of
    decisions). Leads that went to a `SteadyTarget` are kept as their turn
    until read, so a batch costs little more than matching its rules.

    .. versionadded:: 0.1
    """

    __slots__ = ("_routed",)

    def __init__(self, routed: list[Routed]) -> None:
        self._routed = routed

    def __len__(self) -> int:
        return len(self._routed)

    @overload
    def __getitem__(self, index: int) -> Decision: ...

    @overload
    def __getitem__(self, index: slice) -> list[Decision]: ...

    def __getitem__(self, index: int | slice) -> Decision | list[Decision]:
        if isinstance(index, slice):
            return [self._built(i) for i in range(*index.indices(len(self._routed)))]
        return self._built(range(len(self._routed))[index])

    def __iter__(self) -> Iterator[Decision]:
        return map(self._built, range(len(self._routed)))

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Sequence) or isinstance(other, str | bytes):
            return NotImplemented
        return len(self) == len(other) and all(
            mine == theirs for mine, theirs in zip(self, other, strict=True)
        )

    def __add__(self, other: Sequence[Decision]) -> list[Decision]:
        return [*self, *other]

    def __radd__(self, other: Sequence[Decision]) -> list[Decision]:
        return [*other, *self]

    __hash__ = None  # type: ignore[assignment]  # mutable memo, compared by value

    def __repr__(self) -> str:
        return f"RoutedLeads({list(self)!r})"

    def _built(self, index: int) -> Decision:
        routed = self._routed[index]
        if isinstance(routed, tuple):
            target, offset, raw_id, starts = routed
            turn = 0 if target.cursor is None else starts[target.cursor] + offset
            routed = target.decision(_text_of(raw_id), turn)
            self._routed[index] = routed
        return routed
