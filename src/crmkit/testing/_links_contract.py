"""
The storage contract's tests of `contains`, mixed into `RepositoryContract`.

Fields holding several ids (an activity's ``lead_ids``, ``deal_ids``,
``ticket_ids`` and the ids of its ``parties``; a deal's ``contact_ids``; the
organisations of a person's roles) are found with ``where={field:
contains(id)}``, and stay found as entities are added, updated, archived,
restored and erased. The single references to a person or an organisation (a
ticket's requester, a lead's converted person and organisation) are ordinary
queryable fields.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any, Final
from uuid import UUID

import pytest

from crmkit.errors import ValidationError
from crmkit.ids import OrganizationId
from crmkit.model import (
    Activity,
    ActivityKind,
    Deal,
    Entity,
    Lead,
    OrganizationRole,
    PartyKind,
    PartyRef,
    Person,
    Ticket,
)
from crmkit.repositories import Database, contains, eq, in_, is_null

__all__ = ["LinkedFieldsContract"]

_T0: Final = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def _id(number: int) -> UUID:
    return UUID(f"00000000-0000-4000-8000-{number:012d}")


_LEAD_A, _LEAD_B, _DEAL, _TICKET, _PERSON, _ORG = map(_id, range(1, 7))


def _activity(number: int, **links: Any) -> Activity:
    return Activity.create(
        at=_T0 + timedelta(minutes=number),
        kind=ActivityKind.CALL,
        subject=f"Call {number}",
        **links,
    )


def _store(database: Database, *entities: Entity) -> None:
    with database.unit_of_work() as uow:
        for entity in entities:
            uow.repository(type(entity)).add(entity)
        uow.commit()


def _found(database: Database, field: str, target: Any, **options: Any) -> list[UUID]:
    with database.unit_of_work(readonly=True) as uow:
        page = uow.activities.find(
            where={field: contains(target)}, order_by="id", **options
        )
        count = uow.activities.count(
            where={field: contains(target)},
            include_archived=options.get("include_archived", False),
        )
    ids: list[UUID] = [a.id for a in page.items]
    assert len(ids) == count
    return ids


def _ids(*entities: Entity) -> list[UUID]:
    return sorted(e.id for e in entities)


class LinkedFieldsContract:
    """
    Finding entities by an id one of their fields holds among several.

    .. versionadded:: 0.1
    """

    @pytest.fixture
    def linked(self, database: Database) -> dict[str, Activity]:
        """Four activities linked to leads, a deal, a ticket and parties."""
        activities = {
            "lead_a": _activity(0, lead_ids=(_LEAD_A,)),
            "both_leads": _activity(
                1,
                lead_ids=(_LEAD_B, _LEAD_A),
                parties=(PartyRef(PartyKind.PERSON, _PERSON),),
            ),
            "deal_ticket": _activity(
                2,
                deal_ids=(_DEAL,),
                ticket_ids=(_TICKET,),
                parties=(
                    PartyRef(PartyKind.PERSON, _PERSON),
                    PartyRef(PartyKind.ORGANIZATION, _ORG),
                ),
            ),
            "none": _activity(3),
        }
        _store(database, *activities.values())
        return activities

    @pytest.mark.parametrize(
        ("field", "target", "expected"),
        [
            ("lead_ids", _LEAD_A, ["lead_a", "both_leads"]),
            ("lead_ids", _LEAD_B, ["both_leads"]),
            ("lead_ids", _DEAL, []),
            ("deal_ids", _DEAL, ["deal_ticket"]),
            ("ticket_ids", _TICKET, ["deal_ticket"]),
            ("party_ids", _PERSON, ["both_leads", "deal_ticket"]),
            ("party_ids", _ORG, ["deal_ticket"]),
            ("party_ids", str(_ORG), ["deal_ticket"]),
        ],
    )
    def test_contains_finds_the_entities_holding_an_id(
        self,
        database: Database,
        linked: dict[str, Activity],
        *,
        field: str,
        target: Any,
        expected: list[str],
    ) -> None:
        """Each field holding ids finds who holds one (an id as text too)."""
        assert _ids(*(linked[k] for k in expected)) == _found(database, field, target)

    def test_contains_combines_with_other_conditions_and_pages(
        self, database: Database, linked: dict[str, Activity]
    ) -> None:
        """A contains condition combines with others, sorts and pages."""
        with database.unit_of_work(readonly=True) as uow:
            first = uow.activities.find(
                where={"party_ids": contains(_PERSON), "kind": "call"},
                order_by="-created_at",
                limit=1,
            )
            rest = uow.activities.find(
                where={"party_ids": contains(_PERSON), "kind": "call"},
                order_by="-created_at",
                limit=1,
                after=first.next_cursor,
            )
            neither = uow.activities.count(
                where={"lead_ids": contains(_LEAD_A), "deal_ids": contains(_DEAL)}
            )
            batched = [
                a.id
                for batch in uow.activities.batches(
                    size=1, where={"lead_ids": contains(_LEAD_A)}
                )
                for a in batch
            ]
        assert [linked["deal_ticket"].id, linked["both_leads"].id] == [
            a.id for a in (*first.items, *rest.items)
        ]
        assert rest.next_cursor is None
        assert 0 == neither
        assert _ids(linked["lead_a"], linked["both_leads"]) == batched

    def test_contains_follows_updates_in_and_after_the_unit(
        self, database: Database, linked: dict[str, Activity]
    ) -> None:
        """An update moves the entity to the ids it holds now, before commit too."""
        moved = linked["lead_a"].update(
            {"lead_ids": (_LEAD_B,)}, at=_T0 + timedelta(hours=1)
        )[0]
        with database.unit_of_work() as uow:
            uow.activities.update(moved)
            inside = uow.activities.find(
                where={"lead_ids": contains(_LEAD_B)}, order_by="id"
            )
            assert _ids(moved, linked["both_leads"]) == [a.id for a in inside.items]
            uow.commit()
        assert [linked["both_leads"].id] == _found(database, "lead_ids", _LEAD_A)
        assert _ids(moved, linked["both_leads"]) == _found(
            database, "lead_ids", _LEAD_B
        )

    def test_archived_and_erased_entities_are_not_found(
        self, database: Database, linked: dict[str, Activity]
    ) -> None:
        """Archived ones only with include_archived, erased ones never."""
        with database.unit_of_work() as uow:
            uow.activities.delete(linked["lead_a"].id, at=_T0)
            uow.activities.delete(linked["both_leads"].id, at=_T0, hard=True)
            uow.commit()
        assert [] == _found(database, "lead_ids", _LEAD_A)
        assert [linked["lead_a"].id] == _found(
            database, "lead_ids", _LEAD_A, include_archived=True
        )
        assert [linked["deal_ticket"].id] == _found(database, "party_ids", _PERSON)
        with database.unit_of_work() as uow:
            uow.activities.restore(linked["lead_a"].id, at=_T0)
            uow.commit()
        assert [linked["lead_a"].id] == _found(database, "lead_ids", _LEAD_A)

    def test_an_erased_id_can_be_stored_again_with_other_links(
        self, database: Database, linked: dict[str, Activity]
    ) -> None:
        """Erasing drops the entity's links: the same id comes back with new ones."""
        erased = linked["both_leads"]
        with database.unit_of_work() as uow:
            uow.activities.delete(erased.id, at=_T0, hard=True)
            uow.commit()
        again = Activity.create(
            at=_T0, kind=ActivityKind.NOTE, subject="Again", id=erased.id
        )
        _store(database, again)
        assert [linked["lead_a"].id] == _found(database, "lead_ids", _LEAD_A)

    def test_an_id_held_twice_finds_the_entity_once(self, database: Database) -> None:
        """A person named twice among the parties (two roles) is one match."""
        twice = _activity(
            0,
            parties=(
                PartyRef(PartyKind.PERSON, _PERSON),
                PartyRef(PartyKind.ORGANIZATION, _PERSON),
            ),
        )
        with database.unit_of_work() as uow:
            uow.activities.add_many([twice, _activity(1)])
            uow.commit()
        assert [twice.id] == _found(database, "party_ids", _PERSON)

    def test_a_deal_is_found_by_one_of_its_contacts(self, database: Database) -> None:
        """A deal's contact_ids work the same way."""
        deal = Deal.create(
            at=_T0,
            name="Renewal",
            pipeline="sales",
            stage="qualify",
            contact_ids=(_PERSON, _LEAD_A),
        )
        other = Deal.create(at=_T0, name="New", pipeline="sales", stage="qualify")
        _store(database, deal, other)
        with database.unit_of_work(readonly=True) as uow:
            found = uow.deals.find(where={"contact_ids": contains(_PERSON)})
        assert [deal.id] == [d.id for d in found.items]

    def test_a_person_is_found_by_an_organisation_of_its_roles(
        self, database: Database
    ) -> None:
        """A person's organization_ids are the organisations of its roles."""
        employee = Person.create(
            at=_T0,
            last_name="Martin",
            roles=(
                OrganizationRole(organization_id=OrganizationId(_ORG), is_primary=True),
                OrganizationRole(organization_id=OrganizationId(_DEAL)),
            ),
        )
        adviser = Person.create(
            at=_T0,
            last_name="Durand",
            roles=(
                OrganizationRole(
                    organization_id=OrganizationId(_DEAL), is_primary=True
                ),
            ),
        )
        _store(database, employee, adviser, Person.create(at=_T0, last_name="Petit"))

        def holding(target: UUID) -> list[UUID]:
            with database.unit_of_work(readonly=True) as uow:
                page = uow.people.find(
                    where={"organization_ids": contains(target)}, order_by="id"
                )
            return [p.id for p in page.items]

        assert ([employee.id], _ids(employee, adviser)) == (
            holding(_ORG),
            holding(_DEAL),
        )
        left = employee.update(
            {
                "roles": (
                    OrganizationRole(
                        organization_id=OrganizationId(_DEAL), is_primary=True
                    ),
                )
            },
            at=_T0 + timedelta(hours=1),
        )[0]
        with database.unit_of_work() as uow:
            uow.people.update(left)
            uow.commit()
        assert ([], _ids(employee, adviser)) == (holding(_ORG), holding(_DEAL))

    def test_a_ticket_is_found_by_its_requester(self, database: Database) -> None:
        """requester_id is the id of a ticket's requester, person or organisation."""
        by_person = Ticket.create(
            at=_T0, subject="Broken", requester=PartyRef(PartyKind.PERSON, _PERSON)
        )
        by_org = Ticket.create(
            at=_T0,
            subject="Invoice",
            requester=PartyRef(PartyKind.ORGANIZATION, _ORG),
        )
        nobody = Ticket.create(at=_T0, subject="Alert")
        _store(database, by_person, by_org, nobody)
        with database.unit_of_work(readonly=True) as uow:
            person = uow.tickets.find(where={"requester_id": _PERSON})
            either = uow.tickets.find(
                where={"requester_id": in_([_ORG, _PERSON])}, order_by="id"
            )
            unknown = uow.tickets.find(where={"requester_id": is_null()})
        assert (
            [by_person.id],
            _ids(by_person, by_org),
            [nobody.id],
        ) == (
            [t.id for t in person.items],
            [t.id for t in either.items],
            [t.id for t in unknown.items],
        )

    def test_a_lead_is_found_by_what_it_was_converted_to(
        self, database: Database
    ) -> None:
        """converted_person_id and converted_organization_id are queryable."""
        converted = Lead.create(
            at=_T0,
            last_name="Martin",
            status="converted",
            converted_person_id=_PERSON,
            converted_organization_id=_ORG,
        )
        person_only = Lead.create(
            at=_T0, last_name="Durand", converted_person_id=_LEAD_A
        )
        _store(database, converted, person_only, Lead.create(at=_T0, last_name="Petit"))
        with database.unit_of_work(readonly=True) as uow:
            people = uow.leads.find(
                where={"converted_person_id": in_([_PERSON, _LEAD_A])}, order_by="id"
            )
            organization = uow.leads.find(where={"converted_organization_id": _ORG})
        assert (_ids(converted, person_only), [converted.id]) == (
            [lead.id for lead in people.items],
            [lead.id for lead in organization.items],
        )

    @pytest.mark.parametrize(
        ("where", "message"),
        [
            ({"lead_ids": _LEAD_A}, "holds several values: use contains"),
            ({"lead_ids": in_([_LEAD_A])}, "holds several values: use contains"),
            ({"lead_ids": eq(_LEAD_A)}, "holds several values: use contains"),
            ({"kind": contains("call")}, "contains applies to fields holding"),
            ({"lead_ids": contains("not an id")}, "not a UUID"),
            ({"lead_ids": contains(5)}, "expected UUID"),
            ({"leads": contains(_LEAD_A)}, "lead_ids"),
        ],
    )
    def test_a_bad_condition_on_a_list_field_is_refused(
        self, database: Database, where: dict[str, Any], message: str
    ) -> None:
        """The error names the field, the value and what would work."""
        field = next(iter(where))
        with (
            database.unit_of_work(readonly=True) as uow,
            pytest.raises(ValidationError, match=message) as caught,
        ):
            uow.activities.find(where=where)
        assert f"where.{field}" == caught.value.errors[0].path

    def test_a_list_field_cannot_be_sorted_on(self, database: Database) -> None:
        """Sorting needs one value per entity."""
        with (
            database.unit_of_work(readonly=True) as uow,
            pytest.raises(ValidationError, match="not queryable"),
        ):
            uow.activities.find(order_by="lead_ids")
