"""
Dedup merge: import a contact list, find its duplicates, merge them, undo one merge.

Writes 600 generated French and English contacts (with known duplicates and
households that only look alike) to a CSV file, imports it into a SQLite
database in a temporary directory, logs a call with some of them, finds the
duplicates among the stored persons, merges every cluster in one transaction
(calls re-pointed to the survivors), prints one merge's decisions, then undoes
it and checks that the records and the call are back.

Run it with ``python examples/dedup_merge.py``.
"""

import csv
import tempfile
from datetime import UTC, datetime, timedelta
from pathlib import Path
from uuid import UUID

from crmkit.dedup import (
    CONTACT_FIELDS,
    find_duplicates,
    merge_groups,
    person_policy,
    stored_person_records,
    synthetic_contacts,
    unmerge,
)
from crmkit.io import import_entities, read_mapping
from crmkit.model import Activity, ActivityKind, PartyKind, PartyRef
from crmkit.repositories.sql import SqlDatabase

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


def main() -> None:
    """Import, find, merge, explain, undo."""
    now = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
    with tempfile.TemporaryDirectory() as workspace:
        folder = Path(workspace)
        export = folder / "contacts.csv"
        with export.open("w", encoding="utf-8", newline="") as handle:
            writer = csv.DictWriter(handle, COLUMNS, extrasaction="ignore")
            writer.writeheader()
            writer.writerows(synthetic_contacts(600, seed=5).records)
        (folder / "map.toml").write_text(MAPPING, encoding="utf-8")
        database = SqlDatabase.sqlite(folder / "crm.db")
        database.upgrade(at=now)
        mapping = read_mapping(folder / "map.toml")
        summary = import_entities(database, export, mapping=mapping, at=now)
        print(f"imported {summary.created} persons ({summary.rejected} rows rejected)")

        found = find_duplicates(stored_person_records(database))
        policy = person_policy(max_records=10)
        groups = [[UUID(i) for i in cluster] for cluster in found.clusters]
        calls = [
            Activity.create(
                at=now,
                kind=ActivityKind.CALL,
                subject="Follow-up",
                parties=(PartyRef(PartyKind.PERSON, group[-1]),),
            )
            for group in groups[:20]
        ]
        with database.unit_of_work() as uow:
            uow.activities.add_many(calls)
            uow.commit()

        later = now + timedelta(days=1)
        with database.unit_of_work() as uow:
            done = merge_groups(uow, groups, policy=policy, at=later)
            uow.commit()
            people_left = uow.people.count()
        print(
            f"{len(done)} clusters merged: {people_left} persons left, "
            f"{len(calls)} calls re-pointed to their survivors"
        )
        plan, record = done[0]
        print(plan.explain())
        if record is None:  # merge_groups returns records unless dry_run=True
            return

        with database.unit_of_work() as uow:
            unmerge(uow, record.id, at=later + timedelta(hours=1))
            uow.commit()
        with database.unit_of_work() as uow:
            back = [uow.people.get(i) for i in record.merged_ids]
            call = uow.activities.get(calls[0].id)
        print(
            f"merge {record.id} undone: {len(back)} records back, "
            f"the call points to {call.parties[0].id} again"
        )
        database.dispose()


if __name__ == "__main__":
    main()
