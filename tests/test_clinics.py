"""Clinicians see only their own clinic's patients (enforced in the store, so in every
dashboard, export and CLI command built on it); the signed-in identity authors every
write; researchers get the cohort de-identified; exports are audit-logged.

Every forbidden action is tried and must be refused with AccessDeniedError, writing
nothing (the audit log, read by an admin, does not grow).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from kaptools import cli
from kaptools.alerts import Alert, AlertLevel
from kaptools.demo import SESSION_SHOWCASE_PATIENT, build_demo_database
from kaptools.errors import AccessDeniedError, ConfigurationError
from kaptools.fhir import cohort_bundle, patient_bundle
from kaptools.identity import DEFAULT_CLINIC, Identity, Role, current_identity
from kaptools.patient_alerts import sync_patient_alerts
from kaptools.sessions import parse_dosing_session
from kaptools.sessions.storage import save_dosing_session
from kaptools.store import Store
from kaptools.tidy import assessments_long

NORTH = Identity("dr-north", Role.CLINICIAN, "north")
SOUTH = Identity("dr-south", Role.CLINICIAN, "south")
ADMIN = Identity("admin", Role.ADMIN)
PHQ9 = {"instrument": "phq9", "answers": [1] * 9, "administered_on": "2026-11-02"}


def _alert() -> Alert:
    return Alert(rule_id="r1", level=AlertLevel.WARNING, message="m", action="a", source="s")


@pytest.fixture
def url(tmp_path: Path) -> str:
    url = f"sqlite:///{tmp_path / 'clinics.sqlite'}"
    for who, pid in ((NORTH, "N-1"), (SOUTH, "S-1")):
        store = Store(url, identity=who)
        store.add_patient(
            pid, f"Name {pid}", birth_date=None, sex="female", weight_kg=60, synthetic=False
        )
        rec = store.save_record("assessment", pid, {**PHQ9, "note": "free text"})
        store.raise_alert(pid, _alert(), source_kind="assessment", source_ref=rec.record_id)
        store.close()
    return url


def _audit_rows(url: str) -> int:
    return len(Store(url, identity=ADMIN).audit_entries())


def _south_record(url: str):
    return Store(url, identity=SOUTH).latest_records("assessment", "S-1")[0]


def _south_alert(url: str):
    return Store(url, identity=SOUTH).patient_alerts("S-1")[0]


FORBIDDEN = {
    "read patient": lambda s, url: s.get_patient("S-1"),
    "read records": lambda s, url: s.latest_records("assessment", "S-1"),
    "read history": lambda s, url: s.record_history(_south_record(url).record_id),
    "read records of patients": lambda s, url: s.latest_records_of_patients("assessment", ["S-1"]),
    "read audit trail": lambda s, url: s.audit_entries("S-1"),
    "write": lambda s, url: s.save_record("assessment", "S-1", PHQ9),
    "correct": lambda s, url: s.save_record(
        "assessment",
        "S-1",
        PHQ9,
        record_id=_south_record(url).record_id,
        reason="fix",
        based_on_version=1,
    ),
    "read alerts": lambda s, url: s.patient_alerts("S-1"),
    "read one alert": lambda s, url: s.get_alert(_south_alert(url).alert_id),
    "raise alert": lambda s, url: s.raise_alert(
        "S-1", _alert(), source_kind="assessment", source_ref="x"
    ),
    "acknowledge alert": lambda s, url: s.acknowledge_alert(
        _south_alert(url).alert_id, note="seen"
    ),
    "sync alerts": lambda s, url: sync_patient_alerts(s, "S-1"),
    "export one": lambda s, url: patient_bundle(s, "S-1"),
    "export listed": lambda s, url: cohort_bundle(s, ["S-1"], progress=False),
}


@pytest.mark.parametrize("action", sorted(FORBIDDEN))
def test_a_clinician_cannot_touch_another_clinics_patient(url: str, action: str) -> None:
    north = Store(url, identity=NORTH)
    before = _audit_rows(url)
    with pytest.raises(AccessDeniedError, match=r"dr-north \(clinician, clinic 'north'\).*S-1"):
        FORBIDDEN[action](north, url)
    assert _audit_rows(url) == before  # nothing written, not even a log row
    assert len(Store(url, identity=SOUTH).latest_records("assessment", "S-1")) == 1


def test_lists_searches_alerts_and_exports_hold_only_the_own_clinic(url: str) -> None:
    north = Store(url, identity=NORTH)
    assert [p.patient_id for p in north.list_patients()] == ["N-1"]
    assert north.list_patients()[0].clinic == "north"
    assert {r.patient_id for r in north.latest_records_of_patients("assessment")} == {"N-1"}
    assert set(assessments_long(north)["patient_id"]) == {"N-1"}
    bundle = cohort_bundle(north, progress=False)
    subjects = {e.resource.id for e in bundle.entry if e.resource.get_resource_type() == "Patient"}
    assert subjects == {"N-1"}
    rows = north.audit_entries()
    assert rows and {r.patient_id for r in rows} <= {"N-1", None}
    # its own patient: read, write, alerts
    assert north.get_patient("N-1").display_name == "Name N-1"
    assert north.patient_alerts("N-1")


def test_new_patients_go_to_the_clinic_of_whoever_adds_them(url: str) -> None:
    north = Store(url, identity=NORTH)
    p = north.add_patient("N-2", "New", birth_date=None, sex="male", weight_kg=None)
    assert p.clinic == "north"
    with pytest.raises(AccessDeniedError):
        Store(url, identity=SOUTH).get_patient("N-2")


def test_cli_export_and_alerts_refuse_another_clinic(
    url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys
) -> None:
    monkeypatch.setenv("KAPTOOLS_USER", "dr-north")
    monkeypatch.setenv("KAPTOOLS_CLINIC", "north")
    out = tmp_path / "out.json"
    before = _audit_rows(url)
    argv = ["export", "--fhir", "--database", url, "--patient", "S-1", "--out", str(out), "-q"]
    assert cli.main(argv) == 2
    assert "another clinic" in capsys.readouterr().err
    assert not out.exists()
    assert cli.main(["alerts", "list", "S-1", "--database", url]) == 2
    assert "another clinic" in capsys.readouterr().err
    assert _audit_rows(url) == before
    # every patient: the own clinic's only, each export logged
    assert cli.main(["export", "--fhir", "--database", url, "--out", str(out), "-q"]) == 0
    ids = {
        e["resource"]["id"]
        for e in json.loads(out.read_text())["entry"]
        if e["resource"]["resourceType"] == "Patient"
    }
    assert ids == {"N-1"}
    (row,) = [r for r in Store(url, identity=ADMIN).audit_entries("N-1") if r.action == "export"]
    assert (row.who, row.kind) == ("dr-north", "fhir")
    assert "patient" in row.detail and "assessments" in row.detail


def test_exports_and_cli_reads_are_audit_logged(url: str, monkeypatch, capsys) -> None:
    north = Store(url, identity=NORTH)
    patient_bundle(north, "N-1", sections=["patient", "assessments"])
    row = Store(url, identity=ADMIN).audit_entries("N-1")[-1]
    assert (row.action, row.who, row.kind) == ("export", "dr-north", "fhir")
    assert "patient, assessments" in row.detail
    monkeypatch.setenv("KAPTOOLS_USER", "dr-north")
    monkeypatch.setenv("KAPTOOLS_CLINIC", "north")
    assert cli.main(["alerts", "list", "N-1", "--database", url]) == 0
    row = Store(url, identity=ADMIN).audit_entries("N-1")[-1]
    assert (row.action, row.who, row.kind, row.detail) == (
        "view",
        "dr-north",
        "alerts",
        "kaptools alerts list",
    )


def test_the_clinic_comes_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KAPTOOLS_USER", "dr-env")
    monkeypatch.delenv("KAPTOOLS_CLINIC", raising=False)
    monkeypatch.delenv("KAPTOOLS_ROLE", raising=False)
    assert current_identity().clinic == DEFAULT_CLINIC
    monkeypatch.setenv("KAPTOOLS_CLINIC", " North ")
    assert current_identity() == Identity("dr-env", Role.CLINICIAN, "north")
    monkeypatch.setenv("KAPTOOLS_CLINIC", "north'; drop table")
    with pytest.raises(ConfigurationError, match=r"KAPTOOLS_CLINIC .* is not a clinic code"):
        current_identity()


# ---- the signed-in identity authors every write ------------------------------------


def test_a_typed_author_that_is_not_the_signed_in_person_is_refused(url: str) -> None:
    north = Store(url, identity=NORTH)
    before = _audit_rows(url)
    attempts = [
        lambda: north.save_record("assessment", "N-1", PHQ9, author="dr-someone-else"),
        lambda: north.add_patient(
            "N-9", "X", birth_date=None, sex="male", weight_kg=None, author="mallory"
        ),
        lambda: north.raise_alert(
            "N-1", _alert(), source_kind="assessment", source_ref="y", who="mallory"
        ),
        lambda: north.acknowledge_alert(
            north.patient_alerts("N-1")[0].alert_id, note="seen", who="mallory"
        ),
        lambda: north.log("view", patient_id="N-1", who="mallory"),
    ]
    for attempt in attempts:
        with pytest.raises(AccessDeniedError, match=r"is not the signed-in person 'dr-north'"):
            attempt()
    assert _audit_rows(url) == before
    # the signed-in person authors the write and its audit row, named or not
    rec = north.save_record("assessment", "N-1", PHQ9)
    rec2 = north.save_record("assessment", "N-1", PHQ9, author="dr-north")
    assert rec.author == rec2.author == "dr-north"
    rows = Store(url, identity=ADMIN).audit_entries("N-1")[-2:]
    assert [r.who for r in rows] == ["dr-north", "dr-north"]


def test_a_hold_override_in_another_clinicians_name_is_refused() -> None:
    """A dose-hold override names its clinician: it must be the signed-in one."""
    demo = Store.in_memory()
    build_demo_database(demo, n=5, seed=2026, progress=False)  # SYN-0005: an override
    overridden = [
        r
        for r in demo.latest_records("dosing_session", SESSION_SHOWCASE_PATIENT)
        if r.payload.get("hold_override")
    ]
    assert overridden, "the demo has a session with a hold override"
    session = parse_dosing_session(overridden[0].payload)
    store = Store.in_memory().as_identity(Identity("dr-a", Role.CLINICIAN))
    store.add_patient(session.patient_id, "P", birth_date=None, sex="female", weight_kg=70)
    with pytest.raises(AccessDeniedError, match=r"hold_override\.clinician"):
        save_dosing_session(store, session)
    assert store.latest_records("dosing_session", session.patient_id) == []


# ---- researchers: cohort and de-identified data only -------------------------------


def test_researchers_get_the_cohort_without_names_or_free_text(url: str) -> None:
    researcher = Store(url, identity=Identity("res", Role.RESEARCHER))
    records = researcher.latest_records_of_patients("assessment")
    assert {r.patient_id for r in records} == {"N-1", "S-1"}  # the cohort
    for r in records:
        assert "note" not in r.payload and r.payload["answers"] == [1] * 9
        assert r.author == "(de-identified)" and r.reason is None
    assert all(p.display_name == "(de-identified)" for p in researcher.list_patients())
    frame = assessments_long(researcher)
    assert set(frame["entered_by"]) == {"(de-identified)"}
    for forbidden in (
        lambda: researcher.latest_records("assessment", "N-1"),
        lambda: researcher.patient_alerts("N-1"),
        lambda: patient_bundle(researcher, "N-1"),
        lambda: researcher.save_record("assessment", "N-1", PHQ9),
    ):
        with pytest.raises(AccessDeniedError, match=r"\(researcher\) may not"):
            forbidden()


def test_admins_read_no_clinical_records(url: str) -> None:
    with pytest.raises(AccessDeniedError, match=r"\(admin\) may not"):
        Store(url, identity=ADMIN).latest_records_of_patients("assessment")
