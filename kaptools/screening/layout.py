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
"""

from __future__ import annotations

import enum
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from kaptools.errors import InvalidInputError, RecordError
from kaptools.icd10 import is_code
from kaptools.icd10 import release as icd10_release
from kaptools.limits import size_limit
from kaptools.protocol import HistoryQuestion, normalise_icd10
from kaptools.screening.record import (
    AGE_MAX_YEARS,
    DIASTOLIC_MAX_MMHG,
    DIASTOLIC_MIN_MMHG,
    DOSE_MAX_MG,
    DRUG_NAME_MAX_LENGTH,
    HEART_RATE_MAX_BPM,
    HEART_RATE_MIN_BPM,
    LIST_MAX_ITEMS,
    SYSTOLIC_MAX_MMHG,
    SYSTOLIC_MIN_MMHG,
    TRIAL_WEEKS_MAX,
    WEIGHT_MAX_KG,
    WEIGHT_MIN_KG,
    ScreeningRecord,
    phq9_definition,
)
from kaptools.vocabulary import Answer, CssrsQuestion, Sex, StopReason, TrialOutcome

__all__ = [
    "DIAGNOSIS_LIST_COLUMN",
    "DIAGNOSIS_SLOTS",
    "INPUT_ERROR_COLUMN",
    "MEDICATION_SLOTS",
    "TRIAL_SLOTS",
    "Column",
    "ListStatus",
    "frame_to_records",
    "records_to_frame",
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
_SLOT = re.compile(r"(dx|trial|med|phq9_item)(\d+)(.*)")

_TRIAL_FIELDS = ("drug", "dose_mg", "weeks", "outcome", "stop_reason")
_MED_FIELDS = ("drug", "dose_mg")


def _base_columns() -> list[Column]:
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


def _dx_column(i: int) -> Column:
    return Column(f"dx{i}", Kind.TEXT, False, f"Diagnosis {i}: an ICD-10-CM code, e.g. F33.1.")


def _trial_columns(i: int) -> list[Column]:
    return [
        Column(f"trial{i}_drug", Kind.TEXT, False, f"Trial {i}: antidepressant, generic name."),
        Column(
            f"trial{i}_dose_mg",
            Kind.NUMBER,
            False,
            f"Trial {i}: highest daily dose, mg.",
            low=0,
            high=DOSE_MAX_MG,
            low_exclusive=True,
        ),
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


def _med_columns(i: int) -> list[Column]:
    return [
        Column(f"med{i}_drug", Kind.TEXT, False, f"Medication {i}: generic name."),
        Column(
            f"med{i}_dose_mg",
            Kind.NUMBER,
            False,
            f"Medication {i}: total daily dose, mg.",
            low=0,
            high=DOSE_MAX_MG,
            low_exclusive=True,
        ),
    ]


def _phq9_columns() -> list[Column]:
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


def _cssrs_columns() -> list[Column]:
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
    """Every column of the wide layout, with the given numbers of slots."""
    cols = _base_columns()
    cols += [_dx_column(i) for i in range(1, diagnosis_slots + 1)]
    for i in range(1, trial_slots + 1):
        cols += _trial_columns(i)
    for i in range(1, medication_slots + 1):
        cols += _med_columns(i)
    cols += _phq9_columns() + _cssrs_columns()
    cols.append(Column(INPUT_ERROR_COLUMN, Kind.TEXT, False, "Reason the row is unreadable."))
    return tuple(cols)


def _column_for(name: str) -> Column | None:
    """The layout column called ``name`` (slot columns of any number), or None."""
    for col in _base_columns() + _phq9_columns() + _cssrs_columns():
        if col.name == name:
            return col
    if name == INPUT_ERROR_COLUMN:
        return Column(INPUT_ERROR_COLUMN, Kind.TEXT, False, "Reason the row is unreadable.")
    m = _SLOT.fullmatch(name)
    if m is None or m.group(2).startswith("0") or len(m.group(2)) > 6:
        return None
    prefix, i = m.group(1), int(m.group(2))
    if i > LIST_MAX_ITEMS:
        return None
    candidates = {
        "dx": [_dx_column(i)],
        "trial": _trial_columns(i),
        "med": _med_columns(i),
    }.get(prefix, [])
    return next((c for c in candidates if c.name == name), None)


# ---------------------------------------------------------------------------
# Parsing a frame into arrays, with every malformed cell found column-wise

BLANK = -1
INVALID = -2

_NUMBER = re.compile(r"[+-]?([0-9]+(\.[0-9]*)?|\.[0-9]+)([eE][+-]?[0-9]+)?")
"""A number written in ASCII digits: full-width or other scripts' digits are refused
(``float()`` would read them, but a clinic system never writes them)."""
NUMBER_MAX_CHARS = 40
"""Longest number text read; a longer one (a 400-digit value) is refused unread."""


def _number_of(value: object) -> float | None:
    """A category label as a number; NaN when blank; None when it is not a number."""
    if isinstance(value, bool | np.bool_):
        return None
    if isinstance(value, int | float | np.integer | np.floating):
        try:
            return float(value)
        except OverflowError:  # an int of hundreds of digits: out of every range
            return None
    if isinstance(value, str):
        text = value.strip()
        if not text:
            return np.nan
        if len(text) <= NUMBER_MAX_CHARS and _NUMBER.fullmatch(text):
            return float(text)
    return None


def _categorical(series: pd.Series) -> pd.Categorical:
    if isinstance(series.dtype, pd.CategoricalDtype):
        return series.array
    return pd.Categorical(series)


@dataclass
class _Problems:
    """Malformed cells found so far: (row mask, column, reason)."""

    items: list[tuple[np.ndarray, str, str]] = field(default_factory=list)

    def add(self, mask: np.ndarray, column: str, reason: str) -> None:
        if mask.any():
            self.items.append((mask, column, reason))


@dataclass
class TextColumn:
    """A free-text column as category codes (-1 blank) and its stripped category labels."""

    codes: np.ndarray
    labels: list[str]

    def present(self) -> np.ndarray:
        return self.codes >= 0

    def lookup(self, table: Sequence[Any], fill: Any, dtype: Any) -> np.ndarray:
        """Per-row ``table[code]``, ``fill`` where blank; ``table`` is indexed by category."""
        lut = np.empty(len(table) + 1, dtype=dtype)
        lut[: len(table)] = table
        lut[-1] = fill
        return lut[self.codes]


@dataclass
class ParsedFrame:
    """A wide frame read into arrays. Codes index the enum members; -1 is blank."""

    n: int
    index: pd.Index
    patient_id: np.ndarray
    numbers: dict[str, np.ndarray]
    categories: dict[str, np.ndarray]
    dx: list[TextColumn]
    diagnoses_known: np.ndarray
    """Per row, True when the diagnosis list was recorded (empty = no diagnosis)."""
    trial_drugs: list[TextColumn]
    med_drugs: list[TextColumn]
    phq9: list[np.ndarray] | None
    bad: np.ndarray
    problems: list[tuple[np.ndarray, str, str]]
    source: pd.DataFrame

    @property
    def trial_slots(self) -> int:
        return len(self.trial_drugs)

    @property
    def medication_slots(self) -> int:
        return len(self.med_drugs)


def _parse_category(series: pd.Series, col: Column, problems: _Problems) -> np.ndarray:
    cat = _categorical(series)
    allowed = {v: i for i, v in enumerate(col.values)}
    lut = np.empty(len(cat.categories) + 1, dtype=np.int8)
    for i, label in enumerate(cat.categories):
        if not isinstance(label, str):
            lut[i] = INVALID
            continue
        text = label.strip().lower()
        lut[i] = BLANK if not text else allowed.get(text, INVALID)
    lut[-1] = BLANK
    codes = lut[np.asarray(cat.codes)]
    problems.add(codes == INVALID, col.name, f"{col.name} must be {col.rule_text}")
    return codes


def _parse_number(series: pd.Series, col: Column, problems: _Problems) -> np.ndarray:
    dtype = series.dtype
    if pd.api.types.is_bool_dtype(dtype):
        values = np.full(len(series), np.nan)
        unreadable = series.notna().to_numpy()
    elif pd.api.types.is_numeric_dtype(dtype) and not isinstance(dtype, pd.CategoricalDtype):
        values = series.to_numpy(dtype=np.float64, na_value=np.nan)
        unreadable = np.isinf(values)
    else:
        flags = None
        if pd.api.types.is_object_dtype(dtype):
            # True == 1.0 to Python, so a category would merge them: take bools out first.
            raw = series.to_numpy(dtype=object)
            flags = np.fromiter((isinstance(v, bool | np.bool_) for v in raw), bool, len(raw))
            if flags.any():
                raw = raw.copy()
                raw[flags] = None
                series = pd.Series(raw, index=series.index, dtype=object)
            else:
                flags = None
        cat = _categorical(series)
        lut = np.empty(len(cat.categories) + 1, dtype=np.float64)
        bad_lut = np.zeros(len(cat.categories) + 1, dtype=bool)
        for i, label in enumerate(cat.categories):
            number = _number_of(label)
            if number is None or np.isinf(number):
                lut[i], bad_lut[i] = np.nan, True
            else:
                lut[i] = number
        lut[-1] = np.nan
        codes = np.asarray(cat.codes)
        values, unreadable = lut[codes], bad_lut[codes]
        if flags is not None:
            unreadable = unreadable | flags
    with np.errstate(invalid="ignore"):
        low_bad = values <= col.low if col.low_exclusive else values < col.low
        out_of_range = low_bad | (values > col.high)
        if col.whole:
            out_of_range |= np.isfinite(values) & (np.floor(values) != values)
    rejected = unreadable | out_of_range
    if rejected.any():
        problems.add(rejected, col.name, f"{col.name} must be {col.rule_text}")
        values = values.copy()  # never write into the caller's frame
        values[rejected] = np.nan
    return values


def _parse_text(
    series: pd.Series, col: Column, problems: _Problems, max_length: int = DRUG_NAME_MAX_LENGTH
) -> TextColumn:
    cat = _categorical(series)
    codes_lut = np.arange(len(cat.categories) + 1, dtype=np.int32)
    codes_lut[-1] = BLANK
    labels: list[str] = []
    bad = np.zeros(len(cat.categories) + 1, dtype=bool)
    for i, label in enumerate(cat.categories):
        if not isinstance(label, str):
            bad[i] = True
            labels.append("")
            codes_lut[i] = BLANK
            continue
        text = label.strip()
        labels.append(text)
        if not text:
            codes_lut[i] = BLANK
        elif len(text) > max_length:
            bad[i] = True
    raw = np.asarray(cat.codes)
    problems.add(bad[raw], col.name, f"{col.name} must be text of at most {max_length} characters")
    return TextColumn(codes_lut[raw], labels)


def _parse_dx(series: pd.Series, col: Column, problems: _Problems) -> TextColumn:
    text = _parse_text(series, col, problems)
    bad = np.zeros(len(text.labels) + 1, dtype=bool)
    for i, label in enumerate(text.labels):
        if label:
            norm = normalise_icd10(label)
            if norm is None or not is_code(norm):
                bad[i] = True
            else:
                text.labels[i] = norm
    problems.add(
        bad[text.codes],
        col.name,
        f"{col.name} must be an ICD-10-CM code such as F33.1 that exists in {icd10_release()} "
        f"(blank = none)",
    )
    return text


def _slot_numbers(columns: Iterable[str], prefix: str) -> int:
    highest = 0
    for name in columns:
        m = _SLOT.fullmatch(name)
        if m is not None and m.group(1) == prefix:
            highest = max(highest, int(m.group(2)))
    return highest


def check_columns(df: pd.DataFrame) -> None:
    """Raise InvalidInputError for unknown or missing columns (the whole input is unusable)."""
    names = [str(c) for c in df.columns]
    columns_max = size_limit("csv_columns_max")
    if len(names) > columns_max:
        msg = (
            f"columns: the cohort has {len(names):,} columns; the limit is {columns_max:,} "
            f"(csv_columns_max): drop unused slot columns"
        )
        raise InvalidInputError(msg)
    unknown = [c for c in names if _column_for(c) is None]
    if unknown:
        shown = ", ".join(repr(c[:60]) for c in unknown[:10])
        msg = (
            f"columns: {len(unknown)} column(s) are not in the screening layout: {shown}. "
            f"Rename them to layout names or drop them (layout: kaptools/screening/README.md; "
            f"slots dx, trial and med are numbered 1 to {LIST_MAX_ITEMS})."
        )
        raise InvalidInputError(msg)
    dup = sorted({c for c in names if names.count(c) > 1})
    if dup:
        msg = f"columns: {dup} appear more than once; keep one of each"
        raise InvalidInputError(msg)
    missing = [c.name for c in _base_columns() if c.required and c.name not in names]
    if missing:
        msg = (
            f"columns: the required column(s) {missing} are missing. Add them (a blank cell "
            f"means unknown)."
        )
        raise InvalidInputError(msg)


def parse_frame(df: pd.DataFrame) -> ParsedFrame:
    """Read a wide frame into arrays; malformed cells are collected, never raised.

    Raises InvalidInputError only when the columns themselves are wrong.
    """
    if not isinstance(df, pd.DataFrame):
        msg = f"a cohort must be a pandas DataFrame in the wide layout (got {type(df).__name__})"
        raise InvalidInputError(msg)
    check_columns(df)
    n = len(df)
    problems = _Problems()
    names = set(map(str, df.columns))

    def column(name: str) -> pd.Series | None:
        return df[name] if name in names else None

    def blank_series() -> pd.Series:
        blank = pd.Categorical.from_codes(  # type: ignore[call-overload]  # stubs want an Index
            np.full(n, -1, np.int8), categories=[]
        )
        return pd.Series(blank)

    numbers: dict[str, np.ndarray] = {}
    categories: dict[str, np.ndarray] = {}
    for col in _base_columns():
        s = column(col.name)
        if col.kind == Kind.NUMBER:
            numbers[col.name] = np.full(n, np.nan) if s is None else _parse_number(s, col, problems)
        elif col.kind == Kind.CATEGORY:
            categories[col.name] = (
                np.full(n, BLANK, np.int8) if s is None else _parse_category(s, col, problems)
            )
    pid_series = column("patient_id")
    if pid_series is None:
        patient_id = np.full(n, None, dtype=object)
    else:
        # Identifiers pass through as given (one per row: mapping them per category
        # would cost as much as the screening itself).
        patient_id = pid_series.to_numpy(  # type: ignore[call-overload]  # stubs: na_value=None
            dtype=object, na_value=None
        )

    dx = []
    for i in range(1, _slot_numbers(names, "dx") + 1):
        s = column(f"dx{i}")
        dx.append(_parse_dx(blank_series() if s is None else s, _dx_column(i), problems))

    trial_drugs = []
    for i in range(1, _slot_numbers(names, "trial") + 1):
        cols = {c.name.removeprefix(f"trial{i}_"): c for c in _trial_columns(i)}
        s = column(f"trial{i}_drug")
        drug = _parse_text(blank_series() if s is None else s, cols["drug"], problems)
        trial_drugs.append(drug)
        filled = np.zeros(n, dtype=bool)
        for key in ("dose_mg", "weeks"):
            s = column(f"trial{i}_{key}")
            values = np.full(n, np.nan) if s is None else _parse_number(s, cols[key], problems)
            numbers[f"trial{i}_{key}"] = values
            filled |= ~np.isnan(values)
        for key in ("outcome", "stop_reason"):
            s = column(f"trial{i}_{key}")
            codes = (
                np.full(n, BLANK, np.int8) if s is None else _parse_category(s, cols[key], problems)
            )
            categories[f"trial{i}_{key}"] = codes
            filled |= codes >= 0
        problems.add(
            filled & ~drug.present(),
            f"trial{i}_drug",
            f"trial{i}_drug is blank but other trial{i}_ cells are filled: name the drug or "
            f"clear the slot",
        )

    med_drugs = []
    for i in range(1, _slot_numbers(names, "med") + 1):
        cols = {c.name.removeprefix(f"med{i}_"): c for c in _med_columns(i)}
        s = column(f"med{i}_drug")
        drug = _parse_text(blank_series() if s is None else s, cols["drug"], problems)
        med_drugs.append(drug)
        s = column(f"med{i}_dose_mg")
        dose = np.full(n, np.nan) if s is None else _parse_number(s, cols["dose_mg"], problems)
        numbers[f"med{i}_dose_mg"] = dose
        problems.add(
            ~np.isnan(dose) & ~drug.present(),
            f"med{i}_drug",
            f"med{i}_dose_mg is given but med{i}_drug is blank: name the drug or clear the slot",
        )

    unknown = ListStatus.UNKNOWN
    order = list(ListStatus)
    # Diagnoses: "unknown" with a filled slot is malformed, as for the other lists; a
    # blank status (or no column) is read from the slots, for files older than the column.
    dx_listed = np.zeros(n, dtype=bool)
    for d in dx:
        dx_listed |= d.present()
    dx_status = categories[DIAGNOSIS_LIST_COLUMN]
    problems.add(
        dx_listed & (dx_status == order.index(unknown)),
        DIAGNOSIS_LIST_COLUMN,
        f"{DIAGNOSIS_LIST_COLUMN} is 'unknown' but dx slots are filled: write 'recorded' "
        f"when the slots hold the diagnoses, or clear them",
    )
    diagnoses_known = (dx_status == order.index(ListStatus.RECORDED)) | (
        (dx_status == BLANK) & dx_listed
    )
    for status_col, drugs, what in (
        ("trial_history", trial_drugs, "trial"),
        ("medication_list", med_drugs, "med"),
    ):
        listed = np.zeros(n, dtype=bool)
        for d in drugs:
            listed |= d.present()
        codes = categories[status_col]
        not_recorded = (codes == order.index(unknown)) | (codes == BLANK)
        problems.add(
            listed & not_recorded,
            status_col,
            f"{status_col} is blank or 'unknown' but {what} slots are filled: write "
            f"'recorded' when the slots hold the list",
        )

    phq9 = None
    phq_cols = _phq9_columns()
    if any(c.name in names for c in phq_cols):
        phq9 = []
        for c in phq_cols:
            s = column(c.name)
            phq9.append(np.full(n, np.nan) if s is None else _parse_number(s, c, problems))
    for c in _cssrs_columns():
        s = column(c.name)
        categories[c.name] = (
            np.full(n, BLANK, np.int8) if s is None else _parse_category(s, c, problems)
        )
    answer_order = list(Answer)
    problems.add(
        (categories["cssrs_behaviour_lifetime"] == answer_order.index(Answer.NO))
        & (categories["cssrs_behaviour_past_3_months"] == answer_order.index(Answer.YES)),
        "cssrs_behaviour_past_3_months",
        "cssrs_behaviour_past_3_months is 'yes' but cssrs_behaviour_lifetime is 'no': behaviour "
        "in the past 3 months is lifetime behaviour; answer cssrs_behaviour_lifetime 'yes'",
    )

    sbp, dbp = numbers["systolic_bp_mmhg"], numbers["diastolic_bp_mmhg"]
    with np.errstate(invalid="ignore"):
        problems.add(
            dbp >= sbp,
            "diastolic_bp_mmhg",
            "diastolic_bp_mmhg must be below systolic_bp_mmhg: check the readings are not swapped",
        )

    err = column(INPUT_ERROR_COLUMN)
    if err is not None:
        text = _parse_text(err, Column(INPUT_ERROR_COLUMN, Kind.TEXT, False, ""), problems, 10**6)
        present = text.present()
        if present.any():
            reasons = text.lookup(text.labels, "", object)
            for reason in pd.unique(reasons[present]):
                problems.add(present & (reasons == reason), INPUT_ERROR_COLUMN, str(reason))

    bad = np.zeros(n, dtype=bool)
    for mask, _, _ in problems.items:
        bad |= mask
    return ParsedFrame(
        n=n,
        index=df.index,
        patient_id=patient_id,
        numbers=numbers,
        categories=categories,
        dx=dx,
        diagnoses_known=diagnoses_known,
        trial_drugs=trial_drugs,
        med_drugs=med_drugs,
        phq9=phq9,
        bad=bad,
        problems=problems.items,
        source=df,
    )


def errors_table(parsed: ParsedFrame) -> pd.DataFrame:
    """One row per malformed cell: row (1-based), index, patient_id, column, value, reason."""
    parts = []
    for mask, column, reason in parsed.problems:
        rows = np.flatnonzero(mask)
        if column in parsed.source.columns and column != INPUT_ERROR_COLUMN:
            values = parsed.source[column].to_numpy(dtype=object)[rows]
        else:
            values = np.full(len(rows), None, dtype=object)
        parts.append(
            pd.DataFrame(
                {
                    "row": rows + 1,
                    "index": parsed.index[rows],
                    "patient_id": parsed.patient_id[rows],
                    "column": column,
                    "value": values,
                    "reason": reason,
                }
            )
        )
    if not parts:
        return pd.DataFrame(
            {
                "row": pd.Series([], dtype=np.int64),
                "index": pd.Series([], dtype=object),
                "patient_id": pd.Series([], dtype=object),
                "column": pd.Series([], dtype=object),
                "value": pd.Series([], dtype=object),
                "reason": pd.Series([], dtype=object),
            }
        )
    out = pd.concat(parts, ignore_index=True)
    return out.sort_values(["row", "column"], kind="stable").reset_index(drop=True)


# ---------------------------------------------------------------------------
# Records <-> frame


def _answer(value: Answer | None) -> str | None:
    return None if value is None else value.value


def record_to_row(record: ScreeningRecord) -> dict[str, Any]:
    """One record as a dict of wide-layout cells (slots as many as the record needs)."""
    row: dict[str, Any] = {
        "patient_id": record.patient_id,
        "age_years": np.nan if record.age_years is None else float(record.age_years),
        "sex": record.sex.value,
        "weight_kg": record.weight_kg,
        "pregnant": record.pregnant.value,
        "breastfeeding": record.breastfeeding.value,
        "pregnancy_prevention_discussed": record.pregnancy_prevention_discussed.value,
        "systolic_bp_mmhg": record.systolic_bp_mmhg,
        "diastolic_bp_mmhg": record.diastolic_bp_mmhg,
        "heart_rate_bpm": record.heart_rate_bpm,
        DIAGNOSIS_LIST_COLUMN: (
            ListStatus.UNKNOWN if record.diagnoses is None else ListStatus.RECORDED
        ).value,
        "trial_history": (
            ListStatus.UNKNOWN if record.antidepressant_trials is None else ListStatus.RECORDED
        ).value,
        "medication_list": (
            ListStatus.UNKNOWN if record.current_medications is None else ListStatus.RECORDED
        ).value,
    }
    for q in HistoryQuestion:
        row[q.value] = record.history.answer(q).value
    for i, code in enumerate(record.diagnoses or (), start=1):
        row[f"dx{i}"] = code
    for i, t in enumerate(record.antidepressant_trials or (), start=1):
        row[f"trial{i}_drug"] = t.drug
        row[f"trial{i}_dose_mg"] = t.daily_dose_mg
        row[f"trial{i}_weeks"] = t.weeks
        row[f"trial{i}_outcome"] = t.outcome.value
        row[f"trial{i}_stop_reason"] = t.stop_reason.value
    for i, m in enumerate(record.current_medications or (), start=1):
        row[f"med{i}_drug"] = m.drug
        row[f"med{i}_dose_mg"] = m.daily_dose_mg
    if record.phq9 is not None:
        for i, v in enumerate(record.phq9, start=1):
            row[f"phq9_item{i}"] = np.nan if v is None else float(v)
    if record.cssrs is not None:
        for cq in CssrsQuestion:
            row[f"cssrs_{cq.value}"] = _answer(getattr(record.cssrs, cq.value))
    return row


def typed_frame(rows: list[dict[str, Any]], columns: Sequence[Column]) -> pd.DataFrame:
    """A frame with the layout's dtypes: float numbers, categorical answers and names."""
    data: dict[str, Any] = {}
    n = len(rows)
    for col in columns:
        values = [r.get(col.name) for r in rows]
        if col.kind == Kind.NUMBER:
            data[col.name] = np.array(
                [np.nan if v is None else v for v in values], dtype=np.float64
            )
        elif col.name in ("patient_id", INPUT_ERROR_COLUMN):
            data[col.name] = pd.array(values, dtype=object) if n else pd.array([], dtype=object)
        else:
            data[col.name] = pd.Categorical(values)
    return pd.DataFrame(data)


def records_to_frame(
    records: Iterable[ScreeningRecord | dict[str, Any]],
    *,
    diagnosis_slots: int = DIAGNOSIS_SLOTS,
    trial_slots: int = TRIAL_SLOTS,
    medication_slots: int = MEDICATION_SLOTS,
) -> pd.DataFrame:
    """Records in the wide layout, with at least the given slots (more when a record needs them).

    Raises RecordError for a record that is not valid.
    """
    parsed = [ScreeningRecord.parse(r) for r in records]
    rows = [record_to_row(r) for r in parsed]
    dx_n = max([diagnosis_slots, *(len(r.diagnoses or ()) for r in parsed)])
    tr_n = max([trial_slots, *(len(r.antidepressant_trials or ()) for r in parsed)])
    md_n = max([medication_slots, *(len(r.current_medications or ()) for r in parsed)])
    cols = wide_columns(diagnosis_slots=dx_n, trial_slots=tr_n, medication_slots=md_n)
    cols = tuple(c for c in cols if c.name != INPUT_ERROR_COLUMN)
    return typed_frame(rows, cols)


def _enum_at(members: list[Any], code: int) -> Any:
    return None if code < 0 else members[code]


def frame_to_records(df: pd.DataFrame) -> list[ScreeningRecord]:
    """The records of a wide frame, one per row (the inverse of :func:`records_to_frame`).

    Raises:
        InvalidInputError: wrong columns.
        RecordError: some rows are malformed; the message names the first few.
    """
    parsed = parse_frame(df)
    if parsed.bad.any():
        errors = errors_table(parsed)
        shown = "; ".join(f"row {r.row}: {r.reason}" for r in errors.head(5).itertuples())
        msg = f"{int(parsed.bad.sum())} malformed row(s) in the cohort: {shown}"
        raise RecordError(msg)
    return [_row_record(parsed, i) for i in range(parsed.n)]


def _row_record(p: ParsedFrame, i: int) -> ScreeningRecord:
    num, cat = p.numbers, p.categories
    answers = list(Answer)
    status = list(ListStatus)

    def number(name: str) -> float | None:
        v = num[name][i]
        return None if np.isnan(v) else float(v)

    def answer(name: str) -> str:
        return (_enum_at(answers, int(cat[name][i])) or Answer.UNKNOWN).value

    trials = None
    if _enum_at(status, int(cat["trial_history"][i])) == ListStatus.RECORDED:
        trials = []
        for k, drug in enumerate(p.trial_drugs, start=1):
            code = drug.codes[i]
            if code < 0:
                continue
            outcome = _enum_at(list(TrialOutcome), int(cat[f"trial{k}_outcome"][i]))
            stop = _enum_at(list(StopReason), int(cat[f"trial{k}_stop_reason"][i]))
            trials.append(
                {
                    "drug": drug.labels[code],
                    "daily_dose_mg": number(f"trial{k}_dose_mg"),
                    "weeks": number(f"trial{k}_weeks"),
                    "outcome": (outcome or TrialOutcome.UNKNOWN).value,
                    "stop_reason": (stop or StopReason.UNKNOWN).value,
                }
            )
    meds = None
    if _enum_at(status, int(cat["medication_list"][i])) == ListStatus.RECORDED:
        meds = [
            {"drug": drug.labels[drug.codes[i]], "daily_dose_mg": number(f"med{k}_dose_mg")}
            for k, drug in enumerate(p.med_drugs, start=1)
            if drug.codes[i] >= 0
        ]
    phq9 = None
    if p.phq9 is not None:
        items = [None if np.isnan(a[i]) else int(a[i]) for a in p.phq9]
        phq9 = None if all(v is None for v in items) else items
    cssrs = {
        q.value: _answer(_enum_at(answers, int(cat[f"cssrs_{q.value}"][i]))) for q in CssrsQuestion
    }
    age = number("age_years")
    pid = p.patient_id[i]
    missing_pid = pid is None or (isinstance(pid, float) and np.isnan(pid))
    pid = None if missing_pid or not str(pid).strip() else str(pid).strip()
    data = {
        "patient_id": pid,
        "age_years": None if age is None else int(age),
        "sex": (_enum_at(list(Sex), int(cat["sex"][i])) or Sex.UNKNOWN).value,
        "weight_kg": number("weight_kg"),
        "pregnant": answer("pregnant"),
        "breastfeeding": answer("breastfeeding"),
        "pregnancy_prevention_discussed": answer("pregnancy_prevention_discussed"),
        "diagnoses": (
            [d.labels[d.codes[i]] for d in p.dx if d.codes[i] >= 0]
            if p.diagnoses_known[i]
            else None
        ),
        "antidepressant_trials": trials,
        "current_medications": meds,
        "systolic_bp_mmhg": number("systolic_bp_mmhg"),
        "diastolic_bp_mmhg": number("diastolic_bp_mmhg"),
        "heart_rate_bpm": number("heart_rate_bpm"),
        "history": {q.value: answer(q.value) for q in HistoryQuestion},
        "phq9": phq9,
        "cssrs": cssrs if any(v is not None for v in cssrs.values()) else None,
    }
    return ScreeningRecord.parse(data)
