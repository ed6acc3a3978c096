"""PostgreSQL passes the storage contract."""

from datetime import UTC, datetime

import pytest

from crmkit.repositories.sql import SqlDatabase
from crmkit.repositories.sql._tables import METADATA, SCHEMA_VERSIONS
from crmkit.testing.contract import RepositoryContract

_CREATED = datetime(2026, 3, 1, tzinfo=UTC)
_EMPTY_TABLES = "; ".join(
    f'DELETE FROM "{table.name}"'  # noqa: S608 - our own table names
    for table in reversed(METADATA.sorted_tables)
    if table is not SCHEMA_VERSIONS
)


@pytest.fixture(scope="class")
def pg_contract_engine(make_pg_database):
    """Return an engine on a database at the current schema, for one test class."""
    database = SqlDatabase.postgres(make_pg_database(linguistic=True))
    database.upgrade(at=_CREATED)
    yield database.engine
    database.dispose()


@pytest.mark.postgres
class TestPostgres(RepositoryContract):
    """The contract, on PostgreSQL (JSONB documents, a linguistic collation)."""

    @pytest.fixture
    def make_database(self, pg_contract_engine):
        """Empty the class's database and return it, with the options asked for."""

        def make(*, history=None, schemas=None):
            with pg_contract_engine.begin() as connection:
                connection.exec_driver_sql(_EMPTY_TABLES)
            database = SqlDatabase(pg_contract_engine, history=history, schemas=schemas)
            database.check()
            return database

        return make
