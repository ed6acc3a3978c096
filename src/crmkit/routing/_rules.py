"""Rule sets: ordered entries, targets, a default; validated when built."""

from __future__ import annotations

import enum
from collections.abc import Iterable, Mapping
from typing import Final, Literal

import attrs
from immutabledict import immutabledict

from crmkit.conditions import (
    All,
    Compare,
    Condition,
    FieldType,
    IsEmpty,
    Op,
    Schema,
    check,
    to_text,
)
from crmkit.errors import InvalidDefinition
from crmkit.model import Lead
from crmkit.routing._people import Member, Strategy, TeamSpec
from crmkit.routing._state import company_key

__all__ = [
    "LEAD_FIELDS",
    "Mode",
    "Rule",
    "RuleSet",
    "Target",
    "lead_schema",
]

LEAD_FIELDS: Final = immutabledict(
    {
        "country": FieldType.TEXT,
        "region": FieldType.TEXT,
        "postcode": FieldType.TEXT,
        "city": FieldType.TEXT,
        "language": FieldType.TEXT,
    }
)
"""Flat fields of a lead record for routing, beside `Lead`'s own (see `lead_record`)."""


def lead_schema(fields: Mapping[str, FieldType | Schema | str] | None = None) -> Schema:
    """The schema rules are checked against: `Lead`, `LEAD_FIELDS` and ``fields``."""
    return Schema.of(Lead).extended({**LEAD_FIELDS, **(fields or {})})


class Mode(enum.StrEnum):
    """
    How a rule set picks among matching entries.

    .. versionadded:: 0.1
    """

    FIRST_MATCH = "first_match"
    """Entries in order; the first that matches (and can assign) wins (Salesforce)."""
    CAPACITY = "capacity"
    """Every matching entry's team is a candidate; the least filled team wins (Odoo)."""


@attrs.frozen
class Target:
    """
    Who an entry assigns to: ``user:alice`` or ``team:france``.

    .. versionadded:: 0.1
    """

    kind: Literal["user", "team"]
    name: str

    @classmethod
    def parse(cls, text: str) -> Target:
        """
        Read ``"user:alice"`` or ``"team:france"`` (``queue:`` is a team).

        Raises:
            InvalidDefinition: Anything else.
        """
        kind, _, name = text.partition(":") if isinstance(text, str) else ("", "", "")
        kind = "team" if kind == "queue" else kind
        if kind not in {"user", "team"} or not name.strip():
            raise InvalidDefinition(
                "assign", f"{text!r} is not 'user:NAME' or 'team:NAME'"
            )
        return cls(kind, name.strip())  # type: ignore[arg-type]

    def __str__(self) -> str:
        return f"{self.kind}:{self.name}"


def _mode(value: Mode | str) -> Mode:
    try:
        return Mode(value)
    except ValueError:
        raise InvalidDefinition(
            "mode", f"unknown mode {value!r}; expected first_match or capacity"
        ) from None


def _target(value: Target | str) -> Target:
    return value if isinstance(value, Target) else Target.parse(value)


def _optional_target(value: Target | str | None) -> Target | None:
    return None if value is None else _target(value)


def _strategy(value: Strategy | str | None) -> Strategy | None:
    if value is None:
        return None
    try:
        return Strategy(value)
    except ValueError:
        allowed = ", ".join(s.value for s in Strategy)
        raise InvalidDefinition(
            "strategy", f"unknown strategy {value!r}; expected one of {allowed}"
        ) from None


def _names(values: Iterable[str]) -> frozenset[str]:
    return frozenset(str(value).strip().casefold() for value in values)


@attrs.frozen(kw_only=True)
class Rule:
    """
    One entry: when its condition holds, assign to its target.

    Attributes:
        name: Shown in decisions and reports.
        when: The condition.
        assign: ``user:NAME`` or ``team:NAME``.
        strategy: How the team picks a member for this entry, instead of the
            team's own strategy (`None`: the team's).
        require_skills: Only members with all these skills.
        language_field: Only members speaking the lead's value of this field.
        by_territory: Only members whose territory covers the lead.
        account_owner: A lead whose company has an owner goes to that owner.
        keep_current_owner: A lead that already has an owner keeps it
            (Salesforce's "do not reassign owner").

    .. versionadded:: 0.1
    """

    name: str
    when: Condition
    assign: Target = attrs.field(converter=_target)
    strategy: Strategy | None = attrs.field(default=None, converter=_strategy)
    require_skills: frozenset[str] = attrs.field(default=frozenset(), converter=_names)
    language_field: str | None = None
    by_territory: bool = False
    account_owner: bool = False
    keep_current_owner: bool = False


def _rules(values: Iterable[Rule]) -> tuple[Rule, ...]:
    return tuple(values)


def _teams(values: Mapping[str, TeamSpec]) -> immutabledict[str, TeamSpec]:
    return immutabledict(values)


def _users(values: Mapping[str, Member]) -> immutabledict[str, Member]:
    return immutabledict(values)


def _accounts(values: Mapping[str, str]) -> immutabledict[str, str]:
    return immutabledict(values)


@attrs.frozen(kw_only=True)
class RuleSet:
    """
    A routing table: entries in order, the teams and users they name, a default.

    It is validated when built: every team, user and field it names must exist
    (users are checked when `users` is given), and conditions are type-checked
    against `schema`. An entry that an earlier, broader one always catches is
    reported by `warnings`, not refused.

    Attributes:
        rules: The entries, in order.
        teams: Teams by name.
        users: Members by name; members named only by teams or targets get the
            defaults of `Member` when this is empty.
        default: Who gets a lead no entry assigned (`None`: it stays unassigned).
        mode: First match or capacity.
        keep_current_owner: Leads that already have an owner keep it.
        accounts: Known account owners, by company name (compared as
            deduplication compares companies: case, accents, punctuation and
            legal forms do not count).
        schema: What conditions may test.

    .. versionadded:: 0.1
    """

    rules: tuple[Rule, ...] = attrs.field(converter=_rules)
    teams: immutabledict[str, TeamSpec] = attrs.field(
        factory=immutabledict, converter=_teams
    )
    users: immutabledict[str, Member] = attrs.field(
        factory=immutabledict, converter=_users
    )
    default: Target | None = attrs.field(default=None, converter=_optional_target)
    mode: Mode = attrs.field(default=Mode.FIRST_MATCH, converter=_mode)
    keep_current_owner: bool = False
    accounts: immutabledict[str, str] = attrs.field(
        factory=immutabledict, converter=_accounts
    )
    schema: Schema = attrs.field(factory=lead_schema, eq=False, repr=False)

    def __attrs_post_init__(self) -> None:
        for problem in self.problems():
            raise InvalidDefinition(*problem)

    def problems(self) -> list[tuple[str, str]]:
        """Every reason the rule set cannot work, as (path, reason) pairs."""
        found: list[tuple[str, str]] = []
        names: set[str] = set()
        for index, rule in enumerate(self.rules):
            if rule.name in names:
                found.append(
                    (f"rules[{index}].name", f"duplicate rule name {rule.name!r}")
                )
            names.add(rule.name)
            found.extend(self._rule_problems(index, rule))
        if self.default is not None:
            found.extend(self._target_problems(self.default, "default.assign"))
        for name, team in self.teams.items():
            found.extend(
                (f"teams.{name}.members[{position}]", self._unknown_user(member))
                for position, member in enumerate(team.members)
                if self.users and member not in self.users
            )
        found.extend(
            (f"accounts.{company}", self._unknown_user(owner))
            for company, owner in self.accounts.items()
            if self.users and owner not in self.users
        )
        found.extend(self._account_problems())
        return found

    def _account_problems(self) -> list[tuple[str, str]]:
        """Names that are no company, or the same company with two owners."""
        found: list[tuple[str, str]] = []
        first_named: dict[str, str] = {}
        for company, owner in self.accounts.items():
            key = company_key(company)
            earlier = first_named.setdefault(key, company)
            if not key:
                found.append(
                    (
                        f"accounts.{company}",
                        "names no company: it is blank",
                    )
                )
            elif self.accounts[earlier] != owner:
                owned = f"owned by {self.accounts[earlier]}, not {owner}"
                message = f"the same company as {earlier!r}, {owned}"
                found.append((f"accounts.{company}", message))
        return found

    def _rule_problems(self, index: int, rule: Rule) -> list[tuple[str, str]]:
        found: list[tuple[str, str]] = []
        try:
            check(rule.when, self.schema, where=f"rules[{index}].when")
        except InvalidDefinition as error:
            found.append((error.path, error.reason))
        if rule.language_field and self.schema.type_of(rule.language_field) is None:
            path = f"rules[{index}].language_field"
            found.append((path, f"unknown field {rule.language_field!r}"))
        found.extend(self._target_problems(rule.assign, f"rules[{index}].assign"))
        if rule.strategy is not None and rule.assign.kind != "team":
            path = f"rules[{index}].strategy"
            found.append((path, "a strategy picks a team member; assign to a team"))
        return found

    def _unknown_user(self, name: str) -> str:
        return f"unknown user {name!r}; declared users: {', '.join(sorted(self.users))}"

    def _target_problems(self, target: Target, path: str) -> list[tuple[str, str]]:
        if target.kind == "team" and target.name not in self.teams:
            known = ", ".join(sorted(self.teams)) or "none"
            return [(path, f"unknown team {target.name!r}; teams: {known}")]
        if target.kind == "user" and self.users and target.name not in self.users:
            return [(path, self._unknown_user(target.name))]
        return []

    def member(self, name: str) -> Member:
        """The member called ``name`` (with default settings if not declared)."""
        found = self.users.get(name)
        return found if found is not None else Member(name=name)

    def warnings(self) -> list[tuple[str, str]]:
        """
        Entries an earlier, broader entry always catches, as (path, message).

        In first-match mode an entry whose condition implies an earlier one's is
        reached only when the earlier target has nobody available.
        """
        if self.mode is not Mode.FIRST_MATCH:
            return []
        found: list[tuple[str, str]] = []
        for later_index, later in enumerate(self.rules):
            for earlier in self.rules[:later_index]:
                if implies(later.when, earlier.when):
                    message = (
                        f"{later.name!r} is shadowed by the earlier, broader "
                        f"{earlier.name!r} ({to_text(earlier.when)}): it is "
                        f"reached only when {earlier.assign} has nobody available"
                    )
                    found.append((f"rules[{later_index}]", message))
                    break
        return found


def _conjuncts(condition: Condition) -> list[Condition] | None:
    if isinstance(condition, All):
        return list(condition.conditions)
    if isinstance(condition, Compare | IsEmpty):
        return [condition]
    return None


_LOWER: Final = {Op.GT, Op.GTE}
_UPPER: Final = {Op.LT, Op.LTE}


def _bound_implies(a: Compare, b: Compare) -> bool:  # noqa: PLR0911 - one case per shape
    """Whether ``a`` (a bound or an equality) implies the bound ``b``."""
    try:
        if a.op is Op.EQ:
            value = a.value
            if b.op is Op.GT:
                return bool(value > b.value)  # type: ignore[operator]
            if b.op is Op.GTE:
                return bool(value >= b.value)  # type: ignore[operator]
            if b.op is Op.LT:
                return bool(value < b.value)  # type: ignore[operator]
            return bool(value <= b.value)  # type: ignore[operator]
        if a.op in _LOWER and b.op in _LOWER:
            strict_gap = a.op is Op.GTE and b.op is Op.GT
            return bool(a.value > b.value if strict_gap else a.value >= b.value)  # type: ignore[operator]
        if a.op in _UPPER and b.op in _UPPER:
            strict_gap = a.op is Op.LTE and b.op is Op.LT
            return bool(a.value < b.value if strict_gap else a.value <= b.value)  # type: ignore[operator]
    except TypeError:
        return False
    return False


def _leaf_implies(a: Condition, b: Condition) -> bool:
    """Whether the test ``a`` implies the test ``b`` (conservatively)."""
    if a == b:
        return True
    if not isinstance(a, Compare) or not isinstance(b, Compare) or a.path != b.path:
        return False
    if b.op is Op.IN:
        choices = set(b.value)  # type: ignore[arg-type]
        if a.op is Op.EQ:
            return a.value in choices
        if a.op is Op.IN:
            return set(a.value) <= choices  # type: ignore[arg-type]
    if b.op in _LOWER | _UPPER and a.op in {Op.EQ} | _LOWER | _UPPER:
        return _bound_implies(a, b)
    return False


def implies(later: Condition, earlier: Condition) -> bool:
    """
    Whether every record ``later`` matches, ``earlier`` matches too (conservative).

    Only conjunctions of tests are compared; `False` means "not shown", not
    "no".
    """
    mine = _conjuncts(later)
    theirs = _conjuncts(earlier)
    if mine is None or theirs is None:
        return False
    return all(any(_leaf_implies(a, b) for a in mine) for b in theirs)
