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

from crmkit._definitions._paths import Key, Position
from crmkit.errors import InvalidDefinition

__all__ = ["parse_toml"]

_TOML_ERROR: Final = re.compile(r"\s*\(at line (\d+), column (\d+)\)$")
_KEY_PART: Final = r'"(?:[^"\\]|\\.)*"|\'[^\']*\'|[A-Za-z0-9_-]+'
_DOTTED: Final = rf"(?:{_KEY_PART})(?:\s*\.\s*(?:{_KEY_PART}))*"
_HEADER: Final = re.compile(rf"\s*(\[\[?)\s*({_DOTTED})\s*\]\]?\s*(?:#.*)?$")
_ASSIGNMENT: Final = re.compile(rf"\s*({_DOTTED})\s*=\s*")
_KEY: Final = re.compile(_KEY_PART)
_STRING: Final = re.compile(r'"(?:[^"\\]|\\.)*"|\'[^\']*\'')


def parse_toml(text: str, file: str) -> tuple[Any, Callable[[], dict[Key, Position]]]:
    """
    The data of TOML text, and how to find the line and column of each value.

    Raises:
        InvalidDefinition: Unreadable TOML, with the file, line and column.
    """
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        message = str(error)
        found = _TOML_ERROR.search(message)
        line, column = (int(found[1]), int(found[2])) if found else (1, 1)
        reason = message[: found.start()] if found else message
        raise InvalidDefinition(
            "", f"not valid TOML: {reason}", file=file, line=line, column=column
        ) from None
    return data, lambda: _toml_positions(text)


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
