"""crmkit dedup find: the file contract and its refusals."""

import csv

import pytest
from click.testing import CliRunner

from crmkit.cli import main
from crmkit.dedup import contact_config

COLUMNS = "id,first_name,last_name,email,phone,company,street,city,postal_code,country"
HEADER = COLUMNS + ",notes\n"
_AT = "12 bd Saint-Michel,Paris,75005,FR"
ROWS = [
    f"1,Robert,Dupont,bob.dupont@acme.fr,06 12 34 56 78,ACME SA,{_AT},x\n",
    f"2,Bob,DUPONT,Bob.Dupont@ACME.fr,+33 6 12 34 56 78,Acme,{_AT},y\n",
    f"3,Marie,Dupont,marie@gmail.com,06 12 34 56 78,,{_AT},\n",
    "4,Alice,Martin,alice@martin.fr,,,,,,,\n",
]


@pytest.fixture
def runner():
    return CliRunner()


def _read(path):
    with path.open(newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def _find(runner, tmp_path, text, *extra):
    source = tmp_path / "in.csv"
    source.write_text(text, encoding="utf-8")
    out = tmp_path / "clusters.csv"
    result = runner.invoke(
        main, ["dedup", "find", str(source), "--out", str(out), *extra]
    )
    return result, out


def test_every_id_gets_a_cluster_singletons_included(runner, tmp_path):
    """The output names every input id; duplicates share the first one's id."""
    result, out = _find(runner, tmp_path, HEADER + "".join(ROWS))
    assert 0 == result.exit_code, result.output
    assert [
        {"id": "1", "cluster_id": "1"},
        {"id": "2", "cluster_id": "1"},
        {"id": "3", "cluster_id": "3"},
        {"id": "4", "cluster_id": "4"},
    ] == _read(out)
    assert "4 records, 1 clusters of duplicates (2 records)" in result.output


def test_workers_all_cores_or_a_count(runner, tmp_path):
    result, out = _find(runner, tmp_path, HEADER + "".join(ROWS), "--workers", "-1")
    assert 0 == result.exit_code, result.output
    assert len(_read(out)) == len(ROWS)
    result, _ = _find(runner, tmp_path, HEADER + "".join(ROWS), "--workers", "0")
    assert 2 == result.exit_code
    assert "'--workers': workers must be -1 (every core) or at least 1, not 0" in (
        result.output
    )


def test_explain_writes_each_field_of_each_considered_pair(runner, tmp_path):
    """--explain: one row per field, with values, score and weight; vetoes too."""
    pairs = tmp_path / "pairs.csv"
    result, _ = _find(runner, tmp_path, HEADER + "".join(ROWS), "--explain", str(pairs))
    assert 0 == result.exit_code, result.output
    rows = _read(pairs)
    matched = [r for r in rows if (r["left_id"], r["right_id"]) == ("1", "2")]
    assert 8 == len(matched)
    first = matched[0]
    assert ("first_name", "name", "robert", "bob", "1.0", "true") == (
        first["field"],
        first["comparator"],
        first["left_value"],
        first["right_value"],
        first["score"],
        first["matched"],
    )
    vetoed = {r["reason"] for r in rows if (r["left_id"], r["right_id"]) == ("1", "3")}
    assert {"veto: different first name, not the same email"} == vetoed


def test_threshold_and_rules_file(runner, tmp_path):
    """--threshold overrides; --rules reads a TOML configuration."""
    rules = tmp_path / "rules.toml"
    rules.write_text(
        contact_config().to_toml().replace('method = "model"', 'method = "rules"')
    )
    result, out = _find(runner, tmp_path, HEADER + "".join(ROWS), "--rules", str(rules))
    assert 0 == result.exit_code, result.output
    assert ["1", "1", "3", "4"] == [r["cluster_id"] for r in _read(out)]
    text = "id,first_name,last_name,city\n1,Jean,Dupont,Lyon\n2,Jean,Dupont,Lyon\n"
    pairs = tmp_path / "pairs.csv"
    result, out = _find(runner, tmp_path, text, "--explain", str(pairs))
    probability = float(_read(pairs)[0]["probability"])
    above = min(probability + 1e-4, 0.999999)
    below = max(probability - 1e-4, 0.000001)
    result, out = _find(runner, tmp_path, text, "--threshold", str(above))
    assert ["1", "2"] == [r["cluster_id"] for r in _read(out)]
    result, out = _find(runner, tmp_path, text, "--threshold", str(below))
    assert ["1", "1"] == [r["cluster_id"] for r in _read(out)]


def test_missing_columns_count_as_blank(runner, tmp_path):
    """A file with only id and names works; the missing columns are named."""
    text = "id,first_name,last_name\n1,Jean,Dupont\n2,Jean,Dupont\n"
    result, out = _find(runner, tmp_path, text)
    assert 0 == result.exit_code, result.output
    assert "no column email, phone, company" in result.output
    assert ["1", "2"] == [r["id"] for r in _read(out)]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "the file is empty"),
        ("first_name,last_name\nJean,Dupont\n", "no id column"),
        (HEADER + ROWS[0] + ROWS[0].replace("Robert", "Rob"), "duplicate ids: 1"),
        (HEADER + ",Jean,Dupont\n", "every record needs an id"),
        ("id,first_name\n1,Jean,extra\n", "more values than columns"),
    ],
)
def test_bad_files_are_refused_clearly(runner, tmp_path, text, message):
    """Empty file, no id column, duplicate or missing ids: exit 1 and say why."""
    result, out = _find(runner, tmp_path, text)
    assert 1 == result.exit_code
    assert message in result.output
    assert not out.exists()


def test_a_rules_file_with_a_typo_is_refused_naming_it(runner, tmp_path):
    """An unknown key in --rules names the key and the file."""
    rules = tmp_path / "rules.toml"
    rules.write_text(
        contact_config().to_toml().replace("threshold = 0.9", "treshold = 0.9", 1)
    )
    result, _ = _find(runner, tmp_path, HEADER + ROWS[0], "--rules", str(rules))
    assert 1 == result.exit_code
    assert str(rules) in result.output
    assert "treshold" in result.output


def test_header_only_file_gives_an_empty_result(runner, tmp_path):
    """A header without rows is valid: the output has only its header."""
    result, out = _find(runner, tmp_path, HEADER)
    assert 0 == result.exit_code, result.output
    assert "id,cluster_id\n" == out.read_text()


def test_help_states_the_file_contract(runner):
    """crmkit --help lists dedup; dedup find --help names the columns."""
    assert "dedup" in runner.invoke(main, ["--help"]).output
    text = runner.invoke(main, ["dedup", "find", "--help"]).output
    assert "id,first_name,last_name,email,phone,company," in text
    for option in ("--out", "--rules", "--explain", "--threshold"):
        assert option in text
