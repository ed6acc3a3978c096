"""
Places in definition text: paths (as text and as parts), positions, syntax errors.

Loaders name a problem by its path as text (``stages[1].name``); the format
readers place each value by its parts, so a key holding a dot (``columns."A.b"``)
stays one part.
"""

from __future__ import annotations

import json
import re
from typing import Final

from crmkit.errors import InvalidDefinition

__all__ = ["Key", "Position", "path_key", "path_text", "unreadable"]

Key = tuple[str | int, ...]
"""A path as its parts: ``stages[1].name`` is ``("stages", 1, "name")``."""
Position = tuple[int, int]
"""A 1-based line and column."""

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


def unreadable(
    language: str, reason: str, *, file: str, line: int | None, column: int | None
) -> InvalidDefinition:
    """The error for text that is not valid ``language`` (TOML, JSON, YAML)."""
    return InvalidDefinition(
        "", f"not valid {language}: {reason}", file=file, line=line, column=column
    )
