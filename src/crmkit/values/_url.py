"""Web addresses (a company's site, a profile link)."""

from __future__ import annotations

from urllib.parse import urlsplit, urlunsplit

import attrs
from email_validator import EmailSyntaxError

from crmkit.errors import ValidationError
from crmkit.values._email import _domain

__all__ = ["Url"]

_SCHEMES = frozenset({"http", "https"})


def _normalized(text: str) -> str:
    if not isinstance(text, str):
        raise ValidationError.single(
            "", text, "type", f"expected str, not {type(text).__name__}"
        )
    stripped = text.strip()
    if "://" not in stripped:
        stripped = f"https://{stripped}"
    try:
        parts = urlsplit(stripped)
        port = parts.port
    except ValueError as error:
        raise ValidationError.single("", text, "url.invalid", str(error)) from None
    if parts.scheme.lower() not in _SCHEMES:
        raise ValidationError.single(
            "", text, "url.scheme", "only http and https addresses are accepted"
        )
    host = parts.hostname or ""
    if " " in stripped or not host:
        raise ValidationError.single("", text, "url.invalid", "not a web address")
    try:
        unicode_host, _ = _domain(host)
    except EmailSyntaxError as error:
        raise ValidationError.single("", text, "url.host", str(error)) from None
    netloc = unicode_host if port is None else f"{unicode_host}:{port}"
    if parts.username or parts.password:
        raise ValidationError.single(
            "", text, "url.credentials", "must not carry a user name or password"
        )
    return urlunsplit(
        (parts.scheme.lower(), netloc, parts.path, parts.query, parts.fragment)
    )


@attrs.frozen
class Url:
    """
    An http(s) address with a real-looking host; ``https://`` is assumed when missing.

    >>> Url("www.Exemple.fr/contact").value
    'https://www.exemple.fr/contact'

    .. versionadded:: 0.1
    """

    value: str = attrs.field(converter=_normalized)

    @property
    def host(self) -> str:
        """The host name, lower-cased."""
        return urlsplit(self.value).hostname or ""

    def __str__(self) -> str:
        return self.value
