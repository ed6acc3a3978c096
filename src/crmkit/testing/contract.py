"""
The storage contract: one test suite that every crmkit storage adapter must pass.

`RepositoryContract` is a base test class for pytest.
crmkit runs it against its in-memory, SQLite and PostgreSQL adapters,
so the in-memory fake is proven to behave like the real databases;
run it against your own implementation of `crmkit.repositories.Database`
to check that yours does too.

Subclass it in a test module (the subclass's name must start with ``Test``)
and give the subclass a ``make_database`` fixture that returns a `DatabaseFactory`:
a callable that returns a fresh, empty database, ready to use, each time it is called::

    import pytest
    from crmkit.repositories.memory import MemoryDatabase
    from crmkit.testing.contract import RepositoryContract


    class TestMemory(RepositoryContract):
        @pytest.fixture
        def make_database(self):
            def make(*, history=None, schemas=None):
                return MemoryDatabase(history=history)

            return make

The factory takes two keyword arguments and must pass them on to the database.
``history`` is a `crmkit.repositories.HistoryPolicy`, or `None` to track every field.
``schemas`` maps entity classes to custom field schemas, or is `None`;
a database that stores entities as data needs it to give custom values their types
back (``SqlDatabase(engine, schemas=schemas)``),
and one that keeps the entity objects, as `MemoryDatabase` does, may ignore it.
Each test calls the factory at most once,
so a factory may empty and reuse one database (crmkit's PostgreSQL run does),
and the fixture may ``yield`` the factory to clean up afterwards.
The contract's own ``database`` fixture is ``make_database()``.
Without a ``make_database`` fixture, pytest reports
``fixture 'make_database' not found`` for every test.
For pytest's detailed assertion messages inside the contract, add
``pytest.register_assert_rewrite("crmkit.testing.contract")`` to a ``conftest.py``.

Beyond the docstrings of `crmkit.repositories.Repository`, the contract holds an
adapter to these rules:

- empty (`None`) values match only `is_null`, never `ne` nor a comparison;
- empty values sort last ascending, first descending;
- text compares and sorts by code point, like Python's `str`,
  whatever the database's collation;
- whole numbers are stored in 64 bits;
- every problem of a query comes in one `crmkit.errors.ValidationError`,
  including values no database can hold (text with NUL, a NaN decimal);
- SQL in filter values, field names, sort keys and cursors is data or refused;
- `crmkit.repositories.contains` finds the entities whose field holding several
  ids (an activity's ``lead_ids``, ``party_ids``...) holds one, staged writes
  included, and only `contains` applies to such a field;
- a write from a stale version raises `crmkit.errors.ConcurrencyError`;
- ``uow.merges`` (a `crmkit.repositories.MergeLog`) keeps merge records in the
  unit's transaction, so that `crmkit.dedup.merge` and `crmkit.dedup.unmerge`
  work on the adapter (the contract merges and unmerges stored records).

Requires pytest and hypothesis (``pip install 'crmkit[testing]'``).

.. versionadded:: 0.1
"""

from __future__ import annotations

import base64
import functools
import json
from collections.abc import Mapping, Sequence
from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal
from typing import Any, Final, Protocol, TypeVar
from uuid import UUID

import attrs

try:
    import pytest
    from hypothesis import HealthCheck, given, settings
    from hypothesis import strategies as st
except ImportError as error:  # pragma: no cover - depends on the installation
    msg = (
        "crmkit.testing.contract needs pytest and hypothesis: "
        "pip install 'crmkit[testing]'"
    )
    raise ImportError(msg) from error

from crmkit.errors import (
    AlreadyExists,
    ConcurrencyError,
    NotFound,
    StorageError,
    ValidationError,
)
from crmkit.ids import UserId
from crmkit.model import (
    CustomField,
    Deal,
    DealStatus,
    Entity,
    EntitySchema,
    Lead,
    Organization,
    Person,
)
from crmkit.repositories import (
    Condition,
    Database,
    HistoryPolicy,
    Repository,
    UnitOfWork,
    eq,
    gt,
    gte,
    in_,
    is_null,
    lt,
    lte,
    ne,
)
from crmkit.testing._links_contract import LinkedFieldsContract
from crmkit.testing._merge_contract import MergeLogContract
from crmkit.testing._stage_contract import StageHistoryContract
from crmkit.values import EmailAddress, Money, PhoneNumber, Url

__all__ = ["DatabaseFactory", "RepositoryContract"]

_E = TypeVar("_E", bound=Entity)

_T0: Final = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
_ACTOR: Final = UserId(UUID("00000000-0000-4000-8000-00000000a11c"))

_MINIMAL: Final[dict[type[Entity], dict[str, Any]]] = {
    Person: {"first_name": "Jean"},
    Organization: {"name": "Acme"},
    Deal: {"name": "Renewal", "pipeline": "sales", "stage": "qualify"},
    Lead: {"company_name": "Globex"},
}
"""Just enough fields to build a valid entity of each type the contract stores."""

_EDITABLE: Final[dict[type[Entity], tuple[str, str]]] = {
    Person: ("job_title", "Buyer"),
    Organization: ("industry", "Retail"),
    Deal: ("stage", "proposal"),
    Lead: ("company_name", "Initech"),
}
"""A queryable text field of each type, and a value to change it to."""

_KINDS: Final = tuple(_MINIMAL)

_MAX_PAGES: Final = 1000
"""More pages than any contract test makes: a sign that pagination loops."""

_REPOSITORY_ATTRIBUTES: Final = (
    "people",
    "organizations",
    "relationships",
    "leads",
    "deals",
    "activities",
    "tickets",
    "orders",
    "products",
    "users",
    "teams",
    "campaigns",
)

_INJECTIONS: Final = (
    "Robert'); DROP TABLE person; --",
    "' OR '1'='1",
    '" OR ""="',
    "x' UNION SELECT data FROM organization --",
    "%",
    "_",
    "\\",
    "1; DELETE FROM outbox",
)
"""Strings that would change a query if anything pasted them into SQL."""


def _custom_field(name: str, kind: str, *choices: str) -> CustomField:
    # Keyword unpacking, because mypy cannot see through the converter=tuple of
    # CustomField.choices and EntitySchema.custom_fields.
    options: dict[str, Any] = {"choices": choices} if choices else {}
    return CustomField(name=name, type=kind, **options)


def _entity_schema(*fields: CustomField) -> EntitySchema:
    options: dict[str, Any] = {"custom_fields": fields}
    return EntitySchema(**options)


_SCHEMA: Final = _entity_schema(
    _custom_field("notes", "text"),
    _custom_field("seats", "integer"),
    _custom_field("revenue", "decimal"),
    _custom_field("vip", "bool"),
    _custom_field("signed_on", "date"),
    _custom_field("renewal_at", "datetime"),
    _custom_field("segment", "choice", "smb", "enterprise"),
    _custom_field("channels", "multi_choice", "email", "phone", "mail"),
    _custom_field("budget", "money"),
    _custom_field("assistant_email", "email"),
    _custom_field("assistant_phone", "phone"),
    _custom_field("homepage", "url"),
)

_CUSTOM: Final[dict[str, Any]] = {
    "notes": "Met at the Lyon fair",
    "seats": 40,
    "revenue": Decimal("1250000.50"),
    "vip": True,
    "signed_on": date(2026, 2, 27),
    "renewal_at": datetime(2027, 2, 27, 17, 30, tzinfo=timezone(timedelta(hours=1))),
    "segment": "enterprise",
    "channels": ("email", "phone"),
    "budget": Money(Decimal("9900.00"), "EUR"),
    "assistant_email": EmailAddress("Claire.Martin@Exemple.FR"),
    "assistant_phone": PhoneNumber("+33612345678"),
    "homepage": Url("https://exemple.fr/acme"),
}


class DatabaseFactory(Protocol):
    """
    What a ``make_database`` fixture returns: a maker of fresh, empty databases.

    .. versionadded:: 0.1
    """

    def __call__(
        self,
        *,
        history: HistoryPolicy | None = None,
        schemas: Mapping[type[Entity], EntitySchema] | None = None,
    ) -> Database:
        """
        Return an empty database, ready to use, configured with these options.

        Args:
            history: Which fields' changes to record; `None` records every field.
            schemas: Custom field schemas by entity class, for typed custom values.
        """
        ...


class _HalfwayError(Exception):
    """An application error in the middle of a unit of work."""


@attrs.frozen(kw_only=True)
class _CallLogged:
    """A domain event of the application's own, for the outbox tests."""

    entity_type: str
    entity_id: UUID
    at: datetime
    minutes: int
    note: str


def _at(seconds: float = 0) -> datetime:
    return _T0 + timedelta(seconds=seconds)


def _build(cls: type[_E], *, at: datetime = _T0, **fields: Any) -> _E:
    return cls.create(at=at, **{**_MINIMAL[cls], **fields})


def _changed(entity: _E, changes: Mapping[str, Any], *, later: float = 60) -> _E:
    return entity.update(changes, at=entity.updated_at + timedelta(seconds=later))[0]


def _store(database: Database, *entities: Entity) -> None:
    with database.unit_of_work() as uow:
        for entity in entities:
            uow.repository(type(entity)).add(entity)
        uow.commit()


def _ids(entities: Sequence[Entity]) -> list[UUID]:
    return [entity.id for entity in entities]


def _cursor(values: object) -> str:
    """A cursor crafted by hand, in the format crmkit's adapters use."""
    text = json.dumps(values, separators=(",", ":"))
    return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")


def _all_pages(
    repository: Repository[_E],
    *,
    order_by: str | Sequence[str],
    limit: int,
    where: Mapping[str, Any] | None = None,
) -> list[list[UUID]]:
    pages: list[list[UUID]] = []
    cursor: str | None = None
    while True:
        page = repository.find(
            where=where, order_by=order_by, limit=limit, after=cursor
        )
        pages.append(_ids(page.items))
        if page.next_cursor is None:
            return pages
        cursor = page.next_cursor
        if len(pages) > _MAX_PAGES:  # pragma: no cover - only a broken adapter loops
            pytest.fail("pagination does not end")


def _cursor_id(cursor: str) -> str:
    """A readable test id: what the cursor holds."""
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        return base64.urlsafe_b64decode(padded).decode()[:40] or repr(cursor)
    except ValueError:
        return repr(cursor)


def _flat(pages: list[list[UUID]]) -> list[UUID]:
    return [entity_id for page in pages for entity_id in page]


def _sorted_by(entities: Sequence[Entity], order_by: Sequence[str]) -> list[Entity]:
    """Sort as the contract says: by each key, empty values last ascending."""

    def compare(left: Entity, right: Entity) -> int:
        for key in order_by:
            field = key.removeprefix("-")
            a, b = _value(left, field), _value(right, field)
            if a == b:
                continue
            result = 1 if a is None else -1 if b is None else -1 if a < b else 1
            return -result if key.startswith("-") else result
        return 0

    return sorted(entities, key=functools.cmp_to_key(compare))


def _value(entity: Entity, field: str) -> Any:
    if field == "amount":
        amount = getattr(entity, "amount", None)
        return None if amount is None else amount.amount
    return getattr(entity, field)


def _event_types(uow: UnitOfWork) -> list[tuple[str, UUID | None]]:
    return [(m.event_type, m.entity_id) for m in uow.pending_messages()]


_OPERATOR_CASES: Final[list[tuple[type[Entity], str, list[Any], Any, list[int]]]] = [
    # (type, field, stored values, condition, indexes of the values that match)
    (Organization, "employees", [None, 5, 10, 50], 10, [2]),
    (Organization, "employees", [None, 5, 10, 50], eq(10), [2]),
    (Organization, "employees", [None, 5, 10, 50], ne(10), [1, 3]),
    (Organization, "employees", [None, 5, 10, 50], lt(10), [1]),
    (Organization, "employees", [None, 5, 10, 50], lte(10), [1, 2]),
    (Organization, "employees", [None, 5, 10, 50], gt(10), [3]),
    (Organization, "employees", [None, 5, 10, 50], gte(10), [2, 3]),
    (Organization, "employees", [None, 5, 10, 50], in_([5, 50, 99]), [1, 3]),
    (Organization, "employees", [None, 5, 10, 50], in_([]), []),
    (Organization, "employees", [None, 5, 10, 50], is_null(), [0]),
    (Organization, "employees", [None, 5, 10, 50], is_null(null=False), [1, 2, 3]),
    (Person, "last_name", [None, "Martin", "martin", "Zola"], "Martin", [1]),
    (Person, "last_name", [None, "Martin", "martin", "Zola"], ne("Martin"), [2, 3]),
    (Person, "last_name", [None, "Martin", "martin", "Zola"], lt("N"), [1]),
    (Person, "last_name", [None, "Martin", "martin", "Zola"], gte("Z"), [2, 3]),
    (Person, "last_name", [None, "Martin", "Mar%", "Zola"], eq("Mar%"), [2]),
    (Person, "last_name", [None, "Martin", "M_rtin", "Zola"], eq("M_rtin"), [2]),
    (Lead, "score", [None, 0, 40, 90], lt(50), [1, 2]),
    (Lead, "score", [None, 0, 40, 90], ne(0), [2, 3]),
    (Deal, "amount", [None, "10.50", "99.99", "1000"], gt(Decimal("10.5")), [2, 3]),
    (Deal, "amount", [None, "10.50", "99.99", "1000"], eq(Decimal("99.99")), [2]),
    (
        Deal,
        "expected_close_date",
        [None, date(2026, 1, 31), date(2026, 6, 30), date(2026, 12, 31)],
        lte(date(2026, 6, 30)),
        [1, 2],
    ),
    (
        Deal,
        "expected_close_date",
        [None, date(2026, 1, 31), date(2026, 6, 30), date(2026, 12, 31)],
        ne(date(2026, 6, 30)),
        [1, 3],
    ),
    (
        Deal,
        "created_at",
        [_at(0), _at(1), _at(2), _at(3)],
        gte(_at(2).astimezone(timezone(timedelta(hours=-5)))),
        [2, 3],
    ),
]


def _with_field(cls: type[_E], field: str, value: Any, index: int) -> _E:
    at = _at(index)
    if field == "created_at":
        return _build(cls, at=value)
    if field == "amount":
        money = None if value is None else Money(Decimal(value), "EUR")
        return _build(cls, at=at, amount=money)
    return _build(cls, at=at, **{field: value})


def _people_rows() -> st.SearchStrategy[
    list[tuple[UUID, str, str | None, str | None, int]]
]:
    names = st.sampled_from(["a", "B", "b", "é", "a b", "ab", "Z", "' OR 1=1 --"])
    return st.lists(
        st.tuples(
            st.uuids(), names, st.none() | names, st.none() | names, st.integers(0, 3)
        ),
        max_size=20,
        unique_by=lambda row: row[0],
    )


def _sorts() -> st.SearchStrategy[list[str]]:
    fields = ("first_name", "last_name", "job_title", "created_at", "id")
    keys = st.lists(
        st.tuples(st.sampled_from(fields), st.booleans()),
        min_size=1,
        max_size=3,
        unique_by=lambda key: key[0],
    )
    return keys.map(lambda ks: [("-" if desc else "") + name for name, desc in ks])


class RepositoryContract(LinkedFieldsContract, MergeLogContract, StageHistoryContract):
    """
    The behaviour every `crmkit.repositories.Database` must have, as pytest tests.

    Subclass it (as ``TestSomething``) and define a ``make_database`` fixture that
    returns a `DatabaseFactory`; see this module's docstring for an example.

    .. versionadded:: 0.1
    """

    @pytest.fixture
    def database(self, make_database: DatabaseFactory) -> Database:
        """Return a fresh, empty database made by the subclass's factory."""
        return make_database()

    # Adding and getting -------------------------------------------------------

    @pytest.mark.parametrize("cls", _KINDS)
    def test_added_entity_comes_back_equal(
        self, database: Database, cls: type[Entity]
    ) -> None:
        """An added and committed entity is read back equal, in a new unit."""
        entity = _build(cls)
        _store(database, entity)
        with database.unit_of_work() as uow:
            assert entity == uow.repository(cls).get(entity.id)

    @pytest.mark.parametrize("cls", _KINDS)
    def test_get_of_an_unknown_id_raises_not_found(
        self, database: Database, cls: type[Entity]
    ) -> None:
        """Getting an id nobody stored raises NotFound naming the type and id."""
        missing = _build(cls).id
        with database.unit_of_work() as uow, pytest.raises(NotFound) as caught:
            uow.repository(cls).get(missing)
        assert (cls.entity_type, missing) == (
            caught.value.entity_type,
            caught.value.entity_id,
        )

    @pytest.mark.parametrize("cls", _KINDS)
    def test_get_many_returns_entities_in_the_order_asked(
        self, database: Database, cls: type[Entity]
    ) -> None:
        """get_many returns the entities in the order of the ids given."""
        entities = [_build(cls, at=_at(n)) for n in range(4)]
        _store(database, *entities)
        wanted = [entities[2], entities[0], entities[3]]
        with database.unit_of_work() as uow:
            assert wanted == uow.repository(cls).get_many(_ids(wanted))

    @pytest.mark.parametrize("cls", _KINDS)
    def test_get_many_names_every_missing_id(
        self, database: Database, cls: type[Entity]
    ) -> None:
        """get_many raises NotFound whose message names each id that is missing."""
        stored = _build(cls)
        _store(database, stored)
        missing = [_build(cls, at=_at(1)).id, _build(cls, at=_at(2)).id]
        with database.unit_of_work() as uow, pytest.raises(NotFound) as caught:
            uow.repository(cls).get_many([missing[0], stored.id, missing[1]])
        assert [True, True, False] == [
            str(i) in str(caught.value) for i in [*missing, stored.id]
        ]

    def test_get_many_of_no_ids_is_empty(self, database: Database) -> None:
        """get_many of nothing returns an empty list."""
        with database.unit_of_work() as uow:
            assert [] == uow.people.get_many([])

    @pytest.mark.parametrize("cls", _KINDS)
    def test_adding_a_stored_id_again_raises_already_exists(
        self, database: Database, cls: type[Entity]
    ) -> None:
        """A second add of the same id raises AlreadyExists, keeping the first."""
        entity = _build(cls)
        _store(database, entity)
        field, value = _EDITABLE[cls]
        changes: dict[str, Any] = {field: value}
        twin = attrs.evolve(entity, **changes)
        with database.unit_of_work() as uow:
            with pytest.raises(AlreadyExists) as caught:
                uow.repository(cls).add(twin)
            assert (cls.entity_type, entity) == (
                caught.value.entity_type,
                uow.repository(cls).get(entity.id),
            )

    def test_adding_an_id_twice_in_one_unit_raises_already_exists(
        self, database: Database
    ) -> None:
        """The id check sees the unit's own uncommitted additions."""
        person = _build(Person)
        with database.unit_of_work() as uow:
            uow.people.add(person)
            with pytest.raises(AlreadyExists):
                uow.people.add(person)
            assert 1 == uow.people.count()

    @pytest.mark.parametrize("cls", [Person, Organization])
    def test_a_taken_external_id_raises_already_exists(
        self, database: Database, cls: type[Entity]
    ) -> None:
        """Adding an entity with another's external id raises AlreadyExists."""
        first = _build(cls, external_ids={"hubspot": "501"})
        _store(database, first)
        second = _build(cls, at=_at(1), external_ids={"hubspot": "501"})
        with database.unit_of_work() as uow:
            with pytest.raises(AlreadyExists) as caught:
                uow.repository(cls).add(second)
            assert ("501", 1) == (caught.value.value, uow.repository(cls).count())

    def test_an_update_taking_an_external_id_raises_already_exists(
        self, database: Database
    ) -> None:
        """Updating an entity to another's external id raises AlreadyExists."""
        first = _build(Person, external_ids={"hubspot": "501"})
        second = _build(Person, at=_at(1), external_ids={"hubspot": "502"})
        _store(database, first, second)
        with database.unit_of_work() as uow, pytest.raises(AlreadyExists):
            uow.people.update(_changed(second, {"external_ids": {"hubspot": "501"}}))

    def test_external_ids_are_unique_per_type_and_system_only(
        self, database: Database
    ) -> None:
        """The same external id may name a person, an organisation, and elsewhere."""
        person = _build(Person, external_ids={"hubspot": "7"})
        organization = _build(Organization, external_ids={"hubspot": "7"})
        other = _build(Person, at=_at(1), external_ids={"salesforce": "7"})
        _store(database, person, organization, other)
        with database.unit_of_work() as uow:
            assert (2, 1) == (uow.people.count(), uow.organizations.count())

    def test_a_repository_refuses_another_type(self, database: Database) -> None:
        """Adding an organisation to the people raises ValidationError."""
        with database.unit_of_work() as uow, pytest.raises(ValidationError):
            uow.people.add(_build(Organization))  # type: ignore[arg-type]

    def test_every_entity_type_has_a_repository(self, database: Database) -> None:
        """Each repository attribute of a unit of work works and starts empty."""
        with database.unit_of_work() as uow:
            counts = [getattr(uow, name).count() for name in _REPOSITORY_ATTRIBUTES]
        assert [0] * len(_REPOSITORY_ATTRIBUTES) == counts

    def test_attributes_and_repository_reach_the_same_store(
        self, database: Database
    ) -> None:
        """uow.people and uow.repository(Person) see the same entities."""
        person = _build(Person)
        with database.unit_of_work() as uow:
            uow.people.add(person)
            assert person == uow.repository(Person).get(person.id)

    def test_repository_of_a_non_entity_raises_validation_error(
        self, database: Database
    ) -> None:
        """Asking for the repository of a class that is not stored is refused."""
        with database.unit_of_work() as uow, pytest.raises(ValidationError):
            uow.repository(EmailAddress)  # type: ignore[type-var]

    # Updating -----------------------------------------------------------------

    @pytest.mark.parametrize("cls", _KINDS)
    def test_update_stores_the_new_version(
        self, database: Database, cls: type[Entity]
    ) -> None:
        """An update replaces the stored entity with its next version."""
        entity = _build(cls)
        _store(database, entity)
        field, value = _EDITABLE[cls]
        new = _changed(entity, {field: value})
        with database.unit_of_work() as uow:
            uow.repository(cls).update(new, actor=_ACTOR)
            uow.commit()
        with database.unit_of_work() as uow:
            stored = uow.repository(cls).get(entity.id)
        assert (new, 2, value) == (stored, stored.version, getattr(stored, field))

    @pytest.mark.parametrize("cls", _KINDS)
    def test_update_from_a_stale_version_raises_concurrency_error(
        self, database: Database, cls: type[Entity]
    ) -> None:
        """Two edits of version 1: the second one raises ConcurrencyError."""
        entity = _build(cls)
        _store(database, entity)
        field, value = _EDITABLE[cls]
        first = _changed(entity, {field: value})
        second = _changed(entity, {field: value + " bis"})
        with database.unit_of_work() as uow:
            uow.repository(cls).update(first)
            uow.commit()
        with database.unit_of_work() as uow:
            with pytest.raises(ConcurrencyError) as caught:
                uow.repository(cls).update(second)
            assert (1, 2, first) == (
                caught.value.expected_version,
                caught.value.actual_version,
                uow.repository(cls).get(entity.id),
            )

    def test_update_skipping_a_version_raises_concurrency_error(
        self, database: Database
    ) -> None:
        """An entity two versions ahead of the stored one is refused."""
        person = _build(Person)
        _store(database, person)
        ahead = _changed(_changed(person, {"job_title": "A"}), {"job_title": "B"})
        with database.unit_of_work() as uow, pytest.raises(ConcurrencyError):
            uow.people.update(ahead)

    def test_two_updates_in_one_unit_chain_versions(self, database: Database) -> None:
        """Within a unit, the second update builds on the first one's version."""
        person = _build(Person)
        _store(database, person)
        second = _changed(person, {"job_title": "Buyer"})
        third = _changed(second, {"job_title": "Head buyer"})
        with database.unit_of_work() as uow:
            uow.people.update(second)
            uow.people.update(third)
            uow.commit()
        with database.unit_of_work() as uow:
            assert third == uow.people.get(person.id)

    def test_update_of_an_unknown_entity_raises_not_found(
        self, database: Database
    ) -> None:
        """Updating an entity that was never stored raises NotFound."""
        person = _changed(_build(Person), {"job_title": "Buyer"})
        with database.unit_of_work() as uow, pytest.raises(NotFound):
            uow.people.update(person)

    def test_update_of_an_archived_entity_raises_not_found(
        self, database: Database
    ) -> None:
        """An archived entity cannot be updated until it is restored."""
        person = _build(Person)
        _store(database, person)
        with database.unit_of_work() as uow:
            uow.people.delete(person.id, at=_at(10))
            with pytest.raises(NotFound):
                uow.people.update(_changed(person, {"job_title": "Buyer"}))

    # Archiving, restoring, erasing --------------------------------------------

    @pytest.mark.parametrize("cls", _KINDS)
    def test_delete_archives_the_entity(
        self, database: Database, cls: type[Entity]
    ) -> None:
        """After delete, get raises NotFound; include_archived still returns it."""
        entity = _build(cls)
        _store(database, entity)
        with database.unit_of_work() as uow:
            uow.repository(cls).delete(entity.id, at=_at(10), actor=_ACTOR)
            uow.commit()
        with database.unit_of_work() as uow:
            repository = uow.repository(cls)
            with pytest.raises(NotFound):
                repository.get(entity.id)
            assert entity == repository.get(entity.id, include_archived=True)

    def test_archived_entities_are_left_out_unless_asked(
        self, database: Database
    ) -> None:
        """count, find, batches and get_many skip archived entities by default."""
        kept, archived = _build(Person, at=_at(0)), _build(Person, at=_at(1))
        _store(database, kept, archived)
        with database.unit_of_work() as uow:
            uow.people.delete(archived.id, at=_at(10))
            uow.commit()
        with database.unit_of_work() as uow:
            people = uow.people
            actual = (
                people.count(),
                people.count(include_archived=True),
                _ids(people.find().items),
                _ids(people.find(include_archived=True).items),
                [_ids(b) for b in people.batches()],
                [len(b) for b in people.batches(include_archived=True)],
            )
            with pytest.raises(NotFound):
                people.get_many([kept.id, archived.id])
        expected = (1, 2, [kept.id], [kept.id, archived.id], [[kept.id]], [2])
        assert expected == actual

    @pytest.mark.parametrize("cls", _KINDS)
    def test_restore_brings_an_archived_entity_back(
        self, database: Database, cls: type[Entity]
    ) -> None:
        """A restored entity is found again, unchanged."""
        entity = _build(cls)
        _store(database, entity)
        with database.unit_of_work() as uow:
            uow.repository(cls).delete(entity.id, at=_at(10))
            uow.commit()
        with database.unit_of_work() as uow:
            uow.repository(cls).restore(entity.id, at=_at(20), actor=_ACTOR)
            uow.commit()
        with database.unit_of_work() as uow:
            assert (entity, 1) == (
                uow.repository(cls).get(entity.id),
                uow.repository(cls).count(),
            )

    def test_restore_of_a_live_entity_raises_not_found(
        self, database: Database
    ) -> None:
        """Only an archived entity can be restored."""
        person = _build(Person)
        _store(database, person)
        with database.unit_of_work() as uow, pytest.raises(NotFound):
            uow.people.restore(person.id, at=_at(10))

    def test_delete_of_an_unknown_entity_raises_not_found(
        self, database: Database
    ) -> None:
        """Deleting, softly or not, an id nobody stored raises NotFound."""
        missing = _build(Person).id
        with database.unit_of_work() as uow:
            with pytest.raises(NotFound):
                uow.people.delete(missing, at=_at(10))
            with pytest.raises(NotFound):
                uow.people.delete(missing, at=_at(10), hard=True)

    def test_archiving_twice_raises_not_found(self, database: Database) -> None:
        """An archived entity is gone for a second soft delete."""
        person = _build(Person)
        _store(database, person)
        with database.unit_of_work() as uow:
            uow.people.delete(person.id, at=_at(10))
            with pytest.raises(NotFound):
                uow.people.delete(person.id, at=_at(20))

    def test_delete_and_restore_need_an_aware_time(self, database: Database) -> None:
        """A naive ``at`` is refused, and nothing changes."""
        person = _build(Person)
        _store(database, person)
        naive = datetime(2026, 3, 2, 10, 0)  # noqa: DTZ001 - naive on purpose
        with database.unit_of_work() as uow:
            with pytest.raises(ValidationError):
                uow.people.delete(person.id, at=naive)
            with pytest.raises(ValidationError):
                uow.people.delete(person.id, at=naive, hard=True)
            uow.people.delete(person.id, at=_at(10))
            with pytest.raises(ValidationError):
                uow.people.restore(person.id, at=naive)
            with pytest.raises(ValidationError):
                uow.mark_published([1], at=naive)
            assert (0, 1) == (
                uow.people.count(),
                uow.people.count(include_archived=True),
            )

    @pytest.mark.parametrize("archived_first", [False, True])
    def test_hard_delete_erases_the_entity(
        self, database: Database, archived_first: bool
    ) -> None:
        """After a hard delete, nothing finds the entity, even with include_archived."""
        person = _build(
            Person, emails=[EmailAddress("jean@exemple.fr")], external_ids={"crm": "1"}
        )
        _store(database, person)
        with database.unit_of_work() as uow:
            if archived_first:
                uow.people.delete(person.id, at=_at(5))
            uow.people.delete(person.id, at=_at(10), hard=True)
            uow.commit()
        with database.unit_of_work() as uow:
            people = uow.people
            with pytest.raises(NotFound):
                people.get(person.id, include_archived=True)
            actual = (
                people.count(include_archived=True),
                people.find_by_email("jean@exemple.fr"),
                people.find_by_external_id("crm", "1"),
            )
        assert (0, [], None) == actual

    def test_hard_delete_frees_the_id_and_external_ids(
        self, database: Database
    ) -> None:
        """An erased entity's id and external ids can be used again."""
        person = _build(Person, external_ids={"crm": "1"})
        _store(database, person)
        with database.unit_of_work() as uow:
            uow.people.delete(person.id, at=_at(10), hard=True)
            uow.commit()
        again = _build(Person, id=person.id, external_ids={"crm": "1"}, last_name="B")
        _store(database, again)
        with database.unit_of_work() as uow:
            assert again == uow.people.find_by_external_id("crm", "1")

    def test_an_archived_entity_keeps_its_id_taken(self, database: Database) -> None:
        """Adding an archived entity's id again raises AlreadyExists."""
        person = _build(Person)
        _store(database, person)
        with database.unit_of_work() as uow:
            uow.people.delete(person.id, at=_at(10))
            with pytest.raises(AlreadyExists):
                uow.people.add(person)

    # Finding ------------------------------------------------------------------

    @pytest.mark.parametrize(
        ("cls", "field", "values", "condition", "matching"), _OPERATOR_CASES
    )
    def test_find_with_each_operator(
        self,
        database: Database,
        *,
        cls: type[Entity],
        field: str,
        values: list[Any],
        condition: Any,
        matching: list[int],
    ) -> None:
        """Each operator matches what it says; empty values only match is_null."""
        entities = [_with_field(cls, field, v, i) for i, v in enumerate(values)]
        _store(database, *entities)
        with database.unit_of_work() as uow:
            page = uow.repository(cls).find(where={field: condition}, order_by="id")
            count = uow.repository(cls).count(where={field: condition})
        expected = sorted(entities[i].id for i in matching)
        assert (expected, len(expected)) == (_ids(page.items), count)

    def test_find_requires_every_condition(self, database: Database) -> None:
        """Conditions on several fields must all hold."""
        people = [
            _build(Person, at=_at(0), last_name="Martin", job_title="Buyer"),
            _build(Person, at=_at(1), last_name="Martin", job_title=None),
            _build(Person, at=_at(2), last_name="Zola", job_title="Buyer"),
        ]
        _store(database, *people)
        with database.unit_of_work() as uow:
            page = uow.people.find(where={"last_name": "Martin", "job_title": "Buyer"})
        assert [people[0].id] == _ids(page.items)

    def test_find_accepts_ids_and_enums_as_text(self, database: Database) -> None:
        """An id may be given as text, an enum member or its value."""
        deals = [
            _build(Deal, at=_at(0)),
            _build(Deal, at=_at(1), status=DealStatus.WON, closed_at=_at(5)),
        ]
        _store(database, *deals)
        with database.unit_of_work() as uow:
            actual = [
                _ids(uow.deals.find(where={"id": str(deals[1].id)}).items),
                _ids(uow.deals.find(where={"status": DealStatus.WON}).items),
                _ids(uow.deals.find(where={"status": "won"}).items),
                _ids(uow.deals.find(where={"closed_at": is_null()}).items),
            ]
        assert [[deals[1].id]] * 3 + [[deals[0].id]] == actual

    def test_find_on_a_derived_field(self, database: Database) -> None:
        """Queryable values derived from the entity (a deal's currency) are found."""
        deals = [
            _build(Deal, at=_at(0), amount=Money(Decimal(5), "EUR")),
            _build(Deal, at=_at(1), amount=Money(Decimal(5), "USD")),
            _build(Deal, at=_at(2)),
        ]
        _store(database, *deals)
        with database.unit_of_work() as uow:
            page = uow.deals.find(where={"currency": ne("EUR")})
        assert [deals[1].id] == _ids(page.items)

    # Sorting ------------------------------------------------------------------

    @pytest.mark.parametrize(
        ("order_by", "expected"),
        [
            ("last_name", ["Adam", "Zola", None]),
            ("-last_name", [None, "Zola", "Adam"]),
        ],
    )
    def test_empty_values_sort_last_ascending_and_first_descending(
        self, database: Database, order_by: str, expected: list[str | None]
    ) -> None:
        """An empty value sorts after every value, so first when descending."""
        people = [
            _build(Person, at=_at(0), last_name="Zola"),
            _build(Person, at=_at(1), last_name=None),
            _build(Person, at=_at(2), last_name="Adam"),
        ]
        _store(database, *people)
        with database.unit_of_work() as uow:
            page = uow.people.find(order_by=order_by)
        assert expected == [p.last_name for p in page.items]

    @pytest.mark.parametrize(
        ("cls", "order_by"),
        [
            (Lead, "score"),
            (Lead, "-score"),
            (Deal, "amount"),
            (Deal, "-amount"),
            (Deal, "expected_close_date"),
            (Deal, "-closed_at"),
            (Organization, "employees"),
        ],
    )
    def test_empty_values_sort_the_same_for_every_type(
        self, database: Database, cls: type[Entity], order_by: str
    ) -> None:
        """Numbers, amounts, dates and times sort with empty values at the end."""
        entities = _sortable(cls)
        _store(database, *entities)
        with database.unit_of_work() as uow:
            page = uow.repository(cls).find(order_by=order_by)
        field = order_by.removeprefix("-")
        expected = [_value(e, field) for e in _sorted_by(entities, [order_by])]
        assert expected == [_value(e, field) for e in page.items]

    def test_sort_on_several_keys(self, database: Database) -> None:
        """Later keys order the ties of earlier ones, each in its own direction."""
        people = [
            _build(Person, at=_at(0), last_name="Martin", first_name="Anne"),
            _build(Person, at=_at(1), last_name="Adam", first_name="Zoe"),
            _build(Person, at=_at(2), last_name="Martin", first_name="Zoe"),
            _build(Person, at=_at(3), last_name="Adam", first_name="Anne"),
        ]
        _store(database, *people)
        with database.unit_of_work() as uow:
            page = uow.people.find(order_by=["-last_name", "first_name"])
        assert _ids([people[0], people[2], people[3], people[1]]) == _ids(page.items)

    def test_default_sort_is_creation_time(self, database: Database) -> None:
        """Without order_by, entities come oldest first."""
        people = [_build(Person, at=_at(n)) for n in (2, 0, 1)]
        _store(database, *people)
        with database.unit_of_work() as uow:
            page = uow.people.find()
        assert _ids([people[1], people[2], people[0]]) == _ids(page.items)

    def test_text_compares_and_sorts_by_code_point(self, database: Database) -> None:
        """Text order is Python's, whatever the database collation: B < a < b < é."""
        names = ["é", "b", "B", "a", "ab", "a b", "Z"]
        people = [_build(Person, at=_at(n), last_name=v) for n, v in enumerate(names)]
        _store(database, *people)
        with database.unit_of_work() as uow:
            ordered = [p.last_name for p in uow.people.find(order_by="last_name").items]
            below = uow.people.find(where={"last_name": lt("a")}, order_by="last_name")
        assert (sorted(names), ["B", "Z"]) == (
            ordered,
            [p.last_name for p in below.items],
        )

    # Pagination ---------------------------------------------------------------

    @pytest.mark.parametrize("limit", [1, 3])
    @pytest.mark.parametrize(
        ("cls", "order_by"),
        [
            (Person, "created_at"),
            (Person, "-last_name"),
            (Person, ["job_title", "-created_at"]),
            (Deal, "amount"),
            (Deal, ["-expected_close_date", "amount"]),
            (Deal, ["status", "-closed_at"]),
            (Deal, "-id"),
            (Lead, ["-score", "created_at"]),
            (Organization, ["employees", "-name"]),
        ],
    )
    def test_pages_go_through_everything_once_in_order(
        self,
        database: Database,
        cls: type[Entity],
        order_by: str | list[str],
        limit: int,
    ) -> None:
        """Following cursors yields every entity once, in the order of the sort."""
        entities = _sortable(cls)
        _store(database, *entities)
        keys = [order_by] if isinstance(order_by, str) else order_by
        with database.unit_of_work() as uow:
            repository = uow.repository(cls)
            pages = _all_pages(repository, order_by=order_by, limit=limit)
            whole = _ids(repository.find(order_by=order_by, limit=100).items)
        assert _page_facts(entities, whole, keys, limit) == _page_facts(
            entities, _flat(pages), keys, limit, pages
        )

    @given(rows=_people_rows(), order_by=_sorts(), limit=st.integers(1, 7))
    @settings(
        max_examples=min(settings().max_examples, 25),
        deadline=None,
        # One database serves every example: each works in a unit it rolls back.
        # Each subclass runs this same method on its own kind of database.
        suppress_health_check=[
            HealthCheck.function_scoped_fixture,
            HealthCheck.differing_executors,
        ],
    )
    def test_pagination_property(
        self,
        database: Database,
        rows: list[tuple[UUID, str, str | None, str | None, int]],
        order_by: list[str],
        limit: int,
    ) -> None:
        """For any people and sort, the pages concatenate to the one-page result."""
        people = [
            Person.create(
                at=_at(seconds),
                id=entity_id,
                first_name=first,
                last_name=last,
                job_title=title,
            )
            for entity_id, first, last, title, seconds in rows
        ]
        with database.unit_of_work() as uow:
            for person in people:
                uow.people.add(person)
            pages = _all_pages(uow.people, order_by=order_by, limit=limit)
            whole = _ids(uow.people.find(order_by=order_by, limit=100).items)
        assert _page_facts(people, whole, order_by, limit) == _page_facts(
            people, _flat(pages), order_by, limit, pages
        )

    def test_the_last_page_has_no_cursor(self, database: Database) -> None:
        """A page that reaches the end has no next cursor, even when it is full."""
        _store(database, *[_build(Person, at=_at(n)) for n in range(4)])
        with database.unit_of_work() as uow:
            pages = _all_pages(uow.people, order_by="created_at", limit=2)
            empty = uow.people.find(where={"last_name": "nobody"})
        assert ([2, 2], (), None) == (
            [len(p) for p in pages],
            empty.items,
            empty.next_cursor,
        )

    def test_a_cursor_survives_the_removal_of_its_entity(
        self, database: Database
    ) -> None:
        """Archiving the last entity of a page does not break the next page."""
        people = [_build(Person, at=_at(n)) for n in range(5)]
        _store(database, *people)
        with database.unit_of_work() as uow:
            first = uow.people.find(limit=2)
            uow.people.delete(people[1].id, at=_at(10))
            second = uow.people.find(limit=2, after=first.next_cursor)
        assert _ids(people[2:4]) == _ids(second.items)

    def test_pages_filter_as_they_page(self, database: Database) -> None:
        """Cursors and conditions combine: only matching entities come, once each."""
        people = [
            _build(Person, at=_at(n), job_title="Buyer" if n % 2 else None)
            for n in range(9)
        ]
        _store(database, *people)
        with database.unit_of_work() as uow:
            pages = _all_pages(
                uow.people,
                order_by="-created_at",
                limit=2,
                where={"job_title": "Buyer"},
            )
        assert _ids(people[7:0:-2]) == _flat(pages)

    # Refusing bad queries -----------------------------------------------------

    @pytest.mark.parametrize(
        "query",
        [
            {"where": {"shoe_size": 42}},
            {"where": {"data": "x"}},
            {"where": {"employees": "ten"}},
            {"where": {"employees": True}},
            {"where": {"employees": 1.5}},
            {"where": {"employees": None}},
            {"where": {"employees": in_("510")}},
            {"where": {"employees": is_null(null="yes")}},  # type: ignore[arg-type]
            {"where": {"created_at": datetime(2026, 1, 1)}},  # noqa: DTZ001 - naive on purpose
            {"where": {"created_at": date(2026, 1, 1)}},
            {"where": {"id": "not-a-uuid"}},
            {"where": {"name": Condition("like", "%")}},  # type: ignore[arg-type]
            {"where": [("name", "Acme")]},
            {"where": {"employees": 2**63}},
            {"order_by": "shoe_size"},
            {"order_by": "-"},
            {"order_by": ""},
            {"order_by": None},
            {"order_by": [1]},
            {"limit": 0},
            {"limit": -1},
            {"limit": 10_001},
            {"limit": True},
            {"limit": 1.5},
            {"limit": "10"},
        ],
    )
    def test_a_bad_query_raises_validation_error(
        self, database: Database, query: dict[str, Any]
    ) -> None:
        """Unknown fields, ill-typed values, bad sorts and bad limits are refused."""
        _store(database, _build(Organization, employees=10))
        with database.unit_of_work() as uow:
            with pytest.raises(ValidationError):
                uow.organizations.find(**query)
            assert 1 == uow.organizations.count()

    @pytest.mark.parametrize(
        "where",
        [
            {"amount": Decimal("NaN")},
            {"amount": gt(Decimal("-Infinity"))},
            {"name": "Acme\x00"},
            {"name": in_(["Acme", "\x00"])},
            {"pipeline": ne("sales\x00; DROP TABLE deal")},
        ],
        ids=repr,
    )
    def test_a_value_no_database_can_hold_is_refused(
        self, database: Database, where: dict[str, Any]
    ) -> None:
        """Non-finite decimals and text with NUL characters are refused everywhere."""
        _store(database, _build(Deal, amount=Money(Decimal(5), "EUR")))
        with database.unit_of_work() as uow:
            with pytest.raises(ValidationError):
                uow.deals.find(where=where)
            assert 1 == uow.deals.count()

    @pytest.mark.parametrize("value", [2**63, -(2**63) - 1, 10**30])
    def test_a_whole_number_beyond_64_bits_is_refused(
        self, database: Database, value: int
    ) -> None:
        """Filters on whole numbers take 64-bit values, as the databases store."""
        with database.unit_of_work() as uow:
            with pytest.raises(ValidationError):
                uow.leads.find(where={"score": gt(value)})
            with pytest.raises(ValidationError):
                uow.leads.count(where={"score": in_([1, value])})

    def test_whole_numbers_are_stored_in_64_bits(self, database: Database) -> None:
        """Numbers beyond 32 bits are stored, found, compared and sorted."""
        scores = [2**40, -(2**40), 2**63 - 1, 7]
        leads = [_build(Lead, at=_at(n), score=v) for n, v in enumerate(scores)]
        _store(database, *leads)
        with database.unit_of_work() as uow:
            actual = (
                [e.score for e in uow.leads.find(order_by="-score").items],
                _ids(uow.leads.find(where={"score": gt(2**31)}, order_by="id").items),
                uow.leads.count(where={"score": -(2**40)}),
            )
        expected = (sorted(scores, reverse=True), sorted(_ids([leads[0], leads[2]])), 1)
        assert expected == actual

    def test_every_problem_of_a_query_is_reported_at_once(
        self, database: Database
    ) -> None:
        """One ValidationError lists the unknown field, the sort and the limit."""
        with database.unit_of_work() as uow, pytest.raises(ValidationError) as caught:
            uow.people.find(where={"shoe_size": 42}, order_by="colour", limit=0)
        assert {"where.shoe_size", "order_by", "limit"} == set(caught.value.paths)

    @pytest.mark.parametrize(
        "query",
        [
            {"where": {"shoe_size": 42}},
            {"where": {"employees": "ten"}},
        ],
    )
    def test_count_refuses_a_bad_query(
        self, database: Database, query: dict[str, Any]
    ) -> None:
        """Count checks its conditions as find does."""
        with database.unit_of_work() as uow, pytest.raises(ValidationError):
            uow.organizations.count(**query)

    @pytest.mark.parametrize("size", [0, -5, 10_001, True])
    def test_batches_refuse_a_bad_size(self, database: Database, size: int) -> None:
        """A batch size outside 1 to 10,000 is refused."""
        with database.unit_of_work() as uow, pytest.raises(ValidationError):
            next(uow.people.batches(size=size))

    @pytest.mark.parametrize(
        "cursor",
        [
            "garbage",
            "",
            "====",
            "%%%",
            _cursor([]),
            _cursor(["2026-01-01T00:00:00+00:00"]),
            _cursor(["2026-01-01T00:00:00+00:00", "not-a-uuid"]),
            _cursor(["2026-01-01T00:00:00", "00000000-0000-4000-8000-000000000001"]),
            _cursor(["yesterday", "00000000-0000-4000-8000-000000000001"]),
            _cursor([20260101, "00000000-0000-4000-8000-000000000001"]),
            _cursor(["2026-01-01T00:00:00+00:00", 5]),
            _cursor(["2026-01-01T00:00:00+00:00", {"id": 5}]),
            _cursor(["2026-01-01T00:00:00+00:00", ["a", "b"]]),
            _cursor({"created_at": "2026-01-01T00:00:00+00:00"}),
            base64.urlsafe_b64encode(b"'; DROP TABLE person; --").decode(),
        ],
        ids=_cursor_id,
    )
    def test_a_bad_cursor_raises_validation_error(
        self, database: Database, cursor: str
    ) -> None:
        """A cursor that is not one of this sort's cursors is refused."""
        _store(database, _build(Person))
        with database.unit_of_work() as uow:
            with pytest.raises(ValidationError):
                uow.people.find(after=cursor)
            assert 1 == uow.people.count()

    @pytest.mark.parametrize(
        "cursor",
        [
            _cursor([1, "00000000-0000-4000-8000-000000000001"]),
            _cursor([["x"], "00000000-0000-4000-8000-000000000001"]),
            _cursor([{"$ne": None}, "00000000-0000-4000-8000-000000000001"]),
            _cursor([True, "00000000-0000-4000-8000-000000000001"]),
        ],
        ids=_cursor_id,
    )
    def test_a_cursor_of_the_wrong_types_raises_validation_error(
        self, database: Database, cursor: str
    ) -> None:
        """A cursor whose values do not fit the sorted fields' types is refused."""
        _store(database, _build(Person, last_name="Adam"))
        with database.unit_of_work() as uow, pytest.raises(ValidationError):
            uow.people.find(order_by="last_name", after=cursor)

    @pytest.mark.parametrize("amount", ["NaN", "Infinity", "ten", "1,5", 10, 10.5])
    def test_a_cursor_with_a_bad_amount_raises_validation_error(
        self, database: Database, amount: object
    ) -> None:
        """A decimal in a cursor must be a finite number written as text."""
        _store(database, _build(Deal, amount=Money(Decimal(10), "EUR")))
        cursor = _cursor([amount, "00000000-0000-4000-8000-000000000001"])
        with database.unit_of_work() as uow, pytest.raises(ValidationError):
            uow.deals.find(order_by="amount", after=cursor)

    def test_a_cursor_of_another_sort_raises_validation_error(
        self, database: Database
    ) -> None:
        """A cursor made for one sort does not fit a sort on other types."""
        _store(database, *[_build(Person, at=_at(n), last_name="A") for n in range(3)])
        with database.unit_of_work() as uow:
            cursor = uow.people.find(order_by="last_name", limit=1).next_cursor
            with pytest.raises(ValidationError):
                uow.people.find(order_by="created_at", after=cursor)

    # SQL injection ------------------------------------------------------------

    @pytest.mark.parametrize("text", _INJECTIONS)
    def test_sql_in_a_filter_value_is_data(self, database: Database, text: str) -> None:
        """A value that looks like SQL is stored, matched and counted as text."""
        people = [
            _build(Person, at=_at(0), last_name=text),
            _build(Person, at=_at(1), last_name="Martin"),
        ]
        _store(database, *people)
        with database.unit_of_work() as uow:
            actual = (
                _ids(uow.people.find(where={"last_name": text}).items),
                _ids(uow.people.find(where={"last_name": in_([text])}).items),
                uow.people.count(where={"last_name": ne(text)}),
                uow.people.count(),
                uow.organizations.count(),
                uow.people.get(people[0].id).last_name,
            )
        assert ([people[0].id], [people[0].id], 1, 2, 0, text) == actual

    @pytest.mark.parametrize("text", _INJECTIONS)
    def test_sql_in_a_field_name_or_sort_is_refused(
        self, database: Database, text: str
    ) -> None:
        """Field names and sort keys that look like SQL are unknown fields."""
        _store(database, _build(Person))
        with database.unit_of_work() as uow:
            with pytest.raises(ValidationError):
                uow.people.find(order_by=text)
            with pytest.raises(ValidationError):
                uow.people.find(order_by=["last_name", f"-{text}"])
            with pytest.raises(ValidationError):
                uow.people.find(where={text: "x"})
            with pytest.raises(ValidationError):
                uow.people.count(where={f"last_name{text}": "x"})
            assert 1 == uow.people.count()

    @pytest.mark.parametrize("text", _INJECTIONS)
    def test_sql_in_a_cursor_is_data(self, database: Database, text: str) -> None:
        """A hand-made cursor holding SQL pages from that text, as a value."""
        people = [
            _build(Person, at=_at(n), last_name=name)
            for n, name in enumerate(["Adam", text, "Zola"])
        ]
        _store(database, *people)
        cursor = _cursor([text, "ffffffff-ffff-4fff-bfff-ffffffffffff"])
        with database.unit_of_work() as uow:
            page = uow.people.find(order_by="last_name", after=cursor)
            total = uow.people.count()
        after = [p for p in people if p.last_name and p.last_name > text]
        assert (_ids(_sorted_by(after, ["last_name"])), 3) == (
            _ids(page.items),
            total,
        )

    # Counting and batches -----------------------------------------------------

    def test_count_matches_find(self, database: Database) -> None:
        """Count gives the number of entities find would return."""
        titles = ["Buyer", "Buyer", "Buyer", None, None]
        people = [_build(Person, at=_at(n), job_title=t) for n, t in enumerate(titles)]
        _store(database, *people)
        with database.unit_of_work() as uow:
            actual = (
                uow.people.count(),
                uow.people.count(where={"job_title": "Buyer"}),
                uow.people.count(where={"job_title": is_null()}),
                uow.people.count(where={"job_title": "nobody"}),
            )
        assert (5, 3, 2, 0) == actual

    def test_batches_go_through_everything_in_id_order(
        self, database: Database
    ) -> None:
        """Batches yields full batches of ``size`` then the rest, in id order."""
        people = [_build(Person, at=_at(n)) for n in range(7)]
        _store(database, *people)
        with database.unit_of_work() as uow:
            batches = [_ids(batch) for batch in uow.people.batches(size=3)]
        expected = sorted(_ids(people))
        assert [expected[:3], expected[3:6], expected[6:]] == batches

    def test_batches_filter_and_stop_when_nothing_matches(
        self, database: Database
    ) -> None:
        """Batches applies conditions, and yields nothing when nothing matches."""
        people = [
            _build(Person, at=_at(n), job_title="Buyer" if n % 2 else None)
            for n in range(6)
        ]
        _store(database, *people)
        with database.unit_of_work() as uow:
            buyers = list(uow.people.batches(size=2, where={"job_title": "Buyer"}))
            nobody = list(uow.people.batches(where={"job_title": "CEO"}))
        expected = sorted(p.id for p in people if p.job_title)
        assert ([expected[:2], expected[2:]], []) == ([_ids(b) for b in buyers], nobody)

    # Lookups ------------------------------------------------------------------

    @pytest.mark.parametrize("cls", [Person, Organization, Lead])
    def test_find_by_email_compares_normalised_addresses(
        self, database: Database, cls: type[Entity]
    ) -> None:
        """An address is found whatever its case or surrounding spaces."""
        address = EmailAddress("Jean.Dupont@Exemple.FR")
        field = {"email": address} if cls is Lead else {"emails": [address]}
        entity, other = _build(cls, **field), _build(cls, at=_at(1))
        _store(database, entity, other)
        with database.unit_of_work() as uow:
            repository = uow.repository(cls)
            actual = [
                _ids(repository.find_by_email(query))
                for query in (
                    " jean.dupont@exemple.fr ",
                    "JEAN.DUPONT@EXEMPLE.FR",
                    EmailAddress("jean.dupont@exemple.fr"),
                    "jean.dupont@exemple.com",
                )
            ]
        assert [[entity.id]] * 3 + [[]] == actual

    def test_find_by_email_returns_every_holder(self, database: Database) -> None:
        """Two people sharing an address are both found, by any of their addresses."""
        shared = EmailAddress("info@exemple.fr")
        people = [
            _build(Person, at=_at(0), emails=[EmailAddress("anne@exemple.fr"), shared]),
            _build(Person, at=_at(1), emails=[shared]),
            _build(Person, at=_at(2), emails=[EmailAddress("paul@exemple.fr")]),
        ]
        _store(database, *people)
        with database.unit_of_work() as uow:
            actual = (
                sorted(_ids(uow.people.find_by_email("info@exemple.fr"))),
                _ids(uow.people.find_by_email("anne@exemple.fr")),
                uow.organizations.find_by_email("info@exemple.fr"),
            )
        assert (sorted(_ids(people[:2])), [people[0].id], []) == actual

    def test_lookups_follow_updates(self, database: Database) -> None:
        """After an update, the old email, phone and external id find nothing."""
        person = _build(
            Person,
            emails=[EmailAddress("old@exemple.fr")],
            phones=[PhoneNumber("+33612345678")],
            external_ids={"crm": "old"},
        )
        _store(database, person)
        new = _changed(
            person,
            {
                "emails": [EmailAddress("new@exemple.fr")],
                "phones": [PhoneNumber("+33698765432")],
                "external_ids": {"crm": "new"},
            },
        )
        with database.unit_of_work() as uow:
            uow.people.update(new)
            uow.commit()
        with database.unit_of_work() as uow:
            people = uow.people
            actual = (
                people.find_by_email("old@exemple.fr"),
                people.find_by_phone("+33612345678"),
                people.find_by_external_id("crm", "old"),
                people.find_by_email("new@exemple.fr"),
                people.find_by_phone("+33698765432"),
                people.find_by_external_id("crm", "new"),
            )
        assert ([], [], None, [new], [new], new) == actual

    def test_lookups_skip_archived_entities(self, database: Database) -> None:
        """An archived person is not found by email or phone."""
        person = _build(
            Person,
            emails=[EmailAddress("jean@exemple.fr")],
            phones=[PhoneNumber("+33612345678")],
        )
        _store(database, person)
        with database.unit_of_work() as uow:
            uow.people.delete(person.id, at=_at(10))
            uow.commit()
        with database.unit_of_work() as uow:
            actual = (
                uow.people.find_by_email("jean@exemple.fr"),
                uow.people.find_by_phone("+33612345678"),
            )
        assert ([], []) == actual

    @pytest.mark.parametrize("cls", [Person, Organization, Lead])
    def test_find_by_phone_compares_e164(
        self, database: Database, cls: type[Entity]
    ) -> None:
        """A number is found from any way of writing it that has the same E.164."""
        number = PhoneNumber.parse("06 12 34 56 78", region="FR")
        field = {"phone": number} if cls is Lead else {"phones": [number]}
        entity, other = _build(cls, **field), _build(cls, at=_at(1))
        _store(database, entity, other)
        with database.unit_of_work() as uow:
            repository = uow.repository(cls)
            actual = [
                _ids(repository.find_by_phone(query))
                for query in (
                    "+33612345678",
                    "+33 6 12 34 56 78",
                    "tel:+33-6-12-34-56-78",
                    PhoneNumber.parse("0612345678", region="FR"),
                    "+33612345679",
                )
            ]
        assert [[entity.id]] * 4 + [[]] == actual

    @pytest.mark.parametrize("query", ["not an email", "jean@", ""])
    def test_find_by_email_refuses_a_bad_address(
        self, database: Database, query: str
    ) -> None:
        """An invalid address raises ValidationError rather than finding nothing."""
        with database.unit_of_work() as uow, pytest.raises(ValidationError):
            uow.people.find_by_email(query)

    @pytest.mark.parametrize("query", ["06 12 34 56 78", "+33 12", "call me"])
    def test_find_by_phone_refuses_a_bad_number(
        self, database: Database, query: str
    ) -> None:
        """A number that is not valid in international form is refused."""
        with database.unit_of_work() as uow, pytest.raises(ValidationError):
            uow.people.find_by_phone(query)

    # Adding in bulk -----------------------------------------------------------

    @pytest.mark.parametrize("cls", _KINDS)
    def test_add_many_stores_each_entity_as_add_does(
        self, database: Database, cls: type[Entity]
    ) -> None:
        """Entities added together come back equal, each with its created event."""
        entities = [_build(cls, at=_at(n)) for n in range(3)]
        with database.unit_of_work() as uow:
            uow.repository(cls).add_many(entities, actor=_ACTOR)
            uow.commit()
        with database.unit_of_work() as uow:
            stored = uow.repository(cls).get_many(_ids(entities))
            messages = uow.pending_messages()
        assert entities == stored
        assert [("EntityCreated", e.id, _at(n)) for n, e in enumerate(entities)] == [
            (m.event_type, m.entity_id, m.at) for m in messages
        ]
        assert [str(_ACTOR)] * 3 == [m.payload["actor"] for m in messages]

    def test_add_many_of_nothing_stores_nothing(self, database: Database) -> None:
        """add_many of an empty batch is allowed and changes nothing."""
        with database.unit_of_work() as uow:
            uow.people.add_many([])
            uow.commit()
        with database.unit_of_work() as uow:
            assert (0, []) == (uow.people.count(), uow.pending_messages())

    def test_add_many_indexes_emails_phones_and_external_ids(
        self, database: Database
    ) -> None:
        """Entities added in bulk are found by email, phone and external id."""
        first = _build(
            Person,
            emails=[EmailAddress("Ana@Example.com")],
            phones=[PhoneNumber("+33612345678")],
            external_ids={"hubspot": "1"},
        )
        second = _build(Person, at=_at(1), external_ids={"hubspot": "2"})
        with database.unit_of_work() as uow:
            uow.people.add_many([first, second])
            uow.commit()
        with database.unit_of_work() as uow:
            found = (
                uow.people.find_by_email("ana@example.com"),
                uow.people.find_by_phone("+33612345678"),
                uow.people.find_by_external_ids("hubspot", ["2", "1", "3"]),
            )
        assert ([first], [first], {"1": first, "2": second}) == found

    @pytest.mark.parametrize(
        "clash",
        ["stored id", "stored external id", "id twice", "external id twice"],
    )
    def test_add_many_is_all_or_nothing(self, database: Database, clash: str) -> None:
        """A batch with one taken id or external id raises and stores none of it."""
        stored = _build(Person, external_ids={"x": "1"})
        _store(database, stored)
        fresh = _build(Person, at=_at(1), external_ids={"x": "2"})
        culprit = {
            "stored id": attrs.evolve(_build(Person, at=_at(2)), id=stored.id),
            "stored external id": _build(Person, at=_at(2), external_ids={"x": "1"}),
            "id twice": attrs.evolve(_build(Person, at=_at(2)), id=fresh.id),
            "external id twice": _build(Person, at=_at(2), external_ids={"x": "2"}),
        }[clash]
        with database.unit_of_work() as uow:
            with pytest.raises(AlreadyExists):
                uow.people.add_many([fresh, culprit])
            uow.commit()
        with database.unit_of_work() as uow:
            assert ((stored,), 1) == (
                uow.people.find(limit=10).items,
                len(uow.pending_messages()),
            )

    def test_add_many_sees_the_units_own_additions(self, database: Database) -> None:
        """A batch clashing with an uncommitted add of the same unit is refused."""
        person = _build(Person, external_ids={"hubspot": "1"})
        twin = _build(Person, at=_at(1), external_ids={"hubspot": "1"})
        with database.unit_of_work() as uow:
            uow.people.add(person)
            with pytest.raises(AlreadyExists):
                uow.people.add_many([twin])
            with pytest.raises(AlreadyExists):
                uow.people.add_many([person])
            assert 1 == uow.people.count()

    def test_add_many_refuses_another_type(self, database: Database) -> None:
        """A batch holding an entity of another type raises ValidationError."""
        with database.unit_of_work() as uow:
            with pytest.raises(ValidationError):
                uow.people.add_many([_build(Person), _build(Organization)])  # type: ignore[list-item]
            assert 0 == uow.people.count()

    def test_add_many_in_a_readonly_unit_is_refused(self, database: Database) -> None:
        """A read-only unit refuses a bulk add like any other write."""
        with database.unit_of_work(readonly=True) as uow, pytest.raises(StorageError):
            uow.people.add_many([_build(Person)])

    def test_find_by_external_ids_sees_archived_and_uncommitted_entities(
        self, database: Database
    ) -> None:
        """Archived entities keep their external ids; a unit sees its own adds."""
        archived = _build(Person, external_ids={"crm": "a"})
        _store(database, archived)
        with database.unit_of_work() as uow:
            uow.people.delete(archived.id, at=_at(10))
            uow.commit()
        pending = _build(Person, at=_at(1), external_ids={"crm": "b"})
        with database.unit_of_work() as uow:
            uow.people.add(pending)
            found = uow.people.find_by_external_ids("crm", ["a", "b", "c", "a"])
        assert {"a": archived, "b": pending} == found

    def test_record_many_adds_events_in_order(self, database: Database) -> None:
        """Events recorded together join the outbox in the order given."""
        person = _build(Person)
        events = [
            _CallLogged(
                entity_type="person",
                entity_id=person.id,
                at=_at(n),
                minutes=n,
                note=f"call {n}",
            )
            for n in (3, 1, 2)
        ]
        with database.unit_of_work() as uow:
            uow.record_many(events)
            uow.record_many([])
            uow.commit()
        with database.unit_of_work() as uow:
            assert [3, 1, 2] == [m.payload["minutes"] for m in uow.pending_messages()]

    @pytest.mark.parametrize("cls", [Person, Organization])
    def test_find_by_external_id(self, database: Database, cls: type[Entity]) -> None:
        """An entity is found by (system, id); other systems or ids find nothing."""
        entity = _build(cls, external_ids={"hubspot": "501", "stripe": "cus_9"})
        _store(database, entity, _build(cls, at=_at(1)))
        with database.unit_of_work() as uow:
            repository = uow.repository(cls)
            actual = [
                repository.find_by_external_id("hubspot", "501"),
                repository.find_by_external_id("stripe", "cus_9"),
                repository.find_by_external_id("stripe", "501"),
                repository.find_by_external_id("hubspot", "502"),
                repository.find_by_external_id("hubspot", "' OR '1'='1"),
            ]
        assert [entity, entity, None, None, None] == actual

    # Field history ------------------------------------------------------------

    def test_history_records_each_change_oldest_first(self, database: Database) -> None:
        """Each changed field gets an entry: version, old and new value, actor, time."""
        person = _build(Person, last_name="Martin")
        _store(database, person)
        second = _changed(person, {"job_title": "Buyer", "last_name": "Durand"})
        third = _changed(second, {"job_title": "Head buyer"})
        with database.unit_of_work() as uow:
            uow.people.update(second, actor=_ACTOR)
            uow.commit()
        with database.unit_of_work() as uow:
            uow.people.update(third)
            uow.commit()
        with database.unit_of_work() as uow:
            history = uow.people.history(person.id)
        expected = [
            ("person", person.id, 2, "last_name", "Martin", "Durand", _ACTOR, _at(60)),
            ("person", person.id, 2, "job_title", None, "Buyer", _ACTOR, _at(60)),
            (
                "person",
                person.id,
                3,
                "job_title",
                "Buyer",
                "Head buyer",
                None,
                _at(120),
            ),
        ]
        assert expected == [
            (
                e.entity_type,
                e.entity_id,
                e.version,
                e.field,
                e.old,
                e.new,
                e.actor,
                e.at,
            )
            for e in history
        ]

    def test_history_keeps_values_as_plain_data(self, database: Database) -> None:
        """Old and new values are stored as crmkit.serialization writes them."""
        deal = _build(Deal, amount=Money(Decimal("10.50"), "EUR"), tags={"b", "a"})
        _store(database, deal)
        new = _changed(
            deal,
            {
                "amount": Money(Decimal("12.00"), "EUR"),
                "expected_close_date": date(2026, 6, 30),
                "tags": {"c"},
            },
        )
        with database.unit_of_work() as uow:
            uow.deals.update(new)
            uow.commit()
        with database.unit_of_work() as uow:
            history = uow.deals.history(deal.id)
        expected = [
            (
                "amount",
                {"amount": "10.50", "currency": "EUR"},
                {"amount": "12.00", "currency": "EUR"},
            ),
            ("expected_close_date", None, "2026-06-30"),
            ("tags", ["a", "b"], ["c"]),
        ]
        assert expected == [(e.field, e.old, e.new) for e in history]

    def test_history_is_per_entity(self, database: Database) -> None:
        """An entity's history holds its own changes only; an added one has none."""
        changed, untouched = _build(Person, at=_at(0)), _build(Person, at=_at(1))
        other_type = _build(Organization, id=changed.id)
        _store(database, changed, untouched, other_type)
        with database.unit_of_work() as uow:
            uow.people.update(_changed(changed, {"job_title": "Buyer"}))
            uow.organizations.update(_changed(other_type, {"industry": "Retail"}))
            uow.commit()
        with database.unit_of_work() as uow:
            actual = (
                [e.field for e in uow.people.history(changed.id)],
                [e.field for e in uow.organizations.history(changed.id)],
                uow.people.history(untouched.id),
            )
        assert (["job_title"], ["industry"], []) == actual

    def test_history_policy_limits_the_tracked_fields(
        self, make_database: DatabaseFactory
    ) -> None:
        """Only the fields a HistoryPolicy names are tracked, for that type only."""
        database = make_database(history=HistoryPolicy({Person: {"job_title"}}))
        person, organization = _build(Person), _build(Organization)
        _store(database, person, organization)
        with database.unit_of_work() as uow:
            uow.people.update(
                _changed(person, {"job_title": "Buyer", "last_name": "Martin"})
            )
            uow.organizations.update(
                _changed(organization, {"industry": "Retail", "employees": 5})
            )
            uow.commit()
        with database.unit_of_work() as uow:
            actual = (
                [e.field for e in uow.people.history(person.id)],
                [e.field for e in uow.organizations.history(organization.id)],
            )
        assert (["job_title"], ["industry", "employees"]) == actual

    @pytest.mark.parametrize(
        ("tracked", "expected"),
        [
            ({"custom"}, ["custom.revenue", "custom.seats"]),
            ({"custom.seats"}, ["custom.seats"]),
            (set(), []),
        ],
    )
    def test_history_policy_tracks_custom_fields(
        self,
        make_database: DatabaseFactory,
        tracked: set[str],
        expected: list[str],
    ) -> None:
        """``custom`` tracks every custom field, ``custom.<name>`` just one."""
        database = make_database(
            history=HistoryPolicy({Person: tracked}), schemas={Person: _SCHEMA}
        )
        person = _build(Person, custom={"seats": 4, "revenue": Decimal("1.5")})
        _store(database, person)
        new = person.update(
            {"custom": {"seats": 5, "revenue": Decimal("2.5")}, "job_title": "CEO"},
            at=_at(60),
            schema=_SCHEMA,
        )[0]
        with database.unit_of_work() as uow:
            uow.people.update(new)
            uow.commit()
        with database.unit_of_work() as uow:
            assert expected == [e.field for e in uow.people.history(person.id)]

    def test_custom_field_history_is_plain_data(
        self, make_database: DatabaseFactory
    ) -> None:
        """A custom field's old and new values are kept as plain data too."""
        database = make_database(schemas={Person: _SCHEMA})
        person = _build(Person, custom={"revenue": Decimal("1.50")}, schema=_SCHEMA)
        _store(database, person)
        new = person.update(
            {"custom": {"revenue": Decimal("2.50"), "signed_on": date(2026, 3, 1)}},
            at=_at(60),
            schema=_SCHEMA,
        )[0]
        with database.unit_of_work() as uow:
            uow.people.update(new)
            uow.commit()
        with database.unit_of_work() as uow:
            history = uow.people.history(person.id)
        expected = [
            ("custom.revenue", "1.50", "2.50"),
            ("custom.signed_on", None, "2026-03-01"),
        ]
        assert expected == [(e.field, e.old, e.new) for e in history]

    # Outbox -------------------------------------------------------------------

    def test_outbox_holds_an_event_for_each_change(self, database: Database) -> None:
        """add, update, archive, restore and erase each leave one event, in order."""
        person = _build(Person)
        with database.unit_of_work() as uow:
            uow.people.add(person, actor=_ACTOR)
            uow.people.update(_changed(person, {"job_title": "Buyer"}))
            uow.people.delete(person.id, at=_at(100))
            uow.people.restore(person.id, at=_at(110))
            uow.people.delete(person.id, at=_at(120), hard=True)
            uow.commit()
        with database.unit_of_work() as uow:
            messages = uow.pending_messages()
        expected = [
            ("EntityCreated", "person", person.id, _at(0)),
            ("EntityUpdated", "person", person.id, _at(60)),
            ("EntityArchived", "person", person.id, _at(100)),
            ("EntityRestored", "person", person.id, _at(110)),
            ("EntityDeleted", "person", person.id, _at(120)),
        ]
        assert expected == [
            (m.event_type, m.entity_type, m.entity_id, m.at) for m in messages
        ]

    def test_outbox_reads_from_a_cursor_or_by_ids(self, database: Database) -> None:
        """messages(after=, limit=) or (ids=), published or not; last_message_id."""
        people = [_build(Person) for _ in range(3)]
        with database.unit_of_work() as uow:
            assert 0 == uow.last_message_id()
            assert [] == uow.messages()
            uow.people.add(people[0])
            uow.commit()
        with database.unit_of_work() as uow:
            uow.people.add_many(people[1:])
            uow.commit()
        with database.unit_of_work() as uow:
            every = uow.messages()
            first = every[0].id
            uow.mark_published([first], at=_at(10))
            uow.commit()
        with database.unit_of_work(readonly=True) as uow:
            after_first = uow.messages(after=first)
            limited = uow.messages(after=0, limit=2)
            picked = uow.messages(ids=[every[2].id, first, 10**9])
            last = uow.last_message_id()
            with pytest.raises(ValidationError):
                uow.messages(limit=0)
        assert [p.id for p in people] == [m.entity_id for m in every]
        assert every == sorted(every, key=lambda m: m.id)
        assert every[1:] == after_first
        assert every[:2] == limited
        assert [every[0], every[2]] == picked
        assert every[-1].id == last

    def test_outbox_payloads_are_the_events_as_plain_data(
        self, database: Database
    ) -> None:
        """A message's payload is its event written by crmkit.serialization."""
        person = _build(Person)
        with database.unit_of_work() as uow:
            uow.people.add(person, actor=_ACTOR)
            uow.people.update(_changed(person, {"job_title": "Buyer"}))
            uow.commit()
        with database.unit_of_work() as uow:
            payloads = [m.payload for m in uow.pending_messages()]
        common = {"entity_type": "person", "entity_id": str(person.id)}
        expected = [
            {
                **common,
                "version": 1,
                "at": "2026-03-02T09:00:00+00:00",
                "actor": str(_ACTOR),
            },
            {
                **common,
                "version": 2,
                "at": "2026-03-02T09:01:00+00:00",
                "actor": None,
                "changes": [{"field": "job_title", "old": None, "new": "Buyer"}],
            },
        ]
        assert expected == payloads

    def test_recorded_events_join_the_outbox(self, database: Database) -> None:
        """An application's own event goes to the outbox with the unit's changes."""
        person = _build(Person)
        event = _CallLogged(
            entity_type="person",
            entity_id=person.id,
            at=_at(30),
            minutes=12,
            note="Renewal; call back in May",
        )
        with database.unit_of_work() as uow:
            uow.people.add(person)
            uow.record(event)
            uow.commit()
        with database.unit_of_work() as uow:
            message = uow.pending_messages()[-1]
        expected = (
            "_CallLogged",
            "person",
            person.id,
            _at(30),
            {
                "entity_type": "person",
                "entity_id": str(person.id),
                "at": "2026-03-02T09:00:30+00:00",
                "minutes": 12,
                "note": "Renewal; call back in May",
            },
        )
        assert expected == (
            message.event_type,
            message.entity_type,
            message.entity_id,
            message.at,
            message.payload,
        )

    def test_a_unit_sees_its_own_events_before_commit(self, database: Database) -> None:
        """Pending messages include the unit's own; their ids stay the same."""
        first, second = _build(Person), _build(Person, at=_at(1))
        _store(database, first)
        with database.unit_of_work() as uow:
            uow.people.add(second)
            before = [(m.id, m.entity_id) for m in uow.pending_messages()]
            uow.commit()
        with database.unit_of_work() as uow:
            after = [(m.id, m.entity_id) for m in uow.pending_messages()]
        assert [first.id, second.id] == [entity_id for _, entity_id in before]
        assert before == after

    @pytest.mark.parametrize("event", [object(), {"at": _T0}, _T0])
    def test_record_refuses_what_is_not_an_event(
        self, database: Database, event: object
    ) -> None:
        """An event must be an attrs class with an aware ``at``."""
        with database.unit_of_work() as uow, pytest.raises(ValidationError):
            uow.record(event)

    def test_mark_published_takes_messages_off_the_pending_list(
        self, database: Database
    ) -> None:
        """Published messages are no longer pending, once the unit commits."""
        _store(database, *[_build(Person, at=_at(n)) for n in range(3)])
        with database.unit_of_work() as uow:
            messages = uow.pending_messages()
            uow.mark_published([messages[0].id, messages[2].id], at=_at(50))
            uow.commit()
        with database.unit_of_work() as uow:
            assert [messages[1]] == uow.pending_messages()

    def test_pending_messages_come_oldest_first_up_to_the_limit(
        self, database: Database
    ) -> None:
        """pending_messages returns the oldest messages, ``limit`` at most."""
        people = [_build(Person, at=_at(n)) for n in range(5)]
        _store(database, *people)
        with database.unit_of_work() as uow:
            oldest = uow.pending_messages(limit=2)
            every = uow.pending_messages()
        assert (_ids(people[:2]), every[:2], True) == (
            [m.entity_id for m in oldest],
            oldest,
            [m.id for m in every] == sorted({m.id for m in every}),
        )

    @pytest.mark.parametrize("limit", [0, -1, 10_001, True, 2.5, "10"])
    def test_pending_messages_refuses_a_bad_limit(
        self, database: Database, limit: Any
    ) -> None:
        """The outbox is read 1 to 10,000 messages at a time."""
        _store(database, _build(Person))
        with database.unit_of_work() as uow:
            with pytest.raises(ValidationError):
                uow.pending_messages(limit=limit)
            assert 1 == len(uow.pending_messages(limit=10_000))

    def test_a_rolled_back_unit_leaves_nothing_in_the_outbox(
        self, database: Database
    ) -> None:
        """Events and publications of a unit that does not commit are dropped."""
        kept = _build(Person)
        _store(database, kept)
        with database.unit_of_work() as uow:
            uow.people.add(_build(Person, at=_at(1)))
            uow.record(
                _CallLogged(
                    entity_type="person",
                    entity_id=kept.id,
                    at=_at(2),
                    minutes=1,
                    note="",
                )
            )
            uow.mark_published([m.id for m in uow.pending_messages()], at=_at(3))
        with database.unit_of_work() as uow:
            assert [("EntityCreated", kept.id)] == _event_types(uow)

    # Units of work ------------------------------------------------------------

    def test_leaving_a_unit_without_commit_drops_everything(
        self, database: Database
    ) -> None:
        """Adds, updates, deletes and history of an uncommitted unit vanish."""
        person, erased = _build(Person, at=_at(0)), _build(Person, at=_at(1))
        _store(database, person, erased)
        with database.unit_of_work() as uow:
            uow.people.add(_build(Person, at=_at(2)))
            uow.people.update(_changed(person, {"job_title": "Buyer"}))
            uow.people.delete(erased.id, at=_at(10), hard=True)
        with database.unit_of_work() as uow:
            actual = (
                uow.people.count(),
                uow.people.get(person.id),
                uow.people.history(person.id),
                uow.people.get(erased.id),
            )
        assert (2, person, [], erased) == actual

    def test_an_exception_rolls_the_unit_back(self, database: Database) -> None:
        """An error inside the block rolls back and propagates."""
        person = _build(Person)

        def fail_halfway() -> None:
            with database.unit_of_work() as uow:
                uow.people.add(person)
                raise _HalfwayError

        with pytest.raises(_HalfwayError):
            fail_halfway()
        with database.unit_of_work() as uow:
            assert 0 == uow.people.count()

    def test_rollback_drops_the_changes_so_far(self, database: Database) -> None:
        """An explicit rollback drops what came before; later changes can commit."""
        dropped, kept = _build(Person, at=_at(0)), _build(Person, at=_at(1))
        with database.unit_of_work() as uow:
            uow.people.add(dropped)
            uow.rollback()
            uow.people.add(kept)
            uow.commit()
        with database.unit_of_work() as uow:
            assert [kept.id] == _ids(uow.people.find().items)

    def test_a_unit_can_commit_several_times(self, database: Database) -> None:
        """After a commit the unit goes on, and its next commit is kept too."""
        first, second = _build(Person, at=_at(0)), _build(Person, at=_at(1))
        with database.unit_of_work() as uow:
            uow.people.add(first)
            uow.commit()
            uow.people.add(second)
            uow.commit()
        with database.unit_of_work() as uow:
            assert _ids([first, second]) == _ids(uow.people.find().items)

    def test_a_unit_sees_its_own_changes(self, database: Database) -> None:
        """Before commit, the unit's reads include its own writes."""
        person = _build(
            Person,
            emails=[EmailAddress("jean@exemple.fr")],
            external_ids={"crm": "1"},
        )
        new = _changed(person, {"job_title": "Buyer"})
        with database.unit_of_work() as uow:
            uow.people.add(person)
            uow.people.update(new, actor=_ACTOR)
            actual = (
                uow.people.get(person.id),
                uow.people.get_many([person.id]),
                _ids(uow.people.find(where={"job_title": "Buyer"}).items),
                uow.people.count(),
                [len(b) for b in uow.people.batches()],
                uow.people.find_by_email("jean@exemple.fr"),
                uow.people.find_by_external_id("crm", "1"),
                [e.field for e in uow.people.history(person.id)],
            )
        assert (new, [new], [person.id], 1, [1], [new], new, ["job_title"]) == actual

    def test_a_commit_is_seen_by_every_later_unit(self, database: Database) -> None:
        """Once committed, entities of several types are visible to a new unit."""
        person, deal = _build(Person), _build(Deal)
        lead, organization = _build(Lead), _build(Organization)
        with database.unit_of_work() as uow:
            uow.people.add(person)
            uow.deals.add(deal)
            uow.leads.add(lead)
            uow.organizations.add(organization)
            uow.commit()
        with database.unit_of_work() as uow:
            actual = [
                uow.people.get(person.id),
                uow.deals.get(deal.id),
                uow.leads.get(lead.id),
                uow.organizations.get(organization.id),
            ]
        assert [person, deal, lead, organization] == actual

    # Custom fields ------------------------------------------------------------

    @pytest.mark.parametrize("cls", [Person, Deal])
    def test_custom_values_come_back_typed(
        self, make_database: DatabaseFactory, cls: type[Entity]
    ) -> None:
        """With the schema given to the database, custom values round-trip equal."""
        database = make_database(schemas={cls: _SCHEMA})
        entity = _build(cls, custom=_CUSTOM, schema=_SCHEMA)
        _store(database, entity)
        with database.unit_of_work() as uow:
            stored = uow.repository(cls).get(entity.id)
            found = uow.repository(cls).find().items
        assert (entity, [type(v) for v in _CUSTOM.values()], (entity,)) == (
            stored,
            [type(stored.custom[k]) for k in _CUSTOM],
            found,
        )

    def test_updated_custom_values_come_back_typed(
        self, make_database: DatabaseFactory
    ) -> None:
        """An update of custom values is stored and read back equal."""
        database = make_database(schemas={Person: _SCHEMA})
        person = _build(Person, custom={"seats": 4}, schema=_SCHEMA)
        _store(database, person)
        new = person.update({"custom": _CUSTOM}, at=_at(60), schema=_SCHEMA)[0]
        with database.unit_of_work() as uow:
            uow.people.update(new)
            uow.commit()
        with database.unit_of_work() as uow:
            assert new == uow.people.get(person.id)


def _sortable(cls: type[Entity]) -> list[Entity]:
    """Entities with empty values and ties in their sortable fields."""
    if cls is Person:
        titles = [None, "Buyer", "CEO", None, "Buyer", "a", "B"]
        names = ["Martin", None, "martin", "Adam", "Zola", None, "Adam"]
        return [
            _build(Person, at=_at(n // 2), job_title=t, last_name=v)
            for n, (t, v) in enumerate(zip(titles, names, strict=True))
        ]
    if cls is Deal:
        amounts = [None, "10", "2.5", "10", None, "1000.01", "0"]
        closes = [None, date(2026, 5, 1), None, date(2026, 1, 1), date(2026, 5, 1)]
        deals: list[Entity] = []
        for n, amount in enumerate(amounts):
            won = n % 3 == 1
            deals.append(
                _build(
                    Deal,
                    at=_at(n // 2),
                    amount=None if amount is None else Money(Decimal(amount), "EUR"),
                    expected_close_date=closes[n % len(closes)],
                    status=DealStatus.WON if won else DealStatus.OPEN,
                    closed_at=_at(100 - n) if won else None,
                )
            )
        return deals
    if cls is Lead:
        scores = [None, 10, 50, 10, None, 0, 99]
        return [_build(Lead, at=_at(n // 2), score=s) for n, s in enumerate(scores)]
    employees = [None, 10, 5, 10, None, 0, 500]
    names = ["Acme", "Globex", "acme", "Initech", "Umbrella", "Acme", "Hooli"]
    return [
        _build(Organization, at=_at(n), employees=e, name=v)
        for n, (e, v) in enumerate(zip(employees, names, strict=True))
    ]


def _page_facts(
    entities: Sequence[Entity],
    ids: list[UUID],
    keys: Sequence[str],
    limit: int,
    pages: list[list[UUID]] | None = None,
) -> tuple[list[UUID], list[UUID], list[UUID], list[int]]:
    """
    What paging must preserve, as comparable facts.

    Given the ids of one whole result (and no pages), the facts are what the
    pages must show: the ids it holds, in its order, an order that follows the
    sort keys (ties in any order), and full pages before the last one. Given the
    concatenated pages, the same facts as they are.
    """
    by_id = {entity.id: entity for entity in entities}
    in_key_order = _ids(_sorted_by([by_id[i] for i in ids], keys))
    if pages is None:
        full = [limit] * ((len(ids) - 1) // limit if ids else 0)
        return sorted(by_id), ids, ids, full
    return sorted(ids), ids, in_key_order, [len(page) for page in pages[:-1]]
