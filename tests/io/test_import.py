"""Importing rows: validation, rejects, batches, re-imports, companies, summary."""

import csv
import hashlib
import json
from datetime import date, timedelta
from decimal import Decimal

import attrs
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from crmkit.errors import AlreadyExists, InvalidDefinition, ValidationError
from crmkit.io import (
    REJECT_COLUMNS,
    ColumnMapping,
    ImportMapping,
    ImportProgress,
    import_entities,
    mapping_from_dict,
    read_mapping,
    row_key_system,
)
from crmkit.model import CustomField, EntitySchema, Organization, Person
from crmkit.repositories.memory import MemoryDatabase
from crmkit.repositories.sql import SqlDatabase
from crmkit.values import Money

HEADER = [
    "ID",
    "Prénom",
    "Nom",
    "Nom complet",
    "Email",
    "Téléphone",
    "Mobile",
    "Société",
    "Adresse",
    "CP",
    "Ville",
    "Pays",
    "Naissance",
    "Segment",
    "Tags",
    "Notes",
]
MAPPING = mapping_from_dict(
    {
        "entity": "person",
        "options": {
            "phone_region": "FR",
            "date_format": "%d/%m/%Y",
            "batch_size": 3,
            "external_id": {"system": "legacy_crm", "column": "ID"},
        },
        "columns": {
            "Prénom": "first_name",
            "Nom": "last_name",
            "Nom complet": {"field": "name", "transform": "split_full_name"},
            "Email": "emails",
            "Téléphone": "phones",
            "Mobile": "phones",
            "Société": "company",
            "Adresse": "address.lines",
            "CP": "address.postcode",
            "Ville": "address.city",
            "Pays": {
                "field": "address.country",
                "map": {"France": "FR", "Belgique": "BE", "Suisse": "CH"},
            },
            "Naissance": {"field": "birth_date"},
            "Segment": {
                "field": "custom.segment",
                "map": {"PME": "smb", "Grand compte": "enterprise"},
            },
            "Tags": {"field": "tags", "split": ","},
        },
    }
)


def _row(**cells: str) -> list[str]:
    names = {
        "id": "ID",
        "first": "Prénom",
        "last": "Nom",
        "full": "Nom complet",
        "email": "Email",
        "phone": "Téléphone",
        "mobile": "Mobile",
        "company": "Société",
        "street": "Adresse",
        "postcode": "CP",
        "city": "Ville",
        "country": "Pays",
        "born": "Naissance",
        "segment": "Segment",
        "tags": "Tags",
        "notes": "Notes",
    }
    by_column = {names[key]: value for key, value in cells.items()}
    return [by_column.get(column, "") for column in HEADER]


def _rejects(summary) -> list[dict[str, str]]:
    with summary.rejects_path.open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


def _people(database) -> list[Person]:
    with database.unit_of_work() as uow:
        people = [p for batch in uow.people.batches() for p in batch]
    return sorted(people, key=lambda p: (p.last_name or "", p.first_name or ""))


def _by_legacy_id(database, value: str) -> Person:
    with database.unit_of_work() as uow:
        found = uow.people.find_by_external_id("legacy_crm", value)
    assert found is not None
    return found


def _organizations(database) -> list[Organization]:
    with database.unit_of_work() as uow:
        return [o for batch in uow.organizations.batches() for o in batch]


def test_malformed_email_is_rejected_while_the_rest_of_its_batch_lands(
    write_csv, database, at
):
    """Row 2's bad email is rejected with its row number; rows 1 and 3 are stored."""
    path = write_csv(
        [
            HEADER,
            _row(id="1", first="Jean", last="Dupont", email="jean@acme.fr"),
            _row(id="2", first="Marie", last="Durand", email="jean@@x.fr"),
            _row(id="3", first="Anne", last="Roy", email="anne@acme.fr"),
        ]
    )
    summary = import_entities(database, path, mapping=MAPPING, at=at)
    assert [
        {
            "row": "2",
            "column": "Email",
            "value": "jean@@x.fr",
            "reason": ("The part after the @-sign contains invalid characters: '@'."),
            "line": "3",
            "field": "emails[0]",
            "code": "email.invalid",
        }
    ] == _rejects(summary)
    assert (2, 1) == (summary.created, summary.rejected)
    assert ["Dupont", "Roy"] == [p.last_name for p in _people(database)]


def test_every_problem_of_a_row_gets_its_own_line(write_csv, sqlite_db, at):
    """A row with three bad fields gives three reject lines, each with its column."""
    path = write_csv(
        [
            HEADER,
            _row(
                id="7",
                last="Martin",
                email="martin@",
                mobile="06 12",
                born="31/02/1980",
                country="Allemagne",
            ),
        ]
    )
    summary = import_entities(sqlite_db, path, mapping=MAPPING, at=at)
    found = [(r["column"], r["value"], r["field"]) for r in _rejects(summary)]
    assert [
        ("Naissance", "31/02/1980", "birth_date"),
        ("Email", "martin@", "emails[0]"),
        ("Mobile", "06 12", "phones[0]"),
        ("Pays", "Allemagne", "addresses[0].country"),
    ] == found
    assert (1, 4) == (summary.rejected, summary.problems)
    assert list(REJECT_COLUMNS) == list(_rejects(summary)[0])


def test_the_whole_example_row_becomes_a_person(write_csv, sqlite_db, at):
    """Every kind of column of the example mapping lands in its field."""
    path = write_csv(
        [
            HEADER,
            _row(
                id="42",
                full="Jean-Pierre de La Fontaine",
                email="jp@fontaine.fr",
                phone="01 23 45 67 89",
                mobile="06 12 34 56 78",
                company="Fontaine  Conseil",
                street="12 rue de la Paix",
                postcode="75002",
                city="Paris",
                country="France",
                born="01/02/1980",
                segment="Grand compte",
                tags="vip, salon 2025,,",
                notes="ignored",
            ),
        ]
    )
    summary = import_entities(sqlite_db, path, mapping=MAPPING, at=at)
    person = _by_legacy_id(sqlite_db, "42")
    [organization] = _organizations(sqlite_db)
    address = person.primary_address
    assert address is not None
    assert ("Jean-Pierre", "de La Fontaine") == (person.first_name, person.last_name)
    assert ["+33123456789", "+33612345678"] == [p.e164 for p in person.phones]
    assert ("12 rue de la Paix",) == address.lines
    assert ("75002", "Paris", "FR") == (address.postcode, address.city, address.country)
    assert date(1980, 2, 1) == person.birth_date
    assert {"segment": "enterprise"} == dict(person.custom)
    assert frozenset({"vip", "salon 2025"}) == person.tags
    assert {"legacy_crm": "42"} == dict(person.external_ids)
    assert "Fontaine Conseil" == organization.name
    assert organization.id == person.primary_organization_id
    assert (("Notes",), 1) == (summary.unmapped_columns, summary.organizations_created)


def test_explicit_name_columns_win_over_the_split_full_name(write_csv, sqlite_db, at):
    """split_full_name fills only the parts no other column gives."""
    path = write_csv(
        [
            HEADER,
            _row(id="1", first="Jean-Marc", full="DUPONT Jean"),
            _row(id="2", full="Mme Claire Lefèvre"),
        ]
    )
    import_entities(sqlite_db, path, mapping=MAPPING, at=at)
    first, second = _by_legacy_id(sqlite_db, "1"), _by_legacy_id(sqlite_db, "2")
    assert ("Jean-Marc", "DUPONT") == (first.first_name, first.last_name)
    assert ("Mme", "Claire", "Lefèvre") == (
        second.salutation,
        second.first_name,
        second.last_name,
    )


def test_reimport_updates_the_mapped_fields_only(write_csv, database, at):
    """A second import of the same legacy ids updates; other fields are untouched."""
    first = write_csv(
        [
            HEADER,
            _row(
                id="1", first="Jean", last="Dupont", email="jean@acme.fr", city="Paris"
            ),
            _row(id="2", first="Anne", last="Roy", segment="PME"),
        ]
    )
    assert 2 == import_entities(database, first, mapping=MAPPING, at=at).created
    jean = _by_legacy_id(database, "1")
    with database.unit_of_work() as uow:
        uow.people.update(
            jean.update({"job_title": "Acheteur"}, at=at + timedelta(hours=1)).entity
        )
        uow.commit()
    second = write_csv(
        [
            HEADER,
            _row(id="1", first="Jean", last="Dupont", email="j.dupont@acme.fr"),
            _row(id="2", first="Anne", last="Roy", segment="PME"),
            _row(id="3", first="Zoé", last="Martin"),
        ],
        name="contacts-2.csv",
    )
    later = at + timedelta(days=1)
    summary = import_entities(database, second, mapping=MAPPING, at=later)
    assert (1, 1, 1) == (summary.created, summary.updated, summary.unchanged)
    assert 3 == len(_people(database))
    jean = _by_legacy_id(database, "1")
    assert ["j.dupont@acme.fr"] == [str(e) for e in jean.emails]
    assert "Acheteur" == jean.job_title
    assert "Paris" == jean.primary_address.city
    assert (3, later) == (jean.version, jean.updated_at)


def test_partial_update_file_needs_only_the_legacy_id(write_csv, database, at):
    """A row with only an id and a city updates a stored person; it creates none."""
    import_entities(
        database,
        write_csv(
            [HEADER, _row(id="1", last="Dupont", postcode="75002", city="Paris")]
        ),
        mapping=MAPPING,
        at=at,
    )
    path = write_csv(
        [HEADER, _row(id="1", city="Lyon"), _row(id="9", city="Nantes")],
        name="cities.csv",
    )
    summary = import_entities(database, path, mapping=MAPPING, at=at)
    person = _by_legacy_id(database, "1")
    assert ("Dupont", "75002", "Lyon") == (
        person.last_name,
        person.primary_address.postcode,
        person.primary_address.city,
    )
    assert [("2", "last_name", "identity.missing")] == [
        (r["row"], r["column"], r["code"]) for r in _rejects(summary)
    ]
    assert (1, 1) == (summary.updated, summary.rejected)


def test_without_external_id_a_rerun_skips_rows_already_imported(
    write_csv, database, at
):
    """Each created person carries its row key; the same file again stores nothing."""
    mapping = ImportMapping(
        columns={"Prénom": "first_name", "Nom": "last_name"},
        options={"batch_size": 2},
    )
    path = write_csv(
        [["Prénom", "Nom"], ["Jean", "Dupont"], ["", ""], ["Anne", "Roy"], ["Zoé", ""]]
    )
    first = import_entities(database, path, mapping=mapping, at=at)
    again = import_entities(database, path, mapping=mapping, at=at)
    system = row_key_system(hashlib.sha256(path.read_bytes()).hexdigest())
    assert (3, 0) == (first.created, first.skipped_already_imported)
    assert (0, 3, 1) == (again.created, again.skipped_already_imported, again.blank)
    keys = sorted(p.external_ids[system] for p in _people(database))
    assert ["1", "3", "4"] == keys


def test_company_is_found_or_created_once(write_csv, database, at):
    """Rows naming the same company share one organisation; a re-run adds none."""
    path = write_csv(
        [
            HEADER,
            _row(id="1", last="Dupont", company="Acme Industrie"),
            _row(id="2", last="Durand", company="Acme  Industrie"),
            _row(id="3", last="Roy", company="Batiplus"),
            _row(id="4", last="Martin", company="Acme Industrie"),
        ]
    )
    first = import_entities(database, path, mapping=MAPPING, at=at)
    again = import_entities(database, path, mapping=MAPPING, at=at)
    organizations = {o.name: o.id for o in _organizations(database)}
    assert {"Acme Industrie", "Batiplus"} == set(organizations)
    assert (2, 0, 4) == (
        first.organizations_created,
        again.organizations_created,
        again.unchanged,
    )
    assert organizations["Acme Industrie"] == (
        _by_legacy_id(database, "4").primary_organization_id
    )


def test_a_new_company_becomes_the_primary_role(write_csv, database, at):
    """A person who moved company keeps the old role, no longer primary, and back."""
    import_entities(
        database,
        write_csv([HEADER, _row(id="1", last="Dupont", company="Acme")]),
        mapping=MAPPING,
        at=at,
    )
    import_entities(
        database,
        write_csv([HEADER, _row(id="1", company="Batiplus")], name="moved.csv"),
        mapping=MAPPING,
        at=at,
    )
    person = _by_legacy_id(database, "1")
    names = {o.id: o.name for o in _organizations(database)}
    assert [("Acme", False), ("Batiplus", True)] == [
        (names[r.organization_id], r.is_primary) for r in person.roles
    ]
    import_entities(
        database,
        write_csv([HEADER, _row(id="1", company="Acme")], name="back.csv"),
        mapping=MAPPING,
        at=at,
    )
    person = _by_legacy_id(database, "1")
    assert [("Acme", True), ("Batiplus", False)] == [
        (names[r.organization_id], r.is_primary) for r in person.roles
    ]


def test_company_legacy_id_matches_before_the_name(write_csv, database, at):
    """With a company id column, a renamed company is still the same organisation."""
    mapping = mapping_from_dict(
        {
            "options": {
                "external_id": {"system": "legacy_crm", "column": "ID"},
                "company_external_id": {"system": "legacy_accounts", "column": "SID"},
            },
            "columns": {"Nom": "last_name", "Société": "company"},
        }
    )
    header = ["ID", "Nom", "Société", "SID"]
    import_entities(
        database,
        write_csv([header, ["1", "Dupont", "Acme", "A1"], ["2", "Roy", "Acme", "A1"]]),
        mapping=mapping,
        at=at,
    )
    import_entities(
        database,
        write_csv([header, ["3", "Martin", "Acme SAS", "A1"]], name="b.csv"),
        mapping=mapping,
        at=at,
    )
    [organization] = _organizations(database)
    assert {"legacy_accounts": "A1"} == dict(organization.external_ids)
    assert {organization.id} == {p.primary_organization_id for p in _people(database)}


def test_an_ambiguous_company_name_rejects_the_row(write_csv, database, at):
    """Two stored organisations with the row's company name: the row is rejected."""
    with database.unit_of_work() as uow:
        uow.organizations.add(Organization.create(at=at, name="Acme"))
        uow.organizations.add(Organization.create(at=at, name="Acme"))
        uow.commit()
    path = write_csv([HEADER, _row(id="1", last="Dupont", company="Acme")])
    summary = import_entities(database, path, mapping=MAPPING, at=at)
    [reject] = _rejects(summary)
    assert ("Société", "Acme", "company.ambiguous") == (
        reject["column"],
        reject["value"],
        reject["code"],
    )


def test_custom_fields_are_typed_by_the_schema(write_csv, tmp_path, at):
    """With a schema, custom cells become integers, decimals, flags, dates, money."""
    schema = EntitySchema(
        custom_fields=[
            CustomField(name="segment", type="choice", choices=["smb", "enterprise"]),
            CustomField(name="seats", type="integer"),
            CustomField(name="revenue", type="decimal"),
            CustomField(name="newsletter", type="bool"),
            CustomField(name="since", type="date"),
            CustomField(name="budget", type="money"),
            CustomField(name="products", type="multi_choice", choices=["crm", "erp"]),
        ]
    )
    mapping = mapping_from_dict(
        {
            "options": {"decimal_separator": ",", "date_format": "%d/%m/%Y"},
            "columns": {
                "Nom": "last_name",
                "Segment": {"field": "custom.segment", "map": {"PME": "smb"}},
                "Postes": "custom.seats",
                "CA": "custom.revenue",
                "Newsletter": "custom.newsletter",
                "Client depuis": "custom.since",
                "Budget": "custom.budget",
                "Produits": {"field": "custom.products", "split": "+"},
            },
        }
    )
    header = ["Nom", "Segment", "Postes", "CA", "Newsletter", "Client depuis"]
    header += ["Budget", "Produits"]
    path = write_csv(
        [
            header,
            [
                "Dupont",
                "PME",
                "1 200",
                "1.234,50",
                "oui",
                "03/04/2021",
                "EUR 1500",
                "crm+erp",
            ],
            ["Roy", "Startup", "douze", "abc", "peut-être", "2021", "15", "paie"],
        ]
    )
    database = SqlDatabase.sqlite(tmp_path / "typed.db", schemas={Person: schema})
    database.upgrade(at=at)
    summary = import_entities(
        database, path, mapping=mapping, at=at, schemas={Person: schema}
    )
    [person] = _people(database)
    assert {
        "segment": "smb",
        "seats": 1200,
        "revenue": Decimal("1234.50"),
        "newsletter": True,
        "since": date(2021, 4, 3),
        "budget": Money(Decimal(1500), "EUR"),
        "products": ("crm", "erp"),
    } == dict(person.custom)
    assert [
        "Postes",
        "Newsletter",
        "Client depuis",
        "Budget",
        "Segment",
        "CA",
        "Produits",
    ] == [r["column"] for r in _rejects(summary)]


def test_custom_fields_without_a_schema_are_text(write_csv, sqlite_db, at):
    """Without a schema, a custom column is stored as the text it holds."""
    mapping = ImportMapping(columns={"Nom": "last_name", "Secteur": "custom.sector"})
    path = write_csv([["Nom", "Secteur"], ["Dupont", "Industrie"]])
    import_entities(sqlite_db, path, mapping=mapping, at=at)
    assert [{"sector": "Industrie"}] == [dict(p.custom) for p in _people(sqlite_db)]


def test_json_lines_input(tmp_path, database, at):
    """JSON lines: keys are columns, arrays feed many values, bad lines reject."""
    path = tmp_path / "contacts.jsonl"
    lines = [
        {
            "id": 1,
            "first": "Jean",
            "last": "Dupont",
            "emails": ["a@acme.fr", "b@acme.fr"],
        },
        "not json",
        {"id": 3, "first": "Anne", "last": None, "emails": "anne@acme.fr"},
        [1, 2],
        {"id": 5, "first": "Zoé", "emails": {"work": "z@acme.fr"}},
        {"id": 6, "first": "Léa", "postcode": 75002},
    ]
    path.write_text(
        "\n".join(line if isinstance(line, str) else json.dumps(line) for line in lines)
        + "\n\n",
        encoding="utf-8",
    )
    mapping = mapping_from_dict(
        {
            "options": {"external_id": {"system": "legacy_crm", "column": "id"}},
            "columns": {
                "first": "first_name",
                "last": "last_name",
                "emails": "emails",
                "postcode": "address.postcode",
            },
        }
    )
    summary = import_entities(database, path, mapping=mapping, at=at)
    assert ("jsonl", None, 3, 3) == (
        summary.format,
        summary.delimiter,
        summary.created,
        summary.rejected,
    )
    assert ["2", "4", "5"] == [r["row"] for r in _rejects(summary)]
    assert ["json.invalid", "json.object", "json.value"] == [
        r["code"] for r in _rejects(summary)
    ]
    assert ["a@acme.fr", "b@acme.fr"] == [
        str(e) for e in _by_legacy_id(database, "1").emails
    ]
    assert "75002" == _by_legacy_id(database, "6").primary_address.postcode


def test_mapping_with_an_unknown_field_is_refused_before_any_row_is_read(
    tmp_path, sqlite_db, at
):
    """Unknown fields are refused when the mapping is read, or before the file is."""
    toml = tmp_path / "map.toml"
    toml.write_text('[columns]\n"Nom" = "surname"\n', encoding="utf-8")
    with pytest.raises(InvalidDefinition) as caught:
        read_mapping(toml)
    assert 'columns."Nom".field' == caught.value.path
    schema = EntitySchema(custom_fields=[CustomField(name="segment", type="text")])
    mapping = mapping_from_dict({"columns": {"Secteur": "custom.sector"}})
    missing_file = tmp_path / "never-read.csv"
    with pytest.raises(InvalidDefinition) as unknown_custom:
        import_entities(
            sqlite_db, missing_file, mapping=mapping, at=at, schemas={Person: schema}
        )
    assert 'columns."Secteur".field' == unknown_custom.value.path
    assert [] == _people(sqlite_db)


def test_a_storage_refusal_rejects_only_that_row(write_csv, at):
    """A row the repository refuses is rejected; the others of its batch land."""

    class _RefusingDatabase(MemoryDatabase):
        def unit_of_work(self, *, readonly=False):
            unit = super().unit_of_work(readonly=readonly)
            people = unit.people
            add_many = people.add_many

            def refuse_roy(entity, *, actor=None):
                refuse_roys([entity], actor=actor)

            def refuse_roys(entities, *, actor=None):
                entities = list(entities)
                if any(entity.last_name == "Roy" for entity in entities):
                    raise AlreadyExists("person", "external id legacy_crm", "2")
                add_many(entities, actor=actor)

            people.add, people.add_many = refuse_roy, refuse_roys
            unit.repository = lambda cls: (
                people if cls is Person else type(unit).repository(unit, cls)
            )
            return unit

    database = _RefusingDatabase()
    path = write_csv(
        [
            HEADER,
            _row(id="1", last="Dupont"),
            _row(id="2", last="Roy"),
            _row(id="3", last="Martin"),
        ]
    )
    summary = import_entities(database, path, mapping=MAPPING, at=at)
    [reject] = _rejects(summary)
    assert ("2", "storage.refused") == (reject["row"], reject["code"])
    assert ["Dupont", "Martin"] == [p.last_name for p in _people(database)]


def test_progress_is_reported_after_each_batch(write_csv, database, at):
    """The callback hears rows done out of the total, at the start and per batch."""
    rows = [_row(id=str(i), last=f"Nom{i}") for i in range(7)]
    seen: list[ImportProgress] = []
    import_entities(
        database,
        write_csv([HEADER, *rows]),
        mapping=MAPPING,
        at=at,
        progress=seen.append,
    )
    assert [(0, 7), (3, 7), (6, 7), (7, 7)] == [
        (p.rows_done, p.rows_total) for p in seen
    ]


def test_a_failed_run_leaves_no_rejects_file_behind(write_csv, sqlite_db, at):
    """When the run stops on an error, no rejects file (nor temporary file) remains."""
    path = write_csv([HEADER, *([_row(id="1", email="bad@")] * 5)])

    def stop(_: ImportProgress) -> None:
        raise RuntimeError

    with pytest.raises(RuntimeError):
        import_entities(sqlite_db, path, mapping=MAPPING, at=at, progress=stop)
    assert ["contacts.csv", "crm.db"] == sorted(
        p.name for p in path.parent.iterdir() if not p.name.startswith("crm.db-")
    )


def test_rejects_go_where_asked(write_csv, sqlite_db, at, tmp_path):
    """rejects_path puts the rejects file elsewhere."""
    target = tmp_path / "out" / "rejected.csv"
    target.parent.mkdir()
    path = write_csv([HEADER, _row(id="1", email="bad@")])
    summary = import_entities(
        sqlite_db, path, mapping=MAPPING, at=at, rejects_path=target
    )
    assert (target, 1) == (summary.rejects_path, len(_rejects(summary)))


def test_organizations_can_be_imported(write_csv, database, at):
    """entity = "organization" imports accounts, with integers and websites."""
    mapping = mapping_from_dict(
        {
            "entity": "organization",
            "options": {"external_id": {"system": "legacy_crm", "column": "ID"}},
            "columns": {
                "Raison sociale": "name",
                "Effectif": "employees",
                "Site": "website",
                "Ville": "address.city",
            },
        }
    )
    header = ["ID", "Raison sociale", "Effectif", "Site", "Ville"]
    path = write_csv(
        [
            header,
            ["A1", "Acme", "1 250", "https://acme.example", "Lyon"],
            ["A2", "Batiplus", "beaucoup", "", ""],
            ["A3", "", "12", "", ""],
        ]
    )
    summary = import_entities(database, path, mapping=mapping, at=at)
    [acme] = _organizations(database)
    assert (1250, "Lyon") == (acme.employees, acme.primary_address.city)
    assert [("Effectif", "integer.format"), ("name", "required")] == [
        (r["column"], r["code"]) for r in _rejects(summary)
    ]


def test_naive_instant_is_refused(write_csv, sqlite_db, at):
    """An import needs an aware instant."""
    path = write_csv([HEADER, _row(id="1", last="Dupont")])
    with pytest.raises(ValidationError):
        import_entities(sqlite_db, path, mapping=MAPPING, at=at.replace(tzinfo=None))


_CELL = st.one_of(
    st.just(""),
    st.sampled_from(["Jean", "DUPONT Marie", "jean@acme.fr", "bad@", "06 12 34 56 78"]),
    st.text(st.characters(codec="cp1252", exclude_categories=("Cc",)), max_size=8),
)


@settings(max_examples=25, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.lists(_CELL, min_size=4, max_size=4), max_size=12))
def test_every_row_is_accounted_for(tmp_path_factory, at, rows):
    """read = created + updated + unchanged + rejected + skipped + blank, always."""
    directory = tmp_path_factory.mktemp("rows")
    path = directory / "contacts.csv"
    with path.open("w", encoding="utf-8", newline="") as handle:
        csv.writer(handle).writerows([["Nom", "Email", "Mobile", "Nom complet"], *rows])
    mapping = ImportMapping(
        columns={
            "Nom": "last_name",
            "Email": "emails",
            "Mobile": "phones",
            "Nom complet": ColumnMapping(field="name", transform="split_full_name"),
        },
        options={"phone_region": "FR", "batch_size": 5},
    )
    database = MemoryDatabase()
    summary = import_entities(database, path, mapping=mapping, at=at)
    outcomes = attrs.asdict(summary)
    assert summary.read == sum(
        outcomes[k]
        for k in (
            "created",
            "updated",
            "unchanged",
            "rejected",
            "skipped_already_imported",
            "blank",
        )
    )
    assert len({r["row"] for r in _rejects(summary)}) == summary.rejected
    assert summary.created == len(_people(database))


def test_an_update_older_than_the_stored_entity_is_rejected(write_csv, database, at):
    """Re-importing at an instant before the last update refuses the row, saying so."""
    path = write_csv([HEADER, _row(id="1", last="Dupont")])
    import_entities(database, path, mapping=MAPPING, at=at)
    changed = write_csv([HEADER, _row(id="1", last="Durand")], name="older.csv")
    summary = import_entities(
        database, changed, mapping=MAPPING, at=at - timedelta(days=1)
    )
    [reject] = _rejects(summary)
    assert ("at", "time.order") == (reject["column"], reject["code"])
    assert "Dupont" == _by_legacy_id(database, "1").last_name


def test_a_company_found_by_name_gets_its_legacy_id(write_csv, database, at):
    """An organisation stored without the legacy id is matched by name and given it."""
    with database.unit_of_work() as uow:
        uow.organizations.add(Organization.create(at=at, name="Batiplus"))
        uow.commit()
    mapping = mapping_from_dict(
        {
            "options": {
                "company_external_id": {"system": "legacy_accounts", "column": "SID"}
            },
            "columns": {"Nom": "last_name", "Société": "company"},
        }
    )
    path = write_csv([["Nom", "Société", "SID"], ["Roy", "Batiplus", "B7"]])
    summary = import_entities(database, path, mapping=mapping, at=at)
    [organization] = _organizations(database)
    assert {"legacy_accounts": "B7"} == dict(organization.external_ids)
    assert 0 == summary.organizations_created


def test_a_company_that_cannot_be_created_rejects_the_row(write_csv, database, at):
    """An organisation schema the new company fails: the row is rejected, explained."""
    schema = EntitySchema(
        custom_fields=[CustomField(name="siren", type="text", required=True)]
    )
    path = write_csv([HEADER, _row(id="1", last="Dupont", company="Acme")])
    summary = import_entities(
        database, path, mapping=MAPPING, at=at, schemas={Organization: schema}
    )
    [reject] = _rejects(summary)
    assert ("Société", "Acme", "company.invalid") == (
        reject["column"],
        reject["value"],
        reject["code"],
    )
    assert "custom.siren" in reject["reason"]


def test_json_arrays_and_flags(tmp_path, sqlite_db, at):
    """A JSON array in a single-valued field is refused; true becomes "true"."""
    path = tmp_path / "contacts.ndjson"
    path.write_text(
        '{"last": ["Dupont", "Durand"]}\n{"last": "Roy", "vip": true}\n',
        encoding="utf-8",
    )
    mapping = ImportMapping(columns={"last": "last_name", "vip": "custom.vip"})
    summary = import_entities(sqlite_db, path, mapping=mapping, at=at)
    [reject] = _rejects(summary)
    assert ("last", "Dupont, Durand", "cell.many") == (
        reject["column"],
        reject["value"],
        reject["code"],
    )
    assert [{"vip": "true"}] == [dict(p.custom) for p in _people(sqlite_db)]


def test_small_reading_rules(write_csv, sqlite_db, at):
    """ISO dates without a format, values mapped to "", repeated values, "non"."""
    schema = EntitySchema(custom_fields=[CustomField(name="optin", type="bool")])
    mapping = mapping_from_dict(
        {
            "options": {"delimiter": ","},
            "columns": {
                "Nom": "last_name",
                "Né le": "birth_date",
                "Email": "emails",
                "Email pro": "emails",
                "Source": {"field": "source", "map": {"N/A": ""}},
                "Optin": "custom.optin",
            },
        }
    )
    header = ["Nom", "Né le", "Email", "Email pro", "Source", "Optin"]
    path = write_csv(
        [header, ["Roy", "1980-02-01", "a@roy.fr", "a@roy.fr", "N/A", "non"]],
        delimiter=",",
    )
    summary = import_entities(
        sqlite_db, path, mapping=mapping, at=at, schemas={Person: schema}
    )
    [person] = _people(sqlite_db)
    assert (1, date(1980, 2, 1), None) == (
        summary.created,
        person.birth_date,
        person.source,
    )
    assert (["a@roy.fr"], {"optin": False}) == (
        [str(e) for e in person.emails],
        dict(person.custom),
    )


def test_a_legacy_id_twice_in_one_batch_creates_then_updates(write_csv, database, at):
    """The second row of a legacy id updates what the first row of its batch made."""
    path = write_csv(
        [
            HEADER,
            _row(id="7", first="Jean", last="Dupont", city="Paris", company="Acme"),
            _row(id="8", first="Anne", last="Roy", company="Acme"),
            _row(id="7", first="Jean", last="Dupont", city="Lyon", company="Acme"),
        ]
    )
    summary = import_entities(database, path, mapping=MAPPING, at=at)
    jean = _by_legacy_id(database, "7")
    [acme] = _organizations(database)
    assert (2, 1, 0) == (summary.created, summary.updated, summary.rejected)
    assert ("Lyon", 2) == (jean.primary_address.city, jean.version)
    assert ["Dupont", "Roy"] == [p.last_name for p in _people(database)]
    assert [acme.id, acme.id] == [p.primary_organization_id for p in _people(database)]


def test_a_company_made_by_name_gets_the_legacy_id_of_a_later_row(
    write_csv, database, at
):
    """A company created from a row without its legacy id takes a later row's id."""
    mapping = mapping_from_dict(
        {
            "options": {
                "batch_size": 10,
                "company_external_id": {"system": "legacy_accounts", "column": "SID"},
            },
            "columns": {"Nom": "last_name", "Société": "company"},
        }
    )
    path = write_csv(
        [
            ["Nom", "Société", "SID"],
            ["Roy", "Batiplus", ""],
            ["Durand", "Batiplus", "B7"],
        ]
    )
    summary = import_entities(database, path, mapping=mapping, at=at)
    [organization] = _organizations(database)
    assert {"legacy_accounts": "B7"} == dict(organization.external_ids)
    assert (2, 1) == (summary.created, summary.organizations_created)
    assert [organization.id] * 2 == [
        p.roles[0].organization_id for p in _people(database)
    ]
