"""Survivorship: each rule, the master strategies, and policies as data."""

import json
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from crmkit.dedup import (
    Dropped,
    MasterStrategy,
    MergePolicy,
    Rule,
    choose_master,
    organization_policy,
    person_policy,
    survive,
)
from crmkit.errors import InvalidDefinition, ValidationError
from crmkit.model import Organization, OrganizationRole, Person
from crmkit.values import EmailAddress, Money, PhoneNumber

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def _person(minutes=0, **fields):
    return Person.create(at=T0 + timedelta(minutes=minutes), **fields)


def _org(minutes=0, **fields):
    return Organization.create(at=T0 + timedelta(minutes=minutes), **fields)


def test_first_non_empty_takes_the_master_then_the_others_in_order():
    """A field empty on the master comes from the first other record that has it."""
    master = _person(first_name="Jean")
    second = _person(1, first_name="Jean-Pierre", last_name="Martin")
    third = _person(2, last_name="Martinez")
    result = survive(master, [second, third])
    assert "Jean" == result.decision("first_name").value
    assert (Dropped(second.id, "Jean-Pierre"),) == result.decision("first_name").dropped
    assert "Martin" == result.decision("last_name").value
    assert (second.id,) == result.decision("last_name").sources
    assert {"last_name": "Martin"} == {
        k: v for k, v in result.changes.items() if k == "last_name"
    }


def test_master_wins_even_when_empty():
    """Rule MASTER keeps the master's value, empty included, and records the others."""
    master = _person(first_name="Jean")
    other = _person(1, first_name="Jean", job_title="CFO")
    policy = person_policy(fields={"job_title": Rule.MASTER})
    decision = survive(master, [other], policy).decision("job_title")
    assert decision.value is None
    assert (Dropped(other.id, "CFO"),) == decision.dropped
    assert "master wins" == decision.reason


def test_most_recent_uses_the_field_history_before_the_update_time():
    """MOST_RECENT prefers the value changed last, by history, else by updated_at."""
    master = _person(first_name="A", job_title="Sales rep")
    other = _person(10, first_name="A", job_title="Sales manager")
    assert "Sales manager" == survive(master, [other]).decision("job_title").value
    history = {master.id: {"job_title": T0 + timedelta(days=3)}}
    decision = survive(master, [other], changed_at=history).decision("job_title")
    assert "Sales rep" == decision.value
    assert "2026-03-05" in decision.reason


def test_most_complete_max_min_and_concatenate():
    """The longest text, the greatest and least values, and joined texts."""
    master = _org(name="Acme", legal_name="Acme", employees=10)
    other = _org(1, name="ACME SA", legal_name="Acme Industries SA", employees=250)
    policy = organization_policy(
        fields={"name": Rule.CONCATENATE, "registration_number": Rule.MIN},
        separator=" / ",
    )
    result = survive(master, [other], policy)
    assert "Acme Industries SA" == result.decision("legal_name").value
    assert 250 == result.decision("employees").value
    assert "Acme / ACME SA" == result.decision("name").value
    assert (master.id, other.id) == result.decision("name").sources


def test_max_of_amounts_in_two_currencies_falls_back_and_says_why():
    """Money in two currencies does not compare: the first non-empty one, explained."""
    master = _org(name="A", annual_revenue=Money(Decimal(5), "EUR"))
    other = _org(1, name="A", annual_revenue=Money(Decimal(9), "USD"))
    decision = survive(master, [other]).decision("annual_revenue")
    assert Money(Decimal(5), "EUR") == decision.value
    assert "do not compare" in decision.reason


def test_union_keeps_the_masters_items_first_and_the_others_as_secondary():
    """Emails (compared normalised), phones and tags are united, master first."""
    master = _person(
        first_name="Jean", emails=(EmailAddress("jean@acme.fr"),), tags={"vip"}
    )
    other = _person(
        1,
        first_name="Jean",
        emails=(EmailAddress("JEAN@acme.fr"), EmailAddress("j.m@gmail.com")),
        phones=(PhoneNumber("+33612345678"),),
        tags={"churn-risk"},
    )
    result = survive(master, [other])
    emails = result.decision("emails")
    assert (EmailAddress("jean@acme.fr"), EmailAddress("j.m@gmail.com")) == emails.value
    assert () == emails.dropped  # the same address, written in capitals
    assert frozenset({"vip", "churn-risk"}) == result.decision("tags").value
    assert (PhoneNumber("+33612345678"),) == result.decision("phones").value


def test_union_of_roles_keeps_one_primary():
    """Roles in new organisations join as secondary roles; one stays primary."""
    acme, globex = _org(name="Acme").id, _org(name="Globex").id
    master = _person(
        first_name="A", roles=(OrganizationRole(organization_id=acme, is_primary=True),)
    )
    other = _person(
        1,
        first_name="A",
        roles=(OrganizationRole(organization_id=globex, is_primary=True),),
    )
    roles = survive(master, [other]).decision("roles").value
    assert [(acme, True), (globex, False)] == [
        (r.organization_id, r.is_primary) for r in roles
    ]


def test_union_of_mappings_records_conflicting_values():
    """External ids are united by key; a conflicting value is recorded, not lost."""
    master = _person(first_name="A", external_ids={"crm": "1"})
    other = _person(1, first_name="A", external_ids={"crm": "2", "erp": "E7"})
    decision = survive(master, [other]).decision("external_ids")
    assert {"crm": "1", "erp": "E7"} == dict(decision.value)
    assert (Dropped(other.id, {"crm": "2"}),) == decision.dropped


def test_explain_names_the_rule_and_the_source_of_each_change():
    """The explanation has a line per field that changed or dropped something."""
    master = _person(first_name="Jean")
    other = _person(1, first_name="Jean", last_name="Martin")
    text = survive(master, [other]).explain()
    assert f"last_name: first non-empty value in master order, from {other.id}" in text
    assert "first_name" not in text


def test_master_strategies():
    """Oldest, most complete, most activity and given each choose as named."""
    old = _person(first_name="A")
    full = _person(5, first_name="A", last_name="B", job_title="C")
    busy = _person(9, first_name="A")
    records = [busy, full, old]
    assert old.id == choose_master(records, MasterStrategy.OLDEST).master_id
    assert full.id == choose_master(records, MasterStrategy.MOST_COMPLETE).master_id
    activity = {busy.id: 4, old.id: 1}
    chosen = choose_master(records, MasterStrategy.MOST_ACTIVITY, activity=activity)
    assert busy.id == chosen.master_id
    assert "4" in chosen.reason
    assert busy.id == choose_master(records, MasterStrategy.GIVEN).master_id
    given = choose_master(records, MasterStrategy.OLDEST, given=full.id)
    assert (full.id, MasterStrategy.GIVEN) == (given.master_id, given.strategy)


def test_a_master_that_is_not_in_the_group_is_refused():
    """Naming a master outside the records raises ValidationError at ``master``."""
    with pytest.raises(ValidationError) as error:
        choose_master(
            [_person(first_name="A")], MasterStrategy.GIVEN, given=_org(name="X").id
        )
    assert "master" == error.value.errors[0].path


def test_mixing_kinds_in_survive_is_refused():
    """A person and an organisation cannot merge."""
    with pytest.raises(ValidationError) as error:
        survive(_person(first_name="A"), [_org(name="A")])
    assert "merge.kinds" == error.value.errors[0].code


def test_policies_round_trip_through_dict_toml_and_json():
    """The shipped policies come back equal from each plain form."""
    for policy in (person_policy(), organization_policy(max_records=3)):
        assert policy == MergePolicy.from_dict(json.loads(json.dumps(policy.to_dict())))
        assert policy == MergePolicy.loads(policy.to_toml())
        assert policy == MergePolicy.loads(policy.to_json(), format="json")


def test_shipped_defaults():
    """Persons unite contact details; at most 5 records per merge; oldest master."""
    policy = person_policy()
    assert Rule.UNION == policy.rule("emails")
    assert Rule.FIRST_NON_EMPTY == policy.rule("first_name")
    assert (5, MasterStrategy.OLDEST) == (policy.max_records, policy.master)
    assert Rule.MAX == organization_policy().rule("employees")


@pytest.mark.parametrize(
    ("text", "path", "line"),
    [
        (
            'entity_type = "person"\nmaster = "oldest"\nmax_record = 3\n',
            "max_record",
            3,
        ),
        ('master = "oldest"\n\n[fields]\nemials = "union"\n', "fields.emials", 4),
        ('[fields]\nfirst_name = "unoin"\n', "fields.first_name", 2),
        ('[fields]\nfirst_name = "union"\n', "fields.first_name", 2),
        ('master = "eldest"\n', "master", 1),
        ("max_records = 1\n", "max_records", 1),
    ],
)
def test_a_policy_file_with_a_typo_names_file_line_and_path(tmp_path, text, path, line):
    """A typo in a policy file is refused with the file, line, column and path."""
    file = tmp_path / "merge.toml"
    file.write_text(text, encoding="utf-8")
    with pytest.raises(InvalidDefinition) as error:
        MergePolicy.from_file(file)
    assert (str(file), line, path) == (
        error.value.file,
        error.value.line,
        error.value.path,
    )
    column = error.value.column
    assert text.splitlines()[line - 1][: column - 1].endswith("= ")
    assert f"{file}:{line}:{column}: {path}:" in str(error.value)


def test_a_json_policy_with_a_typo_names_its_line(tmp_path):
    """JSON policies locate a typo too."""
    file = tmp_path / "merge.json"
    file.write_text(
        '{\n  "master": "oldest",\n  "fields": {\n    "tagz": "union"\n  }\n}\n'
    )
    with pytest.raises(InvalidDefinition) as error:
        MergePolicy.from_file(file)
    assert (4, 13, "fields.tagz") == (
        error.value.line,
        error.value.column,
        error.value.path,
    )


def test_unreadable_toml_is_refused_with_its_position():
    """Malformed TOML names the line and column."""
    with pytest.raises(InvalidDefinition) as error:
        MergePolicy.loads("master = \n", file="p.toml")
    assert ("p.toml", 1) == (error.value.file, error.value.line)


def test_a_policy_file_adds_to_the_shipped_rules():
    """Fields a policy file does not name keep the shipped rules (emails united)."""
    policy = MergePolicy.loads('[fields]\nfirst_name = "most_complete"\n')
    assert (Rule.MOST_COMPLETE, Rule.UNION) == (
        policy.rule("first_name"),
        policy.rule("emails"),
    )
    assert Rule.MAX == MergePolicy(entity_type="organization").rule("employees")
