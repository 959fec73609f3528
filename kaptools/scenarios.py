"""Trainers' scenario demo: one named synthetic patient per branch of the protocol.

``kaptools demo --scenarios`` (or :func:`build_scenario_database`) fills a demo database
with the patients of :data:`SCENARIOS`, in order. Each says what it teaches and which
rule it triggers; each is built through the same public APIs as a clinic's records
(:func:`kaptools.screening.screen` and ``save_screening``, ``record_assessment``,
``plan_for_patient`` and ``save_plan``, ``DosingSession`` and ``save_dosing_session``),
so what a trainer shows is what the engine does. :func:`observed_facts` reads a
patient back from the store and runs the engine again (screening re-run from the stored
record, stored alerts, the latest plan, every session's go / no-go, flags and
discharge); the tests check every scenario's expected facts against it.

It never touches clinic data, structurally:

* it writes only into a database that is marked a demo / training database
  (:func:`kaptools.demo.require_demo_database`), and marks only an *empty*
  database (a new file), so a clinic database with anything in it is refused;
* :func:`kaptools.demo.check_demo_store` runs first: the clinic's default store and any
  database holding a patient not marked synthetic are refused;
* the refusal comes before the first write (nothing is written), and every scenario
  patient is ``synthetic=True`` with a ``TRN-`` id.

Branch-defining values (an age, a blood pressure, an answer) are fixed; ``seed`` draws
only the incidental ones (weights, birth days), so every seed shows the same branches.
"""

from __future__ import annotations

import datetime as dt
import html
import random
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from kaptools.assessments import record_assessment
from kaptools.demo_database import require_demo_database
from kaptools.errors import InvalidInputError
from kaptools.identity import Identity, Role
from kaptools.progress import progress_bar
from kaptools.protocol import Protocol, default_protocol
from kaptools.scheduling import ClinicCalendar, Route, Weekday, plan_for_patient, save_plan
from kaptools.scheduling.storage import load_latest_plan
from kaptools.screening import HistoryQuestion, ScreeningRecord, save_screening, screen
from kaptools.screening.persistence import SCREENING_KIND, load_screening
from kaptools.sessions import (
    DischargeChecklist,
    DissociationRating,
    DosingSession,
    HoldOverride,
    PreDoseChecks,
    SedationRating,
    VitalSigns,
    VitalsTimepoint,
    dosing_sessions,
    save_dosing_session,
    vitals_schedule,
)
from kaptools.sessions.scales import cadss6
from kaptools.store import Store
from kaptools.validation import present

__all__ = [
    "SCENARIOS",
    "SCENARIO_AUTHOR",
    "SCENARIO_CLINICIAN",
    "Scenario",
    "build_scenario_database",
    "observed_facts",
    "scenario",
]

SCENARIO_AUTHOR = "synthetic-scenario-generator"
SCENARIO_CLINICIAN = "Dr Trainer (synthetic)"
"""Who acknowledges, overrides and confirms in the scenarios."""
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


@dataclass(frozen=True, slots=True)
class Scenario:
    """One trainer's scenario: a synthetic patient who shows one branch of the protocol."""

    number: int
    key: str
    title: str
    """The patient's display name: what the patient shows."""
    teaches: str
    rule: str
    """The rule it triggers (a protocol rule id, or the flag / check it shows)."""
    expect: frozenset[str]
    """Facts :func:`observed_facts` must find for this patient (see its docstring)."""
    dashboard: str
    """The dashboard that shows it (eligibility, planner or trends)."""
    build: Callable[[Store, Scenario, Protocol, random.Random], None]

    @property
    def patient_id(self) -> str:
        return f"TRN-{self.number:02d}"

    def deep_link(self, base_url: str = "http://127.0.0.1:8866") -> str:
        """The dashboard page that opens this patient (``make run``'s address by default)."""
        return (
            f"{base_url.rstrip('/')}/voila/render/{self.dashboard}.ipynb?patient={self.patient_id}"
        )

    @property
    def summary(self) -> str:
        return f"{self.patient_id} {self.title}: {self.teaches} (rule: {self.rule})"

    def _repr_html_(self) -> str:
        esc = html.escape
        return (
            f"<div class='kap-scenario'><b>{esc(self.patient_id)} {esc(self.title)}</b>"
            f"<br>{esc(self.teaches)}<br><small>Rule: <code>{esc(self.rule)}</code></small></div>"
        )


# ---- the records the scenarios are built from ------------------------------------------
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


def _failed(trial: dict[str, Any]) -> dict[str, Any]:
    return {**trial, "outcome": "no_response", "stop_reason": "lack_of_effect"}


def _record(patient_id: str, age: int, weight_kg: float, changes: Mapping[str, Any]) -> dict:
    record = _base_record(patient_id, age, weight_kg)
    record["antidepressant_trials"] = [_failed(t) for t in record["antidepressant_trials"]]
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


def _screened(
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


def _acknowledged_alert(store: Store, s: Scenario, protocol: Protocol, rng: random.Random) -> None:
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


def _plan_with_deviation(store: Store, s: Scenario, protocol: Protocol, rng: random.Random) -> None:
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


def _hold_override(store: Store, s: Scenario, protocol: Protocol, rng: random.Random) -> None:
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


def _held_not_given(store: Store, s: Scenario, protocol: Protocol, rng: random.Random) -> None:
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


def _urgent_post_dose(store: Store, s: Scenario, protocol: Protocol, rng: random.Random) -> None:
    """Post-dose 182/112: an urgent flag with its escalation steps, stored as a critical
    alert with the session; falling again by discharge."""
    weight = _screen(store, s, protocol, rng)
    session = _session(s, weight, protocol, post=(182, 112))
    save_dosing_session(store, session.complete(protocol), SCENARIO_AUTHOR, protocol=protocol)


def _discharge_not_ready(store: Store, s: Scenario, protocol: Protocol, rng: random.Random) -> None:
    """MOAA/S 3 at the last rating: discharge is computed from the record and is not
    ready (the session stays in progress; ticking a box cannot complete it)."""
    weight = _screen(store, s, protocol, rng)
    session = _session(s, weight, protocol, last_moaa_s=3)
    save_dosing_session(store, session, SCENARIO_AUTHOR, protocol=protocol)


def _s(*facts: str) -> frozenset[str]:
    return frozenset(facts)


SCENARIOS: tuple[Scenario, ...] = (
    Scenario(
        1,
        "eligible",
        "Eligible: meets every criterion",
        "Every answer known and nothing fires: the screening meets the protocol's criteria "
        "for every route (decision support; a clinician decides).",
        "indication_primary_met",
        _s("status:eligible", "rule:indication_primary_met"),
        "eligibility",
        _screened({}),
    ),
    Scenario(
        2,
        "caution-age",
        "Caution: older adult (age 71)",
        "Age at or over the older-adult line is a caution, not an exclusion: the patient "
        "meets the criteria with a caution to weigh.",
        "age_older_adult",
        _s("status:eligible_with_cautions", "rule:age_older_adult"),
        "eligibility",
        _screened({"age_years": 71}, age=71),
    ),
    Scenario(
        3,
        "caution-blood-pressure",
        "Caution: raised blood pressure (150/92)",
        "A screening blood pressure above the caution line but under the defer line.",
        "blood_pressure_raised",
        _s("status:eligible_with_cautions", "rule:blood_pressure_raised"),
        "eligibility",
        _screened({"systolic_bp_mmhg": 150, "diastolic_bp_mmhg": 92}),
    ),
    Scenario(
        4,
        "caution-psychiatric",
        "Caution: bipolar disorder without a mood stabiliser",
        "Bipolar disorder is a psychiatric caution (risk of switching); without a mood "
        "stabiliser a second caution fires.",
        "bipolar_disorder",
        _s(
            "status:eligible_with_cautions",
            "rule:bipolar_disorder",
            "rule:bipolar_no_mood_stabiliser",
        ),
        "eligibility",
        _screened({"history": {"bipolar_disorder": "yes"}}),
    ),
    Scenario(
        5,
        "caution-substance",
        "Caution: substance use disorder in remission",
        "A substance use disorder in remission is a caution (an active one excludes: see TRN-21).",
        "remitted_substance_use_disorder",
        _s("status:eligible_with_cautions", "rule:remitted_substance_use_disorder"),
        "eligibility",
        _screened({"history": {"remitted_substance_use_disorder": "yes"}}),
    ),
    Scenario(
        6,
        "caution-medication",
        "Caution: benzodiazepine (lorazepam)",
        "A current medication that can blunt ketamine's effect is a caution; the drug is "
        "recognised from its name.",
        "benzodiazepine",
        _s("status:eligible_with_cautions", "rule:benzodiazepine"),
        "eligibility",
        _screened(
            {
                "current_medications": [
                    {"drug": "escitalopram", "daily_dose_mg": 20},
                    {"drug": "lorazepam", "daily_dose_mg": 0.5},
                ]
            }
        ),
    ),
    Scenario(
        7,
        "caution-respiratory",
        "Caution: obstructive sleep apnoea",
        "Respiratory insufficiency is a caution: respiratory depression is a labelled risk.",
        "sleep_apnoea_or_respiratory_insufficiency",
        _s("status:eligible_with_cautions", "rule:sleep_apnoea_or_respiratory_insufficiency"),
        "eligibility",
        _screened({"history": {"sleep_apnoea_or_respiratory_insufficiency": "yes"}}),
    ),
    Scenario(
        8,
        "caution-heart-rate",
        "Caution: heart rate 112 at screening",
        "A screening heart rate outside the protocol's range is a caution.",
        "heart_rate_outside_range",
        _s("status:eligible_with_cautions", "rule:heart_rate_outside_range"),
        "eligibility",
        _screened({"heart_rate_bpm": 112}),
    ),
    Scenario(
        9,
        "caution-off-label",
        "Caution: off-label indication (generalised anxiety only)",
        "No major depression on record but an indication in use (GAD): off-label, a caution "
        "for clinician review.",
        "indication_off_label",
        _s("status:eligible_with_cautions", "rule:indication_off_label"),
        "eligibility",
        _screened({"diagnoses": ["F41.1"]}),
    ),
    Scenario(
        10,
        "route-differs",
        "Per route: hyperthyroidism (excludes IV/IM, caution esketamine)",
        "The racemic ketamine labels exclude poorly controlled hyperthyroidism; the esketamine "
        "label does not: the screening says so per route.",
        "hyperthyroidism",
        _s(
            "status:eligible_with_cautions",
            "rule:hyperthyroidism",
            "route:iv_ketamine:not_eligible",
            "route:esketamine_nasal:eligible_with_cautions",
        ),
        "eligibility",
        _screened({"history": {"hyperthyroidism": "yes"}}),
    ),
    Scenario(
        11,
        "incomplete-unknown-answer",
        "Incomplete: seizure history unknown",
        "Unknown is never 'no': one checklist answer left unknown makes the screening "
        "incomplete until it is asked.",
        "seizure_disorder_unknown",
        _s("status:incomplete", "rule:seizure_disorder_unknown"),
        "eligibility",
        _screened({"history": {"seizure_disorder": "unknown"}}),
    ),
    Scenario(
        12,
        "incomplete-unrecognised-drug",
        "Incomplete: unrecognised drug name 'Zyntrafex'",
        "A medication kaptools cannot recognise is never read as harmless: the screening is "
        "incomplete until a clinician identifies it.",
        "medication_unrecognised",
        _s("status:incomplete", "rule:medication_unrecognised"),
        "eligibility",
        _screened({"current_medications": [{"drug": "Zyntrafex", "daily_dose_mg": 10}]}),
    ),
    Scenario(
        13,
        "incomplete-trials-unknown",
        "Incomplete: antidepressant trials not recorded",
        "With no trial history the indication cannot be judged: incomplete, not 'not met'.",
        "indication_undetermined",
        _s("status:incomplete", "rule:indication_undetermined"),
        "eligibility",
        _screened({"antidepressant_trials": None}),
    ),
    Scenario(
        14,
        "exclusion-indication",
        "Excluded: indication not met (one failed trial)",
        "Major depression with fewer failed adequate trials than the protocol needs, and no "
        "other indication: the criteria are not met.",
        "indication_not_met",
        _s("status:not_eligible", "rule:indication_not_met"),
        "eligibility",
        _screened(
            {
                "antidepressant_trials": [
                    _failed({"drug": "sertraline", "daily_dose_mg": 150, "weeks": 8})
                ]
            }
        ),
    ),
    Scenario(
        15,
        "exclusion-age",
        "Excluded: under the minimum age (16)",
        "Under the protocol's minimum age.",
        "age_under_minimum",
        _s("status:not_eligible", "rule:age_under_minimum"),
        "eligibility",
        _screened({"age_years": 16}, age=16),
    ),
    Scenario(
        16,
        "exclusion-pregnancy",
        "Excluded: pregnant",
        "Pregnancy (or breastfeeding) excludes every route.",
        "pregnancy_or_breastfeeding",
        _s("status:not_eligible", "rule:pregnancy_or_breastfeeding"),
        "eligibility",
        _screened(
            {
                "sex": "female",
                "pregnant": "yes",
                "breastfeeding": "no",
                "pregnancy_prevention_discussed": "yes",
            },
            sex="female",
        ),
    ),
    Scenario(
        17,
        "exclusion-blood-pressure",
        "Excluded: blood pressure at the defer line (186/112)",
        "A screening blood pressure at or over the defer line: treat and re-screen.",
        "blood_pressure_defer",
        _s("status:not_eligible", "rule:blood_pressure_defer"),
        "eligibility",
        _screened({"systolic_bp_mmhg": 186, "diastolic_bp_mmhg": 112}),
    ),
    Scenario(
        18,
        "exclusion-vascular",
        "Excluded: aneurysm or arteriovenous malformation",
        "Aneurysmal vascular disease or AVM (the esketamine label's contraindication).",
        "aneurysm_or_avm",
        _s("status:not_eligible", "rule:aneurysm_or_avm"),
        "eligibility",
        _screened({"history": {"aneurysm_or_avm": "yes"}}),
    ),
    Scenario(
        19,
        "exclusion-hypersensitivity",
        "Excluded: hypersensitivity to ketamine",
        "A known hypersensitivity to ketamine or esketamine.",
        "ketamine_hypersensitivity",
        _s("status:not_eligible", "rule:ketamine_hypersensitivity"),
        "eligibility",
        _screened({"history": {"ketamine_hypersensitivity": "yes"}}),
    ),
    Scenario(
        20,
        "exclusion-psychosis",
        "Excluded: psychotic disorder",
        "A current or past psychotic disorder excludes.",
        "psychosis",
        _s("status:not_eligible", "rule:psychosis"),
        "eligibility",
        _screened({"history": {"psychosis": "yes"}}),
    ),
    Scenario(
        21,
        "exclusion-substance",
        "Excluded: active substance use disorder",
        "An active substance use disorder excludes (in remission it is a caution: TRN-05).",
        "active_substance_use_disorder",
        _s("status:not_eligible", "rule:active_substance_use_disorder"),
        "eligibility",
        _screened({"history": {"active_substance_use_disorder": "yes"}}),
    ),
    Scenario(
        22,
        "exclusion-hepatic",
        "Excluded: severe hepatic impairment",
        "Severe hepatic impairment excludes (moderate is a caution).",
        "severe_hepatic_impairment",
        _s("status:not_eligible", "rule:severe_hepatic_impairment"),
        "eligibility",
        _screened({"history": {"severe_hepatic_impairment": "yes"}}),
    ),
    Scenario(
        23,
        "alert-warning",
        "Crisis alert, warning: wish to be dead (C-SSRS Q1)",
        "A C-SSRS 'yes' to question 1 raises a warning alert with the 988 line; the screening "
        "itself still meets the criteria, and the alert stays open until acknowledged.",
        "cssrs_ideation",
        _s("status:eligible", "alert:warning:cssrs_ideation", "alert:open", "alert:crisis_line"),
        "eligibility",
        _screened({"cssrs": {"wish_to_be_dead": "yes"}}),
    ),
    Scenario(
        24,
        "alert-moderate",
        "Caution and warning alert: C-SSRS method (Q3)",
        "Thoughts with a method (question 3) are moderate risk: a caution on the screening and "
        "a warning alert with the 988 line.",
        "cssrs_moderate_risk",
        _s(
            "status:eligible_with_cautions",
            "rule:cssrs_moderate_risk",
            "alert:warning:cssrs_moderate_risk",
            "alert:crisis_line",
        ),
        "eligibility",
        _screened(
            {
                "cssrs": {
                    "wish_to_be_dead": "yes",
                    "active_thoughts": "yes",
                    "method": "yes",
                    "intent": "no",
                    "plan": "no",
                }
            }
        ),
    ),
    Scenario(
        25,
        "alert-critical",
        "Crisis alert, critical: suicidal intent (C-SSRS Q4)",
        "Intent in the past month is high risk: an exclusion and a critical alert with the 988 "
        "line, shown on every view of the patient until a clinician acknowledges it.",
        "cssrs_urgent_risk",
        _s(
            "status:not_eligible",
            "rule:cssrs_urgent_risk",
            "alert:critical:cssrs_urgent_risk",
            "alert:open",
            "alert:crisis_line",
        ),
        "eligibility",
        _screened(
            {
                "cssrs": {
                    "wish_to_be_dead": "yes",
                    "active_thoughts": "yes",
                    "method": "no",
                    "intent": "yes",
                    "plan": "no",
                }
            }
        ),
    ),
    Scenario(
        26,
        "alert-acknowledged",
        "Acknowledged alert: PHQ-9 item 9, followed up",
        "An item-9 answer raises its alert; a clinician acknowledged it with a note. The "
        "alert and its acknowledgement stay in the history.",
        "phq9_item9",
        _s("status:eligible", "alert:warning:phq9_item9", "alert:acknowledged"),
        "trends",
        _acknowledged_alert,
    ),
    Scenario(
        27,
        "plan-deviation",
        "Plan deviation: esketamine on a Tuesday/Thursday clinic",
        "The induction rhythm (twice weekly) cannot be kept around the clinic's closures: the "
        "plan names the deviation and what would fix it, and was saved only with a clinician's "
        "acknowledgement.",
        "rhythm",
        _s("status:eligible", "plan:deviation:rhythm:induction", "plan:acknowledged"),
        "planner",
        _plan_with_deviation,
    ),
    Scenario(
        28,
        "dose-held-override",
        "Held dose, overridden: pre-dose 184/104",
        "The go / no-go check holds the dose at the blood-pressure hold line; a clinician "
        "overrode it with a written reason (stored and audit-logged) and the dose was given.",
        "pre_dose_systolic_hold",
        _s(
            "status:eligible",
            "session:hold:pre_dose_systolic_hold",
            "session:hold_overridden",
            "session:dose_given",
        ),
        "planner",
        _hold_override,
    ),
    Scenario(
        29,
        "dose-held",
        "Held dose, not given: pre-dose 186/112",
        "The same hold with no override: no dose can be recorded; the session stays open.",
        "pre_dose_systolic_hold",
        _s("status:eligible", "session:hold:pre_dose_systolic_hold", "session:no_dose"),
        "planner",
        _held_not_given,
    ),
    Scenario(
        30,
        "urgent-post-dose",
        "Urgent post-dose flag: 182/112 after the dose",
        "A reading at or past the hold line after the dose is an urgent flag with its "
        "escalation steps (recheck in 15 min; crisis symptoms: emergency care now) and a "
        "critical alert.",
        "urgent_systolic",
        _s(
            "status:eligible",
            "session:urgent:urgent_systolic",
            "alert:critical:session_urgent_systolic",
        ),
        "planner",
        _urgent_post_dose,
    ),
    Scenario(
        31,
        "discharge-not-ready",
        "Discharge not ready: MOAA/S 3 at the last rating",
        "Discharge is computed from the record, not ticked: with the last sedation rating "
        "below 5 the patient is not ready, whatever the checklist says.",
        "sedation",
        _s("status:eligible", "session:dose_given", "session:discharge_not_ready:sedation"),
        "planner",
        _discharge_not_ready,
    ),
)
"""The trainers' scenarios, in the order a walk-through shows them."""


def scenario(key: str) -> Scenario:
    """The scenario named ``key`` (or its patient id)."""
    for s in SCENARIOS:
        if key in (s.key, s.patient_id):
            return s
    keys = ", ".join(s.key for s in SCENARIOS)
    raise InvalidInputError(f"scenario {key!r} is not one of: {keys}.")


# ---- what the engine says about a stored patient -----------------------------------------
def observed_facts(
    store: Store, patient_id: str, protocol: Protocol | None = None
) -> frozenset[str]:
    """What the engine finds for ``patient_id``, read back from the store.

    Facts: ``status:<status>`` and ``rule:<id>`` (every finding) and
    ``route:<route>:<status>`` from the latest screening, re-run through
    :func:`kaptools.screening.screen` from its stored record (and checked against the
    stored result); ``alert:<level>:<rule>``, ``alert:open``, ``alert:acknowledged`` and
    ``alert:crisis_line`` from the stored alerts; ``plan:deviation:<rule>:<phase>`` and
    ``plan:acknowledged`` from the latest plan; per dosing session
    ``session:hold:<rule>``, ``session:hold_overridden``, ``session:dose_given`` /
    ``session:no_dose``, ``session:urgent:<rule>`` and
    ``session:discharge_not_ready:<criterion>``.
    """
    protocol = protocol or default_protocol()
    facts: set[str] = set()
    screenings = store.latest_records(SCREENING_KIND, patient_id)
    if screenings:
        stored = load_screening(store, screenings[-1].record_id)
        again = screen(stored.record, protocol=protocol)
        if again.status is not stored.status or again.rule_ids != stored.rule_ids:
            raise InvalidInputError(
                f"screening of {patient_id}: the stored result ({stored.status.value}) differs "
                f"from the engine's ({again.status.value}) under {protocol.info.name}."
            )
        facts.add(f"status:{again.status.value}")
        facts |= {f"rule:{f.rule_id}" for f in again.findings}
        facts |= {f"route:{r.value}:{st.value}" for r, st in again.routes.items()}
    for a in store.patient_alerts(patient_id):
        facts.add(f"alert:{a.alert.level.value}:{a.alert.rule_id}")
        facts.add("alert:open" if a.is_open else "alert:acknowledged")
        if "988" in (a.alert.crisis_line or ""):
            facts.add("alert:crisis_line")
    saved = load_latest_plan(store, patient_id)
    if saved is not None:
        facts |= {
            f"plan:deviation:{d.rule}:{d.phase.value if d.phase else 'course'}"
            for d in saved.plan.deviations
        }
        if saved.plan.deviations and saved.plan.acknowledgement is not None:
            facts.add("plan:acknowledged")
    for entry in dosing_sessions(store, patient_id):
        session = entry.session
        decision = session.go_no_go(protocol)
        facts |= {f"session:hold:{f.rule_id}" for f in decision.holds}
        if decision.overridden:
            facts.add("session:hold_overridden")
        facts.add("session:dose_given" if session.dose_mg is not None else "session:no_dose")
        facts |= {f"session:urgent:{f.rule_id}" for f in session.urgent_flags(protocol)}
        facts |= {
            f"session:discharge_not_ready:{c.key}"
            for c in session.discharge_readiness(protocol).unmet
        }
    return frozenset(facts)


# ---- building the database ----------------------------------------------------------------
def build_scenario_database(
    store: Store,
    *,
    seed: int = 2026,
    protocol: Protocol | None = None,
    progress: bool | None = None,
) -> tuple[Scenario, ...]:
    """Fill ``store`` with one synthetic patient per scenario of :data:`SCENARIOS`.

    Refuses (:func:`kaptools.demo.require_demo_database`) any database that is not a demo database
    (or a new, empty one, which it marks), and one that already holds a scenario
    patient, before writing anything. ``seed`` draws the incidental values only.
    """
    # written by a named system identity (trainer role: synthetic patients only)
    store = store.as_identity(Identity(SCENARIO_AUTHOR, Role.TRAINER, store.identity.clinic))
    require_demo_database(store, what="kaptools demo --scenarios")
    protocol = protocol or default_protocol()
    have = {p.patient_id for p in store.list_patients()} & {s.patient_id for s in SCENARIOS}
    if have:
        raise InvalidInputError(
            f"database: it already holds the scenario patients {', '.join(sorted(have))}; "
            "name a new demo file. Nothing was written."
        )
    rng = random.Random(seed)
    for s in progress_bar(SCENARIOS, progress=progress, desc="scenarios", unit="patient"):
        s.build(store, s, protocol, rng)
    return SCENARIOS
