"""The wide cohort layout: one row per patient, one column per fact, fixed slots for lists.

The same layout is the CSV format of ``kaptools screen`` and the in-memory frame of
:func:`kaptools.screening.screen_cohort`. It is built for column-wise (vectorised)
screening: numbers in numeric columns, answers and drug names in categorical
columns (mapped once per category, never per row), and a fixed number of numbered
slots for diagnoses (``dx1``...), antidepressant trials (``trial1_drug``...) and
current medications (``med1_drug``...). README.md beside this module lists every
column; :func:`wide_columns` gives the same list as data.

A blank cell is unknown (never "no"). A cell that cannot be read, a value outside
its plausible range, or a slot filled without its drug makes the row malformed: it
is reported with the reason and never screened.

The layout is split by what is done with it: :mod:`.columns` (the columns, as data),
:mod:`.parse` (a frame read into arrays, every malformed cell found column-wise) and
:mod:`.records` (records to a frame and back).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from kaptools.arguments import lazy_exports as _lazy_exports
from kaptools.screening.layout.columns import (
    DIAGNOSIS_LIST_COLUMN,
    DIAGNOSIS_SLOTS,
    INPUT_ERROR_COLUMN,
    MEDICATION_SLOTS,
    TRIAL_SLOTS,
    Column,
    Kind,
    ListStatus,
    wide_columns,
)

if TYPE_CHECKING:
    from kaptools.screening.layout.parse import (
        BLANK,
        INVALID,
        NUMBER_MAX_CHARS,
        ParsedFrame,
        TextColumn,
        check_columns,
        errors_table,
        parse_frame,
    )
    from kaptools.screening.layout.records import (
        frame_to_records,
        record_to_row,
        records_to_frame,
        typed_frame,
    )

__all__ = [
    "BLANK",
    "DIAGNOSIS_LIST_COLUMN",
    "DIAGNOSIS_SLOTS",
    "INPUT_ERROR_COLUMN",
    "INVALID",
    "MEDICATION_SLOTS",
    "NUMBER_MAX_CHARS",
    "TRIAL_SLOTS",
    "Column",
    "Kind",
    "ListStatus",
    "ParsedFrame",
    "TextColumn",
    "check_columns",
    "errors_table",
    "frame_to_records",
    "parse_frame",
    "record_to_row",
    "records_to_frame",
    "typed_frame",
    "wide_columns",
]

# Reading a frame (parse) and building one (records) need pandas: imported on first use,
# so screening one record (a dashboard kernel) does without it (issue 14).
__getattr__ = _lazy_exports(
    globals(),
    {
        **dict.fromkeys(
            ["BLANK", "INVALID", "NUMBER_MAX_CHARS", "ParsedFrame", "TextColumn"],
            "kaptools.screening.layout.parse",
        ),
        **dict.fromkeys(
            ["check_columns", "errors_table", "parse_frame"], "kaptools.screening.layout.parse"
        ),
        **dict.fromkeys(
            ["frame_to_records", "record_to_row", "records_to_frame", "typed_frame"],
            "kaptools.screening.layout.records",
        ),
    },
)
