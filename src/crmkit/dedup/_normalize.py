"""Normalisers per field kind: names, emails, phones, companies, streets, postcodes."""

from __future__ import annotations

import enum
import re
from collections.abc import Mapping
from functools import cache, lru_cache
from typing import Final

import attrs
import phonenumbers

from crmkit.dedup._tables import Tables
from crmkit.dedup._text import fold
from crmkit.errors import ValidationError
from crmkit.values import PhoneNumber

__all__ = ["FieldKind", "Normalizer", "PlusTags"]

_NON_DIGIT: Final = re.compile(r"\D+")
_CONNECTORS: Final = frozenset({"and", "et", "und", "y", "e"})
_CITY_SAINTS: Final = {"st": "saint", "ste": "sainte"}
_CEDEX: Final = re.compile(r"\bcedex( \d+)?\b")


class FieldKind(enum.StrEnum):
    """
    What a field holds, which decides how it is normalised.

    .. versionadded:: 0.1
    """

    GIVEN_NAME = "given_name"
    FAMILY_NAME = "family_name"
    EMAIL = "email"
    PHONE = "phone"
    COMPANY = "company"
    STREET = "street"
    CITY = "city"
    POSTAL_CODE = "postal_code"
    COUNTRY = "country"
    TEXT = "text"


class PlusTags(enum.StrEnum):
    """
    Which email addresses lose their ``+tag`` (``jdoe+news@x`` is ``jdoe@x``).

    .. versionadded:: 0.1
    """

    ALL = "all"
    KNOWN = "known"
    NONE = "none"


@attrs.frozen
class Normalizer:
    """
    Turns raw field values into the forms comparators work on; blank stays ``""``.

    >>> n = Normalizer(default_region="FR")
    >>> n.given_name("M. Jean-Pierre"), n.family_name("DE LA FONTAINE")
    ('jean pierre', 'fontaine')
    >>> n.email(" J.Doe+news@GoogleMail.com"), n.phone("06 12 34 56 78")
    ('jdoe@gmail.com', '+33612345678')
    >>> n.company("Dupont & Fils S.A.R.L."), n.street("12 bd Saint-Michel")
    ('dupont fils', '12 boulevard saint michel')

    Attributes:
        tables: The facts used (nicknames, legal forms, street types...).
        default_region: Region of phone numbers written without ``+country``.
        plus_tags: Which addresses lose their ``+tag``: all, only those of
            providers known to deliver them (the default), or none.
        provider_dots: Drop dots in local parts where the provider ignores them.

    .. versionadded:: 0.1
    """

    tables: Tables = attrs.field(factory=Tables.default, eq=False)
    default_region: str | None = "FR"
    plus_tags: PlusTags = PlusTags.KNOWN
    provider_dots: bool = True

    def normalize(self, kind: FieldKind, value: str | None) -> str:
        """Normalise one value of the given kind."""
        if not value or not value.strip():
            return ""
        return _NORMALISERS[kind](self, value)

    def record(
        self, raw: Mapping[str, str | None], kinds: Mapping[str, FieldKind]
    ) -> dict[str, str]:
        """Normalise the fields of one record named by ``kinds``; missing is blank."""
        return {
            name: self.normalize(kind, raw.get(name)) for name, kind in kinds.items()
        }

    def given_name(self, value: str) -> str:
        """Fold a first name, drop titles; ``J.-P.`` becomes ``jp``."""
        tokens = [t for t in fold(value).split() if t not in self.tables.titles]
        if len(tokens) > 1 and all(len(t) == 1 for t in tokens):
            return "".join(tokens)
        return " ".join(tokens)

    def family_name(self, value: str) -> str:
        """Fold a last name, drop titles and particles (de, van, von...)."""
        tokens = [t for t in fold(value).split() if t not in self.tables.titles]
        core = [t for t in tokens if t not in self.tables.particles]
        return " ".join(core or tokens)

    def email(self, value: str) -> str:
        """Lower case without spaces, ``+tag`` and provider-ignored dots."""
        text = "".join(value.split()).lower()
        local, at, domain = text.rpartition("@")
        if not at or not local:
            return text
        provider = self.tables.email_providers.get(domain)
        if provider is not None:
            domain = provider.domain
        cut_tag = self.plus_tags is PlusTags.ALL or (
            self.plus_tags is PlusTags.KNOWN
            and provider is not None
            and provider.plus_tags
        )
        if cut_tag:
            local = local.split("+", 1)[0] or local
        if self.provider_dots and provider is not None and provider.ignores_dots:
            local = local.replace(".", "")
        return f"{local}@{domain}"

    def phone(self, value: str) -> str:
        """E.164 in the default region; digits only if it cannot be read."""
        return _phone(value, self.default_region)

    def company(self, value: str) -> str:
        """Fold a company name; drop legal forms at either end, and ``&``/et/and."""
        tokens = [
            t for t in fold(value.replace("&", " and ")).split() if t not in _CONNECTORS
        ]
        tokens = _join_initials(tokens)
        forms = self.tables.legal_forms
        changed = True
        while changed and len(tokens) > 1:
            changed = False
            for size in (4, 3, 2, 1):
                if len(tokens) > size and " ".join(tokens[-size:]) in forms:
                    tokens, changed = tokens[:-size], True
                    break
                if len(tokens) > size and " ".join(tokens[:size]) in forms:
                    tokens, changed = tokens[size:], True
                    break
        return " ".join(tokens)

    def street(self, value: str) -> str:
        """Fold a street line, spelling out its type (``bd`` is ``boulevard``)."""
        types = self.tables.street_types
        tokens = fold(value).split()
        place = _street_type_position(tokens, types)
        return " ".join(
            types[t] if i == place else _CITY_SAINTS.get(t, t)
            for i, t in enumerate(tokens)
        )

    def city(self, value: str) -> str:
        """Fold a city; ``St``/``Ste`` are spelled out and ``CEDEX n`` dropped."""
        tokens = _CEDEX.sub(" ", fold(value)).split()
        return " ".join(_CITY_SAINTS.get(t, t) for t in tokens)

    def postal_code(self, value: str) -> str:
        """Upper case without spaces or dashes; French codes regain a leading 0."""
        code = re.sub(r"[\s\-.]+", "", value).upper()
        if self.default_region == "FR" and code.isdigit() and len(code) == 4:  # noqa: PLR2004 (départements 01-09)
            return "0" + code
        return code

    def country(self, value: str) -> str:
        """Upper-case ISO code or folded name."""
        text = fold(value)
        return text.upper() if len(text) == 2 else text  # noqa: PLR2004 (alpha-2)

    def text(self, value: str) -> str:
        """Folded text."""
        return fold(value)


def _street_type_position(tokens: list[str], types: Mapping[str, str]) -> int | None:
    """Where the street type is: early (``12 bd X``) or last (``12 Main St``)."""
    for i, token in enumerate(tokens[:3]):
        if token in types and token not in _CITY_SAINTS:
            return i
    if tokens and tokens[-1] in types:
        return len(tokens) - 1
    return None


def _join_initials(tokens: list[str]) -> list[str]:
    """``s a r l`` (from ``S.A.R.L.``) becomes ``sarl``."""
    out: list[str] = []
    run: list[str] = []
    for token in [*tokens, ""]:
        if len(token) == 1:
            run.append(token)
            continue
        if run:
            out.append("".join(run))
            run = []
        if token:
            out.append(token)
    return out


_SEPARATORS: Final = re.compile(r"[\s.\-/()]+")
_PLAIN: Final = re.compile(r"\+?\d{6,15}")


@cache
def _trunk_prefix_dropped(region: str) -> str | None:
    """The country code of a region whose national numbers start with a 0 it drops."""
    metadata = phonenumbers.PhoneMetadata.metadata_for_region(region)
    if metadata is None or metadata.national_prefix != "0":
        return None
    return str(metadata.country_code)


@lru_cache(maxsize=65536)
def _phone(value: str, region: str | None) -> str:
    """
    E.164 for a typed number; digits only when it cannot be read.

    Plain numbers (``+33612345678``, ``0033...``, ``06 12 34 56 78`` in a region
    whose trunk prefix is 0) are rewritten directly; anything else goes through
    `PhoneNumber.parse`. The number is not checked for validity: two records with
    the same mistyped number still share it.
    """
    compact = _SEPARATORS.sub("", value.replace("(0)", ""))
    if _PLAIN.fullmatch(compact):
        if compact.startswith("+"):
            return compact
        if compact.startswith("00"):
            return "+" + compact[2:]
        country = _trunk_prefix_dropped(region) if region else None
        if country is not None and compact.startswith("0"):
            return f"+{country}{compact[1:]}"
    try:
        return PhoneNumber.parse(value, region=region).e164
    except ValidationError:
        digits = _NON_DIGIT.sub("", value)
        return ("+" + digits) if value.strip().startswith("+") else digits


_NORMALISERS: Final = {
    FieldKind.GIVEN_NAME: Normalizer.given_name,
    FieldKind.FAMILY_NAME: Normalizer.family_name,
    FieldKind.EMAIL: Normalizer.email,
    FieldKind.PHONE: Normalizer.phone,
    FieldKind.COMPANY: Normalizer.company,
    FieldKind.STREET: Normalizer.street,
    FieldKind.CITY: Normalizer.city,
    FieldKind.POSTAL_CODE: Normalizer.postal_code,
    FieldKind.COUNTRY: Normalizer.country,
    FieldKind.TEXT: Normalizer.text,
}
