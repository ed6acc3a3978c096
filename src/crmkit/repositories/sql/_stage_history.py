"""Stage history in SQL: one ``stage_history`` row a stay, read per deal or in bulk."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import TYPE_CHECKING, Any, Final
from uuid import UUID

from sqlalchemy import Connection, bindparam, insert, select, update

from crmkit.errors import NotFound
from crmkit.ids import UserId
from crmkit.repositories._ports import StageEntry, StageVisit
from crmkit.repositories._stages import chain_stays, check_entries, check_override
from crmkit.repositories.sql._tables import STAGE_HISTORY

if TYPE_CHECKING:
    from crmkit.repositories.sql._database import SqlUnitOfWork

__all__ = ["SqlStageHistory"]

_CHUNK: Final = 500
"""Deal ids per ``IN (...)``: well under every dialect's parameter limit."""

_T = STAGE_HISTORY
_CLOSE: Final = (
    update(_T)
    .where(_T.c.id == bindparam("row_id"))
    .values(exited_at=bindparam("exited"), exited_by=bindparam("exiter"))
)


def _visit(row: Any) -> StageVisit:
    return StageVisit(
        deal_id=row.deal_id,
        pipeline=row.pipeline,
        stage=row.stage,
        entered_at=row.entered_at,
        entered_by=row.entered_by,
        exited_at=row.exited_at,
        exited_by=row.exited_by,
        probability=row.probability,
        override=row.override,
        override_by=row.override_by,
    )


def _row(stay: StageVisit) -> dict[str, Any]:
    return {
        "deal_id": stay.deal_id,
        "pipeline": stay.pipeline,
        "stage": stay.stage,
        "probability": stay.probability,
        "entered_at": stay.entered_at,
        "entered_by": stay.entered_by,
        "exited_at": stay.exited_at,
        "exited_by": stay.exited_by,
        "override": stay.override,
        "override_by": stay.override_by,
    }


class SqlStageHistory:
    """
    Stage history inside one `SqlUnitOfWork`'s transaction.

    .. versionadded:: 0.1
    """

    def __init__(self, unit: SqlUnitOfWork) -> None:
        self._unit = unit

    @property
    def _connection(self) -> Connection:
        return self._unit.connection()

    def _open_rows(self, deal_ids: list[UUID]) -> dict[UUID, tuple[int, StageVisit]]:
        """Each deal's open stay with its row id, a few hundred deals a query."""
        found: dict[UUID, tuple[int, StageVisit]] = {}
        for start in range(0, len(deal_ids), _CHUNK):
            rows = self._connection.execute(
                select(_T).where(
                    _T.c.deal_id.in_(deal_ids[start : start + _CHUNK]),
                    _T.c.exited_at.is_(None),
                )
            )
            found.update((row.deal_id, (row.id, _visit(row))) for row in rows)
        return found

    def enter(self, entries: Iterable[StageEntry]) -> None:
        """Record deals entering stages, in order (see `StageHistoryRepository`)."""
        self._unit.ensure_writable()
        checked = check_entries(entries)
        if not checked:
            return
        open_rows = self._open_rows(list(dict.fromkeys(e.deal_id for e in checked)))
        closed, new = chain_stays(
            checked, {deal_id: stay for deal_id, (_, stay) in open_rows.items()}
        )
        if closed:
            self._connection.execute(
                _CLOSE,
                [
                    {
                        "row_id": open_rows[deal_id][0],
                        "exited": stay.exited_at,
                        "exiter": stay.exited_by,
                    }
                    for deal_id, stay in closed.items()
                ],
            )
        self._connection.execute(insert(_T), [_row(stay) for stay in new])

    def override(
        self,
        deal_id: UUID,
        probability: float,
        *,
        at: datetime,
        actor: UserId | None = None,
    ) -> None:
        """Record an owner's probability on the deal's open stay."""
        self._unit.ensure_writable()
        found = self._open_rows([deal_id]).get(deal_id)
        if found is None:
            raise NotFound("open stage stay of deal", deal_id)
        row_id, stay = found
        value, _ = check_override(stay, probability, at)
        self._connection.execute(
            update(_T)
            .where(_T.c.id == row_id)
            .values(override=value, override_by=actor)
        )

    def visits(self, deal_id: UUID) -> list[StageVisit]:
        """The deal's stays, oldest first (empty when it has none)."""
        return self.visits_of([deal_id])[deal_id]

    def visits_of(self, deal_ids: Iterable[UUID]) -> dict[UUID, list[StageVisit]]:
        """The stays of many deals, a few hundred deals a query; every id is a key."""
        ids = list(dict.fromkeys(deal_ids))
        found: dict[UUID, list[StageVisit]] = {deal_id: [] for deal_id in ids}
        for start in range(0, len(ids), _CHUNK):
            rows = self._connection.execute(
                select(_T)
                .where(_T.c.deal_id.in_(ids[start : start + _CHUNK]))
                .order_by(_T.c.id)
            )
            for row in rows:
                found[row.deal_id].append(_visit(row))
        return found
