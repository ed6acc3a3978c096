"""
An index of rules by the field most of them test for equality.

Five hundred rules that each test ``country == "..."`` (or ``country in (...)``)
need not all be tried for every lead: the index maps each country to the rules
that can match it, in order, merged with the rules that do not test the country.
A lead then tries a handful of rules instead of hundreds.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Hashable, Mapping, Sequence

from crmkit.conditions import All, Compare, Condition, Op, Relative

__all__ = ["RuleIndex"]


def _keys(condition: Condition, field: str) -> frozenset[Hashable] | None:
    """The values of ``field`` the condition requires, or `None` if it needs none."""
    tests = condition.conditions if isinstance(condition, All) else (condition,)
    for test in tests:
        if not isinstance(test, Compare) or test.path != field:
            continue
        if test.op is Op.EQ and not isinstance(test.value, Relative):
            return frozenset({test.value})
        if test.op is Op.IN and not any(isinstance(v, Relative) for v in test.value):  # type: ignore[union-attr]
            return frozenset(test.value)  # type: ignore[arg-type]
    return None


def _candidate_field(conditions: Sequence[Condition]) -> str | None:
    counts: Counter[str] = Counter()
    for condition in conditions:
        tests = condition.conditions if isinstance(condition, All) else (condition,)
        fields = {
            test.path
            for test in tests
            if isinstance(test, Compare)
            and test.op in {Op.EQ, Op.IN}
            and "." not in test.path
        }
        counts.update(fields)
    if not counts:
        return None
    field, _ = counts.most_common(1)[0]
    return field


class RuleIndex:
    """
    Which rules may match a record, in rule order, found with one dict lookup.

    Attributes:
        field: The indexed field (`None` when no rule tests one for equality).
    """

    def __init__(self, conditions: Sequence[Condition]) -> None:
        self.field = _candidate_field(conditions)
        everyone = tuple(range(len(conditions)))
        if self.field is None:
            self._table: dict[Hashable, tuple[int, ...]] = {}
            self._others = everyone
            return
        keyed: dict[Hashable, list[int]] = {}
        others: list[int] = []
        for index, condition in enumerate(conditions):
            keys = _keys(condition, self.field)
            if keys is None:
                others.append(index)
                continue
            for key in keys:
                keyed.setdefault(key, []).append(index)
        self._others = tuple(others)
        self._table = {
            key: tuple(sorted({*indexes, *others})) for key, indexes in keyed.items()
        }

    def candidates(self, record: Mapping[str, object]) -> tuple[int, ...]:
        """The rules that may match ``record``, in order."""
        if self.field is None:
            return self._others
        try:
            return self._table.get(record.get(self.field), self._others)
        except TypeError:  # an unhashable value matches no equality test
            return self._others
