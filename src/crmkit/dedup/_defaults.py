"""The configurations crmkit ships for contacts, organisations and leads."""

from __future__ import annotations

from typing import Final

from crmkit.dedup._compare import Comparator
from crmkit.dedup._config import (
    BlockingKey,
    Comparison,
    Condition,
    DedupConfig,
    FellegiSunter,
    Field,
    KeyPart,
    MatchingRules,
    RuleGroup,
)
from crmkit.dedup._config import KeyTransform as T
from crmkit.dedup._normalize import FieldKind as K

C = Comparator

__all__ = ["CONTACT_FIELDS", "contact_config", "lead_config", "organization_config"]

_PERSON_FIELDS = (
    Field("first_name", K.GIVEN_NAME),
    Field("last_name", K.FAMILY_NAME),
    Field("email", K.EMAIL),
    Field("phone", K.PHONE),
    Field("company", K.COMPANY),
    Field("street", K.STREET),
    Field("city", K.CITY),
    Field("postal_code", K.POSTAL_CODE),
    Field("country", K.COUNTRY),
)

CONTACT_FIELDS: Final = tuple(field.name for field in _PERSON_FIELDS)
"""The fields of a contact record as the shipped configurations read it."""

# Levels, then shipped m and u (used until the data trains its own).
_PERSON_COMPARISONS = (
    (
        Comparison("first_name", C.NAME, (1.0, 0.92, 0.8)),
        (0.85, 0.08, 0.04, 0.03),
        (0.01, 0.01, 0.05, 0.93),
    ),
    (
        Comparison("last_name", C.JARO_WINKLER, (1.0, 0.92, 0.8), tf_adjust=True),
        (0.88, 0.07, 0.03, 0.02),
        (0.002, 0.004, 0.03, 0.964),
    ),
    (
        Comparison("email", C.EMAIL, (1.0, 0.88, 0.7)),
        (0.8, 0.12, 0.04, 0.04),
        (0.0001, 0.001, 0.02, 0.9789),
    ),
    (
        Comparison("phone", C.PHONE, (1.0, 0.9)),
        (0.85, 0.05, 0.1),
        (0.0001, 0.0002, 0.9997),
    ),
    (
        Comparison("company", C.TOKEN_SET, (1.0, 0.85)),
        (0.8, 0.1, 0.1),
        (0.01, 0.01, 0.98),
    ),
    (
        Comparison("street", C.TOKEN_SET, (1.0, 0.85)),
        (0.8, 0.1, 0.1),
        (0.001, 0.004, 0.995),
    ),
    (
        Comparison("city", C.JARO_WINKLER, (1.0, 0.9)),
        (0.9, 0.05, 0.05),
        (0.05, 0.01, 0.94),
    ),
    (Comparison("postal_code", C.EXACT, (1.0,)), (0.9, 0.1), (0.01, 0.99)),
)

_PERSON_BLOCKING = (
    BlockingKey("email", (KeyPart("email"),)),
    BlockingKey("phone", (KeyPart("phone"),)),
    # Past ten people sharing a name, the other keys (email, phone, postcode,
    # street) find the duplicates among them: the rest are namesakes.
    BlockingKey(
        "names",
        (KeyPart("first_name", T.NAME_GROUP), KeyPart("last_name", T.PHONETIC_FR)),
        unordered=True,
        max_block_size=10,
    ),
    BlockingKey(
        "names+postal_code",
        (
            KeyPart("last_name", T.PHONETIC_FR),
            KeyPart("first_name", T.FIRST_LETTER),
            KeyPart("postal_code"),
        ),
    ),
    BlockingKey(
        "first_name+postal_code+street",
        (
            KeyPart("first_name", T.FIRST_LETTER),
            KeyPart("postal_code"),
            KeyPart("street", T.FIRST_3),
        ),
    ),
    BlockingKey(
        "email_local",
        (KeyPart("email", T.EMAIL_LOCAL), KeyPart("last_name", T.FIRST_LETTER)),
    ),
)

_PERSON_RULES = MatchingRules(
    (
        RuleGroup(
            "name and email",
            (
                Condition("first_name", C.NAME, 0.85),
                Condition("last_name", C.JARO_WINKLER, 0.9),
                Condition("email", C.EMAIL, 0.9),
            ),
        ),
        RuleGroup(
            "name and phone",
            (
                Condition("first_name", C.NAME, 0.85),
                Condition("last_name", C.JARO_WINKLER, 0.9),
                Condition("phone", C.PHONE, 0.9),
            ),
        ),
        RuleGroup(
            "name and address",
            (
                Condition("first_name", C.NAME, 0.85),
                Condition("last_name", C.JARO_WINKLER, 0.9),
                Condition("street", C.TOKEN_SET, 0.85),
                Condition("postal_code", C.EXACT, 1.0),
            ),
        ),
        RuleGroup(
            "name and company",
            (
                Condition("first_name", C.NAME, 0.85),
                Condition("last_name", C.JARO_WINKLER, 0.9),
                Condition("company", C.TOKEN_SET, 0.9),
            ),
        ),
    )
)

# A different given name, without the same email, is a different person, however
# much else is shared (a household shares phone, address and often the last name).
_PERSON_VETOES = MatchingRules(
    (
        RuleGroup(
            "different first name, not the same email",
            (
                Condition("first_name", C.NAME, 0.75, below=True),
                Condition("first_name", C.INITIALS, 1.0, below=True),
                Condition("email", C.EMAIL, 0.95, below=True, if_blank=True),
            ),
        ),
    )
)


def contact_config() -> DedupConfig:
    """
    The default configuration for people (contacts).

    Columns: ``first_name, last_name, email, phone, company, street, city,
    postal_code, country``; names are compared both ways round; a different first
    name without the same email keeps two records apart (households).

    .. versionadded:: 0.1
    """
    return DedupConfig(
        fields=_PERSON_FIELDS,
        comparisons=tuple(c for c, _, _ in _PERSON_COMPARISONS),
        model=FellegiSunter(
            m=tuple(m for _, m, _ in _PERSON_COMPARISONS),
            u=tuple(u for _, _, u in _PERSON_COMPARISONS),
            prior=0.3,
        ),
        blocking=_PERSON_BLOCKING,
        rules=_PERSON_RULES,
        vetoes=_PERSON_VETOES,
        names=("first_name", "last_name"),
    )


def lead_config() -> DedupConfig:
    """
    The default configuration for leads: the contact one, where the company counts.

    Leads often carry only a name, an email and a company, so a name with the same
    company is a rule of its own (as in Salesforce's standard lead rule).

    .. versionadded:: 0.1
    """
    base = contact_config()
    blocking = (
        *base.blocking,
        BlockingKey(
            "company+last_name",
            (KeyPart("company", T.FIRST_3), KeyPart("last_name", T.PHONETIC_FR)),
        ),
    )
    return DedupConfig(
        fields=base.fields,
        comparisons=base.comparisons,
        model=base.model,
        blocking=blocking,
        rules=base.rules,
        vetoes=base.vetoes,
        names=base.names,
    )


_ORG_FIELDS = (
    Field("company", K.COMPANY),
    Field("email", K.EMAIL),
    Field("phone", K.PHONE),
    Field("street", K.STREET),
    Field("city", K.CITY),
    Field("postal_code", K.POSTAL_CODE),
    Field("country", K.COUNTRY),
)
_ORG_COMPARISONS = (
    (
        Comparison("company", C.TOKEN_SET, (1.0, 0.9, 0.75), tf_adjust=True),
        (0.8, 0.1, 0.05, 0.05),
        (0.001, 0.004, 0.02, 0.975),
    ),
    (Comparison("email", C.EMAIL, (1.0, 0.7)), (0.5, 0.3, 0.2), (0.0005, 0.01, 0.9895)),
    (
        Comparison("phone", C.PHONE, (1.0, 0.9)),
        (0.8, 0.05, 0.15),
        (0.0001, 0.0002, 0.9997),
    ),
    (
        Comparison("street", C.TOKEN_SET, (1.0, 0.85)),
        (0.75, 0.1, 0.15),
        (0.001, 0.004, 0.995),
    ),
    (
        Comparison("city", C.JARO_WINKLER, (1.0, 0.9)),
        (0.9, 0.05, 0.05),
        (0.05, 0.01, 0.94),
    ),
    (Comparison("postal_code", C.EXACT, (1.0,)), (0.9, 0.1), (0.01, 0.99)),
    (Comparison("country", C.EXACT, (1.0,)), (0.98, 0.02), (0.5, 0.5)),
)


def organization_config() -> DedupConfig:
    """
    The default configuration for organisations (companies).

    Columns: ``company, email, phone, street, city, postal_code, country``; legal
    forms are ignored (``Dupont SARL`` is ``Dupont``); two companies in different
    countries are kept apart.

    .. versionadded:: 0.1
    """
    return DedupConfig(
        fields=_ORG_FIELDS,
        comparisons=tuple(c for c, _, _ in _ORG_COMPARISONS),
        model=FellegiSunter(
            m=tuple(m for _, m, _ in _ORG_COMPARISONS),
            u=tuple(u for _, _, u in _ORG_COMPARISONS),
            prior=0.3,
        ),
        blocking=(
            BlockingKey("company", (KeyPart("company", T.PHONETIC_FR),)),
            BlockingKey("phone", (KeyPart("phone"),)),
            BlockingKey(
                "company+postal_code",
                (KeyPart("company", T.FIRST_3), KeyPart("postal_code")),
            ),
        ),
        rules=MatchingRules(
            (
                RuleGroup(
                    "name and city",
                    (
                        Condition("company", C.TOKEN_SET, 0.9),
                        Condition("city", C.JARO_WINKLER, 0.9),
                    ),
                ),
                RuleGroup(
                    "name and phone",
                    (
                        Condition("company", C.TOKEN_SET, 0.8),
                        Condition("phone", C.PHONE, 0.9),
                    ),
                ),
            )
        ),
        vetoes=MatchingRules(
            (
                RuleGroup(
                    "different countries",
                    (Condition("country", C.EXACT, 1.0, below=True),),
                ),
            )
        ),
    )
