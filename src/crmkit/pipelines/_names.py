"""
Stored organisations by normalised name, kept current from the outbox.

Names are compared as deduplication compares company names
(`crmkit.dedup.Normalizer.company`): case, accents, punctuation, ``&``/et/and and
legal forms do not count, so "ACME SAS" finds "Acme". Like `crmkit.dedup.catch_up`,
`OrganizationNames.catch_up` follows the outbox (`crmkit.repositories.follow_outbox`):
it reads the outbox after its cursor, re-reads each organisation named there as
stored now, and looks again for the ids it stepped over (a transaction that
commits late) while they are among the last 1,000.
"""

from __future__ import annotations

from typing import TYPE_CHECKING
from uuid import UUID

from crmkit.model import Organization
from crmkit.repositories import (
    Database,
    UnitOfWork,
    follow_outbox,
    in_,
    start_following,
)

if TYPE_CHECKING:
    from crmkit.dedup import Normalizer, Tables

__all__ = ["OrganizationNames"]


class OrganizationNames:
    """
    The ids of stored organisations by normalised name: lookups in constant time.

    Build it with `build`, keep it current with `catch_up` (after commits), and
    ask `named`. It is a hint: check what it names against the store, as
    `crmkit.pipelines.find_conversion_matches` does.

    Args:
        tables: Normalisation tables (default: the shipped ones).

    Attributes:
        cursor: The last outbox message applied.
        gaps: Outbox ids below the cursor not seen yet.

    .. versionadded:: 0.1
    """

    def __init__(self, *, tables: Tables | None = None) -> None:
        # crmkit.dedup (numpy, rapidfuzz) loads when names are first indexed,
        # not with every import of crmkit.pipelines.
        from crmkit.dedup import Normalizer  # noqa: PLC0415

        self._normalizer: Normalizer = (
            Normalizer() if tables is None else Normalizer(tables=tables)
        )
        self._ids: dict[str, set[UUID]] = {}
        self._keys: dict[UUID, str] = {}
        self.cursor = 0
        self.gaps: set[int] = set()

    def __len__(self) -> int:
        return len(self._keys)

    def key(self, name: str | None) -> str:
        """A name as it is compared (``""``: nothing left to compare)."""
        return self._normalizer.company(name) if name and name.strip() else ""

    def named(self, name: str | None) -> tuple[UUID, ...]:
        """The ids of the organisations indexed under the same normalised name."""
        key = self.key(name)
        return tuple(sorted(self._ids.get(key, ()))) if key else ()

    def put(self, organization_id: UUID, name: str | None) -> None:
        """Index an organisation under its name; `None` takes it out."""
        old = self._keys.pop(organization_id, None)
        if old is not None:
            ids = self._ids[old]
            ids.discard(organization_id)
            if not ids:
                del self._ids[old]
        key = self.key(name)
        if key:
            self._keys[organization_id] = key
            self._ids.setdefault(key, set()).add(organization_id)

    @classmethod
    def build(
        cls,
        database: Database,
        *,
        tables: Tables | None = None,
        batch_size: int = 1000,
    ) -> OrganizationNames:
        """Index every active organisation of a database, with the cursor set."""
        names = cls(tables=tables)
        with database.unit_of_work(readonly=True) as uow:
            start_following(names, uow)
            for batch in uow.organizations.batches(size=batch_size):
                for organization in batch:
                    names.put(organization.id, organization.name)
        return names

    def catch_up(self, database: Database, *, batch_size: int = 1000) -> int:
        """
        Apply every change stored since the cursor; move the cursor.

        Returns:
            The number of organisations re-read.
        """
        return follow_outbox(
            self,
            database,
            lambda uow, touched: self._refresh(uow, touched[Organization.entity_type]),
            entity_types=(Organization.entity_type,),
            batch_size=batch_size,
        )

    def _refresh(self, uow: UnitOfWork, wanted: list[UUID]) -> None:
        page = uow.organizations.find(where={"id": in_(wanted)}, limit=len(wanted))
        found: dict[UUID, str] = {o.id: o.name for o in page.items}
        for organization_id in wanted:
            self.put(organization_id, found.get(organization_id))
