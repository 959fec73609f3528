"""The store keeps every version, audits every write and refuses bad writes whole."""

from __future__ import annotations

import datetime as dt

import pytest

from kaptools.errors import IncompleteInputError, InvalidInputError, NotFoundError
from kaptools.store import Store


@pytest.fixture
def store() -> Store:
    s = Store.in_memory()
    s.add_patient(
        "SYN-1",
        "Test patient",
        birth_date=dt.date(1980, 5, 17),
        sex="female",
        weight_kg=70.0,
    )
    return s


def test_new_record_is_version_one_and_audited(store: Store) -> None:
    """A new record starts at version 1 and leaves a 'create' audit row naming its author."""
    rec = store.save_record(
        "assessment", "SYN-1", {"x": 1}, effective_at=dt.date(2026, 1, 5)
    )
    assert rec.version == 1
    assert rec.effective_at == dt.datetime(2026, 1, 5)
    entry = store.audit_entries("SYN-1")[-1]
    assert (entry.action, entry.who, entry.record_id, entry.version) == (
        "create",
        "pytest",  # the signed-in person (KAPTOOLS_USER in the tests)
        rec.record_id,
        1,
    )


def test_correction_is_a_new_version_and_keeps_the_old(store: Store) -> None:
    """A correction adds version 2 with its reason; version 1 stays readable; latest shows v2."""
    rec = store.save_record(
        "assessment", "SYN-1", {"x": 1}, effective_at=dt.date(2026, 1, 5)
    )
    fixed = store.save_record(
        "assessment",
        "SYN-1",
        {"x": 2},
        record_id=rec.record_id,
        reason="item 3 mistyped",
        based_on_version=1,
    )
    history = store.record_history(rec.record_id)
    assert [h.version for h in history] == [1, 2]
    assert history[0].payload == {"x": 1} and history[1].payload == {"x": 2}
    assert fixed.effective_at == rec.effective_at  # the date stays unless a new one is given
    latest = store.latest_records("assessment", "SYN-1")
    assert [(r.record_id, r.version) for r in latest] == [(rec.record_id, 2)]
    assert store.audit_entries("SYN-1")[-1].detail == "item 3 mistyped"


def test_correction_without_reason_writes_nothing(store: Store) -> None:
    """A correction without a written reason is incomplete and leaves no version or audit row."""
    rec = store.save_record("assessment", "SYN-1", {"x": 1})
    n_audit = len(store.audit_entries())
    with pytest.raises(IncompleteInputError, match="reason"):
        store.save_record("assessment", "SYN-1", {"x": 2}, record_id=rec.record_id)
    assert len(store.record_history(rec.record_id)) == 1
    assert len(store.audit_entries()) == n_audit


@pytest.mark.parametrize(
    ("kwargs", "error", "text"),
    [
        ({"kind": "Bad Kind"}, InvalidInputError, "snake_case"),
        ({"author": " "}, IncompleteInputError, "author"),
        ({"payload": {"x": float("nan")}}, InvalidInputError, "JSON"),
        ({"payload": {"x": object()}}, InvalidInputError, "JSON"),
        ({"patient_id": "SYN-404"}, NotFoundError, "SYN-404"),
        ({"effective_at": "2026-01-01"}, InvalidInputError, "effective_at"),
    ],
)
def test_bad_writes_raise_and_write_nothing(
    store: Store, kwargs: dict, error: type, text: str
) -> None:
    """Every kind of bad write raises a specific error naming the problem; nothing is stored."""
    args = {"kind": "assessment", "patient_id": "SYN-1", "payload": {"x": 1}}
    args.update(kwargs)
    n_audit = len(store.audit_entries())
    with pytest.raises(error, match=text):
        store.save_record(args.pop("kind"), args.pop("patient_id"), args.pop("payload"), **args)
    assert store.latest_records("assessment", "SYN-1") == []
    assert len(store.audit_entries()) == n_audit


def test_correction_must_keep_kind_and_patient(store: Store) -> None:
    """A record cannot be 'corrected' into another kind or onto another patient."""
    store.add_patient("SYN-2", "Other", birth_date=None, sex="unknown", weight_kg=None)
    rec = store.save_record("assessment", "SYN-1", {"x": 1})
    with pytest.raises(InvalidInputError, match="same kind and patient"):
        store.save_record(
            "assessment",
            "SYN-2",
            {"x": 1},
            record_id=rec.record_id,
            reason="moved",
            based_on_version=1,
        )


@pytest.mark.parametrize(
    ("patient_id", "sex", "weight", "text"),
    [
        ("../etc", "female", 70, "patient_id"),
        ("SYN-9", "F", 70, "sex"),
        ("SYN-9", "male", 7000, "weight_kg"),
        ("SYN-9", "male", 0.5, "weight_kg"),
        ("SYN-1", "male", 70, "already exists"),
    ],
)
def test_bad_patients_are_refused(
    store: Store, patient_id: str, sex: str, weight: float, text: str
) -> None:
    """Patient ids, sex and weight are validated; duplicates are refused."""
    with pytest.raises(InvalidInputError, match=text):
        store.add_patient(patient_id, "X", birth_date=None, sex=sex, weight_kg=weight)


def test_file_database_persists_between_stores(tmp_path) -> None:
    """An SQLite file written by one Store is read back by another (the default backend)."""
    url = f"sqlite:///{tmp_path / 'sub' / 'k.sqlite'}"
    a = Store(url)
    a.add_patient("SYN-1", "P", birth_date=None, sex="male", weight_kg=None)
    a.save_record("screening", "SYN-1", {"status": "eligible"})
    b = Store(url)
    assert b.get_patient("SYN-1").display_name == "P"
    assert b.latest_records("screening", "SYN-1")[0].payload == {"status": "eligible"}


def test_age_is_computed_on_a_date() -> None:
    """Age turns over on the birthday, not before."""
    s = Store.in_memory()
    p = s.add_patient(
        "SYN-1", "P", birth_date=dt.date(2000, 3, 10), sex="male", weight_kg=None
    )
    assert p.age_on(dt.date(2018, 3, 9)) == 17
    assert p.age_on(dt.date(2018, 3, 10)) == 18
