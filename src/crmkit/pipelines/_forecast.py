"""
Forecasts: the weighted pipeline (amount x probability) grouped and rolled up.

Deals are grouped by period (month, quarter or fiscal year with a configurable first
month), owner, team, pipeline or forecast category, in one currency converted with
rates given as input. Roll-ups follow Salesforce's: closed (won), commit (closed plus
commit), best case (commit plus best case) and pipeline (every open deal).
`forecast_arrays` does the same sums on numpy arrays for batch use.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Mapping, Sequence
from datetime import date
from decimal import Decimal
from typing import Final, NamedTuple

import attrs
import numpy as np
import numpy.typing as npt

from crmkit.errors import FieldError, ValidationError
from crmkit.model import Deal, DealStatus, ForecastCategory
from crmkit.values import Money, currency_minor_units

__all__ = [
    "ArrayForecast",
    "Forecast",
    "ForecastRow",
    "Period",
    "fiscal_period",
    "forecast",
    "forecast_arrays",
]

GROUPINGS: Final = ("period", "owner", "team", "pipeline", "category")
UNSCHEDULED: Final = "unscheduled"
UNASSIGNED: Final = "unassigned"
_ZERO: Final = Decimal(0)


class Period(enum.StrEnum):
    """
    The length of a forecast period.

    .. versionadded:: 0.1
    """

    MONTH = "month"
    QUARTER = "quarter"
    YEAR = "year"


def fiscal_period(
    day: date, period: Period | str, *, fiscal_year_start: int = 1
) -> str:
    """
    Name the period holding ``day``: ``"2026-03"``, ``"FY2026-Q1"`` or ``"FY2026"``.

    A fiscal year starting in another month than January is named after the
    calendar year it ends in (April 2026 to March 2027 is ``FY2027``).

    Raises:
        ValidationError: An unknown period, or a start month outside 1..12.
    """
    kind = _period(period)
    if isinstance(fiscal_year_start, bool) or fiscal_year_start not in range(1, 13):
        raise ValidationError.single(
            "fiscal_year_start",
            fiscal_year_start,
            "month.range",
            "must be a month 1..12",
        )
    if kind is Period.MONTH:
        return f"{day.year:04d}-{day.month:02d}"
    months_in = (day.month - fiscal_year_start) % 12
    year = day.year + (
        1 if fiscal_year_start > 1 and day.month >= fiscal_year_start else 0
    )
    if kind is Period.YEAR:
        return f"FY{year}"
    return f"FY{year}-Q{months_in // 3 + 1}"


def _period(period: Period | str) -> Period:
    try:
        return Period(period)
    except ValueError:
        raise ValidationError.single(
            "period", period, "period.unknown", "one of: month, quarter, year"
        ) from None


@attrs.frozen(kw_only=True)
class ForecastRow:
    """
    One group of a forecast, with its roll-ups, in the forecast's currency.

    Attributes:
        key: The group's values, one per grouping (`Forecast.by`).
        deals: How many deals count (lost deals do not).
        amount: Their total amount.
        weighted: Sum of amount x probability.
        closed: Amount won.
        commit: Closed plus the commit category.
        best_case: Commit plus the best-case category.
        pipeline: Every deal still open plus closed: the widest roll-up.
        quota: The target given for this group, if any.

    .. versionadded:: 0.1
    """

    key: tuple[str, ...]
    deals: int
    amount: Decimal
    weighted: Decimal
    closed: Decimal
    commit: Decimal
    best_case: Decimal
    pipeline: Decimal
    quota: Decimal | None = None

    @property
    def attainment(self) -> float | None:
        """Closed amount over quota (`None` without a positive quota)."""
        if not self.quota:
            return None
        return float(self.closed / self.quota)


@attrs.frozen(kw_only=True)
class Forecast:
    """
    A forecast: rows grouped by ``by``, in ``currency``.

    .. versionadded:: 0.1
    """

    currency: str
    by: tuple[str, ...]
    period: Period
    rows: tuple[ForecastRow, ...]

    @property
    def total(self) -> ForecastRow:
        """Every row summed (its quota is the sum of the quotas given)."""
        quotas = [row.quota for row in self.rows if row.quota is not None]
        return ForecastRow(
            key=(),
            deals=sum(row.deals for row in self.rows),
            amount=sum((row.amount for row in self.rows), _ZERO),
            weighted=sum((row.weighted for row in self.rows), _ZERO),
            closed=sum((row.closed for row in self.rows), _ZERO),
            commit=sum((row.commit for row in self.rows), _ZERO),
            best_case=sum((row.best_case for row in self.rows), _ZERO),
            pipeline=sum((row.pipeline for row in self.rows), _ZERO),
            quota=sum(quotas, _ZERO) if quotas else None,
        )


def _group_key(
    deal: Deal, by: Sequence[str], period: Period, fiscal_year_start: int
) -> tuple[str, ...]:
    key = []
    for name in by:
        if name == "period":
            day = (
                deal.closed_at.date()
                if deal.status is DealStatus.WON and deal.closed_at is not None
                else deal.expected_close_date
            )
            key.append(
                UNSCHEDULED
                if day is None
                else fiscal_period(day, period, fiscal_year_start=fiscal_year_start)
            )
        elif name == "owner":
            key.append(str(deal.owner_id) if deal.owner_id else UNASSIGNED)
        elif name == "team":
            key.append(str(deal.team_id) if deal.team_id else UNASSIGNED)
        elif name == "pipeline":
            key.append(deal.pipeline)
        else:
            key.append(str(_category(deal)))
    return tuple(key)


def _category(deal: Deal) -> ForecastCategory:
    if deal.status is DealStatus.WON:
        return ForecastCategory.CLOSED
    return deal.forecast_category or ForecastCategory.PIPELINE


def _convert(
    money: Money, currency: str, rates: Mapping[str, Decimal], path: str
) -> Decimal:
    if money.currency == currency:
        return money.amount
    rate = rates.get(money.currency)
    if rate is None:
        raise ValidationError.single(
            path,
            str(money),
            "currency.no_rate",
            f"no rate from {money.currency} to {currency}; "
            f"add rates[{money.currency!r}]",
        )
    return money.amount * rate


def _check_rates(rates: Mapping[str, Decimal | int]) -> dict[str, Decimal]:
    errors = [
        FieldError(f"rates.{code}", rate, "rate.invalid", "must be a positive Decimal")
        for code, rate in rates.items()
        if isinstance(rate, bool) or not isinstance(rate, Decimal | int) or rate <= 0
    ]
    if errors:
        raise ValidationError(errors)
    return {code.upper(): Decimal(rate) for code, rate in rates.items()}


def forecast(
    deals: Iterable[Deal],
    *,
    currency: str,
    rates: Mapping[str, Decimal | int] | None = None,
    by: Sequence[str] = ("period",),
    period: Period | str = Period.QUARTER,
    fiscal_year_start: int = 1,
    quotas: Mapping[tuple[str, ...], Decimal] | None = None,
) -> Forecast:
    """
    Group deals and sum their amounts, weighted amounts and roll-ups.

    Args:
        deals: The deals; lost ones and those without an amount are left out.
        currency: The currency of the result.
        rates: How many units of ``currency`` one unit of each other currency is
            worth (``{"USD": Decimal("0.92")}``); no network is used.
        by: Groupings among period, owner, team, pipeline and category.
        period: Month, quarter or year (fiscal, see `fiscal_period`).
        fiscal_year_start: The first month of the fiscal year.
        quotas: Targets per group key, for `ForecastRow.attainment`.

    Raises:
        ValidationError: An unknown grouping or period, a bad rate, or an amount in
            a currency with no rate (its path names the deal).
    """
    unknown = [name for name in by if name not in GROUPINGS]
    if unknown:
        raise ValidationError.single(
            "by", unknown[0], "grouping.unknown", f"one of: {', '.join(GROUPINGS)}"
        )
    kind = _period(period)
    fiscal_period(date(2000, 1, 1), kind, fiscal_year_start=fiscal_year_start)
    checked = _check_rates(rates or {})
    target = Money(0, currency).currency
    sums: dict[tuple[str, ...], list[Decimal]] = {}
    counts: dict[tuple[str, ...], int] = {}
    for index, deal in enumerate(deals):
        if deal.status is DealStatus.LOST or deal.amount is None:
            continue
        amount = _convert(deal.amount, target, checked, f"deals[{index}].amount")
        probability = deal.probability.as_decimal() if deal.probability else _ZERO
        category = _category(deal)
        key = _group_key(deal, by, kind, fiscal_year_start)
        row = sums.setdefault(key, [_ZERO] * 6)
        counts[key] = counts.get(key, 0) + 1
        row[0] += amount
        row[1] += amount * probability
        if category is ForecastCategory.OMITTED:
            continue
        row[5] += amount
        if category is ForecastCategory.PIPELINE:
            continue
        row[4] += amount
        if category is ForecastCategory.BEST_CASE:
            continue
        row[3] += amount
        if category is ForecastCategory.CLOSED:
            row[2] += amount
    places = currency_minor_units(target) or 0
    step = Decimal(1).scaleb(-places)
    rows = tuple(
        ForecastRow(
            key=key,
            deals=counts[key],
            amount=values[0].quantize(step),
            weighted=values[1].quantize(step),
            closed=values[2].quantize(step),
            commit=values[3].quantize(step),
            best_case=values[4].quantize(step),
            pipeline=values[5].quantize(step),
            quota=None if quotas is None else quotas.get(key),
        )
        for key, values in sorted(sums.items())
    )
    return Forecast(currency=target, by=tuple(by), period=kind, rows=rows)


class ArrayForecast(NamedTuple):
    """Per-group sums from `forecast_arrays`, indexed by group code."""

    deals: npt.NDArray[np.int64]
    amount: npt.NDArray[np.float64]
    weighted: npt.NDArray[np.float64]


def forecast_arrays(
    amounts: npt.ArrayLike,
    probabilities: npt.ArrayLike,
    *,
    groups: npt.ArrayLike | None = None,
    rates: npt.ArrayLike | None = None,
    groups_count: int | None = None,
) -> ArrayForecast:
    """
    The weighted pipeline on arrays: sums of amount and amount x probability per group.

    Args:
        amounts: One amount per deal (floats; NaN counts as no amount).
        probabilities: One probability per deal, in [0, 1].
        groups: One group code per deal (0..n-1); all in group 0 if omitted.
        rates: One conversion rate per deal, multiplied into its amount.
        groups_count: How many groups to report (default: the largest code + 1).

    Raises:
        ValidationError: Arrays of different lengths, probabilities outside
            [0, 1], negative group codes or a NaN rate (a currency with no rate).
    """
    amount = np.asarray(amounts, dtype=np.float64)
    odds = np.asarray(probabilities, dtype=np.float64)
    codes = (
        np.zeros(amount.shape, dtype=np.int64)
        if groups is None
        else np.asarray(groups, dtype=np.int64)
    )
    for name, array in (("probabilities", odds), ("groups", codes)):
        if array.shape != amount.shape:
            raise ValidationError.single(
                name, array.shape, "shape", f"expected {amount.shape} like amounts"
            )
    if rates is not None:
        factor = np.asarray(rates, dtype=np.float64)
        if np.isnan(factor).any():
            row = int(np.flatnonzero(np.isnan(factor))[0])
            raise ValidationError.single(
                f"rates[{row}]",
                None,
                "currency.no_rate",
                "no rate for this deal's currency",
            )
        amount = amount * factor
    if odds.size and not ((odds >= 0) & (odds <= 1)).all():
        row = int(np.flatnonzero(~((odds >= 0) & (odds <= 1)))[0])
        raise ValidationError.single(
            f"probabilities[{row}]",
            float(odds[row]),
            "probability.range",
            "must be in [0, 1]",
        )
    if codes.size and codes.min() < 0:
        raise ValidationError.single(
            "groups", int(codes.min()), "code.range", "must be >= 0"
        )
    present = ~np.isnan(amount)
    size = groups_count if groups_count is not None else int(codes.max(initial=-1)) + 1
    clean = np.where(present, amount, 0.0)
    return ArrayForecast(
        deals=np.bincount(codes, weights=present, minlength=size).astype(np.int64),
        amount=np.bincount(codes, weights=clean, minlength=size).astype(np.float64),
        weighted=np.bincount(codes, weights=clean * odds, minlength=size).astype(
            np.float64
        ),
    )
