"""Exports of a course plan: an iCalendar file (icalendar library) and CSV."""

from __future__ import annotations

import csv
import datetime as dt
import io

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from icalendar import Calendar

from kaptools.errors import InvalidInputError, PlanningError
from kaptools.scheduling import (
    CSV_COLUMNS,
    ClinicCalendar,
    Route,
    SessionStatus,
    plan_course,
    plan_to_csv,
    plan_to_ics,
    replan,
)

STAMP = dt.datetime(2026, 1, 1, 12, 0, tzinfo=dt.UTC)


def _plan(route="iv_ketamine", start=dt.date(2026, 3, 2), calendar=None, **kw):
    return plan_course(
        route,
        start,
        calendar=calendar or ClinicCalendar(country="US", subdivision="NY"),
        screening_status="eligible",
        weight_kg=70,
        age=40,
        patient_id="SYN-0001",
        **kw,
    )


def _events(ics: bytes):
    return list(Calendar.from_ical(ics).walk("VEVENT"))


def _event_rows(ics: bytes):
    return [
        (str(e["UID"]), e.decoded("DTSTART"), str(e["SUMMARY"]), str(e["STATUS"]))
        for e in _events(ics)
    ]


def _plan_rows(plan, ics: bytes):
    uids = [str(e["UID"]) for e in _events(ics)]
    status = {SessionStatus.MISSED: "CANCELLED"}
    return [
        (uid, s.date, s.label, status.get(s.status, "CONFIRMED"))
        for uid, s in zip(uids, plan.sessions, strict=True)
    ]


def test_ics_round_trips_through_icalendar():
    """Parsing the .ics back gives one all-day event per session, with its date and label."""
    plan = _plan()
    ics = plan_to_ics(plan, stamp=STAMP)
    events = _events(ics)
    assert len(plan.sessions) == len(events)
    assert [(s.date, s.label) for s in plan.sessions] == [
        (e.decoded("DTSTART"), str(e["SUMMARY"])) for e in events
    ]
    assert all(e.decoded("DTEND") == e.decoded("DTSTART") + dt.timedelta(days=1) for e in events)
    assert len(events) == len({str(e["UID"]) for e in events})


def test_ics_dose_events_say_for_clinician_confirmation():
    """Every dosing event's description shows the arithmetic and 'for clinician confirmation'."""
    plan = _plan()
    events = _events(plan_to_ics(plan, stamp=STAMP))
    dosing = [e for e in events if str(e["X-KAPTOOLS-KIND"]) == "dosing"]
    assert 6 == len(dosing)
    for e in dosing:
        text = str(e["DESCRIPTION"])
        assert "70 kg × 0.5 mg/kg = 35 mg" in text and "for clinician confirmation" in text


def test_ics_marks_missed_sessions_cancelled_and_keeps_uids_across_replans():
    """A re-planned course keeps each session's UID; missed sessions are exported cancelled."""
    plan = _plan()
    first = {
        (str(e["X-KAPTOOLS-KIND"]), e.decoded("DTSTART")): str(e["UID"])
        for e in _events(plan_to_ics(plan, stamp=STAMP))
    }
    new = replan(
        plan, as_of=plan.doses[1].date + dt.timedelta(days=1), missed=[plan.doses[1].index]
    )
    ics = plan_to_ics(new, stamp=STAMP)
    assert _plan_rows(new, ics) == _event_rows(ics)
    dose1 = _events(ics)[new.doses[0].index]
    assert first[("dosing", new.doses[0].date)] == str(dose1["UID"])
    assert 1 == int(dose1["SEQUENCE"])
    assert 1 == sum(str(e["STATUS"]) == "CANCELLED" for e in _events(ics))


def test_ics_names_the_patient_only_by_store_id():
    """The calendar's name carries the store's patient id (plans hold no names)."""
    cal = Calendar.from_ical(plan_to_ics(_plan(), stamp=STAMP))
    assert "IV racemic ketamine course for patient SYN-0001" == str(cal["X-WR-CALNAME"])


def test_ics_needs_an_aware_stamp():
    """A naive DTSTAMP is refused (iCalendar stamps are UTC)."""
    with pytest.raises(InvalidInputError, match="timezone-aware"):
        plan_to_ics(_plan(), stamp=dt.datetime(2026, 1, 1))


def test_exports_refuse_things_that_are_not_plans():
    """Exporting anything but a CoursePlan is an input error."""
    with pytest.raises(InvalidInputError):
        plan_to_ics({"sessions": []})
    with pytest.raises(InvalidInputError):
        plan_to_csv([])


def test_csv_has_the_documented_columns_and_one_row_per_session():
    """The CSV header is CSV_COLUMNS; rows read back give the plan's dates, kinds and doses."""
    plan = _plan("esketamine_nasal", cautions=(), phase_doses={"continuation": 1})
    rows = list(csv.DictReader(io.StringIO(plan_to_csv(plan))))
    assert list(CSV_COLUMNS) == list(rows[0].keys())
    assert [(s.date.isoformat(), s.kind.value, s.label) for s in plan.sessions] == [
        (r["date"], r["kind"], r["label"]) for r in rows
    ]
    doses = [r for r in rows if r["kind"] == "dosing"]
    assert ("56", "2", "for clinician confirmation") == (
        doses[0]["dose_mg"],
        doses[0]["devices"],
        doses[0]["confirmation"],
    )


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    start=st.dates(dt.date(2025, 1, 1), dt.date(2028, 12, 31)),
    route=st.sampled_from(list(Route)),
    region=st.sampled_from([("US", "CA"), ("GB", "ENG"), ("CA", "ON"), ("AU", "VIC")]),
)
def test_any_plan_round_trips_through_ics_and_csv(start, route, region):
    """For any plan, the .ics events and CSV rows read back match the sessions one for one."""
    try:
        plan = _plan(route, start, ClinicCalendar(country=region[0], subdivision=region[1]))
    except PlanningError:
        return
    ics = plan_to_ics(plan, stamp=STAMP)
    assert _plan_rows(plan, ics) == _event_rows(ics)
    rows = list(csv.DictReader(io.StringIO(plan_to_csv(plan))))
    assert [str(s.index) for s in plan.sessions] == [r["index"] for r in rows]


def _parquet(plan, tmp_path):
    import pyarrow.parquet as pq

    from kaptools.scheduling import plan_to_parquet

    out = plan_to_parquet(plan, tmp_path / "plan.parquet")
    return pq.read_table(out)


def test_parquet_twin_has_the_csv_columns_typed_and_the_same_values(tmp_path):
    """plan_to_parquet: the CSV's columns in order, typed (ints, floats, dates), values equal
    to the CSV's cell by cell (empty CSV cells are nulls), the protocol in the metadata."""
    import json

    import pandas as pd
    import pyarrow as pa

    from kaptools.scheduling import PARQUET_TYPES, plan_frame, plan_to_parquet

    plan = _plan("esketamine_nasal", cautions=(), phase_doses={"continuation": 1})
    table = _parquet(plan, tmp_path)
    assert table.column_names == list(CSV_COLUMNS) == list(PARQUET_TYPES)
    types = {f.name: f.type for f in table.schema}
    assert types["date"] == pa.date32()
    assert types["index"] == types["dose_number"] == types["devices"] == pa.int64()
    assert types["dose_mg"] == pa.float64()
    assert all(pa.types.is_string(types[c]) for c, t in PARQUET_TYPES.items() if t == "string")
    meta = json.loads(table.schema.metadata[b"kaptools.protocol"])
    assert meta == {
        "name": plan.protocol.name,
        "version": plan.protocol.version,
        "sha256": plan.protocol.sha256,
    }
    frame = table.to_pandas()
    rows = list(csv.DictReader(io.StringIO(plan_to_csv(plan))))
    assert len(frame) == len(rows) == len(plan.sessions)
    for (_, got), want in zip(frame.iterrows(), rows, strict=True):
        for col in CSV_COLUMNS:
            value = got[col]
            text = "" if pd.isna(value) else value
            if isinstance(text, float):
                text = f"{text:g}"
            assert str(text if not isinstance(text, dt.date) else text.isoformat()) == want[col]
    dosing = frame[frame["kind"] == "dosing"].iloc[0]
    assert (dosing["dose_mg"], dosing["devices"]) == (56.0, 2)
    assert plan_to_parquet(plan) == (tmp_path / "plan.parquet").read_bytes()
    pd.testing.assert_frame_equal(
        plan_frame(plan).drop(columns="date"), frame.drop(columns="date"), check_dtype=False
    )


def test_formula_neutralisation_applies_to_csv_only(tmp_path):
    """A note starting with '=' gets a leading quote in the CSV, and stays as written in the
    typed Parquet file (a Parquet cell is never executed)."""
    import dataclasses

    plan = _plan()
    sessions = list(plan.sessions)
    sessions[0] = dataclasses.replace(sessions[0], note="=1+1", label="@cmd")
    plan = dataclasses.replace(plan, sessions=tuple(sessions))
    row = next(csv.DictReader(io.StringIO(plan_to_csv(plan))))
    assert (row["note"], row["label"]) == ("'=1+1", "'@cmd")
    frame = _parquet(plan, tmp_path).to_pandas()
    assert (frame.loc[0, "note"], frame.loc[0, "label"]) == ("=1+1", "@cmd")


def test_parquet_refuses_things_that_are_not_plans_or_paths(tmp_path):
    """Not a CoursePlan, or a path that is not a path: an input error, no file written."""
    from kaptools.scheduling import plan_to_parquet

    with pytest.raises(InvalidInputError, match="plan: must be a CoursePlan"):
        plan_to_parquet({"sessions": []}, tmp_path / "x.parquet")
    with pytest.raises(InvalidInputError, match="path: must be a file path"):
        plan_to_parquet(_plan(), 42)  # type: ignore[arg-type]
    assert list(tmp_path.iterdir()) == []
