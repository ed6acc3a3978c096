"""
An index of rules by the fields they test for equality.

Five hundred rules that each test ``country == "..."`` (or ``industry in
(...)``) need not all be tried for every lead. Each rule is filed under one field
it requires a value of (the field most rules test, when it has several); a lead's
values of the indexed fields pick the rules that can match it, merged in rule
order with the rules that require no value. A lead then tries a handful of rules
instead of hundreds.

A rule reached through its field's bucket already passed that test (a dict
lookup is an equality test), so it is compiled without it: its *residual*.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Hashable, Mapping, Sequence
from typing import Any, Final

from crmkit.conditions import All, Compare, Condition, Op, Relative

__all__ = ["RuleIndex"]

_CACHE_LIMIT: Final = 100_000


def _tests(condition: Condition) -> tuple[Condition, ...]:
    return condition.conditions if isinstance(condition, All) else (condition,)


def _equality(test: Condition) -> tuple[str, frozenset[Hashable]] | None:
    """The field and the values an equality or ``in`` test requires."""
    if not isinstance(test, Compare) or "." in test.path:
        return None
    values = test.value if isinstance(test.value, tuple) else (test.value,)
    if any(isinstance(value, Relative) for value in values):
        return None
    if test.op is Op.EQ or test.op is Op.IN:
        return test.path, frozenset(values)
    return None


def _residual(condition: Condition, keyed: Condition) -> Condition:
    rest = tuple(test for test in _tests(condition) if test is not keyed)
    return rest[0] if len(rest) == 1 else All(rest)


class RuleIndex:
    """
    Which rules may match a record, in rule order, found with dict lookups.

    Attributes:
        fields: The indexed fields, most used first.
        residuals: Each rule's condition without the test its bucket settles
            (the whole condition for rules not indexed).
    """

    def __init__(self, conditions: Sequence[Condition]) -> None:
        usage: Counter[str] = Counter()
        for condition in conditions:
            usage.update(
                {found[0] for found in map(_equality, _tests(condition)) if found}
            )
        rank = {
            field: position for position, (field, _) in enumerate(usage.most_common())
        }
        tables: dict[str, dict[Hashable, list[int]]] = {}
        others: list[int] = []
        residuals: list[Condition] = []
        for index, condition in enumerate(conditions):
            candidates = [
                (rank[found[0]], test, found)
                for test in _tests(condition)
                if (found := _equality(test))
            ]
            if not candidates:
                others.append(index)
                residuals.append(condition)
                continue
            _, test, (field, values) = min(candidates, key=lambda item: item[0])
            table = tables.setdefault(field, {})
            for value in values:
                table.setdefault(value, []).append(index)
            residuals.append(_residual(condition, test))
        self.fields = tuple(sorted(tables, key=rank.__getitem__))
        self.residuals = tuple(residuals)
        self._tables = [tables[field] for field in self.fields]
        self._others = tuple(others)
        self._cache: dict[Any, tuple[int, ...]] = {}
        if len(self.fields) == 1:
            table = self._tables[0]
            self._single = {
                key: tuple(sorted({*indexes, *others}))
                for key, indexes in table.items()
            }

    def candidates(self, record: Mapping[str, object]) -> tuple[int, ...]:
        """The rules that may match ``record``, in order."""
        fields = self.fields
        if len(fields) == 1:
            try:
                return self._single.get(record.get(fields[0]), self._others)
            except TypeError:  # an unhashable value equals no literal
                return self._others
        if not fields:
            return self._others
        key = tuple(map(record.get, fields))
        try:
            return self._cache[key]
        except KeyError:
            found = self._merge(key)
            if len(self._cache) < _CACHE_LIMIT:
                self._cache[key] = found
            return found
        except TypeError:
            return self._merge(key)

    def _merge(self, key: tuple[object, ...]) -> tuple[int, ...]:
        found = set(self._others)
        for table, value in zip(self._tables, key, strict=True):
            try:
                found.update(table.get(value, ()))
            except TypeError:
                continue
        return tuple(sorted(found))
