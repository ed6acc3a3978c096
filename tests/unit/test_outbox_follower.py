"""Following the outbox: a cursor, gaps for late commits, entities re-read once."""

import subprocess
import sys
from datetime import UTC, datetime, timedelta

import attrs
import pytest

from crmkit import Lead, Organization, Person
from crmkit.errors import ValidationError
from crmkit.repositories import (
    OutboxFollower,
    follow_outbox,
    next_messages,
    start_following,
)
from crmkit.repositories.memory import MemoryDatabase
from crmkit.repositories.sql import SqlDatabase

NOW = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)


@attrs.define
class Follower:
    """The smallest follower: only where it stands."""

    cursor: int = 0
    gaps: set[int] = attrs.Factory(set)


def person(name):
    return Person.create(at=NOW, first_name=name, last_name="Martin")


def store(database, *entities):
    with database.unit_of_work() as uow:
        for entity in entities:
            uow.repository(type(entity)).add(entity)
        uow.commit()


def rolled_back(database, entity):
    """Take an outbox id and never commit it: a gap that is never filled."""
    with database.unit_of_work() as uow:
        uow.repository(type(entity)).add(entity)


@pytest.fixture(params=["memory", "sqlite"])
def database(request, tmp_path):
    if request.param == "memory":
        yield MemoryDatabase()
        return
    db = SqlDatabase.sqlite(tmp_path / "crm.db")
    db.upgrade(at=NOW)
    yield db
    db.dispose()


class Recorder:
    """A refresh that remembers what it was asked to re-read, round by round."""

    def __init__(self):
        self.rounds = []

    def __call__(self, uow, touched):
        uow.people.count()  # the round's unit of work is open
        self.rounds.append({kind: list(ids) for kind, ids in touched.items()})


def test_a_follower_is_anything_with_a_cursor_and_gaps():
    """The protocol is structural: a plain class with the two attributes fits."""
    follower: OutboxFollower = Follower()
    assert (0, set()) == (follower.cursor, follower.gaps)


def test_starting_on_an_empty_outbox_places_the_cursor_at_zero(database):
    """Nothing stored: cursor 0, no gaps, nothing to read."""
    follower = Follower(cursor=7, gaps={3})
    with database.unit_of_work(readonly=True) as uow:
        start_following(follower, uow)
        assert (0, set()) == (follower.cursor, follower.gaps)
        assert [] == next_messages(follower, uow)


def test_starting_places_the_cursor_at_the_newest_id():
    """The cursor is the newest id; an id not visible (rolled back) is a gap."""
    database = MemoryDatabase()  # SQLite would give the rolled-back id again
    rolled_back(database, person("Lost"))
    store(database, person("Ana"), person("Bea"))
    follower = Follower()
    with database.unit_of_work(readonly=True) as uow:
        start_following(follower, uow)
        newest = uow.last_message_id()
        visible = {m.id for m in uow.messages(limit=100)}
    assert newest == follower.cursor
    assert set(range(1, newest)) - visible == follower.gaps
    assert 1 == len(follower.gaps)


def test_next_messages_moves_the_cursor_past_what_it_returns(database):
    """At most ``limit`` messages after the cursor, by id; the cursor follows."""
    follower = Follower()
    store(database, person("Ana"), person("Bea"), person("Chloé"))
    with database.unit_of_work(readonly=True) as uow:
        first = next_messages(follower, uow, limit=2)
        assert first[-1].id == follower.cursor
        rest = next_messages(follower, uow, limit=2)
        assert [] == next_messages(follower, uow)
    ids = [m.id for m in (*first, *rest)]
    assert (2, 1) == (len(first), len(rest))
    assert sorted(ids) == ids
    assert (ids[-1], set()) == (follower.cursor, follower.gaps)


def test_a_late_commit_is_read_through_its_gap():
    """Ids taken in one order, committed in the other: the lower one comes later."""
    database = MemoryDatabase()
    follower = Follower()
    slow_person, fast_person = person("Slow"), person("Fast")
    slow, fast = database.unit_of_work(), database.unit_of_work()
    with slow:
        slow.people.add(slow_person)  # takes the lower outbox id
        with fast:
            fast.people.add(fast_person)
            fast.commit()
        with database.unit_of_work(readonly=True) as uow:
            read = next_messages(follower, uow)
        assert [fast_person.id] == [m.entity_id for m in read]
        assert {follower.cursor - 1} == follower.gaps
        slow.commit()
    after = person("After")
    store(database, after)
    with database.unit_of_work(readonly=True) as uow:
        read = next_messages(follower, uow)
    assert [slow_person.id, after.id] == [m.entity_id for m in read]  # late first
    assert set() == follower.gaps


def test_gaps_older_than_the_window_are_forgotten():
    """A gap is looked for while it is among the last ``window`` ids."""
    database = MemoryDatabase()
    rolled_back(database, person("Lost"))  # id 1, never visible
    store(database, person("Ana"))
    follower = Follower()
    with database.unit_of_work(readonly=True) as uow:
        start_following(follower, uow, window=3)
    assert {1} == follower.gaps
    store(database, person("Bea"))  # id 3: 1 is still among the last three
    with database.unit_of_work(readonly=True) as uow:
        next_messages(follower, uow, window=3)
    assert (3, {1}) == (follower.cursor, follower.gaps)
    store(database, person("Chloé"))  # id 4: 1 is not
    with database.unit_of_work(readonly=True) as uow:
        next_messages(follower, uow, window=3)
    assert (4, set()) == (follower.cursor, follower.gaps)


def test_starting_within_a_window_ignores_older_gaps():
    """Only the ids within the window below the cursor become gaps."""
    database = MemoryDatabase()
    rolled_back(database, person("Lost"))  # id 1
    store(database, person("Ana"), person("Bea"), person("Chloé"))  # ids 2-4
    follower = Follower()
    with database.unit_of_work(readonly=True) as uow:
        start_following(follower, uow, window=3)
    assert (4, set()) == (follower.cursor, follower.gaps)


def test_follow_outbox_rereads_each_named_entity_once_by_type(database):
    """Ids by type, each once, in the order first named; other types ignored."""
    follower = Follower()
    ana, bea = person("Ana"), person("Bea")
    lead = Lead.create(at=NOW, last_name="Quint")
    acme = Organization.create(at=NOW, name="Acme")
    store(database, ana, lead, acme, bea)
    with database.unit_of_work() as uow:
        uow.people.update(ana.update({"job_title": "CEO"}, at=NOW).entity)
        uow.people.delete(bea.id, at=NOW + timedelta(hours=1))
        uow.commit()
    recorder = Recorder()
    refreshed = follow_outbox(
        follower, database, recorder, entity_types=("person", "lead")
    )
    assert 3 == refreshed
    assert [{"person": [ana.id, bea.id], "lead": [lead.id]}] == recorder.rounds
    assert 0 == follow_outbox(follower, database, recorder, entity_types=("lead",))
    assert 1 == len(recorder.rounds)


def test_follow_outbox_goes_round_by_round_in_batches(database):
    """With ``batch_size=1``, one message a round, until none is left."""
    follower = Follower()
    ana, acme, bea = person("Ana"), Organization.create(at=NOW, name="A"), person("B")
    store(database, ana, acme, bea)
    recorder = Recorder()
    assert 2 == follow_outbox(
        follower, database, recorder, entity_types=("person",), batch_size=1
    )
    # The organisation's round names no person: refresh is not called for it.
    assert [{"person": [ana.id]}, {"person": [bea.id]}] == recorder.rounds


@pytest.mark.parametrize("window", [0, -1, 10_001, 1.5])
def test_a_window_out_of_range_is_refused(window):
    """The window is a number of ids, from 1 to 10,000, named in the error."""
    database = MemoryDatabase()
    with (
        database.unit_of_work(readonly=True) as uow,
        pytest.raises(ValidationError, match="window") as error,
    ):
        start_following(Follower(), uow, window=window)
    assert window == error.value.errors[0].value
    with pytest.raises(ValidationError, match="window"):
        follow_outbox(
            Follower(), database, Recorder(), entity_types=("person",), window=window
        )


def test_the_pipelines_do_not_load_dedup_when_imported():
    """Following the outbox lives in crmkit.repositories, not crmkit.dedup."""
    code = "import sys, crmkit.pipelines; print('crmkit.dedup' in sys.modules)"
    result = subprocess.run(  # noqa: S603 - our own interpreter and code
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert "False" == result.stdout.strip()
