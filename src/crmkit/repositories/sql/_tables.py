"""The SQL schema, as SQLAlchemy Core tables: one per entity type plus side tables."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any, Final
from uuid import UUID

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Column,
    Date,
    DateTime,
    Dialect,
    Float,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    TypeDecorator,
    Uuid,
)
from sqlalchemy.dialects.postgresql import JSONB

from crmkit.model import Entity
from crmkit.repositories._catalog import CATALOG

__all__ = [
    "CONTACT_POINTS",
    "ENTITY_LINKS",
    "ENTITY_TABLES",
    "EXTERNAL_IDS",
    "FIELD_HISTORY",
    "MERGES",
    "MERGE_MEMBERS",
    "METADATA",
    "OUTBOX",
    "ROUTING_CURSORS",
    "SCHEMA_VERSIONS",
    "STAGE_HISTORY",
    "UtcDateTime",
]


class UtcDateTime(TypeDecorator[datetime]):
    """Aware datetimes in, aware UTC datetimes out, on every dialect."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> Any:
        if value is None:
            return None
        utc = value.astimezone(UTC)
        return utc.replace(tzinfo=None) if dialect.name == "sqlite" else utc

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:  # noqa: ARG002 - SQLAlchemy's signature
        if value is None:
            return None
        moment: datetime = value
        return (
            moment.replace(tzinfo=UTC)
            if moment.tzinfo is None
            else moment.astimezone(UTC)
        )


class Amount(TypeDecorator[Decimal]):
    """Amounts as floats, for comparisons only; the exact value is in ``data``."""

    impl = Float
    cache_ok = True

    def process_bind_param(
        self,
        value: Decimal | float | None,
        dialect: Dialect,  # noqa: ARG002 - SQLAlchemy's signature
    ) -> Any:
        return None if value is None else float(value)

    def process_result_value(self, value: Any, dialect: Dialect) -> Decimal | None:  # noqa: ARG002 - SQLAlchemy's signature
        return None if value is None else Decimal(repr(value))


DOCUMENT = JSON().with_variant(JSONB(), "postgresql")

# 64-bit on PostgreSQL; on SQLite an INTEGER primary key is the 64-bit row id.
SERIAL_ID = BigInteger().with_variant(Integer(), "sqlite")

CODE_POINT_TEXT = Text().with_variant(Text(collation="C"), "postgresql")
"""Text that compares and sorts by code point, like Python's `str` and SQLite.

A PostgreSQL database's default collation is often linguistic (``en_US.UTF-8``
sorts "a" before "B"), which would make queries disagree with the other adapters.
"""

_SQL_TYPES: Final[dict[type, Any]] = {
    str: CODE_POINT_TEXT,
    int: BigInteger,  # INTEGER is only 32 bits on PostgreSQL
    bool: Boolean,
    datetime: UtcDateTime,
    date: Date,
    UUID: Uuid,
    Decimal: Amount,
}

METADATA = MetaData()

SCHEMA_VERSIONS = Table(
    "crmkit_schema",
    METADATA,
    Column("version", Integer, primary_key=True, autoincrement=False),
    Column("description", Text, nullable=False),
    Column("applied_at", UtcDateTime, nullable=False),
)


def _entity_table(cls: type[Entity]) -> Table:
    catalog = CATALOG[cls]
    columns = [
        Column("id", Uuid, primary_key=True),
        Column("version", Integer, nullable=False),
        Column("created_at", UtcDateTime, nullable=False, index=True),
        Column("updated_at", UtcDateTime, nullable=False, index=True),
        Column("archived_at", UtcDateTime, nullable=True),
        Column("data", DOCUMENT, nullable=False),
    ]
    common = {"id", "version", "created_at", "updated_at"}
    columns += [
        Column(name, _SQL_TYPES[kind], nullable=True, index=True)
        for name, kind in catalog.field_types().items()
        if name not in common
    ]
    return Table(catalog.table, METADATA, *columns)


ENTITY_TABLES: Final[dict[type[Entity], Table]] = {
    cls: _entity_table(cls) for cls in CATALOG
}

CONTACT_POINTS = Table(
    "contact_point",
    METADATA,
    # The key leads with (kind, value), so that lookups by email or phone use it:
    # a key leading with entity_type made SQLite scan every contact point.
    Column("kind", String(16), primary_key=True),
    Column("value", Text, primary_key=True),
    Column("entity_type", String(32), primary_key=True),
    Column("entity_id", Uuid, primary_key=True),
    Index("contact_point_owner", "entity_type", "entity_id"),
)

ENTITY_LINKS = Table(
    "entity_link",
    METADATA,
    # The key leads with (entity_type, field, target_id), so that `contains`
    # (an activity's lead, its parties) reads the index, not every entity.
    Column("entity_type", String(32), primary_key=True),
    Column("field", String(32), primary_key=True),
    Column("target_id", Uuid, primary_key=True),
    Column("entity_id", Uuid, primary_key=True),
    Index("entity_link_owner", "entity_type", "entity_id"),
)
"""The ids held by fields holding several (an activity's ``lead_ids``; schema v5)."""

EXTERNAL_IDS = Table(
    "external_id",
    METADATA,
    Column("entity_type", String(32), primary_key=True),
    Column("system", Text, primary_key=True),
    Column("value", Text, primary_key=True),
    Column("entity_id", Uuid, nullable=False, index=True),
)

FIELD_HISTORY = Table(
    "field_history",
    METADATA,
    Column("id", SERIAL_ID, primary_key=True, autoincrement=True),
    Column("entity_type", String(32), nullable=False),
    Column("entity_id", Uuid, nullable=False),
    Column("version", Integer, nullable=False),
    Column("field", Text, nullable=False),
    Column("old", DOCUMENT, nullable=True),
    Column("new", DOCUMENT, nullable=True),
    Column("actor", Uuid, nullable=True),
    Column("at", UtcDateTime, nullable=False),
    Index("field_history_entity", "entity_type", "entity_id", "id"),
)

OUTBOX = Table(
    "outbox",
    METADATA,
    Column("id", SERIAL_ID, primary_key=True, autoincrement=True),
    Column("event_type", Text, nullable=False),
    Column("entity_type", String(32), nullable=True),
    Column("entity_id", Uuid, nullable=True),
    Column("at", UtcDateTime, nullable=False),
    Column("payload", DOCUMENT, nullable=False),
    Column("published_at", UtcDateTime, nullable=True),
    Index("outbox_pending", "published_at", "id"),
)

ROUTING_CURSORS = Table(
    "routing_cursor",
    METADATA,
    Column("key", Text, primary_key=True),
    Column("position", BigInteger, nullable=False),
)
"""Round-robin cursors of lead routing: the next turn of each key (schema v2)."""

MERGES = Table(
    "merge_record",
    METADATA,
    Column("id", Uuid, primary_key=True),
    Column("entity_type", String(32), nullable=False),
    Column("survivor_id", Uuid, nullable=False),
    Column("at", UtcDateTime, nullable=False),
    Column("undone_at", UtcDateTime, nullable=True),
    Column("data", DOCUMENT, nullable=False),
)
"""Merge records: what each merge changed, so that it can be undone (schema v3)."""

MERGE_MEMBERS = Table(
    "merge_member",
    METADATA,
    Column("merge_id", Uuid, primary_key=True),
    Column("entity_id", Uuid, primary_key=True),
    Index("merge_member_entity", "entity_id"),
)
"""The survivor and merged records of each merge, to find a record's merges."""

STAGE_HISTORY = Table(
    "stage_history",
    METADATA,
    Column("id", SERIAL_ID, primary_key=True, autoincrement=True),
    Column("deal_id", Uuid, nullable=False),
    Column("pipeline", Text, nullable=False),
    Column("stage", Text, nullable=False),
    Column("probability", Float, nullable=True),
    Column("entered_at", UtcDateTime, nullable=False),
    Column("entered_by", Uuid, nullable=True),
    Column("exited_at", UtcDateTime, nullable=True),
    Column("exited_by", Uuid, nullable=True),
    Column("override", Float, nullable=True),
    Column("override_by", Uuid, nullable=True),
    Index("stage_history_deal", "deal_id", "id"),
)
"""Each deal's stays in each stage, one row a stay, in order of ``id`` (schema v4)."""
