"""Money: an exact `Decimal` amount in an ISO 4217 currency."""

from __future__ import annotations

from collections.abc import Sequence
from decimal import ROUND_DOWN, ROUND_HALF_EVEN, Decimal, InvalidOperation
from functools import lru_cache

import attrs
import iso4217

from crmkit.errors import CurrencyMismatch, ValidationError
from crmkit.values._probability import Probability

__all__ = ["Money", "currency_minor_units"]


@lru_cache(maxsize=512)
def _minor_units(code: str) -> int | None:
    currency = iso4217.Currency(code)
    exponent: int | None = currency.exponent
    return exponent


def currency_minor_units(code: str) -> int | None:
    """
    Return how many decimal places a currency has (2 for EUR, 0 for JPY, 3 for KWD).

    `None` for codes without minor units, such as gold (XAU).

    Raises:
        ValidationError: ``code`` is not an ISO 4217 currency code.
    """
    return _minor_units(_currency(code))


def _currency(code: str) -> str:
    if not isinstance(code, str):
        raise ValidationError.single(
            "currency", code, "type", f"expected str, not {type(code).__name__}"
        )
    upper = code.strip().upper()
    try:
        _minor_units(upper)
    except ValueError:
        raise ValidationError.single(
            "currency", code, "currency.unknown", "not an ISO 4217 currency code"
        ) from None
    return upper


def _amount(value: Decimal | int) -> Decimal:
    if isinstance(value, float):
        raise ValidationError.single(
            "amount",
            value,
            "money.float",
            "floats are inexact for money; pass a Decimal, e.g. Decimal('12.30')",
        )
    if isinstance(value, bool) or not isinstance(value, Decimal | int):
        raise ValidationError.single(
            "amount",
            value,
            "type",
            f"expected Decimal or int, not {type(value).__name__}",
        )
    amount = Decimal(value)
    if not amount.is_finite():
        raise ValidationError.single(
            "amount", value, "money.not_finite", "must be a finite number"
        )
    return amount


def _factor(value: object) -> Decimal:
    if isinstance(value, Probability):
        return value.as_decimal()
    if isinstance(value, bool) or not isinstance(value, Decimal | int):
        msg = (
            "money can be multiplied or divided by Decimal, int or Probability, "
            f"not {type(value).__name__}"
        )
        raise TypeError(msg)
    return Decimal(value)


@attrs.frozen
class Money:
    """
    An exact amount of money in one currency.

    Amounts are `Decimal` (or `int`); floats are refused because they cannot hold
    ``0.10`` exactly. Adding, subtracting or comparing two currencies raises
    `CurrencyMismatch`: convert first with `converted`.

    >>> from decimal import Decimal
    >>> price = Money(Decimal("12.30"), "EUR")
    >>> price * 3
    Money(amount=Decimal('36.90'), currency='EUR')
    >>> str(price + Money(1, "eur"))
    '13.30 EUR'

    .. versionadded:: 0.1
    """

    amount: Decimal = attrs.field(converter=_amount)
    currency: str = attrs.field(converter=_currency)

    @classmethod
    def zero(cls, currency: str) -> Money:
        """No money, in ``currency``."""
        return cls(Decimal(0), currency)

    @property
    def minor_units(self) -> int | None:
        """Decimal places of the currency (`None` when it has none, like XAU)."""
        return _minor_units(self.currency)

    def rounded(self, rounding: str = ROUND_HALF_EVEN) -> Money:
        """Round to the currency's minor unit (banker's rounding by default)."""
        places = self.minor_units
        if places is None:
            return self
        return Money(
            self.amount.quantize(Decimal(1).scaleb(-places), rounding), self.currency
        )

    def converted(self, currency: str, rate: Decimal) -> Money:
        """
        Convert at a given rate: 1 unit of this currency is ``rate`` of ``currency``.

        crmkit never fetches rates; the caller supplies them.
        """
        if isinstance(rate, bool) or not isinstance(rate, Decimal | int) or rate <= 0:
            raise ValidationError.single(
                "rate", rate, "money.rate", "must be a positive Decimal"
            )
        return Money(self.amount * Decimal(rate), currency)

    def allocate(self, ratios: Sequence[int | Decimal]) -> tuple[Money, ...]:
        """
        Split into parts proportional to ``ratios`` without losing a minor unit.

        Each part is rounded towards zero to the currency's minor unit; the units
        left over go, one each, to the parts that lost the most in rounding
        (never to a part whose ratio is 0).

        >>> [str(m) for m in Money(100, "EUR").allocate([1, 1, 1])]
        ['33.34 EUR', '33.33 EUR', '33.33 EUR']
        """
        weights = [_factor(ratio) for ratio in ratios]
        total = sum(weights, Decimal(0))
        if not weights or total <= 0 or any(w < 0 for w in weights):
            raise ValidationError.single(
                "ratios",
                list(ratios),
                "money.ratios",
                "need non-negative ratios with a positive sum",
            )
        whole = self.rounded().amount
        places = self.minor_units
        if places is None:  # no minor unit (gold): split at the amount's own precision
            exponent = whole.as_tuple().exponent
            places = max(0, -exponent) if isinstance(exponent, int) else 0
        unit = Decimal(1).scaleb(-places)
        exact = [whole * w / total for w in weights]
        shares = [part.quantize(unit, rounding=ROUND_DOWN) for part in exact]
        left_over = int((whole - sum(shares, Decimal(0))) / unit)
        step = unit if left_over > 0 else -unit
        losers = sorted(
            (i for i, w in enumerate(weights) if w > 0),
            key=lambda i: abs(exact[i] - shares[i]),
            reverse=True,
        )
        for index in losers[: abs(left_over)]:
            shares[index] += step
        return tuple(Money(s or s.copy_abs(), self.currency) for s in shares)

    def _same_currency(self, other: Money) -> None:
        if other.currency != self.currency:
            raise CurrencyMismatch(self.currency, other.currency)

    def __add__(self, other: object) -> Money:
        if not isinstance(other, Money):
            return NotImplemented
        self._same_currency(other)
        return Money(self.amount + other.amount, self.currency)

    def __radd__(self, other: object) -> Money:
        if other == 0:  # so that sum() works without a start value
            return self
        return NotImplemented

    def __sub__(self, other: object) -> Money:
        if not isinstance(other, Money):
            return NotImplemented
        self._same_currency(other)
        return Money(self.amount - other.amount, self.currency)

    def __mul__(self, factor: object) -> Money:
        return Money(self.amount * _factor(factor), self.currency)

    __rmul__ = __mul__

    def __truediv__(self, divisor: object) -> Money:
        value = _factor(divisor)
        try:
            return Money(self.amount / value, self.currency)
        except (ZeroDivisionError, InvalidOperation):
            raise ZeroDivisionError("money divided by zero") from None

    def __neg__(self) -> Money:
        return Money(-self.amount, self.currency)

    def __abs__(self) -> Money:
        return Money(abs(self.amount), self.currency)

    def __bool__(self) -> bool:
        return bool(self.amount)

    def _compare(self, other: object) -> Decimal | None:
        if not isinstance(other, Money):
            return None
        self._same_currency(other)
        return self.amount - other.amount

    def __lt__(self, other: object) -> bool:
        difference = self._compare(other)
        return NotImplemented if difference is None else difference < 0

    def __le__(self, other: object) -> bool:
        difference = self._compare(other)
        return NotImplemented if difference is None else difference <= 0

    def __gt__(self, other: object) -> bool:
        difference = self._compare(other)
        return NotImplemented if difference is None else difference > 0

    def __ge__(self, other: object) -> bool:
        difference = self._compare(other)
        return NotImplemented if difference is None else difference >= 0

    def __str__(self) -> str:
        return f"{self.amount} {self.currency}"
