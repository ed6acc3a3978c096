"""
Pipelines: a declarative state-machine engine and the CRM lifecycles built on it.

A definition is data (`Lifecycle`, `DealPipeline`), checked when it is built; a move
is a pure function returning the moved entity and its domain events, and a refused
move raises `crmkit.errors.TransitionNotAllowed` naming the requirement that failed.
"""

from crmkit import _public
from crmkit.pipelines._batch import BatchHistory, BatchMoves, TransitionTable
from crmkit.pipelines._deals import (
    DealPipeline,
    DealStatusChanged,
    ProbabilityOverridden,
)
from crmkit.pipelines._engine import EffectRaised, Moved, StateChanged, apply
from crmkit.pipelines._forecast import (
    ArrayForecast,
    Forecast,
    ForecastRow,
    Period,
    fiscal_period,
    forecast,
    forecast_arrays,
)
from crmkit.pipelines._guards import (
    ApprovalPresent,
    FieldCondition,
    Guard,
    RequiredFields,
)
from crmkit.pipelines._history import StageHistory
from crmkit.pipelines._leads import (
    DEFAULT_FIELD_MAP,
    LEAD_LIFECYCLE,
    Conversion,
    FieldMap,
    LeadConverted,
    RecordMatch,
    convert_lead,
    disqualify_lead,
    update_lead,
)
from crmkit.pipelines._lifecycle import Lifecycle, State, Transition
from crmkit.pipelines._loading import (
    definition_from_dict,
    definition_to_dict,
    load_definition,
    loads_definition,
)
from crmkit.pipelines._matching import (
    ConversionMatches,
    LeadMatcher,
    MatchDecision,
    find_conversion_matches,
)
from crmkit.pipelines._metrics import (
    StageTimes,
    cycle_length,
    pipeline_velocity,
    rotting_deals,
    stage_conversion,
    time_in_stage,
    win_rate,
)
from crmkit.pipelines._names import OrganizationNames
from crmkit.pipelines._service_flows import (
    TICKET_LIFECYCLE,
    Process,
    ProcessRun,
    ProcessStatus,
    Step,
    StepChanged,
    move_ticket,
)
from crmkit.pipelines._stages import LostMode, Stage, StageOutcome
from crmkit.pipelines._stored import (
    convert_stored_lead,
    stage_visits,
    stage_visits_of,
    store_moves,
)

__all__ = [
    "DEFAULT_FIELD_MAP",
    "LEAD_LIFECYCLE",
    "TICKET_LIFECYCLE",
    "ApprovalPresent",
    "ArrayForecast",
    "BatchHistory",
    "BatchMoves",
    "Conversion",
    "ConversionMatches",
    "DealPipeline",
    "DealStatusChanged",
    "EffectRaised",
    "FieldCondition",
    "FieldMap",
    "Forecast",
    "ForecastRow",
    "Guard",
    "LeadConverted",
    "LeadMatcher",
    "Lifecycle",
    "LostMode",
    "MatchDecision",
    "Moved",
    "OrganizationNames",
    "Period",
    "ProbabilityOverridden",
    "Process",
    "ProcessRun",
    "ProcessStatus",
    "RecordMatch",
    "RequiredFields",
    "Stage",
    "StageHistory",
    "StageOutcome",
    "StageTimes",
    "State",
    "StateChanged",
    "Step",
    "StepChanged",
    "Transition",
    "TransitionTable",
    "apply",
    "convert_lead",
    "convert_stored_lead",
    "cycle_length",
    "definition_from_dict",
    "definition_to_dict",
    "disqualify_lead",
    "find_conversion_matches",
    "fiscal_period",
    "forecast",
    "forecast_arrays",
    "load_definition",
    "loads_definition",
    "move_ticket",
    "pipeline_velocity",
    "rotting_deals",
    "stage_conversion",
    "stage_visits",
    "stage_visits_of",
    "store_moves",
    "time_in_stage",
    "update_lead",
    "win_rate",
]

_public.publish(globals(), __all__)
