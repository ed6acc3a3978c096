"""
The ``crmkit`` command: a stable contract, documented by ``crmkit --help``.

It works on an embedded SQLite database by default (``--db crm.db``, or
``$CRMKIT_DB``), or on a ``postgresql://`` DSN.
"""

from __future__ import annotations

import click

from crmkit import __version__
from crmkit.cli._db import db, init
from crmkit.cli._dedup import dedup
from crmkit.cli._demo import demo
from crmkit.cli._io import export, import_
from crmkit.cli._pipeline import forecast_command, pipeline
from crmkit.cli._route import route

__all__ = ["main"]


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="crmkit")
def main() -> None:
    """CRM domain logic from the command line."""


main.add_command(init)
main.add_command(db)
main.add_command(demo)
main.add_command(import_)
main.add_command(export)
main.add_command(pipeline)
main.add_command(forecast_command)
main.add_command(dedup)
main.add_command(route)
