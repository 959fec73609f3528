"""The instrument table (``instruments.toml``), parsed and checked at the edge, and
:func:`definition`, the one way to read an instrument's definition from it."""

from __future__ import annotations

import functools
import tomllib
from importlib import resources
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, ValidationError

from kaptools.errors import InvalidInputError
from kaptools.scores._definitions import (
    Band,
    ClusterRule,
    Combine,
    Comparison,
    Cutoff,
    Instrument,
    InstrumentDefinition,
    LoincCodes,
    Mcid,
    Rater,
    RemissionRule,
    SafetyItem,
    Subscale,
    _require,
)

__all__ = ["TABLE_FILE", "definition", "parse_instrument_table"]

TABLE_FILE = "instruments.toml"

Text = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1)]


class _Row(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class _BandRow(_Row):
    label: Text
    low: int
    high: int


class _RemissionRow(_Row):
    comparison: Comparison
    total: int
    source: Text


class _McidRow(_Row):
    points: int = Field(gt=0)
    meaning: Text
    source: Text


class _LoincRow(_Row):
    panel: Text
    total: Text
    items: list[Text] | None = None
    answers: list[Text] | None = None
    source: Text


class _SafetyRow(_Row):
    item: int
    topic: Text
    protocol_key: Text
    source: Text


class _SubscaleRow(_Row):
    key: Text
    label: Text
    combine: Combine
    items: list[int]
    endorsed_min: int | None = Field(default=None, gt=0)


class _CutoffRow(_Row):
    key: Text
    total_min: int
    label: Text
    source: Text


class _ClusterRuleRow(_Row):
    item_answer_min: int
    source: Text


class _InstrumentRow(_Row):
    name: Text
    title: Text
    rater: Rater
    item_count: int
    item_min: int
    item_max: int
    total_min: int
    total_max: int
    total_from: Literal["items", "subscales"]
    source: Text
    licence: Text
    bands_source: Text
    bands: list[_BandRow]
    instructions: Text | None = None
    items: list[Text] | None = None
    answer_labels: list[Text] | None = None
    remission: _RemissionRow | None = None
    mcid: _McidRow | None = None
    loinc: _LoincRow | None = None
    safety_item: _SafetyRow | None = None
    subscales: list[_SubscaleRow] = []
    cutoffs: list[_CutoffRow] = []
    cluster_rule: _ClusterRuleRow | None = None


def _tuple(values: list[str] | None) -> tuple[str, ...] | None:
    return None if values is None else tuple(values)


def _build(instrument: Instrument, row: _InstrumentRow) -> InstrumentDefinition:
    loinc = row.loinc
    return InstrumentDefinition(
        instrument=instrument,
        name=row.name,
        title=row.title,
        rater=row.rater,
        item_count=row.item_count,
        item_min=row.item_min,
        item_max=row.item_max,
        total_min=row.total_min,
        total_max=row.total_max,
        bands=tuple(Band(b.label, b.low, b.high, rank) for rank, b in enumerate(row.bands)),
        bands_source=row.bands_source,
        source=row.source,
        licence=row.licence,
        total_from_subscales=row.total_from == "subscales",
        subscales=tuple(
            Subscale(s.key, s.label, s.combine, tuple(s.items), s.endorsed_min)
            for s in row.subscales
        ),
        remission=(
            None
            if row.remission is None
            else RemissionRule(row.remission.comparison, row.remission.total, row.remission.source)
        ),
        mcid=None if row.mcid is None else Mcid(row.mcid.points, row.mcid.meaning, row.mcid.source),
        loinc=(
            None
            if loinc is None
            else LoincCodes(
                loinc.panel, loinc.total, _tuple(loinc.items), _tuple(loinc.answers), loinc.source
            )
        ),
        instructions=row.instructions,
        item_texts=_tuple(row.items),
        answer_labels=_tuple(row.answer_labels),
        safety_item=(
            None
            if row.safety_item is None
            else SafetyItem(
                row.safety_item.item,
                row.safety_item.topic,
                row.safety_item.protocol_key,
                row.safety_item.source,
            )
        ),
        cutoffs=tuple(Cutoff(c.key, c.total_min, c.label, c.source) for c in row.cutoffs),
        cluster_rule=(
            None
            if row.cluster_rule is None
            else ClusterRule(row.cluster_rule.item_answer_min, row.cluster_rule.source)
        ),
    )


def parse_instrument_table(text: str) -> dict[Instrument, InstrumentDefinition]:
    """Parse and check an instrument table (the TOML text of ``instruments.toml``).

    Raises:
        InvalidInputError: the table is not valid TOML, misses an instrument, has an
            unknown one, or a definition is inconsistent; the message names the key.
    """
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise InvalidInputError(f"{TABLE_FILE} is not valid TOML: {exc}") from None
    names = {m.value for m in Instrument}
    _require(
        set(data) == names,
        f"{TABLE_FILE} must define exactly the instruments {sorted(names)} (got {sorted(data)})",
    )
    table = {}
    for instrument in Instrument:
        try:
            row = _InstrumentRow.model_validate(data[instrument.value])
        except ValidationError as exc:
            problems = "; ".join(
                f"{instrument.value}.{'.'.join(str(p) for p in e['loc'])}: {e['msg']}"
                for e in exc.errors()
            )
            raise InvalidInputError(f"{TABLE_FILE}: {problems}") from None
        table[instrument] = _build(instrument, row)
    return table


@functools.cache
def _table() -> dict[Instrument, InstrumentDefinition]:
    text = (resources.files("kaptools.scores") / TABLE_FILE).read_text(encoding="utf-8")
    return parse_instrument_table(text)


def definition(instrument: str | Instrument) -> InstrumentDefinition:
    """The definition of ``instrument`` (name or :class:`Instrument`), from the shipped table.

    Raises:
        UnknownInstrumentError: no such instrument.

    Examples:
        >>> definition("PHQ-9").total_max
        27
    """
    return _table()[Instrument.parse(instrument)]
