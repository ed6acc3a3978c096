"""
Merge and unmerge throughput: every cluster of an imported contact list, then undone.

Generates ``size`` French and English contacts with known duplicates, imports
them (with a call logged for one record of each cluster), finds the clusters
among the stored persons, merges them all with `merge_groups` in one unit of
work, then undoes every merge, on the in-memory database and on SQLite.
Then it times one `merge` of two persons among ``size`` and ``10 * size``
unrelated activities (and a tenth as many deals and tickets): the records
pointing to the merged ones are found by queries, so the time should not grow
with the tables. Last, it times finding the links of G groups both ways
(queries, one scan) and shows which one `merge_groups` picks.
No peer library merges stored CRM records in-process (Salesforce, Odoo and
HubSpot merge inside their servers), so the table gives crmkit's own figures;
SQLite's are compared with the in-memory adapter's.

Run: ``python benchmarks/bench_dedup_merge.py [size]`` (default 2000).
"""

import csv
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from statistics import median
from uuid import UUID, uuid4

from crmkit.dedup import (
    CONTACT_FIELDS,
    find_duplicates,
    merge,
    merge_groups,
    person_policy,
    stored_person_records,
    synthetic_contacts,
    unmerge,
)
from crmkit.dedup._merge_links import (
    LinkIndex,
    _queries_cost_less,
    query_links,
    scan_links,
)
from crmkit.io import import_entities, read_mapping
from crmkit.model import (
    Activity,
    ActivityKind,
    Deal,
    PartyKind,
    PartyRef,
    Person,
    Ticket,
)
from crmkit.repositories import Database
from crmkit.repositories.memory import MemoryDatabase
from crmkit.repositories.sql import SqlDatabase

NOW = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
COLUMNS = ("id", *CONTACT_FIELDS)
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


PAIRS = 10
"""Merges timed one by one at each table size."""


def _unrelated(count: int) -> list[Activity | Deal | Ticket]:
    """Activities, and a tenth as many deals and tickets, of people not merged."""
    records: list[Activity | Deal | Ticket] = [
        Activity.create(
            at=NOW,
            kind=ActivityKind.CALL,
            subject=f"Call {number}",
            parties=(PartyRef(PartyKind.PERSON, uuid4()),),
        )
        for number in range(count)
    ]
    for number in range(count // 10):
        records.append(
            Deal.create(
                at=NOW,
                name=f"Deal {number}",
                pipeline="sales",
                stage="qualify",
                contact_ids=(uuid4(),),
            )
        )
        records.append(
            Ticket.create(
                at=NOW,
                subject=f"Ticket {number}",
                requester=PartyRef(PartyKind.PERSON, uuid4()),
            )
        )
    return records


def _one_merge_ms(database: Database, unrelated: int) -> float:
    """Median time of one `merge` of two persons (one call each) among others."""
    pairs = [
        [Person.create(at=NOW, first_name="Claire", last_name=f"Martin {n}")]
        for n in range(PAIRS)
    ]
    for pair in pairs:
        pair.append(Person.create(at=NOW, first_name="C.", last_name=pair[0].last_name))
    calls = [
        Activity.create(
            at=NOW,
            kind=ActivityKind.CALL,
            subject="Follow-up",
            parties=(PartyRef(PartyKind.PERSON, person.id),),
        )
        for pair in pairs
        for person in pair
    ]
    with database.unit_of_work() as uow:
        for record in _unrelated(unrelated):
            uow.repository(type(record)).add(record)
        uow.people.add_many([person for pair in pairs for person in pair])
        uow.activities.add_many(calls)
        uow.commit()
    times = []
    for pair in pairs:
        start = time.perf_counter()
        with database.unit_of_work() as uow:
            record = merge(uow, [p.id for p in pair], at=NOW + timedelta(days=1))
            uow.commit()
        times.append(time.perf_counter() - start)
        relinked = [c for c in record.changes if c.entity_type == "activity"]
        if len(relinked) != 1:  # the merged person's call, and no other
            msg = f"expected one call re-pointed, got {relinked}"
            raise RuntimeError(msg)
    return 1000 * median(times)


def _scaling(size: int) -> None:
    """Print one merge's time with ``size`` and ten times as many records stored."""
    counts = (size, 10 * size)
    print()
    print(f"one merge of two persons among N unrelated activities (median of {PAIRS})")
    print(
        f"{'adapter':<8} " + " ".join(f"{f'N={n:,}':>12}" for n in counts) + "  ratio"
    )
    with tempfile.TemporaryDirectory() as workspace:
        for name in ("memory", "SQLite"):
            figures = []
            for count in counts:
                if name == "memory":
                    database: Database = MemoryDatabase()
                else:
                    sqlite = SqlDatabase.sqlite(Path(workspace) / f"scale{count}.db")
                    sqlite.upgrade(at=NOW)
                    database = sqlite
                figures.append(_one_merge_ms(database, count))
                if isinstance(database, SqlDatabase):
                    database.dispose()
            cells = " ".join(f"{f'{ms:.1f} ms':>12}" for ms in figures)
            print(f"{name:<8} {cells}  {figures[1] / figures[0]:>4.1f}x")


GROUP_COUNTS = (1, 8, 100, 500, 2000)
"""Numbers of groups (two persons each) whose links are found at once."""

MEMORY_QUERIED_AT_MOST = 8
"""Groups past which queries are not timed in memory (each reads the table)."""


def _stored_groups(database: Database, groups: int, unrelated: int) -> list[UUID]:
    """Store ``groups`` pairs of persons, a call each, among unrelated records."""
    people = [
        Person.create(at=NOW, first_name="Claire", last_name=f"Martin {n}")
        for n in range(2 * groups)
    ]
    calls = [_call(person.id) for person in people]
    with database.unit_of_work() as uow:
        for record in _unrelated(unrelated):
            uow.repository(type(record)).add(record)
        uow.people.add_many(people)
        uow.activities.add_many(calls)
        uow.commit()
    return [person.id for person in people]


def _call(person: UUID) -> Activity:
    return Activity.create(
        at=NOW,
        kind=ActivityKind.CALL,
        subject="Follow-up",
        parties=(PartyRef(PartyKind.PERSON, person),),
    )


def _timed(find: Callable[[], LinkIndex]) -> tuple[float, LinkIndex]:
    start = time.perf_counter()
    found = find()
    return 1000 * (time.perf_counter() - start), found


def _finding_row(database: Database, name: str, count: int, ids: list[UUID]) -> str:
    """Time queries and a scan for ``ids``; say which one `merge_groups` picks."""
    groups = len(ids) // 2
    with database.unit_of_work(readonly=True) as uow:
        scan_ms, scanned = _timed(lambda: scan_links(uow, PartyKind.PERSON, ids))
        cheaper = _queries_cost_less(uow, PartyKind.PERSON, len(ids))
        picked = "queries" if cheaper else "scan"
        if name == "memory" and groups > MEMORY_QUERIED_AT_MOST:
            query_cell, ratio = f"{'-':>10}", f"{'-':>7}"
        else:
            query_ms, queried = _timed(lambda: query_links(uow, PartyKind.PERSON, ids))
            if queried != scanned:
                msg = "queries and scan found different links"
                raise RuntimeError(msg)
            query_cell = f"{query_ms:>7.0f} ms"
            ratio = f"{scan_ms / query_ms:>6.2f}x"
    return (
        f"{name:<8} {count:>7,} {groups:>5} {query_cell} {scan_ms:>7.0f} ms "
        f"{ratio}  {picked}"
    )


def _finding(size: int) -> None:
    """Print the time to find the links of many groups: queries, then a scan."""
    print()
    print("finding who points to the members of G groups (2 persons, a call each)")
    print(
        f"{'adapter':<8} {'N':>7} {'G':>5} {'queries':>10} {'scan':>10} "
        f"{'scan/q':>7}  merge_groups picks"
    )
    with tempfile.TemporaryDirectory() as workspace:
        for name in ("memory", "SQLite"):
            for count in (size, 10 * size):
                database: Database
                if name == "memory":
                    database = MemoryDatabase()
                else:
                    sqlite = SqlDatabase.sqlite(Path(workspace) / f"find{count}.db")
                    sqlite.upgrade(at=NOW)
                    database = sqlite
                ids = _stored_groups(database, max(GROUP_COUNTS), count)
                for groups in GROUP_COUNTS:
                    print(_finding_row(database, name, count, ids[: 2 * groups]))
                if isinstance(database, SqlDatabase):
                    database.dispose()


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
    _scaling(size)
    _finding(size)


if __name__ == "__main__":
    main()
