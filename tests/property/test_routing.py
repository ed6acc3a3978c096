"""Properties of routing: determinism, fair round robin, quotas, explained decisions."""

from collections import Counter
from datetime import UTC, datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st

from crmkit.conditions import parse
from crmkit.routing import (
    Assignment,
    Member,
    MemoryCursorStore,
    Router,
    Rule,
    RuleSet,
    TeamSpec,
    Unassigned,
    Workload,
)

NOW = datetime(2026, 3, 2, 10, tzinfo=UTC)
NAMES = [f"u{n}" for n in range(6)]
CONDITIONS = [
    'country == "FR"',
    'country in ("FR", "BE")',
    "score >= 50",
    "employees between 10 and 500",
    'country == "DE" and score < 30',
    "employees is empty",
    'not country == "CH"',
    "true",
]
LEADS = st.lists(
    st.fixed_dictionaries(
        {},
        optional={
            "country": st.sampled_from(["FR", "BE", "CH", "DE", ""]),
            "score": st.integers(0, 100),
            "employees": st.integers(0, 2000),
            "owner_id": st.sampled_from(["", "olga"]),
        },
    ),
    max_size=40,
)


@st.composite
def rule_sets(draw):
    # Half the time nobody is away or has a quota: teams are steady (the short
    # road of a batch) unless an entry filters.
    calm = draw(st.booleans())
    quotas = st.none() if calm else st.none() | st.integers(0, 5)
    members = {
        name: Member(
            name=name,
            daily_quota=draw(quotas),
            monthly_quota=draw(quotas),
            weight=draw(st.integers(0, 3)),
            active=calm or draw(st.booleans()),
        )
        for name in NAMES
    }
    strategies = st.sampled_from(
        ["round_robin", "weighted_round_robin", "least_loaded"]
    )
    teams = {
        f"t{n}": TeamSpec(
            name=f"t{n}",
            members=draw(
                st.lists(st.sampled_from(NAMES), min_size=1, max_size=4, unique=True)
            ),
            strategy=draw(strategies),
        )
        for n in range(3)
    }
    targets = st.sampled_from(
        [f"team:{name}" for name in teams] + [f"user:{n}" for n in NAMES]
    )
    rules = []
    for n in range(draw(st.integers(0, 5))):
        target = draw(targets)
        rules.append(
            Rule(
                name=f"r{n}",
                when=parse(draw(st.sampled_from(CONDITIONS))),
                assign=target,
                strategy=draw(st.none() | strategies)
                if target.startswith("team:")
                else None,
                keep_current_owner=draw(st.booleans()),
            )
        )
    return RuleSet(
        rules=rules,
        teams=teams,
        users=members,
        default=draw(st.none() | targets),
        mode=draw(st.sampled_from(["first_match", "capacity"])),
        keep_current_owner=draw(st.booleans()),
    )


WORKLOADS = st.builds(
    Workload,
    open_leads=st.dictionaries(st.sampled_from(NAMES), st.integers(0, 5)),
    assigned_today=st.dictionaries(st.sampled_from(NAMES), st.integers(0, 3)),
    assigned_this_month=st.dictionaries(st.sampled_from(NAMES), st.integers(0, 6)),
)
MOMENTS = st.integers(0, 24 * 14).map(lambda hours: NOW + timedelta(hours=hours))


@given(rule_sets(), WORKLOADS, LEADS, MOMENTS, st.booleans())
def test_routing_is_deterministic_for_the_same_state_and_input(
    rules, workload, leads, now, explain
):
    """Two routers from the same state give the same decisions."""
    first = Router(rules, workload=workload).route_many(leads, now=now, explain=explain)
    second = Router(rules, workload=workload).route_many(
        leads, now=now, explain=explain
    )
    assert first == second


@given(rule_sets(), WORKLOADS, LEADS, LEADS, MOMENTS)
def test_batches_decide_as_routing_one_lead_at_a_time(
    rules, workload, first, then, now
):
    """
    `route_many` (steady targets on the short road) equals `route` in turn.

    Two batches in a row: the second sees the loads the first one counted.
    """
    batched = Router(rules, workload=workload)
    batches = [*batched.route_many(first, now=now), *batched.route_many(then, now=now)]
    single = Router(rules, workload=workload)
    assert [single.route(lead, now=now) for lead in first + then] == batches


@given(st.integers(1, 7), st.integers(0, 60), st.integers(0, 100))
def test_plain_round_robin_counts_differ_by_at_most_one(size, count, start):
    """N members, any number of leads, any starting cursor: counts within one."""
    members = [f"m{n}" for n in range(size)]
    rules = RuleSet(
        rules=[Rule(name="all", when=parse("true"), assign="team:t")],
        teams={"t": TeamSpec(name="t", members=members)},
    )
    router = Router(rules, cursors=MemoryCursorStore({"team:t": start}))
    counts = Counter(d.owner for d in router.route_many([{}] * count, now=NOW))
    totals = [counts[name] for name in members]
    assert max(totals) - min(totals) <= 1
    assert count == sum(totals)


@given(rule_sets(), WORKLOADS, LEADS)
def test_no_quota_is_ever_exceeded(rules, workload, leads):
    """Assignments made by rules and defaults never push a member past a quota."""
    decisions = Router(rules, workload=workload).route_many(leads, now=NOW)
    counted = Counter(
        d.owner
        for d in decisions
        if isinstance(d, Assignment) and d.strategy != "keep_current_owner"
    )
    for name, member in rules.users.items():
        if member.daily_quota is not None:
            assert counted[name] == 0 or (
                workload.assigned_today.get(name, 0) + counted[name]
                <= member.daily_quota
            )
        if member.monthly_quota is not None:
            assert counted[name] == 0 or (
                workload.assigned_this_month.get(name, 0) + counted[name]
                <= member.monthly_quota
            )
        if not member.active:
            assert 0 == counted[name]


@given(rule_sets(), WORKLOADS, LEADS)
def test_every_lead_is_assigned_or_explained(rules, workload, leads):
    """One decision per lead; an Unassigned names what every rule said."""
    decisions = Router(rules, workload=workload).route_many(leads, now=NOW)
    assert len(leads) == len(decisions)
    for decision in decisions:
        assert decision.reasons
        if isinstance(decision, Unassigned):
            mentioned = {reason.rule for reason in decision.reasons}
            assert {rule.name for rule in rules.rules} <= mentioned
        else:
            assert decision.owner
