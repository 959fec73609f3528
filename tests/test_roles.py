"""Roles are enforced in the store (the domain layer): every forbidden action is tried
and refused with AccessDeniedError, and nothing is read or written."""

from __future__ import annotations

import pytest

from kaptools.alerts import Alert, AlertLevel
from kaptools.errors import AccessDeniedError, ConfigurationError
from kaptools.identity import Identity, Role, current_identity
from kaptools.store import Store


@pytest.fixture
def url(tmp_path) -> str:
    url = f"sqlite:///{tmp_path / 'roles.sqlite'}"
    clinic = Store(url, identity=Identity("dr-clin", Role.CLINICIAN))
    clinic.add_patient(
        "REAL-1",
        "Real Person",
        birth_date=None,
        sex="female",
        weight_kg=60,
        synthetic=False,
    )
    clinic.add_patient(
        "SYN-1",
        "Demo Person",
        birth_date=None,
        sex="male",
        weight_kg=70,
        synthetic=True,
    )
    for pid in ("REAL-1", "SYN-1"):
        clinic.save_record("assessment", pid, {"x": 1, "note": "free text"})
    clinic.close()
    return url


def _as(url: str, role: Role) -> Store:
    return Store(url, identity=Identity(f"{role.value}-user", role))


def _forbidden(store: Store, patient_id: str):
    """Every patient-level action, as (name, call)."""
    rec = Store(str(store.url), identity=Identity("dr-clin", Role.CLINICIAN)).latest_records(
        "assessment", patient_id
    )[0]
    alert = Alert(
        rule_id="test_rule", level=AlertLevel.WARNING, message="m", action="a", source="s"
    )
    return [
        ("save", lambda: store.save_record("assessment", patient_id, {"x": 2})),
        (
            "correct",
            lambda: store.save_record(
                "assessment",
                patient_id,
                {"x": 2},
                record_id=rec.record_id,
                reason="r",
                based_on_version=1,
            ),
        ),
        ("read records", lambda: store.latest_records("assessment", patient_id)),
        ("read history", lambda: store.record_history(rec.record_id)),
        ("read alerts", lambda: store.patient_alerts(patient_id)),
        (
            "raise alert",
            lambda: store.raise_alert(
                patient_id, alert, source_kind="test", source_ref="t"
            ),
        ),
        (
            "add patient",
            lambda: store.add_patient(
                "NEW-1",
                "New",
                birth_date=None,
                sex="unknown",
                weight_kg=None,
                synthetic=False,
            ),
        ),
    ]


@pytest.mark.parametrize("role", [Role.RESEARCHER, Role.ADMIN])
def test_researchers_and_admins_get_no_records_names_or_writes(url: str, role: Role) -> None:
    store = _as(url, role)
    before = len(Store(url, identity=Identity("a", Role.ADMIN)).audit_entries())
    for name, call in _forbidden(store, "REAL-1"):
        with pytest.raises(AccessDeniedError, match=f"\\({role.value}\\) may not"):
            call()
        assert name
    patients = store.list_patients()
    assert {p.patient_id for p in patients} == {"REAL-1", "SYN-1"}
    assert all(p.display_name == "(de-identified)" and p.birth_date is None for p in patients)
    assert store.get_patient("REAL-1").display_name == "(de-identified)"
    assert len(Store(url, identity=Identity("a", Role.ADMIN)).audit_entries()) == before


def test_only_admins_and_clinicians_read_the_audit_trail(url: str) -> None:
    assert _as(url, Role.ADMIN).audit_entries("REAL-1")  # who saw or changed it
    assert _as(url, Role.CLINICIAN).audit_entries("REAL-1")
    with pytest.raises(AccessDeniedError):
        _as(url, Role.RESEARCHER).audit_entries("REAL-1")
    with pytest.raises(AccessDeniedError):
        _as(url, Role.TRAINER).audit_entries("REAL-1")
    with pytest.raises(AccessDeniedError):
        _as(url, Role.TRAINER).audit_entries()


def test_trainers_work_with_demo_patients_only(url: str) -> None:
    store = _as(url, Role.TRAINER)
    for _name, call in _forbidden(store, "REAL-1"):
        with pytest.raises(AccessDeniedError, match="trainer"):
            call()
    with pytest.raises(AccessDeniedError, match="synthetic"):
        store.get_patient("REAL-1")
    assert [p.patient_id for p in store.list_patients()] == ["SYN-1"]
    assert store.get_patient("SYN-1").display_name == "Demo Person"
    saved = store.save_record("assessment", "SYN-1", {"x": 5})
    assert store.latest_records("assessment", "SYN-1")[-1].record_id == saved.record_id
    store.add_patient(
        "SYN-2",
        "Another Demo",
        birth_date=None,
        sex="unknown",
        weight_kg=None,
        synthetic=True,
    )


def test_clinicians_read_and_write(url: str) -> None:
    store = _as(url, Role.CLINICIAN)
    assert store.get_patient("REAL-1").display_name == "Real Person"
    rec = store.latest_records("assessment", "REAL-1")[0]
    store.save_record(
        "assessment",
        "REAL-1",
        {"x": 2},
        record_id=rec.record_id,
        reason="typo",
        based_on_version=1,
    )
    assert store.verify_audit().ok


def test_the_role_comes_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KAPTOOLS_USER", "dr-env")
    monkeypatch.delenv("KAPTOOLS_ROLE", raising=False)
    assert current_identity() == Identity("dr-env", Role.CLINICIAN)
    monkeypatch.setenv("KAPTOOLS_ROLE", "Researcher")
    assert current_identity().role is Role.RESEARCHER
    monkeypatch.setenv("KAPTOOLS_ROLE", "superuser")
    with pytest.raises(ConfigurationError, match=r"KAPTOOLS_ROLE 'superuser'.*clinician"):
        current_identity()
