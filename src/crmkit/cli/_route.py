"""``crmkit route``: assign the leads of a CSV file with a TOML rule set."""

from __future__ import annotations

import csv
import itertools
from collections.abc import Mapping
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any, Final

import click

from crmkit.cli._common import now_option, reports_errors, resolve_at
from crmkit.conditions import FieldType, Schema
from crmkit.errors import FieldError, ImportRejected
from crmkit.io._files import atomic_text_file
from crmkit.repositories.sql import SqlDatabase
from crmkit.routing import Assignment, Decision, Router, lead_schema, load_rules
from crmkit.routing.sql import SqlCursorStore

__all__ = ["route"]

OUTPUT_COLUMNS: Final = ("id", "owner", "team", "rule", "reason")
BATCH_SIZE: Final = 5_000
"""Leads routed together: one cursor move per team and batch in a shared database."""
_TRUE: Final = frozenset({"true", "yes", "1", "y"})
_FALSE: Final = frozenset({"false", "no", "0", "n"})


def _number(text: str) -> int | Decimal:
    cleaned = text.replace(" ", "").replace("_", "")
    if cleaned.lstrip("+-").isdigit():
        return int(cleaned)
    value = Decimal(cleaned)
    if not value.is_finite():
        raise InvalidOperation
    return value


def _convert(kind: FieldType, text: str) -> object:
    if kind is FieldType.NUMBER:
        return _number(text)
    if kind is FieldType.BOOL:
        lowered = text.lower()
        if lowered in _TRUE | _FALSE:
            return lowered in _TRUE
        raise ValueError
    if kind is FieldType.DATE:
        return date.fromisoformat(text)
    if kind is FieldType.DATETIME:
        moment = datetime.fromisoformat(text)
        if moment.utcoffset() is None:
            raise ValueError
        return moment
    if kind is FieldType.TEXT_SET:
        return frozenset(part.strip() for part in text.split(";") if part.strip())
    return text


def typed_row(
    row: Mapping[str, str], schema: Schema
) -> tuple[dict[str, Any], list[str]]:
    """
    A CSV row with each cell in its field's type; blanks and bad values are empty.

    Returns the record and a note for every value that could not be read.
    """
    record: dict[str, Any] = {}
    notes: list[str] = []
    for column, raw in row.items():
        text = (raw or "").strip()
        if column is None or not text:
            continue
        kind = schema.type_of(column)
        if not isinstance(kind, FieldType):
            record[column] = text
            continue
        try:
            record[column] = _convert(kind, text)
        except (ValueError, InvalidOperation):
            notes.append(f"{column}: {text!r} is not a valid {kind}, treated as empty")
    return record, notes


def _header(reader: csv.DictReader[str], path: Path) -> list[str]:
    header = list(reader.fieldnames or [])
    if "id" not in header:
        raise ImportRejected(
            str(path),
            FieldError("id", header, "route.no_id", "the header has no 'id' column"),
            line=1,
        )
    return header


def _row_out(
    lead_id: str, decision: Decision, notes: list[str], explain: bool
) -> list[str]:
    reasons = [*notes, *(str(reason) for reason in decision.reasons)]
    if isinstance(decision, Assignment):
        reason = "; ".join(reasons) if explain else "; ".join(notes)
        return [
            lead_id,
            decision.owner,
            decision.team or "",
            decision.rule or "",
            reason,
        ]
    return [lead_id, "", "", "", "; ".join(reasons)]


@click.command(name="route")
@click.argument("leads", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option(
    "--rules",
    "rules_path",
    required=True,
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="The TOML rule set (see docs/routing.md).",
)
@click.option(
    "--out",
    required=True,
    type=click.Path(dir_okay=False, path_type=Path),
    help="Where to write id,owner,team,rule,reason (written atomically).",
)
@click.option(
    "--explain",
    is_flag=True,
    help="Fill the reason column for every lead, not only the unassigned ones.",
)
@click.option(
    "--db",
    "db",
    metavar="PATH|DSN",
    default=None,
    help=(
        "Keep round-robin cursors in this crmkit database (schema 2 or later), so "
        "turns continue across runs. Default: none; every run starts fresh."
    ),
)
@now_option
@reports_errors
def route(  # noqa: PLR0917 - click passes options positionally
    leads: Path,
    rules_path: Path,
    out: Path,
    explain: bool,
    db: str | None,
    at: datetime | None,
) -> None:
    """
    Assign each lead of LEADS (a CSV file with an id column) with a rule set.

    The output has one row per input row, in input order: id, owner, team, rule
    and reason (why a lead is unassigned; every decision's reasons with
    --explain). Cells are read in the type of their lead field; CSV columns that
    are not lead fields are text. Running it twice on the same files gives the
    same output. Warnings about shadowed rules go to stderr.
    """
    with leads.open(encoding="utf-8-sig", newline="") as source:
        reader = csv.DictReader(source)
        header = _header(reader, leads)
        known = lead_schema()
        extra = {name: FieldType.TEXT for name in header if known.type_of(name) is None}
        rules = load_rules(rules_path, fields=extra)
        for path, message in rules.warnings():
            click.echo(f"warning: {rules_path}, {path}: {message}", err=True)
        database = None if db is None else SqlDatabase.connect(db)
        cursors = None if database is None else SqlCursorStore(database)
        router = Router(rules, cursors=cursors)
        now = resolve_at(at)
        assigned = unassigned = 0
        with atomic_text_file(out) as handle:
            writer = csv.writer(handle, lineterminator="\n")
            writer.writerow(OUTPUT_COLUMNS)
            # In batches, so that a shared cursor moves once per batch and team.
            for rows in iter(lambda: list(itertools.islice(reader, BATCH_SIZE)), []):
                typed = [typed_row(row, rules.schema) for row in rows]
                decisions = router.route_many(
                    [record for record, _ in typed], now=now, explain=explain
                )
                for row, (_, notes), decision in zip(
                    rows, typed, decisions, strict=True
                ):
                    if isinstance(decision, Assignment):
                        assigned += 1
                    else:
                        unassigned += 1
                    writer.writerow(
                        _row_out(row.get("id") or "", decision, notes, explain)
                    )
    if database is not None:
        database.dispose()
    click.echo(
        f"routed {assigned + unassigned} leads: {assigned} assigned, "
        f"{unassigned} unassigned -> {out}",
        err=True,
    )
