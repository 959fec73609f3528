"""Rating scales and entry ranges of a dosing-session record (package data).

Read from ``session_scales.toml`` (see ``README.md`` in this package for sources):
MOAA/S for sedation, the six-item CADSS short form for dissociation, and
plausibility ranges for typed vital signs.
"""

from __future__ import annotations

import functools
import tomllib
from dataclasses import dataclass
from importlib import resources

from kaptools.limits import ENTRY_LIMITS_SOURCE, entry_range

__all__ = ["Cadss6Scale", "MoaasScale", "VitalsEntryRanges", "cadss6", "moaa_s", "vitals_entry"]


def _table() -> dict:
    text = (resources.files("kaptools.sessions") / "session_scales.toml").read_text("utf-8")
    return tomllib.loads(text)


@dataclass(frozen=True, slots=True)
class MoaasScale:
    """MOAA/S: 0 (loss of consciousness) to 5 (alert)."""

    name: str
    min: int
    max: int
    alert: int
    loss_of_consciousness: int
    source: str


@dataclass(frozen=True, slots=True)
class Cadss6Scale:
    """CADSS-6: six CADSS items, each 0–4."""

    name: str
    items: tuple[int, ...]
    item_min: int
    item_max: int
    source: str

    @property
    def total_max(self) -> int:
        return self.item_max * len(self.items)


@dataclass(frozen=True, slots=True)
class VitalsEntryRanges:
    """Plausible ranges for typed vital signs (inclusive); outside them is an entry error."""

    systolic_mmhg: tuple[int, int]
    diastolic_mmhg: tuple[int, int]
    heart_rate_bpm: tuple[int, int]
    spo2_pct: tuple[int, int]
    respiratory_rate_per_min: tuple[int, int]
    source: str


@functools.cache
def moaa_s() -> MoaasScale:
    t = _table()["moaa_s"]
    return MoaasScale(
        t["name"], t["min"], t["max"], t["alert"], t["loss_of_consciousness"], t["source"]
    )


@functools.cache
def cadss6() -> Cadss6Scale:
    t = _table()["cadss6"]
    return Cadss6Scale(t["name"], tuple(t["items"]), t["item_min"], t["item_max"], t["source"])


@functools.cache
def vitals_entry() -> VitalsEntryRanges:
    def r(name: str) -> tuple[int, int]:
        low, high = entry_range(name)
        return int(low), int(high)

    return VitalsEntryRanges(
        r("systolic_mmhg"),
        r("diastolic_mmhg"),
        r("heart_rate_bpm"),
        r("spo2_pct"),
        r("respiratory_rate_per_min"),
        ENTRY_LIMITS_SOURCE,
    )
