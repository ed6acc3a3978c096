"""``crmkit init`` and ``crmkit db``: create, inspect and upgrade the database."""

from __future__ import annotations

from datetime import datetime

import click

from crmkit.cli._common import (
    database_option,
    database_target,
    echo,
    now_option,
    open_database,
    reports_errors,
    resolve_at,
)
from crmkit.repositories.sql import CURRENT_VERSION

__all__ = ["db", "init"]


@click.command()
@database_option
@now_option
@reports_errors
def init(db: str | None, at: datetime | None) -> None:
    """Create a crmkit database, or bring an older one to this version."""
    database = open_database(db)
    before = database.schema_version()
    version = database.upgrade(at=resolve_at(at))
    target = database_target(db)
    if before == version:
        echo(f"{target}: already a crmkit database at schema version {version}")
    elif before == 0:
        echo(f"{target}: created, schema version {version}")
    else:
        echo(f"{target}: upgraded from schema version {before} to {version}")


@click.group()
def db() -> None:
    """Inspect and upgrade the database."""


@db.command()
@database_option
@reports_errors
def status(db: str | None) -> None:
    """Show the schema version, and whether this crmkit can use it."""
    found = open_database(db).schema_version()
    if found == CURRENT_VERSION:
        state = "up to date"
    elif found == 0:
        state = "empty: run `crmkit init`"
    elif found < CURRENT_VERSION:
        state = "older: run `crmkit db upgrade`"
    else:
        state = "newer than this crmkit: upgrade crmkit"
    echo(f"{database_target(db)}: schema version {found} ({state})")


@db.command()
@database_option
@now_option
@reports_errors
def upgrade(db: str | None, at: datetime | None) -> None:
    """Upgrade the schema to this crmkit's version (creating it when empty)."""
    database = open_database(db)
    before = database.schema_version()
    version = database.upgrade(at=resolve_at(at))
    echo(f"{database_target(db)}: schema version {before} -> {version}")
