"""
Compile conditions once into fast Python predicates.

A condition becomes a tree of small closures built from its data: no source text
is generated or evaluated, so nothing a user writes ever runs as code, and
compiling 500 rules takes milliseconds. Tests on top-level fields (the common
case) read the record with one ``dict.get``; relative moments (``now - 7d``) are
resolved once, when the predicate is bound to a moment.

A predicate takes a mapping (a CSV row, `record_of(entity)`) and returns a bool.
A value that does not fit its test (a text compared with a number) is a miss,
exactly as the explainer says.
"""

from __future__ import annotations

import operator
import re
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from typing import Any as AnyType
from typing import Final, TypeGuard

import attrs

from crmkit._validation import aware_utc
from crmkit.conditions._ast import (
    All,
    Any,
    Compare,
    Condition,
    IsEmpty,
    Not,
    Op,
    Relative,
    leaves,
)
from crmkit.conditions._evaluate import Explanation, explain, is_empty
from crmkit.conditions._printer import to_text
from crmkit.conditions._regex import MAX_INPUT
from crmkit.errors import ValidationError

__all__ = ["CompiledCondition", "Predicate", "compile_condition", "compile_many"]

Predicate = Callable[[Mapping[str, AnyType]], bool]
"""A compiled condition bound to a moment: record in, bool out."""

Loader = Callable[[Mapping[str, AnyType]], AnyType]

_ORDER: Final = {
    Op.GT: operator.gt,
    Op.GTE: operator.ge,
    Op.LT: operator.lt,
    Op.LTE: operator.le,
}


def _loader(path: str) -> Loader:
    head, *rest = path.split(".")

    def load(record: Mapping[str, AnyType]) -> AnyType:
        value = record.get(head)
        for part in rest:
            if isinstance(value, Mapping):
                value = value.get(part)
            elif value is None:
                return None
            else:
                value = getattr(value, part, None)
        return value

    return load


def _test(op: Op, value: AnyType) -> Callable[[AnyType], bool]:  # noqa: C901, PLR0911 - one test per operator
    """The test of a loaded value; every mismatch of types is a miss."""
    if op is Op.EQ:
        return lambda v: bool(v == value)
    if op is Op.NE:
        return lambda v: bool(v != value)
    if op in {Op.IN, Op.NOT_IN}:
        choices = _choices(value)
        wanted = op is Op.IN

        def member(v: AnyType) -> bool:
            try:
                return (v in choices) is wanted
            except TypeError:
                return False

        return member
    if op is Op.BETWEEN:
        low, high = value

        def between(v: AnyType) -> bool:
            try:
                return v is not None and bool(low <= v <= high)
            except TypeError:
                return False

        return between
    if op is Op.CONTAINS:
        folded = str(value).casefold()

        def contains(v: AnyType) -> bool:
            if isinstance(v, str):
                return folded in v.casefold()
            try:
                return v is not None and value in v
            except TypeError:
                return False

        return contains
    if op is Op.STARTS_WITH:
        prefix = str(value).casefold()
        return lambda v: isinstance(v, str) and v.casefold().startswith(prefix)
    if op is Op.MATCHES:
        search = re.compile(str(value)).search
        return lambda v: isinstance(v, str) and search(v[:MAX_INPUT]) is not None
    compare = _ORDER[op]

    def ordered(v: AnyType) -> bool:
        try:
            return v is not None and bool(compare(v, value))
        except TypeError:
            return False

    return ordered


def _top_level(op: Op, key: str, value: AnyType) -> Predicate | None:
    """One closure for the common tests on a top-level field, without a helper call."""
    if op is Op.EQ:
        return lambda r: bool(r.get(key) == value)
    if op is Op.NE:
        return lambda r: bool(r.get(key) != value)
    if op is Op.IN:
        choices = _choices(value)

        def member(r: Mapping[str, AnyType]) -> bool:
            try:
                return r.get(key) in choices
            except TypeError:
                return False

        return member
    if op in _ORDER:
        compare = _ORDER[op]

        def ordered(r: Mapping[str, AnyType]) -> bool:
            v = r.get(key)
            try:
                return v is not None and bool(compare(v, value))
            except TypeError:
                return False

        return ordered
    return None


def _choices(value: AnyType) -> frozenset[AnyType] | tuple[AnyType, ...]:
    try:
        return frozenset(value)
    except TypeError:  # pragma: no cover - literals are hashable
        return tuple(value)


def _resolve(value: AnyType, now: datetime | None) -> AnyType:
    if isinstance(value, Relative):
        assert now is not None  # noqa: S101 - bind checks it
        return value.resolve(now)
    if isinstance(value, tuple):
        return tuple(_resolve(item, now) for item in value)
    return value


_BINARY: Final = {Op.EQ: operator.eq, **_ORDER}


def _binary_top_level(test: Condition) -> TypeGuard[Compare]:
    return isinstance(test, Compare) and test.op in _BINARY and "." not in test.path


def _pair(condition: All, now: datetime | None) -> Predicate | None:
    """
    ``a >= 1 and b > 2`` (two top-level ``==`` or ordering tests) in one closure.

    It is the commonest shape of a routing rule once its indexed test is
    settled; one call per record instead of three. Both tests fail on `None`.
    """
    if len(condition.conditions) != 2:  # noqa: PLR2004 - the pair shape
        return None
    first, second = condition.conditions
    if not (_binary_top_level(first) and _binary_top_level(second)):
        return None
    key1, test1, value1 = first.path, _BINARY[first.op], _resolve(first.value, now)
    key2, test2, value2 = second.path, _BINARY[second.op], _resolve(second.value, now)

    def pair(r: Mapping[str, AnyType]) -> bool:
        v = r.get(key1)
        if v is None:
            return False
        try:
            if not test1(v, value1):
                return False
            w = r.get(key2)
            return w is not None and bool(test2(w, value2))
        except TypeError:
            return False

    return pair


def _build(condition: Condition, now: datetime | None) -> Predicate:  # noqa: PLR0911 - one return per node kind
    if isinstance(condition, All):
        pair = _pair(condition, now)
        if pair is not None:
            return pair
    if isinstance(condition, All | Any):
        parts = tuple(_build(child, now) for child in condition.conditions)
        if isinstance(condition, All):
            return _all(parts)
        return _any(parts)
    if isinstance(condition, Not):
        inner = _build(condition.condition, now)
        return lambda r: not inner(r)
    if isinstance(condition, IsEmpty):
        load = _loader(condition.path)
        return lambda r: is_empty(load(r))
    value = _resolve(condition.value, now)
    if "." not in condition.path:
        fast = _top_level(condition.op, condition.path, value)
        if fast is not None:
            return fast
    load = _loader(condition.path)
    test = _test(condition.op, value)
    return lambda r: test(load(r))


def _all(parts: tuple[Predicate, ...]) -> Predicate:
    if not parts:
        return lambda _: True
    if len(parts) == 2:  # noqa: PLR2004 - the common shapes, unrolled
        a, b = parts
        return lambda r: a(r) and b(r)
    if len(parts) == 3:  # noqa: PLR2004 - the common shapes, unrolled
        a, b, c = parts
        return lambda r: a(r) and b(r) and c(r)
    return lambda r: all(part(r) for part in parts)


def _any(parts: tuple[Predicate, ...]) -> Predicate:
    if not parts:
        return lambda _: False
    if len(parts) == 2:  # noqa: PLR2004 - the common shape, unrolled
        a, b = parts
        return lambda r: a(r) or b(r)
    return lambda r: any(part(r) for part in parts)


@attrs.frozen(eq=False)
class CompiledCondition:
    """
    A condition compiled once: `bind` it to a moment, then call the predicate.

    >>> from crmkit.conditions import compile_condition, parse
    >>> big_french = compile_condition(parse('country == "FR" and employees >= 200'))
    >>> big_french({"country": "FR", "employees": 250})
    True
    >>> big_french({"country": "FR"})
    False

    Attributes:
        condition: The condition it was compiled from.
        relative: Whether it compares with ``now``/``today`` (then `bind` needs
            a moment).

    .. versionadded:: 0.1
    """

    condition: Condition
    relative: bool = attrs.field(init=False)
    _fixed: Predicate | None = attrs.field(init=False, repr=False, alias="_fixed")

    def __attrs_post_init__(self) -> None:
        relative = any(
            isinstance(value, Relative)
            for leaf in leaves(self.condition)
            if isinstance(leaf, Compare)
            for value in (
                leaf.value if isinstance(leaf.value, tuple) else (leaf.value,)
            )
        )
        object.__setattr__(self, "relative", relative)
        object.__setattr__(
            self, "_fixed", None if relative else _build(self.condition, None)
        )

    def bind(self, now: datetime | None = None) -> Predicate:
        """
        The predicate at ``now``: relative dates are resolved once, here.

        Raises:
            ValidationError: The condition is relative and ``now`` is missing or
                naive.
        """
        if self._fixed is not None:
            return self._fixed
        if now is None:
            raise ValidationError.single(
                "now",
                None,
                "now.required",
                f"{self} compares with now or today; give `now`",
            )
        aware_utc(now, "now")
        return _build(self.condition, now)

    def __call__(
        self, record: Mapping[str, AnyType], now: datetime | None = None
    ) -> bool:
        """Evaluate on one record (bind once instead when evaluating many)."""
        return self.bind(now)(record)

    def explain(self, record: object, *, now: datetime | None = None) -> Explanation:
        """Why the condition matched ``record`` or not (see `explain`)."""
        return explain(self.condition, record, now=now)

    def __str__(self) -> str:
        return to_text(self.condition)


def compile_condition(condition: Condition) -> CompiledCondition:
    """Compile one condition into a predicate."""
    return CompiledCondition(condition)


def compile_many(conditions: Sequence[Condition]) -> list[CompiledCondition]:
    """Compile many conditions."""
    return [CompiledCondition(condition) for condition in conditions]
