"""The index of a database: built from its people and leads, kept current, saved."""

from datetime import UTC, datetime, timedelta

import pytest

from crmkit import EmailAddress, Lead, Organization, Person, PhoneNumber
from crmkit.dedup import (
    DedupIndex,
    _index_sync,
    build_index,
    catch_up,
    lead_record,
    person_record,
)
from crmkit.errors import ValidationError
from crmkit.model import OrganizationRole
from crmkit.repositories.memory import MemoryDatabase
from crmkit.repositories.sql import SqlDatabase
from crmkit.values import PostalAddress

NOW = datetime(2026, 11, 22, 9, 0, tzinfo=UTC)
ACME = Organization.create(at=NOW, name="Acme Industrie SAS")
CLAIRE = Person.create(
    at=NOW,
    first_name="Claire",
    last_name="Lefèvre",
    emails=[EmailAddress("claire.lefevre@acme.fr")],
    phones=[PhoneNumber.parse("06 12 34 56 78", region="FR")],
    addresses=[PostalAddress(lines=("3 rue Lepic",), postcode="75018", city="Paris")],
    roles=[OrganizationRole(organization_id=ACME.id, is_primary=True)],
)
PAUL = Person.create(at=NOW, first_name="Paul", last_name="Martin")
LEAD = Lead.create(
    at=NOW,
    first_name="Claire",
    last_name="Lefevre",
    company_name="ACME Industrie",
    email=EmailAddress("Claire.Lefevre@acme.fr"),
)
CHECKED = {
    "first_name": "claire",
    "last_name": "LEFEVRE",
    "email": "claire.lefevre@acme.fr",
}


def _store(database, *entities):
    with database.unit_of_work() as uow:
        for entity in entities:
            uow.repository(type(entity)).add(entity)
        uow.commit()


@pytest.fixture(params=["memory", "sqlite"])
def database(request, tmp_path):
    if request.param == "memory":
        db = MemoryDatabase()
    else:
        db = SqlDatabase.sqlite(tmp_path / "crm.db")
        db.upgrade(at=NOW)
    _store(db, ACME, CLAIRE, PAUL, LEAD)
    yield db
    if request.param == "sqlite":
        db.dispose()


def _found(index, record=CHECKED):
    return {c.record_id: c.kind for c in index.find_matches(record)}


def test_records_of_people_and_leads():
    record = person_record(CLAIRE, {ACME.id: ACME.name})
    assert record == {
        "id": str(CLAIRE.id),
        "first_name": "Claire",
        "last_name": "Lefèvre",
        "email": "claire.lefevre@acme.fr",
        "phone": "+33612345678",
        "company": "Acme Industrie SAS",
        "street": "3 rue Lepic",
        "city": "Paris",
        "postal_code": "75018",
        "country": "",
    }
    assert person_record(PAUL, {})["company"] == ""
    assert lead_record(LEAD)["company"] == "ACME Industrie"
    assert lead_record(Lead.create(at=NOW, last_name="X"))["email"] == ""


def test_built_from_the_database_people_and_leads(database):
    index = build_index(database)
    assert len(index) == 3
    assert index.cursor > 0
    assert _found(index) == {str(CLAIRE.id): "person", str(LEAD.id): "lead"}
    without_leads = build_index(database, leads=False)
    assert _found(without_leads) == {str(CLAIRE.id): "person"}


def test_catch_up_follows_adds_updates_archives_deletes_and_restores(database):
    index = build_index(database)
    assert catch_up(index, database) == 0
    later = NOW + timedelta(hours=1)
    twin = Person.create(at=later, first_name="Claire", last_name="Lefevre")
    _store(database, twin)
    with database.unit_of_work() as uow:
        uow.leads.update(
            LEAD.update({"last_name": "Quint", "email": None}, at=later).entity
        )
        uow.people.delete(CLAIRE.id, at=later)
        uow.commit()
    assert catch_up(index, database) == 3
    assert _found(index) == {str(twin.id): "person"}
    assert str(CLAIRE.id) not in index
    with database.unit_of_work() as uow:
        uow.people.restore(CLAIRE.id, at=later)
        uow.people.delete(twin.id, at=later, hard=True)
        uow.commit()
    assert catch_up(index, database, batch_size=1) == 2
    assert _found(index) == {str(CLAIRE.id): "person"}
    assert catch_up(index, database) == 0


def test_a_restarted_process_loads_the_saved_index_and_catches_up(database, tmp_path):
    index = build_index(database)
    index.save(tmp_path / "index.npz")
    later = NOW + timedelta(hours=1)
    twin = Person.create(at=later, first_name="Claire", last_name="Lefevre")
    _store(database, twin)  # while the process was down
    loaded = DedupIndex.load(tmp_path / "index.npz")
    assert loaded.cursor == index.cursor
    assert loaded.config == index.config
    assert sorted(loaded.ids) == sorted(index.ids)
    assert catch_up(loaded, database) == 1
    assert str(twin.id) in _found(loaded)
    before = {c.record_id: c.explanation for c in index.find_matches(CHECKED)}
    after = {c.record_id: c.explanation for c in loaded.find_matches(CHECKED)}
    assert {k: v for k, v in after.items() if k in before} == before


def test_a_transaction_committed_after_a_later_one_is_not_missed():
    """Outbox ids taken in one order, committed in the other: the gap is filled."""
    database = MemoryDatabase()
    _store(database, CLAIRE)
    index = build_index(database)
    twin = Person.create(at=NOW, first_name="Claire", last_name="Lefevre")
    slow, fast = database.unit_of_work(), database.unit_of_work()
    with slow:
        slow.people.add(twin)  # takes the lower outbox id
        with fast:
            fast.people.add(PAUL)
            fast.commit()
        assert catch_up(index, database) == 1  # Paul
        assert str(twin.id) not in index
        assert index.gaps == {index.cursor - 1}
        slow.commit()
    assert catch_up(index, database) == 1  # the twin, through the gap
    assert str(twin.id) in index
    assert index.gaps == set()


def test_gaps_of_rolled_back_units_are_forgotten_after_a_while(tmp_path, monkeypatch):
    database = MemoryDatabase()
    with database.unit_of_work() as uow:
        uow.people.add(PAUL)  # never committed: its id is a gap forever
    _store(database, CLAIRE)
    index = build_index(database)
    assert len(index.gaps) == 1
    index.save(tmp_path / "index.npz")
    assert DedupIndex.load(tmp_path / "index.npz").gaps == index.gaps
    monkeypatch.setattr(_index_sync, "_GAP_WINDOW", 3)
    _store(database, Person.create(at=NOW, first_name="Zoé", last_name="Quint"))
    assert catch_up(index, database) == 1
    assert index.gaps == {1}  # still among the last three ids
    _store(database, Person.create(at=NOW, first_name="Yves", last_name="Roux"))
    assert catch_up(index, database) == 1
    assert index.gaps == set()


def test_a_file_that_is_not_a_saved_index_is_refused(tmp_path):
    path = tmp_path / "other.npz"
    path.write_bytes(b"not a zip")
    with pytest.raises(ValidationError, match="not a saved DedupIndex") as error:
        DedupIndex.load(path)
    assert error.value.errors[0].value == str(path)
    import numpy as np  # noqa: PLC0415

    np.savez(tmp_path / "arrays.npz", header=np.frombuffer(b'{"format": 0}', np.uint8))
    with pytest.raises(ValidationError, match="format"):
        DedupIndex.load(tmp_path / "arrays.npz")
    with pytest.raises(ValidationError, match="missing"):
        DedupIndex.load(tmp_path / "missing.npz")


def test_an_empty_database_gives_an_empty_index_at_cursor_zero():
    index = build_index(MemoryDatabase())
    assert len(index) == 0
    assert index.cursor == 0
