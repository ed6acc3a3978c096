"""
Definition text (TOML, JSON or YAML) read into plain data, every value's place kept.

Every loader of definitions (pipelines, routing rules, dedup configurations, merge
policies, import mappings) reads its text here, so a mistake is reported the same
way everywhere: unreadable text as `InvalidDefinition` with the file, line and
column of the parser's complaint; a bad value, once the loader has found it at a
path such as ``stages[1].name`` or ``columns."Nom".field``, at the line and column
where that value (or its nearest enclosing one) is written.

Each format has its reader module (``_toml``, ``_json``, ``_yaml``), which gives
the data and the place of each value by its path's parts (``_places``). YAML needs
PyYAML (the ``yaml`` extra), imported only when YAML is read.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping
from pathlib import Path
from typing import Any, Final, TypeVar

import attrs

from crmkit._definitions._json import parse_json
from crmkit._definitions._places import Key, Position, path_key, path_text
from crmkit._definitions._toml import parse_toml
from crmkit.errors import FieldError, InvalidDefinition, ValidationError

__all__ = [
    "FORMATS",
    "Key",
    "Parsed",
    "Position",
    "format_of",
    "line_of",
    "parse",
    "path_key",
    "path_text",
    "read",
    "read_text",
]

_T = TypeVar("_T")

FORMATS: Final = ("toml", "json", "yaml")
_ALIASES: Final = {"yml": "yaml"}
_READERS: Final = {"toml": parse_toml, "json": parse_json}


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


def line_of(text: str, number: int) -> str:
    """
    The text of a 1-based line, empty past the end.

    Only a newline ends a line, as the parsers count them (`str.splitlines`
    would also split at characters such as U+2028 that a string may hold).
    """
    lines = text.split("\n")
    return lines[number - 1].removesuffix("\r") if 0 < number <= len(lines) else ""


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
    if found == "yaml":
        from crmkit._definitions._yaml import parse_yaml  # noqa: PLC0415 - optional

        data, positions = parse_yaml(text, file)
    else:
        data, positions = _READERS[found](text, file)
    return Parsed(data, text, file, positions=positions)


def _either(names: list[str]) -> str:
    return names[0] if len(names) == 1 else f"{', '.join(names[:-1])} or {names[-1]}"
