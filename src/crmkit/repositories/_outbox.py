"""
Following the outbox: read every change once, even those that commit late.

A reader that keeps something current from the outbox (an index, a
projection) remembers the last id it applied, its cursor. Outbox ids need not
become visible in order: on PostgreSQL, or with two units of work of the
memory adapter, a transaction that took a lower id may commit after one that
took a higher id. So the ids the cursor steps over are kept as gaps and looked
for again, as long as they are within the last ``window`` ids (a rolled-back
transaction leaves a gap that is never filled).
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping
from typing import Final, Protocol
from uuid import UUID

from crmkit.errors import ValidationError
from crmkit.repositories._ports import Database, OutboxMessage, UnitOfWork
from crmkit.repositories._query import limit_error

__all__ = [
    "GAP_WINDOW",
    "OutboxFollower",
    "follow_outbox",
    "next_messages",
    "start_following",
]

GAP_WINDOW: Final = 1000
"""How many of the last outbox ids are looked for again when skipped (default)."""

Refresh = Callable[[UnitOfWork, Mapping[str, list[UUID]]], None]
"""Re-read entities in a unit of work, given their ids by entity type."""


class OutboxFollower(Protocol):
    """
    Where a reader of the outbox stands: what it applied, what it may have missed.

    `crmkit.dedup.DedupIndex` and `crmkit.pipelines.OrganizationNames` are
    followers; any object with these two attributes is one.

    Attributes:
        cursor: The last outbox id applied (0: none).
        gaps: Ids below the cursor not seen yet (a transaction still open, or
            rolled back).

    .. versionadded:: 0.1
    """

    cursor: int
    gaps: set[int]


def start_following(
    follower: OutboxFollower, uow: UnitOfWork, *, window: int = GAP_WINDOW
) -> None:
    """
    Place a follower at the newest outbox id, as seen by ``uow``.

    Read the state the follower starts from in the same unit of work: then it
    has seen everything up to its cursor, except the ids not visible yet, which
    become its gaps (those within the last ``window`` ids).

    Raises:
        ValidationError: ``window`` is not from 1 to 10,000.
    """
    _check_window(window)
    follower.cursor = uow.last_message_id()
    floor = follower.cursor - window
    seen = {m.id for m in uow.messages(after=floor, limit=window)}
    follower.gaps = set(range(max(floor, 0) + 1, follower.cursor)) - seen


def next_messages(
    follower: OutboxFollower,
    uow: UnitOfWork,
    *,
    limit: int = 1000,
    window: int = GAP_WINDOW,
) -> list[OutboxMessage]:
    """
    The messages a follower has not seen, and move it past them.

    First those that filled a gap, then at most ``limit`` after the cursor, by
    id. The cursor moves to the last one read; ids stepped over become gaps,
    and gaps older than the last ``window`` ids are forgotten. Apply the
    messages before saving the follower.

    Raises:
        ValidationError: ``limit`` or ``window`` is not from 1 to 10,000.
    """
    _check_window(window)
    late = uow.messages(ids=follower.gaps, limit=window) if follower.gaps else []
    messages = uow.messages(after=follower.cursor, limit=limit)
    if not messages and not late:
        return []
    gaps = follower.gaps - {m.id for m in late}
    if messages:
        last = messages[-1].id
        gaps |= set(range(follower.cursor + 1, last)) - {m.id for m in messages}
        follower.cursor = last
    follower.gaps = {g for g in gaps if g > follower.cursor - window}
    return [*late, *messages]


def follow_outbox(
    follower: OutboxFollower,
    database: Database,
    refresh: Refresh,
    *,
    entity_types: Collection[str],
    batch_size: int = 1000,
    window: int = GAP_WINDOW,
) -> int:
    """
    Re-read every entity changed since the follower's cursor, until none is left.

    Each round reads at most ``batch_size`` new messages (and those that filled
    a gap) in a read-only unit of work, and calls ``refresh(uow, ids)`` there
    with the ids of the entities of ``entity_types`` they name, by type, each
    once, in the order first named. ``refresh`` re-reads them as stored now
    (gone or archived ones are missing), so applying a change twice is harmless.

    Returns:
        The number of entities re-read.

    Raises:
        ValidationError: ``batch_size`` or ``window`` is not from 1 to 10,000.
    """
    refreshed = 0
    while True:
        with database.unit_of_work(readonly=True) as uow:
            messages = next_messages(follower, uow, limit=batch_size, window=window)
            if not messages:
                return refreshed
            touched = _named(messages, entity_types)
            if touched:
                refresh(uow, touched)
            refreshed += sum(len(ids) for ids in touched.values())


def _named(
    messages: list[OutboxMessage], entity_types: Collection[str]
) -> dict[str, list[UUID]]:
    """The ids of the entities of ``entity_types`` named, by type, each once."""
    named: dict[str, dict[UUID, None]] = {}
    for message in messages:
        kind, entity_id = message.entity_type, message.entity_id
        if kind in entity_types and kind is not None and entity_id is not None:
            named.setdefault(kind, {})[entity_id] = None
    return {kind: list(ids) for kind, ids in named.items()}


def _check_window(window: int) -> None:
    error = limit_error(window, "window")
    if error is not None:
        raise ValidationError([error])
