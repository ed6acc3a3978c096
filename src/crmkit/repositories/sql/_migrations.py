"""Schema versions: create a new database, upgrade an old one, refuse a stranger."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from datetime import datetime
from typing import Any, Final
from uuid import UUID

import attrs
from sqlalchemy import (
    Connection,
    Table,
    bindparam,
    func,
    insert,
    inspect,
    select,
    update,
)

from crmkit.errors import SchemaMismatch
from crmkit.model import Activity, Deal, Entity, Lead, Person, Ticket
from crmkit.repositories._catalog import CATALOG
from crmkit.repositories.sql._tables import (
    ENTITY_LINKS,
    ENTITY_TABLES,
    MERGE_MEMBERS,
    MERGES,
    METADATA,
    ROUTING_CURSORS,
    SCHEMA_VERSIONS,
    STAGE_HISTORY,
)

__all__ = ["CURRENT_VERSION", "MIGRATIONS", "Migration", "schema_version", "upgrade"]


@attrs.frozen
class Migration:
    """One step from version ``version - 1`` to ``version``."""

    version: int
    description: str
    apply: Callable[[Connection], None]


def _create_tables(connection: Connection) -> None:
    METADATA.create_all(connection)


def _add_routing_cursors(connection: Connection) -> None:
    ROUTING_CURSORS.create(connection, checkfirst=True)


def _add_merge_records(connection: Connection) -> None:
    MERGES.create(connection, checkfirst=True)
    MERGE_MEMBERS.create(connection, checkfirst=True)


def _add_stage_history(connection: Connection) -> None:
    STAGE_HISTORY.create(connection, checkfirst=True)


_BACKFILL_ROWS: Final = 1000
"""Entities read (and their links written) at a time when a migration fills a table."""

DocumentId = Callable[[Mapping[str, Any]], UUID | None]
"""Read one id off a stored document (plain data)."""


def _pages(connection: Connection, table: Table) -> Iterator[list[Any]]:
    """Every stored entity of ``table``, archived too, as (id, data) rows by page."""
    last = None
    while True:
        page = select(table.c.id, table.c.data).order_by(table.c.id)
        if last is not None:
            page = page.where(table.c.id > last)
        chunk = list(connection.execute(page.limit(_BACKFILL_ROWS)).all())
        if not chunk:
            return
        last = chunk[-1].id
        yield chunk


def _backfill_links(
    connection: Connection, fields: Mapping[type[Entity], tuple[str, ...]]
) -> None:
    """Index the ids that ``fields`` (holding several) hold in stored documents."""
    for cls, names in fields.items():
        lists = CATALOG[cls].lists
        for chunk in _pages(connection, ENTITY_TABLES[cls]):
            links = [
                {
                    "entity_type": cls.entity_type,
                    "field": name,
                    "target_id": target,
                    "entity_id": row.id,
                }
                for row in chunk
                for name in names
                for target in lists[name].document_ids(row.data)
            ]
            if links:
                connection.execute(insert(ENTITY_LINKS), links)


_STEP_5_LINKS: Final[dict[type[Entity], tuple[str, ...]]] = {
    Activity: ("lead_ids", "deal_ids", "ticket_ids", "party_ids"),
    Deal: ("contact_ids",),
}
"""The fields holding several ids that schema step 5 indexed."""


def _add_entity_links(connection: Connection) -> None:
    """Create the link index and fill it from every stored entity, archived too."""
    ENTITY_LINKS.create(connection, checkfirst=True)
    _backfill_links(connection, _STEP_5_LINKS)


def _document_id(key: str, item: str | None = None) -> DocumentId:
    """Read ``data[key]`` (or ``data[key][item]``) as an id, `None` when empty."""

    def read(data: Mapping[str, Any]) -> UUID | None:
        value = data.get(key)
        if item is not None and value is not None:
            value = value.get(item)
        return None if value is None else UUID(str(value))

    return read


_STEP_6_COLUMNS: Final[dict[type[Entity], dict[str, DocumentId]]] = {
    Ticket: {"requester_id": _document_id("requester", "id")},
    Lead: {
        "converted_person_id": _document_id("converted_person_id"),
        "converted_organization_id": _document_id("converted_organization_id"),
    },
}
"""The queryable columns schema step 6 added, and how to read each off a document."""

_STEP_6_LINKS: Final[dict[type[Entity], tuple[str, ...]]] = {
    Person: ("organization_ids",),
}
"""The fields holding several ids that schema step 6 indexed."""


def _add_column(connection: Connection, table: Table, name: str) -> None:
    """Add ``table.c[name]`` and its index, unless the table has them already."""
    column = table.c[name]
    present = {c["name"] for c in inspect(connection).get_columns(table.name)}
    if name not in present:
        quote = connection.dialect.identifier_preparer.quote
        kind = column.type.compile(dialect=connection.dialect)
        connection.exec_driver_sql(
            f"ALTER TABLE {quote(table.name)} ADD COLUMN {quote(name)} {kind}"
        )
    for index in table.indexes:
        if list(index.columns) == [column]:
            index.create(connection, checkfirst=True)


def _fill_columns(
    connection: Connection, table: Table, readers: Mapping[str, DocumentId]
) -> None:
    """Write each stored entity's values of the new columns, read off its document."""
    statement = (
        update(table)
        .where(table.c.id == bindparam("row_id"))
        .values({name: bindparam(f"new_{name}") for name in readers})
    )
    for chunk in _pages(connection, table):
        filled = []
        for row in chunk:
            values = {f"new_{name}": read(row.data) for name, read in readers.items()}
            if any(value is not None for value in values.values()):
                filled.append({"row_id": row.id, **values})
        if filled:
            connection.execute(statement, filled)


def _add_party_references(connection: Connection) -> None:
    """
    Make the references to persons and organisations queryable.

    A ticket's requester and a lead's converted person and organisation become
    columns; a person's roles index the ids of their organisations. Each is
    filled from the stored documents, archived entities too.
    """
    for cls, readers in _STEP_6_COLUMNS.items():
        table = ENTITY_TABLES[cls]
        for name in readers:
            _add_column(connection, table, name)
        _fill_columns(connection, table, readers)
    _backfill_links(connection, _STEP_6_LINKS)


MIGRATIONS: Final[tuple[Migration, ...]] = (
    Migration(
        1,
        "entity tables, contact points, external ids, history, outbox",
        _create_tables,
    ),
    Migration(2, "round-robin cursors of lead routing", _add_routing_cursors),
    Migration(3, "merge records, so that merges can be undone", _add_merge_records),
    Migration(4, "stage history of deals, one row a stay", _add_stage_history),
    Migration(
        5,
        "an index of the ids fields hold several of (an activity's leads)",
        _add_entity_links,
    ),
    Migration(
        6,
        "queryable references to parties: a ticket's requester, a lead's converted "
        "person and organisation, a person's organisations",
        _add_party_references,
    ),
)
"""Every step, in order; a new crmkit release appends steps, never edits them."""

CURRENT_VERSION: Final = MIGRATIONS[-1].version


def schema_version(connection: Connection) -> int:
    """
    Return the database's schema version: 0 for an empty database.

    Raises:
        SchemaMismatch: The database has tables but is not a crmkit database.
    """
    tables = set(inspect(connection).get_table_names())
    if SCHEMA_VERSIONS.name not in tables:
        if tables:
            shown = ", ".join(sorted(tables)[:5])
            msg = (
                f"not a crmkit database: it has tables ({shown}) but no "
                f"{SCHEMA_VERSIONS.name} table"
            )
            raise SchemaMismatch(msg, found=None, expected=CURRENT_VERSION)
        return 0
    version = connection.execute(select(func.max(SCHEMA_VERSIONS.c.version))).scalar()
    return int(version or 0)


def upgrade(connection: Connection, *, at: datetime) -> int:
    """
    Bring the schema to `CURRENT_VERSION` and return it.

    An empty database gets the current schema at once; an older one runs each
    missing step in order, inside the caller's transaction.

    Raises:
        SchemaMismatch: The database is newer than this crmkit, or not crmkit's.
    """
    found = schema_version(connection)
    if found > CURRENT_VERSION:
        msg = (
            f"the database is at schema version {found}, newer than this crmkit "
            f"({CURRENT_VERSION}); upgrade crmkit"
        )
        raise SchemaMismatch(msg, found=found, expected=CURRENT_VERSION)
    steps = MIGRATIONS if found == 0 else [m for m in MIGRATIONS if m.version > found]
    if found == 0:
        _create_tables(connection)
    else:
        for step in steps:
            step.apply(connection)
    for step in steps:
        connection.execute(
            insert(SCHEMA_VERSIONS).values(
                version=step.version, description=step.description, applied_at=at
            )
        )
    return CURRENT_VERSION
