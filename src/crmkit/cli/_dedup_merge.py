"""``crmkit dedup merge``: merge stored duplicates, preview a merge, undo one."""

from __future__ import annotations

import csv
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from uuid import UUID

import attrs
import click

from crmkit.cli._common import (
    database_option,
    echo,
    now_option,
    open_database,
    reports_errors,
    resolve_at,
)
from crmkit.dedup import (
    MergePolicy,
    apply_plan,
    merge_groups,
    organization_policy,
    person_policy,
    plan_merge,
    unmerge,
)
from crmkit.errors import CrmError, ValidationError
from crmkit.repositories import MergeRecord, UnitOfWork

__all__ = ["merge_command"]


def _uuid(text: str, path: str) -> UUID:
    try:
        return UUID(text.strip())
    except ValueError:
        raise ValidationError.single(path, text, "uuid", "is not an id") from None


def read_clusters(path: Path) -> list[list[UUID]]:
    """The clusters of two records or more in an ``id,cluster_id`` file, in order."""
    with path.open(encoding="utf-8-sig", newline="") as handle:
        reader = csv.DictReader(handle)
        header = [name.strip() for name in reader.fieldnames or []]
        if not {"id", "cluster_id"} <= set(header):
            raise ValidationError.single(
                str(path),
                ",".join(header),
                "file.columns",
                "a clusters file has the columns id,cluster_id",
            )
        reader.fieldnames = header
        clusters: dict[str, list[UUID]] = {}
        for line, row in enumerate(reader, start=2):
            entity_id = _uuid(row["id"] or "", f"{path}:{line}: id")
            clusters.setdefault((row["cluster_id"] or "").strip(), []).append(entity_id)
    return [ids for ids in clusters.values() if len(ids) > 1]


def _policy(kind: str, path: Path | None, max_records: int | None) -> MergePolicy:
    policy = (
        MergePolicy.from_file(path)
        if path is not None
        else person_policy()
        if kind == "person"
        else organization_policy()
    )
    if policy.entity_type != kind:
        raise ValidationError.single(
            "--kind", kind, "merge.policy", f"{path} is a {policy.entity_type} policy"
        )
    if max_records is not None:
        policy = attrs.evolve(policy, max_records=max_records)
    return policy


def _summary(record: MergeRecord) -> str:
    relinked = sum(c.role == "linked" for c in record.changes)
    merged = ", ".join(map(str, record.merged_ids))
    return (
        f"merged {record.entity_type} {merged} into {record.survivor_id} "
        f"(merge {record.id}; {relinked} linked records re-pointed)"
    )


def _merge_groups(
    uow: UnitOfWork,
    groups: Sequence[list[UUID]],
    *,
    policy: MergePolicy,
    master: UUID | None,
    at: datetime,
    dry_run: bool,
) -> None:
    try:
        if master is not None:
            plan = plan_merge(
                uow,
                groups[0],
                entity_type=policy.entity_type,
                policy=policy,
                master_id=master,
                at=at,
            )
            done = [(plan, None if dry_run else apply_plan(uow, plan, at=at))]
        else:
            done = merge_groups(
                uow,
                groups,
                entity_type=policy.entity_type,
                policy=policy,
                at=at,
                dry_run=dry_run,
            )
    except CrmError as error:
        notes = "".join(f" ({note})" for note in getattr(error, "__notes__", ()))
        raise click.ClickException(f"{error}{notes}") from error
    for plan, record in done:
        if record is None:
            echo(f"would keep {plan.survivor.id}")
            echo(plan.explain())
        else:
            echo(_summary(record))


@click.command("merge")
@click.argument("ids", nargs=-1, metavar="[ID]...")
@click.option(
    "--clusters",
    "clusters",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    default=None,
    help="Merge every cluster of an id,cluster_id file (from `crmkit dedup find`).",
)
@click.option(
    "--undo",
    "undo",
    metavar="MERGE_ID",
    default=None,
    help="Undo a merge: restore the merged records and their links.",
)
@click.option(
    "--kind",
    type=click.Choice(["person", "organization"]),
    default="person",
    show_default=True,
    help="What the ids are.",
)
@click.option(
    "--policy",
    "policy_file",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    default=None,
    help="A merge policy (.toml or .json): rules per field, master, limit.",
)
@click.option("--master", default=None, help="The id of the record that survives.")
@click.option(
    "--max-records",
    type=click.IntRange(min=2),
    default=None,
    help="Most records per merge (default: the policy's, 5).",
)
@click.option(
    "--dry-run",
    is_flag=True,
    help="Print what would survive, field by field, and write nothing.",
)
@database_option
@now_option
@reports_errors
def merge_command(  # noqa: PLR0917 (click passes options by name, one per option)
    ids: tuple[str, ...],
    clusters: Path | None,
    undo: str | None,
    kind: str,
    policy_file: Path | None,
    master: str | None,
    max_records: int | None,
    dry_run: bool,
    db: str | None,
    at: datetime | None,
) -> None:
    """
    Merge stored duplicates: the given ids, or each cluster of a clusters file.

    The master (the record that survives) follows the policy (the oldest by
    default) or --master; each field's value follows the policy's rule (the
    first non-empty value, emails and phones united...). Linked activities,
    deals, tickets, relationships, orders and converted leads are re-pointed
    to the survivor; merged records are archived. A clusters file is merged
    all or nothing. Each merge prints its id: --undo MERGE_ID restores the
    records and their links, unless they changed since.
    """
    chosen = sum((bool(ids), clusters is not None, undo is not None))
    if chosen != 1:
        msg = "give ids, --clusters FILE or --undo MERGE_ID (one of them)"
        raise click.UsageError(msg)
    if master is not None and not ids:
        msg = "--master names the survivor of the given ids; it needs ids"
        raise click.UsageError(msg)
    moment = resolve_at(at)
    database = open_database(db)
    if undo is not None:
        with database.unit_of_work() as uow:
            record = unmerge(uow, _uuid(undo, "--undo"), at=moment)
            uow.commit()
        restored = ", ".join(map(str, record.merged_ids))
        echo(
            f"undid merge {record.id}: {restored} restored beside {record.survivor_id}"
        )
        return
    policy = _policy(kind, policy_file, max_records)
    groups = (
        read_clusters(clusters)
        if clusters is not None
        else [[_uuid(text, f"ids[{n}]") for n, text in enumerate(ids)]]
    )
    master_id = None if master is None else _uuid(master, "--master")
    with database.unit_of_work() as uow:
        _merge_groups(
            uow, groups, policy=policy, master=master_id, at=moment, dry_run=dry_run
        )
        if dry_run:
            echo("dry run: nothing was written")
            return
        uow.commit()
    if not groups:
        echo("no cluster of two records or more: nothing to merge")
