"""
Compile conditions once into fast Python predicates.

The compiler writes Python source from the condition's own data (never from the
user's text): field names are checked identifiers, and every value the user gave
reaches the generated code as a bound constant, not as source text. Many
conditions compile in one `compile` call, which keeps loading 500 rules fast.

A predicate takes a mapping (a CSV row, `record_of(entity)`) and returns a bool.
When a value does not fit its test (a text compared with a number), the
predicate falls back to the careful evaluator, which treats it as a miss.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from typing import Final, cast

import attrs

from crmkit._validation import aware_utc
from crmkit.conditions._ast import (
    All,
    Any,
    Compare,
    Condition,
    IsEmpty,
    Literal,
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

Predicate = Callable[[Mapping[str, object]], bool]
"""A compiled condition bound to a moment: record in, bool out."""

_SYMBOLS: Final = {Op.GT: ">", Op.GTE: ">=", Op.LT: "<", Op.LTE: "<="}


def _step(value: object, key: str) -> object:
    if isinstance(value, Mapping):
        return value.get(key)
    return None if value is None else getattr(value, key, None)


def _contains(value: object, needle: str, folded: str) -> bool:
    if isinstance(value, str):
        return folded in value.casefold()
    if value is None:
        return False
    return needle in value  # type: ignore[operator]


def _starts(value: object, folded: str) -> bool:
    return isinstance(value, str) and value.casefold().startswith(folded)


def _matches(value: object, pattern: re.Pattern[str]) -> bool:
    return isinstance(value, str) and pattern.search(value[:MAX_INPUT]) is not None


_HELPERS: Final = {
    "_step": _step,
    "_contains": _contains,
    "_starts": _starts,
    "_matches": _matches,
    "_is_empty": is_empty,
}


class _Writer:
    """Writes one predicate's expression; collects its constants."""

    def __init__(self, prefix: str) -> None:
        self.prefix = prefix
        self.constants: list[Literal | tuple[Literal, ...] | object] = []
        self.variables = 0

    def constant(self, value: object) -> str:
        self.constants.append(value)
        return f"{self.prefix}c{len(self.constants) - 1}"

    def access(self, path: str) -> tuple[str, str]:
        """The code that loads ``path`` into a fresh variable, and that variable."""
        head, *rest = path.split(".")
        code = f"r.get({head!r})"
        for part in rest:
            code = f"_step({code}, {part!r})"
        self.variables += 1
        return f"(v{self.variables} := {code})", f"v{self.variables}"

    def expression(self, condition: Condition) -> str:  # noqa: PLR0911 - one return per node kind
        if isinstance(condition, All):
            if not condition.conditions:
                return "True"
            return "(" + " and ".join(map(self.expression, condition.conditions)) + ")"
        if isinstance(condition, Any):
            if not condition.conditions:
                return "False"
            return "(" + " or ".join(map(self.expression, condition.conditions)) + ")"
        if isinstance(condition, Not):
            return f"(not {self.expression(condition.condition)})"
        if isinstance(condition, IsEmpty):
            load, _ = self.access(condition.path)
            return f"_is_empty({load})"
        return self.compare(condition)

    def compare(self, leaf: Compare) -> str:  # noqa: PLR0911 - one return per operator
        load, var = self.access(leaf.path)
        value = leaf.value
        if leaf.op in {Op.EQ, Op.NE}:
            symbol = "==" if leaf.op is Op.EQ else "!="
            return f"({load} {symbol} {self.constant(value)})"
        if leaf.op in {Op.IN, Op.NOT_IN}:
            word = "in" if leaf.op is Op.IN else "not in"
            return f"({load} {word} {self.constant(_choices(value))})"
        if leaf.op is Op.BETWEEN:
            low, high = cast("tuple[Literal, Literal]", value)
            return (
                f"({load} is not None and "
                f"{self.constant(low)} <= {var} <= {self.constant(high)})"
            )
        if leaf.op is Op.CONTAINS:
            needle = str(value)
            return (
                f"_contains({load}, {self.constant(needle)}, "
                f"{self.constant(needle.casefold())})"
            )
        if leaf.op is Op.STARTS_WITH:
            return f"_starts({load}, {self.constant(str(value).casefold())})"
        if leaf.op is Op.MATCHES:
            return f"_matches({load}, {self.constant(re.compile(str(value)))})"
        symbol = _SYMBOLS[leaf.op]
        return f"({load} is not None and {var} {symbol} {self.constant(value)})"


def _choices(value: object) -> frozenset[object] | tuple[object, ...]:
    items: tuple[object, ...] = value  # type: ignore[assignment]
    if any(isinstance(item, Relative) for item in items):
        return items
    return frozenset(items)


def _resolve(value: object, now: datetime) -> object:
    if isinstance(value, Relative):
        return value.resolve(now)
    if isinstance(value, tuple):
        return tuple(_resolve(item, now) for item in value)
    return value


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
    _factory: Callable[..., Predicate] = attrs.field(alias="_factory", repr=False)
    _constants: tuple[object, ...] = attrs.field(alias="_constants", repr=False)
    relative: bool = False
    _fixed: Predicate | None = attrs.field(default=None, alias="_fixed", repr=False)

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
        return self._factory(now, *(_resolve(value, now) for value in self._constants))

    def __call__(
        self, record: Mapping[str, object], now: datetime | None = None
    ) -> bool:
        """Evaluate on one record (bind once instead when evaluating many)."""
        return self.bind(now)(record)

    def explain(self, record: object, *, now: datetime | None = None) -> Explanation:
        """Why the condition matched ``record`` or not (see `explain`)."""
        return explain(self.condition, record, now=now)

    def __str__(self) -> str:
        return to_text(self.condition)


def _relatives(condition: Condition) -> list[Relative]:
    found: list[Relative] = []
    for leaf in leaves(condition):
        if isinstance(leaf, Compare):
            values = leaf.value if isinstance(leaf.value, tuple) else (leaf.value,)
            found.extend(v for v in values if isinstance(v, Relative))
    return found


def compile_many(conditions: Sequence[Condition]) -> list[CompiledCondition]:
    """
    Compile many conditions with one call to Python's compiler.

    Each condition becomes a predicate factory that takes its constants; the
    source is generated from the condition data only.
    """
    writers: list[_Writer] = []
    chunks: list[str] = []
    for index, condition in enumerate(conditions):
        writer = _Writer(f"k{index}_")
        body = writer.expression(condition)
        fallback = writer.constant(condition)
        params = "".join(f", k{index}_c{n}" for n in range(len(writer.constants)))
        chunks.append(
            f"def make{index}(now{params}):\n"
            f"    def predicate(r):\n"
            f"        try:\n"
            f"            return {body}\n"
            f"        except (TypeError, AttributeError):\n"
            f"            return _explain({fallback}, r, now=now).matched\n"
            f"    return predicate\n"
        )
        writers.append(writer)
    namespace: dict[str, object] = {**_HELPERS, "_explain": explain}
    code = compile("\n".join(chunks), "<crmkit conditions>", "exec")
    exec(code, namespace)  # noqa: S102 - source generated from condition data, never from user text
    compiled: list[CompiledCondition] = []
    for index, (condition, writer) in enumerate(zip(conditions, writers, strict=True)):
        factory: Callable[..., Predicate] = namespace[f"make{index}"]  # type: ignore[assignment]
        constants = tuple(writer.constants)
        relative = bool(_relatives(condition))
        fixed = None if relative else factory(None, *constants)
        compiled.append(
            CompiledCondition(condition, factory, constants, relative, fixed)
        )
    return compiled


def compile_condition(condition: Condition) -> CompiledCondition:
    """Compile one condition (see `compile_many` for many at once)."""
    return compile_many([condition])[0]
