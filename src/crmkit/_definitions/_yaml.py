"""
YAML definitions: read with PyYAML (the ``yaml`` extra), every value's place kept.

PyYAML's safe loader builds the data; its node tree gives the line and column of
each path, so errors name the file and line as they do for TOML and JSON. A key
given twice in one mapping is refused (PyYAML alone would keep the last one
silently).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from crmkit._definitions._places import Key, Position, path_text, unreadable
from crmkit.errors import InvalidDefinition

if TYPE_CHECKING:
    import yaml

__all__ = ["parse_yaml"]

_MISSING = "YAML definitions need PyYAML: pip install 'crmkit[yaml]'"


def _module() -> Any:
    try:
        import yaml  # noqa: PLC0415 - an optional extra, imported when needed
    except ImportError:
        raise ImportError(_MISSING) from None
    return yaml


def parse_yaml(text: str, file: str) -> tuple[Any, Callable[[], dict[Key, Position]]]:
    """
    The data of YAML text, and how to find the line and column of each value.

    Raises:
        ImportError: PyYAML is not installed; the message names the pip command.
        InvalidDefinition: Unreadable YAML, several documents, or a key given
            twice, with the file, line and column.
    """
    yaml = _module()
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        problem = getattr(error, "problem", None) or str(error)
        raise unreadable(
            "YAML",
            problem,
            file=file,
            line=None if mark is None else mark.line + 1,
            column=None if mark is None else mark.column + 1,
        ) from None
    if node is None:
        return None, dict
    positions: dict[Key, Position] = {}
    _walk(yaml, node, (), positions, file)
    data = yaml.SafeLoader(text).construct_document(node)
    return data, lambda: positions


def _walk(
    yaml: Any, node: yaml.Node, key: Key, positions: dict[Key, Position], file: str
) -> None:
    """Record the place of ``node`` and of everything under it."""
    positions[key] = (node.start_mark.line + 1, node.start_mark.column + 1)
    if isinstance(node, yaml.MappingNode):
        seen: set[Any] = set()
        for name_node, value in node.value:
            name = name_node.value
            if name in seen:
                raise InvalidDefinition(
                    path_text((*key, name)),
                    f"key {name!r} is given twice",
                    file=file,
                    line=name_node.start_mark.line + 1,
                    column=name_node.start_mark.column + 1,
                )
            seen.add(name)
            _walk(yaml, value, (*key, name), positions, file)
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            _walk(yaml, item, (*key, index), positions, file)
