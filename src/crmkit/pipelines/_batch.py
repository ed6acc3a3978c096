"""
The batch path: many entities moved at once on numpy arrays of state codes.

A `TransitionTable` is compiled once from a `Lifecycle` (or a `DealPipeline`): a
``states x transitions`` array of target codes. Applying a batch is a few array
operations, guards included (evaluated on columns of field values), and the result
is itself the record of what moved: no object is made per entity.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any, Final

import attrs
import numpy as np
import numpy.typing as npt

from crmkit.errors import ValidationError
from crmkit.pipelines._deals import DealPipeline
from crmkit.pipelines._engine import utc
from crmkit.pipelines._guards import (
    ApprovalPresent,
    FieldCondition,
    Guard,
    RequiredFields,
)
from crmkit.pipelines._lifecycle import Lifecycle, Transition

__all__ = ["BatchHistory", "BatchMoves", "TransitionTable"]

Codes = npt.NDArray[np.int16]
Mask = npt.NDArray[np.bool_]
NO_MOVE: Final = -1
_ALLOWED: Final = 0
_NO_TRANSITION: Final = 1
_GUARD_FAILED: Final = 2
_NO_REASON: Final = 3
_EPOCH: Final = datetime(1970, 1, 1, tzinfo=UTC)
_COMPARE: Final = {
    "eq": np.equal,
    "ne": np.not_equal,
    "lt": np.less,
    "le": np.less_equal,
    "gt": np.greater,
    "ge": np.greater_equal,
}


@attrs.frozen(kw_only=True)
class BatchMoves:
    """
    The outcome of a batch: new state codes, which rows moved, and why others did not.

    Attributes:
        source: The state codes before the batch.
        target: The state codes after it (unchanged where the move was refused).
        moved: True where the row moved.
        reason: 0 moved, 1 no such transition from the row's state, 2 a guard
            failed, 3 a lost stage without a listed ``lost_reason``.
        failed_guard: For reason 2, the failed guard's index in its transition.
        transitions: The transition codes asked for.
        at: When the batch was applied.

    .. versionadded:: 0.1
    """

    table: TransitionTable
    source: Codes
    target: Codes
    moved: Mask
    reason: npt.NDArray[np.int8]
    failed_guard: Codes
    transitions: Codes
    at: datetime

    @property
    def refused(self) -> npt.NDArray[np.intp]:
        """The rows whose move was refused."""
        return np.flatnonzero(~self.moved)

    def explain(self, row: int) -> str | None:
        """Why row ``row`` did not move, in words (`None` if it moved)."""
        reason = int(self.reason[row])
        if reason == _ALLOWED:
            return None
        state = self.table.states[self.source[row]]
        name = self.table.transitions[self.transitions[row]]
        if reason == _NO_TRANSITION:
            return f"no transition {name!r} from {state!r}"
        if reason == _NO_REASON:
            listed = ", ".join(self.table.lost_reasons) or "any text"
            return f"{name!r} from {state!r}: a lost deal needs a reason ({listed})"
        found = self.table.lifecycle.find(state, name)
        assert found is not None  # noqa: S101 - a guard failed, so it exists
        guard = found.guards[int(self.failed_guard[row])]
        return f"{name!r} from {state!r} to {found.target!r}: {_describe(guard)}"


def _describe(guard: Guard) -> str:
    if isinstance(guard, RequiredFields):
        return f"required fields {', '.join(guard.fields)} must be set"
    if isinstance(guard, FieldCondition):
        return f"{guard.path} {guard.operator} {guard.value!r} failed"
    if isinstance(guard, ApprovalPresent):
        return f"approval {guard.approval!r} is missing"
    return repr(guard)  # pragma: no cover - the three guard kinds above


@attrs.frozen
class TransitionTable:
    """
    A lifecycle compiled to arrays, to move many entities at once.

    Build it with `from_lifecycle` or `from_pipeline`.

    .. versionadded:: 0.1
    """

    lifecycle: Lifecycle
    states: tuple[str, ...]
    transitions: tuple[str, ...]
    targets: Codes = attrs.field(eq=False, repr=False)
    guard_ids: Codes = attrs.field(eq=False, repr=False)
    guarded: tuple[Transition, ...] = attrs.field(repr=False)
    probabilities: npt.NDArray[np.float64] = attrs.field(eq=False, repr=False)
    lost: tuple[int, ...] = ()
    lost_reasons: tuple[str, ...] = ()

    @classmethod
    def from_lifecycle(
        cls,
        lifecycle: Lifecycle,
        *,
        probabilities: Mapping[str, float] | None = None,
    ) -> TransitionTable:
        """Compile a lifecycle; ``probabilities`` gives each state's, if any."""
        states = tuple(state.name for state in lifecycle.states)
        names = tuple(dict.fromkeys(t.name for t in lifecycle.transitions))
        state_code = {name: code for code, name in enumerate(states)}
        transition_code = {name: code for code, name in enumerate(names)}
        targets = np.full((len(states), len(names)), NO_MOVE, dtype=np.int16)
        guard_ids = np.full((len(states), len(names)), NO_MOVE, dtype=np.int16)
        guarded: list[Transition] = []
        for transition in lifecycle.transitions:
            guard_id = NO_MOVE
            if transition.guards:
                guard_id = len(guarded)
                guarded.append(transition)
            for source in transition.sources:
                row, column = state_code[source], transition_code[transition.name]
                targets[row, column] = state_code[transition.target]
                guard_ids[row, column] = guard_id
        odds = np.array(
            [(probabilities or {}).get(name, np.nan) for name in states],
            dtype=np.float64,
        )
        return cls(lifecycle, states, names, targets, guard_ids, tuple(guarded), odds)

    @classmethod
    def from_pipeline(cls, pipeline: DealPipeline) -> TransitionTable:
        """Compile a deal pipeline: transitions are named after their target stage."""
        odds = {stage.name: stage.probability for stage in pipeline.stages}
        table = cls.from_lifecycle(pipeline.lifecycle, probabilities=odds)
        lost = pipeline.lost_stage
        if lost is None:
            return table
        return attrs.evolve(
            table,
            lost=(table.states.index(lost.name),),
            lost_reasons=pipeline.lost_reasons,
        )

    def state_codes(self, names: Sequence[str]) -> Codes:
        """
        The codes of state names, as an array.

        Raises:
            ValidationError: A name that is not a state.
        """
        index = {name: code for code, name in enumerate(self.states)}
        try:
            return np.fromiter(
                (index[n] for n in names), dtype=np.int16, count=len(names)
            )
        except KeyError as error:
            raise ValidationError.single(
                "states",
                error.args[0],
                "state.unknown",
                f"not a state of {self.lifecycle.name!r}",
            ) from None

    def transition_code(self, name: str) -> int:
        """
        The code of a transition name.

        Raises:
            ValidationError: No transition has that name.
        """
        try:
            return self.transitions.index(name)
        except ValueError:
            raise ValidationError.single(
                "transition",
                name,
                "transition.unknown",
                f"not a transition of {self.lifecycle.name!r}",
            ) from None

    def apply(
        self,
        states: Codes,
        transitions: Codes | int,
        *,
        at: datetime,
        columns: Mapping[str, npt.NDArray[Any]] | None = None,
        approvals: Mapping[str, Mask] | None = None,
    ) -> BatchMoves:
        """
        Move every row of ``states`` by its transition (or one for all rows).

        Guards are evaluated on ``columns`` (one array of field values per field a
        guard reads, row-aligned; `None` or NaN is "not set") and on ``approvals``
        (one boolean array per approval name).

        Raises:
            ValidationError: A naive ``at``, out-of-range codes, or a column a guard
                needs that was not given.
        """
        at = utc(at)
        states = np.asarray(states, dtype=np.int16)
        moves = np.broadcast_to(np.asarray(transitions, dtype=np.int16), states.shape)
        _check_codes(states, len(self.states), "states")
        _check_codes(moves, len(self.transitions), "transitions")
        target = self.targets[states, moves]
        reason = np.where(target == NO_MOVE, _NO_TRANSITION, _ALLOWED).astype(np.int8)
        failed = np.full(states.shape, NO_MOVE, dtype=np.int16)
        if self.guarded:
            guard_ids = self.guard_ids[states, moves]
            for guard_id in np.unique(guard_ids[guard_ids != NO_MOVE]):
                rows = np.flatnonzero(guard_ids == guard_id)
                for number, guard in enumerate(self.guarded[guard_id].guards):
                    held = _holds(guard, rows, columns or {}, approvals or {})
                    bad = rows[~held & (reason[rows] == _ALLOWED)]
                    reason[bad] = _GUARD_FAILED
                    failed[bad] = number
        if self.lost:
            self._check_lost_reasons(target, reason, columns or {})
        moved = reason == _ALLOWED
        return BatchMoves(
            table=self,
            source=states,
            target=np.where(moved, target, states).astype(np.int16),
            moved=moved,
            reason=reason,
            failed_guard=failed,
            transitions=np.ascontiguousarray(moves),
            at=at,
        )

    def _check_lost_reasons(
        self,
        target: Codes,
        reason: npt.NDArray[np.int8],
        columns: Mapping[str, npt.NDArray[Any]],
    ) -> None:
        rows = np.flatnonzero(np.isin(target, self.lost) & (reason == _ALLOWED))
        if not rows.size:
            return
        given = columns.get("lost_reason")
        if given is None:
            reason[rows] = _NO_REASON
            return
        values = np.asarray(given)[rows]
        ok = _is_set(values)
        if self.lost_reasons:
            ok &= np.isin(values, self.lost_reasons)
        reason[rows[~ok]] = _NO_REASON


def _check_codes(codes: Codes, size: int, path: str) -> None:
    if codes.size and (codes.min() < 0 or codes.max() >= size):
        bad = codes[(codes < 0) | (codes >= size)][0]
        raise ValidationError.single(
            path, int(bad), "code.range", f"codes are 0..{size - 1}"
        )


def _column(
    columns: Mapping[str, npt.NDArray[Any]], name: str, rows: npt.NDArray[np.intp]
) -> npt.NDArray[Any]:
    if name not in columns:
        raise ValidationError.single(
            "columns",
            name,
            "column.missing",
            "a guard reads this field; pass its column",
        )
    return np.asarray(columns[name])[rows]


def _is_set(values: npt.NDArray[Any]) -> Mask:
    if values.dtype.kind == "f":
        filled: Mask = ~np.isnan(values)
        return filled
    if values.dtype.kind in "OUS":
        return np.array(
            [v is not None and v != "" for v in values.tolist()], dtype=bool
        )
    return np.ones(values.shape, dtype=bool)


def _holds(
    guard: Guard,
    rows: npt.NDArray[np.intp],
    columns: Mapping[str, npt.NDArray[Any]],
    approvals: Mapping[str, Mask],
) -> Mask:
    if isinstance(guard, RequiredFields):
        held = np.ones(rows.shape, dtype=bool)
        for name in guard.fields:
            held &= _is_set(_column(columns, name, rows))
        return held
    if isinstance(guard, ApprovalPresent):
        given = approvals.get(guard.approval)
        if given is None:
            return np.zeros(rows.shape, dtype=bool)
        return np.asarray(given, dtype=bool)[rows]
    assert isinstance(guard, FieldCondition)  # noqa: S101 - the three kinds
    values = _column(columns, guard.path, rows)
    present = _is_set(values)
    if guard.operator in {"in", "not_in"}:
        inside = present & np.isin(values, list(guard.value))
        return inside if guard.operator == "in" else ~inside
    compared = np.zeros(rows.shape, dtype=bool)
    compared[present] = _COMPARE[guard.operator](values[present], guard.value)
    if guard.operator == "ne":
        compared |= ~present
    return compared


class BatchHistory:
    """
    The stage history of a batch of entities, in arrays: who moved where and when.

    Entities are rows ``0..size-1``; `record` appends what a `BatchMoves` moved.

    .. versionadded:: 0.1
    """

    def __init__(self, size: int) -> None:
        """Start an empty history for ``size`` entities."""
        self._chunks: list[tuple[npt.NDArray[np.int64], Codes, Codes, int]] = []
        self.entered_at = np.full(size, np.iinfo(np.int64).min, dtype=np.int64)
        """When each entity entered its current state, in microseconds since 1970."""

    def __len__(self) -> int:
        """The number of moves recorded."""
        return sum(len(chunk[0]) for chunk in self._chunks)

    def start(self, states: Codes, *, at: datetime) -> None:
        """Record that every entity entered its state in ``states`` at ``at``."""
        rows = np.arange(len(states), dtype=np.int64)
        blank = np.full(len(states), NO_MOVE, dtype=np.int16)
        self._append(rows, blank, np.asarray(states, dtype=np.int16), utc(at))

    def record(
        self, moves: BatchMoves, rows: npt.NDArray[np.int64] | None = None
    ) -> None:
        """Append the rows that moved; ``rows`` maps batch rows to entity rows."""
        moved = np.flatnonzero(moves.moved)
        entities = moved if rows is None else np.asarray(rows)[moved]
        self._append(entities, moves.source[moved], moves.target[moved], moves.at)

    def _append(
        self, rows: npt.NDArray[Any], source: Codes, target: Codes, at: datetime
    ) -> None:
        micros = (at - _EPOCH) // timedelta(microseconds=1)
        self._chunks.append((rows.astype(np.int64), source, target, micros))
        self.entered_at[rows] = micros

    def arrays(
        self,
    ) -> tuple[npt.NDArray[np.int64], Codes, Codes, npt.NDArray[np.int64]]:
        """Every move, oldest first: (entity row, source, target, microseconds)."""
        if not self._chunks:
            empty = np.zeros(0, dtype=np.int16)
            return (
                np.zeros(0, dtype=np.int64),
                empty,
                empty,
                np.zeros(0, dtype=np.int64),
            )
        rows = np.concatenate([chunk[0] for chunk in self._chunks])
        source = np.concatenate([chunk[1] for chunk in self._chunks])
        target = np.concatenate([chunk[2] for chunk in self._chunks])
        times = np.concatenate(
            [np.full(len(chunk[0]), chunk[3], dtype=np.int64) for chunk in self._chunks]
        )
        return rows, source, target, times
