"""The batch path: the same rules as one deal at a time, on arrays."""

from datetime import UTC, datetime, timedelta

import numpy as np
import pytest

from crmkit.errors import ValidationError
from crmkit.pipelines import (
    ApprovalPresent,
    BatchHistory,
    DealPipeline,
    FieldCondition,
    Stage,
    TransitionTable,
)

AT = datetime(2026, 2, 2, tzinfo=UTC)


def pipeline():
    return DealPipeline(
        "b2b",
        [
            Stage("prospecting", 0.1),
            Stage("qualified", 0.3, guards=[FieldCondition("employees", "ge", 50)]),
            Stage("proposal", 0.6, required_fields=["amount"]),
            Stage("won", 1.0, "closed", outcome="won", guards=[ApprovalPresent("cfo")]),
            Stage("lost", 0.0, "omitted", outcome="lost"),
        ],
        lost_reasons=["price", "timing"],
    )


@pytest.fixture
def table():
    return TransitionTable.from_pipeline(pipeline())


def test_codes_and_probabilities(table):
    assert table.states == ("prospecting", "qualified", "proposal", "won", "lost")
    assert table.transition_code("proposal") == table.transitions.index("proposal")
    assert list(table.state_codes(["won", "prospecting"])) == [3, 0]
    assert table.probabilities[2] == 0.6
    with pytest.raises(ValidationError, match="not a state"):
        table.state_codes(["nope"])
    with pytest.raises(ValidationError, match="not a transition"):
        table.transition_code("nope")


def test_guards_run_on_columns_and_refusals_explain_themselves(table):
    states = table.state_codes(["prospecting"] * 4)
    employees = np.array([10.0, 80.0, np.nan, 50.0])
    moves = table.apply(
        states,
        table.transition_code("qualified"),
        at=AT,
        columns={"employees": employees},
    )
    assert list(moves.moved) == [False, True, False, True]
    assert list(moves.target) == [0, 1, 0, 1]
    assert list(moves.refused) == [0, 2]
    assert (
        moves.explain(0)
        == "'qualified' from 'prospecting' to 'qualified': employees ge 50 failed"
    )
    assert moves.explain(1) is None
    again = table.apply(
        moves.target,
        table.transition_code("qualified"),
        at=AT,
        columns={"employees": employees},
    )
    assert again.explain(1) == "no transition 'qualified' from 'qualified'"
    with pytest.raises(ValidationError, match="employees"):
        table.apply(states, table.transition_code("qualified"), at=AT)


def test_required_fields_approvals_and_lost_reasons(table):
    states = table.state_codes(["qualified"] * 3)
    amounts = np.array([None, "100", ""], dtype=object)
    moves = table.apply(
        states, table.transition_code("proposal"), at=AT, columns={"amount": amounts}
    )
    assert list(moves.moved) == [False, True, False]
    assert "required fields amount" in moves.explain(0)
    won = table.apply(
        moves.target,
        table.transition_code("won"),
        at=AT,
        approvals={"cfo": np.array([True, True, False])},
    )
    assert list(won.moved) == [True, True, False]
    assert "approval 'cfo'" in won.explain(2)
    lost = table.apply(states, table.transition_code("lost"), at=AT)
    assert not lost.moved.any()
    assert "needs a reason (price, timing)" in lost.explain(0)
    reasons = np.array(["price", "weather", None], dtype=object)
    lost = table.apply(
        states, table.transition_code("lost"), at=AT, columns={"lost_reason": reasons}
    )
    assert list(lost.moved) == [True, False, False]


def test_per_row_transitions_and_bad_input(table):
    states = table.state_codes(["prospecting", "qualified"])
    moves = np.array(
        [table.transition_code("qualified"), table.transition_code("prospecting")],
        dtype=np.int16,
    )
    result = table.apply(
        states, moves, at=AT, columns={"employees": np.array([60, 60])}
    )
    assert list(result.target) == [1, 0]
    with pytest.raises(ValidationError, match="naive"):
        table.apply(states, moves, at=datetime(2026, 2, 2))  # noqa: DTZ001 - the bad input under test
    with pytest.raises(ValidationError, match=r"codes are 0\.\.4"):
        table.apply(np.array([7]), 0, at=AT)
    with pytest.raises(ValidationError, match="codes are"):
        table.apply(states, 99, at=AT)


def test_batch_history_records_what_moved(table):
    states = table.state_codes(["prospecting"] * 3)
    history = BatchHistory(3)
    history.start(states, at=AT)
    later = AT + timedelta(days=2)
    moves = table.apply(
        states,
        table.transition_code("qualified"),
        at=later,
        columns={"employees": np.array([1, 99, 99])},
    )
    history.record(moves)
    rows, source, target, times = history.arrays()
    assert list(rows) == [0, 1, 2, 1, 2]
    assert list(source) == [-1, -1, -1, 0, 0]
    assert list(target) == [0, 0, 0, 1, 1]
    micros = (later - datetime(1970, 1, 1, tzinfo=UTC)) // timedelta(microseconds=1)
    assert times[-1] == micros
    assert history.entered_at[1] == micros
    assert history.entered_at[0] < micros
    assert len(history) == 5
    empty = BatchHistory(0).arrays()
    assert all(len(a) == 0 for a in empty)
