"""
A `DedupIndex` of a database's people and leads, kept current from its outbox.

Every change a repository stores writes an event to the outbox in the same
transaction (created, updated, archived, deleted, restored), under an id that
only grows. The index remembers the last id it applied (its cursor): catching up
reads the events after it, and re-reads each person or lead they name, once,
in its present state (gone or archived: out of the index; otherwise indexed as
it is now). Applying the same events twice is harmless, so a process that saves
the index with its cursor (`DedupIndex.save`) and restarts catches up from there
instead of rebuilding.

Outbox ids need not become visible in order: the index follows the outbox
with `crmkit.repositories.follow_outbox`, which keeps the ids the cursor stepped
over as gaps and looks for them again, as long as they are among the last
1,000 ids (a rolled-back transaction leaves a gap that is never filled).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Final, TypeVar
from uuid import UUID

from crmkit.dedup._config import DedupConfig
from crmkit.dedup._defaults import lead_config
from crmkit.dedup._index import DedupIndex
from crmkit.model import Lead, Organization, Person
from crmkit.repositories import (
    GAP_WINDOW,
    Database,
    UnitOfWork,
    follow_outbox,
    in_,
    start_following,
)

__all__ = ["build_index", "catch_up", "lead_record", "person_record"]

_KINDS: Final = (Person.entity_type, Lead.entity_type)
_E = TypeVar("_E", Person, Lead)
_GAP_WINDOW: Final = GAP_WINDOW


def person_record(person: Person, companies: Mapping[UUID, str]) -> dict[str, str]:
    """
    A person as a dedup record: names, first email, phone and address, employer.

    Args:
        person: The stored person.
        companies: Organisation names by id (the employer is the primary role's
            organisation, else the first role's).
    """
    roles = sorted(person.roles, key=lambda r: not r.is_primary)
    address = person.addresses[0] if person.addresses else None
    return {
        "id": str(person.id),
        "first_name": person.first_name or "",
        "last_name": person.last_name or "",
        "email": person.emails[0].normalized if person.emails else "",
        "phone": person.phones[0].e164 if person.phones else "",
        "company": companies.get(roles[0].organization_id, "") if roles else "",
        **_address(address),
    }


def lead_record(lead: Lead) -> dict[str, str]:
    """A lead as a dedup record: names, email, phone, company name and address."""
    return {
        "id": str(lead.id),
        "first_name": lead.first_name or "",
        "last_name": lead.last_name or "",
        "email": lead.email.normalized if lead.email else "",
        "phone": lead.phone.e164 if lead.phone else "",
        "company": lead.company_name or "",
        **_address(lead.address),
    }


def _address(address: object) -> dict[str, str]:
    return {
        "street": " ".join(getattr(address, "lines", ())),
        "city": getattr(address, "city", None) or "",
        "postal_code": getattr(address, "postcode", None) or "",
        "country": getattr(address, "country", None) or "",
    }


def build_index(
    database: Database,
    config: DedupConfig | None = None,
    *,
    leads: bool = True,
    batch_size: int = 1000,
) -> DedupIndex:
    """
    Index every active person (and lead) of a database, with the cursor set.

    The cursor is the outbox's last id, read in the same unit of work as the
    records, so `catch_up` later applies exactly what changed after (and what
    transactions still open then, with lower ids, commit later).

    Args:
        database: Where the people and leads are.
        config: The dedup configuration (default: `lead_config`, whose blocking
            keys also cover a lead's company).
        leads: Index leads too (as kind ``"lead"``; people are ``"person"``).
        batch_size: Entities read per query.
    """
    index = DedupIndex(config or lead_config())
    with database.unit_of_work(readonly=True) as uow:
        start_following(index, uow, window=_GAP_WINDOW)
        for people in uow.people.batches(size=batch_size):
            companies = _companies(uow, people)
            index.add_many(
                (person_record(p, companies) for p in people), kind=Person.entity_type
            )
        if leads:
            for batch in uow.leads.batches(size=batch_size):
                index.add_many((lead_record(x) for x in batch), kind=Lead.entity_type)
    return index


def catch_up(index: DedupIndex, database: Database, *, batch_size: int = 1000) -> int:
    """
    Apply to the index every change stored since its cursor; move the cursor.

    Ids skipped over (a transaction not yet committed, or rolled back) are
    remembered in ``index.gaps`` and looked for again by the next calls, while
    they are among the last 1,000 ids.

    Returns:
        The number of people and leads re-read.
    """
    return follow_outbox(
        index,
        database,
        lambda uow, touched: _refresh(index, uow, touched),
        entity_types=_KINDS,
        batch_size=batch_size,
        window=_GAP_WINDOW,
    )


def _refresh(
    index: DedupIndex, uow: UnitOfWork, wanted: Mapping[str, list[UUID]]
) -> None:
    people = _present(uow, Person, wanted.get(Person.entity_type, []))
    companies = _companies(uow, [p for p in people.values() if p is not None])
    for entity_id, person in people.items():
        record = None if person is None else person_record(person, companies)
        _apply(index, str(entity_id), record, Person.entity_type)
    leads = _present(uow, Lead, wanted.get(Lead.entity_type, []))
    for entity_id, lead in leads.items():
        record = None if lead is None else lead_record(lead)
        _apply(index, str(entity_id), record, Lead.entity_type)


def _apply(
    index: DedupIndex, record_id: str, record: dict[str, str] | None, kind: str
) -> None:
    if record is not None:
        index.upsert(record, kind=kind)
    elif record_id in index:
        index.remove(record_id)


def _present(uow: UnitOfWork, cls: type[_E], ids: list[UUID]) -> dict[UUID, _E | None]:
    """Each entity as stored now, `None` for one deleted or archived."""
    if not ids:
        return {}
    repository = uow.repository(cls)
    page = repository.find(where={"id": in_(ids)}, limit=len(ids))
    found: dict[UUID, _E] = {e.id: e for e in page.items}
    return {entity_id: found.get(entity_id) for entity_id in ids}


def _companies(uow: UnitOfWork, people: Iterable[Person]) -> dict[UUID, str]:
    ids = {role.organization_id for p in people for role in p.roles}
    if not ids:
        return {}
    page = uow.repository(Organization).find(where={"id": in_(ids)}, limit=len(ids))
    return {o.id: o.name for o in page.items}
