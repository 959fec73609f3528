"""Tidy frames from the store: many patients in one read, with patient_id, route, dates
and protocol provenance; wide frames derived from the long ones agree with them."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest

from kaptools.assessments import assessment_frame, record_assessment
from kaptools.demo import SESSION_SHOWCASE_PATIENT, build_demo_database
from kaptools.errors import InvalidInputError
from kaptools.outcomes import course_outcomes
from kaptools.protocol import default_protocol
from kaptools.scores import item_column, item_columns, score, score_frame
from kaptools.store import Store
from kaptools.tidy import (
    PROVENANCE_COLUMNS,
    assessments_long,
    assessments_wide,
    plans_long,
    screenings_long,
    screenings_wide,
    sessions_long,
)


@pytest.fixture(scope="module")
def demo():
    store = Store.in_memory()
    patients = build_demo_database(store, n=6, seed=11)
    return store, patients


def test_assessments_long_has_one_row_per_answer_for_every_patient(demo) -> None:
    """Every stored answer is a row with its patient, route, date, item name and provenance."""
    store, patients = demo
    long = assessments_long(store)
    expected = sum(len(a.answers) for p in patients for a in p.assessments)
    assert len(long) == expected
    assert set(long.patient_id) == {p.patient_id for p in patients}
    routes = long.drop_duplicates("patient_id").set_index("patient_id")["route"].to_dict()
    assert routes == {p.patient_id: p.route for p in patients}
    assert set(long.protocol_sha256) == {default_protocol().info.sha256}
    first = patients[0].assessments[0]
    rows = long[
        (long.patient_id == patients[0].patient_id)
        & (long.administered_on == first.administered_on)
        & (long.instrument == first.instrument)
    ]
    assert rows.sort_values("item_number").answer.tolist() == list(first.answers)
    assert rows.item.tolist()[0] == item_column(first.instrument, 1)


def test_assessments_long_reads_only_the_patients_asked_for(demo) -> None:
    """patients= restricts the read; a bare string is refused (it would be split)."""
    store, patients = demo
    one = patients[1].patient_id
    assert set(assessments_long(store, [one]).patient_id) == {one}
    assert assessments_long(store, []).empty
    with pytest.raises(InvalidInputError, match="list of patient ids"):
        assessments_long(store, one)  # type: ignore[arg-type]


def test_wide_is_derived_from_long_and_feeds_course_outcomes(demo) -> None:
    """assessments_wide pivots the long frame; outcomes from it equal the synthetic path."""
    store, patients = demo
    long = assessments_long(store, instrument="phq9")
    wide = assessments_wide(long)
    assert len(wide) == long.record_id.nunique()
    assert list(item_columns("phq9")) == [c for c in wide.columns if c.startswith("phq9_item")]
    totals = score_frame(wide, "phq9")["total"]
    assert totals.tolist() == wide["total"].tolist()
    out = course_outcomes(wide, "phq9").set_index("patient_id")
    for p in patients:
        phq = [a for a in p.assessments if a.instrument == "phq9"]
        assert out.loc[p.patient_id, "baseline_total"] == score("phq9", phq[0].answers).total
        assert out.loc[p.patient_id, "route"] == p.route


def test_assessments_keep_corrections_latest_only_and_incomplete_unscored() -> None:
    """A corrected assessment appears once (latest version)."""
    store = Store.in_memory()
    store.add_patient(
        "SYN-9", "P", birth_date=dt.date(1980, 1, 1), sex="female", weight_kg=70
    )
    day = dt.date(2026, 1, 5)
    a = record_assessment(
        store, "SYN-9", "phq9", [1] * 9, administered_on=day, today=day
    )
    record_assessment(
        store,
        "SYN-9",
        "phq9",
        [2] * 9,
        administered_on=day,
        today=day,
        correct_record_id=a.record_id,
        based_on_version=1,
        reason="typo in the form",
    )
    long = assessments_long(store)
    assert long.version.unique().tolist() == [2] and long.answer.tolist() == [2] * 9
    assert long.route.isna().all()  # no course plan stored: route unknown, not guessed
    assert assessment_frame(store, "SYN-9").patient_id.tolist() == ["SYN-9"]


def test_screenings_long_and_wide_agree(demo) -> None:
    """Each stored screening's findings are rows; the wide frame has one row per screening."""
    store, patients = demo
    long = screenings_long(store)
    wide = screenings_wide(long)
    assert len(wide) == long.record_id.nunique() >= len(patients)
    for rid, group in long.groupby("record_id"):
        row = wide.set_index("record_id").loc[rid]
        fired = set(group.rule_id.dropna())
        assert {c for c in fired} == {c for c in fired if row[c]}
    assert set(PROVENANCE_COLUMNS) <= set(long.columns)
    assert long.status.isin(
        ["eligible", "eligible_with_cautions", "not_eligible", "incomplete"]
    ).all()


def test_plans_and_sessions_long_carry_route_dates_and_provenance(demo) -> None:
    """Plans: one row per planned session; sessions: one row per recorded dose."""
    store, patients = demo
    plans, sessions = plans_long(store), sessions_long(store)
    assert set(plans.patient_id) <= {p.patient_id for p in patients}
    assert plans.groupby("patient_id").route.nunique().max() == 1
    doses = plans[plans.kind == "dosing"]
    assert len(doses) > 0 and doses.dose_mg.notna().all() and (doses.dose_mg > 0).all()
    assert plans[plans.kind != "dosing"].dose_mg.isna().all()
    # The demo's session showcase patient also has a booster held (no dose given).
    held = int(SESSION_SHOWCASE_PATIENT in {p.patient_id for p in patients})
    expected = sum(len(p.sessions) for p in patients) + held
    assert len(sessions) == expected
    assert sessions.session_date.map(type).eq(dt.date).all()
    done = sessions[sessions.status == "complete"]
    assert len(done) == len(sessions) - held  # the held booster stays in progress
    assert done.protocol_sha256.eq(default_protocol().info.sha256).all()
    assert (sessions.max_systolic >= 60).all()


def test_empty_store_gives_empty_frames_with_columns() -> None:
    """No records: empty frames with their documented columns, never an error."""
    store = Store.in_memory()
    for frame in (
        assessments_long(store),
        screenings_long(store),
        plans_long(store),
        sessions_long(store),
    ):
        assert frame.empty and "patient_id" in frame.columns and "route" in frame.columns
    assert assessments_wide(assessments_long(store)).empty
    assert isinstance(screenings_wide(screenings_long(store)), pd.DataFrame)
