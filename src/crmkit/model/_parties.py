"""Parties: people (contacts) and organisations (accounts)."""

from __future__ import annotations

import enum
from collections.abc import Iterator
from datetime import date, datetime
from uuid import UUID

import attrs
from immutabledict import immutabledict

from crmkit.errors import FieldError
from crmkit.ids import OrganizationId, PersonId, UserId
from crmkit.model._consent import Channel, ConsentRecord, ConsentStatus, consent_at
from crmkit.model._entity import Entity, entity_id
from crmkit.model._fields import (
    Checked,
    choice,
    count,
    day,
    flag,
    frozen_map,
    identifier,
    many,
    one_of,
    tag_set,
    text,
)
from crmkit.values import EmailAddress, Money, PhoneNumber, PostalAddress, Url

__all__ = ["Organization", "OrganizationRole", "PartyKind", "PartyRef", "Person"]


class PartyKind(enum.StrEnum):
    """
    The two kinds of party: a natural person or a legal person.

    .. versionadded:: 0.1
    """

    PERSON = "person"
    ORGANIZATION = "organization"


@attrs.frozen
class PartyRef(Checked):
    """
    A reference to a person or an organisation.

    .. versionadded:: 0.1
    """

    kind: PartyKind = choice(PartyKind)
    id: UUID = identifier(required=True)


@attrs.frozen(kw_only=True)
class OrganizationRole(Checked):
    """
    A person's role in an organisation; one of a person's roles is primary.

    .. versionadded:: 0.1
    """

    organization_id: OrganizationId = identifier(required=True)
    title: str | None = text()
    department: str | None = text()
    is_primary: bool = flag(default=False)
    started_on: date | None = day()
    ended_on: date | None = day()

    def _invariants(self) -> Iterator[FieldError]:
        if self.started_on and self.ended_on and self.ended_on < self.started_on:
            yield FieldError(
                "ended_on", self.ended_on, "date.order", "is before started_on"
            )


class _ContactDetails:
    """Accessors shared by parties that hold emails, phones and addresses."""

    __slots__ = ()
    emails: tuple[EmailAddress, ...]
    phones: tuple[PhoneNumber, ...]
    addresses: tuple[PostalAddress, ...]

    @property
    def primary_email(self) -> EmailAddress | None:
        """The first email address, the one to write to."""
        return self.emails[0] if self.emails else None

    @property
    def primary_phone(self) -> PhoneNumber | None:
        """The first phone number, the one to call."""
        return self.phones[0] if self.phones else None

    @property
    def primary_address(self) -> PostalAddress | None:
        """The first postal address."""
        return self.addresses[0] if self.addresses else None


@attrs.frozen(kw_only=True)
class Person(_ContactDetails, Entity):
    """
    A natural person: a contact, customer or prospect.

    The requirements' data kinds map to fields:
    identity (`salutation`, `first_name`, `last_name`),
    contact details (`emails`, `phones`, `addresses`, `urls`; the first of each is
    primary), socio-demographic (`birth_date`, `job_title`, `income_band`),
    socio-cultural (`interests`, `preferences`), relational (`roles`, `consents`,
    and the activities that point at the person), and behavioural data, which is
    derived from orders and activities rather than stored here.
    Anything else goes in `custom`, typed by an `EntitySchema`.

    A person needs at least a name, an email or a phone.

    .. versionadded:: 0.1
    """

    entity_type = "person"

    id: PersonId = entity_id()
    salutation: str | None = text()
    first_name: str | None = text()
    last_name: str | None = text()
    emails: tuple[EmailAddress, ...] = many(EmailAddress)
    phones: tuple[PhoneNumber, ...] = many(PhoneNumber)
    addresses: tuple[PostalAddress, ...] = many(PostalAddress)
    urls: tuple[Url, ...] = many(Url)
    preferred_language: str | None = text()
    preferred_channel: Channel | None = choice(Channel, optional=True)
    birth_date: date | None = day()
    job_title: str | None = text()
    income_band: str | None = text()
    interests: frozenset[str] = tag_set()
    preferences: immutabledict[str, str] = frozen_map()
    roles: tuple[OrganizationRole, ...] = many(OrganizationRole)
    lifecycle_stage: str | None = text()
    tags: frozenset[str] = tag_set()
    owner_id: UserId | None = identifier()
    source: str | None = text()
    consents: tuple[ConsentRecord, ...] = many(ConsentRecord)
    external_ids: immutabledict[str, str] = frozen_map()

    def _invariants(self) -> Iterator[FieldError]:
        yield from super()._invariants()
        if not (self.first_name or self.last_name or self.emails or self.phones):
            yield FieldError(
                "last_name",
                None,
                "identity.missing",
                "a person needs a name, an email or a phone",
            )
        primaries = [r for r in self.roles if r.is_primary]
        if self.roles and len(primaries) != 1:
            yield FieldError(
                "roles",
                len(primaries),
                "roles.primary",
                "exactly one role must be primary",
            )
        seen: set[UUID] = set()
        for index, role in enumerate(self.roles):
            if role.organization_id in seen:
                yield FieldError(
                    f"roles[{index}].organization_id",
                    role.organization_id,
                    "roles.duplicate",
                    "the person already has a role in this organisation",
                )
            seen.add(role.organization_id)

    @property
    def full_name(self) -> str:
        """First and last name, or the primary email when there is no name."""
        name = " ".join(part for part in (self.first_name, self.last_name) if part)
        if name:
            return name
        return str(self.primary_email or self.primary_phone or "")

    @property
    def primary_organization_id(self) -> OrganizationId | None:
        """The organisation of the primary role."""
        return next((r.organization_id for r in self.roles if r.is_primary), None)

    def age(self, on: date) -> int | None:
        """Age in whole years on a given day, if the birth date is known."""
        if self.birth_date is None:
            return None
        born = self.birth_date
        return on.year - born.year - ((on.month, on.day) < (born.month, born.day))

    def may_contact(self, channel: Channel, purpose: str, at: datetime) -> bool:
        """True when consent for ``purpose`` on ``channel`` is granted at ``at``."""
        record = consent_at(self.consents, channel, purpose, at)
        return record is not None and record.status == ConsentStatus.GRANTED


@attrs.frozen(kw_only=True)
class Organization(_ContactDetails, Entity):
    """
    A legal person: a company, an association, a public body; an account.

    `parent_id` builds a hierarchy (subsidiaries under a group).

    .. versionadded:: 0.1
    """

    entity_type = "organization"

    id: OrganizationId = entity_id()
    name: str = text(required=True)
    legal_name: str | None = text()
    registration_number: str | None = text()
    vat_number: str | None = text()
    parent_id: OrganizationId | None = identifier()
    industry: str | None = text()
    employees: int | None = count()
    annual_revenue: Money | None = one_of(Money)
    website: Url | None = one_of(Url)
    emails: tuple[EmailAddress, ...] = many(EmailAddress)
    phones: tuple[PhoneNumber, ...] = many(PhoneNumber)
    addresses: tuple[PostalAddress, ...] = many(PostalAddress)
    lifecycle_stage: str | None = text()
    tags: frozenset[str] = tag_set()
    owner_id: UserId | None = identifier()
    source: str | None = text()
    external_ids: immutabledict[str, str] = frozen_map()

    def _invariants(self) -> Iterator[FieldError]:
        yield from super()._invariants()
        if self.parent_id is not None and self.parent_id == self.id:
            yield FieldError(
                "parent_id", self.parent_id, "parent.self", "cannot be its own parent"
            )
        if self.annual_revenue is not None and self.annual_revenue.amount < 0:
            yield FieldError(
                "annual_revenue",
                self.annual_revenue,
                "negative",
                "must not be negative",
            )
