"""
Import mappings: which column feeds which field, and how its text is read.

A mapping is data (an attrs definition that round-trips through cattrs), read
from TOML, and checked when it is built: an unknown field, an unknown transform,
a date format that cannot read a date back, a picklist map on a field that holds
no picklist value... are refused with `InvalidDefinition` naming the path, such
as ``columns."Téléphone".field``.
"""

from __future__ import annotations

import codecs
import difflib
import enum
import json
import re
from collections.abc import Mapping
from datetime import date, datetime
from pathlib import Path
from typing import Any, Final

import attrs
import phonenumbers
from immutabledict import immutabledict

from crmkit._definitions import parse, read_text
from crmkit.errors import InvalidDefinition, ValidationError, join_path
from crmkit.model import (
    Channel,
    CustomField,
    CustomFieldType,
    Entity,
    EntitySchema,
    Organization,
    Person,
)
from crmkit.serialization import from_dict
from crmkit.values import country_code

__all__ = [
    "ENTITIES",
    "ROW_KEY_PREFIX",
    "TRANSFORMS",
    "ColumnMapping",
    "ExternalIdColumn",
    "ImportMapping",
    "ImportOptions",
    "Kind",
    "mapping_from_dict",
    "mapping_to_dict",
    "quote_key",
    "read_mapping",
    "target_kind",
]

ROW_KEY_PREFIX: Final = "crmkit-import:"
"""External id systems under this prefix are crmkit's own per-row import keys."""

_MAX_BATCH: Final = 100_000
_CUSTOM_NAME = re.compile(r"[a-z][a-z0-9_]{0,62}\Z")
_SAMPLE_DAY: Final = date(2026, 11, 22)


class Kind(enum.Enum):
    """How a target field takes its values from a column."""

    TEXT = "text"
    CHOICE = "choice"
    DATE = "date"
    INTEGER = "integer"
    URL = "url"
    MULTI = "multi"
    TAGS = "tags"
    ADDRESS_TEXT = "address_text"
    ADDRESS_LINES = "address_lines"
    ADDRESS_COUNTRY = "address_country"
    COMPANY = "company"
    NAME = "name"
    CUSTOM = "custom"


_ADDRESS: Final = {
    "address.lines": Kind.ADDRESS_LINES,
    "address.postcode": Kind.ADDRESS_TEXT,
    "address.city": Kind.ADDRESS_TEXT,
    "address.region": Kind.ADDRESS_TEXT,
    "address.country": Kind.ADDRESS_COUNTRY,
}
_TARGETS: Final[dict[str, dict[str, Kind]]] = {
    "person": {
        "salutation": Kind.TEXT,
        "first_name": Kind.TEXT,
        "last_name": Kind.TEXT,
        "name": Kind.NAME,
        "emails": Kind.MULTI,
        "phones": Kind.MULTI,
        "urls": Kind.MULTI,
        "job_title": Kind.TEXT,
        "company": Kind.COMPANY,
        "birth_date": Kind.DATE,
        "income_band": Kind.TEXT,
        "preferred_language": Kind.TEXT,
        "preferred_channel": Kind.CHOICE,
        "lifecycle_stage": Kind.TEXT,
        "source": Kind.TEXT,
        "tags": Kind.TAGS,
        "interests": Kind.TAGS,
        **_ADDRESS,
    },
    "organization": {
        "name": Kind.TEXT,
        "legal_name": Kind.TEXT,
        "registration_number": Kind.TEXT,
        "vat_number": Kind.TEXT,
        "industry": Kind.TEXT,
        "employees": Kind.INTEGER,
        "website": Kind.URL,
        "emails": Kind.MULTI,
        "phones": Kind.MULTI,
        "lifecycle_stage": Kind.TEXT,
        "source": Kind.TEXT,
        "tags": Kind.TAGS,
        **_ADDRESS,
    },
}
ENTITIES: Final[dict[str, type[Entity]]] = {
    "person": Person,
    "organization": Organization,
}
"""The entity types an import can create, by the name a mapping uses."""

_CHOICES: Final[dict[str, type[enum.StrEnum]]] = {"preferred_channel": Channel}
_MULTI_VALUED: Final = frozenset({Kind.MULTI, Kind.TAGS, Kind.ADDRESS_LINES})
_MAPPABLE: Final = frozenset(
    {
        Kind.TEXT,
        Kind.CHOICE,
        Kind.TAGS,
        Kind.ADDRESS_TEXT,
        Kind.ADDRESS_COUNTRY,
        Kind.COMPANY,
        Kind.CUSTOM,
    }
)
_SPLITTABLE: Final = frozenset({*_MULTI_VALUED, Kind.CUSTOM})
_FORMATTED: Final = frozenset({Kind.DATE, Kind.CUSTOM})
TRANSFORMS: Final = ("split_full_name",)
"""The named transforms a column may apply."""


def quote_key(name: str) -> str:
    """Quote a column name as TOML does in a dotted path: ``"Téléphone"``."""
    return json.dumps(name, ensure_ascii=False)


def target_kind(entity: str, field: str) -> Kind | None:
    """How ``field`` of ``entity`` takes values from a column; `None` if unknown."""
    if field.startswith("custom."):
        return Kind.CUSTOM if _CUSTOM_NAME.match(field[len("custom.") :]) else None
    return _TARGETS.get(entity, {}).get(field)


def _blank(value: object) -> bool:
    return not isinstance(value, str) or not value.strip()


def _check_format(fmt: str, path: str) -> None:
    """A date format must write a date and read the same date back."""
    try:
        back = datetime.strptime(_SAMPLE_DAY.strftime(fmt), fmt).date()  # noqa: DTZ007 - a calendar date, no instant
    except ValueError as error:
        raise InvalidDefinition(
            path, f"{fmt!r} is not a usable date format: {error}"
        ) from None
    if back != _SAMPLE_DAY or "%" not in fmt:
        raise InvalidDefinition(
            path,
            f"{fmt!r} cannot read a date back (it needs day, month and year, "
            "such as '%d/%m/%Y')",
        )


def _frozen_map(value: Any) -> Any:
    if isinstance(value, Mapping) and not isinstance(value, immutabledict):
        return immutabledict(value)
    return value


@attrs.frozen(kw_only=True)
class ExternalIdColumn:
    """
    The column holding an entity's id in another system, and that system's name.

    With ``system = "legacy_crm", column = "ID"``, the person whose ``ID`` cell is
    ``"42"`` is stored with ``external_ids = {"legacy_crm": "42"}``, and a later
    import of the same ``ID`` updates that person instead of creating another.

    .. versionadded:: 0.1
    """

    system: str
    column: str

    def __attrs_post_init__(self) -> None:
        if _blank(self.system):
            raise InvalidDefinition("system", "needs the name of the other system")
        if self.system.startswith(ROW_KEY_PREFIX):
            raise InvalidDefinition(
                "system", f"{ROW_KEY_PREFIX!r} is reserved for crmkit's row keys"
            )
        if _blank(self.column):
            raise InvalidDefinition("column", "needs the name of a column")


@attrs.frozen(kw_only=True)
class ImportOptions:
    """
    How to read the file, and defaults for every column.

    Attributes:
        delimiter: The CSV delimiter; detected among ``,``, ``;``, tab and ``|``
            when not given.
        encoding: The file's encoding; when not given, UTF-8 (with or without a
            byte order mark) is tried first, then cp1252 if the text reads well.
        phone_region: The region of phone numbers written without ``+``.
        date_format: The `strptime` format of date cells (ISO 8601 otherwise).
        decimal_separator: ``"."`` or ``","``, for decimal custom fields.
        batch_size: How many rows each transaction stores.
        external_id: The column that identifies an entity in the legacy system.
        company_external_id: The column that identifies a person's company in the
            legacy system (with a column mapped to ``company``).

    .. versionadded:: 0.1
    """

    delimiter: str | None = None
    encoding: str | None = None
    phone_region: str | None = None
    date_format: str | None = None
    decimal_separator: str = "."
    batch_size: int = 1000
    external_id: ExternalIdColumn | None = None
    company_external_id: ExternalIdColumn | None = None

    def __attrs_post_init__(self) -> None:
        if self.delimiter is not None and (
            not isinstance(self.delimiter, str)
            or len(self.delimiter) != 1
            or self.delimiter in '"\r\n'
        ):
            raise InvalidDefinition(
                "delimiter", f"{self.delimiter!r} must be one character, not a quote"
            )
        if self.encoding is not None:
            try:
                codecs.lookup(self.encoding)
            except (LookupError, TypeError):
                raise InvalidDefinition(
                    "encoding", f"{self.encoding!r} is not an encoding Python knows"
                ) from None
        if self.phone_region is not None and (
            not isinstance(self.phone_region, str)
            or self.phone_region.upper() not in phonenumbers.SUPPORTED_REGIONS
        ):
            raise InvalidDefinition(
                "phone_region",
                f"{self.phone_region!r} is not a phone region (such as 'FR', 'BE')",
            )
        if self.date_format is not None:
            _check_format(self.date_format, "date_format")
        if self.decimal_separator not in {".", ","}:
            raise InvalidDefinition(
                "decimal_separator", f"{self.decimal_separator!r} must be '.' or ','"
            )
        if (
            isinstance(self.batch_size, bool)
            or not isinstance(self.batch_size, int)
            or not 1 <= self.batch_size <= _MAX_BATCH
        ):
            raise InvalidDefinition(
                "batch_size", f"{self.batch_size!r} must be from 1 to {_MAX_BATCH}"
            )


@attrs.frozen(kw_only=True)
class ColumnMapping:
    """
    Where one column goes, and how its text is read.

    Attributes:
        field: The target: a field such as ``"emails"``, an address part such as
            ``"address.city"``, a custom field ``"custom.<name>"``, ``"company"``
            (a person's organisation) or ``"name"`` (with ``split_full_name``).
        transform: A named transform; ``"split_full_name"`` is the one there is.
        format: The `strptime` format of a date column.
        map: Picklist translations, applied to each value; values not in the map
            pass unchanged (and are validated as usual); a value mapped to ``""``
            counts as not given.
        split: Split the cell on this text into several values (multi-valued
            fields only).

    .. versionadded:: 0.1
    """

    field: str
    transform: str | None = None
    format: str | None = None
    map: immutabledict[str, str] | None = attrs.field(
        default=None, converter=_frozen_map
    )
    split: str | None = None

    def __attrs_post_init__(self) -> None:
        if _blank(self.field):
            raise InvalidDefinition("field", "needs a target field")
        if self.transform is not None and self.transform not in TRANSFORMS:
            raise InvalidDefinition(
                "transform",
                f"unknown transform {self.transform!r}; known: {', '.join(TRANSFORMS)}",
            )
        if self.format is not None:
            _check_format(self.format, "format")
        if self.split is not None and (
            not isinstance(self.split, str) or not self.split
        ):
            raise InvalidDefinition("split", "needs a non-empty separator")
        if self.map is not None:
            for key, value in self.map.items():
                if not isinstance(key, str) or not isinstance(value, str):
                    raise InvalidDefinition(
                        f"map.{quote_key(str(key))}", "maps text to text"
                    )


def _options(value: Any) -> Any:
    if isinstance(value, Mapping):
        return _structured(ImportOptions, value, "options")
    return value


def _column(name: Any, value: Any) -> Any:
    if isinstance(value, str):
        return ColumnMapping(field=value)
    if isinstance(value, Mapping):
        return _structured(ColumnMapping, value, f"columns.{quote_key(str(name))}")
    return value


def _columns(value: Any) -> Any:
    if isinstance(value, Mapping):
        return immutabledict((name, _column(name, v)) for name, v in value.items())
    return value


@attrs.frozen(kw_only=True)
class ImportMapping:
    """
    A declarative import: the entity to create, reading options, and columns.

    ``ImportMapping(columns={"Nom": "last_name", "Email": "emails"})`` is the
    short form; a column may also take a `ColumnMapping` (or a dict of its keys)
    with a transform, a date format, a picklist map or a separator, and
    ``options`` an `ImportOptions` or a dict of its keys. Several columns may feed one
    multi-valued field (emails, phones, urls, tags, interests, address lines);
    every other field takes at most one column (``split_full_name`` fills only
    the name parts no other column gives).

    Raises:
        InvalidDefinition: The first problem found, at its path, such as
            ``columns."Téléphone".field``.

    .. versionadded:: 0.1
    """

    columns: immutabledict[str, ColumnMapping] = attrs.field(converter=_columns)
    entity: str = "person"
    options: ImportOptions = attrs.field(factory=ImportOptions, converter=_options)

    def __attrs_post_init__(self) -> None:
        if self.entity not in ENTITIES:
            raise InvalidDefinition(
                "entity", f"{self.entity!r} is not one of {', '.join(ENTITIES)}"
            )
        if not isinstance(self.columns, Mapping) or not self.columns:
            raise InvalidDefinition("columns", "map at least one column to a field")
        if not isinstance(self.options, ImportOptions):
            raise InvalidDefinition("options", "expected ImportOptions")
        fed_by: dict[str, str] = {}
        for name, column in self.columns.items():
            path = f"columns.{quote_key(str(name))}"
            if _blank(name):
                raise InvalidDefinition(path, "a column needs a name")
            if not isinstance(column, ColumnMapping):
                raise InvalidDefinition(path, "expected a field name or a table")
            kind = self._check_column(column, path)
            if kind not in _MULTI_VALUED:
                earlier = fed_by.get(column.field)
                if earlier is not None:
                    raise InvalidDefinition(
                        f"{path}.field",
                        f"{column.field!r} is already fed by column "
                        f"{quote_key(earlier)}; only multi-valued fields "
                        "(emails, phones, urls, tags, interests, address.lines) "
                        "take several columns",
                    )
                fed_by[column.field] = name
        self._check_company_key(fed_by)

    def _check_column(self, column: ColumnMapping, path: str) -> Kind:
        kind = target_kind(self.entity, column.field)
        if kind is None:
            raise InvalidDefinition(f"{path}.field", self._unknown(column.field))
        if (kind is Kind.NAME) != (column.transform == "split_full_name"):
            reason = (
                "'name' is split into first and last name: add "
                'transform = "split_full_name"'
                if kind is Kind.NAME
                else 'split_full_name fills first and last name: use field = "name"'
            )
            raise InvalidDefinition(
                f"{path}.{'transform' if kind is Kind.NAME else 'field'}", reason
            )
        if column.map is not None:
            self._check_map(column, kind, f"{path}.map")
        if column.format is not None and kind not in _FORMATTED:
            raise InvalidDefinition(
                f"{path}.format", f"{column.field!r} is not a date field"
            )
        if column.split is not None and kind not in _SPLITTABLE:
            raise InvalidDefinition(
                f"{path}.split", f"{column.field!r} holds one value; it cannot split"
            )
        return kind

    def _check_map(self, column: ColumnMapping, kind: Kind, path: str) -> None:
        if kind not in _MAPPABLE:
            raise InvalidDefinition(
                path,
                f"a map translates picklist values; {column.field!r} does not hold "
                "picklist values",
            )
        values = [v for v in (column.map or {}).values() if v]
        choices = _CHOICES.get(column.field)
        for value in values:
            if choices is not None and value not in {str(c) for c in choices}:
                allowed = ", ".join(repr(str(c)) for c in choices)
                raise InvalidDefinition(
                    path, f"maps to {value!r}, which is not one of {allowed}"
                )
            if kind is Kind.ADDRESS_COUNTRY:
                try:
                    country_code(value)
                except ValidationError:
                    raise InvalidDefinition(
                        path, f"maps to {value!r}, not an ISO 3166-1 country code"
                    ) from None

    def _unknown(self, field: str) -> str:
        known = sorted(_TARGETS[self.entity])
        if field.startswith("custom."):
            return (
                f"{field!r}: a custom field name is lower-case letters, digits "
                "and _, starting with a letter"
            )
        close = difflib.get_close_matches(field, known, n=1)
        hint = f" (did you mean {close[0]!r}?)" if close else ""
        cls = ENTITIES[self.entity].__name__
        return (
            f"{cls} has no field {field!r}{hint}; known: {', '.join(known)}, "
            "custom.<name>"
        )

    def _check_company_key(self, fed_by: Mapping[str, str]) -> None:
        key = self.options.company_external_id
        if key is not None and "company" not in fed_by:
            raise InvalidDefinition(
                "options.company_external_id",
                'needs a column mapped to "company"',
            )

    def check_schema(self, schema: EntitySchema | None) -> None:
        """
        Check the custom field columns against the entity's custom field schema.

        Without a schema custom values are stored as text; with one, each must
        name a field of the schema, and its format, split and map must fit the
        field's type.

        Raises:
            InvalidDefinition: At the column's path.
        """
        if schema is None:
            return
        for name, column in self.columns.items():
            if not column.field.startswith("custom."):
                continue
            path = f"columns.{quote_key(name)}"
            custom = _custom_field(schema, column.field, f"{path}.field")
            if column.format is not None and custom.type is not CustomFieldType.DATE:
                raise InvalidDefinition(
                    f"{path}.format", f"{column.field!r} is a {custom.type} field"
                )
            if (
                column.split is not None
                and custom.type is not CustomFieldType.MULTI_CHOICE
            ):
                raise InvalidDefinition(
                    f"{path}.split",
                    f"{column.field!r} is a {custom.type} field; only "
                    "multi_choice fields split",
                )
            if column.map is not None:
                _check_custom_map(custom, column, f"{path}.map")


def _custom_field(schema: EntitySchema, field: str, path: str) -> CustomField:
    name = field[len("custom.") :]
    try:
        return schema.field(name)
    except ValidationError:
        known = ", ".join(f.name for f in schema.custom_fields) or "none"
        raise InvalidDefinition(
            path, f"the schema has no custom field {name!r}; it has: {known}"
        ) from None


def _check_custom_map(custom: CustomField, column: ColumnMapping, path: str) -> None:
    mappable = {
        CustomFieldType.TEXT,
        CustomFieldType.CHOICE,
        CustomFieldType.MULTI_CHOICE,
    }
    if custom.type not in mappable:
        raise InvalidDefinition(
            path,
            f"{column.field!r} is a {custom.type} field; maps are for text and "
            "choice fields",
        )
    if custom.choices:
        for value in (column.map or {}).values():
            if value and value not in custom.choices:
                allowed = ", ".join(map(repr, custom.choices))
                raise InvalidDefinition(
                    path, f"maps to {value!r}, which is not one of {allowed}"
                )


# Plain data -------------------------------------------------------------------

_TOP_KEYS: Final = ("entity", "options", "columns")


def _structured(cls: type[Any], data: Any, path: str) -> Any:
    """Build ``cls`` from plain data; any problem becomes `InvalidDefinition`."""
    if not isinstance(data, Mapping):
        raise InvalidDefinition(path, f"expected a table, not {type(data).__name__}")
    try:
        return from_dict(cls, data)
    except ValidationError as error:
        first = error.errors[0]
        reason = first.message
        if first.code == "unknown_field":
            known = ", ".join(f.name for f in attrs.fields(cls))
            reason = f"unknown key; expected one of {known}"
        more = len(error.errors) - 1
        if more:
            reason += f" (and {more} more problem{'s' if more > 1 else ''})"
        raise InvalidDefinition(join_path(path, first.path), reason) from None


def mapping_from_dict(data: Mapping[str, Any]) -> ImportMapping:
    """
    Build an `ImportMapping` from plain data, as `tomllib` reads it.

    A column may be given as a field name (``"Nom" = "last_name"``) or as a
    table of `ColumnMapping` keys.

    Raises:
        InvalidDefinition: The first problem found, with its path.
    """
    if not isinstance(data, Mapping):
        raise InvalidDefinition("", "a mapping is a table of entity, options, columns")
    for key in data:
        if key not in _TOP_KEYS:
            raise InvalidDefinition(
                quote_key(str(key)),
                f"unknown key; expected one of {', '.join(_TOP_KEYS)}",
            )
    options = _structured(ImportOptions, data.get("options", {}), "options")
    raw_columns = data.get("columns")
    if not isinstance(raw_columns, Mapping):
        raise InvalidDefinition("columns", "needs a [columns] table")
    columns = {name: _column(name, spec) for name, spec in raw_columns.items()}
    entity = data.get("entity", "person")
    if not isinstance(entity, str):
        raise InvalidDefinition("entity", f"expected text, not {type(entity).__name__}")
    return ImportMapping(entity=entity, options=options, columns=columns)


def _without_none(data: Mapping[str, Any]) -> dict[str, Any]:
    return {
        key: _without_none(value) if isinstance(value, Mapping) else value
        for key, value in data.items()
        if value is not None
    }


def mapping_to_dict(mapping: ImportMapping) -> dict[str, Any]:
    """
    Turn a mapping into plain data that TOML can hold (no `None`, short forms).

    ``mapping_from_dict(mapping_to_dict(m)) == m`` for every mapping.
    """
    options = attrs.asdict(mapping.options, recurse=True)
    defaults = attrs.asdict(ImportOptions())
    columns: dict[str, Any] = {}
    for name, column in mapping.columns.items():
        plain = _without_none(attrs.asdict(column, recurse=False))
        if "map" in plain:
            plain["map"] = dict(plain["map"])
        columns[name] = plain["field"] if plain.keys() == {"field"} else plain
    return {
        "entity": mapping.entity,
        "options": _without_none(
            {k: v for k, v in options.items() if v != defaults[k]}
        ),
        "columns": columns,
    }


def read_mapping(path: str | Path) -> ImportMapping:
    """
    Read an import mapping from a TOML file (UTF-8).

    Raises:
        InvalidDefinition: Bad TOML or a bad mapping, with the file, line and
            column of the problem.
        OSError: The file cannot be read.
    """
    file = Path(path)
    parsed = parse(read_text(file), format="toml", file=str(file))
    return parsed.build(mapping_from_dict)
