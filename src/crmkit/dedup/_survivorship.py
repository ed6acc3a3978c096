"""
Survivorship, without storage: the surviving values of a group of records.

`choose_master` picks the record that survives; `survive` computes each field's
surviving value from (master, others, policy), and says which rule gave it from
which record, and which non-empty values it did not keep.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any, Final, TypeVar
from uuid import UUID

import attrs
from immutabledict import immutabledict

from crmkit.dedup._survivorship_policy import (
    MasterStrategy,
    MergePolicy,
    Rule,
    mergeable_types,
    organization_policy,
    person_policy,
)
from crmkit.errors import CrmError, ValidationError
from crmkit.model import Entity, OrganizationRole

__all__ = [
    "Dropped",
    "FieldDecision",
    "MasterChoice",
    "Survivorship",
    "choose_master",
    "default_policy",
    "is_empty",
    "item_key",
    "survive",
]

_E = TypeVar("_E", bound=Entity)


def default_policy(entity_type: str) -> MergePolicy:
    """The shipped policy of ``"person"`` or ``"organization"``."""
    return person_policy() if entity_type == "person" else organization_policy()


def is_empty(value: Any) -> bool:
    """True for a value that holds nothing: ``None``, ``""``, an empty collection."""
    if value is None:
        return True
    if isinstance(value, str | tuple | frozenset | Mapping):
        return len(value) == 0
    return False


_KEYS: Final[dict[str, Callable[[Any], Hashable]]] = {
    "emails": lambda email: email.normalized,
    "phones": lambda phone: phone.e164,
    "roles": lambda role: role.organization_id,
}


def item_key(field: str, item: Any) -> Hashable:
    """
    What makes two items of a multi-valued field the same item in a union.

    Emails compare normalised, phones in E.164, roles by organisation; other
    items by equality.
    """
    key = _KEYS.get(field)
    return item if key is None else key(item)


@attrs.frozen
class Dropped:
    """
    A non-empty value a merge did not keep, and the record it came from.

    .. versionadded:: 0.1
    """

    record_id: UUID
    value: Any


@attrs.frozen(kw_only=True)
class FieldDecision:
    """
    How one field's surviving value was chosen: the rule, its sources, the losers.

    Attributes:
        field: The field.
        rule: The policy's rule for it.
        value: The surviving value.
        sources: The records the value (or its items) came from, master first.
        dropped: The other records' non-empty values it does not hold.
        reason: The decision in words.
        changed: Whether the value differs from the master's own.

    .. versionadded:: 0.1
    """

    field: str
    rule: Rule
    value: Any
    sources: tuple[UUID, ...]
    dropped: tuple[Dropped, ...]
    reason: str
    changed: bool


@attrs.frozen(kw_only=True)
class MasterChoice:
    """
    Which record survives, chosen by which strategy, and why.

    .. versionadded:: 0.1
    """

    master_id: UUID
    strategy: MasterStrategy
    reason: str


@attrs.frozen(kw_only=True)
class Survivorship:
    """
    The outcome of survivorship: every field's decision, master first.

    .. versionadded:: 0.1
    """

    entity_type: str
    master_id: UUID
    merged_ids: tuple[UUID, ...]
    decisions: tuple[FieldDecision, ...]

    @property
    def changes(self) -> dict[str, Any]:
        """The fields whose surviving value is not the master's, and that value."""
        return {d.field: d.value for d in self.decisions if d.changed}

    def decision(self, field: str) -> FieldDecision:
        """The decision about one field."""
        for decision in self.decisions:
            if decision.field == field:
                return decision
        raise KeyError(field)

    def explain(self) -> str:
        """One line per field that did not simply keep the master's value."""
        lines = [
            (
                f"{self.entity_type} {self.master_id} survives; "
                f"merged: {', '.join(map(str, self.merged_ids))}"
            )
        ]
        lines += [
            f"  {d.field}: {d.reason}" for d in self.decisions if d.changed or d.dropped
        ]
        return "\n".join(lines)


def _filled(entity: Entity) -> int:
    return sum(
        not is_empty(getattr(entity, f.name))
        for f in attrs.fields(type(entity))
        if f.name not in {"id", "version", "created_at", "updated_at"}
    )


def choose_master(
    records: Sequence[_E],
    strategy: MasterStrategy,
    *,
    given: UUID | None = None,
    activity: Mapping[UUID, int] | None = None,
) -> MasterChoice:
    """
    Choose the record that survives a merge.

    Args:
        records: The records to merge.
        strategy: How to choose.
        given: The master, for `MasterStrategy.GIVEN` (default: the first record).
        activity: How many linked records point to each record, for
            `MasterStrategy.MOST_ACTIVITY`.

    Raises:
        ValidationError: No records, or ``given`` is not one of them.
    """
    if not records:
        raise ValidationError.single("records", [], "merge.empty", "nothing to merge")
    ids = [r.id for r in records]
    if given is not None and given not in ids:
        raise ValidationError.single(
            "master", given, "merge.master", "is not one of the records merged"
        )
    oldest = min(records, key=lambda r: (r.created_at, ids.index(r.id)))
    if strategy == MasterStrategy.GIVEN or given is not None:
        chosen = given if given is not None else ids[0]
        return MasterChoice(
            master_id=chosen,
            strategy=MasterStrategy.GIVEN,
            reason="named by the caller" if given is not None else "the first given",
        )
    if strategy == MasterStrategy.OLDEST:
        return MasterChoice(
            master_id=oldest.id,
            strategy=strategy,
            reason=f"the oldest record (created {oldest.created_at.isoformat()})",
        )
    if strategy == MasterStrategy.MOST_COMPLETE:
        best = max(records, key=lambda r: (_filled(r), -_age_rank(records, r)))
        return MasterChoice(
            master_id=best.id,
            strategy=strategy,
            reason=f"the most complete record ({_filled(best)} fields filled)",
        )
    counts = activity or {}
    best = max(records, key=lambda r: (counts.get(r.id, 0), -_age_rank(records, r)))
    return MasterChoice(
        master_id=best.id,
        strategy=strategy,
        reason=f"the most linked records ({counts.get(best.id, 0)})",
    )


def _age_rank(records: Sequence[Entity], record: Entity) -> int:
    ordered = sorted(records, key=lambda r: r.created_at)
    return ordered.index(record)


def survive(
    master: _E,
    others: Sequence[_E],
    policy: MergePolicy | None = None,
    *,
    changed_at: Mapping[UUID, Mapping[str, datetime]] | None = None,
) -> Survivorship:
    """
    Compute the surviving value of every field, without storage.

    Args:
        master: The record that survives; it comes first in master order.
        others: The records merged into it, in master order.
        policy: The rules; default: `person_policy` or `organization_policy`.
        changed_at: When each record's fields last changed (from field history),
            for `Rule.MOST_RECENT`; a field missing there counts as changed at
            its record's `updated_at`.

    Raises:
        ValidationError: Records of another type than the policy's, or a record
            given twice.
    """
    records = [master, *others]
    _check_records(records, policy)
    policy = policy or default_policy(master.entity_type)
    times = changed_at or {}
    decisions = tuple(
        _decide(name, rule, records, policy, times)
        for name, rule in policy.rules().items()
    )
    return Survivorship(
        entity_type=master.entity_type,
        master_id=master.id,
        merged_ids=tuple(r.id for r in others),
        decisions=decisions,
    )


def _check_records(records: Sequence[Entity], policy: MergePolicy | None) -> None:
    cls = type(records[0])
    expected = mergeable_types().get(cls.entity_type)
    if expected is not cls:
        raise ValidationError.single(
            "master", cls.__name__, "merge.type", "persons and organisations merge"
        )
    for index, record in enumerate(records):
        if type(record) is not cls:
            raise ValidationError.single(
                f"records[{index}]",
                type(record).__name__,
                "merge.kinds",
                f"cannot merge a {record.entity_type} with a {cls.entity_type}",
            )
    if policy is not None and policy.entity_type != cls.entity_type:
        raise ValidationError.single(
            "policy.entity_type",
            policy.entity_type,
            "merge.policy",
            f"the records are {cls.entity_type}s",
        )
    ids = [r.id for r in records]
    twice = sorted({i for i in ids if ids.count(i) > 1})
    if twice:
        raise ValidationError.single(
            "records", ", ".join(map(str, twice)), "merge.twice", "given twice"
        )


_Candidate = tuple[UUID, Any]


def _decide(
    field: str,
    rule: Rule,
    records: Sequence[Entity],
    policy: MergePolicy,
    times: Mapping[UUID, Mapping[str, datetime]],
) -> FieldDecision:
    master_value = getattr(records[0], field)
    filled = [
        (r.id, getattr(r, field)) for r in records if not is_empty(getattr(r, field))
    ]
    if rule == Rule.UNION:
        value, sources, dropped, reason = _union(field, filled, master_value)
    elif rule == Rule.CONCATENATE:
        value, sources, reason = _concatenate(filled, policy.separator)
        dropped = ()
    else:
        chosen, reason = _pick(field, rule, records, filled, times)
        value = master_value if chosen is None else chosen[1]
        sources = (records[0].id,) if chosen is None else (chosen[0],)
        dropped = tuple(Dropped(i, v) for i, v in filled if v != value)
    return FieldDecision(
        field=field,
        rule=rule,
        value=value,
        sources=sources,
        dropped=dropped,
        reason=reason,
        changed=value != master_value,
    )


def _pick(  # noqa: PLR0911 - one return per rule
    field: str,
    rule: Rule,
    records: Sequence[Entity],
    filled: list[_Candidate],
    times: Mapping[UUID, Mapping[str, datetime]],
) -> tuple[_Candidate | None, str]:
    """The candidate a single-value rule picks (None: the master's, empty)."""
    master = records[0]
    if rule == Rule.MASTER:
        return (master.id, getattr(master, field)), "master wins"
    if not filled:
        return None, "empty in every record"
    order = [r.id for r in records]
    if rule == Rule.MOST_RECENT:
        updated = {r.id: r.updated_at for r in records}

        def when(candidate: _Candidate) -> datetime:
            return times.get(candidate[0], {}).get(field, updated[candidate[0]])

        best = max(filled, key=lambda c: (when(c), -order.index(c[0])))
        return best, f"most recent: changed {when(best).isoformat()} in {best[0]}"
    if rule == Rule.MOST_COMPLETE:
        best = max(filled, key=lambda c: (_completeness(c[1]), -order.index(c[0])))
        return best, f"most complete ({_completeness(best[1])}) from {best[0]}"
    if rule in {Rule.MAX, Rule.MIN}:
        try:
            pick = max if rule == Rule.MAX else min
            best = pick(filled, key=lambda c: c[1])
        except (TypeError, CrmError) as error:
            first = filled[0]
            return first, (
                f"first non-empty value, from {first[0]}: the values do not "
                f"compare ({error})"
            )
        return best, f"{rule.value} of {len(filled)} values, from {best[0]}"
    first = filled[0]
    where = "the master" if first[0] == master.id else str(first[0])
    return first, f"first non-empty value in master order, from {where}"


def _completeness(value: Any) -> int:
    if isinstance(value, str | tuple | frozenset | Mapping):
        return len(value)
    if attrs.has(type(value)):
        return sum(
            not is_empty(getattr(value, f.name)) for f in attrs.fields(type(value))
        )
    return 1


def _concatenate(
    filled: list[_Candidate], separator: str
) -> tuple[Any, tuple[UUID, ...], str]:
    texts: list[str] = []
    sources: list[UUID] = []
    for record_id, text in filled:
        if text not in texts:
            texts.append(text)
            sources.append(record_id)
    if not texts:
        return None, (), "empty in every record"
    return (
        separator.join(texts),
        tuple(sources),
        f"{len(texts)} distinct values concatenated, in master order",
    )


def _union(
    field: str, filled: list[_Candidate], master_value: Any
) -> tuple[Any, tuple[UUID, ...], tuple[Dropped, ...], str]:
    if not filled:
        return master_value, (), (), "empty in every record"
    if isinstance(master_value, Mapping):
        return _union_mappings(filled, master_value)
    kept: dict[Hashable, Any] = {}
    sources: list[UUID] = []
    dropped: list[Dropped] = []
    for record_id, items in filled:
        contributed = False
        for item in items:
            key = item_key(field, item)
            if key not in kept:
                kept[key] = item
                contributed = True
            elif kept[key] != item and not _same_role(kept[key], item):
                dropped.append(Dropped(record_id, item))
        if contributed:
            sources.append(record_id)
    values: Iterable[Any] = kept.values()
    if field == "roles":
        values = _one_primary(values)
    value: Any = (
        frozenset(values) if isinstance(master_value, frozenset) else tuple(values)
    )
    secondary = len(value) - len(master_value)
    return (
        value,
        tuple(sources),
        tuple(dropped),
        (
            f"union of the records' items: {len(value)} kept, {secondary} added "
            f"after the master's, {len(dropped)} variants not kept"
        ),
    )


def _same_role(kept: Any, item: Any) -> bool:
    """A role that differs only by being primary is the same role."""
    return (
        isinstance(kept, OrganizationRole)
        and isinstance(item, OrganizationRole)
        and attrs.evolve(item, is_primary=kept.is_primary) == kept
    )


def _one_primary(roles: Iterable[OrganizationRole]) -> list[OrganizationRole]:
    """Keep the first primary role primary; the others become secondary roles."""
    result: list[OrganizationRole] = []
    seen = False
    for role in roles:
        if role.is_primary and seen:
            role = attrs.evolve(role, is_primary=False)  # noqa: PLW2901 - the demoted role
        seen = seen or role.is_primary
        result.append(role)
    return result


def _union_mappings(
    filled: list[_Candidate], master_value: Mapping[str, Any]
) -> tuple[Any, tuple[UUID, ...], tuple[Dropped, ...], str]:
    merged: dict[str, Any] = {}
    sources: list[UUID] = []
    dropped: list[Dropped] = []
    for record_id, mapping in filled:
        contributed = False
        for key, item in mapping.items():
            if key not in merged:
                merged[key] = item
                contributed = True
            elif merged[key] != item:
                dropped.append(Dropped(record_id, {key: item}))
        if contributed:
            sources.append(record_id)
    added = len(merged) - len(master_value)
    return (
        immutabledict(merged),
        tuple(sources),
        tuple(dropped),
        (
            f"keys of the records united: {added} added to the master's, "
            f"{len(dropped)} conflicting values not kept"
        ),
    )
