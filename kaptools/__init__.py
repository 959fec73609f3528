"""kaptools: decision support for ketamine-assisted psychotherapy (KAP) clinics.

kaptools supports clinical judgement and never replaces it: screening results say
"meets the protocol's criteria", doses are "for clinician confirmation".

The public names are re-exported here; ``__all__`` is the public API.
"""

from __future__ import annotations

from kaptools.alerts import CRISIS_LINE_TEXT, Acknowledgement, Alert, AlertLevel, StoredAlert
from kaptools.arguments import check_exports as _check_exports
from kaptools.assessments import Assessment, assessment_frame, assessments, record_assessment
from kaptools.errors import (
    ArgumentTypeError,
    ClinicalWarning,
    ConfigurationError,
    IncompleteAnswersError,
    IncompleteInputError,
    InternalError,
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
from kaptools.patient_alerts import (
    PatientAlerts,
    acknowledge_alert,
    patient_alerts,
    sync_patient_alerts,
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
    plan_to_parquet,
    replan,
    save_plan,
)
from kaptools.scores import (
    AnswersCheck,
    Band,
    Change,
    Instrument,
    InstrumentDefinition,
    ScoreResult,
    check_administration,
    compare,
    definition,
    score,
    score_frame,
    suicide_item_alerts,
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
    "Acknowledgement",
    "Alert",
    "AlertLevel",
    "AnswersCheck",
    "ArgumentTypeError",
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
    "InternalError",
    "InvalidAnswerError",
    "InvalidInputError",
    "KaptoolsError",
    "NotFoundError",
    "NotPlannableError",
    "Patient",
    "PatientAlerts",
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
    "StoredAlert",
    "StoredRecord",
    "UnknownInstrumentError",
    "__version__",
    "acknowledge_alert",
    "assessment_frame",
    "assessments",
    "check_administration",
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
    "patient_alerts",
    "patient_trends",
    "plan_course",
    "plan_to_csv",
    "plan_to_ics",
    "plan_to_parquet",
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
    "suicide_item_alerts",
    "sync_patient_alerts",
    "vitals_flags",
]

# Every function listed above refuses wrong argument types by name (issue 13).
_check_exports(globals())
