"""Blocking: candidate pairs from records that share a key, with a cap per block."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from functools import cache
from typing import Final

import attrs
import numpy as np
import numpy.typing as npt

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
        skipped_blocks: Per key, the blocks over ``max_block_size`` records,
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


def key_values(
    key: BlockingKey, columns: Mapping[str, Texts], tables: Tables
) -> list[str]:
    """Each record's value of a key; ``""`` where a part is blank."""
    parts = []
    for part in key.parts:
        transform = _transform(part.transform, tables)
        distinct = {v: transform(v) if v else "" for v in set(columns[part.field])}
        parts.append([distinct[v] for v in columns[part.field]])
    if len(parts) == 1:
        return parts[0]
    values = []
    for pieces in zip(*parts, strict=True):
        if not all(pieces):
            values.append("")
            continue
        values.append("\x1f".join(sorted(pieces) if key.unordered else pieces))
    return values


def candidate_pairs(
    keys: Sequence[BlockingKey],
    columns: Mapping[str, Texts],
    *,
    tables: Tables,
    max_block_size: int,
) -> tuple[Indices, Indices, BlockingReport]:
    """
    The union of pairs ``(i, j)``, ``i < j``, that share at least one key.

    Returns:
        Left indices, right indices (sorted by left then right) and the report.
    """
    size = len(next(iter(columns.values()), ()))
    codes: list[Indices] = []
    by_key: dict[str, int] = {}
    skipped: dict[str, tuple[tuple[str, int], ...]] = {}
    for key in keys:
        values = key_values(key, columns, tables)
        blocks: dict[str, list[int]] = {}
        for index, value in enumerate(values):
            if value:
                blocks.setdefault(value, []).append(index)
        twos: list[int] = []
        pairs: list[Indices] = []
        too_big: list[tuple[str, int]] = []
        for value, members in blocks.items():
            if len(members) == 2:  # noqa: PLR2004 (the common case, without numpy)
                twos.append(members[0] * size + members[1])
            elif len(members) > max_block_size:
                too_big.append((value.replace("\x1f", " "), len(members)))
            elif len(members) > 2:  # noqa: PLR2004 (a pair needs two)
                pairs.append(_pair_codes(np.asarray(members, dtype=np.int64), size))
        pairs.append(np.asarray(twos, dtype=np.int64))
        joined = np.concatenate(pairs)
        by_key[key.name] = len(joined)
        codes.append(joined)
        if too_big:
            skipped[key.name] = tuple(sorted(too_big, key=lambda b: -b[1])[:10])
    union = np.unique(np.concatenate(codes)) if codes else np.zeros(0, dtype=np.int64)
    left, right = np.divmod(union, max(size, 1))
    report = BlockingReport(by_key, len(union), skipped)
    return left.astype(np.int64), right.astype(np.int64), report


@cache
def _upper(count: int) -> tuple[Indices, Indices]:
    i, j = np.triu_indices(count, k=1)
    return i.astype(np.int64), j.astype(np.int64)


def _pair_codes(members: Indices, size: int) -> Indices:
    i, j = _upper(len(members))
    codes: Indices = members[i] * size + members[j]
    return codes
