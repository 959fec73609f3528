"""Assessments are validated before storage and read back scored; corrections re-score."""

from __future__ import annotations

import datetime as dt

import pytest

from kaptools.assessments import assessment_frame, assessments, record_assessment
from kaptools.errors import (
    IncompleteAnswersError,
    InvalidAnswerError,
    InvalidInputError,
    NotFoundError,
    UnknownInstrumentError,
)
from kaptools.scores import Instrument
from kaptools.store import Store

TODAY = dt.date(2026, 11, 27)


@pytest.fixture
def store() -> Store:
    s = Store.in_memory()
    s.add_patient(
        "SYN-1", "P", birth_date=dt.date(1980, 1, 1), sex="female", weight_kg=70
    )
    return s


def test_assessment_is_stored_item_by_item_with_author_and_date(store: Store) -> None:
    """Answers, date and author are stored; the score is recomputed on reading."""
    a = record_assessment(
        store,
        "SYN-1",
        "PHQ-9",
        [1, 2, 1, 0, 0, 1, 1, 0, 0],
        administered_on="2026-11-02",
        today=TODAY,
    )
    assert a.result.total == 6 and a.result.band.label == "mild"
    [back] = assessments(store, "SYN-1")
    assert back.result.answers == (1, 2, 1, 0, 0, 1, 1, 0, 0)
    assert (back.administered_on, back.entered_by) == (dt.date(2026, 11, 2), "pytest")


@pytest.mark.parametrize(
    ("instrument", "answers", "when", "error", "text"),
    [
        ("phq9", [1] * 8 + [None], "2026-11-02", IncompleteAnswersError, "item 9"),
        ("phq9", [1] * 8 + [7], "2026-11-02", InvalidAnswerError, "item 9"),
        ("bdi", [1] * 9, "2026-11-02", UnknownInstrumentError, "bdi"),
        ("phq9", [1] * 9, "2026-12-25", InvalidInputError, "future"),
        ("phq9", [1] * 9, "02/11/2026", InvalidInputError, "YYYY-MM-DD"),
    ],
)
def test_bad_assessments_raise_and_store_nothing(
    store: Store, instrument, answers, when, error, text
) -> None:
    """Incomplete, invalid, unknown or misdated assessments raise; nothing is written."""
    n_audit = len(store.audit_entries())
    with pytest.raises(error, match=text):
        record_assessment(
            store, "SYN-1", instrument, answers, administered_on=when, today=TODAY
        )
    assert assessments(store, "SYN-1") == []
    assert len(store.audit_entries()) == n_audit


def test_unknown_patient_is_named(store: Store) -> None:
    """An assessment for a patient who does not exist is refused before scoring."""
    with pytest.raises(NotFoundError, match="SYN-9"):
        record_assessment(
            store, "SYN-9", "phq9", [0] * 9, administered_on=TODAY, today=TODAY
        )


def test_correction_replaces_the_current_score_and_keeps_history(store: Store) -> None:
    """A corrected assessment is a new version: the current score changes, v1 stays in history."""
    a = record_assessment(
        store, "SYN-1", "gad7", [3] * 7, administered_on=TODAY, today=TODAY
    )
    record_assessment(
        store,
        "SYN-1",
        "gad7",
        [1] * 7,
        administered_on=TODAY,
        today=TODAY,
        correct_record_id=a.record_id,
        reason="transcription error",
        based_on_version=1,
    )
    [current] = assessments(store, "SYN-1")
    assert (current.result.total, current.version) == (7, 2)
    assert [r.payload["answers"] for r in store.record_history(a.record_id)] == [[3] * 7, [1] * 7]


def test_frame_has_one_row_per_assessment_with_items(store: Store) -> None:
    """The frame lists date, instrument, total, band, alerts and each item answer."""
    record_assessment(
        store,
        "SYN-1",
        Instrument.PHQ9,
        [0] * 8 + [2],
        administered_on=TODAY,
        today=TODAY,
    )
    df = assessment_frame(store, "SYN-1")
    row = df.iloc[0]
    assert (row.instrument, row.total, row.alerts, row.phq9_item9) == ("phq9", 2, 1, 2)
    assert row.patient_id == "SYN-1"
