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

The package: ``fhir.codes`` (identifiers, code systems, builders, the import error),
``fhir.export`` (bundles), ``fhir.importing`` (the import and its checks),
``fhir.vitals_import`` (vital signs into their dosing session).
"""

from __future__ import annotations

from kaptools.arguments import check_exports as _check_exports
from kaptools.fhir.codes import (
    DOSING_SESSION_SYSTEM,
    FHIR_VERSION,
    MINUTES_AFTER_DOSE_URL,
    PATIENT_ID_SYSTEM,
    QUESTIONNAIRE_URL,
    RECORD_ID_SYSTEM,
    VITAL_SIGN_CODES,
    VITALS_TIMEPOINT_URL,
    FhirImportError,
)
from kaptools.fhir.export import SECTIONS, cohort_bundle, patient_bundle, questionnaire
from kaptools.fhir.importing import ImportReport, import_bundle

__all__ = [
    "DOSING_SESSION_SYSTEM",
    "FHIR_VERSION",
    "MINUTES_AFTER_DOSE_URL",
    "PATIENT_ID_SYSTEM",
    "QUESTIONNAIRE_URL",
    "RECORD_ID_SYSTEM",
    "SECTIONS",
    "VITALS_TIMEPOINT_URL",
    "VITAL_SIGN_CODES",
    "FhirImportError",
    "ImportReport",
    "cohort_bundle",
    "import_bundle",
    "patient_bundle",
    "questionnaire",
]

# Every function listed above refuses wrong argument types by name (issue 13).
_check_exports(globals())
