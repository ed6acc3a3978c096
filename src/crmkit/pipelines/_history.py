"""
Stage history: when each deal entered and left each stage, who moved it, at what odds.

`StageHistory` is an append-only log fed with the events pipelines return. It keeps
its entries in typed arrays (27 bytes a move, whatever the number of deals),
and rebuilds `StageVisit` values on demand, per deal or in bulk.
"""

from __future__ import annotations

import math
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
        self._kind = array("b")
        self._stage = array("h")
        self._micros = array("q")
        self._actor = array("i")
        self._probability = array("d")
        self._previous = array("i")
        self._last = array("i")
        self._deal_ids: list[UUID] = []
        self._deal_rows: dict[int, int] = {}
        self._moment: tuple[datetime | None, int] = (None, 0)
        self._stages: list[tuple[str, str]] = []
        self._stage_codes: dict[tuple[str, str], int] = {}
        self._actors: list[UserId] = []
        self._actor_codes: dict[UserId, int] = {}

    def __len__(self) -> int:
        """The number of entries (stage entries and overrides)."""
        return len(self._kind)

    def record(self, events: Iterable[object]) -> None:
        """Append the stage moves and probability overrides among ``events``."""
        for event in events:
            if type(event) is StateChanged:
                self._append(
                    _ENTER,
                    event.entity_id,
                    event.lifecycle,
                    event.target,
                    event.at,
                    event.actor,
                    event.probability,
                )
            elif type(event) is ProbabilityOverridden:
                self._append(
                    _OVERRIDE,
                    event.entity_id,
                    event.pipeline,
                    event.stage,
                    event.at,
                    event.actor,
                    event.new,
                )

    def _append(  # noqa: PLR0917 - one column each, private
        self,
        kind: int,
        deal_id: UUID,
        pipeline: str,
        stage: str,
        at: datetime,
        actor: UserId | None,
        probability: float | None,
    ) -> None:
        row = self._deal_rows.get(deal_id.int)
        if row is None:
            row = self._deal_rows[deal_id.int] = len(self._deal_ids)
            self._deal_ids.append(deal_id)
            self._last.append(_NONE)
        key = (pipeline, stage)
        code = self._stage_codes.get(key)
        if code is None:
            code = self._stage_codes[key] = len(self._stages)
            self._stages.append(key)
        if actor is None:
            who = _NONE
        else:
            who = self._actor_codes.get(actor, _NONE)
            if who == _NONE:
                who = self._actor_codes[actor] = len(self._actors)
                self._actors.append(actor)
        self._previous.append(self._last[row])
        self._last[row] = len(self._kind)
        moment, micros = self._moment
        if at is not moment:
            micros = _micros(at)
            self._moment = (at, micros)
        self._kind.append(kind)
        self._stage.append(code)
        self._micros.append(micros)
        self._actor.append(who)
        self._probability.append(math.nan if probability is None else probability)

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
        while index != _NONE and self._kind[index] != _ENTER:
            index = self._previous[index]
        return None if index == _NONE else _time(self._micros[index])

    def _last_index(self, deal_id: UUID) -> int:
        row = self._deal_rows.get(deal_id.int)
        return _NONE if row is None else self._last[row]

    def _actor_of(self, code: int) -> UserId | None:
        return None if code == _NONE else self._actors[code]

    def _visits(self, deal_id: UUID, indexes: Iterable[int]) -> Iterator[StageVisit]:
        current: StageVisit | None = None
        for index in indexes:
            at = _time(self._micros[index])
            actor = self._actor_of(self._actor[index])
            probability = self._probability[index]
            if self._kind[index] == _OVERRIDE:
                if current is not None:
                    current = attrs.evolve(
                        current, override=probability, override_by=actor
                    )
                continue
            if current is not None:
                yield attrs.evolve(current, exited_at=at, exited_by=actor)
            pipeline, stage = self._stages[self._stage[index]]
            current = StageVisit(
                deal_id=deal_id,
                pipeline=pipeline,
                stage=stage,
                entered_at=at,
                entered_by=actor,
                probability=None if math.isnan(probability) else probability,
            )
        if current is not None:
            yield current
