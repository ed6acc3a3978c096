"""Blocking: candidate pairs from records that share a key, with a cap per block."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from functools import cache
from typing import Final

import attrs
import numpy as np
import numpy.typing as npt

from crmkit.dedup._codes import Encoded, distinct, encode
from crmkit.dedup._compare import Texts
from crmkit.dedup._config import BlockingKey, KeyTransform
from crmkit.dedup._phonetic import english_code, french_code
from crmkit.dedup._tables import Tables

__all__ = ["BlockingReport", "candidate_pairs"]

Indices = npt.NDArray[np.int64]
_TAIL: Final = 4


@attrs.frozen
class BlockingReport:
    """
    What blocking did: pairs per key, the union, and the blocks it skipped.

    Attributes:
        pairs_by_key: Pairs each key generated (before the union).
        pairs: Distinct candidate pairs compared.
        skipped_blocks: Per key, the blocks over its cap (``max_block_size``),
            as (key value, size), largest first (at most ten per key).

    .. versionadded:: 0.1
    """

    pairs_by_key: Mapping[str, int]
    pairs: int
    skipped_blocks: Mapping[str, tuple[tuple[str, int], ...]]


def _first_group(tables: Tables) -> Callable[[str], str]:
    def key(value: str) -> str:
        groups = tables.given_name_groups(value)
        return f"#{min(groups)}" if groups else value

    return key


def _transform(transform: KeyTransform, tables: Tables) -> Callable[[str], str]:
    transforms: dict[KeyTransform, Callable[[str], str]] = {
        KeyTransform.VALUE: lambda v: v,
        KeyTransform.FIRST_LETTER: lambda v: v[:1],
        KeyTransform.FIRST_3: lambda v: v[:3],
        KeyTransform.PHONETIC_FR: french_code,
        KeyTransform.PHONETIC_EN: english_code,
        KeyTransform.NAME_GROUP: _first_group(tables),
        KeyTransform.LAST_4_DIGITS: lambda v: v[-_TAIL:] if len(v) >= _TAIL else "",
        KeyTransform.EMAIL_LOCAL: lambda v: v.rpartition("@")[0],
    }
    return transforms[transform]


def key_codes(
    key: BlockingKey, coded: Encoded, tables: Tables
) -> tuple[Indices, Callable[[int], str]]:
    """
    Each record's key as an integer (-1 where a part is blank).

    Each part is found once per distinct value of the encoded columns; a part
    that is the value itself, in a key whose parts keep their order, is its
    column's codes.

    Returns:
        The integers, and a function giving a record's key as text.
    """
    vocabulary, codes = coded
    lookup: dict[str, int] = {"": -1}
    blank_values = vocabulary == ""
    parts = []
    is_value: list[bool] = []  # per part: its codes index the vocabulary, or words
    for part in key.parts:
        column = codes[part.field]
        if part.transform is KeyTransform.VALUE and not key.unordered:
            parts.append(np.where(blank_values[column], -1, column))
            is_value.append(True)
            continue
        transform = _transform(part.transform, tables)
        used = np.flatnonzero(np.bincount(column, minlength=len(vocabulary)))
        per_value = np.full(len(vocabulary), -1, dtype=np.int64)
        per_value[used] = np.fromiter(
            (
                lookup.setdefault(transform(v) if v else "", len(lookup) - 1)
                for v in vocabulary[used].tolist()
            ),
            dtype=np.int64,
            count=len(used),
        )
        parts.append(per_value[column])
        is_value.append(False)
    words = list(lookup)[1:]
    stacked = np.stack(parts, axis=1)
    blank = (stacked < 0).any(axis=1)
    if key.unordered:
        stacked.sort(axis=1)
    combined = stacked[:, 0]
    for column_codes in stacked.T[1:]:
        # Re-numbered after each part, so the integers never overflow.
        merged = combined * (int(column_codes.max(initial=0)) + 2) + column_codes + 1
        combined = np.unique(merged, return_inverse=True)[1].astype(np.int64)

    def describe(record: int) -> str:
        part_codes = stacked[record].tolist()
        return " ".join(
            str(vocabulary[k] if value else words[k])
            for value, k in zip(is_value, part_codes, strict=True)
        )

    return np.where(blank, -1, combined).astype(np.int64), describe


def sorted_groups(keys: Indices) -> tuple[Indices, Indices, Indices]:
    """
    Records grouped by key (-1 is no group), each group in input order.

    Returns:
        The records in group order, where each group starts in that order, and
        each group's length.
    """
    members = np.flatnonzero(keys >= 0)
    order = members[np.argsort(keys[members], kind="stable")]
    sorted_keys = keys[order]
    starts = np.flatnonzero(np.r_[True, sorted_keys[1:] != sorted_keys[:-1]])
    if len(order) == 0:
        starts = starts[:0]
    lengths = np.diff(np.r_[starts, len(order)])
    return order, starts, lengths


def groups_of_length(
    order: Indices, starts: Indices, lengths: Indices, length: int
) -> Indices:
    """The groups of one length (as `sorted_groups` gives them), one per row."""
    groups: Indices = order[starts[lengths == length][:, None] + np.arange(length)]
    return groups


def pairs_within(groups: Indices) -> tuple[Indices, Indices]:
    """
    All pairs within each row of ``groups``, as (groups, pairs) arrays.

    Row ``g`` holds the pairs of group ``g`` in the order ``(0, 1), (0, 2) ...
    (1, 2) ...`` of its members.
    """
    i, j = _upper(groups.shape[1])
    return groups[:, i], groups[:, j]


def _block_pairs(
    keys: Indices, size: int, max_block_size: int
) -> tuple[Indices, list[tuple[int, int]]]:
    """Pair codes ``i * size + j`` in blocks; (a member, size) of those over the cap."""
    order, starts, lengths = sorted_groups(keys)
    pairs = [np.zeros(0, dtype=np.int64)]
    for length in distinct(lengths).tolist():
        if length < 2 or length > max_block_size:  # noqa: PLR2004 (a pair needs two)
            continue
        left, right = pairs_within(groups_of_length(order, starts, lengths, length))
        pairs.append((left * size + right).ravel())
    big = lengths > max_block_size
    too_big = [
        (int(member), int(n))
        for member, n in zip(order[starts[big]], lengths[big], strict=True)
    ]
    return np.concatenate(pairs), too_big


def candidate_pairs(
    keys: Sequence[BlockingKey],
    columns: Mapping[str, Texts],
    *,
    tables: Tables,
    max_block_size: int,
    coded: Encoded | None = None,
) -> tuple[Indices, Indices, BlockingReport]:
    """
    The union of pairs ``(i, j)``, ``i < j``, that share at least one key.

    ``coded`` is ``columns`` encoded already (see `encode`), when the caller has it.

    Returns:
        Left indices, right indices (sorted by left then right) and the report.
    """
    size = len(next(iter(columns.values()), ()))
    codes: list[Indices] = []
    by_key: dict[str, int] = {}
    skipped: dict[str, tuple[tuple[str, int], ...]] = {}
    coded = coded or encode(
        {name: np.asarray(column, dtype=object) for name, column in columns.items()}
    )
    for key in keys:
        record_keys, describe = key_codes(key, coded, tables)
        pairs, too_big = _block_pairs(record_keys, size, key.cap(max_block_size))
        by_key[key.name] = len(pairs)
        codes.append(pairs)
        if too_big:
            largest = sorted(too_big, key=lambda b: -b[1])[:10]
            skipped[key.name] = tuple((describe(member), n) for member, n in largest)
    union = distinct(np.concatenate(codes)) if codes else np.zeros(0, dtype=np.int64)
    left, right = np.divmod(union, max(size, 1))
    report = BlockingReport(by_key, len(union), skipped)
    return left.astype(np.int64), right.astype(np.int64), report


@cache
def _upper(count: int) -> tuple[Indices, Indices]:
    i, j = np.triu_indices(count, k=1)
    return i.astype(np.int64), j.astype(np.int64)
