"""The storage contract's stage history tests, mixed into `RepositoryContract`."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from typing import Any, Final
from uuid import UUID

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from crmkit.errors import NotFound, StorageError, ValidationError
from crmkit.ids import UserId
from crmkit.model import Deal
from crmkit.repositories import Database, StageEntry, StageVisit

__all__ = ["StageHistoryContract"]

_T0: Final = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
_ALICE: Final = UserId(UUID("00000000-0000-4000-8000-0000000a11ce"))
_BOB: Final = UserId(UUID("00000000-0000-4000-8000-000000000b0b"))
_STAGES: Final = ("qualify", "demo", "proposal", "won")


def _deal(number: int = 0) -> Deal:
    return Deal.create(at=_T0, name=f"Deal {number}", pipeline="sales", stage="qualify")


def _entry(
    deal: Deal,
    stage: str,
    minutes: float,
    *,
    actor: UserId | None = _ALICE,
    probability: float | None = 0.5,
) -> StageEntry:
    return StageEntry(
        deal_id=deal.id,
        pipeline="sales",
        stage=stage,
        at=_T0 + timedelta(minutes=minutes),
        actor=actor,
        probability=probability,
    )


def _enter(database: Database, *entries: StageEntry) -> None:
    with database.unit_of_work() as uow:
        uow.stage_history.enter(entries)
        uow.commit()


def _visits(database: Database, deal: Deal) -> list[StageVisit]:
    with database.unit_of_work(readonly=True) as uow:
        return uow.stage_history.visits(deal.id)


class StageHistoryContract:
    """
    Stage history: stays entered, closed, overridden, read per deal and in bulk.

    .. versionadded:: 0.1
    """

    def test_an_entry_opens_a_stay(self, database: Database) -> None:
        """A deal's first entry is one open stay with its actor and probability."""
        deal = _deal()
        _enter(database, _entry(deal, "qualify", 0, probability=0.1))
        assert [
            StageVisit(
                deal_id=deal.id,
                pipeline="sales",
                stage="qualify",
                entered_at=_T0,
                entered_by=_ALICE,
                probability=0.1,
            )
        ] == _visits(database, deal)

    def test_the_next_entry_closes_the_open_stay(self, database: Database) -> None:
        """Entering a stage ends the stay before it, at that time, by that actor."""
        deal = _deal()
        _enter(database, _entry(deal, "qualify", 0, probability=0.1))
        _enter(database, _entry(deal, "demo", 90, actor=_BOB, probability=0.4))
        first, second = _visits(database, deal)
        later = _T0 + timedelta(minutes=90)
        assert (
            (later, _BOB, 0.1, timedelta(minutes=90)),
            ("demo", later, _BOB, None, 0.4),
        ) == (
            (first.exited_at, first.exited_by, first.probability, first.duration),
            (
                second.stage,
                second.entered_at,
                second.entered_by,
                second.exited_at,
                second.probability,
            ),
        )

    def test_entries_of_one_deal_in_one_call_chain(self, database: Database) -> None:
        """Several entries of a deal in one call make contiguous stays, in order."""
        deal = _deal()
        _enter(
            database,
            *(_entry(deal, stage, 10 * n) for n, stage in enumerate(_STAGES)),
        )
        _enter(database, _entry(deal, "qualify", 60, actor=None))
        stays = _visits(database, deal)
        assert (
            [*_STAGES, "qualify"],
            [s.exited_at for s in stays[:-1]],
            None,
            None,
        ) == (
            [s.stage for s in stays],
            [s.entered_at for s in stays[1:]],
            stays[-1].exited_at,
            stays[-1].entered_by,
        )

    def test_times_are_kept_in_utc(self, database: Database) -> None:
        """An entry at an aware time in another zone reads back as the same instant."""
        deal = _deal()
        paris = timezone(timedelta(hours=1))
        entry = StageEntry(
            deal_id=deal.id,
            pipeline="sales",
            stage="qualify",
            at=datetime(2026, 3, 2, 10, 0, tzinfo=paris),
        )
        _enter(database, entry)
        (stay,) = _visits(database, deal)
        assert (_T0, UTC) == (stay.entered_at, stay.entered_at.tzinfo)

    def test_visits_of_reads_many_deals_at_once(self, database: Database) -> None:
        """Bulk reads key every deal asked, its stays in order; unknown is empty."""
        deals = [_deal(n) for n in range(3)]
        _enter(
            database,
            *(_entry(d, "qualify", n) for n, d in enumerate(deals)),
            _entry(deals[0], "demo", 30),
        )
        unknown = _deal(9)
        with database.unit_of_work(readonly=True) as uow:
            found = uow.stage_history.visits_of([deals[0].id, deals[2].id, unknown.id])
        assert (
            [deals[0].id, deals[2].id, unknown.id],
            ["qualify", "demo"],
            ["qualify"],
            [],
        ) == (
            list(found),
            [s.stage for s in found[deals[0].id]],
            [s.stage for s in found[deals[2].id]],
            found[unknown.id],
        )

    def test_an_override_marks_the_open_stay(self, database: Database) -> None:
        """An owner's probability is kept on the open stay, beside the stage's."""
        deal = _deal()
        _enter(database, _entry(deal, "qualify", 0, probability=0.1))
        with database.unit_of_work() as uow:
            uow.stage_history.override(
                deal.id, 0.35, at=_T0 + timedelta(minutes=5), actor=_BOB
            )
            uow.commit()
        _enter(database, _entry(deal, "demo", 10, probability=0.4))
        first, second = _visits(database, deal)
        assert ((0.1, 0.35, _BOB), (0.4, None)) == (
            (first.probability, first.override, first.override_by),
            (second.probability, second.override),
        )

    def test_an_override_needs_an_open_stay(self, database: Database) -> None:
        """Overriding a deal with no history raises NotFound naming the deal."""
        deal = _deal()
        with database.unit_of_work() as uow, pytest.raises(NotFound) as caught:
            uow.stage_history.override(deal.id, 0.5, at=_T0)
        assert deal.id == caught.value.entity_id

    @pytest.mark.parametrize(
        ("field", "value", "code"),
        [
            ("at", datetime(2026, 3, 2, 9, 0), "datetime.naive"),  # noqa: DTZ001 - naive on purpose
            ("probability", 1.5, "probability.range"),
            ("probability", "high", "type"),
            ("stage", " ", "required"),
            ("pipeline", "", "required"),
        ],
    )
    def test_a_bad_entry_is_refused_and_nothing_written(
        self, database: Database, field: str, value: Any, code: str
    ) -> None:
        """A bad entry raises ValidationError naming its index and field."""
        deal = _deal()
        good = _entry(deal, "qualify", 0)
        fields = {
            "deal_id": deal.id,
            "pipeline": "sales",
            "stage": "demo",
            "at": _T0,
            field: value,
        }
        with database.unit_of_work() as uow:
            with pytest.raises(ValidationError) as caught:
                uow.stage_history.enter([good, StageEntry(**fields)])
            uow.commit()
        assert ([f"entries[1].{field}"], [code], []) == (
            [e.path for e in caught.value.errors],
            [e.code for e in caught.value.errors],
            _visits(database, deal),
        )

    def test_an_entry_before_the_open_stay_is_refused(self, database: Database) -> None:
        """History stays time-ordered: entering before the open stay began fails."""
        deal = _deal()
        _enter(database, _entry(deal, "demo", 60))
        with database.unit_of_work() as uow, pytest.raises(ValidationError) as caught:
            uow.stage_history.enter([_entry(deal, "proposal", 30)])
        assert (["entries[0].at"], "time.order") == (
            [e.path for e in caught.value.errors],
            caught.value.errors[0].code,
        )

    def test_a_bad_override_is_refused(self, database: Database) -> None:
        """An override outside [0, 1], naive, or before the stay began is refused."""
        deal = _deal()
        _enter(database, _entry(deal, "demo", 60))
        codes = []
        for probability, at in (
            (-0.1, _T0 + timedelta(hours=2)),
            (0.5, datetime(2026, 3, 2, 12, 0)),  # noqa: DTZ001 - naive on purpose
            (0.5, _T0),
        ):
            with database.unit_of_work() as uow:
                with pytest.raises(ValidationError) as caught:
                    uow.stage_history.override(deal.id, probability, at=at)
                codes.append(caught.value.errors[0].code)
        assert (["probability.range", "datetime.naive", "time.order"], None) == (
            codes,
            _visits(database, deal)[0].override,
        )

    def test_history_commits_with_the_deal_or_not_at_all(
        self, database: Database
    ) -> None:
        """Stays written beside a deal change share its unit: rolled back together."""
        deal = _deal()
        with database.unit_of_work() as uow:
            uow.deals.add(deal)
            uow.stage_history.enter([_entry(deal, "qualify", 0)])
            seen_inside = len(uow.stage_history.visits(deal.id))
        with database.unit_of_work() as uow:
            uow.deals.add(deal)
            uow.stage_history.enter([_entry(deal, "qualify", 0)])
            uow.commit()
        moved = deal.update({"stage": "demo"}, at=_T0 + timedelta(minutes=5)).entity
        with database.unit_of_work() as uow:
            uow.deals.update(moved)
            uow.stage_history.enter([_entry(deal, "demo", 5)])
            # left without commit: both the update and the stay roll back
        with database.unit_of_work(readonly=True) as uow:
            stored = uow.deals.get(deal.id)
            stays = uow.stage_history.visits(deal.id)
        assert (1, 1, ["qualify"], None) == (
            seen_inside,
            stored.version,
            [s.stage for s in stays],
            stays[0].exited_at,
        )

    def test_a_read_only_unit_refuses_history_writes(self, database: Database) -> None:
        """Entering or overriding in a read-only unit raises StorageError."""
        deal = _deal()
        with database.unit_of_work(readonly=True) as uow:
            with pytest.raises(StorageError):
                uow.stage_history.enter([_entry(deal, "qualify", 0)])
            with pytest.raises(StorageError):
                uow.stage_history.override(deal.id, 0.5, at=_T0)

    @settings(
        max_examples=20,
        deadline=None,
        # One database serves every example (each uses new deals), and each
        # subclass runs this same method on its own kind of database.
        suppress_health_check=[
            HealthCheck.function_scoped_fixture,
            HealthCheck.differing_executors,
        ],
    )
    @given(
        moves=st.lists(
            st.tuples(
                st.integers(0, 2),
                st.sampled_from(_STAGES),
                st.integers(0, 120),
                st.booleans(),
            ),
            min_size=1,
            max_size=12,
        )
    )
    def test_stays_are_contiguous_and_time_ordered(
        self, database: Database, moves: list[tuple[int, str, int, bool]]
    ) -> None:
        """Whatever the batches, each deal's stays chain: exit is the next entry."""
        deals = [_deal(n) for n in range(3)]  # new ids: each example starts empty
        clock = dict.fromkeys((d.id for d in deals), 0)
        pending: list[StageEntry] = []
        for number, stage, step, flush in moves:
            deal = deals[number]
            clock[deal.id] += step
            pending.append(_entry(deal, stage, clock[deal.id]))
            if flush:
                _enter(database, *pending)
                pending.clear()
        _enter(database, *pending)
        with database.unit_of_work(readonly=True) as uow:
            found = uow.stage_history.visits_of(d.id for d in deals)
        for deal in deals:
            stays = found[deal.id]
            assert [s.exited_at for s in stays[:-1]] == [
                s.entered_at for s in stays[1:]
            ]
            assert all(s.entered_at <= (s.exited_at or s.entered_at) for s in stays)
            assert all(s.exited_at is None for s in stays[-1:])
