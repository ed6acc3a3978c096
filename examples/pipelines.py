"""
Pipelines: a B2B deal moved from prospecting to won, stored, and forecast by quarter.

Defines a deal pipeline as data, opens deals, moves them (showing a refused move and
why), wins one and loses another with a reason, stores them in a SQLite database in a
temporary directory, reads the stage history back, and prints the quarterly forecast
with its roll-ups.

Run it with ``python examples/pipelines.py``.
"""

import tempfile
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from uuid import UUID

from crmkit.errors import TransitionNotAllowed
from crmkit.ids import UserId
from crmkit.model import Deal
from crmkit.pipelines import (
    DealPipeline,
    Moved,
    Stage,
    forecast,
    stage_visits,
    store_moves,
)
from crmkit.repositories.sql import SqlDatabase
from crmkit.values import Money

ALICE = UserId(UUID("00000000-0000-4000-8000-0000000a11ce"))
BOB = UserId(UUID("00000000-0000-4000-8000-000000000b0b"))
SALES = DealPipeline(
    "b2b",
    [
        Stage("prospecting", 0.1, rotting_days=14),
        Stage("qualified", 0.25),
        Stage("proposal", 0.6, "best_case", required_fields=["amount"]),
        Stage("negotiation", 0.8, "commit"),
        Stage("won", 1.0, "closed", outcome="won"),
        Stage("lost", 0.0, "omitted", outcome="lost"),
    ],
    lost_reasons=["price", "competitor", "no budget"],
)


def main() -> None:
    """Move two deals, store them, and print their history and the forecast."""
    start = datetime(2026, 1, 12, 9, 0, tzinfo=UTC)
    opened = SALES.open(at=start, actor=ALICE, name="Acme renewal")
    changes: list[Moved[Deal] | Deal] = [opened]
    acme = opened.entity
    moved = SALES.move(acme, "qualified", at=start + timedelta(days=3), actor=ALICE)
    changes.append(moved)
    acme = moved.entity
    try:
        SALES.move(acme, "proposal", at=start + timedelta(days=5))
    except TransitionNotAllowed as error:
        print(f"refused: {error.requirement} (from {error.stage} to {error.target})")
    acme = acme.update(
        {"amount": Money(Decimal(42000), "EUR")}, at=start + timedelta(days=5)
    ).entity
    changes.append(acme)  # a plain edit: no stage change
    for stage, days in (("proposal", 6), ("negotiation", 20)):
        moved = SALES.move(acme, stage, at=start + timedelta(days=days), actor=BOB)
        changes.append(moved)
        acme = moved.entity
    moved = SALES.win(acme, at=start + timedelta(days=30), actor=BOB)
    changes.append(moved)
    acme = moved.entity
    globex_moves = [
        SALES.open(
            at=start,
            name="Globex expansion",
            amount=Money(Decimal(18000), "EUR"),
            expected_close_date=date(2026, 5, 15),
        )
    ]
    globex_moves.append(
        SALES.lose(globex_moves[-1].entity, "competitor", at=start + timedelta(days=9))
    )
    globex_moves.append(
        SALES.restore(
            globex_moves[-1].entity, at=start + timedelta(days=40), to="qualified"
        )
    )
    globex = globex_moves[-1].entity

    with tempfile.TemporaryDirectory() as folder:
        db = SqlDatabase.sqlite(Path(folder) / "crm.db")
        db.upgrade(at=start)
        with db.unit_of_work() as uow:
            for change in changes:
                if isinstance(change, Deal):
                    uow.deals.update(change, actor=ALICE)
                else:
                    store_moves(uow, [change])
            store_moves(uow, globex_moves)
            uow.commit()
        with db.unit_of_work(readonly=True) as uow:
            for visit in stage_visits(uow, acme.id):
                left = visit.exited_at.date() if visit.exited_at else "now"
                print(
                    f"{visit.stage:12} {visit.entered_at.date()} -> {left} "
                    f"at {visit.probability:.0%}"
                )
        db.dispose()

    quarterly = forecast([acme, globex], currency="EUR", by=["period"])
    for row in quarterly.rows:
        print(
            f"{row.key[0]}: {row.deals} deals, weighted {row.weighted} EUR, "
            f"closed {row.closed}, commit {row.commit}, best case {row.best_case}"
        )


if __name__ == "__main__":
    main()
