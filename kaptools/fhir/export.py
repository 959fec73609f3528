"""FHIR export: a patient's (or a cohort's) resources as a ``collection`` Bundle, each
export audit-logged (see :mod:`kaptools.fhir`)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import Any

from fhir.resources.R4B.bundle import Bundle
from fhir.resources.R4B.careplan import CarePlan
from fhir.resources.R4B.flag import Flag
from fhir.resources.R4B.observation import Observation
from fhir.resources.R4B.patient import Patient as FhirPatient
from fhir.resources.R4B.questionnaire import Questionnaire
from fhir.resources.R4B.questionnaireresponse import QuestionnaireResponse

from kaptools.assessments import assessments
from kaptools.errors import InvalidInputError
from kaptools.fhir.codes import (
    _GENDER,
    DOSING_SESSION_SYSTEM,
    FHIR_VERSION,
    LOINC,
    MINUTES_AFTER_DOSE_URL,
    PATIENT_ID_SYSTEM,
    QUESTIONNAIRE_URL,
    RECORD_ID_SYSTEM,
    UCUM,
    VITAL_SIGN_CODES,
    VITALS_TIMEPOINT_URL,
    category,
    codeable,
    fhir_id,
    quantity,
    ref,
)
from kaptools.progress import progress_bar
from kaptools.protocol import Protocol, default_protocol
from kaptools.scheduling.storage import load_latest_plan
from kaptools.scores import Instrument, definition, item_columns
from kaptools.sessions.storage import dosing_sessions
from kaptools.store import Store

__all__ = ["SECTIONS", "cohort_bundle", "patient_bundle", "questionnaire"]


def _patient(p: Any) -> FhirPatient:
    data: dict[str, Any] = {
        "resourceType": "Patient",
        "id": fhir_id(p.patient_id),
        "identifier": [{"system": PATIENT_ID_SYSTEM, "value": p.patient_id}],
        "name": [{"text": p.display_name}],
        "gender": _GENDER.get(str(p.sex).lower(), "unknown"),
    }
    if p.birth_date is not None:
        data["birthDate"] = p.birth_date.isoformat()
    if p.synthetic:
        data["meta"] = {
            "security": [
                {
                    "system": "http://terminology.hl7.org/CodeSystem/v3-ActReason",
                    "code": "HTEST",
                    "display": "test health data",
                }
            ]
        }
    return FhirPatient.model_validate(data)


def questionnaire(instrument: Instrument | str) -> Questionnaire:
    """The Questionnaire of an instrument whose item wording ships (PHQ-9, GAD-7, …).

    Raises InvalidInputError for an instrument whose wording kaptools does not ship.
    """
    defn = definition(instrument)
    if defn.item_texts is None:
        raise InvalidInputError(
            f"instrument: kaptools does not ship the {defn.name}'s wording (licence), so it "
            f"has no Questionnaire; its responses still export with their item links."
        )
    options = [
        {"valueCoding": {"code": str(v), "display": defn.answer_label(v) or str(v)}}
        for v in range(defn.item_min, defn.item_max + 1)
    ]
    items = []
    for n, (name, text) in enumerate(
        zip(item_columns(defn.instrument), defn.item_texts, strict=True), 1
    ):
        item: dict[str, Any] = {"linkId": name, "text": text, "type": "integer"}
        if defn.loinc is not None and defn.loinc.items is not None:
            item["code"] = [{"system": LOINC, "code": defn.loinc.items[n - 1]}]
        items.append(item)
    data: dict[str, Any] = {
        "resourceType": "Questionnaire",
        "id": defn.instrument.value.replace("_", "-"),
        "url": QUESTIONNAIRE_URL + defn.instrument.value,
        "name": defn.name.replace("-", ""),
        "title": defn.title,
        "status": "active",
        "description": f"{defn.title}. Source: {defn.source}. Answers {defn.item_min}–"
        f"{defn.item_max}: " + "; ".join(o["valueCoding"]["display"] for o in options),
        "item": items,
    }
    if defn.loinc is not None:
        data["code"] = [{"system": LOINC, "code": defn.loinc.panel}]
    return Questionnaire.model_validate(data)


def _response_and_total(patient_id: str, a: Any) -> list[Any]:
    defn = definition(a.instrument)
    qr_id = fhir_id(f"qr-{a.record_id}")
    qr = QuestionnaireResponse.model_validate(
        {
            "resourceType": "QuestionnaireResponse",
            "id": qr_id,
            "identifier": {"system": RECORD_ID_SYSTEM, "value": f"{a.record_id}/v{a.version}"},
            "questionnaire": QUESTIONNAIRE_URL + defn.instrument.value,
            "status": "completed",
            "subject": ref("Patient", fhir_id(patient_id)),
            "authored": a.administered_on.isoformat(),
            "author": {"display": a.entered_by},
            "item": [
                {"linkId": name, "answer": [{"valueInteger": int(v)}]}
                for name, v in zip(item_columns(defn.instrument), a.result.answers, strict=True)
                if v is not None
            ],
        }
    )
    out: list[Any] = [qr]
    if defn.loinc is not None:
        out.append(
            Observation.model_validate(
                {
                    "resourceType": "Observation",
                    "id": fhir_id(f"total-{a.record_id}"),
                    "status": "final",
                    "category": category("survey"),
                    "code": codeable(LOINC, defn.loinc.total, f"{defn.name} total score"),
                    "subject": ref("Patient", fhir_id(patient_id)),
                    "effectiveDateTime": a.administered_on.isoformat(),
                    "valueQuantity": {
                        "value": a.result.total,
                        "unit": "{score}",
                        "system": UCUM,
                        "code": "{score}",
                    },
                    "interpretation": [{"text": a.result.band.label}],
                    "derivedFrom": [ref("QuestionnaireResponse", qr_id)],
                }
            )
        )
    return out


def _vitals(patient_id: str, saved: Any) -> list[Observation]:
    s = saved.session
    out = []
    for i, v in enumerate(s.vitals):
        # FHIR needs a time zone with a time; kaptools keeps clinic-local times without
        # one, so the reading is dated and its time after the dose goes in the note.
        when = s.session_date.isoformat()
        after = "" if v.minutes_after_dose is None else f", {v.minutes_after_dose} min after dose"
        extension: list[dict[str, Any]] = [
            {"url": VITALS_TIMEPOINT_URL, "valueCode": v.timepoint.value}
        ]
        if v.minutes_after_dose is not None:
            extension.append({"url": MINUTES_AFTER_DOSE_URL, "valueInteger": v.minutes_after_dose})
        common = {
            "resourceType": "Observation",
            "status": "final",
            "category": category("vital-signs"),
            "subject": ref("Patient", fhir_id(patient_id)),
            "effectiveDateTime": when,
            "identifier": [{"system": DOSING_SESSION_SYSTEM, "value": saved.record_id}],
            "extension": extension,
            "note": [{"text": f"{v.timepoint.value}{after} (dosing session {saved.record_id})"}],
        }
        stem = fhir_id(f"vs-{saved.record_id}-{i}")
        if v.systolic is not None and v.diastolic is not None:
            code, display, _ = VITAL_SIGN_CODES["blood_pressure"]
            comps = []
            for key, value in (("systolic", v.systolic), ("diastolic", v.diastolic)):
                c, d, unit = VITAL_SIGN_CODES[key]
                comps.append(
                    {"code": codeable(LOINC, c, d), "valueQuantity": quantity(value, unit)}
                )
            out.append(
                Observation.model_validate(
                    {
                        **common,
                        "id": f"{stem}-bp"[:64],
                        "code": codeable(LOINC, code, display),
                        "component": comps,
                    }
                )
            )
        for key in ("heart_rate", "spo2", "respiratory_rate"):
            value = getattr(v, key)
            if value is None:
                continue
            c, d, unit = VITAL_SIGN_CODES[key]
            out.append(
                Observation.model_validate(
                    {
                        **common,
                        "id": f"{stem}-{key.replace('_', '-')}"[:64],
                        "code": codeable(LOINC, c, d),
                        "valueQuantity": quantity(value, unit),
                    }
                )
            )
    return out


_ACTIVITY_STATUS = {"planned": "scheduled", "done": "completed", "missed": "cancelled"}


def _care_plan(patient_id: str, saved: Any) -> CarePlan:
    plan = saved.plan
    activities = []
    for s in plan.sessions:
        detail: dict[str, Any] = {
            "status": _ACTIVITY_STATUS.get(s.status.value, "unknown"),
            "description": s.label,
            "code": {"text": s.kind.value},
            "scheduledString": s.date.isoformat(),
        }
        if s.dose is not None:
            detail["description"] = f"{s.label} ({s.dose.confirmation})"
        activities.append({"detail": detail})
    return CarePlan.model_validate(
        {
            "resourceType": "CarePlan",
            "id": fhir_id(f"plan-{saved.record_id}"),
            "identifier": [
                {"system": RECORD_ID_SYSTEM, "value": f"{saved.record_id}/v{saved.version}"}
            ],
            "status": "active",
            "intent": "plan",
            "title": f"{plan.route_label} course",
            "description": (
                f"{plan.route_label} course from {plan.start.isoformat()}; doses are for "
                f"clinician confirmation. Protocol {plan.protocol.short}."
            ),
            "subject": ref("Patient", fhir_id(patient_id)),
            "period": {"start": plan.start.isoformat(), "end": plan.end.isoformat()},
            "activity": activities,
        }
    )


def _flags(patient_id: str, store: Store) -> list[Flag]:
    out = []
    for a in store.patient_alerts(patient_id, open_only=True):
        out.append(
            Flag.model_validate(
                {
                    "resourceType": "Flag",
                    "id": fhir_id(f"alert-{a.alert_id}"),
                    "status": "active",
                    "category": [{"text": "safety"}],
                    "code": {
                        "text": f"{a.alert.level.value.upper()}: {a.alert.message} "
                        f"{a.alert.action} {a.alert.crisis_line}",
                    },
                    "subject": ref("Patient", fhir_id(patient_id)),
                    "period": {"start": a.effective_at.date().isoformat()},
                }
            )
        )
    return out


#: What a bundle can hold; ``("patient", "assessments")`` is what :func:`import_bundle` reads.
SECTIONS = ("patient", "assessments", "vitals", "plan", "alerts")


def _check_sections(sections: Iterable[str]) -> tuple[str, ...]:
    chosen = tuple(sections)
    unknown = [s for s in chosen if s not in SECTIONS]
    if unknown or not chosen:
        raise InvalidInputError(
            f"sections: {unknown or 'none given'} — choose from {', '.join(SECTIONS)}."
        )
    return chosen


def _patient_resources(
    store: Store, patient_id: str, protocol: Protocol, sections: tuple[str, ...]
) -> list[Any]:
    p = store.get_patient(patient_id)
    out: list[Any] = [_patient(p)] if "patient" in sections else []
    if "assessments" in sections:
        for a in assessments(store, patient_id, protocol=protocol):
            out.extend(_response_and_total(patient_id, a))
    if "vitals" in sections:
        for saved in dosing_sessions(store, patient_id):
            out.extend(_vitals(patient_id, saved))
    if "plan" in sections:
        plan = load_latest_plan(store, patient_id)
        if plan is not None:
            out.append(_care_plan(patient_id, plan))
    if "alerts" in sections:
        out.extend(_flags(patient_id, store))
    # the read is audit-logged (who, when, which patient, what) before anything leaves
    store.log(
        "export",
        patient_id=p.patient_id,
        kind="fhir",
        detail=f"FHIR {FHIR_VERSION} bundle: {', '.join(sections)} ({len(out)} resources)",
    )
    return out


def _bundle(resources: Iterable[Any], with_questionnaires: bool) -> Bundle:
    entries = []
    resources = list(resources)
    if with_questionnaires:
        used = {
            (r.questionnaire or "").rsplit(":", 1)[-1]
            for r in resources
            if isinstance(r, QuestionnaireResponse) and r.questionnaire
        }
        for inst in sorted(used):
            if definition(inst).item_texts is not None:
                resources.insert(0, questionnaire(inst))
    for r in resources:
        entries.append(
            {
                "fullUrl": f"urn:kaptools:{r.get_resource_type()}/{r.id}",
                "resource": r.model_dump(mode="json", exclude_none=True),
            }
        )
    return Bundle.model_validate(
        {
            "resourceType": "Bundle",
            "type": "collection",
            "timestamp": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
            "meta": {"tag": [{"system": "urn:kaptools:fhir-version", "code": FHIR_VERSION}]},
            "entry": entries,
        }
    )


def patient_bundle(
    store: Store,
    patient_id: str,
    *,
    protocol: Protocol | None = None,
    questionnaires: bool = True,
    sections: Iterable[str] = SECTIONS,
) -> Bundle:
    """A ``collection`` Bundle of one patient's resources (see the module docstring);
    ``sections`` chooses which (:data:`SECTIONS`). The export is audit-logged (who,
    when, the patient, the sections)."""
    chosen = _check_sections(sections)
    return _bundle(
        _patient_resources(store, patient_id, protocol or default_protocol(), chosen),
        questionnaires,
    )


def cohort_bundle(
    store: Store,
    patient_ids: Iterable[str] | None = None,
    *,
    protocol: Protocol | None = None,
    questionnaires: bool = True,
    sections: Iterable[str] = SECTIONS,
    progress: bool | None = None,
) -> Bundle:
    """One ``collection`` Bundle for many patients (every patient the signed-in person
    may see when ``patient_ids`` is None); each patient's export is audit-logged."""
    chosen = _check_sections(sections)
    protocol = protocol or default_protocol()
    ids = (
        [p.patient_id for p in store.list_patients()] if patient_ids is None else list(patient_ids)
    )
    resources: list[Any] = []
    for pid in progress_bar(ids, progress=progress, desc="FHIR export", unit="patient"):
        resources.extend(_patient_resources(store, pid, protocol, chosen))
    return _bundle(resources, questionnaires)
