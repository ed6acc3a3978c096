"""
Rule sets in TOML (and plain dicts): read with the position of every mistake.

The format::

    mode = "first_match"             # or "capacity"
    keep_current_owner = false       # leads that have an owner keep it

    [fields]                         # lead fields beyond crmkit's Lead, typed
    message = "text"

    [users.alice]                    # optional; when present, every user is checked
    time_zone = "Europe/Paris"
    hours = ["mon-fri 09:00-18:00"]
    out_of_office = [["2026-08-01", "2026-08-15"]]
    languages = ["fr", "en"]
    skills = ["enterprise"]
    daily_quota = 20
    monthly_quota = 300
    weight = 2
    territory = { countries = ["FR"], postcodes = ["75*", "92000-92999"] }

    [teams.france]
    members = ["alice", "bob"]
    strategy = "round_robin"         # weighted_round_robin, least_loaded

    [[rules]]                        # in order
    name = "francophone"
    when = 'country in ("FR", "BE") and score >= 20'
    assign = "team:france"           # or "user:NAME"
    # strategy (instead of the team's), require_skills, language_field,
    # by_territory, account_owner, keep_current_owner

    [default]
    assign = "user:zoe"

    [accounts]                       # known account owners, by company name
    "Acme SA" = "alice"
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from pathlib import Path
from typing import Any, Final

from crmkit._definitions import Parsed, Position, line_of
from crmkit._definitions import parse as parse_definition
from crmkit.conditions import (
    Condition,
    FieldType,
    Schema,
    parse,
    to_text,
)
from crmkit.errors import DefinitionSyntaxError, InvalidDefinition
from crmkit.routing._people import Absence, Member, Shift, TeamSpec, Territory
from crmkit.routing._rules import Rule, RuleSet, Target, lead_schema

__all__ = ["load_rules", "read_rules", "rules_from_dict", "rules_to_dict"]

_TOP: Final = frozenset(
    {
        "mode",
        "keep_current_owner",
        "fields",
        "users",
        "teams",
        "rules",
        "default",
        "accounts",
    }
)
_USER: Final = frozenset(
    {
        "time_zone",
        "hours",
        "out_of_office",
        "languages",
        "skills",
        "daily_quota",
        "monthly_quota",
        "weight",
        "territory",
        "active",
    }
)
_TEAM: Final = frozenset({"members", "strategy"})
_RULE: Final = frozenset(
    {
        "name",
        "when",
        "assign",
        "strategy",
        "require_skills",
        "language_field",
        "by_territory",
        "account_owner",
        "keep_current_owner",
    }
)
_TERRITORY: Final = frozenset({"countries", "regions", "postcodes"})


class _Builder:
    def __init__(
        self,
        data: Mapping[str, Any],
        *,
        parsed: Parsed | None,
        source: str | None,
        fields: Mapping[str, FieldType | Schema | str] | None,
    ) -> None:
        self.data = data
        self.parsed = parsed
        self.text = "" if parsed is None else parsed.text
        self.source = source
        self.fields = fields

    # --- errors ------------------------------------------------------------------

    def error(self, path: str, reason: str) -> InvalidDefinition:
        found = self._position(path)
        if found is None:
            return InvalidDefinition(path, reason)
        line, column = found
        return DefinitionSyntaxError(
            line_of(self.text, line),
            line=line,
            column=column,
            expected="",
            found=reason,
            source=self.source,
            where=path,
        )

    def _position(self, path: str) -> Position | None:
        return None if self.parsed is None else self.parsed.position(path)

    def table(
        self, value: object, path: str, allowed: frozenset[str]
    ) -> Mapping[str, Any]:
        if not isinstance(value, Mapping):
            raise self.error(path, f"expected a table, found {type(value).__name__}")
        for key in value:
            if key not in allowed:
                close = sorted(allowed)
                raise self.error(
                    f"{path}.{key}" if path else key,
                    f"unknown key {key!r}; expected one of {', '.join(close)}",
                )
        return value

    # --- parts ---------------------------------------------------------------------

    def build(self) -> RuleSet:
        data = self.table(self.data, "", _TOP)
        declared = self.table(
            data.get("fields", {}), "fields", frozenset(data.get("fields", {}))
        )
        try:
            schema = lead_schema({**(self.fields or {}), **declared})
        except InvalidDefinition as error:
            raise self.error("fields", error.reason) from None
        users = {
            name: self.member(name, spec)
            for name, spec in self.table(
                data.get("users", {}), "users", frozenset(data.get("users", {}))
            ).items()
        }
        teams = {
            name: self.team(name, spec)
            for name, spec in self.table(
                data.get("teams", {}), "teams", frozenset(data.get("teams", {}))
            ).items()
        }
        rules_data = data.get("rules", [])
        if not isinstance(rules_data, list):
            raise self.error("rules", "expected an array of tables [[rules]]")
        rules = [
            self.rule(index, spec, schema) for index, spec in enumerate(rules_data)
        ]
        default = data.get("default")
        if isinstance(default, Mapping):
            default = self.table(default, "default", frozenset({"assign"})).get(
                "assign"
            )
        try:
            target = None if default is None else Target.parse(default)
        except InvalidDefinition as error:
            raise self.error("default.assign", error.reason) from None
        try:
            return RuleSet(
                rules=rules,
                teams=teams,
                users=users,
                default=target,
                mode=data.get("mode", "first_match"),
                keep_current_owner=bool(data.get("keep_current_owner", False)),
                accounts=data.get("accounts", {}),
                schema=schema,
            )
        except InvalidDefinition as error:
            raise self.error(error.path or "mode", error.reason) from None

    def member(self, name: str, spec: object) -> Member:
        path = f"users.{name}"
        values = dict(self.table(spec, path, _USER))
        try:
            hours = values.get("hours", ())
            values["hours"] = [
                Shift.parse(h) for h in ([hours] if isinstance(hours, str) else hours)
            ]
            values["out_of_office"] = [
                _absence(a) for a in values.get("out_of_office", ())
            ]
            if "territory" in values:
                territory = self.table(
                    values["territory"], f"{path}.territory", _TERRITORY
                )
                values["territory"] = Territory(**territory)
            return Member(name=name, **values)
        except InvalidDefinition as error:
            raise self.error(f"{path}.{error.path}", error.reason) from None
        except (TypeError, ValueError) as error:
            raise self.error(path, str(error)) from None

    def team(self, name: str, spec: object) -> TeamSpec:
        path = f"teams.{name}"
        values = self.table(spec, path, _TEAM)
        try:
            return TeamSpec(name=name, **values)
        except InvalidDefinition as error:
            raise self.error(error.path, error.reason) from None
        except ValueError:
            raise self.error(
                f"{path}.strategy",
                f"unknown strategy {values.get('strategy')!r}; expected round_robin, "
                "weighted_round_robin or least_loaded",
            ) from None
        except TypeError as error:
            raise self.error(path, str(error)) from None

    def rule(self, index: int, spec: object, schema: Schema) -> Rule:
        path = f"rules[{index}]"
        values = dict(self.table(spec, path, _RULE))
        for required in ("name", "when", "assign"):
            if required not in values:
                raise self.error(path, f"a rule needs {required!r}")
        values["when"] = self.condition(values["when"], f"{path}.when", schema)
        try:
            return Rule(**values)
        except InvalidDefinition as error:
            raise self.error(f"{path}.{error.path}", error.reason) from None

    def condition(self, value: object, path: str, schema: Schema) -> Condition:
        if not isinstance(value, str):
            raise self.error(path, f"expected a condition as text, found {value!r}")
        try:
            return parse(value, schema=schema)
        except DefinitionSyntaxError as error:
            start = self._value_start(path)
            if start is None:
                raise error.relocated(
                    source=self.source, line=1, column=1, where=path
                ) from None
            raise error.relocated(
                source=self.source, line=start[0], column=start[1], where=path
            ) from None

    def _value_start(self, path: str) -> Position | None:
        """Where the text of a string value starts (inside its quotes)."""
        found = self._position(path)
        if found is None:
            return None
        line, column = found
        text = line_of(self.text, line)[column - 1 :]
        for quote in ('"""', "'''"):
            if text.startswith(quote):
                if not text[3:].strip():
                    return line + 1, 1
                return line, column + 3
        return line, column + 1


def _absence(value: object) -> Absence:
    if isinstance(value, Mapping):
        value = [value.get("first"), value.get("last")]
    if not isinstance(value, list | tuple) or len(value) != 2:  # noqa: PLR2004 - first, last
        raise InvalidDefinition(
            "out_of_office", f"{value!r} is not [first day, last day]"
        )
    first, last = (date.fromisoformat(d) if isinstance(d, str) else d for d in value)
    if not isinstance(first, date) or not isinstance(last, date):
        raise InvalidDefinition(
            "out_of_office", f"{value!r} is not [first day, last day]"
        )
    return Absence(first, last)


def rules_from_dict(
    data: Mapping[str, Any],
    *,
    fields: Mapping[str, FieldType | Schema | str] | None = None,
) -> RuleSet:
    """
    Build a rule set from its dict form (what `tomllib` or `json` gives).

    Args:
        data: The rule set, as in the module's documentation.
        fields: More lead fields conditions may test (CSV columns, say); the
            types the rule set declares under ``fields`` win.

    Raises:
        InvalidDefinition: An unknown key, team, user or field, a bad value.
    """
    return _Builder(data, parsed=None, source=None, fields=fields).build()


def read_rules(
    text: str,
    *,
    source: str | None = None,
    fields: Mapping[str, FieldType | Schema | str] | None = None,
) -> RuleSet:
    """
    Read a rule set from TOML text.

    Raises:
        DefinitionSyntaxError: Invalid TOML, or a mistake in the rule set, with
            the line and column where it is (and ``source`` as the file name).
        InvalidDefinition: A mistake whose place in the text cannot be found.
    """
    try:
        parsed = parse_definition(
            text, format="toml", file=source or "<text>", formats=("toml",)
        )
    except InvalidDefinition as error:
        line, column = error.line or 1, error.column or 1
        raise DefinitionSyntaxError(
            line_of(text, line),
            line=line,
            column=column,
            expected="",
            found=error.reason,
            source=source,
        ) from None
    return _Builder(parsed.data, parsed=parsed, source=source, fields=fields).build()


def load_rules(
    path: str | Path,
    *,
    fields: Mapping[str, FieldType | Schema | str] | None = None,
) -> RuleSet:
    """Read a rule set from a TOML file (UTF-8); see `read_rules`."""
    file = Path(path)
    return read_rules(file.read_text(encoding="utf-8"), source=str(file), fields=fields)


def _member_dict(member: Member) -> dict[str, Any]:
    data: dict[str, Any] = {"time_zone": member.time_zone}
    if member.hours:
        data["hours"] = [str(shift) for shift in member.hours]
    if member.out_of_office:
        data["out_of_office"] = [
            [a.first.isoformat(), a.last.isoformat()] for a in member.out_of_office
        ]
    for key in ("languages", "skills"):
        if getattr(member, key):
            data[key] = sorted(getattr(member, key))
    for key in ("daily_quota", "monthly_quota"):
        if getattr(member, key) is not None:
            data[key] = getattr(member, key)
    if member.weight != 1:
        data["weight"] = member.weight
    if member.territory is not None:
        territory = member.territory
        data["territory"] = {
            key: sorted(value) if isinstance(value, frozenset) else list(value)
            for key, value in (
                ("countries", territory.countries),
                ("regions", territory.regions),
                ("postcodes", territory.postcodes),
            )
            if value
        }
    if not member.active:
        data["active"] = False
    return data


def _rule_dict(rule: Rule) -> dict[str, Any]:
    entry: dict[str, Any] = {
        "name": rule.name,
        "when": to_text(rule.when),
        "assign": str(rule.assign),
    }
    if rule.strategy is not None:
        entry["strategy"] = str(rule.strategy)
    if rule.require_skills:
        entry["require_skills"] = sorted(rule.require_skills)
    if rule.language_field:
        entry["language_field"] = rule.language_field
    for flag in ("by_territory", "account_owner", "keep_current_owner"):
        if getattr(rule, flag):
            entry[flag] = True
    return entry


def rules_to_dict(rules: RuleSet) -> dict[str, Any]:
    """The dict form of a rule set; `rules_from_dict` reads it back equal."""
    data: dict[str, Any] = {"mode": str(rules.mode)}
    if rules.keep_current_owner:
        data["keep_current_owner"] = True
    base = lead_schema()
    extra = {
        name: str(kind)
        for name, kind in rules.schema.fields.items()
        if base.fields.get(name) != kind and isinstance(kind, FieldType)
    }
    if extra:
        data["fields"] = extra
    if rules.users:
        data["users"] = {name: _member_dict(m) for name, m in rules.users.items()}
    data["teams"] = {
        name: {"members": list(team.members), "strategy": str(team.strategy)}
        for name, team in rules.teams.items()
    }
    data["rules"] = [_rule_dict(rule) for rule in rules.rules]
    if rules.default is not None:
        data["default"] = {"assign": str(rules.default)}
    if rules.accounts:
        data["accounts"] = dict(rules.accounts)
    return data
