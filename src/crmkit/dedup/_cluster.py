"""Clusters from matched pairs, with a guard against chaining."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Final

import numpy as np
import numpy.typing as npt

from crmkit.dedup._blocking import groups_of_length, pairs_within, sorted_groups
from crmkit.dedup._codes import distinct

__all__ = ["cluster", "components"]

Indices = npt.NDArray[np.int64]
Floats = npt.NDArray[np.float64]
Bools = npt.NDArray[np.bool_]
# Rescore pairs: (left, right) -> (probability, matched, vetoed).
Rescore = Callable[[Indices, Indices], tuple[Floats, Bools, Bools]]
_GUARDED_MAX: Final = 400
_RESCORED_AT_ONCE: Final = 1_000_000


def components(size: int, left: Indices, right: Indices) -> Indices:
    """
    Each record's connected component, labelled by its smallest member.

    Array union-find: every round hooks each root onto the smallest root it is
    linked to, then follows the pointers to their roots, until every pair is
    within one component (a few rounds: hooking at least halves the roots).
    """
    labels = np.arange(size, dtype=np.int64)
    while True:
        roots_left, roots_right = labels[left], labels[right]
        apart = roots_left != roots_right
        if not apart.any():
            return labels
        roots_left, roots_right = roots_left[apart], roots_right[apart]
        np.minimum.at(labels, roots_left, roots_right)
        np.minimum.at(labels, roots_right, roots_left)
        jumped = labels[labels]
        while (jumped != labels).any():
            labels, jumped = jumped, jumped[jumped]


def cluster(
    size: int,
    left: Indices,
    right: Indices,
    strength: Floats,
    rescore: Rescore,
    *,
    cohesion: float,
) -> tuple[Indices, int]:
    """
    Label each record with its cluster's smallest member index.

    Matched pairs are joined transitively, then every group of three or more is
    checked as a whole: all its pairs are scored, and its parts are joined again,
    strongest pair first, only when no pair across them is vetoed and their mean
    match probability reaches ``cohesion`` (so A~B and B~C with A, C clearly
    different do not make one cluster). A group too large to check whole
    (over 400 records) is first rebuilt from its pairs, strongest first, never
    letting a part grow past that size.

    Args:
        size: The number of records.
        left: One side of each matched pair.
        right: The other side.
        strength: Each matched pair's match probability.
        rescore: Scores any pairs (for the groups checked whole).
        cohesion: The least mean probability between two parts joined.

    Returns:
        The labels and the number of groups the guard split.
    """
    labels = components(size, *_capped(size, left, right, strength))
    order, starts, lengths = sorted_groups(labels)
    sizes = [n for n in distinct(lengths).tolist() if 2 < n <= _GUARDED_MAX]  # noqa: PLR2004 (pairs are consistent)
    split = 0
    for part_sizes in _batches(sizes, lengths):
        groups = [groups_of_length(order, starts, lengths, n) for n in part_sizes]
        within = [pairs_within(members) for members in groups]
        scores = rescore(
            _joined([lefts for lefts, _ in within]),
            _joined([rights for _, rights in within]),
        )
        start = 0
        for n, members, (lefts, _) in zip(part_sizes, groups, within, strict=True):
            rows = slice(start, start + lefts.size)
            start += lefts.size
            prob, matched, vetoed = (a[rows].reshape(lefts.shape) for a in scores)
            for g in np.flatnonzero(~matched.all(axis=1)).tolist():  # else one
                parts = _guarded(n, prob[g], matched[g], vetoed[g], cohesion)
                split += len(set(parts)) > 1
                first: dict[int, int] = {}
                for member, part in zip(members[g].tolist(), parts, strict=True):
                    labels[member] = first.setdefault(part, member)
    return labels, split


def _batches(sizes: list[int], lengths: Indices) -> Iterator[list[int]]:
    """
    The group sizes in runs whose pairs are scored in one call.

    A run stops short of `_RESCORED_AT_ONCE` pairs unless one size alone has
    more, so memory stays what scoring the largest size costs.
    """
    counts = np.bincount(lengths)
    run: list[int] = []
    pairs = 0
    for n in sizes:
        more = int(counts[n]) * n * (n - 1) // 2
        if run and pairs + more > _RESCORED_AT_ONCE:
            yield run
            run, pairs = [], 0
        run.append(n)
        pairs += more
    if run:
        yield run


def _joined(parts: list[Indices]) -> Indices:
    """The arrays flattened end to end (a single one is not copied)."""
    if len(parts) == 1:
        return parts[0].ravel()
    return np.concatenate([part.ravel() for part in parts])


def _capped(
    size: int, left: Indices, right: Indices, strength: Floats
) -> tuple[Indices, Indices]:
    """The pairs, less those that join a component past `_GUARDED_MAX` records."""
    labels = components(size, left, right)
    counts = np.bincount(labels, minlength=size)
    oversized = counts[labels[left]] > _GUARDED_MAX
    if not oversized.any():
        return left, right
    keep = ~oversized
    edges = np.flatnonzero(oversized)
    edges = edges[np.argsort(-strength[edges], kind="stable")]
    parent: dict[int, int] = {}
    members: dict[int, int] = {}

    def root(item: int) -> int:
        while parent.setdefault(item, item) != item:
            parent[item] = parent[parent[item]]
            item = parent[item]
        return item

    for edge, a, b in zip(
        edges.tolist(), left[edges].tolist(), right[edges].tolist(), strict=True
    ):
        ra, rb = root(a), root(b)
        joined = members.get(ra, 1) + members.get(rb, 1)
        if ra != rb and joined <= _GUARDED_MAX:
            parent[rb] = ra
            members[ra] = joined
            keep[edge] = True
    return left[keep], right[keep]


def _guarded(
    n: int, prob: Floats, matched: Bools, vetoed: Bools, cohesion: float
) -> list[int]:
    """Each member's part after joining parts strongest pair first (see `cluster`)."""
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
        cross_p = p[side_a][:, side_b]
        if v[side_a][:, side_b].any() or cross_p.sum() / cross_p.size < cohesion:
            continue
        for x in side_b:
            part[x] = a
    return part
