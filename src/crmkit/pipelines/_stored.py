"""
Pipelines meet storage: stage history, and lead conversion by explicit ids.

Stage history is read back per deal or in bulk; a stored lead is converted in one
unit of work.

Every repository already records each field change of a stored deal (stage,
probability, status) with its version, actor and time: that field history is the
durable stage history, so no second table duplicates it. These functions rebuild
`StageVisit` values from it; a deal's first stay starts at its creation (its
creator is not in the field history, so that stay's ``entered_by`` is `None`). A
`HistoryPolicy` that limits the deal fields it tracks must keep ``pipeline``,
``stage``, ``probability`` and ``status``.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from datetime import datetime
from itertools import groupby
from typing import Any
from uuid import UUID

from crmkit.ids import UserId
from crmkit.model import Deal
from crmkit.pipelines._deals import DealPipeline
from crmkit.pipelines._history import StageVisit
from crmkit.pipelines._leads import (
    DEFAULT_FIELD_MAP,
    Conversion,
    FieldMap,
    convert_lead,
)
from crmkit.repositories import FieldHistoryEntry, UnitOfWork

__all__ = [
    "convert_stored_lead",
    "stage_visits",
    "stage_visits_of",
    "visits_from_field_history",
]

_TRACKED = ("pipeline", "stage", "probability", "status")


def _initial(deal: Deal, entries: Sequence[FieldHistoryEntry]) -> dict[str, Any]:
    """The tracked fields as they were at version 1."""
    current = {
        "pipeline": deal.pipeline,
        "stage": deal.stage,
        "probability": None if deal.probability is None else deal.probability.value,
        "status": str(deal.status),
    }
    for name in _TRACKED:
        first = next((e for e in entries if e.field == name), None)
        if first is not None:
            current[name] = first.old
    return current


def visits_from_field_history(
    deal: Deal, entries: Iterable[FieldHistoryEntry]
) -> tuple[StageVisit, ...]:
    """
    Rebuild a deal's stays from its field history (oldest entry first).

    A version that changes the stage (or pipeline) ends one stay and starts the
    next, at that version's probability; a version that changes only the
    probability, without a status change, is an owner's override.
    """
    ordered = sorted(
        (e for e in entries if e.entity_id == deal.id and e.field in _TRACKED),
        key=lambda e: e.version,
    )
    values = _initial(deal, ordered)
    visits = list(_visits(deal, values, ordered))
    return tuple(visits)


def _visits(
    deal: Deal, values: dict[str, Any], entries: Sequence[FieldHistoryEntry]
) -> Iterator[StageVisit]:
    visit = StageVisit(
        deal_id=deal.id,
        pipeline=values["pipeline"],
        stage=values["stage"],
        entered_at=deal.created_at,
        entered_by=None,
        probability=values["probability"],
    )
    for _, group in groupby(entries, key=lambda e: e.version):
        changes = {entry.field: entry for entry in group}
        first = next(iter(changes.values()))
        for name, entry in changes.items():
            values[name] = entry.new
        if "stage" in changes or "pipeline" in changes:
            yield _ended(visit, first)
            visit = StageVisit(
                deal_id=deal.id,
                pipeline=values["pipeline"],
                stage=values["stage"],
                entered_at=first.at,
                entered_by=first.actor,
                probability=values["probability"],
            )
        elif "probability" in changes and "status" not in changes:
            visit = _overridden(visit, first, values["probability"])
    yield visit


def _ended(visit: StageVisit, entry: FieldHistoryEntry) -> StageVisit:
    return StageVisit(
        deal_id=visit.deal_id,
        pipeline=visit.pipeline,
        stage=visit.stage,
        entered_at=visit.entered_at,
        entered_by=visit.entered_by,
        exited_at=entry.at,
        exited_by=entry.actor,
        probability=visit.probability,
        override=visit.override,
        override_by=visit.override_by,
    )


def _overridden(
    visit: StageVisit, entry: FieldHistoryEntry, probability: float | None
) -> StageVisit:
    return StageVisit(
        deal_id=visit.deal_id,
        pipeline=visit.pipeline,
        stage=visit.stage,
        entered_at=visit.entered_at,
        entered_by=visit.entered_by,
        probability=visit.probability,
        override=probability,
        override_by=entry.actor,
    )


def stage_visits(uow: UnitOfWork, deal_id: UUID) -> tuple[StageVisit, ...]:
    """
    The stays of one stored deal, oldest first.

    Raises:
        NotFound: No such deal.
    """
    deal = uow.deals.get(deal_id, include_archived=True)
    return visits_from_field_history(deal, uow.deals.history(deal_id))


def stage_visits_of(
    uow: UnitOfWork,
    deal_ids: Iterable[UUID] | None = None,
    *,
    pipeline: str | None = None,
    size: int = 1000,
) -> dict[UUID, tuple[StageVisit, ...]]:
    """
    The stays of many stored deals: those given, or every deal (of ``pipeline``).

    Raises:
        NotFound: A given id that is not a stored deal.
    """
    if deal_ids is not None:
        deals: Iterable[Deal] = uow.deals.get_many(deal_ids)
    else:
        where = None if pipeline is None else {"pipeline": pipeline}
        deals = (
            deal
            for batch in uow.deals.batches(size=size, where=where)
            for deal in batch
        )
    return {
        deal.id: visits_from_field_history(deal, uow.deals.history(deal.id))
        for deal in deals
    }


def convert_stored_lead(
    uow: UnitOfWork,
    lead_id: UUID,
    *,
    at: datetime,
    actor: UserId | None = None,
    person_id: UUID | None = None,
    organization_id: UUID | None = None,
    deal_id: UUID | None = None,
    pipeline: DealPipeline | None = None,
    deal_name: str | None = None,
    field_map: FieldMap = DEFAULT_FIELD_MAP,
) -> Conversion:
    """
    Convert a stored lead, reusing the records named by id, inside ``uow``.

    New records are added, reused ones, the lead and its moved activities are
    updated, and every event goes to the outbox; nothing is stored until the
    caller commits ``uow``. The lead's activities are found by scanning them.

    Raises:
        NotFound: The lead, or a record to reuse, is not stored.
        TransitionNotAllowed: The lead is already converted, or disqualified.
    """
    lead = uow.leads.get(lead_id)
    activities = [
        activity
        for batch in uow.activities.batches()
        for activity in batch
        if lead_id in activity.lead_ids
    ]
    conversion = convert_lead(
        lead,
        at=at,
        actor=actor,
        person=None if person_id is None else uow.people.get(person_id),
        organization=(
            None if organization_id is None else uow.organizations.get(organization_id)
        ),
        deal=None if deal_id is None else uow.deals.get(deal_id),
        pipeline=pipeline,
        deal_name=deal_name,
        activities=activities,
        field_map=field_map,
    )
    for entity in conversion.new:
        uow.repository(type(entity)).add(entity, actor=actor)
    for entity in conversion.changed:
        uow.repository(type(entity)).update(entity, actor=actor)
    for event in conversion.events:
        uow.record(event)
    return conversion
