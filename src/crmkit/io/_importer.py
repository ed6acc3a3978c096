"""
Importing a CSV or JSON lines file into a database, in transactional batches.

The run, in order:

1. the mapping is checked against the custom field schema, and the database
   is opened (a database crmkit cannot use is refused here);
2. the file is inspected whole (`crmkit.io._readers.inspect_file`): encoding,
   delimiter, quoting, header; a mapped column missing from the file is
   refused. Nothing has been stored yet when any of this fails;
3. rows are read ``batch_size`` at a time; each is turned into plain data and
   validated (pure, outside any transaction); refused rows go to the rejects
   file, and the accepted rows of the batch are stored in one unit of work;
4. the rejects file is renamed into place, and a summary returned.

Re-imports and interrupted imports: each created entity carries a key in
``external_ids``. With ``external_id`` in the mapping's options that key is the
legacy id, and a row whose legacy id is already stored updates that entity
(only the fields the row gives). Without it, the key is the row's number under
the system ``crmkit-import:<first 16 hex digits of the file's SHA-256>``: the
same file imported again, say after the process was killed, skips the rows
already stored and completes the rest, so no row is stored twice. Since each
batch is one transaction, a killed import leaves whole batches or nothing.

Dedup (``dedup=`` a `DedupPolicy`, people only): each row that would create a
person is first checked against the people stored and the earlier rows of the
file (`crmkit.io._dedup`); a match is skipped, merged, held for review or
created anyway, as the policy says, and listed in the dedup file. A re-run is
as safe as without dedup: created rows carry their row keys, and merging the
same row again changes nothing.
"""

from __future__ import annotations

import contextlib
import difflib
from collections.abc import Callable, Iterable, Iterator, Mapping
from datetime import datetime
from itertools import islice
from pathlib import Path
from typing import IO, Any, Final, Literal
from uuid import UUID

import attrs
import cattrs
from immutabledict import immutabledict

from crmkit._validation import aware_utc
from crmkit.dedup import DedupConfig, DedupIndex
from crmkit.errors import (
    AlreadyExists,
    ConcurrencyError,
    FieldError,
    ImportRejected,
    InvalidDefinition,
    NotFound,
    ValidationError,
)
from crmkit.ids import OrganizationId
from crmkit.io._dedup import (
    DedupLine,
    DedupPolicy,
    DedupWriter,
    ImportDedup,
    fill_blanks,
)
from crmkit.io._files import Reject, RejectsWriter, atomic_text_file
from crmkit.io._mapping import ENTITIES, ROW_KEY_PREFIX, ImportMapping, quote_key
from crmkit.io._readers import (
    FileFormat,
    Record,
    SourceFile,
    inspect_file,
    read_records,
)
from crmkit.io._transform import PlannedRow, RowTransformer, Validated, validate_row
from crmkit.model import Entity, EntitySchema, Organization, OrganizationRole, Person
from crmkit.repositories import Database, UnitOfWork, in_
from crmkit.serialization import make_converter
from crmkit.values import PostalAddress

__all__ = ["ImportProgress", "ImportSummary", "import_entities", "row_key_system"]

_NAMES_PER_QUERY: Final = 500
_STORAGE_REFUSALS: Final = (AlreadyExists, ConcurrencyError, NotFound, ValidationError)
"""What a repository may refuse for one row; the batch is then stored without it."""


@attrs.frozen(kw_only=True)
class ImportProgress:
    """
    How far an import is: reported before the first batch, then after each.

    .. versionadded:: 0.1
    """

    rows_done: int
    rows_total: int


@attrs.frozen(kw_only=True)
class ImportSummary:
    """
    What an import did.

    ``read == created + updated + unchanged + rejected + skipped_already_imported
    + blank + duplicates_skipped + duplicates_merged + duplicates_for_review``
    always holds.

    Attributes:
        read: Data rows read (blank lines are not rows).
        created: Entities created.
        updated: Existing entities changed (matched by their legacy id).
        unchanged: Existing entities the row matched but did not change.
        rejected: Rows refused; each has at least one line in the rejects file.
        skipped_already_imported: Rows an earlier run of the same file stored.
        blank: Rows whose every cell is empty, skipped.
        organizations_created: Organisations created for a ``company`` column.
        duplicates_skipped: Rows matching a stored person or an earlier row,
            not stored (policy ``skip``).
        duplicates_merged: Rows merged into the person they match (``merge``).
        duplicates_for_review: Rows matching, not stored, listed for review
            (``review``).
        duplicates_created: Rows matching, created all the same (``create``;
            counted in ``created`` too).
        dedup_path: The dedup file (one line per matching row), when dedup ran.
        dedup_lines: Lines written to the dedup file.
        problems: Lines written to the rejects file (a row may have several).
        unmapped_columns: The file's columns the mapping ignores.
        rejects_path: The rejects file (written even when empty).
        format: ``"csv"`` or ``"jsonl"``.
        encoding: The encoding the file was read with.
        delimiter: The CSV delimiter used (`None` for JSON lines).

    .. versionadded:: 0.1
    """

    read: int = 0
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    rejected: int = 0
    skipped_already_imported: int = 0
    blank: int = 0
    organizations_created: int = 0
    duplicates_skipped: int = 0
    duplicates_merged: int = 0
    duplicates_for_review: int = 0
    duplicates_created: int = 0
    dedup_path: Path | None = None
    dedup_lines: int = 0
    problems: int = 0
    unmapped_columns: tuple[str, ...] = ()
    rejects_path: Path
    format: FileFormat
    encoding: str
    delimiter: str | None


def row_key_system(digest: str) -> str:
    """The external id system of an import's row keys, from the file's SHA-256."""
    return f"{ROW_KEY_PREFIX}{digest[:16]}"


_Outcome = Literal[
    "created", "updated", "unchanged", "skipped", "rejected", "duplicate", "merged"
]
_ACTIONS: Final = {
    DedupPolicy.SKIP: "skipped",
    DedupPolicy.MERGE: "merged",
    DedupPolicy.REVIEW: "review",
    DedupPolicy.CREATE: "created",
}


@attrs.define
class _Counts:
    read: int = 0
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    rejected: int = 0
    skipped: int = 0
    blank: int = 0
    organizations: int = 0
    duplicates: dict[str, int] = attrs.field(
        factory=lambda: dict.fromkeys(_ACTIONS.values(), 0)
    )


@attrs.define
class _Organizations:
    """
    Organisations found or created, by tidied name and by legacy id.

    A batch also holds what it looked up ahead (the stored organisations with
    each name) and the organisations it creates, which are added together
    before the batch's own entities.
    """

    by_name: dict[str, OrganizationId] = attrs.field(factory=dict)
    by_key: dict[str, OrganizationId] = attrs.field(factory=dict)
    created: int = 0
    named: dict[str, list[Organization]] = attrs.field(factory=dict)
    new: list[Organization] = attrs.field(factory=list)

    def merge(self, other: _Organizations) -> None:
        self.by_name.update(other.by_name)
        self.by_key.update(other.by_key)
        self.created += other.created


class _RowRefused(Exception):  # noqa: N818 - internal signal, never escapes
    def __init__(self, rejects: tuple[Reject, ...]) -> None:
        self.rejects = rejects
        super().__init__(rejects)


def _batches(records: Iterable[Record], size: int) -> Iterator[list[Record]]:
    iterator = iter(records)
    while batch := list(islice(iterator, size)):
        yield batch


class _Importer:
    def __init__(
        self,
        database: Database,
        source: SourceFile,
        mapping: ImportMapping,
        *,
        at: datetime,
        schemas: Mapping[type[Entity], EntitySchema],
        converter: cattrs.Converter,
        dedup: ImportDedup | None = None,
    ) -> None:
        self.database = database
        self.source = source
        self.mapping = mapping
        self.at = at
        self.cls = ENTITIES[mapping.entity]
        self.schema = schemas.get(self.cls)
        self.organization_schema = schemas.get(Organization)
        self.converter = converter
        self.transform = RowTransformer(mapping, self.schema)
        self.row_keys = row_key_system(source.digest)
        options = mapping.options
        self.external = options.external_id
        self.company_key = options.company_external_id
        self.organizations = _Organizations()
        self.counts = _Counts()
        self.dedup = dedup
        self.dedup_lines: list[DedupLine] = []

    # Pure steps -------------------------------------------------------------------

    def _key(self, plan: PlannedRow) -> tuple[str, str, bool]:
        """(system, value, is a row key): what identifies the row's entity."""
        key = plan.external_key
        if self.external is not None and key is not None:
            return self.external.system, key, False
        return self.row_keys, str(plan.row), True

    def _validate(self, record: Record) -> Validated | tuple[Reject, ...]:
        plan = self.transform(record)
        system, value, row_key = self._key(plan)
        validated = validate_row(
            plan,
            self.cls,
            at=self.at,
            converter=self.converter,
            external_ids={system: value},
            updatable=not row_key,
        )
        if validated.entity is None:
            return validated.rejects
        return validated

    # One batch --------------------------------------------------------------------

    def run_batch(self, records: list[Record]) -> list[Reject]:
        rejects: list[Reject] = []
        accepted: list[Validated] = []
        for record in records:
            self.counts.read += 1
            if record.blank:
                self.counts.blank += 1
                continue
            if record.problems:
                rejects.extend(record.problems)
                self.counts.rejected += 1
                continue
            result = self._validate(record)
            if isinstance(result, Validated):
                accepted.append(result)
            else:
                rejects.extend(result)
                self.counts.rejected += 1
        for outcome, refused in self._store(accepted):
            if outcome == "rejected":
                rejects.extend(refused)
                self.counts.rejected += 1
            elif outcome == "skipped":
                self.counts.skipped += 1
            elif outcome in {"duplicate", "merged"}:
                pass  # counted by action, from the dedup lines
            else:
                setattr(self.counts, outcome, getattr(self.counts, outcome) + 1)
        return sorted(rejects, key=lambda r: r.row)

    def _store(
        self, accepted: list[Validated]
    ) -> list[tuple[_Outcome, tuple[Reject, ...]]]:
        """
        Store the accepted rows in one unit of work, looking up and adding in bulk.

        Should the repository refuse that (a legacy id taken by another entity,
        an archived entity to update, a concurrent writer), each half is stored
        on its own, and so on down to the refused rows, which are rejected: one
        row never blocks the others.
        """
        try:
            return self._store_together(accepted)
        except _STORAGE_REFUSALS as error:
            if self.dedup is not None:
                self.dedup.rollback()
            if len(accepted) > 1:
                middle = len(accepted) // 2
                return self._store(accepted[:middle]) + self._store(accepted[middle:])
            reject = Reject(
                row=accepted[0].plan.row,
                line=accepted[0].plan.line,
                column="",
                value="",
                reason=f"the database refused it: {error}",
                code="storage.refused",
            )
            return [("rejected", (reject,))]

    def _store_together(
        self, accepted: list[Validated]
    ) -> list[tuple[_Outcome, tuple[Reject, ...]]]:
        staged = _Organizations()
        outcomes: list[tuple[_Outcome, tuple[Reject, ...]]] = []
        lines: list[DedupLine] = []
        with self.database.unit_of_work() as uow:
            known = self._stored(uow, accepted)
            self._look_up_companies(uow, accepted, staged)
            pending: list[Entity] = []
            created: set[tuple[str, str]] = set()
            for item in accepted:
                system, value, _ = self._key(item.plan)

                def flush() -> None:
                    self._add_pending(uow, pending, staged)
                    created.clear()

                if (system, value) in created:
                    # A second row for an entity this batch creates: store the
                    # creations so far, so that this row updates it as usual.
                    flush()
                    known.update(self._stored(uow, [item]))
                try:
                    outcome = self._apply(
                        uow, item, staged, existing=known.get((system, value))
                    )
                    if self.dedup is not None and isinstance(outcome, Person):
                        outcome = self._deduplicated(
                            uow,
                            item,
                            outcome,
                            pending=pending,
                            flush=flush,
                            lines=lines,
                        )
                except _RowRefused as refusal:
                    outcomes.append(("rejected", refusal.rejects))
                    continue
                if isinstance(outcome, Entity):
                    pending.append(outcome)
                    created.add((system, value))
                    outcome = "created"
                outcomes.append((outcome, ()))
            self._add_pending(uow, pending, staged)
            uow.commit()
        self.organizations.merge(staged)
        self.counts.organizations += staged.created
        if self.dedup is not None:
            self.dedup.commit()
            self.dedup_lines.extend(lines)
            for line in lines:
                self.counts.duplicates[line.action] += 1
        return outcomes

    def _deduplicated(
        self,
        uow: UnitOfWork,
        item: Validated,
        person: Person,
        *,
        pending: list[Entity],
        flush: Callable[[], None],
        lines: list[DedupLine],
    ) -> _Outcome | Entity:
        """What the dedup policy does with a person the row would create."""
        dedup = self.dedup
        assert dedup is not None  # noqa: S101 - checked by the caller
        if item.plan.company is not None and person.roles:
            dedup.companies[person.roles[0].organization_id] = item.plan.company[0]
        candidate = dedup.best_match(person)
        if candidate is None:
            dedup.indexed(person)
            return person
        line = DedupLine(
            row=item.plan.row,
            line=item.plan.line,
            action=_ACTIONS[dedup.policy],
            candidate=candidate,
            record=dedup.record(person),
        )
        if dedup.policy is DedupPolicy.MERGE:
            self._merge(
                uow,
                item,
                person,
                UUID(candidate.record_id),
                pending=pending,
                flush=flush,
            )
        lines.append(line)
        if dedup.policy is DedupPolicy.CREATE:
            dedup.indexed(person)
            return person
        return "merged" if dedup.policy is DedupPolicy.MERGE else "duplicate"

    def _merge(
        self,
        uow: UnitOfWork,
        item: Validated,
        person: Person,
        target: UUID,
        *,
        pending: list[Entity],
        flush: Callable[[], None],
    ) -> None:
        """Merge the row's person into the stored one it matches (`fill_blanks`)."""
        assert self.dedup is not None  # noqa: S101 - checked by the caller
        if any(entity.id == target for entity in pending):
            flush()  # an earlier row of this batch: store it, then merge into it
        stored = uow.people.get(target)
        try:
            merged = stored.update(
                fill_blanks(stored, person), at=self.at, schema=self.schema
            )
        except ValidationError as error:
            raise _RowRefused(tuple(map(item.plan.translate, error.errors))) from None
        if merged.event.changes:
            uow.people.update(merged.entity)
            self.dedup.indexed(merged.entity)

    def _add_pending(
        self, uow: UnitOfWork, pending: list[Entity], staged: _Organizations
    ) -> None:
        """Add the organisations and entities created so far, and forget them."""
        uow.organizations.add_many(staged.new)
        uow.repository(self.cls).add_many(pending)
        staged.new.clear()
        pending.clear()

    def _stored(
        self, uow: UnitOfWork, accepted: list[Validated]
    ) -> dict[tuple[str, str], Entity]:
        """The stored entities the rows name, by (system, legacy id or row key)."""
        wanted: dict[str, set[str]] = {}
        for item in accepted:
            system, value, _ = self._key(item.plan)
            wanted.setdefault(system, set()).add(value)
        repository = uow.repository(self.cls)
        return {
            (system, value): entity
            for system, values in wanted.items()
            for value, entity in repository.find_by_external_ids(system, values).items()
        }

    def _look_up_companies(
        self, uow: UnitOfWork, accepted: list[Validated], staged: _Organizations
    ) -> None:
        """Find, in a few queries, the organisations the rows name, into ``staged``."""
        keys: set[str] = set()
        names: set[str] = set()
        for plan in (item.plan for item in accepted):
            if plan.company is None:
                continue
            key = plan.company_key if self.company_key is not None else None
            if key is not None and key not in self.organizations.by_key:
                keys.add(key)
                names.add(plan.company[0])
            elif key is None and plan.company[0] not in self.organizations.by_name:
                names.add(plan.company[0])
        if keys:
            system = self.company_key.system  # type: ignore[union-attr]
            found = uow.organizations.find_by_external_ids(system, keys)
            staged.by_key.update((key, o.id) for key, o in found.items())
        staged.named = {name: [] for name in names}
        for organization in _named(uow, sorted(names)):
            staged.named[organization.name].append(organization)

    def _apply(
        self,
        uow: UnitOfWork,
        item: Validated,
        staged: _Organizations,
        *,
        existing: Entity | None,
    ) -> _Outcome | Entity:
        """
        What the row does to ``existing``, the entity stored under its key.

        An update is stored here; a new entity is returned for the caller to add.
        """
        _, _, row_key = self._key(item.plan)
        if existing is not None and row_key:
            return "skipped"
        if existing is None and item.update_only:
            raise _RowRefused(item.rejects)
        organization = (
            self._organization(uow, item, staged) if item.plan.company else None
        )
        entity = item.entity
        assert entity is not None  # noqa: S101 - update_only or valid
        if existing is None:
            if organization is not None and isinstance(entity, Person):
                entity = attrs.evolve(
                    entity,
                    roles=(
                        OrganizationRole(organization_id=organization, is_primary=True),
                    ),
                )
            return entity
        changes = self._changes(existing, item, organization)
        try:
            updated = existing.update(changes, at=self.at, schema=self.schema)
        except ValidationError as error:
            raise _RowRefused(tuple(map(item.plan.translate, error.errors))) from None
        if not updated.event.changes:
            return "unchanged"
        uow.repository(self.cls).update(updated.entity)
        return "updated"

    def _changes(
        self, existing: Entity, item: Validated, organization: OrganizationId | None
    ) -> dict[str, Any]:
        """The fields the row gives, merged into the existing entity."""
        plan, new = item.plan, item.entity
        changes = {
            field: getattr(new, field) for field in plan.given - {"addresses", "custom"}
        }
        if plan.address_parts:
            addresses: tuple[PostalAddress, ...] = existing.addresses  # type: ignore[attr-defined]
            base = addresses[0] if addresses else PostalAddress()
            given = new.addresses[0]  # type: ignore[union-attr]
            merged = attrs.evolve(
                base, **{part: getattr(given, part) for part in plan.address_parts}
            )
            changes["addresses"] = (merged, *addresses[1:])
        if plan.custom_keys:
            custom = new.custom  # type: ignore[union-attr]
            changes["custom"] = {
                **existing.custom,
                **{key: custom[key] for key in plan.custom_keys if key in custom},
            }
        if organization is not None and isinstance(existing, Person):
            roles = _with_primary(existing.roles, organization)
            if roles != existing.roles:
                changes["roles"] = roles
        return changes

    def _organization(
        self, uow: UnitOfWork, item: Validated, staged: _Organizations
    ) -> OrganizationId:
        """Find the row's company by legacy id or exact name, or create it."""
        assert item.plan.company is not None  # noqa: S101 - checked by the caller
        name, _ = item.plan.company
        key = item.plan.company_key if self.company_key is not None else None
        if key is not None:
            known = staged.by_key.get(key) or self.organizations.by_key.get(key)
        else:
            known = staged.by_name.get(name) or self.organizations.by_name.get(name)
        if known is not None:
            return known
        return self._find_or_create(uow, item, staged, name, key)

    def _find_or_create(
        self,
        uow: UnitOfWork,
        item: Validated,
        staged: _Organizations,
        name: str,
        key: str | None,
    ) -> OrganizationId:
        _, source = item.plan.company  # type: ignore[misc]
        system = self.company_key.system if self.company_key is not None else None
        named = staged.named[name]
        candidates = [o for o in named if key is None or system not in o.external_ids]

        def refuse(reason: str, code: str) -> _RowRefused:
            return _RowRefused(
                (
                    Reject(
                        row=item.plan.row,
                        line=item.plan.line,
                        column=source.column,
                        value=source.value,
                        reason=reason,
                        field="company",
                        code=code,
                    ),
                )
            )

        if len(candidates) > 1:
            raise refuse(
                f"{len(candidates)} organizations are named {name!r}; merge them, "
                "or give the company's legacy id",
                "company.ambiguous",
            )
        external = {system: key} if system is not None and key is not None else {}
        if candidates:
            organization = candidates[0]
            if external:
                organization = self._with_key(uow, organization, external, staged)
                named[named.index(candidates[0])] = organization
        else:
            try:
                organization = Organization.create(
                    at=self.at,
                    name=name,
                    external_ids=external,
                    schema=self.organization_schema,
                )
            except ValidationError as error:
                raise refuse(
                    f"cannot create organization {name!r}: {error}", "company.invalid"
                ) from None
            staged.new.append(organization)
            named.append(organization)
            staged.created += 1
        if key is not None:
            staged.by_key[key] = organization.id
        else:
            staged.by_name[name] = organization.id
        return organization.id

    def _with_key(
        self,
        uow: UnitOfWork,
        organization: Organization,
        external: dict[str, str],
        staged: _Organizations,
    ) -> Organization:
        """The organisation with a legacy id added; stored, unless still to add."""
        external_ids = {**organization.external_ids, **external}
        if organization in staged.new:
            keyed = attrs.evolve(organization, external_ids=immutabledict(external_ids))
            staged.new[staged.new.index(organization)] = keyed
            return keyed
        changed = organization.update({"external_ids": external_ids}, at=self.at)
        uow.organizations.update(changed.entity)
        return changed.entity


@contextlib.contextmanager
def _optional_file(path: Path | None) -> Iterator[IO[str] | None]:
    """`atomic_text_file` when there is a path, else nothing."""
    if path is None:
        yield None
        return
    with atomic_text_file(path) as handle:
        yield handle


def _named(uow: UnitOfWork, names: list[str]) -> Iterator[Organization]:
    """The stored organisations having one of ``names``."""
    for start in range(0, len(names), _NAMES_PER_QUERY):
        where = {"name": in_(names[start : start + _NAMES_PER_QUERY])}
        for page in uow.organizations.batches(size=1000, where=where):
            yield from page


def _with_primary(
    roles: tuple[OrganizationRole, ...], organization: OrganizationId
) -> tuple[OrganizationRole, ...]:
    """The roles with ``organization``'s as the primary one (added if missing)."""
    current = next((r for r in roles if r.organization_id == organization), None)
    if current is not None and current.is_primary:
        return roles
    updated = [
        attrs.evolve(role, is_primary=role.organization_id == organization)
        for role in roles
    ]
    if current is None:
        updated.append(OrganizationRole(organization_id=organization, is_primary=True))
    return tuple(updated)


def _check_columns(
    mapping: ImportMapping, source: SourceFile, wanted: Iterable[str]
) -> None:
    """Refuse a mapping naming a column the file lacks, or that its header repeats."""
    header = ", ".join(quote_key(c) for c in source.columns) or "(none)"
    keys = {
        "options.external_id.column": mapping.options.external_id,
        "options.company_external_id.column": mapping.options.company_external_id,
    }
    for column in wanted:
        count = source.columns.count(column)
        if count == 1:
            continue
        if count > 1:
            error = FieldError(
                "line 1",
                column,
                "csv.header",
                f"the header has column {quote_key(column)} {count} times; "
                "which one to import is ambiguous",
            )
            raise ImportRejected(source.path.name, error, line=1)
        path = next(
            (p for p, key in keys.items() if key is not None and key.column == column),
            f"columns.{quote_key(column)}",
        )
        close = difflib.get_close_matches(column, source.columns, n=1)
        hint = f" (did you mean {quote_key(close[0])}?)" if close else ""
        noun = "key" if source.format == "jsonl" else "column"
        raise InvalidDefinition(
            path,
            f"{source.path.name} has no {noun} {quote_key(column)}{hint}; "
            f"its {noun}s: {header}",
        )


def import_entities(
    database: Database,
    path: str | Path,
    *,
    mapping: ImportMapping,
    at: datetime,
    rejects_path: str | Path | None = None,
    format: FileFormat | None = None,  # noqa: A002 - the option's name
    schemas: Mapping[type[Entity], EntitySchema] | None = None,
    progress: Callable[[ImportProgress], None] | None = None,
    dedup: DedupPolicy | None = None,
    dedup_path: str | Path | None = None,
    dedup_config: DedupConfig | None = None,
    dedup_index: DedupIndex | None = None,
) -> ImportSummary:
    """
    Import a CSV or JSON lines file into ``database``, as ``mapping`` says.

    Every row is validated; a refused row is written to the rejects file (one
    line per problem: row, column, value, reason) and never blocks the rest of
    its batch. Accepted rows are stored ``mapping.options.batch_size`` rows at
    a time, one transaction per batch. Importing the same file again after an
    interruption completes it without storing any row twice.

    Args:
        database: Where to store the entities.
        path: The CSV (``.csv``, any other suffix) or JSON lines (``.jsonl``,
            ``.ndjson``) file.
        mapping: Which column feeds which field; see `ImportMapping`.
        at: When the import happens: the creation and update time of every
            entity it stores (timezone-aware).
        rejects_path: Where to write the rejects file; default
            ``<input>.rejects.csv`` beside the input. It is written atomically,
            and written even when empty, so it always describes this run.
        format: ``"csv"`` or ``"jsonl"``; from the file's suffix by default.
        schemas: Custom field schemas by entity class; custom values are then
            typed and checked (and their columns checked against the schema).
        progress: Called once the file is inspected, then after each batch,
            with how many rows are done out of how many.
        dedup: Check each row that would create a person against the people
            stored and the file's earlier rows, and apply this policy to the
            matches (see `DedupPolicy`); people only.
        dedup_path: Where to write the dedup file (one line per matching row:
            the row, the candidate, its probability, the evidence); default
            ``<input>.dedup.csv`` beside the input. Written only with ``dedup``.
        dedup_config: How people are compared (default: `contact_config`).
        dedup_index: An index of the database's people to check against
            (`crmkit.dedup.build_index`, perhaps saved and loaded), brought up
            to date first and kept current by the import; by default one is
            built when the import starts.

    Returns:
        The counts of what happened; see `ImportSummary`.

    Raises:
        InvalidDefinition: The mapping does not fit the schema or the file
            (a mapped column the file does not have), or ``dedup`` is asked
            for entities other than people.
        ImportRejected: The file is not in its encoding, its CSV is malformed,
            or it has no header. Nothing was stored.
        StorageError: The database cannot be used (not a crmkit database...).
    """
    at = aware_utc(at, "at")
    file = Path(path)
    schemas = dict(schemas or {})
    cls = ENTITIES[mapping.entity]
    mapping.check_schema(schemas.get(cls))
    if dedup is not None and cls is not Person:
        raise InvalidDefinition(
            "dedup", f"dedup checks people; this mapping imports {mapping.entity}"
        )
    with database.unit_of_work(readonly=True):
        pass  # a database crmkit cannot use is refused before the file is read
    options = mapping.options
    source = inspect_file(
        file, format=format, encoding=options.encoding, delimiter=options.delimiter
    )
    converter = make_converter(schemas=schemas, phone_region=options.phone_region)
    checker = (
        None
        if dedup is None
        else ImportDedup(database, DedupPolicy(dedup), dedup_config, dedup_index)
    )
    importer = _Importer(
        database,
        source,
        mapping,
        at=at,
        schemas=schemas,
        converter=converter,
        dedup=checker,
    )
    wanted = importer.transform.columns
    _check_columns(mapping, source, wanted)
    target = (
        Path(rejects_path)
        if rejects_path is not None
        else file.with_name(f"{file.name}.rejects.csv")
    )
    dedup_target = None
    if dedup is not None:
        dedup_target = (
            Path(dedup_path)
            if dedup_path is not None
            else file.with_name(f"{file.name}.dedup.csv")
        )
    with atomic_text_file(target) as handle, _optional_file(dedup_target) as listing:
        writer = RejectsWriter(handle)
        dedup_writer = None if listing is None else DedupWriter(listing)
        done = 0
        if progress is not None:
            progress(ImportProgress(rows_done=0, rows_total=source.rows))
        for batch in _batches(read_records(source, wanted), options.batch_size):
            writer.write(importer.run_batch(batch))
            if dedup_writer is not None:
                dedup_writer.write(importer.dedup_lines)
                importer.dedup_lines.clear()
            done += len(batch)
            if progress is not None:
                progress(ImportProgress(rows_done=done, rows_total=source.rows))
    counts = importer.counts
    duplicates = counts.duplicates
    return ImportSummary(
        read=counts.read,
        created=counts.created,
        updated=counts.updated,
        unchanged=counts.unchanged,
        rejected=counts.rejected,
        skipped_already_imported=counts.skipped,
        blank=counts.blank,
        organizations_created=counts.organizations,
        duplicates_skipped=duplicates["skipped"],
        duplicates_merged=duplicates["merged"],
        duplicates_for_review=duplicates["review"],
        duplicates_created=duplicates["created"],
        dedup_path=dedup_target,
        dedup_lines=0 if dedup_writer is None else dedup_writer.lines,
        problems=writer.lines,
        unmapped_columns=tuple(c for c in source.columns if c and c not in wanted),
        rejects_path=target,
        format=source.format,
        encoding=source.encoding,
        delimiter=source.delimiter,
    )
