"""The router: rules, then a team's strategy, then a decision that explains itself."""

from __future__ import annotations

import itertools
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from operator import itemgetter
from typing import Any as AnyType
from typing import TypeAlias, cast

import attrs
from immutabledict import immutabledict

from crmkit._validation import aware_utc
from crmkit.conditions import Predicate, compile_many, explain
from crmkit.routing._decisions import (
    Assignment,
    Decision,
    DryRun,
    Reason,
    Routed,
    RoutedLeads,
    SteadyTarget,
    Unassigned,
    Waiting,
    _text_of,
)
from crmkit.routing._index import RuleIndex
from crmkit.routing._people import Member, Strategy, TeamSpec
from crmkit.routing._rules import Mode, Rule, RuleSet, Target
from crmkit.routing._state import (
    AccountDirectory,
    AccountOwners,
    CursorStore,
    MemoryCursorStore,
    Workload,
)

__all__ = ["DEFAULT_MONTHLY_CAPACITY", "Router"]

DEFAULT_MONTHLY_CAPACITY = 30
"""A member's share of team capacity when it has no monthly quota (Odoo's default)."""

Record: TypeAlias = Mapping[str, AnyType]


@attrs.frozen
class _Picked:
    owner: str
    team: str | None
    strategy: str
    texts: tuple[str, ...]


def _weighted_sequence(members: Sequence[Member]) -> tuple[str, ...]:
    """Smooth weighted round robin: ``a:3, b:1`` gives ``a a b a``, interleaved."""
    weights = {member.name: member.weight for member in members if member.weight > 0}
    total = sum(weights.values())
    current = dict.fromkeys(weights, 0)
    sequence: list[str] = []
    for _ in range(total):
        for name, weight in weights.items():
            current[name] += weight
        chosen = max(current, key=lambda name: current[name])
        current[chosen] -= total
        sequence.append(chosen)
    return tuple(sequence)


def _owners_of_turns(owners: Sequence[str], start: int, count: int) -> Counter[str]:
    """How many of the ``count`` turns from ``start`` each owner of a cycle gets."""
    laps, rest = divmod(count, len(owners))
    got: Counter[str] = Counter()
    for step in range(len(owners)):
        got[owners[(start + step) % len(owners)]] += laps + (step < rest)
    return got


def _unruled(decision: Assignment) -> str:
    return "(kept owner)" if decision.strategy == "keep_current_owner" else "(default)"


class Router:
    """
    Routes leads through a `RuleSet`; keeps per-run counters for quotas and load.

    Leads are mappings (a CSV row, `lead_record(lead)`). The router is the
    stateful shell around the rules: round-robin turns go through its
    `CursorStore`; assignments made in this router count against quotas and
    loads on top of the `Workload` it started from.

    >>> from crmkit.routing import RuleSet, Rule, TeamSpec
    >>> from crmkit.conditions import parse
    >>> rules = RuleSet(
    ...     rules=[Rule(name="fr", when=parse('country == "FR"'), assign="team:fr")],
    ...     teams={"fr": TeamSpec(name="fr", members=["alice", "bob"])},
    ...     default="user:zoe",
    ... )
    >>> router = Router(rules)
    >>> from datetime import datetime, UTC
    >>> [
    ...     d.owner
    ...     for d in router.route_many(
    ...         [{"country": "FR"}, {"country": "FR"}, {"country": "DE"}],
    ...         now=datetime(2026, 3, 2, 10, tzinfo=UTC),
    ...     )
    ... ]
    ['alice', 'bob', 'zoe']

    .. versionadded:: 0.1
    """

    def __init__(
        self,
        rules: RuleSet,
        *,
        cursors: CursorStore | None = None,
        workload: Workload | None = None,
        accounts: AccountOwners | None = None,
    ) -> None:
        self.rules = rules
        self.cursors: CursorStore = (
            cursors if cursors is not None else MemoryCursorStore()
        )
        self._index = RuleIndex([rule.when for rule in rules.rules])
        # Rules are reached only through the index, so each is compiled without
        # the test its bucket already settled.
        self._compiled = compile_many(self._index.residuals)
        if accounts is None and rules.accounts:
            accounts = AccountDirectory(rules.accounts)
        self._accounts = accounts
        workload = workload or Workload()
        self._open: Counter[str] = Counter(workload.open_leads)
        self._today: Counter[str] = Counter(workload.assigned_today)
        self._month: Counter[str] = Counter(workload.assigned_this_month)
        self._members = {name: rules.member(name) for name in self._member_names()}
        self._sequences = {
            name: _weighted_sequence([self._members[m] for m in team.members])
            for name, team in rules.teams.items()
        }
        self._with_quotas = {
            name
            for name, team in rules.teams.items()
            if any(
                self._members[m].daily_quota is not None
                or self._members[m].monthly_quota is not None
                for m in team.members
            )
        }
        self._bound_at: datetime | None = None
        self._predicates: list[Predicate] = []
        self._away: dict[str, str | None] = {}
        self._steady: dict[str, tuple[list[str], list[str]]] = {}
        self._steady_at: list[SteadyTarget | None] | None = None

    def _member_names(self) -> list[str]:
        names = list(self.rules.users)
        for team in self.rules.teams.values():
            names.extend(team.members)
        targets = [rule.assign for rule in self.rules.rules]
        if self.rules.default is not None:
            targets.append(self.rules.default)
        names.extend(t.name for t in targets if t.kind == "user")
        names.extend(self.rules.accounts.values())
        return list(dict.fromkeys(names))

    # --- public API ---------------------------------------------------------------

    def route(self, lead: Record, *, now: datetime, explain: bool = False) -> Decision:
        """Route one lead at ``now`` (aware)."""
        self._bind(now)
        return self._route(lead, now, explain=explain)

    def route_many(
        self, leads: Iterable[Record], *, now: datetime, explain: bool = False
    ) -> RoutedLeads:
        """
        Route leads in order, all at ``now``: the same decisions as `route` gives.

        Conditions are bound once. A lead whose first matching entry (or the
        default) is a `SteadyTarget` only takes its turn here; its decision is
        built when read. Explaining, capacity mode and every other lead take
        the whole road of `route`.
        """
        self._bind(now)
        if explain or self.rules.mode is Mode.CAPACITY:
            return RoutedLeads(
                [self._route(lead, now, explain=explain) for lead in leads]
            )
        steady = self._steady_targets(now)
        predicates = self._predicates
        candidates = self._index.candidates
        routed: list[Routed] = []
        append = routed.append
        # The run of steady leads since the last lead on the long road: each
        # cursor's offset within the run, and where the run's block of turns
        # starts (filled when the run ends; entries share the dict).
        first, offsets, starts = 0, dict[str, int](), dict[str, int]()
        for lead in leads:
            target = steady[-1]  # the default, unless an entry matches
            for index in candidates(lead):
                if predicates[index](lead):
                    target = steady[index]
                    break
            if target is None or (
                target.keeps_owner and _text_of(lead.get("owner_id"))
            ):
                self._end_run(routed, first, offsets, starts)
                append(self._route(lead, now, explain=False))
                first, offsets, starts = len(routed), {}, {}
                continue
            key = target.cursor
            if key is None:
                offset = 0
            else:
                offset = offsets.get(key, 0)
                offsets[key] = offset + 1
            append((target, offset, lead.get("id"), starts))
        self._end_run(routed, first, offsets, starts)
        return RoutedLeads(routed)

    def _end_run(
        self,
        routed: list[Routed],
        first: int,
        offsets: dict[str, int],
        starts: dict[str, int],
    ) -> None:
        """
        Give the run of steady leads from ``routed[first]`` on its turns.

        Each cursor moves once for the whole run (`CursorStore.take_many`), to
        the turns that taking them one lead at a time would give; the owners
        are counted from the blocks, not lead by lead.
        """
        if first == len(routed):
            return
        # Every entry of a run is a steady lead's tuple.
        run = cast("Iterable[Waiting]", itertools.islice(routed, first, None))
        leads_per_target = Counter(map(itemgetter(0), run))
        picked: Counter[str] = Counter()
        owners_of: dict[str, tuple[str, ...]] = {}
        for target, count in leads_per_target.items():
            if target.cursor is None:
                picked[target.owners[0]] += count
            else:
                owners_of[target.cursor] = target.owners
        for key, count in offsets.items():
            start = starts[key] = self.cursors.take_many(key, count)
            picked.update(_owners_of_turns(owners_of[key], start, count))
        self._open.update(picked)
        self._today.update(picked)
        self._month.update(picked)

    def match(self, lead: Record, *, now: datetime | None = None) -> int | None:
        """The index of the first rule whose condition holds, ignoring targets."""
        self._bind(now)
        predicates = self._predicates
        for index in self._index.candidates(lead):
            if predicates[index](lead):
                return index
        return None

    def match_many(
        self, leads: Iterable[Record], *, now: datetime | None = None
    ) -> list[int | None]:
        """`match` for many leads, bound once: the fast path of a batch."""
        self._bind(now)
        predicates = self._predicates
        candidates = self._index.candidates
        found: list[int | None] = []
        append = found.append
        for lead in leads:
            for index in candidates(lead):
                if predicates[index](lead):
                    append(index)
                    break
            else:
                append(None)
        return found

    def dry_run(self, leads: Iterable[Record], *, now: datetime) -> DryRun:
        """Route a batch on copies of the cursors and counters; report distributions."""
        copy = Router(
            self.rules,
            cursors=_Scratch(self.cursors),
            workload=Workload(
                open_leads=self._open,
                assigned_today=self._today,
                assigned_this_month=self._month,
            ),
            accounts=self._accounts,
        )
        decisions = copy.route_many(leads, now=now)
        owners: Counter[str] = Counter()
        rules: Counter[str] = Counter()
        for decision in decisions:
            if isinstance(decision, Assignment):
                owners[decision.owner] += 1
                rules[decision.rule or _unruled(decision)] += 1
        return DryRun(
            decisions=tuple(decisions),
            by_owner=immutabledict(sorted(owners.items())),
            by_rule=immutabledict(rules.most_common()),
            unassigned=sum(not d.assigned for d in decisions),
        )

    # --- the decision ----------------------------------------------------------------

    def _bind(self, now: datetime | None) -> None:
        if now is not None:
            aware_utc(now, "now")
        if self._predicates and now == self._bound_at:
            return
        self._predicates = [compiled.bind(now) for compiled in self._compiled]
        self._bound_at = now
        self._away = {}
        self._steady = {}
        self._steady_at = None

    def _route(self, lead: Record, now: datetime, *, explain: bool) -> Decision:
        lead_id = _text_of(lead.get("id"))
        current = _text_of(lead.get("owner_id"))
        if self.rules.keep_current_owner and current:
            return Assignment(
                lead_id=lead_id,
                owner=current,
                team=None,
                rule=None,
                strategy="keep_current_owner",
                reasons=(Reason(None, f"the lead already has an owner, {current}"),),
            )
        predicates = self._predicates
        if self.rules.mode is Mode.CAPACITY:
            matching = [i for i in self._index.candidates(lead) if predicates[i](lead)]
            fills = {i: self._fill(self.rules.rules[i].assign) for i in matching}
            order = sorted(matching, key=lambda i: (fills[i][0] / fills[i][1], i))
            shown = ", ".join(
                f"{self.rules.rules[i].assign} {fills[i][0]}/{fills[i][1]}"
                for i in order
            )
            tries: Iterable[tuple[int, str]] = [
                (i, f"matched; capacity used this month: {shown}") for i in order
            ]
        else:
            tries = (
                (i, "matched")
                for i in self._index.candidates(lead)
                if predicates[i](lead)
            )
        reasons: list[Reason] = []
        for index, matched in tries:
            rule = self.rules.rules[index]
            note = f"{matched}: {self._why(index, lead, now)}" if explain else matched
            story = self._story(lead, now, reasons, upto=index) if explain else reasons
            decision = self._try_rule(
                rule,
                lead,
                lead_id,
                current,
                now,
                prefix=(*story, Reason(rule.name, note)),
            )
            if isinstance(decision, Assignment):
                return decision
            reasons.extend([Reason(rule.name, note), decision])
        return self._fall_back(lead, lead_id, now, reasons, explain=explain)

    def _why(self, index: int, lead: Record, now: datetime) -> str:
        return explain(self.rules.rules[index].when, lead, now=now).summary()

    def _story(
        self,
        lead: Record,
        now: datetime,
        reasons: list[Reason],
        *,
        upto: int | None = None,
    ) -> list[Reason]:
        """Every rule's part, in rule order: what it said, or why it did not match."""
        said: dict[str, list[Reason]] = {}
        for reason in reasons:
            said.setdefault(reason.rule or "", []).append(reason)
        story: list[Reason] = []
        rules = self.rules.rules if upto is None else self.rules.rules[:upto]
        for index, rule in enumerate(rules):
            if rule.name in said:
                story.extend(said[rule.name])
            else:
                story.append(
                    Reason(rule.name, f"no match: {self._why(index, lead, now)}")
                )
        return story

    def _try_rule(
        self,
        rule: Rule,
        lead: Record,
        lead_id: str | None,
        current: str | None,
        now: datetime,
        *,
        prefix: tuple[Reason, ...],
    ) -> Assignment | Reason:
        if rule.keep_current_owner and current:
            return Assignment(
                lead_id=lead_id,
                owner=current,
                team=None,
                rule=rule.name,
                strategy="keep_current_owner",
                reasons=(
                    *prefix,
                    Reason(rule.name, f"kept the current owner, {current}"),
                ),
            )
        picked = self._assign(rule.assign, rule, lead, now)
        if isinstance(picked, _Picked):
            return Assignment(
                lead_id=lead_id,
                owner=picked.owner,
                team=picked.team,
                rule=rule.name,
                strategy=picked.strategy,
                reasons=(*prefix, *(Reason(rule.name, text) for text in picked.texts)),
            )
        return Reason(rule.name, f"{picked}; trying the next entry")

    def _fall_back(
        self,
        lead: Record,
        lead_id: str | None,
        now: datetime,
        reasons: list[Reason],
        *,
        explain: bool,
    ) -> Decision:
        """
        The default target, else `Unassigned` with every rule's part of the story.

        A default assignment tells every rule's story only when explaining;
        `Unassigned` always does.
        """
        default = self.rules.default
        picked = None if default is None else self._assign(default, None, lead, now)
        if isinstance(picked, _Picked):
            story = self._story(lead, now, reasons) if explain else reasons
            return Assignment(
                lead_id=lead_id,
                owner=picked.owner,
                team=picked.team,
                rule=None,
                strategy=picked.strategy,
                reasons=(
                    *story,
                    Reason(None, f"no entry assigned it; the default is {default}"),
                    *(Reason(None, text) for text in picked.texts),
                ),
            )
        last = (
            "no entry assigned it and there is no default"
            if default is None
            else f"the default {default}: {picked}"
        )
        return Unassigned(
            lead_id=lead_id,
            reasons=(*self._story(lead, now, reasons), Reason(None, last)),
        )

    def _fill(self, target: Target) -> tuple[int, int]:
        names = (
            self.rules.teams[target.name].members
            if target.kind == "team"
            else (target.name,)
        )
        used = sum(self._month[name] for name in names)
        capacity = sum(
            self._members[name].monthly_quota or DEFAULT_MONTHLY_CAPACITY
            for name in names
        )
        return used, max(capacity, 1)

    # --- steady targets: the batch's short road ---------------------------------

    def _steady_targets(self, now: datetime) -> list[SteadyTarget | None]:
        """Each entry's steady target (`None`: not steady), then the default's."""
        if self._steady_at is None:
            default = self.rules.default
            self._steady_at = [
                *(
                    self._steady_target(rule.assign, rule, now)
                    for rule in self.rules.rules
                ),
                None if default is None else self._steady_target(default, None, now),
            ]
        return self._steady_at

    def _steady_target(
        self, target: Target, rule: Rule | None, now: datetime
    ) -> SteadyTarget | None:
        if rule is None:
            lead_in = (Reason(None, f"no entry assigned it; the default is {target}"),)
        elif rule.account_owner or not self._plain(rule):
            return None
        else:
            lead_in = (Reason(rule.name, "matched"),)
        if target.kind == "user":
            owners, team, strategy, cursor = self._steady_user(target.name, now)
        else:
            owners, team, strategy, cursor = self._steady_team(target.name, rule, now)
        if not owners:
            return None
        return SteadyTarget(
            rule=None if rule is None else rule.name,
            team=team,
            strategy=strategy,
            owners=owners,
            cursor=cursor,
            lead_in=lead_in,
            keeps_owner=self.rules.keep_current_owner
            or (rule is not None and rule.keep_current_owner),
        )

    def _steady_user(
        self, name: str, now: datetime
    ) -> tuple[tuple[str, ...], None, str, None]:
        """The user alone if it has no quota and is in; else nobody."""
        member = self._members[name]
        has_quota = member.daily_quota is not None or member.monthly_quota is not None
        if has_quota or self._unavailable(name, now) is not None:
            return (), None, "direct", None
        return (name,), None, "direct", None

    def _steady_team(
        self, name: str, rule: Rule | None, now: datetime
    ) -> tuple[tuple[str, ...], str, str, str]:
        """The team's round-robin sequence if every member is in, without quotas."""
        team = self.rules.teams[name]
        strategy = (
            team.strategy if rule is None or rule.strategy is None else rule.strategy
        )
        cursor = self._cursor_key(team, strategy)
        steady = (
            team.name not in self._with_quotas
            and strategy is not Strategy.LEAST_LOADED
            and not any(self._unavailable(member, now) for member in team.members)
        )
        if not steady:
            return (), name, str(strategy), cursor
        weighted = strategy is Strategy.WEIGHTED_ROUND_ROBIN
        owners = self._sequences[name] if weighted else tuple(team.members)
        return owners, name, str(strategy), cursor

    @staticmethod
    def _plain(rule: Rule | None) -> bool:
        """Whether the entry picks among a team's members by nothing about the lead."""
        return rule is None or not (
            rule.require_skills or rule.language_field or rule.by_territory
        )

    # --- picking a member -------------------------------------------------------

    def _unavailable(self, name: str, now: datetime) -> str | None:
        if name not in self._away:
            member = self._members.get(name) or self.rules.member(name)
            self._members[name] = member
            self._away[name] = member.absence_at(now)
        away = self._away[name]
        if away is not None:
            return away
        member = self._members[name]
        if member.daily_quota is not None and self._today[name] >= member.daily_quota:
            return f"daily quota of {member.daily_quota} reached"
        if (
            member.monthly_quota is not None
            and self._month[name] >= member.monthly_quota
        ):
            return f"monthly quota of {member.monthly_quota} reached"
        return None

    def _count(self, name: str) -> None:
        self._open[name] += 1
        self._today[name] += 1
        self._month[name] += 1

    def _assign(
        self, target: Target, rule: Rule | None, lead: Record, now: datetime
    ) -> _Picked | str:
        if target.kind == "user":
            away = self._unavailable(target.name, now)
            if away is not None:
                return f"user {target.name} cannot take it: {away}"
            self._count(target.name)
            return _Picked(target.name, None, "direct", (f"assigned to {target.name}",))
        team = self.rules.teams[target.name]
        notes: list[str] = []
        if rule is not None and rule.account_owner and self._accounts is not None:
            owner = self._accounts.owner_of(lead)
            if owner is not None:
                away = self._unavailable(owner, now)
                if away is None:
                    self._count(owner)
                    company = lead.get("company_name")
                    return _Picked(
                        owner,
                        team.name,
                        "account_owner",
                        (f"the account {company!r} is owned by {owner}",),
                    )
                notes.append(f"account owner {owner} cannot take it ({away})")
        eligible, excluded = self._eligible(team, rule, lead, now)
        if not eligible:
            why = "; ".join(excluded)
            return f"team {team.name} has no available member ({why})"
        strategy = (
            team.strategy if rule is None or rule.strategy is None else rule.strategy
        )
        picked = self._pick(team, eligible, strategy)
        if picked is None:
            return f"team {team.name} has nobody with a weight above 0 available"
        owner, how = picked
        self._count(owner)
        if excluded:
            notes.append("left out: " + "; ".join(excluded))
        return _Picked(owner, team.name, str(strategy), (*notes, how))

    def _eligible(
        self, team: TeamSpec, rule: Rule | None, lead: Record, now: datetime
    ) -> tuple[list[str], list[str]]:
        if self._plain(rule) and team.name not in self._with_quotas:
            # Nothing about this lead or the run's counts matters: who is away
            # at `now` decides, once per bound moment.
            cached = self._steady.get(team.name)
            if cached is None:
                cached = self._eligible_now(team, None, lead, now)
                self._steady[team.name] = cached
            return cached
        return self._eligible_now(team, rule, lead, now)

    def _eligible_now(
        self, team: TeamSpec, rule: Rule | None, lead: Record, now: datetime
    ) -> tuple[list[str], list[str]]:
        eligible: list[str] = []
        excluded: list[str] = []
        language = None
        if rule is not None and rule.language_field:
            language = _text_of(lead.get(rule.language_field))
            if language is None:
                excluded.append(
                    f"{rule.language_field} is missing (treated as empty), "
                    "so any language will do"
                )
        for name in team.members:
            member = self._members[name]
            why = self._unavailable(name, now)
            if why is None and rule is not None:
                why = self._mismatch(member, rule, lead, language)
            if why is None:
                eligible.append(name)
            else:
                excluded.append(f"{name}: {why}")
        return eligible, excluded

    @staticmethod
    def _mismatch(
        member: Member, rule: Rule, lead: Record, language: str | None
    ) -> str | None:
        missing = rule.require_skills - member.skills
        if missing:
            return f"lacks {', '.join(sorted(missing))}"
        if language is not None and language.casefold() not in member.languages:
            return f"does not speak {language}"
        if rule.by_territory:
            territory = member.territory
            if territory is None:
                return "has no territory"
            if not territory.covers(lead):
                return f"territory {territory} does not cover the lead"
        return None

    def _pick(
        self, team: TeamSpec, eligible: list[str], strategy: Strategy
    ) -> tuple[str, str] | None:
        if strategy is Strategy.LEAST_LOADED:
            order = {name: position for position, name in enumerate(team.members)}
            chosen = min(eligible, key=lambda name: (self._open[name], order[name]))
            return chosen, f"least loaded: {chosen} had {self._open[chosen]} open leads"
        weighted = strategy is Strategy.WEIGHTED_ROUND_ROBIN
        sequence = self._sequences[team.name] if weighted else team.members
        turn = self.cursors.take(self._cursor_key(team, strategy))
        size = len(sequence)
        if size and len(eligible) == len(team.members) and not weighted:
            chosen = sequence[turn % size]
            return (
                chosen,
                f"round robin: turn {turn} of team {team.name} went to {chosen}",
            )
        for step in range(size):
            chosen = sequence[(turn + step) % size]
            if chosen in eligible:
                kind = "weighted round robin" if weighted else "round robin"
                return (
                    chosen,
                    f"{kind}: turn {turn} of team {team.name} went to {chosen}",
                )
        return None

    @staticmethod
    def _cursor_key(team: TeamSpec, strategy: Strategy) -> str:
        """A team's cursor; an entry that overrides its strategy keeps its own turns."""
        key = f"team:{team.name}"
        return key if strategy is team.strategy else f"{key}:{strategy}"


class _Scratch:
    """Cursors that start where another store's are, and never write back."""

    def __init__(self, store: CursorStore) -> None:
        self._store = store
        self._taken: Counter[str] = Counter()

    def take(self, key: str) -> int:
        return self.take_many(key, 1)

    def take_many(self, key: str, count: int) -> int:
        turn = self._store.position(key) + self._taken[key]
        self._taken[key] += count
        return turn

    def position(self, key: str) -> int:
        return self._store.position(key) + self._taken[key]
