"""compare(): a current score against a baseline: response, remission, MCID, worsening.

Rules and their homes:

- response: the total fell by at least the protocol's ``response_reduction_min``
  fraction of the baseline (50 % by default [4.1, 4.4]); not defined (None) when the
  baseline total is 0, since nothing can fall by half of nothing;
- remission: the current total meets the instrument's remission rule from
  ``instruments.toml`` (PHQ-9 < 5, QIDS-SR16 ≤ 5, MADRS ≤ 10); None where the
  instrument defines none (GAD-7, PCL-5);
- minimal clinically important change: the total fell by at least the instrument's
  MCID (PHQ-9 5 points [4.1], PCL-5 10 points [4.3]); None where none is defined;
- worsening: the total rose by at least the protocol's ``worsening_increase_min``.
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction

from kaptools.alerts import Alert
from kaptools.errors import InvalidInputError
from kaptools.printer import escape
from kaptools.protocol import Protocol, ProtocolInfo, default_protocol
from kaptools.scores._definitions import Band, Instrument, InstrumentDefinition
from kaptools.scores._result import ScoreResult
from kaptools.scores._table import definition

__all__ = ["Change", "TotalsChange", "change_of_totals", "compare"]


def _yes_no(value: bool | None, yes: str, no: str, undefined: str) -> str:
    if value is None:
        return undefined
    return yes if value else no


@dataclass(frozen=True, kw_only=True)
class Change:
    """A current score against a baseline. ``None`` means "not defined", never "no"."""

    instrument: Instrument
    baseline_total: int
    current_total: int
    delta: int
    """current − baseline: negative is improvement."""
    percent_change: float | None
    """100 × delta / baseline; None when the baseline total is 0."""
    response: bool | None
    remission: bool | None
    mcid_met: bool | None
    worsening: bool
    baseline_band: Band
    current_band: Band
    response_reduction_min: float
    """The protocol's response fraction that was applied (0.5 = 50 %)."""
    worsening_increase_min: int
    """The protocol's worsening threshold that was applied, in points."""
    protocol: ProtocolInfo
    notes: tuple[str, ...] = ()
    current_alerts: tuple[Alert, ...] = ()
    """The current score's safety alerts (suicide item): always shown with the change."""
    baseline_alerts: tuple[Alert, ...] = ()
    """The baseline score's safety alerts."""

    def __post_init__(self) -> None:
        object.__setattr__(self, "instrument", Instrument.parse(self.instrument))
        object.__setattr__(self, "current_alerts", tuple(self.current_alerts))
        object.__setattr__(self, "baseline_alerts", tuple(self.baseline_alerts))
        if self.delta != self.current_total - self.baseline_total:
            msg = (
                f"Change delta must be current − baseline "
                f"({self.current_total} − {self.baseline_total}); got {self.delta}"
            )
            raise InvalidInputError(msg)

    @property
    def definition(self) -> InstrumentDefinition:
        return definition(self.instrument)

    @property
    def alerts(self) -> tuple[Alert, ...]:
        """Every safety alert of the two scores, the current score's first."""
        return self.current_alerts + self.baseline_alerts

    @property
    def summary(self) -> str:
        """One line: totals, change and each outcome, saying which rule was applied, then
        the safety alerts of either score with the 988 crisis line."""
        defn = self.definition
        pct = "" if self.percent_change is None else f", {self.percent_change:+.0f} %"
        fraction = f"{self.response_reduction_min:.0%}"
        parts = [
            f"{defn.name} {self.baseline_total} → {self.current_total} "
            f"({self.delta:+d} points{pct}):",
            _yes_no(
                self.response,
                f"response: meets the protocol's criterion (fall of {fraction} or more)",
                f"response: not met (fall of {fraction} or more)",
                "response: not defined (baseline total 0)",
            )
            + ";",
            _yes_no(
                self.remission,
                f"remission: meets the criterion ({defn.remission})",
                f"remission: not met ({defn.remission})",
                f"remission: not defined for the {defn.name}",
            )
            + ";",
            _yes_no(
                self.mcid_met,
                f"{defn.mcid}: met",
                f"{defn.mcid}: not met",
                f"clinically important change: not defined for the {defn.name}",
            )
            + ";",
            (
                f"worsening: yes (rise of {self.worsening_increase_min} points or more)"
                if self.worsening
                else f"worsening: no (rise of {self.worsening_increase_min} points or more)"
            )
            + ".",
        ]
        parts.extend(self.notes)
        parts.extend(f"ALERT (current score) {a.summary}" for a in self.current_alerts)
        parts.extend(f"ALERT (baseline score) {a.summary}" for a in self.baseline_alerts)
        return " ".join(parts)

    def _repr_html_(self) -> str:
        alerts = "".join(a._repr_html_() for a in self.alerts)
        return f"<div class='kap-change'>{alerts}<p>{escape(self.summary)}</p></div>"


def compare(
    baseline: ScoreResult, current: ScoreResult, *, protocol: Protocol | None = None
) -> Change:
    """Compare ``current`` with ``baseline`` (same instrument) under ``protocol``.

    Args:
        baseline: the baseline score (usually the first of a course).
        current: the later score.
        protocol: supplies the response fraction and worsening points; the shipped
            default when None.

    Raises:
        InvalidInputError: the two results are of different instruments, or are not
            ScoreResults.

    Examples:
        >>> from kaptools.scores import score
        >>> before = score("phq9", [3, 3, 2, 2, 2, 2, 2, 2, 0])
        >>> after = score("phq9", [1, 1, 1, 1, 0, 0, 0, 0, 0])
        >>> c = compare(before, after)
        >>> c.delta, c.response, c.remission, c.mcid_met, c.worsening
        (-14, True, True, True, False)
    """
    for name, value in (("baseline", baseline), ("current", current)):
        if not isinstance(value, ScoreResult):
            msg = f"compare() {name} must be a ScoreResult from score(); got {type(value).__name__}"
            raise InvalidInputError(msg)
    if baseline.instrument is not current.instrument:
        msg = (
            f"compare() needs two scores of the same instrument; got baseline "
            f"{baseline.instrument.value!r} and current {current.instrument.value!r}"
        )
        raise InvalidInputError(msg)
    protocol = default_protocol() if protocol is None else protocol
    defn = definition(baseline.instrument)
    b, c = baseline.total, current.total
    out = change_of_totals(defn, b, c, protocol)
    notes = list(out.notes)
    if baseline.protocol != current.protocol:
        notes.append(
            f"The two scores were computed under different protocols "
            f"({baseline.protocol.short}, {current.protocol.short})."
        )
    return Change(
        instrument=defn.instrument,
        baseline_total=b,
        current_total=c,
        delta=out.delta,
        percent_change=out.percent_change,
        response=out.response,
        remission=out.remission,
        mcid_met=out.mcid_met,
        worsening=out.worsening,
        baseline_band=baseline.band,
        current_band=current.band,
        response_reduction_min=out.response_reduction_min,
        worsening_increase_min=out.worsening_increase_min,
        protocol=protocol.info,
        notes=tuple(notes),
        current_alerts=current.alerts,
        baseline_alerts=baseline.alerts,
    )


@dataclass(frozen=True, slots=True)
class TotalsChange:
    """The outcome rules applied to two totals (what :func:`compare` reports)."""

    delta: int
    percent_change: float | None
    response: bool | None
    remission: bool | None
    mcid_met: bool | None
    worsening: bool
    response_reduction_min: float
    worsening_increase_min: int
    notes: tuple[str, ...]


def change_of_totals(
    defn: InstrumentDefinition, b: int, c: int, protocol: Protocol
) -> TotalsChange:
    """Response, remission, MCID and worsening of a baseline total ``b`` and a later ``c``.

    The one home of the outcome rules: :func:`compare` calls it for two scores, and
    :func:`kaptools.outcomes.course_outcomes` for each distinct pair of totals in a
    cohort (the rules depend on the totals only).
    """
    measures = protocol.measures
    fraction = Fraction(str(measures.response_reduction_min.value))
    worsening_points = measures.worsening_increase_min.int_value
    delta = c - b
    fall = b - c
    notes: list[str] = []
    if b == 0:
        percent_change = None
        response = None
        notes.append("Baseline total is 0: percent change and response are not defined.")
    else:
        percent_change = 100.0 * delta / b
        response = fall >= fraction * b  # exact arithmetic: no float edge at 50 %
    remission = None if defn.remission is None else defn.remission.met(c)
    if defn.remission is not None and defn.remission.met(b):
        notes.append(f"The baseline already met the remission rule ({defn.remission}).")
    mcid_met = None if defn.mcid is None else fall >= defn.mcid.points
    return TotalsChange(
        delta=delta,
        percent_change=percent_change,
        response=response,
        remission=remission,
        mcid_met=mcid_met,
        worsening=delta >= worsening_points,
        response_reduction_min=float(fraction),
        worsening_increase_min=worsening_points,
        notes=tuple(notes),
    )
