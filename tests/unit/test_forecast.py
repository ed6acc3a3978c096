"""Forecasts and sales metrics, on deals and on arrays."""

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import numpy as np
import pytest

from crmkit.errors import ValidationError
from crmkit.ids import new_id
from crmkit.model import DealStatus
from crmkit.pipelines import (
    DealPipeline,
    Stage,
    StageHistory,
    cycle_length,
    fiscal_period,
    forecast,
    forecast_arrays,
    pipeline_velocity,
    rotting_deals,
    stage_conversion,
    time_in_stage,
    win_rate,
)
from crmkit.values import Money

AT = datetime(2026, 1, 5, tzinfo=UTC)
ALICE = new_id(AT)
BOB = new_id(AT + timedelta(seconds=1))


def sales():
    return DealPipeline(
        "b2b",
        [
            Stage("prospecting", 0.1, rotting_days=10),
            Stage("demo", 0.4, "best_case"),
            Stage("negotiation", 0.8, "commit"),
            Stage("won", 1.0, "closed", outcome="won"),
            Stage("lost", 0.0, "omitted", outcome="lost"),
        ],
    )


def days(n):
    return AT + timedelta(days=n)


def money(amount, currency="EUR"):
    return Money(Decimal(amount), currency)


@pytest.fixture
def book():
    """Five deals: open at three stages, one won, one lost; and their history."""
    pipeline = sales()
    history = StageHistory()
    deals = []

    def track(moved):
        history.record(moved.events)
        return moved.entity

    a = track(
        pipeline.open(
            at=AT,
            actor=ALICE,
            name="A",
            amount=money(1000),
            owner_id=ALICE,
            expected_close_date=date(2026, 2, 10),
        )
    )
    b = track(
        pipeline.open(
            at=AT,
            actor=ALICE,
            name="B",
            amount=money(2000, "USD"),
            owner_id=ALICE,
            expected_close_date=date(2026, 4, 1),
        )
    )
    b = track(pipeline.move(b, "demo", at=days(2), actor=ALICE))
    c = track(
        pipeline.open(
            at=AT,
            actor=BOB,
            name="C",
            amount=money(4000),
            owner_id=BOB,
            expected_close_date=date(2026, 3, 31),
        )
    )
    c = track(pipeline.move(c, "demo", at=days(1), actor=BOB))
    c = track(pipeline.move(c, "negotiation", at=days(4), actor=BOB))
    d = track(
        pipeline.open(at=AT, actor=BOB, name="D", amount=money(500), owner_id=BOB)
    )
    d = track(pipeline.move(d, "demo", at=days(3), actor=BOB))
    d = track(pipeline.win(d, at=days(10), actor=BOB))
    e = track(
        pipeline.open(at=AT, actor=BOB, name="E", amount=money(9000), owner_id=BOB)
    )
    e = track(pipeline.lose(e, "price", at=days(6), actor=BOB))
    deals = [a, b, c, d, e]
    return pipeline, deals, history


RATES = {"USD": Decimal("0.9")}


def test_fiscal_periods():
    assert fiscal_period(date(2026, 3, 31), "month") == "2026-03"
    assert fiscal_period(date(2026, 3, 31), "quarter") == "FY2026-Q1"
    assert (
        fiscal_period(date(2026, 4, 1), "quarter", fiscal_year_start=4) == "FY2027-Q1"
    )
    assert (
        fiscal_period(date(2026, 3, 1), "quarter", fiscal_year_start=4) == "FY2026-Q4"
    )
    assert fiscal_period(date(2026, 12, 1), "year", fiscal_year_start=7) == "FY2027"
    with pytest.raises(ValidationError, match=r"month 1\.\.12"):
        fiscal_period(date(2026, 1, 1), "quarter", fiscal_year_start=13)
    with pytest.raises(ValidationError, match="month, quarter, year"):
        fiscal_period(date(2026, 1, 1), "week")


def test_weighted_forecast_by_quarter_with_rollups(book):
    _, deals, _ = book
    result = forecast(
        deals, currency="EUR", rates=RATES, by=["period"], period="quarter"
    )
    rows = {row.key: row for row in result.rows}
    assert set(rows) == {("FY2026-Q1",), ("FY2026-Q2",)}
    q1 = rows[("FY2026-Q1",)]
    # A (1000 x 0.1), C (4000 x 0.8 commit), D won 500 x 1 (closed in January).
    assert q1.deals == 3
    assert q1.amount == Decimal("5500.00")
    assert q1.weighted == Decimal("3800.00")
    assert (q1.closed, q1.commit, q1.best_case, q1.pipeline) == (
        Decimal("500.00"),
        Decimal("4500.00"),
        Decimal("4500.00"),
        Decimal("5500.00"),
    )
    q2 = rows[("FY2026-Q2",)]
    assert q2.weighted == Decimal("720.00")  # 2000 USD x 0.9 x 0.4
    assert result.total.weighted == Decimal("4520.00")


def test_forecast_by_owner_and_category_with_quotas(book):
    _, deals, _ = book
    by_owner = forecast(
        deals,
        currency="EUR",
        rates=RATES,
        by=["owner"],
        quotas={(str(BOB),): Decimal(1000)},
    )
    rows = {row.key: row for row in by_owner.rows}
    assert rows[(str(BOB),)].attainment == 0.5
    assert rows[(str(ALICE),)].attainment is None
    assert by_owner.total.quota == Decimal(1000)
    by_category = forecast(
        deals, currency="EUR", rates=RATES, by=["pipeline", "category"]
    )
    assert [row.key for row in by_category.rows] == [
        ("b2b", "best_case"),
        ("b2b", "closed"),
        ("b2b", "commit"),
        ("b2b", "pipeline"),
    ]


def test_missing_rate_unknown_grouping_and_bad_rate_are_refused(book):
    _, deals, _ = book
    with pytest.raises(ValidationError) as error:
        forecast(deals, currency="EUR")
    assert error.value.errors[0].path == "deals[1].amount"
    assert error.value.errors[0].code == "currency.no_rate"
    assert "no rate from USD to EUR" in str(error.value)
    with pytest.raises(ValidationError, match="one of: period"):
        forecast(deals, currency="EUR", rates=RATES, by=["region"])
    with pytest.raises(ValidationError, match=r"rates\.USD"):
        forecast(deals, currency="EUR", rates={"USD": 0.9})
    with pytest.raises(ValidationError, match="currency"):
        forecast(deals, currency="EURO", rates=RATES)


def test_forecast_arrays_match_the_deal_forecast():
    amounts = np.array([1000.0, 2000.0, np.nan, 4000.0])
    odds = np.array([0.1, 0.4, 0.5, 0.8])
    groups = np.array([0, 1, 1, 0])
    result = forecast_arrays(amounts, odds, groups=groups, rates=[1, 0.9, 1, 1])
    assert list(result.deals) == [2, 1]
    assert result.amount == pytest.approx([5000, 1800])
    assert result.weighted == pytest.approx([3300, 720])
    assert forecast_arrays([1.0], [0.5]).weighted[0] == 0.5
    with pytest.raises(ValidationError, match=r"rates\[1\]"):
        forecast_arrays(amounts, odds, rates=[1, np.nan, 1, 1])
    with pytest.raises(ValidationError, match=r"probabilities\[0\]"):
        forecast_arrays([1.0], [1.5])
    with pytest.raises(ValidationError, match="shape"):
        forecast_arrays([1.0, 2.0], [0.5])
    with pytest.raises(ValidationError, match="groups"):
        forecast_arrays([1.0], [0.5], groups=[-1])


def test_win_rate_cycle_and_velocity(book):
    _, deals, _ = book
    assert win_rate(deals) == 0.5
    assert win_rate(deals[:3]) is None
    assert cycle_length(deals) == timedelta(days=10)
    assert cycle_length(deals[:3]) is None
    # 3 open deals x 500 won average x 0.5 win rate / 10 days.
    assert pipeline_velocity(deals, currency="EUR", rates=RATES) == money("75.00")
    assert pipeline_velocity(deals[:3], currency="EUR", rates=RATES) is None


def test_stage_conversion_and_time_in_stage(book):
    pipeline, _, history = book
    conversion = stage_conversion(pipeline, history)
    # prospecting: 5 entered, 3 went further (B, C, D); E was lost from it.
    assert conversion["prospecting"] == 3 / 5
    # demo: B, C, D reached it; C and D went further.
    assert conversion["demo"] == 2 / 3
    assert conversion["negotiation"] == 0.0
    times = time_in_stage(history, pipeline="b2b")
    assert times["prospecting"].visits == 4
    assert times["prospecting"].median == timedelta(days=2.5)
    assert times["demo"].median == timedelta(days=5)
    assert times["demo"].p90 == timedelta(days=6.6)
    assert "won" not in times


def test_rotting_deals(book):
    pipeline, deals, history = book
    rotten = rotting_deals(pipeline, deals, at=days(11), history=history)
    assert [deal.name for deal in rotten] == ["A"]
    assert rotting_deals(pipeline, deals, at=days(10), history=history) == []
    assert [d.name for d in rotting_deals(pipeline, deals, at=days(11))] == ["A"]
    assert deals[3].status is DealStatus.WON
