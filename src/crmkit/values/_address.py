"""Postal addresses with an ISO 3166 country."""

from __future__ import annotations

from functools import lru_cache

import attrs
import pycountry

from crmkit._validation import strip_or_none
from crmkit.errors import ValidationError

__all__ = ["PostalAddress", "country_code"]


@lru_cache(maxsize=1)
def _country_codes() -> frozenset[str]:
    return frozenset(country.alpha_2 for country in pycountry.countries)


def country_code(code: str, path: str = "country") -> str:
    """
    Check an ISO 3166-1 alpha-2 country code and return it upper-cased.

    Raises:
        ValidationError: ``code`` is not an assigned ISO 3166-1 alpha-2 code.
    """
    if not isinstance(code, str):
        raise ValidationError.single(
            path, code, "type", f"expected str, not {type(code).__name__}"
        )
    upper = code.strip().upper()
    if upper not in _country_codes():
        raise ValidationError.single(
            path, code, "country.unknown", "not an ISO 3166-1 alpha-2 country code"
        )
    return upper


def _optional_country(code: str | None) -> str | None:
    code = strip_or_none(code)
    return None if code is None else country_code(code)


def _lines(lines: tuple[str, ...] | list[str]) -> tuple[str, ...]:
    if isinstance(lines, str) or not isinstance(lines, tuple | list):
        raise ValidationError.single(
            "lines", lines, "type", "expected a list of street lines"
        )
    cleaned = []
    for index, line in enumerate(lines):
        if not isinstance(line, str):
            raise ValidationError.single(
                f"lines[{index}]",
                line,
                "type",
                f"expected str, not {type(line).__name__}",
            )
        if line.strip():
            cleaned.append(" ".join(line.split()))
    return tuple(cleaned)


def _text(value: str | None) -> str | None:
    if value is not None and not isinstance(value, str):
        raise ValidationError.single(
            "", value, "type", f"expected str, not {type(value).__name__}"
        )
    stripped = strip_or_none(value)
    return None if stripped is None else " ".join(stripped.split())


def _postcode(value: str | None) -> str | None:
    text = _text(value)
    return None if text is None else text.upper()


@attrs.frozen(kw_only=True)
class PostalAddress:
    """
    A postal address; every part is optional, but the country must be real.

    Whitespace is tidied, blank lines are left out and postcodes are upper-cased,
    so ``"sw1a 1aa"`` and ``"SW1A 1AA"`` compare equal.

    >>> PostalAddress(
    ...     lines=["12 rue de la Paix"], postcode="75002", city="Paris", country="fr"
    ... ).country
    'FR'

    .. versionadded:: 0.1
    """

    lines: tuple[str, ...] = attrs.field(default=(), converter=_lines)
    postcode: str | None = attrs.field(default=None, converter=_postcode)
    city: str | None = attrs.field(default=None, converter=_text)
    region: str | None = attrs.field(default=None, converter=_text)
    country: str | None = attrs.field(default=None, converter=_optional_country)

    @property
    def is_empty(self) -> bool:
        """True when no part of the address is filled in."""
        return not (
            self.lines or self.postcode or self.city or self.region or self.country
        )
