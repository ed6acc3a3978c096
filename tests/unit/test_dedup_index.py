"""The incremental index: add, update, remove, find_matches, as the batch decides."""

import attrs
import pytest

from crmkit.dedup import (
    Candidate,
    DedupIndex,
    Training,
    contact_config,
    find_duplicates,
    lead_config,
    synthetic_contacts,
)
from crmkit.errors import AlreadyExists, NotFound, ValidationError

DUPONT = {
    "id": "c1",
    "first_name": "Jean-Pierre",
    "last_name": "Dupont",
    "email": "jp.dupont@acme.fr",
    "phone": "06 12 34 56 78",
    "street": "12 boulevard Saint-Michel",
    "postal_code": "75005",
    "city": "Paris",
}
SISTER = {**DUPONT, "id": "c2", "first_name": "Marie", "email": "marie@free.fr"}
NEW = {
    "first_name": "JP",
    "last_name": "DUPONT",
    "phone": "+33 6 12 34 56 78",
    "street": "12 bd St Michel",
    "postal_code": "75005",
}


@pytest.fixture
def index():
    index = DedupIndex()
    index.add_many([DUPONT, SISTER])
    return index


def test_a_variant_is_found_with_its_explanation(index):
    """The same person comes first and matches; the household member is vetoed."""
    found = index.find_matches(NEW)
    assert [c.record_id for c in found] == ["c1", "c2"]
    best, sister = found
    assert isinstance(best, Candidate)
    assert best.matched
    assert best.probability > 0.99
    assert best.kind == "person"
    evidence = {e.field: e for e in best.explanation.fields}
    assert evidence["phone"].left == "+33612345678"
    assert evidence["email"].score is None  # blank: no evidence
    assert not sister.matched
    assert sister.explanation.reason.startswith("veto")


def test_a_record_that_shares_nothing_has_no_candidate(index):
    assert index.find_matches({"first_name": "Zoé", "last_name": "Quint"}) == []


def test_update_and_remove_change_what_is_found(index):
    index.update({**DUPONT, "phone": "", "street": "", "last_name": "Durand"})
    assert [c.record_id for c in index.find_matches(NEW)] == ["c2"]
    index.remove("c2")
    assert index.find_matches(NEW) == []
    assert len(index) == 1
    assert "c2" not in index
    index.add(SISTER)  # the freed slot is reused
    assert sorted(index.ids) == ["c1", "c2"]


def test_an_indexed_record_is_not_its_own_candidate(index):
    found = index.find_matches(SISTER)
    assert [c.record_id for c in found] == ["c1"]
    assert found[0].explanation.left_id == "c1"  # indexed first, on the left


def test_upsert_adds_then_replaces(index):
    index.upsert({**NEW, "id": "c3"}, kind="lead")
    index.upsert({**NEW, "id": "c3", "first_name": "Jean-Pierre"})
    assert index.kind_of("c3") == "person"
    assert len(index) == 3


def test_kinds_narrow_a_query_and_leads_are_checked_against_people():
    index = DedupIndex(lead_config())
    index.add(DUPONT, kind="person")
    index.add({**NEW, "id": "l1", "first_name": "Jean-Pierre"}, kind="lead")
    lead = {
        "first_name": "Jean Pierre",
        "last_name": "Dupont",
        "email": "JP.Dupont@acme.fr",
    }
    assert {c.record_id: c.kind for c in index.find_matches(lead)} == {
        "c1": "person",
        "l1": "lead",
    }
    assert [c.record_id for c in index.find_matches(lead, kinds={"person"})] == ["c1"]
    assert index.find_matches(lead, kinds={"organization"}) == []
    index.update({**NEW, "id": "l1"}, kind="person")
    assert index.kind_of("l1") == "person"


def test_limit_and_min_probability(index):
    namesake = {"id": "c9", "first_name": "JP", "last_name": "Dupont"}
    index.add({**namesake, "phone": "04 78 00 00 01", "postal_code": "69003"})
    assert [c.record_id for c in index.find_matches(NEW, limit=1)] == ["c1"]
    assert len(index.find_matches(NEW, limit=None)) == 3
    low = index.find_matches(NEW)[-1]
    assert low.record_id == "c9"
    assert low.probability < 0.5
    assert "c9" not in {
        c.record_id for c in index.find_matches(NEW, min_probability=0.5)
    }
    assert low.explanation.right_id == "?"  # the record checked has no id


def _capped_at_two(config):
    """Every key capped at two records: the configuration's cap, or each key's."""
    uncapped = tuple(attrs.evolve(k, max_block_size=None) for k in config.blocking)
    by_config = attrs.evolve(config, blocking=uncapped, max_block_size=2)
    by_key = attrs.evolve(
        config, blocking=tuple(attrs.evolve(k, max_block_size=2) for k in uncapped)
    )
    return [by_config, by_key]


@pytest.mark.parametrize("config", _capped_at_two(contact_config()))
def test_blocks_over_the_cap_are_skipped_as_in_the_batch(config):
    index = DedupIndex(config)
    same = {"first_name": "Anne", "last_name": "Roy", "phone": "0612345678"}
    index.add({**same, "id": "a"})
    assert [c.record_id for c in index.find_matches(same)] == ["a"]
    index.add({**same, "id": "b"})
    assert index.find_matches(same) == []  # three records share each key
    assert [c.record_id for c in index.find_matches({**same, "id": "a"})] == ["b"]
    batch = find_duplicates([{**same, "id": i} for i in "abc"], config)
    assert batch.blocking.pairs == 0


def test_the_index_grows_past_its_first_capacity():
    data = synthetic_contacts(2500, seed=5)
    index = DedupIndex()
    index.add_many(data.records)
    assert len(index) == 2500
    for record in data.records[:50]:
        index.remove(record["id"])
    assert len(index) == 2450


@pytest.mark.parametrize("threshold", [None, 0.5])
def test_same_decisions_and_explanations_as_the_batch(threshold):
    """Every pair blocking yields, scored either way, gets the same decision."""
    data = synthetic_contacts(1500, seed=11)
    config = attrs.evolve(contact_config(), training=Training.NONE)
    batch = find_duplicates(data.records, config, threshold=threshold)
    expected = {(p.left_id, p.right_id): p for p in batch.pairs()}
    index = DedupIndex(config, threshold=threshold)
    index.add_many(data.records)
    found = {}
    for record in data.records:
        for candidate in index.find_matches(record, limit=None):
            pair = candidate.explanation
            found[pair.left_id, pair.right_id] = pair
    assert found.keys() == expected.keys()
    assert found == expected
    assert any(p.matched for p in found.values())
    assert any(p.swapped_names for p in found.values())


def test_a_new_record_is_scored_as_the_batch_would_with_it_last():
    data = synthetic_contacts(600, seed=2)
    config = attrs.evolve(contact_config(), training=Training.NONE)
    stored, new = data.records[:-1], data.records[-1]
    batch = find_duplicates(data.records, config)
    index = DedupIndex(config)
    index.add_many(stored)
    got = {
        (c.explanation.left_id, c.explanation.right_id): c.explanation
        for c in index.find_matches(new, limit=None)
    }
    want = {
        (p.left_id, p.right_id): p
        for p in batch.pairs()
        if new["id"] in (p.left_id, p.right_id)
    }
    assert got == want


def test_a_model_the_batch_trained_is_reused():
    data = synthetic_contacts(800, seed=4)
    batch = find_duplicates(data.records)
    config = attrs.evolve(contact_config(), model=batch.model, training=Training.NONE)
    index = DedupIndex(config)
    index.add_many(data.records)
    for pair in list(batch.pairs())[:200]:
        record = next(r for r in data.records if r["id"] == pair.right_id)
        [candidate] = [
            c
            for c in index.find_matches(record, limit=None)
            if c.record_id == pair.left_id
        ]
        assert candidate.matched == pair.matched
        assert candidate.probability == pytest.approx(pair.probability)


def test_bad_input_is_refused_with_names(index):
    with pytest.raises(ValidationError, match="needs an id") as error:
        index.add({"first_name": "X"})
    assert error.value.errors[0].path == "id"
    with pytest.raises(ValidationError, match="needs an id"):
        index.add({"id": "  "})
    with pytest.raises(AlreadyExists, match="c1"):
        index.add(DUPONT)
    with pytest.raises(NotFound, match="nobody"):
        index.remove("nobody")
    with pytest.raises(NotFound, match="nobody"):
        index.update({"id": "nobody"})
    with pytest.raises(NotFound, match="nobody"):
        index.kind_of("nobody")
    with pytest.raises(ValidationError) as error:
        index.find_matches(NEW, limit=-1, min_probability=2)
    assert [e.path for e in error.value.errors] == ["limit", "min_probability"]


def test_a_custom_id_field():
    index = DedupIndex(id_field="key")
    index.add(
        {"key": 7, "first_name": "Anne", "last_name": "Roy", "phone": "0612345678"}
    )
    assert "7" in index
    found = index.find_matches(
        {"key": 8, "first_name": "Anne", "last_name": "Roy", "phone": "06 12 34 56 78"}
    )
    assert [c.record_id for c in found] == ["7"]
    assert found[0].explanation.right_id == "8"


def test_remembered_normalisations_give_the_same_answers(monkeypatch):
    from crmkit.dedup import _index  # noqa: PLC0415

    monkeypatch.setattr(_index, "_CACHE_SIZE", 3)  # cleared again and again
    small = DedupIndex()
    small.add_many([DUPONT, SISTER])
    reference = DedupIndex()
    monkeypatch.setattr(_index, "_CACHE_SIZE", 100_000)
    reference.add_many([DUPONT, SISTER])
    assert small.values("c1") == reference.values("c1")
    assert small.find_matches(NEW) == reference.find_matches(NEW)
