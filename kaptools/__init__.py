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
from kaptools.scheduling import (
    ClinicCalendar,
    CoursePlan,
    Route,
    check_plan,
    load_latest_plan,
    plan_course,
    plan_to_csv,
    plan_to_ics,
    replan,
    save_plan,
)
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
from kaptools.screening import (
    CohortResult,
    Finding,
    ScreeningRecord,
    ScreeningResult,
    ScreeningStatus,
    load_screening,
    override_finding,
    save_screening,
    screen,
    screen_cohort,
    screening_record_schema,
)
from kaptools.sessions import (
    DosingSession,
    dosing_sessions,
    parse_dosing_session,
    rems_forms_due,
    save_dosing_session,
    vitals_flags,
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
    "ClinicCalendar",
    "ClinicalWarning",
    "CohortResult",
    "ConfigurationError",
    "CoursePlan",
    "DosingSession",
    "Finding",
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
    "Route",
    "ScoreResult",
    "ScreeningRecord",
    "ScreeningResult",
    "ScreeningStatus",
    "Store",
    "StoreError",
    "StoredRecord",
    "UnknownInstrumentError",
    "__version__",
    "assessment_frame",
    "assessments",
    "check_plan",
    "compare",
    "default_protocol",
    "definition",
    "dosing_sessions",
    "load_latest_plan",
    "load_protocol",
    "load_screening",
    "override_finding",
    "parse_dosing_session",
    "patient_trends",
    "plan_course",
    "plan_to_csv",
    "plan_to_ics",
    "record_assessment",
    "rems_forms_due",
    "replan",
    "save_dosing_session",
    "save_plan",
    "save_screening",
    "score",
    "score_frame",
    "screen",
    "screen_cohort",
    "screening_record_schema",
    "vitals_flags",
]
