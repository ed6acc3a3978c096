"""
From a row's cells to plain data, and from plain data to a validated entity.

Both steps are pure: no file, no database, no clock. Every value keeps a note
of the column (and the text) it came from, so that an error on ``emails[1]``
is reported against column ``Email 2`` and the text that was in it.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any, Final

import attrs
import cattrs

from crmkit.errors import FieldError, ValidationError
from crmkit.io._files import Reject
from crmkit.io._mapping import ColumnMapping, ImportMapping, Kind, target_kind
from crmkit.io._names import split_full_name
from crmkit.io._readers import Cell, Record
from crmkit.model import CustomFieldType, Entity, EntitySchema, Organization, Person
from crmkit.serialization import create_from_dict

__all__ = ["PlannedRow", "RowTransformer", "Source", "Validated", "validate_row"]

_TRUE: Final = frozenset({"true", "yes", "y", "1", "oui", "o", "vrai", "x"})
_FALSE: Final = frozenset({"false", "no", "n", "0", "non", "faux"})
_MONEY = re.compile(
    r"\s*(?:(?P<c1>[A-Za-z]{3})\s*(?P<a1>[-+]?[\d.,\s]+)"
    r"|(?P<a2>[-+]?[\d.,\s]+?)\s*(?P<c2>[A-Za-z]{3}))\s*\Z"
)
_PARENT = re.compile(r"(\.[^.\[]+|\[\d+\])\Z")
_SPACES = re.compile(r"[\s\u00a0\u202f']+")
_CREATION_ONLY: Final[dict[type[Entity], tuple[str, str, str]]] = {
    Person: ("last_name", "identity.missing", "?"),
    Organization: ("name", "required", "?"),
}
"""Errors that an update can cure: (field, code, placeholder value)."""


@attrs.frozen
class Source:
    """Where a value came from: its column, and the text that column held."""

    column: str
    value: str


@attrs.define(kw_only=True)
class PlannedRow:
    """
    One row turned into plain data for an entity, with where each value came from.

    Attributes:
        data: Plain data for `crmkit.serialization.create_from_dict`.
        sources: Field path (``emails[0]``, ``addresses[0].city``) to its source;
            `None` where several columns fed the same path.
        problems: Cells that could not be read (a date in the wrong format...).
        given: The top-level fields this row gives a value for.
        address_parts: The address parts given (``city``, ``lines``...).
        custom_keys: The custom fields given.
        company: The organisation name, and its source, for ``company``.
        company_key: The company's id in the legacy system.
        external_key: The entity's id in the legacy system.
    """

    row: int
    line: int
    data: dict[str, Any] = attrs.field(factory=dict)
    sources: dict[str, Source | None] = attrs.field(factory=dict)
    problems: list[Reject] = attrs.field(factory=list)
    given: set[str] = attrs.field(factory=set)
    address_parts: set[str] = attrs.field(factory=set)
    custom_keys: set[str] = attrs.field(factory=set)
    company: tuple[str, Source] | None = None
    company_key: str | None = None
    external_key: str | None = None

    def note(self, path: str, source: Source) -> None:
        """Record where the value at ``path`` came from."""
        if path in self.sources:
            known = self.sources[path]
            if known is not None and known.column != source.column:
                self.sources[path] = None
            return
        self.sources[path] = source

    def refuse(self, source: Source, field: str, code: str, reason: str) -> None:
        """Record a cell that cannot be read."""
        self.problems.append(
            Reject(
                row=self.row,
                line=self.line,
                column=source.column,
                value=source.value,
                reason=reason,
                field=field,
                code=code,
            )
        )

    def source_of(self, path: str) -> Source | None:
        """The one column behind ``path``, looking at its parents and children too."""
        if path in self.sources:
            return self.sources[path]
        children = [
            source
            for key, source in self.sources.items()
            if key.startswith((f"{path}.", f"{path}["))
        ]
        if children:
            if None in children or len({s.column for s in children if s}) != 1:
                return None
            values = dict.fromkeys(s.value for s in children if s is not None)
            return Source(children[0].column, "; ".join(values))  # type: ignore[union-attr]
        while (parent := _PARENT.sub("", path)) != path:
            if parent in self.sources:
                return self.sources[parent]
            path = parent
        return None

    def translate(self, error: FieldError) -> Reject:
        """A validation error, told against the column that fed the field."""
        source = self.source_of(error.path)
        if source is None:
            column = error.path
            value = "" if error.value is None else str(error.value)
        else:
            column, value = source.column, source.value
        return Reject(
            row=self.row,
            line=self.line,
            column=column,
            value=value,
            reason=error.message,
            field=error.path,
            code=error.code,
        )


def _values(cell: Cell, column: ColumnMapping) -> list[tuple[str, str]]:
    """The (raw text, value) pairs of a cell: split, stripped, mapped, non-empty."""
    if cell is None:
        return []
    items = cell if isinstance(cell, list) else [cell]
    found = []
    for item in items:
        parts = item.split(column.split) if column.split else [item]
        for part in parts:
            raw = part.strip()
            if not raw:
                continue
            value = column.map.get(raw, raw).strip() if column.map is not None else raw
            if value:
                found.append((raw if column.split or len(items) > 1 else item, value))
    return found


def _integer(text: str) -> int:
    cleaned = _SPACES.sub("", text)
    if not re.fullmatch(r"[-+]?\d+", cleaned):
        raise ValueError("not a whole number")
    return int(cleaned)


def _decimal(text: str, separator: str) -> str:
    cleaned = _SPACES.sub("", text)
    if separator == "," and "," in cleaned:
        cleaned = cleaned.replace(".", "").replace(",", ".")
    return cleaned


def _boolean(text: str) -> bool:
    lower = text.lower()
    if lower in _TRUE:
        return True
    if lower in _FALSE:
        return False
    raise ValueError("not a yes/no value (true/false, yes/no, oui/non, 1/0)")


def _money(text: str, separator: str) -> dict[str, str]:
    match = _MONEY.match(text)
    if match is None:
        raise ValueError("not an amount with its currency, such as '1200.50 EUR'")
    amount = match.group("a1") or match.group("a2")
    currency = match.group("c1") or match.group("c2")
    return {"amount": _decimal(amount, separator), "currency": currency.upper()}


def _date(text: str, fmt: str | None) -> str:
    if fmt is None:
        return text
    try:
        return datetime.strptime(text, fmt).date().isoformat()  # noqa: DTZ007 - a calendar date
    except ValueError:
        raise ValueError(f"does not match the date format {fmt!r}") from None


@attrs.frozen
class _Step:
    column: str
    mapping: ColumnMapping
    kind: Kind
    custom_type: CustomFieldType | None
    date_format: str | None


class RowTransformer:
    """
    Turn rows into `PlannedRow` plain data, as a mapping says.

    Built once per import; calling it does no I/O.
    """

    def __init__(self, mapping: ImportMapping, schema: EntitySchema | None) -> None:
        self._mapping = mapping
        self._separator = mapping.options.decimal_separator
        steps = []
        for column, spec in mapping.columns.items():
            kind = target_kind(mapping.entity, spec.field)
            if kind is None:  # pragma: no cover - ImportMapping refuses these
                raise AssertionError(spec.field)
            custom_type = None
            if kind is Kind.CUSTOM and schema is not None:
                custom_type = schema.field(spec.field[len("custom.") :]).type
            date_format = spec.format
            if kind is Kind.DATE or custom_type is CustomFieldType.DATE:
                date_format = date_format or mapping.options.date_format
            steps.append(_Step(column, spec, kind, custom_type, date_format))
        self._steps = [s for s in steps if s.kind is not Kind.NAME]
        self._names = [s for s in steps if s.kind is Kind.NAME]
        options = mapping.options
        self._external = options.external_id.column if options.external_id else None
        self._company_key = (
            options.company_external_id.column if options.company_external_id else None
        )

    @property
    def columns(self) -> tuple[str, ...]:
        """Every column the mapping reads, key columns included."""
        keys = (self._external, self._company_key)
        return tuple(
            dict.fromkeys(
                [*self._mapping.columns, *(key for key in keys if key is not None)]
            )
        )

    def __call__(self, record: Record) -> PlannedRow:
        """Plain data for one row; unreadable cells become problems."""
        plan = PlannedRow(row=record.row, line=record.line)
        address: dict[str, Any] = {}
        custom: dict[str, Any] = {}
        for step in self._steps:
            values = _values(record.cells.get(step.column), step.mapping)
            if values:
                self._apply(plan, step, values, address, custom)
        for step in self._names:
            self._apply_name(plan, step, record.cells.get(step.column))
        if address:
            plan.data["addresses"] = [address]
            plan.given.add("addresses")
            plan.address_parts.update(address)
        if custom:
            plan.data["custom"] = custom
            plan.given.add("custom")
            plan.custom_keys.update(custom)
        plan.external_key = _key(record.cells.get(self._external or ""))
        plan.company_key = _key(record.cells.get(self._company_key or ""))
        return plan

    def _apply(
        self,
        plan: PlannedRow,
        step: _Step,
        values: list[tuple[str, str]],
        address: dict[str, Any],
        custom: dict[str, Any],
    ) -> None:
        field, kind = step.mapping.field, step.kind
        if kind in (Kind.MULTI, Kind.TAGS, Kind.ADDRESS_LINES):
            self._apply_many(plan, step, values, address)
            return
        if len(values) > 1 and step.custom_type is not CustomFieldType.MULTI_CHOICE:
            raw = ", ".join(raw for raw, _ in values)
            plan.refuse(
                Source(step.column, raw),
                field,
                "cell.many",
                f"holds {len(values)} values; {field!r} takes one",
            )
            return
        raw, value = values[0]
        source = Source(step.column, raw)
        if kind is Kind.COMPANY:
            plan.company = (" ".join(value.split()), source)
            return
        if kind in (Kind.ADDRESS_TEXT, Kind.ADDRESS_COUNTRY):
            part = field.split(".", 1)[1]
            address[part] = value
            plan.note(f"addresses[0].{part}", source)
            return
        try:
            converted = self._convert(step, value, values)
        except ValueError as error:
            plan.refuse(source, field, f"{kind.value}.format", str(error))
            return
        if kind is Kind.CUSTOM:
            name = field[len("custom.") :]
            custom[name] = converted
            plan.note(field, source)
            return
        plan.data[field] = converted
        plan.given.add(field)
        plan.note(field, source)

    def _convert(
        self, step: _Step, value: str, values: Sequence[tuple[str, str]]
    ) -> Any:
        if step.kind is Kind.INTEGER:
            return _integer(value)
        if step.kind is Kind.DATE:
            return _date(value, step.date_format)
        if step.kind is not Kind.CUSTOM:
            return value
        custom_type = step.custom_type
        if custom_type is CustomFieldType.MULTI_CHOICE:
            return [v for _, v in values]
        converters: dict[CustomFieldType | None, Any] = {
            CustomFieldType.INTEGER: _integer,
            CustomFieldType.DECIMAL: lambda t: _decimal(t, self._separator),
            CustomFieldType.BOOL: _boolean,
            CustomFieldType.DATE: lambda t: _date(t, step.date_format),
            CustomFieldType.MONEY: lambda t: _money(t, self._separator),
        }
        convert = converters.get(custom_type)
        return value if convert is None else convert(value)

    def _apply_many(
        self,
        plan: PlannedRow,
        step: _Step,
        values: list[tuple[str, str]],
        address: dict[str, Any],
    ) -> None:
        field = step.mapping.field
        if step.kind is Kind.ADDRESS_LINES:
            items: list[str] = address.setdefault("lines", [])
            prefix = "addresses[0].lines"
        else:
            items = plan.data.setdefault(field, [])
            plan.given.add(field)
            prefix = field
        for raw, value in values:
            if value in items:
                continue
            source = Source(step.column, raw)
            if step.kind is Kind.TAGS:
                plan.note(prefix, source)
            else:
                plan.note(f"{prefix}[{len(items)}]", source)
            items.append(value)

    def _apply_name(self, plan: PlannedRow, step: _Step, cell: Cell) -> None:
        if not isinstance(cell, str) or not cell.strip():
            return
        name = split_full_name(cell)
        source = Source(step.column, cell.strip())
        for part in ("salutation", "first_name", "last_name"):
            value = getattr(name, part)
            if value and part not in plan.data:
                plan.data[part] = value
                plan.given.add(part)
                plan.note(part, source)


def _key(cell: Cell) -> str | None:
    if isinstance(cell, str):
        return cell.strip() or None
    return None


@attrs.frozen(kw_only=True)
class Validated:
    """
    A planned row, validated.

    Attributes:
        plan: The plain data and its sources.
        entity: The entity the row creates; `None` when the row is refused.
        rejects: Why the row cannot create an entity; empty when it can. With
            an `entity` too, the row can only update an existing entity (it
            lacks what creating one needs, such as a name).
    """

    plan: PlannedRow
    entity: Entity | None
    rejects: tuple[Reject, ...] = ()

    @property
    def update_only(self) -> bool:
        """True when the row can update an entity but not create one."""
        return self.entity is not None and bool(self.rejects)


def validate_row(
    plan: PlannedRow,
    cls: type[Entity],
    *,
    at: datetime,
    converter: cattrs.Converter,
    external_ids: Mapping[str, str],
    updatable: bool,
) -> Validated:
    """
    Validate one planned row as a new ``cls``; report every problem at once.

    A field whose cell could not be read is left out of the data, and only the
    reading problem is reported for it.

    With ``updatable`` (the row has a legacy id), a row that fails only on what
    creating needs (a person with no name, email or phone) is kept for an
    update: the entity comes back with those rejects.
    """
    data = {**plan.data, "external_ids": dict(external_ids)}
    try:
        entity = create_from_dict(cls, data, at=at, converter=converter)
    except ValidationError as error:
        refused = {problem.field for problem in plan.problems}
        rejects = (
            *plan.problems,
            *(plan.translate(e) for e in error.errors if e.path not in refused),
        )
        creation_only = _CREATION_ONLY.get(cls)
        if (
            updatable
            and creation_only is not None
            and not plan.problems
            and creation_only[0] not in data
            and all((e.path, e.code) == creation_only[:2] for e in error.errors)
        ):
            field, _, placeholder = creation_only
            try:
                entity = create_from_dict(
                    cls, {**data, field: placeholder}, at=at, converter=converter
                )
            except ValidationError:  # pragma: no cover - the only error was cured
                return Validated(plan=plan, entity=None, rejects=rejects)
            return Validated(plan=plan, entity=entity, rejects=rejects)
        return Validated(plan=plan, entity=None, rejects=rejects)
    if plan.problems:
        return Validated(plan=plan, entity=None, rejects=tuple(plan.problems))
    return Validated(plan=plan, entity=entity)
