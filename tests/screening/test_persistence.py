"""Stored screenings and overrides: the payload keeps input, findings and protocol; an
override needs a written reason, is audit-logged, and never changes the finding it overrides."""

from __future__ import annotations

import datetime as dt

import pytest

from kaptools.errors import IncompleteInputError, InvalidInputError, NotFoundError
from kaptools.identity import Identity, Role
from kaptools.screening import (
    HistoryQuestion,
    ScreeningRecord,
    ScreeningStatus,
    load_screening,
    override_finding,
    save_screening,
    screen,
    screening_overrides,
)
from kaptools.store import Store

RECORD = ScreeningRecord.parse(
    {
        "age_years": 52,
        "sex": "male",
        "diagnoses": ["F33.2"],
        "antidepressant_trials": [
            {
                "drug": "sertraline",
                "daily_dose_mg": 150,
                "weeks": 10,
                "outcome": "no_response",
                "stop_reason": "lack_of_effect",
            },
            {
                "drug": "venlafaxine",
                "daily_dose_mg": 150,
                "weeks": 8,
                "outcome": "partial_response",
                "stop_reason": "lack_of_effect",
            },
        ],
        "current_medications": [{"drug": "lorazepam", "daily_dose_mg": 0.5}],
        "systolic_bp_mmhg": 146,
        "diastolic_bp_mmhg": 88,
        "heart_rate_bpm": 70,
        "history": {q.value: "no" for q in HistoryQuestion},
    }
)
REASON = "Home readings over two weeks average 128/82 mmHg."


@pytest.fixture
def store() -> Store:
    s = Store.in_memory(identity=Identity("dr.lee", Role.CLINICIAN))
    s.add_patient(
        "SYN-7",
        "Synthetic patient",
        birth_date=dt.date(1974, 3, 2),
        sex="male",
        weight_kg=82.0,
    )
    return s


def test_saved_screening_keeps_record_status_findings_and_protocol(store: Store) -> None:
    """The stored payload holds the input record, status, findings, alerts and protocol info."""
    result = screen(RECORD)
    stored = save_screening(store, "SYN-7", RECORD, result, "dr.lee")
    assert stored.kind == "screening"
    payload = stored.payload
    assert payload["status"] == "eligible_with_cautions"
    assert payload["record"]["systolic_bp_mmhg"] == 146
    assert {f["rule_id"] for f in payload["findings"]} == set(result.rule_ids)
    assert payload["protocol"] == {
        "name": result.protocol.name,
        "version": result.protocol.version,
        "sha256": result.protocol.sha256,
    }
    assert load_screening(store, stored.record_id) == result


def test_result_of_another_record_is_refused(store: Store) -> None:
    """save_screening refuses a result that was computed from a different record."""
    other = RECORD.model_copy(update={"age_years": 70})
    with pytest.raises(InvalidInputError, match="different screening record"):
        save_screening(store, "SYN-7", other, screen(RECORD), "dr.lee")


def test_override_changes_status_keeps_finding_and_is_audited(store: Store) -> None:
    """Overriding both cautions makes the status eligible; findings and original status stay."""
    stored = save_screening(store, "SYN-7", RECORD, screen(RECORD), "dr.lee")
    first = override_finding(store, stored.record_id, "blood_pressure_raised", REASON, "dr.lee")
    override_finding(
        store.as_identity(Identity("dr.ng", Role.CLINICIAN)),
        stored.record_id,
        "benzodiazepine",
        "Lorazepam stopped on 2 January.",
    )
    loaded = load_screening(store, stored.record_id)
    assert loaded.status == ScreeningStatus.ELIGIBLE
    assert loaded.original_status == ScreeningStatus.ELIGIBLE_WITH_CAUTIONS
    finding = loaded.finding("blood_pressure_raised")
    assert finding is not None and finding.override is not None
    assert (finding.override.author, finding.override.reason) == ("dr.lee", REASON)
    assert finding.message and finding.severity.value == "caution"
    assert first.record_id is not None
    audit = [e for e in store.audit_entries("SYN-7") if e.kind == "screening_override"]
    assert [e.who for e in audit] == ["dr.lee", "dr.ng"]
    assert audit[0].detail == REASON
    assert store.record_history(stored.record_id)[-1].version == 1


def test_override_record_keeps_the_finding_as_it_was(store: Store) -> None:
    """The override record holds the overridden finding and the status before."""
    stored = save_screening(store, "SYN-7", RECORD, screen(RECORD), "dr.lee")
    override = override_finding(store, stored.record_id, "blood_pressure_raised", REASON, "dr.lee")
    assert override.record_id is not None
    (saved,) = store.record_history(override.record_id)
    assert saved.kind == "screening_override"
    assert saved.payload["finding"]["rule_id"] == "blood_pressure_raised"
    assert saved.payload["status_before"] == "eligible_with_cautions"
    assert screening_overrides(store, stored.record_id)[0].reason == REASON


@pytest.mark.parametrize(
    ("reason", "error", "fragment"),
    [
        ("", IncompleteInputError, "written reason"),
        ("   ", IncompleteInputError, "written reason"),
        (None, IncompleteInputError, "written reason"),
        ("ok", InvalidInputError, "at least 10 characters"),
    ],
)
def test_override_needs_a_written_reason(
    store: Store, reason: str | None, error: type[Exception], fragment: str
) -> None:
    """No reason, a blank one, or a too-short one is refused; nothing is stored."""
    stored = save_screening(store, "SYN-7", RECORD, screen(RECORD), "dr.lee")
    with pytest.raises(error, match=fragment):
        override_finding(store, stored.record_id, "blood_pressure_raised", reason, "dr.lee")  # type: ignore[arg-type]
    assert screening_overrides(store, stored.record_id) == ()


def test_override_of_a_rule_that_did_not_fire_is_refused(store: Store) -> None:
    """Only a finding of that screening can be overridden."""
    stored = save_screening(store, "SYN-7", RECORD, screen(RECORD), "dr.lee")
    with pytest.raises(InvalidInputError, match="did not fire"):
        override_finding(store, stored.record_id, "psychosis", REASON, "dr.lee")


def test_override_needs_an_author_and_a_screening(store: Store) -> None:
    """An empty author is refused; an unknown screening id is NotFoundError."""
    stored = save_screening(store, "SYN-7", RECORD, screen(RECORD), "dr.lee")
    with pytest.raises(IncompleteInputError, match="author"):
        override_finding(store, stored.record_id, "benzodiazepine", REASON, " ")
    with pytest.raises(NotFoundError):
        override_finding(store, "no-such-id", "benzodiazepine", REASON, "dr.lee")


def test_other_kind_of_record_is_not_a_screening(store: Store) -> None:
    """An id of another kind of record is refused as a screening."""
    other = store.save_record("assessment", "SYN-7", {"x": 1})
    with pytest.raises(InvalidInputError, match="not a 'screening'"):
        load_screening(store, other.record_id)


def test_latest_override_of_a_rule_wins(store: Store) -> None:
    """When a rule is overridden twice, the later override is the one shown."""
    stored = save_screening(store, "SYN-7", RECORD, screen(RECORD), "dr.lee")
    override_finding(store, stored.record_id, "benzodiazepine", "First reason, long enough.")
    override_finding(store, stored.record_id, "benzodiazepine", "Second reason, long enough.")
    finding = load_screening(store, stored.record_id).finding("benzodiazepine")
    assert finding is not None and finding.override is not None
    assert finding.override.author == "dr.lee"
