"""Course outcomes over a cohort: baseline vs latest score per patient, and their rates.

For researchers: the same scoring and the same response / remission rules as the
dashboards (``score`` and ``compare``), applied to a long table of administrations.
Change the protocol (e.g. a different response fraction) to ask "what if".
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import cast

import pandas as pd

from kaptools.errors import InvalidInputError
from kaptools.protocol import Protocol, default_protocol
from kaptools.scores import Instrument, compare, definition, score

__all__ = ["OUTCOME_COLUMNS", "course_outcomes", "outcome_rates"]

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


def course_outcomes(
    frame: pd.DataFrame,
    instrument: Instrument | str,
    *,
    protocol: Protocol | None = None,
    item_columns: Sequence[str] | None = None,
) -> pd.DataFrame:
    """One row per patient: first (baseline) and last administration of ``instrument``.

    ``frame`` has one administration per row with columns ``patient_id``,
    ``administered_on`` and the item answers (``item_1`` … by default). Rows with
    missing items are left out of both ends and counted in ``n_incomplete``.
    Response, remission, clinically important change and worsening are
    :func:`kaptools.scores.compare`'s, so they match the dashboards exactly;
    ``None`` (shown as <NA>) where the instrument defines no such rule.
    """
    protocol = protocol or default_protocol()
    defn = definition(instrument)
    cols = (
        list(item_columns) if item_columns else [f"item_{i}" for i in range(1, defn.item_count + 1)]
    )
    needed = ["patient_id", "administered_on", *cols]
    absent = [c for c in needed if c not in frame.columns]
    if absent:
        raise InvalidInputError(
            f"course_outcomes needs columns {absent} in the frame (one administration per "
            f"row: patient_id, administered_on and the {defn.name} items {cols[0]}…{cols[-1]})."
        )
    rows = []
    ordered = frame.sort_values(["patient_id", "administered_on"], kind="stable")
    for pid, group in ordered.groupby("patient_id", sort=True):
        complete = group.dropna(subset=cols)
        n_incomplete = len(group) - len(complete)
        if complete.empty:
            continue
        first, last = complete.iloc[0], complete.iloc[-1]
        base = score(defn.instrument, [int(first[c]) for c in cols], protocol=protocol)
        latest = score(defn.instrument, [int(last[c]) for c in cols], protocol=protocol)
        ch = compare(base, latest, protocol=protocol)
        rows.append(
            {
                "patient_id": pid,
                "instrument": defn.instrument.value,
                "n_assessments": len(complete),
                "n_incomplete": n_incomplete,
                "baseline_on": first["administered_on"],
                "latest_on": last["administered_on"],
                "baseline_total": base.total,
                "latest_total": latest.total,
                "delta": ch.delta,
                "percent_change": ch.percent_change,
                "response": ch.response,
                "remission": ch.remission,
                "mcid_met": ch.mcid_met,
                "worsening": ch.worsening,
            }
        )
    out = pd.DataFrame(rows, columns=[*OUTCOME_COLUMNS, "n_incomplete"])
    for c in ("response", "remission", "mcid_met", "worsening"):
        out[c] = out[c].astype("boolean")
    return out


def outcome_rates(outcomes: pd.DataFrame, by: str | Iterable[str] | None = None) -> pd.DataFrame:
    """Share of patients meeting each outcome (undefined rules stay <NA>), optionally by group."""
    flags = ["response", "remission", "mcid_met", "worsening"]

    def rates(df: pd.DataFrame) -> pd.Series:
        out: dict[str, object] = {"patients": len(df)}
        for f in flags:
            col = df[f]
            out[f] = col.mean() if col.notna().any() else pd.NA
        return pd.Series(out)

    if by is None:
        return rates(outcomes).to_frame().T
    keys = [by] if isinstance(by, str) else list(by)
    # rates() gives every group a Series with the same index, so apply() builds a
    # DataFrame (pandas-stubs allow a Series for functions returning Series).
    return cast(pd.DataFrame, outcomes.groupby(keys, sort=True)[flags].apply(rates))
