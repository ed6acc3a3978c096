"""crmkit dedup find --db and crmkit dedup merge, on a SQLite database."""

import csv
from datetime import UTC, datetime, timedelta

import pytest
from click.testing import CliRunner

from crmkit.cli import main
from crmkit.errors import NotFound
from crmkit.model import (
    Activity,
    ActivityKind,
    Organization,
    OrganizationRole,
    PartyKind,
    PartyRef,
    Person,
)
from crmkit.repositories.sql import SqlDatabase
from crmkit.values import EmailAddress, PhoneNumber, PostalAddress

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
LATER = "2026-03-10T09:00:00+00:00"
ADDRESS = PostalAddress(
    lines=("12 bd Saint-Michel",), postcode="75005", city="Paris", country="FR"
)


@pytest.fixture
def runner():
    """A click runner."""
    return CliRunner()


@pytest.fixture
def stored(tmp_path):
    """A SQLite database with Robert Dupont twice, Marie Dupont, and a call."""
    path = tmp_path / "crm.db"
    database = SqlDatabase.sqlite(path)
    database.upgrade(at=T0)
    acme = Organization.create(at=T0, name="ACME SA")
    role = (OrganizationRole(organization_id=acme.id, is_primary=True),)
    robert = Person.create(
        at=T0,
        first_name="Robert",
        last_name="Dupont",
        emails=(EmailAddress("bob.dupont@acme.fr"),),
        phones=(PhoneNumber("+33612345678"),),
        addresses=(ADDRESS,),
        roles=role,
    )
    bob = Person.create(
        at=T0 + timedelta(hours=1),
        first_name="Bob",
        last_name="DUPONT",
        emails=(EmailAddress("Bob.Dupont@ACME.fr"), EmailAddress("bob@gmail.com")),
        phones=(PhoneNumber("+33612345678"),),
        addresses=(ADDRESS,),
        job_title="Buyer",
        roles=role,
    )
    marie = Person.create(
        at=T0,
        first_name="Marie",
        last_name="Dupont",
        emails=(EmailAddress("marie@gmail.com"),),
        phones=(PhoneNumber("+33612345678"),),
        addresses=(ADDRESS,),
    )
    call = Activity.create(
        at=T0,
        kind=ActivityKind.CALL,
        subject="Renewal",
        parties=(PartyRef(PartyKind.PERSON, bob.id),),
    )
    with database.unit_of_work() as uow:
        uow.organizations.add(acme)
        uow.people.add_many([robert, bob, marie])
        uow.activities.add(call)
        uow.commit()
    database.dispose()
    return {"path": path, "robert": robert, "bob": bob, "marie": marie, "call": call}


def _read(path):
    with path.open(newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def _run(runner, *args):
    return runner.invoke(main, ["dedup", *args], catch_exceptions=False)


def _database(stored):
    return SqlDatabase.sqlite(stored["path"])


def _find(runner, stored, tmp_path, *extra):
    out = tmp_path / "clusters.csv"
    result = _run(
        runner, "find", "--db", str(stored["path"]), "--out", str(out), *extra
    )
    assert 0 == result.exit_code, result.output
    return out


def test_find_on_the_database_clusters_the_stored_persons(runner, stored, tmp_path):
    """Every stored person gets a cluster; Robert and Bob share one, Marie not."""
    out = _find(runner, stored, tmp_path)
    clusters = {row["id"]: row["cluster_id"] for row in _read(out)}
    robert, bob, marie = (str(stored[k].id) for k in ("robert", "bob", "marie"))
    assert {robert, bob, marie} == set(clusters)
    assert clusters[robert] == clusters[bob] != clusters[marie]


def test_find_on_the_database_explains_its_pairs(runner, stored, tmp_path):
    """--explain writes the evidence of the considered pairs, company included."""
    pairs = tmp_path / "pairs.csv"
    _find(runner, stored, tmp_path, "--explain", str(pairs))
    rows = _read(pairs)
    company = {r["left_value"] for r in rows if r["field"] == "company"}
    assert "ACME SA" in company or "acme" in company


def test_find_with_db_alone_uses_crmkit_db(runner, stored, tmp_path, monkeypatch):
    """A bare --db reads $CRMKIT_DB."""
    monkeypatch.setenv("CRMKIT_DB", str(stored["path"]))
    out = tmp_path / "clusters.csv"
    result = _run(runner, "find", "--db", "--out", str(out))
    assert 0 == result.exit_code, result.output
    assert 3 == len(_read(out))


def test_find_needs_a_file_or_the_database_not_both(runner, stored, tmp_path):
    """Neither or both sources is a usage error."""
    out = tmp_path / "c.csv"
    neither = runner.invoke(main, ["dedup", "find", "--out", str(out)])
    source = tmp_path / "in.csv"
    source.write_text("id\n1\n", encoding="utf-8")
    both = runner.invoke(
        main,
        ["dedup", "find", str(source), "--db", str(stored["path"]), "--out", str(out)],
    )
    assert (2, 2) == (neither.exit_code, both.exit_code)
    assert "INPUT.csv or --db" in neither.output


def test_merge_a_clusters_file_then_undo(runner, stored, tmp_path):
    """The clusters found are merged; the printed merge id undoes it."""
    out = _find(runner, stored, tmp_path)
    result = _run(
        runner,
        "merge",
        "--clusters",
        str(out),
        "--db",
        str(stored["path"]),
        "--at",
        LATER,
    )
    assert 0 == result.exit_code, result.output
    robert, bob = stored["robert"], stored["bob"]
    assert f"into {robert.id}" in result.output
    assert "1 linked records re-pointed" in result.output
    database = _database(stored)
    with database.unit_of_work() as uow:
        survivor = uow.people.get(robert.id)
        assert "bob@gmail.com" in [str(e) for e in survivor.emails]
        assert "Buyer" == survivor.job_title
        assert robert.id == uow.activities.get(stored["call"].id).parties[0].id
        with pytest.raises(NotFound):
            uow.people.get(bob.id)
        (record,) = uow.merges.involving(bob.id)
    database.dispose()
    undo = _run(
        runner,
        "merge",
        "--undo",
        str(record.id),
        "--db",
        str(stored["path"]),
        "--at",
        "2026-03-11T09:00:00+00:00",
    )
    assert 0 == undo.exit_code, undo.output
    assert f"undid merge {record.id}" in undo.output
    database = _database(stored)
    with database.unit_of_work() as uow:
        assert bob.emails == uow.people.get(bob.id).emails
        assert bob.id == uow.activities.get(stored["call"].id).parties[0].id
        assert uow.people.get(robert.id).job_title is None
    database.dispose()


def test_dry_run_prints_what_would_survive_and_writes_nothing(runner, stored):
    """--dry-run explains each field's decision and leaves the database as it was."""
    robert, bob = stored["robert"], stored["bob"]
    result = _run(
        runner,
        "merge",
        str(bob.id),
        str(robert.id),
        "--dry-run",
        "--db",
        str(stored["path"]),
        "--at",
        LATER,
    )
    assert 0 == result.exit_code, result.output
    assert f"would keep {robert.id}" in result.output
    assert "job_title: most recent: changed" in result.output
    assert "dry run: nothing was written" in result.output
    database = _database(stored)
    with database.unit_of_work() as uow:
        assert bob == uow.people.get(bob.id)
        assert [] == uow.merges.involving(bob.id)
    database.dispose()


def test_merge_given_ids_with_a_master_and_a_policy(runner, stored, tmp_path):
    """--master names the survivor; a policy file changes a field's rule."""
    robert, bob = stored["robert"], stored["bob"]
    policy = tmp_path / "merge.toml"
    policy.write_text('[fields]\nfirst_name = "most_complete"\n', encoding="utf-8")
    result = _run(
        runner,
        "merge",
        str(robert.id),
        str(bob.id),
        "--master",
        str(bob.id),
        "--policy",
        str(policy),
        "--db",
        str(stored["path"]),
        "--at",
        LATER,
    )
    assert 0 == result.exit_code, result.output
    database = _database(stored)
    with database.unit_of_work() as uow:
        assert "Robert" == uow.people.get(bob.id).first_name
    database.dispose()


def test_merge_refusals_name_the_problem(runner, stored, tmp_path):
    """Unknown ids, a limit, a policy typo and a missing choice are refused clearly."""
    robert, bob, marie = stored["robert"], stored["bob"], stored["marie"]
    db = ["--db", str(stored["path"]), "--at", LATER]
    unknown = runner.invoke(
        main,
        [
            "dedup",
            "merge",
            str(robert.id),
            "0" * 8 + "-0000-7000-8000-" + "0" * 12,
            *db,
        ],
    )
    assert 1 == unknown.exit_code
    assert "ids[1]" in unknown.output
    assert "no person with this id" in unknown.output
    over = runner.invoke(
        main,
        [
            "dedup",
            "merge",
            str(robert.id),
            str(bob.id),
            str(marie.id),
            "--max-records",
            "2",
            *db,
        ],
    )
    assert 1 == over.exit_code
    assert "at most 2 records" in over.output
    typo = tmp_path / "merge.toml"
    typo.write_text('[fields]\nemials = "union"\n', encoding="utf-8")
    bad_policy = runner.invoke(
        main,
        ["dedup", "merge", str(robert.id), str(bob.id), "--policy", str(typo), *db],
    )
    assert 1 == bad_policy.exit_code
    assert f"{typo}:2:10: fields.emials" in bad_policy.output
    nothing = runner.invoke(main, ["dedup", "merge", *db])
    assert 2 == nothing.exit_code
    not_an_id = runner.invoke(main, ["dedup", "merge", "robert", str(bob.id), *db])
    assert "ids[0]" in not_an_id.output


def test_undo_of_a_merge_changed_since_is_refused_with_the_reason(runner, stored):
    """Editing the survivor's merged emails after the merge blocks the undo."""
    robert, bob = stored["robert"], stored["bob"]
    db = ["--db", str(stored["path"])]
    merged = _run(runner, "merge", str(robert.id), str(bob.id), *db, "--at", LATER)
    merge_id = merged.output.split("(merge ")[1].split(";")[0]
    database = _database(stored)
    with database.unit_of_work() as uow:
        survivor = uow.people.get(robert.id)
        edited = survivor.update(
            {"emails": survivor.emails[:1]}, at=T0 + timedelta(days=9)
        )
        uow.people.update(edited.entity)
        uow.commit()
    database.dispose()
    refused = runner.invoke(
        main,
        [
            "dedup",
            "merge",
            "--undo",
            merge_id,
            *db,
            "--at",
            "2026-03-12T09:00:00+00:00",
        ],
    )
    assert 1 == refused.exit_code
    assert f"person {robert.id}: emails changed since the merge" in refused.output


def test_a_clusters_file_without_its_columns_is_refused(runner, stored, tmp_path):
    """A clusters file must have id,cluster_id."""
    bad = tmp_path / "clusters.csv"
    bad.write_text("id,group\n1,1\n", encoding="utf-8")
    result = runner.invoke(
        main, ["dedup", "merge", "--clusters", str(bad), "--db", str(stored["path"])]
    )
    assert 1 == result.exit_code
    assert "id,cluster_id" in result.output
