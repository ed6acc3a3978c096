"""Type expectations for merging: checked by mypy, never executed."""

from datetime import UTC, datetime
from typing import assert_type
from uuid import UUID

from crmkit.dedup import (
    FieldDecision,
    MergePlan,
    MergePolicy,
    Survivorship,
    merge,
    person_policy,
    plan_merge,
    survive,
    unmerge,
)
from crmkit.model import Person
from crmkit.repositories import MergeRecord
from crmkit.repositories.memory import MemoryDatabase

NOW = datetime(2026, 11, 23, tzinfo=UTC)

first = Person.create(at=NOW, first_name="Jean")
second = Person.create(at=NOW, first_name="Jean-Pierre")
outcome = survive(first, [second], person_policy())
assert_type(outcome, Survivorship)
assert_type(outcome.decision("first_name"), FieldDecision)
assert_type(MergePolicy.loads("max_records = 3"), MergePolicy)

with MemoryDatabase().unit_of_work() as uow:
    ids: list[UUID] = [first.id, second.id]
    assert_type(plan_merge(uow, ids, at=NOW), MergePlan)
    record = merge(uow, ids, at=NOW)
    assert_type(record, MergeRecord)
    assert_type(unmerge(uow, record.id, at=NOW), MergeRecord)
    assert_type(uow.merges.involving(first.id), list[MergeRecord])
