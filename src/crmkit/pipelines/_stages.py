"""
The stages of a deal pipeline, their checks, and how they compile to a `Lifecycle`.

A `DealPipeline`'s stages are checked when it is built (names, probabilities, the
won and lost stages, rotting thresholds, explicit moves); the allowed moves (forward,
skips, backward, closing, restoring) then become the transitions of its lifecycle.
"""

from __future__ import annotations

import enum
import math
from typing import TYPE_CHECKING, Any, Final, TypeVar

import attrs

from crmkit.errors import InvalidDefinition
from crmkit.model import ForecastCategory
from crmkit.pipelines._guards import Guard, RequiredFields
from crmkit.pipelines._lifecycle import Lifecycle, State, Transition

if TYPE_CHECKING:
    from crmkit.pipelines._deals import DealPipeline

__all__ = [
    "LostMode",
    "Stage",
    "StageOutcome",
    "check_stages",
    "choice_of",
    "compile_stages",
]

_S = TypeVar("_S", bound=enum.StrEnum)


class StageOutcome(enum.StrEnum):
    """
    What reaching a stage means for the deal: still open, won, or lost.

    .. versionadded:: 0.1
    """

    OPEN = "open"
    WON = "won"
    LOST = "lost"


class LostMode(enum.StrEnum):
    """
    Whether a lost deal moves to a lost stage, or keeps its stage with status lost.

    .. versionadded:: 0.1
    """

    STAGE = "stage"
    STATUS = "status"


def _tuple(value: Any) -> tuple[Any, ...]:
    return (value,) if isinstance(value, str) else tuple(value)


def _items(value: Any) -> tuple[Any, ...]:
    return tuple(value)


def choice_of(kind: type[_S], name: str, value: Any) -> _S:
    try:
        return kind(value)
    except ValueError:
        known = ", ".join(member.value for member in kind)
        raise InvalidDefinition(
            name, f"unknown {name} {value!r} (one of: {known})"
        ) from None


def _category(value: Any) -> ForecastCategory:
    return choice_of(ForecastCategory, "forecast_category", value)


def _outcome(value: Any) -> StageOutcome:
    return choice_of(StageOutcome, "outcome", value)


def _moves(value: Any) -> tuple[str, ...] | None:
    return None if value is None else _tuple(value)


@attrs.frozen
class Stage:
    """
    One stage of a deal pipeline.

    Attributes:
        name: The stage's name, unique in its pipeline.
        probability: The chance of winning at this stage, in [0, 1].
        forecast_category: Where the stage's deals count in forecast roll-ups.
        description: What the stage involves.
        exit_criteria: The expected result before leaving it.
        required_fields: Deal fields that must be set to enter the stage.
        guards: Further requirements to enter it.
        moves: The stages a deal may move to from here; `None` follows the
            pipeline's policy (forward, plus skips and backward moves if allowed).
        rotting_days: Days in the stage after which a deal is rotting (`None`: never).
        outcome: Open, won or lost.
        on_entry: Names of the `EffectRaised` events raised when a deal enters it.
        on_exit: Names of those raised when a deal leaves it.

    .. versionadded:: 0.1
    """

    name: str
    probability: float
    forecast_category: ForecastCategory = attrs.field(
        default=ForecastCategory.PIPELINE,
        converter=_category,
    )
    description: str = ""
    exit_criteria: str = ""
    required_fields: tuple[str, ...] = attrs.field(default=(), converter=_tuple)
    guards: tuple[Guard, ...] = attrs.field(default=(), converter=_items)
    moves: tuple[str, ...] | None = attrs.field(default=None, converter=_moves)
    rotting_days: int | None = None
    outcome: StageOutcome = attrs.field(default=StageOutcome.OPEN, converter=_outcome)
    on_entry: tuple[str, ...] = attrs.field(default=(), converter=_tuple)
    on_exit: tuple[str, ...] = attrs.field(default=(), converter=_tuple)


_CATEGORY: Final = {
    StageOutcome.WON: ForecastCategory.CLOSED,
    StageOutcome.LOST: ForecastCategory.OMITTED,
}
_FIXED_PROBABILITY: Final = {StageOutcome.WON: 1.0, StageOutcome.LOST: 0.0}


def _check_stage(position: int, stage: Stage) -> None:
    path = f"stages[{position}]"
    if not isinstance(stage.name, str) or not stage.name.strip():
        raise InvalidDefinition(f"{path}.name", "must be a name")
    probability = stage.probability
    if (
        isinstance(probability, bool)
        or not isinstance(probability, int | float)
        or not math.isfinite(probability)
        or not 0 <= probability <= 1
    ):
        raise InvalidDefinition(
            f"{path}.probability", f"must be a number in [0, 1], not {probability!r}"
        )
    fixed = _FIXED_PROBABILITY.get(stage.outcome)
    if fixed is not None and probability != fixed:
        raise InvalidDefinition(
            f"{path}.probability", f"a {stage.outcome} stage has probability {fixed}"
        )
    category = _CATEGORY.get(stage.outcome)
    if category is not None and stage.forecast_category is not category:
        raise InvalidDefinition(
            f"{path}.forecast_category",
            f"a {stage.outcome} stage is in category {category!s}",
        )
    days = stage.rotting_days
    if days is not None and (
        isinstance(days, bool) or not isinstance(days, int) or days < 1
    ):
        raise InvalidDefinition(
            f"{path}.rotting_days", f"must be a whole number of days >= 1, not {days!r}"
        )
    if stage.outcome is StageOutcome.WON and stage.moves:
        raise InvalidDefinition(f"{path}.moves", "a won stage is final")


def check_stages(pipeline: DealPipeline) -> None:
    if not pipeline.stages:
        raise InvalidDefinition("stages", "a pipeline needs stages")
    seen: dict[str, int] = {}
    for position, stage in enumerate(pipeline.stages):
        _check_stage(position, stage)
        if stage.name in seen:
            raise InvalidDefinition(
                f"stages[{position}].name",
                f"duplicate stage {stage.name!r} (also stages[{seen[stage.name]}])",
            )
        seen[stage.name] = position
    for position, stage in enumerate(pipeline.stages):
        for number, name in enumerate(stage.moves or ()):
            if name not in seen:
                raise InvalidDefinition(
                    f"stages[{position}].moves[{number}]", f"unknown stage {name!r}"
                )
    _check_outcomes(pipeline)
    for position, reason in enumerate(pipeline.lost_reasons):
        if not isinstance(reason, str) or not reason.strip():
            raise InvalidDefinition(f"lost_reasons[{position}]", "must be text")


def _check_outcomes(pipeline: DealPipeline) -> None:
    if pipeline.stages[0].outcome is not StageOutcome.OPEN:
        raise InvalidDefinition("stages[0].outcome", "the first stage must be open")
    outcomes = [stage.outcome for stage in pipeline.stages]
    if StageOutcome.WON not in outcomes:
        raise InvalidDefinition("stages", "no won stage: add one with outcome = 'won'")
    lost = [i for i, outcome in enumerate(outcomes) if outcome is StageOutcome.LOST]
    if pipeline.lost_mode is LostMode.STAGE and len(lost) != 1:
        raise InvalidDefinition(
            "stages", f"lost_mode 'stage' needs exactly one lost stage, not {len(lost)}"
        )
    if pipeline.lost_mode is LostMode.STATUS and lost:
        raise InvalidDefinition(
            f"stages[{lost[0]}].outcome", "lost_mode 'status' has no lost stage"
        )


def _policy_targets(pipeline: DealPipeline, position: int) -> list[str]:
    opens = [i for i, s in enumerate(pipeline.stages) if s.outcome is StageOutcome.OPEN]
    targets = []
    for i in opens:
        after = [j for j in opens if j > position]
        if (
            (after and i == after[0])
            or (i > position and pipeline.allow_skip)
            or (i < position and pipeline.allow_backward)
        ):
            targets.append(pipeline.stages[i].name)
    return targets


def compile_stages(pipeline: DealPipeline) -> Lifecycle:
    closing = [s.name for s in pipeline.stages if s.outcome is not StageOutcome.OPEN]
    sources: dict[str, list[str]] = {stage.name: [] for stage in pipeline.stages}
    for position, stage in enumerate(pipeline.stages):
        if stage.outcome is StageOutcome.WON:
            continue
        if stage.outcome is StageOutcome.LOST:
            targets = (
                list(stage.moves)
                if stage.moves is not None
                else [s.name for s in pipeline.open_stages]
            )
        elif stage.moves is not None:
            targets = [*stage.moves, *closing]
        else:
            targets = [*_policy_targets(pipeline, position), *closing]
        for target in dict.fromkeys(targets):
            if target != stage.name:
                sources[target].append(stage.name)
    transitions = [
        Transition(
            stage.name,
            tuple(sources[stage.name]),
            stage.name,
            guards=_entry_guards(stage),
        )
        for stage in pipeline.stages
        if sources[stage.name]
    ]
    states = [
        State(
            stage.name,
            terminal=stage.outcome is not StageOutcome.OPEN,
            description=stage.description,
            on_entry=stage.on_entry,
            on_exit=stage.on_exit,
        )
        for stage in pipeline.stages
    ]
    return Lifecycle(
        pipeline.name, "stage", pipeline.stages[0].name, states, transitions
    )


def _entry_guards(stage: Stage) -> tuple[Guard, ...]:
    if stage.required_fields:
        return (RequiredFields(stage.required_fields), *stage.guards)
    return stage.guards
