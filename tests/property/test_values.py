"""Value objects under Hypothesis: exact money, and normalisation that is idempotent."""

import operator
import signal
from collections.abc import Iterator
from contextlib import contextmanager
from decimal import Decimal

import attrs
import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from crmkit.errors import CurrencyMismatch
from crmkit.testing import strategies as crm_st
from crmkit.values import (
    EmailAddress,
    Money,
    PhoneNumber,
    Probability,
    Url,
    currency_minor_units,
)

CURRENCIES = ["EUR", "USD", "GBP", "JPY", "CLP", "KWD", "BHD", "XAU"]
# Fairness is measured in minor units, which gold (XAU) does not have.
WITH_MINOR_UNITS = [
    code for code in CURRENCIES if currency_minor_units(code) is not None
]

MIXING_OPERATIONS = [
    operator.add,
    operator.sub,
    operator.lt,
    operator.le,
    operator.gt,
    operator.ge,
]

ratios = st.lists(
    st.integers(0, 100) | st.decimals(0, 10, places=2), min_size=1, max_size=6
).map(lambda drawn: [drawn[0] + 1, *drawn[1:]])  # the first is positive


@contextmanager
def _time_limit(seconds: float) -> Iterator[None]:
    """Raise TimeoutError in the block after ``seconds`` (Unix main thread only)."""

    def stop(*_: object) -> None:
        raise TimeoutError

    previous = signal.signal(signal.SIGALRM, stop)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


@given(data=st.data())
def test_money_in_two_currencies_never_mixes(data):
    """Adding, subtracting or comparing two currencies raises CurrencyMismatch."""
    first, second = data.draw(
        st.lists(st.sampled_from(CURRENCIES), min_size=2, max_size=2, unique=True)
    )
    left = data.draw(crm_st.money(currencies=st.just(first)), label="left")
    right = data.draw(crm_st.money(currencies=st.just(second)), label="right")
    for operation in MIXING_OPERATIONS:
        with pytest.raises(CurrencyMismatch):
            operation(left, right)
    assert left != right


@given(data=st.data())
def test_same_currency_sums_are_exact(data):
    """Sums in one currency are exact, commutative and associative."""
    currency = st.just(data.draw(st.sampled_from(CURRENCIES), label="currency"))
    a, b, c = (data.draw(crm_st.money(currencies=currency)) for _ in range(3))
    assert a.amount + b.amount == (a + b).amount
    assert a + b == b + a
    assert (a + b) + c == a + (b + c)
    assert a + b + c == sum([a, b, c])
    assert a == (a + b) - b


@given(money=crm_st.money(currencies=st.sampled_from(CURRENCIES)), ratios=ratios)
def test_allocation_adds_up_to_the_rounded_whole(money, ratios):
    """allocate's parts, one per ratio, add up to the rounded whole."""
    parts = money.allocate(ratios)
    assert len(ratios) == len(parts)
    assert {money.currency} == {part.currency for part in parts}
    assert money.rounded() == sum(parts)


@given(
    money=crm_st.money(currencies=st.sampled_from(WITH_MINOR_UNITS)),
    ratios=ratios,
)
def test_allocation_is_fair_to_a_minor_unit(money, ratios):
    """Each part is within one minor unit of its exact share of the rounded whole."""
    whole = money.rounded().amount
    unit = Decimal(1).scaleb(-(money.minor_units or 0))
    total = sum((Decimal(ratio) for ratio in ratios), Decimal(0))
    for ratio, part in zip(ratios, money.allocate(ratios), strict=True):
        assert abs(part.amount - whole * Decimal(ratio) / total) <= unit


@example(money=Money(Decimal("0.01"), "EUR"), ratios=[0, 1, 1])
@example(money=Money(Decimal("-0.01"), "EUR"), ratios=[1, 0, 1, 1])
@given(money=crm_st.money(currencies=st.sampled_from(CURRENCIES)), ratios=ratios)
def test_a_zero_ratio_gets_nothing(money, ratios):
    """A part whose ratio is 0 gets no money."""
    parts = money.allocate(ratios)
    assert [] == [
        part for ratio, part in zip(ratios, parts, strict=True) if ratio == 0 and part
    ]


@pytest.mark.skipif(not hasattr(signal, "setitimer"), reason="needs SIGALRM")
def test_allocation_without_minor_units_finishes():
    """Splitting gold (no minor unit) finishes, and the parts add up to the whole."""
    gold = Money(Decimal("1.5"), "XAU")
    with _time_limit(seconds=1):
        parts = gold.allocate([1, 1])
    assert gold == sum(parts)


@given(crm_st.phone_numbers())
def test_e164_normalisation_is_idempotent(phone):
    """A number read back from its E.164, international or national form is the same."""
    assert phone == PhoneNumber(phone.e164, extension=phone.extension)
    assert phone.e164 == PhoneNumber(phone.e164).e164
    assert phone == PhoneNumber(str(phone))
    international = PhoneNumber.parse(phone.international, region=phone.region)
    national = PhoneNumber.parse(phone.national, region=phone.region)
    assert phone.e164 == international.e164
    assert phone.e164 == national.e164


@example(phone=PhoneNumber("+33612345678", extension="12"))
@given(crm_st.phone_numbers())
def test_tel_uri_reads_back_as_the_same_number(phone):
    """A number read back from its tel: URI, extension included, is the same."""
    assert phone == PhoneNumber(phone.uri)


@given(crm_st.emails())
def test_email_normalisation_is_idempotent(email):
    """An address read back from its display or normalised form is the same."""
    assert email == EmailAddress(email.display)
    assert email.display == EmailAddress(email.display).display
    assert email.normalized == EmailAddress(email.normalized).normalized
    assert email == EmailAddress(str(email))


@given(crm_st.urls())
def test_url_normalisation_is_idempotent(url):
    """A web address read back from its normalised form is the same."""
    assert url == Url(url.value)
    assert url.host.lower() == url.host


@given(crm_st.postal_addresses())
def test_address_tidying_is_idempotent(address):
    """Tidying an already tidy address changes nothing."""
    assert address == attrs.evolve(address)
    assert address.postcode == (address.postcode and address.postcode.upper())


@given(crm_st.probabilities(), crm_st.money(currencies=st.just("EUR")))
def test_probabilities_read_back_and_weigh_money(probability, money):
    """A probability reads back from its value and Decimal, and weighs money."""
    assert probability == Probability(probability.value)
    assert probability.value == float(probability.as_decimal())
    assert money.amount * probability.as_decimal() == (money * probability).amount
