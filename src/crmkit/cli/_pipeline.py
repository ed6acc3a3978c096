"""``crmkit pipeline check`` and ``crmkit forecast``."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Sequence
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

import click
from rich.console import Console
from rich.table import Table

from crmkit.cli._common import database_option, echo, open_database, reports_errors
from crmkit.errors import ValidationError
from crmkit.io._files import atomic_text_file
from crmkit.pipelines import (
    DealPipeline,
    Forecast,
    Lifecycle,
    forecast,
    load_definition,
)

__all__ = ["forecast_command", "pipeline"]

_GROUPS = ("owner", "team", "pipeline", "category")
_COLUMNS = ("deals", "amount", "weighted", "closed", "commit", "best_case", "pipeline")


@click.group()
def pipeline() -> None:
    """Check pipeline and lifecycle definitions."""


def _stages_table(definition: DealPipeline) -> Table:
    table = Table(
        title=f"Pipeline {definition.name!r} (lost as a {definition.lost_mode})"
    )
    for column in (
        "stage",
        "probability",
        "category",
        "outcome",
        "rots after",
        "needs",
        "moves to",
    ):
        table.add_column(
            column,
            justify="right" if column == "probability" else "left",
            no_wrap=column in {"stage", "probability"},
        )
    for stage in definition.stages:
        moves = [t.name for t in definition.lifecycle.transitions_from(stage.name)]
        table.add_row(
            stage.name,
            f"{stage.probability:.0%}",
            str(stage.forecast_category),
            str(stage.outcome),
            "" if stage.rotting_days is None else f"{stage.rotting_days} days",
            ", ".join(stage.required_fields),
            ", ".join(moves),
        )
    return table


def _states_table(definition: Lifecycle) -> Table:
    table = Table(
        title=f"Lifecycle {definition.name!r} over field {definition.field!r}"
    )
    for column in ("state", "terminal", "transitions out"):
        table.add_column(column, no_wrap=column == "state")
    for state in definition.states:
        out = [
            f"{t.name} -> {t.target}" for t in definition.transitions_from(state.name)
        ]
        table.add_row(state.name, "yes" if state.terminal else "", ", ".join(out))
    return table


@pipeline.command()
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@reports_errors
def check(file: Path) -> None:
    """
    Validate a pipeline or lifecycle definition (TOML, JSON, YAML) and print its stages.

    A mistake is reported with its file, line and path in the definition, and the
    command exits with status 1. YAML needs PyYAML: pip install 'crmkit[yaml]'.
    """
    try:
        definition = load_definition(file)
    except ImportError as error:  # YAML without PyYAML: say which extra
        raise click.ClickException(str(error)) from error
    console = Console()
    if isinstance(definition, DealPipeline):
        console.print(_stages_table(definition))
    else:
        console.print(_states_table(definition))
    echo(f"{file}: valid")


def _rates(values: Sequence[str]) -> dict[str, Decimal]:
    rates = {}
    for value in values:
        code, _, number = value.partition("=")
        try:
            rates[code.strip().upper()] = Decimal(number)
        except InvalidOperation:
            raise ValidationError.single(
                "--rate",
                value,
                "rate.invalid",
                "expected CODE=NUMBER, such as USD=0.92",
            ) from None
    return rates


def _plain_rows(result: Forecast) -> list[dict[str, Any]]:
    rows = []
    for row in result.rows:
        plain: dict[str, Any] = dict(zip(result.by, row.key, strict=True))
        plain.update({name: getattr(row, name) for name in _COLUMNS})
        plain["quota"] = row.quota
        plain["currency"] = result.currency
        rows.append(plain)
    return rows


def _as_csv(result: Forecast) -> str:
    buffer = io.StringIO()
    names = [*result.by, *_COLUMNS, "currency"]
    writer = csv.DictWriter(
        buffer, fieldnames=names, extrasaction="ignore", lineterminator="\n"
    )
    writer.writeheader()
    writer.writerows(_plain_rows(result))
    return buffer.getvalue()


def _as_json(result: Forecast) -> str:
    rows = [
        {k: str(v) if isinstance(v, Decimal) else v for k, v in row.items()}
        for row in _plain_rows(result)
    ]
    return json.dumps({"currency": result.currency, "rows": rows}, indent=2) + "\n"


def _as_table(result: Forecast) -> Table:
    table = Table(title=f"Forecast in {result.currency}")
    for name in (*result.by, *_COLUMNS):
        table.add_column(name, justify="left" if name in result.by else "right")
    for row in (*result.rows, result.total):
        key = row.key or ("total", *[""] * (len(result.by) - 1))
        table.add_row(*key, *(f"{getattr(row, name):,}" for name in _COLUMNS))
    return table


@click.command("forecast")
@click.option(
    "--by",
    "by",
    type=click.Choice(_GROUPS),
    multiple=True,
    help="Group by owner, team, pipeline or category, after the period (repeatable).",
)
@click.option(
    "--period",
    type=click.Choice(["month", "quarter", "year"]),
    default="quarter",
    show_default=True,
    help="The period deals are grouped by (expected close date, or won date).",
)
@click.option(
    "--fiscal-year-start",
    type=click.IntRange(1, 12),
    default=1,
    show_default=True,
    help="The first month of the fiscal year.",
)
@click.option(
    "--currency", default="EUR", show_default=True, help="The result's currency."
)
@click.option(
    "--rate",
    "rates",
    multiple=True,
    metavar="CODE=NUMBER",
    help="Value of one unit of CODE in --currency, e.g. USD=0.92 (repeatable).",
)
@click.option("--pipeline", "pipeline_name", default=None, help="Only this pipeline.")
@click.option(
    "--format",
    "output_format",
    type=click.Choice(["table", "csv", "json"]),
    default=None,
    help="table (default on a terminal), csv or json (default when piped).",
)
@click.option(
    "--out",
    default=None,
    type=click.Path(dir_okay=False, path_type=Path),
    help="Write csv or json to this file (atomically) instead of stdout.",
)
@database_option
@reports_errors
def forecast_command(  # noqa: PLR0917 - click passes one parameter per option
    by: tuple[str, ...],
    period: str,
    fiscal_year_start: int,
    currency: str,
    rates: tuple[str, ...],
    pipeline_name: str | None,
    output_format: str | None,
    out: Path | None,
    db: str | None,
) -> None:
    """
    The weighted pipeline (amount x probability) by period, with its roll-ups.

    Lost deals are left out; amounts in other currencies need a --rate.
    """
    where = None if pipeline_name is None else {"pipeline": pipeline_name}
    with open_database(db).unit_of_work(readonly=True) as uow:
        deals = [deal for batch in uow.deals.batches(where=where) for deal in batch]
    result = forecast(
        deals,
        currency=currency,
        rates=_rates(rates),
        by=("period", *by),
        period=period,
        fiscal_year_start=fiscal_year_start,
    )
    console = Console()
    chosen = output_format or (
        "table" if console.is_terminal and out is None else "csv"
    )
    if chosen == "table":
        console.print(_as_table(result))
        return
    text = _as_csv(result) if chosen == "csv" else _as_json(result)
    if out is None:
        click.echo(text, nl=False)
        return
    with atomic_text_file(out) as handle:
        handle.write(text)
    click.echo(f"{out}: {len(result.rows)} rows", err=True)
