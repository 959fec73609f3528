"""What each instrument is: items, ranges, bands, rules and codes, read from one table.

The facts live in ``instruments.toml`` beside this module (columns and sources in
``README.md``). This module parses that table once, at the edge, with pydantic,
and turns it into frozen, self-checking :class:`InstrumentDefinition` values.
"""

from __future__ import annotations

import enum
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING

from kaptools.errors import InvalidInputError, UnknownInstrumentError
from kaptools.protocol import MeasuresSection

if TYPE_CHECKING:
    import numpy as np

__all__ = [
    "Band",
    "ClusterRule",
    "Combine",
    "Comparison",
    "Cutoff",
    "Instrument",
    "InstrumentDefinition",
    "LoincCodes",
    "Mcid",
    "Rater",
    "RemissionRule",
    "SafetyItem",
    "Subscale",
]


class Instrument(enum.StrEnum):
    """The symptom measures kaptools scores (kaptools/sources.toml §4.1–4.5; facts in
    ``instruments.toml``).
    """

    PHQ9 = "phq9"
    """Patient Health Questionnaire-9: depression, self-report, 9 items 0–3 [4.1]."""
    GAD7 = "gad7"
    """Generalized Anxiety Disorder-7: anxiety, self-report, 7 items 0–3 [4.2]."""
    PCL5 = "pcl5"
    """PTSD Checklist for DSM-5: self-report, 20 items 0–4 [4.3]."""
    QIDS_SR16 = "qids_sr16"
    """Quick Inventory of Depressive Symptomatology, self-report: 16 items, 9 domains [4.5]."""
    MADRS = "madrs"
    """Montgomery–Åsberg Depression Rating Scale: clinician-rated, 10 items 0–6 [4.4]."""

    @classmethod
    def parse(cls, value: str | Instrument) -> Instrument:
        """The instrument named by ``value``, ignoring case, spaces, hyphens and underscores.

        ``"PHQ-9"``, ``"phq9"`` and ``Instrument.PHQ9`` all give ``Instrument.PHQ9``.

        Raises:
            UnknownInstrumentError: ``value`` names no instrument; the message lists
                the valid names.
        """
        if isinstance(value, cls):
            return value
        if isinstance(value, str):
            found = _BY_KEY.get(_key(value))
            if found is not None:
                return found
        valid = ", ".join(f"{m.value!r}" for m in cls)
        msg = (
            f"Unknown instrument {value!r} ({type(value).__name__}): kaptools scores "
            f"{valid}. Name one of these (case, spaces and hyphens are ignored, so "
            f"'PHQ-9' works)."
        )
        raise UnknownInstrumentError(msg)


def _key(text: str) -> str:
    return re.sub(r"[^0-9a-z]", "", text.casefold())


_BY_KEY = {_key(m.value): m for m in Instrument}


class Rater(enum.StrEnum):
    """Who completes the instrument (kaptools/sources.toml §4)."""

    SELF_REPORT = "self-report"
    """The patient answers (PHQ-9, GAD-7, PCL-5, QIDS-SR16)."""
    CLINICIAN = "clinician"
    """A trained clinician rates after an interview (MADRS [4.4])."""


class Combine(enum.StrEnum):
    """How a subscale combines its items."""

    SUM = "sum"
    """Add the items (PCL-5 symptom clusters [4.3])."""
    MAX = "max"
    """Take the highest item (QIDS-SR16 symptom domains [4.5])."""


class Comparison(enum.StrEnum):
    """How a total is compared with a remission threshold."""

    BELOW = "<"
    """Strictly below (PHQ-9 < 5 [4.1])."""
    AT_MOST = "<="
    """At or below (QIDS-SR16 ≤ 5 [4.5], MADRS ≤ 10 [4.4])."""


def _require(ok: bool, msg: str) -> None:
    if not ok:
        raise InvalidInputError(msg)


@dataclass(frozen=True, slots=True)
class Band:
    """A severity band: totals ``low``–``high`` inclusive; ``rank`` 0 is the least severe."""

    label: str
    low: int
    high: int
    rank: int

    def __post_init__(self) -> None:
        _require(bool(self.label.strip()), "a band needs a label")
        _require(
            self.low <= self.high,
            f"band {self.label!r}: low must not exceed high (got {self.low}–{self.high})",
        )
        _require(self.rank >= 0, f"band {self.label!r}: rank must be 0 or more (got {self.rank})")

    def __contains__(self, total: object) -> bool:
        return isinstance(total, int) and self.low <= total <= self.high

    @property
    def range_text(self) -> str:
        return f"{self.low}–{self.high}"

    def __str__(self) -> str:
        return f"{self.label} ({self.range_text})"


@dataclass(frozen=True, slots=True)
class RemissionRule:
    """Remission: the total is below (or at most) ``total``."""

    comparison: Comparison
    total: int
    source: str

    def met(self, total: int) -> bool:
        if self.comparison is Comparison.BELOW:
            return total < self.total
        return total <= self.total

    def __str__(self) -> str:
        return f"total {self.comparison.value} {self.total}"


@dataclass(frozen=True, slots=True)
class Mcid:
    """The smallest fall in the total that the source calls clinically important."""

    points: int
    meaning: str
    source: str

    def __str__(self) -> str:
        return f"{self.meaning} (fall of {self.points} points or more)"


@dataclass(frozen=True, slots=True)
class LoincCodes:
    """LOINC codes for a later FHIR export: panel, total score, items and answer list."""

    panel: str
    total: str
    items: tuple[str, ...] | None
    answers: tuple[str, ...] | None
    source: str


@dataclass(frozen=True, slots=True)
class SafetyItem:
    """The item about suicidal thoughts; ``protocol_key`` names its alert threshold."""

    item: int
    topic: str
    protocol_key: str
    source: str


@dataclass(frozen=True, slots=True)
class Subscale:
    """Items scored together: a PCL-5 cluster (sum) or a QIDS-SR16 domain (max)."""

    key: str
    label: str
    combine: Combine
    items: tuple[int, ...]
    endorsed_min: int | None = None
    """For a cluster rule: how many items must be rated at the rule's minimum."""

    def score(self, answers: tuple[int, ...]) -> int:
        values = [answers[i - 1] for i in self.items]
        return sum(values) if self.combine is Combine.SUM else max(values)

    def score_array(self, answers: np.ndarray) -> np.ndarray:
        """:meth:`score` of every row of a (rows × items) array of checked answers."""
        values = answers[:, [i - 1 for i in self.items]]
        return values.sum(axis=1) if self.combine is Combine.SUM else values.max(axis=1)


@dataclass(frozen=True, slots=True)
class Cutoff:
    """A published cut-off: a total at or above ``total_min`` meets it."""

    key: str
    total_min: int
    label: str
    source: str


@dataclass(frozen=True, slots=True)
class ClusterRule:
    """A symptom-cluster rule: each subscale needs ``endorsed_min`` items at ``item_answer_min``."""

    item_answer_min: int
    source: str


@dataclass(frozen=True, slots=True)
class InstrumentDefinition:
    """Everything kaptools knows about one instrument, checked for consistency on construction.

    Item numbers are 1-based everywhere, as printed on the forms.
    """

    instrument: Instrument
    name: str
    title: str
    rater: Rater
    item_count: int
    item_min: int
    item_max: int
    total_min: int
    total_max: int
    bands: tuple[Band, ...]
    bands_source: str
    source: str
    licence: str
    total_from_subscales: bool = False
    """True when the total is the sum of subscale scores (QIDS-SR16), not of the items."""
    subscales: tuple[Subscale, ...] = ()
    remission: RemissionRule | None = None
    mcid: Mcid | None = None
    loinc: LoincCodes | None = None
    instructions: str | None = None
    item_texts: tuple[str, ...] | None = None
    answer_labels: tuple[str, ...] | None = None
    safety_item: SafetyItem | None = None
    cutoffs: tuple[Cutoff, ...] = ()
    cluster_rule: ClusterRule | None = None

    def __post_init__(self) -> None:
        n, where = self.item_count, f"{self.name}:"
        _require(n >= 1, f"{where} item_count must be at least 1 (got {n})")
        _require(
            self.item_min < self.item_max,
            f"{where} item_min must be below item_max (got {self.item_min}, {self.item_max})",
        )
        self._check_total_range()
        self._check_bands()
        self._check_lengths()
        for s in self.subscales:
            bad = [i for i in s.items if not 1 <= i <= n]
            _require(bool(s.items) and not bad, f"{where} subscale {s.key!r} has items {bad}")
        if self.safety_item is not None:
            item = self.safety_item.item
            _require(1 <= item <= n, f"{where} safety item {item} is not an item 1–{n}")
            _require(
                self.safety_item.protocol_key in MeasuresSection.model_fields,
                f"{where} safety item threshold {self.safety_item.protocol_key!r} is not a "
                f"key of the protocol's [measures] table",
            )
        lows = {b.low for b in self.bands}
        for c in self.cutoffs:
            _require(
                c.total_min in lows,
                f"{where} cut-off {c.key!r} ({c.total_min}) must start a band; "
                f"band lower bounds are {sorted(lows)}",
            )
        if self.remission is not None:
            t = self.remission.total
            _require(
                self.total_min <= t <= self.total_max,
                f"{where} remission threshold {t} is outside {self.total_min}–{self.total_max}",
            )
        if self.cluster_rule is not None:
            r = self.cluster_rule.item_answer_min
            _require(
                self.item_min < r <= self.item_max,
                f"{where} cluster rule item minimum {r} is outside the answer range",
            )
            _require(
                bool(self.subscales) and all(s.endorsed_min for s in self.subscales),
                f"{where} a cluster rule needs every subscale to give endorsed_min",
            )

    def _check_total_range(self) -> None:
        lo, hi = self.item_min, self.item_max
        if self.total_from_subscales:
            items = sorted(i for s in self.subscales for i in s.items)
            _require(
                items == list(self.items),
                f"{self.name}: when the total is built from subscales they must cover "
                f"every item exactly once (got items {items})",
            )
            span = [
                (lo * len(s.items), hi * len(s.items)) if s.combine is Combine.SUM else (lo, hi)
                for s in self.subscales
            ]
            expected = (sum(a for a, _ in span), sum(b for _, b in span))
        else:
            expected = (lo * self.item_count, hi * self.item_count)
        _require(
            (self.total_min, self.total_max) == expected,
            f"{self.name}: total range {self.total_min}–{self.total_max} does not follow "
            f"from the items; it should be {expected[0]}–{expected[1]}",
        )

    def _check_bands(self) -> None:
        _require(bool(self.bands), f"{self.name}: at least one band is needed")
        expected_low = self.total_min
        for rank, band in enumerate(self.bands):
            _require(
                band.low == expected_low and band.rank == rank,
                f"{self.name}: bands must run in order from {self.total_min} without gaps "
                f"or overlaps; band {band} should start at {expected_low} with rank {rank}",
            )
            expected_low = band.high + 1
        _require(
            self.bands[-1].high == self.total_max,
            f"{self.name}: the last band must end at the maximum total {self.total_max}",
        )

    def _check_lengths(self) -> None:
        n_answers = self.item_max - self.item_min + 1
        checks = [
            ("item_texts", self.item_texts, self.item_count),
            ("answer_labels", self.answer_labels, n_answers),
        ]
        if self.loinc is not None:
            checks += [
                ("loinc.items", self.loinc.items, self.item_count),
                ("loinc.answers", self.loinc.answers, n_answers),
            ]
        for field, value, size in checks:
            _require(
                value is None or len(value) == size,
                f"{self.name}: {field} must have {size} entries (got {len(value or ())})",
            )

    @property
    def items(self) -> range:
        """The item numbers, 1-based."""
        return range(1, self.item_count + 1)

    @property
    def answer_range(self) -> str:
        return f"{self.item_min} to {self.item_max}"

    def band_for(self, total: int) -> Band:
        """The band that holds ``total``.

        Raises:
            InvalidInputError: ``total`` is outside the instrument's range.
        """
        for band in self.bands:
            if total in band:
                return band
        msg = (
            f"{self.name} total must be an integer from {self.total_min} to "
            f"{self.total_max} (got {total!r})"
        )
        raise InvalidInputError(msg)

    def subscores_of(self, answers: tuple[int, ...]) -> dict[str, int]:
        """Each subscale's score (PCL-5 cluster sums, QIDS-SR16 domain maxima), in table order."""
        return {s.key: s.score(answers) for s in self.subscales}

    def total_of(self, answers: tuple[int, ...]) -> int:
        """The total of checked answers: the item sum, or the sum of subscale scores
        where the instrument scores by domain (QIDS-SR16 [4.5]).
        """
        if self.total_from_subscales:
            return sum(self.subscores_of(answers).values())
        return sum(answers)

    def totals_of(self, answers: np.ndarray) -> np.ndarray:
        """:meth:`total_of` of every row of a (rows × items) integer array of checked answers."""
        if self.total_from_subscales:
            import numpy as np  # here: scoring one administration (a dashboard) never needs it

            return np.sum([s.score_array(answers) for s in self.subscales], axis=0)
        return answers.sum(axis=1)

    def subscale(self, key: str) -> Subscale:
        for s in self.subscales:
            if s.key == key:
                return s
        raise KeyError(key)

    def answer_label(self, value: int) -> str | None:
        """The printed wording of an answer value, where the form's wording is shipped."""
        if self.answer_labels is None:
            return None
        return self.answer_labels[value - self.item_min]

    def item_text(self, item: int) -> str | None:
        if self.item_texts is None:
            return None
        return self.item_texts[item - 1]
