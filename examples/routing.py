"""
Route a morning's inbound leads to territory teams, and say why each went where.

Nordlys sells in France, Belgium and Switzerland. Big accounts go to the
enterprise team; other leads to the team of their country, in turn, within each
rep's hours and quota; the rest to inside sales. The script prints each decision
with its reasons, then the distribution of a dry run.

Run: ``python examples/routing.py``
"""

from datetime import UTC, datetime

from crmkit.routing import Router, Workload, read_rules

RULES = """
mode = "first_match"

[users.ana]
time_zone = "Europe/Paris"
hours = "mon-fri 09:00-18:00"
monthly_quota = 60

[users.bruno]
time_zone = "Europe/Paris"
hours = "mon-fri 09:00-18:00"
monthly_quota = 60

[users.clara]
time_zone = "Europe/Brussels"
languages = ["fr", "nl"]
daily_quota = 2

[users.dirk]
time_zone = "Europe/Brussels"
languages = ["nl"]

[users.elena]
time_zone = "Europe/Zurich"
languages = ["fr", "de"]

[users.frank]
[users.zoe]

[teams.enterprise]
members = ["frank"]

[teams.france]
members = ["ana", "bruno"]

[teams.belgium]
members = ["clara", "dirk"]
strategy = "least_loaded"

[teams.switzerland]
members = ["elena"]

[[rules]]
name = "big accounts"
when = "employees >= 1000"
assign = "team:enterprise"

[[rules]]
name = "france"
when = 'country == "FR" and score >= 20'
assign = "team:france"

[[rules]]
name = "belgium"
when = 'country == "BE" and score >= 20'
assign = "team:belgium"
language_field = "language"

[[rules]]
name = "switzerland"
when = 'country in ("CH", "LI") and score >= 20'
assign = "team:switzerland"

[default]
assign = "user:zoe"
"""

LEADS = [
    {"id": "L1", "country": "FR", "score": 45, "employees": 30},
    {"id": "L2", "country": "FR", "score": 70, "employees": 3000},
    {"id": "L3", "country": "BE", "language": "fr", "score": 35},
    {"id": "L4", "country": "BE", "language": "nl", "score": 55},
    {"id": "L5", "country": "CH", "score": 15},
    {"id": "L6", "country": "FR", "score": 25},
    {"id": "L7", "country": "BE", "language": "fr", "score": 80},
]


def main() -> None:
    now = datetime(2026, 3, 2, 9, 30, tzinfo=UTC)
    rules = read_rules(RULES, source="routing.toml")
    router = Router(rules, workload=Workload(assigned_today={"clara": 1}))
    for decision in router.route_many(LEADS, now=now, explain=True):
        owner = getattr(decision, "owner", "(unassigned)")
        print(f"{decision.lead_id} -> {owner}")
        for reason in decision.reasons:
            print(f"    {reason}")
    print()
    print(Router(rules).dry_run(LEADS * 10, now=now).report())


if __name__ == "__main__":
    main()
