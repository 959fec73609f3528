"""The score of one administration: total, band, flags, safety alerts and codes."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, TypeVar

from kaptools.alerts import Alert
from kaptools.errors import InvalidInputError
from kaptools.printer import escape
from kaptools.protocol import ProtocolInfo
from kaptools.scores._definitions import (
    Band,
    Instrument,
    InstrumentDefinition,
    LoincCodes,
)
from kaptools.scores._table import definition

__all__ = ["FrozenMap", "ScoreResult"]

V = TypeVar("V")


class FrozenMap(Mapping[str, V]):
    """A read-only, hashable mapping that keeps its insertion order."""

    __slots__ = ("_data",)

    def __init__(self, data: Mapping[str, V] | None = None) -> None:
        self._data = dict(data or {})

    def __getitem__(self, key: str) -> V:
        return self._data[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._data)

    def __len__(self) -> int:
        return len(self._data)

    def __hash__(self) -> int:
        return hash(tuple(self._data.items()))

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Mapping):
            return dict(self._data) == dict(other)
        return NotImplemented

    def __repr__(self) -> str:
        return f"FrozenMap({self._data!r})"


def _frozen(value: Mapping[str, V]) -> FrozenMap[V]:
    return value if isinstance(value, FrozenMap) else FrozenMap(value)


@dataclass(frozen=True, kw_only=True)
class ScoreResult:
    """One scored administration of an instrument; build it with :func:`kaptools.scores.score`.

    Checked on construction: the answers fit the instrument, and the total and band
    follow from them. ``flags`` are the instrument's findings in words; ``criteria``
    holds the same findings as booleans (``True`` = meets the criterion), by key.
    Safety ``alerts`` are separate and must always be shown.
    """

    instrument: Instrument
    answers: tuple[int, ...]
    total: int
    band: Band
    flags: tuple[str, ...]
    alerts: tuple[Alert, ...]
    subscores: Mapping[str, int] = field(default_factory=FrozenMap)
    criteria: Mapping[str, bool] = field(default_factory=FrozenMap)
    loinc: LoincCodes | None = None
    protocol: ProtocolInfo

    def __post_init__(self) -> None:
        object.__setattr__(self, "instrument", Instrument.parse(self.instrument))
        object.__setattr__(self, "answers", tuple(self.answers))
        object.__setattr__(self, "flags", tuple(self.flags))
        object.__setattr__(self, "alerts", tuple(self.alerts))
        object.__setattr__(self, "subscores", _frozen(self.subscores))
        object.__setattr__(self, "criteria", _frozen(self.criteria))
        defn = self.definition
        ok_answers = len(self.answers) == defn.item_count and all(
            type(a) is int and defn.item_min <= a <= defn.item_max for a in self.answers
        )
        if not ok_answers:
            msg = (
                f"ScoreResult answers must be {defn.item_count} ints from {defn.answer_range} "
                f"for {defn.name} (got {self.answers!r}); build results with score()"
            )
            raise InvalidInputError(msg)
        expected = defn.total_of(self.answers)
        if self.total != expected or self.band != defn.band_for(expected):
            msg = (
                f"ScoreResult total {self.total!r} and band {self.band} do not follow from the "
                f"{defn.name} answers (total {expected}); build results with score()"
            )
            raise InvalidInputError(msg)

    @property
    def definition(self) -> InstrumentDefinition:
        return definition(self.instrument)

    @property
    def summary(self) -> str:
        """One line: total, band, flags, alerts and the protocol that produced it."""
        defn = self.definition
        parts = [f"{defn.name} total {self.total} of {defn.total_max}: {self.band}."]
        if self.subscores:
            parts.append(
                "Subscores: " + ", ".join(f"{k} {v}" for k, v in self.subscores.items()) + "."
            )
        if self.flags:
            parts.append("Flags: " + "; ".join(self.flags) + ".")
        parts.extend(f"ALERT {a.summary}" for a in self.alerts)
        parts.append(f"[protocol {self.protocol.short}]")
        return " ".join(parts)

    def _repr_html_(self) -> str:
        defn = self.definition
        head = (
            f"<p><strong>{escape(defn.name)}</strong> total <strong>{self.total}</strong> "
            f"of {defn.total_max}: <strong>{escape(self.band.label)}</strong> "
            f"({escape(self.band.range_text)})</p>"
        )
        cells = "".join(
            f"<td title='{escape(defn.item_text(i) or f'item {i}')}'>{a}</td>"
            for i, a in enumerate(self.answers, start=1)
        )
        numbers = "".join(f"<th>{i}</th>" for i in defn.items)
        items = (
            "<table class='kap-items'><tr><th>item</th>"
            f"{numbers}</tr><tr><th>answer</th>{cells}</tr></table>"
        )
        subs = ""
        if self.subscores:
            subs = (
                "<p>Subscores: "
                + escape(", ".join(f"{k} {v}" for k, v in self.subscores.items()))
                + "</p>"
            )
        flags = ""
        if self.flags:
            flags = "<ul>" + "".join(f"<li>{escape(f)}</li>" for f in self.flags) + "</ul>"
        alerts = "".join(a._repr_html_() for a in self.alerts)
        foot = (
            f"<p><small>Bands: {escape(defn.bands_source)}. "
            f"Protocol {escape(self.protocol.short)}.</small></p>"
        )
        return f"<div class='kap-score'>{alerts}{head}{items}{subs}{flags}{foot}</div>"

    def as_dict(self) -> dict[str, Any]:
        """A JSON-serialisable record of the result (for storage or export)."""
        loinc = self.loinc
        return {
            "instrument": self.instrument.value,
            "answers": list(self.answers),
            "total": self.total,
            "band": {
                "label": self.band.label,
                "low": self.band.low,
                "high": self.band.high,
                "rank": self.band.rank,
            },
            "flags": list(self.flags),
            "criteria": dict(self.criteria),
            "subscores": dict(self.subscores),
            "alerts": [
                {
                    "rule_id": a.rule_id,
                    "level": a.level.value,
                    "message": a.message,
                    "action": a.action,
                    "source": a.source,
                }
                for a in self.alerts
            ],
            "loinc": None
            if loinc is None
            else {
                "panel": loinc.panel,
                "total": loinc.total,
                "items": None if loinc.items is None else list(loinc.items),
            },
            "protocol": {
                "name": self.protocol.name,
                "version": self.protocol.version,
                "sha256": self.protocol.sha256,
            },
        }
