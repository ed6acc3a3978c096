"""Two writers claiming one external id: exactly one wins, the other is told why."""

import threading
from datetime import UTC, datetime

import pytest

from crmkit.errors import AlreadyExists
from crmkit.model import Person
from crmkit.repositories.memory import MemoryDatabase
from crmkit.repositories.sql import SqlDatabase

NOW = datetime(2026, 11, 22, 9, 0, tzinfo=UTC)


def newcomer(name: str) -> Person:
    return Person.create(at=NOW, first_name=name, external_ids={"legacy_crm": "C-1"})


def test_memory_refuses_the_second_commit():
    """Both units pass their own check; the second commit is refused."""
    db = MemoryDatabase()
    first, second = db.unit_of_work(), db.unit_of_work()
    first.people.add(newcomer("Jean"))
    second.people.add(newcomer("Jeanne"))
    first.commit()
    with pytest.raises(AlreadyExists) as error:
        second.commit()
    assert "external id legacy_crm" == error.value.key
    with db.unit_of_work() as uow:
        assert ["Jean"] == [p.first_name for p in uow.people.find().items]


def test_memory_lets_one_unit_move_an_external_id():
    """Within one unit, an id freed by one entity may go to another."""
    db = MemoryDatabase()
    jean = newcomer("Jean")
    with db.unit_of_work() as uow:
        uow.people.add(jean)
        uow.commit()
    with db.unit_of_work() as uow:
        freed, _ = jean.update({"external_ids": {}}, at=NOW)
        uow.people.update(freed)
        uow.people.add(newcomer("Jeanne"))
        uow.commit()
    with db.unit_of_work() as uow:
        assert (
            "Jeanne" == uow.people.find_by_external_id("legacy_crm", "C-1").first_name
        )


@pytest.mark.postgres
def test_postgres_refuses_the_second_transaction(make_pg_database):
    """The unique index settles the race; the loser gets AlreadyExists."""
    db = SqlDatabase.postgres(make_pg_database())
    db.upgrade(at=NOW)
    first, second = db.unit_of_work(), db.unit_of_work()
    first.people.add(newcomer("Jean"))
    outcome: list[BaseException | None] = []

    def add_then_commit() -> None:
        try:
            second.people.add(newcomer("Jeanne"))
            second.commit()
            outcome.append(None)
        except BaseException as error:  # noqa: BLE001 - handed to the test thread
            outcome.append(error)
            second.rollback()

    racer = threading.Thread(target=add_then_commit)
    racer.start()
    racer.join(timeout=0.5)  # blocked on the unique index until the first commits
    first.commit()
    racer.join(timeout=10)
    assert 1 == len(outcome)
    assert isinstance(outcome[0], AlreadyExists)
    with db.unit_of_work() as uow:
        assert 1 == uow.people.count()
    db.dispose()
