"""Phone numbers, parsed with phonenumbers and stored in E.164."""

from __future__ import annotations

import enum
import functools
import re
from functools import cached_property

import attrs
import phonenumbers
from phonenumbers import NumberParseException, PhoneNumberFormat, PhoneNumberType

from crmkit.errors import ValidationError

__all__ = ["PhoneKind", "PhoneNumber"]


class PhoneKind(enum.StrEnum):
    """
    What kind of line a number is, as phonenumbers' metadata says.

    .. versionadded:: 0.1
    """

    FIXED_LINE = "fixed_line"
    MOBILE = "mobile"
    FIXED_LINE_OR_MOBILE = "fixed_line_or_mobile"
    TOLL_FREE = "toll_free"
    PREMIUM_RATE = "premium_rate"
    SHARED_COST = "shared_cost"
    VOIP = "voip"
    PERSONAL_NUMBER = "personal_number"
    PAGER = "pager"
    UAN = "uan"
    VOICEMAIL = "voicemail"
    UNKNOWN = "unknown"


_KINDS = {getattr(PhoneNumberType, kind.name): kind for kind in PhoneKind}


_SEPARATORS = str.maketrans("", "", " .-()/\t")
_DIGITS = re.compile(r"\+?[0-9]{2,17}")


@functools.cache
def _plain_prefix(country_code: int, region: str | None) -> str | None:
    """
    The national prefix of a region, when it is plain digits (``0`` in France).

    `None` for a region whose prefix is a pattern or is rewritten (carrier
    codes and the like): its numbers always take phonenumbers' full parse.
    ``""`` for a region without a national prefix.
    """
    metadata = (
        phonenumbers.PhoneMetadata.metadata_for_region(region)
        if region is not None
        else phonenumbers.PhoneMetadata.metadata_for_region(
            phonenumbers.region_code_for_country_code(country_code)
        )
    )
    if metadata is None or metadata.national_prefix_transform_rule:
        return None
    prefix = metadata.national_prefix_for_parsing or ""
    return prefix if prefix.isdigit() or not prefix else None


def _parse_plain(text: str, region: str | None) -> phonenumbers.PhoneNumber | None:
    """
    Parse the commonest forms in a few steps, or `None` to take the full parse.

    Only digits and separators, with a ``+`` or a region: ``+33 6 12 34 56 78``
    or ``06 12 34 56 78``. The result must be a valid number whose national part
    does not start with 0; anything else (extensions, letters, leading zeros,
    prefixes that are patterns) goes to ``phonenumbers.parse``, which gives the
    same number here (a property test compares the two on every region).
    """
    digits = text.translate(_SEPARATORS)
    if not _DIGITS.fullmatch(digits):
        return None
    parts = _international(digits) if digits[0] == "+" else _national(digits, region)
    if parts is None or not parts[1] or parts[1][0] == "0":
        return None
    country_code, national = parts
    number = phonenumbers.PhoneNumber(
        country_code=country_code, national_number=int(national)
    )
    return number if phonenumbers.is_valid_number(number) else None


def _international(digits: str) -> tuple[int, str] | None:
    """``+<country code><national number>``, its national prefix not dialled."""
    for size in (1, 2, 3):
        country_code = int(digits[1 : 1 + size])
        if country_code in phonenumbers.COUNTRY_CODE_TO_REGION_CODE:
            national = digits[1 + size :]
            prefix = _plain_prefix(country_code, None)
            if prefix is None or (prefix and national.startswith(prefix)):
                return None
            return country_code, national
    return None


def _national(digits: str, region: str | None) -> tuple[int, str] | None:
    """A number of ``region``, its national prefix (if any) taken off."""
    if region is None:
        return None
    country_code = phonenumbers.country_code_for_region(region)
    prefix = _plain_prefix(country_code, region)
    if not country_code or prefix is None:
        return None
    return country_code, digits.removeprefix(prefix)


def _parse(text: str, region: str | None) -> phonenumbers.PhoneNumber:
    plain = _parse_plain(text, region)
    if plain is not None:
        return plain
    try:
        number = phonenumbers.parse(text, region)
    except NumberParseException as error:
        if (
            region is None
            and error.error_type == NumberParseException.INVALID_COUNTRY_CODE
            and not text.startswith(("+", "tel:"))
        ):
            raise ValidationError.single(
                "",
                text,
                "phone.region_needed",
                "a national number needs a region, such as region='FR'",
            ) from None
        reason = error._msg.rstrip(".")  # noqa: SLF001 - phonenumbers keeps the reason there
        raise ValidationError.single("", text, "phone.invalid", reason) from None
    if not phonenumbers.is_valid_number(number):
        where = f" for region {region}" if region else ""
        raise ValidationError.single(
            "", text, "phone.invalid", f"not a valid phone number{where}"
        )
    return number


@attrs.frozen(init=False, repr=False)
class PhoneNumber:
    """
    A valid phone number, stored in E.164 with its extension, if any.

    Build one from what a person typed with `PhoneNumber.parse`, giving the region
    that numbers without a ``+country`` prefix belong to:

    >>> n = PhoneNumber.parse("06 12 34 56 78", region="FR")
    >>> n.e164, n.kind, n.international
    ('+33612345678', <PhoneKind.MOBILE: 'mobile'>, '+33 6 12 34 56 78')
    >>> PhoneNumber("+33612345678") == n
    True

    Attributes:
        e164: The number in E.164, such as ``+33612345678``.
        extension: The extension dialled after connecting, or `None`.

    .. versionadded:: 0.1
    """

    e164: str
    extension: str | None
    _parsed: phonenumbers.PhoneNumber = attrs.field(eq=False, alias="_parsed")

    def __init__(self, number: str, *, extension: str | None = None) -> None:
        if not isinstance(number, str):
            raise ValidationError.single(
                "", number, "type", f"expected str, not {type(number).__name__}"
            )
        stripped = number.strip()
        if not stripped.startswith(("+", "tel:")):
            raise ValidationError.single(
                "",
                number,
                "phone.region_needed",
                "not in international form; use PhoneNumber.parse(text, region=...)",
            )
        self._init_from(_parse(stripped, None), extension)

    @classmethod
    def parse(cls, text: str, *, region: str | None = None) -> PhoneNumber:
        """
        Parse a number as typed, in national or international form.

        Args:
            text: The number, e.g. ``"06 12 34 56 78"`` or ``"+1 (650) 253-0000"``;
                an extension such as ``"ext. 12"`` is kept.
            region: ISO 3166 alpha-2 region of numbers written without ``+``.

        Raises:
            ValidationError: The text is not a valid number (for that region).
        """
        if not isinstance(text, str):
            raise ValidationError.single(
                "", text, "type", f"expected str, not {type(text).__name__}"
            )
        phone = object.__new__(cls)
        phone._init_from(_parse(text.strip(), region.upper() if region else None))
        return phone

    def _init_from(
        self, number: phonenumbers.PhoneNumber, extension: str | None = None
    ) -> None:
        if extension is not None:
            if number.extension and number.extension != extension:
                raise ValidationError.single(
                    "extension",
                    extension,
                    "phone.extension",
                    f"the number already has extension {number.extension}",
                )
            number.extension = extension
        extension = number.extension or None
        e164 = phonenumbers.format_number(number, PhoneNumberFormat.E164)
        self.__attrs_init__(e164, extension, number)

    @cached_property
    def kind(self) -> PhoneKind:
        """The kind of line: mobile, fixed line, toll-free..."""
        return _KINDS.get(phonenumbers.number_type(self._parsed), PhoneKind.UNKNOWN)

    @property
    def region(self) -> str | None:
        """The ISO 3166 region the number belongs to, or `None` for global services."""
        region: str | None = phonenumbers.region_code_for_number(self._parsed)
        return None if region in (None, "001", "ZZ") else region

    @property
    def national(self) -> str:
        """The number as dialled within its country, e.g. ``06 12 34 56 78``."""
        return str(phonenumbers.format_number(self._parsed, PhoneNumberFormat.NATIONAL))

    @property
    def international(self) -> str:
        """The number as dialled from abroad, e.g. ``+33 6 12 34 56 78``."""
        return str(
            phonenumbers.format_number(self._parsed, PhoneNumberFormat.INTERNATIONAL)
        )

    @property
    def uri(self) -> str:
        """The ``tel:`` URI (RFC 3966), with the extension if any."""
        return str(phonenumbers.format_number(self._parsed, PhoneNumberFormat.RFC3966))

    def __str__(self) -> str:
        return (
            self.e164 if self.extension is None else f"{self.e164};ext={self.extension}"
        )

    def __repr__(self) -> str:
        return f"PhoneNumber({str(self)!r})"
