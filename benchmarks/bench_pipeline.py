"""
Move deals through a sales pipeline: crmkit against python-statemachine and transitions.

Every side runs the same pipeline (prospecting, qualified, demo, proposal,
negotiation, then won or lost) and the same script of ten events per deal:
advance, advance, advance, advance, back, back, advance, advance, back, then win
(even deals) or lose (odd deals). Each side is written in its own idiomatic style:

- crmkit, one deal at a time: deals opened together (``DealPipeline.open_many``),
  then ``DealPipeline.move/win/lose`` on `crmkit.model.Deal` values one deal at a
  time, every event fed to a `StageHistory` (so history and events are included;
  the timed run ends with a history query, which packs the entries the history
  still holds in lists); the time to open them one at a time with
  ``DealPipeline.open`` is printed too;
- crmkit, batch: a `TransitionTable` over a numpy array of stage codes, with a
  `BatchHistory` recording every move;
- python-statemachine: one ``StateMachine`` per deal (its model is the deal);
- transitions: one shared ``Machine`` holding every deal as a model.

With ``--rounds N`` every side runs N times, in turn (all sides once, then
again), and the table shows each side's best setup and best rate: on a shared
machine that keeps a passing load from deciding the ratios.
Each side checks its results after its timed run (crmkit: every deal's final
stage, status, lost reason, version and times, the number of history entries,
and the stages and times in the history of a thousand deals).
Times are CPU time of the running thread (``time.thread_time``), as the machine may
be shared. The peers are slow to set up (the issue measured 55-95 s for 100,000
deals), so they run on ``--peer-deals`` deals (default 10,000) and their rates are
per transition.
Memory per deal is measured with tracemalloc on ``--memory-deals`` deals, after all
their transitions, history included. The forecast sums amount x probability of
``--forecast-deals`` deals (default 10 x deals) grouped by quarter and owner:
crmkit's `forecast_arrays` against a plain Python loop over the same rows.

Run from the repository root::

    .venv/bin/python benchmarks/bench_pipeline.py [--deals N] [--peer-deals N]
        [--rounds N]
"""

from __future__ import annotations

import argparse
import gc
import importlib.metadata
import itertools
import platform
import time
import tracemalloc
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import numpy as np
from rich.console import Console
from rich.table import Table
from statemachine import State as SmState
from statemachine import StateMachine
from transitions import Machine

from crmkit.model import DealStatus
from crmkit.pipelines import (
    BatchHistory,
    DealPipeline,
    Stage,
    StageHistory,
    TransitionTable,
    forecast_arrays,
)
from crmkit.values import Money

OPEN = ["prospecting", "qualified", "demo", "proposal", "negotiation"]
SCRIPT = ["advance"] * 4 + ["back", "back", "advance", "advance", "back", "close"]
START = datetime(2026, 1, 5, 9, tzinfo=UTC)
NEXT = dict(itertools.pairwise(OPEN))
PREVIOUS = {b: a for a, b in itertools.pairwise(OPEN)}


def crmkit_pipeline() -> DealPipeline:
    odds = [0.1, 0.2, 0.4, 0.6, 0.8]
    return DealPipeline(
        "sales",
        [
            *(Stage(name, p) for name, p in zip(OPEN, odds, strict=True)),
            Stage("won", 1.0, "closed", outcome="won"),
            Stage("lost", 0.0, "omitted", outcome="lost"),
        ],
        lost_reasons=["price", "competitor"],
        allow_skip=False,
    )


class SalesMachine(StateMachine):  # type: ignore[misc]
    prospecting = SmState(initial=True)
    qualified = SmState()
    demo = SmState()
    proposal = SmState()
    negotiation = SmState()
    won = SmState(final=True)
    lost = SmState(final=True)

    advance = (
        prospecting.to(qualified)
        | qualified.to(demo)
        | demo.to(proposal)
        | proposal.to(negotiation)
    )
    back = (
        qualified.to(prospecting)
        | demo.to(qualified)
        | proposal.to(demo)
        | negotiation.to(proposal)
    )
    win = (
        prospecting.to(won)
        | qualified.to(won)
        | demo.to(won)
        | proposal.to(won)
        | negotiation.to(won)
    )
    lose = (
        prospecting.to(lost)
        | qualified.to(lost)
        | demo.to(lost)
        | proposal.to(lost)
        | negotiation.to(lost)
    )


class DealModel:
    """A plain deal for the peers: their machines keep its state."""

    def __init__(self, number: int) -> None:
        self.number = number
        self.state = "prospecting"


def transitions_machine(models: list[DealModel]) -> Machine:
    rules = [
        *(
            {"trigger": "advance", "source": a, "dest": b}
            for a, b in itertools.pairwise(OPEN)
        ),
        *(
            {"trigger": "back", "source": b, "dest": a}
            for a, b in itertools.pairwise(OPEN)
        ),
        {"trigger": "win", "source": OPEN, "dest": "won"},
        {"trigger": "lose", "source": OPEN, "dest": "lost"},
    ]
    return Machine(
        model=models,
        states=[*OPEN, "won", "lost"],
        transitions=rules,
        initial="prospecting",
        auto_transitions=False,
    )


def check(condition: object, what: object) -> None:
    """Stop the run when a side did not do what the others did."""
    if not condition:
        msg = f"disagreement: {what}"
        raise SystemExit(msg)


def at(step: int) -> datetime:
    return START + timedelta(hours=step + 1)


# --- the sides: each returns (setup seconds, transition seconds, transitions, state)


def run_crmkit(deals: int) -> tuple[float, float, int, Any]:
    sales = crmkit_pipeline()
    history = StageHistory()
    amount = Money(Decimal(12000), "EUR")
    started = time.thread_time()
    opened = sales.open_many(
        at=START,
        name=[f"Deal {number}" for number in range(deals)],
        amount=[amount] * deals,
    )
    for moved in opened:
        history.record(moved.events)
    book = [moved.entity for moved in opened]
    del opened
    setup = time.thread_time() - started
    started = time.thread_time()
    for step, event in enumerate(SCRIPT):
        when = at(step)
        if event == "close":
            for number, deal in enumerate(book):
                if number % 2:
                    moved = sales.lose(deal, "price", at=when)
                else:
                    moved = sales.win(deal, at=when)
                history.record(moved.events)
                book[number] = moved.entity
            continue
        targets = NEXT if event == "advance" else PREVIOUS
        for number, deal in enumerate(book):
            moved = sales.move(deal, targets[deal.stage], at=when)
            history.record(moved.events)
            book[number] = moved.entity
    # A query ends the timed run: it packs the entries StageHistory still holds
    # in its lists (up to a few thousand), so every entry is paid for here.
    last_visits = history.visits(book[-1].id)
    count = deals * len(SCRIPT)
    elapsed = time.thread_time() - started
    check_crmkit(book, history, last_visits)
    return setup, elapsed, count, (book, history)


def check_crmkit(book: list[Any], history: StageHistory, last: Any) -> None:
    """Every deal went through the script: its stage, status, version, history."""
    deals = len(book)
    won = sum(deal.status is DealStatus.WON for deal in book)
    check(won == (deals + 1) // 2, won)
    check(
        len(history) == deals * (len(SCRIPT) + 1),
        "len(history) == deals * (len(SCRIPT) + 1)",
    )
    closed = at(len(SCRIPT) - 1)
    wrong = [
        number
        for number, deal in enumerate(book)
        if (deal.stage, deal.lost_reason)
        != (("lost", "price") if number % 2 else ("won", None))
        or deal.version != len(SCRIPT) + 1
        or deal.updated_at != closed
        or deal.closed_at != closed
    ]
    check(not wrong, f"deals {wrong[:5]} did not end as the script says")
    stages = ["prospecting"]
    for event in SCRIPT[:-1]:
        stages.append((NEXT if event == "advance" else PREVIOUS)[stages[-1]])
    times = [START, *(at(step) for step in range(len(SCRIPT)))]
    odds = {stage.name: stage.probability for stage in crmkit_pipeline().stages}
    for number in [*range(0, deals, max(1, deals // 1000)), deals - 1]:
        visits = history.visits(book[number].id)
        outcome = "lost" if number % 2 else "won"
        check(
            [v.stage for v in visits] == [*stages, outcome],
            f"deal {number} history: {[v.stage for v in visits]}",
        )
        check([v.entered_at for v in visits] == times, f"deal {number} history times")
        check(
            [v.probability for v in visits] == [odds[v.stage] for v in visits],
            f"deal {number} history odds",
        )
    check(last == history.visits(book[-1].id), "the last deal's history")


def open_one_at_a_time(deals: int) -> float:
    """Seconds to open ``deals`` deals with `DealPipeline.open`, history included."""
    sales = crmkit_pipeline()
    history = StageHistory()
    amount = Money(Decimal(12000), "EUR")
    started = time.thread_time()
    book = []
    for number in range(deals):
        moved = sales.open(at=START, name=f"Deal {number}", amount=amount)
        history.record(moved.events)
        book.append(moved.entity)
    return time.thread_time() - started


def run_crmkit_batch(deals: int) -> tuple[float, float, int, Any]:
    table = TransitionTable.from_pipeline(crmkit_pipeline())
    started = time.thread_time()
    states = np.zeros(deals, dtype=np.int16)
    history = BatchHistory(deals)
    history.start(states, at=START)
    setup = time.thread_time() - started
    codes = {name: table.transition_code(name) for name in table.transitions}
    forward = np.array([codes.get(NEXT.get(s, ""), 0) for s in table.states], np.int16)
    backward = np.array(
        [codes.get(PREVIOUS.get(s, ""), 0) for s in table.states], np.int16
    )
    close = np.where(np.arange(deals) % 2, codes["lost"], codes["won"]).astype(np.int16)
    reasons = np.full(deals, "price", dtype=object)
    count = 0
    started = time.thread_time()
    for step, event in enumerate(SCRIPT):
        if event == "advance":
            moves = table.apply(states, forward[states], at=at(step))
        elif event == "back":
            moves = table.apply(states, backward[states], at=at(step))
        else:
            moves = table.apply(
                states, close, at=at(step), columns={"lost_reason": reasons}
            )
        check(moves.moved.all(), "moves.moved.all()")
        history.record(moves)
        states = moves.target
        count += deals
    elapsed = time.thread_time() - started
    check(
        int((states == table.states.index("won")).sum()) == (deals + 1) // 2,
        'int((states == table.states.index("won")).sum()) == (deals + 1) // 2',
    )
    return setup, elapsed, count, (states, history)


def run_statemachine(deals: int) -> tuple[float, float, int, Any]:
    started = time.thread_time()
    models = [DealModel(n) for n in range(deals)]
    machines = [SalesMachine(model) for model in models]
    setup = time.thread_time() - started
    started = time.thread_time()
    for event in SCRIPT:
        if event == "close":
            for number, machine in enumerate(machines):
                machine.send("lose" if number % 2 else "win")
        else:
            for machine in machines:
                machine.send(event)
    count = deals * len(SCRIPT)
    elapsed = time.thread_time() - started
    check(
        sum(m.state == "won" for m in models) == (deals + 1) // 2,
        'sum(m.state == "won" for m in models) == (deals + 1) // 2',
    )
    return setup, elapsed, count, machines


def run_transitions(deals: int) -> tuple[float, float, int, Any]:
    started = time.thread_time()
    models = [DealModel(n) for n in range(deals)]
    machine = transitions_machine(models)
    setup = time.thread_time() - started
    started = time.thread_time()
    for event in SCRIPT:
        if event == "close":
            for number, model in enumerate(models):
                if number % 2:
                    model.lose()
                else:
                    model.win()
        else:
            for model in models:
                getattr(model, event)()
    count = deals * len(SCRIPT)
    elapsed = time.thread_time() - started
    check(
        sum(m.state == "won" for m in models) == (deals + 1) // 2,
        'sum(m.state == "won" for m in models) == (deals + 1) // 2',
    )
    return setup, elapsed, count, (machine, models)


SIDES: dict[str, Callable[[int], tuple[float, float, int, Any]]] = {
    "crmkit (one deal at a time)": run_crmkit,
    "crmkit (batch, numpy)": run_crmkit_batch,
    "python-statemachine": run_statemachine,
    "transitions": run_transitions,
}


def bytes_per_deal(run: Callable[[int], Any], deals: int) -> float:
    gc.collect()
    tracemalloc.start()
    before = tracemalloc.get_traced_memory()[0]
    kept = run(deals)
    gc.collect()
    after = tracemalloc.get_traced_memory()[0]
    tracemalloc.stop()
    del kept
    return (after - before) / deals


def forecast_rows(size: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(7)
    amounts = rng.integers(1_000, 100_000, size).astype(np.float64)
    odds = rng.choice([0.1, 0.2, 0.4, 0.6, 0.8], size)
    groups = rng.integers(0, 4 * 50, size)  # 4 quarters x 50 owners
    return amounts, odds, groups


def naive_forecast(rows: list[tuple[float, float, int]]) -> dict[int, float]:
    sums: dict[int, float] = {}
    for amount, probability, group in rows:
        sums[group] = sums.get(group, 0.0) + amount * probability
    return sums


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0].strip())
    parser.add_argument("--deals", type=int, default=100_000)
    parser.add_argument("--peer-deals", type=int, default=10_000)
    parser.add_argument("--memory-deals", type=int, default=10_000)
    parser.add_argument("--forecast-deals", type=int, default=None)
    parser.add_argument("--rounds", type=int, default=1)
    args = parser.parse_args(argv)
    forecast_size = args.forecast_deals or 10 * args.deals
    console = Console(width=120)
    versions = ", ".join(
        f"{name} {importlib.metadata.version(name)}"
        for name in ("python-statemachine", "transitions", "numpy")
    )
    console.print(f"Python {platform.python_version()}, {versions}")

    best: dict[str, tuple[float, float]] = {}
    for _ in range(args.rounds):  # every side once a round, so load hits all alike
        for name, run in SIDES.items():
            size = args.peer_deals if "crmkit" not in name else args.deals
            gc.collect()
            setup, elapsed, count, kept = run(size)
            del kept
            setup_before, rate_before = best.get(name, (setup, 0.0))
            best[name] = (min(setup, setup_before), max(count / elapsed, rate_before))
    results = {}
    for name, run in SIDES.items():
        size = args.peer_deals if "crmkit" not in name else args.deals
        memory = bytes_per_deal(run, min(size, args.memory_deals))
        results[name] = (size, *best[name], memory)
    fastest_peer = max(
        rate for name, (_, _, rate, _) in results.items() if "crmkit" not in name
    )
    rounds = f", best of {args.rounds} rounds" if args.rounds > 1 else ""
    table = Table(title=f"{len(SCRIPT)} transitions per deal{rounds}")
    for column in (
        "side",
        "deals",
        "setup s",
        "setup /100k deals",
        "transitions/s",
        "x fastest peer",
        "bytes/deal",
    ):
        table.add_column(column, justify="left" if column == "side" else "right")
    for name, (size, setup, rate, memory) in results.items():
        table.add_row(
            name,
            f"{size:,}",
            f"{setup:.3f}",
            f"{setup * 100_000 / size:.2f} s",
            f"{rate:,.0f}",
            f"{rate / fastest_peer:.2f}",
            f"{memory:,.0f}",
        )
    console.print(table)
    single = open_one_at_a_time(args.deals)
    console.print(
        f"crmkit setup above: DealPipeline.open_many; with DealPipeline.open one "
        f"deal at a time: {single:.3f} s for {args.deals:,} deals"
    )

    amounts, odds, groups = forecast_rows(forecast_size)
    started = time.thread_time()
    result = forecast_arrays(amounts, odds, groups=groups)
    ours = time.thread_time() - started
    rows = list(zip(amounts.tolist(), odds.tolist(), groups.tolist(), strict=True))
    started = time.thread_time()
    naive = naive_forecast(rows)
    theirs = time.thread_time() - started
    check(
        np.allclose([naive[g] for g in range(len(naive))], result.weighted),
        "np.allclose([naive[g] for g in range(len(naive))], result.weighted)",
    )
    table = Table(title=f"weighted forecast of {forecast_size:,} deals, 200 groups")
    for column in ("side", "seconds", "x naive"):
        table.add_column(column, justify="left" if column == "side" else "right")
    table.add_row("crmkit forecast_arrays", f"{ours:.4f}", f"{theirs / ours:.1f}")
    table.add_row("plain Python loop", f"{theirs:.4f}", "1.0")
    console.print(table)


if __name__ == "__main__":
    main()
