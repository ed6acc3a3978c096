"""
Comparators: vectorised scores in [0, 1] for pairs of normalised values.

Each takes two equal-length sequences (the left and right value of each pair) and
returns a float array; a pair where either value is blank scores NaN, which rules
and models read as "no evidence" (neither a match nor against one).
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Sequence
from datetime import date
from typing import Final

import numpy as np
import numpy.typing as npt
from rapidfuzz import fuzz, process
from rapidfuzz.distance import JaroWinkler, Levenshtein

from crmkit.dedup._phonetic import english_code, french_code
from crmkit.dedup._tables import Tables

__all__ = ["Comparator", "Texts", "compare"]

Scores = npt.NDArray[np.float64]
Values = npt.NDArray[np.object_]
Texts = Sequence[str] | Values
_Scorer = Callable[..., float]
_PHONE_TAIL: Final = 8
_INITIAL_SCORE: Final = 0.92
_SHORT_NAME: Final = 3


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

    Returns:
        One score per pair in [0, 1], NaN where either value is blank.
    """
    if len(left) != len(right):
        raise ValueError(f"{len(left)} left values but {len(right)} right values")
    lefts = np.asarray(left, dtype=object)
    rights = np.asarray(right, dtype=object)
    blank = (lefts == "") | (rights == "")
    if len(lefts) == 0:
        return np.zeros(0)
    scores = _COMPARATORS[comparator](
        lefts, rights, tables or Tables.default(), scale, workers
    )
    scores[blank] = np.nan
    return scores


def _pairwise(
    scorer: _Scorer,
    left: Values | Sequence[str],
    right: Values | Sequence[str],
    workers: int,
) -> Scores:
    scores: Scores = np.asarray(
        process.cpdist(left, right, scorer=scorer, workers=workers, dtype=np.float64),
        dtype=np.float64,
    )
    return scores


def _exact(left: Values, right: Values, *_: object) -> Scores:
    equal: npt.NDArray[np.bool_] = left == right
    return equal.astype(np.float64)


def _jaro_winkler(
    left: Values, right: Values, _t: Tables, _s: float, workers: int
) -> Scores:
    return _pairwise(JaroWinkler.normalized_similarity, left, right, workers)


def _levenshtein(
    left: Values, right: Values, _t: Tables, _s: float, workers: int
) -> Scores:
    return _pairwise(Levenshtein.normalized_similarity, left, right, workers)


def _token_set(
    left: Values, right: Values, _t: Tables, _s: float, workers: int
) -> Scores:
    return _pairwise(fuzz.token_set_ratio, left, right, workers) / 100.0


def _by_distinct_pairs(
    left: Values, right: Values, score: Callable[[str, str], float]
) -> Scores:
    """Apply a Python scorer once per distinct pair of values, not once per pair."""
    if len(left) == 0:
        return np.zeros(0)
    values, codes = np.unique(
        np.concatenate([left, right]).astype(str), return_inverse=True
    )
    width = len(values)
    keys = codes[: len(left)].astype(np.int64) * width + codes[len(left) :]
    distinct, inverse = np.unique(keys, return_inverse=True)
    table = np.fromiter(
        (
            score(str(values[k // width]), str(values[k % width]))
            for k in distinct.tolist()
        ),
        dtype=np.float64,
        count=len(distinct),
    )
    result: Scores = table[inverse]
    return result


def _is_initials(a: str, b: str) -> float:
    short, long_ = (a, b) if len(a) <= len(b) else (b, a)
    initials = "".join(word[0] for word in long_.split() if word)
    return float(a == b or (bool(short) and short in (initials, long_[:1])))


def _initials(left: Values, right: Values, *_: object) -> Scores:
    """1 when equal, or when one is the other's initials (``j`` / ``jonathan``)."""
    return _by_distinct_pairs(left, right, _is_initials)


def _phonetic(code: Callable[[str], str]) -> Callable[..., Scores]:
    def score(left: Values, right: Values, *_: object) -> Scores:
        return _by_distinct_pairs(
            left, right, lambda a, b: float(code(a) == code(b) != "")
        )

    return score


def _name(
    left: Values, right: Values, tables: Tables, _s: float, workers: int
) -> Scores:
    """Jaro-Winkler; 1 for variants (Bob/Robert), 0.92 or more for initials (J/John)."""
    scores = _pairwise(JaroWinkler.normalized_similarity, left, right, workers)
    unsure = np.flatnonzero((scores < 1.0) & _may_vary(left, right, tables))
    if len(unsure):

        def variant(a: str, b: str) -> float:
            if _same_name(a, b, tables):
                return 1.0
            return _INITIAL_SCORE if _is_initials(a, b) else 0.0

        scores[unsure] = np.maximum(
            scores[unsure], _by_distinct_pairs(left[unsure], right[unsure], variant)
        )
    return scores


def _may_vary(left: Values, right: Values, tables: Tables) -> npt.NDArray[np.bool_]:
    """Pairs that may be variants or initials: both known or compound, or one short."""
    if len(left) == 0:
        return np.zeros(0, dtype=bool)
    values, codes = np.unique(
        np.concatenate([left, right]).astype(str), return_inverse=True
    )
    known = np.fromiter(
        (bool(tables.given_name_groups(v)) or " " in v for v in values.tolist()),
        dtype=bool,
        count=len(values),
    )
    short = np.char.str_len(values) <= _SHORT_NAME
    lc, rc = codes[: len(left)], codes[len(left) :]
    result: npt.NDArray[np.bool_] = (known[lc] & known[rc]) | short[lc] | short[rc]
    return result


def _same_name(a: str, b: str, tables: Tables) -> bool:
    if tables.given_name_groups(a) & tables.given_name_groups(b):
        return True
    first_a, first_b = a.split(), b.split()
    return len(first_a) == len(first_b) and all(
        x == y or tables.given_name_groups(x) & tables.given_name_groups(y)
        for x, y in zip(first_a, first_b, strict=True)
    )


def _email(left: Values, right: Values, _t: Tables, _s: float, workers: int) -> Scores:
    """Exact 1; else local parts by edit similarity, weighed by the domain."""
    split_l = [v.rpartition("@") for v in left]
    split_r = [v.rpartition("@") for v in right]
    local = _pairwise(
        Levenshtein.normalized_similarity,
        [s[0] for s in split_l],
        [s[0] for s in split_r],
        workers,
    )
    same_domain = np.fromiter(
        (a[2] == b[2] for a, b in zip(split_l, split_r, strict=True)),
        dtype=bool,
        count=len(left),
    )
    return np.where(same_domain, 0.2 + 0.8 * local, 0.8 * local)


def _phone(left: Values, right: Values, _t: Tables, _s: float, workers: int) -> Scores:
    """Exact 1; same last eight digits 0.9; else edit similarity, halved."""
    tails_equal = np.fromiter(
        (
            a[-_PHONE_TAIL:] == b[-_PHONE_TAIL:]
            for a, b in zip(left, right, strict=True)
        ),
        dtype=bool,
        count=len(left),
    )
    similar = _pairwise(Levenshtein.normalized_similarity, left, right, workers) / 2
    return np.where(left == right, 1.0, np.where(tails_equal, 0.9, similar))


def _closeness(values: Callable[[str], float]) -> Callable[..., Scores]:
    def score(left: Values, right: Values, _t: Tables, scale: float, _w: int) -> Scores:
        def close(a: str, b: str) -> float:
            try:
                return max(0.0, 1.0 - abs(values(a) - values(b)) / scale)
            except ValueError:
                return float(a == b)

        return _by_distinct_pairs(left, right, close)

    return score


def _days(text: str) -> float:
    return float(date.fromisoformat(text).toordinal())


_COMPARATORS: Final[dict[Comparator, Callable[..., Scores]]] = {
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
