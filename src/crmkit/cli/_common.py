"""What every command shares: finding the database, reporting errors, the clock."""

from __future__ import annotations

import functools
import os
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any, ParamSpec, TypeVar

import click

from crmkit.clock import SystemClock
from crmkit.errors import CrmError
from crmkit.repositories.sql import SqlDatabase

__all__ = ["database_option", "now_option", "open_database", "reports_errors"]

_P = ParamSpec("_P")
_R = TypeVar("_R")

DEFAULT_DB = "crm.db"


def database_option(command: Callable[_P, _R]) -> Callable[_P, _R]:
    """Add ``--db``: a SQLite file or a ``postgresql://`` DSN."""
    return click.option(
        "--db",
        "db",
        metavar="PATH|DSN",
        default=None,
        help=(
            "SQLite file or postgresql:// DSN. Default: $CRMKIT_DB, "
            f"else {DEFAULT_DB} in the current directory."
        ),
    )(command)


def now_option(command: Callable[_P, _R]) -> Callable[_P, _R]:
    """Add ``--at``: the instant to act at, for reproducible runs."""
    return click.option(
        "--at",
        "at",
        type=click.DateTime(formats=["%Y-%m-%dT%H:%M:%S%z", "%Y-%m-%dT%H:%M%z"]),
        default=None,
        help="Act as if it were this instant (ISO 8601 with offset). Default: now.",
    )(command)


def resolve_at(at: datetime | None) -> datetime:
    """The given instant, or the system clock's."""
    return SystemClock().now() if at is None else at


def database_target(db: str | None) -> str:
    """``--db``, else ``$CRMKIT_DB``, else ``crm.db`` in the current directory."""
    return db or os.environ.get("CRMKIT_DB") or str(Path.cwd() / DEFAULT_DB)


def open_database(db: str | None) -> SqlDatabase:
    """Open the database the options name (no I/O until it is used)."""
    return SqlDatabase.connect(database_target(db))


def reports_errors(command: Callable[_P, _R]) -> Callable[_P, _R]:
    """Print crmkit errors as one clear line on stderr and exit with status 1."""

    @functools.wraps(command)
    def run(*args: _P.args, **kwargs: _P.kwargs) -> _R:
        try:
            return command(*args, **kwargs)
        except CrmError as error:
            raise click.ClickException(str(error)) from error

    return run


def echo(message: Any) -> None:
    """Print one line on stdout."""
    click.echo(message)
