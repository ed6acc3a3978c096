"""An import killed with SIGKILL halfway: a consistent database, then a clean finish."""

import hashlib
import math
import os
import signal
import sqlite3
import subprocess
import sys
import time
from datetime import datetime

from crmkit.io import row_key_system
from crmkit.repositories.sql import SqlDatabase

AT = "2026-11-22T09:00:00+00:00"
ROWS = 1200
BATCH = 50
COMPANIES = 7
MAPPING = f"""\
[options]
phone_region = "FR"
batch_size = {BATCH}
[columns]
"Prénom" = "first_name"
"Nom" = "last_name"
"Email" = "emails"
"Société" = "company"
"""


def _bad(row: int) -> bool:
    return row % 37 == 0


def _write_input(path) -> list[int]:
    """Write the contacts file; return the rows that must be accepted."""
    lines = ["Prénom;Nom;Email;Société"]
    for row in range(1, ROWS + 1):
        email = f"contact{row}@@acme.fr" if _bad(row) else f"contact{row}@acme.fr"
        lines.append(f"Élodie;Martin{row};{email};Société {row % COMPANIES}")
    path.write_bytes(("\r\n".join(lines) + "\r\n").encode("cp1252"))
    return [row for row in range(1, ROWS + 1) if not _bad(row)]


def _command(db, path, mapping) -> list[str]:
    return [
        sys.executable,
        "-c",
        "from crmkit.cli import main; main()",
        "import",
        "contacts",
        str(path),
        "--mapping",
        str(mapping),
        "--db",
        str(db),
        "--at",
        AT,
    ]


def _stored_count(db) -> int:
    with sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=5) as connection:
        return connection.execute("SELECT count(*) FROM person").fetchone()[0]


def _kill_after_first_batch(command, db) -> int:
    """Start the import, SIGKILL it once a batch has landed; return the count then."""
    process = subprocess.Popen(  # noqa: S603 - our own command line
        command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and process.poll() is None:
            if _stored_count(db) > 0:
                os.kill(process.pid, signal.SIGKILL)
                break
            time.sleep(0.005)
        process.wait(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    assert -signal.SIGKILL == process.returncode
    return _stored_count(db)


def _check_consistent(db, accepted: list[int], system: str) -> list[int]:
    """Whole batches only, every person valid, every role's organisation stored."""
    with sqlite3.connect(db) as connection:
        assert [("ok",)] == connection.execute("PRAGMA integrity_check").fetchall()
    database = SqlDatabase.sqlite(db)
    with database.unit_of_work() as uow:
        people = [p for batch in uow.people.batches() for p in batch]  # validated
        organizations = {o.id for batch in uow.organizations.batches() for o in batch}
    database.dispose()
    rows = sorted(int(p.external_ids[system]) for p in people)
    assert len(rows) == len(set(rows))
    batches = math.ceil(rows[-1] / BATCH) if rows else 0
    assert [r for r in accepted if r <= batches * BATCH] == rows
    assert all(p.primary_organization_id in organizations for p in people)
    assert len(organizations) <= COMPANIES
    return rows


def test_killed_import_is_consistent_and_a_rerun_completes_it(tmp_path):
    """SIGKILL mid-import keeps whole batches; the same import again completes it."""
    db, path, mapping = tmp_path / "crm.db", tmp_path / "contacts.csv", tmp_path / "m"
    mapping.write_text(MAPPING, encoding="utf-8")
    accepted = _write_input(path)
    database = SqlDatabase.sqlite(db)
    database.upgrade(at=datetime.fromisoformat(AT))
    database.dispose()
    system = row_key_system(hashlib.sha256(path.read_bytes()).hexdigest())
    command = _command(db, path, mapping)

    stored = _kill_after_first_batch(command, db)
    rows = _check_consistent(db, accepted, system)
    assert 0 < stored == len(rows) < len(accepted)

    finished = subprocess.run(  # noqa: S603 - our own command line
        command, capture_output=True, text=True, timeout=120, check=False
    )
    assert 0 == finished.returncode, finished.stderr
    assert accepted == _check_consistent(db, accepted, system)
    assert f"skipped (already imported) │ {stored:>5} │" in finished.stdout
    assert COMPANIES == len(
        sqlite3.connect(db).execute("SELECT name FROM organization").fetchall()
    )
    rejects = (tmp_path / "contacts.csv.rejects.csv").read_text(encoding="utf-8")
    assert ROWS - len(accepted) == len(rejects.splitlines()) - 1
