"""The merge log's part of the storage contract (see `crmkit.testing.contract`)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import attrs
import pytest

from crmkit.dedup import merge, unmerge
from crmkit.errors import AlreadyExists, MergeConflict, NotFound, StorageError
from crmkit.ids import new_id
from crmkit.model import (
    Activity,
    ActivityKind,
    Deal,
    Entity,
    PartyKind,
    PartyRef,
    Person,
)
from crmkit.repositories import ChangeRole, Database, MergeRecord, RecordChange
from crmkit.values import EmailAddress, PhoneNumber

__all__ = ["MergeLogContract"]

_AT = datetime(2026, 5, 4, 9, 30, tzinfo=UTC)
_BOOKKEEPING = ("version", "updated_at")


def _record(**changes: Any) -> MergeRecord:
    survivor, merged = new_id(_AT), new_id(_AT)
    record = MergeRecord(
        id=new_id(_AT),
        entity_type="person",
        survivor_id=survivor,
        merged_ids=(merged,),
        at=_AT,
        master_reason="the oldest record",
        changes=(
            RecordChange(
                role=ChangeRole.MERGED,
                entity_type="person",
                entity_id=merged,
                before={"first_name": "Jean", "tags": ["a", "b"]},
                after={"first_name": "Jean", "tags": ["a", "b"]},
                archived=True,
            ),
        ),
        decisions=({"field": "emails", "rule": "union", "value": ["j@x.fr"]},),
    )
    return attrs.evolve(record, **changes)


def _values(entity: Entity) -> dict[str, Any]:
    """An entity's fields, without the version and update time an undo moves."""
    return {
        f.name: getattr(entity, f.name)
        for f in attrs.fields(type(entity))
        if f.name not in _BOOKKEEPING
    }


class MergeLogContract:
    """Merge records kept and read back, and a merge undone, on every adapter."""

    def test_a_merge_record_comes_back_equal(self, database: Database) -> None:
        """A kept merge record is read back equal, by id and by the records it took."""
        record = _record()
        with database.unit_of_work() as uow:
            uow.merges.add(record)
            uow.commit()
        with database.unit_of_work() as uow:
            assert record == uow.merges.get(record.id)
            assert [record] == uow.merges.involving(record.survivor_id)
            assert [record] == uow.merges.involving(record.merged_ids[0])
            assert [] == uow.merges.involving(new_id(_AT))

    def test_merge_records_of_a_record_come_oldest_first(
        self, database: Database
    ) -> None:
        """Two merges of one survivor come back in the order they happened."""
        first = _record()
        second = _record(
            id=new_id(_AT), survivor_id=first.survivor_id, at=_AT + timedelta(hours=1)
        )
        with database.unit_of_work() as uow:
            uow.merges.add(second)
            uow.merges.add(first)
            uow.commit()
        with database.unit_of_work() as uow:
            assert [first, second] == uow.merges.involving(first.survivor_id)

    def test_a_merge_id_is_taken_once(self, database: Database) -> None:
        """Keeping a second record with a taken id raises AlreadyExists."""
        record = _record()
        with database.unit_of_work() as uow:
            uow.merges.add(record)
            with pytest.raises(AlreadyExists):
                uow.merges.add(record)

    def test_an_unknown_merge_is_not_found(self, database: Database) -> None:
        """Getting or undoing an unknown merge raises NotFound."""
        with database.unit_of_work() as uow:
            with pytest.raises(NotFound):
                uow.merges.get(new_id(_AT))
            with pytest.raises(NotFound):
                uow.merges.mark_undone(new_id(_AT), at=_AT)

    def test_a_merge_is_marked_undone_once(self, database: Database) -> None:
        """mark_undone stamps the record; a second time raises NotFound."""
        record = _record()
        later = _AT + timedelta(days=1)
        with database.unit_of_work() as uow:
            uow.merges.add(record)
            uow.commit()
        with database.unit_of_work() as uow:
            uow.merges.mark_undone(record.id, at=later)
            uow.commit()
        with database.unit_of_work() as uow:
            assert later == uow.merges.get(record.id).undone_at
            with pytest.raises(NotFound):
                uow.merges.mark_undone(record.id, at=later)

    def test_a_rolled_back_unit_keeps_no_merge_record(self, database: Database) -> None:
        """Leaving a unit without commit drops its merge records."""
        record = _record()
        with database.unit_of_work() as uow:
            uow.merges.add(record)
        with database.unit_of_work() as uow, pytest.raises(NotFound):
            uow.merges.get(record.id)

    def test_a_readonly_unit_keeps_no_merge_record(self, database: Database) -> None:
        """Adding a merge record in a read-only unit is refused."""
        with (
            database.unit_of_work(readonly=True) as uow,
            pytest.raises(StorageError),
        ):
            uow.merges.add(_record())

    def test_merge_then_unmerge_restores_records_and_links(
        self, database: Database
    ) -> None:
        """A merge re-points links and archives; its undo puts everything back."""
        people, links = _stored_duplicates(database)
        ids = [p.id for p in people]
        with database.unit_of_work() as uow:
            record = merge(uow, ids, at=_AT + timedelta(days=1))
            uow.commit()
        with database.unit_of_work() as uow:
            survivor = uow.people.get(ids[0])
            assert (people[0].emails[0], people[1].emails[0]) == survivor.emails
            assert 1 == uow.people.count()
            deal = uow.deals.get(links[1].id)
            assert (ids[0],) == deal.contact_ids
            assert ids[0] == uow.activities.get(links[0].id).parties[0].id
            assert record == uow.merges.get(record.id)
        with database.unit_of_work() as uow:
            unmerge(uow, record.id, at=_AT + timedelta(days=2))
            uow.commit()
        with database.unit_of_work() as uow:
            for original in people:
                assert _values(original) == _values(uow.people.get(original.id))
            for link in links:
                stored = uow.repository(type(link)).get(link.id)
                assert _values(link) == _values(stored)
            assert uow.merges.get(record.id).undone_at is not None

    def test_unmerge_of_a_survivor_changed_since_is_refused(
        self, database: Database
    ) -> None:
        """Changing a merged field after the merge makes its undo refuse, saying why."""
        people, _ = _stored_duplicates(database)
        with database.unit_of_work() as uow:
            record = merge(uow, [p.id for p in people], at=_AT + timedelta(days=1))
            uow.commit()
        with database.unit_of_work() as uow:
            survivor = uow.people.get(people[0].id)
            changed = survivor.update(
                {"emails": survivor.emails[:1]}, at=_AT + timedelta(days=2)
            )
            uow.people.update(changed.entity)
            uow.commit()
        with database.unit_of_work() as uow:
            with pytest.raises(MergeConflict) as refused:
                unmerge(uow, record.id, at=_AT + timedelta(days=3))
            assert any("emails changed" in r for r in refused.value.reasons)
        with database.unit_of_work() as uow:
            assert uow.merges.get(record.id).undone_at is None
            with pytest.raises(NotFound):
                uow.people.get(people[1].id)


def _stored_duplicates(database: Database) -> tuple[list[Person], list[Entity]]:
    """Two stored duplicates of Jean Martin, a call with the second, a deal of both."""
    first = Person.create(
        at=_AT,
        first_name="Jean",
        last_name="Martin",
        emails=(EmailAddress("jean.martin@example.fr"),),
    )
    second = Person.create(
        at=_AT + timedelta(minutes=5),
        first_name="Jean",
        last_name="Martin",
        emails=(EmailAddress("jmartin@example.com"),),
        phones=(PhoneNumber("+33612345678"),),
        external_ids={"legacy": "J-17"},
    )
    call = Activity.create(
        at=_AT,
        kind=ActivityKind.CALL,
        subject="Intro call",
        parties=(PartyRef(PartyKind.PERSON, second.id),),
    )
    deal = Deal.create(
        at=_AT,
        name="Martin renewal",
        pipeline="sales",
        stage="proposal",
        contact_ids=(second.id, first.id),
    )
    with database.unit_of_work() as uow:
        uow.people.add_many([first, second])
        uow.activities.add(call)
        uow.deals.add(deal)
        uow.commit()
    return [first, second], [call, deal]
