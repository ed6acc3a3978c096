"""
Stage history: when each deal entered and left each stage, who moved it, at what odds.

`StageHistory` is an append-only log fed with the events pipelines return. It keeps
its entries in typed arrays (20 bytes a move, whatever the number of deals),
filled a few thousand entries at a time, and rebuilds `StageVisit` values on
demand, per deal or in bulk.
"""

from __future__ import annotations

from array import array
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Final
from uuid import UUID

import attrs
import numpy as np

from crmkit.ids import UserId
from crmkit.pipelines._deals import ProbabilityOverridden
from crmkit.pipelines._engine import StateChanged
from crmkit.repositories import StageVisit

__all__ = ["StageHistory"]

_EPOCH: Final = datetime(1970, 1, 1, tzinfo=UTC)
_ENTER: Final = 0
_OVERRIDE: Final = 1
_NONE: Final = -1
_WHO_BITS: Final = 32
_WHO_MASK: Final = (1 << _WHO_BITS) - 1
_PACK: Final = 8192
_MAX_ENTRIES: Final = 2**31 - 1  # entries are numbered in C ints


def _micros(at: datetime) -> int:
    return (at - _EPOCH) // timedelta(microseconds=1)


def _time(micros: int) -> datetime:
    return _EPOCH + timedelta(microseconds=micros)


def _extend(packed: array[int], values: np.ndarray) -> None:
    """Append ``values`` (of the array's own item type) to ``packed``."""
    packed.frombytes(values.data.cast("B"))


def _chain(rows: np.ndarray, last: np.ndarray, first: int) -> np.ndarray:
    """
    Each new entry's previous entry of the same deal; ``last`` moves to the new.

    The new entries are numbered from ``first``, in order; ``rows`` says whose
    each is, ``last`` holds each deal's latest entry (or -1) and is updated.
    """
    order = np.argsort(rows, kind="stable")
    by_deal = rows[order]
    starts = np.ones(len(rows), dtype=bool)
    starts[1:] = by_deal[1:] != by_deal[:-1]
    previous_by_deal = np.empty(len(rows), dtype=np.intc)
    previous_by_deal[1:] = first + order[:-1]
    previous_by_deal[starts] = last[by_deal[starts]]
    ends = np.ones(len(rows), dtype=bool)
    ends[:-1] = starts[1:]
    last[by_deal[ends]] = first + order[ends]
    previous = np.empty(len(rows), dtype=np.intc)
    previous[order] = previous_by_deal
    return previous


class StageHistory:
    """
    The append-only log of stage entries and probability overrides.

    Feed it every event a pipeline returns (`record`); other events are ignored.

    .. versionadded:: 0.1
    """

    def __init__(self) -> None:
        """Start an empty history."""
        # One row an entry: what happened and by whom (both interned, in one
        # number), when, and the row of the deal's previous entry, so each
        # deal's entries chain backwards; _last holds each deal's latest entry.
        # New entries wait in plain lists (what, when and which deal), and are
        # packed and chained _PACK at a time by numpy (array appends are slow).
        self._what_who = array("q")
        self._micros = array("q")
        self._previous = array("i")
        self._last = array("i")
        self._new_what_who: list[int] = []
        self._new_micros: list[int] = []
        self._new_rows: list[int] = []
        self._deal_ids: list[UUID] = []
        self._deal_rows: dict[int, int] = {}
        self._moment: datetime | None = None
        self._moment_micros = 0
        self._keys: list[tuple[int, str, str, float | None]] = []
        self._key_codes: dict[tuple[int, str, str, float | None], int] = {}
        self._actors: list[UserId] = []
        self._actor_codes: dict[UserId, int] = {}

    def __len__(self) -> int:
        """The number of entries (stage entries and overrides)."""
        return len(self._what_who) + len(self._new_rows)

    def record(self, events: Iterable[object]) -> None:
        """Append the stage moves and probability overrides among ``events``."""
        for event in events:
            kind = type(event)
            if kind is StateChanged:
                key = (_ENTER, event.lifecycle, event.target, event.probability)  # type: ignore[attr-defined]
            elif kind is ProbabilityOverridden:
                key = (_OVERRIDE, event.pipeline, event.stage, event.new)  # type: ignore[attr-defined]
            else:
                continue
            code = self._key_codes.get(key)
            if code is None:
                code = self._key_codes[key] = len(self._keys)
                self._keys.append(key)
            deal_id: UUID = event.entity_id  # type: ignore[attr-defined]
            row = self._deal_rows.get(deal_id.int)
            if row is None:
                row = self._deal_rows[deal_id.int] = len(self._deal_ids)
                self._deal_ids.append(deal_id)
                self._last.append(_NONE)
            actor: UserId | None = event.actor  # type: ignore[attr-defined]
            who = 0 if actor is None else self._actor_codes.get(actor, 0)
            if who == 0 and actor is not None:
                self._actors.append(actor)
                who = self._actor_codes[actor] = len(self._actors)
            at: datetime = event.at  # type: ignore[attr-defined]
            if at is not self._moment:
                self._moment = at
                self._moment_micros = _micros(at)
            self._new_what_who.append(code << _WHO_BITS | who)
            self._new_micros.append(self._moment_micros)
            self._new_rows.append(row)
            if len(self._new_rows) == _PACK:
                self._pack()

    def _pack(self) -> None:
        """Move the new entries into the arrays, each chained to its deal's last."""
        if not self._new_rows:
            return
        first = len(self._previous)
        if first + len(self._new_rows) > _MAX_ENTRIES:
            msg = f"a StageHistory holds at most {_MAX_ENTRIES:,} entries"
            raise OverflowError(msg)
        rows = np.array(self._new_rows, dtype=np.intp)
        last = np.frombuffer(self._last, dtype=np.intc)
        previous = _chain(rows, last, first)
        del last  # lets the array grow again
        _extend(self._previous, previous)
        _extend(self._what_who, np.array(self._new_what_who, dtype=np.int64))
        _extend(self._micros, np.array(self._new_micros, dtype=np.int64))
        self._new_what_who.clear()
        self._new_micros.clear()
        self._new_rows.clear()

    def deal_ids(self) -> list[UUID]:
        """Every deal with at least one entry, in order of first appearance."""
        return list(self._deal_ids)

    def visits(self, deal_id: UUID) -> tuple[StageVisit, ...]:
        """The deal's stays, oldest first; the last has no exit while it is there."""
        self._pack()
        chain = []
        index = self._last_index(deal_id)
        while index != _NONE:
            chain.append(index)
            index = self._previous[index]
        return tuple(self._visits(deal_id, reversed(chain)))

    def visits_of(self, deal_ids: Iterable[UUID]) -> dict[UUID, tuple[StageVisit, ...]]:
        """The stays of several deals at once."""
        return {deal_id: self.visits(deal_id) for deal_id in deal_ids}

    def entered_at(self, deal_id: UUID) -> datetime | None:
        """When the deal entered its current stage (`None` if it has no history)."""
        self._pack()
        index = self._last_index(deal_id)
        while index != _NONE and self._key_of(index)[0] != _ENTER:
            index = self._previous[index]
        return None if index == _NONE else _time(self._micros[index])

    def _last_index(self, deal_id: UUID) -> int:
        row = self._deal_rows.get(deal_id.int)
        return _NONE if row is None else self._last[row]

    def _key_of(self, index: int) -> tuple[int, str, str, float | None]:
        return self._keys[self._what_who[index] >> _WHO_BITS]

    def _actor_of(self, index: int) -> UserId | None:
        """Who made the entry: actors are numbered from 1, 0 is nobody."""
        who = self._what_who[index] & _WHO_MASK
        return None if who == 0 else self._actors[who - 1]

    def _visits(self, deal_id: UUID, indexes: Iterable[int]) -> Iterator[StageVisit]:
        current: StageVisit | None = None
        for index in indexes:
            at = _time(self._micros[index])
            actor = self._actor_of(index)
            kind, pipeline, stage, probability = self._key_of(index)
            if kind == _OVERRIDE:
                if current is not None:
                    current = attrs.evolve(
                        current, override=probability, override_by=actor
                    )
                continue
            if current is not None:
                yield attrs.evolve(current, exited_at=at, exited_by=actor)
            current = StageVisit(
                deal_id=deal_id,
                pipeline=pipeline,
                stage=stage,
                entered_at=at,
                entered_by=actor,
                probability=probability,
            )
        if current is not None:
            yield current
