"""crmkit import and crmkit export from the command line."""

import json
import sqlite3

import pytest
from click.testing import CliRunner

from crmkit.cli import main

AT = "2026-11-22T09:00:00+00:00"
MAPPING = """\
entity = "person"
[options]
phone_region = "FR"
external_id = { system = "legacy_crm", column = "ID" }
[columns]
"Prénom" = "first_name"
"Nom" = "last_name"
"Email" = "emails"
"Société" = "company"
"""
ROWS = [
    ["ID", "Prénom", "Nom", "Email", "Société", "Notes"],
    ["1", "Jean", "Dupont", "jean@acme.fr", "Acme", "client depuis 2019"],
    ["2", "Marie", "Durand", "marie@@acme.fr", "Acme", ""],
    ["3", "Anne", "Roy", "anne@batiplus.fr", "Batiplus", ""],
]


@pytest.fixture
def runner() -> CliRunner:
    return CliRunner()


@pytest.fixture
def files(tmp_path, write_csv, runner):
    """A crmkit database, a ;-separated cp1252 file and its mapping."""
    db = tmp_path / "crm.db"
    runner.invoke(main, ["init", "--db", str(db), "--at", AT])
    mapping = tmp_path / "map.toml"
    mapping.write_text(MAPPING, encoding="utf-8")
    return db, write_csv(ROWS), mapping


def _import(runner, db, path, mapping, *extra):
    return runner.invoke(
        main,
        [
            "import",
            "contacts",
            str(path),
            "--mapping",
            str(mapping),
            "--db",
            str(db),
            "--at",
            AT,
            *extra,
        ],
    )


def test_import_prints_a_summary_and_exits_0_with_rejects(runner, files):
    """Rejected rows do not fail the run; the summary and the rejects path show."""
    db, path, mapping = files
    result = _import(runner, db, path, mapping)
    assert 0 == result.exit_code, result.output
    for words in (
        "Import of contacts.csv",
        "created",
        "│ rejected                   │     1 │",
        "organizations created",
        "Unmapped columns (ignored): Notes",
        "contacts.csv.rejects.csv",
        "csv, cp1252, delimiter ';'",
    ):
        assert words in result.output
    assert "━" not in result.output.split("Import of")[0]  # no progress bar when piped
    with sqlite3.connect(db) as connection:
        assert (2,) == connection.execute("SELECT count(*) FROM person").fetchone()


def test_import_again_updates_nothing_and_duplicates_nothing(runner, files):
    """The same file twice: the second run finds every row unchanged."""
    db, path, mapping = files
    _import(runner, db, path, mapping)
    result = _import(runner, db, path, mapping)
    assert "│ unchanged                  │     2 │" in result.output
    with sqlite3.connect(db) as connection:
        assert (2,) == connection.execute("SELECT count(*) FROM person").fetchone()


def test_rejects_option(runner, files, tmp_path):
    """--rejects writes the rejects file where asked."""
    db, path, mapping = files
    target = tmp_path / "refused.csv"
    _import(runner, db, path, mapping, "--rejects", str(target))
    assert "2,Email,marie@@acme.fr" in target.read_text(encoding="utf-8")


@pytest.mark.parametrize(
    ("mapping_text", "words"),
    [
        ('[columns]\n"Nom" = "surname"\n', 'columns."Nom".field'),
        ('[columns]\n"Name" = "last_name"\n', 'has no column "Name"'),
        (
            'entity = "organization"\n[columns]\n"Nom" = "name"\n',
            "use `crmkit import organizations`",
        ),
    ],
)
def test_a_bad_mapping_exits_1_with_one_clear_line(runner, files, mapping_text, words):
    """A mapping that does not fit stops the run: exit 1, the reason on stderr."""
    db, path, mapping = files
    mapping.write_text(mapping_text, encoding="utf-8")
    result = _import(runner, db, path, mapping)
    assert 1 == result.exit_code
    assert words in result.output


def test_a_file_not_in_its_encoding_exits_1(runner, files):
    """A file that is not in the stated encoding stops the run before any row."""
    db, path, mapping = files
    mapping.write_text(MAPPING.replace("[options]", '[options]\nencoding = "utf-8"'))
    result = _import(runner, db, path, mapping)
    assert 1 == result.exit_code
    assert "not valid utf-8" in result.output
    with sqlite3.connect(db) as connection:
        assert (0,) == connection.execute("SELECT count(*) FROM person").fetchone()


def test_not_a_crmkit_database_exits_1(runner, files, tmp_path):
    """An empty or foreign database is refused before the file is read."""
    _, path, mapping = files
    result = _import(runner, tmp_path / "empty.db", path, mapping)
    assert 1 == result.exit_code
    assert "run `crmkit init`" in result.output


def test_export_to_stdout_and_to_files(runner, files, tmp_path, monkeypatch):
    """--out - streams to stdout; the default is crmkit-contacts.<format> here."""
    db, path, mapping = files
    _import(runner, db, path, mapping)
    streamed = runner.invoke(
        main, ["export", "contacts", "--db", str(db), "--format", "jsonl", "--out", "-"]
    )
    assert 0 == streamed.exit_code, streamed.output
    people = [json.loads(line) for line in streamed.stdout.splitlines()]
    assert ["Dupont", "Roy"] == sorted(p["last_name"] for p in people)
    assert "Exported 2 contacts to stdout" in streamed.stderr
    monkeypatch.chdir(tmp_path)
    written = runner.invoke(main, ["export", "contacts", "--db", str(db)])
    assert "Exported 2 contacts to crmkit-contacts.csv" in written.output
    assert (
        (tmp_path / "crmkit-contacts.csv")
        .read_text(encoding="utf-8")
        .startswith("id,version,created_at")
    )
    organizations = runner.invoke(
        main,
        ["export", "organizations", "--db", str(db), "--out", str(tmp_path / "o.csv")],
    )
    assert "Exported 2 organizations" in organizations.output


def test_import_organizations(runner, tmp_path, write_csv):
    """crmkit import organizations takes an organization mapping."""
    db = tmp_path / "crm.db"
    runner.invoke(main, ["init", "--db", str(db), "--at", AT])
    mapping = tmp_path / "accounts.toml"
    mapping.write_text(
        'entity = "organization"\n[columns]\n"Raison sociale" = "name"\n',
        encoding="utf-8",
    )
    path = write_csv([["Raison sociale"], ["Acme"], ["Batiplus"]], name="a.csv")
    result = runner.invoke(
        main,
        [
            "import",
            "organizations",
            str(path),
            "--mapping",
            str(mapping),
            "--db",
            str(db),
        ],
    )
    assert 0 == result.exit_code, result.output
    assert "│ created                    │     2 │" in result.output


def test_help_lists_the_commands(runner):
    """import and export are listed, each with its subcommands."""
    assert "import" in runner.invoke(main, ["--help"]).output
    assert "contacts" in runner.invoke(main, ["import", "--help"]).output
    assert "organizations" in runner.invoke(main, ["export", "--help"]).output


def test_progress_bar_on_a_terminal(runner, files):
    """On a terminal the import shows its progress, then the same summary."""
    db, path, mapping = files
    result = runner.invoke(
        main,
        ["import", "contacts", str(path), "--mapping", str(mapping), "--db", str(db)],
        env={"TTY_COMPATIBLE": "1", "TTY_INTERACTIVE": "1", "COLUMNS": "100"},
    )
    assert 0 == result.exit_code, result.output
    assert "Import of contacts.csv" in result.output


def test_unwritable_rejects_file_exits_1(runner, files, tmp_path):
    """A rejects file that cannot be written is one clear line, exit status 1."""
    db, path, mapping = files
    result = _import(
        runner, db, path, mapping, "--rejects", str(tmp_path / "no" / "dir.csv")
    )
    assert 1 == result.exit_code
    assert "No such file or directory" in result.output


def test_export_refuses_a_bad_delimiter(runner, files):
    """A delimiter of two characters is refused with exit status 1."""
    db, _, _ = files
    result = runner.invoke(
        main, ["export", "contacts", "--db", str(db), "--delimiter", ";;", "--out", "-"]
    )
    assert 1 == result.exit_code
    assert "delimiter" in result.output


def test_import_json_lines_with_the_format_option(runner, files, tmp_path):
    """--format jsonl reads a file whatever its suffix."""
    db, _, mapping = files
    path = tmp_path / "contacts.txt"
    path.write_text(
        '{"ID": "9", "Prénom": "Anne", "Nom": "Roy", "Email": null, "Société": ""}\n',
        encoding="utf-8",
    )
    result = _import(runner, db, path, mapping, "--format", "jsonl")
    assert 0 == result.exit_code, result.output
    assert "Read as jsonl, utf-8-sig." in result.output
