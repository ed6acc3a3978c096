"""Make re-exported names look like they live in their public module."""

from __future__ import annotations

from collections.abc import Iterable, MutableMapping
from typing import Any

import attrs


def publish(namespace: MutableMapping[str, Any], names: Iterable[str]) -> None:
    """
    Give each exported class its public module name, as httpx does.

    attrs classes get their annotations resolved first, while their defining
    module is still the one that can evaluate them (cattrs needs them later).
    """
    classes = [
        obj for obj in map(namespace.__getitem__, names) if isinstance(obj, type)
    ]
    for cls in classes:
        if attrs.has(cls):
            attrs.resolve_types(cls)
    for cls in classes:
        cls.__module__ = namespace["__name__"]
