"""JSON definitions: read with `json`, the place of every value found."""

from __future__ import annotations

import bisect
import json
import re
from collections.abc import Callable
from typing import Any, Final

from crmkit._definitions._places import Key, Position, unreadable

__all__ = ["parse_json"]

_scanstring: Callable[[str, int], tuple[str, int]] = json.decoder.scanstring  # type: ignore[attr-defined] # public, untyped
_SPACE: Final = re.compile(r"\s*")


def parse_json(text: str, file: str) -> tuple[Any, Callable[[], dict[Key, Position]]]:
    """JSON's data, and its places; unreadable text is `InvalidDefinition`."""
    try:
        data = json.loads(text)
    except json.JSONDecodeError as error:
        raise unreadable(
            "JSON", error.msg, file=file, line=error.lineno, column=error.colno
        ) from None
    return data, lambda: _json_positions(text)


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
