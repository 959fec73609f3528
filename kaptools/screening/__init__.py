"""Screening for ketamine-assisted psychotherapy: one patient, or a whole cohort.

Decision support, never a decision: a result says whether a record meets the
protocol's criteria. Every rule, threshold and message comes from the protocol
(``[screening]`` of the TOML file) and the drug tables shipped in ``data/``; every
result records the protocol's name, version and content hash.

    >>> from kaptools.screening import screen, synthetic_screening_records
    >>> record = synthetic_screening_records(1, seed=3)[0]
    >>> result = screen(record)
    >>> result.status in ScreeningStatus
    True

One patient: :func:`screen` takes a :class:`ScreeningRecord` (JSON Schema:
:func:`screening_record_schema`) and returns a :class:`ScreeningResult`.
A cohort: :func:`screen_cohort` takes a DataFrame in the wide layout
(:func:`wide_columns`, README.md), a CSV or JSON Lines file, or records, and
returns a :class:`CohortResult`. Both give the same findings for the same patient.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from kaptools.arguments import check_exports as _check_exports
from kaptools.arguments import lazy_exports as _lazy_exports
from kaptools.protocol import HistoryQuestion, MedicationClass
from kaptools.screening.catalogue import RuleCatalogue, RuleSpec, rule_catalogue
from kaptools.screening.layout import ListStatus, wide_columns
from kaptools.screening.names import DrugName, NameMatch, resolve_drug_name
from kaptools.screening.persistence import (
    LatestScreening,
    latest_screening,
    load_screening,
    override_finding,
    save_screening,
    screening_overrides,
)
from kaptools.screening.record import (
    AntidepressantTrial,
    CssrsScreener,
    HistoryChecklist,
    Medication,
    ScreeningRecord,
    screening_record_schema,
)
from kaptools.screening.result import (
    Finding,
    FindingOverride,
    ScreeningResult,
    ScreeningStatus,
    TrialAssessment,
    TrialVerdict,
)
from kaptools.screening.rules import assess_trial, screen
from kaptools.screening.tables import DrugInfo, DrugTables, TrialRole, drug_tables
from kaptools.vocabulary import Answer, CssrsQuestion, Severity, Sex, StopReason, TrialOutcome

if TYPE_CHECKING:
    from kaptools.screening.cohort import (
        MALFORMED,
        CohortResult,
        frame_from_records,
        read_cohort,
        screen_cohort,
    )
    from kaptools.screening.layout import frame_to_records, records_to_frame
    from kaptools.screening.synthetic import (
        synthetic_screening_frame,
        synthetic_screening_records,
    )

__all__ = [
    "MALFORMED",
    "Answer",
    "AntidepressantTrial",
    "CohortResult",
    "CssrsQuestion",
    "CssrsScreener",
    "DrugInfo",
    "DrugName",
    "DrugTables",
    "Finding",
    "FindingOverride",
    "HistoryChecklist",
    "HistoryQuestion",
    "LatestScreening",
    "ListStatus",
    "Medication",
    "MedicationClass",
    "NameMatch",
    "RuleCatalogue",
    "RuleSpec",
    "ScreeningRecord",
    "ScreeningResult",
    "ScreeningStatus",
    "Severity",
    "Sex",
    "StopReason",
    "TrialAssessment",
    "TrialOutcome",
    "TrialRole",
    "TrialVerdict",
    "assess_trial",
    "drug_tables",
    "frame_from_records",
    "frame_to_records",
    "latest_screening",
    "load_screening",
    "override_finding",
    "read_cohort",
    "records_to_frame",
    "resolve_drug_name",
    "rule_catalogue",
    "save_screening",
    "screen",
    "screen_cohort",
    "screening_overrides",
    "screening_record_schema",
    "synthetic_screening_frame",
    "synthetic_screening_records",
    "wide_columns",
]

# Every function listed above refuses wrong argument types by name (issue 13).
_check_exports(globals())
# Cohorts (frames) need pandas: imported on first use, so screening one record (a
# dashboard kernel) does without it (issue 14).
__getattr__ = _lazy_exports(
    globals(),
    {
        **dict.fromkeys(
            ["MALFORMED", "CohortResult", "frame_from_records", "read_cohort", "screen_cohort"],
            "kaptools.screening.cohort",
        ),
        "frame_to_records": "kaptools.screening.layout",
        "records_to_frame": "kaptools.screening.layout",
        "synthetic_screening_frame": "kaptools.screening.synthetic",
        "synthetic_screening_records": "kaptools.screening.synthetic",
    },
)
