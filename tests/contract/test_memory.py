"""The in-memory database passes the storage contract."""

from datetime import UTC, datetime, timedelta

import pytest

from crmkit.model import Person
from crmkit.repositories.memory import MemoryDatabase
from crmkit.testing.contract import RepositoryContract


class TestMemoryDatabase(RepositoryContract):
    """The contract, on `MemoryDatabase` (it keeps entities as objects)."""

    @pytest.fixture
    def make_database(self):
        """Make empty in-memory databases; schemas are not needed."""

        def make(*, history=None, schemas=None):  # noqa: ARG001 - kept as objects
            return MemoryDatabase(history=history)

        return make


def test_units_committing_out_of_order_keep_the_outbox_in_id_order():
    """Message ids are taken when recorded; the outbox stays in id order."""
    database = MemoryDatabase()
    at = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
    early = Person.create(at=at, last_name="Early")
    late = Person.create(at=at + timedelta(seconds=1), last_name="Late")
    slow = database.unit_of_work()
    slow.people.add(early)
    with database.unit_of_work() as fast:
        fast.people.add(late)
        fast.commit()
    slow.commit()
    with database.unit_of_work() as uow:
        messages = [(m.id, m.entity_id) for m in uow.pending_messages()]
    assert [(1, early.id), (2, late.id)] == messages
