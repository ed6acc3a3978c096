"""Type expectations for the public API: checked by mypy, never executed."""

from datetime import UTC, datetime
from decimal import Decimal
from typing import assert_type

from crmkit import EmailAddress, Money, Person, PhoneNumber, from_dict, to_dict
from crmkit.ids import PersonId
from crmkit.model import EntityUpdated, Updated

NOW = datetime(2026, 11, 22, tzinfo=UTC)

person = Person.create(at=NOW, first_name="Jean")
assert_type(person, Person)
assert_type(person.id, PersonId)
assert_type(person.primary_email, EmailAddress | None)

result = person.update({"job_title": "CEO"}, at=NOW)
assert_type(result, Updated[Person])
updated, event = result
assert_type(updated, Person)
assert_type(event, EntityUpdated)

assert_type(Money(Decimal("1.5"), "EUR") + Money(1, "EUR"), Money)
assert_type(PhoneNumber.parse("06 12 34 56 78", region="FR"), PhoneNumber)
assert_type(from_dict(Person, to_dict(person)), Person)
