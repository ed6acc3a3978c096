"""Schema versions: new databases are created, old ones upgraded, strangers refused."""

import hashlib
import sqlite3
from datetime import UTC, datetime
from uuid import uuid4

import pytest
from sqlalchemy import delete, insert, inspect, select

from crmkit.errors import SchemaMismatch
from crmkit.model import Activity, ActivityKind, Deal, PartyKind, PartyRef, Person
from crmkit.repositories import contains
from crmkit.repositories.sql import CURRENT_VERSION, SqlDatabase, _database, _migrations
from crmkit.repositories.sql._migrations import Migration, _add_entity_links
from crmkit.repositories.sql._tables import (
    ENTITY_LINKS,
    MERGE_MEMBERS,
    MERGES,
    METADATA,
    ROUTING_CURSORS,
    SCHEMA_VERSIONS,
    STAGE_HISTORY,
)

AT = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
LATER = datetime(2026, 9, 1, 12, 0, tzinfo=UTC)
EVERY_VERSION = [step.version for step in _migrations.MIGRATIONS]
NEXT = CURRENT_VERSION + 1


@pytest.fixture
def make_sqlite(tmp_path):
    """Return a maker of SQLite databases in tmp_path, disposed afterwards."""
    made = []

    def make(name="crm.db", **options):
        database = SqlDatabase.sqlite(tmp_path / name, **options)
        made.append(database)
        return database

    yield make
    for database in made:
        database.dispose()


def stamped_versions(database):
    """The versions recorded in crmkit_schema, in order."""
    with database.engine.connect() as connection:
        rows = connection.execute(
            select(SCHEMA_VERSIONS.c.version).order_by(SCHEMA_VERSIONS.c.version)
        )
        return [row.version for row in rows]


def table_names(database):
    """The tables of a database."""
    with database.engine.connect() as connection:
        return set(inspect(connection).get_table_names())


def stamp(database, version):
    """Record a schema version, as a later crmkit would."""
    with database.engine.begin() as connection:
        connection.execute(
            insert(SCHEMA_VERSIONS).values(
                version=version, description="from the future", applied_at=LATER
            )
        )


def at_this_version(database):
    """Build the schema as this crmkit leaves it: its tables and every stamp."""
    with database.engine.begin() as connection:
        _migrations._create_tables(connection)
        for version in EVERY_VERSION:
            connection.execute(
                insert(SCHEMA_VERSIONS).values(
                    version=version, description=f"v{version}", applied_at=AT
                )
            )


@pytest.fixture
def next_version(monkeypatch):
    """Pretend this crmkit has one more migration step; return its calls."""
    calls = []

    def add_tags_table(connection):
        calls.append(connection)
        connection.exec_driver_sql("CREATE TABLE crm_tag (name TEXT PRIMARY KEY)")

    steps = (*_migrations.MIGRATIONS, Migration(NEXT, "tags", add_tags_table))
    monkeypatch.setattr(_migrations, "MIGRATIONS", steps)
    monkeypatch.setattr(_migrations, "CURRENT_VERSION", NEXT)
    monkeypatch.setattr(_database, "CURRENT_VERSION", NEXT)
    return calls


LATER_TABLES = (ROUTING_CURSORS, MERGES, MERGE_MEMBERS, STAGE_HISTORY, ENTITY_LINKS)
"""Tables that migration steps after the first add."""


def test_the_schema_versions_count_up_from_1():
    """Version 1 is the first release's schema; each later step adds one."""
    assert list(range(1, CURRENT_VERSION + 1)) == EVERY_VERSION


def test_a_version_1_database_gains_the_later_tables(make_sqlite):
    """Upgrading a version-1 database runs every later step, which adds its tables."""
    database = make_sqlite()
    with database.engine.begin() as connection:
        version_1 = [t for t in METADATA.sorted_tables if t not in LATER_TABLES]
        METADATA.create_all(connection, tables=version_1)
        connection.execute(
            insert(SCHEMA_VERSIONS).values(version=1, description="v1", applied_at=AT)
        )
    later = {t.name for t in LATER_TABLES}
    assert not later & table_names(database)
    assert (CURRENT_VERSION, EVERY_VERSION, later) == (
        database.upgrade(at=LATER),
        stamped_versions(database),
        later & table_names(database),
    )


def test_an_empty_database_must_be_initialised(make_sqlite):
    """check() on a new file says to run `crmkit init`, and units are refused."""
    database = make_sqlite()
    with pytest.raises(SchemaMismatch) as caught:
        database.check()
    with pytest.raises(SchemaMismatch):
        database.unit_of_work()
    assert (0, CURRENT_VERSION, True, 0) == (
        caught.value.found,
        caught.value.expected,
        "run `crmkit init`" in str(caught.value),
        database.schema_version(),
    )


def test_an_empty_file_is_an_empty_database(make_sqlite, tmp_path):
    """A zero-byte file is a new SQLite database, not a stranger."""
    (tmp_path / "crm.db").write_bytes(b"")
    database = make_sqlite()
    assert (0, CURRENT_VERSION) == (
        database.schema_version(),
        database.upgrade(at=AT),
    )


def test_upgrade_creates_the_schema_at_the_current_version(make_sqlite):
    """upgrade() creates every table and records every version with its time."""
    database = make_sqlite()
    reached = database.upgrade(at=AT)
    database.check()
    with database.engine.connect() as connection:
        rows = connection.execute(
            select(SCHEMA_VERSIONS).order_by(SCHEMA_VERSIONS.c.version)
        ).all()
    expected_tables = {
        "crmkit_schema",
        "person",
        "organization",
        "deal",
        "lead",
        "contact_point",
        "external_id",
        "field_history",
        "outbox",
        "routing_cursor",
        "merge_record",
        "merge_member",
        "stage_history",
        "entity_link",
    }
    assert (
        CURRENT_VERSION,
        CURRENT_VERSION,
        EVERY_VERSION,
        {AT},
        expected_tables,
    ) == (
        reached,
        database.schema_version(),
        [row.version for row in rows],
        {row.applied_at for row in rows},
        expected_tables & table_names(database),
    )


def test_upgrade_is_idempotent(make_sqlite):
    """A second upgrade changes nothing and keeps the data."""
    database = make_sqlite()
    database.upgrade(at=AT)
    person = Person.create(at=AT, first_name="Jean")
    with database.unit_of_work() as uow:
        uow.people.add(person)
        uow.commit()
    again = make_sqlite()
    assert (CURRENT_VERSION, EVERY_VERSION) == (
        again.upgrade(at=LATER),
        stamped_versions(again),
    )
    with again.unit_of_work() as uow:
        assert person == uow.people.get(person.id)


def test_upgrade_needs_an_aware_time(make_sqlite):
    """The time recorded with a version must be timezone-aware."""
    database = make_sqlite()
    with pytest.raises(ValueError, match="naive"):
        database.upgrade(at=datetime(2026, 3, 1))  # noqa: DTZ001 - naive on purpose
    assert 0 == database.schema_version()


def test_a_database_of_another_application_is_refused(make_sqlite, tmp_path):
    """A SQLite file with tables but no crmkit_schema is refused and left alone."""
    with sqlite3.connect(tmp_path / "crm.db") as connection:
        connection.execute("CREATE TABLE invoices (id INTEGER PRIMARY KEY)")
    connection.close()
    database = make_sqlite()
    with pytest.raises(SchemaMismatch) as checked:
        database.check()
    with pytest.raises(SchemaMismatch) as upgraded:
        database.upgrade(at=AT)
    assert (None, None, True, {"invoices"}) == (
        checked.value.found,
        upgraded.value.found,
        "invoices" in str(checked.value),
        table_names(database),
    )


@pytest.mark.parametrize(
    "content",
    [
        b"".join(hashlib.sha256(bytes([n])).digest() for n in range(256)),
        b"id,name\n1,Acme\n2,Globex\n" * 100,
        b"SQLite format 3\x00" + b"\xff" * 4080,
    ],
    ids=["random bytes", "csv", "bad header"],
)
def test_a_file_that_is_not_a_sqlite_database_is_refused(
    make_sqlite, tmp_path, content
):
    """Opening a file that is not SQLite raises SchemaMismatch and keeps it intact."""
    path = tmp_path / "crm.db"
    path.write_bytes(content)
    database = make_sqlite()
    refusals = []
    for attempt in (database.check, lambda: database.upgrade(at=AT)):
        with pytest.raises(SchemaMismatch) as caught:
            attempt()
        refusals.append(caught.value.found)
    assert ([None, None], content) == (refusals, path.read_bytes())


def test_a_newer_database_is_refused(make_sqlite):
    """A database stamped by a later crmkit is refused by check() and upgrade()."""
    database = make_sqlite()
    database.upgrade(at=AT)
    stamp(database, 99)
    reopened = make_sqlite()
    with pytest.raises(SchemaMismatch) as checked:
        reopened.check()
    with pytest.raises(SchemaMismatch) as upgraded:
        reopened.upgrade(at=LATER)
    with pytest.raises(SchemaMismatch):
        reopened.unit_of_work()
    assert (99, 99, True, [*EVERY_VERSION, 99]) == (
        checked.value.found,
        upgraded.value.found,
        "upgrade crmkit" in str(checked.value),
        stamped_versions(reopened),
    )


def test_an_older_database_is_refused_until_upgraded(make_sqlite, next_version):
    """check() on a database of the previous version asks for `crmkit db upgrade`."""
    database = make_sqlite()
    at_this_version(database)
    with pytest.raises(SchemaMismatch) as caught:
        database.check()
    assert (CURRENT_VERSION, NEXT, True, []) == (
        caught.value.found,
        caught.value.expected,
        "crmkit db upgrade" in str(caught.value),
        next_version,
    )


def test_an_older_database_runs_only_the_missing_steps(make_sqlite, next_version):
    """Upgrading to the next version runs its step once, then the database is usable."""
    database = make_sqlite()
    at_this_version(database)
    reached = database.upgrade(at=LATER)
    database.check()
    again = database.upgrade(at=LATER)
    with database.unit_of_work() as uow:
        count = uow.people.count()
    assert (NEXT, NEXT, [*EVERY_VERSION, NEXT], 1, True, 0) == (
        reached,
        again,
        stamped_versions(database),
        len(next_version),
        "crm_tag" in table_names(database),
        count,
    )


@pytest.mark.usefixtures("next_version")
def test_a_new_database_gets_every_step_recorded(make_sqlite):
    """An empty database is created at the current version, every step stamped."""
    database = make_sqlite()
    assert (NEXT, [*EVERY_VERSION, NEXT]) == (
        database.upgrade(at=AT),
        stamped_versions(database),
    )


def test_a_failing_step_leaves_the_database_as_it_was(make_sqlite, monkeypatch):
    """If a step fails, its changes and its version stamp are rolled back."""
    database = make_sqlite()
    database.upgrade(at=AT)

    def broken(connection):
        connection.exec_driver_sql("CREATE TABLE crm_half_done (x INTEGER)")
        message = "disk full"
        raise RuntimeError(message)

    steps = (*_migrations.MIGRATIONS, Migration(NEXT, "broken", broken))
    monkeypatch.setattr(_migrations, "MIGRATIONS", steps)
    monkeypatch.setattr(_migrations, "CURRENT_VERSION", NEXT)
    monkeypatch.setattr(_database, "CURRENT_VERSION", NEXT)
    with pytest.raises(RuntimeError, match="disk full"):
        database.upgrade(at=LATER)
    assert (EVERY_VERSION, False) == (
        stamped_versions(database),
        "crm_half_done" in table_names(database),
    )


def test_an_in_memory_database_is_upgraded_in_place():
    """A ':memory:' database keeps its schema between units of work."""
    database = SqlDatabase.sqlite(":memory:")
    try:
        database.upgrade(at=AT)
        person = Person.create(at=AT, first_name="Jean")
        with database.unit_of_work() as uow:
            uow.people.add(person)
            uow.commit()
        with database.unit_of_work() as uow:
            assert person == uow.people.get(person.id)
    finally:
        database.dispose()


@pytest.mark.postgres
def test_postgres_schema_lifecycle(make_pg_database):
    """On PostgreSQL: empty is refused, upgrade creates the schema once, newer too."""
    dsn = make_pg_database()
    database = SqlDatabase.postgres(dsn)
    try:
        with pytest.raises(SchemaMismatch) as empty:
            database.check()
        first, second = database.upgrade(at=AT), database.upgrade(at=LATER)
        database.check()
        versions = stamped_versions(database)
        stamp(database, 99)
        reopened = SqlDatabase.postgres(dsn)
        with pytest.raises(SchemaMismatch) as newer:
            reopened.check()
        reopened.dispose()
    finally:
        database.dispose()
    assert (0, CURRENT_VERSION, CURRENT_VERSION, EVERY_VERSION, 99) == (
        empty.value.found,
        first,
        second,
        versions,
        newer.value.found,
    )


@pytest.mark.postgres
def test_postgres_database_of_another_application_is_refused(make_pg_database):
    """A PostgreSQL database with foreign tables is refused and left alone."""
    database = SqlDatabase.postgres(make_pg_database())
    try:
        with database.engine.begin() as connection:
            connection.exec_driver_sql("CREATE TABLE invoices (id INTEGER)")
        with pytest.raises(SchemaMismatch) as caught:
            database.upgrade(at=AT)
        tables = table_names(database)
    finally:
        database.dispose()
    assert (None, {"invoices"}) == (caught.value.found, tables)


def before_the_link_index(database):
    """
    Take a database at this version back to before the link index.

    The activities it holds are then as an older crmkit stored them: no link rows.
    """
    step = next(m for m in _migrations.MIGRATIONS if m.apply is _add_entity_links)
    with database.engine.begin() as connection:
        ENTITY_LINKS.drop(connection)
        connection.execute(
            delete(SCHEMA_VERSIONS).where(SCHEMA_VERSIONS.c.version >= step.version)
        )
    return step.version - 1


def test_upgrading_indexes_the_links_of_entities_stored_before(
    make_sqlite, monkeypatch
):
    """Activities and deals stored before the link index are found after upgrading."""
    database = make_sqlite()
    database.upgrade(at=AT)
    lead_id, person_id = uuid4(), uuid4()
    calls = [
        Activity.create(
            at=AT,
            kind=ActivityKind.CALL,
            subject=f"Call {number}",
            lead_ids=(lead_id,) if number % 2 else (),
            parties=(PartyRef(PartyKind.PERSON, person_id),),
        )
        for number in range(5)
    ]
    deal = Deal.create(
        at=AT, name="Renewal", pipeline="s", stage="q", contact_ids=(person_id,)
    )
    with database.unit_of_work() as uow:
        uow.activities.add_many(calls)
        uow.deals.add(deal)
        uow.activities.delete(calls[1].id, at=AT)  # archived ones keep their links
        uow.commit()
    older = before_the_link_index(database)
    assert older == database.schema_version()
    assert "entity_link" not in table_names(database)
    monkeypatch.setattr(_migrations, "_BACKFILL_ROWS", 2)  # several pages
    assert CURRENT_VERSION == database.upgrade(at=LATER)
    with database.unit_of_work(readonly=True) as uow:
        by_lead = uow.activities.find(
            where={"lead_ids": contains(lead_id)}, include_archived=True
        )
        by_person = uow.activities.count(where={"party_ids": contains(person_id)})
        deals = uow.deals.find(where={"contact_ids": contains(person_id)})
    assert sorted([calls[1].id, calls[3].id]) == sorted(a.id for a in by_lead.items)
    assert (4, [deal.id]) == (by_person, [d.id for d in deals.items])
