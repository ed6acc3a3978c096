"""Connected components on arrays: each record labelled by its smallest member."""

import itertools

import numpy as np
from hypothesis import given
from hypothesis import strategies as st

from crmkit.dedup._cluster import cluster, components


def _reference(size, pairs):
    """Label by smallest member, joining groups one pair at a time."""
    labels = list(range(size))
    for a, b in pairs:
        low, high = sorted((labels[a], labels[b]))
        labels = [low if label == high else label for label in labels]
    return labels


def test_a_chain_is_one_component_labelled_by_its_smallest_member():
    """5-3, 3-9, 9-1 join into one component labelled 1; others stay alone."""
    left = np.asarray([5, 3, 9], dtype=np.int64)
    right = np.asarray([3, 9, 1], dtype=np.int64)
    labels = components(10, left, right).tolist()
    assert [0, 1, 2, 1, 4, 1, 6, 7, 8, 1] == labels


@given(
    st.integers(1, 40).flatmap(
        lambda size: st.tuples(
            st.just(size),
            st.lists(st.tuples(st.integers(0, size - 1), st.integers(0, size - 1))),
        )
    )
)
def test_components_agree_with_joining_pairs_one_by_one(case):
    """Any pairs, in any order: the same labels as the one-at-a-time reference."""
    size, pairs = case
    left = np.asarray([a for a, _ in pairs], dtype=np.int64)
    right = np.asarray([b for _, b in pairs], dtype=np.int64)
    assert _reference(size, pairs) == components(size, left, right).tolist()


def _all_match(lefts, rights):
    """Every pair matches with certainty, none is vetoed."""
    count = len(lefts)
    assert count == len(rights)
    return np.ones(count), np.ones(count, dtype=bool), np.zeros(count, dtype=bool)


def test_a_component_too_large_to_check_whole_is_rebuilt_strongest_pairs_first():
    """A chain of 450 records is cut where a part would pass 400 records."""
    left = np.arange(449, dtype=np.int64)
    right = left + 1
    strength = np.ones(449)
    strength[99] = 0.95  # the weakest link: 99-100

    labels, split = cluster(450, left, right, strength, _all_match, cohesion=0.5)
    assert 0 == split
    assert [0] * 100 + [100] * 350 == labels.tolist()


def test_small_components_are_left_whole():
    """Below the size checked whole, the guard alone decides."""

    left = np.asarray([0, 1, 3], dtype=np.int64)
    right = np.asarray([1, 2, 4], dtype=np.int64)
    labels, _ = cluster(5, left, right, np.full(3, 0.9), _all_match, cohesion=0.5)
    assert [0, 0, 0, 3, 3] == labels.tolist()


def test_groups_rescored_in_runs_split_as_when_rescored_at_once(monkeypatch):
    """Runs of group sizes bounded in pairs change no label and no split."""
    starts = [0, 3, 7, 12, 18, 25]  # chains of 3, 4, 5, 6 and 7 records
    chained = [i for a, b in itertools.pairwise(starts) for i in range(a, b - 1)]
    left = np.asarray(chained, dtype=np.int64)
    right = left + 1
    calls = []

    def rescore(lefts, rights):
        calls.append(len(lefts))
        vetoed = (lefts + rights) % 7 == 0
        prob = np.where(vetoed, 0.1, 0.95)
        return prob, prob > 0.5, vetoed

    strength = np.full(len(left), 0.95)
    at_once = cluster(25, left, right, strength, rescore, cohesion=0.5)
    assert [3 + 6 + 10 + 15 + 21] == calls
    calls.clear()
    monkeypatch.setattr("crmkit.dedup._cluster._RESCORED_AT_ONCE", 12)
    in_runs = cluster(25, left, right, strength, rescore, cohesion=0.5)
    assert [3 + 6, 10, 15, 21] == calls  # a size past the bound goes alone
    assert at_once[1] == in_runs[1] > 0
    assert at_once[0].tolist() == in_runs[0].tolist()
