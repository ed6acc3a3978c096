"""Exporting entities: the CSV layout, JSON lines, atomic files, round trips."""

import csv
import io
import json
from decimal import Decimal

import pytest

from crmkit.errors import ValidationError
from crmkit.io import (
    ORGANIZATION_COLUMNS,
    PERSON_COLUMNS,
    ColumnMapping,
    ImportMapping,
    export_entities,
    import_entities,
)
from crmkit.model import (
    CustomField,
    Deal,
    EntitySchema,
    Organization,
    OrganizationRole,
    Person,
)
from crmkit.repositories.memory import MemoryDatabase
from crmkit.serialization import from_dict
from crmkit.values import EmailAddress, Money, PhoneNumber, PostalAddress


def _store(database, *entities) -> None:
    with database.unit_of_work() as uow:
        for entity in entities:
            uow.repository(type(entity)).add(entity)
        uow.commit()


def _sample(at):
    acme = Organization.create(
        at=at,
        name="Acme Industrie",
        annual_revenue=Money(Decimal("1200000.50"), "EUR"),
        external_ids={"legacy_crm": "A1"},
    )
    jean = Person.create(
        at=at,
        first_name="Jean",
        last_name="Dupont",
        emails=[EmailAddress("jean@acme.fr"), EmailAddress("j.dupont@acme.fr")],
        phones=[PhoneNumber("+33612345678")],
        addresses=[
            PostalAddress(
                lines=["12 rue de la Paix", "Bât. B"],
                postcode="75002",
                city="Paris",
                country="FR",
            )
        ],
        roles=[OrganizationRole(organization_id=acme.id, is_primary=True)],
        tags={"vip", "salon"},
        external_ids={"legacy_crm": "1", "crmkit-import:0123456789abcdef": "1"},
        custom={"segment": "smb"},
    )
    anne = Person.create(at=at, last_name="Roy")
    return acme, jean, anne


def _read_csv(path, delimiter=",") -> list[dict[str, str]]:
    with path.open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle, delimiter=delimiter))


def test_people_csv_layout(database, at, tmp_path):
    """People are flattened: joined values, company name, primary address, extras."""
    acme, jean, anne = _sample(at)
    _store(database, acme, jean, anne)
    path = tmp_path / "people.csv"
    summary = export_entities(database, Person, path, format="csv")
    rows = {row["last_name"]: row for row in _read_csv(path)}
    assert (*PERSON_COLUMNS, "external_id.legacy_crm", "custom.segment") == (
        summary.columns
    )
    assert list(summary.columns) == list(_read_csv(path)[0])
    assert {
        "id": str(jean.id),
        "version": "1",
        "first_name": "Jean",
        "emails": "jean@acme.fr; j.dupont@acme.fr",
        "phones": "+33612345678",
        "company": "Acme Industrie",
        "primary_organization_id": str(acme.id),
        "address.lines": "12 rue de la Paix; Bât. B",
        "address.postcode": "75002",
        "address.country": "FR",
        "address.region": "",
        "tags": "salon; vip",
        "created_at": "2026-11-22T09:00:00+00:00",
        "external_id.legacy_crm": "1",
        "custom.segment": "smb",
    }.items() <= rows["Dupont"].items()
    assert ("", "", "") == (
        rows["Roy"]["emails"],
        rows["Roy"]["company"],
        rows["Roy"]["custom.segment"],
    )
    assert (2, path) == (summary.count, summary.path)


def test_organizations_csv_layout(database, at, tmp_path):
    """Organisations get their own columns; money reads as amount and currency."""
    acme, _, _ = _sample(at)
    _store(database, acme)
    path = tmp_path / "organizations.csv"
    export_entities(database, Organization, path, delimiter=";")
    [row] = _read_csv(path, delimiter=";")
    assert [*ORGANIZATION_COLUMNS, "external_id.legacy_crm"] == list(row)
    assert ("Acme Industrie", "1200000.50 EUR") == (row["name"], row["annual_revenue"])


def test_schema_fields_are_the_custom_columns(database, at, tmp_path):
    """With a schema, every custom field has its column, even when all are empty."""
    schema = EntitySchema(
        custom_fields=[
            CustomField(name="segment", type="text"),
            CustomField(name="seats", type="integer"),
        ]
    )
    _store(database, Person.create(at=at, last_name="Roy"))
    summary = export_entities(
        database, Person, tmp_path / "p.csv", schemas={Person: schema}
    )
    assert ("custom.segment", "custom.seats") == summary.columns[-2:]
    assert "custom.seats" not in summary.columns[:-2]


def test_json_lines_hold_every_field(database, at, tmp_path):
    """Each JSON line reads back into the very entity that is stored."""
    acme, jean, anne = _sample(at)
    _store(database, acme, jean, anne)
    path = tmp_path / "people.jsonl"
    summary = export_entities(database, Person, path, format="jsonl")
    lines = path.read_text(encoding="utf-8").splitlines()
    back = {p.id: p for p in (from_dict(Person, json.loads(line)) for line in lines)}
    assert {jean.id: jean, anne.id: anne} == back
    assert (2, ()) == (summary.count, summary.columns)


def test_export_to_a_stream(database, at):
    """A text stream (stdout, say) is written as the export goes."""
    _store(database, Person.create(at=at, last_name="Roy"))
    out = io.StringIO()
    summary = export_entities(database, Person, out, format="jsonl")
    assert (None, 1) == (summary.path, len(out.getvalue().splitlines()))


def test_a_failed_export_leaves_the_old_file_and_no_temporary(at, tmp_path):
    """When the export fails midway, the previous file is intact, nothing else left."""

    class _Failing:
        def __init__(self, inner):
            self.inner = inner

        def unit_of_work(self, *, readonly=False):
            unit = self.inner.unit_of_work(readonly=readonly)
            people = unit.people
            original = people.batches

            def batches(**options):
                yield from original(**options)
                message = "disk on fire"
                raise OSError(message)

            people.batches = batches
            unit.repository = lambda _cls: people
            return unit

    database = MemoryDatabase()
    _store(database, Person.create(at=at, last_name="Roy"))
    path = tmp_path / "people.jsonl"
    path.write_text("previous export\n", encoding="utf-8")
    with pytest.raises(OSError, match="disk on fire"):
        export_entities(_Failing(database), Person, path, format="jsonl")
    assert "previous export\n" == path.read_text(encoding="utf-8")
    assert ["people.jsonl"] == [p.name for p in tmp_path.iterdir()]


def test_bad_requests_are_validation_errors(database, tmp_path):
    """An unknown format, or CSV of an entity without a layout, is refused."""
    out = tmp_path / "out"
    out.mkdir()
    with pytest.raises(ValidationError) as bad_format:
        export_entities(database, Person, out / "x", format="xml")
    with pytest.raises(ValidationError) as no_layout:
        export_entities(database, Deal, out / "x.csv")
    assert ("format", "cls") == (
        bad_format.value.errors[0].path,
        no_layout.value.errors[0].path,
    )
    assert [] == list(out.iterdir())


def test_exported_csv_imports_back(database, at, tmp_path):
    """An export read back through a mapping gives the same people."""
    acme, jean, anne = _sample(at)
    _store(database, acme, jean, anne)
    path = tmp_path / "people.csv"
    export_entities(database, Person, path)
    joined = {
        name: ColumnMapping(field=name, split=";")
        for name in ("emails", "phones", "tags", "address.lines")
    }
    plain = {
        name: ColumnMapping(field=name)
        for name in ("first_name", "last_name", "company", "custom.segment")
    }
    parts = {
        name: ColumnMapping(field=name)
        for name in ("address.postcode", "address.city", "address.country")
    }
    mapping = ImportMapping(
        columns=plain | joined | parts,
        options={"external_id": {"system": "previous_crm", "column": "id"}},
    )
    target = MemoryDatabase()
    _store(target, acme)
    summary = import_entities(target, path, mapping=mapping, at=at)
    assert (2, 0) == (summary.created, summary.rejected)
    with target.unit_of_work() as uow:
        copy = uow.people.find_by_external_id("previous_crm", str(jean.id))
    assert copy is not None
    fields = ("first_name", "last_name", "emails", "phones", "addresses", "tags")
    assert [getattr(jean, f) for f in fields] == [getattr(copy, f) for f in fields]
    assert (jean.custom, acme.id) == (copy.custom, copy.primary_organization_id)


def test_flags_and_structured_custom_values_in_csv(database, at, tmp_path):
    """Custom flags read true/false; other structured values are compact JSON."""
    _store(
        database,
        Person.create(
            at=at, last_name="Roy", custom={"vip": True, "scores": {"q1": 3}}
        ),
    )
    path = tmp_path / "people.csv"
    export_entities(database, Person, path)
    [row] = _read_csv(path)
    assert ("true", '{"q1": 3}') == (row["custom.vip"], row["custom.scores"])


@pytest.mark.parametrize(
    ("options", "field"),
    [({"delimiter": ";;"}, "delimiter"), ({"encoding": "klingon"}, "encoding")],
)
def test_bad_csv_options_are_refused(database, tmp_path, options, field):
    """A delimiter of several characters or an unknown encoding is refused."""
    with pytest.raises(ValidationError) as caught:
        export_entities(database, Person, tmp_path / "p.csv", **options)
    assert field == caught.value.errors[0].path
