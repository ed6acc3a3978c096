"""A merge finds the records pointing to the merged ones by queries, not scans."""

from datetime import UTC, datetime, timedelta
from uuid import UUID

import pytest

from crmkit.dedup import _merge_links as links
from crmkit.dedup import merge, merge_groups
from crmkit.model import (
    Activity,
    ActivityKind,
    Deal,
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
from crmkit.repositories.sql import SqlDatabase

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
DAY = timedelta(days=1)
PERSON, ORG = PartyKind.PERSON, PartyKind.ORGANIZATION


@pytest.fixture(
    params=["memory", "sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]
)
def database(request, tmp_path):
    """An empty database of each adapter."""
    if request.param == "memory":
        yield MemoryDatabase()
        return
    if request.param == "sqlite":
        made = SqlDatabase.sqlite(tmp_path / "crm.db")
    else:
        made = SqlDatabase.postgres(request.getfixturevalue("make_pg_database")())
    made.upgrade(at=T0)
    yield made
    made.dispose()


def _ref(entity):
    kind = PERSON if isinstance(entity, Person) else ORG
    return PartyRef(kind, entity.id)


def _call(number, *parties):
    return Activity.create(
        at=T0,
        kind=ActivityKind.CALL,
        subject=f"Call {number}",
        parties=tuple(_ref(p) for p in parties),
    )


def _web(database):
    """
    Two persons and two organisations to merge, pointed to by every kind of field.

    Returns the records by name; ``expected`` says who points to whom.
    """
    r = {
        "jean": Person.create(at=T0, first_name="Jean", last_name="Martin"),
        "twin": Person.create(at=T0, first_name="J.", last_name="Martin"),
        "other": Person.create(at=T0, first_name="Anne", last_name="Roux"),
        "acme": Organization.create(at=T0, name="Acme"),
        "acme_sa": Organization.create(at=T0, name="ACME SA"),
    }
    jean, twin, other, acme, acme_sa = (
        r[k] for k in ("jean", "twin", "other", "acme", "acme_sa")
    )
    r |= {
        "call": _call(1, jean, acme),
        "unrelated_call": _call(2, other),
        "archived_call": _call(3, twin, acme_sa),
        "deal": Deal.create(
            at=T0,
            name="Renewal",
            pipeline="sales",
            stage="qualify",
            contact_ids=(twin.id, other.id),
            organization_id=acme_sa.id,
        ),
        "ticket": Ticket.create(at=T0, subject="Login", requester=_ref(jean)),
        "org_ticket": Ticket.create(
            at=T0, subject="Invoice", requester=_ref(acme_sa), organization_id=acme.id
        ),
        "knows": Relationship.create(
            at=T0, source=_ref(jean), target=_ref(acme_sa), label="colleague"
        ),
        "known": Relationship.create(
            at=T0, source=_ref(other), target=_ref(twin), label="colleague"
        ),
        "order": Order.create(
            at=T0, number="O-1", customer=_ref(twin), ordered_at=T0, currency="EUR"
        ),
        "org_order": Order.create(
            at=T0, number="O-2", customer=_ref(acme), ordered_at=T0, currency="EUR"
        ),
        "lead": Lead.create(
            at=T0,
            last_name="Martin",
            status="converted",
            converted_person_id=jean.id,
            converted_organization_id=acme_sa.id,
        ),
        "employee": Person.create(
            at=T0,
            last_name="Petit",
            roles=(
                OrganizationRole(organization_id=acme.id, is_primary=True),
                OrganizationRole(organization_id=acme_sa.id),
            ),
        ),
        "subsidiary": Organization.create(
            at=T0, name="Acme Lyon", parent_id=acme_sa.id
        ),
    }
    with database.unit_of_work() as uow:
        for record in r.values():
            uow.repository(type(record)).add(record)
        uow.activities.delete(r["archived_call"].id, at=T0)
        uow.commit()
    return r


def _expected(r):
    """Who points to the persons, and to the organisations, by name."""
    persons = {
        "jean": {"call", "ticket", "knows", "lead"},
        "twin": {"deal", "known", "order"},
    }
    organizations = {
        "acme": {"call", "org_ticket", "org_order", "employee"},
        "acme_sa": {"deal", "org_ticket", "knows", "lead", "employee", "subsidiary"},
    }
    return {
        kind: {
            r[target].id: {(type(r[n]), r[n].id) for n in names}
            for target, names in by_target.items()
        }
        for kind, by_target in ((PERSON, persons), (ORG, organizations))
    }


def _ids(r, *names):
    return [r[n].id for n in names]


@pytest.mark.parametrize("kind", [PERSON, ORG])
def test_queries_find_every_record_pointing_to_the_merged_ones(database, kind):
    """Each field that can point to a party is queried; archived records are not."""
    r = _web(database)
    ids = _ids(r, "jean", "twin") if kind == PERSON else _ids(r, "acme", "acme_sa")
    with database.unit_of_work(readonly=True) as uow:
        queried = links.query_links(uow, kind, ids)
        scanned = links.scan_links(uow, kind, ids)
    assert _expected(r)[kind] == queried
    assert scanned == queried


def test_every_field_the_merge_repoints_is_queried():
    """Each type and field a merge re-points has a query that finds it."""
    for kind, linking in links._LINKING.items():
        assert set(linking) == {cls for cls, _ in links._REFERENCES[kind]}


class _Watched:
    """A unit of work whose repositories note every condition they are read with."""

    def __init__(self, uow, reads):
        self._uow, self._reads = uow, reads

    def __getattr__(self, name):
        return getattr(self._uow, name)

    def repository(self, cls):
        return _WatchedRepository(self._uow.repository(cls), cls, self._reads)


class _WatchedRepository:
    def __init__(self, repository, cls, reads):
        self._repository, self._cls, self._reads = repository, cls, reads

    def __getattr__(self, name):
        return getattr(self._repository, name)

    def batches(self, **options):
        self._reads.append((self._cls, options.get("where")))
        return self._repository.batches(**options)

    def find(self, **options):
        self._reads.append((self._cls, options.get("where")))
        return self._repository.find(**options)


@pytest.mark.parametrize("kind", [PERSON, ORG])
def test_one_merge_reads_no_linking_table_whole(database, kind):
    """Every read of a linking table has a condition on a referring field."""
    r = _web(database)
    ids = _ids(r, "jean", "twin") if kind == PERSON else _ids(r, "acme", "acme_sa")
    entity_type = "person" if kind == PERSON else "organization"
    reads = []
    with database.unit_of_work() as uow:
        record = merge(_Watched(uow, reads), ids, entity_type=entity_type, at=T0 + DAY)
        uow.commit()
    assert reads
    assert all(where for _, where in reads)
    fields = {(cls, field) for cls, where in reads for field in where}
    assert set(links._REFERENCES[kind]) == fields
    relinked = {c.entity_id for c in record.changes if c.role == "linked"}
    survivor = record.survivor_id
    expected = _expected(r)[kind]
    merged = next(i for i in ids if i != survivor)
    assert {entity_id for _, entity_id in expected[merged]} <= relinked


@pytest.mark.parametrize("queried", [True, False])
def test_merge_groups_relinks_the_same_by_queries_or_by_a_scan(
    database, monkeypatch, queried
):
    """Whichever way the links are found, every group's links move the same."""
    monkeypatch.setattr(links, "_queries_cost_less", lambda *_: queried)
    monkeypatch.setattr(links, "_IN_SIZE", 1)  # several in_ queries a field
    scanned = []
    real_scan = links.scan_links
    monkeypatch.setattr(
        links,
        "scan_links",
        lambda *args, **kw: scanned.append(args[2]) or real_scan(*args, **kw),
    )
    r = _web(database)
    groups = [_ids(r, "jean", "twin"), _ids(r, "other", "employee")]
    with database.unit_of_work() as uow:
        done = merge_groups(uow, groups, at=T0 + DAY)
        uow.commit()
    assert queried != bool(scanned)
    jean, other = (plan.survivor.id for plan, _ in done)
    with database.unit_of_work(readonly=True) as uow:
        deal = uow.deals.get(r["deal"].id)
        known = uow.relationships.get(r["known"].id)
        order = uow.orders.get(r["order"].id)
    assert (jean, other) == deal.contact_ids
    assert (other, jean) == (known.source.id, known.target.id)
    assert jean == order.customer.id


def _calls(database, count):
    with database.unit_of_work() as uow:
        uow.activities.add_many(
            [_call(n, Person.create(at=T0, last_name="X")) for n in range(count)]
        )
        uow.commit()


def _choice(database, ids):
    with database.unit_of_work(readonly=True) as uow:
        return links._queries_cost_less(uow, PERSON, ids)


def test_on_sql_queries_are_chosen_while_they_cost_less_than_a_scan(tmp_path):
    """Few records among many stored: queries; many among few: one scan."""
    database = SqlDatabase.sqlite(tmp_path / "crm.db")
    database.upgrade(at=T0)
    try:
        empty = _choice(database, 2)
        _calls(database, 100)
        # 2 records: 2 contains queries per list field, one in_ per other field
        few = _choice(database, 2)
        many = _choice(database, 40)
    finally:
        database.dispose()
    assert (False, True, False) == (empty, few, many)


def test_in_memory_a_few_records_are_queried_and_more_scanned():
    """The in-memory adapter reads the table at each query: past a few, it scans."""
    database = MemoryDatabase()
    _calls(database, 100)
    at_most = links.MEMORY_QUERY_AT_MOST
    assert (True, False) == (
        _choice(database, at_most),
        _choice(database, at_most + 1),
    )


def test_links_of_many_records_are_found_in_chunks(database, monkeypatch):
    """More ids than one in_ condition takes: each chunk is queried."""
    monkeypatch.setattr(links, "_IN_SIZE", 2)
    people = [Person.create(at=T0, last_name=f"P{n}") for n in range(7)]
    orders = [
        Order.create(
            at=T0,
            number=f"O-{n}",
            customer=_ref(person),
            ordered_at=T0,
            currency="EUR",
        )
        for n, person in enumerate(people)
    ]
    with database.unit_of_work() as uow:
        uow.people.add_many(people)
        uow.orders.add_many(orders)
        uow.commit()
    with database.unit_of_work(readonly=True) as uow:
        index = links.query_links(uow, PERSON, [p.id for p in people])
    expected: dict[UUID, set] = {
        p.id: {(Order, o.id)} for p, o in zip(people, orders, strict=True)
    }
    assert expected == index
