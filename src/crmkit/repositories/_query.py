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
    "eq",
    "gt",
    "gte",
    "in_",
    "is_null",
    "lt",
    "lte",
    "ne",
]

_E = TypeVar("_E")

MAX_PAGE: Final = 10_000


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
    ) -> Query:
        """
        Check a find request against the queryable ``fields`` and their types.

        Raises:
            ValidationError: Every unknown field, bad operator value, bad sort,
                limit or cursor, together.
        """
        errors: list[FieldError] = []
        conditions = []
        for name, raw in (where or {}).items():
            condition = raw if isinstance(raw, Condition) else eq(raw)
            if name not in fields:
                errors.append(_unknown(name, fields, f"where.{name}"))
                continue
            try:
                conditions.append(
                    (name, _checked(condition, fields[name], f"where.{name}"))
                )
            except ValidationError as error:
                errors.extend(error.errors)
        sort_texts = [order_by] if isinstance(order_by, str) else list(order_by)
        keys = [SortKey.parse(text) for text in sort_texts]
        errors.extend(
            _unknown(key.field, fields, "order_by")
            for key in keys
            if key.field not in fields
        )
        if not any(key.field == "id" for key in keys):
            keys.append(SortKey("id", descending=bool(keys) and keys[-1].descending))
        if (
            isinstance(limit, bool)
            or not isinstance(limit, int)
            or not 1 <= limit <= MAX_PAGE
        ):
            errors.append(
                FieldError(
                    "limit", limit, "query.limit", f"must be from 1 to {MAX_PAGE}"
                )
            )
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


def _unknown(name: str, fields: Mapping[str, type], path: str) -> FieldError:
    return FieldError(
        path,
        name,
        "query.field",
        f"{name!r} is not queryable; use one of {', '.join(sorted(fields))}",
    )


def _checked(condition: Condition, kind: type, path: str) -> Condition:
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
    return value


def _to_json(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, UUID | Decimal):
        return str(value)
    return value


def _from_json(value: Any, kind: type) -> Any:
    if value is None:
        return None
    if kind is datetime:
        return datetime.fromisoformat(value)
    if kind is date:
        return date.fromisoformat(value)
    if kind in (UUID, Decimal):
        return kind(value)
    return value


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
    except (ValueError, TypeError):
        raise refusal from None


@attrs.frozen
class Page(Generic[_E]):
    """
    One page of results, and the cursor of the next one (`None` on the last page).

    .. versionadded:: 0.1
    """

    items: tuple[_E, ...]
    next_cursor: str | None
