"""
Pipelines: a declarative state-machine engine and the CRM lifecycles built on it.

A definition is data (`Lifecycle`, `DealPipeline`), checked when it is built; a move
is a pure function returning the moved entity and its domain events, and a refused
move raises `crmkit.errors.TransitionNotAllowed` naming the requirement that failed.
"""

from crmkit import _public
from crmkit.pipelines._deals import (
    DealPipeline,
    DealStatusChanged,
    LostMode,
    ProbabilityOverridden,
    Stage,
    StageOutcome,
)
from crmkit.pipelines._engine import EffectRaised, Moved, StateChanged, apply
from crmkit.pipelines._guards import (
    ApprovalPresent,
    FieldCondition,
    Guard,
    RequiredFields,
)
from crmkit.pipelines._history import StageHistory, StageVisit
from crmkit.pipelines._lifecycle import Lifecycle, State, Transition
from crmkit.pipelines._loading import (
    definition_from_dict,
    definition_to_dict,
    load_definition,
    loads_definition,
)

__all__ = [
    "ApprovalPresent",
    "DealPipeline",
    "DealStatusChanged",
    "EffectRaised",
    "FieldCondition",
    "Guard",
    "Lifecycle",
    "LostMode",
    "Moved",
    "ProbabilityOverridden",
    "RequiredFields",
    "Stage",
    "StageHistory",
    "StageOutcome",
    "StageVisit",
    "State",
    "StateChanged",
    "Transition",
    "apply",
    "definition_from_dict",
    "definition_to_dict",
    "load_definition",
    "loads_definition",
]

_public.publish(globals(), __all__)
