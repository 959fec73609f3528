"""Course outcomes over a cohort: baseline vs latest score per patient, and their rates.

For researchers: the same scoring and the same response / remission rules as the
dashboards (``score`` and ``compare``), applied to a long table of administrations.
Change the protocol (e.g. a different response fraction) to ask "what if".
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any, cast

import numpy as np
import pandas as pd

from kaptools.errors import InvalidAnswerError, InvalidInputError
from kaptools.partitions import is_dask_frame, outcomes_by_partition
from kaptools.protocol import Protocol, default_protocol
from kaptools.scores import (
    NAN_FIX,
    Instrument,
    change_of_totals,
    definition,
    is_nan,
    with_item_columns,
)
from kaptools.scores import item_columns as item_columns_of
from kaptools.validation import check_frame_size

__all__ = ["OUTCOME_COLUMNS", "PROTOCOL_COLUMNS", "course_outcomes", "outcome_rates"]

#: Columns of :func:`course_outcomes`' result.
OUTCOME_COLUMNS = (
    "patient_id",
    "instrument",
    "n_assessments",
    "baseline_on",
    "latest_on",
    "baseline_total",
    "latest_total",
    "delta",
    "percent_change",
    "response",
    "remission",
    "mcid_met",
    "worsening",
)


#: Columns carried from each patient's baseline row when the input frame has them.
CARRIED_COLUMNS = ("route", "trajectory")

#: Provenance columns on every outcome row.
PROTOCOL_COLUMNS = ("protocol_name", "protocol_version", "protocol_sha256")

_FLAGS = ("response", "remission", "mcid_met", "worsening")


def course_outcomes(
    frame: pd.DataFrame,
    instrument: Instrument | str,
    *,
    protocol: Protocol | None = None,
    item_columns: Sequence[str] | None = None,
    nan_is_unanswered: bool = False,
) -> pd.DataFrame:
    """One row per patient: first (baseline) and last complete administration of ``instrument``.

    ``frame`` has one administration per row with columns ``patient_id``,
    ``administered_on`` and the item answers under their one name
    (``phq9_item1`` …; frames with the older ``item_1`` or ``phq9_1`` names are read
    too, see :func:`kaptools.scores.with_item_columns`), or ``item_columns`` in item
    order. Rows with missing items are left out of both ends and counted in
    ``n_incomplete``. A missing item is ``<NA>`` in a nullable column (``Int64``) or
    None in an object column; a NaN is refused (NaN is also what a failed conversion
    looks like) unless ``nan_is_unanswered=True`` says this frame's NaN mark gaps, as
    :func:`kaptools.scores.score_frame` does. ``route`` (and ``trajectory``) are
    carried from the baseline row when present; every row records the protocol (name,
    version, content hash).

    Vectorised over the whole frame: totals come from the instrument definition's
    array scoring, and response, remission, clinically important change and worsening
    from :func:`kaptools.scores.change_of_totals` (the rules :func:`compare` applies)
    for each distinct pair of totals, so they match the dashboards exactly; ``<NA>``
    where the instrument defines no such rule. Patients are never split across
    calls, so the function can run per partition of a frame partitioned by patient.
    A Dask DataFrame is shuffled on ``patient_id`` and each partition goes through
    this same code (:mod:`kaptools.partitions`); the result is identical.

    Raises:
        InvalidInputError: columns absent. InvalidAnswerError: an answer that is not a
        whole number in the instrument's range (text, bools, ±inf, and NaN unless
        ``nan_is_unanswered``; the message names row, item, value and the fix).
    """
    check_frame_size("course_outcomes: frame", frame)
    if not isinstance(nan_is_unanswered, bool):
        raise InvalidInputError(
            f"course_outcomes: nan_is_unanswered must be True or False; got "
            f"{type(nan_is_unanswered).__name__}."
        )
    if is_dask_frame(frame):  # the same code per partition, patients kept together
        return outcomes_by_partition(
            frame,
            instrument,
            protocol=protocol,
            item_columns=item_columns,
            nan_is_unanswered=nan_is_unanswered,
            course_outcomes=course_outcomes,
        )
    protocol = protocol or default_protocol()
    defn = definition(instrument)
    cols = list(item_columns_of(defn.instrument))
    frame = _with_item_names(frame, defn, cols, item_columns)
    carried = [c for c in CARRIED_COLUMNS if c in frame.columns]
    ordered = frame.sort_values(["patient_id", "administered_on"], kind="stable")
    answers = _answer_array(ordered, cols, defn, nan_is_unanswered)
    complete = ~np.isnan(answers).any(axis=1)
    _check_answers(answers, complete, ordered.index, cols, defn)
    out, first = _first_and_last(ordered, answers, complete, defn, protocol)
    for c in carried:
        out[c] = ordered[c].to_numpy()[first]
    info = protocol.info
    out["protocol_name"], out["protocol_version"] = info.name, info.version
    out["protocol_sha256"] = info.sha256
    return out[[*OUTCOME_COLUMNS, "n_incomplete", *carried, *PROTOCOL_COLUMNS]]


def _with_item_names(
    frame: pd.DataFrame, defn: Any, cols: list[str], item_columns: Sequence[str] | None
) -> pd.DataFrame:
    """``frame`` with the instrument's items under their one name (``item_columns``, if
    given, renamed in item order), after checking the columns the outcomes need."""
    if item_columns is not None:
        given = list(item_columns)
        if len(given) != defn.item_count:
            raise InvalidInputError(
                f"item_columns: the {defn.name} has {defn.item_count} items; got "
                f"{len(given)} names ({given[:3]}…). Give them in item order."
            )
        absent = [c for c in given if c not in frame.columns]
        if absent:
            raise InvalidInputError(
                f"course_outcomes needs columns {absent} in the frame (item_columns)."
            )
        frame = frame.rename(columns=dict(zip(given, cols, strict=True)))
    absent = [c for c in ("patient_id", "administered_on") if c not in frame.columns]
    if absent:
        raise InvalidInputError(
            f"course_outcomes needs columns {absent} in the frame (one administration per "
            f"row: patient_id, administered_on and the {defn.name} items {cols[0]}…{cols[-1]})."
        )
    if item_columns is None:
        frame = with_item_columns(frame, defn.instrument)
    return frame


def _first_and_last(
    ordered: pd.DataFrame,
    answers: np.ndarray,
    complete: np.ndarray,
    defn: Any,
    protocol: Protocol,
) -> tuple[pd.DataFrame, np.ndarray]:
    """Per patient (``ordered`` by patient and date): the first and last complete
    administration, their totals and the change flags; and the rows of the first ones."""
    pid = ordered["patient_id"].to_numpy()
    codes, uniques = pd.factorize(pid, sort=True)
    n_incomplete = np.bincount(codes[~complete], minlength=len(uniques))
    n_complete = np.bincount(codes[complete], minlength=len(uniques))
    rows = np.flatnonzero(complete)
    c_codes = codes[rows]
    starts = np.flatnonzero(np.r_[True, c_codes[1:] != c_codes[:-1]]) if rows.size else rows
    ends = np.r_[starts[1:] - 1, rows.size - 1] if rows.size else rows
    first, last = rows[starts], rows[ends]
    totals = defn.totals_of(answers[np.r_[first, last]].astype(np.int64))
    base_t, last_t = totals[: first.size], totals[first.size :]
    flags = _flags_of_totals(defn, base_t, last_t, protocol)
    who = c_codes[starts] if rows.size else c_codes
    dates = ordered["administered_on"].to_numpy()
    out = pd.DataFrame(
        {
            "patient_id": uniques[who],
            "instrument": defn.instrument.value,
            "n_assessments": n_complete[who].astype("int64"),
            "baseline_on": dates[first],
            "latest_on": dates[last],
            "baseline_total": base_t.astype("int64"),
            "latest_total": last_t.astype("int64"),
            **flags,
            "n_incomplete": n_incomplete[who].astype("int64"),
        }
    )
    return out, first


def _answer_array(
    ordered: pd.DataFrame, cols: list[str], defn: Any, nan_is_unanswered: bool
) -> np.ndarray:
    """The item answers as floats, NaN where unanswered; refuses what is not a number.

    A gap is <NA> (nullable column) or None/pd.NA (object column); a float NaN only when
    ``nan_is_unanswered``. Text, bools and other objects are refused, never converted
    (``float("２")`` would read a full-width digit).
    """
    out = np.empty((len(ordered), len(cols)), dtype="float64")
    for j, col in enumerate(cols):
        series = ordered[col]
        dtype = series.dtype
        unflagged = np.zeros(len(series), dtype=bool)
        gaps, nans, others = unflagged, unflagged, unflagged
        if pd.api.types.is_object_dtype(dtype):
            values = series.to_numpy()
            kinds = np.fromiter(map(_kind, values), dtype=np.int8, count=len(values))
            gaps, nans, others = kinds == _GAP, kinds == _NAN, kinds == _OTHER
            numbers = np.where(kinds == _NUMBER, values, np.nan).astype("float64")
        elif pd.api.types.is_bool_dtype(dtype) or not pd.api.types.is_numeric_dtype(dtype):
            gaps = series.isna().to_numpy()
            others = ~gaps
            numbers = np.full(len(series), np.nan)
        elif isinstance(dtype, np.dtype):  # numpy numbers: only a float column holds NaN
            numbers = series.to_numpy(dtype="float64")
            nans = np.isnan(numbers)
        else:  # nullable (Int64, Float64): <NA> is the explicit gap
            numbers = series.to_numpy(dtype="float64", na_value=np.nan)
            gaps = series.isna().to_numpy()
        bad = others | nans if not nan_is_unanswered else others
        if bad.any():
            r = int(np.flatnonzero(bad)[0])
            value = series.iloc[r]
            fix = (
                NAN_FIX
                + " If NaN in this frame marks unanswered items, pass nan_is_unanswered=True."
                if is_nan(value)
                else f"Answers are whole numbers {defn.item_min}–{defn.item_max}."
            )
            raise InvalidAnswerError(
                f"row {ordered.index[r]!r}, {cols[j]}: {value!r} ({type(value).__name__}) is "
                f"not a {defn.name} answer. {fix}",
                instrument=defn.name,
                item=j + 1,
                value=value,
            )
        out[:, j] = np.where(gaps | nans, np.nan, numbers)
    return out


_NUMBER, _GAP, _NAN, _OTHER = 0, 1, 2, 3


def _kind(value: object) -> int:
    """What one cell of an object column holds: a number, a gap, a NaN, or something else."""
    if value is None or value is pd.NA:
        return _GAP
    if is_nan(value):
        return _NAN
    if isinstance(value, int | np.integer | float | np.floating) and not isinstance(
        value, bool | np.bool_
    ):
        return _NUMBER
    return _OTHER


def _check_answers(
    answers: np.ndarray, complete: np.ndarray, index: pd.Index, cols: list[str], defn: Any
) -> None:
    """Refuse answers that are not whole numbers in the instrument's item range."""
    with np.errstate(invalid="ignore"):
        bad = ~np.isnan(answers) & (
            (answers != np.floor(answers)) | (answers < defn.item_min) | (answers > defn.item_max)
        )
    if bad.any():
        r, c = np.argwhere(bad)[0]
        raise InvalidAnswerError(
            f"row {index[r]!r}, {cols[c]}: {answers[r, c]:g} is not a {defn.name} answer; "
            f"answers are whole numbers {defn.item_min}–{defn.item_max}.",
            instrument=defn.instrument,
            item=int(c) + 1,
            value=answers[r, c],
        )


def _flags_of_totals(
    defn: Any, base: np.ndarray, latest: np.ndarray, protocol: Protocol
) -> dict[str, Any]:
    """:func:`change_of_totals` for each distinct (baseline, latest) pair, spread back."""
    pairs = np.stack([base, latest], axis=1) if base.size else np.empty((0, 2), np.int64)
    distinct, where = np.unique(pairs, axis=0, return_inverse=True)
    where = where.reshape(-1)
    results = [change_of_totals(defn, int(b), int(c), protocol) for b, c in distinct]

    def column(name: str, dtype: Any) -> Any:
        table = pd.Series([getattr(r, name) for r in results], dtype=dtype).array
        return table.take(where)

    return {
        "delta": (latest - base).astype("int64"),
        "percent_change": column("percent_change", "Float64"),
        **{f: column(f, "boolean") for f in _FLAGS},
    }


def outcome_rates(outcomes: pd.DataFrame, by: str | Iterable[str] | None = None) -> pd.DataFrame:
    """Patients (an integer count) and the share meeting each outcome, optionally by group.

    A rule the instrument does not define stays <NA>; a patient whose response is
    not defined (baseline 0) is left out of that rate's denominator.
    """
    check_frame_size("outcome_rates: outcomes", outcomes)
    if is_dask_frame(outcomes):
        outcomes = cast(Any, outcomes).compute()
        check_frame_size("outcome_rates: outcomes", outcomes)
    keys = [] if by is None else [by] if isinstance(by, str) else list(by)
    absent = [c for c in [*keys, *_FLAGS] if c not in outcomes.columns]
    if absent:
        raise InvalidInputError(
            f"outcome_rates needs columns {absent}; pass the frame course_outcomes returns."
        )
    flags = outcomes[list(_FLAGS)].astype("Float64")
    if not keys:
        data = {"patients": [len(outcomes)], **{f: [flags[f].mean()] for f in _FLAGS}}
        out = pd.DataFrame(data)
    else:
        grouped = flags.groupby([outcomes[k] for k in keys], sort=True, observed=True)
        out = grouped.mean()
        out.insert(0, "patients", grouped.size().astype("int64"))
    out["patients"] = out["patients"].astype("int64")
    for f in _FLAGS:
        out[f] = out[f].astype("Float64")
    return out
