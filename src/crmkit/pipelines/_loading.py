"""
Pipeline and lifecycle definitions as plain data, TOML, JSON or YAML files.

Reading is strict: an unknown key (a typo), a missing one or a value of the wrong
type raises `InvalidDefinition` naming its path, and, for a file, its line.
"""

from __future__ import annotations

import json
import re
import tomllib
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any, Final, TypeVar

import attrs

from crmkit.errors import InvalidDefinition
from crmkit.pipelines._deals import DealPipeline
from crmkit.pipelines._guards import guard_from_dict, guard_to_dict
from crmkit.pipelines._lifecycle import Lifecycle, State, Transition
from crmkit.pipelines._stages import Stage
from crmkit.pipelines._yaml import parse_yaml

__all__ = [
    "definition_from_dict",
    "definition_to_dict",
    "load_definition",
    "loads_definition",
]

_T = TypeVar("_T")
_scanstring: Callable[[str, int], tuple[str, int]] = json.decoder.scanstring  # type: ignore[attr-defined] # public, untyped
Definition = DealPipeline | Lifecycle
_GUARDS: Final = "guards"
_YAML: Final = frozenset({"yaml", "yml"})
_NESTED: Final[Mapping[type, Mapping[str, type]]] = {
    DealPipeline: {"stages": Stage},
    Lifecycle: {"states": State, "transitions": Transition},
}


def _check_value(value: Any, annotation: str, path: str) -> None:
    """Refuse a value whose plain type cannot fit the field's annotation."""
    if "tuple[str" in annotation:
        wrong = not isinstance(value, str | list) or (
            isinstance(value, list) and not all(isinstance(v, str) for v in value)
        )
        if wrong and not (value is None and "None" in annotation):
            raise InvalidDefinition(path, f"expected a list of names, not {value!r}")
    elif annotation == "str" and not isinstance(value, str):
        raise InvalidDefinition(path, f"expected text, not {value!r}")
    elif annotation == "bool" and not isinstance(value, bool):
        raise InvalidDefinition(path, f"expected true or false, not {value!r}")


def _build(cls: type[_T], data: Any, path: str) -> _T:
    if not isinstance(data, Mapping):
        raise InvalidDefinition(path, f"expected a table/object, not {data!r}")
    fields = {f.name: f for f in attrs.fields(cls) if f.init}  # type: ignore[arg-type] # definitions are attrs
    for key in data:
        if key not in fields:
            known = ", ".join(fields)
            raise InvalidDefinition(
                _join(path, key), f"unknown key {key!r} (expected one of: {known})"
            )
    missing = [
        name
        for name, field in fields.items()
        if name not in data and field.default is attrs.NOTHING
    ]
    if missing:
        raise InvalidDefinition(_join(path, missing[0]), "is required")
    values = {
        name: _field_value(
            cls, name, _annotation(field.type), data[name], _join(path, name)
        )
        for name, field in fields.items()
        if name in data
    }
    try:
        return cls(**values)
    except InvalidDefinition as error:
        raise InvalidDefinition(_join(path, error.path), error.reason) from None
    except (ValueError, TypeError) as error:
        raise InvalidDefinition(path, str(error)) from None


def _annotation(kind: Any) -> str:
    return kind.__name__ if isinstance(kind, type) else str(kind)


def _field_value(cls: type, name: str, annotation: str, value: Any, path: str) -> Any:
    nested = _NESTED.get(cls, {}).get(name)
    if nested is not None:
        return _items(nested, value, path)
    if name == _GUARDS:
        return [
            guard_from_dict(item, f"{path}[{i}]")
            for i, item in enumerate(_list(value, path))
        ]
    _check_value(value, annotation, path)
    return value


def _list(value: Any, path: str) -> list[Any]:
    if not isinstance(value, list):
        raise InvalidDefinition(path, f"expected a list, not {value!r}")
    return value


def _items(cls: type[_T], value: Any, path: str) -> list[_T]:
    return [
        _build(cls, item, f"{path}[{i}]") for i, item in enumerate(_list(value, path))
    ]


def _join(prefix: str, path: str) -> str:
    if not prefix:
        return path
    if not path or path.startswith("["):
        return prefix + path
    return f"{prefix}.{path}"


def definition_from_dict(data: Mapping[str, Any]) -> Definition:
    """
    Build a `DealPipeline` (it has ``stages``) or a `Lifecycle` (it has ``states``).

    Raises:
        InvalidDefinition: The first problem, with its path.
    """
    if not isinstance(data, Mapping):
        raise InvalidDefinition("", f"a definition is a table/object, not {data!r}")
    if "stages" in data:
        return _build(DealPipeline, data, "")
    if "states" in data:
        return _build(Lifecycle, data, "")
    raise InvalidDefinition(
        "", "neither a pipeline (with 'stages') nor a lifecycle (with 'states')"
    )


def _plain(value: Any) -> Any:
    if attrs.has(type(value)):
        if hasattr(value, "kind") and not isinstance(value, Stage | State):
            return guard_to_dict(value)
        return {
            f.name: _plain(getattr(value, f.name))
            for f in attrs.fields(type(value))
            if f.init and getattr(value, f.name) is not None
        }
    if isinstance(value, tuple):
        return [_plain(item) for item in value]
    if isinstance(value, str):
        return str(value)
    return value


def definition_to_dict(definition: Definition) -> dict[str, Any]:
    """The plain-data form of a definition; `definition_from_dict` reads it back."""
    plain: dict[str, Any] = _plain(definition)
    return plain


def loads_definition(text: str, *, format: str, file: str = "<text>") -> Definition:  # noqa: A002 - the file format
    """
    Read a definition from TOML, JSON or YAML text.

    YAML (``format="yaml"``) needs PyYAML: ``pip install 'crmkit[yaml]'``.

    Raises:
        InvalidDefinition: Unreadable text or a bad definition, with the file,
            line and column of the problem.
        ImportError: YAML without PyYAML installed.
    """
    if format == "toml":
        try:
            data = tomllib.loads(text)
        except tomllib.TOMLDecodeError as error:
            line, column = _toml_position(str(error))
            raise InvalidDefinition(
                "", f"not valid TOML: {error}", file=file, line=line, column=column
            ) from None
        locate: Callable[[str], int | None] = lambda path: _toml_line(text, path)  # noqa: E731 - small closure
    elif format == "json":
        try:
            data = json.loads(text)
        except json.JSONDecodeError as error:
            raise InvalidDefinition(
                "",
                f"not valid JSON: {error.msg}",
                file=file,
                line=error.lineno,
                column=error.colno,
            ) from None
        offsets = _json_offsets(text)
        locate = lambda path: _json_line(text, offsets, path)  # noqa: E731 - small closure
    elif format in _YAML:
        data, yaml_lines = parse_yaml(text, file)
        locate = lambda path: _located(yaml_lines, path)  # noqa: E731 - small closure
    else:
        raise InvalidDefinition(
            "format", f"unknown format {format!r} (toml, json or yaml)"
        )
    try:
        return definition_from_dict(data)
    except InvalidDefinition as error:
        raise InvalidDefinition(
            error.path, error.reason, file=file, line=locate(error.path)
        ) from None


def load_definition(path: str | Path) -> Definition:
    """
    Read a definition from a ``.toml``, ``.json``, ``.yaml`` or ``.yml`` file.

    Raises:
        InvalidDefinition: An unknown suffix, or a bad definition with its line.
        ImportError: A YAML file without PyYAML installed.
        OSError: The file cannot be read.
    """
    path = Path(path)
    suffix = path.suffix.lower().lstrip(".")
    if suffix not in {"toml", "json", *_YAML}:
        raise InvalidDefinition(
            "",
            f"unknown file type {path.suffix!r} (.toml, .json, .yaml or .yml)",
            file=str(path),
        )
    return loads_definition(
        path.read_text(encoding="utf-8"), format=suffix, file=str(path)
    )


_PART: Final = re.compile(r"([^.\[\]]+)|\[(\d+)\]")


def _parts(path: str) -> list[str | int]:
    return [name or int(index) for name, index in _PART.findall(path)]


def _toml_position(message: str) -> tuple[int | None, int | None]:
    found = re.search(r"line (\d+), column (\d+)", message)
    return (int(found[1]), int(found[2])) if found else (None, None)


def _toml_line(text: str, path: str) -> int | None:
    """The line of ``path`` in TOML text: array tables counted, then the key."""
    lines = text.splitlines()
    table: list[str] = []
    start, end = 0, len(lines)
    best: int | None = None
    parts = _parts(path)
    position = 0
    while position < len(parts):
        part = parts[position]
        if not isinstance(part, str):
            break
        following = parts[position + 1] if position + 1 < len(parts) else None
        key_line = _find_key(lines, start, end, part)
        if isinstance(following, int) and key_line is None:
            header = "[[" + ".".join([*table, part]) + "]]"
            headers = [i for i in range(start, end) if lines[i].strip() == header]
            if following >= len(headers):
                return best
            start = headers[following]
            end = _next_header(lines, start + 1, len(table))
            best = start + 1
            table.append(part)
            position += 2
            continue
        return key_line + 1 if key_line is not None else best
    return best


def _find_key(lines: list[str], start: int, end: int, key: str) -> int | None:
    pattern = re.compile(rf"\s*(\"{re.escape(key)}\"|{re.escape(key)})\s*=")
    for index in range(start, end):
        stripped = lines[index].strip()
        if stripped.startswith("["):
            if index > start:
                return None
            continue
        if pattern.match(lines[index]):
            return index
    return None


def _next_header(lines: list[str], start: int, depth: int) -> int:
    for index in range(start, len(lines)):
        stripped = lines[index].strip()
        if stripped.startswith("[") and stripped.strip("[]").count(".") <= depth:
            return index
    return len(lines)


def _json_offsets(text: str) -> dict[str, int]:
    """The offset of every value in JSON text, by its path."""
    offsets: dict[str, int] = {}
    decoder = json.JSONDecoder()
    space = re.compile(r"\s*")

    def value(index: int, path: str) -> int:
        index = space.match(text, index).end()  # type: ignore[union-attr]
        offsets[path] = index
        char = text[index]
        if char in "{[":
            return container(index, path, char)
        _, end = decoder.raw_decode(text, index)
        return end

    def container(index: int, path: str, char: str) -> int:
        close = "}" if char == "{" else "]"
        index = space.match(text, index + 1).end()  # type: ignore[union-attr]
        number = 0
        while text[index] != close:
            if char == "{":
                key, index = _scanstring(text, index + 1)
                offsets[_join(path, key)] = index
                index = space.match(text, index).end() + 1  # type: ignore[union-attr]
                index = value(index, _join(path, key))
            else:
                index = value(index, f"{path}[{number}]")
                number += 1
            index = space.match(text, index).end()  # type: ignore[union-attr]
            if text[index] == ",":
                index = space.match(text, index + 1).end()  # type: ignore[union-attr]
        return index + 1

    value(0, "")
    return offsets


def _located(lines: Mapping[str, int], path: str) -> int | None:
    """The line of ``path``, or of its nearest parent that has one."""
    return next((lines[p] for p in _prefixes(path) if p in lines), None)


def _json_line(text: str, offsets: Mapping[str, int], path: str) -> int | None:
    for candidate in _prefixes(path):
        if candidate in offsets:
            return text.count("\n", 0, offsets[candidate]) + 1
    return None


def _prefixes(path: str) -> Iterator[str]:
    while path:
        yield path
        cut = max(path.rfind("."), path.rfind("["))
        path = path[:cut] if cut > 0 else ""
