"""Comparators on normalised values, vectorised; blanks are no evidence."""

import math

import numpy as np
import pytest

from crmkit.dedup import Comparator, Tables, _compare, compare
from crmkit.dedup._compare import compare_codes


def _one(comparator, left, right, **kwargs):
    return float(compare(comparator, [left], [right], **kwargs)[0])


@pytest.mark.parametrize("comparator", list(Comparator))
def test_a_blank_side_is_nan_for_every_comparator(comparator):
    """Blank on either side neither matches nor counts against."""
    scores = compare(comparator, ["", "x", ""], ["x", "", ""])
    assert all(math.isnan(s) for s in scores)


@pytest.mark.parametrize("comparator", list(Comparator))
def test_equal_values_score_one(comparator):
    """Every comparator gives 1 to a value compared with itself."""
    value = {"number": "12.5", "date": "2026-01-02", "email": "a@b.fr"}.get(
        comparator.value, "jean pierre"
    )
    assert 1.0 == _one(comparator, value, value)


def test_string_comparators():
    """Jaro-Winkler, Levenshtein and token-set give their known scores."""
    assert 0.96 == pytest.approx(
        _one(Comparator.JARO_WINKLER, "martha", "marhta"), abs=0.01
    )
    assert 0.8 == pytest.approx(
        _one(Comparator.LEVENSHTEIN, "dupont", "dupond"), abs=0.04
    )
    assert 1.0 == _one(Comparator.TOKEN_SET, "fontaine jean", "jean fontaine")
    assert 0.0 == _one(Comparator.EXACT, "a", "b")


def test_initials():
    """An initial matches the name it starts; two different names do not."""
    assert 1.0 == _one(Comparator.INITIALS, "j", "jonathan")
    assert 1.0 == _one(Comparator.INITIALS, "jp", "jean pierre")
    assert 0.0 == _one(Comparator.INITIALS, "m", "jonathan")
    assert 0.0 == _one(Comparator.INITIALS, "marc", "jonathan")


def test_phonetic():
    """French and English phonetic comparators score equal codes 1."""
    assert 1.0 == _one(Comparator.PHONETIC_FR, "renault", "renaud")
    assert 0.0 == _one(Comparator.PHONETIC_FR, "renault", "martin")
    assert 1.0 == _one(Comparator.PHONETIC_EN, "catherine", "kathryn")


def test_name_is_nickname_aware_and_extensible():
    """Bob is Robert and JP is Jean-Pierre; Marie is not Jean."""
    assert 1.0 == _one(Comparator.NAME, "bob", "robert")
    assert 1.0 == _one(Comparator.NAME, "jp", "jean pierre")
    assert 1.0 == _one(Comparator.NAME, "jean pierre", "jean pierre")
    assert _one(Comparator.NAME, "marie", "jean") < 0.6
    tables = Tables.default().extended(nicknames=[["gwendoline", "gwen"]])
    assert 1.0 == _one(Comparator.NAME, "gwen", "gwendoline", tables=tables)


def test_email_weighs_local_part_and_domain():
    """Same local part elsewhere, typo at the same domain, colleagues: in that order."""
    typo = _one(Comparator.EMAIL, "jdupont@acme.fr", "jdupomt@acme.fr")
    moved = _one(Comparator.EMAIL, "jdupont@acme.fr", "jdupont@gmail.com")
    colleague = _one(Comparator.EMAIL, "jdupont@acme.fr", "mlefevre@acme.fr")
    assert typo > moved > colleague
    assert 0.0 == _one(Comparator.EMAIL, "abc@x.fr", "xyz@y.fr")


def test_phone():
    """Equal E.164 is 1; the same subscriber digits 0.9; others low."""
    assert 1.0 == _one(Comparator.PHONE, "+33612345678", "+33612345678")
    assert 0.9 == _one(Comparator.PHONE, "+33612345678", "0612345678")
    assert _one(Comparator.PHONE, "+33612345678", "+33698765432") < 0.5


def test_numeric_and_date_closeness():
    """Closeness falls linearly to 0 at the scale; unreadable values are compared."""
    assert 0.5 == _one(Comparator.NUMBER, "100", "150", scale=100)
    assert 0.0 == _one(Comparator.NUMBER, "100", "900", scale=100)
    assert 0.9 == pytest.approx(
        _one(Comparator.DATE, "2026-01-01", "2026-01-11", scale=100)
    )
    assert 0.0 == _one(Comparator.DATE, "2026-01-01", "soon", scale=100)


def test_vectorised_over_many_pairs_and_threads():
    """Batches of any length come back in order, the same with two workers."""
    left = ["jean", "marie", "", "paul"] * 50
    right = ["jean", "mary", "x", "pierre"] * 50
    one = compare(Comparator.JARO_WINKLER, left, right)
    two = compare(Comparator.JARO_WINKLER, left, right, workers=2)
    assert 200 == len(one)
    np.testing.assert_array_equal(one, two)
    assert 0 == len(compare(Comparator.EXACT, [], []))
    with pytest.raises(ValueError, match="2 left values but 1 right"):
        compare(Comparator.EXACT, ["a", "b"], ["a"])


def test_name_scores_initials_just_below_a_full_match():
    """J for Jonathan is likely the same name, but less sure than the name itself."""
    assert 0.92 == _one(Comparator.NAME, "j", "jonathan")
    assert _one(Comparator.NAME, "m", "jonathan") < 0.5


def test_the_initial_of_a_variant_counts():
    """R. may be Bobby (a Robert); M. may not."""
    assert 1.0 == _one(Comparator.INITIALS, "r", "bobby")
    assert 0.92 == _one(Comparator.NAME, "r", "bobby")
    assert 0.0 == _one(Comparator.INITIALS, "m", "bobby")


@pytest.mark.parametrize(
    ("comparator", "left", "right"),
    [
        (Comparator.PHONE, "+33612345678", "+33612345679"),  # edited: 0.5 at most
        (Comparator.EMAIL, "jean.dupont@x.fr", "jean.dupond@x.fr"),
        (Comparator.EMAIL, "jean.dupont@x.fr", "marie@y.fr"),
        (Comparator.TOKEN_SET, "12 rue de la paix", "12 rue de la pax"),
        (Comparator.TOKEN_SET, "12 rue de la paix", "3 avenue foch"),
        (Comparator.JARO_WINKLER, "martin", "martine"),
        (Comparator.LEVENSHTEIN, "martin", "bernard"),
    ],
)
@pytest.mark.parametrize("floor", [0.0, 0.3, 0.6, 0.9, 0.95])
def test_a_floor_zeroes_only_scores_below_it(comparator, left, right, floor):
    """Below the floor a score may be 0; at or above it, it is exact."""
    values = np.asarray(["", left, right], dtype=object)
    exact = compare_codes(
        comparator, values, np.asarray([1]), np.asarray([2]), tables=Tables.default()
    )[0]
    floored = compare_codes(
        comparator,
        values,
        np.asarray([1]),
        np.asarray([2]),
        tables=Tables.default(),
        floor=floor,
    )[0]
    if exact >= floor:
        assert exact == pytest.approx(floored)
    else:
        assert floored < floor
    assert floored <= exact + 1e-12


def test_an_edited_phone_is_not_compared_when_nobody_reads_its_score():
    """Numbers that differ score at most 0.5: a floor above that skips them."""
    values = np.asarray(["", "+33612345678", "+33612345679"], dtype=object)
    codes = (values, np.asarray([1]), np.asarray([2]))
    tables = Tables.default()
    assert 0.45 == pytest.approx(
        compare_codes(Comparator.PHONE, *codes, tables=tables)[0], abs=0.01
    )
    assert 0.0 == compare_codes(Comparator.PHONE, *codes, tables=tables, floor=0.9)[0]


def test_streets_with_too_little_in_common_are_not_compared(monkeypatch):
    """Token set skips pairs whose characters in common cannot reach the floor."""
    compared = []
    pairwise = _compare._pairwise

    def counted(scorer, left, right, *args):
        compared.extend(zip(left, right, strict=True))
        return pairwise(scorer, left, right, *args)

    monkeypatch.setattr(_compare, "_pairwise", counted)
    values = np.asarray(
        ["", "12 rue de la paix", "12 rue de la pax", "3 avenue foch"], dtype=object
    )
    scores = compare_codes(
        Comparator.TOKEN_SET,
        values,
        np.asarray([1, 1]),
        np.asarray([2, 3]),
        tables=Tables.default(),
        floor=0.85,
    )
    assert compared == [("12 rue de la paix", "12 rue de la pax")]
    assert scores[0] >= 0.85
    assert scores[1] == 0.0
