"""kaptools: decision support for ketamine-assisted psychotherapy (KAP) clinics.

kaptools supports clinical judgement and never replaces it: screening results say
"meets the protocol's criteria", doses are "for clinician confirmation".

The public names are re-exported here; ``__all__`` is the public API.
"""

from __future__ import annotations

from kaptools.alerts import CRISIS_LINE_TEXT, Alert, AlertLevel
from kaptools.assessments import Assessment, assessment_frame, assessments, record_assessment
from kaptools.errors import (
    ClinicalWarning,
    ConfigurationError,
    IncompleteAnswersError,
    IncompleteInputError,
    InvalidAnswerError,
    InvalidInputError,
    KaptoolsError,
    NotFoundError,
    NotPlannableError,
    PlanningError,
    ProtocolError,
    RecordError,
    StoreError,
    UnknownInstrumentError,
)
from kaptools.protocol import Protocol, ProtocolInfo, default_protocol, load_protocol
from kaptools.scores import (
    Band,
    Change,
    Instrument,
    InstrumentDefinition,
    ScoreResult,
    compare,
    definition,
    score,
    score_frame,
)
from kaptools.store import Patient, Store, StoredRecord
from kaptools.trends import PatientTrends, patient_trends

__version__ = "0.1.0"

__all__ = [
    "CRISIS_LINE_TEXT",
    "Alert",
    "AlertLevel",
    "Assessment",
    "Band",
    "Change",
    "ClinicalWarning",
    "ConfigurationError",
    "IncompleteAnswersError",
    "IncompleteInputError",
    "Instrument",
    "InstrumentDefinition",
    "InvalidAnswerError",
    "InvalidInputError",
    "KaptoolsError",
    "NotFoundError",
    "NotPlannableError",
    "Patient",
    "PatientTrends",
    "PlanningError",
    "Protocol",
    "ProtocolError",
    "ProtocolInfo",
    "RecordError",
    "ScoreResult",
    "Store",
    "StoreError",
    "StoredRecord",
    "UnknownInstrumentError",
    "__version__",
    "assessment_frame",
    "assessments",
    "compare",
    "default_protocol",
    "definition",
    "load_protocol",
    "patient_trends",
    "record_assessment",
    "score",
    "score_frame",
]
