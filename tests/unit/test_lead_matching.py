"""Lead conversion matching stored people and organisations (crmkit.dedup)."""

import pickle
from datetime import UTC, datetime, timedelta

import pytest

from crmkit.errors import AmbiguousMatch, TransitionNotAllowed, ValidationError
from crmkit.ids import new_id
from crmkit.model import (
    Activity,
    ActivityKind,
    Lead,
    Organization,
    OrganizationRole,
    PartyKind,
    PartyRef,
    Person,
)
from crmkit.pipelines import (
    LeadConverted,
    LeadMatcher,
    OrganizationNames,
    convert_stored_lead,
    find_conversion_matches,
)
from crmkit.repositories.memory import MemoryDatabase
from crmkit.repositories.sql import SqlDatabase
from crmkit.values import EmailAddress, PhoneNumber

AT = datetime(2026, 4, 1, 10, tzinfo=UTC)
LATER = AT + timedelta(hours=2)
REP = new_id(AT)
EMAIL = EmailAddress("claire@atelier-martin.fr")


def lead(**fields):
    values = {
        "first_name": "Claire",
        "last_name": "Martin",
        "company_name": "Atelier Martin",
        "job_title": "CEO",
        "email": EMAIL,
        "source": "trade show",
        **fields,
    }
    return Lead.create(at=AT, **values)


def person(**fields):
    values = {"first_name": "Claire", "last_name": "Martin", **fields}
    return Person.create(at=AT, **values)


def organization(name, **fields):
    return Organization.create(at=AT, name=name, **fields)


def stored(database, *entities):
    with database.unit_of_work() as uow:
        for entity in entities:
            uow.repository(type(entity)).add(entity)
        uow.commit()


def convert(database, matcher, lead_id, **options):
    with database.unit_of_work() as uow:
        conversion = convert_stored_lead(
            uow, lead_id, at=LATER, actor=REP, matcher=matcher, **options
        )
        uow.commit()
    return conversion


def matcher_of(*entities, database=None):
    database = database or MemoryDatabase()
    stored(database, *entities)
    return database, LeadMatcher.build(database)


def test_a_sure_match_is_reused_with_blank_fields_filled_and_nothing_overwritten():
    """One stored person matching: reused; blanks filled, set fields kept."""
    claire = person(emails=(EMAIL,), source="webinar")
    new = lead(phone=PhoneNumber("+33612345678"))
    database, matcher = matcher_of(claire, new)
    conversion = convert(database, matcher, new.id)
    with database.unit_of_work(readonly=True) as uow:
        kept = uow.people.get(claire.id)
        people = uow.people.count()
    assert (claire.id, 1) == (conversion.person.id, people)
    assert ("webinar", "CEO") == (kept.source, kept.job_title)
    assert ("+33612345678",) == tuple(p.e164 for p in kept.phones)
    [match] = [m for m in conversion.matches if m.kind == "person"]
    assert claire.id == match.record_id
    assert match.probability >= 0.9
    assert "email" in match.explanation
    [event] = [e for e in conversion.events if isinstance(e, LeadConverted)]
    assert conversion.matches == event.matched
    assert "person" not in event.created


def test_possible_matches_only_are_refused_naming_the_candidates():
    """A person only possibly the same: no guess, no silent duplicate."""
    claire = person(emails=(EmailAddress("cmartin@gmail.com"),))
    new = lead()
    database, matcher = matcher_of(claire, new)
    with pytest.raises(AmbiguousMatch, match="possible matches only") as refused:
        convert(database, matcher, new.id)
    assert "person" == refused.value.entity_type
    assert [claire.id] == [record_id for record_id, _ in refused.value.candidates]
    assert 0.5 <= refused.value.candidates[0][1] < 0.9
    with database.unit_of_work(readonly=True) as uow:
        assert "new" == uow.leads.get(new.id).status
    conversion = convert(database, matcher, new.id, create_person=True)
    assert claire.id != conversion.person.id
    assert Person.entity_type in {type(e).entity_type for e in conversion.new}


def test_the_possible_threshold_decides_which_candidates_block():
    """Above ``possible``, a candidate blocks the conversion; below, it does not."""
    claire = person(emails=(EmailAddress("cmartin@gmail.com"),))
    new = lead()
    database, _ = matcher_of(claire, new)
    lenient = LeadMatcher.build(database, possible=0.8)
    conversion = convert(database, lenient, new.id)
    assert claire.id != conversion.person.id


def test_several_matches_are_refused_unless_one_has_the_lead_email():
    """Two people matching equally are refused; the lead's email decides."""
    first, second = person(), person()
    new = lead()
    database, matcher = matcher_of(first, second, new)
    with pytest.raises(AmbiguousMatch, match="2 stored people match") as refused:
        convert(database, matcher, new.id)
    assert {first.id, second.id} == {i for i, _ in refused.value.candidates}
    stored_second = second.update({"emails": (EMAIL,)}, at=AT).entity
    with database.unit_of_work() as uow:
        uow.people.update(stored_second)
        uow.commit()
    matcher.catch_up(database)
    conversion = convert(database, matcher, new.id)
    assert second.id == conversion.person.id
    assert conversion.matches[0].reason.endswith("the only match with the lead's email")


def test_explicit_ids_win_over_matching():
    """A person and an organisation named by id are reused, whatever matches."""
    claire = person(emails=(EMAIL,))
    other = person(first_name="Bob", last_name="Stone")
    acme = organization("Atelier Martin")
    elsewhere = organization("Elsewhere")
    new = lead()
    database, matcher = matcher_of(claire, other, acme, elsewhere, new)
    conversion = convert(
        database, matcher, new.id, person_id=other.id, organization_id=elsewhere.id
    )
    assert (other.id, elsewhere.id) == (
        conversion.person.id,
        conversion.organization.id,
    )
    assert () == conversion.matches


def test_the_organisation_is_reused_through_the_matched_person():
    """The matched person's employer with the lead's company name is reused."""
    ours = organization("ATELIER MARTIN SARL")
    namesake = organization("Atelier Martin")
    claire = person(
        emails=(EMAIL,),
        roles=(OrganizationRole(organization_id=ours.id, is_primary=True),),
    )
    new = lead()
    database, matcher = matcher_of(ours, namesake, claire, new)
    conversion = convert(database, matcher, new.id)
    assert ours.id == conversion.organization.id
    [match] = [m for m in conversion.matches if m.kind == "organization"]
    assert (ours.id, None) == (match.record_id, match.probability)
    assert f"employs person {claire.id}" in match.reason
    assert (ours.id,) == tuple(r.organization_id for r in conversion.person.roles)


def test_a_person_named_by_id_leads_to_their_employer():
    """With person_id, that person's employer with the company name is reused."""
    theirs, namesake = organization("Atelier Martin"), organization("atelier martin")
    bob = person(
        first_name="Bob",
        roles=(OrganizationRole(organization_id=theirs.id, is_primary=True),),
    )
    new = lead()
    database, matcher = matcher_of(theirs, namesake, bob, new)
    conversion = convert(database, matcher, new.id, person_id=bob.id)
    assert (bob.id, theirs.id) == (conversion.person.id, conversion.organization.id)
    assert ["organization"] == [m.kind for m in conversion.matches]


def test_a_secondary_role_counts_when_the_primary_is_another_company():
    """The employers are tried primary first; the one with the name is reused."""
    primary, secondary = organization("Other Co"), organization("Atelier Martin")
    claire = person(
        emails=(EMAIL,),
        roles=(
            OrganizationRole(organization_id=secondary.id),
            OrganizationRole(organization_id=primary.id, is_primary=True),
        ),
    )
    new = lead()
    database, matcher = matcher_of(primary, secondary, claire, new)
    conversion = convert(database, matcher, new.id)
    assert secondary.id == conversion.organization.id
    assert "employs person" in conversion.matches[1].reason


def test_a_lead_without_a_company_matches_no_organisation():
    """No company name: the person is matched, no organisation made or looked for."""
    claire = person(emails=(EMAIL,))
    new = lead(company_name=None)
    database, matcher = matcher_of(organization("Atelier Martin"), claire, new)
    conversion = convert(database, matcher, new.id)
    assert (claire.id, None) == (conversion.person.id, conversion.organization)


def test_the_organisation_is_found_by_name_whatever_its_legal_form_and_case():
    """A lead from "Acme" reuses the stored "ACME SAS"; the new person joins it."""
    acme = organization("ACME SAS", industry="Retail")
    new = lead(company_name="Acme", industry="Software", email=None)
    database, matcher = matcher_of(acme, new)
    conversion = convert(database, matcher, new.id)
    assert acme.id == conversion.organization.id
    assert "Retail" == conversion.organization.industry
    assert (acme.id,) == tuple(r.organization_id for r in conversion.person.roles)
    assert ["organization"] == [m.kind for m in conversion.matches]


def test_an_organisation_is_created_when_none_has_the_name():
    """No stored organisation with the lead's company name: one is created."""
    new = lead(company_name="Nordlys AS")
    database, matcher = matcher_of(organization("Acme"), new)
    conversion = convert(database, matcher, new.id)
    assert conversion.organization in conversion.new
    assert "Nordlys AS" == conversion.organization.name
    assert () == conversion.matches


def test_two_organisations_with_the_same_name_are_refused_unless_named():
    """Two stored "Acme"s: the caller chooses by id, or asks for a new one."""
    first, second = organization("Acme"), organization("ACME S.A.")
    new = lead(company_name="acme")
    database, matcher = matcher_of(first, second, new)
    with pytest.raises(AmbiguousMatch, match="2 stored organizations") as refused:
        convert(database, matcher, new.id)
    assert "organization" == refused.value.entity_type
    assert sorted([(first.id, None), (second.id, None)]) == sorted(
        refused.value.candidates
    )
    conversion = convert(database, matcher, new.id, organization_id=second.id)
    assert second.id == conversion.organization.id


def test_create_organization_skips_the_name_lookup():
    """create_organization makes a new organisation even when one has the name."""
    acme = organization("Acme")
    new = lead(company_name="Acme")
    database, matcher = matcher_of(acme, new)
    conversion = convert(database, matcher, new.id, create_organization=True)
    assert acme.id != conversion.organization.id
    assert conversion.organization in conversion.new


def test_the_lead_activities_move_to_the_reused_person():
    """The lead's call is linked to the matched person, and leaves the lead."""
    claire = person(emails=(EMAIL,))
    new = lead()
    talk = Activity.create(
        at=AT, kind=ActivityKind.CALL, subject="Intro", lead_ids=(new.id,)
    )
    database, matcher = matcher_of(claire, new, talk)
    convert(database, matcher, new.id)
    with database.unit_of_work(readonly=True) as uow:
        moved = uow.activities.get(talk.id)
    assert PartyRef(kind=PartyKind.PERSON, id=claire.id) in moved.parties
    assert () == moved.lead_ids


def test_converting_twice_is_refused_before_any_matching():
    """A converted lead is refused as such, not as an ambiguous match."""
    new = lead()
    database, matcher = matcher_of(new)
    convert(database, matcher, new.id)
    with pytest.raises(TransitionNotAllowed, match="already converted"):
        convert(database, matcher, new.id)


def test_without_a_matcher_only_records_named_by_id_are_reused():
    """No matcher: a person with the lead's email is not looked for."""
    claire = person(emails=(EMAIL,))
    acme = organization("Atelier Martin")
    new = lead()
    database, _ = matcher_of(claire, acme, new)
    conversion = convert(database, None, new.id)
    assert claire.id != conversion.person.id
    assert acme.id != conversion.organization.id


def test_records_gone_since_indexing_are_not_candidates():
    """A person archived after the index was built is not reused."""
    claire = person(emails=(EMAIL,))
    new = lead()
    database, matcher = matcher_of(claire, new)
    with database.unit_of_work() as uow:
        uow.people.delete(claire.id, at=AT)
        uow.commit()
    conversion = convert(database, matcher, new.id)
    assert claire.id != conversion.person.id


def test_matches_can_be_shown_before_converting():
    """find_conversion_matches says what would be reused and why, writing nothing."""
    acme = organization("Atelier Martin")
    claire = person(emails=(EMAIL,))
    new = lead()
    database, matcher = matcher_of(acme, claire, new)
    with database.unit_of_work(readonly=True) as uow:
        found = find_conversion_matches(uow, new, matcher)
    assert (claire.id, acme.id) == (
        found.person.record.id,
        found.organization.record.id,
    )
    assert (None, None) == (found.person.undecided, found.organization.undecided)
    assert [claire.id] == [c.record_id for c in found.person.candidates]
    with database.unit_of_work(readonly=True) as uow:
        chosen = find_conversion_matches(uow, new, matcher, person=claire)
    assert (claire, None) == (chosen.person.record, chosen.person.match)
    assert acme.id == chosen.organization.record.id


@pytest.fixture(params=["memory", "sqlite"])
def database(request, tmp_path):
    if request.param == "memory":
        yield MemoryDatabase()
        return
    db = SqlDatabase.sqlite(tmp_path / "crm.db")
    db.upgrade(at=AT)
    yield db
    db.dispose()


def test_a_second_lead_reuses_what_the_first_created_after_catch_up(database):
    """After catch_up, the person and organisation the first lead made are reused."""
    first = lead()
    again = lead(company_name="ATELIER MARTIN S.A.R.L.", job_title=None)
    database, matcher = matcher_of(first, again, database=database)
    made = convert(database, matcher, first.id)
    assert matcher.catch_up(database) >= 3  # the lead, the person, the organisation
    reused = convert(database, matcher, again.id)
    assert (made.person.id, made.organization.id) == (
        reused.person.id,
        reused.organization.id,
    )
    assert ["person", "organization"] == [m.kind for m in reused.matches]
    with database.unit_of_work(readonly=True) as uow:
        assert (1, 1) == (uow.people.count(), uow.organizations.count())
        payloads = [
            m.payload
            for m in uow.messages(limit=1000)
            if m.event_type == LeadConverted.__name__
        ]
    assert [[], ["person", "organization"]] == [
        [match["kind"] for match in payload["matched"]] for payload in payloads
    ]


def test_organisation_names_follow_renames_and_deletions():
    """catch_up moves a renamed organisation and drops a deleted one."""
    acme, other = organization("Acme"), organization("Other")
    database = MemoryDatabase()
    stored(database, acme, other)
    names = OrganizationNames.build(database)
    with database.unit_of_work() as uow:
        uow.organizations.update(acme.update({"name": "Nordlys"}, at=AT).entity)
        uow.organizations.delete(other.id, at=AT)
        uow.commit()
    assert (acme.id,) == names.named("ACME SA")
    assert 2 == names.catch_up(database)
    assert ((), (acme.id,), ()) == (
        names.named("Acme"),
        names.named("nordlys"),
        names.named("Other"),
    )
    assert 1 == len(names)


def test_a_late_commit_reaches_the_names_through_its_gap():
    """Outbox ids taken in one order, committed in the other: the gap is filled."""
    database = MemoryDatabase()
    names = OrganizationNames.build(database)
    slow_org, fast_org = organization("Slow"), organization("Fast")
    slow, fast = database.unit_of_work(), database.unit_of_work()
    with slow:
        slow.organizations.add(slow_org)  # takes the lower outbox id
        with fast:
            fast.organizations.add(fast_org)
            fast.commit()
        assert 1 == names.catch_up(database)
        assert {names.cursor - 1} == names.gaps
        slow.commit()
    assert 1 == names.catch_up(database)
    assert ((slow_org.id,), set()) == (names.named("slow"), names.gaps)


def test_names_shared_by_two_organisations_survive_one_renamed():
    """Renaming one of two namesakes leaves the other under the name."""
    first, second = organization("Acme"), organization("ACME SA")
    database = MemoryDatabase()
    stored(database, first, second)
    names = OrganizationNames.build(database)
    names.put(first.id, "Nordlys")
    assert ((second.id,), (first.id,)) == (names.named("acme"), names.named("nordlys"))


def test_a_matcher_refuses_a_possible_threshold_outside_zero_one():
    """The possible threshold is a probability."""
    database = MemoryDatabase()
    with pytest.raises(ValidationError, match="possible"):
        LeadMatcher.build(database, possible=1.5)


def test_ambiguous_match_pickles_with_its_data():
    """The refusal crosses process boundaries with its candidates."""
    error = AmbiguousMatch("person", "lead-1", [("p1", 0.7), ("p2", None)], "why")
    copy = pickle.loads(pickle.dumps(error))  # noqa: S301 - our own bytes
    assert (("p1", 0.7), ("p2", None)) == copy.candidates
    assert (
        "lead-1: why: p1 (0.7), p2; choose one by id, or ask for a new person"
        == str(copy)
    )
