"""Schema versions: create a new database, upgrade an old one, refuse a stranger."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Final

import attrs
from sqlalchemy import Connection, func, insert, inspect, select

from crmkit.errors import SchemaMismatch
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


def _add_entity_links(connection: Connection) -> None:
    """Create the link index and fill it from every stored entity, archived too."""
    ENTITY_LINKS.create(connection, checkfirst=True)
    for cls, catalog in CATALOG.items():
        if not catalog.lists:
            continue
        table = ENTITY_TABLES[cls]
        last = None
        while True:
            page = select(table.c.id, table.c.data).order_by(table.c.id)
            if last is not None:
                page = page.where(table.c.id > last)
            chunk = connection.execute(page.limit(_BACKFILL_ROWS)).all()
            if not chunk:
                break
            last = chunk[-1].id
            links = [
                {
                    "entity_type": cls.entity_type,
                    "field": field,
                    "target_id": target,
                    "entity_id": row.id,
                }
                for row in chunk
                for field, target in catalog.document_links(row.data)
            ]
            if links:
                connection.execute(insert(ENTITY_LINKS), links)


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
