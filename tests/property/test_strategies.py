"""crmkit.testing.strategies: sound, strict about arguments, known to Hypothesis."""

import importlib.util
import inspect
import re
import sys
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from importlib.metadata import entry_points
from typing import Any

import attrs
import pytest
from hypothesis import Phase, find, given, settings
from hypothesis import strategies as st
from hypothesis.errors import InvalidArgument

from crmkit.ids import id_time
from crmkit.model import (
    ENTITY_TYPES,
    ActivityKind,
    CampaignStatus,
    Channel,
    ConsentRecord,
    ConsentStatus,
    CustomField,
    CustomFieldType,
    DealStatus,
    Direction,
    Entity,
    EntitySchema,
    ForecastCategory,
    LegalBasis,
    OrderLine,
    OrderStatus,
    OrganizationRole,
    PartyKind,
    PartyRef,
    Priority,
    TicketKind,
)
from crmkit.serialization import from_dict, to_dict
from crmkit.testing import strategies as crm_st
from crmkit.values import (
    EmailAddress,
    Money,
    PhoneKind,
    PhoneNumber,
    PostalAddress,
    Probability,
    Url,
)

# Every strategy that needs no argument, by name.
DEFAULT_STRATEGIES = [name for name in crm_st.__all__ if name != "custom_values"]

# Library bug: attrs.evolve(x) calls __init__ with the attribute names, which the
# own __init__ of these two values does not take (`address`; `number` + extension).
EVOLVE_BREAKS = {"emails", "phone_numbers"}

VALUE_TYPES = [EmailAddress, PhoneNumber, Money, PostalAddress, Url, Probability]
RECORD_TYPES = [
    ConsentRecord,
    OrganizationRole,
    PartyRef,
    OrderLine,
    CustomField,
    EntitySchema,
]
REGISTERED_TYPES = [*VALUE_TYPES, *RECORD_TYPES, *ENTITY_TYPES.values()]

ENTITY_STRATEGIES: dict[str, Callable[..., st.SearchStrategy[Any]]] = {
    "person": crm_st.people,
    "organization": crm_st.organizations,
    "relationship": crm_st.relationships,
    "lead": crm_st.leads,
    "deal": crm_st.deals,
    "activity": crm_st.activities,
    "ticket": crm_st.tickets,
    "order": crm_st.orders,
    "product": crm_st.products,
    "user": crm_st.users,
    "team": crm_st.teams,
    "campaign": crm_st.campaigns,
}

# A plain value where a strategy belongs, one case per strategy parameter kind.
PLAIN_VALUES = [
    (crm_st.emails, "domains", "acme.com"),
    (crm_st.emails, "local_parts", "jean"),
    (crm_st.phone_numbers, "regions", "FR"),
    (crm_st.money, "currencies", "EUR"),
    (crm_st.money, "amounts", Decimal("9.90")),
    (crm_st.aware_datetimes, "timezones", UTC),
    (crm_st.postal_addresses, "country", "FR"),
    (crm_st.consent_records, "channel", Channel.EMAIL),
    (crm_st.organization_roles, "is_primary", True),
    (crm_st.party_refs, "kind", PartyKind.PERSON),
    (crm_st.order_lines, "discount", Decimal(0)),
    (crm_st.custom_fields, "type", CustomFieldType.TEXT),
    (crm_st.entity_schemas, "phone_region", "FR"),
    (crm_st.people, "emails", [EmailAddress("jean@acme.com")]),
    (crm_st.organizations, "name", "Acme"),
    (crm_st.relationships, "label", "supplier"),
    (crm_st.leads, "status", "new"),
    (crm_st.deals, "status", DealStatus.OPEN),
    (crm_st.activities, "kind", ActivityKind.CALL),
    (crm_st.tickets, "priority", Priority.HIGH),
    (crm_st.orders, "currency", "EUR"),
    (crm_st.products, "active", True),
    (crm_st.users, "time_zone", "Europe/Paris"),
    (crm_st.teams, "member_ids", []),
    (crm_st.campaigns, "status", CampaignStatus.ACTIVE),
]

# Every member of every enum field is reachable from the default strategies.
ENUM_FIELDS = [
    (crm_st.deals, "status", DealStatus),
    (crm_st.deals, "forecast_category", ForecastCategory),
    (crm_st.activities, "kind", ActivityKind),
    (crm_st.activities, "direction", Direction),
    (crm_st.tickets, "kind", TicketKind),
    (crm_st.tickets, "priority", Priority),
    (crm_st.tickets, "channel", Channel),
    (crm_st.orders, "status", OrderStatus),
    (crm_st.campaigns, "status", CampaignStatus),
    (crm_st.consent_records, "status", ConsentStatus),
    (crm_st.consent_records, "legal_basis", LegalBasis),
    (crm_st.party_refs, "kind", PartyKind),
    (crm_st.custom_fields, "type", CustomFieldType),
    (crm_st.people, "preferred_channel", Channel),
]
ENUM_MEMBERS = [
    pytest.param(factory, field, member, id=f"{factory.__name__}.{field}={member}")
    for factory, field, enum in ENUM_FIELDS
    for member in enum
]


def _reach(strategy: st.SearchStrategy[Any], condition: Callable[[Any], bool]) -> Any:
    """Find one drawn object that meets ``condition``, without shrinking it."""
    # find's own default budget; shrinking an entity is slow and not needed here.
    budget = settings(max_examples=2000, phases=[Phase.generate], database=None)
    return find(strategy, condition, settings=budget)


def _has_accent(text: str | None) -> bool:
    return text is not None and not text.isascii()


@pytest.mark.parametrize("name", DEFAULT_STRATEGIES)
@given(data=st.data())
def test_output_is_valid(name, data):
    """Every drawn object rebuilds without error, with from_dict and attrs.evolve."""
    obj = data.draw(getattr(crm_st, name)(), label=name)
    assert type(obj) is type(from_dict(type(obj), to_dict(obj)))
    if attrs.has(type(obj)) and name not in EVOLVE_BREAKS:
        assert obj == attrs.evolve(obj)
    if isinstance(obj, Entity):
        # Stamped at creation: the UUIDv7 carries created_at, no update before it.
        minted = id_time(obj.id)
        assert 7 == obj.id.version
        assert minted <= obj.created_at < minted + timedelta(milliseconds=1)
        assert obj.created_at <= obj.updated_at


@given(data=st.data())
def test_custom_values_fit_their_schema(data):
    """custom_values(schema) draws values the schema accepts, already in their type."""
    schema = data.draw(crm_st.entity_schemas(), label="schema")
    values = data.draw(crm_st.custom_values(schema), label="values")
    required = {field.name for field in schema.custom_fields if field.required}
    assert values == dict(schema.validate_custom(values))
    assert required <= values.keys()


@pytest.mark.parametrize("cls", REGISTERED_TYPES, ids=lambda cls: cls.__name__)
@settings(max_examples=10)  # wiring, not a property: a few draws show it resolves
@given(data=st.data())
def test_from_type_resolves_every_type(cls, data):
    """st.from_type finds crmkit's strategy for each value and entity type."""
    assert isinstance(data.draw(st.from_type(cls)), cls)


def test_the_hook_is_an_entry_point():
    """crmkit registers its types through Hypothesis' entry-point group."""
    (entry,) = (e for e in entry_points(group="hypothesis") if e.name == "crmkit")
    assert "crmkit.testing._hypothesis_hook:_hypothesis_setup_hook" == entry.value


@pytest.mark.parametrize(
    ("factory", "name", "value"),
    PLAIN_VALUES,
    ids=[f"{factory.__name__}-{name}" for factory, name, _ in PLAIN_VALUES],
)
def test_plain_values_are_refused(factory, name, value):
    """Passing a value where a strategy belongs says to wrap it in st.just."""
    with pytest.raises(InvalidArgument, match=re.escape("use st.just(")):
        factory(**{name: value})


@pytest.mark.parametrize("factory", list(ENTITY_STRATEGIES.values()))
def test_unknown_fields_are_refused(factory):
    """A keyword that is not a field of the entity is refused, naming the fields."""
    with pytest.raises(InvalidArgument, match="has no field 'nickname'"):
        factory(nickname=st.just("JD"))


def test_custom_values_needs_a_schema():
    """custom_values refuses anything but an EntitySchema."""
    with pytest.raises(InvalidArgument, match="must be an EntitySchema"):
        crm_st.custom_values({"segment": "smb"})  # type: ignore[arg-type]


def test_impossible_field_strategies_are_refused():
    """Given strategies that can only make an invalid entity raise InvalidArgument."""

    @given(
        crm_st.people(
            first_name=st.none(),
            last_name=st.none(),
            emails=st.just([]),
            phones=st.just([]),
        )
    )
    def draw_nobody(person):
        raise AssertionError(person)

    with pytest.raises(InvalidArgument, match="invalid Person"):
        draw_nobody()


def test_invalid_values_from_given_strategies_are_refused():
    """A region or domain that cannot make a valid value raises InvalidArgument."""

    @given(crm_st.phone_numbers(regions=st.just("XX")))
    def draw_from_nowhere(phone):
        raise AssertionError(phone)

    @given(crm_st.emails(domains=st.just("localhost")))
    def draw_local(email):
        raise AssertionError(email)

    with pytest.raises(InvalidArgument, match="'XX'"):
        draw_from_nowhere()
    with pytest.raises(InvalidArgument, match="'localhost'"):
        draw_local()


@given(
    crm_st.people(
        emails=st.lists(
            crm_st.emails(domains=st.just("acme.com")), min_size=2, max_size=3
        ),
        last_name=st.just("Dupont"),
    )
)
def test_given_field_strategies_are_used(person):
    """A field strategy replaces the default; the other fields keep theirs."""
    assert "Dupont" == person.last_name
    assert {"acme.com"} == {email.domain for email in person.emails}
    assert 2 <= len(person.emails)


@given(crm_st.deals(status=st.just(DealStatus.LOST)))
def test_lost_deals_get_a_reason_and_a_close_time(deal):
    """Fields that depend on a given status follow it."""
    assert deal.lost_reason
    assert deal.closed_at is not None
    assert deal.created_at <= deal.closed_at


@given(crm_st.deals(closed_at=st.just(None)))
def test_deals_without_close_time_are_open(deal):
    """A status follows a given close time."""
    assert DealStatus.OPEN == deal.status


@given(crm_st.orders(currency=st.just("JPY")))
def test_orders_follow_a_given_currency(order):
    """Lines and cost to serve follow the order's given currency."""
    amounts = [line.unit_price for line in order.lines] + [
        line.unit_cost for line in order.lines if line.unit_cost is not None
    ]
    if order.cost_to_serve is not None:
        amounts.append(order.cost_to_serve)
    assert {"JPY"} >= {amount.currency for amount in amounts}


@given(crm_st.campaigns(budget=st.just(Money(Decimal(5000), "CHF"))))
def test_campaign_money_follows_a_given_budget(campaign):
    """Cost and revenue follow the currency of a given budget."""
    amounts = [campaign.actual_cost, campaign.expected_revenue]
    assert {"CHF"} >= {amount.currency for amount in amounts if amount is not None}


@given(crm_st.aware_datetimes())
def test_datetimes_are_aware_and_sensible(moment):
    """aware_datetimes draws aware datetimes from 2000 to 2040 that survive ISO 8601."""
    assert moment.utcoffset() is not None
    assert (
        datetime(2000, 1, 1, tzinfo=UTC) <= moment <= datetime(2041, 1, 1, tzinfo=UTC)
    )
    assert moment == datetime.fromisoformat(moment.isoformat())


@pytest.mark.parametrize(("factory", "field", "member"), ENUM_MEMBERS)
def test_every_enum_member_is_reachable(factory, field, member):
    """Default strategies reach every member of every enum field."""
    found = _reach(factory(), lambda obj: getattr(obj, field) == member)
    assert member == getattr(found, field)


@pytest.mark.parametrize(
    ("strategy", "condition"),
    [
        (crm_st.people(), lambda p: len(p.emails) >= 2 and len(p.phones) >= 2),
        (crm_st.people(), lambda p: _has_accent(p.first_name)),
        (crm_st.people(), lambda p: len(p.roles) >= 2),
        (crm_st.people(), lambda p: p.first_name is None and p.last_name is None),
        (crm_st.aware_datetimes(), lambda moment: moment.tzinfo is not UTC),
        (crm_st.emails(), lambda e: not e.domain.isascii()),
        (crm_st.emails(), lambda e: e.display != e.normalized),
        (crm_st.phone_numbers(), lambda p: p.extension is not None),
        (crm_st.phone_numbers(), lambda p: PhoneKind.MOBILE == p.kind),
        (crm_st.phone_numbers(), lambda p: PhoneKind.TOLL_FREE == p.kind),
        (crm_st.money(), lambda m: m.minor_units is None),
        (crm_st.money(), lambda m: 0 == m.minor_units),
        (crm_st.money(), lambda m: 3 == m.minor_units),
        (crm_st.money(), lambda m: m.amount < 0),
        (crm_st.organizations(), lambda o: o.parent_id is not None),
        (crm_st.leads(), lambda lead: lead.converted_at is not None),
        (crm_st.tickets(), lambda t: t.closed_at is not None),
        (crm_st.orders(), lambda o: len(o.lines) >= 2),
    ],
    ids=[
        "several-emails-and-phones",
        "accented-first-name",
        "several-roles",
        "no-name",
        "local-time-zone-input",
        "idn-domain",
        "mixed-case-email",
        "phone-extension",
        "mobile",
        "toll-free",
        "no-minor-unit",
        "no-decimals",
        "three-decimals",
        "negative-money",
        "subsidiary",
        "converted-lead",
        "closed-ticket",
        "several-order-lines",
    ],
)
def test_defaults_reach_the_interesting_cases(strategy, condition):
    """The default strategies reach the cases that catch bugs."""
    assert condition(_reach(strategy, condition))


def test_all_is_sorted_and_complete():
    """__all__ is sorted and names every public function of the module."""
    public = sorted(
        name
        for name, obj in vars(crm_st).items()
        if not name.startswith("_")
        and inspect.isfunction(obj)
        and obj.__module__ == crm_st.__name__
    )
    assert sorted(crm_st.__all__) == crm_st.__all__
    assert public == crm_st.__all__


@pytest.mark.parametrize("name", crm_st.__all__)
def test_docstrings_say_what_they_need_and_return(name):
    """Each strategy's docstring says it needs hypothesis and what it returns."""
    doc = inspect.getdoc(getattr(crm_st, name)) or ""
    assert "Requires the hypothesis package." in doc
    assert re.search(r"Returns:\n\s+SearchStrategy\[", doc)


def test_the_module_asks_for_the_testing_extra(monkeypatch):
    """Without Hypothesis, importing the strategies says which extra to install."""
    for module in [m for m in sys.modules if m.split(".")[0] == "hypothesis"]:
        monkeypatch.setitem(sys.modules, module, None)
    spec = importlib.util.spec_from_file_location(
        "crmkit_strategies_without_hypothesis", crm_st.__file__
    )
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    with pytest.raises(ImportError, match=re.escape("pip install 'crmkit[testing]'")):
        spec.loader.exec_module(module)
