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


def store(database, moved, *, actor, new=False):
    with database.unit_of_work() as uow:
        if new:
            uow.deals.add(moved.entity, actor=actor)
        else:
            uow.deals.update(moved.entity, actor=actor)
        for event in moved.events:
            uow.record(event)
        uow.commit()
    return moved.entity


def test_stored_moves_read_back_as_the_same_visits(database):
    pipeline = sales()
    history = StageHistory()
    moved = pipeline.open(
        at=AT, actor=ALICE, name="Acme", amount=Money(Decimal(10), "EUR")
    )
    history.record(moved.events)
    deal = store(database, moved, actor=ALICE, new=True)
    for step in (
        lambda d: pipeline.override_probability(d, 0.3, at=hours(1), actor=ALICE),
        lambda d: pipeline.move(d, "demo", at=hours(2), actor=BOB),
        lambda d: pipeline.lose(d, "price", at=hours(3), actor=BOB),
        lambda d: pipeline.restore(d, at=hours(4), actor=ALICE, to="demo"),
        lambda d: pipeline.win(d, at=hours(5), actor=ALICE),
    ):
        moved = step(deal)
        history.record(moved.events)
        deal = store(database, moved, actor=moved.events[0].actor)
    with database.unit_of_work(readonly=True) as uow:
        stored = stage_visits(uow, deal.id)
    expected = history.visits(deal.id)
    # Only the creator is unknown to field history (creation is not a change).
    assert stored[0].entered_by is None
    assert stored[1:] == expected[1:]
    assert stored[0] == attrs.evolve(expected[0], entered_by=None)
    assert [v.stage for v in stored] == ["new", "demo", "lost", "demo", "won"]
    assert stored[0].override == 0.3


def _fields(visit):
    return {
        name: getattr(visit, name)
        for name in visit.__slots__
        if not name.startswith("_")
    }


def test_status_mode_losses_are_not_overrides(database):
    pipeline = sales(LostMode.STATUS)
    deal = store(database, pipeline.open(at=AT, name="Globex"), actor=ALICE, new=True)
    deal = store(database, pipeline.lose(deal, "timing", at=hours(1)), actor=BOB)
    deal = store(database, pipeline.restore(deal, at=hours(2)), actor=BOB)
    with database.unit_of_work(readonly=True) as uow:
        (visit,) = stage_visits(uow, deal.id)
    assert (visit.stage, visit.override, visit.exited_at) == ("new", None, None)


def test_bulk_reads_every_deal_or_those_asked(database):
    pipeline = sales()
    deals = []
    for number in range(3):
        deal = store(
            database, pipeline.open(at=AT, name=f"Deal {number}"), actor=ALICE, new=True
        )
        deals.append(
            store(database, pipeline.move(deal, "demo", at=hours(1)), actor=BOB)
        )
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
    assert everything[other.id][0].stage == "shop"


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
    assert stored_lead.status == "converted"
    assert (deal.organization_id, deal.contact_ids) == (company.id, (person.id,))
    assert kept.name == "Silva Lda."  # reused, not overwritten
    assert moved.deal_ids == (deal.id,)
    assert untouched.version == 1
    assert LeadConverted.__name__ in kinds
    assert conversion.organization.id == company.id
    with database.unit_of_work() as uow, pytest.raises(TransitionNotAllowed):
        convert_stored_lead(uow, lead.id, at=hours(2))
