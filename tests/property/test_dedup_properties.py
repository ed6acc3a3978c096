"""Invariants of normalisers and comparators."""

import math
from unittest.mock import patch

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from rapidfuzz import fuzz

from crmkit.dedup import (
    Comparator,
    FieldKind,
    Normalizer,
    Tables,
    _compare,
    _phonetic,
    compare,
    find_duplicates,
)

N = Normalizer()
texts = st.text(
    alphabet=st.characters(codec="utf-8", exclude_categories=["Cs"]), max_size=30
)


@given(left=texts, right=texts)
def test_scores_are_symmetric_and_within_0_and_1(left, right):
    """Every comparator is symmetric with scores in [0, 1] (or NaN for blanks)."""
    for comparator in Comparator:
        if comparator in {Comparator.NUMBER, Comparator.DATE}:
            continue
        a, b = N.text(left), N.text(right)
        forth = float(compare(comparator, [a], [b])[0])
        back = float(compare(comparator, [b], [a])[0])
        if math.isnan(forth):
            assert math.isnan(back)
        else:
            assert forth == back, comparator
            assert 0.0 <= forth <= 1.0


@given(value=texts, kind=st.sampled_from(list(FieldKind)))
def test_normalising_twice_changes_nothing_for_text_kinds(value, kind):
    """Normalised names, companies, streets and cities are fixed points."""
    once = N.normalize(kind, value)
    if kind in {
        FieldKind.GIVEN_NAME,
        FieldKind.COMPANY,
        FieldKind.CITY,
        FieldKind.TEXT,
    }:
        assert once == N.normalize(kind, once)
    assert once == once.strip()


names = st.sampled_from(["Jean", "Jean-Pierre", "JP", "Marie", "Bob", "Robert", ""])
surnames = st.sampled_from(["Dupont", "DUPONT", "Dupond", "Martin", ""])
phones = st.sampled_from(["0612345678", "+33 6 12 34 56 78", "0698765432", ""])
emails = st.sampled_from(["jp@acme.fr", "JP@ACME.FR", "marie@x.fr", ""])
contacts = st.fixed_dictionaries(
    {"first_name": names, "last_name": surnames, "phone": phones, "email": emails}
)


@given(rows=st.lists(contacts, max_size=12))
def test_every_record_is_clustered_and_pairs_are_symmetric(rows):
    """Each id gets a cluster named by a member; a pair scores the same both ways."""
    records = [{"id": str(i), **row} for i, row in enumerate(rows)]
    result = find_duplicates(records)
    assert tuple(r["id"] for r in records) == result.ids
    members = {}
    for record_id, cluster_id in zip(result.ids, result.cluster_ids, strict=True):
        members.setdefault(cluster_id, set()).add(record_id)
    assert all(cluster_id in ids for cluster_id, ids in members.items())
    for pair in result.pairs():
        back = result.explain(pair.right_id, pair.left_id)
        assert abs(pair.probability - back.probability) < 1e-9
        assert pair.matched == back.matched


_TABLES = Tables.default()
_TABLE_NAMES = sorted({name for group in _TABLES.nickname_groups for name in group})
given_names = st.one_of(
    st.sampled_from(_TABLE_NAMES),
    st.sampled_from(_TABLE_NAMES).map(lambda name: name[:1]),  # initials
    st.builds(
        " ".join, st.lists(st.sampled_from(_TABLE_NAMES), min_size=2, max_size=3)
    ),
    texts.map(N.given_name),
    st.text(alphabet="abjmrz", min_size=1, max_size=4),
)


def _batch(pairs, floor=0.0):
    """The comparators' batch of some pairs of values."""
    left, right = zip(*pairs, strict=True)
    vocabulary, lc, rc = _compare._factorize(np.asarray(left), np.asarray(right))
    return _compare._Batch(
        np.asarray(left, dtype=object),
        np.asarray(right, dtype=object),
        tables=_TABLES,
        scale=1.0,
        workers=1,
        codes=(np.asarray(vocabulary, dtype=object), lc, rc),
        floor=floor,
    )


@pytest.mark.parametrize("at_once_from", [0, 1000])
@given(pairs=st.lists(st.tuples(given_names, given_names), min_size=1, max_size=40))
def test_name_variants_tested_at_once_answer_as_one_pair_at_a_time(at_once_from, pairs):
    """The vectorised variant and initials tests agree with the per-pair ones."""
    pairs = [(a, b) for a, b in pairs if a and b]
    if not pairs:
        return
    batch = _batch(pairs)
    expected_variant = [
        1.0
        if _compare._same_name(a, b, _TABLES)
        else _compare._INITIAL_SCORE * _compare._is_variant_initial(a, b, _TABLES)
        for a, b in pairs
    ]
    expected_initials = [_compare._is_variant_initial(a, b, _TABLES) for a, b in pairs]
    with patch.object(_compare, "_TESTED_AT_ONCE_FROM", at_once_from):
        assert _compare._variant_scores(batch).tolist() == expected_variant
        assert _compare._initials(batch).tolist() == expected_initials


# What a French code holds between rules: letters, and the digits of nasal vowels.
codes_so_far = st.text(alphabet="abcdefghijklmnopqrstuvwxyz123", max_size=12)


@given(code=codes_so_far)
def test_a_french_rule_skipped_for_lack_of_needles_would_change_nothing(code):
    """The needles of each French phonetic rule are present wherever it matches."""
    for pattern, replacement, needles in _phonetic._FRENCH_RULES:
        if not any(needle in code for needle in needles):
            assert pattern.sub(replacement, code) == code, pattern.pattern


words = st.text(alphabet="abcde12é-", min_size=1, max_size=5)
token_texts = st.builds(
    str.join,
    st.sampled_from([" ", " ", "\t", "\xa0"]),  # rapidfuzz's and str's words
    st.lists(words, min_size=1, max_size=5),
)


@given(
    pairs=st.lists(st.tuples(token_texts, token_texts), min_size=1, max_size=30),
    floor=st.floats(min_value=0.3, max_value=1.0),
)
def test_token_set_pairs_left_out_by_the_bound_could_not_reach_the_floor(pairs, floor):
    """Skipping pairs by the character bound changes no score at or above the floor."""
    batch = _batch(pairs, floor)
    exact = [
        fuzz.token_set_ratio(a, b, score_cutoff=100 * floor) / 100 for a, b in pairs
    ]
    assert _compare._token_set(batch).tolist() == exact


emails_typed = st.builds(
    "{}@{}".format,
    st.text(alphabet="abjn.é1", max_size=8),
    st.sampled_from(["x.fr", "y.com"]),
)


@given(
    pairs=st.lists(st.tuples(emails_typed, emails_typed), min_size=1, max_size=30),
    floor=st.floats(min_value=0.0, max_value=1.0),
)
def test_email_scores_at_or_above_the_floor_are_exact(pairs, floor):
    """Local parts left out by the character bound would have scored under the floor."""
    left, right = zip(*pairs, strict=True)
    vocabulary, lc, rc = _compare._factorize(np.asarray(left), np.asarray(right))
    codes = (np.asarray(vocabulary, dtype=object), lc, rc)
    exact = _compare.compare_codes(Comparator.EMAIL, *codes, tables=_TABLES)
    floored = _compare.compare_codes(
        Comparator.EMAIL, *codes, tables=_TABLES, floor=floor
    )
    for exact_score, floored_score in zip(exact, floored, strict=True):
        if exact_score >= floor:
            assert floored_score == exact_score
        else:
            assert floored_score < floor
