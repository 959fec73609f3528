"""The demo patients' screening records and course plans: a screening consistent with each
synthetic patient, a course planned from it and moved onto the dates held."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

from kaptools.demo_database import (
    DEMO_AUTHOR,
)
from kaptools.errors import PlanningError
from kaptools.protocol import Protocol
from kaptools.scheduling import (
    ClinicCalendar,
    CoursePlan,
    SessionKind,
    Weekday,
    plan_for_patient,
    replan,
    save_plan,
)
from kaptools.screening import (
    HistoryQuestion,
    ScreeningRecord,
    ScreeningResult,
)
from kaptools.store import Patient, Store
from kaptools.synthetic import (
    SyntheticPatient,
)

__all__ = ["DEMO_CALENDAR", "demo_screening_record", "not_eligible_patient_id"]

#: The demo clinic's calendar: open Monday to Saturday, no public-holiday closures.
#: The synthetic courses were laid out on weekdays without a holiday calendar (some
#: doses fall on US public holidays, and a Friday dose is followed by a Monday one,
#: which leaves its integration the Saturday in between).
DEMO_CALENDAR = ClinicCalendar(open_weekdays=frozenset(Weekday(d) for d in range(6)))

_SCREENING_BEFORE_PREPARATION = dt.timedelta(days=7)
_RESCREENING_AFTER_FOLLOW_UP = dt.timedelta(days=7)

# Synthetic screening answers (illustrative values, not clinical rules): trials of
# common antidepressants at adequate doses and lengths that did not work.
_FAILED_TRIALS = (
    {"drug": "sertraline", "daily_dose_mg": 150, "weeks": 8},
    {"drug": "venlafaxine", "daily_dose_mg": 225, "weeks": 10},
    {"drug": "bupropion", "daily_dose_mg": 300, "weeks": 6},
)
_DEFER_BP_MARGIN_MMHG = 4
"""How far above the protocol's defer line the re-screening blood pressure is (synthetic)."""


def not_eligible_patient_id(patients: Sequence[SyntheticPatient]) -> str | None:
    """The demo patient whose latest screening is not eligible: the last of two or more."""
    return patients[-1].patient_id if len(patients) >= 2 else None


def _number(patient_id: str) -> int:
    return int(patient_id.rsplit("-", 1)[-1])


def demo_screening_record(
    p: SyntheticPatient,
    patient: Patient,
    on: dt.date,
    *,
    protocol: Protocol,
    rescreen: bool = False,
) -> ScreeningRecord:
    """A screening record consistent with the synthetic patient, as screened on ``on``.

    With ``rescreen`` the record is the not-eligible re-screening after the course:
    a blood pressure just above the protocol's defer line. The PHQ-9 is kept as the
    baseline assessment rather than repeated on the screening; the C-SSRS screener
    answers "wish to be dead" yes for the patients whose PHQ-9 item 9 is positive.
    """
    k = _number(p.patient_id)
    pre = next(v for v in p.sessions[0].vitals if v.minutes_after_dose == 0)
    systolic, diastolic = pre.systolic_mmhg, pre.diastolic_mmhg
    if rescreen:
        t = protocol.screening.thresholds
        systolic = int(t.bp_defer_systolic_min.value) + _DEFER_BP_MARGIN_MMHG
        diastolic = int(t.bp_defer_diastolic_min.value) + _DEFER_BP_MARGIN_MMHG
    trials = [
        {**t, "outcome": "partial_response" if i == 1 else "no_response"}
        | {"stop_reason": "lack_of_effect"}
        for i, t in enumerate(_FAILED_TRIALS[: 3 if k % 3 == 0 else 2])
    ]
    medications: list[dict[str, Any]] = [{"drug": "escitalopram", "daily_dose_mg": 20}]
    if k % 4 == 0:
        medications.append({"drug": "lorazepam", "daily_dose_mg": 0.5})
    history = {q.value: "no" for q in HistoryQuestion}
    if k == 6:
        history[HistoryQuestion.REMITTED_SUBSTANCE_USE_DISORDER.value] = "yes"
    female = p.sex == "female"
    return ScreeningRecord.parse(
        {
            "patient_id": p.patient_id,
            "age_years": patient.age_on(on),
            "sex": p.sex,
            "weight_kg": p.weight_kg,
            "pregnant": "no" if female else "unknown",
            "breastfeeding": "no" if female else "unknown",
            "pregnancy_prevention_discussed": "yes" if female else "unknown",
            "diagnoses": ["F33.1", *(["F43.10"] if p.has_ptsd else [])],
            "antidepressant_trials": trials,
            "current_medications": medications,
            "systolic_bp_mmhg": systolic,
            "diastolic_bp_mmhg": diastolic,
            "heart_rate_bpm": pre.heart_rate_bpm,
            "history": history,
            "cssrs": {
                "wish_to_be_dead": "yes" if p.item9_positive else "no",
                "active_thoughts": "no",
                "behaviour_lifetime": "no",
                "behaviour_past_3_months": "no",
            },
        }
    )


def _course_plan(
    store: Store, p: SyntheticPatient, result: ScreeningResult, protocol: Protocol
) -> CoursePlan:
    """Plan the course from the first preparation day, then move it onto the dates held.

    Version 1 is the planner's own plan; version 2 pins the preparation, dosing and
    integration sessions to the synthetic dates (integration left to the planner where
    the synthetic date breaks the protocol's window). When no pinned plan keeps the
    rules, version 1 stays the plan.
    """
    plan = plan_for_patient(
        store,
        p.patient_id,
        p.route,
        p.preparation_dates[0],
        calendar=DEMO_CALENDAR,
        screening_status=result.status,
        cautions=result.cautions,
        protocol=protocol,
    )
    saved = save_plan(store, plan, DEMO_AUTHOR)
    preps = plan.of_kind(SessionKind.PREPARATION)
    pins = {s.index: d for s, d in zip(preps[1:], p.preparation_dates[1:], strict=False)}
    pins |= {s.index: x.session_date for s, x in zip(plan.doses, p.sessions, strict=False)}
    integrations = plan.of_kind(SessionKind.INTEGRATION)
    with_integration = pins | {
        s.index: d for s, d in zip(integrations, p.integration_dates, strict=False)
    }
    for moved in (with_integration, pins):
        try:
            booked = replan(plan, as_of=plan.as_of, moved=moved, protocol=protocol)
        except PlanningError:
            continue
        save_plan(
            store,
            booked,
            DEMO_AUTHOR,
            record_id=saved.record_id,
            based_on_version=saved.version,
            reason="Moved onto the dates the clinic booked (synthetic course).",
        )
        return _mark_held(store, booked, saved.record_id, protocol)
    return plan


def _mark_held(store: Store, plan: CoursePlan, record_id: str, protocol: Protocol) -> CoursePlan:
    """The course as it went: sessions up to the last dose marked done (a third version)."""
    last = max(s.date for s in plan.doses)
    try:
        held = replan(plan, as_of=last + dt.timedelta(days=1), protocol=protocol)
    except PlanningError:
        return plan
    save_plan(
        store,
        held,
        DEMO_AUTHOR,
        record_id=record_id,
        based_on_version=store.record_history(record_id)[-1].version,
        reason="Sessions up to the last dose held as booked (synthetic course).",
    )
    return held
