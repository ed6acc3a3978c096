"""
Definition text (TOML, JSON or YAML) read into plain data, every value's place kept.

Every loader of definitions (pipelines, routing rules, dedup configurations, merge
policies, import mappings) reads its text here, so a mistake is reported the same
way everywhere: unreadable text as `InvalidDefinition` with the file, line and
column of the parser's complaint; a bad value, once the loader has found it at a
path such as ``stages[1].name`` or ``columns."Nom".field``, at the line and column
where that value (or its nearest enclosing one) is written.

YAML needs PyYAML (the ``yaml`` extra), imported only when YAML is read.
"""

from __future__ import annotations

import bisect
import json
import re
import tomllib
from collections.abc import Callable, Collection, Mapping
from pathlib import Path
from typing import Any, Final, TypeVar

import attrs

from crmkit.errors import FieldError, InvalidDefinition, ValidationError

__all__ = [
    "FORMATS",
    "Key",
    "Parsed",
    "Position",
    "format_of",
    "parse",
    "path_key",
    "path_text",
    "read",
    "read_text",
]

Key = tuple[str | int, ...]
"""A path as its parts: ``stages[1].name`` is ``("stages", 1, "name")``."""
Position = tuple[int, int]
"""A 1-based line and column."""

_T = TypeVar("_T")

FORMATS: Final = ("toml", "json", "yaml")
_ALIASES: Final = {"yml": "yaml"}


@attrs.frozen
class Parsed:
    """
    A definition's plain data, and where each of its values is written.

    Attributes:
        data: What the text holds (dicts, lists, strings, numbers...).
        text: The text itself.
        file: The file it was read from (or a name such as ``<text>``).
    """

    data: Any
    text: str
    file: str
    _positions: Callable[[], Mapping[Key, Position]] = attrs.field(alias="positions")

    def position(self, path: str) -> Position | None:
        """Where the value at ``path`` is written, or its nearest enclosing value."""
        positions = self._positions()
        key = path_key(path)
        return next(
            (
                positions[key[:end]]
                for end in range(len(key), 0, -1)
                if key[:end] in positions
            ),
            None,
        )

    def build(self, make: Callable[[Any], _T]) -> _T:
        """
        ``make(data)``, its `InvalidDefinition` placed in the file (see `located`).

        Raises:
            InvalidDefinition: What ``make`` refused, with the file, line and column.
        """
        try:
            return make(self.data)
        except InvalidDefinition as error:
            raise self.located(error) from None

    def located(self, error: InvalidDefinition) -> InvalidDefinition:
        """The same error, placed in the file at its path's line and column."""
        line, column = self.position(error.path) or (None, None)
        return InvalidDefinition(
            error.path, error.reason, file=self.file, line=line, column=column
        )

    def located_fields(self, error: ValidationError) -> ValidationError:
        """The same field errors, each message ending with its place in the file."""
        return ValidationError(
            attrs.evolve(field, message=f"{field.message} (at {self._where(field)})")
            for field in error.errors
        )

    def _where(self, field: FieldError) -> str:
        found = self.position(field.path)
        return ":".join(str(part) for part in (self.file, *(found or ())))


def format_of(path: Path, formats: Collection[str] = FORMATS) -> str:
    """
    The format of a file, by its suffix (``.yml`` is YAML).

    Raises:
        InvalidDefinition: A suffix that is none of ``formats``, naming the file.
    """
    suffix = path.suffix.lower().lstrip(".")
    found = _ALIASES.get(suffix, suffix)
    if found not in formats:
        suffixes = [f".{name}" for name in formats] + [
            f".{alias}" for alias, name in _ALIASES.items() if name in formats
        ]
        raise InvalidDefinition(
            "",
            f"unknown file type {path.suffix!r} ({_either(suffixes)})",
            file=str(path),
        )
    return found


def read(path: Path, formats: Collection[str] = FORMATS) -> Parsed:
    """
    Read a UTF-8 definition file (a byte order mark is allowed), format by suffix.

    Raises:
        InvalidDefinition: An unknown suffix, text that is not UTF-8 or that
            its format cannot read, with the file, line and column.
        ImportError: A YAML file without PyYAML installed.
        OSError: The file cannot be read.
    """
    found = format_of(path, formats)
    return parse(read_text(path), format=found, file=str(path), formats=formats)


def read_text(path: Path) -> str:
    """
    The text of a UTF-8 file (a byte order mark is allowed).

    Raises:
        InvalidDefinition: Bytes that are not UTF-8, naming the file.
        OSError: The file cannot be read.
    """
    try:
        return path.read_bytes().decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise InvalidDefinition(
            "", f"not UTF-8 text ({error.reason} at byte {error.start})", file=str(path)
        ) from None


def parse(
    text: str,
    *,
    format: str,  # noqa: A002 - the file format
    file: str = "<text>",
    formats: Collection[str] = FORMATS,
) -> Parsed:
    """
    Read definition text in one of ``formats`` (``yml`` is YAML).

    Raises:
        InvalidDefinition: An unknown format, or text that the format cannot
            read, with the file, line and column.
        ImportError: YAML without PyYAML installed.
    """
    found = _ALIASES.get(format, format)
    if found not in formats:
        raise InvalidDefinition(
            "format", f"unknown format {format!r} ({_either(list(formats))})"
        )
    if found == "toml":
        return _toml(text, file)
    if found == "json":
        return _json(text, file)
    from crmkit._yaml import parse_yaml  # noqa: PLC0415 - YAML is optional

    data, positions = parse_yaml(text, file)
    return Parsed(data, text, file, positions=lambda: positions)


def _either(names: list[str]) -> str:
    return names[0] if len(names) == 1 else f"{', '.join(names[:-1])} or {names[-1]}"


def _syntax_error(
    kind: str, reason: str, file: str, line: int, column: int
) -> InvalidDefinition:
    return InvalidDefinition(
        "", f"not valid {kind}: {reason}", file=file, line=line, column=column
    )


# Paths ---------------------------------------------------------------------------

_PLAIN_NAME: Final = re.compile(r'[^.\[\]"\s]+')
_PATH_PART: Final = re.compile(r'\[(\d+)\]|"((?:[^"\\]|\\.)*)"|([^.\[\]"]+)')


def path_key(path: str) -> Key:
    """
    The parts of a path: ``columns."A.b".map`` is ``("columns", "A.b", "map")``.

    A quoted part is read as a JSON string, as crmkit writes keys that need quotes.
    """
    parts: list[str | int] = []
    for match in _PATH_PART.finditer(path):
        index, quoted, name = match.groups()
        if index is not None:
            parts.append(int(index))
        elif quoted is not None:
            parts.append(json.loads(f'"{quoted}"'))
        else:
            parts.append(name)
    return tuple(parts)


def path_text(key: Key) -> str:
    """The path of parts: ``("stages", 1, "name")`` is ``stages[1].name``."""
    text = ""
    for part in key:
        if isinstance(part, int):
            text += f"[{part}]"
        else:
            name = (
                part
                if _PLAIN_NAME.fullmatch(part)
                else json.dumps(part, ensure_ascii=False)
            )
            text = f"{text}.{name}" if text else name
    return text


# TOML ----------------------------------------------------------------------------

_TOML_ERROR: Final = re.compile(r"\s*\(at line (\d+), column (\d+)\)$")
_KEY_PART: Final = r'"(?:[^"\\]|\\.)*"|\'[^\']*\'|[A-Za-z0-9_-]+'
_DOTTED: Final = rf"(?:{_KEY_PART})(?:\s*\.\s*(?:{_KEY_PART}))*"
_HEADER: Final = re.compile(rf"\s*(\[\[?)\s*({_DOTTED})\s*\]\]?\s*(?:#.*)?$")
_ASSIGNMENT: Final = re.compile(rf"\s*({_DOTTED})\s*=\s*")
_KEY: Final = re.compile(_KEY_PART)
_STRING: Final = re.compile(r'"(?:[^"\\]|\\.)*"|\'[^\']*\'')


def _toml(text: str, file: str) -> Parsed:
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        message = str(error)
        found = _TOML_ERROR.search(message)
        line, column = (int(found[1]), int(found[2])) if found else (1, 1)
        reason = message[: found.start()] if found else message
        raise _syntax_error("TOML", reason, file, line, column) from None
    return Parsed(data, text, file, positions=lambda: _toml_positions(text))


def _toml_positions(text: str) -> dict[Key, Position]:
    """The place of each table and key of TOML text, arrays of tables counted."""
    positions: dict[Key, Position] = {}
    table: Key = ()
    arrays: dict[Key, int] = {}
    depth, quote = 0, None
    for number, line in enumerate(text.splitlines(), start=1):
        if depth or quote:  # inside a value spread over several lines
            depth, quote = _value_state(line, depth, quote)
            continue
        header = _HEADER.match(line)
        if header:
            table = _table_key(_key_parts(header[2]), header[1] == "[[", arrays)
            _place(positions, table, (number, header.start(1) + 1))
            continue
        assignment = _ASSIGNMENT.match(line)
        if assignment:
            key = (*table, *_key_parts(assignment[1]))
            _place(positions, key, (number, assignment.end() + 1))
            depth, quote = _value_state(line[assignment.end() :], 0, None)
    return positions


def _place(positions: dict[Key, Position], key: Key, place: Position) -> None:
    """Place ``key``, and the tables it implies that have no place yet."""
    for end in range(1, len(key) + 1):
        positions.setdefault(key[:end], place)


def _table_key(parts: list[str], array: bool, arrays: dict[Key, int]) -> Key:
    """A header's key: arrays of tables on its way are at their latest item."""
    key: Key = ()
    for part in parts[:-1]:
        key = (*key, part)
        if key in arrays:
            key = (*key, arrays[key] - 1)
    key = (*key, parts[-1])
    if array:
        arrays[key] = arrays.get(key, 0) + 1
        key = (*key, arrays[key] - 1)
    return key


def _key_parts(dotted: str) -> list[str]:
    parts = []
    for token in _KEY.findall(dotted):
        if token.startswith(('"', "'")):
            parts.append(tomllib.loads(f"key = {token}")["key"])
        else:
            parts.append(token)
    return parts


def _value_state(line: str, depth: int, quote: str | None) -> tuple[int, str | None]:
    """After ``line``: how many brackets are open, and which multi-line string."""
    index = 0
    while index < len(line):
        if quote is not None:
            end = line.find(quote, index)
            if end < 0:
                return depth, quote
            index, quote = end + len(quote), None
            continue
        if line.startswith(('"""', "'''"), index):
            quote = line[index : index + 3]
            index += 3
            continue
        char = line[index]
        if char == "#":
            break
        string = _STRING.match(line, index)
        if string:
            index = string.end()
            continue
        depth += (char in "[{") - (char in "]}")
        index += 1
    return depth, quote


# JSON ----------------------------------------------------------------------------

_scanstring: Callable[[str, int], tuple[str, int]] = json.decoder.scanstring  # type: ignore[attr-defined] # public, untyped
_SPACE: Final = re.compile(r"\s*")


def _json(text: str, file: str) -> Parsed:
    try:
        data = json.loads(text)
    except json.JSONDecodeError as error:
        raise _syntax_error(
            "JSON", error.msg, file, error.lineno, error.colno
        ) from None
    return Parsed(data, text, file, positions=lambda: _json_positions(text))


def _json_positions(text: str) -> dict[Key, Position]:
    """The place of every value of (valid) JSON text."""
    offsets: dict[Key, int] = {}
    decoder = json.JSONDecoder()

    def skip(index: int) -> int:
        return _SPACE.match(text, index).end()  # type: ignore[union-attr] # \s* always matches

    def value(index: int, key: Key) -> int:
        index = skip(index)
        offsets[key] = index
        if text[index] in "{[":
            return container(index, key)
        return decoder.raw_decode(text, index)[1]

    def container(index: int, key: Key) -> int:
        close = "}" if text[index] == "{" else "]"
        index = skip(index + 1)
        number = 0
        while text[index] != close:
            if close == "}":
                name, index = _scanstring(text, index + 1)
                index = value(skip(index) + 1, (*key, name))
            else:
                index = value(index, (*key, number))
                number += 1
            index = skip(index)
            if text[index] == ",":
                index = skip(index + 1)
        return index + 1

    value(0, ())
    starts = [0, *(match.end() for match in re.finditer("\n", text))]
    positions: dict[Key, Position] = {}
    for key, offset in offsets.items():
        line = bisect.bisect_right(starts, offset)
        positions[key] = (line, offset - starts[line - 1] + 1)
    return positions
