"""Deal pipelines: stages, moves, won and lost, overrides and stage history."""

import copy
import pickle
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal

import attrs
import pytest

from crmkit.errors import InvalidDefinition, TransitionNotAllowed, ValidationError
from crmkit.ids import new_id
from crmkit.model import Deal, DealStatus, ForecastCategory
from crmkit.pipelines import (
    DealPipeline,
    DealStatusChanged,
    EffectRaised,
    LostMode,
    ProbabilityOverridden,
    Stage,
    StageHistory,
    StateChanged,
)
from crmkit.repositories import StageVisit
from crmkit.values import Money, Probability

AT = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
ALICE = new_id(AT)
BOB = new_id(AT + timedelta(seconds=1))


def stages(*extra):
    return [
        Stage("prospecting", 0.1, description="Find the need", rotting_days=14),
        Stage("qualified", 0.25, exit_criteria="Budget confirmed"),
        Stage("demo", 0.4, "best_case"),
        Stage("proposal", 0.6, "best_case", required_fields=["amount"]),
        Stage("negotiation", 0.8, "commit"),
        Stage("won", 1.0, "closed", outcome="won", required_fields=["amount"]),
        *extra,
    ]


def pipeline(**overrides):
    fields = {
        "name": "b2b",
        "stages": [*stages(), Stage("lost", 0.0, "omitted", outcome="lost")],
        "lost_reasons": ["price", "competitor", "no budget"],
    }
    return DealPipeline(**{**fields, **overrides})


def eur(amount):
    return Money(Decimal(amount), "EUR")


def hours(n):
    return AT + timedelta(hours=n)


def opened(sales=None, **fields):
    sales = sales or pipeline()
    return sales.open(at=AT, actor=ALICE, name="Acme", **fields).entity


def test_open_starts_at_the_first_stage_with_its_probability():
    sales = pipeline()
    moved = sales.open(at=AT, actor=ALICE, name="Acme", amount=eur(5000))
    assert moved.entity.stage == "prospecting"
    assert moved.entity.probability == Probability(0.1)
    assert moved.entity.forecast_category is ForecastCategory.PIPELINE
    (event,) = moved.events
    assert (event.source, event.target, event.actor) == (None, "prospecting", ALICE)


def test_move_sets_probability_category_and_keeps_the_deal_valid():
    sales = pipeline()
    deal = opened(sales, amount=eur(5000))
    moved = sales.move(deal, "demo", at=hours(1), actor=BOB)
    assert moved.entity.stage == "demo"
    assert moved.entity.probability == Probability(0.4)
    assert moved.entity.forecast_category is ForecastCategory.BEST_CASE
    # The trusted copy is what full validation would have built.
    assert attrs.evolve(moved.entity) == moved.entity
    (event,) = moved.events
    assert event.probability == 0.4


def test_moves_forward_backward_and_skips_follow_the_policy():
    sales = pipeline(allow_backward=False, allow_skip=False)
    deal = opened(sales, amount=eur(1))
    deal = sales.move(deal, "qualified", at=hours(1)).entity
    with pytest.raises(TransitionNotAllowed) as refused:
        sales.move(deal, "proposal", at=hours(2))
    assert refused.value.stage == "qualified"
    assert refused.value.event == "proposal"
    assert "no transition 'proposal'" in refused.value.requirement
    with pytest.raises(TransitionNotAllowed):
        sales.move(deal, "prospecting", at=hours(2))
    assert sales.move(deal, "won", at=hours(2)).entity.status is DealStatus.WON
    free = pipeline()
    deal = opened(free, amount=eur(1))
    deal = free.move(deal, "negotiation", at=hours(1)).entity
    assert free.move(deal, "qualified", at=hours(2)).entity.stage == "qualified"


def test_explicit_moves_override_the_policy():
    sales = pipeline(
        stages=[
            Stage("new", 0.1, moves=["meeting"]),
            Stage("meeting", 0.5, moves=["new"]),
            Stage("won", 1.0, "closed", outcome="won"),
            Stage("lost", 0.0, "omitted", outcome="lost"),
        ]
    )
    deal = opened(sales)
    with pytest.raises(TransitionNotAllowed):
        sales.move(deal, "new", at=hours(1))
    deal = sales.move(deal, "meeting", at=hours(1)).entity
    assert sales.move(deal, "new", at=hours(2)).entity.stage == "new"


def test_required_fields_guard_entry_and_name_from_to_and_requirement():
    sales = pipeline()
    deal = opened(sales)
    with pytest.raises(TransitionNotAllowed) as refused:
        sales.move(deal, "proposal", at=hours(1))
    message = str(refused.value)
    assert "from stage 'prospecting' to 'proposal'" in message
    assert "required field 'amount' is not set" in message


def test_unknown_stage_is_refused_with_the_known_ones():
    with pytest.raises(TransitionNotAllowed, match=r"no stage 'proposl'.*prospecting"):
        pipeline().move(opened(), "proposl", at=hours(1))


def test_a_deal_of_another_pipeline_is_refused():
    deal = opened().update({"pipeline": "retail"}, at=AT).entity
    with pytest.raises(TransitionNotAllowed, match="pipeline 'retail', not 'b2b'"):
        pipeline().move(deal, "demo", at=hours(1))


def test_win_closes_the_deal_and_won_is_final():
    sales = pipeline()
    won = sales.win(opened(sales, amount=eur(9000)), at=hours(3), actor=BOB)
    deal = won.entity
    assert (deal.status, deal.closed_at, deal.probability) == (
        DealStatus.WON,
        hours(3),
        Probability(1.0),
    )
    assert deal.forecast_category is ForecastCategory.CLOSED
    status = won.events[-1]
    assert isinstance(status, DealStatusChanged)
    assert (status.old, status.new) == (DealStatus.OPEN, DealStatus.WON)
    with pytest.raises(TransitionNotAllowed):
        sales.move(deal, "demo", at=hours(4))
    with pytest.raises(TransitionNotAllowed, match="won, not lost"):
        sales.restore(deal, at=hours(4))


def test_lost_as_a_stage_needs_a_listed_reason_and_can_be_restored():
    sales = pipeline()
    deal = sales.move(opened(sales), "demo", at=hours(1)).entity
    with pytest.raises(TransitionNotAllowed, match="a lost deal needs a reason"):
        sales.lose(deal, None, at=hours(2))
    with pytest.raises(TransitionNotAllowed, match="'weather' is not one of"):
        sales.lose(deal, "weather", at=hours(2))
    lost = sales.lose(deal, " price ", at=hours(2), actor=BOB).entity
    assert (lost.stage, lost.status, lost.lost_reason) == (
        "lost",
        DealStatus.LOST,
        "price",
    )
    assert lost.closed_at == hours(2)
    restored = sales.restore(lost, at=hours(3), to="demo")
    assert restored.entity.stage == "demo"
    assert restored.entity.status is DealStatus.OPEN
    assert restored.entity.lost_reason is None
    assert restored.entity.closed_at is None
    assert restored.events[-1].new is DealStatus.OPEN


def test_lost_as_a_status_keeps_the_stage():
    sales = pipeline(stages=stages(), lost_mode="status", lost_reasons=[])
    deal = sales.move(opened(sales), "demo", at=hours(1)).entity
    with pytest.raises(TransitionNotAllowed, match="needs a reason"):
        sales.lose(deal, "  ", at=hours(2))
    lost = sales.lose(deal, "went dark", at=hours(2)).entity
    assert (lost.stage, lost.status, lost.probability) == (
        "demo",
        DealStatus.LOST,
        Probability(0.0),
    )
    with pytest.raises(TransitionNotAllowed, match="restore it first"):
        sales.move(lost, "proposal", at=hours(3))
    with pytest.raises(TransitionNotAllowed, match="the deal is lost"):
        sales.lose(lost, "again", at=hours(3))
    back = sales.restore(lost, at=hours(3)).entity
    assert (back.stage, back.status, back.probability) == (
        "demo",
        DealStatus.OPEN,
        Probability(0.4),
    )
    moved = sales.restore(lost, at=hours(3), to="qualified")
    assert moved.entity.stage == "qualified"
    assert [type(e) for e in moved.events] == [DealStatusChanged, StateChanged]


def test_owner_override_is_tracked_and_ends_with_the_stage():
    sales = pipeline()
    deal = opened(sales)
    overridden = sales.override_probability(deal, 0.35, at=hours(1), actor=BOB)
    assert overridden.entity.probability == Probability(0.35)
    assert overridden.events == (
        ProbabilityOverridden(
            entity_id=deal.id,
            pipeline="b2b",
            stage="prospecting",
            stage_probability=0.1,
            old=0.1,
            new=0.35,
            at=hours(1),
            actor=BOB,
        ),
    )
    with pytest.raises(ValidationError):
        sales.override_probability(deal, 1.5, at=hours(1))
    moved = sales.move(overridden.entity, "qualified", at=hours(2)).entity
    assert moved.probability == Probability(0.25)
    won = sales.win(moved.update({"amount": eur(1)}, at=hours(2)).entity, at=hours(3))
    with pytest.raises(TransitionNotAllowed):
        sales.override_probability(won.entity, 0.5, at=hours(4))


def test_history_records_entry_exit_actor_and_probability_snapshots():
    sales = pipeline()
    history = StageHistory()
    moved = sales.open(at=AT, actor=ALICE, name="Acme", amount=eur(10))
    history.record(moved.events)
    moved = sales.override_probability(moved.entity, 0.2, at=hours(1), actor=ALICE)
    history.record(moved.events)
    moved = sales.move(moved.entity, "demo", at=hours(2), actor=BOB)
    history.record(moved.events)
    deal = moved.entity
    # A later change of the stage's probability does not rewrite the history.
    cheaper = pipeline(
        stages=[
            *(
                attrs.evolve(s, probability=0.3) if s.name == "demo" else s
                for s in stages()
            ),
            Stage("lost", 0.0, "omitted", outcome="lost"),
        ]
    )
    history.record(cheaper.win(deal, at=hours(5), actor=ALICE).events)
    visits = history.visits(deal.id)
    assert visits == (
        StageVisit(
            deal_id=deal.id,
            pipeline="b2b",
            stage="prospecting",
            entered_at=AT,
            entered_by=ALICE,
            exited_at=hours(2),
            exited_by=BOB,
            probability=0.1,
            override=0.2,
            override_by=ALICE,
        ),
        StageVisit(
            deal_id=deal.id,
            pipeline="b2b",
            stage="demo",
            entered_at=hours(2),
            entered_by=BOB,
            exited_at=hours(5),
            exited_by=ALICE,
            probability=0.4,
        ),
        StageVisit(
            deal_id=deal.id,
            pipeline="b2b",
            stage="won",
            entered_at=hours(5),
            entered_by=ALICE,
            probability=1.0,
        ),
    )
    assert visits[1].duration == timedelta(hours=3)
    assert visits[2].duration is None
    assert history.entered_at(deal.id) == hours(5)
    assert history.visits_of([deal.id]) == {deal.id: visits}
    assert history.deal_ids() == [deal.id]
    assert len(history) == 4
    assert history.visits(new_id(AT)) == ()


def test_rotting_uses_the_stage_threshold():
    sales = pipeline()
    deal = opened(sales)
    assert not sales.is_rotting(deal, at=AT + timedelta(days=14), entered_at=AT)
    assert sales.is_rotting(deal, at=AT + timedelta(days=15), entered_at=AT)
    demo = sales.move(deal, "demo", at=hours(1)).entity
    assert not sales.is_rotting(demo, at=AT + timedelta(days=400), entered_at=AT)


@pytest.mark.parametrize(
    ("change", "path"),
    [
        ({"stages": []}, "stages"),
        ({"stages": [*stages(), Stage("demo", 0.1)]}, "stages[6].name"),
        ({"stages": [Stage("a", 1.5), *stages()[1:]]}, "stages[0].probability"),
        (
            {"stages": [*stages()[:-1], Stage("won", 0.9, "closed", outcome="won")]},
            "stages[5].probability",
        ),
        (
            {"stages": [*stages()[:-1], Stage("won", 1.0, "commit", outcome="won")]},
            "stages[5].forecast_category",
        ),
        (
            {"stages": [Stage("a", 0.1, rotting_days=0), *stages()[1:]]},
            "stages[0].rotting_days",
        ),
        (
            {"stages": [Stage("a", 0.1, moves=["nope"]), *stages()[1:]]},
            "stages[0].moves[0]",
        ),
        (
            {"stages": [*stages()[:-1], Stage("lost", 0.0, "omitted", outcome="lost")]},
            "stages",
        ),
        ({"stages": stages()}, "stages"),
        (
            {
                "stages": [*stages(), Stage("lost", 0.0, "omitted", outcome="lost")],
                "lost_mode": LostMode.STATUS,
            },
            "stages[6].outcome",
        ),
        ({"lost_reasons": ["price", " "]}, "lost_reasons[1]"),
        (
            {
                "stages": [
                    Stage("new", 0.1, moves=["won"]),
                    Stage("island", 0.5),
                    Stage("won", 1.0, "closed", outcome="won"),
                    Stage("lost", 0.0, "omitted", outcome="lost", moves=["new"]),
                ]
            },
            "stages[1]",
        ),
    ],
)
def test_bad_pipelines_name_their_path(change, path):
    with pytest.raises(InvalidDefinition) as error:
        pipeline(**change)
    assert error.value.path == path


def test_stage_lookup_and_accessors():
    sales = pipeline()
    assert sales.stage("demo").probability == 0.4
    with pytest.raises(InvalidDefinition, match="no stage 'x'"):
        sales.stage("x")
    assert sales.won_stage.name == "won"
    assert sales.lost_stage.name == "lost"
    assert [s.name for s in sales.open_stages][-1] == "negotiation"
    assert pipeline(stages=stages(), lost_mode="status").lost_stage is None


def test_a_reason_on_a_move_that_is_not_a_loss_is_refused():
    with pytest.raises(ValidationError, match="only a lost deal"):
        pipeline().move(opened(), "demo", at=hours(1), reason="price")


def test_deal_value_stays_a_plain_deal():
    deal = opened()
    assert type(deal) is Deal


def test_open_refuses_the_fields_the_pipeline_sets():
    with pytest.raises(ValidationError) as error:
        pipeline().open(at=AT, name="Acme", stage="won", probability=Probability(1.0))
    assert error.value.paths == ("probability", "stage")


def test_a_won_deal_is_final():
    sales = pipeline()
    won = sales.win(opened(sales, amount=eur(1)), at=hours(1)).entity
    with pytest.raises(
        TransitionNotAllowed, match="'won' is final: no transition leaves it"
    ):
        sales.move(won, "demo", at=hours(2))


def test_stage_effects_are_raised_as_events():
    sales = pipeline(
        stages=[
            Stage("prospecting", 0.1, on_exit=["prospect.left"]),
            Stage(
                "won",
                1.0,
                "closed",
                outcome="won",
                on_entry=["deal.won", "invoice.due"],
            ),
            Stage("lost", 0.0, "omitted", outcome="lost"),
        ]
    )
    moved = sales.win(opened(sales), at=hours(1), actor=BOB)
    names = [(e.name, e.state) for e in moved.events if isinstance(e, EffectRaised)]
    assert names == [
        ("prospect.left", "prospecting"),
        ("deal.won", "won"),
        ("invoice.due", "won"),
    ]
    assert isinstance(moved.events[-1], DealStatusChanged)


def test_plain_moves_equal_fully_checked_ones():
    """The fast path of move gives the same deal and events as every check does."""
    pipeline = DealPipeline(
        "b2b",
        [
            Stage("new", 0.1),
            Stage("demo", 0.4),
            Stage("won", 1.0, "closed", outcome="won"),
            Stage("lost", 0.0, "omitted", outcome="lost"),
        ],
        lost_reasons=["price"],
    )
    actor = new_id(AT)
    deal = pipeline.open(at=AT, name="Acme").entity
    lost = pipeline.lose(deal, "price", at=AT).entity
    for source, to in [
        ("new", "demo"),
        ("new", "won"),
        ("lost", "demo"),
        ("new", "lost"),
    ]:
        start = lost if source == "lost" else deal
        at = AT + timedelta(hours=1)
        reason = "price" if to == "lost" else None
        fast = pipeline.move(start, to, at=at, actor=actor, reason=reason)
        checked = pipeline._checked_move(start, to, at, actor, frozenset(), reason)
        assert (source, to) in pipeline._plans
        assert type(fast.entity) is Deal
        assert fast == checked
        assert fast.entity == attrs.evolve(fast.entity)  # every field valid
        with pytest.raises(attrs.exceptions.FrozenInstanceError):
            fast.entity.stage = "x"  # type: ignore[misc]


def test_a_move_at_another_time_zone_is_the_same_instant():
    """An aware time outside UTC is checked and stored in UTC, like any move."""
    pipeline = DealPipeline(
        "b2b",
        [Stage("new", 0.1), Stage("won", 1.0, "closed", outcome="won")],
        lost_mode="status",
    )
    deal = pipeline.open(at=AT, name="Acme").entity
    paris = timezone(timedelta(hours=1))
    moved = pipeline.move(deal, "won", at=datetime(2026, 1, 5, 11, 0, tzinfo=paris))
    assert (moved.entity.updated_at, moved.entity.updated_at.tzinfo) == (
        AT + timedelta(hours=1),
        UTC,
    )


def _b2b():
    return DealPipeline(
        "b2b",
        [
            Stage("new", 0.1),
            Stage("won", 1.0, "closed", outcome="won"),
            Stage("lost", 0.0, "omitted", outcome="lost"),
        ],
    )


def test_open_many_opens_what_open_would():
    """Each row of open_many is the deal and event open makes, ids aside."""
    pipeline = _b2b()
    owner = new_id(AT)
    amounts = [Money(Decimal(10), "EUR"), None]
    many = pipeline.open_many(
        at=AT, actor=owner, name=["  Acme  deal ", "Globex"], amount=amounts
    )
    one = [
        pipeline.open(at=AT, actor=owner, name=name, amount=amount)
        for name, amount in zip(["  Acme  deal ", "Globex"], amounts, strict=True)
    ]
    for made, single in zip(many, one, strict=True):
        assert attrs.evolve(made.entity, id=single.entity.id) == single.entity
        assert (
            attrs.evolve(made.events[0], entity_id=single.entity.id) == single.events[0]
        )
    assert [m.entity.name for m in many] == ["Acme deal", "Globex"]
    assert len({m.entity.id for m in many}) == 2
    assert pipeline.open_many(at=AT, name=[]) == []


@pytest.mark.parametrize(
    ("columns", "paths", "code"),
    [
        ({"name": ["Acme", 7]}, ["name[1]"], "type"),
        ({"name": ["Acme", " "]}, ["name[1]"], "required"),
        ({"name": ["Acme"], "amount": [1, 2]}, ["amount"], "column.length"),
        ({"name": "Acme"}, ["name"], "column.type"),
        ({"name": ["Acme"], "colour": ["red"]}, ["colour"], "unknown_field"),
        ({"name": ["Acme"], "stage": ["won"]}, ["stage"], "read_only"),
        ({"amount": [None]}, ["name"], "required"),
        (
            {"name": ["A", "B"], "lost_reason": [None, "price"]},
            ["lost_reason[1]"],
            "deal.not_lost",
        ),
    ],
)
def test_open_many_refuses_what_open_refuses(columns, paths, code):
    """Bad values name their column and row; bad columns name the column."""
    with pytest.raises(ValidationError) as caught:
        _b2b().open_many(at=AT, **columns)
    assert ([e.path for e in caught.value.errors], caught.value.errors[0].code) == (
        paths,
        code,
    )


def test_open_many_needs_an_aware_time():
    """A naive time is refused, as open refuses it."""
    with pytest.raises(ValidationError) as caught:
        _b2b().open_many(at=datetime(2026, 1, 5), name=["Acme"])  # noqa: DTZ001 - naive on purpose
    assert caught.value.errors[0].code == "datetime.naive"


def test_a_pipeline_pickles_as_its_definition():
    """A pickled pipeline comes back equal, its generated moves built again."""
    sales = pipeline(allow_skip=False, description="B2B")
    copied = pickle.loads(pickle.dumps(sales))  # noqa: S301 - our own bytes
    assert copied == sales
    assert copy.deepcopy(sales) == sales
    deal = opened(sales)
    assert copied.move(deal, "qualified", at=hours(1)) == sales.move(
        deal, "qualified", at=hours(1)
    )
