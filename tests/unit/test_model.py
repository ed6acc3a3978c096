"""Entities: creation, updates with events, and the rules each one keeps."""

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from uuid import uuid4

import attrs
import pytest

from crmkit.errors import ValidationError
from crmkit.ids import id_time
from crmkit.model import (
    ENTITY_TYPES,
    Activity,
    ActivityKind,
    Campaign,
    Channel,
    ConsentRecord,
    ConsentStatus,
    Deal,
    DealStatus,
    EntityUpdated,
    FieldChange,
    Lead,
    Order,
    OrderLine,
    Organization,
    OrganizationRole,
    PartyKind,
    PartyRef,
    Person,
    Product,
    Team,
    Ticket,
    User,
    consent_at,
)
from crmkit.values import EmailAddress, Money, PhoneNumber, Probability

NOW = datetime(2026, 11, 22, 9, 0, tzinfo=UTC)
LATER = NOW + timedelta(hours=1)


def jean(**fields):
    return Person.create(at=NOW, first_name="Jean", last_name="Dupont", **fields)


def errors_of(call) -> set[tuple[str, str]]:
    with pytest.raises(ValidationError) as error:
        call()
    return {(e.path, e.code) for e in error.value.errors}


def test_create_stamps_bookkeeping_fields():
    """A new entity is at version 1, created and updated at `at`, its id dated `at`."""
    person = jean()
    assert (1, NOW, NOW) == (person.version, person.created_at, person.updated_at)
    assert NOW == id_time(person.id)


def test_create_keeps_a_given_id():
    """Imports may keep their ids."""
    given = uuid4()
    assert given == Person.create(at=NOW, first_name="A", id=given).id


def test_create_converts_aware_times_and_refuses_naive_ones():
    """`at` in any zone is stored in UTC; a naive `at` is refused."""
    paris = datetime(2026, 11, 22, 10, 0).astimezone()
    assert paris == Person.create(at=paris, first_name="A").created_at
    assert {("at", "datetime.naive")} == errors_of(
        lambda: Person.create(at=datetime(2026, 1, 1), first_name="A")  # noqa: DTZ001
    )


def test_create_refuses_unknown_read_only_and_missing_fields():
    """Unknown names, bookkeeping fields and missing required fields are named."""
    assert {("nickname", "unknown_field"), ("version", "read_only")} == errors_of(
        lambda: Person.create(at=NOW, first_name="A", nickname="JD", version=3)
    )
    assert {("name", "required")} == errors_of(lambda: Organization.create(at=NOW))


def test_update_returns_new_entity_and_event():
    """An update bumps the version and lists each changed field in its event."""
    person = jean()
    actor = uuid4()
    updated, event = person.update(
        {"job_title": "Directeur commercial", "last_name": "Durand"},
        at=LATER,
        actor=actor,
    )
    assert (2, LATER, NOW) == (updated.version, updated.updated_at, updated.created_at)
    assert (
        EntityUpdated(
            entity_type="person",
            entity_id=person.id,
            version=2,
            at=LATER,
            actor=actor,
            changes=(
                FieldChange("last_name", "Dupont", "Durand"),
                FieldChange("job_title", None, "Directeur commercial"),
            ),
        )
        == event
    )
    assert "Dupont" == person.last_name


def test_update_reports_custom_fields_one_by_one():
    """Each custom key that changes is its own FieldChange."""
    person = jean(custom={"a": 1, "b": 2})
    _, event = person.update({"custom": {"a": 1, "b": 3, "c": 4}}, at=LATER)
    assert (
        FieldChange("custom.b", 2, 3),
        FieldChange("custom.c", None, 4),
    ) == event.changes


def test_update_without_change_keeps_the_version():
    """Setting the same values changes nothing and bumps nothing."""
    person = jean()
    same, event = person.update({"first_name": "Jean"}, at=LATER)
    assert same is person
    assert () == event.changes
    assert 1 == event.version


def test_update_refuses_bookkeeping_unknown_fields_and_time_going_back():
    """ids, versions and timestamps are crmkit's; time never runs backwards."""
    person = jean()
    assert {("id", "read_only"), ("colour", "unknown_field")} == errors_of(
        lambda: person.update({"id": uuid4(), "colour": "red"}, at=LATER)
    )
    assert {("at", "time.order")} == errors_of(
        lambda: person.update({"job_title": "x"}, at=NOW - timedelta(seconds=1))
    )


def test_update_validates_the_new_value():
    """An update to an invalid value is refused and the original is untouched."""
    person = jean()
    assert {("emails[0]", "type")} == errors_of(
        lambda: person.update({"emails": ["jean@exemple.fr"]}, at=LATER)
    )


def test_entities_are_immutable():
    """Fields cannot be assigned after construction."""
    person = jean()
    with pytest.raises(attrs.exceptions.FrozenInstanceError):
        person.first_name = "Paul"  # type: ignore[misc]


def test_entities_are_hashable_and_compare_by_value():
    """Equal fields, equal entities; usable in sets."""
    person = jean(tags=["vip"], custom={"a": 1})
    assert person == attrs.evolve(person)
    assert 1 == len({person, attrs.evolve(person)})


def test_every_entity_type_is_registered():
    """ENTITY_TYPES maps each entity's type name to its class."""
    assert {
        "activity",
        "campaign",
        "deal",
        "lead",
        "order",
        "organization",
        "person",
        "product",
        "relationship",
        "team",
        "ticket",
        "user",
    } == set(ENTITY_TYPES)
    assert all(cls.entity_type == name for name, cls in ENTITY_TYPES.items())


def test_person_text_is_tidied_and_blank_is_none():
    """Whitespace is collapsed; blank text means not set."""
    person = Person.create(
        at=NOW, first_name="  Jean   Pierre ", last_name=" ", tags=[" vip", "vip "]
    )
    assert ("Jean Pierre", None, frozenset({"vip"})) == (
        person.first_name,
        person.last_name,
        person.tags,
    )


def test_person_needs_an_identity():
    """A person needs a name, an email or a phone."""
    assert {("last_name", "identity.missing")} == errors_of(
        lambda: Person.create(at=NOW, job_title="CEO")
    )
    assert (
        Person.create(at=NOW, phones=[PhoneNumber("+33612345678")]).full_name
        == "+33612345678"
    )


def test_person_contact_accessors():
    """The first email, phone and address are the primary ones."""
    person = jean(
        emails=[EmailAddress("jean@exemple.fr"), EmailAddress("jd@perso.fr")],
        phones=[PhoneNumber("+33612345678")],
    )
    assert EmailAddress("jean@exemple.fr") == person.primary_email
    assert PhoneNumber("+33612345678") == person.primary_phone
    assert None is person.primary_address
    assert "Jean Dupont" == person.full_name
    assert (
        "jean@exemple.fr"
        == Person.create(at=NOW, emails=[EmailAddress("jean@exemple.fr")]).full_name
    )


def test_person_roles_have_exactly_one_primary():
    """Several organisations, one primary role, no organisation twice."""
    acme, globex = uuid4(), uuid4()
    person = jean(
        roles=[
            OrganizationRole(organization_id=acme, title="CTO", is_primary=True),
            OrganizationRole(organization_id=globex, title="Board member"),
        ]
    )
    assert acme == person.primary_organization_id
    assert {("roles", "roles.primary")} == errors_of(
        lambda: jean(roles=[OrganizationRole(organization_id=acme)])
    )
    assert {("roles[1].organization_id", "roles.duplicate")} == errors_of(
        lambda: jean(
            roles=[
                OrganizationRole(organization_id=acme, is_primary=True),
                OrganizationRole(organization_id=acme, title="x"),
            ]
        )
    )
    assert {("ended_on", "date.order")} == errors_of(
        lambda: OrganizationRole(
            organization_id=acme, started_on=date(2024, 1, 2), ended_on=date(2024, 1, 1)
        )
    )


def test_person_age():
    """Age in whole years on a day; None without a birth date."""
    person = jean(birth_date=date(1980, 6, 15))
    assert 45 == person.age(date(2026, 6, 14))
    assert 46 == person.age(date(2026, 6, 15))
    assert None is jean().age(date(2026, 1, 1))


def test_consent_ledger_reads_the_decision_in_force():
    """The latest decision at or before the instant wins; later ones change nothing."""
    granted = ConsentRecord(
        channel="email", purpose="newsletter", status="granted", at=NOW
    )
    withdrawn = ConsentRecord(
        channel=Channel.EMAIL,
        purpose="newsletter",
        status=ConsentStatus.WITHDRAWN,
        at=LATER,
    )
    person = jean(consents=[withdrawn, granted])
    assert not person.may_contact(Channel.EMAIL, "newsletter", NOW - timedelta(days=1))
    assert person.may_contact(Channel.EMAIL, "newsletter", NOW)
    assert not person.may_contact(Channel.EMAIL, "newsletter", LATER)
    assert not person.may_contact(Channel.SMS, "newsletter", NOW)
    assert granted == consent_at(person.consents, Channel.EMAIL, "newsletter", NOW)


def test_consent_record_refuses_unknown_channel_and_naive_time():
    """Channel is a closed list; the decision time is aware."""
    assert {("channel", "choice.invalid"), ("at", "datetime.naive")} == errors_of(
        lambda: ConsentRecord(
            channel="pigeon",
            purpose="newsletter",
            status="granted",
            at=datetime(2026, 1, 1),  # noqa: DTZ001
        )
    )


def test_organization_hierarchy_and_figures():
    """An organisation is not its own parent; headcount and revenue are not negative."""
    group = Organization.create(at=NOW, name="Acme Group")
    subsidiary = Organization.create(
        at=NOW, name="Acme France", parent_id=group.id, employees=250
    )
    assert group.id == subsidiary.parent_id
    assert {("parent_id", "parent.self")} == errors_of(
        lambda: subsidiary.update({"parent_id": subsidiary.id}, at=LATER)
    )
    assert {("employees", "negative")} == errors_of(
        lambda: Organization.create(at=NOW, name="X", employees=-1)
    )
    assert {("annual_revenue", "negative")} == errors_of(
        lambda: Organization.create(at=NOW, name="X", annual_revenue=Money(-1, "EUR"))
    )


def test_lead_needs_an_identity_and_starts_new():
    """A lead has a name, company, email or phone; its status starts at 'new'."""
    lead = Lead.create(at=NOW, company_name="Acme", score=40)
    assert "new" == lead.status
    assert {("last_name", "identity.missing")} == errors_of(lambda: Lead.create(at=NOW))
    assert {("score", "type")} == errors_of(
        lambda: Lead.create(at=NOW, company_name="A", score="40")
    )


def test_deal_weighted_amount_and_closing_rules():
    """Weighted amount is amount x probability; closing needs closed_at and a reason."""
    deal = Deal.create(
        at=NOW,
        name="Acme renewal",
        pipeline="b2b",
        stage="proposal",
        amount=Money(Decimal(10000), "EUR"),
        probability=Probability(0.6),
    )
    assert Money(Decimal("6000.0"), "EUR") == deal.weighted_amount
    assert None is attrs.evolve(deal, probability=None).weighted_amount
    assert {("lost_reason", "required"), ("closed_at", "required")} == errors_of(
        lambda: deal.update({"status": DealStatus.LOST}, at=LATER)
    )
    lost, _ = deal.update(
        {"status": "lost", "lost_reason": "price", "closed_at": LATER}, at=LATER
    )
    assert DealStatus.LOST == lost.status
    assert {("lost_reason", "deal.not_lost")} == errors_of(
        lambda: deal.update({"lost_reason": "price"}, at=LATER)
    )
    assert {("closed_at", "deal.open")} == errors_of(
        lambda: deal.update({"closed_at": LATER}, at=LATER)
    )


def test_activity_overdue_and_time_order():
    """A task is overdue once its due time passes and it is not done."""
    task = Activity.create(
        at=NOW, kind=ActivityKind.TASK, subject="Send the proposal", due_at=LATER
    )
    assert not task.is_overdue(NOW)
    assert task.is_overdue(LATER + timedelta(minutes=1))
    done, _ = task.update({"done_at": LATER}, at=LATER)
    assert done.is_done
    assert not done.is_overdue(LATER + timedelta(days=1))
    assert {("ends_at", "time.order")} == errors_of(
        lambda: Activity.create(
            at=NOW, kind="meeting", subject="Demo", starts_at=LATER, ends_at=NOW
        )
    )
    assert {("kind", "choice.invalid")} == errors_of(
        lambda: Activity.create(at=NOW, kind="fax", subject="x")
    )


def test_ticket_defaults_and_time_order():
    """A ticket starts new at normal priority; its milestones follow its opening."""
    ticket = Ticket.create(at=NOW, subject="Invoice missing", channel="email")
    assert ("new", "normal", "request") == (ticket.status, ticket.priority, ticket.kind)
    assert {("first_response_at", "time.order")} == errors_of(
        lambda: ticket.update({"first_response_at": NOW - timedelta(1)}, at=LATER)
    )


def test_order_totals_costs_and_margin():
    """Lines add up with discounts; cost includes the cost to serve."""
    order = Order.create(
        at=NOW,
        number="2026-0001",
        customer=PartyRef(PartyKind.ORGANIZATION, uuid4()),
        ordered_at=NOW,
        currency="EUR",
        lines=[
            OrderLine(
                description="Licence",
                quantity=Decimal(10),
                unit_price=Money(Decimal(100), "EUR"),
                discount=Decimal("0.1"),
                unit_cost=Money(Decimal(20), "EUR"),
            ),
            OrderLine(
                description="Setup",
                unit_price=Money(500, "EUR"),
                unit_cost=Money(300, "EUR"),
            ),
        ],
        cost_to_serve=Money(Decimal(50), "EUR"),
    )
    assert Money(Decimal(1400), "EUR") == order.total
    assert Money(Decimal(550), "EUR") == order.cost
    assert Money(Decimal(850), "EUR") == order.margin
    unknown_cost = attrs.evolve(
        order, lines=[OrderLine(description="x", unit_price=Money(1, "EUR"))]
    )
    assert (None, None) == (unknown_cost.cost, unknown_cost.margin)


def test_order_refuses_mixed_currencies_and_bad_lines():
    """Lines and cost to serve are in the order's currency; quantities are positive."""
    assert {
        ("lines[0].unit_price", "money.currency_mismatch"),
        ("cost_to_serve", "money.currency_mismatch"),
    } == errors_of(
        lambda: Order.create(
            at=NOW,
            number="1",
            customer=PartyRef(PartyKind.PERSON, uuid4()),
            ordered_at=NOW,
            currency="EUR",
            lines=[OrderLine(description="x", unit_price=Money(1, "USD"))],
            cost_to_serve=Money(1, "USD"),
        )
    )
    assert {("quantity", "quantity"), ("discount", "discount")} == errors_of(
        lambda: OrderLine(
            description="x", quantity=0, unit_price=Money(1, "EUR"), discount=Decimal(2)
        )
    )
    assert {("unit_cost", "money.currency_mismatch")} == errors_of(
        lambda: OrderLine(
            description="x", unit_price=Money(1, "EUR"), unit_cost=Money(1, "USD")
        )
    )
    assert {("currency", "currency.unknown")} == errors_of(
        lambda: Order.create(
            at=NOW,
            number="1",
            customer=PartyRef(PartyKind.PERSON, uuid4()),
            ordered_at=NOW,
            currency="EUX",
        )
    )


def test_product_user_team_campaign():
    """The remaining entities hold their fields and their rules."""
    product = Product.create(
        at=NOW, sku="LIC-1", name="Licence", unit_price=Money(100, "EUR")
    )
    assert product.active
    user = User.create(
        at=NOW,
        name="Alice Martin",
        email=EmailAddress("alice@vendeur.fr"),
        time_zone="Europe/Paris",
    )
    assert "Europe/Paris" == user.zone.key
    assert {("time_zone", "time_zone.unknown")} == errors_of(
        lambda: User.create(
            at=NOW, name="A", email=EmailAddress("a@b.fr"), time_zone="Mars/Olympus"
        )
    )
    assert {("member_ids[1]", "duplicate")} == errors_of(
        lambda: Team.create(at=NOW, name="France", member_ids=[user.id, user.id])
    )
    campaign = Campaign.create(
        at=NOW, name="Salon 2026", budget=Money(5000, "EUR"), channel="face_to_face"
    )
    assert "planned" == campaign.status
    assert {
        ("expected_revenue", "money.currency_mismatch"),
        ("ends_on", "date.order"),
    } == errors_of(
        lambda: Campaign.create(
            at=NOW,
            name="x",
            budget=Money(1, "EUR"),
            expected_revenue=Money(1, "USD"),
            starts_on=date(2026, 2, 1),
            ends_on=date(2026, 1, 1),
        )
    )


def test_field_checks_name_types():
    """Each helper field refuses the wrong type with the field's name."""
    assert {
        ("birth_date", "type"),
        ("interests", "tag.invalid"),
        ("preferences", "key.invalid"),
        ("owner_id", "type"),
    } == errors_of(
        lambda: jean(
            birth_date=datetime(2020, 1, 1, tzinfo=UTC),
            interests=[3],
            preferences={"": "x"},
            owner_id="u1",
        )
    )
    assert {("first_name", "type"), ("emails", "type"), ("tags", "type")} == errors_of(
        lambda: jean().update(
            {"first_name": 5, "emails": "a@b.fr", "tags": "vip"}, at=LATER
        )
    )


def test_timestamps_are_stored_in_utc_so_daylight_saving_cannot_fool_them():
    """Two wall times around the autumn change compare by their real instants."""
    from zoneinfo import ZoneInfo  # noqa: PLC0415

    paris = ZoneInfo("Europe/Paris")
    first = datetime(2026, 10, 25, 2, 30, tzinfo=paris)  # CEST, fold=0
    later = datetime(2026, 10, 25, 2, 10, fold=1, tzinfo=paris)  # CET, 40 min after
    person = Person.create(at=first, first_name="A")
    updated, _ = person.update({"job_title": "x"}, at=later)
    assert UTC == updated.updated_at.tzinfo
    assert timedelta(minutes=40) == updated.updated_at - person.created_at


def test_notes_keep_their_line_breaks():
    """Bodies and descriptions are multi-line; one-line fields are tidied."""
    note = Activity.create(
        at=NOW,
        kind="note",
        subject="  Call   summary ",
        body="Budget confirmed.\r\n\r\n  Next step: demo.  \n",
    )
    assert ("Call summary", "Budget confirmed.\n\n  Next step: demo.") == (
        note.subject,
        note.body,
    )
