"""Lead routing: rule sets, strategies, availability, quotas, decisions and loading."""

from collections import Counter
from datetime import UTC, date, datetime
from pathlib import Path

import pytest

from crmkit.conditions import parse
from crmkit.errors import DefinitionSyntaxError, InvalidDefinition, ValidationError
from crmkit.model import Lead
from crmkit.routing import (
    Absence,
    AccountDirectory,
    Assignment,
    Member,
    MemoryCursorStore,
    Mode,
    Router,
    Rule,
    RuleSet,
    Shift,
    Strategy,
    Target,
    TeamSpec,
    Territory,
    Unassigned,
    Workload,
    lead_record,
    read_rules,
    rules_from_dict,
    rules_to_dict,
)
from crmkit.values import PostalAddress

# Monday 2 March 2026, 10:00 UTC (11:00 in Paris).
NOW = datetime(2026, 3, 2, 10, tzinfo=UTC)

# The rules file of issue 7, as written there.
ISSUE_FILE = (Path(__file__).parent / "data" / "routing_issue.toml").read_text(
    encoding="utf-8"
)


def owners(decisions):
    return [d.owner if isinstance(d, Assignment) else None for d in decisions]


def texts(decision):
    return [str(reason) for reason in decision.reasons]


def team_rules(strategy="round_robin", members=("alice", "bob", "chloe"), **extra):
    return RuleSet(
        rules=[Rule(name="all", when=parse("true"), assign="team:t")],
        teams={"t": TeamSpec(name="t", members=members, strategy=strategy)},
        **extra,
    )


# --- the issue's file ---------------------------------------------------------------


def test_the_issue_file_routes_as_its_comments_say():
    """Big accounts go to enterprise, francophone leads to France, the rest to zoe."""
    router = Router(read_rules(ISSUE_FILE, source="routing.toml"))
    leads = [
        {"id": "1", "employees": 5000, "country": "FR", "score": 90},
        {"id": "2", "country": "FR", "score": 30},
        {"id": "3", "country": "BE", "score": 20},
        {"id": "4", "country": "CH", "score": 25},
        {"id": "5", "country": "FR", "score": 19},
        {"id": "6", "country": "DE", "score": 99},
        {"id": "7", "employees": 1000},
        {"id": "8", "country": "FR", "score": 50},
    ]
    decisions = router.route_many(leads, now=NOW)
    assert ["dan", "alice", "bob", "chloe", "zoe", "zoe", "eve", "alice"] == owners(
        decisions
    )
    assert [
        "big accounts",
        "francophone",
        "francophone",
        "francophone",
        None,
        None,
        "big accounts",
        "francophone",
    ] == [d.rule for d in decisions]
    assert ["enterprise", "france"] == [decisions[0].team, decisions[1].team]


def test_routing_the_same_file_twice_from_a_fresh_state_gives_the_same_result():
    """Determinism: same state, same input, same decisions."""
    leads = [{"id": str(n), "country": "FR", "score": n} for n in range(30)]
    first = Router(read_rules(ISSUE_FILE)).route_many(leads, now=NOW)
    second = Router(read_rules(ISSUE_FILE)).route_many(leads, now=NOW)
    assert first == second


def test_decisions_explain_themselves():
    """An assignment names the rule, the strategy and the turn."""
    router = Router(read_rules(ISSUE_FILE))
    decision = router.route({"id": "9", "employees": 1500}, now=NOW, explain=True)
    assert [
        "big accounts: matched: employees >= 1000 (employees is 1500)",
        "big accounts: round robin: turn 0 of team enterprise went to dan",
    ] == texts(decision)
    assert ("dan", "enterprise", "big accounts", "round_robin") == (
        decision.owner,
        decision.team,
        decision.rule,
        decision.strategy,
    )


def test_explain_lists_the_entries_that_did_not_match_before_the_winner():
    """With explain, earlier entries say why they did not match."""
    router = Router(read_rules(ISSUE_FILE))
    decision = router.route(
        {"country": "BE", "score": 40, "employees": 12}, now=NOW, explain=True
    )
    assert texts(decision)[0] == (
        "big accounts: no match: employees >= 1000 (employees is 12)"
    )
    assert texts(decision)[1].startswith("francophone: matched: ")


# --- bad input ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("old", "new", "where", "line", "column", "message"),
    [
        (
            "employees >= 1000",
            "employes >= 1000",
            "rules[0].when",
            11,
            9,
            "unknown field 'employes'",
        ),
        ("score >= 20", "score >== 20", "rules[1].when", 16, 51, "found '='"),
        (
            'country in ("FR"',
            'country inn ("FR"',
            "rules[1].when",
            16,
            17,
            "found 'inn'",
        ),
        (
            "team:france",
            "team:frnace",
            "rules[1].assign",
            17,
            10,
            "unknown team 'frnace'",
        ),
        ('"user:zoe"', '"usr:zoe"', "default.assign", 20, 10, "'usr:zoe' is not"),
        (
            'strategy = "round_robin"\n\n[teams.france]',
            'strategy = "round_robbin"\n\n[teams.france]',
            "teams.enterprise.strategy",
            3,
            12,
            "unknown strategy 'round_robbin'",
        ),
        (
            'name = "big accounts"',
            'nam = "big accounts"',
            "rules[0].nam",
            10,
            7,
            "unknown key 'nam'",
        ),
    ],
)
def test_a_typo_in_the_rules_file_gives_its_position(  # noqa: PLR0917 - parametrized
    old, new, where, line, column, message
):
    """Unknown fields, operators, teams, keys: the error gives file, line and column."""
    text = ISSUE_FILE.replace(old, new, 1)
    with pytest.raises(DefinitionSyntaxError) as caught:
        read_rules(text, source="routing.toml")
    error = caught.value
    assert (where, line, column) == (error.where, error.line, error.column)
    assert message in str(error)
    assert str(error).startswith(f"routing.toml, line {line}, column {column}")


def test_an_unknown_user_is_refused_with_its_position_when_users_are_declared():
    """With a [users] table, a team member or target that is not declared is refused."""
    users = "".join(
        f"[users.{name}]\n" for name in ["alice", "bob", "chloe", "dan", "eve", "zoe"]
    )
    text = users + ISSUE_FILE.replace('"chloe"]', '"chole"]')
    with pytest.raises(DefinitionSyntaxError) as caught:
        read_rules(text, source="routing.toml")
    assert ("teams.france.members[2]", 12, 28) == (
        caught.value.where,
        caught.value.line,
        caught.value.column,
    )
    assert "unknown user 'chole'" in str(caught.value)
    with pytest.raises(DefinitionSyntaxError, match="unknown user 'zoee'"):
        read_rules(users + ISSUE_FILE.replace("user:zoe", "user:zoee"))


def test_invalid_toml_gives_its_position():
    """A file that is not TOML is refused with the parser's position."""
    with pytest.raises(DefinitionSyntaxError) as caught:
        read_rules("[[rules]\nname = 1\n", source="r.toml")
    assert (1, 8) == (caught.value.line, caught.value.column)
    assert ("r.toml", "[[rules]") == (caught.value.file, caught.value.text)
    assert str(caught.value).startswith("r.toml, line 1, column 8: not valid TOML: ")
    assert "(at line" not in str(caught.value)


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"mode": "capcity"}, "unknown mode 'capcity'"),
        ({"rules": [{"name": "x", "when": "true"}]}, "needs 'assign'"),
        (
            {"rules": [{"name": "x", "when": 3, "assign": "user:a"}]},
            "a condition as text",
        ),
        ({"rules": {"name": "x"}}, "array of tables"),
        ({"users": {"a": {"hours": "mon-fry 09:00-18:00"}}}, "days are"),
        ({"users": {"a": {"hours": "mon-fri 18:00-09:00"}}}, "ends before it starts"),
        (
            {"users": {"a": {"out_of_office": [["2026-08-10", "2026-08-01"]]}}},
            "ends before",
        ),
        ({"users": {"a": {"daily_quota": -1}}}, "whole number"),
        ({"users": {"a": {"territory": {"country": ["FR"]}}}}, "unknown key 'country'"),
        ({"teams": {"t": {"members": []}}}, "needs members"),
        ({"teams": {"t": {"members": ["a", "a"]}}}, "listed twice"),
        ({"fields": {"x": "texte"}}, "not one of"),
        (
            {
                "rules": [
                    {"name": "x", "when": "true", "assign": "user:a"},
                    {"name": "x", "when": "true", "assign": "user:a"},
                ]
            },
            "duplicate rule name",
        ),
        ({"users": {"a": {}}, "accounts": {"Acme": "b"}}, "unknown user 'b'"),
        (
            {
                "rules": [
                    {
                        "name": "x",
                        "when": "true",
                        "assign": "user:a",
                        "language_field": "lang",
                    }
                ]
            },
            "unknown field 'lang'",
        ),
    ],
)
def test_bad_definitions_are_refused_when_built(data, message):
    """Every mistake is an InvalidDefinition naming the path."""
    with pytest.raises(InvalidDefinition, match=message):
        rules_from_dict(data)


def test_a_lead_missing_a_field_is_treated_as_empty_and_the_explanation_says_so():
    """Missing fields fail their tests, and the reasons name them."""
    router = Router(read_rules(ISSUE_FILE))
    decision = router.route({"id": "x", "country": "FR"}, now=NOW, explain=True)
    assert "zoe" == decision.owner
    assert (
        "francophone: no match: score >= 20 (score is missing (treated as empty))"
        in texts(decision)
    )
    quick = router.route({"id": "x", "country": "FR"}, now=NOW)
    assert [
        "no entry assigned it; the default is user:zoe",
        "assigned to zoe",
    ] == texts(quick)


def test_a_team_with_nobody_available_falls_through_and_says_so():
    """Absent members make the entry fall through to the next one, then the default."""
    text = (
        '[users.dan]\nout_of_office = [["2026-03-01", "2026-03-08"]]\n'
        '[users.eve]\ntime_zone = "America/New_York"\nhours = "mon-fri 09:00-17:00"\n'
        + "".join(f"[users.{n}]\n" for n in ["alice", "bob", "chloe", "zoe"])
        + ISSUE_FILE
    )
    router = Router(read_rules(text))
    decision = router.route({"employees": 5000, "country": "FR", "score": 50}, now=NOW)
    assert ("alice", "francophone") == (decision.owner, decision.rule)
    assert (
        "big accounts: team enterprise has no available member (dan: out of office "
        "from 2026-03-01 to 2026-03-08; eve: outside working hours (mon-fri "
        "09:00-17:00 America/New_York; it is Mon 05:00)); trying the next entry"
    ) in texts(decision)
    lone = router.route({"employees": 5000, "country": "DE"}, now=NOW)
    assert ("zoe", None) == (lone.owner, lone.rule)
    assert any("trying the next entry" in t for t in texts(lone))


def test_nobody_available_and_no_default_is_unassigned_with_reasons_per_rule():
    """Unassigned carries what every rule said."""
    rules = RuleSet(
        rules=[
            Rule(name="fr", when=parse('country == "FR"'), assign="user:alice"),
            Rule(name="big", when=parse("employees > 10"), assign="user:bob"),
        ],
        users={
            "alice": Member(name="alice", active=False),
            "bob": Member(name="bob"),
        },
    )
    decision = Router(rules).route({"id": "7", "country": "FR"}, now=NOW)
    assert isinstance(decision, Unassigned)
    assert "7" == decision.lead_id
    assert [
        "fr: matched",
        "fr: user alice cannot take it: inactive; trying the next entry",
        "big: no match: employees > 10 (employees is missing (treated as empty))",
        "no entry assigned it and there is no default",
    ] == texts(decision)


def test_a_catastrophic_regex_in_a_rules_file_is_refused():
    """A pattern with nested repetition never reaches the router."""
    text = ISSUE_FILE.replace(
        "employees >= 1000", 'company_name matches "^(\\\\w+\\\\s?)+$"'
    )
    with pytest.raises(DefinitionSyntaxError, match="cannot backtrack"):
        read_rules(text)


# --- strategies -----------------------------------------------------------------------


def test_round_robin_takes_turns_from_a_shared_cursor_store():
    """Two routers sharing cursors continue each other's turns (restarts, workers)."""
    store = MemoryCursorStore()
    rules = team_rules()
    first = Router(rules, cursors=store).route_many([{}] * 2, now=NOW)
    second = Router(rules, cursors=store).route_many([{}] * 2, now=NOW)
    assert ["alice", "bob", "chloe", "alice"] == owners([*first, *second])
    assert {"team:t": 4} == store.snapshot()


def test_the_memory_cursor_store_takes_blocks_of_turns():
    """`take_many` reserves consecutive turns and returns the first; 0 is refused."""
    store = MemoryCursorStore({"a": 2})
    assert (2, 5, 0) == (
        store.take_many("a", 3),
        store.take("a"),
        store.take_many("b", 4),
    )
    assert {"a": 6, "b": 4} == store.snapshot()
    with pytest.raises(ValueError, match="count must be at least 1, not 0"):
        store.take_many("a", 0)


def test_weighted_round_robin_interleaves_by_weight():
    """Weights 3 and 1 give three turns to one member for one to the other, spread."""
    rules = team_rules(
        "weighted_round_robin",
        members=("alice", "bob"),
        users={"alice": Member(name="alice", weight=3), "bob": Member(name="bob")},
    )
    assert ["alice", "alice", "bob", "alice"] * 2 == owners(
        Router(rules).route_many([{}] * 8, now=NOW)
    )


def test_least_loaded_goes_to_the_member_with_fewest_open_leads():
    """Open leads come from the workload and grow as the router assigns."""
    rules = team_rules("least_loaded")
    router = Router(
        rules, workload=Workload(open_leads={"alice": 3, "bob": 1, "chloe": 2})
    )
    decisions = router.route_many([{}] * 4, now=NOW)
    assert ["bob", "bob", "chloe", "alice"] == owners(decisions)
    assert "least loaded: bob had 1 open leads" == decisions[0].reasons[-1].text


@pytest.mark.parametrize("cut", [0, 3, 4, 5, 6, 7])
def test_a_batch_counts_what_its_round_robin_gave(cut):
    """Leads dealt in turn by a batch count towards the loads a later pick reads."""
    rules = RuleSet(
        rules=[
            Rule(name="fr", when=parse('country == "FR"'), assign="team:rr"),
            Rule(name="vip", when=parse("score > 90"), assign="user:chloe"),
        ],
        teams={
            "rr": TeamSpec(name="rr", members=["alice", "bob", "chloe"]),
            "ll": TeamSpec(
                name="ll", members=["alice", "bob", "chloe"], strategy="least_loaded"
            ),
        },
        default="team:ll",
    )
    leads = [{"country": "FR"}] * 5 + [{"score": 99}] * 2 + [{}] * 3
    router = Router(rules, workload=Workload(open_leads={"bob": 1}))
    decisions = [
        *router.route_many(leads[:cut], now=NOW),
        *router.route_many(leads[cut:], now=NOW),
    ]
    # Five French leads: alice 2, bob 2 (+1 open), chloe 1; then chloe 2 more.
    assert ["alice", "bob", "chloe", "alice", "bob", "chloe", "chloe"] == owners(
        decisions[:7]
    )
    assert ["alice", "alice", "bob"] == owners(decisions[7:])
    assert "least loaded: alice had 2 open leads" == decisions[7].reasons[-1].text


def test_an_entry_may_override_its_teams_strategy():
    """An entry's strategy replaces the team's for the leads it assigns."""
    rules = RuleSet(
        rules=[
            Rule(
                name="vip",
                when=parse("score > 90"),
                assign="team:t",
                strategy="least_loaded",
            ),
            Rule(name="rest", when=parse("true"), assign="team:t"),
        ],
        teams={"t": TeamSpec(name="t", members=["alice", "bob"])},
    )
    router = Router(rules, workload=Workload(open_leads={"alice": 5}))
    vip, rest, vip2 = router.route_many(
        [{"score": 95}, {"score": 1}, {"score": 99}], now=NOW
    )
    assert ("bob", "least_loaded") == (vip.owner, vip.strategy)
    assert ("alice", "round_robin") == (rest.owner, rest.strategy)
    assert "bob" == vip2.owner
    with pytest.raises(InvalidDefinition, match="unknown strategy 'fastest'"):
        Rule(name="x", when=parse("true"), assign="team:t", strategy="fastest")
    with pytest.raises(InvalidDefinition, match="assign to a team"):
        RuleSet(
            rules=[
                Rule(
                    name="x",
                    when=parse("true"),
                    assign="user:a",
                    strategy="least_loaded",
                )
            ]
        )


def test_quotas_are_never_exceeded():
    """Daily and monthly quotas stop assignments, counting the workload."""
    rules = team_rules(
        members=("alice", "bob"),
        users={
            "alice": Member(name="alice", daily_quota=2),
            "bob": Member(name="bob", monthly_quota=5),
        },
    )
    router = Router(rules, workload=Workload(assigned_this_month={"bob": 3}))
    decisions = router.route_many([{}] * 6, now=NOW)
    assert ["alice", "bob", "alice", "bob", None, None] == owners(decisions)
    assert "daily quota of 2 reached" in str(decisions[-1].reasons)
    assert "monthly quota of 5 reached" in str(decisions[-1].reasons)


def test_territories_match_countries_and_postcode_prefixes_and_ranges():
    """by_territory keeps the members whose territory covers the lead."""
    rules = RuleSet(
        rules=[
            Rule(name="fr", when=parse("true"), assign="team:fr", by_territory=True)
        ],
        teams={"fr": TeamSpec(name="fr", members=["paris", "south", "rest"])},
        users={
            "paris": Member(
                name="paris",
                territory=Territory(countries=["fr"], postcodes=["75*", "92000-92999"]),
            ),
            "south": Member(
                name="south", territory=Territory(postcodes=["13*"], regions=["PACA"])
            ),
            "rest": Member(name="rest", territory=Territory(countries=["BE"])),
        },
    )
    router = Router(rules)
    leads = [
        {"country": "FR", "postcode": "75011"},
        {"country": "FR", "postcode": "92 100"},
        {"country": "FR", "postcode": "13001", "region": "paca"},
        {"country": "BE", "postcode": "1000"},
        {"country": "DE", "postcode": "75011"},
    ]
    assert ["paris", "paris", "south", "rest", None] == owners(
        router.route_many(leads, now=NOW)
    )


def test_skills_and_language_filter_members():
    """require_skills and language_field keep only members who fit the lead."""
    rules = RuleSet(
        rules=[
            Rule(
                name="x",
                when=parse("true"),
                assign="team:t",
                require_skills=["Enterprise"],
                language_field="language",
            )
        ],
        teams={"t": TeamSpec(name="t", members=["ana", "ben", "cid"])},
        users={
            "ana": Member(name="ana", languages=["fr"], skills=["enterprise"]),
            "ben": Member(name="ben", languages=["de", "fr"]),
            "cid": Member(name="cid", languages=["DE"], skills=["enterprise"]),
        },
    )
    router = Router(rules)
    fr, de, unknown = router.route_many(
        [{"language": "fr"}, {"language": "de"}, {}], now=NOW
    )
    assert ("ana", "cid") == (fr.owner, de.owner)
    assert "ben: lacks enterprise" in str(fr.reasons)
    assert "language is missing (treated as empty), so any language will do" in str(
        unknown.reasons
    )


def test_working_hours_follow_each_members_time_zone():
    """A member is available only inside their own hours, DST included."""
    member = Member(
        name="a", time_zone="Europe/Paris", hours=[Shift.parse("mon-fri 09:00-18:00")]
    )
    assert member.absence_at(datetime(2026, 3, 2, 8, 30, tzinfo=UTC)) is None
    assert "outside working hours" in member.absence_at(
        datetime(2026, 3, 2, 7, 30, tzinfo=UTC)
    )
    # Summer time: 07:30 UTC is 09:30 in Paris.
    assert member.absence_at(datetime(2026, 7, 6, 7, 30, tzinfo=UTC)) is None
    assert "outside" in member.absence_at(
        datetime(2026, 3, 7, 10, tzinfo=UTC)
    )  # a Saturday
    weekend = Shift.parse("fri-mon 10:00-12:00")
    assert {4, 5, 6, 0} == set(weekend.days)
    with pytest.raises(ValidationError, match="naive"):
        member.absence_at(datetime(2026, 3, 2))  # noqa: DTZ001 - the point


def test_members_take_hours_and_absences_as_plain_values():
    """Text shifts and (first, last) date pairs are converted when a Member is built."""
    member = Member(
        name="a",
        hours="mon-fri 09:00-18:00",
        out_of_office=[(date(2026, 8, 1), date(2026, 8, 15))],
    )
    assert (Shift.parse("mon-fri 09:00-18:00"),) == member.hours
    assert (Absence(date(2026, 8, 1), date(2026, 8, 15)),) == member.out_of_office
    with pytest.raises(InvalidDefinition, match="not like"):
        Member(name="a", hours=["9 to 5"])


def test_out_of_office_days_are_inclusive_in_the_members_zone():
    """The last day of an absence is still away, the next is not."""
    member = Member(
        name="a",
        time_zone="Asia/Tokyo",
        out_of_office=[Absence(date(2026, 3, 1), date(2026, 3, 2))],
    )
    assert member.absence_at(datetime(2026, 3, 2, 14, 59, tzinfo=UTC))
    assert member.absence_at(datetime(2026, 3, 2, 15, 0, tzinfo=UTC)) is None


def test_account_ownership_sends_a_known_company_to_its_owner():
    """A lead whose company already has an owner goes to that owner."""
    rules = RuleSet(
        rules=[Rule(name="x", when=parse("true"), assign="team:t", account_owner=True)],
        teams={"t": TeamSpec(name="t", members=["alice", "bob"])},
        accounts={"Acme  SA": "carol"},
    )
    router = Router(rules)
    known, other = router.route_many(
        [{"company_name": "acme sa"}, {"company_name": "Zeta"}], now=NOW
    )
    assert ("carol", "account_owner", "t") == (known.owner, known.strategy, known.team)
    assert "the account 'acme sa' is owned by carol" in texts(known)[-1]
    assert "alice" == other.owner
    directory = AccountDirectory({"Acme": "dan"}, field="company")
    assert "dan" == directory.owner_of({"company": " ACME "})
    assert directory.owner_of({"company": ""}) is None
    assert directory.owner_of({"company": 42}) is None


@pytest.mark.parametrize(
    "written", ["ACME S.A.", "Acme SARL", "acmé", "Acme GmbH", "SAS Acme", "Acme Ltd."]
)
def test_account_owners_are_found_as_dedup_matches_companies(written):
    """Case, accents, punctuation and legal forms do not hide a known account."""
    directory = AccountDirectory({"Acme": "dan", "Dupont & Fils": "eve"})
    assert "dan" == directory.owner_of({"company_name": written})
    assert "eve" == directory.owner_of({"company_name": "DUPONT ET FILS SARL"})
    assert directory.owner_of({"company_name": "Acme Labs"}) is None
    assert directory.owner_of({"company_name": "SA"}) is None


def test_one_company_named_twice_with_two_owners_is_refused():
    """Names that deduplication reads as one company must not have two owners."""
    with pytest.raises(InvalidDefinition) as caught:
        RuleSet(rules=[], accounts={"Acme": "dan", "ACME SAS": "eve"})
    assert (
        "accounts.ACME SAS: the same company as 'Acme', owned by dan, not eve"
        == str(caught.value)
    )
    with pytest.raises(InvalidDefinition, match="names no company: it is blank"):
        RuleSet(rules=[], accounts={" ": "dan"})
    same_owner = RuleSet(rules=[], accounts={"Acme": "dan", "ACME SAS": "dan"})
    assert 2 == len(same_owner.accounts)


def test_an_unavailable_account_owner_lets_the_team_strategy_decide():
    """The owner's absence is reported and the team takes over."""
    rules = RuleSet(
        rules=[Rule(name="x", when=parse("true"), assign="team:t", account_owner=True)],
        teams={"t": TeamSpec(name="t", members=["alice"])},
        users={
            "alice": Member(name="alice"),
            "carol": Member(name="carol", active=False),
        },
        accounts={"Acme": "carol"},
    )
    decision = Router(rules).route({"company_name": "Acme"}, now=NOW)
    assert "alice" == decision.owner
    assert "account owner carol cannot take it (inactive)" in texts(decision)[1]


def test_keep_current_owner_globally_and_per_rule():
    """A lead with an owner keeps it when the rule set or the entry says so."""
    kept = team_rules(keep_current_owner=True)
    decision = Router(kept).route({"owner_id": "olga"}, now=NOW)
    assert ("olga", "keep_current_owner", None) == (
        decision.owner,
        decision.strategy,
        decision.rule,
    )
    per_rule = RuleSet(
        rules=[
            Rule(
                name="x", when=parse("true"), assign="user:bob", keep_current_owner=True
            )
        ]
    )
    router = Router(per_rule)
    assert ["olga", "bob"] == owners(
        router.route_many([{"owner_id": "olga"}, {"owner_id": ""}], now=NOW)
    )


def test_capacity_mode_weights_teams_by_remaining_capacity():
    """Every matching team is a candidate; the least filled takes the lead."""
    rules = RuleSet(
        mode=Mode.CAPACITY,
        rules=[
            Rule(name="small", when=parse('country == "FR"'), assign="team:small"),
            Rule(name="big", when=parse("true"), assign="team:big"),
        ],
        teams={
            "small": TeamSpec(name="small", members=["a"]),
            "big": TeamSpec(name="big", members=["b", "c"]),
        },
        users={
            "a": Member(name="a", monthly_quota=10),
            "b": Member(name="b", monthly_quota=10),
            "c": Member(name="c", monthly_quota=20),
        },
    )
    router = Router(rules)
    decisions = router.route_many([{"country": "FR"}] * 40, now=NOW)
    assert Counter({"big": 30, "small": 10}) == Counter(d.team for d in decisions)
    assert (
        "matched; capacity used this month: team:small 0/10, team:big 0/30"
        == texts(decisions[0])[0].split(": ", 1)[1]
    )
    assert all(isinstance(d, Assignment) for d in decisions)
    extra = router.route({"country": "FR"}, now=NOW)
    assert isinstance(extra, Unassigned)


def test_campaign_responses_are_routed_by_their_content():
    """Conditions on text fields route responses by what they say."""
    rules = rules_from_dict(
        {
            "fields": {"message": "text", "campaign": "text"},
            "rules": [
                {
                    "name": "pricing",
                    "when": 'message contains "price" or message contains "quote"',
                    "assign": "user:sales",
                },
                {
                    "name": "support",
                    "when": r'message matches "(?i)\\b(bug|error|crash)"',
                    "assign": "user:support",
                },
                {
                    "name": "unsubscribe",
                    "when": 'message starts with "stop"',
                    "assign": "user:privacy",
                },
            ],
            "default": {"assign": "user:marketing"},
        }
    )
    responses = [
        {"message": "Could you send me a QUOTE for 20 seats?"},
        {"message": "I get an Error when I log in"},
        {"message": "STOP sending me these"},
        {"message": "Nice webinar!"},
    ]
    assert ["sales", "support", "privacy", "marketing"] == owners(
        Router(rules).route_many(responses, now=NOW)
    )


# --- dry runs, warnings, records, round trips ----------------------------------------


def test_a_dry_run_reports_distributions_and_leaves_cursors_alone():
    """Dry runs count per owner and per rule, from a copy of the cursors."""
    store = MemoryCursorStore({"team:france": 1})
    router = Router(read_rules(ISSUE_FILE), cursors=store)
    leads = [{"country": "FR", "score": 50}] * 4 + [{"employees": 2000}, {}]
    run = router.dry_run(leads, now=NOW)
    assert {"alice": 1, "bob": 2, "chloe": 1, "dan": 1, "zoe": 1} == dict(run.by_owner)
    assert {"francophone": 4, "big accounts": 1, "(default)": 1} == dict(run.by_rule)
    assert 0 == run.unassigned
    assert {"team:france": 1} == store.snapshot()
    assert run.report().startswith("6 leads, 0 unassigned\nby owner:\n  alice  1")


def test_shadowed_entries_are_reported_as_warnings():
    """An entry that an earlier broader one always catches is a warning."""
    rules = rules_from_dict(
        {
            "rules": [
                {"name": "big", "when": "employees >= 1000", "assign": "user:a"},
                {
                    "name": "bigger",
                    "when": 'employees > 5000 and country == "FR"',
                    "assign": "user:b",
                },
                {"name": "fr", "when": 'country in ("FR", "BE")', "assign": "user:c"},
                {
                    "name": "paris",
                    "when": 'country == "FR" and city == "Paris"',
                    "assign": "user:d",
                },
                {"name": "de", "when": 'country == "DE"', "assign": "user:e"},
            ]
        }
    )
    warnings = rules.warnings()
    assert ["rules[1]", "rules[3]"] == [path for path, _ in warnings]
    assert (
        "'bigger' is shadowed by the earlier, broader 'big' (employees >= 1000)"
        in warnings[0][1]
    )
    assert [] == team_rules(mode="capacity").warnings()


@pytest.mark.parametrize(
    ("earlier", "later", "shadowed"),
    [
        ("employees >= 100", "employees > 500", True),
        ("employees > 100", "employees >= 100", False),
        ("score <= 20", "score < 10", True),
        ("score < 10", "score <= 10", False),
        ("employees < 100", 'country == "FR" and employees == 50', True),
        ("employees > 100", "employees == 50", False),
        ("score >= 1", "score <= 5", False),
        ('country in ("FR", "BE", "CH")', 'country in ("FR", "BE")', True),
        ('country in ("FR", "BE")', 'country in ("FR", "DE")', False),
        ("employees > 100 or score > 5", "employees > 200", False),
    ],
)
def test_shadowing_compares_bounds_and_choices(earlier, later, shadowed):
    """A later entry is reported only when its condition implies the earlier one's."""
    rules = rules_from_dict(
        {
            "rules": [
                {"name": "a", "when": earlier, "assign": "user:a"},
                {"name": "b", "when": later, "assign": "user:b"},
            ],
        }
    )
    assert shadowed == bool(rules.warnings())


def test_a_lead_entity_routes_through_its_record():
    """lead_record flattens the address so country and postcode rules apply."""
    lead = Lead.create(
        at=NOW,
        company_name="Fromagerie",
        employees=12,
        score=40,
        address=PostalAddress(city="Lyon", postcode="69001", country="FR"),
    )
    record = lead_record(lead, language="fr")
    decision = Router(read_rules(ISSUE_FILE)).route(record, now=NOW)
    assert ("alice", str(lead.id)) == (decision.owner, decision.lead_id)
    assert "fr" == record["language"]


def test_rule_sets_round_trip_through_dicts():
    """rules_to_dict writes what rules_from_dict reads back equal."""
    rules = rules_from_dict(
        {
            "mode": "first_match",
            "keep_current_owner": True,
            "fields": {"message": "text"},
            "users": {
                "alice": {
                    "time_zone": "Europe/Paris",
                    "hours": ["mon-fri 09:00-18:00"],
                    "out_of_office": [["2026-08-01", "2026-08-15"]],
                    "languages": ["fr"],
                    "skills": ["enterprise"],
                    "daily_quota": 5,
                    "monthly_quota": 90,
                    "weight": 2,
                    "territory": {"countries": ["FR"], "postcodes": ["75*"]},
                },
                "bob": {"active": False},
            },
            "teams": {"fr": {"members": ["alice", "bob"], "strategy": "least_loaded"}},
            "rules": [
                {
                    "name": "fr",
                    "when": 'country == "FR" and message contains "demo"',
                    "assign": "team:fr",
                    "strategy": "weighted_round_robin",
                    "require_skills": ["enterprise"],
                    "language_field": "language",
                    "by_territory": True,
                    "account_owner": True,
                    "keep_current_owner": True,
                }
            ],
            "default": {"assign": "user:alice"},
            "accounts": {"Acme": "alice"},
        }
    )
    data = rules_to_dict(rules)
    assert rules == rules_from_dict(data)
    assert data == rules_to_dict(rules_from_dict(data))


def test_rule_sets_built_in_code_are_validated():
    """Unknown teams and ill-typed conditions are refused when the RuleSet is built."""
    with pytest.raises(
        InvalidDefinition, match=r"rules\[0\]\.assign: unknown team 'x'"
    ):
        RuleSet(rules=[Rule(name="a", when=parse("true"), assign="team:x")])
    with pytest.raises(
        InvalidDefinition, match=r"rules\[0\]\.when: .*unknown field 'nope'"
    ):
        RuleSet(rules=[Rule(name="a", when=parse("nope == 1"), assign="user:x")])
    with pytest.raises(InvalidDefinition, match="is not 'user:NAME'"):
        Target.parse("group:x")
    assert "team:x" == str(Target.parse("queue:x"))
    assert Strategy.ROUND_ROBIN == TeamSpec(name="t", members=["a"]).strategy


def test_routing_needs_an_aware_now():
    """A naive time is refused."""
    with pytest.raises(ValidationError, match="naive"):
        Router(team_rules()).route({}, now=datetime(2026, 3, 2))  # noqa: DTZ001 - the point


def test_match_many_gives_the_first_matching_rule_of_each_lead():
    """The fast path returns rule indexes (None: no rule)."""
    router = Router(read_rules(ISSUE_FILE))
    leads = [
        {"employees": 2000},
        {"country": "FR", "score": 30},
        {"country": "DE"},
        {"country": ["FR"]},
    ]
    assert [0, 1, None, None] == router.match_many(leads)
    assert 1 == router.match({"country": "BE", "score": 20})


def test_a_batch_reads_as_a_list_of_decisions():
    """`RoutedLeads`: length, indexes (negative too), slices, iteration, equality."""
    leads = [{"id": str(n), "country": "FR", "score": 50} for n in range(4)]
    leads.append({"id": "9", "country": "DE"})
    batch = Router(read_rules(ISSUE_FILE)).route_many(leads, now=NOW)
    assert 5 == len(batch)
    assert ["alice", "bob", "chloe", "alice", "zoe"] == owners(batch)
    assert "zoe" == batch[-1].owner
    assert ["bob", "chloe"] == owners(batch[1:3])
    with pytest.raises(IndexError):
        batch[5]
    assert batch == list(batch)
    assert (
        [*batch, batch[0]]
        == batch + [batch[0]]  # noqa: RUF005 - the operator is what is tested
        == [*batch[:4], *(batch[4:] + batch[:1])]
    )
    assert [batch[0], *batch] == batch[:1] + batch
    assert batch == Router(read_rules(ISSUE_FILE)).route_many(leads, now=NOW)
    assert batch != leads
    assert batch != "alice"
    assert repr(batch).startswith("RoutedLeads([Assignment(lead_id='0', owner='alice'")
    assert [
        "francophone: matched",
        "francophone: round robin: turn 1 of team france went to bob",
    ] == texts(batch[1])
    assert [
        "no entry assigned it; the default is user:zoe",
        "assigned to zoe",
    ] == texts(batch[4])
