"""``crmkit import`` and ``crmkit export``: CSV and JSON lines files in and out."""

from __future__ import annotations

import functools
import sys
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any, Final, ParamSpec, TypeVar

import click
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeRemainingColumn
from rich.table import Table

from crmkit.cli._common import (
    database_option,
    now_option,
    open_database,
    reports_errors,
    resolve_at,
)
from crmkit.errors import InvalidDefinition
from crmkit.io import (
    DedupPolicy,
    ImportProgress,
    ImportSummary,
    export_entities,
    import_entities,
    read_mapping,
)
from crmkit.io._mapping import ENTITIES
from crmkit.io._readers import FileFormat

__all__ = ["export", "import_"]

_P = ParamSpec("_P")
_R = TypeVar("_R")

_COMMANDS: Final = {"person": "contacts", "organization": "organizations"}
_FORMATS: Final = ("csv", "jsonl")


@click.group(name="import")
def import_() -> None:
    """
    Import contacts or organizations from a CSV or JSON lines file.

    A TOML mapping says which column feeds which field. Rejected rows go to a
    rejects file (row, column, value, reason); the run still exits 0. It exits 1
    only when nothing can be imported: a bad mapping, a file not in its
    encoding, a database that is not crmkit's.
    """


def _import_options(command: Callable[_P, _R]) -> Callable[_P, _R]:
    options: list[Any] = [
        click.argument(
            "file", type=click.Path(exists=True, dir_okay=False, path_type=Path)
        ),
        click.option(
            "--mapping",
            "mapping",
            required=True,
            type=click.Path(exists=True, dir_okay=False, path_type=Path),
            help="The TOML mapping: columns to fields, transforms, options.",
        ),
        click.option(
            "--rejects",
            "rejects",
            type=click.Path(dir_okay=False, path_type=Path),
            default=None,
            help="Where to write rejected rows. Default: FILE.rejects.csv.",
        ),
        click.option(
            "--format",
            "file_format",
            type=click.Choice(_FORMATS),
            default=None,
            help="csv or jsonl. Default: from the file's suffix (.jsonl, .ndjson).",
        ),
        click.option(
            "--dedup",
            "dedup",
            type=click.Choice([p.value for p in DedupPolicy]),
            default=None,
            help=(
                "Check each new contact against those stored and the file's "
                "earlier rows; a match is skipped, merged (blank fields filled, "
                "emails and phones added), held for review, or created anyway."
            ),
        ),
        click.option(
            "--dedup-file",
            "dedup_file",
            type=click.Path(dir_okay=False, path_type=Path),
            default=None,
            help="Where to list the matching rows. Default: FILE.dedup.csv.",
        ),
        database_option,
        now_option,
    ]
    for option in reversed(options):
        command = option(command)
    return command


def _progress_reporter(progress: Progress) -> Callable[[ImportProgress], None]:
    task = progress.add_task("Importing", total=None)

    def report(done: ImportProgress) -> None:
        progress.update(task, total=done.rows_total, completed=done.rows_done)

    return report


def _summary_table(file: Path, summary: ImportSummary) -> Table:
    table = Table(title=f"Import of {file.name}")
    table.add_column("rows")
    table.add_column("count", justify="right")
    for label, value in (
        ("read", summary.read),
        ("created", summary.created),
        ("updated", summary.updated),
        ("unchanged", summary.unchanged),
        ("rejected", summary.rejected),
        ("skipped (already imported)", summary.skipped_already_imported),
        ("blank", summary.blank),
        ("organizations created", summary.organizations_created),
    ):
        table.add_row(label, str(value))
    if summary.dedup_path is not None:
        for label, value in (
            ("duplicates skipped", summary.duplicates_skipped),
            ("duplicates merged", summary.duplicates_merged),
            ("duplicates for review", summary.duplicates_for_review),
            ("duplicates created anyway", summary.duplicates_created),
        ):
            table.add_row(label, str(value))
    return table


def _run_import(
    *,
    entity: str,
    file: Path,
    mapping: Path,
    rejects: Path | None,
    file_format: FileFormat | None,
    dedup: str | None,
    dedup_file: Path | None,
    db: str | None,
    at: datetime | None,
) -> None:
    definition = read_mapping(mapping)
    if definition.entity != entity:
        raise InvalidDefinition(
            "entity",
            f"{mapping.name} imports {_COMMANDS[definition.entity]} "
            f"(entity = {definition.entity!r}); "
            f"use `crmkit import {_COMMANDS[definition.entity]}`",
        )
    database = open_database(db)
    console = Console()
    instant = resolve_at(at)
    if console.is_terminal:
        with Progress(
            *Progress.get_default_columns()[:1],
            BarColumn(),
            MofNCompleteColumn(),
            TimeRemainingColumn(),
            console=console,
            transient=True,
        ) as progress:
            summary = import_entities(
                database,
                file,
                mapping=definition,
                at=instant,
                rejects_path=rejects,
                format=file_format,
                progress=_progress_reporter(progress),
                dedup=None if dedup is None else DedupPolicy(dedup),
                dedup_path=dedup_file,
            )
    else:
        summary = import_entities(
            database,
            file,
            mapping=definition,
            at=instant,
            rejects_path=rejects,
            format=file_format,
            dedup=None if dedup is None else DedupPolicy(dedup),
            dedup_path=dedup_file,
        )
    how = f"{summary.format}, {summary.encoding}"
    if summary.delimiter is not None:
        how += f", delimiter {summary.delimiter!r}"
    console.print(_summary_table(file, summary))
    console.print(f"Read as {how}.", highlight=False, soft_wrap=True, markup=False)
    if summary.unmapped_columns:
        console.print(
            "Unmapped columns (ignored): " + ", ".join(summary.unmapped_columns),
            highlight=False,
            soft_wrap=True,
            markup=False,
        )
    console.print(
        f"Rejects: {summary.problems} problem(s) in {summary.rejected} row(s), "
        f"written to {summary.rejects_path}",
        highlight=False,
        soft_wrap=True,
        markup=False,
    )
    if summary.dedup_path is not None:
        console.print(
            f"Dedup: {summary.dedup_lines} matching row(s) listed in "
            f"{summary.dedup_path}",
            highlight=False,
            soft_wrap=True,
            markup=False,
        )


def _reports_file_errors(command: Callable[_P, _R]) -> Callable[_P, _R]:
    """A file that cannot be read or written: one clear line, exit status 1."""

    @functools.wraps(command)
    def run(*args: _P.args, **kwargs: _P.kwargs) -> _R:
        try:
            return command(*args, **kwargs)
        except OSError as error:
            raise click.ClickException(str(error)) from error

    return run


@import_.command("contacts")
@_import_options
@reports_errors
@_reports_file_errors
def import_contacts(
    *,
    file: Path,
    mapping: Path,
    rejects: Path | None,
    file_format: FileFormat | None,
    dedup: str | None,
    dedup_file: Path | None,
    db: str | None,
    at: datetime | None,
) -> None:
    """Import people from FILE (the mapping's entity must be "person")."""
    _run_import(
        entity="person",
        file=file,
        mapping=mapping,
        rejects=rejects,
        file_format=file_format,
        dedup=dedup,
        dedup_file=dedup_file,
        db=db,
        at=at,
    )


@import_.command("organizations")
@_import_options
@reports_errors
@_reports_file_errors
def import_organizations(
    *,
    file: Path,
    mapping: Path,
    rejects: Path | None,
    file_format: FileFormat | None,
    dedup: str | None,
    dedup_file: Path | None,
    db: str | None,
    at: datetime | None,
) -> None:
    """Import organizations from FILE (the mapping's entity: "organization")."""
    _run_import(
        entity="organization",
        file=file,
        mapping=mapping,
        rejects=rejects,
        file_format=file_format,
        dedup=dedup,
        dedup_file=dedup_file,
        db=db,
        at=at,
    )


@click.group()
def export() -> None:
    """
    Export contacts or organizations to CSV or JSON lines.

    Files are written atomically (a temporary file, then a rename); CSV columns
    are documented in crmkit.io's export module.
    """


def _export_options(command: Callable[_P, _R]) -> Callable[_P, _R]:
    options: list[Any] = [
        click.option(
            "--format",
            "file_format",
            type=click.Choice(_FORMATS),
            default="csv",
            show_default=True,
            help="csv (one column per field) or jsonl (one JSON object per line).",
        ),
        click.option(
            "--out",
            "out",
            default=None,
            metavar="FILE|-",
            help="The file to write, - for stdout. Default: crmkit-<command>.<format>.",
        ),
        click.option(
            "--delimiter",
            default=",",
            show_default=True,
            help="CSV delimiter (; for a French spreadsheet).",
        ),
        click.option(
            "--encoding",
            default="utf-8",
            show_default=True,
            help="File encoding (utf-8-sig helps Excel).",
        ),
        database_option,
    ]
    for option in reversed(options):
        command = option(command)
    return command


def _run_export(
    *,
    entity: str,
    file_format: str,
    out: str | None,
    delimiter: str,
    encoding: str,
    db: str | None,
) -> None:
    name = _COMMANDS[entity]
    target = out or f"crmkit-{name}.{file_format}"
    database = open_database(db)
    summary = export_entities(
        database,
        ENTITIES[entity],
        sys.stdout if target == "-" else Path(target),
        format="jsonl" if file_format == "jsonl" else "csv",
        delimiter=delimiter,
        encoding=encoding,
    )
    where = "stdout" if summary.path is None else str(summary.path)
    click.echo(f"Exported {summary.count} {name} to {where}", err=target == "-")


@export.command("contacts")
@_export_options
@reports_errors
@_reports_file_errors
def export_contacts(
    *, file_format: str, out: str | None, delimiter: str, encoding: str, db: str | None
) -> None:
    """Export every stored person."""
    _run_export(
        entity="person",
        file_format=file_format,
        out=out,
        delimiter=delimiter,
        encoding=encoding,
        db=db,
    )


@export.command("organizations")
@_export_options
@reports_errors
@_reports_file_errors
def export_organizations(
    *, file_format: str, out: str | None, delimiter: str, encoding: str, db: str | None
) -> None:
    """Export every stored organization."""
    _run_export(
        entity="organization",
        file_format=file_format,
        out=out,
        delimiter=delimiter,
        encoding=encoding,
        db=db,
    )
