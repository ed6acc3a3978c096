"""Consent per channel and purpose, kept as a ledger of decisions."""

from __future__ import annotations

import enum
from collections.abc import Iterable
from datetime import datetime

import attrs

from crmkit._validation import aware_utc
from crmkit.model._fields import Checked, choice, text, timestamp

__all__ = ["Channel", "ConsentRecord", "ConsentStatus", "LegalBasis", "consent_at"]


class Channel(enum.StrEnum):
    """
    A way to reach someone, or for them to reach us.

    .. versionadded:: 0.1
    """

    EMAIL = "email"
    PHONE = "phone"
    SMS = "sms"
    POST = "post"
    FACE_TO_FACE = "face_to_face"
    WEB = "web"
    CHAT = "chat"
    SOCIAL = "social"


class ConsentStatus(enum.StrEnum):
    """
    Whether consent stands.

    .. versionadded:: 0.1
    """

    GRANTED = "granted"
    WITHDRAWN = "withdrawn"


class LegalBasis(enum.StrEnum):
    """
    The GDPR article 6 basis a processing relies on.

    .. versionadded:: 0.1
    """

    CONSENT = "consent"
    CONTRACT = "contract"
    LEGAL_OBLIGATION = "legal_obligation"
    VITAL_INTERESTS = "vital_interests"
    PUBLIC_TASK = "public_task"
    LEGITIMATE_INTERESTS = "legitimate_interests"


@attrs.frozen(kw_only=True)
class ConsentRecord(Checked):
    """
    One decision about contacting someone on a channel for a purpose.

    Records are never edited: a withdrawal is a new record, so the history stays.

    .. versionadded:: 0.1
    """

    channel: Channel = choice(Channel)
    purpose: str = text(required=True)
    status: ConsentStatus = choice(ConsentStatus)
    at: datetime = timestamp()
    source: str | None = text()
    legal_basis: LegalBasis = choice(LegalBasis, LegalBasis.CONSENT)


def consent_at(
    records: Iterable[ConsentRecord], channel: Channel, purpose: str, at: datetime
) -> ConsentRecord | None:
    """
    Return the decision in force at ``at`` for a channel and purpose, if any.

    The latest record at or before ``at`` wins; a later record does not rewrite the
    past.
    """
    instant = aware_utc(at, "at")
    latest: ConsentRecord | None = None
    for record in records:
        if (
            record.channel == channel
            and record.purpose == purpose
            and record.at <= instant
            and (latest is None or record.at >= latest.at)
        ):
            latest = record
    return latest
