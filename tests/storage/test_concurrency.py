"""Optimistic concurrency under real contention: no lost update, ever.

Workers bump a counter and add a tag on one person, many times, through units of
work that read, then write; a worker that loses a race gets `ConcurrencyError`,
reads again and retries. At the end, every bump and every tag must be there.
"""

import multiprocessing
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from uuid import UUID

import pytest

from crmkit.errors import ConcurrencyError, DatabaseLocked
from crmkit.model import Person
from crmkit.repositories.memory import MemoryDatabase
from crmkit.repositories.sql import SqlDatabase

AT = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
ROUNDS = 25
BARRIER_TIMEOUT = 30


def bump(database, person_id, tag, *, barrier=None, same_unit=False):
    """
    Add one to the counter and ``tag`` to the tags; return the conflicts met.

    With a ``barrier``, the first attempt waits for the other workers between its
    read and its write, so they all write from the same version. With
    ``same_unit``, the read and the write share one unit of work (one
    transaction); otherwise the read's unit ends before the write's begins.
    """
    conflicts = 0
    while True:
        with database.unit_of_work() as uow:
            person = uow.people.get(person_id)
            if not same_unit:
                uow.commit()
            if barrier is not None and conflicts == 0:
                barrier.wait(BARRIER_TIMEOUT)
            new = person.update(
                {
                    "custom": {"counter": person.custom["counter"] + 1},
                    "tags": person.tags | {tag},
                },
                at=person.updated_at + timedelta(seconds=1),
            ).entity
            try:
                uow.people.update(new)
                uow.commit()
            except ConcurrencyError:
                conflicts += 1
                continue
        return conflicts


def bump_many(database, person_id, worker, *, barrier=None, same_unit=False):
    """Bump ``ROUNDS`` times with tags ``w<worker>-<round>``; return the conflicts."""
    return sum(
        bump(
            database, person_id, f"w{worker}-{n}", barrier=barrier, same_unit=same_unit
        )
        for n in range(ROUNDS)
    )


def bump_in_process(path, person_id, worker, barrier, results):
    """Run `bump_many` in a spawned process on a SQLite file; report the outcome."""
    database = SqlDatabase.sqlite(path)
    try:
        conflicts = bump_many(database, UUID(person_id), worker, barrier=barrier)
        results.put((worker, "ok", conflicts))
    except BaseException as error:  # noqa: BLE001 - reported to the parent
        results.put((worker, "error", repr(error)))
    finally:
        database.dispose()


def start_person(database):
    """Store the person every worker bumps; return its id."""
    person = Person.create(at=AT, first_name="Jean", custom={"counter": 0})
    with database.unit_of_work() as uow:
        uow.people.add(person)
        uow.commit()
    return person.id


def final_state(database, person_id):
    """The counter, tags, version and number of counter changes recorded."""
    with database.unit_of_work() as uow:
        person = uow.people.get(person_id)
        changes = [
            e for e in uow.people.history(person_id) if e.field == "custom.counter"
        ]
    return person.custom["counter"], person.tags, person.version, len(changes)


def expected_state(workers):
    """What the person looks like once ``workers`` workers bumped ROUNDS times."""
    bumps = workers * ROUNDS
    tags = frozenset(f"w{w}-{n}" for w in range(workers) for n in range(ROUNDS))
    return bumps, tags, 1 + bumps, bumps


def run_threads(databases, person_id, *, barrier, same_unit=False):
    """Run one bumping thread per database; return their conflicts."""
    conflicts = [None] * len(databases)
    errors = []

    def work(worker):
        try:
            conflicts[worker] = bump_many(
                databases[worker],
                person_id,
                worker,
                barrier=barrier,
                same_unit=same_unit,
            )
        except BaseException as error:  # noqa: BLE001 - reported below
            errors.append(error)
            if barrier is not None:
                barrier.abort()

    threads = [threading.Thread(target=work, args=(w,)) for w in range(len(databases))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    if errors:
        raise errors[0]
    return conflicts


@pytest.fixture
def sqlite_path(tmp_path):
    """Return the path of an upgraded SQLite file."""
    path = tmp_path / "crm.db"
    database = SqlDatabase.sqlite(path)
    database.upgrade(at=AT)
    database.dispose()
    return path


@pytest.fixture
def make_databases(request, sqlite_path):
    """Return a maker of ``n`` handles on one database, by backend; all disposed."""
    made = []

    def make(backend, n):
        if backend == "memory":
            return [MemoryDatabase()] * n
        if backend == "sqlite":
            handles = [SqlDatabase.sqlite(sqlite_path) for _ in range(n)]
        else:
            dsn = request.getfixturevalue("make_pg_database")()
            handles = [SqlDatabase.postgres(dsn) for _ in range(n)]
            handles[0].upgrade(at=AT)
        made.extend(handles)
        return handles

    yield make
    for database in made:
        database.dispose()


BACKENDS = [
    "memory",
    "sqlite",
    pytest.param("postgres", marks=pytest.mark.postgres),
]


@pytest.mark.parametrize("backend", BACKENDS)
def test_two_threads_racing_in_step_lose_no_update(make_databases, backend):
    """Two threads write from the same version each round; every bump survives."""
    databases = make_databases(backend, 2)
    person_id = start_person(databases[0])
    conflicts = run_threads(databases, person_id, barrier=threading.Barrier(2))
    assert (expected_state(2), True) == (
        final_state(databases[0], person_id),
        sum(conflicts) >= ROUNDS,
    )


@pytest.mark.parametrize("backend", BACKENDS)
def test_three_threads_running_freely_lose_no_update(make_databases, backend):
    """Three threads bump as fast as they can; every bump survives."""
    databases = make_databases(backend, 3)
    person_id = start_person(databases[0])
    run_threads(databases, person_id, barrier=None)
    assert expected_state(3) == final_state(databases[0], person_id)


@pytest.mark.parametrize(
    "backend", ["memory", pytest.param("postgres", marks=pytest.mark.postgres)]
)
def test_a_stale_read_in_the_same_transaction_loses_no_update(make_databases, backend):
    """Read and write in one unit, both racing: the row check still catches it."""
    databases = make_databases(backend, 2)
    person_id = start_person(databases[0])
    conflicts = run_threads(
        databases, person_id, barrier=threading.Barrier(2), same_unit=True
    )
    assert (expected_state(2), True) == (
        final_state(databases[0], person_id),
        sum(conflicts) >= ROUNDS,
    )


def test_two_processes_racing_on_one_sqlite_file_lose_no_update(
    sqlite_path, monkeypatch
):
    """Two spawned processes bump the same person in step; every bump survives."""
    database = SqlDatabase.sqlite(sqlite_path)
    person_id = start_person(database)
    # Spawned children import this module by name, from the repository root.
    monkeypatch.syspath_prepend(str(Path(__file__).resolve().parents[2]))
    context = multiprocessing.get_context("spawn")
    barrier, results = context.Barrier(2), context.Queue()
    processes = [
        context.Process(
            target=bump_in_process,
            args=(str(sqlite_path), str(person_id), worker, barrier, results),
        )
        for worker in range(2)
    ]
    for process in processes:
        process.start()
    outcomes = sorted(results.get(timeout=120) for _ in processes)
    for process in processes:
        process.join(30)
    state = final_state(database, person_id)
    database.dispose()
    assert (["ok", "ok"], [0, 0], expected_state(2), True) == (
        [status for _, status, _ in outcomes],
        [process.exitcode for process in processes],
        state,
        sum(conflicts for _, _, conflicts in outcomes) >= ROUNDS,
    )


def test_a_locked_sqlite_database_raises_database_locked(sqlite_path):
    """A writer kept out past its busy timeout gets DatabaseLocked, not a hang."""
    holder = SqlDatabase.sqlite(sqlite_path)
    waiter = SqlDatabase.sqlite(sqlite_path, busy_timeout=0.2)
    try:
        waiter.check()
        with holder.unit_of_work() as holding:
            holding.people.add(Person.create(at=AT, first_name="Jean"))
            with waiter.unit_of_work() as waiting:
                start = time.perf_counter()
                with pytest.raises(DatabaseLocked) as caught:
                    waiting.people.count()
                waited = time.perf_counter() - start
            holding.commit()
        with waiter.unit_of_work() as after:
            count = after.people.count()
    finally:
        holder.dispose()
        waiter.dispose()
    assert (True, True, 1) == (
        0.15 <= waited < 2.0,
        "busy timeout" in str(caught.value),
        count,
    )


@pytest.mark.parametrize(
    ("path", "journal_mode"), [("crm.db", "wal"), (":memory:", "memory")]
)
def test_sqlite_connections_are_set_up_for_sharing(tmp_path, path, journal_mode):
    """Files use WAL; foreign keys are on; the busy timeout is the one asked for."""
    target = path if path == ":memory:" else tmp_path / path
    database = SqlDatabase.sqlite(target, busy_timeout=1.5)
    try:
        database.upgrade(at=AT)
        with database.unit_of_work() as uow:
            connection = uow.connection()
            actual = tuple(
                connection.exec_driver_sql(f"PRAGMA {name}").scalar()
                for name in ("journal_mode", "foreign_keys", "busy_timeout")
            )
    finally:
        database.dispose()
    assert (journal_mode, 1, 1500) == actual


def test_memory_refuses_to_commit_over_a_newer_archive():
    """A unit that staged an update cannot revive what another unit archived."""
    database = MemoryDatabase()
    person_id = start_person(database)
    with database.unit_of_work() as editing, database.unit_of_work() as archiving:
        person = editing.people.get(person_id)
        editing.people.update(
            person.update({"job_title": "Buyer"}, at=AT + timedelta(seconds=1)).entity
        )
        archiving.people.delete(person_id, at=AT + timedelta(seconds=2))
        archiving.commit()
        with pytest.raises(ConcurrencyError):
            editing.commit()
    with database.unit_of_work() as uow:
        archived = uow.people.get(person_id, include_archived=True)
        live = uow.people.count()
    assert (None, 0) == (archived.job_title, live)


def test_memory_catches_a_commit_between_its_check_and_its_write(monkeypatch):
    """A commit landing after update() checked the version still fails the unit."""
    database = MemoryDatabase()
    person_id = start_person(database)
    with database.unit_of_work() as uow:
        person = uow.people.get(person_id)
    mine = person.update({"job_title": "Mine"}, at=AT + timedelta(seconds=1)).entity
    theirs = person.update({"job_title": "Theirs"}, at=AT + timedelta(seconds=2))
    stage = type(uow.people)._stage

    def stage_after_another_commit(repository, *args, **kwargs):
        monkeypatch.undo()
        with database.unit_of_work() as other:
            other.people.update(theirs.entity)
            other.commit()
        stage(repository, *args, **kwargs)

    with database.unit_of_work() as uow:
        monkeypatch.setattr(type(uow.people), "_stage", stage_after_another_commit)
        uow.people.update(mine)
        with pytest.raises(ConcurrencyError):
            uow.commit()
    with database.unit_of_work() as uow:
        assert "Theirs" == uow.people.get(person_id).job_title
