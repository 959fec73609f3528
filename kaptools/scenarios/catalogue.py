"""The trainers' scenarios, in the order a walk-through shows them: what each teaches,
the rule it triggers, the facts the engine must find and the dashboard that shows it.

A table of data (one entry per scenario), long because each entry spells out its
teaching text."""

from __future__ import annotations

from kaptools.errors import InvalidInputError
from kaptools.scenarios.builders import (
    acknowledged_alert,
    discharge_not_ready,
    failed,
    held_not_given,
    hold_override,
    plan_with_deviation,
    screened,
    urgent_post_dose,
)
from kaptools.scenarios.scenario import Scenario

__all__ = ["SCENARIOS", "scenario"]


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
        screened({}),
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
        screened({"age_years": 71}, age=71),
    ),
    Scenario(
        3,
        "caution-blood-pressure",
        "Caution: raised blood pressure (150/92)",
        "A screening blood pressure above the caution line but under the defer line.",
        "blood_pressure_raised",
        _s("status:eligible_with_cautions", "rule:blood_pressure_raised"),
        "eligibility",
        screened({"systolic_bp_mmhg": 150, "diastolic_bp_mmhg": 92}),
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
        screened({"history": {"bipolar_disorder": "yes"}}),
    ),
    Scenario(
        5,
        "caution-substance",
        "Caution: substance use disorder in remission",
        "A substance use disorder in remission is a caution (an active one excludes: see TRN-21).",
        "remitted_substance_use_disorder",
        _s("status:eligible_with_cautions", "rule:remitted_substance_use_disorder"),
        "eligibility",
        screened({"history": {"remitted_substance_use_disorder": "yes"}}),
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
        screened(
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
        screened({"history": {"sleep_apnoea_or_respiratory_insufficiency": "yes"}}),
    ),
    Scenario(
        8,
        "caution-heart-rate",
        "Caution: heart rate 112 at screening",
        "A screening heart rate outside the protocol's range is a caution.",
        "heart_rate_outside_range",
        _s("status:eligible_with_cautions", "rule:heart_rate_outside_range"),
        "eligibility",
        screened({"heart_rate_bpm": 112}),
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
        screened({"diagnoses": ["F41.1"]}),
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
        screened({"history": {"hyperthyroidism": "yes"}}),
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
        screened({"history": {"seizure_disorder": "unknown"}}),
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
        screened({"current_medications": [{"drug": "Zyntrafex", "daily_dose_mg": 10}]}),
    ),
    Scenario(
        13,
        "incomplete-trials-unknown",
        "Incomplete: antidepressant trials not recorded",
        "With no trial history the indication cannot be judged: incomplete, not 'not met'.",
        "indication_undetermined",
        _s("status:incomplete", "rule:indication_undetermined"),
        "eligibility",
        screened({"antidepressant_trials": None}),
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
        screened(
            {
                "antidepressant_trials": [
                    failed({"drug": "sertraline", "daily_dose_mg": 150, "weeks": 8})
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
        screened({"age_years": 16}, age=16),
    ),
    Scenario(
        16,
        "exclusion-pregnancy",
        "Excluded: pregnant",
        "Pregnancy (or breastfeeding) excludes every route.",
        "pregnancy_or_breastfeeding",
        _s("status:not_eligible", "rule:pregnancy_or_breastfeeding"),
        "eligibility",
        screened(
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
        screened({"systolic_bp_mmhg": 186, "diastolic_bp_mmhg": 112}),
    ),
    Scenario(
        18,
        "exclusion-vascular",
        "Excluded: aneurysm or arteriovenous malformation",
        "Aneurysmal vascular disease or AVM (the esketamine label's contraindication).",
        "aneurysm_or_avm",
        _s("status:not_eligible", "rule:aneurysm_or_avm"),
        "eligibility",
        screened({"history": {"aneurysm_or_avm": "yes"}}),
    ),
    Scenario(
        19,
        "exclusion-hypersensitivity",
        "Excluded: hypersensitivity to ketamine",
        "A known hypersensitivity to ketamine or esketamine.",
        "ketamine_hypersensitivity",
        _s("status:not_eligible", "rule:ketamine_hypersensitivity"),
        "eligibility",
        screened({"history": {"ketamine_hypersensitivity": "yes"}}),
    ),
    Scenario(
        20,
        "exclusion-psychosis",
        "Excluded: psychotic disorder",
        "A current or past psychotic disorder excludes.",
        "psychosis",
        _s("status:not_eligible", "rule:psychosis"),
        "eligibility",
        screened({"history": {"psychosis": "yes"}}),
    ),
    Scenario(
        21,
        "exclusion-substance",
        "Excluded: active substance use disorder",
        "An active substance use disorder excludes (in remission it is a caution: TRN-05).",
        "active_substance_use_disorder",
        _s("status:not_eligible", "rule:active_substance_use_disorder"),
        "eligibility",
        screened({"history": {"active_substance_use_disorder": "yes"}}),
    ),
    Scenario(
        22,
        "exclusion-hepatic",
        "Excluded: severe hepatic impairment",
        "Severe hepatic impairment excludes (moderate is a caution).",
        "severe_hepatic_impairment",
        _s("status:not_eligible", "rule:severe_hepatic_impairment"),
        "eligibility",
        screened({"history": {"severe_hepatic_impairment": "yes"}}),
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
        screened({"cssrs": {"wish_to_be_dead": "yes"}}),
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
        screened(
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
        screened(
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
        acknowledged_alert,
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
        plan_with_deviation,
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
        hold_override,
    ),
    Scenario(
        29,
        "dose-held",
        "Held dose, not given: pre-dose 186/112",
        "The same hold with no override: no dose can be recorded; the session stays open.",
        "pre_dose_systolic_hold",
        _s("status:eligible", "session:hold:pre_dose_systolic_hold", "session:no_dose"),
        "planner",
        held_not_given,
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
        urgent_post_dose,
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
        discharge_not_ready,
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
