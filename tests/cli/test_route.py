"""``crmkit route``: the CSV in, CSV out contract."""

import csv
from pathlib import Path

import pytest
from click.testing import CliRunner

from crmkit.cli import main

AT = "2026-03-02T10:00:00+00:00"
# The rules file of issue 7, as written there.
RULES = (Path(__file__).parents[1] / "unit" / "data" / "routing_issue.toml").read_text(
    encoding="utf-8"
)
LEADS = """\
id,employees,country,score
a1,5000,FR,90
a2,,FR,30
a3,12,BE,abc
a4,,DE,99
a5,1000,,
a6,3,CH,20
"""


@pytest.fixture
def files(tmp_path):
    rules = tmp_path / "routing.toml"
    rules.write_text(RULES, encoding="utf-8")
    leads = tmp_path / "leads.csv"
    leads.write_text(LEADS, encoding="utf-8")
    return tmp_path, rules, leads


def run(*args):
    return CliRunner().invoke(main, ["route", *map(str, args), "--at", AT])


def read(path):
    with path.open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


def test_the_issue_file_routes_every_row_in_input_order(files):
    """Every input row has an output row with id, owner, team and rule."""
    folder, rules, leads = files
    out = folder / "assignments.csv"
    result = run(leads, "--rules", rules, "--out", out)
    assert 0 == result.exit_code, result.output
    rows = read(out)
    assert ["id", "owner", "team", "rule", "reason"] == list(rows[0])
    assert [
        ("a1", "dan", "enterprise", "big accounts"),
        ("a2", "alice", "france", "francophone"),
        ("a3", "zoe", "", ""),
        ("a4", "zoe", "", ""),
        ("a5", "eve", "enterprise", "big accounts"),
        ("a6", "bob", "france", "francophone"),
    ] == [(r["id"], r["owner"], r["team"], r["rule"]) for r in rows]
    assert "score: 'abc' is not a valid number, treated as empty" == rows[2]["reason"]
    assert "routed 6 leads: 6 assigned, 0 unassigned" in result.output


def test_routing_twice_gives_the_same_bytes(files):
    """Same files, fresh state: same output."""
    folder, rules, leads = files
    run(leads, "--rules", rules, "--out", folder / "one.csv")
    run(leads, "--rules", rules, "--out", folder / "two.csv")
    assert (folder / "one.csv").read_bytes() == (folder / "two.csv").read_bytes()


def test_explain_fills_every_reason(files):
    """With --explain each row says which rule matched and why."""
    folder, rules, leads = files
    out = folder / "out.csv"
    run(leads, "--rules", rules, "--out", out, "--explain")
    rows = read(out)
    assert rows[0]["reason"] == (
        "big accounts: matched: employees >= 1000 (employees is 5000); "
        "big accounts: round robin: turn 0 of team enterprise went to dan"
    )
    assert "score is missing (treated as empty)" in rows[2]["reason"]


def test_unassigned_leads_have_an_empty_owner_and_a_reason(files):
    """Without a default, leads no rule takes are written with the reason."""
    folder, rules, leads = files
    rules.write_text(RULES.split("[default]", maxsplit=1)[0], encoding="utf-8")
    out = folder / "out.csv"
    result = run(leads, "--rules", rules, "--out", out)
    assert 0 == result.exit_code, result.output
    row = read(out)[3]
    assert ("a4", "", "") == (row["id"], row["owner"], row["rule"])
    assert "francophone: no match: country in" in row["reason"]
    assert "no entry assigned it and there is no default" in row["reason"]
    assert "2 unassigned" in result.output


def test_a_typo_in_the_rules_file_fails_with_its_position_and_writes_nothing(files):
    """A bad rules file exits 1, names the place, and leaves --out alone."""
    folder, rules, leads = files
    rules.write_text(RULES.replace("employees >=", "employes >="), encoding="utf-8")
    out = folder / "out.csv"
    out.write_text("old\n", encoding="utf-8")
    result = run(leads, "--rules", rules, "--out", out)
    assert 1 == result.exit_code
    assert "line 11, column 9 (rules[0].when)" in result.output
    assert "unknown field 'employes'" in result.output
    assert "old\n" == out.read_text(encoding="utf-8")
    assert [] == list(folder.glob(".out.csv.*"))


def test_a_csv_without_an_id_column_is_refused(files):
    """The id column is required."""
    folder, rules, leads = files
    leads.write_text("country\nFR\n", encoding="utf-8")
    result = run(leads, "--rules", rules, "--out", folder / "out.csv")
    assert 1 == result.exit_code
    assert "the header has no 'id' column" in result.output


def test_extra_columns_are_text_fields_rules_can_test(files):
    """A campaign response's message column routes by its content."""
    folder, rules, leads = files
    rules.write_text(
        '[[rules]]\nname = "pricing"\nwhen = \'message contains "quote"\'\n'
        'assign = "user:sales"\n[default]\nassign = "user:marketing"\n',
        encoding="utf-8",
    )
    leads.write_text(
        "id,message\nr1,Please send a Quote\nr2,Thanks\n", encoding="utf-8"
    )
    out = folder / "out.csv"
    assert 0 == run(leads, "--rules", rules, "--out", out).exit_code
    assert ["sales", "marketing"] == [row["owner"] for row in read(out)]


def test_shadowed_rules_are_warned_about_on_stderr(files):
    """A rule an earlier broader one catches is reported, and routing goes on."""
    folder, rules, leads = files
    rules.write_text(
        RULES.replace(
            "[default]",
            '[[rules]]\nname = "huge"\nwhen = "employees >= 5000"\n'
            'assign = "user:dan"\n\n[default]',
        ),
        encoding="utf-8",
    )
    result = run(leads, "--rules", rules, "--out", folder / "out.csv")
    assert 0 == result.exit_code
    assert "warning:" in result.output
    assert "'huge' is shadowed by the earlier, broader 'big accounts'" in result.output


def test_a_database_keeps_round_robin_turns_across_runs(files):
    """With --db, the second run continues the teams' turns."""
    folder, rules, leads = files
    database = folder / "crm.db"
    assert 0 == CliRunner().invoke(main, ["init", "--db", str(database)]).exit_code
    first, second = folder / "one.csv", folder / "two.csv"
    run(leads, "--rules", rules, "--out", first, "--db", database)
    run(leads, "--rules", rules, "--out", second, "--db", database)
    owners = [[row["owner"] for row in read(path)] for path in (first, second)]
    assert ["dan", "alice", "zoe", "zoe", "eve", "bob"] == owners[0]
    assert ["dan", "chloe", "zoe", "zoe", "eve", "alice"] == owners[1]


def test_cells_are_read_in_their_fields_types(files):
    """Numbers, booleans, dates, times and ;-separated sets are typed from the CSV."""
    folder, rules, leads = files
    rules.write_text(
        '[fields]\nvip = "bool"\nsigned = "date"\n\n'
        '[[rules]]\nname = "hot"\n'
        'when = \'vip == true and signed >= 2026-01-01 and tags contains "hot" '
        "and created_at < 2026-03-01T00:00Z and employees > 1.5'\n"
        'assign = "user:ana"\n[default]\nassign = "user:zoe"\n',
        encoding="utf-8",
    )
    leads.write_text(
        "id,vip,signed,tags,created_at,employees\n"
        "h1,yes,2026-02-01,web; hot,2026-02-01T10:00:00+00:00,2\n"
        "h2,no,2026-02-01,hot,2026-02-01T10:00:00+00:00,2\n"
        "h3,maybe,2026-02-30,hot,2026-02-01T10:00:00,1 000\n",
        encoding="utf-8",
    )
    out = folder / "out.csv"
    assert 0 == run(leads, "--rules", rules, "--out", out).exit_code
    rows = read(out)
    assert ["ana", "zoe", "zoe"] == [row["owner"] for row in rows]
    assert rows[2]["reason"] == (
        "vip: 'maybe' is not a valid bool, treated as empty; "
        "signed: '2026-02-30' is not a valid date, treated as empty; "
        "created_at: '2026-02-01T10:00:00' is not a valid datetime, treated as empty"
    )


@pytest.mark.parametrize("with_db", [False, True])
def test_batches_route_as_one_run(files, monkeypatch, with_db):
    """Rows cut into batches get the turns of one run (kept in --db if given)."""
    folder, rules, leads = files
    extra = "".join(f"b{n},,FR,{n}\n" for n in range(20, 31))
    leads.write_text(LEADS + extra, encoding="utf-8")

    def route_to(name):
        options = []
        if with_db:
            database = folder / f"{name}.db"
            assert 0 == CliRunner().invoke(main, ["init", "--db", database]).exit_code
            options = ["--db", database]
        assert (
            0
            == run(leads, "--rules", rules, "--out", folder / name, *options).exit_code
        )
        return read(folder / name)

    whole = route_to("whole.csv")
    monkeypatch.setattr("crmkit.cli._route.BATCH_SIZE", 4)
    cut = route_to("cut.csv")
    assert 17 == len(cut)
    assert whole == cut
    assert ["chloe", "alice", "bob", "chloe"] == [row["owner"] for row in cut[6:10]]
