"""
Lead routing: ordered rules or capacity-weighted teams, strategies, explained decisions.

A `RuleSet` holds entries (a condition and a target, ``user:NAME`` or
``team:NAME``), the teams with their strategy (round robin, weighted round robin,
least loaded), the members with their hours, absences, quotas, languages, skills
and territories, and a default. A `Router` routes leads (mappings) through it and
returns, for each, an `Assignment` or an `Unassigned` with its reasons.
`load_rules` reads the TOML form, with the line and column of every mistake.
"""

from crmkit import _public
from crmkit.routing._decisions import (
    Assignment,
    Decision,
    DryRun,
    Reason,
    RoutedLeads,
    SteadyTarget,
    Unassigned,
)
from crmkit.routing._load import load_rules, read_rules, rules_from_dict, rules_to_dict
from crmkit.routing._people import Absence, Member, Shift, Strategy, TeamSpec, Territory
from crmkit.routing._records import lead_record
from crmkit.routing._router import DEFAULT_MONTHLY_CAPACITY, Router
from crmkit.routing._rules import LEAD_FIELDS, Mode, Rule, RuleSet, Target, lead_schema
from crmkit.routing._state import (
    AccountDirectory,
    AccountOwners,
    CursorStore,
    MemoryCursorStore,
    Workload,
)

__all__ = [
    "DEFAULT_MONTHLY_CAPACITY",
    "LEAD_FIELDS",
    "Absence",
    "AccountDirectory",
    "AccountOwners",
    "Assignment",
    "CursorStore",
    "Decision",
    "DryRun",
    "Member",
    "MemoryCursorStore",
    "Mode",
    "Reason",
    "RoutedLeads",
    "Router",
    "Rule",
    "RuleSet",
    "Shift",
    "SteadyTarget",
    "Strategy",
    "Target",
    "TeamSpec",
    "Territory",
    "Unassigned",
    "Workload",
    "lead_record",
    "lead_schema",
    "load_rules",
    "read_rules",
    "rules_from_dict",
    "rules_to_dict",
]

_public.publish(globals(), __all__)
