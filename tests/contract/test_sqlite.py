"""SQLite databases, in a file and in memory, pass the storage contract."""

import shutil
from datetime import UTC, datetime

import pytest

from crmkit.repositories.sql import SqlDatabase
from crmkit.testing.contract import RepositoryContract

_CREATED = datetime(2026, 3, 1, tzinfo=UTC)


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory):
    """Return a SQLite file at the current schema, to copy for each test."""
    path = tmp_path_factory.mktemp("template") / "crmkit.db"
    database = SqlDatabase.sqlite(path)
    database.upgrade(at=_CREATED)
    database.dispose()
    return path


class TestSqliteFile(RepositoryContract):
    """The contract, on a SQLite file (WAL, foreign keys, busy timeout)."""

    @pytest.fixture
    def make_database(self, sqlite_template, tmp_path):
        """Make SQLite files by copying an upgraded template, then dispose them."""
        made = []

        def make(*, history=None, schemas=None):
            path = tmp_path / f"crmkit-{len(made)}.db"
            shutil.copyfile(sqlite_template, path)
            database = SqlDatabase.sqlite(path, history=history, schemas=schemas)
            database.check()
            made.append(database)
            return database

        yield make
        for database in made:
            database.dispose()


@pytest.fixture(scope="session")
def sqlite_memory_template():
    """Return an in-memory SQLite database at the current schema, to clone."""
    database = SqlDatabase.sqlite(":memory:")
    database.upgrade(at=_CREATED)
    yield database
    database.dispose()


class TestSqliteMemory(RepositoryContract):
    """The contract, on a SQLite ``:memory:`` database."""

    @pytest.fixture
    def make_database(self, sqlite_memory_template):
        """Make in-memory SQLite databases, cloned from the template (fast)."""
        made = []

        def make(*, history=None, schemas=None):
            database = SqlDatabase.sqlite(":memory:", history=history, schemas=schemas)
            source = sqlite_memory_template.engine.raw_connection()
            target = database.engine.raw_connection()
            try:
                source.driver_connection.backup(target.driver_connection)
            finally:
                target.close()
                source.close()
            database.check()
            made.append(database)
            return database

        yield make
        for database in made:
            database.dispose()
