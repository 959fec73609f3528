"""Course planning: templates from the protocol, a clinic calendar, a dated plan, exports.

Start with :func:`plan_course`; re-plan with :func:`replan`; check any plan with
:func:`check_plan`; export with :func:`plan_to_ics`, :func:`plan_to_csv` and
:func:`plan_to_parquet`; keep plans in the store with :func:`save_plan` and
:func:`load_latest_plan`.

Decision support: a plan meets the protocol's scheduling rules on the calendar
given; every dose on it is for clinician confirmation.
"""

from __future__ import annotations

from kaptools.arguments import check_exports as _check_exports
from kaptools.scheduling.calendar import ClinicCalendar, ClosedSpan, Closure, Weekday
from kaptools.scheduling.constraints import (
    HORIZON_DAYS,
    Constraint,
    Violation,
    check_plan,
    plan_violations,
)
from kaptools.scheduling.doses import (
    CLINICIAN_CONFIRMATION,
    DoseBasis,
    DoseCalculation,
    calculate_dose,
)
from kaptools.scheduling.export import (
    CSV_COLUMNS,
    PARQUET_TYPES,
    plan_frame,
    plan_to_csv,
    plan_to_ics,
    plan_to_parquet,
)
from kaptools.scheduling.gates import offered_routes
from kaptools.scheduling.plan import (
    CoursePlan,
    Deviation,
    DeviationAcknowledgement,
    MeasurePoint,
    PlannedSession,
    PlanOptions,
    PlanReport,
    SessionStatus,
)
from kaptools.scheduling.planner import plan_course, replan
from kaptools.scheduling.storage import (
    COURSE_PLAN_KIND,
    Plannability,
    SavedPlan,
    load_latest_plan,
    plan_for_patient,
    plan_history,
    plannable,
    save_plan,
)
from kaptools.scheduling.templates import (
    CoursePhase,
    CourseTemplate,
    DoseSlot,
    IntegrationPlace,
    Route,
    SessionKind,
    course_template,
    named_templates,
)

__all__ = [
    "CLINICIAN_CONFIRMATION",
    "COURSE_PLAN_KIND",
    "CSV_COLUMNS",
    "HORIZON_DAYS",
    "PARQUET_TYPES",
    "ClinicCalendar",
    "ClosedSpan",
    "Closure",
    "Constraint",
    "CoursePhase",
    "CoursePlan",
    "CourseTemplate",
    "Deviation",
    "DeviationAcknowledgement",
    "DoseBasis",
    "DoseCalculation",
    "DoseSlot",
    "IntegrationPlace",
    "MeasurePoint",
    "PlanOptions",
    "PlanReport",
    "Plannability",
    "PlannedSession",
    "Route",
    "SavedPlan",
    "SessionKind",
    "SessionStatus",
    "Violation",
    "Weekday",
    "calculate_dose",
    "check_plan",
    "course_template",
    "load_latest_plan",
    "named_templates",
    "offered_routes",
    "plan_course",
    "plan_for_patient",
    "plan_frame",
    "plan_history",
    "plan_to_csv",
    "plan_to_ics",
    "plan_to_parquet",
    "plan_violations",
    "plannable",
    "replan",
    "save_plan",
]

# Every function listed above refuses wrong argument types by name (issue 13).
_check_exports(globals())
