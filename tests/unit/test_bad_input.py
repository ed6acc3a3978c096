"""The issue's bad-input list: each a ValidationError naming the field and the value."""

from datetime import UTC, datetime
from decimal import Decimal

import pytest

from crmkit.errors import FieldError, ValidationError
from crmkit.model import CustomField, EntitySchema, Person
from crmkit.serialization import from_dict, make_converter, to_dict
from crmkit.values import EmailAddress, Money, PhoneNumber, PostalAddress

NOW = datetime(2026, 11, 22, 9, 0, tzinfo=UTC)
SCHEMA = EntitySchema(
    custom_fields=[
        CustomField(name="revenue", type="decimal"),
        CustomField(name="segment", type="choice", choices=["smb", "enterprise"]),
        CustomField(name="employees", type="integer"),
    ]
)


def only_error(error: pytest.ExceptionInfo[ValidationError]) -> FieldError:
    assert 1 == len(error.value.errors)
    return error.value.errors[0]


def test_malformed_email():
    """A malformed email names the field and the value."""
    with pytest.raises(ValidationError) as error:
        from_dict(Person, {**_row(), "emails": ["jean.dupont@@exemple.fr"]})
    found = only_error(error)
    assert ("emails[0]", "jean.dupont@@exemple.fr", "email.invalid") == (
        found.path,
        found.value,
        found.code,
    )


def test_phone_invalid_for_its_region():
    """A French number that is too short is refused for region FR."""
    with pytest.raises(ValidationError) as error:
        PhoneNumber.parse("06 12 34", region="FR")
    found = only_error(error)
    assert ("06 12 34", "phone.invalid") == (found.value, found.code)
    assert "FR" in found.message


def test_phone_invalid_for_region_in_a_record():
    """The same refusal inside a record carries the field path."""
    converter = make_converter(phone_region="FR")
    with pytest.raises(ValidationError) as error:
        from_dict(Person, {**_row(), "phones": ["01 23"]}, converter=converter)
    assert ["phones[0]"] == [e.path for e in error.value.errors]


def test_unknown_currency():
    """An unknown ISO 4217 code is refused at 'currency'."""
    with pytest.raises(ValidationError) as error:
        Money(Decimal(10), "EUX")
    found = only_error(error)
    assert ("currency", "EUX", "currency.unknown") == (
        found.path,
        found.value,
        found.code,
    )


def test_float_amount():
    """A float amount is refused: it cannot hold 0.10 exactly."""
    with pytest.raises(ValidationError) as error:
        Money(0.1, "EUR")  # type: ignore[arg-type]
    found = only_error(error)
    assert ("amount", 0.1, "money.float") == (found.path, found.value, found.code)


def test_float_amount_in_data():
    """A float amount in plain data is refused with its path."""
    with pytest.raises(ValidationError) as error:
        from_dict(Money, {"amount": 12.3, "currency": "EUR"})
    found = only_error(error)
    assert ("amount", 12.3, "decimal.float") == (found.path, found.value, found.code)


def test_unknown_country():
    """An unassigned ISO 3166 code is refused at 'country'."""
    with pytest.raises(ValidationError) as error:
        PostalAddress(city="Paris", country="FX")
    found = only_error(error)
    assert ("country", "FX", "country.unknown") == (found.path, found.value, found.code)


def test_naive_datetime_in_constructor():
    """A naive datetime is refused, naming the field."""
    naive = datetime(2026, 11, 22, 9, 0)  # noqa: DTZ001 - the bad input under test
    with pytest.raises(ValidationError) as error:
        Person.create(at=NOW, first_name="Jean", birth_date=None).update({}, at=naive)
    found = only_error(error)
    assert ("at", naive, "datetime.naive") == (found.path, found.value, found.code)


def test_naive_datetime_in_data():
    """A timestamp without an offset is refused when read from data."""
    with pytest.raises(ValidationError) as error:
        from_dict(Person, {**_row(), "created_at": "2026-11-22T09:00:00"})
    found = only_error(error)
    assert ("created_at", "datetime.naive") == (found.path, found.code)


def test_unknown_custom_field():
    """A custom field the schema does not define is refused."""
    with pytest.raises(ValidationError) as error:
        Person.create(at=NOW, first_name="Jean", custom={"revnue": "1"}, schema=SCHEMA)
    found = only_error(error)
    assert ("custom.revnue", "1", "custom.unknown") == (
        found.path,
        found.value,
        found.code,
    )


def test_custom_value_of_the_wrong_type():
    """An integer custom field refuses text."""
    with pytest.raises(ValidationError) as error:
        Person.create(
            at=NOW, first_name="Jean", custom={"employees": "200"}, schema=SCHEMA
        )
    found = only_error(error)
    assert ("custom.employees", "200", "custom.integer") == (
        found.path,
        found.value,
        found.code,
    )


def test_choice_outside_its_picklist():
    """A choice must be one of its picklist values."""
    with pytest.raises(ValidationError) as error:
        Person.create(
            at=NOW, first_name="Jean", custom={"segment": "mid"}, schema=SCHEMA
        )
    found = only_error(error)
    assert ("custom.segment", "mid", "custom.choice") == (
        found.path,
        found.value,
        found.code,
    )
    assert "'smb', 'enterprise'" in found.message


def test_several_errors_reported_together():
    """Every bad field of one record is reported in one error, not only the first."""
    converter = make_converter(schemas={Person: SCHEMA}, phone_region="FR")
    row = {
        **_row(),
        "emails": ["ok@exemple.fr", "not-an-email"],
        "phones": ["12"],
        "addresses": [{"city": "Lyon", "country": "XX"}],
        "created_at": "2026-11-22T09:00:00",
        "custom": {"segment": "mid", "revnue": 3},
        "nickname": "JD",
    }
    with pytest.raises(ValidationError) as error:
        from_dict(Person, row, converter=converter)
    expected = {
        "emails[1]",
        "phones[0]",
        "addresses[0].country",
        "created_at",
        "custom.segment",
        "custom.revnue",
        "nickname",
    }
    assert expected == set(error.value.paths)
    assert str(len(expected)) + " invalid fields" in str(error.value)


def test_several_errors_from_the_constructor():
    """Building an entity directly also reports every bad field at once."""
    naive = datetime(2026, 1, 1)  # noqa: DTZ001 - the bad input under test
    with pytest.raises(ValidationError) as error:
        Person(
            id="not-a-uuid",  # type: ignore[arg-type]
            created_at=naive,
            updated_at=NOW,
            emails=["jean@exemple.fr"],  # type: ignore[list-item]
        )
    assert {"id", "created_at", "emails[0]"} == set(error.value.paths)


def _row() -> dict[str, object]:
    person = Person.create(
        at=NOW,
        first_name="Jean",
        last_name="Dupont",
        emails=[EmailAddress("jean@exemple.fr")],
    )
    return to_dict(person)  # type: ignore[no-any-return]


def test_fields_that_read_are_still_checked_beside_those_that_did_not():
    """A bad email does not hide a bad version or a blank tag in the same record."""
    with pytest.raises(ValidationError) as error:
        from_dict(Person, {**_row(), "emails": ["bad"], "version": 0, "tags": [" "]})
    assert {"emails[0]", "version", "tags"} == set(error.value.paths)
