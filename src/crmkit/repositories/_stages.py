"""What the adapters' stage histories share: checking entries and chaining stays."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any
from uuid import UUID

import attrs

from crmkit._validation import aware_utc
from crmkit.errors import ValidationError
from crmkit.repositories._ports import StageEntry, StageVisit

__all__ = ["chain_stays", "check_entries", "check_override", "check_probability"]


def check_probability(value: Any, path: str) -> float | None:
    """A probability in [0, 1] (or `None`) as a float; anything else is refused."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValidationError.single(
            path, value, "type", f"expected a number, not {type(value).__name__}"
        )
    if not 0 <= value <= 1:
        raise ValidationError.single(
            path, value, "probability.range", "must be between 0 and 1"
        )
    return float(value)


def _name(value: Any, path: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise ValidationError.single(path, value, "required", "is required")
    return value


def check_entries(entries: Iterable[StageEntry]) -> list[StageEntry]:
    """Check each entry, with times in UTC; the path names the entry's index."""
    checked = []
    for index, entry in enumerate(entries):
        path = f"entries[{index}]"
        if not isinstance(entry, StageEntry):
            raise ValidationError.single(
                path,
                entry,
                "type",
                f"expected StageEntry, not {type(entry).__name__}",
            )
        checked.append(
            StageEntry(
                deal_id=entry.deal_id,
                pipeline=_name(entry.pipeline, f"{path}.pipeline"),
                stage=_name(entry.stage, f"{path}.stage"),
                at=aware_utc(entry.at, f"{path}.at"),
                actor=entry.actor,
                probability=check_probability(entry.probability, f"{path}.probability"),
            )
        )
    return checked


def _check_order(at: datetime, stay: StageVisit, path: str) -> None:
    if at < stay.entered_at:
        raise ValidationError.single(
            path,
            at,
            "time.order",
            f"is before deal {stay.deal_id} entered {stay.stage!r} ({stay.entered_at})",
        )


def check_override(
    stay: StageVisit, probability: Any, at: datetime
) -> tuple[float, datetime]:
    """The checked probability and UTC time of an override of the open ``stay``."""
    value = check_probability(probability, "probability")
    if value is None:
        raise ValidationError.single(
            "probability", probability, "required", "is required"
        )
    at = aware_utc(at, "at")
    _check_order(at, stay, "at")
    return value, at


def chain_stays(
    entries: list[StageEntry], open_stays: Mapping[UUID, StageVisit]
) -> tuple[dict[UUID, StageVisit], list[StageVisit]]:
    """
    Turn checked entries into stays.

    Returns the stored open stays that the entries close (by deal), and the new
    stays in order: each closed by the next entry of its deal, if any.

    Raises:
        ValidationError: An entry dated before the stay it closes began.
    """
    closed: dict[UUID, StageVisit] = {}
    new: list[StageVisit] = []
    latest: dict[UUID, int] = {}
    for index, entry in enumerate(entries):
        position = latest.get(entry.deal_id)
        previous = open_stays.get(entry.deal_id) if position is None else new[position]
        if previous is not None:
            _check_order(entry.at, previous, f"entries[{index}].at")
            ended = attrs.evolve(previous, exited_at=entry.at, exited_by=entry.actor)
            if position is None:
                closed[entry.deal_id] = ended
            else:
                new[position] = ended
        latest[entry.deal_id] = len(new)
        new.append(
            StageVisit(
                deal_id=entry.deal_id,
                pipeline=entry.pipeline,
                stage=entry.stage,
                entered_at=entry.at,
                entered_by=entry.actor,
                probability=entry.probability,
            )
        )
    return closed, new
