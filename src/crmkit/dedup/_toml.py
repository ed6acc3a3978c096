"""A small TOML writer for plain data (tables, arrays of tables, scalars, lists)."""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from typing import Any

__all__ = ["dumps"]


def dumps(data: Mapping[str, Any]) -> str:
    """
    Write plain data as TOML that `tomllib` reads back to the same data.

    >>> print(dumps({"a": 1, "t": {"b": [1.5, "x"]}, "rows": [{"c": True}]}))
    a = 1
    <BLANKLINE>
    [t]
    b = [1.5, "x"]
    <BLANKLINE>
    [[rows]]
    c = true
    <BLANKLINE>
    """
    return "\n".join(_table(data, ())) + "\n"


def _is_table_list(value: Any) -> bool:
    return (
        isinstance(value, Sequence)
        and not isinstance(value, str)
        and bool(value)
        and all(isinstance(item, Mapping) for item in value)
    )


def _table(data: Mapping[str, Any], path: tuple[str, ...]) -> list[str]:
    lines = [
        f"{_key(key)} = {_value(value)}"
        for key, value in data.items()
        if value is not None
        and not isinstance(value, Mapping)
        and not _is_table_list(value)
    ]
    for key, value in data.items():
        if isinstance(value, Mapping):
            lines += ["", f"[{'.'.join(map(_key, (*path, key)))}]"]
            lines += _table(value, (*path, key))
        elif _is_table_list(value):
            for item in value:
                lines += ["", f"[[{'.'.join(map(_key, (*path, key)))}]]"]
                lines += _table(item, (*path, key))
    return lines


def _key(key: str) -> str:
    bare = key.replace("_", "").replace("-", "").isalnum() and key.isascii()
    return key if bare else json.dumps(key)


def _value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if math.isnan(value) or math.isinf(value):
            raise ValueError(f"TOML has no {value}")
        return repr(value)
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, Sequence):
        return "[" + ", ".join(_value(item) for item in value) + "]"
    raise TypeError(f"cannot write {type(value).__name__} as TOML")
