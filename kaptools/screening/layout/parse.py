"""Parsing a wide frame into arrays, with every malformed cell found column-wise.

A blank cell is unknown (never "no"). A cell that cannot be read, a value outside its
plausible range, or a slot filled without its drug makes the row malformed: it is
reported with the reason (:func:`errors_table`) and never screened.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from kaptools.errors import InvalidInputError
from kaptools.icd10 import is_code
from kaptools.icd10 import release as icd10_release
from kaptools.limits import size_limit
from kaptools.protocol import normalise_icd10
from kaptools.screening.layout.columns import (
    DIAGNOSIS_LIST_COLUMN,
    INPUT_ERROR_COLUMN,
    SLOT_NAME,
    Column,
    Kind,
    ListStatus,
    base_columns,
    column_for,
    cssrs_columns,
    dx_column,
    med_columns,
    phq9_columns,
    trial_columns,
)
from kaptools.screening.record import DRUG_NAME_MAX_LENGTH, LIST_MAX_ITEMS
from kaptools.vocabulary import Answer

__all__ = [
    "BLANK",
    "INVALID",
    "NUMBER_MAX_CHARS",
    "ParsedFrame",
    "TextColumn",
    "check_columns",
    "errors_table",
    "parse_frame",
]

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
        m = SLOT_NAME.fullmatch(name)
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
    unknown = [c for c in names if column_for(c) is None]
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
    missing = [c.name for c in base_columns() if c.required and c.name not in names]
    if missing:
        msg = (
            f"columns: the required column(s) {missing} are missing. Add them (a blank cell "
            f"means unknown)."
        )
        raise InvalidInputError(msg)


@dataclass
class _Reader:
    """One frame being read: its columns by name, the arrays read so far, the problems."""

    df: pd.DataFrame
    n: int
    names: set[str]
    problems: _Problems = field(default_factory=_Problems)
    numbers: dict[str, np.ndarray] = field(default_factory=dict)
    categories: dict[str, np.ndarray] = field(default_factory=dict)

    def column(self, name: str) -> pd.Series | None:
        return self.df[name] if name in self.names else None

    def blank_series(self) -> pd.Series:
        blank = pd.Categorical.from_codes(  # type: ignore[call-overload]  # stubs want an Index
            np.full(self.n, -1, np.int8), categories=[]
        )
        return pd.Series(blank)

    def number(self, col: Column) -> np.ndarray:
        """A number column (all blank when the frame has none), kept in ``numbers``."""
        s = self.column(col.name)
        values = np.full(self.n, np.nan) if s is None else _parse_number(s, col, self.problems)
        self.numbers[col.name] = values
        return values

    def category(self, col: Column) -> np.ndarray:
        """A category column's codes (all blank when the frame has none), kept in ``categories``."""
        s = self.column(col.name)
        codes = (
            np.full(self.n, BLANK, np.int8) if s is None else _parse_category(s, col, self.problems)
        )
        self.categories[col.name] = codes
        return codes

    def series(self, name: str) -> pd.Series:
        """The column called ``name``, or an all-blank one when the frame has none."""
        s = self.column(name)
        return self.blank_series() if s is None else s

    def text(self, col: Column) -> TextColumn:
        return _parse_text(self.series(col.name), col, self.problems)


def parse_frame(df: pd.DataFrame) -> ParsedFrame:
    """Read a wide frame into arrays; malformed cells are collected, never raised.

    Raises InvalidInputError only when the columns themselves are wrong.
    """
    if not isinstance(df, pd.DataFrame):
        msg = f"a cohort must be a pandas DataFrame in the wide layout (got {type(df).__name__})"
        raise InvalidInputError(msg)
    check_columns(df)
    r = _Reader(df, len(df), set(map(str, df.columns)))
    patient_id = _read_base(r)
    dx = [
        _parse_dx(r.series(f"dx{i}"), dx_column(i), r.problems)
        for i in range(1, _slot_numbers(r.names, "dx") + 1)
    ]
    trial_drugs = _read_trials(r)
    med_drugs = _read_medications(r)
    diagnoses_known = _check_lists(r, dx, trial_drugs, med_drugs)
    phq9 = _read_measures(r)
    _check_vitals(r)
    _read_input_errors(r)
    bad = np.zeros(r.n, dtype=bool)
    for mask, _, _ in r.problems.items:
        bad |= mask
    return ParsedFrame(
        n=r.n,
        index=df.index,
        patient_id=patient_id,
        numbers=r.numbers,
        categories=r.categories,
        dx=dx,
        diagnoses_known=diagnoses_known,
        trial_drugs=trial_drugs,
        med_drugs=med_drugs,
        phq9=phq9,
        bad=bad,
        problems=r.problems.items,
        source=df,
    )


def _read_base(r: _Reader) -> np.ndarray:
    """The one-per-patient columns; returns the patient ids."""
    for col in base_columns():
        if col.kind == Kind.NUMBER:
            r.number(col)
        elif col.kind == Kind.CATEGORY:
            r.category(col)
    pid_series = r.column("patient_id")
    if pid_series is None:
        return np.full(r.n, None, dtype=object)
    # Identifiers pass through as given (one per row: mapping them per category
    # would cost as much as the screening itself).
    return pid_series.to_numpy(  # type: ignore[call-overload]  # stubs: na_value=None
        dtype=object, na_value=None
    )


def _read_trials(r: _Reader) -> list[TextColumn]:
    """The antidepressant trial slots; a slot filled without its drug is malformed."""
    trial_drugs = []
    for i in range(1, _slot_numbers(r.names, "trial") + 1):
        cols = {c.name.removeprefix(f"trial{i}_"): c for c in trial_columns(i)}
        drug = r.text(cols["drug"])
        trial_drugs.append(drug)
        filled = np.zeros(r.n, dtype=bool)
        for key in ("dose_mg", "weeks"):
            filled |= ~np.isnan(r.number(cols[key]))
        for key in ("outcome", "stop_reason"):
            filled |= r.category(cols[key]) >= 0
        r.problems.add(
            filled & ~drug.present(),
            f"trial{i}_drug",
            f"trial{i}_drug is blank but other trial{i}_ cells are filled: name the drug or "
            f"clear the slot",
        )
    return trial_drugs


def _read_medications(r: _Reader) -> list[TextColumn]:
    """The current medication slots; a dose without its drug is malformed."""
    med_drugs = []
    for i in range(1, _slot_numbers(r.names, "med") + 1):
        cols = {c.name.removeprefix(f"med{i}_"): c for c in med_columns(i)}
        drug = r.text(cols["drug"])
        med_drugs.append(drug)
        dose = r.number(cols["dose_mg"])
        r.problems.add(
            ~np.isnan(dose) & ~drug.present(),
            f"med{i}_drug",
            f"med{i}_dose_mg is given but med{i}_drug is blank: name the drug or clear the slot",
        )
    return med_drugs


def _any_filled(slots: list[TextColumn], n: int) -> np.ndarray:
    """Per row, True when any of the ``slots`` is filled."""
    filled = np.zeros(n, dtype=bool)
    for slot in slots:
        filled |= slot.present()
    return filled


def _check_lists(
    r: _Reader,
    dx: list[TextColumn],
    trial_drugs: list[TextColumn],
    med_drugs: list[TextColumn],
) -> np.ndarray:
    """Each list's status against its slots; returns, per row, whether diagnoses are known."""
    n, problems, categories = r.n, r.problems, r.categories
    unknown = ListStatus.UNKNOWN
    order = list(ListStatus)
    # Diagnoses: "unknown" with a filled slot is malformed, as for the other lists; a
    # blank status (or no column) is read from the slots, for files older than the column.
    dx_listed = _any_filled(dx, n)
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
        listed = _any_filled(drugs, n)
        codes = categories[status_col]
        not_recorded = (codes == order.index(unknown)) | (codes == BLANK)
        problems.add(
            listed & not_recorded,
            status_col,
            f"{status_col} is blank or 'unknown' but {what} slots are filled: write "
            f"'recorded' when the slots hold the list",
        )
    return diagnoses_known


def _read_measures(r: _Reader) -> list[np.ndarray] | None:
    """The baseline PHQ-9 items (None when the frame has none) and the C-SSRS screener."""
    phq9 = None
    phq_cols = phq9_columns()
    if any(c.name in r.names for c in phq_cols):
        phq9 = []
        for c in phq_cols:
            s = r.column(c.name)
            phq9.append(np.full(r.n, np.nan) if s is None else _parse_number(s, c, r.problems))
    for c in cssrs_columns():
        r.category(c)
    categories = r.categories
    answer_order = list(Answer)
    r.problems.add(
        (categories["cssrs_behaviour_lifetime"] == answer_order.index(Answer.NO))
        & (categories["cssrs_behaviour_past_3_months"] == answer_order.index(Answer.YES)),
        "cssrs_behaviour_past_3_months",
        "cssrs_behaviour_past_3_months is 'yes' but cssrs_behaviour_lifetime is 'no': behaviour "
        "in the past 3 months is lifetime behaviour; answer cssrs_behaviour_lifetime 'yes'",
    )
    return phq9


def _check_vitals(r: _Reader) -> None:
    sbp, dbp = r.numbers["systolic_bp_mmhg"], r.numbers["diastolic_bp_mmhg"]
    with np.errstate(invalid="ignore"):
        r.problems.add(
            dbp >= sbp,
            "diastolic_bp_mmhg",
            "diastolic_bp_mmhg must be below systolic_bp_mmhg: check the readings are not swapped",
        )


def _read_input_errors(r: _Reader) -> None:
    """Rows a reader marked unreadable (``input_error``) are malformed with its reason."""
    err = r.column(INPUT_ERROR_COLUMN)
    if err is None:
        return
    col = Column(INPUT_ERROR_COLUMN, Kind.TEXT, False, "")
    text = _parse_text(err, col, r.problems, 10**6)
    present = text.present()
    if present.any():
        reasons = text.lookup(text.labels, "", object)
        for reason in pd.unique(reasons[present]):
            r.problems.add(present & (reasons == reason), INPUT_ERROR_COLUMN, str(reason))


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
