"""Importing with dedup: skip, merge, review, create; against the database and file."""

import csv
from datetime import timedelta

import attrs
import pytest

from crmkit import EmailAddress, Lead, Organization, Person, PhoneNumber
from crmkit.dedup import Candidate, PairExplanation, Rule, build_index
from crmkit.errors import ConcurrencyError, InvalidDefinition
from crmkit.io import (
    DEDUP_COLUMNS,
    DedupLine,
    DedupPolicy,
    import_entities,
    import_merge_policy,
    mapping_from_dict,
)
from crmkit.io._dedup import fill_blanks
from crmkit.model import CustomField, EntitySchema, OrganizationRole
from crmkit.repositories.memory import MemoryDatabase
from crmkit.values import PostalAddress

MAPPING = mapping_from_dict(
    {
        "entity": "person",
        "options": {"phone_region": "FR", "batch_size": 2},
        "columns": {
            "first": "first_name",
            "last": "last_name",
            "email": "emails",
            "phone": "phones",
            "company": "company",
            "street": "address.lines",
            "zip": "address.postcode",
            "job": "job_title",
        },
    }
)
HEADER = ["first", "last", "email", "phone", "company", "street", "zip", "job"]
ROWS = [
    # 1: the stored Claire, with a new phone and job title
    [
        "Claire",
        "LEFEVRE",
        "claire.lefevre@acme.fr",
        "06 99 88 77 66",
        "",
        "",
        "",
        "CFO",
    ],
    # 2: a new person
    ["Paul", "Martin", "paul@martin.fr", "", "", "", "", ""],
    # 3: the same Paul as row 2, written otherwise
    ["paul", "MARTIN", "Paul@Martin.fr", "01 45 45 45 45", "", "", "", "CTO"],
    # 4: Claire's sister at the same address: a different person
    ["Marie", "Lefèvre", "marie@free.fr", "06 12 34 56 78", "", "", "", ""],
]


@pytest.fixture
def claire(database, at):
    acme = Organization.create(at=at, name="Acme")
    person = Person.create(
        at=at,
        first_name="Claire",
        last_name="Lefèvre",
        emails=[EmailAddress("claire.lefevre@acme.fr")],
        phones=[PhoneNumber.parse("06 12 34 56 78", region="FR")],
        roles=[OrganizationRole(organization_id=acme.id, is_primary=True)],
    )
    with database.unit_of_work() as uow:
        uow.organizations.add(acme)
        uow.people.add(person)
        uow.commit()
    return person


@pytest.fixture
def source(write_csv):
    return write_csv([HEADER, *ROWS], delimiter=",", encoding="utf-8")


def _people(database):
    with database.unit_of_work(readonly=True) as uow:
        return list(uow.people.find(limit=100).items)


def _lines(path):
    with path.open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


def _run(database, path, at, policy, **options):
    return import_entities(
        database, path, mapping=MAPPING, at=at, dedup=policy, **options
    )


def test_skip_stores_no_duplicate_of_the_database_or_the_file(
    database, claire, source, at
):
    summary = _run(database, source, at, DedupPolicy.SKIP)
    assert summary.read == 4
    assert summary.created == 2
    assert summary.duplicates_skipped == 2
    assert summary.duplicates_merged == summary.duplicates_for_review == 0
    names = sorted(p.first_name for p in _people(database))
    assert names == ["Claire", "Marie", "Paul"]
    lines = _lines(summary.dedup_path)
    assert summary.dedup_path == source.with_name("contacts.csv.dedup.csv")
    assert summary.dedup_lines == 2
    assert [(x["row"], x["action"]) for x in lines] == [
        ("1", "skipped"),
        ("3", "skipped"),
    ]
    assert lines[0]["candidate_id"] == str(claire.id)
    assert float(lines[0]["probability"]) > 0.9
    assert (
        "email 'claire.lefevre@acme.fr'~'claire.lefevre@acme.fr' 1.00"
        in lines[0]["evidence"]
    )
    assert lines[0]["company"] == ""
    assert list(lines[0]) == list(DEDUP_COLUMNS)


def test_merge_fills_blanks_and_adds_contact_points_never_overwriting(
    database, claire, source, at
):
    summary = _run(database, source, at, DedupPolicy.MERGE)
    assert summary.duplicates_merged == 2
    assert summary.created == 2
    people = {p.first_name: p for p in _people(database)}
    assert sorted(people) == ["Claire", "Marie", "Paul"]
    merged = people["Claire"]
    assert merged.last_name == "Lefèvre"  # stored value kept
    assert merged.job_title == "CFO"  # blank filled
    assert [p.e164 for p in merged.phones] == ["+33612345678", "+33699887766"]
    assert merged.roles == claire.roles
    assert merged.version == 2
    paul = people["Paul"]  # row 3 merged into row 2, stored in the same run
    assert paul.job_title == "CTO"
    assert [p.e164 for p in paul.phones] == ["+33145454545"]
    assert [e.normalized for e in paul.emails] == ["paul@martin.fr"]
    assert [x["action"] for x in _lines(summary.dedup_path)] == ["merged", "merged"]


@pytest.mark.usefixtures("claire")
def test_a_rerun_after_a_merge_changes_nothing_and_stores_nothing_twice(
    database, source, at
):
    _run(database, source, at, DedupPolicy.MERGE)
    before = {p.id: p for p in _people(database)}
    again = _run(database, source, at + timedelta(hours=1), DedupPolicy.MERGE)
    assert again.skipped_already_imported == 2
    assert again.duplicates_merged == 2
    assert again.created == 0
    assert {p.id: p for p in _people(database)} == before


@pytest.mark.usefixtures("claire")
def test_review_lists_the_rows_and_stores_them_not(database, source, at, tmp_path):
    target = tmp_path / "review.csv"
    summary = _run(database, source, at, DedupPolicy.REVIEW, dedup_path=target)
    assert summary.duplicates_for_review == 2
    assert summary.created == 2
    assert summary.dedup_path == target
    lines = _lines(target)
    assert [(x["row"], x["action"]) for x in lines] == [
        ("1", "review"),
        ("3", "review"),
    ]
    assert lines[1]["first_name"] == "paul"
    assert lines[1]["reason"].startswith("probability")
    assert len(_people(database)) == 3


@pytest.mark.usefixtures("claire")
def test_create_stores_every_row_and_reports_the_matches(database, source, at):
    summary = _run(database, source, at, DedupPolicy.CREATE)
    assert summary.created == 4
    assert summary.duplicates_created == 2
    assert len(_people(database)) == 5
    assert [x["action"] for x in _lines(summary.dedup_path)] == ["created", "created"]
    read = (
        summary.created
        + summary.updated
        + summary.unchanged
        + summary.rejected
        + summary.skipped_already_imported
        + summary.blank
        + summary.duplicates_skipped
        + summary.duplicates_merged
        + summary.duplicates_for_review
    )
    assert read == summary.read


def test_without_dedup_no_dedup_file(database, source, at):
    summary = import_entities(database, source, mapping=MAPPING, at=at)
    assert summary.dedup_path is None
    assert not source.with_name("contacts.csv.dedup.csv").exists()


def test_a_row_matching_an_earlier_row_of_the_same_batch_with_a_company(
    database, write_csv, at
):
    path = write_csv(
        [
            HEADER,
            ["Anne", "Roy", "anne@roy.fr", "", "Roy SARL", "", "", ""],
            ["Anne", "ROY", "anne@roy.fr", "", "", "", "", "CEO"],
        ],
        delimiter=",",
        encoding="utf-8",
    )
    summary = _run(database, path, at, DedupPolicy.MERGE)
    assert summary.created == 1
    assert summary.duplicates_merged == 1
    [anne] = _people(database)
    assert anne.job_title == "CEO"
    assert len(anne.roles) == 1
    [line] = _lines(summary.dedup_path)
    assert line["company"] == ""  # the row's own
    assert "company 'roy'~'' blank" in line["evidence"]  # the earlier row's employer


def test_dedup_is_for_people_only(database, write_csv, at):
    path = write_csv([["name"], ["Acme"]], delimiter=",", encoding="utf-8")
    mapping = mapping_from_dict({"entity": "organization", "columns": {"name": "name"}})
    with pytest.raises(InvalidDefinition, match="dedup checks people") as error:
        import_entities(database, path, mapping=mapping, at=at, dedup=DedupPolicy.SKIP)
    assert error.value.path == "dedup"


@pytest.mark.usefixtures("claire")
def test_a_refused_batch_rolls_the_index_back(database, source, at, monkeypatch):
    """When storing a batch fails, its rows are stored in halves, and re-checked."""
    from crmkit.io import _importer  # noqa: PLC0415

    calls = {"n": 0}
    original = _importer._Importer._add_pending

    def fail_once(self, uow, pending, staged):
        calls["n"] += 1
        if calls["n"] == 2 and pending:  # the second batch (rows 3 and 4)
            raise ConcurrencyError(
                "person", pending[0].id, expected_version=1, actual_version=2
            )
        return original(self, uow, pending, staged)

    monkeypatch.setattr(_importer._Importer, "_add_pending", fail_once)
    summary = _run(database, source, at, DedupPolicy.MERGE)
    assert summary.rejected == 0
    assert summary.duplicates_merged == 2
    assert sorted(p.first_name for p in _people(database)) == [
        "Claire",
        "Marie",
        "Paul",
    ]


def test_a_merge_the_schema_refuses_rejects_the_row(at, write_csv):
    """A stored custom value the schema now refuses: the merged row is rejected."""
    database = MemoryDatabase()
    stored = Person.create(
        at=at,
        first_name="Claire",
        last_name="Lefèvre",
        emails=[EmailAddress("claire@acme.fr")],
        custom={"segment": "unknown"},
    )
    with database.unit_of_work() as uow:
        uow.people.add(stored)
        uow.commit()
    schema = EntitySchema(
        custom_fields=[
            CustomField(name="segment", type="choice", choices=["smb", "enterprise"]),
            CustomField(name="seats", type="integer"),
        ]
    )
    mapping = mapping_from_dict(
        {
            "entity": "person",
            "columns": {
                "first": "first_name",
                "last": "last_name",
                "email": "emails",
                "seats": "custom.seats",
            },
        }
    )
    path = write_csv(
        [
            ["first", "last", "email", "seats"],
            ["Claire", "Lefevre", "claire@acme.fr", "3"],
        ],
        delimiter=",",
        encoding="utf-8",
    )
    summary = import_entities(
        database,
        path,
        mapping=mapping,
        at=at,
        schemas={Person: schema},
        dedup=DedupPolicy.MERGE,
    )
    assert summary.rejected == 1
    assert summary.duplicates_merged == 0
    assert _people(database) == [stored]


def test_fill_blanks_never_overwrites(at):
    stored = Person.create(
        at=at,
        first_name="Claire",
        emails=[EmailAddress("c@x.fr")],
        custom={"a": 1},
    )
    incoming = Person.create(
        at=at,
        first_name="Clara",
        last_name="Roy",
        emails=[EmailAddress("c@x.fr"), EmailAddress("c2@x.fr")],
        addresses=[PostalAddress(city="Paris")],
        custom={"a": 2, "b": 3},
    )
    changes = fill_blanks(stored, incoming)
    assert set(changes) == {"last_name", "emails", "addresses", "custom"}
    assert changes["last_name"] == "Roy"
    assert [e.normalized for e in changes["emails"]] == ["c@x.fr", "c2@x.fr"]
    assert changes["custom"] == {"a": 1, "b": 3}
    assert fill_blanks(stored, stored) == {}


def test_the_import_merge_is_survivorship_with_the_stored_person_first(at):
    """Single values keep the stored one (job title too); tags are united."""
    stored = Person.create(at=at, first_name="Claire", job_title="CFO", tags={"vip"})
    incoming = Person.create(
        at=at, first_name="Claire", job_title="CEO", tags={"vip", "press"}
    )
    policy = import_merge_policy()
    assert policy.rules()["job_title"] is Rule.FIRST_NON_EMPTY
    assert policy.rules()["tags"] is Rule.UNION
    assert {"tags": frozenset({"vip", "press"})} == fill_blanks(stored, incoming)


def test_a_dedup_line_reads_as_a_file_line():
    explanation = PairExplanation(
        left_id="a",
        right_id="b",
        probability=0.5,
        match_weight=0.0,
        matched=True,
        reason="rule: x",
        swapped_names=False,
        fields=(),
    )
    candidate = Candidate(
        record_id="a",
        kind="person",
        probability=0.5,
        matched=True,
        reason="rule: x",
        explain=lambda: explanation,
    )
    line = DedupLine(row=1, line=2, action="review", candidate=candidate, record={})
    assert line.as_row()[:6] == ("1", "2", "review", "a", "0.500000", "rule: x")
    assert attrs.evolve(line, action="x").action == "x"


@pytest.mark.usefixtures("claire")
def test_a_given_index_is_caught_up_kept_current_and_leads_are_not_matched(
    database, source, at
):
    index = build_index(database)  # people and leads, before Paul's lead exists
    paul = Lead.create(
        at=at,
        first_name="Paul",
        last_name="Martin",
        email=EmailAddress("paul@martin.fr"),
    )
    with database.unit_of_work() as uow:
        uow.leads.add(paul)
        uow.commit()
    summary = _run(database, source, at, DedupPolicy.SKIP, dedup_index=index)
    assert str(paul.id) in index  # caught up before the rows were checked
    assert (
        summary.duplicates_skipped == 2
    )  # Claire (stored), Paul (row 2), not the lead
    assert summary.created == 2
    stored = {str(p.id) for p in _people(database)}
    assert stored <= set(index.ids)  # the rows created were indexed
