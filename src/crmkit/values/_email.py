"""Email addresses, validated with email-validator's syntax rules and normalised."""

from __future__ import annotations

import unicodedata
from functools import lru_cache

import attrs
from email_validator import EmailSyntaxError, ValidatedEmail
from email_validator.syntax import (
    split_email,
    validate_email_domain_name,
    validate_email_length,
    validate_email_local_part,
)

from crmkit.errors import ValidationError

__all__ = ["EmailAddress"]

_CODE = "email.invalid"


def _domain(domain: str) -> tuple[str, str]:
    """
    Validate a domain once: a CRM's addresses share few domains.

    ASCII domains are looked up lower-cased (DNS ignores their case, and
    email-validator lower-cases them too); others are left to IDNA's own folding.
    """
    return _validated_domain(domain.lower() if domain.isascii() else domain)


@lru_cache(maxsize=65536)
def _validated_domain(domain: str) -> tuple[str, str]:
    info = validate_email_domain_name(domain)
    return info["domain"], info["ascii_domain"]


def _validate(text: str) -> tuple[str, str]:
    """
    Return ``(normalized, display)`` for an address, as email-validator would judge it.

    The rules are email-validator's (``check_deliverability=False``, no quoted local
    parts, no domain literals, no display names); only the domain check is cached.
    """
    display_name, _, local, quoted, domain = split_email(text)
    if display_name is not None:
        raise EmailSyntaxError("A display name and angle brackets are not allowed.")
    if quoted:
        raise EmailSyntaxError("Quoting the part before the @-sign is not allowed.")
    local = unicodedata.normalize("NFC", local)
    local_info = validate_email_local_part(local)
    if not domain:
        raise EmailSyntaxError("There must be something after the @-sign.")
    if domain.startswith("["):
        raise EmailSyntaxError(
            "A bracketed IP address after the @-sign is not allowed."
        )
    unicode_domain, ascii_domain = _domain(domain)
    result = ValidatedEmail()
    result.original = text
    result.local_part = local_info["local_part"]
    result.ascii_local_part = local_info["ascii_local_part"]
    result.domain = unicode_domain
    result.ascii_domain = ascii_domain
    result.normalized = f"{result.local_part}@{unicode_domain}"
    result.ascii_email = (
        f"{result.ascii_local_part}@{ascii_domain}" if result.ascii_local_part else None
    )
    validate_email_length(result)
    return result.normalized.lower(), f"{result.local_part}@{unicode_domain}"


@attrs.frozen(init=False, repr=False)
class EmailAddress:
    """
    An email address, checked for syntax (never over the network) and normalised.

    Two addresses are equal when their normalised forms are, so ``Jean@Exemple.FR``
    equals ``jean@exemple.fr``; `display` keeps the case the person typed.

    >>> EmailAddress(" Jean.Dupont@Exemple.FR ")
    EmailAddress('Jean.Dupont@exemple.fr')
    >>> EmailAddress("Jean.Dupont@Exemple.FR") == EmailAddress("jean.dupont@exemple.fr")
    True

    Attributes:
        normalized: Lower-cased, Unicode-normalised form; what matching and lookups use.
        display: The address as typed, with its domain normalised.

    .. versionadded:: 0.1
    """

    normalized: str
    display: str = attrs.field(eq=False)

    def __init__(self, address: str) -> None:
        if isinstance(address, EmailAddress):
            self.__attrs_init__(address.normalized, address.display)
            return
        if not isinstance(address, str):
            raise ValidationError.single(
                "", address, "type", f"expected str, not {type(address).__name__}"
            )
        try:
            normalized, display = _validate(address.strip())
        except EmailSyntaxError as error:
            raise ValidationError.single("", address, _CODE, str(error)) from None
        self.__attrs_init__(normalized, display)

    @property
    def local_part(self) -> str:
        """The part before the ``@``, normalised."""
        return self.normalized.rpartition("@")[0]

    @property
    def domain(self) -> str:
        """The domain after the ``@``, normalised."""
        return self.normalized.rpartition("@")[2]

    def __str__(self) -> str:
        return self.display

    def __repr__(self) -> str:
        return f"EmailAddress({self.display!r})"
