"""The PostgreSQL server the postgres-marked tests use is reachable and recent."""

import psycopg
import pytest


@pytest.mark.postgres
def test_server_is_postgresql_15_or_newer(pg_dsn: str) -> None:
    """The server named by CRMKIT_PG_DSN accepts a login and runs PostgreSQL >= 15."""
    with psycopg.connect(pg_dsn, connect_timeout=10) as connection:
        server_version = connection.info.server_version
    assert server_version // 10_000 >= 15, f"server_version={server_version}"
