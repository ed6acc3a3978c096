"""Plain data and JSON: encodings, strictness, and error paths."""

import json
from datetime import UTC, date, datetime
from decimal import Decimal
from uuid import UUID

import pytest

from crmkit.errors import ValidationError
from crmkit.model import (
    Channel,
    ConsentRecord,
    CustomField,
    Deal,
    DealStatus,
    EntitySchema,
    Order,
    OrderLine,
    Organization,
    PartyKind,
    PartyRef,
    Person,
)
from crmkit.serialization import (
    create_from_dict,
    from_dict,
    from_json,
    make_converter,
    to_dict,
    to_json,
)
from crmkit.values import EmailAddress, Money, PhoneNumber, Probability, Url

NOW = datetime(2026, 11, 22, 9, 0, tzinfo=UTC)


def paths(call) -> list[str]:
    with pytest.raises(ValidationError) as error:
        call()
    return sorted(error.value.paths)


def test_encoding_decisions():
    """Each value has one plain form, JSON-ready."""
    deal = Deal.create(
        at=NOW,
        name="Renewal",
        pipeline="b2b",
        stage="won",
        status=DealStatus.WON,
        closed_at=NOW,
        amount=Money(Decimal("1200.50"), "EUR"),
        probability=Probability(1),
        expected_close_date=date(2026, 12, 31),
        tags=["b", "a"],
    )
    data = to_dict(deal)
    assert {"amount": "1200.50", "currency": "EUR"} == data["amount"]
    assert 1.0 == data["probability"]
    assert "2026-12-31" == data["expected_close_date"]
    assert "2026-11-22T09:00:00+00:00" == data["created_at"]
    assert ["a", "b"] == data["tags"]
    assert "won" == data["status"]
    assert type(data["status"]) is str
    assert str(deal.id) == data["id"]
    assert data == json.loads(to_json(deal))


def test_values_round_trip_on_their_own():
    """Values are plain data on their own too."""
    for value in (
        EmailAddress("Jean@Exemple.fr"),
        PhoneNumber("+33612345678"),
        Money(Decimal("0.10"), "EUR"),
        Url("exemple.fr"),
        Probability(0.25),
        ConsentRecord(
            channel=Channel.SMS, purpose="offers", status="withdrawn", at=NOW
        ),
    ):
        assert value == from_json(type(value), to_json(value))


def test_nested_entities_round_trip():
    """Orders with lines and party references survive JSON."""
    order = Order.create(
        at=NOW,
        number="F-1",
        customer=PartyRef(PartyKind.ORGANIZATION, UUID(int=1)),
        ordered_at=NOW,
        currency="EUR",
        lines=[
            OrderLine(
                description="x", quantity=Decimal("2.5"), unit_price=Money(4, "EUR")
            )
        ],
    )
    assert order == from_json(Order, to_json(order))


def test_display_case_of_email_survives():
    """The display form is what is written, so it comes back."""
    person = Person.create(at=NOW, emails=[EmailAddress("Jean.Dupont@Exemple.fr")])
    back = from_json(Person, to_json(person))
    assert "Jean.Dupont@exemple.fr" == back.emails[0].display


def test_strict_reading_refuses_coercions():
    """No silent coercion: numbers are not text, text is not a number or a list."""
    row = to_dict(Organization.create(at=NOW, name="Acme"))
    assert ["employees", "name", "tags"] == paths(
        lambda: from_dict(
            Organization, {**row, "name": 3, "employees": "12", "tags": "vip"}
        )
    )
    assert ["version"] == paths(
        lambda: from_dict(Organization, {**row, "version": True})
    )


def test_unknown_and_missing_keys():
    """Unknown keys are refused; required ones are reported missing."""
    assert ["colour", "created_at", "id", "updated_at"] == paths(
        lambda: from_dict(Person, {"first_name": "Jean", "colour": "red"})
    )


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("created_at", "yesterday"),
        ("created_at", 1700000000),
        ("birth_date", "2026-02-30"),
        ("birth_date", 20260101),
        ("owner_id", "not-a-uuid"),
        ("owner_id", 7),
        ("preferred_channel", "fax"),
        ("emails", [3]),
        ("preferences", ["a"]),
    ],
)
def test_bad_values_are_named(field, value):
    """Each malformed value is refused at its field."""
    row = to_dict(Person.create(at=NOW, first_name="Jean"))
    found = paths(lambda: from_dict(Person, {**row, field: value}))
    assert [field] == [p.split("[")[0] for p in found]


def test_decimals_refuse_floats_and_nonsense():
    """Decimals are strings or ints in plain data."""
    assert ["amount"] == paths(
        lambda: from_dict(Money, {"amount": "1,5", "currency": "EUR"})
    )
    assert ["amount"] == paths(
        lambda: from_dict(Money, {"amount": "Infinity", "currency": "EUR"})
    )
    assert [""] == paths(lambda: from_dict(Money, {"amount": "1"}))
    assert Money(3, "EUR") == from_dict(Money, {"amount": 3, "currency": "EUR"})


def test_phone_region_of_a_converter():
    """A converter may read national numbers in its region; E.164 needs none."""
    row = to_dict(Person.create(at=NOW, first_name="Jean"))
    french = make_converter(phone_region="FR")
    person = from_dict(Person, {**row, "phones": ["06 12 34 56 78"]}, converter=french)
    assert "+33612345678" == person.phones[0].e164
    assert ["phones[0]"] == paths(
        lambda: from_dict(Person, {**row, "phones": ["06 12 34 56 78"]})
    )
    assert ["phones[0]"] == paths(
        lambda: from_dict(Person, {**row, "phones": [612345678]})
    )


def test_custom_values_without_a_schema_stay_plain():
    """Without a schema, custom values are kept as the JSON values they are."""
    person = Person.create(at=NOW, first_name="A", custom={"revenue": Decimal("1.5")})
    assert {"revenue": "1.5"} == dict(from_json(Person, to_json(person)).custom)


def test_custom_values_with_a_schema_are_typed_and_checked():
    """With a schema, custom values come back typed; bad ones join other errors."""
    schema = EntitySchema(custom_fields=[CustomField(name="revenue", type="decimal")])
    converter = make_converter(schemas={Person: schema})
    person = Person.create(
        at=NOW, first_name="A", custom={"revenue": Decimal("1.5")}, schema=schema
    )
    assert person == from_json(
        Person, to_json(person, converter=converter), converter=converter
    )
    row = to_dict(person, converter=converter)
    assert ["custom.revenue", "emails[0]"] == paths(
        lambda: from_dict(
            Person,
            {**row, "custom": {"revenue": "x"}, "emails": ["bad"]},
            converter=converter,
        )
    )
    assert ["custom.revenue"] == paths(
        lambda: from_dict(
            Person, {**row, "custom": {"revenue": "x"}}, converter=converter
        )
    )
    assert ["custom.nope", "id"] == paths(
        lambda: from_dict(
            Person, {**row, "id": 5, "custom": {"nope": 1}}, converter=converter
        )
    )


def test_invariants_are_reported_when_reading():
    """Rules across fields apply to data as to constructors."""
    row = to_dict(Deal.create(at=NOW, name="x", pipeline="p", stage="s"))
    assert ["closed_at", "lost_reason"] == paths(
        lambda: from_dict(Deal, {**row, "status": "lost"})
    )


def test_malformed_json():
    """Text that is not JSON is a ValidationError too."""
    assert [""] == paths(lambda: from_json(Person, "{not json"))


def test_create_from_dict_stamps_and_reads_text():
    """A form's text becomes a new entity at version 1, dated `at`."""
    person = create_from_dict(
        Person,
        {
            "first_name": "Jean",
            "emails": ["Jean@Exemple.fr"],
            "birth_date": "1980-05-01",
        },
        at=NOW,
    )
    assert (1, NOW, date(1980, 5, 1)) == (
        person.version,
        person.created_at,
        person.birth_date,
    )
    assert EmailAddress("jean@exemple.fr") == person.emails[0]


def test_create_from_dict_reports_everything():
    """Bookkeeping fields, bad values and missing fields come back together."""
    assert ["emails[0]", "id", "version"] == paths(
        lambda: create_from_dict(
            Person,
            {"first_name": "J", "id": "x", "version": 2, "emails": ["bad"]},
            at=NOW,
        )
    )
    assert ["name"] == paths(lambda: create_from_dict(Organization, {}, at=NOW))
    assert ["at"] == paths(
        lambda: create_from_dict(Person, {"first_name": "J"}, at=datetime(2026, 1, 1))  # noqa: DTZ001
    )


def test_converters_are_independent():
    """Each call makes a new converter; registering on one leaves others alone."""
    first, second = make_converter(), make_converter()
    first.register_unstructure_hook(EmailAddress, lambda e: e.normalized)
    email = EmailAddress("Jean@Exemple.fr")
    assert ("jean@exemple.fr", "Jean@exemple.fr") == (
        first.unstructure(email),
        second.unstructure(email),
    )


def test_typed_values_are_accepted_as_they_are():
    """Data that already holds typed values (from Python code) is read as is."""
    person = Person.create(
        at=NOW,
        first_name="Jean",
        emails=[EmailAddress("jean@exemple.fr")],
        phones=[PhoneNumber("+33612345678")],
        birth_date=date(1980, 1, 2),
    )
    typed = {
        **to_dict(person),
        "id": person.id,
        "created_at": NOW,
        "updated_at": NOW,
        "birth_date": date(1980, 1, 2),
        "emails": [EmailAddress("jean@exemple.fr")],
        "phones": [PhoneNumber("+33612345678")],
    }
    assert person == from_dict(Person, typed)
    deal = Deal.create(
        at=NOW, name="x", pipeline="p", stage="s", probability=Probability(0.5)
    )
    assert deal == from_dict(Deal, {**to_dict(deal), "probability": Probability(0.5)})


def test_flags_and_probabilities_are_strict():
    """A flag is a bool, not 1 or "yes"; a probability is a number in [0, 1]."""
    row = to_dict(Organization.create(at=NOW, name="Acme"))
    assert ["roles[0].is_primary"] == paths(
        lambda: from_dict(
            Person,
            {
                **to_dict(Person.create(at=NOW, first_name="J")),
                "roles": [{"organization_id": row["id"], "is_primary": 1}],
            },
        )
    )
    deal = to_dict(Deal.create(at=NOW, name="x", pipeline="p", stage="s"))
    assert ["probability"] == paths(
        lambda: from_dict(Deal, {**deal, "probability": 1.5})
    )


def test_mapping_values_are_checked_by_key():
    """A bad value in a mapping field is named by its key."""
    row = to_dict(Person.create(at=NOW, first_name="J"))
    assert ["preferences.time"] == paths(
        lambda: from_dict(Person, {**row, "preferences": {"time": 9}})
    )
    assert ["preferences"] == paths(
        lambda: from_dict(Person, {**row, "preferences": "am"})
    )


def test_custom_values_of_every_type_are_written_as_json():
    """Custom values are written by their type, so any of them goes to JSON."""
    person = Person.create(
        at=NOW,
        first_name="J",
        custom={
            "since": date(2026, 1, 1),
            "seen": NOW,
            "contact": EmailAddress("a@b.fr"),
            "products": ("crm", "bi"),
            "count": 3,
        },
    )
    assert {
        "since": "2026-01-01",
        "seen": "2026-11-22T09:00:00+00:00",
        "contact": "a@b.fr",
        "products": ["crm", "bi"],
        "count": 3,
    } == json.loads(to_json(person))["custom"]


def test_a_record_that_is_not_a_mapping():
    """Anything but a mapping is refused as a whole."""
    assert [""] == paths(lambda: from_dict(Person, ["not", "a", "dict"]))
    schema = EntitySchema(custom_fields=[CustomField(name="x", type="text")])
    converter = make_converter(schemas={Person: schema})
    assert [""] == paths(lambda: from_dict(Person, "nope", converter=converter))


def test_definitions_round_trip_and_report_their_errors():
    """Schemas and labels are data; a bad one read from data names the spot."""
    schema = EntitySchema(
        custom_fields=[CustomField(name="seg", type="choice", choices=["a", "b"])],
        lifecycle_stages=["suspect", "client"],
        phone_region="BE",
    )
    assert schema == from_json(EntitySchema, to_json(schema))
    with pytest.raises(ValidationError) as error:
        from_dict(EntitySchema, {"custom_fields": [{"name": "Bad", "type": "text"}]})
    found = error.value.errors[0]
    assert ("custom_fields[0].name", "Bad", "definition.invalid") == (
        found.path,
        found.value,
        found.code,
    )
