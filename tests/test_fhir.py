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
            author="test",
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
    report = import_bundle(target, bundle.model_dump_json(), author="importer")
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
        import_bundle(target, json.dumps(data), author="importer")
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
            import_bundle(target, bad, author="importer")


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
            author="t",
        )
    assert (
        cli.main(["import", str(out), "--fhir", "--database", target_url, "--author", "importer"])
        == 0
    )
    assert "Imported" in capsys.readouterr().out
    assert (
        cli.main(
            ["export", "--fhir", "--database", url, "--out", str(out), "--sections", "nonsense"]
        )
        == 2
    )
