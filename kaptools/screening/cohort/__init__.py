"""Screening a whole cohort at once: column-wise (numpy) over the wide layout.

:func:`screen_cohort` applies the rules of :func:`kaptools.screening.screen` to
columns instead of records: each categorical column is mapped once per category
(drug names to doses and classes, codes to indications), and each rule becomes a
few array operations. Findings come back as a boolean matrix (patients × rules)
and, per patient, the rule ids that fired listed by severity: each list is built once
per distinct combination of rules, never once per row. Tests check, record by record,
that both paths give the same status, findings, alerts and trial count.

The package is split by step: :mod:`.files` (reading cohort files and records into
the wide layout), :mod:`.columnwise` (the rules on columns), :mod:`.result` (the
table and :class:`CohortResult`) and :mod:`.screen` (:func:`screen_cohort`, the steps
in order).
"""

from __future__ import annotations

from kaptools.screening.cohort.files import frame_from_records, read_cohort, write_parquet
from kaptools.screening.cohort.result import MALFORMED, STATUS_CATEGORIES, CohortResult
from kaptools.screening.cohort.screen import screen_cohort

__all__ = [
    "MALFORMED",
    "STATUS_CATEGORIES",
    "CohortResult",
    "frame_from_records",
    "read_cohort",
    "screen_cohort",
    "write_parquet",
]
