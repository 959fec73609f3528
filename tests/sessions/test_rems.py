"""REMS Patient Monitoring Forms due or overdue (within 7 calendar days of each session)."""

from __future__ import annotations

import datetime as dt
from dataclasses import replace

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kaptools.errors import InvalidInputError
from kaptools.protocol import DEFAULT_PROTOCOL_PATH, default_protocol, parse_protocol
from kaptools.sessions import DosingSession, RemsFields, RemsFormStatus, rems_forms_due

DUE_DAYS = int(default_protocol().monitoring.rems_form_due_days.value)


def _session(day: dt.date, **kw) -> DosingSession:
    return DosingSession("SYN-0001", kw.pop("route", "esketamine_nasal"), day, **kw)


def test_form_is_due_through_day_7_and_overdue_on_day_8():
    """A session on 2 March has its form due by 9 March and overdue from 10 March."""
    s = _session(dt.date(2026, 3, 2))
    (due,) = rems_forms_due([s], dt.date(2026, 3, 9))
    assert (RemsFormStatus.DUE, dt.date(2026, 3, 9), 0) == (due.status, due.due_by, due.days_left)
    (late,) = rems_forms_due([s], dt.date(2026, 3, 10))
    assert (RemsFormStatus.OVERDUE, -1) == (late.status, late.days_left)
    assert "OVERDUE" in late.summary


def test_submitted_forms_inpatient_and_other_routes_are_not_listed():
    """Forms already filed, inpatient sessions and ketamine sessions need nothing."""
    day = dt.date(2026, 3, 2)
    sessions = [
        _session(day, rems=RemsFields(form_submitted_on=dt.date(2026, 3, 3))),
        _session(day, setting="inpatient"),
        _session(day, route="iv_ketamine"),
    ]
    assert () == rems_forms_due(sessions, dt.date(2026, 3, 5))


def test_future_sessions_are_not_listed():
    """A session after as_of has no form due yet."""
    assert () == rems_forms_due([_session(dt.date(2026, 3, 20))], dt.date(2026, 3, 5))


def test_forms_are_listed_soonest_deadline_first_with_missing_fields():
    """The list runs by deadline and says which form fields the record still lacks."""
    a, b = _session(dt.date(2026, 3, 4)), _session(dt.date(2026, 3, 2))
    listed = rems_forms_due([a, b], dt.date(2026, 3, 5))
    assert [dt.date(2026, 3, 2), dt.date(2026, 3, 4)] == [f.session_date for f in listed]
    assert "lot_number" in listed[0].missing


def test_saved_sessions_keep_their_record_ids():
    """Items with .session and .record_id (saved sessions) carry the record id through."""

    class Saved:
        record_id = "rec-1"
        session = _session(dt.date(2026, 3, 2))

    (due,) = rems_forms_due([Saved()], dt.date(2026, 3, 3))
    assert "rec-1" == due.record_id


def test_due_days_come_from_the_protocol():
    """A protocol with a 3-day window makes the same form overdue sooner."""
    text = DEFAULT_PROTOCOL_PATH.read_text(encoding="utf-8")
    old = "rems_form_due_days = { value = 7,"
    assert old in text
    protocol = parse_protocol(text.replace(old, "rems_form_due_days = { value = 3,"), origin="copy")
    (f,) = rems_forms_due([_session(dt.date(2026, 3, 2))], dt.date(2026, 3, 6), protocol)
    assert RemsFormStatus.OVERDUE == f.status


def test_bad_inputs_are_invalid():
    """as_of must be a date and items must be dosing sessions."""
    with pytest.raises(InvalidInputError, match="as_of"):
        rems_forms_due([], "2026-03-02")
    with pytest.raises(InvalidInputError, match="DosingSession"):
        rems_forms_due([{"session_date": "2026-03-02"}], dt.date(2026, 3, 2))


@settings(max_examples=100, deadline=None)
@given(day=st.dates(dt.date(2025, 1, 1), dt.date(2027, 12, 31)), lag=st.integers(0, 30))
def test_overdue_exactly_when_more_than_due_days_have_passed(day, lag):
    """A form is overdue exactly when as_of is more than the protocol's days after the session."""
    session = replace(_session(day))
    (f,) = rems_forms_due([session], day + dt.timedelta(days=lag))
    assert (lag > DUE_DAYS) == (f.status is RemsFormStatus.OVERDUE)
    assert day + dt.timedelta(days=DUE_DAYS) == f.due_by
