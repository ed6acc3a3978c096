"""Everything crmkit makes survives a trip through plain data and JSON, unchanged."""

import functools
import json
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

import attrs
import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from crmkit.errors import ValidationError
from crmkit.ids import new_id
from crmkit.model import ENTITY_TYPES, EntitySchema, Person
from crmkit.serialization import from_dict, from_json, make_converter, to_dict, to_json
from crmkit.testing import strategies as crm_st

ENTITY_STRATEGIES: dict[str, Callable[..., st.SearchStrategy[Any]]] = {
    "person": crm_st.people,
    "organization": crm_st.organizations,
    "relationship": crm_st.relationships,
    "lead": crm_st.leads,
    "deal": crm_st.deals,
    "activity": crm_st.activities,
    "ticket": crm_st.tickets,
    "order": crm_st.orders,
    "product": crm_st.products,
    "user": crm_st.users,
    "team": crm_st.teams,
    "campaign": crm_st.campaigns,
}

VALUE_STRATEGIES = [
    "emails",
    "phone_numbers",
    "money",
    "postal_addresses",
    "urls",
    "probabilities",
    "consent_records",
    "organization_roles",
    "party_refs",
    "order_lines",
    "custom_fields",
    "entity_schemas",
]

NOON = "2026-11-22T12:00:00+00:00"

# One bad value per Person field, each refused while the dict is read, and the path
# the error names. Any k of them at once must come back as exactly k paths.
BAD_PERSON_FIELDS: dict[str, tuple[object, str]] = {
    "id": ("not-a-uuid", "id"),
    "version": ("one", "version"),
    "created_at": ("yesterday", "created_at"),
    "updated_at": ("2026-11-22T09:00:00", "updated_at"),
    "custom": ("vip", "custom"),
    "salutation": (3, "salutation"),
    "first_name": (42, "first_name"),
    "last_name": (["Dupont"], "last_name"),
    "emails": (["jean at acme"], "emails[0]"),
    "phones": (["+1 555"], "phones[0]"),
    "addresses": ([{"country": "XX"}], "addresses[0].country"),
    "urls": (["ftp://acme.com"], "urls[0]"),
    "preferred_channel": ("pigeon", "preferred_channel"),
    "birth_date": ("31/12/1990", "birth_date"),
    "interests": ([1], "interests[0]"),
    "preferences": ({"tone": 1}, "preferences.tone"),
    "roles": ([{"organization_id": "acme"}], "roles[0].organization_id"),
    "tags": ("vip", "tags"),
    "owner_id": ("nobody", "owner_id"),
    "consents": (
        [{"channel": "pigeon", "purpose": "news", "status": "granted", "at": NOON}],
        "consents[0].channel",
    ),
    "external_ids": ({"erp": 5}, "external_ids.erp"),
}

# Bad values that only the entity's own checks catch, once every field was read.
CHECKED_PERSON_FIELDS: dict[str, tuple[object, str]] = {
    "version": (0, "version"),
    "tags": (["  "], "tags"),
    "preferences": ({"": "x"}, "preferences"),
}


def _with_schema(data: st.DataObject, entity_type: str) -> tuple[Any, Any]:
    """Draw a schema, then an entity whose custom values and stage fit it."""
    cls = ENTITY_TYPES[entity_type]
    schema = data.draw(crm_st.entity_schemas(), label="schema")
    fields: dict[str, st.SearchStrategy[Any]] = {"custom": crm_st.custom_values(schema)}
    if "lifecycle_stage" in attrs.fields_dict(cls):
        fields["lifecycle_stage"] = st.none() | st.sampled_from(schema.lifecycle_stages)
    entity = data.draw(ENTITY_STRATEGIES[entity_type](**fields), label=entity_type)
    return entity, _converter(cls, schema)


@functools.lru_cache(maxsize=512)
def _converter(cls: type, schema: EntitySchema) -> Any:
    """One converter per schema: make_converter generates code for every entity type."""
    return make_converter(schemas={cls: schema})


@pytest.mark.parametrize("entity_type", sorted(ENTITY_STRATEGIES))
@given(data=st.data())
def test_entities_round_trip_with_their_schema(entity_type, data):
    """An entity with custom values comes back unchanged from a dict and from JSON."""
    entity, converter = _with_schema(data, entity_type)
    cls = type(entity)
    as_dict = to_dict(entity, converter=converter)
    assert entity == from_dict(cls, as_dict, converter=converter)
    assert entity == from_json(
        cls, to_json(entity, converter=converter), converter=converter
    )
    assert as_dict == json.loads(json.dumps(as_dict))


@pytest.mark.parametrize("entity_type", sorted(ENTITY_STRATEGIES))
@given(data=st.data())
def test_entities_round_trip_without_a_schema(entity_type, data):
    """With the default converter, an entity comes back unchanged from JSON."""
    entity = data.draw(ENTITY_STRATEGIES[entity_type](), label=entity_type)
    assert entity == from_json(type(entity), to_json(entity))


@pytest.mark.parametrize("name", VALUE_STRATEGIES)
@given(data=st.data())
def test_values_round_trip(name, data):
    """Values and definitions come back unchanged from a dict and from JSON."""
    value = data.draw(getattr(crm_st, name)(), label=name)
    assert value == from_dict(type(value), to_dict(value))
    assert value == from_json(type(value), to_json(value))


@given(
    person=crm_st.people(),
    bad=st.lists(st.sampled_from(sorted(BAD_PERSON_FIELDS)), min_size=1, unique=True),
)
def test_every_bad_field_is_reported_at_once(person, bad):
    """k bad fields in a person's data come back as one error with exactly k paths."""
    data = to_dict(person) | {name: BAD_PERSON_FIELDS[name][0] for name in bad}
    with pytest.raises(ValidationError) as caught:
        from_dict(Person, data)
    assert sorted(BAD_PERSON_FIELDS[name][1] for name in bad) == sorted(
        caught.value.paths
    )


@given(
    person=crm_st.people(),
    bad=st.sampled_from(sorted(BAD_PERSON_FIELDS)),
    checked=st.sampled_from(sorted(CHECKED_PERSON_FIELDS)),
)
# An explicit case, so that this runs on every run, not only when drawn.
@example(
    person=Person.create(at=datetime(2026, 11, 22, tzinfo=UTC), first_name="Jean"),
    bad="emails",
    checked="version",
)
def test_checked_fields_are_reported_with_unreadable_ones(person, bad, checked):
    """A field only the entity's checks refuse is reported with the unreadable ones."""
    if bad == checked:
        bad = "emails" if checked != "emails" else "phones"
    data = to_dict(person) | {
        bad: BAD_PERSON_FIELDS[bad][0],
        checked: CHECKED_PERSON_FIELDS[checked][0],
    }
    with pytest.raises(ValidationError) as caught:
        from_dict(Person, data)
    expected = [BAD_PERSON_FIELDS[bad][1], CHECKED_PERSON_FIELDS[checked][1]]
    assert sorted(expected) == sorted(caught.value.paths)


# 02:10 in Paris on 25 October 2026 happens twice; the second time (fold=1) is CET.
PARIS_FOLD = datetime(2026, 10, 25, 2, 10, fold=1, tzinfo=ZoneInfo("Europe/Paris"))


def test_an_entity_stamped_in_a_dst_fold_round_trips():
    """A person created during the repeated hour comes back equal from JSON."""
    person = Person(
        id=new_id(PARIS_FOLD),
        created_at=PARIS_FOLD,
        updated_at=PARIS_FOLD,
        last_name="Dupont",
    )
    assert person == from_json(Person, to_json(person))


def test_an_update_before_creation_is_refused_whatever_the_zones():
    """02:30 CEST comes 40 minutes before 02:10 CET: the real order is what counts."""
    updated = datetime(2026, 10, 25, 2, 30, tzinfo=ZoneInfo("Europe/Paris"))  # CEST
    with pytest.raises(ValidationError) as caught:
        Person(
            id=new_id(PARIS_FOLD),
            created_at=PARIS_FOLD,
            updated_at=updated,
            last_name="Dupont",
        )
    assert ["updated_at"] == list(caught.value.paths)
