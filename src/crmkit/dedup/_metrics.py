"""Pairwise precision, recall and F1 of a clustering against true labels."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping

import attrs

__all__ = ["PairwiseScores", "blocking_recall", "pairwise_scores"]


@attrs.frozen
class PairwiseScores:
    """
    How well predicted clusters recover the true ones, counted over pairs.

    .. versionadded:: 0.1
    """

    true_positives: int
    false_positives: int
    false_negatives: int

    @property
    def precision(self) -> float:
        """Share of predicted pairs that are true (1 when none is predicted)."""
        predicted = self.true_positives + self.false_positives
        return self.true_positives / predicted if predicted else 1.0

    @property
    def recall(self) -> float:
        """Share of true pairs that are predicted (1 when there are none)."""
        actual = self.true_positives + self.false_negatives
        return self.true_positives / actual if actual else 1.0

    @property
    def f1(self) -> float:
        """The harmonic mean of precision and recall."""
        p, r = self.precision, self.recall
        return 2 * p * r / (p + r) if p + r else 0.0


def _pairs(sizes: Iterable[int]) -> int:
    return sum(n * (n - 1) // 2 for n in sizes)


def pairwise_scores(
    predicted: Mapping[str, str], truth: Mapping[str, str]
) -> PairwiseScores:
    """
    Compare two clusterings of the same ids (id -> cluster label).

    >>> s = pairwise_scores(
    ...     {"a": "1", "b": "1", "c": "1"}, {"a": "x", "b": "x", "c": "y"}
    ... )
    >>> s.true_positives, s.false_positives, round(s.f1, 2)
    (1, 2, 0.5)

    Raises:
        ValueError: The two do not label the same ids.
    """
    if predicted.keys() != truth.keys():
        raise ValueError("predicted and true clusterings must label the same ids")
    both = _pairs(Counter((predicted[i], truth[i]) for i in predicted).values())
    predicted_pairs = _pairs(Counter(predicted.values()).values())
    true_pairs = _pairs(Counter(truth.values()).values())
    return PairwiseScores(both, predicted_pairs - both, true_pairs - both)


def blocking_recall(
    candidates: Iterable[tuple[str, str]], truth: Mapping[str, str]
) -> float:
    """The share of true pairs that blocking put among the candidates."""
    found = sum(1 for a, b in candidates if truth[a] == truth[b])
    total = _pairs(Counter(truth.values()).values())
    return found / total if total else 1.0
