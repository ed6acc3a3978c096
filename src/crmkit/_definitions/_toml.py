"""
TOML definitions: read with `tomllib`, the place of every table and key found.

`tomllib` keeps no positions, so the text is scanned line by line for table
headers (arrays of tables counted) and keys; values spread over several lines
(arrays, multi-line strings) are skipped so that their content is not read as
keys.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Callable
from typing import Any, Final

import attrs

from crmkit._definitions._places import Key, Position, unreadable

__all__ = ["parse_toml"]

_TOML_ERROR: Final = re.compile(
    r"\s*\(at (?:line (\d+), column (\d+)|end of document)\)$"
)
_KEY_PART: Final = r'"(?:[^"\\]|\\.)*"|\'[^\']*\'|[A-Za-z0-9_-]+'
_DOTTED: Final = rf"(?:{_KEY_PART})(?:\s*\.\s*(?:{_KEY_PART}))*"
_HEADER: Final = re.compile(rf"\s*(\[\[?)\s*({_DOTTED})\s*\]\]?\s*(?:#.*)?$")
_ASSIGNMENT: Final = re.compile(rf"\s*({_DOTTED})\s*=\s*")
_KEY: Final = re.compile(_KEY_PART)
_STRING: Final = re.compile(r'"(?:[^"\\]|\\.)*"|\'[^\']*\'')
_SCALAR: Final = re.compile(r"[^\s,\]}#]+")


def parse_toml(text: str, file: str) -> tuple[Any, Callable[[], dict[Key, Position]]]:
    """TOML's data, and its places; unreadable text is `InvalidDefinition`."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        message = str(error)
        found = _TOML_ERROR.search(message)
        reason = message[: found.start()] if found else message
        line, column = _complaint_position(found, text)
        raise unreadable("TOML", reason, file=file, line=line, column=column) from None
    return data, lambda: _toml_positions(text)


def _complaint_position(found: re.Match[str] | None, text: str) -> Position:
    """Where tomllib's complaint is: its line and column, or the end of the text."""
    if found is not None and found[1] is not None:
        return int(found[1]), int(found[2])
    last = text.rsplit("\n", 1)[-1]
    return text.count("\n") + 1, len(last) + 1


def _toml_positions(text: str) -> dict[Key, Position]:
    """The place of each table, key and inline item of TOML text."""
    positions: dict[Key, Position] = {}
    values = _Values(positions)
    table: Key = ()
    arrays: dict[Key, int] = {}
    for number, line in enumerate(text.split("\n"), start=1):  # as tomllib counts
        if values.open:  # inside a value spread over several lines
            values.scan(line, number, 0)
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
            values.scan(line, number, assignment.end(), key)
    return positions


@attrs.define
class _Container:
    """An inline array (items counted) or inline table being read."""

    key: Key
    index: int | None  # None for a table
    wants_key: bool = False


@attrs.define
class _Values:
    """Reads values, maybe over several lines, placing inline items and keys."""

    positions: dict[Key, Position]
    containers: list[_Container] = attrs.Factory(list)
    quote: str | None = None  # the end of an open multi-line string
    pending: Key | None = None  # the key of the value that comes next

    @property
    def open(self) -> bool:
        return bool(self.containers) or self.quote is not None

    def scan(self, line: str, number: int, index: int, key: Key | None = None) -> None:
        """Read ``line`` from ``index``; ``key`` is the value that starts there."""
        if key is not None:
            self.pending = key
        while index < len(line):
            if self.quote is not None:
                end = line.find(self.quote, index)
                if end < 0:
                    return
                index, self.quote = end + len(self.quote), None
                continue
            char = line[index]
            if char.isspace():
                index += 1
            elif char == "#":
                return
            elif self.pending is not None and char not in "]}":
                self.positions.setdefault(self.pending, (number, index + 1))
                index = self._value(line, index, self.pending)
            else:
                index = self._punctuation(line, index)

    def _value(self, line: str, index: int, key: Key) -> int:
        """Read the start of ``key``'s value at ``index``; where reading goes on."""
        self.pending = None
        if line[index] == "[":
            self.containers.append(_Container(key, 0))
            self.pending = (*key, 0)
            return index + 1
        if line[index] == "{":
            self.containers.append(_Container(key, None, wants_key=True))
            return index + 1
        if line.startswith(('"""', "'''"), index):
            self.quote = line[index : index + 3]
            return index + 3
        scalar = _STRING.match(line, index) or _SCALAR.match(line, index)
        return scalar.end() if scalar else index + 1

    def _punctuation(self, line: str, index: int) -> int:
        """Read a separator, a closing bracket or an inline table's key."""
        if not self.containers:
            return len(line)  # nothing more belongs to the value
        container = self.containers[-1]
        char = line[index]
        self.pending = None
        if char in "]}":
            self.containers.pop()
        elif char == "," and container.index is not None:
            container.index += 1
            self.pending = (*container.key, container.index)
        elif char == ",":
            container.wants_key = True
        elif container.wants_key and (assignment := _ASSIGNMENT.match(line, index)):
            container.wants_key = False
            self.pending = (*container.key, *_key_parts(assignment[1]))
            return assignment.end()
        return index + 1


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
