"""Columns of text as indices into one array of their distinct values."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import numpy.typing as npt

__all__ = ["Encoded", "distinct", "encode"]

Indices = npt.NDArray[np.int64]
# Distinct values, and each column as indices into them.
Encoded = tuple[npt.NDArray[np.object_], dict[str, Indices]]


def encode(columns: Mapping[str, npt.NDArray[np.object_]]) -> Encoded:
    """One array of the distinct values of all columns, and each column as indices."""
    lookup: dict[str, int] = {}
    codes = {
        name: np.fromiter(
            (lookup.setdefault(v, len(lookup)) for v in column),
            dtype=np.int64,
            count=len(column),
        )
        for name, column in columns.items()
    }
    return np.asarray(list(lookup), dtype=object), codes


def distinct(values: Indices) -> Indices:
    """
    The distinct integers, sorted.

    By sorting: numpy's hash-based `numpy.unique` is many times slower on large
    integer arrays.
    """
    ordered = np.sort(values)
    keep = np.ones(len(ordered), dtype=bool)
    keep[1:] = ordered[1:] != ordered[:-1]
    result: Indices = ordered[keep]
    return result
