"""
Random moves on random valid pipelines, checked against a simple model.

History stays contiguous and time-ordered; won deals stay won and lost deals stay
lost until restored; the weighted forecast is the sum of amount x probability;
probabilities stay in [0, 1]; every refusal is one the model predicts; the stage
history stored through a repository (`store_moves`) reads back as the one kept in
memory.
"""

import itertools
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from hypothesis import strategies as st
from hypothesis.stateful import (
    Bundle,
    RuleBasedStateMachine,
    consumes,
    initialize,
    invariant,
    multiple,
    rule,
)

from crmkit.errors import TransitionNotAllowed
from crmkit.model import DealStatus
from crmkit.pipelines import (
    DealPipeline,
    LostMode,
    Stage,
    StageHistory,
    StageOutcome,
    forecast,
    stage_visits_of,
    store_moves,
)
from crmkit.repositories.memory import MemoryDatabase
from crmkit.values import Money

REASONS = ("price", "competitor", "timing")


@st.composite
def pipelines(draw):
    count = draw(st.integers(2, 6))
    odds = sorted(draw(st.lists(st.floats(0, 1), min_size=count, max_size=count)))
    stages = [
        Stage(f"s{i}", p, draw(st.sampled_from(["pipeline", "best_case", "commit"])))
        for i, p in enumerate(odds)
    ]
    stages.append(Stage("won", 1.0, "closed", outcome="won"))
    mode = draw(st.sampled_from(LostMode))
    if mode is LostMode.STAGE:
        stages.append(Stage("lost", 0.0, "omitted", outcome="lost"))
    return DealPipeline(
        "random",
        stages,
        lost_reasons=REASONS,
        lost_mode=mode,
        allow_backward=draw(st.booleans()),
        allow_skip=draw(st.booleans()),
    )


def allowed(pipeline, current, target):
    """The model's rule for a move from stage ``current`` to ``target``."""
    stages = [s.name for s in pipeline.stages]
    opens = [s.name for s in pipeline.open_stages]
    kind = pipeline.stage(target).outcome
    here = pipeline.stage(current).outcome
    if current == target or here is StageOutcome.WON:
        return False
    if here is StageOutcome.LOST:
        return kind is StageOutcome.OPEN
    if kind is not StageOutcome.OPEN:
        return True
    i, j = stages.index(current), stages.index(target)
    following = opens[opens.index(current) + 1] if current != opens[-1] else None
    return (
        target == following
        or (j > i and pipeline.allow_skip)
        or (j < i and pipeline.allow_backward)
    )


class PipelineMachine(RuleBasedStateMachine):
    deals = Bundle("deals")

    def __init__(self):
        super().__init__()
        self.now = datetime(2026, 1, 1, tzinfo=UTC)
        self.history = StageHistory()
        self.book = {}
        self.database = MemoryDatabase()

    @initialize(pipeline=pipelines())
    def choose_pipeline(self, pipeline):
        self.pipeline = pipeline

    def tick(self, minutes):
        self.now += timedelta(minutes=minutes)
        return self.now

    def keep(self, moved):
        self.history.record(moved.events)
        with self.database.unit_of_work() as uow:
            store_moves(uow, [moved])
            uow.commit()
        self.book[moved.entity.id] = moved.entity
        return moved.entity.id

    @rule(target=deals, amount=st.integers(0, 10**6), minutes=st.integers(0, 600))
    def open_deal(self, amount, minutes):
        moved = self.pipeline.open(
            at=self.tick(minutes), name="Deal", amount=Money(Decimal(amount), "EUR")
        )
        return self.keep(moved)

    @rule(
        target=deals,
        deal_id=consumes(deals),
        data=st.data(),
        minutes=st.integers(0, 600),
    )
    def move(self, deal_id, data, minutes):
        deal = self.book[deal_id]
        target = data.draw(st.sampled_from([s.name for s in self.pipeline.stages]))
        reason = data.draw(st.sampled_from(REASONS))
        lost_target = self.pipeline.stage(target).outcome is StageOutcome.LOST
        expected = (
            deal.status is DealStatus.OPEN or self.pipeline.lost_mode is LostMode.STAGE
        )
        expected = expected and allowed(self.pipeline, deal.stage, target)
        try:
            moved = self.pipeline.move(
                deal,
                target,
                at=self.tick(minutes),
                reason=reason if lost_target else None,
            )
        except TransitionNotAllowed:
            assert not expected, (deal.stage, deal.status, target)
            return multiple(deal_id)
        assert expected, (deal.stage, deal.status, target)
        assert moved.entity.stage == target
        return multiple(self.keep(moved))

    @rule(target=deals, deal_id=consumes(deals), reason=st.sampled_from(REASONS))
    def lose(self, deal_id, reason):
        deal = self.book[deal_id]
        try:
            moved = self.pipeline.lose(deal, reason, at=self.tick(1))
        except TransitionNotAllowed:
            assert deal.status is not DealStatus.OPEN
            return multiple(deal_id)
        assert deal.status is DealStatus.OPEN
        assert moved.entity.status is DealStatus.LOST
        assert moved.entity.lost_reason == reason
        return multiple(self.keep(moved))

    @rule(target=deals, deal_id=consumes(deals))
    def restore(self, deal_id):
        deal = self.book[deal_id]
        try:
            moved = self.pipeline.restore(deal, at=self.tick(1))
        except TransitionNotAllowed:
            assert deal.status is not DealStatus.LOST
            return multiple(deal_id)
        assert deal.status is DealStatus.LOST
        assert moved.entity.status is DealStatus.OPEN
        return multiple(self.keep(moved))

    @rule(target=deals, deal_id=consumes(deals), odds=st.floats(0, 1))
    def override(self, deal_id, odds):
        deal = self.book[deal_id]
        try:
            moved = self.pipeline.override_probability(deal, odds, at=self.tick(1))
        except TransitionNotAllowed:
            assert deal.status is not DealStatus.OPEN
            return multiple(deal_id)
        assert moved.entity.probability.value == odds
        return multiple(self.keep(moved))

    @invariant()
    def history_is_contiguous_and_time_ordered(self):
        for deal_id, deal in self.book.items():
            visits = self.history.visits(deal_id)
            assert visits[0].entered_at == deal.created_at
            assert visits[-1].stage == deal.stage
            assert visits[-1].exited_at is None
            for before, after in itertools.pairwise(visits):
                assert before.exited_at == after.entered_at
                assert before.entered_at <= before.exited_at

    @invariant()
    def stored_history_is_the_same(self):
        with self.database.unit_of_work(readonly=True) as uow:
            stored = stage_visits_of(uow, list(self.book))
            deals = uow.deals.get_many(list(self.book))
        assert deals == list(self.book.values())
        assert stored == self.history.visits_of(self.book)

    @invariant()
    def closed_deals_match_their_status(self):
        for deal in self.book.values():
            stage = self.pipeline.stage(deal.stage)
            if stage.outcome is StageOutcome.WON:
                assert deal.status is DealStatus.WON
            if stage.outcome is StageOutcome.LOST:
                assert deal.status is DealStatus.LOST
            assert (deal.status is DealStatus.OPEN) == (deal.closed_at is None)

    @invariant()
    def probabilities_stay_in_range_and_forecast_adds_up(self):
        deals = list(self.book.values())
        for deal in deals:
            assert 0 <= deal.probability.value <= 1
        if not deals:
            return
        result = forecast(deals, currency="EUR", by=[])
        expected = sum(
            (
                d.amount.amount * d.probability.as_decimal()
                for d in deals
                if d.status is not DealStatus.LOST
            ),
            Decimal(0),
        )
        weighted = result.total.weighted
        assert abs(weighted - expected) <= Decimal("0.005") * max(1, len(deals))


TestPipelineMachine = PipelineMachine.TestCase
