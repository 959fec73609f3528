"""The synthetic generator: seeded, valid, and rich in the edge cases the rules care about."""

from __future__ import annotations

import pandas as pd
import pytest

from kaptools.errors import InvalidInputError
from kaptools.screening import (
    ScreeningRecord,
    TrialVerdict,
    screen,
    screen_cohort,
    synthetic_screening_frame,
    synthetic_screening_records,
)
from kaptools.screening.names import NameMatch, resolve_drug_name

FRAME = synthetic_screening_frame(3000, seed=21)


def test_same_seed_same_frame_other_seed_other_frame() -> None:
    """The generator is deterministic for a seed and differs between seeds."""
    pd.testing.assert_frame_equal(
        synthetic_screening_frame(50, 3), synthetic_screening_frame(50, 3)
    )
    assert not synthetic_screening_frame(50, 3).equals(synthetic_screening_frame(50, 4))


def test_records_and_frame_hold_the_same_patients() -> None:
    """synthetic_screening_records gives the rows of synthetic_screening_frame as records."""
    records = synthetic_screening_records(20, 5)
    assert all(isinstance(r, ScreeningRecord) for r in records)
    assert [r.patient_id for r in records] == list(synthetic_screening_frame(20, 5)["patient_id"])


def test_every_row_is_valid() -> None:
    """No synthetic row is malformed."""
    assert screen_cohort(FRAME).errors.empty


def test_edge_cases_are_present() -> None:
    """Ages 17/18/64/65, blood pressure on each line, unknown answers and drugs all occur."""
    ages = set(FRAME["age_years"].dropna())
    assert {16, 17, 18, 64, 65, 66} <= ages
    assert {139, 140, 141, 179, 180, 181} <= set(FRAME["systolic_bp_mmhg"].dropna())
    assert {89, 90, 91, 109, 110, 111} <= set(FRAME["diastolic_bp_mmhg"].dropna())
    assert FRAME["age_years"].isna().any() and FRAME["systolic_bp_mmhg"].isna().any()
    assert (FRAME["psychosis"] == "unknown").any() and FRAME["psychosis"].isna().any()
    assert (FRAME["trial_history"] == "unknown").any()
    dx_blank = FRAME[[f"dx{i}" for i in range(1, 7)]].isna().all(axis=1)
    dx_status = FRAME["diagnosis_list"]
    assert ((dx_status == "unknown") & dx_blank).any()  # not recorded
    assert (dx_status.isna() & dx_blank).any()  # no status, no code: unknown
    assert (dx_status.isna() & ~dx_blank).any()  # no status, codes: recorded (older files)
    assert ((dx_status == "recorded") & dx_blank).any()  # recorded: no diagnosis
    assert FRAME["trial8_drug"].notna().any() and FRAME["med10_drug"].notna().any()
    drugs = set(FRAME["trial1_drug"].dropna())
    resolutions = {resolve_drug_name(d) for d in drugs}
    assert {r.how for r in resolutions} >= {NameMatch.EXACT, NameMatch.BRAND, NameMatch.SALT}
    assert any(not r.resolved for r in resolutions)  # some names resolve to nothing


def test_every_trial_verdict_and_rule_occurs() -> None:
    """Every trial verdict occurs, and every rule fires somewhere in 3,000 patients."""
    records = synthetic_screening_records(400, seed=22)
    verdicts = {t.verdict for r in records for t in screen(r).trials}
    assert verdicts == set(TrialVerdict)
    cohort = screen_cohort(FRAME)
    silent = set(cohort.fired.columns[~cohort.fired.any().to_numpy()])
    assert not silent


@pytest.mark.parametrize("n", [-1, 2.5, True])
def test_bad_size_is_refused(n: object) -> None:
    """The number of records must be a whole number of at least 0."""
    with pytest.raises(InvalidInputError, match=r"n:? must be"):
        synthetic_screening_frame(n)  # type: ignore[arg-type]
