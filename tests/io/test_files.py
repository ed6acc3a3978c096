"""Reading input files: encodings, delimiters, quoting, and files refused whole."""

import codecs
import csv
import hashlib
import pickle

import pytest

from crmkit.errors import ImportRejected, InvalidDefinition, ValidationError
from crmkit.io import ImportMapping, import_entities
from crmkit.io._readers import inspect_file

MAPPING = ImportMapping(columns={"Prénom": "first_name", "Nom": "last_name"})
HEADER = ["Prénom", "Nom"]


def _count(database) -> int:
    with database.unit_of_work() as uow:
        return uow.people.count()


def _rejects(summary) -> list[list[str]]:
    with summary.rejects_path.open(encoding="utf-8", newline="") as handle:
        return list(csv.reader(handle))[1:]


def _first_names(database) -> list[str]:
    with database.unit_of_work() as uow:
        return sorted(p.first_name for batch in uow.people.batches() for p in batch)


@pytest.mark.parametrize(
    ("encoding", "expected"),
    [
        ("utf-8", "utf-8-sig"),
        ("utf-8-sig", "utf-8-sig"),
        ("cp1252", "cp1252"),
        ("utf-16", "utf-16"),
    ],
)
def test_encoding_is_detected(write_csv, sqlite_db, at, encoding, expected):
    """UTF-8 with or without BOM, UTF-16 with BOM, and cp1252 are all detected."""
    path = write_csv(
        [HEADER, ["Élodie", "Lefèvre"], ["François", "Cœur"]], encoding=encoding
    )
    summary = import_entities(sqlite_db, path, mapping=MAPPING, at=at)
    assert (expected, 2) == (summary.encoding, summary.created)
    assert ["François", "Élodie"] == _first_names(sqlite_db)


def test_stated_encoding_is_used(write_csv, sqlite_db, at):
    """A stated encoding wins over detection (latin-1 text that is also cp1252)."""
    path = write_csv([HEADER, ["Zoë", "Brontë"]], encoding="latin-1")
    mapping = ImportMapping(columns=MAPPING.columns, options={"encoding": "latin-1"})
    summary = import_entities(sqlite_db, path, mapping=mapping, at=at)
    assert ("latin-1", ["Zoë"]) == (summary.encoding, _first_names(sqlite_db))


def test_file_not_in_the_stated_encoding_is_refused_before_any_row(
    tmp_path, sqlite_db, at
):
    """A bad byte, even on the last line, refuses the file with its line and offset."""
    good = "".join(f"Jean{i};Dupont\r\n" for i in range(50)).encode("utf-8")
    path = tmp_path / "contacts.csv"
    path.write_bytes(b"Pr\xc3\xa9nom;Nom\r\n" + good + b"Ren\xe9;Martin\r\n")
    mapping = ImportMapping(columns=MAPPING.columns, options={"encoding": "utf-8"})
    with pytest.raises(ImportRejected) as caught:
        import_entities(sqlite_db, path, mapping=mapping, at=at)
    error = caught.value
    offset = len(b"Pr\xc3\xa9nom;Nom\r\n" + good) + 3
    assert (52, offset) == (error.line, error.offset)
    assert "encoding.invalid" == error.errors[0].code
    assert "contacts.csv, line 52: not valid utf-8: byte e9" in str(error)
    assert 0 == _count(sqlite_db)
    assert not (tmp_path / "contacts.csv.rejects.csv").exists()


def test_stated_cp1252_with_undefined_byte_is_refused(tmp_path, sqlite_db, at):
    """Bytes cp1252 leaves undefined (0x81) refuse a file stated to be cp1252."""
    path = tmp_path / "contacts.csv"
    path.write_bytes(b"Pr\xe9nom;Nom\r\nJean;Du\x81pont\r\n")
    mapping = ImportMapping(columns=MAPPING.columns, options={"encoding": "cp1252"})
    with pytest.raises(ImportRejected) as caught:
        import_entities(sqlite_db, path, mapping=mapping, at=at)
    assert (2, 19) == (caught.value.line, caught.value.offset)


@pytest.mark.parametrize(
    "content",
    [
        b"Pr\xc3\xa9nom;Nom\r\nRen\xe9;Martin\r\n",  # UTF-8 mixed with cp1252
        b"Pr\xe9nom;Nom\r\nJean;\x00\x01\x02\r\n",  # binary
        "Prénom;Nom\r\nJean;Dupont\r\n".encode("utf-16-le"),  # UTF-16 without BOM
    ],
)
def test_undetectable_encoding_asks_for_one(tmp_path, sqlite_db, at, content):
    """Text that is not UTF-8 and does not read safely as cp1252 is refused."""
    path = tmp_path / "contacts.csv"
    path.write_bytes(content)
    with pytest.raises(ImportRejected) as caught:
        import_entities(sqlite_db, path, mapping=MAPPING, at=at)
    assert 'encoding = "cp1252"' in str(caught.value)
    assert 0 == _count(sqlite_db)


def test_truncated_utf8_at_the_end_is_refused(tmp_path, sqlite_db, at):
    """A file cut in the middle of a character is refused, naming the offset."""
    path = tmp_path / "contacts.csv"
    path.write_bytes("Prénom;Nom\nJean;Dupont\nZo".encode() + b"\xc3")
    mapping = ImportMapping(columns=MAPPING.columns, options={"encoding": "utf-8"})
    with pytest.raises(ImportRejected) as caught:
        import_entities(sqlite_db, path, mapping=mapping, at=at)
    assert (3, path.stat().st_size - 1) == (caught.value.line, caught.value.offset)


@pytest.mark.parametrize("delimiter", [",", ";", "\t", "|"])
def test_delimiter_is_detected(write_csv, sqlite_db, at, delimiter):
    """Comma, semicolon, tab and pipe files are read without being told."""
    rows = [[*HEADER, "Ville"], ["Jean", "Dupont", "Paris"], ["Anne", "Roy", "Lyon"]]
    path = write_csv(rows, delimiter=delimiter, encoding="utf-8")
    summary = import_entities(sqlite_db, path, mapping=MAPPING, at=at)
    assert (delimiter, 2) == (summary.delimiter, summary.created)


def test_delimiter_found_in_quoted_cells_does_not_mislead(tmp_path, sqlite_db, at):
    """Commas inside quoted cells of a ;-file do not make it a ,-file."""
    path = tmp_path / "contacts.csv"
    path.write_text(
        'Prénom;Nom;Note\nJean;Dupont;"a, b, c, d"\nAnne;Roy;"e, f, g"\n',
        encoding="utf-8",
    )
    summary = import_entities(sqlite_db, path, mapping=MAPPING, at=at)
    assert (";", 2) == (summary.delimiter, summary.created)


def test_quoted_cells_spanning_lines_keep_row_and_line_apart(tmp_path, sqlite_db, at):
    """A row after a multi-line cell is reported with its row and its real line."""
    path = tmp_path / "contacts.csv"
    path.write_text(
        'Prénom;Nom;Note\nJean;Dupont;"line one\nline two\nline three"\n'
        "Anne;;\n;;\n\nZoé;Martin;\n",
        encoding="utf-8",
    )
    mapping = ImportMapping(
        columns={"Prénom": "first_name", "Nom": "last_name", "Note": "emails"}
    )
    summary = import_entities(sqlite_db, path, mapping=mapping, at=at)
    rejects = _rejects(summary)
    assert ["1", "Note", "line one\nline two\nline three"] == rejects[0][:3]
    assert ("2", "emails[0]") == (rejects[0][4], rejects[0][5])
    assert (1, 4, 1, 2) == (
        summary.rejected,
        summary.read,
        summary.blank,
        summary.created,
    )


def test_unclosed_quote_is_refused_before_any_row(tmp_path, sqlite_db, at):
    """A quote never closed makes the CSV malformed: refused whole, with its line."""
    path = tmp_path / "contacts.csv"
    path.write_text(
        'Prénom;Nom\nJean;Dupont\nAnne;"Roy\nZoé;Martin\n', encoding="utf-8"
    )
    with pytest.raises(ImportRejected) as caught:
        import_entities(sqlite_db, path, mapping=MAPPING, at=at)
    assert "csv.invalid" == caught.value.errors[0].code
    assert 0 == _count(sqlite_db)


def test_empty_file_is_refused(tmp_path, sqlite_db, at):
    """A file without a header line is refused."""
    path = tmp_path / "contacts.csv"
    path.write_bytes(b"")
    with pytest.raises(ImportRejected) as caught:
        import_entities(sqlite_db, path, mapping=MAPPING, at=at)
    assert "needs a header line" in str(caught.value)


def test_repeated_mapped_column_is_refused(write_csv, sqlite_db, at):
    """A header naming a mapped column twice is ambiguous, so refused."""
    path = write_csv([["Prénom", "Nom", "Nom"], ["Jean", "Dupont", "Durand"]])
    with pytest.raises(ImportRejected) as caught:
        import_entities(sqlite_db, path, mapping=MAPPING, at=at)
    assert 'column "Nom" 2 times' in str(caught.value)


def test_missing_mapped_column_is_refused_naming_the_header(write_csv, sqlite_db, at):
    """A mapped column the file lacks is named, with a hint and the file's header."""
    path = write_csv([["Prenom", "Nom"], ["Jean", "Dupont"]])
    with pytest.raises(InvalidDefinition) as caught:
        import_entities(sqlite_db, path, mapping=MAPPING, at=at)
    assert 'columns."Prénom"' == caught.value.path
    assert (
        'contacts.csv has no column "Prénom" (did you mean "Prenom"?); '
        'its columns: "Prenom", "Nom"'
    ) == caught.value.reason
    assert 0 == _count(sqlite_db)


def test_rows_with_the_wrong_number_of_cells_are_rejected(write_csv, sqlite_db, at):
    """Too few or too many cells reject the row; trailing empty cells are fine."""
    path = write_csv(
        [HEADER, ["Jean"], ["Anne", "Roy", "extra"], ["Zoé", "Martin", "", ""]]
    )
    summary = import_entities(sqlite_db, path, mapping=MAPPING, at=at)
    rejects = _rejects(summary)
    assert (2, 1) == (summary.rejected, summary.created)
    assert ["1", "", "Jean"] == rejects[0][:3]
    assert rejects[0][3].startswith("has 1 cells where the header has 2")
    assert ["2", "", "Anne;Roy;extra"] == rejects[1][:3]


def test_inspection_counts_rows_and_hashes_bytes(write_csv):
    """Inspecting a file gives its header, its row count and its SHA-256."""
    path = write_csv([HEADER, ["Jean", "Dupont"], ["", ""], ["Anne", "Roy"]])
    source = inspect_file(path)
    assert (("Prénom", "Nom"), 3) == (source.columns, source.rows)
    assert hashlib.sha256(path.read_bytes()).hexdigest() == source.digest


def test_import_rejected_pickles_and_is_a_validation_error():
    """ImportRejected keeps its data through pickling and is a ValidationError."""
    path = "x.csv"
    error = ImportRejected(
        path,
        ValidationError.single("line 2", b"\xe9", "encoding.invalid", "bad").errors[0],
        line=2,
        offset=7,
    )
    copy = pickle.loads(pickle.dumps(error))  # noqa: S301 - our own object
    assert (str(error), 2, 7) == (str(copy), copy.line, copy.offset)
    assert isinstance(copy, ValidationError)


def test_bom_is_not_part_of_the_first_column(tmp_path, sqlite_db, at):
    """A UTF-8 byte order mark does not stick to the first column's name."""
    path = tmp_path / "contacts.csv"
    path.write_bytes(codecs.BOM_UTF8 + "Prénom,Nom\nJean,Dupont\n".encode())
    assert 1 == import_entities(sqlite_db, path, mapping=MAPPING, at=at).created


def test_stated_utf16_reads_a_file_with_its_bom(tmp_path, sqlite_db, at):
    """Excel's "Unicode text" (UTF-16 with a BOM, tab-separated) reads as stated."""
    path = tmp_path / "contacts.txt"
    path.write_bytes("Prénom\tNom\r\nZoé\tMartin\r\n".encode("utf-16"))
    mapping = ImportMapping(columns=MAPPING.columns, options={"encoding": "utf-16"})
    summary = import_entities(sqlite_db, path, mapping=mapping, at=at)
    assert ("utf-16", "\t", ["Zoé"]) == (
        summary.encoding,
        summary.delimiter,
        _first_names(sqlite_db),
    )


def test_a_bom_followed_by_bad_bytes_is_refused(tmp_path, sqlite_db, at):
    """A UTF-8 byte order mark promises UTF-8: a cp1252 byte later refuses the file."""
    path = tmp_path / "contacts.csv"
    path.write_bytes(codecs.BOM_UTF8 + b"Pr\xc3\xa9nom;Nom\nRen\xe9;Martin\n")
    with pytest.raises(ImportRejected) as caught:
        import_entities(sqlite_db, path, mapping=MAPPING, at=at)
    assert "byte order mark" in str(caught.value)


def test_cp1252_with_unlikely_characters_is_not_guessed(tmp_path, sqlite_db, at):
    """Bytes that decode to daggers and per-mille signs are not taken for cp1252."""
    path = tmp_path / "contacts.csv"
    path.write_bytes(b"Pr\xe9nom;Nom\nJean;\x86\x89\x87\n")
    with pytest.raises(ImportRejected) as caught:
        import_entities(sqlite_db, path, mapping=MAPPING, at=at)
    assert 'encoding = "cp1252"' in str(caught.value)


def test_a_runaway_cell_is_refused_as_an_unclosed_quote(tmp_path, sqlite_db, at):
    """A cell longer than the CSV field limit points at a quote never closed."""
    path = tmp_path / "contacts.csv"
    path.write_text(
        'Prénom;Nom\nJean;"Dupont\n' + "x;y\n" * 40_000 + '"\n', encoding="utf-8"
    )
    with pytest.raises(ImportRejected) as caught:
        import_entities(sqlite_db, path, mapping=MAPPING, at=at)
    assert "a quote that is never closed?" in str(caught.value)
