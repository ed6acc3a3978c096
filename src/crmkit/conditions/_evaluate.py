"""The careful evaluator: slower than a compiled predicate, and it says why."""

from __future__ import annotations

import contextlib
import operator
import re
from collections.abc import Callable, Mapping
from datetime import date, datetime
from decimal import Decimal
from typing import Any as AnyType
from typing import Final

import attrs

from crmkit._validation import aware_utc
from crmkit.conditions._ast import (
    All,
    Compare,
    Condition,
    IsEmpty,
    Literal,
    Not,
    Op,
    Relative,
    Scalar,
)
from crmkit.conditions._printer import format_value, to_text
from crmkit.conditions._regex import MAX_INPUT
from crmkit.errors import ValidationError

__all__ = ["Explanation", "explain", "is_empty", "lookup", "resolve"]

_MISSING: Final = object()
_ORDER: Final[dict[Op, Callable[[AnyType, AnyType], AnyType]]] = {
    Op.GT: operator.gt,
    Op.GTE: operator.ge,
    Op.LT: operator.lt,
    Op.LTE: operator.le,
}


def lookup(record: object, path: str) -> object:
    """The value at a dotted path of a mapping or attrs record; `_MISSING` if absent."""
    value: object = record
    for part in path.split("."):
        if isinstance(value, Mapping):
            value = value.get(part, _MISSING)
        elif value is not None and attrs.has(type(value)):
            value = getattr(value, part, _MISSING)
        else:
            return _MISSING
        if value is _MISSING:
            return _MISSING
    return value


def is_empty(value: object) -> bool:
    """Missing, `None`, blank text or an empty collection."""
    if value is None or value is _MISSING:
        return True
    if isinstance(value, str):
        return not value.strip()
    if isinstance(value, tuple | list | set | frozenset | dict):
        return not value
    return False


def resolve(value: Literal, now: datetime | None) -> Scalar:
    """A literal's value at ``now`` (relative moments need it)."""
    if not isinstance(value, Relative):
        return value
    if now is None:
        raise ValidationError.single(
            "now",
            None,
            "now.required",
            f"the condition compares with {format_value(value)}; give `now`",
        )
    aware_utc(now, "now")  # refuses a naive `now`
    return value.resolve(now)


def _step_test(op: Op, value: AnyType, expected: AnyType) -> bool:  # noqa: C901, PLR0911 - one branch per operator
    if op is Op.EQ:
        return bool(value == expected)
    if op is Op.NE:
        return bool(value != expected)
    if op is Op.IN:
        return value in expected
    if op is Op.NOT_IN:
        return value not in expected
    if value is None:
        return False
    if op is Op.BETWEEN:
        low, high = expected
        return bool(low <= value <= high)
    if op is Op.CONTAINS:
        if isinstance(value, str):
            return str(expected).casefold() in value.casefold()
        return expected in value
    if op is Op.STARTS_WITH:
        return isinstance(value, str) and value.casefold().startswith(
            str(expected).casefold()
        )
    if op is Op.MATCHES:
        pattern = re.compile(str(expected))
        return isinstance(value, str) and bool(pattern.search(value[:MAX_INPUT]))
    return bool(_ORDER[op](value, expected))


@attrs.frozen
class Explanation:
    """
    Why a condition matched a record or not, node by node.

    Attributes:
        matched: Whether the condition (this node) holds.
        condition: The node's text form.
        detail: What was found, such as ``"score is 45"`` or ``"country is
            missing (treated as empty)"``; empty for all/any/not.
        children: The explanations of the node's parts.
        missing: Every field the node reads that the record lacks (or holds
            empty), once each.

    .. versionadded:: 0.1
    """

    matched: bool
    condition: str
    detail: str = ""
    children: tuple[Explanation, ...] = ()
    missing: tuple[str, ...] = ()

    def lines(self, indent: int = 0) -> list[str]:
        """The explanation as indented lines, ``yes``/``no`` first."""
        mark = "yes" if self.matched else "no"
        text = f"{'  ' * indent}{mark}: {self.condition}"
        if self.detail:
            text += f" ({self.detail})"
        lines = [text]
        for child in self.children:
            lines.extend(child.lines(indent + 1))
        return lines

    def __str__(self) -> str:
        return "\n".join(self.lines())

    def summary(self) -> str:
        """
        One line: the details of the tests that decided the result.

        For a match, the tests that held; for a miss, the tests that failed.
        """
        decisive = [leaf.detail_line() for leaf in self._decisive()]
        return "; ".join(decisive) or self.condition

    def detail_line(self) -> str:
        """This node's test and what was found."""
        return f"{self.condition} ({self.detail})" if self.detail else self.condition

    def _decisive(self) -> list[Explanation]:
        """The tests that decided this node: through all/any, the parts that agree."""
        if not self.children:
            return [self]
        if len(self.children) == 1 and self.children[0].matched != self.matched:
            return self.children[0]._decisive()  # noqa: SLF001 - same class (a not)
        found: list[Explanation] = []
        for child in self.children:
            if child.matched == self.matched:
                found.extend(child._decisive())  # noqa: SLF001 - same class
        return found


def _describe_value(value: object) -> str:
    if isinstance(value, str | int | Decimal | date):
        return format_value(value)
    if isinstance(value, frozenset | set):
        return "{" + ", ".join(sorted(map(repr, value))) + "}"
    return repr(value)


def _leaf(leaf: Compare | IsEmpty, record: object, now: datetime | None) -> Explanation:
    text = to_text(leaf)
    value = lookup(record, leaf.path)
    empty = is_empty(value)
    missing = (leaf.path,) if empty else ()
    if value is _MISSING or value is None:
        found = f"{leaf.path} is missing (treated as empty)"
    elif empty:
        found = f"{leaf.path} is empty"
    else:
        found = f"{leaf.path} is {_describe_value(value)}"
    if isinstance(leaf, IsEmpty):
        return Explanation(empty, text, found, missing=missing)
    plain = None if value is _MISSING else value
    if isinstance(leaf.value, tuple):
        expected: AnyType = tuple(resolve(item, now) for item in leaf.value)
    else:
        expected = resolve(leaf.value, now)
    if leaf.op in {Op.IN, Op.NOT_IN}:
        with contextlib.suppress(TypeError):
            expected = frozenset(expected)
    try:
        matched = _step_test(leaf.op, plain, expected)
    except TypeError:
        matched = False
        found += f", which cannot be compared with {leaf.op.value} here"
    if isinstance(leaf.value, Relative):
        found += f"; {format_value(leaf.value)} is {resolve(leaf.value, now)}"
    return Explanation(matched, text, found, missing=missing)


def explain(
    condition: Condition, record: object, *, now: datetime | None = None
) -> Explanation:
    """
    Evaluate ``condition`` on ``record`` and say why it matched or not.

    Every part is evaluated (no short cut), so the explanation is complete;
    a missing field is treated as empty and listed in `Explanation.missing`.

    Args:
        condition: The condition.
        record: A mapping (or attrs record) of field values.
        now: The moment relative dates are measured from (aware).
    """
    if isinstance(condition, Compare | IsEmpty):
        return _leaf(condition, record, now)
    if isinstance(condition, Not):
        inner = explain(condition.condition, record, now=now)
        return Explanation(
            not inner.matched,
            to_text(condition),
            children=(inner,),
            missing=inner.missing,
        )
    children = tuple(explain(child, record, now=now) for child in condition.conditions)
    results = [child.matched for child in children]
    matched = all(results) if isinstance(condition, All) else any(results)
    missing = tuple(dict.fromkeys(path for c in children for path in c.missing))
    return Explanation(matched, to_text(condition), children=children, missing=missing)
