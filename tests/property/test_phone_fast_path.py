"""The quick parse of plain phone numbers agrees with phonenumbers' full parse."""

import phonenumbers
from hypothesis import given, settings
from hypothesis import strategies as st
from phonenumbers import NumberParseException, PhoneNumberFormat, PhoneNumberType

from crmkit.values._phone import _parse_plain

REGIONS = sorted(phonenumbers.SUPPORTED_REGIONS)
TYPES = [
    PhoneNumberType.FIXED_LINE,
    PhoneNumberType.MOBILE,
    PhoneNumberType.TOLL_FREE,
    PhoneNumberType.PREMIUM_RATE,
    PhoneNumberType.VOIP,
    PhoneNumberType.UAN,
]
FORMATS = [
    PhoneNumberFormat.E164,
    PhoneNumberFormat.INTERNATIONAL,
    PhoneNumberFormat.NATIONAL,
]


def _full(text, region):
    try:
        number = phonenumbers.parse(text, region)
    except NumberParseException:
        return None
    return number if phonenumbers.is_valid_number(number) else None


def _key(number):
    if number is None:
        return None
    return (
        number.country_code,
        number.national_number,
        bool(number.italian_leading_zero),
        number.extension,
        phonenumbers.format_number(number, PhoneNumberFormat.E164),
    )


def _agrees(text, region):
    plain = _parse_plain(text, region)
    if plain is not None:
        assert _key(_full(text, region)) == _key(plain), (text, region)
    return plain is not None


@st.composite
def written_numbers(draw):
    """Real example numbers of every region, written as people write them."""
    region = draw(st.sampled_from(REGIONS))
    number = phonenumbers.example_number_for_type(region, draw(st.sampled_from(TYPES)))
    if number is None:
        number = phonenumbers.example_number(region)
    text = phonenumbers.format_number(number, draw(st.sampled_from(FORMATS)))
    text = text.replace(" ", draw(st.sampled_from([" ", "", ".", "-"])))
    tail = draw(st.integers(0, 9))
    if draw(st.booleans()):
        text = text[:-1] + str(tail)
    parse_region = draw(st.sampled_from([region, region, *REGIONS[:5]]))
    return text, parse_region


@settings(max_examples=2000)
@given(written_numbers())
def test_written_numbers_parse_as_phonenumbers_does(case):
    """Each number the quick parse accepts is exactly what phonenumbers reads."""
    _agrees(*case)


@settings(max_examples=2000)
@given(
    st.text(alphabet="0123456789 +-.()", min_size=1, max_size=20),
    st.sampled_from(REGIONS),
)
def test_any_digits_parse_as_phonenumbers_does(text, region):
    """Random digits and separators: accepted only when phonenumbers agrees."""
    _agrees(text, region)


def test_the_common_forms_take_the_quick_path():
    """French numbers written nationally or in E.164 need no full parse."""
    assert [True, True, True, False, False] == [
        _agrees("06 12 34 56 78", "FR"),
        _agrees("+33 6 12 34 56 78", None),
        _agrees("+1 (650) 253-0000", "FR"),
        _agrees("06 12 34 56 78 ext. 12", "FR"),
        _agrees("+39 06 6982 1234", None),
    ]
