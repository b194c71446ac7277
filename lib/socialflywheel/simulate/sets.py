"""Set operations on integer key arrays by sorting (NumPy 2.4's hash-based ``np.unique`` is ~100x slower here)."""

from __future__ import annotations

import numpy as np


def unique(keys: np.ndarray) -> np.ndarray:
    """``np.unique(keys)``: the distinct keys, sorted."""
    s = np.sort(keys)
    if not len(s):
        return s
    first = np.empty(len(s), dtype=bool)
    first[0] = True
    np.not_equal(s[1:], s[:-1], out=first[1:])
    out: np.ndarray = s[first]
    return out


def sorted_member(keys: np.ndarray, sorted_set: np.ndarray) -> np.ndarray:
    """``np.isin(keys, sorted_set)`` for a sorted ``sorted_set``, by binary search (no sort of either)."""
    if not len(sorted_set):
        return np.zeros(len(keys), dtype=bool)
    at = np.minimum(np.searchsorted(sorted_set, keys), len(sorted_set) - 1)
    found: np.ndarray = sorted_set[at] == keys
    return found
