"""The synthetic contact generator: reproducible, labelled, with hard negatives."""

from collections import Counter, defaultdict

import attrs

from crmkit.dedup import (
    Training,
    contact_config,
    find_duplicates,
    pairwise_scores,
    synthetic_contacts,
)
from crmkit.dedup._normalize import Normalizer


def test_same_seed_same_data_and_every_record_labelled():
    """A seed reproduces the data; every id has a true person; ids are unique."""
    first = synthetic_contacts(300, seed=3)
    assert first == synthetic_contacts(300, seed=3)
    assert first != synthetic_contacts(300, seed=4)
    ids = [r["id"] for r in first.records]
    assert 300 == len(ids) == len(set(ids)) == len(first.truth)


def test_it_holds_duplicates_and_hard_negatives():
    """Some people have several records; different people share phones or names."""
    data = synthetic_contacts(2000, seed=0)
    sizes = Counter(data.truth.values())
    assert sum(1 for n in sizes.values() if n > 1) > 200
    normalizer = Normalizer()
    people_by_phone = defaultdict(set)
    people_by_name = defaultdict(set)
    for record in data.records:
        person = data.truth[record["id"]]
        if record["phone"]:
            people_by_phone[normalizer.phone(record["phone"])].add(person)
        name = (
            normalizer.given_name(record["first_name"]),
            record["last_name"].lower(),
        )
        people_by_name[name].add(person)
    assert sum(1 for p in people_by_phone.values() if len(p) > 1) > 50  # households
    assert sum(1 for p in people_by_name.values() if len(p) > 1) > 20  # namesakes
    assert any(not r["email"] for r in data.records)
    assert any(
        r["first_name"].isupper() or r["last_name"].isupper() for r in data.records
    )


def test_default_configuration_is_accurate_on_it():
    """The default contact configuration, untuned, is near perfect on 2,000 records."""
    data = synthetic_contacts(2000, seed=5)
    result = find_duplicates(data.records)
    scores = pairwise_scores(
        dict(zip(result.ids, result.cluster_ids, strict=True)), data.truth
    )
    assert scores.f1 > 0.97


def test_training_modes():
    """Rules-bootstrapped training is the default; EM and none are there too."""
    data = synthetic_contacts(800, seed=2)
    config = contact_config()
    assert Training.RULES == config.training
    fitted = find_duplicates(data.records, config)
    assert config.model != fitted.model
    as_is = find_duplicates(data.records, attrs.evolve(config, training=Training.NONE))
    assert config.model == as_is.model
    em = find_duplicates(data.records, attrs.evolve(config, training=Training.EM))
    assert em.model not in {config.model, fitted.model}
    small = find_duplicates(data.records[:100], config)
    assert config.model == small.model  # too few records to fit


def test_two_people_never_share_an_email_address():
    """Namesakes at one provider get numbered addresses, as providers ask."""
    data = synthetic_contacts(20000, seed=3)
    owners: dict[str, set[str]] = {}
    for record in data.records:
        if record["email"]:
            email = record["email"].lower()
            owners.setdefault(email, set()).add(data.truth[record["id"]])
    # Without the numbering, short name lists would make some collide here.
    assert {e: o for e, o in owners.items() if len(o) > 1} == {}
