"""The merge log in a SQL database: one row per merge, one per record it took."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any
from uuid import UUID

from sqlalchemy import insert, select, update

from crmkit._validation import aware_utc
from crmkit.errors import AlreadyExists, NotFound
from crmkit.ids import UserId
from crmkit.repositories._merges import MergeRecord
from crmkit.repositories.sql._tables import MERGE_MEMBERS, MERGES

if TYPE_CHECKING:
    from crmkit.repositories.sql._database import SqlUnitOfWork

__all__ = ["SqlMergeLog"]


class SqlMergeLog:
    """The merge log of a `crmkit.repositories.sql.SqlUnitOfWork`."""

    def __init__(self, unit: SqlUnitOfWork) -> None:
        self._unit = unit
        self._converter = unit.database.converter

    def _load(self, data: Any) -> MergeRecord:
        return self._converter.structure(data, MergeRecord)

    def add(self, record: MergeRecord) -> None:
        """Keep a new merge record; `AlreadyExists` if its id is taken."""
        self._unit.ensure_writable()
        connection = self._unit.connection()
        taken = connection.execute(
            select(MERGES.c.id).where(MERGES.c.id == record.id)
        ).first()
        if taken is not None:
            raise AlreadyExists("merge", "id", record.id)
        connection.execute(
            insert(MERGES).values(
                id=record.id,
                entity_type=record.entity_type,
                survivor_id=record.survivor_id,
                at=record.at,
                undone_at=record.undone_at,
                data=self._converter.unstructure(record),
            )
        )
        connection.execute(
            insert(MERGE_MEMBERS),
            [{"merge_id": record.id, "entity_id": i} for i in record.entity_ids],
        )

    def get(self, merge_id: UUID) -> MergeRecord:
        """The merge record, or `NotFound`."""
        data = (
            self._unit.connection()
            .execute(select(MERGES.c.data).where(MERGES.c.id == merge_id))
            .scalar()
        )
        if data is None:
            raise NotFound("merge", merge_id)
        return self._load(data)

    def involving(self, entity_id: UUID) -> list[MergeRecord]:
        """The merges whose survivor or merged records include ``entity_id``."""
        rows = self._unit.connection().execute(
            select(MERGES.c.data)
            .join(MERGE_MEMBERS, MERGE_MEMBERS.c.merge_id == MERGES.c.id)
            .where(MERGE_MEMBERS.c.entity_id == entity_id)
            .order_by(MERGES.c.at, MERGES.c.id)
        )
        records = [self._load(row.data) for row in rows]
        return sorted(records, key=lambda r: (r.at, str(r.id)))

    def mark_undone(
        self, merge_id: UUID, *, at: datetime, actor: UserId | None = None
    ) -> None:
        """Record that the merge was undone; `NotFound` if unknown or already undone."""
        self._unit.ensure_writable()
        at = aware_utc(at, "at")
        record = self.get(merge_id)
        if record.undone_at is not None:
            raise NotFound("merge", merge_id)
        undone = self._converter.unstructure(record)
        undone["undone_at"] = self._converter.unstructure(at)
        undone["undone_by"] = None if actor is None else str(actor)
        self._unit.connection().execute(
            update(MERGES)
            .where(MERGES.c.id == merge_id)
            .values(undone_at=at, data=undone)
        )
