"""XRM relationships: labelled links between parties, with limits per label."""

from datetime import UTC, date, datetime
from uuid import uuid4

import pytest

from crmkit.errors import InvalidDefinition, ValidationError
from crmkit.model import (
    DEFAULT_RELATIONSHIP_LABELS,
    PartyKind,
    PartyRef,
    Relationship,
    RelationshipLabel,
    check_relationship,
)

NOW = datetime(2026, 11, 22, 9, 0, tzinfo=UTC)
ACME = PartyRef(PartyKind.ORGANIZATION, uuid4())
JEAN = PartyRef(PartyKind.PERSON, uuid4())
MARIE = PartyRef(PartyKind.PERSON, uuid4())
LABELS = [
    *DEFAULT_RELATIONSHIP_LABELS,
    RelationshipLabel(name="billing_contact", max_per_target=1),
]


def link(source, label, target, **fields):
    return Relationship.create(
        at=NOW, source=source, target=target, label=label, **fields
    )


def test_default_labels_cover_the_xrm_parties():
    """Customers, prospects, partners, suppliers, shareholders, staff and press."""
    assert [
        "customer",
        "prospect",
        "partner",
        "supplier",
        "shareholder",
        "employee",
        "press",
    ] == [label.name for label in DEFAULT_RELATIONSHIP_LABELS]


def test_a_party_cannot_relate_to_itself():
    """Source and target differ; the end is not before the start."""
    with pytest.raises(ValidationError) as error:
        link(
            ACME,
            "partner",
            ACME,
            started_on=date(2026, 2, 1),
            ended_on=date(2026, 1, 1),
        )
    assert {"target", "ended_on"} == set(error.value.paths)


def test_cardinality_limit_counts_active_relationships_only():
    """One active billing contact per organisation; an ended one does not count."""
    existing = [link(JEAN, "billing_contact", ACME, ended_on=date(2026, 1, 31))]
    marie = link(MARIE, "billing_contact", ACME)
    check_relationship(marie, existing, labels=LABELS, on=date(2026, 11, 22))
    existing.append(marie)
    again = link(JEAN, "billing_contact", ACME)
    with pytest.raises(ValidationError) as error:
        check_relationship(again, existing, labels=LABELS, on=date(2026, 11, 22))
    assert ["target"] == list(error.value.paths)
    assert "at most 1" in str(error.value)


def test_source_limit():
    """A label can limit the source side too."""
    labels = [RelationshipLabel(name="primary_supplier", max_per_source=1)]
    first = link(ACME, "primary_supplier", JEAN)
    with pytest.raises(ValidationError) as error:
        check_relationship(
            link(ACME, "primary_supplier", MARIE),
            [first],
            labels=labels,
            on=date(2026, 1, 1),
        )
    assert ["source"] == list(error.value.paths)


def test_unknown_label_is_refused():
    """Labels come from the business's list."""
    with pytest.raises(ValidationError) as error:
        check_relationship(link(JEAN, "friend", ACME), [], on=date(2026, 1, 1))
    assert "relationship.label" == error.value.errors[0].code


def test_checking_an_edit_ignores_the_relationship_itself():
    """Re-checking a stored relationship does not count it against itself."""
    marie = link(MARIE, "billing_contact", ACME)
    check_relationship(marie, [marie], labels=LABELS, on=date(2026, 1, 1))


def test_activity_window():
    """A relationship holds between its start and end days, inclusive."""
    window = link(
        JEAN, "employee", ACME, started_on=date(2026, 1, 1), ended_on=date(2026, 6, 30)
    )
    assert [False, True, True, False] == [
        window.is_active(day)
        for day in (
            date(2025, 12, 31),
            date(2026, 1, 1),
            date(2026, 6, 30),
            date(2026, 7, 1),
        )
    ]


@pytest.mark.parametrize(
    "kwargs",
    [
        {"name": " "},
        {"name": "x", "max_per_source": 0},
        {"name": "x", "max_per_target": True},
    ],
)
def test_bad_labels_are_refused(kwargs):
    """A label needs a name and limits of at least one."""
    with pytest.raises(InvalidDefinition):
        RelationshipLabel(**kwargs)
