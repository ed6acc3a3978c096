"""
Merge stored records into one, and undo a merge, inside one unit of work.

`plan_merge` reads and decides (the dry run); `merge` applies the plan: the
survivor gets the surviving values, every record pointing to a merged one is
re-pointed to the survivor, the merged records are archived, and a
`crmkit.repositories.MergeRecord` keeps what `unmerge` needs to put it all back.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any
from uuid import UUID

import attrs
import cattrs

from crmkit._validation import aware_utc
from crmkit.dedup._merge_links import (
    Link,
    LinkIndex,
    find_links,
    index_links,
    repoint_self,
)
from crmkit.dedup._survivorship import (
    MasterChoice,
    Survivorship,
    choose_master,
    default_policy,
    survive,
)
from crmkit.dedup._survivorship_policy import MergePolicy, mergeable_types
from crmkit.errors import FieldError, MergeConflict, NotFound, ValidationError
from crmkit.ids import UserId, new_id
from crmkit.model import Entity, EntitySchema, Organization, PartyKind
from crmkit.repositories import UnitOfWork
from crmkit.repositories._merges import ChangeRole, MergeRecord, RecordChange
from crmkit.serialization import from_dict, make_converter, to_dict

__all__ = [
    "MergePlan",
    "MergeUndone",
    "RecordsMerged",
    "merge",
    "merge_groups",
    "plan_merge",
    "survivor_of",
    "unmerge",
]

_BOOKKEEPING = frozenset({"id", "version", "created_at", "updated_at"})


@attrs.frozen(kw_only=True)
class RecordsMerged:
    """
    Domain event: records were merged into a survivor.

    .. versionadded:: 0.1
    """

    entity_type: str
    entity_id: UUID
    merge_id: UUID
    merged_ids: tuple[UUID, ...]
    relinked: int
    at: datetime
    actor: UserId | None


@attrs.frozen(kw_only=True)
class MergeUndone:
    """
    Domain event: a merge was undone; the merged records are back.

    .. versionadded:: 0.1
    """

    entity_type: str
    entity_id: UUID
    merge_id: UUID
    restored_ids: tuple[UUID, ...]
    at: datetime
    actor: UserId | None


@attrs.frozen(kw_only=True)
class MergePlan:
    """
    What a merge will do, decided but not applied: the dry run of `merge`.

    Attributes:
        master: Which record survives, and why.
        survivorship: Each field's surviving value, rule and source.
        survivor: The survivor as it will be stored.
        merged: The records merged into it, as stored now.
        released: The merged records as they will be archived (without the
            external ids that move to the survivor).
        relinked: The records that will point to the survivor, before and after.
        archived_links: Links that would point from the survivor to itself
            (a relationship between two merged records): archived instead.

    .. versionadded:: 0.1
    """

    entity_type: str
    master: MasterChoice
    survivorship: Survivorship
    original: Entity
    survivor: Entity
    merged: tuple[Entity, ...]
    released: tuple[Entity, ...]
    relinked: tuple[tuple[Entity, Entity], ...]
    archived_links: tuple[Entity, ...]

    def explain(self) -> str:
        """The plan in words: master, field decisions, records re-pointed."""
        lines = [
            f"master: {self.master.master_id} ({self.master.reason})",
            self.survivorship.explain(),
        ]
        lines += [
            f"  re-point {before.entity_type} {before.id}"
            for before, _ in self.relinked
        ]
        lines += [
            f"  archive {link.entity_type} {link.id} (it would point to itself)"
            for link in self.archived_links
        ]
        return "\n".join(lines)


def _policy_of(entity_type: str | None, policy: MergePolicy | None) -> MergePolicy:
    """The policy given, else the shipped one of the type (persons by default)."""
    if policy is not None:
        return policy
    return default_policy(entity_type or "person")


def _kind_of(entity_type: str) -> PartyKind:
    return PartyKind.PERSON if entity_type == "person" else PartyKind.ORGANIZATION


def _load(
    uow: UnitOfWork, cls: type[Entity], ids: Sequence[UUID], policy: MergePolicy
) -> list[Entity]:
    """The records to merge, refusing missing, archived, merged or mixed ones."""
    if len(ids) < 2:  # noqa: PLR2004 - a merge takes two records
        raise ValidationError.single(
            "ids", len(ids), "merge.too_few", "a merge needs two records or more"
        )
    if len(ids) > policy.max_records:
        raise ValidationError.single(
            "ids",
            len(ids),
            "merge.limit",
            f"a merge takes at most {policy.max_records} records (the policy's "
            "max_records)",
        )
    twice = sorted({str(i) for i in ids if list(ids).count(i) > 1})
    if twice:
        raise ValidationError.single(
            "ids", ", ".join(twice), "merge.twice", "a record is named twice"
        )
    repository = uow.repository(cls)
    records: list[Entity] = []
    errors: list[FieldError] = []
    for index, entity_id in enumerate(ids):
        path = f"ids[{index}]"
        try:
            records.append(repository.get(entity_id))
            continue
        except NotFound:
            pass
        errors.append(_why_missing(uow, cls, entity_id, path))
    if errors:
        raise ValidationError(errors)
    return records


def _why_missing(
    uow: UnitOfWork, cls: type[Entity], entity_id: UUID, path: str
) -> FieldError:
    try:
        uow.repository(cls).get(entity_id, include_archived=True)
    except NotFound:
        for other in mergeable_types().values():
            if other is cls:
                continue
            try:
                uow.repository(other).get(entity_id, include_archived=True)
            except NotFound:
                continue
            kinds = (
                f"an {other.entity_type}, not a {cls.entity_type}"
                if other is Organization
                else f"a {other.entity_type}, not an {cls.entity_type}"
            )
            return FieldError(
                path,
                entity_id,
                "merge.kinds",
                f"is {kinds}: records of two kinds cannot merge",
            )
        return FieldError(
            path, entity_id, "merge.not_found", f"no {cls.entity_type} with this id"
        )
    for record in reversed(uow.merges.involving(entity_id)):
        if record.undone_at is None and entity_id in record.merged_ids:
            return FieldError(
                path,
                entity_id,
                "merge.already_merged",
                f"was merged into {record.survivor_id} by merge {record.id}",
            )
    return FieldError(path, entity_id, "merge.archived", "is archived")


def _changed_at(
    uow: UnitOfWork, cls: type[Entity], ids: Iterable[UUID]
) -> dict[UUID, dict[str, datetime]]:
    """When each record's fields last changed, from the field history."""
    times: dict[UUID, dict[str, datetime]] = {}
    for entity_id in ids:
        fields: dict[str, datetime] = {}
        for entry in uow.repository(cls).history(entity_id):
            name = entry.field.split(".", maxsplit=1)[0]
            if name not in fields or entry.at > fields[name]:
                fields[name] = entry.at
        times[entity_id] = fields
    return times


def plan_merge(
    uow: UnitOfWork,
    ids: Sequence[UUID],
    *,
    entity_type: str | None = None,
    policy: MergePolicy | None = None,
    master_id: UUID | None = None,
    at: datetime,
    links: LinkIndex | None = None,
) -> MergePlan:
    """
    Decide a merge without applying it (a dry run).

    Args:
        uow: Where the records are.
        ids: The records to merge.
        entity_type: ``"person"`` or ``"organization"``; by default the
            policy's, else ``"person"``.
        policy: Survivorship rules, master strategy and limit; default: the
            shipped policy of the type.
        master_id: The record that survives, overriding the policy's strategy.
        at: When the merge happens.
        links: An index of the records pointing to ``ids``, made once for
            several merges (`merge_groups` makes one); read again here.
            Without it, the records pointing to ``ids`` are found by queries.

    Raises:
        ValidationError: Fewer than two records, more than the limit, a record
            named twice, missing, archived, already merged or of another kind
            (each named by its position in ``ids``).
    """
    at = aware_utc(at, "at")
    policy = _policy_of(entity_type, policy)
    if entity_type is not None and policy.entity_type != entity_type:
        raise ValidationError.single(
            "policy.entity_type",
            policy.entity_type,
            "merge.policy",
            f"the records are {entity_type}s",
        )
    cls = policy.entity_class
    records = _load(uow, cls, ids, policy)
    kind = _kind_of(policy.entity_type)
    linked = find_links(uow, kind, ids, index=links)
    activity: Counter[UUID] = Counter()
    for link in linked:
        activity.update(link.counts)
    choice = choose_master(records, policy.master, given=master_id, activity=activity)
    master = next(r for r in records if r.id == choice.master_id)
    others = [r for r in records if r.id != master.id]
    survivorship = survive(
        master, others, policy, changed_at=_changed_at(uow, cls, ids)
    )
    moves = {r.id: master.id for r in others}
    changes = repoint_self(master, survivorship.changes, moves)
    survivor = master.update(changes, at=at).entity if changes else master
    return MergePlan(
        entity_type=policy.entity_type,
        master=choice,
        survivorship=survivorship,
        original=master,
        survivor=survivor,
        merged=tuple(others),
        released=tuple(_released(r, survivor, at) for r in others),
        relinked=tuple(_relinked(linked, kind, moves, at)),
        archived_links=tuple(_self_links(linked, kind, moves)),
    )


def _released(record: Entity, survivor: Entity, at: datetime) -> Entity:
    """The merged record without the external ids the survivor now holds."""
    held = getattr(survivor, "external_ids", {})
    own = getattr(record, "external_ids", {})
    kept = {k: v for k, v in own.items() if held.get(k) != v}
    if len(kept) == len(own):
        return record
    return record.update({"external_ids": kept}, at=at).entity


def _relinked(
    links: Iterable[Link], kind: PartyKind, moves: Mapping[UUID, UUID], at: datetime
) -> Iterable[tuple[Entity, Entity]]:
    for link in links:
        changes = link.changes(kind, moves)
        if changes and not link.points_to_itself(kind, moves):
            yield link.entity, link.entity.update(changes, at=at).entity


def _self_links(
    links: Iterable[Link], kind: PartyKind, moves: Mapping[UUID, UUID]
) -> Iterable[Entity]:
    return [link.entity for link in links if link.points_to_itself(kind, moves)]


def merge(
    uow: UnitOfWork,
    ids: Sequence[UUID],
    *,
    entity_type: str | None = None,
    policy: MergePolicy | None = None,
    master_id: UUID | None = None,
    at: datetime,
    actor: UserId | None = None,
) -> MergeRecord:
    """
    Merge stored records into one, in ``uow`` (the caller commits).

    The survivor gets the surviving values; every record pointing to a merged
    one (activities, deals, tickets, relationships, orders, converted leads,
    roles, sub-organisations) is re-pointed to the survivor; the merged records
    are archived, never deleted; events are recorded, and the returned
    `MergeRecord` is kept in ``uow.merges`` so that `unmerge` can undo it.

    Raises:
        ValidationError: As `plan_merge`.
    """
    plan = plan_merge(
        uow, ids, entity_type=entity_type, policy=policy, master_id=master_id, at=at
    )
    return apply_plan(uow, plan, at=at, actor=actor)


def merge_groups(
    uow: UnitOfWork,
    groups: Sequence[Sequence[UUID]],
    *,
    entity_type: str | None = None,
    policy: MergePolicy | None = None,
    at: datetime,
    actor: UserId | None = None,
    dry_run: bool = False,
) -> list[tuple[MergePlan, MergeRecord | None]]:
    """
    Merge several groups (the clusters of `find_duplicates`), in ``uow``.

    The records pointing to any of them are found at once, by queries (or by
    one pass over the linking tables, when there are so many records that it
    costs less), instead of once per merge. Each group is planned after the
    previous one is applied; with ``dry_run``, plans are made and nothing is
    written (each plan then sees the records as they are). The caller
    commits: all groups or none.

    Raises:
        ValidationError: As `plan_merge`, with a note naming the group.
    """
    policy = _policy_of(entity_type, policy)
    members = {i for group in groups for i in group}
    index = index_links(uow, _kind_of(policy.entity_type), members)
    done: list[tuple[MergePlan, MergeRecord | None]] = []
    for number, group in enumerate(groups):
        try:
            plan = plan_merge(
                uow, group, entity_type=entity_type, policy=policy, at=at, links=index
            )
        except ValidationError as error:
            error.add_note(f"in group {number} ({', '.join(map(str, group))})")
            raise
        record = None if dry_run else apply_plan(uow, plan, at=at, actor=actor)
        done.append((plan, record))
    return done


def apply_plan(
    uow: UnitOfWork, plan: MergePlan, *, at: datetime, actor: UserId | None = None
) -> MergeRecord:
    """Apply a plan from `plan_merge`, in ``uow``; return the merge record kept."""
    at = aware_utc(at, "at")
    cls = type(plan.survivor)
    repository = uow.repository(cls)
    changes: list[RecordChange] = []
    for before, after in zip(plan.merged, plan.released, strict=True):
        if after is not before:
            repository.update(after, actor=actor)
    if plan.survivor is not plan.original:
        repository.update(plan.survivor, actor=actor)
    changes.append(_change(ChangeRole.SURVIVOR, plan.original, plan.survivor))
    for before, after in zip(plan.merged, plan.released, strict=True):
        repository.delete(after.id, at=at, actor=actor)
        changes.append(_change(ChangeRole.MERGED, before, after, archived=True))
    for before, after in plan.relinked:
        uow.repository(type(after)).update(after, actor=actor)
        changes.append(_change(ChangeRole.LINKED, before, after))
    for link in plan.archived_links:
        uow.repository(type(link)).delete(link.id, at=at, actor=actor)
        changes.append(_change(ChangeRole.LINKED, link, link, archived=True))
    record = MergeRecord(
        id=new_id(at),
        entity_type=plan.entity_type,
        survivor_id=plan.survivor.id,
        merged_ids=tuple(r.id for r in plan.merged),
        at=at,
        actor=actor,
        master_reason=plan.master.reason,
        changes=tuple(changes),
        decisions=tuple(to_dict(d) for d in plan.survivorship.decisions),
    )
    uow.merges.add(record)
    uow.record(
        RecordsMerged(
            entity_type=plan.entity_type,
            entity_id=plan.survivor.id,
            merge_id=record.id,
            merged_ids=record.merged_ids,
            relinked=len(plan.relinked) + len(plan.archived_links),
            at=at,
            actor=actor,
        )
    )
    return record


def _change(
    role: ChangeRole, before: Entity, after: Entity, *, archived: bool = False
) -> RecordChange:
    return RecordChange(
        role=role,
        entity_type=before.entity_type,
        entity_id=before.id,
        before=to_dict(before),
        after=to_dict(after),
        archived=archived,
    )


def survivor_of(uow: UnitOfWork, entity_id: UUID) -> UUID:
    """
    The record that stands for ``entity_id`` now: itself, or its survivor.

    Follows merges that were not undone (a record merged into one that was
    merged in turn), so that an id kept elsewhere (an invoice, another system)
    still finds its customer.
    """
    current, seen = entity_id, {entity_id}
    while True:
        survivor = next(
            (
                record.survivor_id
                for record in reversed(uow.merges.involving(current))
                if record.undone_at is None and current in record.merged_ids
            ),
            None,
        )
        if survivor is None or survivor in seen:
            return current
        current = survivor
        seen.add(current)


def _entity_class(entity_type: str) -> type[Entity]:
    from crmkit.model import ENTITY_TYPES  # noqa: PLC0415 - a small lookup

    return ENTITY_TYPES[entity_type]


@attrs.frozen
class _Undo:
    """One record's undo: the change, the record now, and what to write."""

    change: RecordChange
    current: Entity
    reverted: dict[str, Any]


def unmerge(
    uow: UnitOfWork,
    merge_id: UUID,
    *,
    at: datetime,
    actor: UserId | None = None,
    schemas: Mapping[type[Entity], EntitySchema] | None = None,
) -> MergeRecord:
    """
    Undo a merge, in ``uow`` (the caller commits): restore the originals and links.

    The survivor and each re-pointed record get back the values the merge
    changed; changes made since to other fields are kept. The merged records are
    restored as they were. Nothing is written when something stands in the way.
    Give the ``schemas`` the database was opened with, so that custom values
    come back typed.

    Raises:
        NotFound: No such merge, or it was undone already.
        MergeConflict: The survivor or a re-pointed record changed since the
            merge in a field the undo would overwrite, or a merged record is no
            longer archived or was changed; every reason is listed.
    """
    at = aware_utc(at, "at")
    record = uow.merges.get(merge_id)
    if record.undone_at is not None:
        raise NotFound("merge", merge_id)
    reasons: list[str] = []
    undos: list[_Undo] = []
    # Without schemas, the shared default converter: building one costs more
    # than the rest of an undo.
    converter = make_converter(schemas=schemas) if schemas else None
    for change in record.changes:
        undo = _plan_undo(uow, change, reasons, converter)
        if undo is not None:
            undos.append(undo)
    if reasons:
        raise MergeConflict(merge_id, tuple(reasons))
    for undo in undos:
        _apply_undo(uow, undo, at=at, actor=actor)
    uow.merges.mark_undone(merge_id, at=at, actor=actor)
    uow.record(
        MergeUndone(
            entity_type=record.entity_type,
            entity_id=record.survivor_id,
            merge_id=merge_id,
            restored_ids=record.merged_ids,
            at=at,
            actor=actor,
        )
    )
    return uow.merges.get(merge_id)


def _plan_undo(
    uow: UnitOfWork,
    change: RecordChange,
    reasons: list[str],
    converter: cattrs.Converter | None,
) -> _Undo | None:
    cls = _entity_class(change.entity_type)
    name = f"{change.entity_type} {change.entity_id}"
    repository = uow.repository(cls)
    try:
        current = repository.get(change.entity_id, include_archived=True)
    except NotFound:
        reasons.append(f"{name} no longer exists")
        return None
    try:
        repository.get(change.entity_id)
        archived = False
    except NotFound:
        archived = True
    after = from_dict(cls, change.after, converter=converter)
    before = from_dict(cls, change.before, converter=converter)
    if change.archived:
        if not archived:
            reasons.append(f"{name} was restored since the merge")
        elif current != after:
            reasons.append(f"{name} was changed since the merge")
        return _Undo(change, current, _differences(before, after))
    if archived:
        reasons.append(_why_archived(uow, name, change.entity_id))
        return None
    reverted: dict[str, Any] = {}
    for field, old in _differences(before, after).items():
        if getattr(current, field) != getattr(after, field):
            reasons.append(
                f"{name}: {field} changed since the merge (now version "
                f"{current.version}, the merge left version {after.version})"
            )
        else:
            reverted[field] = old
    return _Undo(change, current, reverted)


def _why_archived(uow: UnitOfWork, name: str, entity_id: UUID) -> str:
    for later in reversed(uow.merges.involving(entity_id)):
        if later.undone_at is None and entity_id in later.merged_ids:
            return (
                f"{name} was merged into {later.survivor_id} by merge {later.id} "
                "since; undo that merge first"
            )
    return f"{name} was archived since the merge"


def _differences(before: Entity, after: Entity) -> dict[str, Any]:
    """The fields the merge changed, with their values before it."""
    return {
        f.name: getattr(before, f.name)
        for f in attrs.fields(type(before))
        if f.name not in _BOOKKEEPING
        and getattr(before, f.name) != getattr(after, f.name)
    }


def _apply_undo(
    uow: UnitOfWork, undo: _Undo, *, at: datetime, actor: UserId | None
) -> None:
    repository = uow.repository(type(undo.current))
    entity_id = undo.change.entity_id
    if undo.change.archived:
        repository.restore(entity_id, at=at, actor=actor)
    if undo.reverted:
        repository.update(undo.current.update(undo.reverted, at=at).entity, actor=actor)
