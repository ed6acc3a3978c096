"""
Comparators: vectorised scores in [0, 1] for pairs of normalised values.

Each takes two equal-length sequences (the left and right value of each pair) and
returns a float array; a pair where either value is blank scores NaN, which rules
and models read as "no evidence" (neither a match nor against one).
"""

from __future__ import annotations

import enum
import string
from collections.abc import Callable, Sequence
from datetime import date
from typing import Any, Final, NamedTuple

import numpy as np
import numpy.typing as npt
from rapidfuzz import fuzz, process
from rapidfuzz.distance import JaroWinkler, Levenshtein

from crmkit.dedup._codes import distinct
from crmkit.dedup._phonetic import english_code, french_code
from crmkit.dedup._tables import Tables

__all__ = ["Coded", "Comparator", "Texts", "compare", "compare_codes"]

Scores = npt.NDArray[np.float64]
Values = npt.NDArray[np.object_]
Indices = npt.NDArray[np.int64]
Coded = tuple[Sequence[str] | Values, Indices, Indices]


class _Batch:
    """
    The distinct pairs of non-blank values one comparator scores.

    ``codes`` are the pairs as indices into a list of distinct values, for the
    comparators that test each value once. A score below ``floor`` may come back
    as 0 (see `compare_codes`).
    """

    def __init__(
        self,
        left: Values,
        right: Values,
        *,
        tables: Tables,
        scale: float,
        workers: int,
        codes: Coded,
        floor: float = 0.0,
    ) -> None:
        self.left = left
        self.right = right
        self.tables = tables
        self.scale = scale
        self.workers = workers
        self.codes = codes
        self.floor = floor

    def subset(self, rows: Indices) -> _Batch:
        """The same batch restricted to some pairs."""
        vocabulary, left_codes, right_codes = self.codes
        return _Batch(
            self.left[rows],
            self.right[rows],
            tables=self.tables,
            scale=self.scale,
            workers=self.workers,
            codes=(vocabulary, left_codes[rows], right_codes[rows]),
            floor=self.floor,
        )


Texts = Sequence[str] | Values
_Scorer = Callable[..., float]
_PHONE_TAIL: Final = 8
_PHONE_EDITED_MAX: Final = 0.5  # numbers that differ: edit similarity, halved
_INITIAL_SCORE: Final = 0.92
_SHORT_NAME: Final = 3
_TESTED_AT_ONCE_FROM: Final = 200  # pairs: fewer are tested faster one at a time
_CHARACTER_BUCKETS: Final = string.ascii_lowercase + string.digits + " ?"
_CHARACTER_BUCKET: Final = np.full(256, len(_CHARACTER_BUCKETS) - 1, dtype=np.int64)
_CHARACTER_BUCKET[[ord(c) for c in _CHARACTER_BUCKETS]] = np.arange(
    len(_CHARACTER_BUCKETS)
)
_BYTE: Final = 255
_BOUND_SLACK: Final = 1e-6  # a bound this close under the floor still compares


class Comparator(enum.StrEnum):
    """
    The comparators crmkit ships, by name (as rules and models refer to them).

    .. versionadded:: 0.1
    """

    EXACT = "exact"
    JARO_WINKLER = "jaro_winkler"
    LEVENSHTEIN = "levenshtein"
    TOKEN_SET = "token_set"  # noqa: S105 (a comparator name, not a secret)
    INITIALS = "initials"
    PHONETIC_FR = "phonetic_fr"
    PHONETIC_EN = "phonetic_en"
    NAME = "name"
    EMAIL = "email"
    PHONE = "phone"
    NUMBER = "number"
    DATE = "date"


def compare(
    comparator: Comparator,
    left: Texts,
    right: Texts,
    *,
    tables: Tables | None = None,
    scale: float = 1.0,
    workers: int = 1,
    codes: Coded | None = None,
) -> Scores:
    """
    Score each pair ``(left[i], right[i])`` with one comparator.

    >>> compare(Comparator.NAME, ["bob", "anne", ""], ["robert", "annie", "x"]).round(2)
    array([1.  , 0.95,  nan])

    Args:
        comparator: Which comparison to make.
        left: Normalised values, one per pair.
        right: The values they are compared with.
        tables: Name variants for `Comparator.NAME` (default: the shipped ones).
        scale: For `NUMBER` and `DATE`, the difference (in units or days) at
            which the score reaches 0.
        workers: Threads rapidfuzz may use (``-1``: all cores).
        codes: The same pairs as indices into a shared list of distinct values
            (``(vocabulary, left_codes, right_codes)``), when the caller has them:
            comparators that work per distinct pair then skip finding them.

    Returns:
        One score per pair in [0, 1], NaN where either value is blank.
    """
    if len(left) != len(right):
        raise ValueError(f"{len(left)} left values but {len(right)} right values")
    if codes is None:
        codes = _factorize(
            np.asarray(left, dtype=object), np.asarray(right, dtype=object)
        )
    return compare_codes(
        comparator,
        *codes,
        tables=tables or Tables.default(),
        scale=scale,
        workers=workers,
    )


def compare_codes(
    comparator: Comparator,
    vocabulary: Sequence[str] | Values,
    left_codes: Indices,
    right_codes: Indices,
    *,
    tables: Tables,
    scale: float = 1.0,
    workers: int = 1,
    floor: float = 0.0,
) -> Scores:
    """
    `compare` for pairs given as indices into a list of distinct values.

    Each distinct pair of values is scored once, however many pairs share it
    (pairs from blocking repeat names, cities and postcodes a lot).

    ``floor``: the lowest score the caller tells apart from 0. A score below it
    may come back as 0, so that comparators skip or cut short the work that
    only places a pair among the scores nobody reads.
    """
    if len(left_codes) == 0:
        return np.zeros(0)
    values = np.asarray(vocabulary, dtype=object)
    blank = values == ""
    scores: Scores = np.full(len(left_codes), np.nan)
    rows = np.arange(len(left_codes))
    if comparator in _REFLEXIVE:  # a value and itself score 1: no need to compare
        same = left_codes == right_codes
        scores[same & ~blank[left_codes]] = 1.0
        rows = np.flatnonzero(~same)
    width = len(values)
    distinct, inverse = np.unique(
        left_codes[rows].astype(np.int64) * width + right_codes[rows],
        return_inverse=True,
    )
    lefts, rights = np.divmod(distinct, width)
    known = np.flatnonzero(~(blank[lefts] | blank[rights]))
    lefts, rights = lefts[known], rights[known]
    batch = _Batch(
        values[lefts],
        values[rights],
        tables=tables,
        scale=scale,
        workers=workers,
        codes=(values, lefts, rights),
        floor=floor,
    )
    table = np.full(len(distinct), np.nan)
    table[known] = _COMPARATORS[comparator](batch)
    scores[rows] = table[inverse]
    return scores


def _pairwise(
    scorer: _Scorer,
    left: Values | Sequence[str],
    right: Values | Sequence[str],
    workers: int,
    cutoff: float = 0.0,
) -> Scores:
    """Each pair's score by a rapidfuzz scorer; below ``cutoff`` it may be 0."""
    scores: Scores = np.asarray(
        process.cpdist(
            left,
            right,
            scorer=scorer,
            workers=workers,
            dtype=np.float64,
            score_cutoff=cutoff or None,
        ),
        dtype=np.float64,
    )
    return scores


def _exact(batch: _Batch) -> Scores:
    equal: npt.NDArray[np.bool_] = batch.left == batch.right
    return equal.astype(np.float64)


def _jaro_winkler(batch: _Batch) -> Scores:
    return _pairwise(
        JaroWinkler.normalized_similarity,
        batch.left,
        batch.right,
        batch.workers,
        batch.floor,
    )


def _levenshtein(batch: _Batch) -> Scores:
    return _pairwise(
        Levenshtein.normalized_similarity,
        batch.left,
        batch.right,
        batch.workers,
        batch.floor,
    )


def _token_set(batch: _Batch) -> Scores:
    """The token set ratio (rapidfuzz's); pairs that cannot reach the floor score 0."""
    scores = np.zeros(len(batch.left))
    rows = np.flatnonzero(_may_reach_token_set(batch))
    scores[rows] = (
        _pairwise(
            fuzz.token_set_ratio,
            batch.left[rows],
            batch.right[rows],
            batch.workers,
            100.0 * batch.floor,
        )
        / 100.0
    )
    return scores


def _may_reach_token_set(batch: _Batch) -> npt.NDArray[np.bool_]:
    """
    The pairs whose token set ratio may reach the floor, by an upper bound.

    Write each value's tokens out once each, sorted, space-separated (as the
    ratio does); let ``n`` be the shorter of the two and ``c`` the characters
    they have in common, counted per character, spaces included. Whatever the
    shared tokens, each of the three ratios token set takes is at most
    ``2c / (c + n)``: the shared tokens' characters and separators are among
    the ``c``, and an edit distance is at least the characters not in common.
    Characters other than ``a-z``, ``0-9`` and space are counted as one, which
    only raises ``c``.
    """
    if batch.floor <= 0:
        return np.ones(len(batch.left), dtype=bool)
    values, lc, rc = batch.codes
    used, left, right = _used(len(values), lc, rc)
    texts = [str(values[k]) for k in used.tolist()]
    written = [" ".join(sorted(set(text.split()))) for text in texts]
    # Only spaces part the words of a printable text, for rapidfuzz as here.
    unsure = ~np.fromiter(map(str.isprintable, texts), dtype=bool, count=len(texts))
    common, left_length, right_length = _in_common(written, left, right)
    shorter = np.minimum(left_length, right_length)
    reachable: npt.NDArray[np.bool_] = (
        (2 * common >= batch.floor * (common + shorter) - _BOUND_SLACK)
        | unsure[left]
        | unsure[right]
    )
    return reachable


def _used(size: int, left: Indices, right: Indices) -> tuple[Indices, Indices, Indices]:
    """
    The distinct values some pairs use, and each side's values as their positions.

    The values are indices below ``size``; so are ``used``'s entries.
    """
    used = distinct(np.concatenate([left, right]))
    place = np.zeros(size, dtype=np.int64)
    place[used] = np.arange(len(used))
    return used, place[left], place[right]


def _in_common(
    texts: Sequence[str], left: Indices, right: Indices
) -> tuple[Indices, Indices, Indices]:
    """
    Characters in common, and lengths, of pairs of texts (indices into ``texts``).

    Counted per character, spaces included; all but ``a-z``, ``0-9`` and space
    count as one character, which only adds to what is in common (so bounds
    built on it stay bounds).
    """
    lengths = np.fromiter(map(len, texts), dtype=np.int64, count=len(texts))
    characters = np.frombuffer("".join(texts).encode("ascii", "replace"), np.uint8)
    owners = np.repeat(np.arange(len(texts)), lengths)
    width = len(_CHARACTER_BUCKETS)
    counts = np.bincount(
        owners * width + _CHARACTER_BUCKET[characters], minlength=len(texts) * width
    ).reshape(-1, width)
    counts = counts.astype(np.uint8 if counts.max(initial=0) <= _BYTE else np.int64)
    common = np.minimum(counts[left], counts[right]).sum(axis=1, dtype=np.int64)
    return common, lengths[left], lengths[right]


def _factorize(left: Values, right: Values) -> tuple[list[str], Indices, Indices]:
    """Distinct values, and each side's values as indices into them."""
    lookup: dict[str, int] = {}
    size = len(left)
    codes = np.fromiter(
        (lookup.setdefault(v, len(lookup)) for side in (left, right) for v in side),
        dtype=np.int64,
        count=2 * size,
    )
    return list(lookup), codes[:size], codes[size:]


def _each_pair(batch: _Batch, score: Callable[[str, str], float]) -> Scores:
    """Apply a Python scorer to each (distinct) pair."""
    return np.fromiter(
        (
            score(a, b)
            for a, b in zip(batch.left.tolist(), batch.right.tolist(), strict=True)
        ),
        dtype=np.float64,
        count=len(batch.left),
    )


def _is_initials(a: str, b: str) -> float:
    short, long_ = (a, b) if len(a) <= len(b) else (b, a)
    initials = "".join(word[0] for word in long_.split() if word)
    return float(a == b or (bool(short) and short in (initials, long_[:1])))


def _is_variant_initial(a: str, b: str, tables: Tables) -> float:
    """Initials of the name or of one of its variants (``r`` / ``bobby``)."""
    if _is_initials(a, b):
        return 1.0
    short, long_ = (a, b) if len(a) <= len(b) else (b, a)
    if len(short) != 1:
        return 0.0
    groups = tables.given_name_groups(long_)
    return float(
        any(name[:1] == short for g in groups for name in tables.nickname_groups[g])
    )


def _initials(batch: _Batch) -> Scores:
    """
    1 when equal, or when one is the other's initials (``j`` / ``jonathan``).

    The initial of a variant counts: ``R.`` may be Bobby (Robert).
    """
    tables = batch.tables

    return _by_variant_tests(
        batch,
        lambda a, b: _is_variant_initial(a, b, tables),
        lambda _same, initial: initial.astype(np.float64),
    )


def _by_variant_tests(
    batch: _Batch,
    one_pair: Callable[[str, str], float],
    at_once: Callable[[npt.NDArray[np.bool_], npt.NDArray[np.bool_]], Scores],
) -> Scores:
    """
    Name scores from the variant tests on arrays (`_variant_tests`).

    ``at_once`` of (same name, initials) where those decide, ``one_pair``
    elsewhere, and everywhere below `_TESTED_AT_ONCE_FROM` pairs.
    """
    if len(batch.left) < _TESTED_AT_ONCE_FROM:
        return _each_pair(batch, one_pair)
    decided, same, initial = _variant_tests(batch)
    scores = at_once(same, initial)
    rest = np.flatnonzero(~decided)
    scores[rest] = _each_pair(batch.subset(rest), one_pair)
    return scores


class _NameFacts(NamedTuple):
    """
    Per value (by index): what the variant tests read, as arrays.

    ``plain``: one word of ``a-z0-9`` in at most one variant group, for which
    the other arrays decide the tests; other values are tested one pair at a
    time.
    """

    plain: npt.NDArray[np.bool_]
    group: Indices  # its variant group, or -1
    length: Indices
    first: Indices  # its first letter, as a bit number
    variant_initials: Indices  # a bit per first letter of its group's names


_LETTER_BITS: Final = {
    c: bit for bit, c in enumerate(string.ascii_lowercase + string.digits)
}


def _name_facts(batch: _Batch) -> _NameFacts:
    values, lc, rc = batch.codes
    tables = batch.tables
    size = len(values)
    facts = _NameFacts(
        plain=np.zeros(size, dtype=bool),
        group=np.full(size, -1, dtype=np.int64),
        length=np.zeros(size, dtype=np.int64),
        first=np.zeros(size, dtype=np.int64),
        variant_initials=np.zeros(size, dtype=np.int64),
    )
    for k in distinct(np.concatenate([lc, rc])).tolist():
        value = str(values[k])
        groups = tables.given_name_groups(value)
        initials = {n[:1] for g in groups for n in tables.nickname_groups[g]}
        if (
            not value
            or len(groups) > 1
            or not set(value) | initials <= _LETTER_BITS.keys()
        ):
            continue
        facts.plain[k] = True
        facts.length[k] = len(value)
        facts.first[k] = _LETTER_BITS[value[0]]
        facts.group[k] = next(iter(groups), -1)
        facts.variant_initials[k] = sum(1 << _LETTER_BITS[c] for c in initials)
    return facts


def _variant_tests(
    batch: _Batch,
) -> tuple[npt.NDArray[np.bool_], npt.NDArray[np.bool_], npt.NDArray[np.bool_]]:
    """
    Per pair: whether the arrays decided, same name, and initials (of a variant).

    As `_same_name` and `_is_variant_initial` answer, for pairs of plain values.
    """
    _, lc, rc = batch.codes
    facts = _name_facts(batch)
    decided = facts.plain[lc] & facts.plain[rc]
    same = (lc == rc) | ((facts.group[lc] >= 0) & (facts.group[lc] == facts.group[rc]))
    left_shorter = facts.length[lc] <= facts.length[rc]
    short, long_ = np.where(left_shorter, lc, rc), np.where(left_shorter, rc, lc)
    letter = facts.first[short]
    initial = (lc == rc) | (
        (facts.length[short] == 1)
        & (
            (letter == facts.first[long_])
            | ((facts.variant_initials[long_] >> letter) & 1).astype(bool)
        )
    )
    return decided, same, initial


def _phonetic(code: Callable[[str], str]) -> Callable[[_Batch], Scores]:
    def score(batch: _Batch) -> Scores:
        return _each_pair(batch, lambda a, b: float(code(a) == code(b) != ""))

    return score


def _name(batch: _Batch) -> Scores:
    """Jaro-Winkler; 1 for variants (Bob/Robert), 0.92 or more for initials (J/John)."""
    scores = _pairwise(
        JaroWinkler.normalized_similarity, batch.left, batch.right, batch.workers
    )
    unsure = np.flatnonzero((scores < 1.0) & _may_vary(batch))
    if len(unsure):
        scores[unsure] = np.maximum(
            scores[unsure], _variant_scores(batch.subset(unsure))
        )
    return scores


def _variant_scores(batch: _Batch) -> Scores:
    """1 for variants of one name, `_INITIAL_SCORE` for initials, else 0."""
    tables = batch.tables

    def variant(a: str, b: str) -> float:
        if _same_name(a, b, tables):
            return 1.0
        return _INITIAL_SCORE if _is_variant_initial(a, b, tables) else 0.0

    return _by_variant_tests(
        batch,
        variant,
        lambda same, initial: np.where(
            same, 1.0, np.where(initial, _INITIAL_SCORE, 0.0)
        ),
    )


def _may_vary(batch: _Batch) -> npt.NDArray[np.bool_]:
    """Pairs that may be variants or initials: both known or compound, or one short."""
    values, lc, rc = batch.codes
    tables = batch.tables
    known = _per_value(
        values, lc, rc, lambda v: bool(tables.given_name_groups(v)) or " " in v
    )
    short = _per_value(values, lc, rc, lambda v: len(v) <= _SHORT_NAME)
    result: npt.NDArray[np.bool_] = (known[lc] & known[rc]) | short[lc] | short[rc]
    return result


def _per_value(
    values: Sequence[str] | Values,
    left_codes: Indices,
    right_codes: Indices,
    function: Callable[[str], object],
    dtype: type = bool,
) -> npt.NDArray[Any]:
    """``function`` of each value the pairs use, by index into ``values``."""
    used = distinct(np.concatenate([left_codes, right_codes]))
    results: npt.NDArray[Any] = np.zeros(len(values), dtype=dtype)
    results[used] = np.fromiter(
        (function(values[k]) for k in used.tolist()), dtype=dtype, count=len(used)
    )
    return results


def _same_name(a: str, b: str, tables: Tables) -> bool:
    if tables.given_name_groups(a) & tables.given_name_groups(b):
        return True
    first_a, first_b = a.split(), b.split()
    return len(first_a) == len(first_b) and all(
        x == y or tables.given_name_groups(x) & tables.given_name_groups(y)
        for x, y in zip(first_a, first_b, strict=True)
    )


def _email(batch: _Batch) -> Scores:
    """Exact 1; else local parts by edit similarity, weighed by the domain."""
    values, lc, rc = batch.codes
    used, left, right = _used(len(values), lc, rc)
    parts = [str(values[k]).rpartition("@") for k in used.tolist()]
    local = np.asarray([part[0] for part in parts], dtype=object)
    domains: dict[str, int] = {}  # each domain as a number, compared as one
    domain = np.asarray([domains.setdefault(part[2], len(domains)) for part in parts])
    # The best a pair can score is with the same domain: 0.2 + 0.8 x similarity.
    cutoff = max(0.0, (batch.floor - 0.2) / 0.8)
    rows = np.arange(len(lc))
    if cutoff > 0:
        # An edit similarity is at most the characters in common over the
        # longer length (each edit but a match costs one).
        common, left_length, right_length = _in_common(local.tolist(), left, right)
        longer = np.maximum(left_length, right_length)
        rows = np.flatnonzero(common >= cutoff * longer - _BOUND_SLACK)
    similar = np.zeros(len(lc))
    similar[rows] = _pairwise(
        Levenshtein.normalized_similarity,
        local[left[rows]],
        local[right[rows]],
        batch.workers,
        cutoff,
    )
    same_domain = domain[left] == domain[right]
    return np.where(same_domain, 0.2 + 0.8 * similar, 0.8 * similar)


def _phone(batch: _Batch) -> Scores:
    """Exact 1; same last eight digits 0.9; else edit similarity, halved."""
    values, lc, rc = batch.codes
    tail = _per_value(values, lc, rc, lambda v: v[-_PHONE_TAIL:], object)
    scores = np.where(lc == rc, 1.0, np.where(tail[lc] == tail[rc], 0.9, 0.0))
    if batch.floor > _PHONE_EDITED_MAX:  # nobody reads the edited numbers' scores
        return scores
    differ = np.flatnonzero(scores == 0)
    scores[differ] = (
        _pairwise(
            Levenshtein.normalized_similarity,
            batch.left[differ],
            batch.right[differ],
            batch.workers,
            2 * batch.floor,
        )
        * _PHONE_EDITED_MAX
    )
    return scores


def _closeness(values: Callable[[str], float]) -> Callable[[_Batch], Scores]:
    def score(batch: _Batch) -> Scores:
        def close(a: str, b: str) -> float:
            try:
                return max(0.0, 1.0 - abs(values(a) - values(b)) / batch.scale)
            except ValueError:
                return float(a == b)

        return _each_pair(batch, close)

    return score


def _days(text: str) -> float:
    return float(date.fromisoformat(text).toordinal())


# The comparators under which any value is a perfect match for itself.
_REFLEXIVE: Final = frozenset(
    {
        Comparator.EXACT,
        Comparator.JARO_WINKLER,
        Comparator.LEVENSHTEIN,
        Comparator.TOKEN_SET,
        Comparator.INITIALS,
        Comparator.NAME,
        Comparator.EMAIL,
        Comparator.PHONE,
    }
)
_COMPARATORS: Final[dict[Comparator, Callable[[_Batch], Scores]]] = {
    Comparator.EXACT: _exact,
    Comparator.JARO_WINKLER: _jaro_winkler,
    Comparator.LEVENSHTEIN: _levenshtein,
    Comparator.TOKEN_SET: _token_set,
    Comparator.INITIALS: _initials,
    Comparator.PHONETIC_FR: _phonetic(french_code),
    Comparator.PHONETIC_EN: _phonetic(english_code),
    Comparator.NAME: _name,
    Comparator.EMAIL: _email,
    Comparator.PHONE: _phone,
    Comparator.NUMBER: _closeness(float),
    Comparator.DATE: _closeness(_days),
}
