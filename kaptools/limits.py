"""Plausibility limits of typed-in values, read once from ``limits.toml``.

These reject typing errors wherever a value enters kaptools; clinical thresholds
live in the protocol. ``entry_range("weight_kg")`` gives ``(1, 400)``.
"""

from __future__ import annotations

import functools
import tomllib
from importlib import resources
from typing import Any

__all__ = ["ENTRY_LIMITS_SOURCE", "entry_range", "protocol_value_range", "size_limit"]

_TABLES = ("source", "size", "protocol_units")
PROTOCOL_VALUE_MAX_ABS = 1_000_000.0
"""Largest magnitude of a protocol value whose unit has no range of its own."""


@functools.cache
def _table() -> dict[str, Any]:
    text = (resources.files("kaptools") / "limits.toml").read_text("utf-8")
    return tomllib.loads(text)


def entry_range(name: str) -> tuple[float, float]:
    """The inclusive (min, max) accepted for a typed-in ``name`` (e.g. ``"systolic_mmhg"``)."""
    try:
        if name in _TABLES:
            raise KeyError(name)
        low, high = _table()[name]
    except KeyError:
        known = sorted(k for k in _table() if k not in _TABLES)
        raise KeyError(f"no entry limit named {name!r}; known: {known}") from None
    return low, high


def size_limit(name: str) -> int:
    """The largest size accepted for an input, e.g. ``size_limit("csv_columns_max")``."""
    try:
        return int(_table()["size"][name])
    except KeyError:
        raise KeyError(f"no size limit named {name!r}; known: {sorted(_table()['size'])}") from None


def protocol_value_range(unit: str) -> tuple[float, float]:
    """The plausible (min, max) of a protocol value written in ``unit`` (its first word)."""
    words = unit.strip().lower().split()
    table = _table()["protocol_units"]
    if words and words[0] in table:
        low, high = table[words[0]]
        return float(low), float(high)
    return -PROTOCOL_VALUE_MAX_ABS, PROTOCOL_VALUE_MAX_ABS


ENTRY_LIMITS_SOURCE: str = str(_table()["source"])
