"""How a pair explains itself: per-field evidence and the decision's reason."""

from __future__ import annotations

import attrs

from crmkit.dedup._compare import Comparator

__all__ = ["FieldEvidence", "PairExplanation"]


@attrs.frozen
class FieldEvidence:
    """
    One comparison of a pair: the values, their score, level and weight.

    Attributes:
        field: The field compared.
        comparator: How it was compared.
        left: The left record's normalised value (``""`` if blank).
        right: The right record's normalised value.
        score: The comparator's score in [0, 1], `None` when a side is blank.
        level: The agreement level (0 strongest), `None` when a side is blank.
        weight: The match weight it adds, in bits (0 when a side is blank).

    .. versionadded:: 0.1
    """

    field: str
    comparator: Comparator
    left: str
    right: str
    score: float | None
    level: int | None
    weight: float


@attrs.frozen
class PairExplanation:
    """
    Why two records were, or were not, taken for the same one.

    Attributes:
        left_id: One record's id.
        right_id: The other's.
        probability: The model's match probability.
        match_weight: The total match weight in bits (prior included).
        matched: Whether the pair was declared a match.
        reason: The decision in words: the probability against the threshold,
            the rule that matched, or the veto that kept the pair apart.
        swapped_names: Whether first and last names were compared crossed.
        fields: The evidence per comparison.

    .. versionadded:: 0.1
    """

    left_id: str
    right_id: str
    probability: float
    match_weight: float
    matched: bool
    reason: str
    swapped_names: bool
    fields: tuple[FieldEvidence, ...]

    def __str__(self) -> str:
        verdict = "match" if self.matched else "no match"
        lines = [f"{self.left_id} ~ {self.right_id}: {verdict} ({self.reason})"]
        lines += [
            f"  {e.field:<12} {e.comparator:<13} {e.left!r} vs {e.right!r}: "
            + ("blank" if e.score is None else f"{e.score:.2f}, {e.weight:+.1f} bits")
            for e in self.fields
        ]
        return "\n".join(lines)
