"""What-if comparisons: transition tables, changed patients with the rules that started or
stopped firing, outcome transitions and plans that move, all naming both protocols."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest

from kaptools.errors import InvalidInputError
from kaptools.protocol import default_protocol
from kaptools.scheduling import ClinicCalendar
from kaptools.screening import screen_cohort, synthetic_screening_frame
from kaptools.synthetic import assessment_frame, generate_patients
from kaptools.whatif import (
    NOT_DEFINED,
    PlanRequest,
    compare_outcomes,
    compare_plans,
    compare_screening,
)

BP = "screening.thresholds.bp_caution_systolic_above"


@pytest.fixture(scope="module")
def cohort() -> pd.DataFrame:
    return synthetic_screening_frame(400, seed=8)


def test_transition_table_counts_every_screened_patient(cohort) -> None:
    """Rows = status under the current protocol, columns = under the changed one."""
    after = default_protocol().with_changes({BP: 130})
    c = compare_screening(cohort, after)
    before_counts = screen_cohort(cohort).table["status"].value_counts()
    after_counts = screen_cohort(cohort, protocol=after).table["status"].value_counts()
    for status, n in before_counts.items():
        if status != "malformed":
            assert c.transitions.loc[status].sum() == n
    for status, n in after_counts.items():
        if status != "malformed":
            assert c.transitions[status].sum() == n
    assert c.transitions.to_numpy().dtype == np.int64
    assert c.before == default_protocol().info and c.after == after.info


def test_changed_patients_name_the_rules_that_started_firing(cohort) -> None:
    """Lowering the caution line starts blood_pressure_raised and never stops a rule."""
    c = compare_screening(cohort, default_protocol().with_changes({BP: 130}))
    assert len(c.changed) > 0
    assert (c.changed.status_before != c.changed.status_after).all()
    assert c.rules_changed.rules_started.str.contains("blood_pressure_raised").all()
    assert (c.rules_changed.rules_stopped == "").all()
    # only patients with a systolic in (130, 140] can start the rule
    sbp = cohort.set_index("patient_id").loc[c.rules_changed.patient_id, "systolic_bp_mmhg"]
    assert ((sbp > 130) & (sbp <= 140)).all()
    assert "change status" in c.summary and "<table" in c._repr_html_()


def test_same_protocol_changes_nothing(cohort) -> None:
    """Comparing a protocol with itself: a diagonal table and no changed patients."""
    c = compare_screening(cohort, default_protocol())
    t = c.transitions.to_numpy()
    assert (t == np.diag(np.diag(t))).all() and c.changed.empty and c.rules_changed.empty


def test_raising_the_line_stops_rules(cohort) -> None:
    """Raising the caution line stops blood_pressure_raised for some patients."""
    c = compare_screening(cohort, default_protocol().with_changes({BP: 150}))
    assert len(c.rules_changed) > 0
    assert c.rules_changed.rules_stopped.str.contains("blood_pressure_raised").all()


def test_outcome_comparison_counts_transitions_and_keeps_not_defined_apart() -> None:
    """A 40 % response fraction turns some 'no' into 'yes' and never 'yes' into 'no'."""
    patients = generate_patients(60, seed=4)
    frame = assessment_frame(patients, "phq9")
    c = compare_outcomes(
        frame, "phq9", default_protocol().with_changes({"measures.response_reduction_min": 0.4})
    )
    r = c.transitions["response"]
    assert r.loc["yes", "no"] == 0 and r.loc["no", "yes"] > 0
    assert int(r.to_numpy().sum()) == frame.patient_id.nunique()
    assert list(r.columns) == ["yes", "no", NOT_DEFINED]
    assert (c.changed.response_before == "no").all() and (c.changed.response_after == "yes").all()
    assert c.rates.loc["after", "response"] >= c.rates.loc["before", "response"]
    assert c.transitions["remission"].to_numpy().trace() == frame.patient_id.nunique()


def test_plans_move_under_a_closure_or_another_rhythm() -> None:
    """A closure moves the courses that had a dose that day; 3 a week ends courses sooner."""
    cal = ClinicCalendar()
    start = dt.date(2026, 9, 7)
    reqs = [
        PlanRequest(f"P{i}", "iv_ketamine", start + dt.timedelta(days=i), weight_kg=70, age=40)
        for i in range(5)
    ]
    closed = dt.date(2026, 9, 10)
    moved = compare_plans(reqs, calendar=cal, after_calendar=cal.with_closures(closed))
    assert 0 < len(moved.changed) <= len(reqs)
    hit = moved.table.dates_moved.str.contains(closed.isoformat())
    assert hit.any() and moved.table.changed[hit].all()
    assert (moved.table.changed == (moved.table.dates_moved != "")).all()
    faster = compare_plans(
        reqs,
        calendar=cal,
        after=default_protocol().with_changes({"courses.iv_ketamine.phases.0.doses_per_period": 3}),
    )
    assert (faster.table.end_after < faster.table.end_before).all()
    assert (faster.table.doses_after == faster.table.doses_before).all()


def test_a_plan_that_cannot_be_made_is_reported_not_dropped() -> None:
    """A request planning refuses shows its reason in the comparison."""
    req = PlanRequest("P1", "iv_ketamine", dt.date(2026, 9, 7), weight_kg=None, age=40)
    c = compare_plans([req], calendar=ClinicCalendar())
    assert c.table.loc[0, "problem_before"] and c.table.loc[0, "doses_before"] == 0


def test_bad_arguments_are_refused() -> None:
    """Not a protocol / not a PlanRequest: InvalidInputError naming the argument."""
    with pytest.raises(InvalidInputError, match="after"):
        compare_screening(synthetic_screening_frame(5, seed=1), "strict")  # type: ignore[arg-type]
    with pytest.raises(InvalidInputError, match="PlanRequest"):
        compare_plans([{"patient_id": "P"}], calendar=ClinicCalendar())  # type: ignore[list-item]
