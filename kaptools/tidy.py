"""Tidy (long) frames read straight from the store, for many patients at once.

For researchers: one row per observation, with ``patient_id``, the course ``route``
(from the patient's latest course plan; <NA> when none is stored), the dates and the
provenance of the protocol that produced each value. Wide frames are derived from
the long ones, never read separately, so the two cannot disagree.

| frame | one row per | read from |
|---|---|---|
| :func:`assessments_long` | item answer of an administered instrument | assessments |
| :func:`screenings_long` | finding of a stored screening (none: one row, no rule) | screenings |
| :func:`plans_long` | planned session of the latest course plan | course plans |
| :func:`sessions_long` | recorded dosing session | dosing sessions |

Derived: :func:`assessments_wide` (one row per administration, items under their one
name ``phq9_item1`` …; the input of :func:`kaptools.outcomes.course_outcomes`) and
:func:`screenings_wide` (one row per screening, one boolean column per rule).
Records are read as stored; values kaptools computes (totals, bands) use the
protocol given, which each row names.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from typing import Any

import pandas as pd

from kaptools.errors import InvalidInputError
from kaptools.protocol import Protocol, ProtocolInfo, default_protocol
from kaptools.scores import Instrument, definition, item_columns, score
from kaptools.store import Store, StoredRecord

__all__ = [
    "PROVENANCE_COLUMNS",
    "assessments_long",
    "assessments_wide",
    "plans_long",
    "screenings_long",
    "screenings_wide",
    "sessions_long",
]

#: Provenance columns every tidy frame carries.
PROVENANCE_COLUMNS = ("protocol_name", "protocol_version", "protocol_sha256")

_ASSESSMENT_KIND = "assessment"
_SCREENING_KIND = "screening"
_PLAN_KIND = "course_plan"
_SESSION_KIND = "dosing_session"


def _provenance(info: ProtocolInfo | Mapping[str, Any] | None) -> dict[str, Any]:
    if info is None:
        return dict.fromkeys(PROVENANCE_COLUMNS, pd.NA)
    if isinstance(info, ProtocolInfo):
        return {
            "protocol_name": info.name,
            "protocol_version": info.version,
            "protocol_sha256": info.sha256,
        }
    return {
        "protocol_name": info.get("name", pd.NA),
        "protocol_version": info.get("version", pd.NA),
        "protocol_sha256": info.get("sha256", pd.NA),
    }


def _records(store: Store, kind: str, patients: Iterable[str] | None) -> list[StoredRecord]:
    if isinstance(patients, str):
        raise InvalidInputError(
            f"patients: give a list of patient ids (got the single text {patients!r}); "
            f"e.g. patients=[{patients!r}], or None for every patient."
        )
    return store.latest_records_of_patients(kind, None if patients is None else list(patients))


def _routes(store: Store, patients: Iterable[str] | None) -> dict[str, str]:
    """Each patient's course route, from their latest course plan."""
    routes: dict[str, str] = {}
    for rec in _records(store, _PLAN_KIND, patients):  # ordered by effective time
        route = rec.payload.get("route")
        if isinstance(route, str):
            routes[rec.patient_id] = route
    return routes


def _frame(
    rows: list[dict[str, Any]], columns: list[str], dtypes: Mapping[str, Any]
) -> pd.DataFrame:
    out = pd.DataFrame(rows, columns=columns)
    for col, dtype in dtypes.items():
        out[col] = out[col].astype(dtype)
    return out


def _date(value: Any) -> dt.date | None:
    if value is None:
        return None
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    return dt.date.fromisoformat(str(value)[:10])


_ASSESSMENT_COLUMNS = [
    "patient_id",
    "route",
    "record_id",
    "version",
    "instrument",
    "administered_on",
    "item",
    "item_number",
    "answer",
    "total",
    "band",
    "entered_by",
    *PROVENANCE_COLUMNS,
]


def assessments_long(
    store: Store,
    patients: Iterable[str] | None = None,
    *,
    instrument: Instrument | str | None = None,
    protocol: Protocol | None = None,
) -> pd.DataFrame:
    """One row per item answer of every current assessment (latest version).

    Columns: patient_id, route, record_id, version, instrument, administered_on,
    item (``phq9_item1`` …), item_number, answer (<NA> when unanswered), total and
    band (of the administration under ``protocol``; <NA> when incomplete), entered_by
    and the protocol's name, version and content hash.
    """
    protocol = protocol or default_protocol()
    wanted = None if instrument is None else definition(instrument).instrument
    routes = _routes(store, patients)
    prov = _provenance(protocol.info)
    rows: list[dict[str, Any]] = []
    for rec in _records(store, _ASSESSMENT_KIND, patients):
        p = rec.payload
        inst = Instrument.parse(p["instrument"])
        if wanted is not None and inst is not wanted:
            continue
        answers = list(p["answers"])
        try:
            result = score(inst, answers, protocol=protocol)
            total: Any = result.total
            band: Any = result.band.label
        except InvalidInputError:  # incomplete answers: no total, never a partial sum
            total, band = pd.NA, pd.NA
        base = {
            "patient_id": rec.patient_id,
            "route": routes.get(rec.patient_id, pd.NA),
            "record_id": rec.record_id,
            "version": rec.version,
            "instrument": inst.value,
            "administered_on": _date(p.get("administered_on")) or rec.effective_at.date(),
            "total": total,
            "band": band,
            "entered_by": rec.author,
            **prov,
        }
        for number, (name, answer) in enumerate(zip(item_columns(inst), answers, strict=True), 1):
            rows.append({**base, "item": name, "item_number": number, "answer": _na(answer)})
    return _frame(
        rows,
        _ASSESSMENT_COLUMNS,
        {"version": "int64", "item_number": "int64", "answer": "Int64", "total": "Int64"},
    )


def _na(value: Any) -> Any:
    return pd.NA if value is None else value


def assessments_wide(long: pd.DataFrame) -> pd.DataFrame:
    """One row per administration from :func:`assessments_long`: items as columns.

    Item columns are the instruments' one names (``phq9_item1`` …); an instrument's
    columns are empty on another instrument's rows. Select one instrument
    (``wide[wide.instrument == "phq9"]``) for :func:`kaptools.outcomes.course_outcomes`.
    """
    keys = [c for c in _ASSESSMENT_COLUMNS if c not in ("item", "item_number", "answer")]
    absent = [c for c in [*keys, "item", "answer"] if c not in long.columns]
    if absent:
        raise InvalidInputError(
            f"assessments_wide needs the columns of assessments_long; absent: {absent}."
        )
    if long.empty:
        return pd.DataFrame(columns=keys)
    wide = long.pivot(index="record_id", columns="item", values="answer")
    order = [c for inst in Instrument for c in item_columns(inst) if c in wide.columns]
    meta = long.drop_duplicates("record_id").set_index("record_id")[
        [c for c in keys if c != "record_id"]
    ]
    out = meta.join(wide[order]).reset_index()
    return out[[*keys, *order]].sort_values(
        ["patient_id", "administered_on", "instrument"], kind="stable", ignore_index=True
    )


_SCREENING_COLUMNS = [
    "patient_id",
    "route",
    "record_id",
    "version",
    "screened_on",
    "status",
    "rule_id",
    "severity",
    "alerts",
    *PROVENANCE_COLUMNS,
]


def screenings_long(store: Store, patients: Iterable[str] | None = None) -> pd.DataFrame:
    """One row per finding of every current screening (a screening without findings
    has one row whose rule_id and severity are <NA>).

    Columns: patient_id, route, record_id, version, screened_on, status (as screened,
    before any override), rule_id, severity, alerts (the alert rule ids, "; "-joined)
    and the provenance of the protocol the screening ran under.
    """
    routes = _routes(store, patients)
    rows: list[dict[str, Any]] = []
    for rec in _records(store, _SCREENING_KIND, patients):
        p = rec.payload
        base = {
            "patient_id": rec.patient_id,
            "route": routes.get(rec.patient_id, pd.NA),
            "record_id": rec.record_id,
            "version": rec.version,
            "screened_on": rec.effective_at.date(),
            "status": p.get("status", pd.NA),
            "alerts": "; ".join(str(a.get("rule_id", "")) for a in p.get("alerts") or ()),
            **_provenance(p.get("protocol")),
        }
        findings = p.get("findings") or ()
        if not findings:
            rows.append({**base, "rule_id": pd.NA, "severity": pd.NA})
        for f in findings:
            rows.append({**base, "rule_id": f.get("rule_id"), "severity": f.get("severity")})
    return _frame(rows, _SCREENING_COLUMNS, {"version": "int64"})


def screenings_wide(long: pd.DataFrame) -> pd.DataFrame:
    """One row per screening from :func:`screenings_long`: a boolean column per rule id."""
    keys = [c for c in _SCREENING_COLUMNS if c not in ("rule_id", "severity")]
    absent = [c for c in [*keys, "rule_id"] if c not in long.columns]
    if absent:
        raise InvalidInputError(
            f"screenings_wide needs the columns of screenings_long; absent: {absent}."
        )
    meta = long.drop_duplicates("record_id").set_index("record_id")[
        [c for c in keys if c != "record_id"]
    ]
    fired = long.dropna(subset=["rule_id"])
    table = pd.crosstab(fired["record_id"], fired["rule_id"]).astype(bool)
    out = meta.join(table).reset_index()
    rules = list(table.columns)
    out[rules] = out[rules].fillna(False).astype(bool)
    return out[[*keys, *rules]]


_PLAN_COLUMNS = [
    "patient_id",
    "route",
    "record_id",
    "version",
    "revision",
    "start",
    "index",
    "kind",
    "date",
    "status",
    "phase",
    "dose_number",
    "dose_mg",
    *PROVENANCE_COLUMNS,
]


def plans_long(store: Store, patients: Iterable[str] | None = None) -> pd.DataFrame:
    """One row per planned session of each patient's current course plan(s).

    Columns: patient_id, route, record_id, version, revision, start, index, kind,
    date, status, phase, dose_number, dose_mg (the proposed dose, for clinician
    confirmation; <NA> off dosing days) and the plan's protocol provenance.
    """
    rows: list[dict[str, Any]] = []
    for rec in _records(store, _PLAN_KIND, patients):
        p = rec.payload
        base = {
            "patient_id": rec.patient_id,
            "route": p.get("route", pd.NA),
            "record_id": rec.record_id,
            "version": rec.version,
            "revision": p.get("revision", 1),
            "start": _date(p.get("start")),
            **_provenance(p.get("protocol")),
        }
        for s in p.get("sessions") or ():
            dose = s.get("dose") or {}
            rows.append(
                {
                    **base,
                    "index": s.get("index"),
                    "kind": s.get("kind"),
                    "date": _date(s.get("date")),
                    "status": s.get("status"),
                    "phase": _na(s.get("phase")),
                    "dose_number": _na(s.get("dose_number")),
                    "dose_mg": _na(dose.get("mg")),
                }
            )
    return _frame(
        rows,
        _PLAN_COLUMNS,
        {
            "version": "int64",
            "revision": "int64",
            "index": "int64",
            "dose_number": "Int64",
            "dose_mg": "Float64",
        },
    )


_SESSION_COLUMNS = [
    "patient_id",
    "route",
    "record_id",
    "version",
    "session_date",
    "plan_session_index",
    "dose_mg",
    "status",
    "vitals_readings",
    "side_effects",
    "max_systolic",
    "max_diastolic",
    *PROVENANCE_COLUMNS,
]


def sessions_long(store: Store, patients: Iterable[str] | None = None) -> pd.DataFrame:
    """One row per recorded dosing session (latest version).

    Columns: patient_id, route, record_id, version, session_date, plan_session_index,
    dose_mg, status, vitals_readings (count), side_effects ("; "-joined effects; <NA>
    when not recorded), max_systolic, max_diastolic and the protocol provenance.
    """
    rows: list[dict[str, Any]] = []
    for rec in _records(store, _SESSION_KIND, patients):
        p = rec.payload
        vitals = p.get("vitals") or ()
        sys_ = [v["systolic"] for v in vitals if v.get("systolic") is not None]
        dia = [v["diastolic"] for v in vitals if v.get("diastolic") is not None]
        effects = p.get("side_effects")
        rows.append(
            {
                "patient_id": rec.patient_id,
                "route": p.get("route", pd.NA),
                "record_id": rec.record_id,
                "version": rec.version,
                "session_date": _date(p.get("session_date")),
                "plan_session_index": _na(p.get("plan_session_index")),
                "dose_mg": _na(p.get("dose_mg")),
                "status": p.get("status", pd.NA),
                "vitals_readings": len(vitals),
                "side_effects": pd.NA
                if effects is None
                else "; ".join(str(e.get("effect")) for e in effects),
                "max_systolic": max(sys_) if sys_ else pd.NA,
                "max_diastolic": max(dia) if dia else pd.NA,
                **_provenance(p.get("protocol")),
            }
        )
    return _frame(
        rows,
        _SESSION_COLUMNS,
        {
            "version": "int64",
            "plan_session_index": "Int64",
            "dose_mg": "Float64",
            "vitals_readings": "int64",
            "max_systolic": "Int64",
            "max_diastolic": "Int64",
        },
    )
