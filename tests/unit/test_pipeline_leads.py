"""Lead lifecycle and conversion; ticket lifecycle; processes of linked steps."""

from datetime import UTC, datetime, timedelta

import pytest

from crmkit.errors import InvalidDefinition, TransitionNotAllowed
from crmkit.ids import new_id
from crmkit.model import (
    Activity,
    ActivityKind,
    Deal,
    Lead,
    Organization,
    PartyKind,
    PartyRef,
    Person,
    Ticket,
)
from crmkit.pipelines import (
    LEAD_LIFECYCLE,
    DealPipeline,
    FieldMap,
    LeadConverted,
    Process,
    ProcessStatus,
    RecordMatch,
    Stage,
    StateChanged,
    Step,
    apply,
    convert_lead,
    disqualify_lead,
    move_ticket,
    update_lead,
)
from crmkit.values import EmailAddress

AT = datetime(2026, 4, 1, 10, tzinfo=UTC)
LATER = AT + timedelta(hours=2)
REP = new_id(AT)


def sales():
    return DealPipeline(
        "b2b",
        [
            Stage("prospecting", 0.1),
            Stage("won", 1.0, "closed", outcome="won"),
            Stage("lost", 0.0, "omitted", outcome="lost"),
        ],
    )


def lead(**fields):
    values = {
        "first_name": "Claire",
        "last_name": "Martin",
        "company_name": "Atelier Martin",
        "job_title": "CEO",
        "email": EmailAddress("claire@atelier-martin.fr"),
        "industry": "Furniture",
        "owner_id": REP,
        "source": "trade show",
        **fields,
    }
    return Lead.create(at=AT, **values)


def call(about):
    return Activity.create(
        at=AT, kind=ActivityKind.CALL, subject="First call", lead_ids=(about.id,)
    )


def test_lead_lifecycle_moves_and_disqualification_needs_a_reason():
    contacted = apply(LEAD_LIFECYCLE, lead(), "contact", at=LATER).entity
    assert contacted.status == "contacted"
    with pytest.raises(TransitionNotAllowed, match="needs a reason"):
        disqualify_lead(contacted, " ", at=LATER)
    out, events = disqualify_lead(contacted, "no budget", at=LATER)
    assert (out.status, out.disqualified_reason) == ("disqualified", "no budget")
    assert isinstance(events[0], StateChanged)
    assert apply(LEAD_LIFECYCLE, out, "reopen", at=LATER).entity.status == "new"


def test_conversion_creates_person_organization_and_deal_and_moves_activities():
    new_lead = lead()
    activity = call(new_lead)
    result = convert_lead(
        new_lead, at=LATER, actor=REP, pipeline=sales(), activities=[activity]
    )
    person, organization, deal = result.person, result.organization, result.deal
    assert (person.first_name, person.emails) == ("Claire", (new_lead.email,))
    assert person.roles[0].organization_id == organization.id
    assert person.roles[0].title == "CEO"
    assert (organization.name, organization.industry) == ("Atelier Martin", "Furniture")
    assert (deal.name, deal.stage, deal.lead_id) == (
        "Atelier Martin",
        "prospecting",
        new_lead.id,
    )
    assert deal.contact_ids == (person.id,)
    assert deal.organization_id == organization.id
    assert deal.owner_id == REP
    (moved,) = result.activities
    assert moved.lead_ids == ()
    assert PartyRef(kind=PartyKind.PERSON, id=person.id) in moved.parties
    assert moved.deal_ids == (deal.id,)
    converted = result.lead
    assert converted.status == "converted"
    assert converted.converted_at == LATER
    assert (converted.converted_person_id, converted.converted_deal_id) == (
        person.id,
        deal.id,
    )
    assert {type(e) for e in result.new} == {Person, Organization, Deal}
    assert result.changed == (moved, converted)
    final = result.events[-1]
    assert isinstance(final, LeadConverted)
    assert set(final.created) == {"person", "organization", "deal"}


def test_reused_records_only_get_blank_fields_filled():
    existing = Person.create(at=AT, first_name="Claire", last_name="Martin-Dubois")
    company = Organization.create(at=AT, name="Atelier Martin SARL", industry="Wood")
    deal = Deal.create(at=AT, name="Kitchen", pipeline="b2b", stage="prospecting")
    result = convert_lead(
        lead(), at=LATER, person=existing, organization=company, deal=deal
    )
    assert result.person.last_name == "Martin-Dubois"  # kept, not overwritten
    assert result.person.emails == (EmailAddress("claire@atelier-martin.fr"),)  # filled
    assert result.person.version == 2  # one update for fill and role together
    assert result.organization.name == "Atelier Martin SARL"
    assert result.organization.industry == "Wood"
    assert result.organization.owner_id == REP
    assert result.deal.name == "Kitchen"
    assert result.deal.contact_ids == (existing.id,)
    assert result.new == ()
    assert [e.id for e in result.changed] == [
        company.id,
        existing.id,
        deal.id,
        result.lead.id,
    ]
    assert result.events[-1].created == ()


def test_converting_twice_and_editing_a_converted_lead_are_refused():
    result = convert_lead(lead(), at=LATER)
    with pytest.raises(TransitionNotAllowed, match="already converted"):
        convert_lead(result.lead, at=LATER)
    with pytest.raises(TransitionNotAllowed, match="read-only"):
        update_lead(result.lead, {"job_title": "CTO"}, at=LATER)
    assert update_lead(lead(), {"job_title": "CTO"}, at=LATER).entity.job_title == "CTO"
    out, _ = disqualify_lead(lead(), "spam", at=LATER)
    with pytest.raises(TransitionNotAllowed, match="no transition 'convert'"):
        convert_lead(out, at=LATER)


def test_a_lead_without_a_company_makes_no_organization_and_no_deal_without_pipeline():
    result = convert_lead(lead(company_name=None), at=LATER)
    assert result.organization is None
    assert result.deal is None
    assert result.person.roles == ()


def test_field_maps_are_checked():
    with pytest.raises(InvalidDefinition, match=r"person\.nickname"):
        FieldMap(person={"nickname": "first_name"}, organization={}, deal={})
    with pytest.raises(InvalidDefinition, match="Lead has no field 'nick'"):
        FieldMap(person={"first_name": "nick"}, organization={}, deal={})
    custom = FieldMap(person={"last_name": "company_name"}, organization={}, deal={})
    result = convert_lead(lead(), at=LATER, field_map=custom)
    assert result.person.last_name == "Atelier Martin"
    assert result.organization is None


def test_ticket_lifecycle_stamps_and_clears_times():
    owner = new_id(AT)
    ticket = Ticket.create(at=AT, subject="Broken hinge")
    with pytest.raises(TransitionNotAllowed, match="required field 'owner_id'"):
        move_ticket(ticket, "assign", at=LATER)
    ticket = ticket.update({"owner_id": owner}, at=AT).entity
    for step in ("assign", "start", "wait", "resume", "resolve"):
        ticket = move_ticket(ticket, step, at=LATER).entity
    assert (ticket.status, ticket.resolved_at) == ("resolved", LATER)
    closed = move_ticket(ticket, "close", at=LATER + timedelta(days=1))
    assert closed.entity.closed_at == LATER + timedelta(days=1)
    assert closed.events[-1].name == "ticket.closed"
    reopened = move_ticket(closed.entity, "reopen", at=LATER + timedelta(days=2)).entity
    assert (reopened.status, reopened.resolved_at, reopened.closed_at) == (
        "reopened",
        None,
        None,
    )
    with pytest.raises(TransitionNotAllowed):
        move_ticket(reopened, "close", at=LATER + timedelta(days=2))


def test_process_steps_block_until_their_needs_complete():
    onboarding = Process(
        "onboarding",
        [
            Step("contract"),
            Step("kickoff", needs="contract"),
            Step("training", needs=["kickoff"]),
        ],
    )
    run = onboarding.begin()
    assert onboarding.status(run) is ProcessStatus.NOT_STARTED
    assert onboarding.available(run) == ("contract",)
    with pytest.raises(
        TransitionNotAllowed, match="blocked until 'contract' completed"
    ):
        onboarding.start(run, "kickoff", at=AT)
    run, event = onboarding.start(run, "contract", at=AT, actor=REP)
    assert (event.old, event.new, event.actor) == (
        ProcessStatus.NOT_STARTED,
        ProcessStatus.IN_PROGRESS,
        REP,
    )
    assert onboarding.status(run) is ProcessStatus.IN_PROGRESS
    run, _ = onboarding.complete(run, "contract", at=LATER)
    assert onboarding.available(run) == ("kickoff",)
    with pytest.raises(TransitionNotAllowed, match="already completed"):
        onboarding.complete(run, "contract", at=LATER)
    with pytest.raises(TransitionNotAllowed, match="no step 'party'"):
        onboarding.start(run, "party", at=LATER)
    run, _ = onboarding.complete(run, "kickoff", at=LATER)
    run, _ = onboarding.complete(run, "training", at=LATER)
    assert onboarding.status(run) is ProcessStatus.COMPLETED
    assert run.changed_at["training"] == LATER


@pytest.mark.parametrize(
    ("steps", "path"),
    [
        ([Step("a"), Step("a")], "steps[1].name"),
        ([Step("a", needs="b")], "steps[0].needs[0]"),
        ([Step("a", needs="b"), Step("b", needs="a")], "steps[0].needs"),
    ],
)
def test_bad_processes_name_their_path(steps, path):
    with pytest.raises(InvalidDefinition) as error:
        Process("p", steps)
    assert error.value.path == path


def test_matches_given_to_a_conversion_are_kept_in_the_result_and_event():
    """Why a reused record was chosen travels with the conversion and its event."""
    existing = Person.create(at=AT, first_name="Claire", last_name="Martin")
    why = RecordMatch(
        kind="person", record_id=existing.id, probability=0.98, reason="same name"
    )
    conversion = convert_lead(lead(), at=LATER, person=existing, matches=[why])
    [event] = [e for e in conversion.events if isinstance(e, LeadConverted)]
    assert ((why,), (why,)) == (conversion.matches, event.matched)
