"""The demo patients' dosing sessions: completed records from the synthetic sessions, and
the showcase patient whose sessions show a hold override, an urgent reading and a held
booster."""

from __future__ import annotations

import datetime as dt
from dataclasses import replace

from kaptools.protocol import Protocol
from kaptools.scheduling import (
    CoursePlan,
    Route,
)
from kaptools.sessions import (
    DischargeChecklist,
    DissociationRating,
    DosingSession,
    HoldOverride,
    PreDoseChecks,
    SedationRating,
    SessionRecordStatus,
    Severity,
    SideEffect,
    SideEffectReport,
    VitalSigns,
    VitalsTimepoint,
    vitals_schedule,
)
from kaptools.sessions.scales import cadss6, moaa_s
from kaptools.synthetic import (
    SyntheticDosingSession,
    SyntheticPatient,
)
from kaptools.validation import present

__all__ = ["SESSION_SHOWCASE_PATIENT", "demo_dosing_session"]

_SESSION_START = dt.time(9, 30)
_DEMO_SPO2 = (97, 98, 96)
"""Synthetic pulse-oximetry values (the generator draws none), cycled by minute."""
_DEMO_RESPIRATORY_RATE = 14
_RECHECK_MINUTES = 15
_VITAL_FIELDS = (
    "minutes_after_dose",
    "systolic",
    "diastolic",
    "heart_rate",
    "spo2",
    "respiratory_rate",
)


def _age(birth: dt.date, on: dt.date) -> int:
    return on.year - birth.year - ((on.month, on.day) < (birth.month, birth.day))


_DISCHARGE_AFTER_MONITORING = dt.timedelta(minutes=10)


def demo_dosing_session(
    p: SyntheticPatient,
    s: SyntheticDosingSession,
    *,
    protocol: Protocol,
    plan: CoursePlan | None = None,
) -> DosingSession:
    """A completed dosing-session record from one synthetic session.

    Readings go to the protocol's time points (:func:`kaptools.sessions.vitals_schedule`):
    minute 0 pre-dose, the during-infusion minutes, the post-dose check, the last one
    pre-discharge and any other minute as "other". The synthetic 0-4 dissociation
    rating is used for each CADSS-6 item; MOAA/S and CADSS-6 are rated at the
    post-dose check. The session is linked to the plan's dose on the same day.
    """
    started = dt.datetime.combine(s.session_date, _SESSION_START)
    index = None
    planned = None
    if plan is not None:
        slot = next((d for d in plan.doses if d.date == s.session_date), None)
        if slot is not None:
            index = slot.index
            planned = slot.dose.mg if slot.dose else None
    post, last, readings = _readings(s, protocol)
    ended = started + dt.timedelta(minutes=last)
    course = protocol.courses.route(s.route)
    infusion = course.infusion_minutes
    cadss_items = len(cadss6().items)
    session = DosingSession(
        patient_id=p.patient_id,
        route=Route(s.route),
        session_date=s.session_date,
        started_at=started,
        monitoring_ended_at=ended,
        discharged_at=ended + _DISCHARGE_AFTER_MONITORING,
        dose_mg=s.dose_mg,
        lot_number=f"SYNLOT-{s.session_date:%Y%m%d}",
        vitals=tuple(readings),
        sedation=(SedationRating(post, s.sedation_moaas), SedationRating(last, moaa_s().alert)),
        dissociation=(
            DissociationRating(0, (0,) * cadss_items),
            DissociationRating(post, tuple(s.dissociation_rating for _ in cadss6().items)),
            DissociationRating(last, (0,) * cadss_items),
        ),
        side_effects=tuple(
            SideEffectReport(SideEffect(name), Severity(severity))
            for name, severity in s.side_effects
        ),
        discharge=DischargeChecklist(escort_home=True, no_driving_until_next_day=True),
        plan_session_index=index,
        dose_ended_at=None
        if infusion is None
        else started + dt.timedelta(minutes=int(infusion.value)),
        pre_dose=PreDoseChecks(
            cssrs_since_last_visit=(), pregnant_since_screening=False, acutely_intoxicated=False
        ),
        weight_kg=p.weight_kg,
        patient_age_years=_age(p.birth_date, s.session_date),
        first_dose=s.number == 1,
        planned_dose_mg=planned,
    )
    return session.complete(protocol)


def _readings(s: SyntheticDosingSession, protocol: Protocol) -> tuple[int, int, list[VitalSigns]]:
    """The post-dose check's minute, the last reading's minute, and the session's readings
    at the protocol's time points (a recheck added when the pressure still rises at the
    last one)."""
    schedule = vitals_schedule(s.route, protocol)
    during = {m for t, m in schedule if t is VitalsTimepoint.DURING}
    post = present(
        next(m for t, m in schedule if t is VitalsTimepoint.POST_DOSE),
        "the post-dose check's minute (vitals_schedule gives it)",
    )
    last = max(v.minutes_after_dose for v in s.vitals)

    def point(minutes: int) -> VitalsTimepoint:
        if minutes == 0:
            return VitalsTimepoint.PRE_DOSE
        if minutes in during:
            return VitalsTimepoint.DURING
        if minutes == post:
            return VitalsTimepoint.POST_DOSE
        if minutes == last:
            return VitalsTimepoint.PRE_DISCHARGE
        return VitalsTimepoint.OTHER

    readings = [
        VitalSigns(
            point(v.minutes_after_dose),
            v.minutes_after_dose,
            v.systolic_mmhg,
            v.diastolic_mmhg,
            v.heart_rate_bpm,
            _DEMO_SPO2[v.minutes_after_dose % len(_DEMO_SPO2)],
            _DEMO_RESPIRATORY_RATE,
        )
        for v in s.vitals
    ]
    # Discharge needs a pressure that is no longer rising: when the synthetic curve
    # still creeps up at its last reading, the demo adds a recheck (the lower of the
    # last two) 15 minutes later, as a nurse would.
    prev, final = readings[-2], readings[-1]
    prev_s = present(prev.systolic, "the synthetic systolic")
    prev_d = present(prev.diastolic, "the synthetic diastolic")
    final_s = present(final.systolic, "the synthetic systolic")
    final_d = present(final.diastolic, "the synthetic diastolic")
    if final_s > prev_s or final_d > prev_d:
        final_minutes = present(final.minutes_after_dose, "the last reading's minute")
        readings[-1] = VitalSigns(
            VitalsTimepoint.OTHER, *[getattr(final, f) for f in _VITAL_FIELDS]
        )
        last = final_minutes + _RECHECK_MINUTES
        readings.append(
            VitalSigns(
                VitalsTimepoint.PRE_DISCHARGE,
                last,
                min(prev_s, final_s),
                min(prev_d, final_d),
                final.heart_rate,
                final.spo2,
                final.respiratory_rate,
            )
        )
    return post, last, readings


#: The demo patient whose sessions show the session checklist to trainers: dose 2 held
#: at the pre-dose BP and given after a clinician's written override, an urgent
#: post-dose reading at dose 4, and a booster held (not given) after the course.
SESSION_SHOWCASE_PATIENT = "SYN-0005"
_SHOWCASE_CLINICIAN = "Dr Demo (synthetic)"


def _with_reading(session: DosingSession, point: VitalsTimepoint, sys: int, dia: int) -> tuple:
    out = []
    for v in session.vitals:
        if v.timepoint is point:
            v = VitalSigns(
                v.timepoint,
                v.minutes_after_dose,
                sys,
                dia,
                v.heart_rate,
                v.spo2,
                v.respiratory_rate,
            )
        out.append(v)
    return tuple(out)


def _session_showcase(sessions: list[DosingSession], protocol: Protocol) -> list[DosingSession]:
    """Dose 2: pre-dose 184/104 (hold), given after a clinician's override with a reason;
    dose 4: post-dose 182/112 (urgent flag, then falling); a booster 7 days after the last
    dose held at 186/112 and not given (in progress, no dose)."""
    out = list(sessions)
    two = replace(
        out[1],
        status=SessionRecordStatus.IN_PROGRESS,
        protocol=None,
        vitals=_with_reading(out[1], VitalsTimepoint.PRE_DOSE, 184, 104),
    )
    holds = tuple(f.rule_id for f in two.go_no_go(protocol).holds)
    started = two.started_at or dt.datetime.combine(two.session_date, _SESSION_START)
    two = replace(
        two,
        hold_override=HoldOverride(
            _SHOWCASE_CLINICIAN,
            "Recheck after 10 min rest 176/102; no symptoms; benefit outweighs the risk "
            "(synthetic demo of an override)",
            holds,
            started - dt.timedelta(minutes=5),
        ),
        notes="Pre-dose blood pressure at the hold line; dose given after a clinician's "
        "written override (synthetic demo).",
    )
    out[1] = two.complete(protocol)
    four = replace(
        out[3],
        status=SessionRecordStatus.IN_PROGRESS,
        protocol=None,
        vitals=_with_reading(out[3], VitalsTimepoint.POST_DOSE, 182, 112),
        notes="Post-dose 182/112: urgent flag; recheck in 15 min falling, no crisis "
        "symptoms (synthetic demo).",
    )
    out[3] = four.complete(protocol)
    last = out[-1]
    held_day = last.session_date + dt.timedelta(days=7)
    held = DosingSession(
        patient_id=last.patient_id,
        route=last.route,
        session_date=held_day,
        vitals=(VitalSigns(VitalsTimepoint.PRE_DOSE, 0, 186, 112, 78, 97, 14),),
        pre_dose=last.pre_dose,
        weight_kg=last.weight_kg,
        patient_age_years=last.patient_age_years,
        first_dose=False,
        notes="Booster held: pre-dose blood pressure at the hold line; no dose given, GP "
        "review of blood pressure before rebooking (synthetic demo).",
    )
    out.append(held)
    return out
