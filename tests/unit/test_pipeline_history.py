"""StageHistory against a plain model: batches of new entries change no answer."""

import random
from datetime import UTC, datetime, timedelta

import attrs
import pytest

from crmkit.ids import new_id
from crmkit.pipelines import ProbabilityOverridden, StageHistory, StateChanged
from crmkit.pipelines import _history as history_module
from crmkit.repositories import StageVisit

AT = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
STAGES = {"new": 0.1, "demo": 0.4, "won": 1.0}
ACTORS = [None, new_id(AT), new_id(AT + timedelta(seconds=1))]


def random_events(deals, events, seed):
    """Stage entries and overrides of ``deals`` deals, in a random interleaving."""
    rng = random.Random(seed)  # noqa: S311 - test data, not secrets
    ids = [new_id(AT + timedelta(minutes=n)) for n in range(deals)]
    versions = dict.fromkeys(ids, 0)
    made = []
    at = AT
    for _ in range(events):
        deal_id = rng.choice(ids)
        at += timedelta(seconds=rng.choice([0, 0, 1, 90]))  # often the same time
        actor = rng.choice(ACTORS)
        stage = rng.choice(list(STAGES))
        versions[deal_id] += 1
        if versions[deal_id] > 1 and rng.random() < 0.2:
            made.append(
                ProbabilityOverridden(
                    entity_id=deal_id,
                    pipeline="b2b",
                    stage=stage,
                    stage_probability=STAGES[stage],
                    old=None,
                    new=rng.choice([0.15, 0.5]),
                    at=at,
                    actor=actor,
                )
            )
            continue
        made.append(
            StateChanged(
                entity_type="deal",
                entity_id=deal_id,
                lifecycle=rng.choice(["b2b", "smb"]),
                transition=stage,
                source=None,
                target=stage,
                version=versions[deal_id],
                at=at,
                actor=actor,
                probability=STAGES[stage],
            )
        )
    return ids, made


def expected_visits(deal_id, events):
    """What the history must answer, from the events alone."""
    visits: list[StageVisit] = []
    for event in events:
        if event.entity_id != deal_id:
            continue
        if isinstance(event, ProbabilityOverridden):
            if visits:
                visits[-1] = attrs.evolve(
                    visits[-1], override=event.new, override_by=event.actor
                )
            continue
        if visits:
            visits[-1] = attrs.evolve(
                visits[-1], exited_at=event.at, exited_by=event.actor
            )
        visits.append(
            StageVisit(
                deal_id=deal_id,
                pipeline=event.lifecycle,
                stage=event.target,
                entered_at=event.at,
                entered_by=event.actor,
                probability=event.probability,
            )
        )
    return tuple(visits)


@pytest.mark.parametrize("pack", [1, 3, 64, history_module._PACK])
def test_answers_do_not_depend_on_when_entries_are_packed(monkeypatch, pack):
    """Entries recorded in any batches, queried at any moment, answer the same."""
    monkeypatch.setattr(history_module, "_PACK", pack)
    ids, events = random_events(deals=40, events=10_000, seed=pack)
    rng = random.Random(pack)  # noqa: S311 - test data, not secrets
    history = StageHistory()
    done = 0
    while done < len(events):
        step = rng.choice([1, 2, 7, 500, 3000])
        history.record([*events[done : done + step], "not an event"])
        done = min(done + step, len(events))
        assert len(history) == done
        deal_id = rng.choice(ids)
        seen = events[:done]
        assert history.visits(deal_id) == expected_visits(deal_id, seen)
    for deal_id in ids:
        visits = expected_visits(deal_id, events)
        assert history.visits(deal_id) == visits
        assert history.entered_at(deal_id) == visits[-1].entered_at
    assert set(history.deal_ids()) == set(ids)
    assert history.visits_of(ids[:2]) == {
        deal_id: expected_visits(deal_id, events) for deal_id in ids[:2]
    }


def test_one_deal_many_times_in_one_batch_chains_in_order():
    """Every entry of a deal within one batch points back to the one before it."""
    ids, events = random_events(deals=1, events=50, seed=7)
    history = StageHistory()
    history.record(events)
    assert history.visits(ids[0]) == expected_visits(ids[0], events)


def test_the_number_of_entries_is_bounded(monkeypatch):
    """Entries are numbered in C ints: the history refuses more than it can number."""
    monkeypatch.setattr(history_module, "_PACK", 2)
    monkeypatch.setattr(history_module, "_MAX_ENTRIES", 3)
    _, events = random_events(deals=2, events=4, seed=1)
    history = StageHistory()
    history.record(events[:2])
    with pytest.raises(OverflowError, match="at most 3 entries"):
        history.record(events[2:])
