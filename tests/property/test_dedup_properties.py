"""Invariants of normalisers and comparators."""

import math

from hypothesis import given
from hypothesis import strategies as st

from crmkit.dedup import Comparator, FieldKind, Normalizer, compare

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
