"""The generated fast path never accepts what the detailed checks refuse."""

from datetime import UTC, datetime
from uuid import uuid4

import attrs
import pytest
from immutabledict import immutabledict

from crmkit.errors import ValidationError
from crmkit.model import Deal, Order, Person, Ticket
from crmkit.model._fields import _checks, _fast_check
from crmkit.values import EmailAddress, Money

NOW = datetime(2026, 11, 22, 9, 0, tzinfo=UTC)


def valid_person() -> Person:
    return Person.create(
        at=NOW,
        first_name="Jean",
        emails=[EmailAddress("jean@exemple.fr")],
        tags=["vip"],
        preferences={"time": "am"},
    )


def detailed_errors(entity) -> list[str]:
    paths = []
    for name, check in _checks(type(entity)):
        try:
            check(getattr(entity, name), name)
        except ValidationError as error:
            paths += error.paths
    return paths


def forced(entity, **values):
    """A copy with values set behind the checks' back, as a buggy caller might."""
    copy = attrs.evolve(entity)
    for name, value in values.items():
        object.__setattr__(copy, name, value)
    return copy


BAD_VALUES = [
    ("first_name", 3),
    ("created_at", datetime(2026, 1, 1)),  # noqa: DTZ001 - the bad value under test
    ("created_at", "2026-01-01"),
    ("birth_date", NOW),
    ("emails", ["jean@exemple.fr"]),
    ("emails", ("jean@exemple.fr",)),
    ("tags", frozenset({None})),
    ("tags", {"vip"}),
    ("preferences", {"time": "am"}),
    ("preferences", immutabledict({"": "x"})),
    ("preferred_channel", "email"),
    ("owner_id", str(uuid4())),
    ("version", True),
    ("version", 0),
]


@pytest.mark.parametrize(("field", "value"), BAD_VALUES)
def test_fast_path_refuses_what_detailed_checks_refuse(field, value):
    """Every bad value fails the fast test and is named by the detailed checks."""
    bad = forced(valid_person(), **{field: value})
    assert _fast_check(Person)(bad) is False
    assert field in [p.split("[")[0] for p in detailed_errors(bad)]


@pytest.mark.parametrize(
    "entity",
    [
        valid_person(),
        Deal.create(at=NOW, name="x", pipeline="p", stage="s", amount=Money(1, "EUR")),
        Ticket.create(at=NOW, subject="Help", channel="email"),
    ],
)
def test_fast_path_accepts_valid_entities(entity):
    """A valid entity passes in one call; the detailed checks agree."""
    assert _fast_check(type(entity))(entity) is True
    assert [] == detailed_errors(entity)


def test_subclasses_take_the_detailed_path_and_pass():
    """A subclass fails the exact-type fast test but the detailed checks accept it."""

    class WorkEmail(EmailAddress):
        __slots__ = ()

    work = WorkEmail("jean@acme.fr")
    person = forced(valid_person(), emails=(work,))
    assert _fast_check(Person)(person) is False
    assert [] == detailed_errors(person)
    assert (work,) == Person.create(at=NOW, emails=[work]).emails


def test_custom_checks_run_in_the_fast_path():
    """Fields with only a detailed check (currency) are still checked."""
    order = Order.create(
        at=NOW,
        number="1",
        customer=valid_person_ref(),
        ordered_at=NOW,
        currency="EUR",
    )
    assert _fast_check(Order)(forced(order, currency="EUX")) is False


def valid_person_ref():
    from crmkit.model import PartyKind, PartyRef  # noqa: PLC0415

    return PartyRef(PartyKind.PERSON, uuid4())
