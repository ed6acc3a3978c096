"""Conditions in dicts, JSON and TOML: as their canonical text."""

from __future__ import annotations

from typing import Any as AnyType

import cattrs

from crmkit.conditions._ast import All, Any, Compare, Condition, IsEmpty, Not
from crmkit.conditions._parser import parse
from crmkit.conditions._printer import to_text

__all__ = ["configure_converter"]

_NODES = (Compare, IsEmpty, All, Any, Not)


def _structure(value: AnyType, _: AnyType) -> Condition:
    if isinstance(value, _NODES):
        return value
    return parse(value)


def configure_converter(converter: cattrs.Converter) -> cattrs.Converter:
    """
    Teach a cattrs converter to write conditions as text and read them back.

    >>> from crmkit.serialization import make_converter
    >>> converter = configure_converter(make_converter())
    >>> converter.unstructure(parse("score>60"), Condition)
    'score > 60'
    """
    for node in _NODES:
        converter.register_unstructure_hook(node, to_text)
        converter.register_structure_hook(node, _structure)
    converter.register_unstructure_hook(Condition, to_text)
    converter.register_structure_hook(Condition, _structure)
    return converter
