"""FHIR identifiers, code systems and the small builders every FHIR resource of kaptools
uses; the import's error."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from kaptools.errors import InvalidInputError, Problem

if TYPE_CHECKING:
    from kaptools.store import Store

__all__ = [
    "DOSING_SESSION_SYSTEM",
    "FHIR_VERSION",
    "LOINC",
    "MINUTES_AFTER_DOSE_URL",
    "OBS_CATEGORY",
    "PATIENT_ID_SYSTEM",
    "QUESTIONNAIRE_URL",
    "RECORD_ID_SYSTEM",
    "UCUM",
    "VITALS_TIMEPOINT_URL",
    "VITAL_SIGN_CODES",
    "FhirImportError",
    "category",
    "codeable",
    "fhir_id",
    "quantity",
    "ref",
    "subject_id",
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


def codeable(system: str, code: str, display: str = "") -> dict[str, Any]:
    coding = {"system": system, "code": code, **({"display": display} if display else {})}
    return {"coding": [coding], **({"text": display} if display else {})}


def category(code: str) -> list[dict[str, Any]]:
    return [codeable(OBS_CATEGORY, code)]


def ref(kind: str, rid: str) -> dict[str, str]:
    return {"reference": f"{kind}/{rid}"}


def fhir_id(value: str) -> str:
    """A FHIR id ([A-Za-z0-9-.]{1,64}) from a kaptools id."""
    return "".join(c if c.isalnum() or c in "-." else "-" for c in value)[:64]


def quantity(value: float, unit: str) -> dict[str, Any]:
    return {"value": value, "unit": unit, "system": UCUM, "code": unit}


def subject_id(resource: Any, store: Store) -> tuple[str | None, str]:
    """The store's patient id a resource's subject names (None and why, if none)."""
    reference = getattr(resource.subject, "reference", None) if resource.subject else None
    if not reference or not reference.startswith("Patient/"):
        return None, f"subject {reference!r} is not a Patient reference"
    wanted = reference.split("/", 1)[1]
    for p in store.list_patients():
        if fhir_id(p.patient_id) == wanted:
            return p.patient_id, ""
    return None, f"subject {reference!r} is not a patient in this store (add the patient first)"
