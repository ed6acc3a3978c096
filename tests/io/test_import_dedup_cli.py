"""crmkit import contacts --dedup: a policy per run, the summary and the dedup file."""

import csv
import re

import pytest
from click.testing import CliRunner

from crmkit.cli import main

AT = "2026-11-22T09:00:00+00:00"
MAPPING = """\
entity = "person"
[options]
phone_region = "FR"
[columns]
"first" = "first_name"
"last" = "last_name"
"email" = "emails"
"""
ROWS = [
    ["first", "last", "email"],
    ["Jean", "Dupont", "jean@acme.fr"],
    ["jean", "DUPONT", "Jean@Acme.fr"],
    ["Anne", "Roy", "anne@roy.fr"],
]


@pytest.fixture
def files(tmp_path, write_csv):
    db = tmp_path / "crm.db"
    assert (
        CliRunner().invoke(main, ["init", "--db", str(db), "--at", AT]).exit_code == 0
    )
    mapping = tmp_path / "map.toml"
    mapping.write_text(MAPPING, encoding="utf-8")
    return db, write_csv(ROWS, delimiter=",", encoding="utf-8"), mapping


def _import(db, path, mapping, command="contacts", *extra):
    arguments = ["import", command, str(path), "--mapping", str(mapping)]
    return CliRunner().invoke(main, [*arguments, "--db", str(db), "--at", AT, *extra])


@pytest.mark.parametrize(
    ("policy", "label", "created"),
    [
        ("skip", "duplicates skipped", 2),
        ("merge", "duplicates merged", 2),
        ("review", "duplicates for review", 2),
        ("create", "duplicates created anyway", 3),
    ],
)
def test_each_policy_reports_the_rows_it_touched(files, policy, label, created):
    db, path, mapping = files
    result = _import(db, path, mapping, "contacts", "--dedup", policy)
    assert result.exit_code == 0, result.output
    assert re.search(rf"{label} +│ +1 ", result.output)
    assert re.search(rf"┃? created +│ +{created} ", result.output)
    listing = path.with_name(f"{path.name}.dedup.csv")
    assert "Dedup: 1 matching row(s) listed in" in result.output
    with listing.open(encoding="utf-8", newline="") as handle:
        [line] = list(csv.DictReader(handle))
    assert line["row"] == "2"


def test_the_dedup_file_can_be_named_and_a_bad_policy_is_refused(files, tmp_path):
    db, path, mapping = files
    target = tmp_path / "review.csv"
    result = _import(
        db, path, mapping, "contacts", "--dedup", "review", "--dedup-file", str(target)
    )
    assert result.exit_code == 0, result.output
    assert target.exists()
    bad = _import(db, path, mapping, "contacts", "--dedup", "fuse")
    assert bad.exit_code == 2
    assert "'fuse' is not one of 'skip', 'merge', 'review', 'create'" in bad.output


def test_without_dedup_the_summary_has_no_duplicate_rows(files):
    db, path, mapping = files
    result = _import(db, path, mapping)
    assert result.exit_code == 0, result.output
    assert "duplicates" not in result.output
    assert "Dedup:" not in result.output


def test_organizations_cannot_be_deduplicated_yet(files, tmp_path, write_csv):
    db, _, _ = files
    mapping = tmp_path / "orgs.toml"
    mapping.write_text('entity = "organization"\n[columns]\nname = "name"\n')
    path = write_csv([["name"], ["Acme"]], name="orgs.csv", delimiter=",")
    result = _import(db, path, mapping, "organizations", "--dedup", "skip")
    assert result.exit_code == 1
    assert "dedup checks people" in result.output
