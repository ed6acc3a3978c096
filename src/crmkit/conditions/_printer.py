"""The canonical text form of a condition: what `parse` reads back to the same data."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Final

from crmkit.conditions._ast import (
    All,
    Any,
    Compare,
    Condition,
    IsEmpty,
    Literal,
    Not,
    Op,
)

__all__ = ["format_value", "to_text"]

_SYMBOLS: Final = {
    Op.EQ: "==",
    Op.NE: "!=",
    Op.GT: ">",
    Op.GTE: ">=",
    Op.LT: "<",
    Op.LTE: "<=",
    Op.CONTAINS: "contains",
    Op.STARTS_WITH: "starts with",
    Op.MATCHES: "matches",
}
_UNITS: Final = (
    ("w", timedelta(weeks=1)),
    ("d", timedelta(days=1)),
    ("h", timedelta(hours=1)),
    ("m", timedelta(minutes=1)),
)
_ESCAPES: Final = str.maketrans({"\\": "\\\\", '"': '\\"', "\n": "\\n", "\t": "\\t"})


def _duration(offset: timedelta) -> str:
    for unit, size in _UNITS:
        if offset % size == timedelta(0):
            return f"{offset // size}{unit}"
    msg = f"{offset} is not a whole number of minutes"
    raise ValueError(msg)


def format_value(value: Literal) -> str:  # noqa: PLR0911 - one return per type
    """
    A literal as the text form writes it.

    >>> format_value("FR"), format_value(True), format_value(Decimal("2.50"))
    ('"FR"', 'true', '2.50')
    """
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return f'"{value.translate(_ESCAPES)}"'
    if isinstance(value, int):
        return str(value)
    if isinstance(value, Decimal):
        text = format(value, "f")
        return text if "." in text else f"{text}.0"
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if value.offset == timedelta(0):
        return value.anchor
    sign = "-" if value.offset < timedelta(0) else "+"
    return f"{value.anchor} {sign} {_duration(abs(value.offset))}"


def _leaf(leaf: Compare | IsEmpty) -> str:
    if isinstance(leaf, IsEmpty):
        return f"{leaf.path} is empty"
    value = leaf.value
    if leaf.op in {Op.IN, Op.NOT_IN}:
        assert isinstance(value, tuple)  # noqa: S101 - checked when built
        choices = ", ".join(map(format_value, value))
        word = "in" if leaf.op is Op.IN else "not in"
        return f"{leaf.path} {word} ({choices})"
    if leaf.op is Op.BETWEEN:
        assert isinstance(value, tuple)  # noqa: S101 - checked when built
        low, high = value
        return f"{leaf.path} between {format_value(low)} and {format_value(high)}"
    assert not isinstance(value, tuple)  # noqa: S101 - checked when built
    return f"{leaf.path} {_SYMBOLS[leaf.op]} {format_value(value)}"


def _child(condition: Condition, parent: type[All | Any]) -> str:
    text = to_text(condition)
    nested = isinstance(condition, All | Any) and condition.conditions
    if nested and (parent is All or isinstance(condition, Any)):
        return f"({text})"
    return text


def to_text(condition: Condition) -> str:  # noqa: PLR0911 - one return per node kind
    """
    The canonical text of a condition; `parse` reads it back to equal data.

    >>> from crmkit.conditions import parse
    >>> to_text(parse("country in ('FR','BE') AND NOT score<=60"))
    'country in ("FR", "BE") and not score <= 60'
    """
    if isinstance(condition, All):
        if not condition.conditions:
            return "true"
        return " and ".join(_child(c, All) for c in condition.conditions)
    if isinstance(condition, Any):
        if not condition.conditions:
            return "false"
        return " or ".join(_child(c, Any) for c in condition.conditions)
    if isinstance(condition, Not):
        inner = condition.condition
        if isinstance(inner, IsEmpty):
            return f"{inner.path} is not empty"
        text = to_text(inner)
        if isinstance(inner, All | Any) and inner.conditions:
            return f"not ({text})"
        return f"not {text}"
    return _leaf(condition)
