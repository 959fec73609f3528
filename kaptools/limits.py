"""Plausibility limits of typed-in values, read once from ``limits.toml``.

These reject typing errors wherever a value enters kaptools; clinical thresholds
live in the protocol. ``entry_range("weight_kg")`` gives ``(1, 400)``.
"""

from __future__ import annotations

import functools
import tomllib
from importlib import resources
from typing import Any

__all__ = ["ENTRY_LIMITS_SOURCE", "entry_range", "size_limit"]


@functools.cache
def _table() -> dict[str, Any]:
    text = (resources.files("kaptools") / "limits.toml").read_text("utf-8")
    return tomllib.loads(text)


def entry_range(name: str) -> tuple[float, float]:
    """The inclusive (min, max) accepted for a typed-in ``name`` (e.g. ``"systolic_mmhg"``)."""
    try:
        if name in ("source", "size"):
            raise KeyError(name)
        low, high = _table()[name]
    except KeyError:
        known = sorted(k for k in _table() if k not in ("source", "size"))
        raise KeyError(f"no entry limit named {name!r}; known: {known}") from None
    return low, high


def size_limit(name: str) -> int:
    """The largest size accepted for an input, e.g. ``size_limit("csv_columns_max")``."""
    try:
        return int(_table()["size"][name])
    except KeyError:
        raise KeyError(f"no size limit named {name!r}; known: {sorted(_table()['size'])}") from None


ENTRY_LIMITS_SOURCE: str = str(_table()["source"])
