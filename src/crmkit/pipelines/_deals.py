"""
Deal pipelines: ordered stages with a win probability, and the moves of a deal.

A `DealPipeline` is data (several per business: one per team or product line).
Its operations are pure: they take a `crmkit.model.Deal` and the time, and return
the moved deal with its events. Lost is a stage (``lost_mode="stage"``) or a status
beside the stage (``lost_mode="status"``, as Odoo does).
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any, Final
from uuid import UUID

import attrs

from crmkit._gc import cyclic_gc_paused
from crmkit.errors import (
    FieldError,
    InvalidDefinition,
    TransitionNotAllowed,
    ValidationError,
)
from crmkit.ids import UserId, new_id, new_ids
from crmkit.model import Deal, DealStatus, ForecastCategory
from crmkit.model._fields import field_errors
from crmkit.pipelines._engine import (
    Moved,
    StateChanged,
    check_order,
    compile_function,
    events_of_move,
    evolve_trusted,
    find_allowed,
    refuse,
    trusted_copier,
    trusted_maker,
    utc,
    write_lines,
)
from crmkit.pipelines._lifecycle import Lifecycle
from crmkit.pipelines._stages import (
    LostMode,
    Stage,
    StageOutcome,
    check_stages,
    choice_of,
    compile_stages,
)
from crmkit.values import Probability

__all__ = ["DealPipeline", "DealStatusChanged", "ProbabilityOverridden"]

_NO_APPROVALS: Final[frozenset[str]] = frozenset()


def _tuple(value: Any) -> tuple[Any, ...]:
    return (value,) if isinstance(value, str) else tuple(value)


def _items(value: Any) -> tuple[Any, ...]:
    return tuple(value)


def _lost_mode(value: Any) -> LostMode:
    return choice_of(LostMode, "lost_mode", value)


_PlainMove = Callable[[Deal, datetime, UserId | None, str | None], Moved[Deal]]
# A plain move and the reasons it takes as given: None, or the lost reasons.
_Plan = tuple[_PlainMove, tuple[str | None, ...]]


@attrs.frozen(kw_only=True)
class DealStatusChanged:
    """
    Domain event: a deal was won, lost or restored.

    .. versionadded:: 0.1
    """

    entity_id: Any
    pipeline: str
    stage: str
    old: DealStatus
    new: DealStatus
    reason: str | None
    at: datetime
    actor: UserId | None


@attrs.frozen(kw_only=True)
class ProbabilityOverridden:
    """
    Domain event: an owner set a deal's probability instead of its stage's.

    .. versionadded:: 0.1
    """

    entity_id: Any
    pipeline: str
    stage: str
    stage_probability: float
    old: float | None
    new: float
    at: datetime
    actor: UserId | None


@attrs.frozen
class DealPipeline:
    """
    A deal pipeline: ordered stages, the moves between them, and the lost reasons.

    Checked when built; `InvalidDefinition` names the path, such as
    ``"stages[2].probability"``.

    .. versionadded:: 0.1
    """

    name: str
    stages: tuple[Stage, ...] = attrs.field(converter=_items)
    lost_reasons: tuple[str, ...] = attrs.field(default=(), converter=_tuple)
    lost_mode: LostMode = attrs.field(default=LostMode.STAGE, converter=_lost_mode)
    allow_backward: bool = True
    allow_skip: bool = True
    description: str = ""
    lifecycle: Lifecycle = attrs.field(init=False, repr=False, eq=False)
    _by_name: Mapping[str, Stage] = attrs.field(
        init=False, repr=False, eq=False, alias="_by_name"
    )
    _probabilities: Mapping[str, Probability] = attrs.field(
        init=False, repr=False, eq=False, alias="_probabilities"
    )
    _plans: Mapping[tuple[str, str], _Plan] = attrs.field(
        init=False, repr=False, eq=False, alias="_plans"
    )
    _template: Deal = attrs.field(init=False, repr=False, eq=False, alias="_template")
    _won: Stage = attrs.field(init=False, repr=False, eq=False, alias="_won")
    _lost: Stage | None = attrs.field(init=False, repr=False, eq=False, alias="_lost")

    def __attrs_post_init__(self) -> None:
        check_stages(self)
        by_name = {stage.name: stage for stage in self.stages}
        object.__setattr__(self, "_by_name", by_name)
        object.__setattr__(
            self,
            "_probabilities",
            {stage.name: Probability(stage.probability) for stage in self.stages},
        )
        try:
            lifecycle = compile_stages(self)
        except InvalidDefinition as error:
            raise InvalidDefinition(
                error.path.replace("states", "stages", 1), error.reason
            ) from None
        object.__setattr__(self, "lifecycle", lifecycle)
        object.__setattr__(self, "_plans", self._plain_moves())
        first = self.stages[0]
        template = Deal.create(
            at=_EPOCH,
            name=self.name,
            pipeline=self.name,
            stage=first.name,
            probability=self._probabilities[first.name],
            forecast_category=first.forecast_category,
        )
        object.__setattr__(self, "_template", template)
        outcomes = {stage.outcome: stage for stage in reversed(self.stages)}
        object.__setattr__(self, "_won", outcomes[StageOutcome.WON])
        object.__setattr__(self, "_lost", outcomes.get(StageOutcome.LOST))

    def __reduce__(self) -> tuple[Any, ...]:
        """Pickle the definition alone: what is derived from it is built again."""
        fields = attrs.fields(type(self))
        return type(self), tuple(getattr(self, f.name) for f in fields if f.init)

    def _plain_moves(self) -> dict[tuple[str, str], _Plan]:
        """
        The moves that need no check beyond being allowed, ready to apply.

        A move is plain when its transition has no guard and neither stage raises
        effects; `move` applies those at once (a lost one when its reason is, as
        given, one of the list), and goes through every check for the others.
        """
        plans: dict[tuple[str, str], _Plan] = {}
        steps: dict[str, _PlainMove] = {}
        for transition in self.lifecycle.transitions:
            target = self._by_name[transition.target]
            if transition.guards:
                continue
            reasons = (
                self.lost_reasons if target.outcome is StageOutcome.LOST else (None,)
            )
            for source in transition.sources:
                if self.lifecycle.quiet(source, target.name):
                    if target.name not in steps:
                        steps[target.name] = self._plain_move(target)
                    plans[source, transition.name] = (steps[target.name], reasons)
        return plans

    def _plain_move(self, target: Stage) -> _PlainMove:
        """
        Generate ``plain_move(deal, at, actor, reason)``: a plain move to ``target``.

        It makes what `_moved` makes once every check has passed (the moved deal,
        its `StateChanged` event, and a `DealStatusChanged` event when the status
        changes), with the target's values as constants and no lookup.
        """
        status = _STATUS[target.outcome]
        env: dict[str, Any] = {
            "Moved": Moved,
            "new_tuple": tuple.__new__,
            "status_changed": _MAKE_STATUS_CHANGED,
            "ENTITY_TYPE": Deal.entity_type,
            "PIPELINE": self.name,
            "STAGE": target.name,
            "PROBABILITY": self._probabilities[target.name],
            "CATEGORY": target.forecast_category,
            "STATUS": status,
            "SNAPSHOT": target.probability,
        }
        changes = {
            "stage": "STAGE",
            "probability": "PROBABILITY",
            "forecast_category": "CATEGORY",
            "status": "STATUS",
            "closed_at": "None" if status is DealStatus.OPEN else "at",
            "lost_reason": "reason",
            "version": "version",
            "updated_at": "at",
        }
        deal = [(name, changes.get(name, f"deal.{name}")) for name in _DEAL_FIELDS]
        event = [
            ("entity_type", "ENTITY_TYPE"),
            ("entity_id", "deal.id"),
            ("lifecycle", "PIPELINE"),
            ("transition", "STAGE"),
            ("source", "deal.stage"),
            ("target", "STAGE"),
            ("version", "version"),
            ("at", "at"),
            ("actor", "actor"),
            ("probability", "SNAPSHOT"),
        ]
        body = [
            "    version = deal.version + 1",
            *write_lines("moved", Deal, deal, env),
            *write_lines("changed", StateChanged, event, env),
            "    if deal.status is STATUS:",
            "        return new_tuple(Moved, (moved, (changed,)))",
            "    status = status_changed(",
            "        deal.id, PIPELINE, STAGE, deal.status, STATUS, reason, at, actor",
            "    )",
            "    return new_tuple(Moved, (moved, (changed, status)))",
        ]
        params = ("deal", "at", "actor", "reason")
        return compile_function("plain_move", params, body, env)

    @property
    def first_stage(self) -> Stage:
        """The stage new deals start in."""
        return self.stages[0]

    @property
    def won_stage(self) -> Stage:
        """The first won stage."""
        return self._won

    @property
    def lost_stage(self) -> Stage | None:
        """The lost stage (`None` when lost is a status)."""
        return self._lost

    @property
    def open_stages(self) -> tuple[Stage, ...]:
        """The stages where a deal is still being worked, in order."""
        return tuple(s for s in self.stages if s.outcome is StageOutcome.OPEN)

    def stage(self, name: str) -> Stage:
        """
        The stage called ``name``.

        Raises:
            InvalidDefinition: The pipeline has no such stage.
        """
        try:
            return self._by_name[name]
        except KeyError:
            known = ", ".join(self._by_name)
            raise InvalidDefinition(
                "stage", f"no stage {name!r} in pipeline {self.name!r} ({known})"
            ) from None

    def open(
        self,
        *,
        at: datetime,
        actor: UserId | None = None,
        **fields: Any,
    ) -> Moved[Deal]:
        """
        Create a deal at the first stage, with that stage's probability and category.

        Raises:
            ValidationError: A bad field, a field the pipeline sets (pipeline,
                stage, probability, forecast category, status), or a naive ``at``.
        """
        managed = sorted(fields.keys() & _MANAGED)
        if managed:
            raise ValidationError(
                FieldError(name, fields[name], "read_only", "is set by the pipeline")
                for name in managed
            )
        first = self.stages[0]
        if fields.keys() <= _OPENABLE and _REQUIRED <= fields.keys():
            deal = self._new_deal(at, fields)
        else:  # Deal.create names every unknown, read-only or missing field
            deal = Deal.create(
                at=at,
                pipeline=self.name,
                stage=first.name,
                probability=self._probabilities[first.name],
                forecast_category=first.forecast_category,
                **fields,
            )
        event = self._opened(deal.id, deal.created_at, actor)
        return _new_moved(deal, (event,))

    def open_many(
        self,
        *,
        at: datetime,
        actor: UserId | None = None,
        **columns: Sequence[Any],
    ) -> list[Moved[Deal]]:
        """
        Create many deals at once, from columns: one value per deal for each field.

        ``open_many(at=..., name=names, amount=amounts)`` does what `open` does for
        each row, with the same checks: each column's values are converted and
        checked (once per distinct value object), then each deal's cross-field
        rules. Columns are lists, tuples, arrays or any other sequences of one
        length; the paths of errors name the column and row (``name[3]``). The
        cyclic garbage collector is paused while the deals are built (they hold
        no cycles), as bulk loaders do.

        Raises:
            ValidationError: Every bad value, a column of another length, a field
                that is unknown or set by the pipeline, or a naive ``at``.
        """
        at = utc(at)
        lengths = {
            name: _column_length(name, column) for name, column in columns.items()
        }
        if not columns.keys() <= _OPENABLE or not _REQUIRED <= columns.keys():
            # One deal's errors name every unknown, read-only or missing field.
            self.open(at=at, actor=actor, **dict.fromkeys(columns))
        sizes = set(lengths.values())
        if len(sizes) > 1:
            raise ValidationError(
                FieldError(
                    name, size, "column.length", f"has {size} values, not {min(sizes)}"
                )
                for name, size in lengths.items()
                if size != min(sizes)
            )
        values = [_checked_column(name, column) for name, column in columns.items()]
        copy = trusted_copier(Deal, (*_STAMPS, *columns))
        ids = new_ids(at, min(sizes))
        with cyclic_gc_paused():
            opened, errors = self._open_rows(at, actor, copy, ids, values)
        if errors:
            raise ValidationError(errors)
        return opened

    def _opened(
        self, deal_id: UUID, at: datetime, actor: UserId | None
    ) -> StateChanged:
        """The event of a new deal entering the first stage (at version 1)."""
        first = self.stages[0]
        return _MAKE_STATE_CHANGED(  # type: ignore[no-any-return]
            Deal.entity_type,
            deal_id,
            self.name,
            "open",
            None,
            first.name,
            1,
            at,
            actor,
            first.probability,
        )

    def _open_rows(
        self,
        at: datetime,
        actor: UserId | None,
        copy: Callable[..., Deal],
        ids: Sequence[UUID],
        values: Sequence[Sequence[Any]],
    ) -> tuple[list[Moved[Deal]], list[FieldError]]:
        """Each row's deal and its opening event, or the row's errors."""
        template = self._template
        opened = []
        errors: list[FieldError] = []
        for row, row_values in enumerate(zip(*values, strict=True)):
            deal: Deal = copy(template, ids[row], at, at, *row_values)
            broken = list(deal._invariants())  # noqa: SLF001 - Deal's own cross-field rules
            if broken:
                errors += (attrs.evolve(e, path=f"{e.path}[{row}]") for e in broken)
                continue
            event = self._opened(deal.id, at, actor)
            opened.append(_new_moved(deal, (event,)))
        return opened, errors

    def _new_deal(self, at: datetime, fields: Mapping[str, Any]) -> Deal:
        """
        What `Deal.create` does, from this pipeline's template of a new deal.

        The template holds the pipeline's fields and every default, converted and
        checked once; each given field goes through its converter, then the
        deal's own checks run (`Checked.__attrs_post_init__`), as in ``Deal()``.
        """
        at = utc(at)
        copy = trusted_copier(Deal, (*_STAMPS, *fields))
        deal: Deal = copy(
            self._template,
            new_id(at),
            at,
            at,
            *(
                value if name not in _CONVERTERS else _CONVERTERS[name](value)
                for name, value in fields.items()
            ),
        )
        deal.__attrs_post_init__()
        return deal

    def move(
        self,
        deal: Deal,
        to: str,
        *,
        at: datetime,
        actor: UserId | None = None,
        approvals: Collection[str] = _NO_APPROVALS,
        reason: str | None = None,
    ) -> Moved[Deal]:
        """
        Move ``deal`` to stage ``to``: won and lost stages close it, others reopen it.

        The deal takes the new stage's probability and forecast category (an
        owner's override ends with the stage it was made in).

        Raises:
            TransitionNotAllowed: An unknown stage, a move the pipeline forbids, a
                failed requirement, or a lost stage without a valid reason.
            ValidationError: ``at`` is naive or before the deal's last update.
        """
        plan = self._plans.get((deal.stage, to))
        if plan is None:
            return self._checked_move(deal, to, at, actor, approvals, reason)
        plain_move, reasons = plan
        if (
            reason not in reasons
            or at.__class__ is not datetime
            or at.tzinfo is not UTC
            or deal.__class__ is not Deal
            or deal.pipeline != self.name
            or at < deal.updated_at
            or (deal.status is not _OPEN and self._lost is None)
        ):
            return self._checked_move(deal, to, at, actor, approvals, reason)
        # A plain move (see _plain_moves) whose every check has just passed.
        return plain_move(deal, at, actor, reason)

    def _checked_move(  # noqa: PLR0917 - move's own arguments
        self,
        deal: Deal,
        to: str,
        at: datetime,
        actor: UserId | None,
        approvals: Collection[str],
        reason: str | None,
    ) -> Moved[Deal]:
        """Check everything about a move, then apply it."""
        at = utc(at)
        self._check_deal(deal, to)
        check_order(deal, at)
        if to not in self._by_name:
            known = ", ".join(self._by_name)
            raise refuse(
                deal, deal.stage, to, f"no stage {to!r} in {self.name!r} ({known})", to
            )
        if deal.status is not DealStatus.OPEN and self.lost_mode is LostMode.STATUS:
            raise refuse(
                deal, deal.stage, to, f"the deal is {deal.status}; restore it first", to
            )
        target = self._by_name[to]
        find_allowed(self.lifecycle, deal, to, approvals)
        reason = self._lost_reason(deal, target, reason)
        return self._moved(deal, target, at=at, actor=actor, reason=reason)

    def win(
        self,
        deal: Deal,
        *,
        at: datetime,
        actor: UserId | None = None,
        approvals: Collection[str] = _NO_APPROVALS,
    ) -> Moved[Deal]:
        """Move the deal to the won stage (see `move`)."""
        return self.move(
            deal, self.won_stage.name, at=at, actor=actor, approvals=approvals
        )

    def lose(
        self,
        deal: Deal,
        reason: str | None,
        *,
        at: datetime,
        actor: UserId | None = None,
    ) -> Moved[Deal]:
        """
        Mark the deal lost for ``reason``, which must be one of `lost_reasons`.

        With ``lost_mode="stage"`` the deal moves to the lost stage; with
        ``"status"`` it keeps its stage and its status becomes lost.

        Raises:
            TransitionNotAllowed: No reason, a reason not in the list, or a deal
                that is not open.
        """
        lost = self.lost_stage
        if lost is not None:
            return self.move(deal, lost.name, at=at, actor=actor, reason=reason)
        at = utc(at)
        self._check_deal(deal, "lose")
        check_order(deal, at)
        if deal.status is not DealStatus.OPEN:
            raise refuse(deal, deal.stage, "lose", f"the deal is {deal.status}", None)
        checked = self._lost_reason(deal, None, reason)
        changes = {
            "status": DealStatus.LOST,
            "probability": Probability(0.0),
            "forecast_category": ForecastCategory.OMITTED,
            "closed_at": at,
            "lost_reason": checked,
            "version": deal.version + 1,
            "updated_at": at,
        }
        moved = evolve_trusted(deal, changes)
        return Moved(moved, (self._status_event(deal, moved, at, actor),))

    def restore(
        self,
        deal: Deal,
        *,
        at: datetime,
        actor: UserId | None = None,
        to: str | None = None,
    ) -> Moved[Deal]:
        """
        Reopen a lost deal and clear its lost reason.

        In stage mode it goes to stage ``to`` (default: the first stage); in
        status mode it stays at its stage, then moves to ``to`` if one is given.

        Raises:
            TransitionNotAllowed: The deal is not lost, or ``to`` is not allowed.
        """
        if deal.status is not DealStatus.LOST:
            raise refuse(
                deal, deal.stage, "restore", f"the deal is {deal.status}, not lost", to
            )
        if self.lost_stage is not None:
            return self.move(deal, to or self.first_stage.name, at=at, actor=actor)
        at = utc(at)
        self._check_deal(deal, "restore")
        check_order(deal, at)
        stage = self._by_name[deal.stage]
        changes = {
            "status": DealStatus.OPEN,
            "probability": self._probabilities[stage.name],
            "forecast_category": stage.forecast_category,
            "closed_at": None,
            "lost_reason": None,
            "version": deal.version + 1,
            "updated_at": at,
        }
        restored = evolve_trusted(deal, changes)
        events = (self._status_event(deal, restored, at, actor),)
        if to is None or to == deal.stage:
            return Moved(restored, events)
        moved = self.move(restored, to, at=at, actor=actor)
        return Moved(moved.entity, events + moved.events)

    def override_probability(
        self,
        deal: Deal,
        probability: float | Probability,
        *,
        at: datetime,
        actor: UserId | None = None,
    ) -> Moved[Deal]:
        """
        Set an owner's probability on an open deal, tracked by an event.

        The override holds until the deal changes stage; the stage's own
        probability and every earlier history entry stay as they were.

        Raises:
            ValidationError: A probability outside [0, 1], or a bad ``at``.
            TransitionNotAllowed: The deal is closed.
        """
        at = utc(at)
        self._check_deal(deal, "override probability")
        check_order(deal, at)
        if deal.status is not DealStatus.OPEN:
            raise refuse(
                deal,
                deal.stage,
                "override probability",
                f"the deal is {deal.status}",
                None,
            )
        value = (
            probability
            if isinstance(probability, Probability)
            else Probability(probability)
        )
        moved = evolve_trusted(
            deal,
            {"probability": value, "version": deal.version + 1, "updated_at": at},
        )
        event = ProbabilityOverridden(
            entity_id=deal.id,
            pipeline=self.name,
            stage=deal.stage,
            stage_probability=self._by_name[deal.stage].probability,
            old=None if deal.probability is None else deal.probability.value,
            new=value.value,
            at=at,
            actor=actor,
        )
        return Moved(moved, (event,))

    def is_rotting(self, deal: Deal, *, at: datetime, entered_at: datetime) -> bool:
        """
        True when an open deal has sat in its stage longer than the stage allows.

        ``entered_at`` is when it entered the stage (`StageHistory.entered_at`).
        """
        at = utc(at)
        days = self.stage(deal.stage).rotting_days
        if days is None or deal.status is not DealStatus.OPEN:
            return False
        return at - utc(entered_at) > timedelta(days=days)

    def _check_deal(self, deal: Deal, event: str) -> None:
        if deal.pipeline != self.name:
            raise TransitionNotAllowed(
                deal.id,
                deal.stage,
                event,
                f"the deal is in pipeline {deal.pipeline!r}, not {self.name!r}",
            )

    def _lost_reason(
        self, deal: Deal, target: Stage | None, reason: str | None
    ) -> str | None:
        if target is not None and target.outcome is not StageOutcome.LOST:
            if reason is not None:
                raise ValidationError.single(
                    "reason", reason, "deal.not_lost", "only a lost deal has a reason"
                )
            return None
        event = "lose" if target is None else target.name
        to = None if target is None else target.name
        cleaned = reason.strip() if isinstance(reason, str) else None
        if not cleaned:
            wanted = (
                f" (one of: {', '.join(self.lost_reasons)})"
                if self.lost_reasons
                else ""
            )
            raise refuse(
                deal, deal.stage, event, f"a lost deal needs a reason{wanted}", to
            )
        if self.lost_reasons and cleaned not in self.lost_reasons:
            raise refuse(
                deal,
                deal.stage,
                event,
                f"lost reason {cleaned!r} is not one of: "
                + ", ".join(self.lost_reasons),
                to,
            )
        return cleaned

    def _moved(
        self,
        deal: Deal,
        target: Stage,
        *,
        at: datetime,
        actor: UserId | None,
        reason: str | None,
    ) -> Moved[Deal]:
        status = _STATUS[target.outcome]
        moved: Deal = _COPY_MOVE(
            deal,
            target.name,
            self._probabilities[target.name],
            target.forecast_category,
            status,
            None if status is DealStatus.OPEN else at,
            reason,
            deal.version + 1,
            at,
        )
        events = events_of_move(
            self.lifecycle,
            moved,
            target.name,
            deal.stage,
            at=at,
            actor=actor,
            probability=target.probability,
        )
        if status is not deal.status:
            events = (*events, self._status_event(deal, moved, at, actor))
        return Moved(moved, events)

    def _status_event(
        self, old: Deal, new: Deal, at: datetime, actor: UserId | None
    ) -> DealStatusChanged:
        return DealStatusChanged(
            entity_id=new.id,
            pipeline=self.name,
            stage=new.stage,
            old=old.status,
            new=new.status,
            reason=new.lost_reason,
            at=at,
            actor=actor,
        )


_MANAGED: Final = frozenset(
    {"pipeline", "stage", "probability", "forecast_category", "status"}
)
_OPEN: Final = DealStatus.OPEN  # enum members cost a lookup each time on 3.11
_STAMPS: Final = ("id", "created_at", "updated_at")
_OPENABLE: Final = frozenset(attrs.fields_dict(Deal)) - _MANAGED - {*_STAMPS, "version"}
_REQUIRED: Final = frozenset(
    f.name
    for f in attrs.fields(Deal)
    if f.default is attrs.NOTHING and f.name not in _MANAGED | {*_STAMPS}
)
_CONVERTERS: Final[Mapping[str, Any]] = {
    f.name: f.converter for f in attrs.fields(Deal) if f.converter is not None
}
_EPOCH: Final = datetime(1970, 1, 1, tzinfo=UTC)
_MOVE_FIELDS: Final = (
    "stage",
    "probability",
    "forecast_category",
    "status",
    "closed_at",
    "lost_reason",
    "version",
    "updated_at",
)
_COPY_MOVE: Final = trusted_copier(Deal, _MOVE_FIELDS)
_DEAL_FIELDS: Final = tuple(field.name for field in attrs.fields(Deal))
_MAKE_STATE_CHANGED: Final = trusted_maker(StateChanged)
_MAKE_STATUS_CHANGED: Final = trusted_maker(DealStatusChanged)


def _column_length(name: str, column: Any) -> int:
    if isinstance(column, str | bytes) or not hasattr(column, "__len__"):
        raise ValidationError.single(
            name,
            column,
            "column.type",
            "expected a sequence of one value per deal (a list, tuple or array)",
        )
    return len(column)


def _checked_column(name: str, column: Sequence[Any]) -> list[Any]:
    """
    A column's values converted, each distinct value object checked once.

    Raises:
        ValidationError: Every bad value, its path naming the row (``name[3]``).
    """
    convert = _CONVERTERS.get(name)
    done: dict[int, Any] = {}
    converted = []
    errors: list[FieldError] = []
    for row, value in enumerate(column):
        key = id(value)
        if key not in done:
            problems = field_errors(Deal, name, value)
            if problems:
                errors += (attrs.evolve(e, path=f"{name}[{row}]") for e in problems)
                continue
            done[key] = value if convert is None else convert(value)
        converted.append(done[key])
    if errors:
        raise ValidationError(errors)
    return converted


def _new_moved(deal: Deal, events: tuple[Any, ...]) -> Moved[Deal]:
    """``Moved(deal, events)`` without the named tuple's Python-level ``__new__``."""
    return tuple.__new__(Moved, (deal, events))


_STATUS: Final = {
    StageOutcome.OPEN: DealStatus.OPEN,
    StageOutcome.WON: DealStatus.WON,
    StageOutcome.LOST: DealStatus.LOST,
}
