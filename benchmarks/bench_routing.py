"""
Lead routing: crmkit's compiled rule set versus the rule-engine package.

Same run, same 500 rules, same leads. Each rule is
``country == "XX" and employees >= N and score > M`` (50 countries, 10 size tiers,
largest first), plus 20 rules on ``industry in (...)``; the first rule that
matches wins. rule-engine evaluates the rules in order (its documented use:
``Rule.matches``); it is timed on a sample of the leads because it is slow, and
its answers are checked against crmkit's on that sample.

Usage: ``python benchmarks/bench_routing.py [LEADS]`` (default 1,000,000).
"""

from __future__ import annotations

import gc
import random
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime

import rule_engine

from crmkit.conditions import compile_many, parse
from crmkit.routing import Router, Rule, RuleSet, TeamSpec

COUNTRIES = [f"C{n:02d}" for n in range(50)]
INDUSTRIES = [f"industry{n}" for n in range(12)]
TIERS = [5000, 2000, 1000, 500, 250, 100, 50, 20, 10, 0]
SAMPLE = 2_000
NOW = datetime(2026, 3, 2, 10, tzinfo=UTC)


def rule_texts() -> list[str]:
    texts = []
    for index, country in enumerate(COUNTRIES):
        texts.extend(
            f'country == "{country}" and employees >= {tier} '
            f"and score > {(index * 7 + tier) % 90}"
            for tier in TIERS
        )
    # 20 rules that do not test the country: every lead tries them too.
    for n in range(20):
        chosen = ", ".join(f'"{i}"' for i in INDUSTRIES[n % 12 : n % 12 + 2])
        texts.insert(25 * n, f"industry in ({chosen}) and score > {95 - n % 5}")
    return texts[:500]


def rule_engine_text(text: str) -> str:
    """The same condition in rule-engine's syntax (lists use brackets)."""
    return text.replace("in (", "in [").replace(") and", "] and")


def make_leads(count: int) -> list[dict[str, object]]:
    rng = random.Random(7)
    return [
        {
            "id": str(n),
            "country": rng.choice(COUNTRIES),
            "employees": int(rng.paretovariate(1.2) * 5),
            "score": rng.randrange(100),
            "industry": rng.choice(INDUSTRIES),
        }
        for n in range(count)
    ]


CPU: dict[str, float] = {}
"""The best CPU time of each timed action, by name (wall time is what is returned)."""


def best_of(runs: int, action: Callable[[], object], name: str = "") -> float:
    """Best wall time of ``runs`` runs; the best CPU time goes to CPU[name]."""
    timings = []
    cpu = []
    for _ in range(runs):
        gc.collect()
        start, start_cpu = time.perf_counter(), time.process_time()
        action()
        timings.append(time.perf_counter() - start)
        cpu.append(time.process_time() - start_cpu)
    CPU[name] = min(cpu)
    return min(timings)


def main(count: int) -> None:
    texts = rule_texts()
    leads = make_leads(count)
    sample = leads[:SAMPLE]
    # The leads live for the whole run, as a loaded batch would: keep the cyclic
    # garbage collector from walking a million dicts while either side runs.
    gc.freeze()

    # Parse and compile the 500 conditions.
    load = best_of(10, lambda: compile_many([parse(t) for t in texts]), "load")
    engine_context = rule_engine.Context(default_value=None)
    engine_load = best_of(
        3,
        lambda: [
            rule_engine.Rule(rule_engine_text(t), context=engine_context) for t in texts
        ],
    )

    rules = RuleSet(
        rules=[
            Rule(name=f"r{n}", when=parse(text), assign="team:sales")
            for n, text in enumerate(texts)
        ],
        teams={"sales": TeamSpec(name="sales", members=["ana", "ben", "cid", "dee"])},
        default="user:zoe",
    )
    router = Router(rules)
    engine_rules = [
        rule_engine.Rule(rule_engine_text(t), context=engine_context) for t in texts
    ]

    def engine_first_match(lead: dict[str, object]) -> int | None:
        for index, rule in enumerate(engine_rules):
            if rule.matches(lead):
                return index
        return None

    engine_answers = []
    engine_time = best_of(
        1,
        lambda: engine_answers.extend(engine_first_match(lead) for lead in sample),
        "engine",
    )
    crmkit_answers = router.match_many(sample, now=NOW)
    if crmkit_answers != engine_answers:
        pairs = zip(crmkit_answers, engine_answers, strict=True)
        mismatches = sum(a != b for a, b in pairs)
        sys.exit(f"crmkit and rule-engine disagree on {mismatches} of {SAMPLE} leads")

    routed = Router(rules).route_many(sample, now=NOW)
    if [d.rule for d in routed] != [
        None if i is None else f"r{i}" for i in engine_answers
    ]:
        sys.exit("crmkit's route_many and its match_many disagree")

    match_time = best_of(3, lambda: router.match_many(leads, now=NOW), "match")
    route_time = best_of(3, lambda: Router(rules).route_many(leads, now=NOW), "route")
    read_time = best_of(
        1, lambda: list(Router(rules).route_many(leads, now=NOW)), "route+read"
    )
    matched = sum(answer is not None for answer in router.match_many(leads, now=NOW))

    rates = (
        ("rule-engine, rules in order", len(sample), engine_time, "engine"),
        ("crmkit Router.match_many", count, match_time, "match"),
        ("crmkit Router.route_many (+ round robin)", count, route_time, "route"),
        ("  ... and every Decision built and read", count, read_time, "route+read"),
    )
    engine_rate = len(sample) / engine_time
    engine_cpu_rate = len(sample) / CPU["engine"]
    print(f"bench_routing: {count:,} leads, {len(texts)} rules, {matched:,} matched")
    print(f"rule-engine timed on the first {len(sample):,} leads; answers identical")
    print()
    header = f"{'first matching rule of each lead':<42}{'leads/s':>10}{'ratio':>8}"
    print(f"{header}{'leads/CPU s':>13}{'ratio':>8}")
    for name, size, wall, key in rates:
        rate, cpu_rate = size / wall, size / CPU[key]
        print(
            f"{name:<42}{rate:>10,.0f}{rate / engine_rate:>7.1f}x"
            f"{cpu_rate:>13,.0f}{cpu_rate / engine_cpu_rate:>7.1f}x"
        )
    print()
    print(f"{'parse + compile the 500 rules':<42}{'ms':>10}{'CPU ms':>21}")
    print(f"{'crmkit (best of 10)':<42}{load * 1000:>10.1f}{CPU['load'] * 1000:>21.1f}")
    print(f"{'rule-engine, parse only (best of 3)':<42}{engine_load * 1000:>10.1f}")
    route_rate = count / route_time
    print()
    print(
        f"targets: >= 20x rule-engine: {route_rate / engine_rate:.0f}x; "
        f">= 200,000 leads/s: {route_rate:,.0f} (route_many); parse+compile "
        f"< 50 ms: {load * 1000:.1f} ms"
    )


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 1_000_000)
