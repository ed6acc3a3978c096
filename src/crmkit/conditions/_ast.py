"""Conditions as data: comparisons on field paths, combined with all, any and not."""

from __future__ import annotations

import enum
import re
from collections.abc import Iterable, Iterator
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Final, TypeAlias

import attrs

from crmkit.conditions._regex import regex_problem
from crmkit.errors import InvalidDefinition

__all__ = [
    "All",
    "Any",
    "Compare",
    "Condition",
    "IsEmpty",
    "Literal",
    "Not",
    "Op",
    "Relative",
    "Scalar",
    "fields_of",
]


class Op(enum.StrEnum):
    """
    The comparison operators, by their name in the data form.

    .. versionadded:: 0.1
    """

    EQ = "eq"
    NE = "ne"
    GT = "gt"
    GTE = "gte"
    LT = "lt"
    LTE = "lte"
    IN = "in"
    NOT_IN = "not_in"
    BETWEEN = "between"
    CONTAINS = "contains"
    STARTS_WITH = "starts_with"
    MATCHES = "matches"


ORDERING: Final = frozenset({Op.GT, Op.GTE, Op.LT, Op.LTE, Op.BETWEEN})
TEXT_OPS: Final = frozenset({Op.CONTAINS, Op.STARTS_WITH, Op.MATCHES})
LIST_OPS: Final = frozenset({Op.IN, Op.NOT_IN})

_PATH: Final = re.compile(r"[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*\Z")


@attrs.frozen
class Relative:
    """
    A moment relative to the evaluation's ``now``: ``now - 7d`` or ``today - 30d``.

    `anchor` ``"now"`` gives an aware datetime, ``"today"`` the date of ``now`` in
    its own time zone.

    .. versionadded:: 0.1
    """

    anchor: str = attrs.field(validator=attrs.validators.in_(("now", "today")))
    offset: timedelta = attrs.field(default=timedelta(0))

    @offset.validator
    def _whole_minutes(self, _: attrs.Attribute[timedelta], offset: timedelta) -> None:
        if not isinstance(offset, timedelta) or offset % timedelta(minutes=1):
            raise InvalidDefinition(
                "offset", f"{offset!r} is not a whole number of minutes"
            )

    def resolve(self, now: datetime) -> date | datetime:
        """The moment this stands for, at ``now``."""
        moment = now + self.offset
        return moment.date() if self.anchor == "today" else moment


Scalar: TypeAlias = str | int | Decimal | bool | date | datetime
"""A literal value a condition compares with."""

Literal: TypeAlias = Scalar | Relative
"""A literal or a moment relative to ``now``."""


def _check_path(_: object, __: attrs.Attribute[str], path: str) -> None:
    if not isinstance(path, str) or not _PATH.match(path):
        raise InvalidDefinition(
            "path", f"{path!r} is not a field path such as 'country' or 'address.city'"
        )


def _check_value(  # noqa: C901 - one check per kind of value
    instance: Compare,
    _: attrs.Attribute[Literal | tuple[Literal, ...]],
    value: Literal | tuple[Literal, ...],
) -> None:
    op = instance.op
    if op in LIST_OPS:
        if not isinstance(value, tuple) or not value:
            raise InvalidDefinition("value", f"{op} needs a non-empty tuple of values")
        items: tuple[object, ...] = value
    elif op is Op.BETWEEN:
        if not isinstance(value, tuple) or len(value) != 2:  # noqa: PLR2004 - low, high
            raise InvalidDefinition("value", "between needs a (low, high) tuple")
        items = value
    else:
        items = (value,)
    for item in items:
        if not isinstance(item, str | int | Decimal | date | Relative):
            raise InvalidDefinition(
                "value", f"{item!r} is not a text, number, boolean, date or time"
            )
        if isinstance(item, datetime) and item.utcoffset() is None:
            raise InvalidDefinition("value", f"{item!r} is naive; give an offset")
        if isinstance(item, Decimal) and not item.is_finite():
            raise InvalidDefinition("value", f"{item!r} is not a finite number")
    if op in TEXT_OPS and not isinstance(value, str):
        raise InvalidDefinition("value", f"{op} needs a text value")
    if op is Op.MATCHES:
        problem = regex_problem(str(value))
        if problem is not None:
            raise InvalidDefinition("value", f"{value!r} is refused: {problem}")


@attrs.frozen
class Compare:
    """
    One test of one field, such as ``Compare("country", Op.IN, ("FR", "BE"))``.

    `value` is a tuple for ``in``, ``not_in`` (the choices) and ``between`` (low
    and high, inclusive); a single literal otherwise.

    .. versionadded:: 0.1
    """

    path: str = attrs.field(validator=_check_path)
    op: Op = attrs.field(converter=Op)
    value: Literal | tuple[Literal, ...] = attrs.field(validator=_check_value)


@attrs.frozen
class IsEmpty:
    """
    The field is missing, `None`, blank text or an empty collection.

    .. versionadded:: 0.1
    """

    path: str = attrs.field(validator=_check_path)


def _conditions(items: Iterable[Condition]) -> tuple[Condition, ...]:
    return tuple(items)


def _no_single(
    _: object,
    __: attrs.Attribute[tuple[Condition, ...]],
    items: tuple[Condition, ...],
) -> None:
    if len(items) == 1:
        raise InvalidDefinition(
            "conditions", "one condition needs no all/any around it; use it alone"
        )
    for item in items:
        if not isinstance(item, Compare | IsEmpty | All | Any | Not):
            raise InvalidDefinition("conditions", f"{item!r} is not a condition")


@attrs.frozen
class All:
    """
    Every condition holds; ``All(())`` always holds (``true``).

    .. versionadded:: 0.1
    """

    conditions: tuple[Condition, ...] = attrs.field(
        converter=_conditions, validator=_no_single
    )


@attrs.frozen
class Any:
    """
    At least one condition holds; ``Any(())`` never does (``false``).

    .. versionadded:: 0.1
    """

    conditions: tuple[Condition, ...] = attrs.field(
        converter=_conditions, validator=_no_single
    )


@attrs.frozen
class Not:
    """
    The condition does not hold.

    .. versionadded:: 0.1
    """

    condition: Condition


Condition: TypeAlias = Compare | IsEmpty | All | Any | Not
"""Any node of a condition."""


def _walk(condition: Condition) -> Iterator[Compare | IsEmpty]:
    if isinstance(condition, All | Any):
        for child in condition.conditions:
            yield from _walk(child)
    elif isinstance(condition, Not):
        yield from _walk(condition.condition)
    else:
        yield condition


def fields_of(condition: Condition) -> tuple[str, ...]:
    """
    Every field path the condition reads, once each, in order of appearance.

    >>> from crmkit.conditions import parse
    >>> fields_of(parse('country == "FR" and (score > 5 or country is empty)'))
    ('country', 'score')
    """
    return tuple(dict.fromkeys(leaf.path for leaf in _walk(condition)))


def leaves(condition: Condition) -> Iterator[Compare | IsEmpty]:
    """Every comparison in the condition, depth first."""
    return _walk(condition)
