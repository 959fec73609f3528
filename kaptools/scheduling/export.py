"""A course plan as an iCalendar (.ics) file, as CSV and as Parquet.

The .ics file is built with the ``icalendar`` library: one all-day VEVENT per
session (the planner dates sessions; the clinic's booking system sets the times).
Events carry a stable UID per plan and session, so re-importing a re-planned
course updates the same events (``SEQUENCE`` is the plan's revision). Missed
sessions are exported as cancelled. No patient name is written, only the
store's patient id when the plan has one.
"""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import io
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any, overload

from kaptools.errors import InvalidInputError
from kaptools.scheduling.plan import CoursePlan, PlannedSession, SessionStatus, session_cells
from kaptools.spreadsheet import CSV_LINE_END, safe_cell
from kaptools.validation import check_identifier, check_text_line

if TYPE_CHECKING:
    import pandas as pd

__all__ = [
    "CSV_COLUMNS",
    "PARQUET_TYPES",
    "plan_frame",
    "plan_to_csv",
    "plan_to_ics",
    "plan_to_parquet",
    "plan_uid",
]

PRODID = "-//kaptools//course plan//EN"

CSV_COLUMNS = (
    "index",
    "date",
    "weekday",
    "kind",
    "phase",
    "label",
    "status",
    "dose_number",
    "dose_mg",
    "devices",
    "dose_arithmetic",
    "confirmation",
    "instruments",
    "note",
    "place",
    "deviation",
)
"""Columns of :func:`plan_to_csv`, in order."""

_ICS_STATUS = {
    SessionStatus.PLANNED: "CONFIRMED",
    SessionStatus.DONE: "CONFIRMED",
    SessionStatus.MISSED: "CANCELLED",
}


def plan_uid(plan: CoursePlan) -> str:
    """A stable identifier of a course: patient, route, start date and protocol."""
    parts = (plan.patient_id or "", plan.route.value, plan.start.isoformat(), plan.protocol.sha256)
    basis = "|".join(parts)
    return hashlib.sha256(basis.encode()).hexdigest()[:16]


def _session_uid(plan: CoursePlan, s: PlannedSession) -> str:
    # Stable across re-plans: the kind and its number in the course, not the list index.
    number = s.dose_number or s.preparation_number or 0
    tag = f"{s.kind.value}-{number}"
    if s.measure_point is not None:
        tag = f"{s.kind.value}-{s.measure_point.value}-{s.date.isoformat()}"
    if s.status is SessionStatus.MISSED:
        tag += f"-missed-{s.date.isoformat()}"
    return f"{plan_uid(plan)}-{tag}@kaptools"


def _deviation_text(plan: CoursePlan, s: PlannedSession) -> str:
    """The plan's deviations that concern this session (its phase), in plain words."""
    if s.kind.value != "dosing":
        return ""
    return " | ".join(d.summary for d in plan.deviations if d.phase in (None, s.phase))


def _description(plan: CoursePlan, s: PlannedSession) -> str:
    lines = [s.label]
    if s.place is not None:
        lines.append(f"Place: {s.place.value}")
    deviation = _deviation_text(plan, s)
    if deviation:
        lines.append(f"DEVIATION from the protocol: {deviation}")
    if s.dose is not None:
        lines.append(f"Dose: {s.dose.arithmetic} ({s.dose.confirmation})")
    if s.instruments:
        lines.append("Measures: " + ", ".join(s.instruments))
    if s.note:
        lines.append(s.note)
    if plan.cautions:
        lines.append("Cautions from screening: " + "; ".join(plan.cautions))
    lines.append(f"Protocol: {plan.protocol.short}")
    return "\n".join(lines)


def _check_ics_text(plan: CoursePlan) -> None:
    """Refuse text that would break an iCalendar content line, before icalendar sees it.

    icalendar guards against unescaped line breaks with an ``assert``, which ``python -O``
    removes; kaptools checks every text it writes itself.
    """
    if plan.patient_id is not None:
        check_identifier("patient_id", plan.patient_id)
    check_text_line("route_label", plan.route_label)
    for s in plan.sessions:
        where = f"sessions[{s.index}]"
        check_text_line(f"{where}.label", s.label)
        for name in ("note",):
            value = getattr(s, name)
            if value:
                for line in value.split("\n"):
                    check_text_line(f"{where}.{name}", line)
        for instrument in s.instruments:
            check_text_line(f"{where}.instruments", instrument)
    for caution in plan.cautions:
        check_text_line("cautions", caution)


def plan_to_ics(plan: CoursePlan, *, stamp: dt.datetime | None = None) -> bytes:
    """The plan as an iCalendar file (bytes), one all-day event per session.

    Args:
        plan: the plan.
        stamp: the DTSTAMP of every event (default: now, UTC). Pass a fixed value
            for reproducible files.
    """
    if not isinstance(plan, CoursePlan):
        msg = f"plan: must be a CoursePlan (got {type(plan).__name__})"
        raise InvalidInputError(msg)
    _check_ics_text(plan)
    stamp = stamp or dt.datetime.now(dt.UTC).replace(microsecond=0)
    if not isinstance(stamp, dt.datetime):
        msg = (
            f"stamp: must be a datetime (got {type(stamp).__name__}); pass "
            f"datetime(..., tzinfo=UTC)"
        )
        raise InvalidInputError(msg)
    if stamp.tzinfo is None:
        msg = (
            "stamp: must be timezone-aware (iCalendar DTSTAMP is UTC); pass datetime(..., "
            "tzinfo=UTC)"
        )
        raise InvalidInputError(msg)
    from icalendar import Calendar, Event  # only when a file is built (issue 14)

    cal = Calendar()
    cal.add("prodid", PRODID)
    cal.add("version", "2.0")
    cal.add("calscale", "GREGORIAN")
    who = f" for patient {plan.patient_id}" if plan.patient_id else ""
    cal.add("x-wr-calname", f"{plan.route_label} course{who}")
    for s in plan.sessions:
        event = Event()
        event.add("uid", _session_uid(plan, s))
        event.add("dtstamp", stamp.astimezone(dt.UTC))
        event.add("dtstart", s.date)
        event.add("dtend", s.date + dt.timedelta(days=1))
        event.add("summary", s.label)
        event.add("description", _description(plan, s))
        event.add("categories", [s.kind.value])
        event.add("status", _ICS_STATUS[s.status])
        event.add("sequence", plan.revision - 1)
        event.add("transp", "TRANSPARENT")
        event.add("x-kaptools-kind", s.kind.value)
        event.add("x-kaptools-index", str(s.index))
        event.add("x-kaptools-status", s.status.value)
        if s.dose is not None:
            event.add("x-kaptools-dose-mg", f"{s.dose.mg:g}")
        if s.place is not None:
            event.add("location", s.place.value)
            event.add("x-kaptools-place", s.place.value)
        cal.add_component(event)
    return cal.to_ical()


PARQUET_TYPES: dict[str, str] = {
    "index": "Int64",
    "date": "date",
    "weekday": "string",
    "kind": "string",
    "phase": "string",
    "label": "string",
    "status": "string",
    "dose_number": "Int64",
    "dose_mg": "Float64",
    "devices": "Int64",
    "dose_arithmetic": "string",
    "confirmation": "string",
    "instruments": "string",
    "note": "string",
    "place": "string",
    "deviation": "string",
}
"""The type of each column of :func:`plan_frame` / :func:`plan_to_parquet` (pandas
nullable types; ``date`` is a calendar date, Parquet ``date32``). Missing values are
nulls, where the CSV has empty cells."""


def _check_plan(plan: object) -> CoursePlan:
    if not isinstance(plan, CoursePlan):
        msg = f"plan: must be a CoursePlan (got {type(plan).__name__})"
        raise InvalidInputError(msg)
    return plan


def _rows(plan: CoursePlan) -> list[dict[str, Any]]:
    """One row a session, typed values (None where a value does not apply)."""
    return [
        {
            **session_cells(s),
            "devices": s.dose.devices if s.dose and s.dose.devices else None,
            "instruments": "; ".join(s.instruments),
            "note": s.note,
            "place": s.place.value if s.place else None,
            "deviation": _deviation_text(plan, s),
        }
        for s in plan.sessions
    ]


def plan_frame(plan: CoursePlan) -> pd.DataFrame:
    """The plan as a typed DataFrame: :data:`CSV_COLUMNS` with :data:`PARQUET_TYPES`.

    Cell text is kept as written: the spreadsheet-formula neutralisation of
    :func:`plan_to_csv` is for CSV files only (a typed Parquet cell is never executed).
    """
    rows = _rows(_check_plan(plan))
    import pandas as pd  # only when a file is built (issue 14)

    frame = pd.DataFrame(rows, columns=list(CSV_COLUMNS))
    return frame.astype({c: t for c, t in PARQUET_TYPES.items() if t != "date"}).assign(
        date=[r["date"] for r in rows]
    )[list(CSV_COLUMNS)]


@overload
def plan_to_parquet(plan: CoursePlan, path: None = None) -> bytes: ...
@overload
def plan_to_parquet(plan: CoursePlan, path: str | os.PathLike[str]) -> Path: ...
def plan_to_parquet(plan: CoursePlan, path: str | os.PathLike[str] | None = None) -> bytes | Path:
    """The plan as Parquet (pyarrow): :func:`plan_frame`, with the protocol (name, version,
    content hash) in the file's metadata under ``kaptools.protocol``.

    Returns the file's bytes, or writes ``path`` and returns it.
    """
    import json

    import pyarrow as pa
    import pyarrow.parquet as pq

    frame = plan_frame(plan)
    if path is not None and not isinstance(path, str | os.PathLike):
        msg = f"path: must be a file path (got {type(path).__name__}); pass e.g. 'plan.parquet'"
        raise InvalidInputError(msg)
    arrow = {
        "Int64": pa.int64(),
        "Float64": pa.float64(),
        "date": pa.date32(),
        "string": pa.string(),
    }
    schema = pa.schema([(c, arrow[t]) for c, t in PARQUET_TYPES.items()])
    table = pa.Table.from_pandas(frame, schema=schema, preserve_index=False)
    info = plan.protocol
    meta = dict(table.schema.metadata or {})
    meta[b"kaptools.protocol"] = json.dumps(
        {"name": info.name, "version": info.version, "sha256": info.sha256}
    ).encode()
    table = table.replace_schema_metadata(meta)
    if path is None:
        buf = io.BytesIO()
        pq.write_table(table, buf)
        return buf.getvalue()
    out = Path(path)
    pq.write_table(table, out)
    return out


def plan_to_csv(plan: CoursePlan) -> str:
    """The plan as CSV text with :data:`CSV_COLUMNS` (a header row, then one row a session).

    Cells a spreadsheet would execute are neutralised (:func:`kaptools.spreadsheet.safe_cell`).
    """
    _check_plan(plan)
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=CSV_COLUMNS, lineterminator=CSV_LINE_END)
    writer.writeheader()
    for s in plan.sessions:
        writer.writerow(
            {
                k: safe_cell(v)
                for k, v in {
                    "index": s.index,
                    "date": s.date.isoformat(),
                    "weekday": s.date.strftime("%a"),
                    "kind": s.kind.value,
                    "phase": s.phase.value if s.phase else "",
                    "label": s.label,
                    "status": s.status.value,
                    "dose_number": s.dose_number if s.dose_number is not None else "",
                    "dose_mg": f"{s.dose.mg:g}" if s.dose else "",
                    "devices": s.dose.devices if s.dose and s.dose.devices else "",
                    "dose_arithmetic": s.dose.arithmetic if s.dose else "",
                    "confirmation": s.dose.confirmation if s.dose else "",
                    "instruments": "; ".join(s.instruments),
                    "note": s.note,
                    "place": s.place.value if s.place else "",
                    "deviation": _deviation_text(plan, s),
                }.items()
            }
        )
    return buf.getvalue()
