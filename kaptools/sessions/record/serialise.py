"""A dosing-session record as JSON-ready data (what the store keeps);
:func:`~kaptools.sessions.parse_dosing_session` reads it back.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import fields
from typing import TYPE_CHECKING, Any

from kaptools.sessions.record.parts import DischargeChecklist, RemsFields
from kaptools.sessions.safety import HoldOverride, PreDoseChecks

if TYPE_CHECKING:
    from kaptools.sessions.record.session import DosingSession

__all__ = ["session_to_dict"]


def _time(x: dt.datetime | None) -> str | None:
    return x.isoformat() if x is not None else None


def session_to_dict(s: DosingSession) -> dict[str, Any]:
    """``s`` as a JSON-ready dict, every field in the record's order."""
    return {
        "patient_id": s.patient_id,
        "route": s.route.value,
        "session_date": s.session_date.isoformat(),
        "started_at": _time(s.started_at),
        "monitoring_ended_at": _time(s.monitoring_ended_at),
        "discharged_at": _time(s.discharged_at),
        "dose_mg": s.dose_mg,
        "lot_number": s.lot_number,
        **_readings(s),
        "discharge": {f.name: getattr(s.discharge, f.name) for f in fields(DischargeChecklist)},
        "rems": None if s.rems is None else _rems(s.rems),
        "setting": s.setting.value,
        "plan_session_index": s.plan_session_index,
        "notes": s.notes,
        "status": s.status.value,
        "protocol": None
        if s.protocol is None
        else {"name": s.protocol.name, "version": s.protocol.version, "sha256": s.protocol.sha256},
        "dose_ended_at": _time(s.dose_ended_at),
        "pre_dose": _pre_dose(s.pre_dose),
        "hold_override": None if s.hold_override is None else _override(s.hold_override),
        "weight_kg": s.weight_kg,
        "patient_age_years": s.patient_age_years,
        "first_dose": s.first_dose,
        "planned_dose_mg": s.planned_dose_mg,
        "dose_reason": s.dose_reason,
        "dissociation_note": s.dissociation_note,
    }


def _readings(s: DosingSession) -> dict[str, Any]:
    """Vital signs, sedation and dissociation ratings, side effects."""
    return {
        "vitals": [
            {
                "timepoint": v.timepoint.value,
                "minutes_after_dose": v.minutes_after_dose,
                "systolic": v.systolic,
                "diastolic": v.diastolic,
                "heart_rate": v.heart_rate,
                "spo2": v.spo2,
                "respiratory_rate": v.respiratory_rate,
            }
            for v in s.vitals
        ],
        "sedation": [
            {"minutes_after_dose": r.minutes_after_dose, "moaa_s": r.moaa_s} for r in s.sedation
        ],
        "dissociation": [
            {"minutes_after_dose": r.minutes_after_dose, "items": list(r.items)}
            for r in s.dissociation
        ],
        "side_effects": None
        if s.side_effects is None
        else [
            {"effect": e.effect.value, "severity": e.severity.value, "note": e.note}
            for e in s.side_effects
        ],
    }


def _rems(rems: RemsFields) -> dict[str, Any]:
    return {
        "patient_enrolled": rems.patient_enrolled,
        "first_treatment": rems.first_treatment,
        "concomitant_medications": None
        if rems.concomitant_medications is None
        else [m.value for m in rems.concomitant_medications],
        "serious_adverse_event": rems.serious_adverse_event,
        "serious_adverse_event_description": rems.serious_adverse_event_description,
        "form_submitted_on": rems.form_submitted_on.isoformat() if rems.form_submitted_on else None,
        "ready_to_leave_at": _time(rems.ready_to_leave_at),
        "sedation": rems.sedation,
        "dissociation": rems.dissociation,
        "respiratory_depression": rems.respiratory_depression,
    }


def _pre_dose(pre: PreDoseChecks) -> dict[str, Any]:
    return {
        "cssrs_since_last_visit": None
        if pre.cssrs_since_last_visit is None
        else [q.value for q in pre.cssrs_since_last_visit],
        "pregnant_since_screening": pre.pregnant_since_screening,
        "acutely_intoxicated": pre.acutely_intoxicated,
    }


def _override(ho: HoldOverride) -> dict[str, Any]:
    return {
        "clinician": ho.clinician,
        "reason": ho.reason,
        "rules": list(ho.rules),
        "at": _time(ho.at),
    }
