"""
Pipeline and lifecycle definitions as plain data, TOML, JSON or YAML files.

Reading is strict: an unknown key (a typo), a missing one or a value of the wrong
type raises `InvalidDefinition` naming its path, and, for text, its line and column.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any, Final, TypeVar

import attrs

from crmkit._definitions import parse, read
from crmkit.errors import InvalidDefinition, join_path
from crmkit.pipelines._deals import DealPipeline
from crmkit.pipelines._guards import guard_from_dict, guard_to_dict
from crmkit.pipelines._lifecycle import Lifecycle, State, Transition
from crmkit.pipelines._stages import Stage

__all__ = [
    "definition_from_dict",
    "definition_to_dict",
    "load_definition",
    "loads_definition",
]

_T = TypeVar("_T")
Definition = DealPipeline | Lifecycle
_GUARDS: Final = "guards"
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
                join_path(path, key), f"unknown key {key!r} (expected one of: {known})"
            )
    missing = [
        name
        for name, field in fields.items()
        if name not in data and field.default is attrs.NOTHING
    ]
    if missing:
        raise InvalidDefinition(join_path(path, missing[0]), "is required")
    values = {
        name: _field_value(
            cls, name, _annotation(field.type), data[name], join_path(path, name)
        )
        for name, field in fields.items()
        if name in data
    }
    try:
        return cls(**values)
    except InvalidDefinition as error:
        raise InvalidDefinition(join_path(path, error.path), error.reason) from None
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
    return parse(text, format=format, file=file).build(definition_from_dict)


def load_definition(path: str | Path) -> Definition:
    """
    Read a definition from a ``.toml``, ``.json``, ``.yaml`` or ``.yml`` file.

    Raises:
        InvalidDefinition: An unknown suffix, or a bad definition with its line.
        ImportError: A YAML file without PyYAML installed.
        OSError: The file cannot be read.
    """
    return read(Path(path)).build(definition_from_dict)
