"""How each scenario's patient is built: the screening records and the builders that store
their screening, alerts, plan and dosing sessions through the public APIs."""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Callable, Mapping
from typing import Any

from kaptools.assessments import record_assessment
from kaptools.identity import Identity
from kaptools.protocol import Protocol
from kaptools.scenarios.scenario import SCENARIO_AUTHOR, SCENARIO_CLINICIAN, Scenario
from kaptools.scheduling import ClinicCalendar, Route, Weekday, plan_for_patient, save_plan
from kaptools.screening import HistoryQuestion, ScreeningRecord, save_screening, screen
from kaptools.sessions import (
    DischargeChecklist,
    DissociationRating,
    DosingSession,
    HoldOverride,
    PreDoseChecks,
    SedationRating,
    VitalSigns,
    VitalsTimepoint,
    save_dosing_session,
    vitals_schedule,
)
from kaptools.sessions.scales import cadss6
from kaptools.store import Store
from kaptools.validation import present

__all__ = [
    "acknowledged_alert",
    "discharge_not_ready",
    "failed",
    "held_not_given",
    "hold_override",
    "plan_with_deviation",
    "screened",
    "urgent_post_dose",
]

SCREENED_ON = dt.date(2026, 3, 2)
"""The scenarios' screening day (a Monday); courses start a week later."""
COURSE_START = SCREENED_ON + dt.timedelta(days=7)
_TUE_THU = ClinicCalendar(
    open_weekdays=frozenset({Weekday.TUE, Weekday.THU}), country="US", subdivision="NY"
)
"""A clinic open only on Tuesdays and Thursdays: esketamine's twice-weekly induction
rhythm cannot be kept around its closures."""
_SESSION_START = dt.time(9, 30)
_DOSE_MG_PER_KG = 0.5
"""IV ketamine dose of the session scenarios: the protocol's default (mg/kg)."""


def _base_record(patient_id: str, age: int, weight_kg: float) -> dict[str, Any]:
    """A screening record that meets every criterion: all answers known, nothing fires."""
    return {
        "patient_id": patient_id,
        "age_years": age,
        "sex": "male",
        "weight_kg": weight_kg,
        "pregnant": "unknown",
        "breastfeeding": "unknown",
        "pregnancy_prevention_discussed": "unknown",
        "diagnoses": ["F33.1"],
        "antidepressant_trials": [
            {"drug": "sertraline", "daily_dose_mg": 150, "weeks": 8},
            {"drug": "venlafaxine", "daily_dose_mg": 225, "weeks": 10},
        ],
        "current_medications": [{"drug": "escitalopram", "daily_dose_mg": 20}],
        "systolic_bp_mmhg": 122,
        "diastolic_bp_mmhg": 78,
        "heart_rate_bpm": 72,
        "history": {q.value: "no" for q in HistoryQuestion},
        "cssrs": {
            "wish_to_be_dead": "no",
            "active_thoughts": "no",
            "behaviour_lifetime": "no",
            "behaviour_past_3_months": "no",
        },
    }


def failed(trial: dict[str, Any]) -> dict[str, Any]:
    return {**trial, "outcome": "no_response", "stop_reason": "lack_of_effect"}


def _record(patient_id: str, age: int, weight_kg: float, changes: Mapping[str, Any]) -> dict:
    record = _base_record(patient_id, age, weight_kg)
    record["antidepressant_trials"] = [failed(t) for t in record["antidepressant_trials"]]
    for key, value in changes.items():
        if key in ("history", "cssrs"):
            record[key] = {**record[key], **value}
        else:
            record[key] = value
    return record


def _add_patient(store: Store, s: Scenario, rng: random.Random, age: int, sex: str) -> float:
    weight = float(rng.randrange(58, 96))
    birth = SCREENED_ON.replace(year=SCREENED_ON.year - age - 1) + dt.timedelta(
        days=rng.randrange(1, 360)
    )
    store.add_patient(
        s.patient_id,
        f"{s.title} (synthetic)",
        birth_date=birth,
        sex=sex,
        weight_kg=weight,
        author=SCENARIO_AUTHOR,
        synthetic=True,
    )
    return weight


def screened(
    changes: Mapping[str, Any], *, age: int = 42, sex: str = "male"
) -> Callable[[Store, Scenario, Protocol, random.Random], None]:
    """A scenario that is one screening: the base record with ``changes``."""

    def build(store: Store, s: Scenario, protocol: Protocol, rng: random.Random) -> None:
        _screen(store, s, protocol, rng, changes, age=age, sex=sex)

    return build


def _screen(
    store: Store,
    s: Scenario,
    protocol: Protocol,
    rng: random.Random,
    changes: Mapping[str, Any] = {},
    *,
    age: int = 42,
    sex: str = "male",
) -> float:
    weight = _add_patient(store, s, rng, age, sex)
    record = ScreeningRecord.parse(_record(s.patient_id, age, weight, changes))
    save_screening(
        store,
        s.patient_id,
        record,
        screen(record, protocol=protocol),
        SCENARIO_AUTHOR,
        effective_at=SCREENED_ON,
    )
    return weight


def acknowledged_alert(store: Store, s: Scenario, protocol: Protocol, rng: random.Random) -> None:
    """Eligible; a PHQ-9 at the first dosing visit with item 9 at 1: its alert is raised,
    then acknowledged by a clinician with a note (the alert stays in the history)."""
    _screen(store, s, protocol, rng)
    record_assessment(
        store,
        s.patient_id,
        "phq9",
        [2, 2, 2, 1, 1, 2, 1, 1, 1],
        administered_on=COURSE_START,
        author=SCENARIO_AUTHOR,
        protocol=protocol,
        today=COURSE_START,
    )
    clinician = store.as_identity(
        Identity(SCENARIO_CLINICIAN, store.identity.role, store.identity.clinic)
    )
    for alert in store.patient_alerts(s.patient_id, open_only=True):
        clinician.acknowledge_alert(
            alert.alert_id,
            note="Synthetic scenario: C-SSRS completed at the visit, passive thoughts only, no "
            "intent or plan; safety plan reviewed and the 988 line given.",
        )


def plan_with_deviation(store: Store, s: Scenario, protocol: Protocol, rng: random.Random) -> None:
    """Eligible; an esketamine course on a Tuesday/Thursday clinic with US holidays: the
    induction rhythm cannot be kept, the plan names the deviation and is saved only with
    a clinician's written acknowledgement."""
    _screen(store, s, protocol, rng)
    plan = plan_for_patient(
        store,
        s.patient_id,
        "esketamine_nasal",
        dt.date(2026, 11, 17),  # a Tuesday before Thanksgiving
        calendar=_TUE_THU,
        protocol=protocol,
    )
    save_plan(  # acknowledged by the (synthetic) clinician, in their name
        store.as_identity(Identity(SCENARIO_CLINICIAN, store.identity.role, store.identity.clinic)),
        plan,
        acknowledge_deviations="Synthetic scenario: the patient cannot travel on other days; "
        "induction runs late, the day-28 benefit check stays due.",
        protocol=protocol,
    )


def _session(
    s: Scenario,
    weight: float,
    protocol: Protocol,
    *,
    pre: tuple[int, int] = (124, 78),
    post: tuple[int, int] = (132, 84),
    last_moaa_s: int = 5,
) -> DosingSession:
    """An IV session (first dose) with readings at the protocol's time points."""
    schedule = vitals_schedule(Route.IV_KETAMINE, protocol)
    post_minutes = present(
        next(m for t, m in schedule if t is VitalsTimepoint.POST_DOSE),
        "the post-dose check's minute (vitals_schedule gives it)",
    )
    infusion = protocol.courses.route(Route.IV_KETAMINE).infusion_minutes
    infusion_minutes = int(infusion.value) if infusion is not None else post_minutes
    last = post_minutes + 40  # past the protocol's minimum observation after the infusion
    readings = []
    for timepoint, minutes in schedule:
        at = last if minutes is None else minutes
        bp = {
            VitalsTimepoint.PRE_DOSE: pre,
            VitalsTimepoint.POST_DOSE: post,
            VitalsTimepoint.PRE_DISCHARGE: (126, 80),
        }.get(timepoint, (128, 82))
        readings.append(VitalSigns(timepoint, at, bp[0], bp[1], 74, 97, 14))
    started = dt.datetime.combine(COURSE_START, _SESSION_START)
    items = len(cadss6().items)
    dose = round(_DOSE_MG_PER_KG * weight, 1)
    return DosingSession(
        patient_id=s.patient_id,
        route=Route.IV_KETAMINE,
        session_date=COURSE_START,
        started_at=started,
        monitoring_ended_at=started + dt.timedelta(minutes=last),
        discharged_at=started + dt.timedelta(minutes=last + 10),
        dose_mg=dose,
        lot_number="SYNLOT-TRAINING",
        vitals=tuple(readings),
        sedation=(SedationRating(post_minutes, 4), SedationRating(last, last_moaa_s)),
        dissociation=(
            DissociationRating(0, (0,) * items),
            DissociationRating(post_minutes, (2,) * items),
            DissociationRating(last, (0,) * items),
        ),
        side_effects=(),
        discharge=DischargeChecklist(escort_home=True, no_driving_until_next_day=True),
        dose_ended_at=started + dt.timedelta(minutes=infusion_minutes),
        pre_dose=PreDoseChecks(
            cssrs_since_last_visit=(), pregnant_since_screening=False, acutely_intoxicated=False
        ),
        weight_kg=weight,
        patient_age_years=42,
        first_dose=True,
        planned_dose_mg=dose,
    )


def hold_override(store: Store, s: Scenario, protocol: Protocol, rng: random.Random) -> None:
    """Pre-dose 184/104: the go / no-go check holds the dose; a clinician overrides it
    with a written reason (audit-logged) and the dose is given."""
    weight = _screen(store, s, protocol, rng)
    session = _session(s, weight, protocol, pre=(184, 104))
    holds = tuple(f.rule_id for f in session.go_no_go(protocol).holds)
    started = session.started_at or dt.datetime.combine(COURSE_START, _SESSION_START)
    from dataclasses import replace

    session = replace(
        session,
        hold_override=HoldOverride(
            SCENARIO_CLINICIAN,
            "Recheck after 10 min rest 176/102, no symptoms; benefit outweighs the risk "
            "(synthetic scenario of an override).",
            holds,
            started - dt.timedelta(minutes=5),
        ),
    )
    # the overriding (synthetic) clinician saves the session they overrode
    clinician = store.as_identity(
        Identity(SCENARIO_CLINICIAN, store.identity.role, store.identity.clinic)
    )
    save_dosing_session(clinician, session.complete(protocol), protocol=protocol)


def held_not_given(store: Store, s: Scenario, protocol: Protocol, rng: random.Random) -> None:
    """Pre-dose 186/112 and nobody overrides: the dose is held, the session stays open
    with no dose recorded."""
    weight = _screen(store, s, protocol, rng)
    full = _session(s, weight, protocol, pre=(186, 112))
    held = DosingSession(
        patient_id=s.patient_id,
        route=full.route,
        session_date=full.session_date,
        vitals=full.vitals[:1],
        pre_dose=full.pre_dose,
        weight_kg=weight,
        patient_age_years=full.patient_age_years,
        first_dose=True,
        notes="Dose held: pre-dose blood pressure at the hold line; no dose given "
        "(synthetic scenario).",
    )
    save_dosing_session(store, held, SCENARIO_AUTHOR, protocol=protocol)


def urgent_post_dose(store: Store, s: Scenario, protocol: Protocol, rng: random.Random) -> None:
    """Post-dose 182/112: an urgent flag with its escalation steps, stored as a critical
    alert with the session; falling again by discharge."""
    weight = _screen(store, s, protocol, rng)
    session = _session(s, weight, protocol, post=(182, 112))
    save_dosing_session(store, session.complete(protocol), SCENARIO_AUTHOR, protocol=protocol)


def discharge_not_ready(store: Store, s: Scenario, protocol: Protocol, rng: random.Random) -> None:
    """MOAA/S 3 at the last rating: discharge is computed from the record and is not
    ready (the session stays in progress; ticking a box cannot complete it)."""
    weight = _screen(store, s, protocol, rng)
    session = _session(s, weight, protocol, last_moaa_s=3)
    save_dosing_session(store, session, SCENARIO_AUTHOR, protocol=protocol)
