"""What-if comparisons: the same cohort under two protocols (or calendars).

For a clinic lead deciding a protocol change, and for researchers. Each comparison
runs the ordinary code twice (``screen_cohort``, ``course_outcomes``,
``plan_course``) and reports what differs; nothing is re-implemented here.

- :func:`compare_screening`: the status transition table (before × after), and the
  patients whose status changed with the rules that started or stopped firing.
- :func:`compare_outcomes`: response and remission under two measure settings,
  transition tables and the patients whose outcome changed.
- :func:`compare_plans`: the courses whose dated plan changes under another calendar
  or rhythm rule.

Results render themselves (``summary``, ``_repr_html_``); the plotly figures are in
:mod:`kaptools.ui.whatif`. Every result names both protocols (name, version, hash).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from kaptools.errors import InvalidInputError, KaptoolsError
from kaptools.outcomes import course_outcomes
from kaptools.printer import escape
from kaptools.protocol import Protocol, ProtocolInfo, default_protocol
from kaptools.scheduling import ClinicCalendar, plan_course
from kaptools.screening import screen_cohort
from kaptools.screening.result import ScreeningStatus
from kaptools.validation import check_frame_size

__all__ = [
    "NOT_DEFINED",
    "OutcomeComparison",
    "PlanComparison",
    "PlanRequest",
    "ScreeningComparison",
    "compare_outcomes",
    "compare_plans",
    "compare_screening",
]

#: How an outcome the instrument does not define (e.g. response from a baseline of 0)
#: is shown in a transition table: never counted as "no".
NOT_DEFINED = "not defined"

_STATUS_ORDER = [s.value for s in ScreeningStatus]


def _both(before: Protocol | None, after: Protocol) -> tuple[Protocol, Protocol]:
    before = before or default_protocol()
    for name, p in (("before", before), ("after", after)):
        if not isinstance(p, Protocol):
            raise InvalidInputError(
                f"{name}: a Protocol is needed (load_protocol(path) or "
                f"default_protocol().with_changes({{...}})); got {type(p).__name__}."
            )
    return before, after


def _table_html(frame: pd.DataFrame, caption: str) -> str:
    body = frame.to_html(classes="kap-table", border=0, na_rep="—", escape=True)
    return f"<p><strong>{escape(caption)}</strong></p>{body}"


@dataclass(frozen=True)
class ScreeningComparison:
    """A cohort screened under two protocols."""

    before: ProtocolInfo
    after: ProtocolInfo
    transitions: pd.DataFrame
    """Patients by status before (rows) and after (columns), as ints; malformed rows apart."""
    changed: pd.DataFrame
    """One row per patient whose status changed: row, patient_id, status_before,
    status_after, rules_started, rules_stopped ("; "-joined rule ids)."""
    rules_changed: pd.DataFrame
    """One row per patient whose fired rules changed (status changed or not)."""

    @property
    def n_changed(self) -> int:
        return len(self.changed)

    @property
    def summary(self) -> str:
        total = int(self.transitions.to_numpy().sum())
        return (
            f"Screening under {self.before.short} → {self.after.short}: "
            f"{self.n_changed} of {total} patients change status; "
            f"{len(self.rules_changed)} have different findings."
        )

    def _repr_html_(self) -> str:
        return (
            f"<div class='kap-whatif'><p>{escape(self.summary)}</p>"
            f"{_table_html(self.transitions, 'Status before (rows) and after (columns)')}</div>"
        )

    def changed_html(self, max_rows: int = 200) -> str:
        """The patients who change status (the first ``max_rows``) with the rules that
        started or stopped firing, as an HTML table (every cell escaped)."""
        table = self.changed.head(max_rows).to_html(
            classes="kap-table kap-whatif-changed", index=False, border=0, escape=True
        )
        return (
            "<p><strong>Patients who change status</strong> (rules that started or "
            f"stopped firing)</p>{table}"
        )


def _join_rules(matrix: np.ndarray, names: Sequence[str]) -> list[str]:
    return ["; ".join(n for n, on in zip(names, row, strict=True) if on) for row in matrix]


def compare_screening(
    cohort: Any, after: Protocol, *, before: Protocol | None = None
) -> ScreeningComparison:
    """Screen ``cohort`` (anything :func:`screen_cohort` takes) under two protocols.

    ``before`` defaults to the shipped protocol. Rules are matched by id; a rule that
    exists in one protocol only counts as not firing in the other.
    """
    before, after = _both(before, after)
    if isinstance(cohort, Iterable) and not isinstance(cohort, pd.DataFrame | str | bytes):
        cohort = list(cohort)  # an iterator could be read only once
    a = screen_cohort(cohort, protocol=before)
    b = screen_cohort(cohort, protocol=after)
    ok = (a.table["status"] != "malformed").to_numpy()
    sa = a.table["status"].astype(str).to_numpy()
    sb = b.table["status"].astype(str).to_numpy()
    order = [s for s in _STATUS_ORDER if s in set(sa[ok]) | set(sb[ok])]
    transitions = pd.crosstab(
        pd.Categorical(sa[ok], categories=order),
        pd.Categorical(sb[ok], categories=order),
        dropna=False,
    ).astype("int64")
    transitions.index.name, transitions.columns.name = "before", "after"
    rules = sorted(set(a.fired.columns) | set(b.fired.columns))
    fa = a.fired.reindex(columns=rules, fill_value=False).to_numpy(dtype=bool)
    fb = b.fired.reindex(columns=rules, fill_value=False).to_numpy(dtype=bool)
    started, stopped = fb & ~fa, fa & ~fb
    diff = ok & (started.any(axis=1) | stopped.any(axis=1) | (sa != sb))
    table = pd.DataFrame(
        {
            "row": a.table["row"].to_numpy()[diff],
            "patient_id": a.table["patient_id"].to_numpy()[diff],
            "status_before": sa[diff],
            "status_after": sb[diff],
            "rules_started": _join_rules(started[diff], rules),
            "rules_stopped": _join_rules(stopped[diff], rules),
        }
    )
    changed = table[table.status_before != table.status_after].reset_index(drop=True)
    return ScreeningComparison(a.protocol, b.protocol, transitions, changed, table)


def _outcome_labels(series: pd.Series) -> Any:
    labels = np.where(series.isna(), NOT_DEFINED, np.where(series.fillna(False), "yes", "no"))
    return pd.Categorical(labels, categories=["yes", "no", NOT_DEFINED])


@dataclass(frozen=True)
class OutcomeComparison:
    """Course outcomes of one cohort under two protocols' measure settings."""

    before: ProtocolInfo
    after: ProtocolInfo
    instrument: str
    transitions: Mapping[str, pd.DataFrame]
    """Per outcome (response, remission): patients by value before × after, as ints."""
    changed: pd.DataFrame
    """One row per patient whose response or remission changed, with both values."""
    rates: pd.DataFrame
    """Patients and rates under each protocol (rows: before, after)."""

    @property
    def summary(self) -> str:
        parts = [
            f"{self.instrument} outcomes under {self.before.short} → {self.after.short}:",
        ]
        for name in ("response", "remission"):
            r = self.rates[name]
            b, a = r.iloc[0], r.iloc[1]
            fmt = lambda v: "not defined" if pd.isna(v) else f"{v:.0%}"  # noqa: E731
            parts.append(f"{name} {fmt(b)} → {fmt(a)};")
        parts.append(f"{len(self.changed)} patients change.")
        return " ".join(parts)

    def _repr_html_(self) -> str:
        tables = "".join(
            _table_html(t, f"{name}: before (rows) and after (columns)")
            for name, t in self.transitions.items()
        )
        return f"<div class='kap-whatif'><p>{escape(self.summary)}</p>{tables}</div>"


def compare_outcomes(
    frame: pd.DataFrame,
    instrument: str,
    after: Protocol,
    *,
    before: Protocol | None = None,
) -> OutcomeComparison:
    """:func:`course_outcomes` of ``frame`` under two protocols (e.g. another response
    fraction); response and remission transitions and the patients who changed."""
    check_frame_size("compare_outcomes: frame", frame)
    before, after = _both(before, after)
    a = course_outcomes(frame, instrument, protocol=before)
    b = course_outcomes(frame, instrument, protocol=after).set_index("patient_id")
    b = b.reindex(a["patient_id"]).reset_index()
    transitions: dict[str, pd.DataFrame] = {}
    moved = np.zeros(len(a), dtype=bool)
    for name in ("response", "remission"):
        la, lb = _outcome_labels(a[name]), _outcome_labels(b[name])
        t = pd.crosstab(la, lb, dropna=False).astype("int64")
        t.index.name, t.columns.name = "before", "after"
        transitions[name] = t
        moved |= np.asarray(la != lb)
    keep = ["patient_id", *(c for c in ("route",) if c in a.columns)]
    changed = a.loc[moved, [*keep, "baseline_total", "latest_total"]].copy()
    for name in ("response", "remission"):
        changed[f"{name}_before"] = _outcome_labels(a[name])[moved]
        changed[f"{name}_after"] = _outcome_labels(b[name])[moved]
    rates = pd.DataFrame(
        {
            "protocol": [before.info.short, after.info.short],
            "patients": [len(a), len(b)],
            "response": [a.response.astype("Float64").mean(), b.response.astype("Float64").mean()],
            "remission": [
                a.remission.astype("Float64").mean(),
                b.remission.astype("Float64").mean(),
            ],
        },
        index=["before", "after"],
    )
    return OutcomeComparison(
        before.info,
        after.info,
        str(instrument),
        transitions,
        changed.reset_index(drop=True),
        rates,
    )


@dataclass(frozen=True)
class PlanRequest:
    """One course to plan: what :func:`plan_course` needs about the patient."""

    patient_id: str
    route: str
    start: dt.date
    weight_kg: float | None = None
    age: int | None = None
    screening_status: str = "eligible"


@dataclass(frozen=True)
class PlanComparison:
    """Courses planned under two (protocol, calendar) settings."""

    before: ProtocolInfo
    after: ProtocolInfo
    table: pd.DataFrame
    """One row per course: doses and end date under each setting, the dose dates that
    moved, and ``problem_before`` / ``problem_after`` when a plan could not be made."""

    @property
    def changed(self) -> pd.DataFrame:
        """The courses whose dated plan differs."""
        return self.table[self.table["changed"]].reset_index(drop=True)

    @property
    def summary(self) -> str:
        return (
            f"Course plans under {self.before.short} → {self.after.short}: "
            f"{len(self.changed)} of {len(self.table)} courses change."
        )

    def _repr_html_(self) -> str:
        return (
            f"<div class='kap-whatif'><p>{escape(self.summary)}</p>"
            f"{_table_html(self.changed, 'Courses that change')}</div>"
        )


def _plan_dates(
    r: PlanRequest, protocol: Protocol, calendar: ClinicCalendar
) -> tuple[list[dt.date], str]:
    try:
        plan = plan_course(
            r.route,
            r.start,
            calendar=calendar,
            screening_status=r.screening_status,
            weight_kg=r.weight_kg,
            age=r.age,
            protocol=protocol,
            patient_id=r.patient_id,
        )
    except KaptoolsError as exc:
        return [], str(exc)
    return [d.date for d in plan.doses], ""


def compare_plans(
    requests: Iterable[PlanRequest],
    *,
    calendar: ClinicCalendar,
    after: Protocol | None = None,
    after_calendar: ClinicCalendar | None = None,
    before: Protocol | None = None,
) -> PlanComparison:
    """Plan each course under (``before``, ``calendar``) and (``after``,
    ``after_calendar``); report the dose dates that move. Give another protocol (a
    rhythm rule, e.g. three doses a week) and/or another calendar (a closure)."""
    before = before or default_protocol()
    after = after or before
    before, after = _both(before, after)
    after_calendar = after_calendar or calendar
    rows = []
    for r in requests:
        if not isinstance(r, PlanRequest):
            raise InvalidInputError(
                f"requests: each item must be a PlanRequest (got {type(r).__name__})."
            )
        da, pa = _plan_dates(r, before, calendar)
        db, pb = _plan_dates(r, after, after_calendar)
        moved = sorted(set(da) ^ set(db))
        rows.append(
            {
                "patient_id": r.patient_id,
                "route": r.route,
                "doses_before": len(da),
                "doses_after": len(db),
                "end_before": max(da) if da else pd.NA,
                "end_after": max(db) if db else pd.NA,
                "dates_moved": "; ".join(d.isoformat() for d in moved),
                "problem_before": pa,
                "problem_after": pb,
                "changed": da != db or pa != pb,
            }
        )
    table = pd.DataFrame(rows)
    if not rows:
        table = pd.DataFrame(
            columns=[
                "patient_id",
                "route",
                "doses_before",
                "doses_after",
                "end_before",
                "end_after",
                "dates_moved",
                "problem_before",
                "problem_after",
                "changed",
            ]
        )
    table["changed"] = table["changed"].astype(bool)
    return PlanComparison(before.info, after.info, table)
