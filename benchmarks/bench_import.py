"""
Import contact rows from CSV into SQLite: crmkit's mapping against a naive loop.

One CSV file of generated contacts (``first_name, last_name, email, phone, company,
street, postcode, city, country``; rows from ``_data.py``, French phones mostly in
national form, a few percent of bad emails and phones) is written to a temporary
folder, streaming, then imported twice, in the same run:

- naive: what a user would otherwise write: a `csv.reader` loop calling
  ``email_validator.validate_email(..., check_deliverability=False)`` (keeping
  ``.normalized``) and ``phonenumbers.parse(phone, "FR")`` + ``is_valid_number``
  + E.164 on each row, skipping bad rows, then ``executemany`` INSERTs into one
  plain SQLite table (an index on email, WAL), ``--batch-size`` rows per
  transaction;
- crmkit: ``import_entities`` with an `ImportMapping` (``company`` -> an
  organisation and a role, address columns -> ``address.*``, ``phone_region="FR"``)
  into a fresh ``SqlDatabase.sqlite`` file, ``--batch-size`` rows per batch.

crmkit does more per row than the naive loop: it builds a full `Person` (UUIDv7 id,
timestamps, history), finds or creates the company's organisation, keys each row
for a safe re-run and writes a rejects file. Both are timed from opening the file
to the last commit.

Each phase runs in its own process (this script with ``--phase``), so its peak
RSS (``ru_maxrss``) is its own. After both imports, ``--lookups`` emails stored by
the naive side (plus 1 % that nobody has) are looked up: on crmkit with
``uow.people.find_by_email`` in one read-only unit of work, on the naive table
with ``SELECT ... WHERE email = ?``; every call is timed, none is dropped.

Run from the repository root::

    .venv/bin/python benchmarks/bench_import.py [--rows N] [--batch-size B]
"""

from __future__ import annotations

import argparse
import csv
import importlib.metadata
import json
import os
import platform
import random
import resource
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import email_validator
import phonenumbers
from _data import _PROVIDERS, DEFAULT_SEED, _Generator
from email_validator import EmailNotValidError
from phonenumbers import NumberParseException, PhoneNumberFormat
from rich.console import Console
from rich.table import Table

PHONE_REGION = "FR"
COLUMNS = (
    "first_name", "last_name", "email", "phone", "company",
    "street", "postcode", "city", "country",
)  # fmt: skip
PROVIDER_DOMAINS = frozenset(d for pairs in _PROVIDERS.values() for d, _ in pairs)
BAD_EMAIL_SHARE = 0.02
BAD_PHONE_SHARE = 0.02
MISS_SHARE = 0.01
AT = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)


def _peak_rss_mib() -> float:
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / 2**20 if sys.platform == "darwin" else peak / 2**10


# ------------------------------------------------------------------------ data --


def _company(domain: str) -> str:
    """``acme-industrie.fr`` -> ``Acme Industrie``; nothing for a mail provider."""
    if domain.lower() in PROVIDER_DOMAINS:
        return ""
    name = domain.rsplit(".", 1)[0].replace("-", " ")
    return name.title()


def write_csv(path: Path, rows: int, seed: int) -> dict[str, int]:
    """Write ``rows`` contacts to ``path``, one at a time; return what was spoilt."""
    generator = _Generator(seed, PHONE_REGION, 3_000)
    spoil = random.Random(seed + 1)  # the good rows stay those of ``seed``
    spoilt = {"bad_email": 0, "bad_phone": 0}
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(COLUMNS)
        for _ in range(rows):
            row = generator.contact()
            email, phone = row["emails"][0], row["phones"][0]
            address = row["addresses"][0]
            company = _company(email.rpartition("@")[2])
            if spoil.random() < BAD_EMAIL_SHARE:
                email = spoil.choice(
                    (email.replace("@", "@@"), email.replace("@", " "),
                     email.replace(".", "..", 1) if "." in email else email + "@")
                )  # fmt: skip
                spoilt["bad_email"] += 1
            if spoil.random() < BAD_PHONE_SHARE:
                phone = spoil.choice(("06 12 34", "+33 0 12 34 56 78", "n/a"))
                spoilt["bad_phone"] += 1
            writer.writerow(
                (
                    row["first_name"],
                    row["last_name"],
                    email,
                    phone,
                    company,
                    address["lines"][0],
                    address["postcode"],
                    address["city"],
                    address["country"],
                )
            )
    return spoilt


# ----------------------------------------------------------------------- naive --

NAIVE_SCHEMA = """
CREATE TABLE contacts (
    id INTEGER PRIMARY KEY,
    first_name TEXT, last_name TEXT, email TEXT NOT NULL, phone TEXT NOT NULL,
    company TEXT, street TEXT, postcode TEXT, city TEXT, country TEXT
);
CREATE INDEX contacts_email ON contacts (email);
"""
NAIVE_INSERT = "INSERT INTO contacts (first_name, last_name, email, phone, company, \
street, postcode, city, country) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)"


def naive_import(csv_path: Path, db_path: Path, batch_size: int) -> dict[str, Any]:
    start = time.perf_counter()
    connection = sqlite3.connect(db_path, isolation_level=None)
    connection.execute("PRAGMA journal_mode=WAL")
    connection.executescript(NAIVE_SCHEMA)
    accepted = rejected = 0
    batch: list[tuple[str, ...]] = []

    def flush() -> None:
        connection.execute("BEGIN IMMEDIATE")
        connection.executemany(NAIVE_INSERT, batch)
        connection.execute("COMMIT")
        batch.clear()

    with csv_path.open(encoding="utf-8", newline="") as handle:
        reader = csv.reader(handle)
        next(reader)
        for first, last, raw_email, raw_phone, company, *address in reader:
            try:
                email = email_validator.validate_email(
                    raw_email, check_deliverability=False
                ).normalized
                number = phonenumbers.parse(raw_phone, PHONE_REGION)
            except (EmailNotValidError, NumberParseException):
                rejected += 1
                continue
            if not phonenumbers.is_valid_number(number):
                rejected += 1
                continue
            phone = phonenumbers.format_number(number, PhoneNumberFormat.E164)
            batch.append((first, last, email, phone, company, *address))
            accepted += 1
            if len(batch) >= batch_size:
                flush()
    if batch:
        flush()
    connection.close()
    seconds = time.perf_counter() - start
    return {"seconds": seconds, "accepted": accepted, "rejected": rejected}


def _sample_emails(db_path: Path, count: int, seed: int) -> list[str]:
    """``count`` stored emails (from the naive table) and a few nobody has."""
    connection = sqlite3.connect(db_path)
    (top,) = connection.execute("SELECT max(id) FROM contacts").fetchone()
    rng = random.Random(seed)
    misses = max(1, round(count * MISS_SHARE))
    ids = [rng.randrange(1, top + 1) for _ in range(count - misses)]
    found = [
        connection.execute("SELECT email FROM contacts WHERE id = ?", (i,)).fetchone()
        for i in ids
    ]
    connection.close()
    emails = [row[0] for row in found if row]
    emails += [f"nobody.{i}@absent-{i}.fr" for i in range(misses)]
    rng.shuffle(emails)
    return emails


def _timings_ms(times_ns: list[int]) -> dict[str, float]:
    ordered = sorted(times_ns)
    cut = statistics.quantiles(ordered, n=100, method="inclusive")
    return {
        "p50": statistics.median(ordered) / 1e6,
        "p99": cut[98] / 1e6,
        "max": ordered[-1] / 1e6,
    }


def naive_lookup(db_path: Path, emails: list[str]) -> dict[str, Any]:
    connection = sqlite3.connect(db_path)
    query = "SELECT * FROM contacts WHERE email = ?"
    times, hits = [], 0
    clock = time.perf_counter_ns
    for email in emails:
        start = clock()
        rows = connection.execute(query, (email,)).fetchall()
        times.append(clock() - start)
        hits += bool(rows)
    connection.close()
    return {"hits": hits, **_timings_ms(times)}


# ---------------------------------------------------------------------- crmkit --


def _mapping(batch_size: int) -> Any:
    from crmkit.io import ImportMapping  # noqa: PLC0415 - only in crmkit phases

    return ImportMapping(
        entity="person",
        columns={
            "first_name": "first_name",
            "last_name": "last_name",
            "email": "emails",
            "phone": "phones",
            "company": "company",
            "street": "address.lines",
            "postcode": "address.postcode",
            "city": "address.city",
            "country": "address.country",
        },
        options={"phone_region": PHONE_REGION, "batch_size": batch_size},
    )


def crmkit_import(csv_path: Path, db_path: Path, batch_size: int) -> dict[str, Any]:
    from crmkit.io import import_entities  # noqa: PLC0415
    from crmkit.repositories.sql import SqlDatabase  # noqa: PLC0415

    mapping = _mapping(batch_size)
    start = time.perf_counter()
    database = SqlDatabase.sqlite(db_path)
    database.upgrade(at=AT)
    summary = import_entities(
        database,
        csv_path,
        mapping=mapping,
        at=AT,
        rejects_path=db_path.with_suffix(".rejects.csv"),
    )
    seconds = time.perf_counter() - start
    return {
        "seconds": seconds,
        "accepted": summary.created,
        "rejected": summary.rejected,
        "read": summary.read,
        "organizations": summary.organizations_created,
        "problems": summary.problems,
    }


def crmkit_lookup(db_path: Path, emails: list[str]) -> dict[str, Any]:
    from crmkit.repositories.sql import SqlDatabase  # noqa: PLC0415

    database = SqlDatabase.sqlite(db_path)
    times, hits = [], 0
    clock = time.perf_counter_ns
    with database.unit_of_work(readonly=True) as uow:
        find = uow.people.find_by_email
        for email in emails:
            start = clock()
            people = find(email)
            times.append(clock() - start)
            hits += bool(people)
    return {"hits": hits, **_timings_ms(times)}


# ---------------------------------------------------------------------- phases --


def run_phase(args: argparse.Namespace) -> dict[str, Any]:
    folder = Path(args.dir)
    csv_path = folder / "contacts.csv"
    if args.phase == "naive":
        result = naive_import(csv_path, folder / "naive.db", args.batch_size)
    elif args.phase == "crmkit":
        result = crmkit_import(csv_path, folder / "crmkit.db", args.batch_size)
    else:
        emails = _sample_emails(folder / "naive.db", args.lookups, args.seed)
        result = {
            "naive": naive_lookup(folder / "naive.db", emails),
            "crmkit": crmkit_lookup(folder / "crmkit.db", emails),
            "asked": len(emails),
        }
    result["peak_rss_mib"] = _peak_rss_mib()
    return result


def _child(args: argparse.Namespace, phase: str, folder: Path) -> dict[str, Any]:
    command = [sys.executable, __file__, "--phase", phase, "--dir", str(folder)]
    command += ["--batch-size", str(args.batch_size), "--seed", str(args.seed)]
    command += ["--lookups", str(args.lookups)]
    done = subprocess.run(command, check=True, capture_output=True, text=True)  # noqa: S603
    return json.loads(done.stdout.strip().splitlines()[-1])


# --------------------------------------------------------------------- report --


def _versions() -> str:
    names = ("crmkit", "email-validator", "phonenumbers", "SQLAlchemy")
    found = [f"{n} {importlib.metadata.version(n)}" for n in names]
    return ", ".join(found) + f", SQLite {sqlite3.sqlite_version}"


def _cpu() -> str:
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as info:  # noqa: PTH123
            for line in info:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def report(
    console: Console,
    rows: int,
    naive: dict[str, Any],
    crm: dict[str, Any],
    lookup: dict[str, Any],
) -> None:
    naive_rate, crm_rate = rows / naive["seconds"], rows / crm["seconds"]
    ratio = crm_rate / naive_rate
    table = Table(title=f"bench_import: {rows:,} CSV rows into SQLite")
    table.add_column("")
    table.add_column("naive loop", justify="right")
    table.add_column("crmkit", justify="right")
    table.add_column("crmkit/naive", justify="right")
    table.add_row(
        "import time (s)", f"{naive['seconds']:.1f}", f"{crm['seconds']:.1f}", ""
    )
    table.add_row("rows/s", f"{naive_rate:,.0f}", f"{crm_rate:,.0f}", f"{ratio:.2f}")
    table.add_row(
        "µs/row",
        f"{naive['seconds'] / rows * 1e6:.1f}",
        f"{crm['seconds'] / rows * 1e6:.1f}",
        "",
    )
    table.add_row("rows stored", f"{naive['accepted']:,}", f"{crm['accepted']:,}", "")
    table.add_row("rows rejected", f"{naive['rejected']:,}", f"{crm['rejected']:,}", "")
    table.add_row(
        "peak RSS (MiB)",
        f"{naive['peak_rss_mib']:.0f}",
        f"{crm['peak_rss_mib']:.0f}",
        "",
    )
    for name in ("p50", "p99", "max"):
        table.add_row(
            f"lookup by email {name} (ms)",
            f"{lookup['naive'][name]:.3f}",
            f"{lookup['crmkit'][name]:.3f}",
            "",
        )
    table.add_row(
        "lookups found",
        f"{lookup['naive']['hits']:,}/{lookup['asked']:,}",
        f"{lookup['crmkit']['hits']:,}/{lookup['asked']:,}",
        "",
    )
    console.print(table)
    console.print(
        f"crmkit also created {crm['organizations']:,} organisations and wrote "
        f"{crm['problems']:,} reject lines"
    )

    def verdict(ok: bool) -> str:
        return "met" if ok else "NOT met"

    p99 = lookup["crmkit"]["p99"]
    peak = crm["peak_rss_mib"]
    console.print(
        f"Target crmkit/naive rows/s >= 2.00: {verdict(ratio >= 2)} ({ratio:.2f})"
    )
    console.print(
        f"Target crmkit peak RSS < 300 MiB: {verdict(peak < 300)} ({peak:.0f} MiB)"
    )
    console.print(f"Target crmkit lookup p99 < 1 ms: {verdict(p99 < 1)} ({p99:.3f} ms)")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0].strip())
    parser.add_argument("--rows", type=int, default=1_000_000, metavar="N")
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED)
    parser.add_argument("--batch-size", type=int, default=5_000, metavar="B")
    parser.add_argument("--lookups", type=int, default=10_000, metavar="L")
    parser.add_argument(
        "--keep", metavar="DIR", help="write the CSV and databases here and keep them"
    )
    phases = ("naive", "crmkit", "lookup")
    parser.add_argument("--phase", choices=phases, help=argparse.SUPPRESS)
    parser.add_argument("--dir", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.phase:
        print(json.dumps(run_phase(args)))
        return
    if args.rows < 1 or args.batch_size < 1 or args.lookups < 100:
        parser.error("--rows and --batch-size must be at least 1, --lookups 100")

    console = Console()
    console.print(
        f"Python {platform.python_version()} ({platform.python_implementation()}), "
        f"{platform.system()} {platform.machine()}, nproc {os.cpu_count()}, "
        f"CPU {_cpu()}"
    )
    console.print(_versions())
    with tempfile.TemporaryDirectory(prefix="bench_import_") as scratch:
        folder = Path(args.keep) if args.keep else Path(scratch)
        folder.mkdir(parents=True, exist_ok=True)
        for name in ("naive.db", "crmkit.db", "crmkit.rejects.csv"):
            for leftover in folder.glob(f"{name}*"):
                leftover.unlink()
        start = time.perf_counter()
        spoilt = write_csv(folder / "contacts.csv", args.rows, args.seed)
        size = (folder / "contacts.csv").stat().st_size
        console.print(
            f"Data: {args.rows:,} rows (seed {args.seed}), {size / 2**20:.0f} MiB "
            f"of CSV in {time.perf_counter() - start:.1f} s; spoilt: "
            f"{spoilt['bad_email']:,} emails, {spoilt['bad_phone']:,} phones"
        )
        naive = _child(args, "naive", folder)
        crm = _child(args, "crmkit", folder)
        lookup = _child(args, "lookup", folder)
        report(console, args.rows, naive, crm, lookup)


if __name__ == "__main__":
    main()
