"""Cohort outcomes use the same scoring and rules as single patients."""

from __future__ import annotations

import pandas as pd
import pytest

from kaptools.errors import InvalidInputError
from kaptools.outcomes import course_outcomes, outcome_rates
from kaptools.protocol import DEFAULT_PROTOCOL_PATH, parse_protocol
from kaptools.scores import compare, score
from kaptools.synthetic import assessment_frame, generate_patients


@pytest.fixture(scope="module")
def cohort():
    patients = generate_patients(60, seed=4)
    return patients, assessment_frame(patients, "phq9")


def test_each_row_equals_compare_on_first_and_last(cohort) -> None:
    """Per patient, the outcome row is exactly compare(first, last) of the single path."""
    patients, frame = cohort
    out = course_outcomes(frame, "phq9").set_index("patient_id")
    for p in patients:
        phq = [a for a in p.assessments if a.instrument == "phq9"]
        ch = compare(score("phq9", phq[0].answers), score("phq9", phq[-1].answers))
        row = out.loc[p.patient_id]
        assert (row.baseline_total, row.latest_total, row.delta) == (
            ch.baseline_total,
            ch.current_total,
            ch.delta,
        )
        assert (bool(row.response), bool(row.remission)) == (ch.response, ch.remission)


def test_incomplete_administrations_are_skipped_and_counted(cohort) -> None:
    """A row with a missing item is never scored; it is counted as incomplete."""
    _, frame = cohort
    broken = frame.copy()
    first_row = broken.index[0]
    broken.loc[first_row, "item_3"] = pd.NA
    out = course_outcomes(broken, "phq9").set_index("patient_id")
    pid = broken.loc[first_row, "patient_id"]
    assert out.loc[pid, "n_incomplete"] == 1
    assert out.loc[pid, "n_assessments"] == (frame.patient_id == pid).sum() - 1


def test_missing_columns_are_named(cohort) -> None:
    """A frame without the item columns raises an error naming them."""
    _, frame = cohort
    with pytest.raises(InvalidInputError, match="item_9"):
        course_outcomes(frame.drop(columns=["item_9"]), "phq9")


def test_a_lower_response_fraction_never_lowers_the_response_rate(cohort) -> None:
    """What-if: counting response at a 40 % fall gives at least as many responders."""
    _, frame = cohort
    text = DEFAULT_PROTOCOL_PATH.read_text()
    old = "response_reduction_min = { value = 0.5,"
    what_if = parse_protocol(text.replace(old, "response_reduction_min = { value = 0.4,"))
    base = course_outcomes(frame, "phq9").response.sum()
    alt = course_outcomes(frame, "phq9", protocol=what_if).response.sum()
    assert alt >= base


def test_rates_leave_undefined_rules_undefined(cohort) -> None:
    """GAD-7 has no remission rule: its remission rate is <NA>, never 0."""
    patients, _ = cohort
    rates = outcome_rates(course_outcomes(assessment_frame(patients, "gad7"), "gad7"))
    assert pd.isna(rates.loc[0, "remission"])
    assert 0 <= rates.loc[0, "response"] <= 1
