"""Build the demo database of synthetic patients (``python -m kaptools.demo``).

Used by ``make run`` (creates ``var/demo.sqlite`` when it is missing) and by the
tests, which build a private copy. Everything in it is synthetic.

Each patient gets, through the same public APIs the dashboards use:

* the patient record and every synthetic assessment (:mod:`kaptools.assessments`);
* a screening (:func:`kaptools.screening.save_screening`) built from the patient:
  age on the screening day, sex, weight, recurrent major depression with two or
  three failed adequate antidepressant trials, blood pressure and heart rate from
  the first session's pre-dose reading, and a C-SSRS screener (a warning for the
  patients whose PHQ-9 item 9 is positive). Most patients meet the protocol's
  criteria, some with cautions (age 65 or over, blood pressure above the caution
  line, a benzodiazepine, a substance use disorder in remission);
* a course plan (:func:`kaptools.scheduling.save_plan`) for the patient's route
  from the first preparation day, made on :data:`DEMO_CALENDAR`, then re-planned
  (version 2) onto the dates the synthetic course was held;
* every dosing session as a completed :class:`kaptools.sessions.DosingSession`
  (vitals at their protocol time points, MOAA/S, CADSS-6, side effects with
  severity, the discharge checklist), linked to its session of the plan.

Safety alerts (for trainers): every alert found before a patient's latest assessment
is acknowledged by :data:`DEMO_CLINICIAN` with a note (they were followed up at the
time), so the history shows acknowledged alerts; the alerts of the latest assessment
of the patients whose PHQ-9 item 9 stays positive (``SYN-0003``, ``SYN-0008``) stay
open, and ``SYN-0008`` also has an open alert from an incomplete PHQ-9 (item 9
answered, item 6 left blank: the assessment is not saved, its alert is).

The last patient (``SYN-0012`` in the default demo of 12) is re-screened a week
after the course's last follow-up with a blood pressure at the protocol's defer
line: the latest screening does not meet the criteria, so no new course can be
planned for them (:func:`not_eligible_patient_id`).
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import sys
from collections.abc import Sequence
from dataclasses import replace
from typing import Any

from kaptools.assessments import record_assessment
from kaptools.config import (
    DATABASE_URL_ENV_VAR,
    default_demo_database_path,
)
from kaptools.demo_database import (
    DEMO_AUTHOR,
    check_demo_store,
    refuse_non_demo_database,
    require_demo_database,
)
from kaptools.errors import IncompleteAnswersError, InvalidInputError, PlanningError
from kaptools.identity import Identity, Role
from kaptools.progress import progress_bar
from kaptools.protocol import Protocol, default_protocol
from kaptools.scheduling import (
    ClinicCalendar,
    CoursePlan,
    Route,
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
    save_screening,
    screen,
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
    save_dosing_session,
    vitals_schedule,
)
from kaptools.sessions.scales import cadss6, moaa_s
from kaptools.store import Patient, Store
from kaptools.synthetic import (
    DEMO_ANCHOR_DATE,
    SyntheticDosingSession,
    SyntheticPatient,
    generate_patients,
)
from kaptools.validation import present

__all__ = [
    "DEMO_AUTHOR",
    "DEMO_CALENDAR",
    "DEMO_CLINICIAN",
    "SESSION_SHOWCASE_PATIENT",
    "build_demo_database",
    "check_demo_store",
    "demo_dosing_session",
    "demo_screening_record",
    "main",
    "not_eligible_patient_id",
    "refuse_non_demo_database",
    "require_demo_database",
]

DEMO_CLINICIAN = "dr-demo (synthetic)"
"""Who acknowledges the demo's past safety alerts."""
_DEMO_ACK_NOTE = (
    "Synthetic demo: C-SSRS screen completed at the visit, no intent or plan; safety plan "
    "reviewed and the 988 line given."
)
_INCOMPLETE_PHQ9_BLANK_ITEM = 6

#: The demo clinic's calendar: open Monday to Saturday, no public-holiday closures.
#: The synthetic courses were laid out on weekdays without a holiday calendar (some
#: doses fall on US public holidays, and a Friday dose is followed by a Monday one,
#: which leaves its integration the Saturday in between).
DEMO_CALENDAR = ClinicCalendar(open_weekdays=frozenset(Weekday(d) for d in range(6)))

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

    started = dt.datetime.combine(s.session_date, _SESSION_START)
    index = None
    planned = None
    if plan is not None:
        slot = next((d for d in plan.doses if d.date == s.session_date), None)
        if slot is not None:
            index = slot.index
            planned = slot.dose.mg if slot.dose else None
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


def _store_patient(
    store: Store, p: SyntheticPatient, protocol: Protocol, *, not_eligible: bool
) -> None:
    patient = store.add_patient(
        p.patient_id,
        p.display_name,
        birth_date=p.birth_date,
        sex=p.sex,
        weight_kg=p.weight_kg,
        author=DEMO_AUTHOR,
        synthetic=True,
    )
    for a in p.assessments:
        record_assessment(
            store,
            p.patient_id,
            a.instrument,
            list(a.answers),
            administered_on=a.administered_on,
            author=DEMO_AUTHOR,
            protocol=protocol,
            today=a.administered_on,
        )
    screened_on = p.preparation_dates[0] - _SCREENING_BEFORE_PREPARATION
    record = demo_screening_record(p, patient, screened_on, protocol=protocol)
    result = screen(record, protocol=protocol)
    save_screening(store, p.patient_id, record, result, DEMO_AUTHOR, effective_at=screened_on)
    plan = _course_plan(store, p, result, protocol)
    sessions = [demo_dosing_session(p, s, protocol=protocol, plan=plan) for s in p.sessions]
    if p.patient_id == SESSION_SHOWCASE_PATIENT and len(sessions) >= 4:
        sessions = _session_showcase(sessions, protocol)
    for session in sessions:
        if session.hold_override is not None:
            # the overriding (synthetic) clinician saves the session they overrode
            who = Identity(session.hold_override.clinician, store.identity.role,
                           store.identity.clinic)
            save_dosing_session(store.as_identity(who), session, protocol=protocol)
        else:
            save_dosing_session(store, session, DEMO_AUTHOR, protocol=protocol)
    _demo_alerts(store, p, protocol)
    if not_eligible:
        on = max(a.administered_on for a in p.assessments) + _RESCREENING_AFTER_FOLLOW_UP
        again = demo_screening_record(p, patient, on, protocol=protocol, rescreen=True)
        save_screening(
            store,
            p.patient_id,
            again,
            screen(again, protocol=protocol),
            DEMO_AUTHOR,
            effective_at=on,
        )


def _demo_alerts(store: Store, p: SyntheticPatient, protocol: Protocol) -> None:
    """Acknowledge the alerts found before the latest assessment; for the second patient
    whose item 9 stays positive, add an incomplete PHQ-9 whose alert stays open."""
    latest = max(a.administered_on for a in p.assessments)
    for a in store.patient_alerts(p.patient_id, open_only=True):
        if a.effective_at.date() < latest:
            acknowledger = Identity(DEMO_CLINICIAN, store.identity.role, store.identity.clinic)
            store.as_identity(acknowledger).acknowledge_alert(a.alert_id, note=_DEMO_ACK_NOTE)
    positive = [a for a in p.assessments if a.instrument == "phq9" and a.administered_on == latest]
    if p.item9_positive and _number(p.patient_id) > 3 and positive:
        answers: list[int | None] = list(positive[0].answers)
        answers[_INCOMPLETE_PHQ9_BLANK_ITEM - 1] = None
        try:
            record_assessment(
                store,
                p.patient_id,
                "phq9",
                answers,
                administered_on=latest,
                author=DEMO_AUTHOR,
                protocol=protocol,
                today=latest,
            )
        except IncompleteAnswersError:
            pass  # expected: the answers are not saved, the item-9 alert is


def build_demo_database(
    store: Store,
    *,
    n: int = 12,
    seed: int = 2026,
    protocol: Protocol | None = None,
    progress: bool | None = None,
) -> list[SyntheticPatient]:
    """Fill ``store`` with ``n`` synthetic patients (reproducible from ``seed``).

    Refuses (:func:`check_demo_store`) the clinic's default store and any database
    that holds a non-synthetic patient, before writing anything. ``progress``: a bar
    per patient (None: when a terminal or notebook watches; see kaptools.progress).

    The data are written by the named system identity :data:`DEMO_AUTHOR` (in the trainer
    role: synthetic patients only) into the clinic of the store's identity; the demo's
    past alerts are acknowledged by :data:`DEMO_CLINICIAN`.
    """
    store = store.as_identity(Identity(DEMO_AUTHOR, Role.TRAINER, store.identity.clinic))
    require_demo_database(store)
    protocol = protocol or default_protocol()
    patients = generate_patients(n, seed=seed, anchor=DEMO_ANCHOR_DATE)
    excluded = not_eligible_patient_id(patients)
    for p in progress_bar(patients, progress=progress, desc="demo patients", unit="patient"):
        _store_patient(store, p, protocol, not_eligible=p.patient_id == excluded)
    return patients


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The options of ``kaptools demo`` / ``python -m kaptools.demo``."""
    parser.add_argument(
        "--database",
        help=(
            "SQLAlchemy URL of the demo database (default: KAPTOOLS_DATABASE_URL when set, "
            "else the demo file KAPTOOLS_HOME/demo.sqlite; never the clinic's default store)"
        ),
    )
    parser.add_argument("--patients", type=int, default=12, help="how many patients (default 12)")
    parser.add_argument("--seed", type=int, default=2026, help="random seed (default 2026)")
    parser.add_argument(
        "--if-empty", action="store_true", help="do nothing when the database already has patients"
    )
    parser.add_argument(
        "--scenarios",
        action="store_true",
        help="the trainers' scenarios instead: one named synthetic patient per branch of "
        "the protocol (kaptools.scenarios); --patients is ignored",
    )
    parser.add_argument(
        "-q", "--quiet", action="store_true", help="no progress bar (also off when not a terminal)"
    )


def run(args: argparse.Namespace) -> int:
    """Create the demo database; 0 when done (or left alone with --if-empty), 2 on bad input.

    Every check runs on the database as it is, before anything (even its tables) is
    written: the clinic's default store, a database holding a non-synthetic patient,
    and one holding data that was never marked a demo database are refused.
    """
    url = args.database
    if url is None and not os.environ.get(DATABASE_URL_ENV_VAR, "").strip():
        url = f"sqlite:///{default_demo_database_path()}"
        print(f"No database given: using the demo file {default_demo_database_path()}.")
    store = Store(url, create=False)
    check_demo_store(store)
    where = store.url.render_as_string(hide_password=True)
    if store.count_patients() and args.if_empty:
        print(f"Demo database {where} already has patients; left as it is.")
        return 0
    refuse_non_demo_database(store)
    if store.count_patients():
        raise InvalidInputError(
            f"the database {where} already has patients; name an empty database with "
            "--database, or pass --if-empty to leave it as it is."
        )
    store = Store(url)
    quiet = False if args.quiet else None
    if args.scenarios:
        from kaptools.scenarios import build_scenario_database

        scenarios = build_scenario_database(store, seed=args.seed, progress=quiet)
        print(f"Created {len(scenarios)} synthetic training scenarios in {where}:")
        for s in scenarios:
            print(f"  {s.patient_id}  {s.title}  [{s.rule}]")
    else:
        patients = build_demo_database(store, n=args.patients, seed=args.seed, progress=quiet)
        print(f"Created {len(patients)} synthetic patients in {where}.")
    print(f"Serve the dashboards on it with: make run KAPTOOLS_DATABASE_URL={where}")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m kaptools.demo``: the same as ``kaptools demo`` (same errors, exit codes)."""
    from kaptools.commands import Command, run_command

    parser = argparse.ArgumentParser(
        prog="python -m kaptools.demo", description="Create a demo database of synthetic patients."
    )
    add_arguments(parser)
    command = Command(name="demo", help="demo database", add_arguments=add_arguments, run=run)
    return run_command(command, parser.parse_args(sys.argv[1:] if argv is None else argv))


if __name__ == "__main__":
    raise SystemExit(main())
