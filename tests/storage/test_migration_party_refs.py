"""Schema step 6: references to persons and organisations become queryable."""

from datetime import UTC, datetime
from uuid import uuid4

import pytest
from sqlalchemy import delete, inspect

from crmkit.ids import OrganizationId
from crmkit.model import Lead, OrganizationRole, PartyKind, PartyRef, Person, Ticket
from crmkit.repositories import contains, in_
from crmkit.repositories.sql import CURRENT_VERSION, SqlDatabase, _migrations
from crmkit.repositories.sql._migrations import (
    _add_entity_links,
    _add_party_references,
)
from crmkit.repositories.sql._tables import ENTITY_LINKS, ENTITY_TABLES, SCHEMA_VERSIONS

AT = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
LATER = datetime(2026, 9, 1, 12, 0, tzinfo=UTC)
ADDED = {
    Ticket: ("requester_id",),
    Lead: ("converted_person_id", "converted_organization_id"),
}
"""The columns step 6 adds."""


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def database(request, tmp_path):
    """An upgraded SQLite or PostgreSQL database, disposed afterwards."""
    if request.param == "sqlite":
        made = SqlDatabase.sqlite(tmp_path / "crm.db")
    else:
        made = SqlDatabase.postgres(request.getfixturevalue("make_pg_database")())
    made.upgrade(at=AT)
    yield made
    made.dispose()


def columns_of(database, cls):
    """The columns of an entity type's table."""
    with database.engine.connect() as connection:
        return {c["name"] for c in inspect(connection).get_columns(cls.entity_type)}


def rewind(database, step_function):
    """Take the database back to before the step, as an older crmkit left it."""
    step = next(m for m in _migrations.MIGRATIONS if m.apply is step_function)
    with database.engine.begin() as connection:
        if step_function is _add_party_references:
            for cls, names in ADDED.items():
                table = ENTITY_TABLES[cls]
                for column in names:
                    for index in table.indexes:
                        if list(index.columns) == [table.c[column]]:
                            index.drop(connection)
                    connection.exec_driver_sql(
                        f"ALTER TABLE {table.name} DROP COLUMN {column}"
                    )
            connection.execute(
                delete(ENTITY_LINKS).where(ENTITY_LINKS.c.entity_type == "person")
            )
        else:
            ENTITY_LINKS.drop(connection)
        connection.execute(
            delete(SCHEMA_VERSIONS).where(SCHEMA_VERSIONS.c.version >= step.version)
        )
    return step.version - 1


def stored(database):
    """Tickets, leads and people that point to a person and an organisation."""
    person, organization = uuid4(), OrganizationId(uuid4())
    records = {
        "ticket": Ticket.create(
            at=AT, subject="Broken", requester=PartyRef(PartyKind.PERSON, person)
        ),
        "org_ticket": Ticket.create(
            at=AT,
            subject="Invoice",
            requester=PartyRef(PartyKind.ORGANIZATION, organization),
        ),
        "lead": Lead.create(
            at=AT,
            last_name="Martin",
            converted_person_id=person,
            converted_organization_id=organization,
        ),
        "employee": Person.create(
            at=AT,
            last_name="Martin",
            roles=(OrganizationRole(organization_id=organization, is_primary=True),),
        ),
        "former": Person.create(
            at=AT,
            last_name="Durand",
            roles=(OrganizationRole(organization_id=organization, is_primary=True),),
        ),
    }
    with database.unit_of_work() as uow:
        for record in records.values():
            uow.repository(type(record)).add(record)
        uow.people.delete(records["former"].id, at=AT)  # archived ones too
        uow.commit()
    return person, organization, records


def found(database, person, organization):
    """What the queries of step 6 find, as sorted ids."""
    with database.unit_of_work(readonly=True) as uow:
        return {
            "tickets": sorted(
                t.id
                for t in uow.tickets.find(
                    where={"requester_id": in_([person, organization])}
                ).items
            ),
            "by_person": [
                lead.id
                for lead in uow.leads.find(where={"converted_person_id": person}).items
            ],
            "by_org": [
                lead.id
                for lead in uow.leads.find(
                    where={"converted_organization_id": organization}
                ).items
            ],
            "people": sorted(
                p.id
                for p in uow.people.find(
                    where={"organization_ids": contains(organization)},
                    include_archived=True,
                ).items
            ),
        }


def expected(records):
    """What the queries should find among the stored records."""
    return {
        "tickets": sorted([records["ticket"].id, records["org_ticket"].id]),
        "by_person": [records["lead"].id],
        "by_org": [records["lead"].id],
        "people": sorted([records["employee"].id, records["former"].id]),
    }


def test_upgrading_makes_stored_references_queryable(database, monkeypatch):
    """Tickets, leads and people stored before step 6 are found after upgrading."""
    person, organization, records = stored(database)
    older = rewind(database, _add_party_references)
    assert older == database.schema_version()
    for cls, names in ADDED.items():
        assert not set(names) & columns_of(database, cls)
    monkeypatch.setattr(_migrations, "_BACKFILL_ROWS", 2)  # several pages
    assert CURRENT_VERSION == database.upgrade(at=LATER)
    assert expected(records) == found(database, person, organization)


def test_upgrading_from_before_the_link_index_indexes_each_field_once(database):
    """Steps 5 and 6 run in turn: each fills only its own fields, none twice."""
    person, organization, records = stored(database)
    rewind(database, _add_entity_links)
    assert CURRENT_VERSION == database.upgrade(at=LATER)
    assert expected(records) == found(database, person, organization)
    with database.unit_of_work(readonly=True) as uow:
        held = uow.people.count(
            where={"organization_ids": contains(organization)}, include_archived=True
        )
    assert 2 == held


def test_new_references_are_written_after_upgrading(database):
    """An upgraded database keeps the new columns and links up to date."""
    person, organization, records = stored(database)
    rewind(database, _add_party_references)
    database.upgrade(at=LATER)
    moved = records["ticket"].update(
        {"requester": PartyRef(PartyKind.ORGANIZATION, organization)}, at=LATER
    )[0]
    with database.unit_of_work() as uow:
        uow.tickets.update(moved)
        uow.commit()
    with database.unit_of_work(readonly=True) as uow:
        by_person = uow.tickets.count(where={"requester_id": person})
        by_org = uow.tickets.count(where={"requester_id": organization})
    assert (0, 2) == (by_person, by_org)
