"""
Dedup at import: each row that would create a person is checked first.

The rows are checked against the people stored (a `DedupIndex` built from the
database when the import starts) and against the earlier rows of the same file
(each person the import creates or merges is indexed at once). When the best
candidate is a match, the run's policy decides (`DedupPolicy`), and the
decision goes to the dedup file with the candidate, its probability and the
per-field evidence.
"""

from __future__ import annotations

import csv
import enum
from collections.abc import Iterable, Mapping
from typing import IO, Any, Final
from uuid import UUID

import attrs

from crmkit.dedup import (
    CONTACT_FIELDS,
    Candidate,
    DedupConfig,
    DedupIndex,
    MergePolicy,
    Rule,
    build_index,
    catch_up,
    contact_config,
    person_policy,
    person_record,
    survive,
)
from crmkit.model import Person
from crmkit.repositories import Database

__all__ = [
    "DEDUP_COLUMNS",
    "DedupLine",
    "DedupPolicy",
    "DedupWriter",
    "ImportDedup",
    "fill_blanks",
    "import_merge_policy",
]

DEDUP_COLUMNS: Final = (
    "row",
    "line",
    "action",
    "candidate_id",
    "probability",
    "reason",
    *CONTACT_FIELDS,
    "evidence",
)
"""The header of a dedup file; one line per row that matched a stored record."""


class DedupPolicy(enum.StrEnum):
    """
    What an import does with a row that matches a stored person or an earlier row.

    - ``skip``: store nothing for the row;
    - ``merge``: merge the row into the person it matches (`fill_blanks`);
    - ``review``: store nothing, and list the row for a person to decide;
    - ``create``: create it anyway (the dedup file still lists it).

    .. versionadded:: 0.1
    """

    SKIP = "skip"
    MERGE = "merge"
    REVIEW = "review"
    CREATE = "create"


@attrs.frozen(kw_only=True)
class DedupLine:
    """
    One row that matched, what was done, and why: a line of the dedup file.

    Attributes:
        row: The 1-based data row.
        line: The physical line where it starts.
        action: ``skipped``, ``merged``, ``review`` or ``created``.
        candidate: The best matching person (its id is the stored person's).
        record: The row as the dedup compared it (names, email, phone...).

    .. versionadded:: 0.1
    """

    row: int
    line: int
    action: str
    candidate: Candidate
    record: Mapping[str, str]

    def as_row(self) -> tuple[str, ...]:
        """The cells of the dedup file line."""
        evidence = "; ".join(
            f"{e.field} {e.left!r}~{e.right!r} "
            + ("blank" if e.score is None else f"{e.score:.2f} ({e.weight:+.1f})")
            for e in self.candidate.explanation.fields
        )
        return (
            str(self.row),
            str(self.line),
            self.action,
            self.candidate.record_id,
            f"{self.candidate.probability:.6f}",
            self.candidate.reason,
            *(self.record.get(c, "") for c in DEDUP_COLUMNS[6:-1]),
            evidence,
        )


class DedupWriter:
    """A CSV of `DedupLine`, written through an open text handle."""

    def __init__(self, handle: IO[str]) -> None:
        self._writer = csv.writer(handle)
        self._writer.writerow(DEDUP_COLUMNS)
        self.lines = 0

    def write(self, lines: Iterable[DedupLine]) -> None:
        """Append lines."""
        for line in lines:
            self._writer.writerow(line.as_row())
            self.lines += 1


def import_merge_policy() -> MergePolicy:
    """
    How a row merges into the person it matches: the stored person is the master.

    crmkit's person policy (`crmkit.dedup.person_policy`) with every
    single-valued field taking the first non-empty value, the stored one first:
    a filled field is never overwritten, a blank one takes the row's value.
    Multi-valued fields (emails, phones, addresses, tags, roles, custom
    fields...) are united, the stored values first. External ids stay the
    stored person's.
    """
    policy = person_policy()
    single = {
        name: Rule.FIRST_NON_EMPTY
        for name, rule in policy.rules().items()
        if rule is not Rule.UNION
    }
    return person_policy(
        default=Rule.FIRST_NON_EMPTY, fields={**single, "external_ids": Rule.MASTER}
    )


_IMPORT_POLICY: Final = import_merge_policy()


def fill_blanks(stored: Person, incoming: Person) -> dict[str, Any]:
    """
    The changes that merge ``incoming`` into ``stored`` at import, losing nothing.

    The survivorship of `crmkit.dedup.survive` under `import_merge_policy`:
    each field ``stored`` leaves blank takes ``incoming``'s value, a filled
    field is never overwritten, and multi-valued fields gain the values
    ``stored`` lacks, after its own.
    """
    if incoming.id == stored.id:
        return {}
    return survive(stored, [incoming], _IMPORT_POLICY).changes


class ImportDedup:
    """
    The dedup state of one import: the index, and its changes in the open batch.

    A batch that is rolled back (then stored in halves) rolls its index
    changes back too, so a row is never matched against a person that was
    not stored.
    """

    def __init__(
        self,
        database: Database,
        policy: DedupPolicy,
        config: DedupConfig | None = None,
        index: DedupIndex | None = None,
    ) -> None:
        self.policy = policy
        if index is None:
            index = build_index(database, config or contact_config(), leads=False)
        else:
            catch_up(index, database)
        self.index = index
        self.companies: dict[UUID, str] = {}
        self._journal: list[tuple[str, dict[str, str] | None, str]] = []

    def record(self, person: Person) -> dict[str, str]:
        """The person as the index compares it."""
        return person_record(person, self.companies)

    def best_match(self, person: Person) -> Candidate | None:
        """The stored person (or earlier row) ``person`` most probably is, if any."""
        found = self.index.find_matches(
            self.record(person), limit=1, kinds=(Person.entity_type,)
        )
        return found[0] if found and found[0].matched else None

    def indexed(self, person: Person) -> None:
        """Index a person the batch creates or changes (undone by `rollback`)."""
        record_id = str(person.id)
        index = self.index
        previous = index.values(record_id) if record_id in index else None
        kind = index.kind_of(record_id) if previous else Person.entity_type
        self._journal.append((record_id, previous, kind))
        record = self.record(person)
        if previous and not record["company"]:
            record["company"] = previous["company"]  # an employer not looked up
        index.upsert(record, kind=Person.entity_type)

    def commit(self) -> None:
        """Keep the batch's index changes."""
        self._journal.clear()

    def rollback(self) -> None:
        """Undo the batch's index changes, latest first."""
        while self._journal:
            record_id, previous, kind = self._journal.pop()
            if previous is None:
                self.index.remove(record_id)
            else:
                self.index.upsert(previous, kind=kind, normalised=True)
