"""FHIR export and import, built and validated with fhir.resources (FHIR R4B, 4.3.0).

fhir.resources 7+ (the pydantic-2 releases kaptools can use) ships R4B, the R4 line's
technical correction; the resources used here (Patient, Questionnaire,
QuestionnaireResponse, Observation, CarePlan, Flag, Bundle) have the same shape in R4
(4.0.1), so the JSON is read by R4 servers.

Export (:func:`patient_bundle`, :func:`cohort_bundle`; ``kaptools export --fhir``):

- Patient (synthetic patients carry the ``HTEST`` security label);
- QuestionnaireResponse per administered instrument, items under kaptools' one item
  name as ``linkId`` (``phq9_item1``), answered items only; a Questionnaire for each
  instrument whose wording ships (:func:`questionnaire`);
- Observation per total with the instrument's LOINC total code (category ``survey``),
  ``derivedFrom`` its QuestionnaireResponse; per vital sign of a dosing session with
  the vital-signs LOINC codes (blood-pressure panel 85354-9 with 8480-6/8462-4,
  heart rate 8867-4, SpO2 59408-5, respiratory rate 9279-1; category ``vital-signs``);
- CarePlan from the latest course plan (each session an activity; doses "for
  clinician confirmation");
- Flag for each open safety alert (with the 988 crisis line);
- a Bundle (type ``collection``) per patient or for a cohort.

Import (:func:`import_bundle`): QuestionnaireResponses of kaptools' instruments become
stored assessments (scored and alert-checked like any entry); total-score Observations
are checked against the QuestionnaireResponse they derive from in the same bundle.
Vital-sign Observations go into the dosing session they were taken in: each names its
session (identifier ``urn:kaptools:dosing-session``, the session's record id), its time
point and minutes after the dose (extensions ``urn:kaptools:vitals-timepoint`` and
``urn:kaptools:minutes-after-dose``), as kaptools' export writes them. A reading the
session already holds with the same values is recognised; a new reading (or a value
the stored reading lacks) is added as a new version of the session, re-checked under
the protocol, with a reason naming the import; a value that differs from the stored one
is reported, never overwritten (a correction is made in kaptools, with a reason). The
session must be in the store: vitals of a session another store holds are reported.
Every entry is validated before anything is written: anything not recognised (another
resource type, an unknown questionnaire or code, an unknown patient or session, a unit
other than the vital-signs profile's, a value out of range or not whole, an incomplete
form, a total that disagrees) is reported by entry and nothing is written. Total-score
Observations not derived from an imported form are reported, never stored. The writes
(assessments, then sessions) follow one another after every check has passed; the store
has no transaction spanning several records.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

from fhir.resources.R4B.bundle import Bundle
from fhir.resources.R4B.careplan import CarePlan
from fhir.resources.R4B.flag import Flag
from fhir.resources.R4B.observation import Observation
from fhir.resources.R4B.patient import Patient as FhirPatient
from fhir.resources.R4B.questionnaire import Questionnaire
from fhir.resources.R4B.questionnaireresponse import QuestionnaireResponse
from pydantic import ValidationError

from kaptools.assessments import assessments, record_assessment
from kaptools.errors import InvalidInputError, KaptoolsError, NotFoundError, Problem
from kaptools.progress import progress_bar
from kaptools.protocol import Protocol, default_protocol
from kaptools.scheduling.storage import load_latest_plan
from kaptools.scores import Instrument, check_administration, definition, item_columns
from kaptools.sessions.record import DosingSession, SessionRecordStatus
from kaptools.sessions.storage import (
    DOSING_SESSION_KIND,
    dosing_session_history,
    dosing_sessions,
    save_dosing_session,
)
from kaptools.sessions.vitals import VitalSigns, VitalsTimepoint
from kaptools.store import Store
from kaptools.validation import present

__all__ = [
    "FHIR_VERSION",
    "QUESTIONNAIRE_URL",
    "SECTIONS",
    "VITAL_SIGN_CODES",
    "FhirImportError",
    "ImportReport",
    "cohort_bundle",
    "import_bundle",
    "patient_bundle",
    "questionnaire",
]

FHIR_VERSION = "4.3.0"
#: Canonical URL of kaptools' Questionnaire for an instrument (``.../phq9``).
QUESTIONNAIRE_URL = "urn:kaptools:questionnaire:"
PATIENT_ID_SYSTEM = "urn:kaptools:patient-id"
RECORD_ID_SYSTEM = "urn:kaptools:record-id"
#: Identifier system of a vital-sign Observation: the record id of its dosing session.
DOSING_SESSION_SYSTEM = "urn:kaptools:dosing-session"
#: Extensions of a vital-sign Observation: the reading's time point (``pre_dose`` …) and
#: its minutes after the dose (kaptools keeps clinic-local times without a time zone).
VITALS_TIMEPOINT_URL = "urn:kaptools:vitals-timepoint"
MINUTES_AFTER_DOSE_URL = "urn:kaptools:minutes-after-dose"
LOINC = "http://loinc.org"
UCUM = "http://unitsofmeasure.org"
OBS_CATEGORY = "http://terminology.hl7.org/CodeSystem/observation-category"

#: Vital sign → (LOINC code, display, UCUM unit). Source: HL7 FHIR R4 Vital Signs profile.
VITAL_SIGN_CODES: dict[str, tuple[str, str, str]] = {
    "blood_pressure": ("85354-9", "Blood pressure panel with all children optional", ""),
    "systolic": ("8480-6", "Systolic blood pressure", "mm[Hg]"),
    "diastolic": ("8462-4", "Diastolic blood pressure", "mm[Hg]"),
    "heart_rate": ("8867-4", "Heart rate", "/min"),
    "spo2": ("59408-5", "Oxygen saturation in Arterial blood by Pulse oximetry", "%"),
    "respiratory_rate": ("9279-1", "Respiratory rate", "/min"),
}

_GENDER = {"female": "female", "male": "male", "other": "other"}


class FhirImportError(InvalidInputError):
    """A bundle that cannot be imported; ``problems`` holds each entry's reason."""

    def __init__(self, message: str, problems: Sequence[str]):
        super().__init__(
            message,
            *(Problem(field="bundle", rule=str(p), fix="nothing was written") for p in problems),
        )


def _codeable(system: str, code: str, display: str = "") -> dict[str, Any]:
    coding = {"system": system, "code": code, **({"display": display} if display else {})}
    return {"coding": [coding], **({"text": display} if display else {})}


def _category(code: str) -> list[dict[str, Any]]:
    return [_codeable(OBS_CATEGORY, code)]


def _ref(kind: str, rid: str) -> dict[str, str]:
    return {"reference": f"{kind}/{rid}"}


def _fhir_id(value: str) -> str:
    """A FHIR id ([A-Za-z0-9-.]{1,64}) from a kaptools id."""
    return "".join(c if c.isalnum() or c in "-." else "-" for c in value)[:64]


def _patient(p: Any) -> FhirPatient:
    data: dict[str, Any] = {
        "resourceType": "Patient",
        "id": _fhir_id(p.patient_id),
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
    qr_id = _fhir_id(f"qr-{a.record_id}")
    qr = QuestionnaireResponse.model_validate(
        {
            "resourceType": "QuestionnaireResponse",
            "id": qr_id,
            "identifier": {"system": RECORD_ID_SYSTEM, "value": f"{a.record_id}/v{a.version}"},
            "questionnaire": QUESTIONNAIRE_URL + defn.instrument.value,
            "status": "completed",
            "subject": _ref("Patient", _fhir_id(patient_id)),
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
                    "id": _fhir_id(f"total-{a.record_id}"),
                    "status": "final",
                    "category": _category("survey"),
                    "code": _codeable(LOINC, defn.loinc.total, f"{defn.name} total score"),
                    "subject": _ref("Patient", _fhir_id(patient_id)),
                    "effectiveDateTime": a.administered_on.isoformat(),
                    "valueQuantity": {
                        "value": a.result.total,
                        "unit": "{score}",
                        "system": UCUM,
                        "code": "{score}",
                    },
                    "interpretation": [{"text": a.result.band.label}],
                    "derivedFrom": [_ref("QuestionnaireResponse", qr_id)],
                }
            )
        )
    return out


def _quantity(value: float, unit: str) -> dict[str, Any]:
    return {"value": value, "unit": unit, "system": UCUM, "code": unit}


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
            "category": _category("vital-signs"),
            "subject": _ref("Patient", _fhir_id(patient_id)),
            "effectiveDateTime": when,
            "identifier": [{"system": DOSING_SESSION_SYSTEM, "value": saved.record_id}],
            "extension": extension,
            "note": [{"text": f"{v.timepoint.value}{after} (dosing session {saved.record_id})"}],
        }
        stem = _fhir_id(f"vs-{saved.record_id}-{i}")
        if v.systolic is not None and v.diastolic is not None:
            code, display, _ = VITAL_SIGN_CODES["blood_pressure"]
            comps = []
            for key, value in (("systolic", v.systolic), ("diastolic", v.diastolic)):
                c, d, unit = VITAL_SIGN_CODES[key]
                comps.append(
                    {"code": _codeable(LOINC, c, d), "valueQuantity": _quantity(value, unit)}
                )
            out.append(
                Observation.model_validate(
                    {
                        **common,
                        "id": f"{stem}-bp"[:64],
                        "code": _codeable(LOINC, code, display),
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
                        "code": _codeable(LOINC, c, d),
                        "valueQuantity": _quantity(value, unit),
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
            "id": _fhir_id(f"plan-{saved.record_id}"),
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
            "subject": _ref("Patient", _fhir_id(patient_id)),
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
                    "id": _fhir_id(f"alert-{a.alert_id}"),
                    "status": "active",
                    "category": [{"text": "safety"}],
                    "code": {
                        "text": f"{a.alert.level.value.upper()}: {a.alert.message} "
                        f"{a.alert.action} {a.alert.crisis_line}",
                    },
                    "subject": _ref("Patient", _fhir_id(patient_id)),
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


# ---- import -------------------------------------------------------------------------------


@dataclass(frozen=True)
class ImportReport:
    """What an import wrote: the assessments stored, and what was checked but not stored."""

    assessments: tuple[str, ...]
    checked_observations: int
    sessions: tuple[str, ...] = ()
    """Dosing-session records given a new version with imported vital signs."""
    added_readings: int = 0
    """Readings (a time point and minutes after the dose) added to those sessions."""
    matched_readings: int = 0
    """Imported readings already stored in their session, value for value."""

    @property
    def summary(self) -> str:
        return (
            f"Imported {len(self.assessments)} assessment(s); {self.checked_observations} "
            f"total-score Observation(s) matched their QuestionnaireResponse; "
            f"{self.added_readings} vital-sign reading(s) added to {len(self.sessions)} dosing "
            f"session(s), {self.matched_readings} already recorded."
        )


#: Bundle types whose entries are resources to read (fhir.resources does not check the code).
_BUNDLE_TYPES = ("collection", "transaction", "batch", "searchset")


def _instrument_of(qr: QuestionnaireResponse) -> Instrument | None:
    url = qr.questionnaire or ""
    if url.startswith(QUESTIONNAIRE_URL):
        try:
            return Instrument.parse(url[len(QUESTIONNAIRE_URL) :])
        except KaptoolsError:
            return None
    return None


def _subject_id(resource: Any, store: Store) -> tuple[str | None, str]:
    ref = getattr(resource.subject, "reference", None) if resource.subject else None
    if not ref or not ref.startswith("Patient/"):
        return None, f"subject {ref!r} is not a Patient reference"
    fhir_id = ref.split("/", 1)[1]
    for p in store.list_patients():
        if _fhir_id(p.patient_id) == fhir_id:
            return p.patient_id, ""
    return None, f"subject {ref!r} is not a patient in this store (add the patient first)"


def import_bundle(
    store: Store,
    bundle: Mapping[str, Any] | str | bytes,
    *,
    author: str | None = None,
    protocol: Protocol | None = None,
) -> ImportReport:
    """Import QuestionnaireResponses and vital signs (and check total Observations) from a
    FHIR Bundle (see the module's docstring for what goes where).

    Validated with fhir.resources first; every entry is checked before anything is
    written. Raises FhirImportError listing each problem (entry number, resource, why)
    and writes nothing when any entry is not recognised or not valid.
    """
    protocol = protocol or default_protocol()
    author = store.author_for(author)  # the signed-in person; another name is refused
    try:
        data = json.loads(bundle) if isinstance(bundle, str | bytes) else dict(bundle)
        parsed = Bundle.model_validate(data)
    except (ValueError, TypeError, ValidationError) as exc:
        first = str(exc).splitlines()[:4]
        raise FhirImportError(
            f"bundle: not a valid FHIR Bundle ({' '.join(first)}); nothing was written.",
            [str(exc)],
        ) from None
    if parsed.type not in _BUNDLE_TYPES:
        raise FhirImportError(
            f"bundle: not a valid FHIR Bundle for import (type {parsed.type!r}; use one of "
            f"{', '.join(_BUNDLE_TYPES)}); nothing was written.",
            [f"type {parsed.type!r}"],
        )
    problems: list[str] = []
    planned: list[tuple[str, Instrument, list[int | None], dt.date]] = []
    totals: dict[str, int] = {}
    observations: list[tuple[int, Observation]] = []
    for n, entry in enumerate(parsed.entry or (), 1):
        r = entry.resource
        kind = r.get_resource_type() if r is not None else "(empty)"
        where = f"entry {n} ({kind}{' ' + r.id if r is not None and r.id else ''})"
        if isinstance(r, Questionnaire | FhirPatient):
            continue  # definitions and demographics: read by id, never imported over the store
        if isinstance(r, Observation):
            observations.append((n, r))
            continue
        if not isinstance(r, QuestionnaireResponse):
            problems.append(
                f"{where}: {kind} is not imported (QuestionnaireResponse and "
                f"total-score Observation only)"
            )
            continue
        inst = _instrument_of(r)
        if inst is None:
            problems.append(
                f"{where}: questionnaire {r.questionnaire!r} is not a kaptools "
                f"instrument ({QUESTIONNAIRE_URL}<instrument>)"
            )
            continue
        pid, why = _subject_id(r, store)
        if pid is None:
            problems.append(f"{where}: {why}")
            continue
        if r.status != "completed":
            problems.append(f"{where}: status {r.status!r}; only completed responses are imported")
            continue
        if not r.authored:
            problems.append(f"{where}: authored (the date it was completed) is missing")
            continue
        names = item_columns(inst)
        answers: list[int | None] = [None] * len(names)
        bad = False
        for item in r.item or ():
            if item.linkId not in names:
                problems.append(
                    f"{where}: linkId {item.linkId!r} is not a {definition(inst).name} "
                    f"item ({names[0]}…{names[-1]})"
                )
                bad = True
                continue
            values = [a.valueInteger for a in item.answer or ()]
            if len(values) != 1 or values[0] is None:
                problems.append(f"{where}: {item.linkId} needs exactly one valueInteger answer")
                bad = True
                continue
            answers[names.index(item.linkId)] = int(values[0])
        if bad:
            continue
        try:
            checked = check_administration(inst, answers, protocol=protocol)
        except KaptoolsError as exc:
            problems.append(f"{where}: {exc}")
            continue
        if checked.result is None:
            missing = [names[i] for i, v in enumerate(answers) if v is None]
            problems.append(
                f"{where}: incomplete ({', '.join(missing)} unanswered); an "
                f"incomplete form is entered in kaptools, where its alerts are kept"
            )
            continue
        authored = r.authored
        day = (
            authored.date()
            if isinstance(authored, dt.datetime)
            else dt.date.fromisoformat(str(authored)[:10])
        )
        planned.append((pid, inst, answers, day))
        if r.id:
            totals[r.id] = checked.result.total
    matched = 0
    vitals: list[tuple[str, Observation]] = []
    for n, obs in observations:
        where = f"entry {n} (Observation{' ' + obs.id if obs.id else ''})"
        if _is_vital_sign(obs):
            vitals.append((where, obs))
            continue
        sources = [d.reference for d in obs.derivedFrom or () if d.reference]
        qr_ids = [s.split("/", 1)[1] for s in sources if s.startswith("QuestionnaireResponse/")]
        if len(qr_ids) != 1 or qr_ids[0] not in totals:
            problems.append(
                f"{where}: not derived from a QuestionnaireResponse in this bundle; "
                f"total-score Observations are not stored on their own (a total belongs "
                f"to its item answers)"
            )
            continue
        value = obs.valueQuantity.value if obs.valueQuantity is not None else obs.valueInteger
        if value is None or float(value) != totals[qr_ids[0]]:
            problems.append(
                f"{where}: total {value!r} differs from the score of its "
                f"QuestionnaireResponse ({totals[qr_ids[0]]})"
            )
            continue
        matched += 1
    session_updates, added, already = _vital_sign_updates(store, vitals, protocol, problems)
    if problems:
        raise FhirImportError(
            f"bundle: {len(problems)} problem(s); nothing was written:\n  - "
            + "\n  - ".join(problems),
            problems,
        )
    written = []
    sessions = []
    with store.transaction():  # every record of the bundle, or none
        for pid, inst, answers, day in planned:
            try:
                a = record_assessment(
                    store,
                    pid,
                    inst,
                    answers,
                    administered_on=day,
                    author=author,
                    protocol=protocol,
                )
            except NotFoundError as exc:  # pragma: no cover - checked above
                raise FhirImportError(str(exc), [str(exc)]) from None
            written.append(a.record_id)
        for record_id, version, session, count in session_updates:
            save_dosing_session(
                store,
                session,
                author,
                record_id=record_id,
                reason=f"{count} vital-sign reading(s) imported from a FHIR bundle by {author}",
                based_on_version=version,
                protocol=protocol,
            )
            sessions.append(record_id)
    return ImportReport(tuple(written), matched, tuple(sessions), added, already)


# ---- vital signs into their dosing session ---------------------------------------------------
_VITAL_BY_LOINC = {code: key for key, (code, _, _) in VITAL_SIGN_CODES.items()}
_IMPORTABLE_OBS_STATUS = ("final", "amended", "corrected")


def _is_vital_sign(obs: Observation) -> bool:
    """An Observation in the vital-signs category, or coded with a vital-sign LOINC code."""
    codes = {c.code for c in (obs.code.coding or ()) if c.system == LOINC} if obs.code else set()
    categories = {
        c.code for cat in obs.category or () for c in cat.coding or () if c.system == OBS_CATEGORY
    }
    return "vital-signs" in categories or bool(codes & set(_VITAL_BY_LOINC))


def _whole(value: Any, key: str, unit: str, quantity: Any) -> int:
    """A reading's value as whole units, its unit checked (never converted or guessed)."""
    if quantity is None or quantity.value is None:
        raise ValueError(f"{key}: no valueQuantity")
    code = quantity.code or quantity.unit
    if code != unit or (quantity.system is not None and quantity.system != UCUM):
        raise ValueError(
            f"{key}: unit {code!r} (system {quantity.system!r}); kaptools reads {unit!r}"
        )
    number = float(quantity.value)
    if not number.is_integer():
        raise ValueError(f"{key}: {quantity.value} is not a whole number of {unit}")
    return int(number)


def _reading_of(obs: Observation) -> tuple[str, VitalsTimepoint, int | None, dict[str, int]]:
    """(dosing-session record id, time point, minutes after the dose, values) of one
    vital-sign Observation; ValueError naming what is missing or not recognised."""
    if obs.status not in _IMPORTABLE_OBS_STATUS:
        raise ValueError(
            f"status {obs.status!r}; only {', '.join(_IMPORTABLE_OBS_STATUS)} are read"
        )
    sessions = [i.value for i in obs.identifier or () if i.system == DOSING_SESSION_SYSTEM]
    if len(sessions) != 1 or not sessions[0]:
        raise ValueError(
            f"names no dosing session (one identifier with system {DOSING_SESSION_SYSTEM}); "
            "kaptools keeps vital signs inside the dosing session they were taken in"
        )
    ext = {e.url: e for e in obs.extension or ()}
    if VITALS_TIMEPOINT_URL not in ext:
        raise ValueError(f"no time point (extension {VITALS_TIMEPOINT_URL})")
    try:
        timepoint = VitalsTimepoint(str(ext[VITALS_TIMEPOINT_URL].valueCode))
    except ValueError:
        raise ValueError(
            f"time point {ext[VITALS_TIMEPOINT_URL].valueCode!r} is not one of "
            f"{', '.join(t.value for t in VitalsTimepoint)}"
        ) from None
    minutes = ext[MINUTES_AFTER_DOSE_URL].valueInteger if MINUTES_AFTER_DOSE_URL in ext else None
    codes = [c.code for c in (obs.code.coding or ()) if c.system == LOINC] if obs.code else []
    keys = [_VITAL_BY_LOINC[c] for c in codes if c in _VITAL_BY_LOINC]
    if len(keys) != 1:
        raise ValueError(
            f"code {codes or None} is not one vital-sign LOINC code kaptools reads "
            f"({', '.join(code for code, _, _ in VITAL_SIGN_CODES.values())})"
        )
    key = keys[0]
    values: dict[str, int] = {}
    if key == "blood_pressure":
        for comp in obs.component or ():
            sub = [c.code for c in comp.code.coding or () if c.system == LOINC]
            names = [_VITAL_BY_LOINC.get(c or "") for c in sub]
            if len(names) != 1 or names[0] not in ("systolic", "diastolic"):
                raise ValueError(f"blood-pressure component {sub} is not systolic or diastolic")
            name = present(names[0], "the component's vital sign (checked just above)")
            if name in values:
                raise ValueError(f"blood pressure: two {name} components")
            values[name] = _whole(None, name, VITAL_SIGN_CODES[name][2], comp.valueQuantity)
        if set(values) != {"systolic", "diastolic"}:
            raise ValueError("blood pressure needs both a systolic and a diastolic component")
    elif key in ("systolic", "diastolic"):
        raise ValueError(f"{key} alone; send blood pressure as the panel 85354-9 with both")
    else:
        values[key] = _whole(None, key, VITAL_SIGN_CODES[key][2], obs.valueQuantity)
    return sessions[0], timepoint, minutes, values


_READING_VALUES = ("systolic", "diastolic", "heart_rate", "spo2", "respiratory_rate")


def _values(v: VitalSigns) -> dict[str, int]:
    return {k: getattr(v, k) for k in _READING_VALUES if getattr(v, k) is not None}


def _reading(timepoint: VitalsTimepoint, minutes: int | None, values: dict[str, int]) -> VitalSigns:
    return VitalSigns(
        timepoint,
        minutes,
        values.get("systolic"),
        values.get("diastolic"),
        values.get("heart_rate"),
        values.get("spo2"),
        values.get("respiratory_rate"),
    )


def _vital_sign_updates(
    store: Store,
    observations: Sequence[tuple[str, Observation]],
    protocol: Protocol,
    problems: list[str],
) -> tuple[list[tuple[str, int, DosingSession, int]], int, int]:
    """Every dosing session the bundle's vital signs change, checked before any write.

    A reading (time point and minutes after the dose) already stored with the same
    values is recognised; a new reading, or a value the stored reading lacks, is added;
    a value that differs from the stored one is a problem (a correction is made in
    kaptools, with a reason), never an overwrite. Returns (record id, version it is
    based on, the new session, readings added), readings added, readings recognised.
    """
    grouped: dict[str, dict[tuple[VitalsTimepoint, int | None], dict[str, int]]] = {}
    for where, obs in observations:
        pid, why = _subject_id(obs, store)
        if pid is None:
            problems.append(f"{where}: {why}")
            continue
        try:
            record_id, timepoint, minutes, values = _reading_of(obs)
        except ValueError as exc:
            problems.append(f"{where}: vital sign not imported: {exc}")
            continue
        try:
            stored = store.record_history(record_id)[-1]
        except KaptoolsError:
            problems.append(f"{where}: dosing session {record_id!r} is not in this store")
            continue
        if stored.kind != DOSING_SESSION_KIND or stored.patient_id != pid:
            problems.append(
                f"{where}: record {record_id!r} is not a dosing session of patient {pid}"
            )
            continue
        reading = grouped.setdefault(record_id, {}).setdefault((timepoint, minutes), {})
        for name, value in values.items():
            if reading.get(name, value) != value:
                problems.append(
                    f"{where}: {name} {value} at {timepoint.value} {minutes} min differs from "
                    f"another Observation of the same reading ({reading[name]})"
                )
            reading[name] = value
    updates: list[tuple[str, int, DosingSession, int]] = []
    added = already = 0
    for record_id, readings in grouped.items():
        saved = dosing_session_history(store, record_id)[-1]
        session = saved.session
        vitals = list(session.vitals)
        count = 0
        for (timepoint, minutes), values in readings.items():
            at = next(
                (
                    i
                    for i, v in enumerate(vitals)
                    if v.timepoint is timepoint and v.minutes_after_dose == minutes
                ),
                None,
            )
            current = {} if at is None else {k: getattr(vitals[at], k) for k in values}
            clash = {
                k: (current[k], v) for k, v in values.items() if current.get(k) not in (None, v)
            }
            if clash:
                problems.append(
                    f"dosing session {record_id} ({session.session_date}), {timepoint.value} "
                    f"{minutes} min: imported "
                    + ", ".join(
                        f"{k} {new} differs from the stored {old}"
                        for k, (old, new) in clash.items()
                    )
                    + "; correct the session in kaptools (a new version with a reason)"
                )
                continue
            if at is not None and all(current.get(k) == v for k, v in values.items()):
                already += 1
                continue
            try:
                before = {} if at is None else _values(vitals[at])
                new_reading = _reading(timepoint, minutes, {**before, **values})
                if at is None:
                    vitals.append(new_reading)
                else:
                    vitals[at] = new_reading
            except KaptoolsError as exc:
                problems.append(f"dosing session {record_id}, {timepoint.value}: {exc}")
                continue
            count += 1
        if not count:
            continue
        changed = replace(session, vitals=tuple(vitals))
        try:
            if session.status is SessionRecordStatus.COMPLETE:
                changed = replace(
                    changed, status=SessionRecordStatus.IN_PROGRESS, protocol=None
                ).complete(protocol)
            changed.check_recordable(protocol)
        except KaptoolsError as exc:
            problems.append(
                f"dosing session {record_id} ({session.session_date}) with the imported "
                f"readings: {exc}"
            )
            continue
        updates.append((record_id, saved.version, changed, count))
        added += count
    return updates, added, already
