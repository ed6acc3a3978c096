"""Probabilities in [0, 1], such as a pipeline stage's chance of winning."""

from __future__ import annotations

import math
from decimal import Decimal

import attrs

from crmkit.errors import ValidationError

__all__ = ["Probability"]


def _checked(value: float | Decimal) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float | Decimal):
        raise ValidationError.single(
            "value",
            value,
            "type",
            f"expected a number in [0, 1], not {type(value).__name__}",
        )
    number = float(value)
    if not math.isfinite(number) or not 0.0 <= number <= 1.0:
        raise ValidationError.single(
            "value", value, "probability.range", "must be between 0 and 1"
        )
    return number


@attrs.frozen(order=True)
class Probability:
    """
    A probability between 0 and 1 inclusive.

    >>> Probability(0.4).percent
    40.0
    >>> Probability.from_percent(75)
    Probability(value=0.75)

    .. versionadded:: 0.1
    """

    value: float = attrs.field(converter=_checked)

    @classmethod
    def from_percent(cls, percent: float | Decimal) -> Probability:
        """Build from a percentage between 0 and 100."""
        if isinstance(percent, bool) or not isinstance(percent, int | float | Decimal):
            raise ValidationError.single(
                "percent",
                percent,
                "type",
                f"expected a number in [0, 100], not {type(percent).__name__}",
            )
        if not 0 <= percent <= 100:  # noqa: PLR2004 - a percentage
            raise ValidationError.single(
                "percent", percent, "probability.range", "must be between 0 and 100"
            )
        return cls(float(percent) / 100)

    @property
    def percent(self) -> float:
        """The probability as a percentage."""
        return self.value * 100

    def as_decimal(self) -> Decimal:
        """The probability as the shortest `Decimal` that reads as the same float."""
        return Decimal(repr(self.value))

    def __float__(self) -> float:
        return self.value
