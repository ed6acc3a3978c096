"""Clusters from matched pairs, with a guard against chaining."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Final

import numpy as np
import numpy.typing as npt

__all__ = ["cluster"]

Indices = npt.NDArray[np.int64]
Floats = npt.NDArray[np.float64]
Bools = npt.NDArray[np.bool_]
# Rescore pairs: (left, right) -> (probability, matched, vetoed).
Rescore = Callable[[Indices, Indices], tuple[Floats, Bools, Bools]]
_GUARDED_MAX: Final = 400


class _Components:
    def __init__(self, size: int) -> None:
        self.parent = list(range(size))

    def find(self, item: int) -> int:
        root = item
        while self.parent[root] != root:
            root = self.parent[root]
        while self.parent[item] != root:
            self.parent[item], item = root, self.parent[item]
        return root

    def union(self, a: int, b: int) -> None:
        ra, rb = self.find(a), self.find(b)
        if ra != rb:
            self.parent[max(ra, rb)] = min(ra, rb)


def cluster(
    size: int, left: Indices, right: Indices, rescore: Rescore, *, cohesion: float
) -> tuple[list[int], int]:
    """
    Label each record with its cluster's smallest member index.

    Matched pairs are joined transitively, then every group of three or more is
    checked as a whole: all its pairs are scored, and its parts are joined again,
    strongest pair first, only when no pair across them is vetoed and their mean
    match probability reaches ``cohesion`` (so A~B and B~C with A, C clearly
    different do not make one cluster).

    Returns:
        The labels and the number of groups the guard split.
    """
    components = _Components(size)
    for a, b in zip(left.tolist(), right.tolist(), strict=True):
        components.union(a, b)
    members: dict[int, list[int]] = {}
    for item in range(size):
        members.setdefault(components.find(item), []).append(item)
    labels = [components.find(item) for item in range(size)]
    groups = [m for m in members.values() if 2 < len(m) <= _GUARDED_MAX]  # noqa: PLR2004 (pairs are consistent)
    if not groups:
        return labels, 0
    lefts, rights = [], []
    for group in groups:
        i, j = np.triu_indices(len(group), k=1)
        array = np.asarray(group, dtype=np.int64)
        lefts.append(array[i])
        rights.append(array[j])
    prob, matched, vetoed = rescore(np.concatenate(lefts), np.concatenate(rights))
    split = 0
    start = 0
    for group in groups:
        count = len(group) * (len(group) - 1) // 2
        window = slice(start, start + count)
        start += count
        if matched[window].all():
            continue  # every pair matches: nothing to split
        parts = _guarded(group, prob[window], matched[window], vetoed[window], cohesion)
        if len(set(parts.values())) > 1:
            split += 1
        first: dict[int, int] = {}
        for member in group:
            labels[member] = first.setdefault(parts[member], member)
    return labels, split


def _guarded(
    group: Sequence[int], prob: Floats, matched: Bools, vetoed: Bools, cohesion: float
) -> dict[int, int]:
    n = len(group)
    i, j = np.triu_indices(n, k=1)
    p = np.zeros((n, n))
    v = np.zeros((n, n), dtype=bool)
    p[i, j] = p[j, i] = prob
    v[i, j] = v[j, i] = vetoed
    part = list(range(n))
    order = np.argsort(-prob, kind="stable")
    for edge in order[matched[order]]:
        a, b = part[i[edge]], part[j[edge]]
        if a == b:
            continue
        side_a = [x for x in range(n) if part[x] == a]
        side_b = [x for x in range(n) if part[x] == b]
        cross_v = v[np.ix_(side_a, side_b)]
        cross_p = p[np.ix_(side_a, side_b)]
        if cross_v.any() or cross_p.mean() < cohesion:
            continue
        for x in side_b:
            part[x] = a
    return {group[x]: part[x] for x in range(n)}
