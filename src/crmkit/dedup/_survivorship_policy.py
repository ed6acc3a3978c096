"""Survivorship as data: which rule gives each field, how the master is chosen."""

from __future__ import annotations

import enum
import functools
import json
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Final

import attrs
import tomli_w
from immutabledict import immutabledict

from crmkit._definitions import parse, read
from crmkit.errors import InvalidDefinition
from crmkit.model import Entity, Organization, Person

__all__ = [
    "BOOKKEEPING_FIELDS",
    "FieldKind",
    "MasterStrategy",
    "MergePolicy",
    "Rule",
    "field_kind",
    "mergeable_types",
    "organization_policy",
    "person_policy",
    "shipped_rules",
]

BOOKKEEPING_FIELDS: Final = frozenset({"id", "version", "created_at", "updated_at"})
"""The fields crmkit keeps itself, which no rule gives."""


class Rule(enum.StrEnum):
    """
    How one field's surviving value is chosen among the merged records.

    .. versionadded:: 0.1
    """

    MASTER = "master"
    """The master's value, even when it is empty."""
    FIRST_NON_EMPTY = "first_non_empty"
    """The first non-empty value, in master order (the master, then the others)."""
    MOST_RECENT = "most_recent"
    """The non-empty value changed last (field history, else the record's update)."""
    MOST_COMPLETE = "most_complete"
    """The longest text, the fullest collection, the address with most parts."""
    MAX = "max"
    """The greatest non-empty value."""
    MIN = "min"
    """The least non-empty value."""
    CONCATENATE = "concatenate"
    """The distinct non-empty texts, in master order, joined by the separator."""
    UNION = "union"
    """Every item of every record: the master's first, the others as secondary."""


class MasterStrategy(enum.StrEnum):
    """
    How the master (the record that survives) is chosen.

    .. versionadded:: 0.1
    """

    OLDEST = "oldest"
    """The record created first (the first given among records created together)."""
    MOST_COMPLETE = "most_complete"
    """The record with the most non-empty fields (the oldest among equals)."""
    MOST_ACTIVITY = "most_activity"
    """The record the most linked records point to (the oldest among equals)."""
    GIVEN = "given"
    """The record named by the caller, else the first one given."""


class FieldKind(enum.StrEnum):
    """What a field holds, for the rules it accepts."""

    TEXT = "text"
    ORDERED = "ordered"
    MULTI = "multi"
    OTHER = "other"


_ORDERED_NAMES: Final = frozenset(
    {"int", "float", "Decimal", "date", "datetime", "Money"}
)
_MULTI_PREFIXES: Final = ("tuple[", "frozenset[", "immutabledict[")
_ACCEPTED: Final[dict[FieldKind, frozenset[Rule]]] = {
    FieldKind.TEXT: frozenset(Rule) - {Rule.UNION},
    FieldKind.ORDERED: frozenset(Rule) - {Rule.UNION, Rule.CONCATENATE},
    FieldKind.MULTI: frozenset(
        {Rule.MASTER, Rule.FIRST_NON_EMPTY, Rule.MOST_RECENT, Rule.MOST_COMPLETE}
        | {Rule.UNION}
    ),
    FieldKind.OTHER: frozenset(
        {Rule.MASTER, Rule.FIRST_NON_EMPTY, Rule.MOST_RECENT, Rule.MOST_COMPLETE}
    ),
}


def mergeable_types() -> dict[str, type[Entity]]:
    """The entity types crmkit merges, by entity type name."""
    return {"person": Person, "organization": Organization}


@functools.cache
def field_kind(cls: type, name: str) -> FieldKind:
    """The kind of one of an entity class's fields, read off its annotation."""
    annotation = attrs.fields_dict(cls)[name].type
    if isinstance(annotation, type):
        text = annotation.__name__
    else:
        text = annotation if isinstance(annotation, str) else repr(annotation)
    base = re.sub(r"\b\w+\.", "", text).replace(" | None", "").strip()
    if base.startswith(_MULTI_PREFIXES):
        return FieldKind.MULTI
    if base == "str":
        return FieldKind.TEXT
    if base in _ORDERED_NAMES:
        return FieldKind.ORDERED
    return FieldKind.OTHER


def _mergeable_fields(cls: type[Entity]) -> tuple[str, ...]:
    return tuple(f.name for f in attrs.fields(cls) if f.name not in BOOKKEEPING_FIELDS)


_MULTI_DEFAULTS: Final = (
    "emails",
    "phones",
    "addresses",
    "urls",
    "interests",
    "preferences",
    "roles",
    "tags",
    "consents",
    "external_ids",
    "custom",
)


def _frozen_rules(rules: Mapping[str, Rule]) -> immutabledict[str, Rule]:
    return immutabledict(rules)


@attrs.frozen(kw_only=True)
class MergePolicy:
    """
    How records of one type are merged: the master, a rule per field, the limit.

    Fields without a rule of their own follow ``default``; multi-valued fields
    (emails, phones, addresses, tags, roles, consents...) default to `Rule.UNION`
    in the shipped policies, `person_policy` and `organization_policy`.
    Round-trips through `to_dict`/`from_dict`, TOML and JSON.

    Attributes:
        entity_type: ``"person"`` or ``"organization"``.
        master: How the surviving record is chosen.
        default: The rule of fields not named in ``fields``.
        fields: A rule per field name (``custom`` is one field, merged key by key);
            by default `shipped_rules`. In a policy file, ``[fields]`` adds to
            or overrides the shipped rules.
        max_records: The most records one merge may take (Salesforce's UI takes 3,
            Odoo's lead merge 5); at least 2.
        separator: What `Rule.CONCATENATE` puts between texts.

    .. versionadded:: 0.1
    """

    entity_type: str = "person"
    master: MasterStrategy = MasterStrategy.OLDEST
    default: Rule = Rule.FIRST_NON_EMPTY
    fields: Mapping[str, Rule] = attrs.field(converter=_frozen_rules)
    max_records: int = 5
    separator: str = "\n"

    @fields.default
    def _shipped(self) -> Mapping[str, Rule]:
        return (
            shipped_rules(self.entity_type)
            if self.entity_type in mergeable_types()
            else {}
        )

    def __attrs_post_init__(self) -> None:
        _check(self)

    @property
    def entity_class(self) -> type[Entity]:
        """The entity class this policy merges."""
        return mergeable_types()[self.entity_type]

    def rule(self, field: str) -> Rule:
        """The rule that gives ``field``'s surviving value."""
        return self.fields.get(field, self.default)

    def rules(self) -> dict[str, Rule]:
        """Every mergeable field of the entity type and its rule, in class order."""
        return {name: self.rule(name) for name in _mergeable_fields(self.entity_class)}

    def to_dict(self) -> dict[str, Any]:
        """Plain data (for JSON and TOML)."""
        return {
            "entity_type": self.entity_type,
            "master": str(self.master),
            "default": str(self.default),
            "max_records": self.max_records,
            "separator": self.separator,
            "fields": {name: str(rule) for name, rule in self.fields.items()},
        }

    @classmethod
    def from_dict(cls, data: Any) -> MergePolicy:
        """
        Build a policy from plain data.

        Raises:
            InvalidDefinition: An unknown key (a typo), a wrong value or a rule
                that cannot apply to its field, with its path.
        """
        return _from_dict(data)

    def to_toml(self) -> str:
        """The policy as a TOML document."""
        return tomli_w.dumps(self.to_dict())

    def to_json(self) -> str:
        """The policy as a JSON document."""
        return json.dumps(self.to_dict(), indent=2)

    @classmethod
    def loads(
        cls,
        text: str,
        *,
        format: str = "toml",  # noqa: A002 - the file format
        file: str = "<text>",
    ) -> MergePolicy:
        """
        Read a policy from TOML or JSON text.

        Raises:
            InvalidDefinition: Unreadable text or a bad policy, with the file,
                line, column and path of the problem.
        """
        return parse(text, format=format, file=file, formats=_FORMATS).build(_from_dict)

    @classmethod
    def from_file(cls, path: str | Path) -> MergePolicy:
        """
        Read a policy from a ``.toml`` or ``.json`` file.

        Raises:
            InvalidDefinition: As `loads`, with the file named.
            OSError: The file cannot be read.
        """
        return read(Path(path), _FORMATS).build(_from_dict)


_FORMATS: Final = ("toml", "json")
_KEYS: Final = frozenset(
    {"entity_type", "master", "default", "fields", "max_records", "separator"}
)


def _choice(enum_type: type[enum.StrEnum], value: Any, path: str) -> Any:
    try:
        return enum_type(value)
    except ValueError:
        allowed = ", ".join(m.value for m in enum_type)
        raise InvalidDefinition(path, f"{value!r} is not one of {allowed}") from None


def _from_dict(data: Any) -> MergePolicy:
    if not isinstance(data, Mapping):
        raise InvalidDefinition("", "a merge policy is a table of settings")
    for key in data:
        if key not in _KEYS:
            raise InvalidDefinition(
                str(key), f"unknown setting (known: {', '.join(sorted(_KEYS))})"
            )
    entity_type = data.get("entity_type", "person")
    if entity_type not in mergeable_types():
        raise InvalidDefinition(
            "entity_type", f"{entity_type!r} is not one of person, organization"
        )
    fields = data.get("fields", {})
    if not isinstance(fields, Mapping):
        raise InvalidDefinition("fields", "a table of field = rule")
    max_records = data.get("max_records", 5)
    if isinstance(max_records, bool) or not isinstance(max_records, int):
        raise InvalidDefinition("max_records", f"{max_records!r} is not an integer")
    separator = data.get("separator", "\n")
    if not isinstance(separator, str):
        raise InvalidDefinition("separator", f"{separator!r} is not text")
    return MergePolicy(
        entity_type=entity_type,
        master=_choice(MasterStrategy, data.get("master", "oldest"), "master"),
        default=_choice(Rule, data.get("default", "first_non_empty"), "default"),
        fields={
            **shipped_rules(entity_type),
            **{
                str(name): _choice(Rule, rule, f"fields.{name}")
                for name, rule in fields.items()
            },
        },
        max_records=max_records,
        separator=separator,
    )


def _check(policy: MergePolicy) -> None:
    if policy.entity_type not in mergeable_types():
        raise InvalidDefinition(
            "entity_type", f"{policy.entity_type!r} is not one of person, organization"
        )
    if policy.max_records < 2:  # noqa: PLR2004 - a merge takes two records at least
        raise InvalidDefinition(
            "max_records", f"{policy.max_records} is below 2: nothing could merge"
        )
    cls = policy.entity_class
    entity_class: type = cls  # a plain type, as functools.cache's keys need
    known = _mergeable_fields(cls)
    for name, rule in policy.fields.items():
        if name not in known:
            raise InvalidDefinition(
                f"fields.{name}", f"{cls.__name__} has no mergeable field {name!r}"
            )
        kind = field_kind(entity_class, name)
        if rule not in _ACCEPTED[kind]:
            raise InvalidDefinition(
                f"fields.{name}",
                f"rule {rule.value!r} does not apply to a {kind} field",
            )
    for name in known:
        if (
            name not in policy.fields
            and policy.default not in _ACCEPTED[field_kind(entity_class, name)]
        ):
            raise InvalidDefinition(
                "default",
                f"rule {policy.default.value!r} does not apply to field {name!r}; "
                "give that field a rule of its own",
            )


def shipped_rules(entity_type: str) -> dict[str, Rule]:
    """
    The rules crmkit ships for ``"person"`` or ``"organization"``, by field.

    Persons: contact details, interests, preferences, roles, tags, consents,
    external ids and custom fields are united (the master's first); the job
    title, income band, preferred channel and language and the lifecycle stage
    take the most recent value. Organisations: contact details, tags, external
    ids and custom fields are united; the headcount and revenue take the
    greatest value, the legal name the most complete one, the industry and
    lifecycle stage the most recent one. Other fields follow the policy's
    ``default``.
    """
    cls = mergeable_types()[entity_type]
    rules: dict[str, Rule] = {
        name: Rule.UNION for name in _MULTI_DEFAULTS if name in _mergeable_fields(cls)
    }
    if cls is Person:
        rules.update(
            dict.fromkeys(
                (
                    "job_title",
                    "income_band",
                    "preferred_channel",
                    "preferred_language",
                    "lifecycle_stage",
                ),
                Rule.MOST_RECENT,
            )
        )
    else:
        rules |= {
            "employees": Rule.MAX,
            "annual_revenue": Rule.MAX,
            "legal_name": Rule.MOST_COMPLETE,
            "industry": Rule.MOST_RECENT,
            "lifecycle_stage": Rule.MOST_RECENT,
        }
    return rules


def person_policy(**changes: Any) -> MergePolicy:
    """
    The shipped policy for persons; keyword arguments override its settings.

    The rules are `shipped_rules` (``fields`` adds to or overrides them); the
    master is the oldest record; at most 5 records per merge.
    """
    fields = {**shipped_rules("person"), **changes.pop("fields", {})}
    return MergePolicy(entity_type="person", fields=fields, **changes)


def organization_policy(**changes: Any) -> MergePolicy:
    """
    The shipped policy for organisations; keyword arguments override its settings.

    The rules are `shipped_rules` (``fields`` adds to or overrides them); the
    master is the oldest record; at most 5 records per merge.
    """
    fields = {**shipped_rules("organization"), **changes.pop("fields", {})}
    return MergePolicy(entity_type="organization", fields=fields, **changes)
