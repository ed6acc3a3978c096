"""Shared test configuration: Hypothesis profiles and the PostgreSQL fixtures."""

import contextlib
import os
import uuid

import pytest
from hypothesis import HealthCheck, settings
from sqlalchemy.engine import make_url

# Profiles derive from Hypothesis' "default" profile, not from whichever profile
# is loaded now: Hypothesis loads its own "ci" profile (derandomize=True) when it
# sees CI=true, and that must not leak into ours. Ours replaces that "ci" one.
_BASE = settings.get_profile("default")
settings.register_profile("dev", _BASE, max_examples=100, deadline=None)
settings.register_profile(
    "ci",
    _BASE,
    max_examples=300,
    deadline=None,
    derandomize=False,
    print_blob=True,
    suppress_health_check=[HealthCheck.too_slow],
    database=None,  # a CI checkout is thrown away, so saved examples would be too
)
settings.register_profile("fast", _BASE, max_examples=10, deadline=None)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "dev"))


def _running_in_ci() -> bool:
    return os.environ.get("CI", "").lower() in {"true", "1", "yes"}


@pytest.fixture(scope="session")
def pg_dsn() -> str:
    """Return the DSN of the PostgreSQL test database (CRMKIT_PG_DSN)."""
    dsn = os.environ.get("CRMKIT_PG_DSN")
    if dsn:
        return dsn
    if _running_in_ci():
        pytest.fail(
            "CRMKIT_PG_DSN is not set under CI=true: PostgreSQL tests must run in CI,"
            " so run them through `bash scripts/test`, which starts PostgreSQL and"
            " exports CRMKIT_PG_DSN",
            pytrace=False,
        )
    pytest.skip(
        "PostgreSQL tests need CRMKIT_PG_DSN"
        " (bash scripts/test sets it up when PostgreSQL is installed)"
    )


@pytest.fixture(scope="session")
def make_pg_database(pg_dsn):
    """
    Return a maker of scratch PostgreSQL databases, all dropped at the end.

    Each call creates an empty database with a unique name and returns its DSN.
    With ``linguistic=True`` its collation is ICU ``en-US`` (where "a" sorts before
    "B"), as on most production servers, when the server has ICU.
    """
    psycopg = pytest.importorskip("psycopg")
    names = []

    def make(*, linguistic=False):
        name = f"crmkit_scratch_{uuid.uuid4().hex[:12]}"
        with psycopg.connect(pg_dsn, autocommit=True) as admin:
            created = False
            if linguistic:
                with contextlib.suppress(psycopg.errors.Error):
                    admin.execute(
                        f'CREATE DATABASE "{name}" TEMPLATE template0 '
                        "LOCALE_PROVIDER icu ICU_LOCALE 'en-US'"
                    )
                    created = True
            if not created:
                admin.execute(f'CREATE DATABASE "{name}"')
        names.append(name)
        return make_url(pg_dsn).set(database=name).render_as_string(hide_password=False)

    yield make
    with psycopg.connect(pg_dsn, autocommit=True) as admin:
        for name in names:
            # Without FORCE, PostgreSQL stops an autovacuum worker on the database
            # itself; FORCE would fail on it, as the worker is not our role's.
            try:
                admin.execute(f'DROP DATABASE IF EXISTS "{name}"')
            except psycopg.errors.ObjectInUse:
                admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
