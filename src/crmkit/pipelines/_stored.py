"""
Pipelines meet storage: deals stored with their moves, and stored leads converted.

`store_moves` writes what a pipeline returned in one unit of work: the deal, its
stage history (`crmkit.repositories.StageHistoryRepository`: one row a stay, with
its entry and exit time and actor, and the probability in force at entry) and its
events, so the caller's commit stores all three or none. `stage_visits` and
`stage_visits_of` read the history back, per deal or in bulk.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any, TypeVar
from uuid import UUID

from crmkit.ids import UserId
from crmkit.model import Deal, Lead, Organization, Person
from crmkit.pipelines._deals import DealPipeline, ProbabilityOverridden
from crmkit.pipelines._engine import Moved, StateChanged
from crmkit.pipelines._leads import (
    DEFAULT_FIELD_MAP,
    Conversion,
    FieldMap,
    RecordMatch,
    check_convertible,
    convert_lead,
    mapped_values,
)
from crmkit.pipelines._matching import (
    LeadMatcher,
    MatchDecision,
    match_organization,
    match_person,
)
from crmkit.repositories import StageEntry, StageVisit, UnitOfWork, contains

__all__ = [
    "convert_stored_lead",
    "stage_visits",
    "stage_visits_of",
    "store_moves",
]

_R = TypeVar("_R", Person, Organization)


def _write_history(uow: UnitOfWork, events: Iterable[Any]) -> None:
    """Write the stage entries and overrides among ``events``, in order."""
    entries: list[StageEntry] = []
    for event in events:
        kind = type(event)
        if kind is StateChanged and event.entity_type == Deal.entity_type:
            entries.append(
                StageEntry(
                    deal_id=event.entity_id,
                    pipeline=event.lifecycle,
                    stage=event.target,
                    at=event.at,
                    actor=event.actor,
                    probability=event.probability,
                )
            )
        elif kind is ProbabilityOverridden:
            uow.stage_history.enter(entries)
            entries = []
            uow.stage_history.override(
                event.entity_id, event.new, at=event.at, actor=event.actor
            )
    uow.stage_history.enter(entries)


def store_moves(uow: UnitOfWork, moves: Iterable[Moved[Deal]]) -> None:
    """
    Store deals as pipelines returned them, inside ``uow``.

    A deal at version 1 (from `DealPipeline.open`) is added, any other updated;
    its stage entries and overrides go to ``uow.stage_history`` and its events to
    the outbox. Nothing is stored until the caller commits ``uow``, and then all is.

    Raises:
        ConcurrencyError: A deal was changed by someone else since it was read.
        AlreadyExists: A new deal's id is taken.
    """
    batch = list(moves)
    new: dict[UserId | None, list[Deal]] = {}
    for moved in batch:
        if moved.entity.version == 1:
            new.setdefault(_actor(moved), []).append(moved.entity)
    for actor, deals in new.items():
        uow.deals.add_many(deals, actor=actor)
    for moved in batch:
        if moved.entity.version != 1:
            uow.deals.update(moved.entity, actor=_actor(moved))
    events = [event for moved in batch for event in moved.events]
    _write_history(uow, events)
    uow.record_many(events)


def _actor(moved: Moved[Deal]) -> UserId | None:
    actor: UserId | None = next(
        (e.actor for e in moved.events if getattr(e, "actor", None) is not None), None
    )
    return actor


def stage_visits(uow: UnitOfWork, deal_id: UUID) -> tuple[StageVisit, ...]:
    """
    The stays of one stored deal, oldest first.

    Raises:
        NotFound: No such deal.
    """
    uow.deals.get(deal_id, include_archived=True)
    return tuple(uow.stage_history.visits(deal_id))


def stage_visits_of(
    uow: UnitOfWork,
    deal_ids: Iterable[UUID] | None = None,
    *,
    pipeline: str | None = None,
    size: int = 1000,
) -> dict[UUID, tuple[StageVisit, ...]]:
    """
    The stays of many stored deals: those given, or every deal (of ``pipeline``).

    Deals are read ``size`` at a time, and each batch's stays in bulk.

    Raises:
        NotFound: A given id that is not a stored deal.
    """
    if deal_ids is not None:
        batches: Iterable[list[Deal]] = [uow.deals.get_many(deal_ids)]
    else:
        where = None if pipeline is None else {"pipeline": pipeline}
        batches = uow.deals.batches(size=size, where=where)
    found: dict[UUID, tuple[StageVisit, ...]] = {}
    for batch in batches:
        stays = uow.stage_history.visits_of(deal.id for deal in batch)
        found.update((deal_id, tuple(visits)) for deal_id, visits in stays.items())
    return found


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
    matcher: LeadMatcher | None = None,
    create_person: bool = False,
    create_organization: bool = False,
) -> Conversion:
    """
    Convert a stored lead inside ``uow``, reusing records named by id or matched.

    With a ``matcher``, a person and an organisation not named by id are looked
    for as `find_conversion_matches` does (its module says the rule): one sure
    match is reused, and ``conversion.matches`` says why; no match creates one;
    several, or only possible ones, refuse the conversion (`AmbiguousMatch` names
    the candidates) until the caller names one by id or asks for a new record.

    New records are added, reused ones, the lead and its moved activities are
    updated, and every event goes to the outbox; nothing is stored until the
    caller commits ``uow``. The lead's activities are found through the index of
    the ids activities hold (``where={"lead_ids": contains(lead_id)}``), not by
    reading every activity.

    Args:
        uow: Where everything is read and written.
        lead_id: The lead to convert.
        at: When.
        actor: Who converts it.
        person_id: A person to reuse (no person is matched).
        organization_id: An organisation to reuse (none is matched).
        deal_id: A deal to reuse; else one opens in ``pipeline``, if given.
        pipeline: Where a new deal opens.
        deal_name: The new deal's name.
        field_map: Which lead field fills which field.
        matcher: What to match the lead against (none: only records named by id
            are reused).
        create_person: Create a new person without matching (the caller
            decided the candidates are other people).
        create_organization: Likewise for the organisation.

    Raises:
        NotFound: The lead, or a record to reuse, is not stored.
        TransitionNotAllowed: The lead is already converted, or disqualified.
        AmbiguousMatch: Matching found several candidates, or only possible ones.
    """
    lead = uow.leads.get(lead_id)
    check_convertible(lead)
    person = None if person_id is None else uow.people.get(person_id)
    organization = (
        None if organization_id is None else uow.organizations.get(organization_id)
    )
    matches: list[RecordMatch] = []
    if matcher is not None:
        if person is None and not create_person:
            person = _matched(match_person(uow, lead, matcher), lead, matches)
        if organization is None and not create_organization:
            name = mapped_values(lead, field_map.organization, Organization).get("name")
            found = match_organization(uow, name, matcher, person=person)
            organization = _matched(found, lead, matches)
    activities = [
        activity
        for batch in uow.activities.batches(where={"lead_ids": contains(lead_id)})
        for activity in batch
    ]
    conversion = convert_lead(
        lead,
        at=at,
        actor=actor,
        person=person,
        organization=organization,
        deal=None if deal_id is None else uow.deals.get(deal_id),
        pipeline=pipeline,
        deal_name=deal_name,
        activities=activities,
        field_map=field_map,
        matches=matches,
    )
    for entity in conversion.new:
        uow.repository(type(entity)).add(entity, actor=actor)
    for entity in conversion.changed:
        uow.repository(type(entity)).update(entity, actor=actor)
    _write_history(uow, conversion.events)
    uow.record_many(conversion.events)
    return conversion


def _matched(
    decision: MatchDecision[_R], lead: Lead, matches: list[RecordMatch]
) -> _R | None:
    """The record a decision reuses, its match kept; refused when undecided."""
    record = decision.chosen(lead.id)
    if decision.match is not None:
        matches.append(decision.match)
    return record
