"""Merging stored records: links, archives, events, limits, refusals and undo."""

from datetime import UTC, datetime, timedelta

import pytest

from crmkit.dedup import (
    MasterStrategy,
    merge,
    organization_policy,
    person_policy,
    plan_merge,
    survivor_of,
    unmerge,
)
from crmkit.errors import MergeConflict, NotFound, ValidationError
from crmkit.model import (
    Activity,
    ActivityKind,
    Lead,
    Order,
    Organization,
    OrganizationRole,
    PartyKind,
    PartyRef,
    Person,
    Relationship,
    Ticket,
)
from crmkit.repositories.memory import MemoryDatabase
from crmkit.values import EmailAddress

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
DAY = timedelta(days=1)


def _person(minutes=0, **fields):
    return Person.create(at=T0 + timedelta(minutes=minutes), **fields)


def _store(database, *entities):
    with database.unit_of_work() as uow:
        for entity in entities:
            uow.repository(type(entity)).add(entity)
        uow.commit()


def _merge(database, ids, **options):
    with database.unit_of_work() as uow:
        record = merge(uow, ids, at=options.pop("at", T0 + DAY), **options)
        uow.commit()
    return record


@pytest.fixture
def database():
    """An empty in-memory database."""
    return MemoryDatabase()


def test_every_kind_of_link_moves_to_the_survivor(database):
    """Tickets, orders, relationships and converted leads are re-pointed too."""
    jean = _person(first_name="Jean", last_name="Martin")
    twin = _person(1, first_name="Jean", last_name="Martin")
    boss = _person(2, first_name="Anne", last_name="Roux")
    ticket = Ticket.create(
        at=T0, subject="Login", requester=PartyRef(PartyKind.PERSON, twin.id)
    )
    order = Order.create(
        at=T0,
        number="O-1",
        customer=PartyRef(PartyKind.PERSON, twin.id),
        ordered_at=T0,
        currency="EUR",
    )
    manager = Relationship.create(
        at=T0,
        source=PartyRef(PartyKind.PERSON, twin.id),
        target=PartyRef(PartyKind.PERSON, boss.id),
        label="colleague",
    )
    lead = Lead.create(
        at=T0, last_name="Martin", status="converted", converted_person_id=twin.id
    )
    _store(database, jean, twin, boss, ticket, order, manager, lead)
    record = _merge(database, [jean.id, twin.id])
    with database.unit_of_work() as uow:
        assert jean.id == uow.tickets.get(ticket.id).requester.id
        assert jean.id == uow.orders.get(order.id).customer.id
        assert jean.id == uow.relationships.get(manager.id).source.id
        assert jean.id == uow.leads.get(lead.id).converted_person_id
        assert 4 == sum(c.role == "linked" for c in record.changes)


def test_a_relationship_between_merged_records_is_archived(database):
    """Two duplicates linked to each other: the link would loop, so it is archived."""
    jean = _person(first_name="Jean")
    twin = _person(1, first_name="Jean")
    link = Relationship.create(
        at=T0,
        source=PartyRef(PartyKind.PERSON, jean.id),
        target=PartyRef(PartyKind.PERSON, twin.id),
        label="colleague",
    )
    _store(database, jean, twin, link)
    record = _merge(database, [jean.id, twin.id])
    with database.unit_of_work() as uow:
        with pytest.raises(NotFound):
            uow.relationships.get(link.id)
        unmerge(uow, record.id, at=T0 + 2 * DAY)
        uow.commit()
    with database.unit_of_work() as uow:
        assert link == uow.relationships.get(link.id)


def test_merged_records_are_archived_not_deleted(database):
    """The merged record stays readable as archived; events say what happened."""
    jean = _person(first_name="Jean", emails=(EmailAddress("j@acme.fr"),))
    twin = _person(1, first_name="Jean", emails=(EmailAddress("jean@gmail.com"),))
    _store(database, jean, twin)
    record = _merge(database, [twin.id, jean.id])
    with database.unit_of_work() as uow:
        assert twin == uow.people.get(twin.id, include_archived=True)
        assert (jean.id, (twin.id,)) == (record.survivor_id, record.merged_ids)
        kinds = [m.event_type for m in uow.pending_messages(limit=100)]
    assert "RecordsMerged" == kinds[-1]
    assert "EntityArchived" in kinds


def test_a_merged_record_found_by_its_email_is_the_survivor(database):
    """After a merge, the merged record's email finds only the survivor."""
    jean = _person(first_name="Jean")
    twin = _person(1, first_name="Jean", emails=(EmailAddress("jean@gmail.com"),))
    _store(database, jean, twin)
    _merge(database, [jean.id, twin.id])
    with database.unit_of_work() as uow:
        assert [jean.id] == [p.id for p in uow.people.find_by_email("jean@gmail.com")]


def test_the_master_strategy_and_a_given_master(database):
    """MOST_ACTIVITY picks the record most linked to; master_id overrides it."""
    jean = _person(first_name="Jean")
    twin = _person(1, first_name="Jean")
    calls = [
        Activity.create(
            at=T0,
            kind=ActivityKind.CALL,
            subject=f"call {n}",
            parties=(PartyRef(PartyKind.PERSON, twin.id),),
        )
        for n in range(2)
    ]
    _store(database, jean, twin, *calls)
    busy = person_policy(master=MasterStrategy.MOST_ACTIVITY)
    with database.unit_of_work() as uow:
        plan = plan_merge(uow, [jean.id, twin.id], policy=busy, at=T0 + DAY)
        assert twin.id == plan.survivor.id
        assert "the most linked records (2)" in plan.explain()
        given = plan_merge(
            uow, [jean.id, twin.id], policy=busy, master_id=jean.id, at=T0 + DAY
        )
        assert jean.id == given.survivor.id


def test_organisations_merge_with_roles_and_subsidiaries(database):
    """People's roles and child organisations move to the surviving organisation."""
    acme = Organization.create(at=T0, name="Acme", employees=10)
    acme_sa = Organization.create(at=T0 + DAY, name="ACME SA", employees=40)
    child = Organization.create(at=T0, name="Acme Lyon", parent_id=acme_sa.id)
    both = _person(
        first_name="Jean",
        roles=(
            OrganizationRole(organization_id=acme.id, is_primary=True),
            OrganizationRole(organization_id=acme_sa.id, title="CFO"),
        ),
    )
    _store(database, acme, acme_sa, child, both)
    at = T0 + 2 * DAY
    record = _merge(database, [acme.id, acme_sa.id], entity_type="organization", at=at)
    with database.unit_of_work() as uow:
        assert 40 == uow.organizations.get(acme.id).employees
        assert acme.id == uow.organizations.get(child.id).parent_id
        roles = uow.people.get(both.id).roles
        assert [(acme.id, True)] == [(r.organization_id, r.is_primary) for r in roles]
        unmerge(uow, record.id, at=at + DAY)
        uow.commit()
    with database.unit_of_work() as uow:
        assert both.roles == uow.people.get(both.id).roles
        assert acme_sa.id == uow.organizations.get(child.id).parent_id


# Bad input ----------------------------------------------------------------------


def test_a_merge_naming_a_record_that_no_longer_exists_is_refused(database):
    """A deleted record is named by its position and id; nothing is written."""
    jean = _person(first_name="Jean")
    gone = _person(1, first_name="Jean")
    _store(database, jean, gone)
    with database.unit_of_work() as uow:
        uow.people.delete(gone.id, at=T0, hard=True)
        uow.commit()
    with database.unit_of_work() as uow, pytest.raises(ValidationError) as error:
        merge(uow, [jean.id, gone.id], at=T0 + DAY)
    found = error.value.errors[0]
    assert ("ids[1]", gone.id, "merge.not_found") == (
        found.path,
        found.value,
        found.code,
    )


def test_a_merge_naming_an_archived_record_is_refused(database):
    """An archived record cannot be merged."""
    jean = _person(first_name="Jean")
    old = _person(1, first_name="Jean")
    _store(database, jean, old)
    with database.unit_of_work() as uow:
        uow.people.delete(old.id, at=T0)
        uow.commit()
    with database.unit_of_work() as uow, pytest.raises(ValidationError) as error:
        merge(uow, [jean.id, old.id], at=T0 + DAY)
    assert "merge.archived" == error.value.errors[0].code


def test_a_merge_naming_an_already_merged_record_says_into_what(database):
    """A record merged before is refused, naming its survivor and the merge."""
    jean, twin, third = (_person(n, first_name="Jean") for n in range(3))
    _store(database, jean, twin, third)
    first = _merge(database, [jean.id, twin.id])
    with database.unit_of_work() as uow, pytest.raises(ValidationError) as error:
        merge(uow, [third.id, twin.id], at=T0 + 2 * DAY)
    found = error.value.errors[0]
    assert ("ids[1]", "merge.already_merged") == (found.path, found.code)
    assert f"was merged into {jean.id} by merge {first.id}" == found.message


def test_a_merge_over_the_limit_is_refused(database):
    """More records than the policy's max_records are refused, naming the limit."""
    people = [_person(n, first_name="Jean") for n in range(4)]
    _store(database, *people)
    policy = person_policy(max_records=3)
    with database.unit_of_work() as uow, pytest.raises(ValidationError) as error:
        merge(uow, [p.id for p in people], policy=policy, at=T0 + DAY)
    found = error.value.errors[0]
    assert ("ids", 4, "merge.limit") == (found.path, found.value, found.code)
    assert "at most 3" in found.message


@pytest.mark.parametrize(
    ("count", "code"), [(1, "merge.too_few"), (0, "merge.too_few")]
)
def test_a_merge_of_fewer_than_two_records_is_refused(database, count, code):
    """One record (or none) is not a merge."""
    jean = _person(first_name="Jean")
    _store(database, jean)
    with database.unit_of_work() as uow, pytest.raises(ValidationError) as error:
        merge(uow, [jean.id][:count], at=T0 + DAY)
    assert code == error.value.errors[0].code


def test_a_merge_naming_a_record_twice_is_refused(database):
    """The same id twice is refused."""
    jean = _person(first_name="Jean")
    _store(database, jean)
    with database.unit_of_work() as uow, pytest.raises(ValidationError) as error:
        merge(uow, [jean.id, jean.id], at=T0 + DAY)
    assert "merge.twice" == error.value.errors[0].code


def test_a_merge_mixing_kinds_is_refused(database):
    """A person and an organisation in one merge: the organisation is named."""
    jean = _person(first_name="Jean")
    acme = Organization.create(at=T0, name="Jean")
    _store(database, jean, acme)
    with database.unit_of_work() as uow, pytest.raises(ValidationError) as error:
        merge(uow, [jean.id, acme.id], at=T0 + DAY)
    found = error.value.errors[0]
    assert ("ids[1]", "merge.kinds") == (found.path, found.code)
    assert "is an organization, not a person" in found.message


def test_a_policy_of_another_type_is_refused(database):
    """An organisation policy cannot merge persons."""
    with database.unit_of_work() as uow, pytest.raises(ValidationError) as error:
        merge(uow, [], entity_type="person", policy=organization_policy(), at=T0)
    assert "policy.entity_type" == error.value.errors[0].path


def test_the_policy_gives_the_kind_of_records(database):
    """An organisation policy alone merges organisations."""
    acme = Organization.create(at=T0, name="Acme")
    acme_sa = Organization.create(at=T0 + DAY, name="Acme SA", employees=9)
    _store(database, acme, acme_sa)
    record = _merge(
        database, [acme.id, acme_sa.id], policy=organization_policy(), at=T0 + 2 * DAY
    )
    assert ("organization", acme.id) == (record.entity_type, record.survivor_id)


def test_unmerge_of_a_relinked_record_changed_since_is_refused(database):
    """A call re-pointed by the merge and edited since blocks the undo, named."""
    jean = _person(first_name="Jean")
    twin = _person(1, first_name="Jean")
    call = Activity.create(
        at=T0,
        kind=ActivityKind.CALL,
        subject="Intro",
        parties=(PartyRef(PartyKind.PERSON, twin.id),),
    )
    _store(database, jean, twin, call)
    record = _merge(database, [jean.id, twin.id])
    with database.unit_of_work() as uow:
        moved = uow.activities.get(call.id)
        uow.activities.update(moved.update({"parties": ()}, at=T0 + 2 * DAY).entity)
        uow.commit()
    with database.unit_of_work() as uow, pytest.raises(MergeConflict) as error:
        unmerge(uow, record.id, at=T0 + 3 * DAY)
    assert (f"activity {call.id}: parties changed since the merge",) == tuple(
        r.split(" (")[0] for r in error.value.reasons
    )
    assert str(record.id) in str(error.value)


def test_unmerge_keeps_later_changes_to_other_fields(database):
    """A field the merge did not touch, changed since, is kept by the undo."""
    jean = _person(first_name="Jean")
    twin = _person(1, first_name="Jean", last_name="Martin")
    _store(database, jean, twin)
    record = _merge(database, [jean.id, twin.id])
    with database.unit_of_work() as uow:
        survivor = uow.people.get(jean.id)
        later = survivor.update({"job_title": "CFO"}, at=T0 + 2 * DAY).entity
        uow.people.update(later)
        uow.commit()
    with database.unit_of_work() as uow:
        unmerge(uow, record.id, at=T0 + 3 * DAY)
        uow.commit()
    with database.unit_of_work() as uow:
        restored = uow.people.get(jean.id)
        assert (None, "CFO") == (restored.last_name, restored.job_title)
        assert twin == uow.people.get(twin.id)


def test_unmerge_of_a_restored_merged_record_is_refused(database):
    """A merged record brought back by hand blocks the undo."""
    jean = _person(first_name="Jean")
    twin = _person(1, first_name="Jean")
    _store(database, jean, twin)
    record = _merge(database, [jean.id, twin.id])
    with database.unit_of_work() as uow:
        uow.people.restore(twin.id, at=T0 + 2 * DAY)
        uow.commit()
    with database.unit_of_work() as uow, pytest.raises(MergeConflict) as error:
        unmerge(uow, record.id, at=T0 + 3 * DAY)
    assert (f"person {twin.id} was restored since the merge",) == error.value.reasons


def test_unmerge_twice_and_of_an_unknown_merge(database):
    """An undone merge cannot be undone again; an unknown one is not found."""
    jean = _person(first_name="Jean")
    twin = _person(1, first_name="Jean")
    _store(database, jean, twin)
    record = _merge(database, [jean.id, twin.id])
    with database.unit_of_work() as uow:
        undone = unmerge(uow, record.id, at=T0 + 2 * DAY)
        uow.commit()
    assert T0 + 2 * DAY == undone.undone_at
    with database.unit_of_work() as uow:
        assert "MergeUndone" == uow.pending_messages(limit=100)[-1].event_type
        with pytest.raises(NotFound):
            unmerge(uow, record.id, at=T0 + 3 * DAY)
        with pytest.raises(NotFound):
            unmerge(uow, twin.id, at=T0 + 3 * DAY)


def test_a_merge_conflict_pickles_and_is_a_concurrency_error():
    """MergeConflict keeps its merge id and reasons through pickling."""
    import pickle  # noqa: PLC0415 - only this test needs it

    from crmkit.errors import ConcurrencyError  # noqa: PLC0415

    error = MergeConflict("m-1", ("person p: emails changed since the merge",))
    copy = pickle.loads(pickle.dumps(error))  # noqa: S301 - our own object
    assert isinstance(copy, ConcurrencyError)
    assert ("m-1", error.reasons, str(error)) == (
        copy.merge_id,
        copy.reasons,
        str(copy),
    )


def test_merge_groups_scans_once_and_sees_each_earlier_merge(database):
    """A deal with members of two clusters ends up with both survivors."""
    from crmkit.dedup import merge_groups  # noqa: PLC0415 - this test's subject
    from crmkit.model import Deal  # noqa: PLC0415

    jean, jean2, anne, anne2 = (_person(n, first_name="X") for n in range(4))
    deal = Deal.create(
        at=T0,
        name="d",
        pipeline="sales",
        stage="proposal",
        contact_ids=(jean2.id, anne2.id),
    )
    _store(database, jean, jean2, anne, anne2, deal)
    groups = [[jean.id, jean2.id], [anne.id, anne2.id]]
    with database.unit_of_work() as uow:
        preview = merge_groups(uow, groups, at=T0 + DAY, dry_run=True)
        assert [None, None] == [record for _, record in preview]
        done = merge_groups(uow, groups, at=T0 + DAY)
        uow.commit()
    assert [jean.id, anne.id] == [plan.survivor.id for plan, _ in done]
    with database.unit_of_work() as uow:
        assert (jean.id, anne.id) == uow.deals.get(deal.id).contact_ids
        with pytest.raises(ValidationError) as error:
            merge_groups(uow, [[jean.id, jean2.id]], at=T0 + 2 * DAY)
    assert f"in group 0 ({jean.id}, {jean2.id})" in error.value.__notes__


def test_an_organisation_merged_with_its_parent_gets_no_parent(database):
    """A subsidiary merged into its parent would be its own parent: none instead."""
    group = Organization.create(at=T0, name="Acme")
    branch = Organization.create(at=T0 + DAY, name="Acme", parent_id=group.id)
    _store(database, group, branch)
    record = _merge(
        database, [group.id, branch.id], entity_type="organization", at=T0 + 2 * DAY
    )
    with database.unit_of_work() as uow:
        assert uow.organizations.get(group.id).parent_id is None
        unmerge(uow, record.id, at=T0 + 3 * DAY)
        uow.commit()
    with database.unit_of_work() as uow:
        assert group.id == uow.organizations.get(branch.id).parent_id


def test_unmerge_of_a_survivor_merged_again_says_which_merge_to_undo_first(database):
    """A survivor merged into a third record names the later merge to undo first."""
    jean, twin, third = (_person(n, first_name="Jean") for n in range(3))
    _store(database, jean, twin, third)
    first = _merge(database, [jean.id, twin.id])
    second = _merge(database, [third.id, jean.id], master_id=third.id, at=T0 + 2 * DAY)
    with database.unit_of_work() as uow, pytest.raises(MergeConflict) as error:
        unmerge(uow, first.id, at=T0 + 3 * DAY)
    expected = (
        f"person {jean.id} was merged into {third.id} by merge {second.id} since; "
        "undo that merge first"
    )
    assert (expected,) == error.value.reasons
    with database.unit_of_work() as uow:
        assert [third.id, third.id, third.id] == [
            survivor_of(uow, p.id) for p in (jean, twin, third)
        ]
        unmerge(uow, second.id, at=T0 + 3 * DAY)
        assert (jean.id, jean.id) == (
            survivor_of(uow, twin.id),
            survivor_of(uow, jean.id),
        )
        unmerge(uow, first.id, at=T0 + 3 * DAY)
        assert twin.id == survivor_of(uow, twin.id)
        uow.commit()
    with database.unit_of_work() as uow:
        assert [jean, twin, third] == [
            uow.people.get(p.id) for p in (jean, twin, third)
        ]


def test_unmerge_restores_typed_custom_values_with_their_schema(database):
    """Given the schemas, an undo restores custom decimals and dates typed."""
    from datetime import date  # noqa: PLC0415
    from decimal import Decimal  # noqa: PLC0415

    from crmkit.model import CustomField, EntitySchema  # noqa: PLC0415

    schema = EntitySchema(
        custom_fields=(
            CustomField(name="revenue", type="decimal"),
            CustomField(name="signed_on", type="date"),
        )
    )
    jean = _person(first_name="Jean", custom={"revenue": Decimal("12.5")})
    twin = _person(1, first_name="Jean", custom={"signed_on": date(2026, 1, 5)})
    _store(database, jean, twin)
    record = _merge(database, [jean.id, twin.id])
    with database.unit_of_work() as uow:
        merged = uow.people.get(jean.id).custom
        assert {"revenue": Decimal("12.5"), "signed_on": date(2026, 1, 5)} == merged
        unmerge(uow, record.id, at=T0 + 2 * DAY, schemas={Person: schema})
        uow.commit()
    with database.unit_of_work() as uow:
        assert jean.custom == uow.people.get(jean.id).custom
