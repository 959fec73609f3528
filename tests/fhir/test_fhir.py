"""FHIR export validates against fhir.resources' R4B models and round-trips assessments;
import validates every entry first, reports what it does not recognise, writes nothing partial."""

from __future__ import annotations

import copy
import json
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from fhir.resources.R4B.bundle import Bundle

from kaptools import cli
from kaptools.assessments import assessments
from kaptools.demo import build_demo_database
from kaptools.errors import InvalidInputError
from kaptools.fhir import (
    VITAL_SIGN_CODES,
    FhirImportError,
    cohort_bundle,
    import_bundle,
    patient_bundle,
    questionnaire,
)
from kaptools.scores import definition
from kaptools.sessions.storage import dosing_sessions
from kaptools.store import Store


@pytest.fixture(scope="module")
def demo() -> Store:
    store = Store.in_memory()
    build_demo_database(store, n=4, seed=5)
    return store


def empty_copy_of_patients(source: Store) -> Store:
    target = Store.in_memory()
    for p in source.list_patients():
        target.add_patient(
            p.patient_id,
            p.display_name,
            birth_date=p.birth_date,
            sex=p.sex,
            weight_kg=p.weight_kg,
        )
    return target


def resources(bundle: Bundle, kind: str) -> list[Any]:
    return [e.resource for e in bundle.entry or () if e.resource.get_resource_type() == kind]


def test_patient_bundle_holds_every_resource_kind_and_revalidates(demo) -> None:
    """Patient, QuestionnaireResponse, Observation, CarePlan, Questionnaire; JSON re-parses."""
    pid = demo.list_patients()[0].patient_id
    bundle = patient_bundle(demo, pid)
    kinds = Counter(e.resource.get_resource_type() for e in bundle.entry)
    assert {"Patient", "QuestionnaireResponse", "Observation", "CarePlan", "Questionnaire"} <= set(
        kinds
    )
    again = Bundle.model_validate_json(bundle.model_dump_json())
    assert len(again.entry) == len(bundle.entry) and bundle.type == "collection"
    [patient] = resources(bundle, "Patient")
    assert patient.meta.security[0].code == "HTEST"  # synthetic


def test_totals_carry_the_instruments_loinc_code_and_value(demo) -> None:
    """One total Observation per assessment, LOINC total code, value = the stored total."""
    pid = demo.list_patients()[0].patient_id
    bundle = patient_bundle(demo, pid)
    stored = assessments(demo, pid)
    totals = [
        o for o in resources(bundle, "Observation") if o.category[0].coding[0].code == "survey"
    ]
    assert len(totals) == len(stored)
    by_code = Counter(o.code.coding[0].code for o in totals)
    expected = Counter(definition(a.instrument).loinc.total for a in stored)  # type: ignore[union-attr]
    assert by_code == expected
    assert sorted(float(o.valueQuantity.value) for o in totals) == sorted(
        float(a.result.total) for a in stored
    )


def test_vital_signs_use_the_vital_signs_loinc_codes(demo) -> None:
    """Blood pressure is a panel with systolic/diastolic components; each reading is kept."""
    pid = demo.list_patients()[0].patient_id
    bundle = patient_bundle(demo, pid, sections=["patient", "vitals"])
    vitals = resources(bundle, "Observation")
    assert all(o.category[0].coding[0].code == "vital-signs" for o in vitals)
    bp = [o for o in vitals if o.code.coding[0].code == VITAL_SIGN_CODES["blood_pressure"][0]]
    readings = [
        v for s in dosing_sessions(demo, pid) for v in s.session.vitals if v.systolic is not None
    ]
    assert len(bp) == len(readings)
    comps = {c.code.coding[0].code for o in bp for c in o.component}
    assert comps == {"8480-6", "8462-4"}
    assert {o.code.coding[0].code for o in vitals} <= {c for c, _, _ in VITAL_SIGN_CODES.values()}


def test_careplan_and_open_alert_flags(demo) -> None:
    """The plan's sessions are activities (doses for clinician confirmation); open alerts flag."""
    with_alert = [
        p.patient_id
        for p in demo.list_patients()
        if demo.patient_alerts(p.patient_id, open_only=True)
    ]
    assert with_alert, "the demo has patients with an open alert"
    bundle = patient_bundle(demo, with_alert[0], sections=["plan", "alerts"])
    [plan] = resources(bundle, "CarePlan")
    assert any("clinician confirmation" in a.detail.description for a in plan.activity)
    flags = resources(bundle, "Flag")
    assert flags and all("988" in f.code.text and f.status == "active" for f in flags)


def test_questionnaires_only_for_instruments_whose_wording_ships() -> None:
    """PHQ-9 has a Questionnaire with its 9 items; an instrument without wording is refused."""
    q = questionnaire("phq9")
    assert [i.linkId for i in q.item] == [f"phq9_item{n}" for n in range(1, 10)]
    assert q.code[0].code == "44249-1"
    no_wording = [i for i in ("pcl5", "qids_sr16", "madrs") if definition(i).item_texts is None]
    for inst in no_wording:
        with pytest.raises(InvalidInputError, match="wording"):
            questionnaire(inst)


def test_round_trip_of_assessments(demo) -> None:
    """Export patient + assessments, import into an empty copy: the same answers and dates."""
    target = empty_copy_of_patients(demo)
    bundle = cohort_bundle(demo, sections=["patient", "assessments"])
    report = import_bundle(target, bundle.model_dump_json())
    for p in demo.list_patients():
        a = [
            (x.instrument, x.administered_on, x.result.answers)
            for x in assessments(demo, p.patient_id)
        ]
        b = [
            (x.instrument, x.administered_on, x.result.answers)
            for x in assessments(target, p.patient_id)
        ]
        assert a == b
    assert len(report.assessments) == sum(
        len(assessments(demo, p.patient_id)) for p in demo.list_patients()
    )
    with_loinc = [
        a
        for p in demo.list_patients()
        for a in assessments(demo, p.patient_id)
        if definition(a.instrument).loinc is not None
    ]
    assert report.checked_observations == len(with_loinc) > 0


def _bundle_json(demo: Store) -> dict[str, Any]:
    pid = demo.list_patients()[0].patient_id
    return json.loads(
        patient_bundle(demo, pid, sections=["patient", "assessments"]).model_dump_json(
            exclude_none=True
        )
    )


def _first(data: dict[str, Any], kind: str) -> dict[str, Any]:
    return next(e["resource"] for e in data["entry"] if e["resource"]["resourceType"] == kind)


@pytest.mark.parametrize(
    ("damage", "fragment"),
    [
        (
            lambda d: _first(d, "QuestionnaireResponse")["item"][0]["answer"][0].update(
                valueInteger=7
            ),
            "must be an integer",
        ),
        (
            lambda d: _first(d, "QuestionnaireResponse").update(questionnaire="urn:other:q"),
            "not a kaptools instrument",
        ),
        (
            lambda d: _first(d, "QuestionnaireResponse")["item"][0].update(linkId="item_1"),
            "linkId 'item_1'",
        ),
        (lambda d: _first(d, "QuestionnaireResponse")["item"].pop(), "incomplete"),
        (
            lambda d: _first(d, "QuestionnaireResponse").update(
                subject={"reference": "Patient/X-9"}
            ),
            "not a patient in this store",
        ),
        (
            lambda d: next(
                e["resource"] for e in d["entry"] if e["resource"]["resourceType"] == "Observation"
            )["valueQuantity"].update(value=99),
            "differs from the score",
        ),
        (
            lambda d: d["entry"].append(
                {
                    "resource": {
                        "resourceType": "Flag",
                        "status": "active",
                        "code": {"text": "x"},
                        "subject": {"reference": "Patient/a"},
                    }
                }
            ),
            "Flag is not imported",
        ),
    ],
)
def test_import_reports_each_problem_and_writes_nothing(demo, damage, fragment) -> None:
    """One bad entry among many: FhirImportError names it; the store is unchanged."""
    target = empty_copy_of_patients(demo)
    data = copy.deepcopy(_bundle_json(demo))
    damage(data)
    with pytest.raises(FhirImportError) as err:
        import_bundle(target, json.dumps(data))
    assert fragment in str(err.value) and "nothing was written" in str(err.value)
    assert all(not assessments(target, p.patient_id) for p in target.list_patients())


def test_import_refuses_what_is_not_a_bundle(demo) -> None:
    """Invalid JSON or a resource that is not a Bundle: refused by name."""
    target = empty_copy_of_patients(demo)
    for bad in (
        "{",
        json.dumps({"resourceType": "Patient"}),
        json.dumps({"resourceType": "Bundle", "type": "nonsense"}),
    ):
        with pytest.raises(FhirImportError, match="not a valid FHIR Bundle"):
            import_bundle(target, bad)


def test_cli_export_and_import(demo, tmp_path: Path, capsys) -> None:
    """kaptools export --fhir writes a Bundle; kaptools import --fhir reads it back."""
    url = f"sqlite:///{tmp_path / 'db.sqlite'}"
    source = Store(url)
    build_demo_database(source, n=2, seed=3)
    out = tmp_path / "bundle.json"
    assert (
        cli.main(
            [
                "export",
                "--fhir",
                "--database",
                url,
                "--out",
                str(out),
                "--sections",
                "patient,assessments",
                "-q",
            ]
        )
        == 0
    )
    Bundle.model_validate_json(out.read_text(encoding="utf-8"))
    target_url = f"sqlite:///{tmp_path / 'target.sqlite'}"
    target = Store(target_url)
    for p in source.list_patients():
        target.add_patient(
            p.patient_id,
            p.display_name,
            birth_date=p.birth_date,
            sex=p.sex,
            weight_kg=p.weight_kg,
        )
    importing = ["import", str(out), "--fhir", "--database", target_url]
    # --author may only name the signed-in person (KAPTOOLS_USER): another is refused
    assert cli.main([*importing, "--author", "importer"]) == 2
    assert "is not the signed-in person 'pytest'" in capsys.readouterr().err
    assert target.latest_records_of_patients("assessment") == []
    assert cli.main(importing) == 0
    assert "Imported" in capsys.readouterr().out
    assert {r.author for r in target.latest_records_of_patients("assessment")} == {"pytest"}
    assert (
        cli.main(
            ["export", "--fhir", "--database", url, "--out", str(out), "--sections", "nonsense"]
        )
        == 2
    )


# ---- vital signs: exported per reading, imported into the dosing session they belong to ----
def _vitals_json(store: Store, pid: str) -> dict[str, Any]:
    bundle = patient_bundle(store, pid, sections=["patient", "vitals"])
    return json.loads(bundle.model_dump_json(exclude_none=True))


def _versions(store: Store, pid: str) -> list[int]:
    return [s.version for s in dosing_sessions(store, pid)]


def test_vital_signs_round_trip_into_their_own_sessions_unchanged(demo) -> None:
    """Export every reading of a patient and import it back: each is recognised value for
    value in its session, no new version is written."""
    pid = demo.list_patients()[1].patient_id
    before = _versions(demo, pid)
    report = import_bundle(demo, json.dumps(_vitals_json(demo, pid)))
    readings = sum(len(s.session.vitals) for s in dosing_sessions(demo, pid))
    assert report.matched_readings == readings > 0
    assert (report.added_readings, report.sessions) == (0, ())
    assert _versions(demo, pid) == before


def _held_session_store() -> tuple[Store, str, Any]:
    """A store with one patient and one in-progress session holding only its pre-dose
    reading; and the same session with its later readings (what another system sends)."""
    import dataclasses

    from kaptools.scenarios import build_scenario_database, scenario
    from kaptools.sessions import VitalSigns, VitalsTimepoint, save_dosing_session

    store = Store.in_memory()
    build_scenario_database(store, progress=False)
    pid = scenario("dose-held").patient_id
    saved = dosing_sessions(store, pid)[-1]
    fuller = dataclasses.replace(
        saved.session,
        vitals=(
            *saved.session.vitals,
            VitalSigns(VitalsTimepoint.OTHER, 15, 176, 104, 80, 98, 16),
            VitalSigns(VitalsTimepoint.OTHER, 30, 168, 100, None, 97, None),
        ),
    )
    source = Store.in_memory()
    source.add_patient(pid, "x", birth_date=None, sex="male", weight_kg=70)
    record = save_dosing_session(source, fuller)
    bundle = _vitals_json(source, pid)
    for entry in bundle["entry"]:  # the readings name the target store's session
        for ident in entry["resource"].get("identifier", ()):
            ident["value"] = ident["value"].replace(record.record_id, saved.record_id)
    return store, pid, (saved, fuller, bundle)


def test_new_readings_are_added_to_their_session_as_a_new_version() -> None:
    """Readings the session lacks are added (a new version with a reason naming the import);
    the stored readings equal those exported, value for value."""
    store, pid, (saved, fuller, bundle) = _held_session_store()
    report = import_bundle(store, json.dumps(bundle))
    assert report.sessions == (saved.record_id,)
    assert (report.added_readings, report.matched_readings) == (2, 1)
    latest = dosing_sessions(store, pid)[-1]
    assert latest.version == saved.version + 1
    assert "imported from a FHIR bundle by pytest" in (latest.reason or "")
    assert latest.session.vitals == fuller.vitals
    # again: everything is recognised now, nothing is written
    again = import_bundle(store, json.dumps(bundle))
    assert (again.added_readings, again.matched_readings) == (0, 3)
    assert dosing_sessions(store, pid)[-1].version == latest.version


def _vital(bundle: dict[str, Any], code: str) -> dict[str, Any]:
    return next(
        e["resource"]
        for e in bundle["entry"]
        if e["resource"]["resourceType"] == "Observation"
        and e["resource"]["code"]["coding"][0]["code"] == code
        and any(x.get("valueInteger") == 15 for x in e["resource"].get("extension", ()))
    )


@pytest.mark.parametrize(
    ("damage", "fragment"),
    [
        (lambda b: _vital(b, "8867-4").pop("identifier"), "names no dosing session"),
        (
            lambda b: _vital(b, "8867-4")["identifier"][0].update(value="no-such-session"),
            "is not in this store",
        ),
        (lambda b: _vital(b, "8867-4").pop("extension"), "no time point"),
        (
            lambda b: _vital(b, "8867-4")["extension"][0].update(valueCode="lunchtime"),
            "'lunchtime' is not one of",
        ),
        (
            lambda b: _vital(b, "8867-4")["valueQuantity"].update(code="/h", unit="/h"),
            "unit '/h'",
        ),
        (lambda b: _vital(b, "8867-4")["valueQuantity"].update(value=80.5), "not a whole number"),
        (lambda b: _vital(b, "8867-4")["valueQuantity"].update(value=400), "vitals.heart_rate"),
        (lambda b: _vital(b, "85354-9")["component"].pop(), "both a systolic and a diastolic"),
        (
            lambda b: _vital(b, "59408-5").update(subject={"reference": "Patient/X-9"}),
            "not a patient in this store",
        ),
        (
            lambda b: next(
                e["resource"]
                for e in b["entry"]
                if e["resource"]["resourceType"] == "Observation"
                and e["resource"]["code"]["coding"][0]["code"] == "85354-9"
            )["component"][0]["valueQuantity"].update(value=150),
            "differs from the stored 186",
        ),
    ],
)
def test_bad_vital_signs_are_reported_and_nothing_is_written(damage, fragment) -> None:
    """One bad vital-sign Observation among good ones: FhirImportError names the entry and
    the problem; no session gets a new version and no assessment is stored."""
    store, pid, (saved, _, bundle) = _held_session_store()
    data = copy.deepcopy(bundle)
    damage(data)
    with pytest.raises(FhirImportError) as err:
        import_bundle(store, json.dumps(data))
    assert fragment in str(err.value) and "nothing was written" in str(err.value)
    assert dosing_sessions(store, pid)[-1].version == saved.version


def test_vitals_of_sessions_another_store_holds_stop_the_whole_import(demo) -> None:
    """Assessments and vitals into a store that has the patients but not their sessions:
    the vitals are reported (their session is not there) and no assessment is written."""
    target = empty_copy_of_patients(demo)
    pid = demo.list_patients()[0].patient_id
    bundle = patient_bundle(demo, pid, sections=["patient", "assessments", "vitals"])
    with pytest.raises(FhirImportError, match="is not in this store") as err:
        import_bundle(target, bundle.model_dump_json())
    assert "nothing was written" in str(err.value)
    assert not assessments(target, pid) and not dosing_sessions(target, pid)


def test_a_failure_part_way_through_the_writes_leaves_nothing_behind(demo, monkeypatch) -> None:
    """The bundle is checked first; if the database still fails on a later record (here the
    third assessment), the assessments already written are rolled back with it."""
    import kaptools.fhir.importing as fhir  # the module that writes the assessments
    from kaptools.errors import StoreError

    target = empty_copy_of_patients(demo)
    bundle = cohort_bundle(demo, sections=["patient", "assessments"]).model_dump_json()
    audit_before = len(target.audit_entries())
    real, calls = fhir.record_assessment, []

    def failing_on_the_third(*args: Any, **kwargs: Any) -> Any:
        calls.append(1)
        if len(calls) == 3:
            raise StoreError("The database refused the write; nothing was saved (test).")
        return real(*args, **kwargs)

    monkeypatch.setattr(fhir, "record_assessment", failing_on_the_third)
    with pytest.raises(StoreError):
        import_bundle(target, bundle)
    assert len(calls) == 3
    assert all(assessments(target, p.patient_id) == [] for p in target.list_patients())
    assert len(target.audit_entries()) == audit_before


@pytest.mark.parametrize("kind", ["NoSuchResource", 7, None, {"a": 1}])
def test_an_entry_of_an_unknown_resource_type_is_named_not_a_key_error(demo, kind) -> None:
    """Found by the fuzz: an unknown resourceType ended the import with the FHIR library's
    KeyError. It is refused naming the entry and its type; nothing is written."""
    target = empty_copy_of_patients(demo)
    data = copy.deepcopy(_bundle_json(demo))
    data["entry"][1]["resource"]["resourceType"] = kind
    with pytest.raises(FhirImportError, match=r"entry 2.*resourceType") as err:
        import_bundle(target, json.dumps(data))
    assert "nothing was written" in str(err.value)
    assert all(not assessments(target, p.patient_id) for p in target.list_patients())
