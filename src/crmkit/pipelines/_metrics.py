"""
Sales metrics from deals and their stage history.

Win rate, sales cycle length, stage conversion, time in stage (median and p90),
pipeline velocity and rotting deals. Each is a pure function of its inputs and
the time ``at`` where it needs one.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Final
from uuid import UUID

import attrs
import numpy as np

from crmkit.model import Deal, DealStatus
from crmkit.pipelines._deals import DealPipeline
from crmkit.pipelines._engine import utc
from crmkit.pipelines._forecast import _check_rates, _convert
from crmkit.pipelines._history import StageHistory
from crmkit.values import Money

__all__ = [
    "StageTimes",
    "cycle_length",
    "pipeline_velocity",
    "rotting_deals",
    "stage_conversion",
    "time_in_stage",
    "win_rate",
]

_DAY: Final = timedelta(days=1)


def win_rate(deals: Iterable[Deal]) -> float | None:
    """Won deals over closed (won or lost) deals; `None` when none is closed."""
    won = lost = 0
    for deal in deals:
        won += deal.status is DealStatus.WON
        lost += deal.status is DealStatus.LOST
    return None if won + lost == 0 else won / (won + lost)


def cycle_length(deals: Iterable[Deal]) -> timedelta | None:
    """The median time from creation to winning, over won deals (`None` if none)."""
    days = [
        (deal.closed_at - deal.created_at) / _DAY
        for deal in deals
        if deal.status is DealStatus.WON and deal.closed_at is not None
    ]
    return None if not days else timedelta(days=float(np.median(days)))


def stage_conversion(
    pipeline: DealPipeline,
    history: StageHistory,
    deal_ids: Iterable[UUID] | None = None,
) -> dict[str, float | None]:
    """
    For each open stage, the share of deals that reached it and went further.

    "Further" is any later stage in the pipeline's order (won included); a deal
    sent back counts once, at the furthest stage it reached.
    """
    order = {stage.name: i for i, stage in enumerate(pipeline.stages)}
    lost = pipeline.lost_stage
    reached = dict.fromkeys(order, 0)
    passed = dict.fromkeys(order, 0)
    for deal_id in history.deal_ids() if deal_ids is None else deal_ids:
        visits = [
            v
            for v in history.visits(deal_id)
            if v.pipeline == pipeline.name and v.stage in order
        ]
        ranks = [order[v.stage] for v in visits if lost is None or v.stage != lost.name]
        if not ranks:
            continue
        furthest = max(ranks)
        for name, rank in order.items():
            if rank <= furthest and any(r == rank for r in ranks):
                reached[name] += 1
                passed[name] += rank < furthest
    return {
        stage.name: (
            passed[stage.name] / reached[stage.name] if reached[stage.name] else None
        )
        for stage in pipeline.open_stages
    }


@attrs.frozen
class StageTimes:
    """
    How long deals stayed in one stage: count, median and 90th percentile.

    .. versionadded:: 0.1
    """

    stage: str
    visits: int
    median: timedelta
    p90: timedelta


def time_in_stage(
    history: StageHistory,
    *,
    pipeline: str | None = None,
    deal_ids: Iterable[UUID] | None = None,
) -> dict[str, StageTimes]:
    """The finished stays per stage (open stays are left out): median and p90."""
    durations: dict[str, list[float]] = {}
    for deal_id in history.deal_ids() if deal_ids is None else deal_ids:
        for visit in history.visits(deal_id):
            if visit.duration is None or (pipeline and visit.pipeline != pipeline):
                continue
            durations.setdefault(visit.stage, []).append(visit.duration / _DAY)
    return {
        stage: StageTimes(
            stage,
            len(days),
            timedelta(days=float(np.median(days))),
            timedelta(days=float(np.percentile(days, 90))),
        )
        for stage, days in durations.items()
    }


def pipeline_velocity(
    deals: Sequence[Deal],
    *,
    currency: str,
    rates: Mapping[str, Decimal | int] | None = None,
) -> Money | None:
    """
    Revenue the pipeline brings per day, `None` without won deals to measure.

    Open deals x average won amount x win rate / sales cycle length in days.
    """
    rate = win_rate(deals)
    cycle = cycle_length(deals)
    checked = _check_rates(rates or {})
    target = Money(0, currency).currency
    won = [
        _convert(d.amount, target, checked, f"deals[{i}].amount")
        for i, d in enumerate(deals)
        if d.status is DealStatus.WON and d.amount is not None
    ]
    if not rate or cycle is None or not won or cycle <= timedelta(0):
        return None
    opened = sum(1 for deal in deals if deal.status is DealStatus.OPEN)
    average = sum(won, Decimal(0)) / len(won)
    per_day = (
        Decimal(opened) * average * Decimal(repr(rate)) / Decimal(repr(cycle / _DAY))
    )
    return Money(per_day, target).rounded()


def rotting_deals(
    pipeline: DealPipeline,
    deals: Iterable[Deal],
    *,
    at: datetime,
    history: StageHistory | None = None,
) -> list[Deal]:
    """
    The open deals of ``pipeline`` that sat in their stage past its rotting threshold.

    Stage entry times come from ``history``; without it (or for a deal it lacks),
    the deal's last update stands in, as Odoo does.
    """
    at = utc(at)
    found = []
    for deal in deals:
        if deal.pipeline != pipeline.name:
            continue
        entered = history.entered_at(deal.id) if history is not None else None
        if pipeline.is_rotting(deal, at=at, entered_at=entered or deal.updated_at):
            found.append(deal)
    return found
