"""Go / no-go before each dose, urgent flags after it, escalations and safety alerts.

Every number is read from the loaded protocol; edges are tested exactly at each line.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import replace

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kaptools.alerts import CRISIS_LINE_TEXT, Alert, AlertLevel
from kaptools.errors import IncompleteInputError, InvalidInputError, RecordError
from kaptools.identity import Identity, Role
from kaptools.protocol import DEFAULT_PROTOCOL_PATH, default_protocol, parse_protocol
from kaptools.protocol._screening import CssrsQuestion
from kaptools.sessions import (
    DOSE_HOLD_OVERRIDE_KIND,
    DosingSession,
    FlagLevel,
    GoStatus,
    HoldOverride,
    PreDoseChecks,
    RemsFields,
    SideEffectReport,
    VitalSigns,
    after_dose_hold_line_flags,
    dosing_sessions,
    go_no_go,
    hold_overrides,
    parse_dosing_session,
    save_dosing_session,
    vitals_flags,
)
from kaptools.store import Store

P = default_protocol()
M = P.monitoring
S_HOLD, D_HOLD = int(M.systolic_hold_at_or_above.value), int(M.diastolic_hold_at_or_above.value)
S_REVIEW, D_REVIEW = (
    int(M.pre_dose_systolic_review_above.value),
    int(M.pre_dose_diastolic_review_above.value),
)
HR_HOLD_LO, HR_HOLD_HI = int(M.heart_rate_hold_below.value), int(M.heart_rate_hold_above.value)
HR_REV_LO, HR_REV_HI = int(M.heart_rate_review_below.value), int(M.heart_rate_review_above.value)
SPO2_HOLD, SPO2_REVIEW = int(M.spo2_hold_below.value), int(M.spo2_review_below.value)
RR_HOLD = int(M.respiratory_rate_hold_below.value)
NO = PreDoseChecks((), False, False)
DAY = dt.date(2026, 3, 9)
T0 = dt.datetime(2026, 3, 9, 10, 0)


def _decide(sys=120, dia=80, hr=72, spo2=98, checks=NO, rems=None, needs_rems=False, **kw):
    return go_no_go(
        [VitalSigns("pre_dose", 0, sys, dia, hr, spo2)],
        checks,
        needs_rems_enrolment=needs_rems,
        rems_enrolled=rems,
        **kw,
    )


def _session(**kw) -> DosingSession:
    base = DosingSession(
        "SYN-0001",
        "iv_ketamine",
        DAY,
        started_at=T0,
        vitals=(VitalSigns("pre_dose", 0, 128, 82, 72, 98),),
        pre_dose=NO,
        weight_kg=70,
    )
    return replace(base, **kw)


# -- go / no-go -------------------------------------------------------------------------


def test_all_clear_is_go():
    """Every check recorded and inside the lines: go."""
    d = _decide()
    assert (GoStatus.GO, (), ()) == (d.status, d.findings, d.missing)
    assert d.dose_may_be_recorded


def test_pre_dose_185_115_is_hold_though_screening_would_defer_it():
    """The issue's case: 185/115 before the dose is a hold (not only a review flag)."""
    d = _decide(185, 115)
    assert GoStatus.HOLD == d.status
    assert {"pre_dose_systolic_hold", "pre_dose_diastolic_hold"} == {f.rule_id for f in d.holds}
    assert not d.dose_may_be_recorded


@pytest.mark.parametrize(
    ("sys", "dia", "status"),
    [
        (S_HOLD, 80, GoStatus.HOLD),
        (S_HOLD - 1, 80, GoStatus.REVIEW),
        (120, D_HOLD, GoStatus.HOLD),
        (150, D_HOLD - 1, GoStatus.REVIEW),
        (S_REVIEW, D_REVIEW, GoStatus.GO),
        (S_REVIEW + 1, 80, GoStatus.REVIEW),
        (120, D_REVIEW + 1, GoStatus.REVIEW),
    ],
)
def test_blood_pressure_lines_exactly(sys, dia, status):
    """Hold at or above the hold line; review above the review line; go at the review line."""
    assert status == _decide(sys, dia).status


@pytest.mark.parametrize(
    ("hr", "status"),
    [
        (HR_HOLD_LO - 1, GoStatus.HOLD),
        (HR_HOLD_LO, GoStatus.REVIEW),
        (HR_REV_LO - 1, GoStatus.REVIEW),
        (HR_REV_LO, GoStatus.GO),
        (HR_REV_HI, GoStatus.GO),
        (HR_REV_HI + 1, GoStatus.REVIEW),
        (HR_HOLD_HI, GoStatus.REVIEW),
        (HR_HOLD_HI + 1, GoStatus.HOLD),
    ],
)
def test_heart_rate_lines_exactly(hr, status):
    """Heart rate: hold below/above the hold lines, review outside the review band."""
    assert status == _decide(hr=hr).status


@pytest.mark.parametrize(
    ("spo2", "status"),
    [
        (SPO2_HOLD - 1, GoStatus.HOLD),
        (SPO2_HOLD, GoStatus.REVIEW),
        (SPO2_REVIEW - 1, GoStatus.REVIEW),
        (SPO2_REVIEW, GoStatus.GO),
    ],
)
def test_spo2_lines_exactly(spo2, status):
    """SpO2: hold below the hold line, review below the review line."""
    assert status == _decide(spo2=spo2).status


@pytest.mark.parametrize("question", list(CssrsQuestion))
def test_cssrs_since_last_visit_follows_the_protocol_lists(question):
    """A yes to a hold question holds; a yes to a review question asks for review (988 shown)."""
    d = _decide(checks=PreDoseChecks((question,), False, False))
    expected = GoStatus.HOLD if question.value in M.cssrs_hold_questions.values else GoStatus.REVIEW
    assert expected == d.status
    assert CRISIS_LINE_TEXT in d.findings[0].message


@pytest.mark.parametrize("field", ["pregnant_since_screening", "acutely_intoxicated"])
def test_pregnancy_or_intoxication_holds(field):
    """Pregnancy since screening or acute intoxication: hold."""
    checks = replace(NO, **{field: True})
    assert GoStatus.HOLD == _decide(checks=checks).status


def test_esketamine_not_enrolled_in_rems_holds_and_unknown_is_missing():
    """REMS enrolment: not enrolled holds; not answered is missing (no go)."""
    assert GoStatus.HOLD == _decide(needs_rems=True, rems=False).status
    d = _decide(needs_rems=True, rems=None)
    assert GoStatus.HOLD == d.status and "rems.patient_enrolled" in d.missing
    assert GoStatus.GO == _decide(needs_rems=True, rems=True).status


def test_missing_pre_dose_vitals_are_no_go_naming_each():
    """No SpO2 or heart rate (pulse oximetry is required every session): no go, named."""
    d = go_no_go(
        [VitalSigns("pre_dose", 0, 120, 80)], NO, needs_rems_enrolment=False, rems_enrolled=None
    )
    assert GoStatus.HOLD == d.status
    assert ("vitals.pre_dose.heart_rate", "vitals.pre_dose.spo2") == d.missing
    assert "vitals.pre_dose.spo2" in d.headline
    empty = go_no_go([], PreDoseChecks(), needs_rems_enrolment=False, rems_enrolled=None)
    assert {
        "vitals.pre_dose.blood_pressure",
        "pre_dose.cssrs_since_last_visit",
        "pre_dose.pregnant_since_screening",
        "pre_dose.acutely_intoxicated",
    } <= set(empty.missing)


def test_a_later_pre_dose_recheck_replaces_the_first():
    """The last pre-dose reading decides (a recheck after rest)."""
    d = go_no_go(
        [VitalSigns("pre_dose", -20, 185, 100, 70, 98), VitalSigns("pre_dose", 0, 150, 92, 70, 98)],
        NO,
        needs_rems_enrolment=False,
        rems_enrolled=None,
    )
    assert GoStatus.REVIEW == d.status


@settings(max_examples=200, deadline=None)
@given(
    sys=st.integers(70, 260),
    dia=st.integers(40, 69),
    hr=st.integers(25, 200),
    spo2=st.integers(70, 100),
)
def test_go_status_is_the_worst_of_the_lines(sys, dia, hr, spo2):
    """Hold exactly when a value is past a hold line; review exactly when past a review line."""
    d = _decide(sys, dia, hr, spo2)
    hold = sys >= S_HOLD or hr < HR_HOLD_LO or hr > HR_HOLD_HI or spo2 < SPO2_HOLD
    review = sys > S_REVIEW or not HR_REV_LO <= hr <= HR_REV_HI or spo2 < SPO2_REVIEW
    expected = GoStatus.HOLD if hold else GoStatus.REVIEW if review else GoStatus.GO
    assert expected == d.status


def test_go_lines_come_from_the_protocol_file():
    """A clinic protocol with a 170 mmHg hold line holds at 170."""
    text = DEFAULT_PROTOCOL_PATH.read_text(encoding="utf-8")
    old = "systolic_hold_at_or_above = { value = 180,"
    assert old in text
    p = parse_protocol(text.replace(old, "systolic_hold_at_or_above = { value = 170,"), origin="x")
    assert GoStatus.REVIEW == _decide(170, 80).status
    assert GoStatus.HOLD == _decide(170, 80, protocol=p).status


# -- overrides --------------------------------------------------------------------------


def test_override_needs_a_clinician_and_a_written_reason():
    """No clinician, or a reason shorter than a sentence, is refused naming the field."""
    with pytest.raises(InvalidInputError, match=r"hold_override\.reason"):
        HoldOverride("Dr A", "ok", ("pre_dose_systolic_hold",))
    with pytest.raises(InvalidInputError, match=r"hold_override\.clinician"):
        HoldOverride(" ", "Benefit outweighs risk after review", ("pre_dose_systolic_hold",))
    with pytest.raises(InvalidInputError, match=r"hold_override\.rules"):
        HoldOverride("Dr A", "Benefit outweighs risk after review", ())


def test_override_covers_only_the_holds_it_names_and_keeps_the_hold():
    """An override of the BP hold lets the dose be recorded; the decision still says hold."""
    ov = HoldOverride(
        "Dr A",
        "Repeat 178/104 after rest; cardiology agrees",
        (
            "pre_dose_systolic_hold",
            "pre_dose_diastolic_hold",
        ),
    )
    d = _decide(185, 115, override=ov)
    assert GoStatus.HOLD == d.status and d.overridden and d.dose_may_be_recorded
    assert "overridden by Dr A" in d.headline
    d2 = _decide(185, 115, spo2=SPO2_HOLD - 1, override=ov)
    assert not d2.dose_may_be_recorded  # the SpO2 hold is not covered


def test_missing_items_cannot_be_overridden():
    """A missing pre-dose item is filled in, never overridden."""
    ov = HoldOverride("Dr A", "Benefit outweighs risk after review", ("pre_dose_spo2_hold",))
    d = go_no_go(
        [VitalSigns("pre_dose", 0, 120, 80, 70)],
        NO,
        needs_rems_enrolment=False,
        rems_enrolled=None,
        override=ov,
    )
    assert not d.dose_may_be_recorded


@pytest.fixture
def store():
    with Store.in_memory(identity=Identity("Dr A", Role.CLINICIAN)) as s:
        s.add_patient(
            "SYN-0001",
            "Synthetic",
            birth_date=dt.date(1980, 1, 1),
            sex="female",
            weight_kg=70,
        )
        yield s


def test_dose_under_hold_cannot_be_saved_and_nothing_is_written(store):
    """185/115 and a dose: refused naming the hold and the fix; no record, no audit row."""
    held = _session(vitals=(VitalSigns("pre_dose", 0, 185, 115, 72, 98),), dose_mg=35)
    before = len(store.audit_entries())
    with pytest.raises(RecordError, match="hold") as err:
        save_dosing_session(store, held, "Dr A")
    assert "185" in str(err.value) and "hold_override" in str(err.value)
    assert before == len(store.audit_entries()) and [] == dosing_sessions(store, "SYN-0001")
    # The hold itself can be saved (no dose recorded): the record keeps it.
    save_dosing_session(store, replace(held, dose_mg=None), "Dr A")


def test_missing_pre_dose_items_block_recording_a_dose(store):
    """A dose with no SpO2 before it: IncompleteInputError naming the missing reading."""
    s = _session(vitals=(VitalSigns("pre_dose", 0, 128, 82, 72),), dose_mg=35)
    with pytest.raises(IncompleteInputError) as err:
        save_dosing_session(store, s, "Dr A")
    assert ("vitals.pre_dose.spo2",) == err.value.missing


def test_override_is_its_own_audit_logged_record_and_the_hold_is_kept(store):
    """Saving an overridden hold writes the session and a separate override record."""
    ov = HoldOverride(
        "Dr A",
        "Repeat 178/104 after rest; benefit outweighs risk",
        ("pre_dose_systolic_hold", "pre_dose_diastolic_hold"),
        T0,
    )
    s = _session(
        vitals=(VitalSigns("pre_dose", 0, 185, 115, 72, 98),), dose_mg=35, hold_override=ov
    )
    rec = save_dosing_session(store, s, "Dr A")
    (override,) = hold_overrides(store, "SYN-0001")
    assert DOSE_HOLD_OVERRIDE_KIND == override.kind
    assert override.payload["session_record_id"] == rec.record_id
    assert override.payload["reason"] == ov.reason and override.payload["clinician"] == "Dr A"
    assert {h["rule_id"] for h in override.payload["holds"]} == set(ov.rules)
    audit = store.audit_entries("SYN-0001")
    assert any(e.kind == DOSE_HOLD_OVERRIDE_KIND and "Dr A" in e.detail for e in audit)
    (saved,) = dosing_sessions(store, "SYN-0001")
    assert GoStatus.HOLD == saved.session.go_no_go().status  # the hold is kept
    assert saved.session.hold_override == ov
    # Saving a correction with the same override does not log it again.
    save_dosing_session(
        store, replace(s, lot_number="L1"), "Dr A", rec.record_id, "lot", based_on_version=1
    )
    assert 1 == len(hold_overrides(store, "SYN-0001"))


def test_session_and_its_override_are_saved_together_or_not_at_all(store, monkeypatch):
    """A failure while writing the override record leaves neither the session nor any
    audit row behind (one transaction)."""
    from kaptools.errors import StoreError
    from kaptools.store import Store

    ov = HoldOverride(
        "Dr A",
        "Repeat 178/104 after rest; benefit outweighs risk",
        ("pre_dose_systolic_hold", "pre_dose_diastolic_hold"),
        T0,
    )
    s = _session(
        vitals=(VitalSigns("pre_dose", 0, 185, 115, 72, 98),), dose_mg=35, hold_override=ov
    )
    audit_before = len(store.audit_entries("SYN-0001"))

    def broken(*args, **kwargs):
        raise StoreError("simulated failure while writing the override")

    monkeypatch.setattr(Store, "_add_companion", staticmethod(broken))
    with pytest.raises(StoreError):
        save_dosing_session(store, s, "Dr A")
    assert [] == dosing_sessions(store, "SYN-0001")
    assert [] == hold_overrides(store, "SYN-0001")
    assert audit_before == len(store.audit_entries("SYN-0001"))


def test_pre_dose_answers_round_trip_and_bad_ones_name_the_field():
    """Pre-dose answers and overrides survive to_dict; a bad C-SSRS name is a RecordError."""
    ov = HoldOverride("Dr A", "Benefit outweighs risk after review", ("pre_dose_spo2_hold",), T0)
    s = _session(pre_dose=PreDoseChecks(("method",), False, None), hold_override=ov)
    assert s == parse_dosing_session(s.to_dict())
    data = s.to_dict()
    data["pre_dose"]["cssrs_since_last_visit"] = ["sad"]
    with pytest.raises(RecordError, match=r"pre_dose\.cssrs_since_last_visit"):
        parse_dosing_session(data)


# -- after the dose -----------------------------------------------------------------------


def test_issue_cases_after_the_dose_are_urgent_whatever_the_rise():
    """182/118 after 145/95 (rise 37/23), SpO2 84 %, respiratory rate 6: all urgent."""
    flags = vitals_flags(
        [
            VitalSigns("pre_dose", 0, 145, 95, 70, 98),
            VitalSigns("post_dose", 40, 182, 118, 76, 84, 6),
        ]
    )
    urgent = {f.rule_id for f in flags if f.level is FlagLevel.URGENT}
    assert {"urgent_systolic", "urgent_diastolic", "urgent_spo2", "urgent_respiratory_rate"} == (
        urgent
    )
    assert all(f.escalation for f in flags if f.level is FlagLevel.URGENT)
    steps = next(f for f in flags if f.rule_id == "urgent_systolic").escalation
    assert str(M.urgent_recheck_minutes) in steps and "emergency" in steps.lower()


def test_heart_rate_40_after_the_dose_is_flagged_for_review():
    """HR 40 is not past the '< 40' hold line, but it is outside the review band: review."""
    flags = vitals_flags(
        [VitalSigns("pre_dose", 0, 120, 80, 70, 98), VitalSigns("post_dose", 40, 120, 80, 40, 97)]
    )
    assert [("heart_rate_review", FlagLevel.REVIEW)] == [(f.rule_id, f.level) for f in flags]


@settings(max_examples=200, deadline=None)
@given(
    sys=st.integers(100, 260),
    dia=st.integers(50, 99),
    hr=st.integers(25, 200),
    spo2=st.integers(70, 100),
    rr=st.integers(4, 30),
)
def test_urgent_after_dose_exactly_at_the_hold_lines(sys, dia, hr, spo2, rr):
    """Each after-dose value past its hold line gives its urgent flag, and only then."""
    ids = {
        f.rule_id
        for f in after_dose_hold_line_flags([VitalSigns("post_dose", 40, sys, dia, hr, spo2, rr)])
    }
    assert ("urgent_systolic" in ids) == (sys >= S_HOLD)
    assert ("urgent_spo2" in ids) == (spo2 < SPO2_HOLD)
    assert ("urgent_respiratory_rate" in ids) == (rr < RR_HOLD)
    assert ("urgent_heart_rate_low" in ids) == (hr < HR_HOLD_LO)
    assert ("urgent_heart_rate_high" in ids) == (hr > HR_HOLD_HI)


def test_pre_dose_reading_is_judged_by_go_no_go_not_as_urgent():
    """A pre-dose reading at the hold line is a hold, not an after-dose urgent flag."""
    assert () == after_dose_hold_line_flags([VitalSigns("pre_dose", 0, 190, 115)])


def test_rise_flags_stay_beside_urgent_flags():
    """A rise of 40 to 185 is both a rise flag and urgent."""
    ids = {
        f.rule_id
        for f in vitals_flags(
            [VitalSigns("pre_dose", 0, 145, 80), VitalSigns("post_dose", 40, 185, 90)]
        )
    }
    assert {"systolic_rise", "urgent_systolic"} <= ids


@pytest.mark.parametrize(
    ("effect", "which"),
    [
        ("suicidal_thoughts", "suicidal_thoughts"),
        ("chest_pain", "hypertensive_crisis"),
        ("shortness_of_breath", "hypertensive_crisis"),
        ("sudden_severe_headache", "hypertensive_crisis"),
        ("visual_disturbance", "hypertensive_crisis"),
        ("seizure", "hypertensive_crisis"),
        ("reduced_consciousness", "hypertensive_crisis"),
        ("focal_neurological_deficit", "hypertensive_crisis"),
    ],
)
def test_escalating_side_effects_are_urgent_with_the_protocols_steps(effect, which):
    """Suicidal thoughts and crisis symptoms are recordable and carry their escalation."""
    s = _session(side_effects=(SideEffectReport(effect, "severe"),))
    (flag,) = [f for f in s.flags() if f.rule_id.startswith("side_effect_")]
    esc = getattr(M, f"{which}_escalation")
    assert FlagLevel.URGENT == flag.level and esc.action == flag.escalation
    assert esc.source == flag.source


def test_safety_alerts_expose_urgent_flags_and_cssrs_findings():
    """safety_alerts: Alert objects; suicide-risk alerts carry 988, medical ones 911."""
    s = _session(
        pre_dose=PreDoseChecks(("intent",), False, False),
        vitals=(
            VitalSigns("pre_dose", 0, 128, 82, 72, 98),
            VitalSigns("post_dose", 40, 150, 90, 76, 88),
        ),
        side_effects=(SideEffectReport("suicidal_thoughts", "moderate"),),
    )
    alerts = s.safety_alerts
    assert all(isinstance(a, Alert) and a.level is AlertLevel.CRITICAL for a in alerts)
    by_rule = {a.rule_id: a for a in alerts}
    assert {
        "session_urgent_spo2",
        "session_side_effect_suicidal_thoughts",
        "session_pre_dose_cssrs_high_risk",
    } == set(by_rule)
    assert CRISIS_LINE_TEXT == by_rule["session_side_effect_suicidal_thoughts"].crisis_line
    assert "911" in by_rule["session_urgent_spo2"].crisis_line
    review = _session(pre_dose=PreDoseChecks(("wish_to_be_dead",), False, False))
    (warning,) = review.safety_alerts
    assert AlertLevel.WARNING == warning.level and CRISIS_LINE_TEXT == warning.crisis_line


def test_sedation_in_the_session_uses_only_ratings_after_the_dose():
    """A pre-dose MOAA/S is not a sedation flag; MOAA/S 1 after the dose is urgent."""
    from kaptools.sessions import SedationRating

    s = _session(sedation=(SedationRating(0, 3), SedationRating(40, 1)))
    assert ["sedation_urgent"] == [f.rule_id for f in s.flags() if f.rule_id.startswith("sed")]


def test_esketamine_session_needs_enrolment_before_a_dose(store):
    """Outpatient esketamine with the REMS enrolment unanswered: no dose can be recorded."""
    s = DosingSession(
        "SYN-0001",
        "esketamine_nasal",
        DAY,
        started_at=T0,
        vitals=(VitalSigns("pre_dose", 0, 128, 82, 72, 98),),
        pre_dose=NO,
        dose_mg=56,
        patient_age_years=40,
        first_dose=True,
    )
    with pytest.raises(IncompleteInputError) as err:
        save_dosing_session(store, s, "Dr A")
    assert "rems.patient_enrolled" in err.value.missing
    save_dosing_session(store, replace(s, rems=RemsFields(patient_enrolled=True)), "Dr A")


def test_saving_a_session_stores_its_alerts_for_the_patient(store):
    """An urgent after-dose reading becomes an open stored alert when the session is saved."""
    s = _session(
        dose_mg=35,
        vitals=(
            VitalSigns("pre_dose", 0, 128, 82, 72, 98),
            VitalSigns("post_dose", 40, 184, 100, 80, 97),
        ),
    )
    save_dosing_session(store, s, "Dr A")
    stored = store.patient_alerts("SYN-0001", open_only=True)
    assert {"session_urgent_systolic"} == {a.alert.rule_id for a in stored}
