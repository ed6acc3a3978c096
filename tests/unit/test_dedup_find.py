"""Batch dedup: blocking, decisions, vetoes, chaining guard, explanations."""

import threading

import attrs
import numpy as np
import pytest

from crmkit._forked import can_fork
from crmkit.dedup import (
    BlockingKey,
    Comparator,
    KeyPart,
    KeyTransform,
    Method,
    Training,
    _engine,
    blocking_recall,
    contact_config,
    find_duplicates,
    organization_config,
    pairwise_scores,
    synthetic_contacts,
    train_model,
)
from crmkit.errors import NotFound, ValidationError

DUPONT = {
    "first_name": "Jean-Pierre",
    "last_name": "Dupont",
    "email": "jp.dupont@acme.fr",
    "phone": "06 12 34 56 78",
    "street": "12 boulevard Saint-Michel",
    "postal_code": "75005",
    "city": "Paris",
}


def _rec(record_id, **fields):
    return {"id": record_id, **fields}


def test_variants_of_one_person_form_one_cluster():
    """Nickname, case, accents, phone format and abbreviations still match."""
    records = [
        _rec("a", **DUPONT),
        _rec(
            "b",
            first_name="JP",
            last_name="DUPONT",
            phone="+33 6 12 34 56 78",
            street="12 bd St Michel",
            postal_code="75005",
        ),
        _rec(
            "c", first_name="Jean Pierre", last_name="Dupont", email="JP.Dupont@acme.fr"
        ),
    ]
    result = find_duplicates(records)
    assert ("a", "a", "a") == result.cluster_ids
    assert (("a", "b", "c"),) == result.clusters


def test_a_household_is_not_one_person():
    """A different first name and email at the same phone and address stays apart."""
    records = [
        _rec("a", **DUPONT),
        _rec(
            "b", **{**DUPONT, "first_name": "Marie", "email": "marie.dupont@gmail.com"}
        ),
        _rec("c", **{**DUPONT, "first_name": "Lucas", "email": ""}),
    ]
    result = find_duplicates(records)
    assert ("a", "b", "c") == result.cluster_ids
    explanation = result.explain("a", "b")
    assert not explanation.matched
    assert explanation.reason.startswith("veto: different first name")


def test_swapped_names_and_initials_match():
    """First and last names typed the wrong way round are compared crossed."""
    records = [
        _rec("a", **DUPONT),
        _rec("b", first_name="Dupont", last_name="Jean-Pierre", phone="0612345678"),
        _rec("c", first_name="J.", last_name="Dupont", email="jp.dupont@acme.fr"),
    ]
    result = find_duplicates(records)
    assert ("a", "a", "a") == result.cluster_ids
    assert result.explain("a", "b").swapped_names


def test_blank_fields_are_no_evidence_either_way():
    """A pair sharing only a common last name is not a match; blanks weigh nothing."""
    records = [
        _rec("a", first_name="Paul", last_name="Martin"),
        _rec("b", first_name="Paul", last_name="Martin", email="p.martin@x.fr"),
        _rec("c", first_name="", last_name="Martin", email="p.martin@x.fr"),
    ]
    result = find_duplicates(records)
    explanation = result.explain("a", "b")
    email = next(e for e in explanation.fields if e.field == "email")
    assert (None, None, 0.0) == (email.score, email.level, email.weight)
    assert "c" == result.cluster_ids[2] or result.explain("b", "c").matched


def test_every_pair_explains_itself():
    """Each compared pair lists comparator, values, score and weight per field."""
    result = find_duplicates(
        [_rec("a", **DUPONT), _rec("b", **{**DUPONT, "first_name": "JP"})]
    )
    (pair,) = result.pairs()
    assert ("a", "b", True) == (pair.left_id, pair.right_id, pair.matched)
    first = pair.fields[0]
    assert ("first_name", Comparator.NAME, "jean pierre", "jp", 1.0) == (
        first.field,
        first.comparator,
        first.left,
        first.right,
        first.score,
    )
    assert first.weight > 0
    assert pair.reason.startswith("probability 1.000 >= 0.9")
    assert "jean pierre" in str(pair)
    assert [pair] == list(result.pairs(matched_only=True, min_probability=0.99))


def test_chained_clusters_are_split_when_their_ends_differ():
    """A~B and B~C with A and C vetoed apart do not make one cluster."""
    records = [
        _rec("a", first_name="Jean", last_name="Dupont", email="j.dupont@acme.fr"),
        _rec(
            "b",
            first_name="J",
            last_name="Dupont",
            email="j.dupont@acme.fr",
            phone="0612345678",
        ),
        _rec("c", first_name="Julie", last_name="Dupont", phone="0612345678"),
    ]
    config = attrs.evolve(contact_config(), method=Method.RULES)
    result = find_duplicates(records, config)
    assert result.explain("a", "b").matched
    assert result.explain("b", "c").matched
    assert not result.explain("a", "c").matched
    assert 1 == result.split_clusters
    assert result.cluster_ids[0] != result.cluster_ids[2]
    assert 2 == len(set(result.cluster_ids))


def test_rules_method_quotes_the_rule_that_matched():
    """With Salesforce-style rules, the reason names the rule group."""
    config = attrs.evolve(contact_config(), method=Method.RULES)
    result = find_duplicates(
        [
            _rec("a", **DUPONT),
            _rec("b", first_name="JP", last_name="Dupond", phone="0612345678"),
        ],
        config,
    )
    assert "rule: name and phone" == result.explain("a", "b").reason
    lone = find_duplicates(
        [
            _rec("a", **DUPONT),
            _rec("b", first_name="JP", last_name="Dupont", city="Paris"),
        ],
        config,
    )
    assert "no rule holds" == lone.explain("a", "b").reason


def test_threshold_override_and_organizations():
    """A stricter threshold matches less; legal forms do not separate companies."""
    records = [
        _rec("1", company="Dupont & Fils SARL", city="Lyon", country="FR"),
        _rec("2", company="DUPONT ET FILS", city="Lyon", country="FR"),
        _rec("3", company="Dupont et Fils", city="Genève", country="CH"),
    ]
    result = find_duplicates(records, organization_config())
    assert ("1", "1", "3") == result.cluster_ids
    assert "veto: different countries" == result.explain("1", "3").reason
    strict = find_duplicates(records, organization_config(), threshold=0.99999)
    assert ("1", "2", "3") == strict.cluster_ids


def test_blocking_reports_pairs_and_skips_oversized_blocks():
    """Blocks over the cap are skipped and named; pairs are counted per key."""
    records = [
        _rec(str(i), first_name=f"P{i}", last_name="Martin", phone="0100000000")
        for i in range(6)
    ]
    config = attrs.evolve(
        contact_config(),
        blocking=(BlockingKey("phone", (KeyPart("phone"),)),),
        max_block_size=5,
    )
    result = find_duplicates(records, config)
    assert 0 == result.blocking.pairs
    assert (("+33100000000", 6),) == result.blocking.skipped_blocks["phone"]
    wide = find_duplicates(records, attrs.evolve(config, max_block_size=6))
    assert 15 == wide.blocking.pairs == wide.blocking.pairs_by_key["phone"]
    truth = {str(i): "x" if i < 2 else str(i) for i in range(6)}
    assert 1.0 == blocking_recall(wide.candidate_pairs, truth)
    assert 0.0 == blocking_recall(result.candidate_pairs, truth)


def test_keys_mixing_values_and_transforms_pair_and_describe_records():
    """A value part and a transformed part: both must agree and be non-blank."""
    records = [
        _rec("1", last_name="Martin", postal_code="75001"),
        _rec("2", last_name="MARTINS", postal_code="75001"),  # same sound
        _rec("3", last_name="Martin", postal_code="75002"),
        _rec("4", last_name="Martin"),  # blank postcode: no key
        _rec("5", postal_code="75001"),  # blank name: no key
        _rec("6", last_name="Martin", postal_code="75002"),
        _rec("7", last_name="Martin", postal_code="75002"),
    ]
    key = BlockingKey(
        "sound+postcode",
        (KeyPart("postal_code"), KeyPart("last_name", KeyTransform.PHONETIC_FR)),
    )
    config = attrs.evolve(contact_config(), blocking=(key,), max_block_size=2)
    result = find_duplicates(records, config)
    assert [("1", "2")] == list(result.candidate_pairs)
    assert (("75002 mrt1", 3),) == result.blocking.skipped_blocks["sound+postcode"]


def test_bad_ids_are_refused_naming_them():
    """Duplicate or missing ids are refused, all named."""
    with pytest.raises(ValidationError, match="duplicate ids: 1, 2"):
        find_duplicates([_rec("1"), _rec("1"), _rec("2"), _rec("2"), _rec("3")])
    with pytest.raises(ValidationError, match=r"\[1\]\.id"):
        find_duplicates([_rec("1"), {"first_name": "x"}])
    twelve = [_rec(f"{k:02}") for k in range(12)]
    with pytest.raises(
        ValidationError, match=r"duplicate ids: 00, .*, 09 \.\.\. \(got"
    ):
        find_duplicates(twelve + twelve)
    with pytest.raises(ValidationError) as blanks:
        find_duplicates([_rec(" "), _rec("1"), {"first_name": "x"}])
    assert ["[0].id", "[2].id"] == [e.path for e in blanks.value.errors]
    result = find_duplicates([_rec("1"), _rec("2")])
    with pytest.raises(NotFound):
        result.explain("1", "9")


def test_empty_input_gives_an_empty_result():
    """No records, no clusters."""
    result = find_duplicates([])
    assert ((), (), ()) == (result.ids, result.cluster_ids, result.clusters)


def test_pairwise_scores():
    """Precision, recall and F1 count pairs; no pairs means perfect."""
    scores = pairwise_scores(
        {"a": "1", "b": "1", "c": "2"}, {"a": "x", "b": "y", "c": "y"}
    )
    assert (0, 1, 1) == (
        scores.true_positives,
        scores.false_positives,
        scores.false_negatives,
    )
    assert (0.0, 0.0, 0.0) == (scores.precision, scores.recall, scores.f1)
    perfect = pairwise_scores({"a": "1"}, {"a": "2"})
    assert (1.0, 1.0, 1.0) == (perfect.precision, perfect.recall, perfect.f1)
    with pytest.raises(ValueError, match="same ids"):
        pairwise_scores({"a": "1"}, {"b": "1"})


def test_train_model_from_labelled_pairs_and_unsupervised():
    """Labelled pairs set m and u; unsupervised training keeps the shapes."""
    records = [
        _rec("a", **DUPONT),
        _rec("b", **{**DUPONT, "first_name": "JP"}),
        _rec("c", **{**DUPONT, "first_name": "Marie", "email": "m@x.fr"}),
    ]
    trained = train_model(
        records, contact_config(), labelled_pairs=[("a", "b", True), ("a", "c", False)]
    )
    assert 0.5 == trained.model.prior
    assert Training.NONE == trained.training
    assert trained.model.m[0][0] > 0.99
    with pytest.raises(NotFound):
        train_model(records, contact_config(), labelled_pairs=[("a", "z", True)])
    unsupervised = train_model(records, contact_config())
    assert [len(m) for m in contact_config().model.m] == [
        len(m) for m in unsupervised.model.m
    ]


def test_scoring_in_parts_decides_as_scoring_at_once(monkeypatch):
    """Many pairs are scored a part at a time, with the same outcome."""
    from crmkit.dedup import _engine  # noqa: PLC0415 (the part size is internal)

    records = list(synthetic_contacts(300, seed=7).records)
    config = attrs.evolve(contact_config(), training=Training.NONE)
    whole = find_duplicates(records, config)
    assert whole.blocking.pairs > 3 * 25
    monkeypatch.setattr(_engine, "_PAIRS_AT_ONCE", 25)
    parts = find_duplicates(records, config)
    assert whole.cluster_ids == parts.cluster_ids
    assert [(p.left_id, p.right_id, p.probability) for p in whole.pairs()] == [
        (p.left_id, p.right_id, p.probability) for p in parts.pairs()
    ]


def test_training_on_a_sample_when_pairs_are_many(monkeypatch):
    """Past the part size, the model is trained on a sample and still finds people."""
    from crmkit.dedup import _engine  # noqa: PLC0415 (the part size is internal)

    data = synthetic_contacts(1000, seed=7)
    whole = find_duplicates(list(data.records))
    monkeypatch.setattr(_engine, "_PAIRS_AT_ONCE", 400)
    sampled = find_duplicates(list(data.records))
    assert whole.blocking.pairs > 2 * 400
    assert whole.model != sampled.model
    clusters = dict(zip(sampled.ids, sampled.cluster_ids, strict=True))
    assert pairwise_scores(clusters, data.truth).f1 > 0.95


def test_scores_cut_at_the_thresholds_change_no_decision(monkeypatch):
    """The batch zeroes scores below every threshold; exact ones decide the same."""
    floors = _engine._floors(contact_config())
    assert floors[("phone", Comparator.PHONE)] == pytest.approx(0.9)
    assert ("first_name", Comparator.NAME) not in floors  # names are added up
    records = synthetic_contacts(3000, seed=7).records
    floored = find_duplicates(records)
    monkeypatch.setattr(_engine, "_floors", lambda _config: {})
    exact = find_duplicates(records)
    assert floored.cluster_ids == exact.cluster_ids
    np.testing.assert_array_equal(
        floored._decisions.probability, exact._decisions.probability
    )
    assert next(floored.pairs()) == next(exact.pairs())  # explained exactly


@pytest.mark.skipif(not can_fork(), reason="forking is not safe here")
def test_work_shared_with_forked_copies_decides_as_one_process(monkeypatch):
    """With two workers, normalising and scoring fork a copy; nothing else changes."""
    forked = []
    in_parts = _engine.in_parts

    def counted(function, parts):
        forked.append(len(parts))
        return in_parts(function, parts)

    monkeypatch.setattr(_engine, "in_parts", counted)
    monkeypatch.setattr(_engine, "_FORKED_FROM", 100)  # fork on small data too
    records = synthetic_contacts(1500, seed=7).records
    alone = find_duplicates(records)
    assert forked == []
    shared = find_duplicates(records, workers=2)
    assert forked == [2, 2]  # the fields, then the pairs, in halves
    assert shared.cluster_ids == alone.cluster_ids
    assert shared.blocking == alone.blocking
    assert shared.model == alone.model
    np.testing.assert_array_equal(
        shared._decisions.probability, alone._decisions.probability
    )
    assert list(shared.pairs()) == list(alone.pairs())


def test_no_fork_while_another_thread_runs(monkeypatch):
    """A fork would copy only this thread: with another one running, none is made."""
    monkeypatch.setattr(
        _engine, "in_parts", lambda *_: pytest.fail("forked beside a thread")
    )
    monkeypatch.setattr(_engine, "_FORKED_FROM", 100)
    release = threading.Event()
    thread = threading.Thread(target=release.wait)
    thread.start()
    try:
        result = find_duplicates(synthetic_contacts(600, seed=7).records, workers=2)
    finally:
        release.set()
        thread.join()
    assert len(result.clusters) > 0


def test_fields_are_shared_out_by_normalising_cost():
    fields = contact_config().fields
    halves = _engine._shared_out(fields, 2)
    assert sorted(f.name for half in halves for f in half) == sorted(
        f.name for f in fields
    )
    costs = [
        sum(_engine._NORMALISING_COST.get(f.kind, 1) for f in half) for half in halves
    ]
    assert abs(costs[0] - costs[1]) <= max(_engine._NORMALISING_COST.values())
    assert len(_engine._shared_out(fields[:2], 8)) == 2  # a field is never split
    assert len(_engine._shared_out(fields, 1)) == 1


def test_workers_must_be_all_or_a_count():
    with pytest.raises(ValueError, match="workers must be -1"):
        find_duplicates([_rec("1", first_name="Ann")], workers=0)
