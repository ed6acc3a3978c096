"""
Import a legacy CRM's French contact export, with its bad rows, into crmkit.

Writes a small ``;``-separated cp1252 CSV (the way French Excel exports it) and a
TOML mapping into a temporary directory, imports the file into a temporary SQLite
database, then prints the summary and the rejects file: the rows that were
refused, with their row number, column, value and reason. A second run of the
same import shows that nothing is duplicated.

Run it with ``python examples/import_contacts.py``.
"""

import csv
import tempfile
from datetime import UTC, datetime
from pathlib import Path

from rich.console import Console
from rich.table import Table

from crmkit.io import ImportSummary, import_entities, read_mapping
from crmkit.repositories.sql import SqlDatabase

MAPPING = """\
entity = "person"
[options]
phone_region = "FR"
date_format = "%d/%m/%Y"
batch_size = 500
external_id = { system = "legacy_crm", column = "ID" }

[columns]
"Nom complet" = { field = "name", transform = "split_full_name" }
"Email" = "emails"
"Téléphone" = "phones"
"Société" = "company"
"CP" = "address.postcode"
"Ville" = "address.city"
"Pays" = { field = "address.country", map = { "France" = "FR", "Belgique" = "BE" } }
"Naissance" = "birth_date"

[columns.Segment]
field = "custom.segment"
map = { "PME" = "smb", "Grand compte" = "enterprise" }
"""

# What the legacy CRM's "Export to Excel" wrote: ;-separated, cp1252, CRLF.
EXPORT_LINES = [
    "ID;Nom complet;Email;Téléphone;Société;CP;Ville;Pays;Naissance;Segment;Note",
    (
        "101;Claire LEFÈVRE;claire.lefevre@acme.fr;01 42 68 53 00;Acme Industrie;"
        "75002;Paris;France;14/03/1979;Grand compte;"
    ),
    (
        "102;Jean-Pierre de La Fontaine;jp@@fontaine.fr;06 12 34 56 78;"
        "Fontaine Conseil;69003;Lyon;France;;PME;email à vérifier"
    ),
    (
        "103;M. Hugo Peeters;hugo.peeters@batiplus.be;+32 2 555 12 12;Batiplus;"
        "1000;Bruxelles;Belgique;28/02/1985;PME;"
    ),
    "104;Inès Moreau;ines.moreau@acme.fr;01 23;Acme Industrie;75002;Paris;Allemagne;;;",
    (
        "105;DUBOIS Sophie;sophie.dubois@ecotherm.fr;;Ecotherm;31000;Toulouse;"
        "France;02/11/1990;PME;relance en janvier"
    ),
]


def _summary_table(summary: ImportSummary) -> Table:
    table = Table(title="Import summary")
    table.add_column("rows")
    table.add_column("count", justify="right")
    for name in (
        "read",
        "created",
        "updated",
        "unchanged",
        "rejected",
        "skipped_already_imported",
        "organizations_created",
    ):
        table.add_row(name.replace("_", " "), str(getattr(summary, name)))
    return table


def main() -> None:
    """Write the legacy export, import it twice, show what was refused and why."""
    console = Console()
    at = datetime(2026, 11, 22, 9, 0, tzinfo=UTC)
    with tempfile.TemporaryDirectory() as directory:
        folder = Path(directory)
        export = folder / "contacts.csv"
        export.write_bytes(
            "".join(f"{line}\r\n" for line in EXPORT_LINES).encode("cp1252")
        )
        (folder / "mapping.toml").write_text(MAPPING, encoding="utf-8")
        database = SqlDatabase.sqlite(folder / "crm.db")
        database.upgrade(at=at)

        mapping = read_mapping(folder / "mapping.toml")
        summary = import_entities(database, export, mapping=mapping, at=at)
        console.print(_summary_table(summary))
        console.print(
            f"Read as {summary.format}, {summary.encoding}, "
            f"delimiter {summary.delimiter!r}; unmapped columns: "
            f"{', '.join(summary.unmapped_columns)}",
            highlight=False,
            markup=False,
        )

        rejects = Table(title=f"Rejects ({summary.rejects_path.name})")
        with summary.rejects_path.open(encoding="utf-8", newline="") as handle:
            lines = list(csv.DictReader(handle))
        for column in ("row", "column", "value", "reason"):
            rejects.add_column(column)
        for line in lines:
            rejects.add_row(line["row"], line["column"], line["value"], line["reason"])
        console.print(rejects)

        again = import_entities(database, export, mapping=mapping, at=at)
        with database.unit_of_work() as uow:
            people = uow.people.count()
            organizations = uow.organizations.count()
        console.print(
            f"Second run: {again.created} created, {again.unchanged} unchanged; "
            f"the database holds {people} people and {organizations} organizations."
        )
        database.dispose()
        assert (summary.created, summary.rejected, people) == (3, 2, 3)  # noqa: S101


if __name__ == "__main__":
    main()
