"""The crmkit command: init, db status/upgrade, demo, and their errors."""

import sqlite3
from datetime import UTC, datetime

import pytest
from click.testing import CliRunner

from crmkit import __version__
from crmkit.cli import main
from crmkit.cli._demo import build_sample
from crmkit.model import Deal, Organization, Person
from crmkit.repositories.sql import CURRENT_VERSION, SqlDatabase

AT = "2026-11-22T09:00:00+00:00"


@pytest.fixture
def runner() -> CliRunner:
    return CliRunner()


def test_version_and_help(runner):
    """--version names the version; --help lists the commands."""
    assert __version__ in runner.invoke(main, ["--version"]).output
    help_text = runner.invoke(main, ["--help"]).output
    for command in ("init", "db", "demo"):
        assert command in help_text


def test_init_creates_then_reports_up_to_date(runner, tmp_path):
    """init creates the schema once; a second init changes nothing and says so."""
    path = tmp_path / "crm.db"
    first = runner.invoke(main, ["init", "--db", str(path), "--at", AT])
    assert 0 == first.exit_code, first.output
    assert f"created, schema version {CURRENT_VERSION}" in first.output
    second = runner.invoke(main, ["init", "--db", str(path)])
    assert "already a crmkit database" in second.output
    assert CURRENT_VERSION == SqlDatabase.sqlite(path).schema_version()


def test_database_from_environment_then_current_directory(
    runner, tmp_path, monkeypatch
):
    """--db wins, then $CRMKIT_DB, then crm.db in the current directory."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("CRMKIT_DB", str(tmp_path / "from-env.db"))
    runner.invoke(main, ["init"])
    assert (tmp_path / "from-env.db").exists()
    monkeypatch.delenv("CRMKIT_DB")
    runner.invoke(main, ["init"])
    assert (tmp_path / "crm.db").exists()


def test_db_status_states(runner, tmp_path):
    """status tells empty, up to date, and newer-than-this-crmkit apart."""
    path = tmp_path / "crm.db"
    assert (
        "empty: run `crmkit init`"
        in runner.invoke(main, ["db", "status", "--db", str(path)]).output
    )
    runner.invoke(main, ["db", "upgrade", "--db", str(path)])
    assert (
        "up to date" in runner.invoke(main, ["db", "status", "--db", str(path)]).output
    )
    with sqlite3.connect(path) as connection:
        connection.execute(
            "INSERT INTO crmkit_schema VALUES (99, 'future', '2030-01-01 00:00:00')"
        )
    result = runner.invoke(main, ["db", "status", "--db", str(path)])
    assert "newer than this crmkit" in result.output


def test_foreign_database_is_refused_with_a_clear_message(runner, tmp_path):
    """A SQLite file that is not crmkit's: exit 1, one line, nothing changed."""
    path = tmp_path / "other.db"
    with sqlite3.connect(path) as connection:
        connection.execute("CREATE TABLE invoices (id INTEGER)")
    result = runner.invoke(main, ["init", "--db", str(path)])
    assert 1 == result.exit_code
    assert "not a crmkit database" in result.output
    with sqlite3.connect(path) as connection:
        tables = {r[0] for r in connection.execute("SELECT name FROM sqlite_master")}
    assert {"invoices"} == tables


def test_a_file_that_is_not_a_database_is_refused(runner, tmp_path):
    """Random bytes are not mistaken for an empty database."""
    path = tmp_path / "notes.db"
    path.write_bytes(b"these are my notes, not a database" * 100)
    result = runner.invoke(main, ["init", "--db", str(path)])
    assert 1 == result.exit_code
    assert "not a SQLite database" in result.output


def test_demo_fills_a_database_and_prints_a_summary(runner, tmp_path):
    """demo stores the sample and prints its counts and open pipeline."""
    path = tmp_path / "demo.db"
    result = runner.invoke(main, ["demo", "--db", str(path), "--at", AT])
    assert 0 == result.exit_code, result.output
    assert "Open pipeline by stage" in result.output
    sample = build_sample(seed=2026, at=datetime(2026, 11, 22, 9, tzinfo=UTC))
    with SqlDatabase.sqlite(path).unit_of_work() as uow:
        assert len(sample.of(Organization)) == uow.organizations.count()
        assert len(sample.of(Person)) == uow.people.count()
        assert len(sample.of(Deal)) == uow.deals.count()
        assert uow.deals.count(where={"status": "won"}) > 0
        assert uow.deals.count(where={"status": "lost"}) > 0


def test_demo_refuses_a_database_with_data(runner, tmp_path):
    """demo never mixes its sample into existing data."""
    path = tmp_path / "demo.db"
    runner.invoke(main, ["demo", "--db", str(path), "--at", AT])
    result = runner.invoke(main, ["demo", "--db", str(path), "--at", AT])
    assert 1 == result.exit_code
    assert "already holds data" in result.output


def test_sample_is_deterministic():
    """The same seed and instant give the same sample."""
    at = datetime(2026, 11, 22, 9, tzinfo=UTC)
    first = build_sample(seed=7, at=at)
    second = build_sample(seed=7, at=at)
    assert [type(e).__name__ for e in first.entities] == [
        type(e).__name__ for e in second.entities
    ]
    assert [getattr(e, "name", None) for e in first.entities] == [
        getattr(e, "name", None) for e in second.entities
    ]


def test_bad_instant_is_a_usage_error(runner, tmp_path):
    """--at needs an offset: a naive instant is refused by click, exit 2."""
    result = runner.invoke(
        main, ["init", "--db", str(tmp_path / "x.db"), "--at", "2026-11-22T09:00:00"]
    )
    assert 2 == result.exit_code
