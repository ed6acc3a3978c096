"""Round-robin cursors in SQL: fair across restarts and concurrent workers."""

import threading
from datetime import UTC, datetime

import pytest

from crmkit.conditions import parse
from crmkit.errors import SchemaMismatch
from crmkit.repositories.sql import SqlDatabase
from crmkit.routing import CursorStore, Router, Rule, RuleSet, TeamSpec
from crmkit.routing.sql import SqlCursorStore

NOW = datetime(2026, 3, 2, 10, tzinfo=UTC)
RULES = RuleSet(
    rules=[Rule(name="all", when=parse("true"), assign="team:t")],
    teams={"t": TeamSpec(name="t", members=["alice", "bob", "chloe"])},
)


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def open_database(request, tmp_path):
    """Open (and upgrade) the same database as many times as asked."""
    if request.param == "sqlite":
        target = str(tmp_path / "crm.db")
    else:
        target = request.getfixturevalue("make_pg_database")()
    opened = []

    def open_() -> SqlDatabase:
        database = SqlDatabase.connect(target)
        database.upgrade(at=NOW)
        opened.append(database)
        return database

    yield open_
    for database in opened:
        database.dispose()


def test_the_sql_store_is_a_cursor_store(open_database):
    """It implements the port: take returns 0, 1, ...; position peeks."""
    store = SqlCursorStore(open_database())
    assert isinstance(store, CursorStore)
    assert [0, 1, 0, 2, 1] == [
        store.take("a"),
        store.take("a"),
        store.take("b"),
        store.position("a"),
        store.position("b"),
    ]
    assert 0 == store.position("never")
    assert (2, 5, 3) == (
        store.take_many("a", 3),
        store.take("a"),
        store.take_many("c", 2) + 3,
    )
    with pytest.raises(ValueError, match="count must be at least 1, not 0"):
        store.take_many("a", 0)
    assert 6 == store.position("a")


def test_round_robin_continues_after_a_restart(open_database):
    """A new router on the same database takes the next turn, not the first."""
    first = Router(RULES, cursors=SqlCursorStore(open_database()))
    before = [d.owner for d in first.route_many([{}] * 2, now=NOW)]
    restarted = Router(RULES, cursors=SqlCursorStore(open_database()))
    after = [d.owner for d in restarted.route_many([{}] * 2, now=NOW)]
    assert ["alice", "bob", "chloe", "alice"] == before + after


def test_concurrent_workers_never_share_a_turn(open_database):
    """Turns and blocks of turns taken at once from two connections never overlap."""
    stores = [SqlCursorStore(open_database()) for _ in range(2)]
    taken: list[int] = []
    lock = threading.Lock()

    def work(store):
        mine = [store.take("team:t") for _ in range(20)]
        for _ in range(10):
            first = store.take_many("team:t", 2)
            mine.extend((first, first + 1))
        with lock:
            taken.extend(mine)

    threads = [threading.Thread(target=work, args=(store,)) for store in stores]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert list(range(80)) == sorted(taken)


def test_a_database_without_the_routing_table_is_refused(tmp_path):
    """A database not upgraded to version 2 asks for an upgrade."""
    database = SqlDatabase.sqlite(tmp_path / "empty.db")
    try:
        with pytest.raises(SchemaMismatch, match="crmkit init"):
            SqlCursorStore(database).take("a")
    finally:
        database.dispose()
