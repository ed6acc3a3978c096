"""Leads as the records routing conditions read."""

from __future__ import annotations

from crmkit.conditions import record_of
from crmkit.model import Lead

__all__ = ["lead_record"]


def lead_record(lead: Lead, **extra: object) -> dict[str, object]:
    """
    The record of a `Lead` for routing: its fields, plus its address flattened.

    ``country``, ``region``, ``postcode`` and ``city`` come from the lead's
    address; ``extra`` adds fields the lead does not carry (``language``, say).
    """
    record = record_of(lead)
    address = lead.address
    record.update(
        country=address.country if address else None,
        region=address.region if address else None,
        postcode=address.postcode if address else None,
        city=address.city if address else None,
    )
    record.update(extra)
    return record
