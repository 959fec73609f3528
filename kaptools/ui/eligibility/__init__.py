"""The eligibility dashboard: one patient walked through screening, step by step.

The clinician answers five steps (demographics; diagnoses and antidepressant history;
current medications; the medical-history checklist; vitals and symptom scores). Every
change re-screens the form with :func:`kaptools.screening.screen`; the status, findings,
trial table and safety alerts shown are exactly what the screening package returns,
rendered by its one printer (:mod:`kaptools.screening.report`). Nothing clinical is
decided here.

A small package: :mod:`~.state` (the frozen page state and the pure functions deriving
what it shows), :mod:`~.form` and :mod:`~.reading` (the form's widgets and their reading
into a record), :mod:`~.rows` (repeating rows), :mod:`~.report` (the status panel and the
downloadable summary), :mod:`~.app` (the App, one render path).

Unknown is never "no": every yes/no question starts as "unknown" and every number
starts empty.
"""

from kaptools.ui.eligibility.app import EligibilityApp
from kaptools.ui.eligibility.reading import FIELD_LABELS
from kaptools.ui.eligibility.report import (
    DISCLAIMER,
    NOT_SCREENED,
    SavedScreening,
    SummaryExport,
    diagnoses_html,
    finding_html,
    findings_html,
    routes_html,
    status_badge,
    status_html,
    summary_document,
    summary_text,
    trials_html,
)
from kaptools.ui.eligibility.rows import DrugRow, Row, RowList, drug_resolution_html
from kaptools.ui.eligibility.state import EligibilityState, FormProblem, screened

_DrugRow = DrugRow  # the name the UI tests import

__all__ = [
    "DISCLAIMER",
    "FIELD_LABELS",
    "NOT_SCREENED",
    "DrugRow",
    "EligibilityApp",
    "EligibilityState",
    "FormProblem",
    "Row",
    "RowList",
    "SavedScreening",
    "SummaryExport",
    "diagnoses_html",
    "drug_resolution_html",
    "finding_html",
    "findings_html",
    "routes_html",
    "screened",
    "status_badge",
    "status_html",
    "summary_document",
    "summary_text",
    "trials_html",
]
