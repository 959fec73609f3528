"""screen_cohort(): the column-wise path gives, patient by patient, what screen() gives;
malformed rows are reported with their reason and never stop or colour the rest."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kaptools.errors import InvalidInputError, RecordError
from kaptools.protocol import Protocol, default_protocol, parse_protocol
from kaptools.screening import (
    MALFORMED,
    CohortResult,
    CssrsQuestion,
    HistoryQuestion,
    ScreeningRecord,
    frame_to_records,
    read_cohort,
    records_to_frame,
    screen,
    screen_cohort,
    synthetic_screening_frame,
    synthetic_screening_records,
    wide_columns,
)
from kaptools.screening.tables import drug_tables

SETTINGS = settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


def assert_same_as_single_path(
    cohort: CohortResult, records: list[ScreeningRecord], protocol: Protocol | None = None
) -> None:
    """Row i of the cohort result equals screen(records[i]) in every respect compared."""
    fired = cohort.fired.to_numpy()
    ids = np.asarray(cohort.fired.columns)
    alerts = cohort.alerts_fired.to_numpy()
    alert_ids = np.asarray(cohort.alerts_fired.columns)
    table = cohort.table
    for i, record in enumerate(records):
        single = screen(record, protocol=protocol)
        where = f"row {i + 1}: {single.summary}"
        assert table["status"].iloc[i] == single.status.value, where
        for route, route_status in single.routes.items():
            assert table[f"status_{route.value}"].iloc[i] == route_status.value, where
        assert set(ids[fired[i]]) == set(single.rule_ids), where
        assert set(alert_ids[alerts[i]]) == {a.rule_id for a in single.alerts}, where
        assert table["failed_adequate_trials"].iloc[i] == single.failed_adequate_trials, where
        not_judged = sum(t.verdict.value == "not_judged" for t in single.trials)
        assert table["trials_not_judged"].iloc[i] == not_judged, where
        for column, severity in (("exclusions", "exclusion"), ("cautions", "caution")):
            listed = str(table[column].iloc[i]).split()
            assert listed == [f.rule_id for f in single.findings if f.severity == severity]


# ---------------------------------------------------------------------------
# Equivalence of the two paths


@pytest.mark.parametrize("seed", [1, 2])
def test_synthetic_cohort_matches_single_path(seed: int) -> None:
    """Over 2,500 synthetic patients per seed, both paths agree patient by patient."""
    frame = synthetic_screening_frame(2500, seed)
    cohort = screen_cohort(frame)
    assert cohort.errors.empty
    assert_same_as_single_path(cohort, frame_to_records(frame))


ANTIDEPRESSANTS = sorted(drug_tables().min_doses)
OTHER_DRUGS = [
    "lorazepam",
    "Clonazepam",
    "diazepam",
    "alprazolam",
    "lithium",
    "lamotrigine",
    "naltrexone",
    "phenelzine",
    "methylphenidate",
    "oxycodone",
    "zolpidem",
    "atorvastatin",
    "tianeptine",
    "Venlafaxine XR",
    "bupropion  XL",
    "unknown-drug",
]
CODES = [
    "F33.1",
    "F32.2",
    "F32.9",
    "F33.3",
    "F32.3",
    "F32.A",
    "F33.41",
    "F32.81",
    "F43.10",
    "F31.4",
    "F31.81",
    "F31.2",
    "F41.1",
    "F20.9",
    "F29",
    "F10.20",
    "I10",
    "f331",
]
answers = st.sampled_from(["yes", "no", "unknown"])
maybe_answer = st.one_of(st.none(), answers)
dose = st.one_of(
    st.none(),
    st.sampled_from([0.25, 0.5, 0.8, 0.9, 1.0, 5.0, 10.0, 20.0, 25.0, 50.0, 75.0, 150.0, 300.0]),
    st.floats(min_value=0.01, max_value=1000, allow_nan=False),
)
weeks = st.one_of(
    st.none(), st.sampled_from([0.0, 2.0, 3.5, 3.99, 4.0, 6.0, 12.0]), st.floats(0, 520)
)
trial = st.fixed_dictionaries(
    {
        "drug": st.sampled_from([*ANTIDEPRESSANTS, "tianeptine", "Sertraline", "zoloft"]),
        "daily_dose_mg": dose,
        "weeks": weeks,
        "outcome": st.sampled_from(
            ["no_response", "partial_response", "response", "remission", "unknown"]
        ),
        "stop_reason": st.sampled_from(
            ["ongoing", "lack_of_effect", "intolerance", "other", "unknown"]
        ),
    }
)
medication = st.fixed_dictionaries(
    {"drug": st.sampled_from(OTHER_DRUGS + ANTIDEPRESSANTS[:4]), "daily_dose_mg": dose}
)


@st.composite
def blood_pressure(draw: st.DrawFn) -> dict[str, float | None]:
    systolic = draw(
        st.one_of(
            st.none(),
            st.sampled_from([139.0, 140, 141, 179, 180, 181]),
            st.integers(60, 260).map(float),
        )
    )
    diastolic = draw(
        st.one_of(
            st.none(),
            st.sampled_from([89.0, 90, 91, 109, 110, 111]),
            st.integers(30, 150).map(float),
        )
    )
    if systolic is not None and diastolic is not None and diastolic >= systolic:
        diastolic = systolic - 1
    return {"systolic_bp_mmhg": systolic, "diastolic_bp_mmhg": diastolic}


@st.composite
def records(draw: st.DrawFn) -> dict[str, Any]:
    data: dict[str, Any] = {
        "age_years": draw(
            st.one_of(st.none(), st.sampled_from([16, 17, 18, 64, 65, 66]), st.integers(0, 120))
        ),
        "sex": draw(st.sampled_from(["female", "male", "other", "unknown"])),
        "pregnant": draw(answers),
        "breastfeeding": draw(answers),
        "diagnoses": draw(st.one_of(st.none(), st.lists(st.sampled_from(CODES), max_size=7))),
        "antidepressant_trials": draw(st.one_of(st.none(), st.lists(trial, max_size=10))),
        "current_medications": draw(st.one_of(st.none(), st.lists(medication, max_size=11))),
        "history": {q.value: draw(answers) for q in HistoryQuestion},
        "phq9": draw(
            st.one_of(
                st.none(), st.lists(st.one_of(st.none(), st.integers(0, 3)), min_size=9, max_size=9)
            )
        ),
        "cssrs": draw(
            st.one_of(
                st.none(), st.fixed_dictionaries({q.value: maybe_answer for q in CssrsQuestion})
            )
        ),
        **draw(blood_pressure()),
    }
    cssrs = data["cssrs"]
    if cssrs is not None and cssrs["behaviour_past_3_months"] == "yes":
        # Behaviour in the past 3 months is lifetime behaviour (a "no" is refused).
        cssrs["behaviour_lifetime"] = draw(st.sampled_from([None, "yes", "unknown"]))
    return data


@settings(SETTINGS, max_examples=100)
@given(batch=st.lists(records(), min_size=1, max_size=12))
def test_generated_records_match_single_path(batch: list[dict[str, Any]]) -> None:
    """For any valid records (edges, unknowns, long histories), both paths agree."""
    parsed = [ScreeningRecord.parse(r) for r in batch]
    cohort = screen_cohort(records_to_frame(parsed))
    assert cohort.errors.empty
    assert_same_as_single_path(cohort, parsed)


@SETTINGS
@given(batch=st.lists(records(), min_size=1, max_size=6))
def test_frame_round_trip_keeps_every_record(batch: list[dict[str, Any]]) -> None:
    """records -> wide frame -> records gives the same records back."""
    parsed = [ScreeningRecord.parse(r) for r in batch]
    assert frame_to_records(records_to_frame(parsed)) == parsed


def clinic_protocol() -> Protocol:
    """A clinic's copy that changes thresholds, severities, codes, classes and outcomes."""
    text = default_protocol().path.read_text(encoding="utf-8")  # type: ignore[union-attr]
    edits = [
        (
            "bp_caution_systolic_above = { value = 140,",
            "bp_caution_systolic_above = { value = 130,",
        ),
        ("age_caution_from = { value = 65,", "age_caution_from = { value = 60,"),
        ("trial_weeks_min = { value = 4,", "trial_weeks_min = { value = 6,"),
        (
            "benzodiazepine_high_dose_above = { value = 8,",
            "benzodiazepine_high_dose_above = { value = 4,",
        ),
        (
            'failed_outcomes = ["no_response", "partial_response"]',
            'failed_outcomes = ["no_response"]',
        ),
        (
            'disqualifying_stop_reasons = ["intolerance"]',
            'disqualifying_stop_reasons = ["intolerance", "other"]',
        ),
        (
            'off_label_diagnoses = ["F43.1", "F31.3", "F31.4", "F31.5", "F41.1"]',
            'off_label_diagnoses = ["F43.1"]',
        ),
        (
            '[screening.rules.family_history_psychosis]\nseverity = "caution"',
            '[screening.rules.family_history_psychosis]\nseverity = "exclusion"\n'
            'diagnoses = ["F60"]\ndiagnoses_source = "clinic list: personality disorders"',
        ),
        (
            '[screening.rules.medication_unrecognised]\nseverity = "missing"',
            '[screening.rules.medication_unrecognised]\nseverity = "info"',
        ),
        (
            'classes = ["opioid", "cns_depressant"]',
            'classes = ["opioid", "cns_depressant", "benzodiazepine"]',
        ),
        ('questions = ["intent", "plan", "behaviour_past_3_months"]', 'questions = ["plan"]'),
    ]
    for old, new in edits:
        assert text.count(old) == 1, old
        text = text.replace(old, new)
    return parse_protocol(text, origin="clinic copy")


def test_modified_protocol_gives_the_same_result_on_both_paths() -> None:
    """Under a clinic's heavily edited protocol, both paths still agree patient by patient."""
    clinic = clinic_protocol()
    frame = synthetic_screening_frame(1500, seed=3)
    cohort = screen_cohort(frame, protocol=clinic)
    assert cohort.protocol == clinic.info
    assert_same_as_single_path(cohort, frame_to_records(frame), protocol=clinic)


def test_records_and_dicts_are_accepted_directly() -> None:
    """screen_cohort takes records or dicts; an invalid dict becomes a malformed row."""
    good = synthetic_screening_records(3, seed=4)
    cohort = screen_cohort([*good, {"age_years": -1}])
    assert list(cohort.table["status"].iloc[:3]) == [screen(r).status.value for r in good]
    assert cohort.table["status"].iloc[3] == MALFORMED
    assert "age_years" in cohort.table["error"].iloc[3]


# ---------------------------------------------------------------------------
# Files


def test_csv_file_gives_the_same_result_as_the_frame(tmp_path: Path) -> None:
    """Writing the wide frame to CSV (with or without a byte-order mark) changes nothing."""
    frame = synthetic_screening_frame(400, seed=5)
    path = tmp_path / "cohort.csv"
    frame.to_csv(path, index=False)
    from_file, in_memory = screen_cohort(path), screen_cohort(frame)
    pd.testing.assert_frame_equal(
        from_file.fired.reset_index(drop=True), in_memory.fired.reset_index(drop=True)
    )
    assert list(from_file.table["status"]) == list(in_memory.table["status"])
    assert read_cohort(path).index[0] == 1
    excel = tmp_path / "excel.csv"
    frame.to_csv(excel, index=False, encoding="utf-8-sig")
    assert list(screen_cohort(excel).table["status"]) == list(in_memory.table["status"])


def test_jsonl_file_matches_and_reports_bad_lines(tmp_path: Path) -> None:
    """A JSON Lines cohort screens like the records; bad lines are reported by line number."""
    good = synthetic_screening_records(30, seed=6)
    lines = [r.model_dump_json() for r in good]
    lines[4] = '{"age_years": 17, "sex": "f"}'
    lines[9] = "not json"
    lines[12] = ""
    path = tmp_path / "cohort.jsonl"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    cohort = screen_cohort(path)
    assert len(cohort.table) == 30
    bad_rows = sorted(set(cohort.errors["row"]))
    assert bad_rows == [5, 10, 13]
    reasons = cohort.errors.set_index("row")["reason"]
    assert "sex" in reasons[5] and "not valid JSON" in reasons[10] and "empty" in reasons[13]
    keep = [i for i in range(30) if i + 1 not in bad_rows]
    statuses = cohort.table["status"].to_numpy()
    assert all(statuses[i] == screen(good[i]).status.value for i in keep)
    assert all(statuses[r - 1] == MALFORMED for r in bad_rows)


def test_ragged_csv_rows_are_reported_not_fatal(tmp_path: Path) -> None:
    """A CSV row with the wrong number of cells is malformed; the other rows are screened."""
    frame = synthetic_screening_frame(5, seed=7)
    path = tmp_path / "ragged.csv"
    frame.to_csv(path, index=False)
    lines = path.read_text(encoding="utf-8").splitlines()
    lines[3] = lines[3] + ",extra,cells"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    cohort = screen_cohort(path)
    assert list(cohort.table["status"] == MALFORMED) == [False, False, True, False, False]
    assert "cells but the header has" in cohort.errors["reason"].iloc[0]


@pytest.mark.parametrize(
    ("name", "content", "fragment"),
    [
        ("missing.csv", None, "does not exist"),
        ("cohort.xlsx", "x", "use a .csv"),
        ("empty.csv", "", "empty"),
        ("latin1.csv", b"age_years,sex\n\xe9\xe9,female\n", "not UTF-8"),
    ],
)
def test_unusable_file_is_a_clear_error(
    tmp_path: Path, name: str, content: str | bytes | None, fragment: str
) -> None:
    """A missing, unsupported, empty or non-UTF-8 file raises InvalidInputError saying so."""
    path = tmp_path / name
    if isinstance(content, bytes):
        path.write_bytes(content)
    elif content is not None:
        path.write_text(content, encoding="utf-8")
    with pytest.raises(InvalidInputError, match=fragment):
        screen_cohort(path)


# ---------------------------------------------------------------------------
# Malformed rows


def base_frame(n: int = 6) -> pd.DataFrame:
    return synthetic_screening_frame(n, seed=8)


BAD_CELLS = [
    ("age_years", "forty", "age_years must be a whole number"),
    ("age_years", 17.5, "age_years must be a whole number"),
    ("age_years", -1, "age_years"),
    ("age_years", 400, "age_years"),
    ("sex", "F", "sex must be one of"),
    ("pregnant", "maybe", "pregnant must be one of"),
    ("aneurysm_or_avm", "nope", "aneurysm_or_avm must be one of"),
    ("systolic_bp_mmhg", "high", "systolic_bp_mmhg"),
    ("systolic_bp_mmhg", float("inf"), "systolic_bp_mmhg"),
    ("diastolic_bp_mmhg", 250, "diastolic_bp_mmhg"),
    ("dx1", "depression", "dx1 must be an ICD-10-CM code"),
    ("trial1_dose_mg", -10, "trial1_dose_mg"),
    ("trial1_dose_mg", 0, "trial1_dose_mg"),
    ("trial1_weeks", 9999, "trial1_weeks"),
    ("trial1_outcome", "better", "trial1_outcome must be one of"),
    ("med1_dose_mg", "1,5", "med1_dose_mg"),
    ("phq9_item9", 4, "phq9_item9"),
    ("phq9_item1", 1.5, "phq9_item1"),
    ("cssrs_intent", "y", "cssrs_intent"),
    ("trial_history", "partial", "trial_history must be one of"),
    ("diagnosis_list", "none", "diagnosis_list must be one of"),
    ("input_error", "scanner could not read the form", "scanner could not read"),
]


@pytest.mark.parametrize(("column", "value", "fragment"), BAD_CELLS)
def test_bad_cell_makes_only_its_row_malformed(column: str, value: Any, fragment: str) -> None:
    """A bad cell makes its row malformed, with the column and reason; other rows are untouched."""
    frame = base_frame().astype(object)
    before = screen_cohort(base_frame())
    frame.loc[2, column] = value
    if column.startswith("trial1_"):
        frame.loc[2, "trial_history"] = "recorded"
        frame.loc[2, "trial1_drug"] = "sertraline"
    if column.startswith("med1_"):
        frame.loc[2, "medication_list"] = "recorded"
        frame.loc[2, "med1_drug"] = "lorazepam"
    cohort = screen_cohort(frame)
    assert cohort.table["status"].iloc[2] == MALFORMED
    assert not cohort.fired.iloc[2].any()
    assert list(cohort.errors["row"].unique()) == [3]
    assert cohort.errors["column"].iloc[0] == column
    assert fragment in cohort.errors["reason"].iloc[0]
    others = [0, 1, 3, 4, 5]
    assert list(cohort.table["status"].iloc[others]) == list(before.table["status"].iloc[others])


@pytest.mark.parametrize(
    ("cells", "fragment"),
    [
        ({"trial_history": "recorded", "trial2_dose_mg": 50.0, "trial2_drug": None}, "trial2_drug"),
        ({"medication_list": "recorded", "med3_dose_mg": 5.0, "med3_drug": None}, "med3_drug"),
        ({"trial_history": "unknown", "trial1_drug": "sertraline"}, "trial_history is blank"),
        ({"medication_list": None, "med1_drug": "lorazepam"}, "medication_list is blank"),
        ({"diagnosis_list": "unknown", "dx2": "F33.1"}, "diagnosis_list is 'unknown'"),
        ({"systolic_bp_mmhg": 80.0, "diastolic_bp_mmhg": 95.0}, "swapped"),
        (
            {"cssrs_behaviour_lifetime": "no", "cssrs_behaviour_past_3_months": "yes"},
            "lifetime behaviour",
        ),
    ],
)
def test_inconsistent_row_is_malformed(cells: dict[str, Any], fragment: str) -> None:
    """A slot without its drug, a list marked unknown but filled, or swapped readings."""
    frame = base_frame().astype(object)
    for column, value in cells.items():
        frame.loc[1, column] = value
    cohort = screen_cohort(frame)
    assert cohort.table["status"].iloc[1] == MALFORMED
    assert any(fragment in r for r in cohort.errors["reason"])


def test_malformed_row_is_rejected_by_the_record_model_too() -> None:
    """frame_to_records refuses a frame with malformed rows, naming the row."""
    frame = base_frame().astype(object)
    frame.loc[0, "sex"] = "F"
    with pytest.raises(RecordError, match="row 1"):
        frame_to_records(frame)


INVALID_BY_KIND = {
    "number": st.one_of(
        st.sampled_from(["x", "1,2", "--3", "nan?", "1e999", " 4 4 "]),
        st.just(float("inf")),
        st.just(True),
    ),
    "category": st.sampled_from(["maybe", "Y", "n/a", "0", "yes please"]),
}


@st.composite
def corruptions(draw: st.DrawFn) -> list[tuple[int, str, Any]]:
    columns = [
        c for c in wide_columns() if c.kind in ("number", "category") and c.name != "input_error"
    ]
    cells = draw(st.lists(st.tuples(st.integers(0, 11), st.sampled_from(columns)), max_size=6))
    return [(row, col.name, draw(INVALID_BY_KIND[col.kind])) for row, col in cells]


CLEAN = synthetic_screening_frame(12, seed=9)
CLEAN_STATUS = screen_cohort(CLEAN).table["status"].to_numpy()


@SETTINGS
@given(bad=corruptions())
def test_invalid_cells_never_crash_and_never_get_a_status(bad: list[tuple[int, str, Any]]) -> None:
    """Invalid cells anywhere: their rows are malformed with a reason; the rest screen normally."""
    frame = CLEAN.astype(object)
    for row, column, value in bad:
        frame.loc[row, column] = value
    cohort = screen_cohort(frame)
    bad_rows = {row for row, _, _ in bad}
    status = cohort.table["status"].to_numpy()
    assert {i for i in range(12) if status[i] == MALFORMED} == bad_rows
    assert set(cohort.errors["row"] - 1) == bad_rows
    assert all(cohort.errors["reason"].str.len() > 10)
    good_rows = [i for i in range(12) if i not in bad_rows]
    assert list(status[good_rows]) == list(CLEAN_STATUS[good_rows])


@SETTINGS
@given(batch=st.lists(records(), min_size=2, max_size=6), data=st.data())
def test_valid_edits_screen_like_the_single_path(
    batch: list[dict[str, Any]], data: st.DataObject
) -> None:
    """Text cells with odd case and spaces, or numbers written as text, are read as intended."""
    parsed = [ScreeningRecord.parse(r) for r in batch]
    frame = records_to_frame(parsed).astype(object)
    for column in ("sex", "pregnant", "psychosis", "age_years", "systolic_bp_mmhg"):
        row = data.draw(st.integers(0, len(parsed) - 1))
        value = frame.loc[row, column]
        if isinstance(value, str):
            frame.loc[row, column] = f"  {value.upper()} "
        elif isinstance(value, float) and not np.isnan(value):
            frame.loc[row, column] = f"{value:g}"
    cohort = screen_cohort(frame)
    assert cohort.errors.empty
    assert_same_as_single_path(cohort, parsed)


# ---------------------------------------------------------------------------
# Columns and results


def test_unknown_column_is_refused_with_its_name() -> None:
    """A column outside the layout (a typo) makes the whole input unusable, naming it."""
    frame = base_frame().rename(columns={"trial1_dose_mg": "trial1_dose"})
    with pytest.raises(InvalidInputError, match="'trial1_dose'"):
        screen_cohort(frame)


def test_missing_required_column_is_refused_with_its_name() -> None:
    """A required column that is absent is named; a blank column would mean unknown."""
    with pytest.raises(InvalidInputError, match="psychosis"):
        screen_cohort(base_frame().drop(columns=["psychosis"]))


def test_optional_columns_may_be_left_out() -> None:
    """Without PHQ-9, C-SSRS, weight, heart rate and some slots, screening still works."""
    frame = base_frame()
    drop = [c for c in frame.columns if c.startswith(("phq9_", "cssrs_", "med", "trial8"))]
    frame = frame.drop(columns=[*drop, "weight_kg", "heart_rate_bpm", "patient_id"])
    frame["medication_list"] = "unknown"
    cohort = screen_cohort(frame)
    assert cohort.errors.empty and cohort.table["patient_id"].isna().all()
    assert cohort.fired["medications_unknown"].all()


def legacy_frame() -> tuple[pd.DataFrame, list[ScreeningRecord]]:
    """Records with diagnoses recorded, recorded as none, and unknown; their wide frame."""
    base = synthetic_screening_records(1, seed=15)[0]
    cases = [("F33.1",), ("F43.10", "F31.81"), (), None]
    records = [base.model_copy(update={"diagnoses": dx}) for dx in cases]
    return records_to_frame(records), records


def test_diagnosis_list_column_round_trips_every_state() -> None:
    """Recorded, recorded-as-none and unknown diagnoses survive records -> frame -> records."""
    frame, records = legacy_frame()
    assert list(frame["diagnosis_list"]) == ["recorded", "recorded", "recorded", "unknown"]
    assert frame_to_records(frame) == records
    cohort = screen_cohort(frame)
    assert list(cohort.fired["diagnoses_unknown"]) == [False, False, False, True]
    assert cohort.fired["indication_not_met"].iloc[2] and cohort.errors.empty


@pytest.mark.parametrize("how", ["column left out", "blank cells"])
def test_file_without_diagnosis_status_reads_filled_slots_as_recorded(
    tmp_path: Path, how: str
) -> None:
    """Without a diagnosis_list status, filled dx slots are recorded and no code is unknown."""
    frame, records = legacy_frame()
    if how == "column left out":
        frame = frame.drop(columns=["diagnosis_list"])
    else:
        frame["diagnosis_list"] = pd.Categorical([None] * len(frame))
    path = tmp_path / "legacy.csv"
    frame.to_csv(path, index=False)
    cohort = screen_cohort(path)
    assert cohort.errors.empty
    expected = [*records[:2], records[3], records[3]]  # an empty list without status: unknown
    read = frame_to_records(read_cohort(path))
    assert [r.diagnoses for r in read] == [r.diagnoses for r in expected]
    assert_same_as_single_path(cohort, expected)
    assert cohort.fired["diagnoses_unknown"].iloc[2:].all()
    assert not cohort.fired["indication_not_met"].iloc[2:].any()


def test_more_slots_than_the_default_are_read() -> None:
    """A ninth trial slot is read like the others."""
    parsed = ScreeningRecord.parse(
        {
            "diagnoses": ["F33.1"],
            "antidepressant_trials": [
                {
                    "drug": "tianeptine",
                    "daily_dose_mg": 25,
                    "weeks": 8,
                    "outcome": "no_response",
                    "stop_reason": "other",
                }
            ]
            * 8
            + [
                {
                    "drug": "sertraline",
                    "daily_dose_mg": 100,
                    "weeks": 8,
                    "outcome": "no_response",
                    "stop_reason": "other",
                }
            ],
        }
    )
    frame = records_to_frame([parsed])
    assert "trial9_drug" in frame.columns
    assert_same_as_single_path(screen_cohort(frame), [parsed])


def test_input_frame_is_not_modified() -> None:
    """Screening leaves the caller's frame exactly as it was, bad cells included."""
    frame = base_frame().astype(object)
    frame.loc[0, "systolic_bp_mmhg"] = 999.0
    copy = frame.copy()
    screen_cohort(frame)
    pd.testing.assert_frame_equal(frame, copy)


def test_empty_cohort_gives_an_empty_result() -> None:
    """A frame with the layout's columns and no rows gives empty tables and zero counts."""
    cohort = screen_cohort(base_frame().iloc[:0])
    assert len(cohort.table) == 0 and int(cohort.status_counts.sum()) == 0
    assert "0 rows" in cohort.summary


def test_counts_add_up() -> None:
    """Status counts sum to the rows; rule counts and the long table match the matrix."""
    cohort = screen_cohort(synthetic_screening_frame(500, seed=10))
    assert int(cohort.status_counts.sum()) == 500
    counts = cohort.rule_counts.set_index("rule_id")["patients"]
    assert (counts[cohort.fired.columns] == cohort.fired.sum()).all()
    long = cohort.findings_long()
    assert len(long) == int(cohort.fired.to_numpy().sum())
    assert set(long["severity"].unique()) <= {"exclusion", "missing", "caution", "info"}
    assert int(cohort.alert_counts.sum()) == int(cohort.alerts_fired.to_numpy().sum())


def test_every_status_occurs_in_a_synthetic_cohort() -> None:
    """A synthetic cohort of a few hundred patients contains every screening status."""
    statuses = set(screen_cohort(synthetic_screening_frame(300, seed=12)).table["status"])
    assert statuses == {"eligible", "eligible_with_cautions", "incomplete", "not_eligible"}


def test_cohort_records_its_protocol() -> None:
    """The cohort result records the protocol; a changed threshold changes the counts."""
    frame = synthetic_screening_frame(400, seed=13)
    text = default_protocol().path.read_text(encoding="utf-8")  # type: ignore[union-attr]
    clinic = parse_protocol(
        text.replace(
            "bp_caution_systolic_above = { value = 140,",
            "bp_caution_systolic_above = { value = 130,",
        )
    )
    default, stricter = screen_cohort(frame), screen_cohort(frame, protocol=clinic)
    assert stricter.protocol == clinic.info and default.protocol == default_protocol().info
    assert (
        stricter.fired["blood_pressure_raised"].sum() > default.fired["blood_pressure_raised"].sum()
    )


def test_summary_html_and_write(tmp_path: Path) -> None:
    """The result summarises itself, renders escaped HTML and writes CSV or JSON Lines."""
    cohort = screen_cohort(synthetic_screening_frame(50, seed=14))
    assert "50 rows" in cohort.summary and cohort.protocol.short in cohort.summary
    page = cohort._repr_html_()
    assert "<table class='kap-table'>" in page and "Decision support, not a decision." in page
    csv_path = cohort.write(tmp_path / "out.csv", rule_columns=True)
    written = pd.read_csv(csv_path)
    assert len(written) == 50 and "rule_age_older_adult" in written.columns
    jsonl = cohort.write(tmp_path / "out.jsonl")
    first = json.loads(jsonl.read_text(encoding="utf-8").splitlines()[0])
    assert first["status"] in {"eligible", "eligible_with_cautions", "incomplete", "not_eligible"}
    parquet = cohort.write(tmp_path / "out.parquet")
    assert pd.read_parquet(parquet)["status"].astype(str).tolist() == written["status"].tolist()
    assert list(read_cohort(parquet).index[:2]) == [1, 2]
    with pytest.raises(InvalidInputError, match=r"\.csv, \.jsonl or \.parquet"):
        cohort.write(tmp_path / "out.xlsx")


def test_non_frame_input_is_refused() -> None:
    """Something that is neither a frame, a path nor records is refused clearly."""
    with pytest.raises(InvalidInputError, match=r"screen_cohort.*(takes|data: must be)"):
        screen_cohort(42)  # type: ignore[arg-type]
