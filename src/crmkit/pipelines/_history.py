"""
Stage history: when each deal entered and left each stage, who moved it, at what odds.

`StageHistory` is an append-only log fed with the events pipelines return. It keeps
its entries in typed arrays (20 bytes a move, whatever the number of deals),
and rebuilds `StageVisit` values on demand, per deal or in bulk.
"""

from __future__ import annotations

from array import array
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Final
from uuid import UUID

import attrs

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


def _micros(at: datetime) -> int:
    return (at - _EPOCH) // timedelta(microseconds=1)


def _time(micros: int) -> datetime:
    return _EPOCH + timedelta(microseconds=micros)


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
        # deal's entries chain backwards.
        self._what_who = array("q")
        self._micros = array("q")
        self._previous = array("i")
        self._last = array("i")
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
        return len(self._what_who)

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
            last = self._last
            self._previous.append(last[row])
            last[row] = len(self._what_who)
            self._what_who.append(code << _WHO_BITS | who)
            self._micros.append(self._moment_micros)

    def deal_ids(self) -> list[UUID]:
        """Every deal with at least one entry, in order of first appearance."""
        return list(self._deal_ids)

    def visits(self, deal_id: UUID) -> tuple[StageVisit, ...]:
        """The deal's stays, oldest first; the last has no exit while it is there."""
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
