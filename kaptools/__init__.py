"""kaptools: decision support for ketamine-assisted psychotherapy (KAP) clinics.

kaptools supports clinical judgement and never replaces it: screening results say
"meets the protocol's criteria", doses are "for clinician confirmation".

The public names are re-exported here; ``__all__`` is the public API.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from kaptools.arguments import check_exports as _check_exports
from kaptools.arguments import lazy_exports as _lazy_exports

# These two are imported at once: each function has its module's name, and importing
# the module later would make ``kaptools.assessments`` the module, not the function.
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

if TYPE_CHECKING:
    from kaptools.alerts import CRISIS_LINE_TEXT, Acknowledgement, Alert, AlertLevel, StoredAlert
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

#: Where each public name is defined. They are imported on first use (``kaptools.screen``,
#: ``from kaptools import Store``), so ``import kaptools.ui.trends`` does not import
#: pandas, pyarrow or the other heavy libraries only some functions need (issue 14).
_HOMES = {
    "Acknowledgement": "kaptools.alerts",
    "Alert": "kaptools.alerts",
    "AlertLevel": "kaptools.alerts",
    "CRISIS_LINE_TEXT": "kaptools.alerts",
    "StoredAlert": "kaptools.alerts",
    "Protocol": "kaptools.protocol",
    "ProtocolInfo": "kaptools.protocol",
    "default_protocol": "kaptools.protocol",
    "load_protocol": "kaptools.protocol",
    "ClinicCalendar": "kaptools.scheduling",
    "CoursePlan": "kaptools.scheduling",
    "Route": "kaptools.scheduling",
    "check_plan": "kaptools.scheduling",
    "load_latest_plan": "kaptools.scheduling",
    "plan_course": "kaptools.scheduling",
    "plan_to_csv": "kaptools.scheduling",
    "plan_to_ics": "kaptools.scheduling",
    "plan_to_parquet": "kaptools.scheduling",
    "replan": "kaptools.scheduling",
    "save_plan": "kaptools.scheduling",
    "AnswersCheck": "kaptools.scores",
    "Band": "kaptools.scores",
    "Change": "kaptools.scores",
    "Instrument": "kaptools.scores",
    "InstrumentDefinition": "kaptools.scores",
    "ScoreResult": "kaptools.scores",
    "check_administration": "kaptools.scores",
    "compare": "kaptools.scores",
    "definition": "kaptools.scores",
    "score": "kaptools.scores",
    "score_frame": "kaptools.scores",
    "suicide_item_alerts": "kaptools.scores",
    "CohortResult": "kaptools.screening",
    "Finding": "kaptools.screening",
    "ScreeningRecord": "kaptools.screening",
    "ScreeningResult": "kaptools.screening",
    "ScreeningStatus": "kaptools.screening",
    "load_screening": "kaptools.screening",
    "override_finding": "kaptools.screening",
    "save_screening": "kaptools.screening",
    "screen": "kaptools.screening",
    "screen_cohort": "kaptools.screening",
    "screening_record_schema": "kaptools.screening",
    "DosingSession": "kaptools.sessions",
    "dosing_sessions": "kaptools.sessions",
    "parse_dosing_session": "kaptools.sessions",
    "rems_forms_due": "kaptools.sessions",
    "save_dosing_session": "kaptools.sessions",
    "vitals_flags": "kaptools.sessions",
    "Patient": "kaptools.store",
    "Store": "kaptools.store",
    "StoredRecord": "kaptools.store",
    "PatientTrends": "kaptools.trends",
    "patient_trends": "kaptools.trends",
}

# Every function listed above refuses wrong argument types by name (issue 13).
_check_exports(globals())
__getattr__ = _lazy_exports(globals(), _HOMES)


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})
