"""Discharge is computed from the record, not ticked.

:func:`discharge_readiness` reads a session's times, readings and ratings against the
protocol's ``[monitoring]`` lines (default protocol "Discharge is computed from the
record"):

* minimum observation per route: esketamine from the dose (first device), IV from the
  end of the infusion, IM from the injection, to the end of monitoring;
* the readings at the protocol's times (pre-dose, during an infusion, the post-dose
  check, before discharge);
* the last blood pressure below the hold line and not rising over the last two
  readings ("consistent at a safe level", label);
* the last SpO2 at or above the review line;
* the last MOAA/S back to alert (5);
* dissociation back to its pre-dose rating, or a clinician's note saying why not;
* escort confirmed, and the no-driving-until-the-next-day instruction given.

Only the escort and the driving instruction are answered by a clinician: nothing a
clinician ticks can contradict a recorded number.

References:
    kaptools/sources.toml §2.1 (2 h, BP, driving), §5.4 (discharge criteria).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from kaptools.printer import escape
from kaptools.protocol import MonitoringSection, Protocol, default_protocol
from kaptools.sessions.scales import moaa_s
from kaptools.sessions.vitals import VitalSigns, VitalsTimepoint, is_after_dose, vitals_schedule
from kaptools.validation import present
from kaptools.vocabulary import Route

if TYPE_CHECKING:
    from kaptools.sessions.record import DosingSession

__all__ = ["DischargeCriterion", "DischargeReadiness", "discharge_readiness", "reading_order"]

READY_TEXT = "Ready for discharge: the record meets the protocol's discharge criteria."


@dataclass(frozen=True, slots=True)
class DischargeCriterion:
    """One discharge criterion, whether the record meets it, and what to do if not."""

    key: str
    met: bool
    message: str
    source: str

    @property
    def summary(self) -> str:
        return f"{'met' if self.met else 'NOT MET'}: {self.message}"


@dataclass(frozen=True, slots=True)
class DischargeReadiness:
    """Every discharge criterion, computed from the record."""

    criteria: tuple[DischargeCriterion, ...]

    @property
    def unmet(self) -> tuple[DischargeCriterion, ...]:
        return tuple(c for c in self.criteria if not c.met)

    @property
    def ready(self) -> bool:
        return not self.unmet

    @property
    def summary(self) -> str:
        if self.ready:
            return READY_TEXT
        return "Not ready for discharge:\n" + "\n".join(f"- {c.message}" for c in self.unmet)

    def _repr_html_(self) -> str:
        if self.ready:
            return (
                f"<div class='kap-discharge kap-discharge-ready'><b>{escape(READY_TEXT)}</b></div>"
            )
        items = "".join(
            f"<li class='kap-discharge-unmet' data-key='{escape(c.key)}'>{escape(c.message)}</li>"
            for c in self.unmet
        )
        return (
            "<div class='kap-discharge kap-discharge-not-ready'><b>Not ready for discharge:</b>"
            f"<ul>{items}</ul></div>"
        )


def reading_order(readings: Sequence[VitalSigns], protocol: Protocol) -> list[VitalSigns]:
    """Readings in time order: by minutes after dosing; a reading without a minute sits
    where its time point belongs (pre-dose first, the post-dose check at its minute,
    before-discharge and other readings last, in the order entered)."""
    post = protocol.monitoring.post_dose_check_minutes.value

    def key(v: VitalSigns) -> float:
        if v.minutes_after_dose is not None:
            return float(v.minutes_after_dose)
        return {
            VitalsTimepoint.PRE_DOSE: float("-inf"),
            VitalsTimepoint.POST_DOSE: float(post),
        }.get(v.timepoint, float("inf"))

    return sorted(readings, key=key)


def discharge_readiness(
    session: DosingSession, protocol: Protocol | None = None
) -> DischargeReadiness:
    """Whether ``session``'s record meets every discharge criterion, and what is unmet.

    The criteria, in this order: observation, readings at the protocol's times, blood
    pressure, SpO2, sedation, dissociation, then the escort and the driving instruction.
    """
    p = protocol or default_protocol()
    ordered = reading_order(session.vitals, p)
    return DischargeReadiness(
        (
            _observation(session, p.monitoring),
            _readings(session, p),
            _blood_pressure(ordered, p.monitoring),
            _spo2(ordered, p.monitoring),
            _sedation(session),
            _dissociation(session),
            *_clinician_answers(session),
        )
    )


def _observation(session: DosingSession, m: MonitoringSection) -> DischargeCriterion:
    """The route's minimum observation: esketamine from the dose (first device), IV from
    the end of the infusion, IM from the injection, to the end of monitoring."""
    if session.route is Route.ESKETAMINE_NASAL:
        line, start, start_name = (
            m.esketamine_observation_min_minutes,
            session.started_at,
            "started_at (the dose, first device)",
        )
    elif session.route is Route.IV_KETAMINE:
        line, start, start_name = (
            m.iv_observation_after_infusion_min_minutes,
            session.dose_ended_at,
            "dose_ended_at (the end of the infusion)",
        )
    else:
        line, start, start_name = (
            m.im_observation_min_minutes,
            session.started_at,
            "started_at (the injection)",
        )
    end = session.monitoring_ended_at
    if start is None or end is None:
        gaps = [n for n, v in ((start_name, start), ("monitoring_ended_at", end)) if v is None]
        return DischargeCriterion(
            "observation",
            False,
            f"Observation: record {' and '.join(gaps)}; the protocol asks for at least "
            f"{line} ({line.source}).",
            line.source,
        )
    observed = int((end - start).total_seconds() // 60)
    ok = observed >= line.value
    return DischargeCriterion(
        "observation",
        ok,
        f"Observation {observed} min {'meets' if ok else 'is short of'} the protocol's "
        f"minimum of {line}"
        + ("" if ok else f": continue monitoring for {int(line.value) - observed} min")
        + ".",
        line.source,
    )


def _readings(session: DosingSession, p: Protocol) -> DischargeCriterion:
    """A blood pressure at each of the protocol's times (pre-dose, during an infusion,
    the post-dose check, before discharge)."""
    schedule = vitals_schedule(session.route, p)
    needed_during = sum(1 for t, _ in schedule if t is VitalsTimepoint.DURING)
    have_during = sum(
        1 for v in session.vitals if v.timepoint is VitalsTimepoint.DURING and v.has_bp
    )
    missing_points = [
        t.value
        for t in (
            VitalsTimepoint.PRE_DOSE,
            VitalsTimepoint.POST_DOSE,
            VitalsTimepoint.PRE_DISCHARGE,
        )
        if session.reading(t) is None
    ]
    if have_during < needed_during:
        missing_points.append(f"during ({needed_during - have_during} more)")
    return DischargeCriterion(
        "readings",
        not missing_points,
        "Readings at the protocol's times: "
        + (
            "all recorded."
            if not missing_points
            else "blood pressure missing at " + ", ".join(missing_points) + "."
        ),
        p.monitoring.post_dose_check_minutes.source,
    )


def _blood_pressure(ordered: list[VitalSigns], m: MonitoringSection) -> DischargeCriterion:
    """The last blood pressure after the dose below the hold line and not rising over
    the last two readings."""
    bp = [v for v in ordered if v.has_bp and is_after_dose(v)]
    s_hold, d_hold = m.systolic_hold_at_or_above, m.diastolic_hold_at_or_above
    if len(bp) < 2:
        return DischargeCriterion(
            "blood_pressure",
            False,
            "Blood pressure: at least two readings after the dose are needed to show it is "
            "not rising; take another reading.",
            s_hold.source,
        )
    prev, last = bp[-2], bp[-1]
    last_s = present(last.systolic, "the last reading's systolic (has_bp)")
    last_d = present(last.diastolic, "the last reading's diastolic (has_bp)")
    prev_s = present(prev.systolic, "the previous reading's systolic (has_bp)")
    prev_d = present(prev.diastolic, "the previous reading's diastolic (has_bp)")
    below = last_s < s_hold.value and last_d < d_hold.value
    rising = last_s > prev_s or last_d > prev_d
    if below and not rising:
        msg = (
            f"Blood pressure {last.bp_text} is below the hold line ({int(s_hold.value)}/"
            f"{int(d_hold.value)} mmHg) and not rising (previous {prev.bp_text})."
        )
    elif not below:
        msg = (
            f"Blood pressure {last.bp_text} is at or above the hold line "
            f"({int(s_hold.value)}/{int(d_hold.value)} mmHg): not ready; follow the "
            "urgent-reading steps and recheck."
        )
    else:
        msg = (
            f"Blood pressure is rising ({prev.bp_text} → {last.bp_text}): recheck until it "
            "is no longer rising."
        )
    return DischargeCriterion("blood_pressure", below and not rising, msg, s_hold.source)


def _spo2(ordered: list[VitalSigns], m: MonitoringSection) -> DischargeCriterion:
    """The last SpO2 after the dose at or above the review line."""
    spo2 = [v for v in ordered if v.spo2 is not None and is_after_dose(v)]
    line = m.spo2_review_below
    if not spo2:
        return DischargeCriterion(
            "spo2",
            False,
            f"SpO2: no reading after the dose; pulse oximetry must show at least {line}.",
            line.source,
        )
    reading = present(spo2[-1].spo2, "the last SpO2 reading (filtered on it)")
    ok = reading >= line.value
    return DischargeCriterion(
        "spo2",
        ok,
        f"Last SpO2 {reading} % is {'at or above' if ok else 'below'} {line}"
        + ("." if ok else ": not ready; keep monitoring."),
        line.source,
    )


def _sedation(session: DosingSession) -> DischargeCriterion:
    """The last MOAA/S after the dose back to alert."""
    scale = moaa_s()
    ratings = sorted(session.sedation, key=lambda r: r.minutes_after_dose)
    after = [r for r in ratings if r.minutes_after_dose > 0]
    if not after:
        return DischargeCriterion(
            "sedation",
            False,
            f"Sedation: no MOAA/S rating after the dose; it must be back to {scale.alert} (alert).",
            scale.source,
        )
    last_r = after[-1]
    ok = last_r.moaa_s == scale.alert
    return DischargeCriterion(
        "sedation",
        ok,
        f"Last MOAA/S {last_r.moaa_s} at {last_r.minutes_after_dose} min"
        + (" (alert)." if ok else f": must be back to {scale.alert} (alert); rate again."),
        scale.source,
    )


def _dissociation(session: DosingSession) -> DischargeCriterion:
    """The last CADSS-6 total after the dose back to the pre-dose one, or a clinician's
    note saying why dissociation has resolved."""
    diss = sorted(session.dissociation, key=lambda r: r.minutes_after_dose)
    pre_d = [r for r in diss if r.minutes_after_dose <= 0]
    post_d = [r for r in diss if r.minutes_after_dose > 0]
    note = session.dissociation_note.strip()
    source = "label: discharge when dissociation has resolved [2.1, 5.4]"
    if note:
        ok, msg = True, f"Dissociation: clinician's note: {note}"
    elif not post_d:
        ok, msg = False, "Dissociation: no CADSS-6 rating after the dose; rate it before discharge."
    elif not pre_d:
        ok, msg = (
            False,
            "Dissociation: no pre-dose CADSS-6 rating to compare with; record it (0 min), or "
            "write a note saying why dissociation has resolved.",
        )
    else:
        base, last_d = pre_d[-1].total, post_d[-1].total
        ok = last_d <= base
        msg = f"Dissociation: last CADSS-6 total {last_d} " + (
            f"is back to the pre-dose rating ({base})."
            if ok
            else f"is above the pre-dose rating ({base}): rate again, or write a note "
            "saying why not."
        )
    return DischargeCriterion("dissociation", ok, msg, source)


def _clinician_answers(session: DosingSession) -> list[DischargeCriterion]:
    """The escort home and the no-driving instruction: the only clinician answers."""
    d = session.discharge
    out = []
    for key, value, text in (
        ("escort_home", d.escort_home, "A responsible adult takes the patient home"),
        (
            "no_driving_until_next_day",
            d.no_driving_until_next_day,
            "The patient was told not to drive or use machinery until the next day after a "
            "restful sleep",
        ),
    ):
        state = {None: "not yet confirmed", False: "answered no", True: "confirmed"}[value]
        out.append(
            DischargeCriterion(
                f"discharge.{key}",
                value is True,
                f"{text}: {state}.",
                "label: no driving until the next day; escort home [2.1, 5.4]",
            )
        )
    return out
