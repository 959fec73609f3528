"""The SPRAVATO REMS Patient Monitoring Form, filled from a dosing-session record [2.2].

What a number in the record can answer is derived from it; what only the clinician can
answer comes from :class:`~kaptools.sessions.RemsFields` and is checked against the
record (``contradictions``).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from kaptools.printer import escape
from kaptools.protocol import Protocol
from kaptools.scheduling.doses import fmt_number
from kaptools.sessions.record.parts import (
    CareSetting,
    ConcomitantMedication,
    DissociationRating,
    RemsFields,
    SedationRating,
)
from kaptools.sessions.scales import moaa_s
from kaptools.sessions.side_effects import SideEffect
from kaptools.sessions.vitals import VitalsTimepoint, is_after_dose

if TYPE_CHECKING:
    from kaptools.sessions.record.session import DosingSession

__all__ = ["REMS_CLINICIAN_FIELDS", "RemsMonitoringForm", "fill_rems_form"]


@dataclass(frozen=True, slots=True)
class RemsMonitoringForm:
    """Every field of the SPRAVATO REMS Patient Monitoring Form, filled from a session [2.2].

    What a number in the record can answer is derived from it (vital signs acceptable
    before the dose and at the end, lowest SpO2, monitoring time); what only the
    clinician can answer comes from :class:`RemsFields` and is checked against the
    record (``contradictions``).
    """

    patient_id: str
    session_date: dt.date
    setting: CareSetting
    patient_enrolled: bool | None
    first_treatment: bool | None
    concomitant_medications: tuple[ConcomitantMedication, ...] | None
    dose_mg: float | None
    lot_number: str | None
    administered_at: dt.datetime | None
    """Time of the first device."""
    bp_pre_dose: str | None
    bp_post_dose: str | None
    bp_pre_discharge: str | None
    vital_signs_acceptable_before: bool | None
    """Derived: the pre-dose readings are within the go / no-go hold lines."""
    vital_signs_acceptable_at_end: bool | None
    """Derived: the last BP below the hold line and not rising, SpO2 at the review line."""
    sedation: bool | None
    dissociation: bool | None
    respiratory_depression: bool | None
    sedation_ratings: tuple[SedationRating, ...]
    dissociation_ratings: tuple[DissociationRating, ...]
    lowest_spo2: int | None
    serious_adverse_event: bool | None
    serious_adverse_event_description: str
    ready_to_leave_at: dt.datetime | None
    """When the patient would have been ready to leave."""
    monitoring_ended_at: dt.datetime | None
    total_minutes_first_device_to_end_of_monitoring: int | None
    discharged_at: dt.datetime | None
    missing: tuple[str, ...]
    """Fields still to fill before the form can be filed."""
    contradictions: tuple[str, ...] = ()
    """Answers the recorded numbers contradict (each names the field and the reading)."""

    @property
    def complete(self) -> bool:
        return not self.missing and not self.contradictions

    @property
    def summary(self) -> str:
        problems = [*(f"missing {m}" for m in self.missing), *self.contradictions]
        state = "ready to file" if not problems else "; ".join(problems)
        return (
            f"REMS Patient Monitoring Form for {self.patient_id}, "
            f"session {self.session_date}: {state}"
        )

    def rows(self) -> list[tuple[str, str]]:
        """(question, answer) pairs in the form's order; unanswered shows as "— missing —"."""

        def yn(v: bool | None) -> str:
            return "— missing —" if v is None else ("Yes" if v else "No")

        def tm(v: dt.datetime | None) -> str:
            return "— missing —" if v is None else v.strftime("%Y-%m-%d %H:%M")

        def tx(v: object) -> str:
            return "— missing —" if v is None else str(v)

        meds = self.concomitant_medications
        return [
            ("Patient (kaptools id)", self.patient_id),
            ("Treatment session date", self.session_date.isoformat()),
            ("Healthcare setting", self.setting.value),
            ("Patient enrolled in the SPRAVATO REMS", yn(self.patient_enrolled)),
            ("First treatment session", yn(self.first_treatment)),
            (
                "Concomitant medications (sedation, BP)",
                "— missing —"
                if meds is None
                else (", ".join(m.value.replace("_", " ") for m in meds) or "None"),
            ),
            ("Dose (mg)", "— missing —" if self.dose_mg is None else fmt_number(self.dose_mg)),
            ("Lot number", tx(self.lot_number)),
            ("Time of administration (first device)", tm(self.administered_at)),
            ("Blood pressure before administration", tx(self.bp_pre_dose)),
            ("Blood pressure about 40 min after", tx(self.bp_post_dose)),
            ("Blood pressure before discharge", tx(self.bp_pre_discharge)),
            (
                "Vital signs acceptable before administration",
                yn(self.vital_signs_acceptable_before),
            ),
            (
                "Vital signs acceptable at the end of monitoring",
                yn(self.vital_signs_acceptable_at_end),
            ),
            ("Sedation during monitoring", yn(self.sedation)),
            ("Dissociation during monitoring", yn(self.dissociation)),
            ("Respiratory depression during monitoring", yn(self.respiratory_depression)),
            (
                "Sedation ratings (MOAA/S)",
                ", ".join(
                    f"{r.moaa_s} at {r.minutes_after_dose} min" for r in self.sedation_ratings
                )
                or "— missing —",
            ),
            (
                "Dissociation ratings (CADSS-6 total)",
                ", ".join(
                    f"{r.total} at {r.minutes_after_dose} min" for r in self.dissociation_ratings
                )
                or "— missing —",
            ),
            ("Lowest SpO2 (pulse oximetry), %", tx(self.lowest_spo2)),
            ("Serious adverse event", yn(self.serious_adverse_event)),
            ("Serious adverse event, description", self.serious_adverse_event_description or "—"),
            ("Time the patient would have been ready to leave", tm(self.ready_to_leave_at)),
            ("End of monitoring", tm(self.monitoring_ended_at)),
            (
                "Total time, first device to end of monitoring (min)",
                tx(self.total_minutes_first_device_to_end_of_monitoring),
            ),
            ("Discharged", tm(self.discharged_at)),
        ]

    def _repr_html_(self) -> str:
        return f"<p class='kap-rems-form'>{escape(self.summary)}</p>"

    def to_html_page(self) -> str:
        """The filled form as a self-contained printable HTML page (no external resources)."""
        rows = "".join(
            f"<tr><th scope='row'>{escape(q)}</th><td>{escape(a)}</td></tr>" for q, a in self.rows()
        )
        problems = "".join(f"<li>missing: {escape(m)}</li>" for m in self.missing) + "".join(
            f"<li>{escape(c)}</li>" for c in self.contradictions
        )
        state = (
            "<p class='ok'>Every field is filled: ready to file on the SPRAVATO REMS portal.</p>"
            if self.complete
            else f"<div class='todo'><b>Not ready to file:</b><ul>{problems}</ul></div>"
        )
        return (
            "<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>"
            f"<title>REMS Patient Monitoring Form {escape(self.patient_id)} "
            f"{self.session_date.isoformat()}</title><style>"
            "body{font-family:sans-serif;margin:2em;max-width:48em}"
            "table{border-collapse:collapse;width:100%}"
            "th,td{border:1px solid #999;padding:4px 8px;text-align:left;vertical-align:top}"
            "th{width:55%;background:#f3f3f3}.todo{color:#8a0010}"
            "@media print{.noprint{display:none}}</style></head><body>"
            "<h1>SPRAVATO REMS Patient Monitoring Form</h1>"
            "<p>Filled by kaptools from the dosing-session record, for the certified setting to "
            "check and submit within 7 calendar days (spravatorems.com) [2.2]. Synthetic data "
            "only.</p>"
            f"{state}<table>{rows}</table></body></html>"
        )


#: REMS form fields only the clinician answers (the rest are derived or asked elsewhere).
REMS_CLINICIAN_FIELDS = frozenset(
    {
        "patient_enrolled",
        "first_treatment",
        "concomitant_medications",
        "serious_adverse_event",
        "sedation",
        "dissociation",
        "respiratory_depression",
        "ready_to_leave_at",
    }
)


def fill_rems_form(session: DosingSession, protocol: Protocol) -> RemsMonitoringForm:
    """Every field of the REMS Patient Monitoring Form, filled from ``session`` [2.2]."""
    rems = session.rems or RemsFields()
    values = _form_values(session, protocol, rems)
    missing = [k for k, v in values.items() if v is None]
    if not session.sedation:
        missing.append("sedation_ratings")
    if not session.dissociation:
        missing.append("dissociation_ratings")
    contradictions = (
        _sedation_contradiction(session, rems),
        _dissociation_contradiction(session, rems),
        _respiratory_depression_contradiction(session, protocol, rems),
        _ready_to_leave_contradiction(session, rems),
    )
    return RemsMonitoringForm(
        patient_id=session.patient_id,
        session_date=session.session_date,
        setting=session.setting,
        sedation_ratings=session.sedation,
        dissociation_ratings=session.dissociation,
        serious_adverse_event_description=rems.serious_adverse_event_description,
        missing=tuple(missing),
        contradictions=tuple(c for c in contradictions if c is not None),
        **values,
    )


def _form_values(session: DosingSession, protocol: Protocol, rems: RemsFields) -> dict[str, Any]:
    """The form's answers in its order: the clinician's (``rems``) and the derived ones
    (blood pressures, vital signs acceptable before the dose and at the end, lowest SpO2,
    times); None where unanswered."""
    pre = session.reading(VitalsTimepoint.PRE_DOSE)
    post = session.reading(VitalsTimepoint.POST_DOSE)
    out = session.reading(VitalsTimepoint.PRE_DISCHARGE)
    spo2 = [v.spo2 for v in session.vitals if v.spo2 is not None]
    decision = session.go_no_go(protocol)
    vitals_missing = [x for x in decision.missing if x.startswith("vitals.")]
    before = (
        None if vitals_missing else not any(f.field.startswith("vitals.") for f in decision.holds)
    )
    readiness = {c.key: c for c in session.discharge_readiness(protocol).criteria}
    bp_c, sp_c = readiness["blood_pressure"], readiness["spo2"]
    have_end = any(v.has_bp and is_after_dose(v) for v in session.vitals)
    at_end = (bp_c.met and sp_c.met) if have_end else None
    return {
        "patient_enrolled": rems.patient_enrolled,
        "first_treatment": rems.first_treatment,
        "concomitant_medications": rems.concomitant_medications,
        "dose_mg": session.dose_mg,
        "lot_number": session.lot_number,
        "administered_at": session.started_at,
        "bp_pre_dose": pre.bp_text if pre else None,
        "bp_post_dose": post.bp_text if post else None,
        "bp_pre_discharge": out.bp_text if out else None,
        "vital_signs_acceptable_before": before,
        "vital_signs_acceptable_at_end": at_end,
        "sedation": rems.sedation,
        "dissociation": rems.dissociation,
        "respiratory_depression": rems.respiratory_depression,
        "lowest_spo2": min(spo2) if spo2 else None,
        "serious_adverse_event": rems.serious_adverse_event,
        "ready_to_leave_at": rems.ready_to_leave_at,
        "monitoring_ended_at": session.monitoring_ended_at,
        "total_minutes_first_device_to_end_of_monitoring": session.observation_minutes,
        "discharged_at": session.discharged_at,
    }


def _sedation_contradiction(session: DosingSession, rems: RemsFields) -> str | None:
    """ "No sedation" answered, but a MOAA/S rating after the dose was below alert."""
    scale = moaa_s()
    sedated = [r for r in session.sedation if r.minutes_after_dose > 0 and r.moaa_s < scale.alert]
    if rems.sedation is False and sedated:
        return (
            f"rems.sedation: answered no, but MOAA/S {sedated[0].moaa_s} was recorded at "
            f"{sedated[0].minutes_after_dose} min (below {scale.alert}, alert); answer yes"
        )
    return None


def _dissociation_contradiction(session: DosingSession, rems: RemsFields) -> str | None:
    """ "No dissociation" answered, but a CADSS-6 total after the dose rose above the
    pre-dose one, or a dissociation side effect was recorded."""
    pre_d = [r.total for r in session.dissociation if r.minutes_after_dose <= 0]
    base = pre_d[-1] if pre_d else 0
    dissociated = [r for r in session.dissociation if r.minutes_after_dose > 0 and r.total > base]
    effect = any(s.effect is SideEffect.DISSOCIATION for s in session.side_effects or ())
    if rems.dissociation is False and (dissociated or effect):
        what = (
            f"CADSS-6 total {dissociated[0].total} at {dissociated[0].minutes_after_dose} "
            f"min (pre-dose {base})"
            if dissociated
            else "a dissociation side effect"
        )
        return f"rems.dissociation: answered no, but the record shows {what}; answer yes"
    return None


def _respiratory_depression_contradiction(
    session: DosingSession, protocol: Protocol, rems: RemsFields
) -> str | None:
    """ "No respiratory depression" answered, but a reading after the dose was past the
    respiratory-rate or SpO2 hold line."""
    m = protocol.monitoring
    depressed = [
        v
        for v in session.vitals
        if is_after_dose(v)
        and (
            (
                v.respiratory_rate is not None
                and v.respiratory_rate < m.respiratory_rate_hold_below.value
            )
            or (v.spo2 is not None and v.spo2 < m.spo2_hold_below.value)
        )
    ]
    if rems.respiratory_depression is False and depressed:
        return (
            f"rems.respiratory_depression: answered no, but {depressed[0].summary} is past "
            f"the hold line (respiratory rate < {m.respiratory_rate_hold_below} or SpO2 < "
            f"{m.spo2_hold_below}); answer yes"
        )
    return None


def _ready_to_leave_contradiction(session: DosingSession, rems: RemsFields) -> str | None:
    """The time the patient would have been ready to leave is before the dose."""
    r = rems.ready_to_leave_at
    if r is not None and session.started_at is not None and r < session.started_at:
        return (
            f"rems.ready_to_leave_at: {r:%H:%M} is before the dose ({session.started_at:%H:%M}); "
            "enter the time the patient would have been ready to leave"
        )
    return None
