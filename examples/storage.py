"""
Storage: a sales team's contacts in SQLite, safely shared by two writers.

Creates a database in a temporary directory, stores an account and its contacts,
pages through them, shows a refused stale update and the field history, then relays
the outbox of domain events. The same code runs on PostgreSQL with
``SqlDatabase.postgres(dsn)``, and on ``MemoryDatabase`` in tests.

Run it with ``python examples/storage.py``.
"""

import tempfile
from datetime import UTC, datetime, timedelta
from pathlib import Path

from crmkit import ConcurrencyError, EmailAddress, Organization, Person
from crmkit.model import OrganizationRole
from crmkit.repositories import gte
from crmkit.repositories.sql import SqlDatabase


def main() -> None:
    """Walk through a unit of work's life on a real SQLite file."""
    now = datetime(2026, 11, 22, 9, 0, tzinfo=UTC)
    with tempfile.TemporaryDirectory() as folder:
        db = SqlDatabase.sqlite(Path(folder) / "crm.db")
        db.upgrade(at=now)

        acme = Organization.create(at=now, name="Acme Industrie SAS")
        people = [
            Person.create(
                at=now + timedelta(minutes=i),
                first_name=first,
                last_name="Martin",
                emails=[EmailAddress(f"{first.lower()}.martin@acme-industrie.fr")],
                roles=[OrganizationRole(organization_id=acme.id, is_primary=True)],
            )
            for i, first in enumerate(["Claire", "Hugo", "Inès", "Marc", "Sophie"])
        ]
        with db.unit_of_work() as uow:
            uow.organizations.add(acme)
            for person in people:
                uow.people.add(person)
            uow.commit()

        with db.unit_of_work() as uow:
            page = uow.people.find(
                where={"created_at": gte(now)}, order_by="first_name", limit=3
            )
            print("first page:", [p.first_name for p in page.items])
            rest = uow.people.find(
                where={"created_at": gte(now)},
                order_by="first_name",
                limit=3,
                after=page.next_cursor,
            )
            print("next page:", [p.first_name for p in rest.items])

        claire = people[0]
        mine, _ = claire.update({"job_title": "Buyer"}, at=now + timedelta(hours=1))
        theirs, _ = claire.update({"job_title": "CFO"}, at=now + timedelta(hours=1))
        with db.unit_of_work() as uow:
            uow.people.update(mine, actor=None)
            uow.commit()
        with db.unit_of_work() as uow:
            try:
                uow.people.update(theirs)
            except ConcurrencyError as error:
                print("refused:", error)

        with db.unit_of_work() as uow:
            for entry in uow.people.history(claire.id):
                print(f"history: {entry.field}: {entry.old!r} -> {entry.new!r}")
            messages = uow.pending_messages(limit=100)
            print("events to publish:", [m.event_type for m in messages][-3:])
            uow.mark_published([m.id for m in messages], at=now + timedelta(hours=2))
            uow.commit()
        db.dispose()


if __name__ == "__main__":
    main()
