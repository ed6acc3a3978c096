"""
Guards: declarative requirements a transition checks before it moves an entity.

Each guard is plain data behind one small interface, `failure(entity, approvals)`,
which returns the failed requirement in words, or `None` when it holds. The field
condition is deliberately minimal: comparisons of one field with one literal.
"""

from __future__ import annotations

import enum
import operator
from collections.abc import Callable, Collection, Mapping
from decimal import Decimal
from typing import Any, ClassVar, Final, Literal, Protocol

import attrs

from crmkit.errors import InvalidDefinition
from crmkit.values import Money, Probability

__all__ = [
    "ApprovalPresent",
    "FieldCondition",
    "Guard",
    "Operator",
    "RequiredFields",
    "field_value",
    "guard_from_dict",
    "guard_to_dict",
    "is_blank",
]

Operator = Literal["eq", "ne", "lt", "le", "gt", "ge", "in", "not_in"]

_OPERATORS: Final[Mapping[str, Callable[[Any, Any], bool]]] = {
    "eq": operator.eq,
    "ne": operator.ne,
    "lt": operator.lt,
    "le": operator.le,
    "gt": operator.gt,
    "ge": operator.ge,
    "in": lambda left, right: left in right,
    "not_in": lambda left, right: left not in right,
}
_SYMBOLS: Final = {
    "eq": "==",
    "ne": "!=",
    "lt": "<",
    "le": "<=",
    "gt": ">",
    "ge": ">=",
    "in": "in",
    "not_in": "not in",
}
_MISSING: Final = object()


def field_value(entity: object, path: str) -> Any:
    """
    Read a dotted path such as ``"amount"`` or ``"custom.revenue"`` from an entity.

    A missing attribute or key reads as `None`.
    """
    value: Any = entity
    for part in path.split("."):
        if isinstance(value, Mapping):
            value = value.get(part)
        else:
            value = getattr(value, part, None)
        if value is None:
            return None
    return value


def is_blank(value: object) -> bool:
    """True for `None`, blank text and empty collections: what "not set" means."""
    if value is None:
        return True
    if isinstance(value, str):
        return not value.strip()
    if isinstance(value, Collection):
        return len(value) == 0
    return False


def _plain(value: object) -> Any:
    """The comparable form of a field's value: Money by amount, enums by value."""
    if isinstance(value, Money):
        return value.amount
    if isinstance(value, Probability):
        return value.value
    if isinstance(value, enum.Enum):
        return value.value
    return value


def _literal(value: object) -> Any:
    """The comparable form of a definition's literal: numbers as `Decimal`."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return value
    return Decimal(str(value))


class Guard(Protocol):
    """
    A requirement checked before a transition; ``kind`` names it in definitions.

    .. versionadded:: 0.1
    """

    kind: ClassVar[str]

    def failure(self, entity: object, approvals: Collection[str]) -> str | None:
        """Return the failed requirement in words, or `None` when it holds."""
        ...


def _names(value: Any) -> tuple[str, ...]:
    return tuple(value)


@attrs.frozen
class RequiredFields:
    """
    Every named field must be set (not `None`, blank text or an empty collection).

    .. versionadded:: 0.1
    """

    kind: ClassVar[str] = "required_fields"
    fields: tuple[str, ...] = attrs.field(converter=_names)

    def failure(self, entity: object, approvals: Collection[str]) -> str | None:  # noqa: ARG002 - one interface
        """Name the first field that is not set."""
        for name in self.fields:
            if is_blank(field_value(entity, name)):
                return f"required field {name!r} is not set"
        return None


@attrs.frozen
class FieldCondition:
    """
    One field compared with one literal: ``FieldCondition("amount", "ge", 10000)``.

    Money compares by amount and probabilities by their value in [0, 1]; an unset
    field fails every comparison but ``ne`` and ``not_in``.

    .. versionadded:: 0.1
    """

    kind: ClassVar[str] = "condition"
    path: str
    operator: Operator
    value: Any

    def __attrs_post_init__(self) -> None:
        if self.operator not in _OPERATORS:
            known = ", ".join(_OPERATORS)
            raise InvalidDefinition(
                "operator", f"unknown operator {self.operator!r} (one of {known})"
            )
        if self.operator in {"in", "not_in"} and not isinstance(
            self.value, list | tuple | frozenset | set
        ):
            raise InvalidDefinition(
                "value", f"{self.operator!r} needs a list, not {self.value!r}"
            )

    def failure(self, entity: object, approvals: Collection[str]) -> str | None:  # noqa: ARG002 - one interface
        """Say what the field should have been, and what it is."""
        actual = _plain(field_value(entity, self.path))
        if self.operator in {"in", "not_in"}:
            expected: Any = {_literal(item) for item in self.value}
        else:
            expected = _literal(self.value)
        try:
            holds = actual is not None and _OPERATORS[self.operator](actual, expected)
        except TypeError:
            holds = False
        if actual is None and self.operator in {"ne", "not_in"}:
            holds = True
        if holds:
            return None
        symbol = _SYMBOLS[self.operator]
        return f"{self.path} must be {symbol} {self.value!r} (is {actual!r})"


@attrs.frozen
class ApprovalPresent:
    """
    A named approval must have been given (passed in ``approvals``).

    .. versionadded:: 0.1
    """

    kind: ClassVar[str] = "approval"
    approval: str

    def failure(self, entity: object, approvals: Collection[str]) -> str | None:  # noqa: ARG002 - one interface
        """Name the missing approval."""
        if self.approval in approvals:
            return None
        return f"approval {self.approval!r} is missing"


_KINDS: Final[Mapping[str, type[RequiredFields | FieldCondition | ApprovalPresent]]] = {
    cls.kind: cls for cls in (RequiredFields, FieldCondition, ApprovalPresent)
}


def guard_to_dict(guard: Guard) -> dict[str, Any]:
    """The plain-data form of a guard: its fields plus ``"kind"``."""
    data: dict[str, Any] = {"kind": guard.kind}
    for field in attrs.fields(type(guard)):  # type: ignore[arg-type] # guards are attrs
        value = getattr(guard, field.name)
        data[field.name] = list(value) if isinstance(value, tuple) else value
    return data


def guard_from_dict(data: Any, path: str = "") -> Guard:
    """
    Build a guard from its plain-data form.

    Raises:
        InvalidDefinition: An unknown kind, or missing or unexpected keys.
    """
    if not isinstance(data, Mapping):
        raise InvalidDefinition(path, f"a guard is a table/object, not {data!r}")
    kind = data.get("kind")
    cls = _KINDS.get(kind) if isinstance(kind, str) else None
    if cls is None:
        known = ", ".join(_KINDS)
        raise InvalidDefinition(
            f"{path}.kind", f"unknown guard kind {kind!r} (one of {known})"
        )
    names = {field.name for field in attrs.fields(cls)}
    extra = sorted(set(data) - names - {"kind"})
    if extra:
        raise InvalidDefinition(
            f"{path}.{extra[0]}", f"unexpected key in a {kind} guard"
        )
    missing = sorted(names - set(data))
    if missing:
        raise InvalidDefinition(f"{path}.{missing[0]}", f"a {kind} guard needs it")
    try:
        guard: Guard = cls(**{name: data[name] for name in names})
    except InvalidDefinition as error:
        raise InvalidDefinition(f"{path}.{error.path}", error.reason) from None
    return guard
