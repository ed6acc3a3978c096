"""
Which stored person and organisation a lead names: matching before conversion.

The rule, in order:

- **Person.** The lead is checked against the people of a `crmkit.dedup.DedupIndex`
  (never against leads, itself included). A person is reused when the index
  declares exactly one stored person a match, or when, among several matches,
  exactly one has the lead's email address (an address identifies a person, as
  HubSpot has it). Several matches otherwise, or only possible ones (not declared
  a match, but at least ``possible`` probable), leave the choice to the caller:
  reusing one would be a guess, creating a new one a probable duplicate.
- **Organization.** The lead's company name is compared normalised (case,
  accents, ``&``/et/and and legal forms do not count: "ACME SAS" is "Acme").
  First among the organisations of the person reused (primary role first), then
  among every stored organisation (`OrganizationNames`). One found is reused, none
  means a new one, two or more leave the choice to the caller.

Candidates the index or the names remember but the store no longer has (deleted,
archived, merged away, renamed) are left out: the store is the truth.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Final, Generic, TypeVar
from uuid import UUID

import attrs

from crmkit.errors import AmbiguousMatch, ValidationError
from crmkit.model import Lead, Organization, Person
from crmkit.pipelines._leads import (
    DEFAULT_FIELD_MAP,
    FieldMap,
    RecordMatch,
    mapped_values,
)
from crmkit.pipelines._names import OrganizationNames
from crmkit.repositories import Database, Repository, UnitOfWork, in_

if TYPE_CHECKING:
    from crmkit.dedup import Candidate, DedupConfig, DedupIndex

__all__ = [
    "ConversionMatches",
    "LeadMatcher",
    "MatchDecision",
    "find_conversion_matches",
    "match_organization",
    "match_person",
]

_R = TypeVar("_R", Person, Organization)
_E = TypeVar("_E", Person, Organization)
_PERSON: Final = Person.entity_type
_ORGANIZATION: Final = Organization.entity_type


class LeadMatcher:
    """
    What lead conversion matches a lead against: people, and organisations by name.

    Build it from a database with `build`; after each commit that changes people
    or organisations (a conversion does), `catch_up` brings it current.

    Args:
        people: The stored people (and leads), as `crmkit.dedup.build_index`
            indexes them.
        organizations: The stored organisations by normalised name.
        possible: The probability from which a person the index does not declare
            a match still counts as a possible one (the caller must choose).

    Raises:
        ValidationError: ``possible`` outside [0, 1].

    .. versionadded:: 0.1
    """

    def __init__(
        self,
        people: DedupIndex,
        organizations: OrganizationNames,
        *,
        possible: float = 0.5,
    ) -> None:
        if not 0.0 <= possible <= 1.0:
            raise ValidationError.single(
                "possible", possible, "range", "a probability is in [0, 1]"
            )
        self.people = people
        self.organizations = organizations
        self.possible = possible

    @classmethod
    def build(
        cls,
        database: Database,
        *,
        config: DedupConfig | None = None,
        possible: float = 0.5,
        batch_size: int = 1000,
    ) -> LeadMatcher:
        """
        Index a database's people, leads and organisations.

        Args:
            database: Where they are stored.
            config: The people's dedup configuration (default:
                `crmkit.dedup.lead_config`).
            possible: See the class.
            batch_size: Entities read per query.
        """
        # crmkit.dedup (numpy, rapidfuzz) loads when matching is asked for, not
        # with every import of crmkit.pipelines.
        from crmkit.dedup import build_index  # noqa: PLC0415

        people = build_index(database, config, batch_size=batch_size)
        names = OrganizationNames.build(
            database, tables=people.tables, batch_size=batch_size
        )
        return cls(people, names, possible=possible)

    def catch_up(self, database: Database, *, batch_size: int = 1000) -> int:
        """
        Apply every change stored since the last catch-up.

        Returns:
            The number of people, leads and organisations re-read.
        """
        from crmkit.dedup import catch_up  # noqa: PLC0415 - see build

        return catch_up(
            self.people, database, batch_size=batch_size
        ) + self.organizations.catch_up(database, batch_size=batch_size)


@attrs.frozen(kw_only=True)
class MatchDecision(Generic[_R]):
    """
    What matching decided for one record of a conversion.

    Attributes:
        kind: ``"person"`` or ``"organization"``.
        record: The stored record to reuse; `None` to create one (or, when
            ``undecided``, until the caller chooses).
        match: Why ``record`` was chosen.
        candidates: Every stored record considered, best first.
        undecided: Why the caller must choose (`None`: decided).

    .. versionadded:: 0.1
    """

    kind: str
    record: _R | None = None
    match: RecordMatch | None = None
    candidates: tuple[RecordMatch, ...] = ()
    undecided: str | None = None

    def chosen(self, source_id: object) -> _R | None:
        """
        The record to reuse (`None`: create one).

        Raises:
            AmbiguousMatch: When undecided, naming the candidates.
        """
        if self.undecided is not None:
            raise AmbiguousMatch(
                self.kind,
                source_id,
                [(c.record_id, c.probability) for c in self.candidates],
                self.undecided,
            )
        return self.record


@attrs.frozen(kw_only=True)
class ConversionMatches:
    """
    The stored person and organisation a lead's conversion would reuse, and why.

    .. versionadded:: 0.1
    """

    person: MatchDecision[Person]
    organization: MatchDecision[Organization]


def find_conversion_matches(
    uow: UnitOfWork,
    lead: Lead,
    matcher: LeadMatcher,
    *,
    person: Person | None = None,
    field_map: FieldMap = DEFAULT_FIELD_MAP,
) -> ConversionMatches:
    """
    What converting ``lead`` would reuse: show it before converting.

    Args:
        uow: Where the people and organisations are read.
        lead: The lead.
        matcher: What to match against.
        person: A person chosen already: no person is matched, and the
            organisation is looked for through them first.
        field_map: Where the organisation's name comes from.
    """
    if person is None:
        people = match_person(uow, lead, matcher)
        person = people.record
    else:
        people = MatchDecision(kind=_PERSON, record=person)
    name = mapped_values(lead, field_map.organization, Organization).get("name")
    organizations = match_organization(uow, name, matcher, person=person)
    return ConversionMatches(person=people, organization=organizations)


def match_person(
    uow: UnitOfWork, lead: Lead, matcher: LeadMatcher
) -> MatchDecision[Person]:
    """The stored person the lead names, by the rule this module states."""
    from crmkit.dedup import lead_record  # noqa: PLC0415 - see LeadMatcher.build

    index = matcher.people
    found = index.find_matches(
        lead_record(lead),
        kinds=[_PERSON],
        limit=None,
        min_probability=min(matcher.possible, index.threshold),
    )
    found = [c for c in found if c.matched or c.probability >= matcher.possible]
    stored = _present(uow.people, [UUID(c.record_id) for c in found])
    kept = [
        (c, stored[UUID(c.record_id)]) for c in found if UUID(c.record_id) in stored
    ]
    candidates = tuple(_person_match(c) for c, _ in kept)
    sure, reason = _sure(kept, lead)
    if len(sure) == 1:
        (i,) = sure
        match = attrs.evolve(candidates[i], reason=candidates[i].reason + reason)
        return MatchDecision(
            kind=_PERSON, record=kept[i][1], match=match, candidates=candidates
        )
    if sure:
        undecided = f"{len(sure)} stored people match the lead"
        candidates = tuple(candidates[i] for i in sure)
    elif candidates:
        undecided = "stored people may be the lead's person (possible matches only)"
    else:
        return MatchDecision(kind=_PERSON)
    return MatchDecision(kind=_PERSON, candidates=candidates, undecided=undecided)


def match_organization(
    uow: UnitOfWork,
    name: str | None,
    matcher: LeadMatcher,
    *,
    person: Person | None = None,
) -> MatchDecision[Organization]:
    """The stored organisation named ``name``, by the rule this module states."""
    names = matcher.organizations
    key = names.key(name)
    if not key:
        return MatchDecision(kind=_ORGANIZATION)
    if person is not None:
        roles = sorted(person.roles, key=lambda role: not role.is_primary)
        employers = _present(uow.organizations, [r.organization_id for r in roles])
        for role in roles:
            employer = employers.get(role.organization_id)
            if employer is not None and names.key(employer.name) == key:
                match = RecordMatch(
                    kind=_ORGANIZATION,
                    record_id=employer.id,
                    probability=None,
                    reason=f"{employer.name!r} employs person {person.id} and is "
                    f"the lead's company {name!r} (compared as {key!r})",
                )
                return MatchDecision(
                    kind=_ORGANIZATION,
                    record=employer,
                    match=match,
                    candidates=(match,),
                )
    stored = _present(uow.organizations, names.named(name)).values()
    same = [o for o in stored if names.key(o.name) == key]
    candidates = tuple(
        RecordMatch(
            kind=_ORGANIZATION,
            record_id=organization.id,
            probability=None,
            reason=f"{organization.name!r} is the lead's company {name!r} "
            f"(compared as {key!r})",
        )
        for organization in same
    )
    if len(same) == 1:
        return MatchDecision(
            kind=_ORGANIZATION,
            record=same[0],
            match=candidates[0],
            candidates=candidates,
        )
    if same:
        return MatchDecision(
            kind=_ORGANIZATION,
            candidates=candidates,
            undecided=f"{len(same)} stored organizations are named {key!r}",
        )
    return MatchDecision(kind=_ORGANIZATION)


def _sure(kept: list[tuple[Candidate, Person]], lead: Lead) -> tuple[list[int], str]:
    """
    The places of the people declared a match, and why when narrowed down.

    Among several, the only one with the lead's email address is the one.
    """
    sure = [i for i, (candidate, _) in enumerate(kept) if candidate.matched]
    if len(sure) > 1 and lead.email is not None:
        address = lead.email.normalized
        mailed = [
            i for i in sure if address in {e.normalized for e in kept[i][1].emails}
        ]
        if len(mailed) == 1:
            return mailed, "; the only match with the lead's email"
    return sure, ""


def _person_match(candidate: Candidate) -> RecordMatch:
    return RecordMatch(
        kind=_PERSON,
        record_id=UUID(candidate.record_id),
        probability=candidate.probability,
        reason=candidate.reason,
        explanation=str(candidate.explanation),
    )


def _present(repository: Repository[_E], ids: Iterable[UUID]) -> dict[UUID, _E]:
    """The entities stored (and active) among ``ids``, in the order asked."""
    wanted = list(dict.fromkeys(ids))
    if not wanted:
        return {}
    page = repository.find(where={"id": in_(wanted)}, limit=len(wanted))
    found: dict[UUID, _E] = {entity.id: entity for entity in page.items}
    return {i: found[i] for i in wanted if i in found}
