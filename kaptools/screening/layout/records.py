"""Records to a wide frame and back (:func:`records_to_frame`, :func:`frame_to_records`)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np
import pandas as pd

from kaptools.errors import RecordError
from kaptools.protocol import HistoryQuestion
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
from kaptools.screening.layout.parse import ParsedFrame, errors_table, parse_frame
from kaptools.screening.record import ScreeningRecord
from kaptools.vocabulary import Answer, CssrsQuestion, Sex, StopReason, TrialOutcome

__all__ = ["frame_to_records", "record_to_row", "records_to_frame", "typed_frame"]


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
