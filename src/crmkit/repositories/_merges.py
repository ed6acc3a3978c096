"""The merge log port: what a store keeps of each merge, so that it can be undone."""

from __future__ import annotations

import enum
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any, Protocol
from uuid import UUID

import attrs

from crmkit._validation import aware_utc
from crmkit.errors import AlreadyExists, NotFound
from crmkit.ids import UserId

__all__ = ["ChangeRole", "MemoryMergeLog", "MergeLog", "MergeRecord", "RecordChange"]


class ChangeRole(enum.StrEnum):
    """
    What a merge did to one record.

    .. versionadded:: 0.1
    """

    SURVIVOR = "survivor"
    """It received the surviving values."""
    MERGED = "merged"
    """It was merged into the survivor and archived."""
    LINKED = "linked"
    """It pointed to a merged record and was re-pointed to the survivor."""


@attrs.frozen(kw_only=True)
class RecordChange:
    """
    One record a merge changed: its plain data before and after.

    ``before`` and ``after`` are the entity's plain-data form (as
    `crmkit.serialization.to_dict` writes it); ``archived`` says whether the merge
    archived the record.

    .. versionadded:: 0.1
    """

    role: ChangeRole
    entity_type: str
    entity_id: UUID
    before: Mapping[str, Any]
    after: Mapping[str, Any]
    archived: bool = False


@attrs.frozen(kw_only=True)
class MergeRecord:
    """
    A merge as stored: who, when, which records, every change, and each decision.

    Enough to undo the merge: the survivor's, the merged records' and the
    re-pointed records' values before and after. ``decisions`` hold, per field,
    the rule, the records the value came from and the values not kept
    (plain data), so nothing a merge drops is lost.

    .. versionadded:: 0.1
    """

    id: UUID
    entity_type: str
    survivor_id: UUID
    merged_ids: tuple[UUID, ...]
    at: datetime
    actor: UserId | None = None
    master_reason: str = ""
    changes: tuple[RecordChange, ...] = ()
    decisions: tuple[Mapping[str, Any], ...] = ()
    undone_at: datetime | None = None
    undone_by: UserId | None = None

    @property
    def entity_ids(self) -> tuple[UUID, ...]:
        """The survivor, then the merged records."""
        return (self.survivor_id, *self.merged_ids)


class MergeLog(Protocol):
    """
    The merges of a store: kept in the same transaction as the merge itself.

    Implementations must pass `crmkit.testing.contract.RepositoryContract`.

    .. versionadded:: 0.1
    """

    def add(self, record: MergeRecord) -> None:
        """Keep a new merge record; `AlreadyExists` if its id is taken."""
        ...

    def get(self, merge_id: UUID) -> MergeRecord:
        """The merge record, or `NotFound`."""
        ...

    def involving(self, entity_id: UUID) -> list[MergeRecord]:
        """The merges that took ``entity_id`` (survivor or merged), oldest first."""
        ...

    def mark_undone(
        self, merge_id: UUID, *, at: datetime, actor: UserId | None = None
    ) -> None:
        """Record that the merge was undone; `NotFound` if unknown or already undone."""
        ...


class MemoryMergeLog:
    """The merge log of a `crmkit.repositories.memory.MemoryUnitOfWork`."""

    def __init__(
        self,
        stored: Mapping[UUID, MergeRecord],
        staged: dict[UUID, MergeRecord],
        *,
        ensure_writable: Callable[[], None],
    ) -> None:
        self._stored = stored
        self._staged = staged
        self._ensure_writable = ensure_writable

    def _find(self, merge_id: UUID) -> MergeRecord | None:
        return self._staged.get(merge_id, self._stored.get(merge_id))

    def add(self, record: MergeRecord) -> None:
        """Keep a new merge record; `AlreadyExists` if its id is taken."""
        self._ensure_writable()
        if self._find(record.id) is not None:
            raise AlreadyExists("merge", "id", record.id)
        self._staged[record.id] = record

    def get(self, merge_id: UUID) -> MergeRecord:
        """The merge record, or `NotFound`."""
        record = self._find(merge_id)
        if record is None:
            raise NotFound("merge", merge_id)
        return record

    def involving(self, entity_id: UUID) -> list[MergeRecord]:
        """The merges whose survivor or merged records include ``entity_id``."""
        records = {**self._stored, **self._staged}.values()
        found = [r for r in records if entity_id in r.entity_ids]
        return sorted(found, key=lambda r: (r.at, str(r.id)))

    def mark_undone(
        self, merge_id: UUID, *, at: datetime, actor: UserId | None = None
    ) -> None:
        """Record that the merge was undone; `NotFound` if unknown or already undone."""
        self._ensure_writable()
        at = aware_utc(at, "at")
        record = self._find(merge_id)
        if record is None or record.undone_at is not None:
            raise NotFound("merge", merge_id)
        self._staged[merge_id] = attrs.evolve(record, undone_at=at, undone_by=actor)
