"""Read-only units of work: they refuse writes, and on SQLite never block writers."""

from datetime import UTC, datetime

import pytest
from sqlalchemy import text

from crmkit.errors import StorageError
from crmkit.model import EntityCreated, Person
from crmkit.repositories.memory import MemoryDatabase
from crmkit.repositories.sql import SqlDatabase

NOW = datetime(2026, 11, 22, 9, 0, tzinfo=UTC)


def jean() -> Person:
    return Person.create(at=NOW, first_name="Jean")


def sqlite(tmp_path) -> SqlDatabase:
    db = SqlDatabase.sqlite(tmp_path / "crm.db", busy_timeout=0.5)
    db.upgrade(at=NOW)
    return db


@pytest.mark.parametrize("backend", ["memory", "sqlite"])
def test_every_write_is_refused(backend, tmp_path):
    """add, update, delete, restore, record and mark_published all refuse."""
    db = MemoryDatabase() if backend == "memory" else sqlite(tmp_path)
    person = jean()
    with db.unit_of_work(readonly=True) as uow:
        attempts = [
            lambda: uow.people.add(person),
            lambda: uow.people.update(person),
            lambda: uow.people.delete(person.id, at=NOW),
            lambda: uow.people.restore(person.id, at=NOW),
            lambda: uow.record(
                EntityCreated(
                    entity_type="person",
                    entity_id=person.id,
                    version=1,
                    at=NOW,
                    actor=None,
                )
            ),
            lambda: uow.mark_published([1], at=NOW),
        ]
        for attempt in attempts:
            with pytest.raises(StorageError, match="read-only"):
                attempt()


def test_a_sqlite_reader_does_not_block_a_writer(tmp_path):
    """A long read keeps its snapshot while a writer commits beside it."""
    db = sqlite(tmp_path)
    with db.unit_of_work() as uow:
        uow.people.add(jean())
        uow.commit()
    with db.unit_of_work(readonly=True) as reader:
        assert 1 == reader.people.count()
        with db.unit_of_work() as writer:
            writer.people.add(Person.create(at=NOW, first_name="Jeanne"))
            writer.commit()
        assert 1 == reader.people.count()
    with db.unit_of_work(readonly=True) as later:
        assert 2 == later.people.count()
    db.dispose()


@pytest.mark.postgres
def test_postgres_read_only_transactions(make_pg_database):
    """On PostgreSQL the transaction itself is READ ONLY."""
    db = SqlDatabase.postgres(make_pg_database())
    db.upgrade(at=NOW)
    with db.unit_of_work(readonly=True) as uow:
        uow.people.count()
        mode = uow.connection().execute(text("SHOW transaction_read_only")).scalar()
    assert "on" == mode
    db.dispose()
