"""
Validated value objects: every instance is valid, or it was never built.

Each value checks itself on construction and raises `crmkit.errors.ValidationError`
naming the field and the value it refused.
"""

from crmkit import _public
from crmkit.values._address import PostalAddress, country_code
from crmkit.values._email import EmailAddress
from crmkit.values._money import Money, currency_minor_units
from crmkit.values._phone import PhoneKind, PhoneNumber
from crmkit.values._probability import Probability
from crmkit.values._url import Url

__all__ = [
    "EmailAddress",
    "Money",
    "PhoneKind",
    "PhoneNumber",
    "PostalAddress",
    "Probability",
    "Url",
    "country_code",
    "currency_minor_units",
]

_public.publish(globals(), __all__)
