"""Course plans in the store: saved, re-planned as new versions, loaded back."""

from __future__ import annotations

import datetime as dt

import pytest

from kaptools.errors import IncompleteInputError, InvalidInputError
from kaptools.identity import Identity, Role
from kaptools.scheduling import (
    COURSE_PLAN_KIND,
    ClinicCalendar,
    load_latest_plan,
    plan_course,
    plan_for_patient,
    plan_history,
    replan,
    save_plan,
)
from kaptools.screening import save_screening, screen
from kaptools.screening.synthetic import synthetic_screening_records
from kaptools.store import Store

CAL = ClinicCalendar(country="US", subdivision="CA")
START = dt.date(2026, 3, 2)


@pytest.fixture
def store():
    with Store.in_memory(identity=Identity("dr.synthetic", Role.CLINICIAN)) as s:
        s.add_patient(
            "SYN-0001",
            "Synthetic Patient",
            birth_date=dt.date(1958, 1, 15),
            sex="male",
            weight_kg=82.4,
        )
        _save_eligible_screening(s, "SYN-0001")
        yield s


def _save_eligible_screening(store, patient_id, age=None, **changes):
    """A synthetic record that screens eligible, saved for ``patient_id``."""
    for record in synthetic_screening_records(300, seed=3):
        if screen(record).status.value == "eligible":
            break
    data = record.model_dump(mode="json") if hasattr(record, "model_dump") else dict(record)
    data.update(patient_id=patient_id, **changes)
    if age is not None:
        data["age_years"] = age
    save_screening(store, patient_id, data, screen(data), "dr.synthetic")


def _plan(**kw):
    return plan_for_patient(
        kw.pop("store"),
        "SYN-0001",
        kw.pop("route", "iv_ketamine"),
        START,
        calendar=CAL,
        screening_status="eligible",
        **kw,
    )


def test_plan_for_patient_takes_weight_and_age_from_the_record(store):
    """Weight and age (on the start date) come from the patient record."""
    plan = _plan(store=store)
    assert (82.4, 68, "SYN-0001") == (plan.weight_kg, plan.age, plan.patient_id)
    assert (
        "82.4 kg × 0.5 mg/kg = 41.2 mg, rounded to the nearest 1 mg: 41 mg"
        == plan.doses[0].dose.arithmetic
    )
    eske = _plan(store=store, route="esketamine_nasal")
    assert 28 == eske.doses[0].dose.mg  # 68 years old: the 65+ day-1 dose


def test_plan_for_patient_refuses_overrides_of_record_facts(store):
    """Weight and age cannot be passed alongside the record."""
    with pytest.raises(InvalidInputError, match="patient record"):
        _plan(store=store, weight_kg=60)


def test_saved_plan_loads_back_equal(store):
    """A saved plan is the patient's latest course_plan and loads back equal."""
    plan = _plan(store=store)
    rec = save_plan(store, plan, "dr.synthetic")
    assert COURSE_PLAN_KIND == rec.kind
    loaded = load_latest_plan(store, "SYN-0001")
    assert plan == loaded.plan
    assert (rec.record_id, 1) == (loaded.record_id, loaded.version)
    assert "saved by dr.synthetic" in loaded.summary


def test_replan_is_saved_as_a_new_version_with_its_change_as_reason(store):
    """A re-planned course is version 2 of the same record; the reason is the re-plan line."""
    plan = _plan(store=store)
    rec = save_plan(store, plan, "dr.synthetic")
    new = replan(
        plan, as_of=plan.doses[1].date + dt.timedelta(days=1), missed=[plan.doses[1].index]
    )
    save_plan(store, new, "dr.synthetic", record_id=rec.record_id, based_on_version=1)
    history = plan_history(store, rec.record_id)
    assert [1, 2] == [h.version for h in history]
    assert new.changes[-1] == history[-1].reason
    assert new == load_latest_plan(store, "SYN-0001").plan


def test_plan_without_patient_cannot_be_saved(store):
    """A plan made without patient_id asks for it before saving."""
    plan = plan_course(
        "iv_ketamine", START, calendar=CAL, screening_status="eligible", weight_kg=70, age=40
    )
    with pytest.raises(IncompleteInputError) as err:
        save_plan(store, plan, "dr.synthetic")
    assert ("patient_id",) == err.value.missing


def test_no_plan_yet_is_none(store):
    """A patient without a plan has no latest plan."""
    assert load_latest_plan(store, "SYN-0001") is None


TUE_THU = ClinicCalendar(open_weekdays=["tue", "thu"])


def _deviating_plan():
    return plan_course(
        "esketamine_nasal",
        START,
        calendar=TUE_THU,
        screening_status="eligible",
        age=40,
        patient_id="SYN-0001",
    )


def test_a_plan_with_a_deviation_is_saved_only_with_an_acknowledgement(store):
    """No reason: refused, nothing written; a short reason: refused; a reason: saved and logged."""
    plan = _deviating_plan()
    assert plan.deviations
    with pytest.raises(IncompleteInputError) as err:
        save_plan(store, plan, "dr.synthetic")
    assert "acknowledge_deviations" in str(err.value)
    with pytest.raises(InvalidInputError):
        save_plan(store, plan, "dr.synthetic", acknowledge_deviations="ok")
    assert load_latest_plan(store, "SYN-0001") is None
    reason = "Patient can only attend Tuesdays and Thursdays; slower induction agreed"
    record = save_plan(store, plan, "dr.synthetic", acknowledge_deviations=reason)
    assert reason in (record.reason or "")
    saved = load_latest_plan(store, "SYN-0001")
    assert saved is not None
    ack = saved.plan.acknowledgement
    assert ack is not None and ack.reason == reason and ack.by == "dr.synthetic"
    assert "Acknowledged by dr.synthetic" in saved.plan.summary
    assert "Meets the protocol's scheduling rules" not in saved.plan.summary
