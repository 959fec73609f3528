"""The columns of the wide cohort layout, as data (README.md beside the package lists them)."""

from __future__ import annotations

import enum
import functools
import re
from dataclasses import dataclass

from kaptools.errors import InvalidInputError
from kaptools.limits import size_limit
from kaptools.protocol import HistoryQuestion
from kaptools.screening.record import (
    AGE_MAX_YEARS,
    DIASTOLIC_MAX_MMHG,
    DIASTOLIC_MIN_MMHG,
    DOSE_MAX_MG,
    HEART_RATE_MAX_BPM,
    HEART_RATE_MIN_BPM,
    LIST_MAX_ITEMS,
    SYSTOLIC_MAX_MMHG,
    SYSTOLIC_MIN_MMHG,
    TRIAL_WEEKS_MAX,
    WEIGHT_MAX_KG,
    WEIGHT_MIN_KG,
    phq9_definition,
)
from kaptools.validation import shown
from kaptools.vocabulary import Answer, CssrsQuestion, Sex, StopReason, TrialOutcome

__all__ = [
    "DIAGNOSIS_LIST_COLUMN",
    "DIAGNOSIS_SLOTS",
    "INPUT_ERROR_COLUMN",
    "MEDICATION_SLOTS",
    "SLOT_NAME",
    "TRIAL_SLOTS",
    "Column",
    "Kind",
    "ListStatus",
    "base_columns",
    "column_for",
    "cssrs_columns",
    "dx_column",
    "med_columns",
    "phq9_columns",
    "trial_columns",
    "wide_columns",
]

DIAGNOSIS_SLOTS = 6
TRIAL_SLOTS = 8
MEDICATION_SLOTS = 10
"""Slots written by :func:`records_to_frame` and the synthetic generator. Readers accept
any number of slots (``trial9_drug``...), so longer histories fit."""

DIAGNOSIS_LIST_COLUMN = "diagnosis_list"
"""Optional status column of the diagnosis slots: ``recorded`` or ``unknown``. It is
optional so that cohort files written before it existed still read: there a blank
status is ``recorded`` when a diagnosis slot is filled and ``unknown`` when none is."""

INPUT_ERROR_COLUMN = "input_error"
"""Optional text column: a row carrying a reason here is reported malformed with it
(the JSON Lines reader uses it for lines that are not valid records)."""


class ListStatus(enum.StrEnum):
    """Whether a list (diagnoses, trial history, current medications) was taken.

    Blank is unknown, except for ``diagnosis_list``: a blank there with a filled
    diagnosis slot is read as recorded (files written before the column existed).
    """

    RECORDED = "recorded"
    """The slots hold the whole list; no filled slot means "none"."""
    UNKNOWN = "unknown"
    """The list was not taken: nothing may be written in its slots."""


class Kind(enum.StrEnum):
    NUMBER = "number"
    CATEGORY = "category"
    TEXT = "text"


@dataclass(frozen=True, slots=True)
class Column:
    """One column of the wide layout."""

    name: str
    kind: Kind
    required: bool
    description: str
    values: tuple[str, ...] = ()
    """Allowed values of a category column (case-insensitive); empty for free text."""
    low: float | None = None
    high: float | None = None
    whole: bool = False
    low_exclusive: bool = False

    @property
    def rule_text(self) -> str:
        """What a valid cell holds, for error messages and the README."""
        if self.kind == Kind.CATEGORY and self.values:
            return "one of " + ", ".join(self.values) + " (blank = unknown)"
        if self.kind == Kind.NUMBER:
            what = "a whole number" if self.whole else "a number"
            lo = "above" if self.low_exclusive else "from"
            return f"{what} {lo} {self.low:g} to {self.high:g} (blank = unknown)"
        return "text (blank = none)"


_ANSWERS = tuple(a.value for a in Answer)
SLOT_NAME = re.compile(r"(dx|trial|med|phq9_item)(\d+)(.*)")

_TRIAL_FIELDS = ("drug", "dose_mg", "weeks", "outcome", "stop_reason")
_MED_FIELDS = ("drug", "dose_mg")


def base_columns() -> list[Column]:
    return [
        Column("patient_id", Kind.TEXT, False, "Identifier (synthetic data only)."),
        Column(
            "age_years",
            Kind.NUMBER,
            True,
            "Age in whole years.",
            low=0,
            high=AGE_MAX_YEARS,
            whole=True,
        ),
        Column("sex", Kind.CATEGORY, True, "Sex.", tuple(s.value for s in Sex)),
        Column(
            "weight_kg",
            Kind.NUMBER,
            False,
            "Weight, kg (no screening rule).",
            low=WEIGHT_MIN_KG,
            high=WEIGHT_MAX_KG,
        ),
        Column("pregnant", Kind.CATEGORY, True, "Currently pregnant.", _ANSWERS),
        Column("breastfeeding", Kind.CATEGORY, True, "Currently breastfeeding.", _ANSWERS),
        Column(
            "pregnancy_prevention_discussed",
            Kind.CATEGORY,
            False,
            "Could become pregnant: contraception discussed or pregnancy test done (required "
            "unless male; blank or no column = unknown).",
            _ANSWERS,
        ),
        Column(
            "systolic_bp_mmhg",
            Kind.NUMBER,
            True,
            "Systolic blood pressure at screening, mmHg.",
            low=SYSTOLIC_MIN_MMHG,
            high=SYSTOLIC_MAX_MMHG,
        ),
        Column(
            "diastolic_bp_mmhg",
            Kind.NUMBER,
            True,
            "Diastolic blood pressure at screening, mmHg (below systolic).",
            low=DIASTOLIC_MIN_MMHG,
            high=DIASTOLIC_MAX_MMHG,
        ),
        Column(
            "heart_rate_bpm",
            Kind.NUMBER,
            False,
            "Heart rate at screening (required: blank or no column = unknown).",
            low=HEART_RATE_MIN_BPM,
            high=HEART_RATE_MAX_BPM,
        ),
        Column(
            DIAGNOSIS_LIST_COLUMN,
            Kind.CATEGORY,
            False,
            "Whether the diagnosis slots hold the whole diagnosis list (blank: recorded when a "
            "slot is filled, otherwise unknown).",
            tuple(s.value for s in ListStatus),
        ),
        Column(
            "trial_history",
            Kind.CATEGORY,
            True,
            "Whether the trial slots hold the whole antidepressant history of the episode.",
            tuple(s.value for s in ListStatus),
        ),
        Column(
            "medication_list",
            Kind.CATEGORY,
            True,
            "Whether the medication slots hold the whole current medication list.",
            tuple(s.value for s in ListStatus),
        ),
        *(Column(q.value, Kind.CATEGORY, True, f"{q.label}?", _ANSWERS) for q in HistoryQuestion),
    ]


def dx_column(i: int) -> Column:
    return Column(f"dx{i}", Kind.TEXT, False, f"Diagnosis {i}: an ICD-10-CM code, e.g. F33.1.")


def _dose_column(name: str, description: str) -> Column:
    """A daily dose in mg: above 0, at most the plausible maximum."""
    return Column(
        name, Kind.NUMBER, False, description, low=0, high=DOSE_MAX_MG, low_exclusive=True
    )


def trial_columns(i: int) -> list[Column]:
    return [
        Column(f"trial{i}_drug", Kind.TEXT, False, f"Trial {i}: antidepressant, generic name."),
        _dose_column(f"trial{i}_dose_mg", f"Trial {i}: highest daily dose, mg."),
        Column(
            f"trial{i}_weeks",
            Kind.NUMBER,
            False,
            f"Trial {i}: duration, weeks.",
            low=0,
            high=TRIAL_WEEKS_MAX,
        ),
        Column(
            f"trial{i}_outcome",
            Kind.CATEGORY,
            False,
            f"Trial {i}: outcome.",
            tuple(o.value for o in TrialOutcome),
        ),
        Column(
            f"trial{i}_stop_reason",
            Kind.CATEGORY,
            False,
            f"Trial {i}: why it ended.",
            tuple(r.value for r in StopReason),
        ),
    ]


def med_columns(i: int) -> list[Column]:
    return [
        Column(f"med{i}_drug", Kind.TEXT, False, f"Medication {i}: generic name."),
        _dose_column(f"med{i}_dose_mg", f"Medication {i}: total daily dose, mg."),
    ]


def phq9_columns() -> list[Column]:
    defn = phq9_definition()
    return [
        Column(
            f"phq9_item{i}",
            Kind.NUMBER,
            False,
            f"Baseline PHQ-9 item {i} answer.",
            low=defn.item_min,
            high=defn.item_max,
            whole=True,
        )
        for i in defn.items
    ]


def cssrs_columns() -> list[Column]:
    return [
        Column(f"cssrs_{q.value}", Kind.CATEGORY, False, f"C-SSRS screener: {q.value}.", _ANSWERS)
        for q in CssrsQuestion
    ]


def wide_columns(
    *,
    diagnosis_slots: int = DIAGNOSIS_SLOTS,
    trial_slots: int = TRIAL_SLOTS,
    medication_slots: int = MEDICATION_SLOTS,
) -> tuple[Column, ...]:
    """Every column of the wide layout, with the given numbers of slots.

    Raises:
        InvalidInputError: a slot count that is negative or above limits.toml
            ``record_list_max_items``.
    """
    most = size_limit("record_list_max_items")
    for name, slots in (
        ("diagnosis_slots", diagnosis_slots),
        ("trial_slots", trial_slots),
        ("medication_slots", medication_slots),
    ):
        if not 0 <= slots <= most:
            msg = (
                f"wide_columns: {name} is {shown(slots)}; it must be from 0 to {most} "
                f"(limits.toml size.record_list_max_items). Pass a smaller count."
            )
            raise InvalidInputError(msg)
    cols = base_columns()
    cols += [dx_column(i) for i in range(1, diagnosis_slots + 1)]
    for i in range(1, trial_slots + 1):
        cols += trial_columns(i)
    for i in range(1, medication_slots + 1):
        cols += med_columns(i)
    cols += phq9_columns() + cssrs_columns()
    cols.append(Column(INPUT_ERROR_COLUMN, Kind.TEXT, False, "Reason the row is unreadable."))
    return tuple(cols)


@functools.cache
def _fixed_columns() -> dict[str, Column]:
    """The layout's columns that are not numbered slots, by name (built once: a cohort's
    every column is looked up here)."""
    found: dict[str, Column] = {}
    for col in base_columns() + phq9_columns() + cssrs_columns():
        found.setdefault(col.name, col)
    return found


def column_for(name: str) -> Column | None:
    """The layout column called ``name`` (slot columns of any number), or None."""
    col = _fixed_columns().get(name)
    if col is not None:
        return col
    if name == INPUT_ERROR_COLUMN:
        return Column(INPUT_ERROR_COLUMN, Kind.TEXT, False, "Reason the row is unreadable.")
    m = SLOT_NAME.fullmatch(name)
    if m is None or m.group(2).startswith("0") or len(m.group(2)) > 6:
        return None
    prefix, i = m.group(1), int(m.group(2))
    if i > LIST_MAX_ITEMS:
        return None
    candidates = {
        "dx": [dx_column(i)],
        "trial": trial_columns(i),
        "med": med_columns(i),
    }.get(prefix, [])
    return next((c for c in candidates if c.name == name), None)
