"""The in-memory database passes the storage contract."""

import pytest

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
