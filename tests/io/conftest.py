"""Fixtures for the import and export tests: databases, files, an instant."""

from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import pytest

from crmkit.repositories.memory import MemoryDatabase
from crmkit.repositories.sql import SqlDatabase

AT = datetime(2026, 11, 22, 9, 0, tzinfo=UTC)


@pytest.fixture
def at() -> datetime:
    """The instant every import in these tests happens at."""
    return AT


@pytest.fixture
def sqlite_db(tmp_path: Path) -> SqlDatabase:
    """A fresh crmkit SQLite database file."""
    database = SqlDatabase.sqlite(tmp_path / "crm.db")
    database.upgrade(at=AT)
    return database


@pytest.fixture(params=["memory", "sqlite"])
def database(request: pytest.FixtureRequest, tmp_path: Path):
    """Each storage adapter in turn: in memory, then SQLite."""
    if request.param == "memory":
        return MemoryDatabase()
    database = SqlDatabase.sqlite(tmp_path / "crm.db")
    database.upgrade(at=AT)
    return database


@pytest.fixture
def write_csv(tmp_path: Path) -> Callable[..., Path]:
    """Write rows as a CSV file (``;`` and cp1252 by default, like a French export)."""

    def write(
        rows: list[list[str]],
        name: str = "contacts.csv",
        *,
        delimiter: str = ";",
        encoding: str = "cp1252",
    ) -> Path:
        path = tmp_path / name
        text = "".join(delimiter.join(row) + "\r\n" for row in rows)
        path.write_bytes(text.encode(encoding))
        return path

    return write
