"""Stage history persisted through the repositories: per deal and in bulk."""

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import attrs
import pytest

from crmkit.errors import NotFound, TransitionNotAllowed
from crmkit.ids import new_id
from crmkit.model import Activity, ActivityKind, Deal, Lead, Organization
from crmkit.pipelines import (
    DealPipeline,
    LeadConverted,
    LostMode,
    Stage,
    StageHistory,
    convert_stored_lead,
    stage_visits,
    stage_visits_of,
    store_moves,
)
from crmkit.repositories.memory import MemoryDatabase
from crmkit.repositories.sql import SqlDatabase
from crmkit.values import Money

AT = datetime(2026, 5, 4, 8, tzinfo=UTC)
ALICE = new_id(AT)
BOB = new_id(AT + timedelta(seconds=1))


def hours(n):
    return AT + timedelta(hours=n)


def sales(lost_mode=LostMode.STAGE):
    stages = [
        Stage("new", 0.1),
        Stage("demo", 0.4),
        Stage("won", 1.0, "closed", outcome="won"),
    ]
    if lost_mode is LostMode.STAGE:
        stages.append(Stage("lost", 0.0, "omitted", outcome="lost"))
    return DealPipeline("b2b", stages, lost_mode=lost_mode)


@pytest.fixture(params=["memory", "sqlite"])
def database(request, tmp_path):
    if request.param == "memory":
        yield MemoryDatabase()
        return
    db = SqlDatabase.sqlite(tmp_path / "crm.db")
    db.upgrade(at=AT)
    yield db
    db.dispose()


def store(database, moved):
    with database.unit_of_work() as uow:
        store_moves(uow, [moved])
        uow.commit()
    return moved.entity


def test_stored_moves_read_back_as_the_same_visits(database):
    """What store_moves writes reads back as the in-memory StageHistory's stays."""
    pipeline = sales()
    history = StageHistory()
    moved = pipeline.open(
        at=AT, actor=ALICE, name="Acme", amount=Money(Decimal(10), "EUR")
    )
    history.record(moved.events)
    deal = store(database, moved)
    for step in (
        lambda d: pipeline.override_probability(d, 0.3, at=hours(1), actor=ALICE),
        lambda d: pipeline.move(d, "demo", at=hours(2), actor=BOB),
        lambda d: pipeline.lose(d, "price", at=hours(3), actor=BOB),
        lambda d: pipeline.restore(d, at=hours(4), actor=ALICE, to="demo"),
        lambda d: pipeline.win(d, at=hours(5), actor=ALICE),
    ):
        moved = step(deal)
        history.record(moved.events)
        deal = store(database, moved)
    with database.unit_of_work(readonly=True) as uow:
        stored = stage_visits(uow, deal.id)
        versions = [e.version for e in uow.deals.history(deal.id)]
    assert stored == history.visits(deal.id)
    assert [v.stage for v in stored] == ["new", "demo", "lost", "demo", "won"]
    assert (stored[0].entered_by, stored[0].override, stored[0].override_by) == (
        ALICE,
        0.3,
        ALICE,
    )
    assert max(versions) == deal.version


def test_a_new_stage_probability_does_not_rewrite_stored_history(database):
    """Stays keep the probability in force when the deal entered the stage."""
    deal = store(database, sales().open(at=AT, actor=ALICE, name="Acme"))
    deal = store(database, sales().move(deal, "demo", at=hours(1), actor=BOB))
    repriced = DealPipeline(
        "b2b",
        [
            attrs.evolve(s, probability=0.7) if s.name == "demo" else s
            for s in sales().stages
        ],
    )
    deal = store(database, repriced.move(deal, "new", at=hours(2)))
    deal = store(database, repriced.move(deal, "demo", at=hours(3)))
    with database.unit_of_work(readonly=True) as uow:
        stored = stage_visits(uow, deal.id)
    assert [(v.stage, v.probability) for v in stored] == [
        ("new", 0.1),
        ("demo", 0.4),
        ("new", 0.1),
        ("demo", 0.7),
    ]


def test_moves_left_uncommitted_store_nothing(database):
    """The deal, its stays and its events commit together or not at all."""
    moved = sales().open(at=AT, actor=ALICE, name="Acme")
    with database.unit_of_work() as uow:
        store_moves(uow, [moved])
    with database.unit_of_work(readonly=True) as uow:
        counts = (
            uow.deals.count(),
            uow.stage_history.visits(moved.entity.id),
            uow.pending_messages(),
        )
    assert counts == (0, [], [])


def test_status_mode_losses_are_not_overrides(database):
    pipeline = sales(LostMode.STATUS)
    deal = store(database, pipeline.open(at=AT, name="Globex"))
    deal = store(database, pipeline.lose(deal, "timing", at=hours(1)))
    deal = store(database, pipeline.restore(deal, at=hours(2)))
    with database.unit_of_work(readonly=True) as uow:
        (visit,) = stage_visits(uow, deal.id)
    assert (visit.stage, visit.override, visit.exited_at) == ("new", None, None)


def test_bulk_reads_every_deal_or_those_asked(database):
    pipeline = sales()
    opened = [pipeline.open(at=AT, name=f"Deal {number}") for number in range(3)]
    with database.unit_of_work() as uow:
        store_moves(uow, opened)
        uow.commit()
    deals = [
        store(database, pipeline.move(m.entity, "demo", at=hours(1), actor=BOB))
        for m in opened
    ]
    other = Deal.create(at=AT, name="Other", pipeline="retail", stage="shop")
    with database.unit_of_work() as uow:
        uow.deals.add(other)
        uow.commit()
    with database.unit_of_work(readonly=True) as uow:
        everything = stage_visits_of(uow)
        ours = stage_visits_of(uow, pipeline="b2b", size=2)
        asked = stage_visits_of(uow, [deals[1].id])
        with pytest.raises(NotFound):
            stage_visits_of(uow, [new_id(AT)])
    assert set(everything) == {d.id for d in deals} | {other.id}
    assert set(ours) == {d.id for d in deals}
    assert [v.stage for v in asked[deals[1].id]] == ["new", "demo"]
    assert everything[other.id] == ()  # stored without a pipeline: no stays


def test_a_stored_lead_converts_by_explicit_ids_in_one_unit_of_work(database):
    lead = Lead.create(
        at=AT, first_name="Ana", last_name="Silva", company_name="Silva Lda"
    )
    company = Organization.create(at=AT, name="Silva Lda.")
    talk = Activity.create(
        at=AT, kind=ActivityKind.MEETING, subject="Visit", lead_ids=(lead.id,)
    )
    unrelated = Activity.create(at=AT, kind=ActivityKind.NOTE, subject="Other")
    with database.unit_of_work() as uow:
        uow.leads.add(lead)
        uow.organizations.add(company)
        uow.activities.add(talk)
        uow.activities.add(unrelated)
        uow.commit()
    with database.unit_of_work() as uow:
        conversion = convert_stored_lead(
            uow,
            lead.id,
            at=hours(1),
            actor=ALICE,
            organization_id=company.id,
            pipeline=sales(),
        )
        uow.commit()
    with database.unit_of_work(readonly=True) as uow:
        stored_lead = uow.leads.get(lead.id)
        deal = uow.deals.get(stored_lead.converted_deal_id)
        person = uow.people.get(stored_lead.converted_person_id)
        moved = uow.activities.get(talk.id)
        untouched = uow.activities.get(unrelated.id)
        kept = uow.organizations.get(company.id)
        kinds = {m.event_type for m in uow.pending_messages(limit=100)}
        stays = uow.stage_history.visits(deal.id)
    assert stored_lead.status == "converted"
    assert (deal.organization_id, deal.contact_ids) == (company.id, (person.id,))
    assert kept.name == "Silva Lda."  # reused, not overwritten
    assert moved.deal_ids == (deal.id,)
    assert untouched.version == 1
    assert LeadConverted.__name__ in kinds
    assert conversion.organization.id == company.id
    assert [(v.stage, v.entered_by) for v in stays] == [("new", ALICE)]
    with database.unit_of_work() as uow, pytest.raises(TransitionNotAllowed):
        convert_stored_lead(uow, lead.id, at=hours(2))


def test_a_stored_lead_moves_its_live_activities_only(database):
    """Its activities are found by lead id: shared ones and new ones, not archived."""
    lead = Lead.create(at=AT, first_name="Ana", last_name="Silva")
    other = Lead.create(at=AT, first_name="Rui", last_name="Costa")

    def activity(subject, *leads):
        return Activity.create(
            at=AT, kind=ActivityKind.CALL, subject=subject, lead_ids=leads
        )

    shared, archived = activity("Shared", other.id, lead.id), activity("Old", lead.id)
    theirs, same_unit = activity("Theirs", other.id), activity("New", lead.id)
    with database.unit_of_work() as uow:
        uow.leads.add_many([lead, other])
        uow.activities.add_many([shared, archived, theirs])
        uow.activities.delete(archived.id, at=AT)
        uow.commit()
    with database.unit_of_work() as uow:
        uow.activities.add(same_unit)  # not committed yet: found all the same
        conversion = convert_stored_lead(
            uow, lead.id, at=hours(1), pipeline=sales(), create_person=True
        )
        uow.commit()
    deal_id = conversion.deal.id
    with database.unit_of_work(readonly=True) as uow:
        after = {
            a.subject: a.deal_ids
            for a in uow.activities.find(include_archived=True).items
        }
    assert {
        "Shared": (deal_id,),
        "Old": (),
        "Theirs": (),
        "New": (deal_id,),
    } == after
