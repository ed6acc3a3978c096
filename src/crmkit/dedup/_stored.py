"""Stored persons as dedup records: the columns `find_duplicates` compares."""

from __future__ import annotations

from collections.abc import Mapping
from uuid import UUID

from crmkit.model import Person
from crmkit.repositories import Database

__all__ = ["stored_person_records"]


def _record(person: Person, companies: Mapping[UUID, str]) -> dict[str, str]:
    address = person.primary_address
    email, phone = person.primary_email, person.primary_phone
    organization = person.primary_organization_id
    return {
        "id": str(person.id),
        "first_name": person.first_name or "",
        "last_name": person.last_name or "",
        "email": "" if email is None else str(email),
        "phone": "" if phone is None else phone.e164,
        "company": "" if organization is None else companies.get(organization, ""),
        "street": "" if address is None else " ".join(address.lines),
        "city": "" if address is None else address.city or "",
        "postal_code": "" if address is None else address.postcode or "",
        "country": "" if address is None else address.country or "",
    }


def stored_person_records(
    database: Database, *, batch_size: int = 1000
) -> list[dict[str, str]]:
    """
    Every active stored person as a record for `find_duplicates`, in id order.

    The fields are those of ``crmkit dedup find``'s CSV files: ``id`` (the
    person's id), ``first_name``, ``last_name``, ``email`` and ``phone`` (the
    primary ones, the phone in E.164), ``company`` (the primary role's
    organisation), ``street``, ``city``, ``postal_code`` and ``country`` (the
    primary address); empty text where there is nothing.
    """
    with database.unit_of_work(readonly=True) as uow:
        companies: dict[UUID, str] = {
            organization.id: organization.name
            for batch in uow.organizations.batches(size=batch_size)
            for organization in batch
        }
        return [
            _record(person, companies)
            for batch in uow.people.batches(size=batch_size)
            for person in batch
        ]
