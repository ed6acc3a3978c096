"""Value objects: what they accept, how they normalise, what they refuse."""

import pickle
from decimal import Decimal

import pytest
from email_validator import EmailNotValidError, validate_email

from crmkit.errors import CurrencyMismatch, ValidationError
from crmkit.values import (
    EmailAddress,
    Money,
    PhoneKind,
    PhoneNumber,
    PostalAddress,
    Probability,
    Url,
    country_code,
    currency_minor_units,
)

# Addresses on both sides of email-validator's rules; crmkit must judge them alike.
EMAIL_CORPUS = [
    "jean.dupont@exemple.fr",
    "Jean.Dupont@EXEMPLE.FR",
    "a+tag@sub.domain.co.uk",
    "élodie@exemple.fr",
    "user@xn--bcher-kva.de",
    "user@bücher.de",
    "x@localhost",
    "no-at-sign",
    "@exemple.fr",
    "jean@",
    "jean..dupont@exemple.fr",
    ".jean@exemple.fr",
    "jean.@exemple.fr",
    "jean@exemple..fr",
    "jean@-exemple.fr",
    "jean dupont@exemple.fr",
    '"quoted"@exemple.fr',
    "jean@[192.168.0.1]",
    "Jean <jean@exemple.fr>",
    "jean@exemple.invalid",
    "jean@exemple.test",
    "a" * 65 + "@exemple.fr",
    "jean@" + "a" * 64 + ".fr",
    "jean@exemple." + "f" * 70,
    "jean@123.123.123.123",
]


@pytest.mark.parametrize("address", EMAIL_CORPUS)
def test_email_accepts_exactly_what_email_validator_accepts(address):
    """Caching the domain check changes no verdict of email-validator's."""
    try:
        expected = validate_email(
            address, check_deliverability=False, allow_quoted_local=False
        ).normalized.lower()
    except EmailNotValidError:
        expected = None
    try:
        actual = EmailAddress(address).normalized
    except ValidationError:
        actual = None
    assert expected == actual


def test_email_normalises_case_and_keeps_display():
    """Matching ignores case; display keeps what was typed, domain normalised."""
    email = EmailAddress("  Jean.Dupont@Exemple.FR ")
    assert "jean.dupont@exemple.fr" == email.normalized
    assert "Jean.Dupont@exemple.fr" == email.display == str(email)
    assert EmailAddress("jean.dupont@exemple.fr") == email
    assert hash(EmailAddress("JEAN.DUPONT@exemple.fr")) == hash(email)
    assert ("jean.dupont", "exemple.fr") == (email.local_part, email.domain)


def test_email_decodes_idna_domain():
    """An IDNA domain is stored in its Unicode form."""
    assert "user@bücher.de" == EmailAddress("user@xn--bcher-kva.de").normalized


def test_email_refuses_non_text():
    """Only text can be an email address."""
    with pytest.raises(ValidationError, match="expected str"):
        EmailAddress(42)  # type: ignore[arg-type]


def test_email_from_email_is_itself():
    """Passing an EmailAddress yields an equal one."""
    email = EmailAddress("a@exemple.fr")
    assert email == EmailAddress(email)  # type: ignore[arg-type]


def test_values_pickle():
    """Values survive pickling (multiprocessing, caches)."""
    values = [
        EmailAddress("Jean@Exemple.fr"),
        PhoneNumber.parse("06 12 34 56 78", region="FR"),
        Money(Decimal("1.50"), "EUR"),
        PostalAddress(city="Paris", country="FR"),
        Url("exemple.fr"),
        Probability(0.3),
    ]
    assert values == [pickle.loads(pickle.dumps(v)) for v in values]  # noqa: S301


def test_phone_parses_national_form_with_region():
    """A French mobile typed nationally becomes E.164 with its kind and formats."""
    phone = PhoneNumber.parse("06 12 34 56 78", region="fr")
    assert "+33612345678" == phone.e164
    assert PhoneKind.MOBILE == phone.kind
    assert "06 12 34 56 78" == phone.national
    assert "+33 6 12 34 56 78" == phone.international
    assert "FR" == phone.region
    assert "tel:+33-6-12-34-56-78" == phone.uri


@pytest.mark.parametrize(
    ("text", "region", "kind"),
    [
        ("01 23 45 67 89", "FR", PhoneKind.FIXED_LINE),
        ("0800 123 456", "FR", PhoneKind.TOLL_FREE),
        ("+1 650-253-0000", None, PhoneKind.FIXED_LINE_OR_MOBILE),
        ("020 7946 0018", "GB", PhoneKind.FIXED_LINE),
    ],
)
def test_phone_kinds(text, region, kind):
    """The kind comes from phonenumbers' metadata."""
    assert kind == PhoneNumber.parse(text, region=region).kind


def test_phone_keeps_extension():
    """An extension is kept, not dropped, and survives its text form."""
    phone = PhoneNumber.parse("01 23 45 67 89 ext. 12", region="FR")
    assert "12" == phone.extension
    assert phone == PhoneNumber(str(phone))
    assert "+33123456789;ext=12" == str(phone)


def test_phone_international_form_needs_no_region():
    """E.164 text builds a number directly; equal to the parsed national form."""
    assert PhoneNumber("+33612345678") == PhoneNumber.parse("0612345678", region="FR")


def test_phone_national_form_without_region_is_refused():
    """Without a region a national number is ambiguous, and said so."""
    with pytest.raises(ValidationError) as error:
        PhoneNumber.parse("06 12 34 56 78")
    assert "phone.region_needed" == error.value.errors[0].code
    with pytest.raises(ValidationError) as error:
        PhoneNumber("06 12 34 56 78")
    assert "phone.region_needed" == error.value.errors[0].code


@pytest.mark.parametrize("text", ["+99 123", "not a number", "+33 6 12"])
def test_phone_refuses_invalid_international_numbers(text):
    """Garbage and impossible numbers are refused."""
    with pytest.raises(ValidationError) as error:
        PhoneNumber.parse(text)
    assert "phone.invalid" == error.value.errors[0].code


def test_phone_refuses_non_text():
    """Only text is parsed."""
    with pytest.raises(ValidationError, match="expected str"):
        PhoneNumber.parse(612345678)  # type: ignore[arg-type]
    with pytest.raises(ValidationError, match="expected str"):
        PhoneNumber(612345678)  # type: ignore[arg-type]


def test_phone_region_of_global_service_is_none():
    """Non-geographic numbers (+800) belong to no region."""
    assert None is PhoneNumber("+80012345678").region


def test_money_arithmetic_is_exact():
    """Decimal arithmetic, sum() without a start, multiply and divide."""
    price = Money(Decimal("12.30"), "EUR")
    assert Money(Decimal("36.90"), "EUR") == price * 3 == 3 * price
    assert Money(Decimal("24.60"), "EUR") == sum([price, price])
    assert Money(Decimal("6.15"), "EUR") == price / 2
    assert Money(Decimal("-12.30"), "EUR") == -price
    assert price == abs(-price)
    assert Money(Decimal("4.920"), "EUR") == price * Probability(0.4)
    assert price - price == Money.zero("EUR")
    assert not Money.zero("EUR")


def test_money_refuses_mixing_currencies():
    """Adding, subtracting or comparing two currencies raises CurrencyMismatch."""
    eur, usd = Money(1, "EUR"), Money(1, "USD")
    for operation in (
        lambda: eur + usd,
        lambda: eur - usd,
        lambda: eur < usd,
        lambda: eur <= usd,
        lambda: eur > usd,
        lambda: eur >= usd,
    ):
        with pytest.raises(CurrencyMismatch) as error:
            operation()
        assert ("EUR", "USD") == (error.value.left, error.value.right)
    assert eur != usd


def test_money_comparisons_within_a_currency():
    """Amounts of one currency order naturally."""
    one, two = Money(1, "EUR"), Money(2, "EUR")
    assert one < two
    assert one <= two
    assert two > one
    assert two >= one
    assert Money(Decimal("1.0"), "EUR") == Money(Decimal("1.00"), "EUR")


def test_money_refuses_bad_factors_and_zero_division():
    """Floats cannot scale money; dividing by zero is an error."""
    with pytest.raises(TypeError, match="Decimal, int or Probability"):
        Money(1, "EUR") * 1.5  # type: ignore[operator]
    with pytest.raises(ZeroDivisionError):
        Money(1, "EUR") / 0
    assert NotImplemented == Money(1, "EUR").__add__(1)


@pytest.mark.parametrize(
    ("value", "code"),
    [
        (Decimal("NaN"), "money.not_finite"),
        (Decimal("Infinity"), "money.not_finite"),
        ("12.30", "type"),
        (True, "type"),
    ],
)
def test_money_refuses_bad_amounts(value, code):
    """Only finite Decimals and ints are amounts."""
    with pytest.raises(ValidationError) as error:
        Money(value, "EUR")
    assert ("amount", code) == (error.value.errors[0].path, error.value.errors[0].code)


def test_money_currency_minor_units_and_rounding():
    """Rounding follows each currency's minor units, banker's rounding by default."""
    assert (2, 0, 3, None) == tuple(
        currency_minor_units(c) for c in ("EUR", "JPY", "KWD", "XAU")
    )
    assert Money(Decimal("1.00"), "EUR") == Money(Decimal("1.005"), "EUR").rounded()
    assert Money(Decimal("1.02"), "EUR") == Money(Decimal("1.015"), "EUR").rounded()
    assert Money(Decimal(2), "JPY") == Money(Decimal("2.5"), "JPY").rounded()
    gold = Money(Decimal("1.2345"), "XAU")
    assert gold == gold.rounded()
    assert "EUR" == Money(1, " eur ").currency


def test_money_allocate_loses_no_cent():
    """Allocation splits by ratio and the parts add up to the whole."""
    parts = Money(100, "EUR").allocate([1, 1, 1])
    assert ["33.34", "33.33", "33.33"] == [str(p.amount) for p in parts]
    assert Money(100, "EUR") == sum(parts)
    negative = Money(-10, "EUR").allocate([1, 2])
    assert Money(-10, "EUR") == sum(negative)
    with pytest.raises(ValidationError):
        Money(1, "EUR").allocate([])
    with pytest.raises(ValidationError):
        Money(1, "EUR").allocate([1, -1])


def test_money_conversion_needs_a_positive_rate():
    """Conversion uses the rate the caller gives; no network."""
    assert Money(Decimal("110.0"), "USD") == Money(100, "EUR").converted(
        "USD", Decimal("1.10")
    )
    with pytest.raises(ValidationError):
        Money(1, "EUR").converted("USD", Decimal(0))
    with pytest.raises(ValidationError):
        Money(1, "EUR").converted("USD", 1.1)  # type: ignore[arg-type]


def test_money_str():
    """Text form is amount then currency."""
    assert "12.30 EUR" == str(Money(Decimal("12.30"), "EUR"))


def test_postal_address_tidies_and_checks():
    """Whitespace tidied, blank lines dropped, postcode and country upper-cased."""
    address = PostalAddress(
        lines=["  12  rue de la Paix ", "   "],
        postcode=" sw1a 1aa",
        city=" Paris ",
        country="fr",
    )
    assert ("12 rue de la Paix",) == address.lines
    assert ("SW1A 1AA", "Paris", "FR") == (
        address.postcode,
        address.city,
        address.country,
    )
    assert not address.is_empty
    assert PostalAddress().is_empty


@pytest.mark.parametrize(
    ("kwargs", "path"),
    [
        ({"lines": "12 rue de la Paix"}, "lines"),
        ({"lines": ["ok", 3]}, "lines[1]"),
        ({"country": 33}, "country"),
        ({"city": 75}, ""),
    ],
)
def test_postal_address_refuses_bad_parts(kwargs, path):
    """Each part's type is checked and named."""
    with pytest.raises(ValidationError) as error:
        PostalAddress(**kwargs)
    assert path == error.value.errors[0].path


def test_country_code():
    """ISO 3166-1 alpha-2, any case, surrounding spaces ignored."""
    assert "BE" == country_code(" be ")
    with pytest.raises(ValidationError):
        country_code("BEL")


def test_url_normalises():
    """Scheme assumed, scheme and host lower-cased, path kept."""
    assert (
        "https://www.exemple.fr/Contact?x=1" == Url("www.Exemple.FR/Contact?x=1").value
    )
    assert "http://exemple.fr:8080/" == str(Url("HTTP://exemple.fr:8080/"))
    assert "exemple.fr" == Url("exemple.fr").host


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("ftp://exemple.fr", "url.scheme"),
        ("https://", "url.invalid"),
        ("exemple fr", "url.invalid"),
        ("https://user:secret@exemple.fr", "url.credentials"),
        ("https://intranet", "url.host"),
        ("https://exemple.fr:99999", "url.invalid"),
        (42, "type"),
    ],
)
def test_url_refuses(text, code):
    """Only http(s) addresses with a real-looking host, no credentials."""
    with pytest.raises(ValidationError) as error:
        Url(text)
    assert code == error.value.errors[0].code


def test_probability():
    """Between 0 and 1, from a percentage too, and exact as a Decimal."""
    assert 0.4 == Probability(0.4).value
    assert 40.0 == Probability(0.4).percent
    assert Probability(0.75) == Probability.from_percent(75)
    assert Decimal("0.1") == Probability(0.1).as_decimal()
    assert 0.5 == float(Probability(Decimal("0.5")))
    assert Probability(0.1) < Probability(0.2)


@pytest.mark.parametrize(
    "value", [-0.01, 1.01, float("nan"), float("inf"), True, "0.5"]
)
def test_probability_refuses(value):
    """Out of range, not finite, or not a number."""
    with pytest.raises(ValidationError):
        Probability(value)


@pytest.mark.parametrize("value", [-1, 101, "50", False])
def test_probability_from_percent_refuses(value):
    """Percentages are numbers from 0 to 100."""
    with pytest.raises(ValidationError):
        Probability.from_percent(value)


def test_money_allocate_without_minor_units_and_with_zero_ratios():
    """Gold splits at its own precision; a part with ratio 0 never gets a unit."""
    assert (Money(Decimal("0.8"), "XAU"), Money(Decimal("0.7"), "XAU")) == Money(
        Decimal("1.5"), "XAU"
    ).allocate([1, 1])
    assert ["0.00", "0.01", "0.00"] == [
        str(m.amount) for m in Money(Decimal("0.01"), "EUR").allocate([0, 1, 1])
    ]
    assert ["-0.01", "0.00", "0.00", "0.00"] == [
        str(m.amount) for m in Money(Decimal("-0.01"), "EUR").allocate([1, 0, 1, 1])
    ]


def test_phone_extension_given_apart():
    """An extension given apart is part of the number and of its URI."""
    phone = PhoneNumber("+33612345678", extension="12")
    assert phone == PhoneNumber("+33612345678;ext=12")
    assert phone.uri.endswith(";ext=12")
    with pytest.raises(ValidationError) as error:
        PhoneNumber("+33612345678;ext=12", extension="99")
    assert "phone.extension" == error.value.errors[0].code
