"""Relationships beyond customers ("XRM"): labelled links between any two parties."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from datetime import date
from typing import Final

import attrs

from crmkit.errors import FieldError, InvalidDefinition, ValidationError
from crmkit.ids import RelationshipId
from crmkit.model._entity import Entity, entity_id
from crmkit.model._fields import day, one_of, text
from crmkit.model._parties import PartyRef

__all__ = [
    "DEFAULT_RELATIONSHIP_LABELS",
    "Relationship",
    "RelationshipLabel",
    "check_relationship",
]


@attrs.frozen(kw_only=True)
class RelationshipLabel:
    """
    A kind of relationship, with optional limits on how many each side may have.

    ``max_per_target=1`` on a "billing_contact" label means an organisation has at
    most one active billing contact.

    .. versionadded:: 0.1
    """

    name: str
    description: str | None = None
    max_per_source: int | None = None
    max_per_target: int | None = None

    def __attrs_post_init__(self) -> None:
        if not isinstance(self.name, str) or not self.name.strip():
            raise InvalidDefinition("name", "a relationship label needs a name")
        for side in ("max_per_source", "max_per_target"):
            limit = getattr(self, side)
            if limit is not None and (
                isinstance(limit, bool) or not isinstance(limit, int) or limit < 1
            ):
                raise InvalidDefinition(side, f"{limit!r} must be a whole number >= 1")


DEFAULT_RELATIONSHIP_LABELS: Final = tuple(
    RelationshipLabel(name=name)
    for name in (
        "customer",
        "prospect",
        "partner",
        "supplier",
        "shareholder",
        "employee",
        "press",
    )
)


@attrs.frozen(kw_only=True)
class Relationship(Entity):
    """
    A labelled link: ``source`` is a ``label`` of ``target``.

    Jean is an employee of Acme; Acme is a supplier of Globex.
    Active from `started_on` to `ended_on` (both optional, inclusive).

    .. versionadded:: 0.1
    """

    entity_type = "relationship"

    id: RelationshipId = entity_id()
    source: PartyRef = one_of(PartyRef, required=True)
    target: PartyRef = one_of(PartyRef, required=True)
    label: str = text(required=True)
    started_on: date | None = day()
    ended_on: date | None = day()
    note: str | None = text(multiline=True)

    def _invariants(self) -> Iterator[FieldError]:
        yield from super()._invariants()
        if self.source == self.target:
            yield FieldError(
                "target",
                self.target,
                "relationship.self",
                "a party cannot relate to itself",
            )
        if self.started_on and self.ended_on and self.ended_on < self.started_on:
            yield FieldError(
                "ended_on", self.ended_on, "date.order", "is before started_on"
            )

    def is_active(self, on: date) -> bool:
        """True when the relationship holds on the given day."""
        return (self.started_on is None or self.started_on <= on) and (
            self.ended_on is None or on <= self.ended_on
        )


def check_relationship(
    new: Relationship,
    existing: Iterable[Relationship],
    *,
    labels: Iterable[RelationshipLabel] = DEFAULT_RELATIONSHIP_LABELS,
    on: date,
) -> None:
    """
    Refuse a relationship whose label is unknown or whose limits it would exceed.

    Only relationships active ``on`` the given day count towards a limit.

    Raises:
        ValidationError: At ``label`` for an unknown label, at ``source`` or
            ``target`` for a limit that would be exceeded.
    """
    by_name = {label.name: label for label in labels}
    label = by_name.get(new.label)
    if label is None:
        raise ValidationError.single(
            "label",
            new.label,
            "relationship.label",
            f"must be one of {sorted(by_name)!r}",
        )
    same = [
        r
        for r in existing
        if r.label == new.label and r.id != new.id and r.is_active(on)
    ]
    errors = []
    if label.max_per_source is not None:
        taken = sum(1 for r in same if r.source == new.source)
        if taken >= label.max_per_source:
            errors.append(
                FieldError(
                    "source",
                    new.source,
                    "relationship.limit",
                    f"already has {taken} active {new.label!r} "
                    f"(at most {label.max_per_source})",
                )
            )
    if label.max_per_target is not None:
        taken = sum(1 for r in same if r.target == new.target)
        if taken >= label.max_per_target:
            errors.append(
                FieldError(
                    "target",
                    new.target,
                    "relationship.limit",
                    f"already has {taken} active {new.label!r} "
                    f"(at most {label.max_per_target})",
                )
            )
    if errors:
        raise ValidationError(errors)
