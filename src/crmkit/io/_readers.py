"""
Reading input files: encoding, delimiter, header, then one record per row.

A file is inspected completely before any row is used: every byte is decoded
(so a file that is not in its encoding is refused before anything is stored),
its SHA-256 is computed, CSV quoting is checked and the rows are counted.
"""

from __future__ import annotations

import codecs
import csv
import hashlib
import json
import re
import unicodedata
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any, Final, Literal

import attrs

from crmkit.errors import FieldError, ImportRejected
from crmkit.io._files import Reject

__all__ = [
    "Cell",
    "FileFormat",
    "Record",
    "SourceFile",
    "format_of",
    "inspect_file",
    "read_records",
]

FileFormat = Literal["csv", "jsonl"]
Cell = str | list[str] | None
"""A cell: text (CSV, JSON), a list of texts (a JSON array), or nothing."""

_CHUNK: Final = 1 << 20
_SAMPLE: Final = 1 << 16
_DELIMITERS: Final = ",;\t|"
_JSONL_SUFFIXES: Final = frozenset({".jsonl", ".ndjson", ".jsonlines"})
_BOMS: Final = (
    (codecs.BOM_UTF8, "utf-8-sig"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)
_UTF8_SEQUENCE = re.compile(rb"[\xc2-\xdf][\x80-\xbf]|[\xe0-\xef][\x80-\xbf]{2}")
_SANE_SYMBOLS: Final = frozenset(
    # Quotes, dashes, ellipsis, bullet, currency and typographic signs.
    "\u2019\u2018\u201a\u201c\u201d\u201e«»\u2039\u203a\u2013\u2014\u2026\u2022\u00b7€£¥¢°\u00b1\u00d7\u00f7§¶©®\u2122ªº\u00b9\u00b2\u00b3\u00bc\u00bd\u00be¿¡\u00a4\u00a6\u00a8\u00af\u00b4\u00b8\u00a0\u00ad"
)
_ALLOWED_CONTROLS: Final = frozenset("\t\n\r")


@attrs.frozen(kw_only=True)
class SourceFile:
    """
    What inspecting an input file found.

    Attributes:
        path: The file.
        format: ``"csv"`` or ``"jsonl"``.
        encoding: The encoding used to read it.
        delimiter: The CSV delimiter (`None` for JSON lines).
        digest: The SHA-256 of its bytes, in hex.
        columns: The header's column names (for JSON lines, every key met).
        rows: How many data rows it has.
        size: Its size in bytes.
    """

    path: Path
    format: FileFormat
    encoding: str
    delimiter: str | None
    digest: str
    columns: tuple[str, ...]
    rows: int
    size: int


@attrs.frozen(kw_only=True)
class Record:
    """
    One data row: its number, where it starts, and its cells by column.

    A row that cannot be read into cells (a wrong number of cells, a JSON line
    that is not an object) carries its problems instead.
    """

    row: int
    line: int
    cells: Mapping[str, Cell]
    blank: bool = False
    problems: tuple[Reject, ...] = ()


def format_of(path: Path) -> FileFormat:
    """``"jsonl"`` for ``.jsonl``, ``.ndjson`` and ``.jsonlines`` files, else CSV."""
    return "jsonl" if path.suffix.lower() in _JSONL_SUFFIXES else "csv"


# Encoding ---------------------------------------------------------------------


class _Undecodable(Exception):  # noqa: N818 - internal signal, never escapes
    def __init__(self, offset: int, data: bytes, reason: str) -> None:
        self.offset = offset
        self.data = data
        self.reason = reason
        super().__init__(reason)


def _insane(text: str) -> tuple[int, str] | None:
    """Where and why ``text`` does not read as real text; `None` when it does."""
    for index, char in enumerate(text):
        if char.isascii():
            if not char.isprintable() and char not in _ALLOWED_CONTROLS:
                return index, f"control character U+{ord(char):04X}"
        elif char not in _SANE_SYMBOLS and not unicodedata.category(char).startswith(
            "L"
        ):
            return index, f"unlikely character {char!r} (U+{ord(char):04X})"
    return None


def _scan(path: Path, encoding: str, *, sane: bool = False) -> str:
    """
    Decode every byte of ``path``; return the SHA-256 of its bytes.

    Raises:
        _Undecodable: A byte sequence the encoding refuses, or (with ``sane``)
            text that does not look like text.
    """
    digest = hashlib.sha256()
    decoder = codecs.getincrementaldecoder(encoding)(errors="strict")
    fed = 0
    with path.open("rb") as handle:
        while chunk := handle.read(_CHUNK):
            digest.update(chunk)
            pending = len(decoder.getstate()[0])
            try:
                text = decoder.decode(chunk)
            except UnicodeDecodeError as error:
                offset = fed - pending + error.start
                data = error.object[error.start : error.end]
                raise _Undecodable(offset, bytes(data), error.reason) from None
            if sane:
                if _UTF8_SEQUENCE.search(chunk):
                    raise _Undecodable(
                        fed, b"", "it mixes UTF-8 with other bytes"
                    ) from None
                found = _insane(text)
                if found is not None:
                    index, why = found
                    raise _Undecodable(fed + index, chunk[index : index + 1], why)
            fed += len(chunk)
        try:
            decoder.decode(b"", final=True)
        except UnicodeDecodeError as error:
            raise _Undecodable(
                fed - len(error.object) + error.start,
                bytes(error.object[error.start :]),
                "the file ends in the middle of a character",
            ) from None
    return digest.hexdigest()


def _line_at(path: Path, offset: int) -> int:
    with path.open("rb") as handle:
        return handle.read(offset).count(b"\n") + 1


def _encoding_error(
    path: Path, encoding: str, failure: _Undecodable, advice: str
) -> ImportRejected:
    line = _line_at(path, failure.offset)
    shown = f"byte {failure.data[:4].hex(' ')} " if failure.data else ""
    message = (
        f"not valid {encoding}: {shown}at byte offset {failure.offset} "
        f"({failure.reason}); {advice}"
    )
    error = FieldError(f"line {line}", failure.data, "encoding.invalid", message)
    return ImportRejected(path.name, error, line=line, offset=failure.offset)


def _bom_encoding(path: Path) -> str | None:
    with path.open("rb") as handle:
        start = handle.read(4)
    return next((name for bom, name in _BOMS if start.startswith(bom)), None)


def _detect_encoding(path: Path, given: str | None) -> tuple[str, str]:
    """The encoding to read ``path`` with, and the SHA-256 of its bytes."""
    bom = _bom_encoding(path)
    if given is not None:
        name = codecs.lookup(given).name
        encoding = bom if bom and name.startswith(("utf-8", "utf_8")) else given
        if bom == "utf-16" and name.startswith(("utf-16", "utf_16")):
            encoding = "utf-16"
        try:
            return encoding, _scan(path, encoding)
        except _Undecodable as failure:
            advice = "is the encoding in the mapping's [options] right?"
            raise _encoding_error(path, given, failure, advice) from None
    first = bom or "utf-8-sig"
    try:
        return first, _scan(path, first)
    except _Undecodable as utf8_failure:
        if bom is not None:
            raise _encoding_error(
                path, bom, utf8_failure, "the file starts with a byte order mark"
            ) from None
        try:
            return "cp1252", _scan(path, "cp1252", sane=True)
        except _Undecodable:
            advice = (
                "it does not read safely as cp1252 either: give the file's "
                'encoding in the mapping\'s [options], such as encoding = "cp1252"'
            )
            raise _encoding_error(path, "utf-8", utf8_failure, advice) from None


# CSV ----------------------------------------------------------------------------


def _detect_delimiter(sample: str) -> str:
    """csv.Sniffer over , ; tab |, checked against the header line."""
    cut = sample.rfind("\n")
    if cut > 0:
        sample = sample[:cut]
    header = sample.split("\n", 1)[0]
    try:
        found = csv.Sniffer().sniff(sample, delimiters=_DELIMITERS).delimiter
    except csv.Error:
        found = None
    if found and found in header:
        return found
    counts = {d: header.count(d) for d in _DELIMITERS}
    best = max(counts, key=lambda d: counts[d])
    return best if counts[best] else ","


def _csv_error(path: Path, line: int, error: csv.Error) -> ImportRejected:
    reason = str(error)
    if "field larger than field limit" in reason:
        reason += "; a quote that is never closed?"
    field_error = FieldError(
        f"line {line}", None, "csv.invalid", f"the CSV is malformed: {reason}"
    )
    return ImportRejected(path.name, field_error, line=line)


def _header(values: Sequence[str]) -> tuple[str, ...]:
    return tuple(value.strip() for value in values)


def _inspect_csv(
    path: Path, encoding: str, delimiter: str
) -> tuple[tuple[str, ...], int]:
    rows = 0
    with path.open(encoding=encoding, newline="") as handle:
        reader = csv.reader(handle, delimiter=delimiter, strict=True)
        try:
            header = _header(next(reader, []))
            for values in reader:
                rows += 1 if values else 0
        except csv.Error as error:
            raise _csv_error(path, reader.line_num, error) from None
    if not any(header):
        empty = FieldError(
            "line 1", None, "csv.header", "the file is empty: it needs a header line"
        )
        raise ImportRejected(path.name, empty, line=1)
    return header, rows


def _csv_records(source: SourceFile, wanted: Mapping[str, int]) -> Iterator[Record]:
    width = len(source.columns)
    assert source.delimiter is not None  # noqa: S101 - set for every CSV source
    with source.path.open(encoding=source.encoding, newline="") as handle:
        reader = csv.reader(handle, delimiter=source.delimiter, strict=True)
        next(reader)
        start = reader.line_num + 1
        row = 0
        for values in reader:
            line, start = start, reader.line_num + 1
            if not values:
                continue
            row += 1
            cells = values
            if len(cells) > width and not any(v.strip() for v in cells[width:]):
                cells = cells[:width]
            if len(cells) != width:
                reject = Reject(
                    row=row,
                    line=line,
                    column="",
                    value=source.delimiter.join(values),
                    reason=(
                        f"has {len(values)} cells where the header has {width} "
                        "(a line break or a delimiter inside an unquoted cell?)"
                    ),
                    code="row.cells",
                )
                yield Record(row=row, line=line, cells={}, problems=(reject,))
                continue
            yield Record(
                row=row,
                line=line,
                cells={name: values[index] for name, index in wanted.items()},
                blank=not any(value.strip() for value in values),
            )


# JSON lines ----------------------------------------------------------------------


def _inspect_jsonl(path: Path, encoding: str) -> tuple[tuple[str, ...], int]:
    keys: dict[str, None] = {}
    rows = 0
    with path.open(encoding=encoding) as handle:
        for text in handle:
            if not text.strip():
                continue
            rows += 1
            try:
                data = json.loads(text)
            except json.JSONDecodeError:
                continue
            if isinstance(data, dict):
                keys.update(dict.fromkeys(data))
    return tuple(keys), rows


def _json_cell(value: Any) -> Cell:
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return json.dumps(value)
    if isinstance(value, list) and all(
        item is None or isinstance(item, str | int | float) for item in value
    ):
        return [str(c) for item in value if (c := _json_cell(item)) is not None]
    raise TypeError(type(value).__name__)


def _jsonl_record(row: int, line: int, text: str, wanted: Mapping[str, int]) -> Record:
    def rejected(column: str, value: str, reason: str, code: str) -> Record:
        reject = Reject(
            row=row, line=line, column=column, value=value, reason=reason, code=code
        )
        return Record(row=row, line=line, cells={}, problems=(reject,))

    try:
        data = json.loads(text)
    except json.JSONDecodeError as error:
        return rejected(
            "", text.rstrip("\r\n"), f"not valid JSON: {error}", "json.invalid"
        )
    if not isinstance(data, dict):
        return rejected(
            "",
            text.rstrip("\r\n"),
            f"expected a JSON object, not {type(data).__name__}",
            "json.object",
        )
    cells: dict[str, Cell] = {}
    problems = []
    for column in wanted:
        if column not in data:
            continue
        try:
            cells[column] = _json_cell(data[column])
        except TypeError as error:
            problems.append(
                Reject(
                    row=row,
                    line=line,
                    column=column,
                    value=json.dumps(data[column], ensure_ascii=False),
                    reason=f"expected text, a number or a list of them, not {error}",
                    code="json.value",
                )
            )
    blank = not any(
        value not in (None, "", [])
        and not (isinstance(value, str) and not value.strip())
        for value in data.values()
    )
    return Record(
        row=row, line=line, cells=cells, blank=blank, problems=tuple(problems)
    )


def _jsonl_records(source: SourceFile, wanted: Mapping[str, int]) -> Iterator[Record]:
    row = 0
    with source.path.open(encoding=source.encoding) as handle:
        for line, text in enumerate(handle, start=1):
            if not text.strip():
                continue
            row += 1
            yield _jsonl_record(row, line, text, wanted)


# Public entry points ---------------------------------------------------------------


def inspect_file(
    path: Path,
    *,
    format: FileFormat | None = None,  # noqa: A002 - the option's name
    encoding: str | None = None,
    delimiter: str | None = None,
) -> SourceFile:
    """
    Read a whole input file once to learn how to read it, refusing it if broken.

    Raises:
        ImportRejected: Not in the encoding given (or not safely detectable),
            malformed CSV quoting, or no header.
    """
    kind = format or format_of(path)
    encoding, digest = _detect_encoding(path, encoding)
    if kind == "jsonl":
        columns, rows = _inspect_jsonl(path, encoding)
        delimiter = None
    else:
        if delimiter is None:
            with path.open(encoding=encoding, newline="") as handle:
                delimiter = _detect_delimiter(handle.read(_SAMPLE))
        columns, rows = _inspect_csv(path, encoding, delimiter)
    return SourceFile(
        path=path,
        format=kind,
        encoding=encoding,
        delimiter=delimiter,
        digest=digest,
        columns=columns,
        rows=rows,
        size=path.stat().st_size,
    )


def read_records(source: SourceFile, columns: Sequence[str]) -> Iterator[Record]:
    """
    Go through the data rows of an inspected file, with the cells of ``columns``.

    Blank lines are not rows; a row whose every cell is empty is marked blank.
    """
    wanted = {name: source.columns.index(name) for name in columns}
    if source.format == "jsonl":
        return _jsonl_records(source, wanted)
    return _csv_records(source, wanted)
