"""crmkit pipeline check and crmkit forecast."""

import csv
import io
import json
import sys
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from crmkit.cli import main
from crmkit.ids import new_id
from crmkit.pipelines import DealPipeline, Stage, definition_to_dict, load_definition
from crmkit.repositories.sql import SqlDatabase
from crmkit.values import Money

AT = datetime(2026, 1, 10, tzinfo=UTC)
B2B = Path(__file__).parents[1] / "unit" / "data" / "pipeline_b2b.toml"


@pytest.fixture
def runner():
    return CliRunner()


@pytest.fixture
def crm(tmp_path):
    """A database with three open deals (one in USD), one won and one lost."""
    path = tmp_path / "crm.db"
    database = SqlDatabase.sqlite(path)
    database.upgrade(at=AT)
    sales = DealPipeline(
        "b2b",
        [
            Stage("new", 0.1),
            Stage("proposal", 0.5, "commit"),
            Stage("won", 1.0, "closed", outcome="won"),
            Stage("lost", 0.0, "omitted", outcome="lost"),
        ],
    )
    owner = new_id(AT)

    def deal(name, amount, currency="EUR", close=date(2026, 2, 1)):
        return sales.open(
            at=AT,
            name=name,
            amount=Money(Decimal(amount), currency),
            owner_id=owner,
            expected_close_date=close,
        ).entity

    deals = [
        deal("A", 1000),
        sales.move(deal("B", 2000), "proposal", at=AT).entity,
        deal("C", 500, "USD", date(2026, 5, 1)),
        sales.win(deal("D", 300), at=AT).entity,
        sales.lose(deal("E", 9999), "price", at=AT).entity,
    ]
    with database.unit_of_work() as uow:
        for one in deals:
            uow.deals.add(one)
        uow.commit()
    database.dispose()
    return str(path), str(owner)


def test_check_prints_the_stages_of_a_valid_definition(runner):
    result = runner.invoke(main, ["pipeline", "check", str(B2B)])
    assert result.exit_code == 0, result.output
    assert "prospecting" in result.output
    assert "valid" in result.output


def test_check_reports_a_typo_with_file_line_and_path(runner, tmp_path):
    bad = tmp_path / "bad.toml"
    bad.write_text(B2B.read_text().replace("rotting_days", "roting_days"))
    result = runner.invoke(main, ["pipeline", "check", str(bad)])
    assert result.exit_code == 1
    assert f"{bad}:7:15: stages[0].roting_days: unknown key" in result.output


def test_forecast_as_csv_by_quarter_and_owner(runner, crm):
    path, owner = crm
    result = runner.invoke(
        main,
        [
            "forecast",
            "--db",
            path,
            "--by",
            "owner",
            "--rate",
            "USD=0.9",
            "--format",
            "csv",
        ],
    )
    assert result.exit_code == 0, result.output
    rows = list(csv.DictReader(io.StringIO(result.output)))
    assert [(r["period"], r["owner"]) for r in rows] == [
        ("FY2026-Q1", owner),
        ("FY2026-Q2", owner),
    ]
    q1 = rows[0]
    assert (q1["deals"], q1["amount"], q1["weighted"]) == ("3", "3300.00", "1400.00")
    assert (q1["closed"], q1["commit"]) == ("300.00", "2300.00")
    assert rows[1]["amount"] == "450.00"


def test_forecast_as_json_to_a_file_by_month(runner, crm, tmp_path):
    path, _ = crm
    out = tmp_path / "forecast.json"
    result = runner.invoke(
        main,
        [
            "forecast",
            "--db",
            path,
            "--period",
            "month",
            "--rate",
            "USD=0.9",
            "--format",
            "json",
            "--out",
            str(out),
        ],
    )
    assert result.exit_code == 0, result.output
    data = json.loads(out.read_text())
    assert data["currency"] == "EUR"
    assert [row["period"] for row in data["rows"]] == ["2026-01", "2026-02", "2026-05"]


def test_forecast_table_and_a_missing_rate(runner, crm):
    path, _ = crm
    table = runner.invoke(
        main, ["forecast", "--db", path, "--rate", "USD=0.9", "--format", "table"]
    )
    assert table.exit_code == 0, table.output
    assert "total" in table.output
    missing = runner.invoke(main, ["forecast", "--db", path])
    assert missing.exit_code == 1
    assert "no rate from USD to EUR" in missing.output
    bad = runner.invoke(main, ["forecast", "--db", path, "--rate", "USD=abc"])
    assert bad.exit_code == 1
    assert "CODE=NUMBER" in bad.output


def test_check_prints_the_states_of_a_lifecycle(runner, tmp_path):
    from crmkit.pipelines import LEAD_LIFECYCLE, definition_to_dict  # noqa: PLC0415

    path = tmp_path / "lead.json"
    path.write_text(json.dumps(definition_to_dict(LEAD_LIFECYCLE)))
    result = runner.invoke(main, ["pipeline", "check", str(path)])
    assert result.exit_code == 0, result.output
    assert "disqualified" in result.output
    assert (
        "convert -> converted" in result.output.replace("\n", " ")
        or "convert" in result.output
    )


def test_check_reads_yaml_and_names_a_typo_line(runner, tmp_path):
    text = yaml.safe_dump(definition_to_dict(load_definition(B2B)), sort_keys=False)
    good = tmp_path / "sales.yaml"
    good.write_text(text)
    bad = tmp_path / "bad.yml"
    bad.write_text(text.replace("rotting_days", "roting_days"))
    ok = runner.invoke(main, ["pipeline", "check", str(good)])
    refused = runner.invoke(main, ["pipeline", "check", str(bad)])
    line, column = next(
        (n, row.index(": ") + 3)
        for n, row in enumerate(bad.read_text().splitlines(), 1)
        if "roting" in row
    )
    assert (ok.exit_code, refused.exit_code) == (0, 1)
    place = f"{bad}:{line}:{column}"
    assert f"{place}: stages[0].roting_days: unknown key" in refused.output


def test_check_without_pyyaml_names_the_extra(runner, tmp_path, monkeypatch):
    path = tmp_path / "sales.yaml"
    path.write_text("name: sales\n")
    monkeypatch.setitem(sys.modules, "yaml", None)
    result = runner.invoke(main, ["pipeline", "check", str(path)])
    assert result.exit_code == 1
    assert "pip install 'crmkit[yaml]'" in result.output
