"""What `Repository.find` understands: conditions, sorts and cursors."""

from __future__ import annotations

import base64
import enum
import json
from collections.abc import Iterable, Mapping, Sequence
from datetime import date, datetime
from decimal import Decimal
from typing import Any, Final, Generic, TypeVar
from uuid import UUID

import attrs

from crmkit.errors import FieldError, ValidationError

__all__ = [
    "Condition",
    "Op",
    "Page",
    "Query",
    "SortKey",
    "contains",
    "eq",
    "gt",
    "gte",
    "in_",
    "is_null",
    "limit_error",
    "lt",
    "lte",
    "ne",
]

_E = TypeVar("_E")

MAX_PAGE: Final = 10_000
_INT64: Final = range(-(2**63), 2**63)


class Op(enum.StrEnum):
    """
    A comparison a condition makes.

    .. versionadded:: 0.1
    """

    EQ = "eq"
    NE = "ne"
    LT = "lt"
    LTE = "lte"
    GT = "gt"
    GTE = "gte"
    IN = "in"
    IS_NULL = "is_null"
    CONTAINS = "contains"


@attrs.frozen
class Condition:
    """
    One test on one field; a query's conditions must all hold.

    .. versionadded:: 0.1
    """

    op: Op
    value: Any


def eq(value: Any) -> Condition:
    """Equal to ``value``; a plain value in ``where`` means the same."""
    return Condition(Op.EQ, value)


def ne(value: Any) -> Condition:
    """Not equal to ``value`` (empty fields do not match)."""
    return Condition(Op.NE, value)


def lt(value: Any) -> Condition:
    """Less than ``value``."""
    return Condition(Op.LT, value)


def lte(value: Any) -> Condition:
    """Less than or equal to ``value``."""
    return Condition(Op.LTE, value)


def gt(value: Any) -> Condition:
    """Greater than ``value``."""
    return Condition(Op.GT, value)


def gte(value: Any) -> Condition:
    """Greater than or equal to ``value``."""
    return Condition(Op.GTE, value)


def in_(values: Iterable[Any]) -> Condition:
    """One of ``values``."""
    return Condition(Op.IN, tuple(values))


def is_null(*, null: bool = True) -> Condition:
    """Empty (or, with ``null=False``, filled in)."""
    return Condition(Op.IS_NULL, null)


def contains(value: Any) -> Condition:
    """
    Holding ``value``, for a field that holds several (an activity's ``lead_ids``).

    .. versionadded:: 0.1
    """
    return Condition(Op.CONTAINS, value)


@attrs.frozen
class SortKey:
    """
    A field to sort on, ascending unless ``descending``.

    .. versionadded:: 0.1
    """

    field: str
    descending: bool = False

    @classmethod
    def parse(cls, text: str) -> SortKey:
        """Read ``"name"`` (ascending) or ``"-created_at"`` (descending)."""
        if text.startswith("-"):
            return cls(text[1:], descending=True)
        return cls(text)


@attrs.frozen(kw_only=True)
class Query:
    """
    A validated find request: conditions by field, sort keys, page size and cursor.

    .. versionadded:: 0.1
    """

    where: tuple[tuple[str, Condition], ...] = ()
    order_by: tuple[SortKey, ...] = (SortKey("created_at"),)
    limit: int = 100
    after: tuple[Any, ...] | None = None
    include_archived: bool = False

    @classmethod
    def build(
        cls,
        fields: Mapping[str, type],
        *,
        where: Mapping[str, Any] | None,
        order_by: str | Sequence[str],
        limit: int,
        after: str | None,
        include_archived: bool,
        lists: Mapping[str, type] | None = None,
    ) -> Query:
        """
        Check a find request against the queryable ``fields`` and their types.

        ``lists`` are the fields that hold several values of a type: conditions
        on them can only be `contains`, and they cannot be sorted on.

        Raises:
            ValidationError: Every unknown field, bad operator value, bad sort,
                limit or cursor, together.
        """
        errors: list[FieldError] = []
        conditions = _conditions(fields, lists or {}, where, errors)
        keys = _sort_keys(fields, order_by, errors)
        bad_limit = limit_error(limit)
        if bad_limit is not None:
            errors.append(bad_limit)
        cursor = None
        if after is not None:
            try:
                cursor = decode_cursor(after, [fields.get(k.field, str) for k in keys])
            except ValidationError as error:
                errors.extend(error.errors)
        if errors:
            raise ValidationError(errors)
        return cls(
            where=tuple(conditions),
            order_by=tuple(keys),
            limit=limit,
            after=cursor,
            include_archived=include_archived,
        )


def _conditions(
    fields: Mapping[str, type],
    lists: Mapping[str, type],
    where: Mapping[str, Any] | None,
    errors: list[FieldError],
) -> list[tuple[str, Condition]]:
    """The checked conditions of ``where``; their problems go to ``errors``."""
    if where is not None and not isinstance(where, Mapping):
        errors.append(
            FieldError("where", where, "type", "expected a mapping of conditions")
        )
        return []
    conditions = []
    for name, raw in (where or {}).items():
        condition = raw if isinstance(raw, Condition) else eq(raw)
        path = f"where.{name}"
        try:
            if name in lists:
                checked = _checked_list(condition, lists[name], path)
            elif name in fields:
                checked = _checked(condition, fields[name], path, lists)
            else:
                errors.append(_unknown(name, {**fields, **lists}, path))
                continue
            conditions.append((name, checked))
        except ValidationError as error:
            errors.extend(error.errors)
    return conditions


def _checked_list(condition: Condition, kind: type, path: str) -> Condition:
    """A condition on a field holding several values: only `contains` applies."""
    if condition.op != Op.CONTAINS:
        raise ValidationError.single(
            path,
            condition.op,
            "query.operator",
            "this field holds several values: use contains(value)",
        )
    return Condition(Op.CONTAINS, _typed(condition.value, kind, path))


def _sort_keys(
    fields: Mapping[str, type], order_by: str | Sequence[str], errors: list[FieldError]
) -> list[SortKey]:
    """
    The sort keys of ``order_by``, ending with ``id`` so that the order is total.

    Their problems go to ``errors``.
    """
    texts = [order_by] if isinstance(order_by, str) else order_by
    if not isinstance(texts, Sequence) or not all(isinstance(t, str) for t in texts):
        errors.append(
            FieldError("order_by", order_by, "type", "expected field names, as text")
        )
        texts = []
    keys = [SortKey.parse(text) for text in texts]
    errors.extend(
        _unknown(key.field, fields, "order_by")
        for key in keys
        if key.field not in fields
    )
    if not any(key.field == "id" for key in keys):
        keys.append(SortKey("id", descending=bool(keys) and keys[-1].descending))
    return keys


def limit_error(limit: object, path: str = "limit") -> FieldError | None:
    """The error of a page size that is not a whole number from 1 to `MAX_PAGE`."""
    if (
        isinstance(limit, int)
        and not isinstance(limit, bool)
        and 1 <= limit <= MAX_PAGE
    ):
        return None
    return FieldError(path, limit, "query.limit", f"must be from 1 to {MAX_PAGE}")


def _unknown(name: str, fields: Mapping[str, type], path: str) -> FieldError:
    return FieldError(
        path,
        name,
        "query.field",
        f"{name!r} is not queryable; use one of {', '.join(sorted(fields))}",
    )


def _checked(
    condition: Condition, kind: type, path: str, lists: Mapping[str, type]
) -> Condition:
    try:
        op = Op(condition.op)
    except ValueError:
        allowed = ", ".join(op.value for op in Op)
        raise ValidationError.single(
            path, condition.op, "query.operator", f"not one of {allowed}"
        ) from None
    if op == Op.CONTAINS:
        holders = ", ".join(sorted(lists)) or "none"
        raise ValidationError.single(
            path,
            op,
            "query.operator",
            f"contains applies to fields holding several values ({holders})",
        )
    condition = Condition(op, condition.value)
    if condition.op == Op.IS_NULL:
        if not isinstance(condition.value, bool):
            raise ValidationError.single(path, condition.value, "type", "expected bool")
        return condition
    if condition.op == Op.IN:
        values = condition.value
        if isinstance(values, str) or not isinstance(values, tuple):
            raise ValidationError.single(
                path, values, "type", "expected a list of values"
            )
        return Condition(Op.IN, tuple(_typed(v, kind, path) for v in values))
    return Condition(condition.op, _typed(condition.value, kind, path))


def _typed(value: Any, kind: type, path: str) -> Any:
    """Accept a value of the field's type; text of an id or enum is accepted too."""
    if kind is UUID and isinstance(value, str):
        try:
            return UUID(value)
        except ValueError:
            raise ValidationError.single(
                path, value, "id.invalid", "not a UUID"
            ) from None
    if kind is datetime and isinstance(value, datetime) and value.utcoffset() is None:
        raise ValidationError.single(path, value, "datetime.naive", "naive datetime")
    ok = isinstance(value, kind) and not (isinstance(value, bool) and kind is not bool)
    if kind is date and isinstance(value, datetime):
        ok = False
    if not ok:
        raise ValidationError.single(
            path, value, "type", f"expected {kind.__name__}, not {type(value).__name__}"
        )
    problem = _unstorable(value)
    if problem:
        raise ValidationError.single(path, value, "query.value", problem)
    return value


def _unstorable(value: Any) -> str | None:
    """Why no adapter could hold ``value``, so none could match it; or `None`."""
    if isinstance(value, str) and "\x00" in value:
        return "text cannot contain NUL characters"
    if isinstance(value, int) and not isinstance(value, bool) and value not in _INT64:
        return "whole numbers must fit in 64 bits"
    if isinstance(value, Decimal) and not value.is_finite():
        return "must be a finite number"
    return None


def _to_json(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, UUID | Decimal):
        return str(value)
    return value


def _from_json(value: Any, kind: type) -> Any:
    """
    Read one cursor value back as ``kind``.

    Raises:
        ValueError: The value is not what `_to_json` writes for ``kind``.
    """
    if value is None:
        return None
    if kind in (datetime, date, UUID, Decimal):
        if not isinstance(value, str):
            raise ValueError(value)
        typed = _PARSERS[kind](value)
        if isinstance(typed, datetime) and typed.utcoffset() is None:
            raise ValueError(value)
    elif type(value) is kind:
        typed = value
    else:
        raise ValueError(value)
    if _unstorable(typed):
        raise ValueError(value)
    return typed


_PARSERS: Final[dict[type, Any]] = {
    datetime: datetime.fromisoformat,
    date: date.fromisoformat,
    UUID: UUID,
    Decimal: Decimal,
}


def encode_cursor(values: Sequence[Any]) -> str:
    """Turn the sort values of a page's last item into an opaque cursor."""
    text = json.dumps([_to_json(v) for v in values], separators=(",", ":"))
    return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")


def decode_cursor(cursor: str, kinds: Sequence[type]) -> tuple[Any, ...]:
    """Read a cursor made by `encode_cursor` for the same sort."""
    refusal = ValidationError.single(
        "after", cursor, "query.cursor", "not a cursor from this query's sort"
    )
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        values = json.loads(base64.urlsafe_b64decode(padded.encode()))
    except (ValueError, TypeError):
        raise refusal from None
    if not isinstance(values, list) or len(values) != len(kinds):
        raise refusal
    try:
        return tuple(_from_json(v, k) for v, k in zip(values, kinds, strict=True))
    except (ValueError, TypeError, ArithmeticError):
        raise refusal from None


@attrs.frozen
class Page(Generic[_E]):
    """
    One page of results, and the cursor of the next one (`None` on the last page).

    .. versionadded:: 0.1
    """

    items: tuple[_E, ...]
    next_cursor: str | None
