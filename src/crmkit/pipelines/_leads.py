"""
The lead lifecycle and lead conversion.

`LEAD_LIFECYCLE` moves a `crmkit.model.Lead` through new, contacted, qualified,
disqualified (with a reason) and converted. `convert_lead` is pure: given the lead,
the records to reuse (named by id, or found by `find_conversion_matches`) and the
lead's activities, it returns every record to create or update. Reused records
only get their blank fields filled, never overwritten. A converted lead is final
and read-only (`update_lead` refuses it), and converting it again is refused.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any, Final
from uuid import UUID

import attrs
from immutabledict import immutabledict

from crmkit.errors import InvalidDefinition, TransitionNotAllowed
from crmkit.ids import UserId
from crmkit.model import (
    Activity,
    Deal,
    Entity,
    Lead,
    Organization,
    OrganizationRole,
    PartyKind,
    PartyRef,
    Person,
    Updated,
)
from crmkit.pipelines._deals import DealPipeline
from crmkit.pipelines._engine import apply, evolve_trusted, find_allowed, utc
from crmkit.pipelines._guards import is_blank
from crmkit.pipelines._lifecycle import Lifecycle, State, Transition

__all__ = [
    "DEFAULT_FIELD_MAP",
    "LEAD_LIFECYCLE",
    "Conversion",
    "FieldMap",
    "LeadConverted",
    "RecordMatch",
    "check_convertible",
    "convert_lead",
    "disqualify_lead",
    "mapped_values",
    "update_lead",
]

_OPEN: Final = ("new", "contacted", "qualified")

LEAD_LIFECYCLE: Final = Lifecycle(
    "lead",
    "status",
    "new",
    [
        State("new"),
        State("contacted"),
        State("qualified"),
        State("disqualified", terminal=True),
        State("converted", terminal=True, on_entry=["lead.converted"]),
    ],
    [
        Transition("contact", "new", "contacted"),
        Transition("qualify", ["new", "contacted"], "qualified"),
        Transition("disqualify", list(_OPEN), "disqualified"),
        Transition("reopen", "disqualified", "new"),
        Transition("convert", list(_OPEN), "converted"),
    ],
)
"""The default lead lifecycle: any open lead may be converted or disqualified."""


def _mapping(value: Any) -> immutabledict[str, str]:
    return immutabledict(value)


@attrs.frozen
class FieldMap:
    """
    Which lead field fills which field of the person, organization and deal.

    Each mapping reads ``{target_field: lead_field}``; a single lead value going to
    a tuple field (``emails``, ``phones``, ``addresses``) becomes a one-item tuple.

    .. versionadded:: 0.1
    """

    person: immutabledict[str, str] = attrs.field(converter=_mapping)
    organization: immutabledict[str, str] = attrs.field(converter=_mapping)
    deal: immutabledict[str, str] = attrs.field(converter=_mapping)

    def __attrs_post_init__(self) -> None:
        lead_fields = attrs.fields_dict(Lead)
        for side, cls in (
            ("person", Person),
            ("organization", Organization),
            ("deal", Deal),
        ):
            targets = attrs.fields_dict(cls)
            for target, source in getattr(self, side).items():
                if target not in targets:
                    raise InvalidDefinition(
                        f"{side}.{target}", f"{cls.__name__} has no such field"
                    )
                if source not in lead_fields:
                    raise InvalidDefinition(
                        f"{side}.{target}", f"Lead has no field {source!r}"
                    )


DEFAULT_FIELD_MAP: Final = FieldMap(
    person={
        "salutation": "salutation",
        "first_name": "first_name",
        "last_name": "last_name",
        "job_title": "job_title",
        "emails": "email",
        "phones": "phone",
        "addresses": "address",
        "owner_id": "owner_id",
        "source": "source",
        "consents": "consents",
    },
    organization={
        "name": "company_name",
        "industry": "industry",
        "employees": "employees",
        "annual_revenue": "annual_revenue",
        "website": "website",
        "addresses": "address",
        "owner_id": "owner_id",
        "source": "source",
    },
    deal={
        "owner_id": "owner_id",
        "team_id": "team_id",
        "campaign_id": "campaign_id",
        "source": "source",
    },
)
"""The usual mapping: identity to the person, company to the organization."""


@attrs.frozen(kw_only=True)
class RecordMatch:
    """
    A stored record that may be the one a lead names, and why.

    Attributes:
        kind: ``"person"`` or ``"organization"``.
        record_id: The stored record's id.
        probability: The dedup model's match probability; `None` for an exact
            rule (an organisation with the same normalised name).
        reason: Why it matches, in words.
        explanation: The evidence field by field, as `crmkit.dedup` explains a
            pair (people only; empty otherwise).

    .. versionadded:: 0.1
    """

    kind: str
    record_id: UUID
    probability: float | None
    reason: str
    explanation: str = ""


@attrs.frozen(kw_only=True)
class LeadConverted:
    """
    Domain event: a lead became a person, an organization and a deal.

    ``created`` names the records made new (the others were reused);
    ``matched`` says which reused records were found by matching, and why.

    .. versionadded:: 0.1
    """

    lead_id: Any
    person_id: Any | None
    organization_id: Any | None
    deal_id: Any | None
    created: tuple[str, ...]
    at: datetime
    actor: UserId | None
    matched: tuple[RecordMatch, ...] = ()


@attrs.frozen(kw_only=True)
class Conversion:
    """
    Everything a conversion changes; store it in one unit of work.

    ``new`` lists records to add, ``changed`` records to update (reused records,
    moved activities and the lead itself); ``matches`` says which reused records
    were found by matching, and why.

    .. versionadded:: 0.1
    """

    lead: Lead
    person: Person | None
    organization: Organization | None
    deal: Deal | None
    activities: tuple[Activity, ...]
    new: tuple[Entity, ...]
    changed: tuple[Entity, ...]
    events: tuple[Any, ...]
    matches: tuple[RecordMatch, ...] = ()


def update_lead(
    lead: Lead, changes: Mapping[str, Any], *, at: datetime, actor: UserId | None = None
) -> Updated[Lead]:
    """
    Change a lead, unless it is converted (a converted lead is read-only).

    Raises:
        TransitionNotAllowed: The lead is converted.
        ValidationError: As `Entity.update`.
    """
    if lead.status == "converted":
        raise TransitionNotAllowed(
            lead.id, lead.status, "update", "a converted lead is read-only"
        )
    return lead.update(changes, at=at, actor=actor)


def disqualify_lead(
    lead: Lead, reason: str, *, at: datetime, actor: UserId | None = None
) -> tuple[Lead, tuple[Any, ...]]:
    """
    Disqualify a lead for ``reason`` (required), through `LEAD_LIFECYCLE`.

    Raises:
        TransitionNotAllowed: No reason, or a lead that cannot be disqualified.
    """
    cleaned = reason.strip() if isinstance(reason, str) else ""
    if not cleaned:
        raise TransitionNotAllowed(
            lead.id,
            lead.status,
            "disqualify",
            "a disqualified lead needs a reason",
            target="disqualified",
        )
    moved = apply(LEAD_LIFECYCLE, lead, "disqualify", at=at, actor=actor)
    return evolve_trusted(moved.entity, {"disqualified_reason": cleaned}), moved.events


def mapped_values(lead: Lead, mapping: Mapping[str, str], cls: type) -> dict[str, Any]:
    """The lead's values for ``cls`` through one side of a field map (no blanks)."""
    fields = attrs.fields_dict(cls)
    values = {}
    for target, source in mapping.items():
        value = getattr(lead, source)
        if is_blank(value):
            continue
        if str(fields[target].type).startswith("tuple") and not isinstance(
            value, tuple
        ):
            value = (value,)
        values[target] = value
    return values


@attrs.define
class _Work:
    """What a conversion has done so far: new records, changed ones, events."""

    lead: Lead
    at: datetime
    actor: UserId | None
    new: list[Entity] = attrs.Factory(list)
    events: list[Any] = attrs.Factory(list)
    _updates: dict[Any, tuple[Entity, dict[str, Any], Updated[Any]]] = attrs.Factory(
        dict
    )

    def reuse(self, entity: Any, values: Mapping[str, Any]) -> Any:
        """Fill only the blank fields of a reused record."""
        blanks = {k: v for k, v in values.items() if is_blank(getattr(entity, k))}
        if not blanks:
            return entity
        return self.update(entity, blanks)

    def update(self, entity: Any, changes: Mapping[str, Any]) -> Any:
        """
        Change a record made new here, or one stored already.

        A stored record gets a single update (one version step), however many
        times the conversion changes it.
        """
        if entity in self.new:
            updated = entity.update(changes, at=self.at, actor=self.actor)
            self.new[self.new.index(entity)] = updated.entity
            return updated.entity
        original, merged, _ = self._updates.get(entity.id, (entity, {}, None))
        merged = {**merged, **changes}
        updated = original.update(merged, at=self.at, actor=self.actor)
        self._updates[entity.id] = (original, merged, updated)
        return updated.entity

    @property
    def changed(self) -> tuple[Entity, ...]:
        """The stored records changed, each at its final state."""
        return tuple(update.entity for _, _, update in self._updates.values())

    @property
    def change_events(self) -> tuple[Any, ...]:
        """One update event per stored record changed."""
        return tuple(update.event for _, _, update in self._updates.values())

    def create(self, cls: type[Any], values: Mapping[str, Any]) -> Any:
        """Create a record at the conversion time."""
        entity = cls.create(at=self.at, **values)
        self.new.append(entity)
        return entity

    def link(self, person: Person, organization: Organization) -> Person:
        """Give the person a role at the organization if it has none there."""
        if any(role.organization_id == organization.id for role in person.roles):
            return person
        role = OrganizationRole(
            organization_id=organization.id,
            title=self.lead.job_title,
            is_primary=not person.roles,
        )
        updated: Person = self.update(person, {"roles": (*person.roles, role)})
        return updated

    def move(
        self, activity: Activity, parties: Iterable[PartyRef], deal: Deal | None
    ) -> Activity:
        """Move an activity from the lead to its new records."""
        linked = list(activity.parties)
        linked += [party for party in parties if party not in linked]
        deals = activity.deal_ids
        if deal is not None and deal.id not in deals:
            deals = (*deals, deal.id)
        changes = {
            "parties": tuple(linked),
            "deal_ids": deals,
            "lead_ids": tuple(i for i in activity.lead_ids if i != self.lead.id),
        }
        moved: Activity = self.update(activity, changes)
        return moved


def convert_lead(
    lead: Lead,
    *,
    at: datetime,
    actor: UserId | None = None,
    person: Person | None = None,
    organization: Organization | None = None,
    deal: Deal | None = None,
    pipeline: DealPipeline | None = None,
    deal_name: str | None = None,
    activities: Iterable[Activity] = (),
    field_map: FieldMap = DEFAULT_FIELD_MAP,
    matches: Iterable[RecordMatch] = (),
) -> Conversion:
    """
    Convert a lead: reuse or create its person, organization and deal.

    Args:
        lead: The lead; it must be open (new, contacted or qualified).
        at: When it is converted.
        actor: Who converts it.
        person: An existing person to reuse (blank fields filled); else one is
            created when the lead names someone.
        organization: An existing organization to reuse; else one is created
            when the lead has a company name.
        deal: An existing deal to reuse; else one is opened in ``pipeline``, if given.
        pipeline: Where a new deal opens.
        deal_name: The new deal's name (default: the company or person's name).
        activities: The lead's activities; they move to the person and deal.
        field_map: Which lead field fills which field.
        matches: Why ``person`` or ``organization`` were chosen, when found by
            matching (kept in the result and the `LeadConverted` event).

    Raises:
        TransitionNotAllowed: The lead is already converted, or disqualified.
        ValidationError: A naive ``at`` or a mapped value the target refuses.
    """
    at = utc(at)
    check_convertible(lead)
    matched = tuple(matches)
    work = _Work(lead, at, actor)
    org_values = mapped_values(lead, field_map.organization, Organization)
    if organization is not None:
        organization = work.reuse(organization, org_values)
    elif "name" in org_values:
        organization = work.create(Organization, org_values)
    person_values = mapped_values(lead, field_map.person, Person)
    if person is not None:
        person = work.reuse(person, person_values)
    elif person_values.keys() & {"first_name", "last_name", "emails", "phones"}:
        person = work.create(Person, person_values)
    if person is not None and organization is not None:
        person = work.link(person, organization)
    deal = _deal(work, deal, pipeline, deal_name, field_map, person, organization)
    parties = [
        PartyRef(kind=kind, id=record.id)
        for kind, record in (
            (PartyKind.PERSON, person),
            (PartyKind.ORGANIZATION, organization),
        )
        if record is not None
    ]
    moved = tuple(
        work.move(activity, parties, deal)
        for activity in activities
        if lead.id in activity.lead_ids
    )
    converted = apply(LEAD_LIFECYCLE, lead, "convert", at=at, actor=actor)
    lead = evolve_trusted(
        converted.entity,
        {
            "converted_at": at,
            "converted_person_id": None if person is None else person.id,
            "converted_organization_id": None
            if organization is None
            else organization.id,
            "converted_deal_id": None if deal is None else deal.id,
        },
    )
    event = LeadConverted(
        lead_id=lead.id,
        person_id=lead.converted_person_id,
        organization_id=lead.converted_organization_id,
        deal_id=lead.converted_deal_id,
        created=tuple(type(e).entity_type for e in work.new),
        at=at,
        actor=actor,
        matched=matched,
    )
    return Conversion(
        lead=lead,
        person=person,
        organization=organization,
        deal=deal,
        activities=moved,
        new=tuple(work.new),
        changed=(*work.changed, lead),
        events=(*work.change_events, *work.events, *converted.events, event),
        matches=matched,
    )


def check_convertible(lead: Lead) -> None:
    """
    Refuse a lead that cannot be converted (converted already, or disqualified).

    Raises:
        TransitionNotAllowed: Naming why.
    """
    if lead.status == "converted":
        raise TransitionNotAllowed(
            lead.id,
            lead.status,
            "convert",
            "the lead is already converted",
            target="converted",
        )
    find_allowed(LEAD_LIFECYCLE, lead, "convert", ())


def _deal(  # noqa: PLR0917 - the conversion's deal options, private
    work: _Work,
    deal: Deal | None,
    pipeline: DealPipeline | None,
    name: str | None,
    field_map: FieldMap,
    person: Person | None,
    organization: Organization | None,
) -> Deal | None:
    lead = work.lead
    values = mapped_values(lead, field_map.deal, Deal)
    values["lead_id"] = lead.id
    if organization is not None:
        values["organization_id"] = organization.id
    if person is not None:
        values["contact_ids"] = (person.id,)
    if deal is not None:
        reused: Deal = work.reuse(deal, values)
        return reused
    if pipeline is None:
        return None
    title = name or lead.company_name or _person_name(lead) or "Converted lead"
    opened = pipeline.open(at=work.at, actor=work.actor, name=title, **values)
    work.new.append(opened.entity)
    work.events.extend(opened.events)
    return opened.entity


def _person_name(lead: Lead) -> str | None:
    name = " ".join(part for part in (lead.first_name, lead.last_name) if part)
    return name or None
