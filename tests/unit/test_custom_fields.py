"""Custom field schemas: definitions refused when built, values typed when checked."""

from datetime import UTC, date, datetime
from decimal import Decimal

import pytest

from crmkit.errors import InvalidDefinition, ValidationError
from crmkit.model import CustomField, CustomFieldType, EntitySchema, Person
from crmkit.values import EmailAddress, Money, PhoneNumber, Url

NOW = datetime(2026, 11, 22, 9, 0, tzinfo=UTC)

ALL_TYPES = EntitySchema(
    custom_fields=[
        CustomField(name="note", type="text"),
        CustomField(name="seats", type="integer"),
        CustomField(name="revenue", type="decimal", required=True),
        CustomField(name="partner", type="bool"),
        CustomField(name="signed_on", type="date"),
        CustomField(name="last_seen", type="datetime"),
        CustomField(name="segment", type="choice", choices=["smb", "enterprise"]),
        CustomField(name="products", type="multi_choice", choices=["crm", "erp", "bi"]),
        CustomField(name="budget", type="money"),
        CustomField(name="billing_email", type="email"),
        CustomField(name="hotline", type="phone"),
        CustomField(name="portal", type="url"),
    ],
    phone_region="FR",
)


def test_values_in_json_form_are_typed():
    """JSON-form values come back as their Python types."""
    values = ALL_TYPES.validate_custom(
        {
            "note": "met at the fair",
            "seats": 25,
            "revenue": "1250000.50",
            "partner": True,
            "signed_on": "2026-03-01",
            "last_seen": "2026-11-20T08:30:00+01:00",
            "segment": "enterprise",
            "products": ["bi", "crm"],
            "budget": {"amount": "9000", "currency": "EUR"},
            "billing_email": "Compta@Acme.fr",
            "hotline": "01 23 45 67 89",
            "portal": "portal.acme.fr",
        }
    )
    assert {
        "note": "met at the fair",
        "seats": 25,
        "revenue": Decimal("1250000.50"),
        "partner": True,
        "signed_on": date(2026, 3, 1),
        "last_seen": datetime(2026, 11, 20, 7, 30, tzinfo=UTC),
        "segment": "enterprise",
        "products": ("crm", "bi"),
        "budget": Money(9000, "EUR"),
        "billing_email": EmailAddress("compta@acme.fr"),
        "hotline": PhoneNumber("+33123456789"),
        "portal": Url("https://portal.acme.fr"),
    } == dict(values)


def test_typed_values_pass_through():
    """Values already typed are accepted as they are."""
    values = {
        "revenue": Decimal("1.5"),
        "budget": Money(1, "EUR"),
        "signed_on": date(2026, 1, 1),
        "hotline": PhoneNumber("+33123456789"),
    }
    assert values == dict(ALL_TYPES.validate_custom(values))


def test_none_means_not_set_and_required_is_enforced():
    """A None value is left out; a missing required field is reported."""
    with pytest.raises(ValidationError) as error:
        ALL_TYPES.validate_custom({"note": None})
    assert [("custom.revenue", "custom.required")] == [
        (e.path, e.code) for e in error.value.errors
    ]
    assert {"revenue": Decimal(1)} == dict(
        ALL_TYPES.validate_custom({"revenue": 1, "note": None})
    )


@pytest.mark.parametrize(
    ("name", "value", "code"),
    [
        ("note", 3, "custom.text"),
        ("seats", True, "custom.integer"),
        ("seats", 2.5, "custom.integer"),
        ("revenue", "abc", "custom.decimal"),
        ("revenue", "NaN", "custom.decimal"),
        ("revenue", True, "custom.decimal"),
        ("partner", "yes", "custom.bool"),
        ("signed_on", "2026-02-30", "custom.date"),
        ("signed_on", datetime(2026, 1, 1, tzinfo=UTC), "custom.date"),
        ("last_seen", "2026-11-20T08:30:00", "custom.datetime"),
        ("last_seen", 5, "custom.datetime"),
        ("segment", "mid", "custom.choice"),
        ("products", "crm", "custom.multi_choice"),
        ("products", ["crm", "hr"], "custom.multi_choice"),
        ("budget", {"amount": 1}, "custom.money"),
        ("budget", {"amount": "1", "currency": "EUX"}, "currency.unknown"),
        ("billing_email", "compta@", "email.invalid"),
        ("hotline", "01 23", "phone.invalid"),
        ("hotline", 123, "custom.phone"),
        ("portal", "ftp://acme.fr", "url.scheme"),
    ],
)
def test_wrong_values_are_refused_with_their_path(name, value, code):
    """Each type refuses what does not fit, at custom.<name>."""
    with pytest.raises(ValidationError) as error:
        ALL_TYPES.validate_custom({"revenue": 1, name: value})
    assert [(f"custom.{name}", value, code)] == [
        (e.path, e.value, e.code) for e in error.value.errors
    ]


def test_decimal_accepts_floats_through_their_shortest_repr():
    """A JSON float becomes the Decimal it reads as, not its binary expansion."""
    assert Decimal("0.1") == ALL_TYPES.validate_custom({"revenue": 0.1})["revenue"]


@pytest.mark.parametrize(
    ("kwargs", "path"),
    [
        ({"name": "Revenue", "type": "text"}, "name"),
        ({"name": "2fast", "type": "text"}, "name"),
        ({"name": "x", "type": "colour"}, "type"),
        ({"name": "x", "type": "choice"}, "choices"),
        ({"name": "x", "type": "choice", "choices": ["a", "a"]}, "choices"),
        ({"name": "x", "type": "choice", "choices": ["a", " "]}, "choices"),
        ({"name": "x", "type": "text", "choices": ["a"]}, "choices"),
    ],
)
def test_bad_field_definitions_are_refused_when_built(kwargs, path):
    """A definition that cannot work fails at once, naming where."""
    with pytest.raises(InvalidDefinition) as error:
        CustomField(**kwargs)
    assert path == error.value.path
    assert isinstance(error.value, ValueError)


def test_bad_schemas_are_refused_when_built():
    """Duplicate fields, blank or duplicate lifecycle stages."""
    field = CustomField(name="x", type=CustomFieldType.TEXT)
    with pytest.raises(InvalidDefinition) as error:
        EntitySchema(custom_fields=[field, field])
    assert "custom_fields[1].name" == error.value.path
    with pytest.raises(InvalidDefinition):
        EntitySchema(custom_fields=["x"])  # type: ignore[list-item]
    with pytest.raises(InvalidDefinition):
        EntitySchema(lifecycle_stages=["lead", "lead"])
    with pytest.raises(InvalidDefinition):
        EntitySchema(lifecycle_stages=[])


def test_schema_field_lookup():
    """Fields are found by name; an unknown name is a ValidationError."""
    assert CustomFieldType.MONEY == ALL_TYPES.field("budget").type
    with pytest.raises(ValidationError):
        ALL_TYPES.field("nope")


def test_business_defined_lifecycle_stages():
    """A business may replace the default lifecycle stages."""
    schema = EntitySchema(lifecycle_stages=["suspect", "prospect", "client"])
    person = Person.create(
        at=NOW, first_name="A", lifecycle_stage="prospect", schema=schema
    )
    assert "prospect" == person.lifecycle_stage
    with pytest.raises(ValidationError) as error:
        Person.create(at=NOW, first_name="A", lifecycle_stage="customer", schema=schema)
    assert ["lifecycle_stage"] == list(error.value.paths)


def test_update_validates_against_the_schema():
    """Updates are checked like creation, and the event shows the typed value."""
    person = Person.create(
        at=NOW, first_name="A", custom={"revenue": "10"}, schema=ALL_TYPES
    )
    updated, event = person.update(
        {"custom": {**person.custom, "revenue": "12.5"}}, at=NOW, schema=ALL_TYPES
    )
    assert Decimal("12.5") == updated.custom["revenue"]
    assert Decimal(10) == event.changes[0].old
    with pytest.raises(ValidationError):
        person.update({"custom": {}}, at=NOW, schema=ALL_TYPES)


def test_untidy_lifecycle_stages_are_refused():
    """A stage no entity could hold (extra spaces) is refused when defined."""
    with pytest.raises(InvalidDefinition) as error:
        EntitySchema(lifecycle_stages=["lead", "key  account"])
    assert "lifecycle_stages" == error.value.path
