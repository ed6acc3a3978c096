"""
Dedup at entry and at import: check new contacts before they are stored.

Indexes 5,000 generated French and English contacts, checks 200 new ones
(variants of stored people, and strangers), prints how many were caught and the
explanation of one; then imports a CSV of 300 rows into a SQLite database twice
over with ``dedup=DedupPolicy.MERGE`` and prints what each run did.

Run it with ``python examples/dedup_at_entry.py``.
"""

import csv
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

from crmkit.dedup import DedupIndex, synthetic_contacts
from crmkit.io import DedupPolicy, import_entities, mapping_from_dict
from crmkit.repositories.sql import SqlDatabase

COLUMNS = ("first_name", "last_name", "email", "phone", "company", "postal_code")


def at_entry() -> None:
    """Index contacts, check new ones, explain one catch."""
    data = synthetic_contacts(5200, seed=3)
    stored, new = data.records[:5000], data.records[5000:]
    index = DedupIndex()
    index.add_many(stored)
    people = {data.truth[r["id"]] for r in stored}
    caught = expected = 0
    start = time.perf_counter()
    for record in new:
        found = [c for c in index.find_matches({**record, "id": None}) if c.matched]
        expected += data.truth[record["id"]] in people
        caught += (
            bool(found) and data.truth[found[0].record_id] == data.truth[record["id"]]
        )
    elapsed = (time.perf_counter() - start) / len(new)
    print(
        f"{caught} of the {expected} new records of stored people caught, "
        f"{elapsed * 1e3:.1f} ms per check"
    )
    best = next(
        c for r in new for c in index.find_matches({**r, "id": None}) if c.matched
    )
    print(best.explanation)


def at_import() -> None:
    """Import a file with duplicates of itself, twice, merging them."""
    data = synthetic_contacts(300, seed=5)
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "contacts.csv"
        with path.open("w", encoding="utf-8", newline="") as handle:
            writer = csv.writer(handle)
            writer.writerow(COLUMNS)
            writer.writerows([r[c] for c in COLUMNS] for r in data.records)
        now = datetime(2026, 11, 22, 9, 0, tzinfo=UTC)
        database = SqlDatabase.sqlite(Path(folder) / "crm.db")
        database.upgrade(at=now)
        mapping = mapping_from_dict(
            {
                "entity": "person",
                "options": {"phone_region": "FR"},
                "columns": {
                    "first_name": "first_name",
                    "last_name": "last_name",
                    "email": "emails",
                    "phone": "phones",
                    "company": "company",
                    "postal_code": "address.postcode",
                },
            }
        )
        for run in (1, 2):
            summary = import_entities(
                database, path, mapping=mapping, at=now, dedup=DedupPolicy.MERGE
            )
            print(
                f"run {run}: {summary.read} rows, {summary.created} created, "
                f"{summary.duplicates_merged} merged into a match, "
                f"{summary.skipped_already_imported} already imported, "
                f"{summary.rejected} rejected (phone numbers the generator "
                "invents that do not exist)"
            )
        database.dispose()


if __name__ == "__main__":
    at_entry()
    at_import()
