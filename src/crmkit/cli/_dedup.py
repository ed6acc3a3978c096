"""``crmkit dedup``: find duplicates in a file or the database, and merge them."""

from __future__ import annotations

import csv
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Final

import click

from crmkit._forked import cores
from crmkit.cli._common import database_target, open_database, reports_errors
from crmkit.cli._dedup_merge import merge_command
from crmkit.dedup import (
    CONTACT_FIELDS,
    DedupConfig,
    DedupResult,
    PairExplanation,
    find_duplicates,
    stored_person_records,
)
from crmkit.errors import InvalidDefinition, ValidationError
from crmkit.io._files import atomic_text_file

__all__ = ["dedup"]

COLUMNS: Final = ("id", *CONTACT_FIELDS)
_EXPLAIN_COLUMNS: Final = (
    "left_id",
    "right_id",
    "probability",
    "match_weight",
    "matched",
    "reason",
    "swapped_names",
    "field",
    "comparator",
    "left_value",
    "right_value",
    "score",
    "level",
    "weight",
)
_EXPLAIN_FROM: Final = 0.5


@click.group()
def dedup() -> None:
    """Find duplicate records."""


def _read_records(path: Path) -> tuple[list[dict[str, str]], list[str]]:
    """The rows of a CSV file, and the expected columns it lacks."""
    with path.open(encoding="utf-8-sig", newline="") as handle:
        reader = csv.DictReader(handle)
        if reader.fieldnames is None:
            raise ValidationError.single(
                str(path), "", "file.empty", "the file is empty (it needs a header)"
            )
        header = [name.strip() for name in reader.fieldnames]
        if "id" not in header:
            raise ValidationError.single(
                str(path),
                ",".join(header),
                "file.columns",
                "the header has no id column",
            )
        reader.fieldnames = header
        rows = []
        for line, row in enumerate(reader, start=2):
            if None in row:
                raise ValidationError.single(
                    f"{path}:{line}", row[None], "file.row", "more values than columns"
                )
            rows.append({k: v or "" for k, v in row.items()})
    return rows, [c for c in COLUMNS if c not in header]


def _load_rules(path: Path | None) -> DedupConfig | None:
    if path is None:
        return None
    try:
        return DedupConfig.from_file(path)
    except (ValidationError, InvalidDefinition) as error:
        raise click.ClickException(f"{path}: {error}") from error


def _write_clusters(path: Path, result: DedupResult) -> None:
    with atomic_text_file(path) as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(("id", "cluster_id"))
        writer.writerows(zip(result.ids, result.cluster_ids, strict=True))


def _explained(result: DedupResult) -> Iterator[PairExplanation]:
    """Pairs from a probability of 0.5 up, then any matched below (rules)."""
    yield from result.pairs(min_probability=_EXPLAIN_FROM)
    for pair in result.pairs(matched_only=True):
        if pair.probability < _EXPLAIN_FROM:
            yield pair


def _write_explanations(handle: IO[str], pairs: Iterator[PairExplanation]) -> int:
    writer = csv.writer(handle, lineterminator="\n")
    writer.writerow(_EXPLAIN_COLUMNS)
    count = 0
    for pair in pairs:
        count += 1
        head = (
            pair.left_id,
            pair.right_id,
            pair.probability,
            pair.match_weight,
            str(pair.matched).lower(),
            pair.reason,
            str(pair.swapped_names).lower(),
        )
        for e in pair.fields:
            writer.writerow(
                (
                    *head,
                    e.field,
                    e.comparator,
                    e.left,
                    e.right,
                    "" if e.score is None else e.score,
                    "" if e.level is None else e.level,
                    e.weight,
                )
            )
    return count


def _cores(workers: int) -> int:
    """``--workers`` checked: -1 or a count of cores."""
    try:
        cores(workers)
    except ValueError as error:
        raise click.BadParameter(str(error)) from None
    return workers


@dedup.command("find")
@click.argument(
    "input_file",
    metavar="[INPUT.csv]",
    required=False,
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
)
@click.option(
    "--db",
    "db",
    metavar="[PATH|DSN]",
    is_flag=False,
    flag_value="",
    default=None,
    help=(
        "Find duplicates among the stored persons instead of INPUT.csv: a SQLite "
        "file or postgresql:// DSN; alone, $CRMKIT_DB, else crm.db."
    ),
)
@click.option(
    "--out",
    "out",
    required=True,
    type=click.Path(dir_okay=False, path_type=Path),
    help="Where to write id,cluster_id for every input id.",
)
@click.option(
    "--rules",
    "rules",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    default=None,
    help="A dedup configuration (.toml or .json). Default: contacts.",
)
@click.option(
    "--explain",
    "explain",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Write each considered pair's evidence, one row per field.",
)
@click.option(
    "--threshold",
    type=click.FloatRange(0, 1, min_open=True, max_open=True),
    default=None,
    help="Match probability threshold (default: the configuration's, 0.9).",
)
@click.option(
    "--workers",
    type=int,
    default=1,
    show_default=True,
    callback=lambda _context, _option, value: _cores(value),
    help="Cores to use (-1: all): forked processes on Linux, else threads.",
)
@reports_errors
def find(  # noqa: PLR0917 (click passes options by name, one per option)
    input_file: Path | None,
    db: str | None,
    out: Path,
    rules: Path | None,
    explain: Path | None,
    threshold: float | None,
    workers: int,
) -> None:
    """
    Find duplicates in INPUT.csv, or among stored persons, and write their clusters.

    INPUT.csv has a header with id,first_name,last_name,email,phone,company,
    street,city,postal_code,country (other columns are ignored, a missing one
    counts as blank). With --db instead, the active persons of the database
    are compared on the same fields (their primary email, phone, address and
    organisation). The output has id,cluster_id for every record,
    singletons included; a cluster's id is the id of its first record;
    `crmkit dedup merge --clusters` merges them.
    --explain writes, for each pair matched or with a match probability of 0.5
    or more (vetoed ones included), one row per compared field: values, score,
    level and weight.
    """
    if (input_file is None) == (db is None):
        msg = "give INPUT.csv or --db (the stored persons), one of them"
        raise click.UsageError(msg)
    if input_file is not None:
        records, missing = _read_records(input_file)
        if missing:
            missing_text = ", ".join(missing)
            click.echo(f"note: no column {missing_text}: counted as blank", err=True)
    else:
        records = stored_person_records(open_database(db))
        click.echo(f"{database_target(db)}: {len(records)} stored persons", err=True)
    result = find_duplicates(
        records, _load_rules(rules), threshold=threshold, workers=workers
    )
    _write_clusters(out, result)
    if explain is not None:
        with atomic_text_file(explain) as handle:
            pairs = _write_explanations(handle, _explained(result))
    clusters = result.clusters
    click.echo(
        f"{len(result.ids)} records, {len(clusters)} clusters of duplicates "
        f"({sum(map(len, clusters))} records), {result.blocking.pairs} pairs compared"
        + (f", {pairs} pairs explained" if explain is not None else "")
    )


dedup.add_command(merge_command)
