"""Fellegi-Sunter scoring: agreement levels, weights, term frequencies, EM training."""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from typing import Final

import numpy as np
import numpy.typing as npt

from crmkit.dedup._config import Comparison, FellegiSunter

__all__ = [
    "levels_of",
    "match_weights",
    "train_em",
    "train_labelled",
    "train_pseudo_labelled",
]

Levels = npt.NDArray[np.int8]
Floats = npt.NDArray[np.float64]
_FLOOR: Final = 1e-6
_TF_CLIP: Final = 8.0


def levels_of(comparison: Comparison, scores: Floats) -> Levels:
    """Each score's agreement level: 0 is the strongest, -1 a blank side."""
    levels = np.full(len(scores), len(comparison.levels), dtype=np.int8)
    for level, threshold in reversed(list(enumerate(comparison.levels))):
        levels[scores >= threshold - 1e-9] = level
    levels[np.isnan(scores)] = -1
    return levels


def term_frequencies(values: Sequence[str]) -> Mapping[str, float]:
    """How often each non-blank value occurs, as a share of non-blank values."""
    counts = Counter(v for v in values if v)
    total = sum(counts.values()) or 1
    return {value: count / total for value, count in counts.items()}


def match_weights(model: FellegiSunter, levels: Levels) -> tuple[Floats, Floats]:
    """
    Per pair and comparison, the weight ``log2(m/u)`` (0 for blanks), and the prior's.

    Args:
        model: The m and u probabilities.
        levels: Pairs by comparisons, as `levels_of` gives.

    Returns:
        The weights (pairs by comparisons) and the prior weight.
    """
    # Filled a comparison at a time, each in one contiguous row (the transpose
    # is returned); level -1 (a blank side) reads the 0 appended last.
    by_comparison = np.empty((levels.shape[1], len(levels)))
    for k, (m, u) in enumerate(zip(model.m, model.u, strict=True)):
        table = np.log2(np.maximum(m, _FLOOR) / np.maximum(u, _FLOOR))
        by_comparison[k] = np.append(table, 0.0)[levels[:, k]]
    weights: Floats = by_comparison.T
    prior = float(np.log2(model.prior / (1 - model.prior)))
    return weights, np.full(len(levels), prior)


def pair_frequencies(
    vocabulary: npt.NDArray[np.object_],
    left: npt.NDArray[np.int64],
    right: npt.NDArray[np.int64],
    *,
    tf: Mapping[str, float],
    agreeing: npt.NDArray[np.bool_],
) -> Floats:
    """
    The frequency of the value pairs agree on exactly (0 elsewhere or if unknown).

    ``left`` and ``right`` are the pairs' values as indices into ``vocabulary``;
    each distinct value's frequency is looked up once.
    """
    out = np.zeros(len(left))
    candidates = np.flatnonzero(agreeing & (left == right))
    used, inverse = np.unique(left[candidates], return_inverse=True)
    per_value = np.fromiter(
        (tf.get(v, 0.0) for v in vocabulary[used].tolist()),
        dtype=np.float64,
        count=len(used),
    )
    out[candidates] = per_value[inverse]
    return out


def tf_adjustment(u_exact: float, frequency: Floats) -> Floats:
    """Extra weight for an exact agreement on a rare value (less for a common one)."""
    out = np.zeros(len(frequency))
    known = frequency > 0
    out[known] = np.clip(np.log2(u_exact / frequency[known]), -_TF_CLIP, _TF_CLIP)
    return out


def probability(weight: Floats) -> Floats:
    """``2**w / (1 + 2**w)``, computed without overflow."""
    result: Floats = 1.0 / (1.0 + np.exp2(-np.clip(weight, -60, 60)))
    return result


def _level_shares(
    comparisons: Sequence[Comparison], levels: Levels, weights: Floats
) -> tuple[tuple[float, ...], ...]:
    shares = []
    for k, comparison in enumerate(comparisons):
        column = levels[:, k]
        known = column >= 0
        counts = np.bincount(
            column[known], weights=weights[known], minlength=comparison.level_count
        )
        total = counts.sum()
        if total <= 0:
            shares.append(
                tuple([1.0 / comparison.level_count] * comparison.level_count)
            )
            continue
        floored = np.maximum(counts / total, _FLOOR)
        shares.append(tuple(float(p) for p in floored / floored.sum()))
    return tuple(shares)


def _patterns(levels: Levels) -> tuple[Levels, npt.NDArray[np.int64]]:
    """The distinct rows of ``levels`` and how often each occurs."""
    base = int(levels.max(initial=0)) + 2
    keys = np.zeros(len(levels), dtype=np.int64)
    for k in range(levels.shape[1]):
        keys = keys * base + (levels[:, k].astype(np.int64) + 1)
    _, first, counts = np.unique(keys, return_index=True, return_counts=True)
    return levels[first], counts


def train_em(
    model: FellegiSunter,
    comparisons: Sequence[Comparison],
    levels: Levels,
    *,
    iterations: int = 25,
    tolerance: float = 1e-5,
    update_u: bool = False,
) -> FellegiSunter:
    """
    Re-estimate m, the prior and (with ``update_u``) u by expectation-maximisation.

    Identical comparison vectors are counted once, so each iteration costs the
    number of distinct patterns, not of pairs.

    Args:
        model: The starting point.
        comparisons: The comparisons, in the model's order.
        levels: Candidate pairs by comparisons, as `levels_of` gives.
        iterations: At most this many rounds.
        tolerance: Stop when no m moves by more than this.
        update_u: Learn u from the pairs too, instead of keeping the model's.
    """
    if len(levels) == 0:
        return model
    patterns, counts = _patterns(levels)
    current = model
    for _ in range(iterations):
        weights, prior = match_weights(current, patterns)
        posterior = probability(weights.sum(axis=1) + prior)
        expected = posterior * counts
        m = _level_shares(comparisons, patterns, expected)
        u = (
            _level_shares(comparisons, patterns, (1 - posterior) * counts)
            if update_u
            else current.u
        )
        share = float(expected.sum() / counts.sum())
        prior_next = min(max(share, 1e-4), 0.9999)
        moved = max(
            abs(a - b)
            for old, new in zip(current.m, m, strict=True)
            for a, b in zip(old, new, strict=True)
        )
        current = FellegiSunter(m=m, u=u, prior=prior_next)
        if moved < tolerance:
            break
    return current


def _smoothed(
    comparisons: Sequence[Comparison],
    levels: Levels,
    start: tuple[tuple[float, ...], ...],
    strength: float,
) -> tuple[tuple[float, ...], ...]:
    shares = []
    for k, comparison in enumerate(comparisons):
        column = levels[:, k]
        counts = np.bincount(column[column >= 0], minlength=comparison.level_count)
        mixed = (counts + strength * np.asarray(start[k])) / (counts.sum() + strength)
        floored = np.maximum(mixed, _FLOOR)
        shares.append(tuple(float(p) for p in floored / floored.sum()))
    return tuple(shares)


def train_pseudo_labelled(
    model: FellegiSunter,
    comparisons: Sequence[Comparison],
    levels: Levels,
    is_match: npt.NDArray[np.bool_],
    *,
    strength: float = 50.0,
) -> FellegiSunter:
    """
    Estimate m and u from pairs labelled by rules, pulled towards the model's.

    Each level share is ``(count + strength * start) / (total + strength)``, so
    a level the labels never show keeps a share from the starting model.
    """
    if not is_match.any() or is_match.all():
        return model
    return FellegiSunter(
        m=_smoothed(comparisons, levels[is_match], model.m, strength),
        u=_smoothed(comparisons, levels[~is_match], model.u, strength),
        prior=float(min(max(is_match.mean(), 1e-4), 0.9999)),
    )


def train_labelled(
    comparisons: Sequence[Comparison], levels: Levels, is_match: npt.NDArray[np.bool_]
) -> FellegiSunter:
    """Estimate m from known matches, u from known non-matches, the prior from both."""
    if not is_match.any() or is_match.all():
        raise ValueError("labelled pairs need both matches and non-matches")
    return FellegiSunter(
        m=_level_shares(comparisons, levels[is_match], np.ones(int(is_match.sum()))),
        u=_level_shares(
            comparisons, levels[~is_match], np.ones(int((~is_match).sum()))
        ),
        prior=float(is_match.mean()),
    )
