"""The demo database: screenings, course plans and dosing sessions consistent with each patient."""

from __future__ import annotations

import pytest

from kaptools.demo import (
    DEMO_AUTHOR,
    SESSION_SHOWCASE_PATIENT,
    build_demo_database,
    main,
    not_eligible_patient_id,
)
from kaptools.errors import InvalidInputError
from kaptools.protocol import default_protocol
from kaptools.scheduling import load_latest_plan, plan_history, plan_violations
from kaptools.screening import load_screening
from kaptools.screening.persistence import SCREENING_KIND
from kaptools.sessions import (
    GoStatus,
    SessionRecordStatus,
    SideEffect,
    dosing_sessions,
    hold_overrides,
)
from kaptools.store import Store
from kaptools.synthetic import SIDE_EFFECT_SESSION_RATES

PLANNABLE = {"eligible", "eligible_with_cautions"}


@pytest.fixture(scope="module")
def demo():
    store = Store.in_memory()
    patients = build_demo_database(store)
    return store, patients


def _screenings(store: Store, patient_id: str):
    return [
        load_screening(store, r.record_id) for r in store.latest_records(SCREENING_KIND, patient_id)
    ]


def test_every_patient_is_screened_consistently_with_their_record(demo) -> None:
    """Each screening has the patient's age that day, sex, weight and 2+ failed adequate trials."""
    store, patients = demo
    for p in patients:
        patient = store.get_patient(p.patient_id)
        first = store.latest_records(SCREENING_KIND, p.patient_id)[0]
        result = _screenings(store, p.patient_id)[0]
        record = result.record
        assert record.age_years == patient.age_on(first.effective_at.date())
        assert (record.sex.value, record.weight_kg) == (p.sex, p.weight_kg)
        assert result.failed_adequate_trials >= 2
        assert result.status.value in PLANNABLE
        assert first.author == DEMO_AUTHOR


def test_most_patients_meet_the_criteria_and_the_last_is_not_eligible(demo) -> None:
    """Eligible and with-cautions both occur; the last patient's latest screening excludes."""
    store, patients = demo
    latest = {p.patient_id: _screenings(store, p.patient_id)[-1] for p in patients}
    statuses = [r.status.value for r in latest.values()]
    assert {"eligible", "eligible_with_cautions"} <= set(statuses)
    excluded = not_eligible_patient_id(patients)
    assert excluded == "SYN-0012"
    assert [pid for pid, r in latest.items() if r.status.value not in PLANNABLE] == [excluded]
    assert latest[excluded].finding("blood_pressure_defer") is not None


def test_item9_positive_patients_have_a_cssrs_warning_at_screening(demo) -> None:
    """The C-SSRS 'wish to be dead' answer gives a screening alert exactly for item-9 patients."""
    store, patients = demo
    for p in patients:
        alerts = _screenings(store, p.patient_id)[0].alerts
        assert bool(alerts) == p.item9_positive


def test_course_plans_follow_the_synthetic_course(demo) -> None:
    """Route and first day match; v2 holds the dates the doses were given, v3 marks them held."""
    store, patients = demo
    protocol = default_protocol()
    for p in patients:
        saved = load_latest_plan(store, p.patient_id)
        plan = saved.plan
        assert plan.route.value == p.route and plan.start == p.preparation_dates[0]
        assert [s.date for s in plan.doses] == [s.session_date for s in p.sessions]
        assert [h.version for h in plan_history(store, saved.record_id)] == [1, 2, 3]
        assert all(s.status.value == "done" for s in plan.sessions if s.date <= plan.doses[-1].date)
        assert plan_violations(plan, protocol) == []


def test_dosing_sessions_are_complete_records_linked_to_the_plan(demo) -> None:
    """Each synthetic session is a complete record, on its plan dose, with its side effects."""
    store, patients = demo
    for p in patients:
        plan = load_latest_plan(store, p.patient_id).plan
        saved = dosing_sessions(store, p.patient_id)
        if p.patient_id == SESSION_SHOWCASE_PATIENT:
            *saved, held = saved  # the held booster (see the showcase test)
            assert held.session.dose_mg is None
        assert len(saved) == len(p.sessions)
        for rec, syn in zip(saved, p.sessions, strict=True):
            s = rec.session
            assert s.status is SessionRecordStatus.COMPLETE
            assert s.session_date == syn.session_date and s.dose_mg == syn.dose_mg
            assert plan.session(s.plan_session_index).date == s.session_date
            assert [(e.effect.value, e.severity.value) for e in s.side_effects] == list(
                syn.side_effects
            )
            assert s.sedation[0].moaa_s == syn.sedation_moaas


def test_big_blood_pressure_rises_are_flagged_by_the_sessions_module(demo) -> None:
    """Sessions generated with a large rise carry the protocol's systolic-rise flag."""
    store, patients = demo
    flagged = [
        f.rule_id
        for p in patients
        for rec in dosing_sessions(store, p.patient_id)
        for f in rec.session.flags()
    ]
    assert "systolic_rise" in flagged


def test_synthetic_side_effect_names_are_side_effects() -> None:
    """Every side effect the generator draws is a member of the sessions SideEffect enum."""
    assert set(SIDE_EFFECT_SESSION_RATES) <= {e.value for e in SideEffect}


def test_demo_command_fills_an_empty_database_only(tmp_path, capsys) -> None:
    """`python -m kaptools.demo` refuses a database with patients unless told --if-empty."""
    url = f"sqlite:///{tmp_path / 'demo.sqlite'}"
    assert main(["--database", url]) == 0
    assert main(["--database", url]) == 2
    assert main(["--database", url, "--if-empty"]) == 0
    assert "already has patients" in capsys.readouterr().out


def test_demo_command_without_a_database_uses_the_demo_file_never_the_clinic_store(
    tmp_path, monkeypatch, capsys
) -> None:
    """No --database and no KAPTOOLS_DATABASE_URL: the demo file in KAPTOOLS_HOME, named."""
    monkeypatch.setenv("KAPTOOLS_HOME", str(tmp_path))
    monkeypatch.delenv("KAPTOOLS_DATABASE_URL", raising=False)
    assert main(["--patients", "2"]) == 0
    out = capsys.readouterr().out
    assert str(tmp_path / "demo.sqlite") in out
    assert (tmp_path / "demo.sqlite").is_file()
    assert not (tmp_path / "kaptools.sqlite").exists()


def test_demo_refuses_the_clinic_default_store_even_when_named(tmp_path, monkeypatch) -> None:
    """--database naming the clinic's default file is refused, and nothing is written."""
    monkeypatch.setenv("KAPTOOLS_HOME", str(tmp_path))
    clinic = tmp_path / "kaptools.sqlite"
    assert main(["--database", f"sqlite:///{clinic}"]) == 2
    assert not clinic.exists() or not Store(f"sqlite:///{clinic}").has_patients()
    with pytest.raises(InvalidInputError, match="clinic's default store"):
        build_demo_database(Store(f"sqlite:///{clinic}"))


@pytest.mark.parametrize("if_empty", [False, True])
def test_demo_refuses_a_database_holding_real_patients(tmp_path, capsys, if_empty) -> None:
    """A database with one non-synthetic patient is refused (exit 2), even with --if-empty."""
    url = f"sqlite:///{tmp_path / 'clinic.sqlite'}"
    store = Store(url)
    store.add_patient(
        "REAL-1",
        "A Patient",
        birth_date=None,
        sex="female",
        weight_kg=None,
        synthetic=False,
    )
    args = ["--database", url, *(["--if-empty"] if if_empty else [])]
    assert main(args) == 2
    assert "not marked synthetic" in capsys.readouterr().err
    assert [p.patient_id for p in store.list_patients()] == ["REAL-1"]
    with pytest.raises(InvalidInputError, match="not marked synthetic"):
        build_demo_database(store)
    assert [p.patient_id for p in store.list_patients()] == ["REAL-1"]


def test_demo_has_acknowledged_and_open_safety_alerts(demo) -> None:
    """Trainers can show both: past alerts acknowledged with a note (kept in the history),
    the item-9-positive patients' latest alerts open, one from an incomplete PHQ-9."""
    from kaptools.assessments import INCOMPLETE_ASSESSMENT_ALERT_KIND
    from kaptools.demo import DEMO_CLINICIAN

    store, patients = demo
    acknowledged, still_open = [], []
    for p in patients:
        latest = max(a.administered_on for a in p.assessments)
        for a in store.patient_alerts(p.patient_id):
            (still_open if a.is_open else acknowledged).append(a)
            assert a.is_open == (a.effective_at.date() >= latest)
    assert acknowledged and all(a.acknowledgement.who == DEMO_CLINICIAN for a in acknowledged)
    assert all(a.acknowledgement.note for a in acknowledged)
    assert {a.patient_id for a in still_open} == {
        p.patient_id for p in patients if p.item9_positive
    }
    assert any(a.source_kind == INCOMPLETE_ASSESSMENT_ALERT_KIND for a in still_open)
    assert "acknowledge_alert" in {e.action for e in store.audit_entries()}


def test_demo_shows_a_held_dose_an_override_and_an_urgent_post_dose_flag(demo) -> None:
    """Trainers can show: a dose held and not given, a hold given after a clinician's
    written override (its own audit-logged record), and an urgent post-dose flag that is a
    stored, open alert."""
    store, patients = demo
    if SESSION_SHOWCASE_PATIENT not in {p.patient_id for p in patients}:
        pytest.skip("the demo is smaller than the showcase patient's number")
    saved = [s.session for s in dosing_sessions(store, SESSION_SHOWCASE_PATIENT)]
    held = [s for s in saved if s.go_no_go().status is GoStatus.HOLD and s.dose_mg is None]
    overridden = [s for s in saved if s.go_no_go().overridden and s.dose_mg is not None]
    urgent = [s for s in saved if s.urgent_flags()]
    assert held and overridden and urgent
    assert all(s.status is SessionRecordStatus.COMPLETE for s in overridden + urgent)
    (override,) = hold_overrides(store, SESSION_SHOWCASE_PATIENT)
    assert override.payload["reason"] == overridden[0].hold_override.reason
    rules = {a.alert.rule_id for a in store.patient_alerts(SESSION_SHOWCASE_PATIENT)}
    assert "session_urgent_systolic" in rules
