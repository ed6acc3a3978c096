"""
Exporting stored entities to CSV or JSON lines, streamed and written atomically.

JSON lines: one `crmkit.serialization.to_dict` object per line, every field
kept, so the file reads back with `crmkit.serialization.from_dict`.

CSV: one row per entity, in id order, with these columns (``PERSON_COLUMNS``
and ``ORGANIZATION_COLUMNS``), then one ``external_id.<system>`` column per
legacy system met (sorted) and one ``custom.<name>`` column per custom field
met (sorted; the schema's fields, in its order, when a schema is given):

- several values in one cell (emails, phones, urls, tags, address lines) are
  joined with ``"; "``;
- ``address.*`` are the parts of the primary (first) address;
- ``company`` is the name of a person's primary organisation, and
  ``primary_organization_id`` its id;
- money is ``"1200.50 EUR"``; dates and times are ISO 8601; flags are
  ``true``/``false``; an empty cell is an empty value.

crmkit's own per-row import keys (``crmkit-import:*``) are left out of the CSV
columns (they stay in JSON lines).
"""

from __future__ import annotations

import codecs
import contextlib
import csv
import json
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import IO, Any, Final, Literal

import attrs

from crmkit.errors import ValidationError
from crmkit.io._files import atomic_text_file
from crmkit.io._mapping import ROW_KEY_PREFIX
from crmkit.model import Entity, EntitySchema, Organization, Person
from crmkit.repositories import Database, Repository, UnitOfWork, in_
from crmkit.serialization import make_converter

__all__ = [
    "ORGANIZATION_COLUMNS",
    "PERSON_COLUMNS",
    "ExportFormat",
    "ExportSummary",
    "export_entities",
]

ExportFormat = Literal["csv", "jsonl"]

_BASE: Final = ("id", "version", "created_at", "updated_at")
_ADDRESS: Final = (
    "address.lines",
    "address.postcode",
    "address.city",
    "address.region",
    "address.country",
)
PERSON_COLUMNS: Final = (
    *_BASE,
    "salutation",
    "first_name",
    "last_name",
    "emails",
    "phones",
    "urls",
    "job_title",
    "company",
    "primary_organization_id",
    *_ADDRESS,
    "birth_date",
    "preferred_language",
    "preferred_channel",
    "income_band",
    "lifecycle_stage",
    "tags",
    "interests",
    "source",
    "owner_id",
)
"""The fixed CSV columns of people, in order."""

ORGANIZATION_COLUMNS: Final = (
    *_BASE,
    "name",
    "legal_name",
    "registration_number",
    "vat_number",
    "industry",
    "employees",
    "annual_revenue",
    "website",
    "emails",
    "phones",
    *_ADDRESS,
    "parent_id",
    "lifecycle_stage",
    "tags",
    "source",
    "owner_id",
)
"""The fixed CSV columns of organisations, in order."""

_COLUMNS: Final[dict[type[Entity], tuple[str, ...]]] = {
    Person: PERSON_COLUMNS,
    Organization: ORGANIZATION_COLUMNS,
}
_SEPARATOR: Final = "; "


@attrs.frozen(kw_only=True)
class ExportSummary:
    """
    What an export wrote.

    .. versionadded:: 0.1
    """

    entity: str
    count: int
    format: ExportFormat
    path: Path | None
    columns: tuple[str, ...] = ()


def _cell(value: Any) -> str:
    """One plain-data value as CSV text."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        return _SEPARATOR.join(_cell(item) for item in value)
    if isinstance(value, Mapping):
        if set(value) == {"amount", "currency"}:
            return f"{value['amount']} {value['currency']}"
        return json.dumps(value, ensure_ascii=False, sort_keys=True)
    return str(value)


def _extra_columns(
    repository: Repository[Any], schema: EntitySchema | None, size: int
) -> tuple[list[str], list[str]]:
    """The legacy id systems and custom field names to give a column each."""
    systems: set[str] = set()
    custom: set[str] = set()
    for batch in repository.batches(size=size):
        for entity in batch:
            systems.update(getattr(entity, "external_ids", {}))
            custom.update(entity.custom)
    names = sorted(custom)
    if schema is not None:
        names = [field.name for field in schema.custom_fields]
    return sorted(s for s in systems if not s.startswith(ROW_KEY_PREFIX)), names


def _company_names(uow: UnitOfWork, people: Sequence[Any]) -> dict[Any, str]:
    ids = {p.primary_organization_id for p in people} - {None}
    if not ids:
        return {}
    page = uow.organizations.find(
        where={"id": in_(ids)}, limit=len(ids), include_archived=True, order_by="id"
    )
    return {organization.id: organization.name for organization in page.items}


def _csv_rows(
    uow: UnitOfWork,
    cls: type[Entity],
    columns: Sequence[str],
    size: int,
    plain: Any,
) -> Iterator[list[str]]:
    repository = uow.repository(cls)
    for batch in repository.batches(size=size):
        names = _company_names(uow, batch) if cls is Person else {}
        for entity in batch:
            data = plain(entity)
            address = (data.get("addresses") or [{}])[0]
            row = []
            for column in columns:
                if column == "company":
                    value: Any = names.get(entity.primary_organization_id)  # type: ignore[attr-defined]
                elif column == "primary_organization_id":
                    value = entity.primary_organization_id  # type: ignore[attr-defined]
                elif column.startswith("address."):
                    value = address.get(column[len("address.") :])
                elif column.startswith("external_id."):
                    value = data["external_ids"].get(column[len("external_id.") :])
                elif column.startswith("custom."):
                    value = data["custom"].get(column[len("custom.") :])
                else:
                    value = data.get(column)
                row.append(_cell(value))
            yield row


@contextlib.contextmanager
def _output(
    target: str | Path | IO[str], encoding: str
) -> Iterator[tuple[IO[str], Path | None]]:
    if isinstance(target, str | Path):
        with atomic_text_file(target, encoding=encoding, newline="") as handle:
            yield handle, Path(target)
    else:
        yield target, None


def export_entities(
    database: Database,
    cls: type[Entity],
    path: str | Path | IO[str],
    *,
    format: ExportFormat = "csv",  # noqa: A002 - the option's name
    delimiter: str = ",",
    encoding: str = "utf-8",
    schemas: Mapping[type[Entity], EntitySchema] | None = None,
    batch_size: int = 1000,
) -> ExportSummary:
    """
    Write every stored (not archived) ``cls`` to a CSV or JSON lines file.

    Entities are read ``batch_size`` at a time, in id order, from one unit of
    work (one consistent snapshot), so memory use does not grow with the
    database; a CSV export without a schema reads them twice, first to find
    its ``external_id.*`` and ``custom.*`` columns.

    A file is written atomically: readers see the previous file or the
    complete new one, and a failed export leaves nothing behind. A text stream
    (such as ``sys.stdout``) is written as it goes.

    Args:
        database: Where the entities are.
        cls: `Person` or `Organization` (JSON lines takes any entity class).
        path: The file to write, or an open text stream.
        format: ``"csv"`` (the layout is in this module's docs) or ``"jsonl"``.
        delimiter: The CSV delimiter (``";"`` for a French spreadsheet).
        encoding: The file's encoding (``"utf-8-sig"`` helps Excel).
        schemas: Custom field schemas by entity class: their fields are the
            ``custom.*`` columns, in that order, even when empty.
        batch_size: How many entities to hold in memory at once.

    Returns:
        How many entities were written, where, and the CSV columns.

    Raises:
        ValidationError: An unknown format, encoding or a bad delimiter, or CSV
            asked for an entity without a CSV layout.
    """
    if format not in ("csv", "jsonl"):
        raise ValidationError.single(
            "format", format, "export.format", "must be 'csv' or 'jsonl'"
        )
    if not isinstance(delimiter, str) or len(delimiter) != 1 or delimiter in '"\r\n':
        raise ValidationError.single(
            "delimiter", delimiter, "export.delimiter", "must be one character"
        )
    try:
        codecs.lookup(encoding)
    except LookupError:
        raise ValidationError.single(
            "encoding", encoding, "export.encoding", "not an encoding Python knows"
        ) from None
    if format == "csv" and cls not in _COLUMNS:
        raise ValidationError.single(
            "cls",
            cls.__name__,
            "export.entity",
            "CSV export covers Person and Organization; use format='jsonl'",
        )
    schema = (schemas or {}).get(cls)
    plain = make_converter().unstructure
    count = 0
    columns: tuple[str, ...] = ()
    with (
        database.unit_of_work(readonly=True) as uow,
        _output(path, encoding) as (handle, written),
    ):
        if format == "jsonl":
            for batch in uow.repository(cls).batches(size=batch_size):
                for entity in batch:
                    handle.write(json.dumps(plain(entity), ensure_ascii=False))
                    handle.write("\n")
                    count += 1
        else:
            systems, custom = _extra_columns(uow.repository(cls), schema, batch_size)
            columns = (
                *_COLUMNS[cls],
                *(f"external_id.{s}" for s in systems),
                *(f"custom.{name}" for name in custom),
            )
            writer = csv.writer(handle, delimiter=delimiter)
            writer.writerow(columns)
            for row in _csv_rows(uow, cls, columns, batch_size, plain):
                writer.writerow(row)
                count += 1
    return ExportSummary(
        entity=cls.entity_type,
        count=count,
        format=format,
        path=written,
        columns=columns,
    )
