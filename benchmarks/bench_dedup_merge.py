"""
Merge and unmerge throughput: every cluster of an imported contact list, then undone.

Generates ``size`` French and English contacts with known duplicates, imports
them (with a call logged for one record of each cluster), finds the clusters
among the stored persons, merges them all with `merge_groups` in one unit of
work, then undoes every merge, on the in-memory database and on SQLite.
No peer library merges stored CRM records in-process (Salesforce, Odoo and
HubSpot merge inside their servers), so the table gives crmkit's own figures;
SQLite's are compared with the in-memory adapter's.

Run: ``python benchmarks/bench_dedup_merge.py [size]`` (default 2000).
"""

import csv
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from uuid import UUID

from crmkit.dedup import (
    find_duplicates,
    merge_groups,
    person_policy,
    stored_person_records,
    synthetic_contacts,
    unmerge,
)
from crmkit.io import import_entities, read_mapping
from crmkit.model import Activity, ActivityKind, PartyKind, PartyRef
from crmkit.repositories import Database
from crmkit.repositories.memory import MemoryDatabase
from crmkit.repositories.sql import SqlDatabase

NOW = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
COLUMNS = (
    "id",
    "first_name",
    "last_name",
    "email",
    "phone",
    "company",
    "street",
    "city",
    "postal_code",
    "country",
)
MAPPING = """
entity = "person"

[options]
phone_region = "FR"
external_id = { system = "export", column = "id" }

[columns]
first_name = "first_name"
last_name = "last_name"
email = "emails"
phone = "phones"
company = "company"
street = "address.lines"
city = "address.city"
postal_code = "address.postcode"
country = "address.country"
"""


def _prepare(database: Database, folder: Path, size: int) -> list[list[UUID]]:
    export = folder / "contacts.csv"
    with export.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, COLUMNS, extrasaction="ignore")
        writer.writeheader()
        writer.writerows(synthetic_contacts(size, seed=5).records)
    (folder / "map.toml").write_text(MAPPING, encoding="utf-8")
    mapping = read_mapping(folder / "map.toml")
    import_entities(database, export, mapping=mapping, at=NOW)
    found = find_duplicates(stored_person_records(database))
    groups = [[UUID(i) for i in cluster] for cluster in found.clusters]
    calls = [
        Activity.create(
            at=NOW,
            kind=ActivityKind.CALL,
            subject="Follow-up",
            parties=(PartyRef(PartyKind.PERSON, group[-1]),),
        )
        for group in groups
    ]
    with database.unit_of_work() as uow:
        uow.activities.add_many(calls)
        uow.commit()
    return groups


def _run(database: Database, folder: Path, size: int) -> tuple[int, float, float]:
    groups = _prepare(database, folder, size)
    later = NOW + timedelta(days=1)
    policy = person_policy(max_records=10)
    start = time.perf_counter()
    with database.unit_of_work() as uow:
        done = merge_groups(uow, groups, policy=policy, at=later)
        uow.commit()
    merged = time.perf_counter() - start
    start = time.perf_counter()
    with database.unit_of_work() as uow:
        for _, record in reversed(done):
            if record is not None:
                unmerge(uow, record.id, at=later + timedelta(hours=1))
        uow.commit()
    undone = time.perf_counter() - start
    return len(done), merged, undone


def main() -> None:
    """Print merges per second on each adapter."""
    size = int(sys.argv[1]) if len(sys.argv) > 1 else 2000
    rows = []
    with tempfile.TemporaryDirectory() as workspace:
        folder = Path(workspace)
        sqlite = SqlDatabase.sqlite(folder / "crm.db")
        sqlite.upgrade(at=NOW)
        for name, database in (("memory", MemoryDatabase()), ("SQLite", sqlite)):
            count, merged, undone = _run(database, folder, size)
            rows.append((name, count, merged, undone))
        sqlite.dispose()
    print(f"{size} generated contacts, every cluster merged then undone")
    print(
        f"{'adapter':<8} {'merges':>7} {'merge s':>8} {'ms/merge':>9} "
        f"{'undo s':>7} {'ms/undo':>8} {'vs memory':>10}"
    )
    base = rows[0][2]
    for name, count, merged, undone in rows:
        print(
            f"{name:<8} {count:>7} {merged:>8.2f} {1000 * merged / count:>9.2f} "
            f"{undone:>7.2f} {1000 * undone / count:>8.2f} {merged / base:>9.1f}x"
        )


if __name__ == "__main__":
    main()
