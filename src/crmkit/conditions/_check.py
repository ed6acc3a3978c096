"""Type-checking of conditions against a schema: every field known, every value fit."""

from __future__ import annotations

import difflib
from datetime import date, datetime
from decimal import Decimal
from typing import Final

import attrs

from crmkit.conditions._ast import (
    LIST_OPS,
    ORDERING,
    Compare,
    Condition,
    IsEmpty,
    Literal,
    Op,
    Relative,
    leaves,
)
from crmkit.conditions._schema import FieldType, Schema
from crmkit.errors import InvalidDefinition

__all__ = ["Problem", "check", "check_leaf"]

_EQUALITY: Final = frozenset({Op.EQ, Op.NE}) | LIST_OPS
_ALLOWED: Final = {
    FieldType.TEXT: _EQUALITY | ORDERING | {Op.CONTAINS, Op.STARTS_WITH, Op.MATCHES},
    FieldType.NUMBER: _EQUALITY | ORDERING,
    FieldType.BOOL: frozenset({Op.EQ, Op.NE}),
    FieldType.DATE: _EQUALITY | ORDERING,
    FieldType.DATETIME: _EQUALITY | ORDERING,
    FieldType.TEXT_SET: frozenset({Op.CONTAINS}),
}
_EXPECTED_VALUE: Final = {
    FieldType.TEXT: "a string",
    FieldType.NUMBER: "a number",
    FieldType.BOOL: "true or false",
    FieldType.DATE: "a date such as 2026-01-31 or today - 30d",
    FieldType.DATETIME: "a time such as 2026-01-31T09:00Z or now - 7d",
    FieldType.TEXT_SET: "a string",
}


@attrs.frozen
class Problem:
    """Why a test does not fit the schema, and which value is at fault (if any)."""

    expected: str
    found: str
    value_index: int | None = None
    at_operator: bool = False


def _fits(kind: FieldType, value: Literal) -> bool:  # noqa: PLR0911 - one return per type
    if kind in {FieldType.TEXT, FieldType.TEXT_SET}:
        return isinstance(value, str)
    if kind is FieldType.NUMBER:
        return isinstance(value, int | Decimal) and not isinstance(value, bool)
    if kind is FieldType.BOOL:
        return isinstance(value, bool)
    if kind is FieldType.DATE:
        if isinstance(value, Relative):
            return value.anchor == "today"
        return isinstance(value, date) and not isinstance(value, datetime)
    if isinstance(value, Relative):
        return value.anchor == "now"
    return isinstance(value, datetime)


def _describe(value: Literal) -> str:
    if isinstance(value, Relative):
        return f"a moment relative to {value.anchor}"
    return repr(value)


def check_leaf(leaf: Compare | IsEmpty, schema: Schema) -> Problem | None:
    """Whether one test fits ``schema``; `None` when it does."""
    kind = schema.type_of(leaf.path)
    if kind is None:
        close = difflib.get_close_matches(leaf.path, schema.paths(), n=3, cutoff=0.6)
        hint = f" such as {', '.join(close)}" if close else ""
        return Problem(
            f"a field of the {schema.name}{hint}", f"unknown field {leaf.path!r}"
        )
    if isinstance(leaf, IsEmpty):
        return None
    if isinstance(kind, Schema):
        return Problem(
            f"a field inside {leaf.path!r}, such as {leaf.path}.{kind.paths()[0]}",
            f"the related record {leaf.path!r}",
        )
    if leaf.op not in _ALLOWED[kind]:
        allowed = ", ".join(sorted(op.value for op in _ALLOWED[kind]))
        return Problem(
            f"an operator for a {kind} field ({allowed})",
            f"{leaf.op.value!r}",
            at_operator=True,
        )
    values = leaf.value if isinstance(leaf.value, tuple) else (leaf.value,)
    for index, value in enumerate(values):
        if not _fits(kind, value):
            expected = _EXPECTED_VALUE[kind]
            if kind is FieldType.TEXT and leaf.op == Op.CONTAINS:
                expected = "a string"
            return Problem(
                f"{expected} for the {kind} field {leaf.path!r}",
                _describe(value),
                index,
            )
    return None


def check(condition: Condition, schema: Schema, *, where: str = "") -> None:
    """
    Check every field and value of a condition built as data against ``schema``.

    Raises:
        InvalidDefinition: The first test that does not fit, at ``where``.
    """
    for leaf in leaves(condition):
        problem = check_leaf(leaf, schema)
        if problem is not None:
            raise InvalidDefinition(
                where or leaf.path,
                f"expected {problem.expected}, found {problem.found}",
            )
