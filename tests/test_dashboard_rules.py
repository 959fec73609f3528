"""The clinical questions the dashboards ask are domain functions: plannable, the REMS
rule, the latest screening, what a re-plan changed, the calendar's closed spans."""

from __future__ import annotations

import datetime as dt

import pytest

from kaptools.errors import InvalidInputError
from kaptools.protocol import default_protocol
from kaptools.scheduling import (
    ClinicCalendar,
    ClosedSpan,
    Plannability,
    SessionStatus,
    offered_routes,
    plan_course,
    plannable,
    replan,
)
from kaptools.screening import latest_screening, save_screening, screen
from kaptools.screening.synthetic import synthetic_screening_records
from kaptools.sessions import CareSetting, DosingSession, rems_form_applies
from kaptools.store import Store
from kaptools.vocabulary import Route

START = dt.date(2026, 3, 2)


def _record(status: str) -> dict:
    for record in synthetic_screening_records(400, seed=3):
        if screen(record).status.value == status:
            return record.model_dump(mode="json")
    raise AssertionError(f"no synthetic record screens {status}")


@pytest.fixture
def store():
    with Store.in_memory() as s:
        for pid, born in (("SYN-A", dt.date(1970, 5, 1)), ("SYN-B", dt.date(2010, 5, 1))):
            s.add_patient(pid, "Synthetic", birth_date=born, sex="male", weight_kg=80.0)
        yield s


def _save(store, patient_id, status):
    data = {**_record(status), "patient_id": patient_id}
    return save_screening(store, patient_id, data, screen(data))


# -- offered routes ------------------------------------------------------------------------


def test_offered_routes_are_the_protocols_courses_narrowed_by_the_screening():
    """Without a screening every route with a course template; with one, only the routes
    whose criteria it meets, in the same order; none for a screening that meets none."""
    protocol = default_protocol()
    assert offered_routes(protocol) == tuple(Route)
    for status in ("eligible", "eligible_with_cautions", "not_eligible", "incomplete"):
        result = screen(_record(status))
        offered = offered_routes(protocol, result)
        assert offered == tuple(r for r in Route if r in result.routes_meeting_criteria)
    assert offered_routes(protocol, screen(_record("not_eligible"))) == ()


# -- plannable -------------------------------------------------------------------------


def test_plannable_without_a_screening_says_to_screen_first(store):
    """No screening on record: not plannable, with the planner's own reason."""
    gate = plannable(store, "SYN-A", START)
    assert not gate and gate.rule == "screening"
    assert "No screening on record" in gate.reason


@pytest.mark.parametrize("status", ["incomplete", "not_eligible"])
def test_plannable_refuses_a_screening_that_does_not_meet_the_criteria(store, status):
    """Incomplete and not-eligible screenings refuse a course (unknown is never 'no')."""
    _save(store, "SYN-A", status)
    gate = plannable(store, "SYN-A", START)
    assert gate == Plannability(False, gate.reason, "screening") and gate.reason


def test_plannable_allows_an_eligible_adult(store):
    """An eligible screening of an adult can be planned."""
    _save(store, "SYN-A", "eligible")
    assert plannable(store, "SYN-A", START)


def test_plannable_applies_the_age_gate_on_the_start_date(store):
    """Under the protocol's minimum age on the start date, nothing is planned."""
    _save(store, "SYN-B", "eligible")
    gate = plannable(store, "SYN-B", START)
    assert not gate and gate.rule == "age_under_minimum"
    assert plannable(store, "SYN-B", dt.date(2028, 5, 1))


def test_plannable_reads_the_latest_screening(store):
    """A newer screening replaces the older one's verdict."""
    _save(store, "SYN-A", "eligible")
    _save(store, "SYN-A", "incomplete")
    assert not plannable(store, "SYN-A", START)


# -- latest screening -------------------------------------------------------------------


def test_latest_screening_is_none_without_one_and_the_newest_otherwise(store):
    """One lookup: None with no screening; else the newest record and its result."""
    assert latest_screening(store, "SYN-A") is None
    _save(store, "SYN-A", "eligible")
    newest = _save(store, "SYN-A", "incomplete")
    found = latest_screening(store, "SYN-A")
    assert found is not None
    assert found.record.record_id == newest.record_id
    assert found.result.status.value == "incomplete"


# -- REMS --------------------------------------------------------------------------------


@pytest.mark.parametrize("route", list(Route))
@pytest.mark.parametrize("setting", list(CareSetting))
def test_rems_form_applies_to_outpatient_esketamine_only(route, setting):
    """A REMS form is due for esketamine given outpatient, and only then [2.2]."""
    expected = route is Route.ESKETAMINE_NASAL and setting is CareSetting.OUTPATIENT
    assert rems_form_applies(route, setting) is expected
    assert rems_form_applies(route.value, setting.value) is expected  # widget values
    session = DosingSession("SYN-1", route, START, setting=setting)
    assert session.needs_rems_form is expected


def test_rems_form_applies_to_nothing_unknown():
    """An unknown route or setting is not taken as esketamine / outpatient."""
    assert not rems_form_applies(None, None)
    assert not rems_form_applies("esketamine_nasal", "")


# -- CoursePlan.diff ----------------------------------------------------------------------


def _plan():
    return plan_course(
        "iv_ketamine", START, weight_kg=70, age=40, screening_status="eligible",
        calendar=ClinicCalendar(),
    )  # fmt: skip


def test_diff_of_an_unchanged_replan_is_empty():
    """Nothing changed between a plan and itself, or a re-plan that moved nothing."""
    plan = _plan()
    assert plan.diff(plan) == frozenset()
    assert plan.diff(replan(plan, as_of=plan.doses[2].date)) == frozenset()


def test_diff_names_the_sessions_a_missed_dose_moved():
    """A missed dose is kept as history (unchanged); its re-planned dose and every later
    session that moved are changed; earlier sessions are not."""
    plan = _plan()
    second = plan.doses[1]
    after = replan(plan, as_of=second.date + dt.timedelta(days=1), missed=[second.index])
    changed = plan.diff(after)
    moved = {s.index for s in after.sessions if s.status is SessionStatus.PLANNED}
    assert changed == moved and moved
    missed = next(s for s in after.sessions if s.status is SessionStatus.MISSED)
    assert missed.index not in changed and missed.date == second.date
    with pytest.raises(InvalidInputError, match="other: must be a CoursePlan"):
        plan.diff("plan")  # type: ignore[arg-type]


# -- closed spans -------------------------------------------------------------------------


def test_closed_spans_join_closures_and_holidays_but_not_weekdays():
    """A closure running into a holiday is one span with both reasons; weekends are not."""
    cal = ClinicCalendar(
        country="US",
        closures=[{"start": "2026-07-01", "end": "2026-07-02", "reason": "staff training"}],
    )
    spans = cal.closed_spans(dt.date(2026, 6, 26), dt.date(2026, 7, 12))
    assert spans == (
        ClosedSpan(
            dt.date(2026, 7, 1),
            dt.date(2026, 7, 4),
            ("staff training", "Independence Day (observed)", "Independence Day"),
        ),
    )
    assert ClinicCalendar().closed_spans(dt.date(2026, 6, 26), dt.date(2026, 7, 12)) == ()
    assert cal.closed_reason(dt.date(2026, 7, 1)) == "clinic closure: staff training"
    assert cal.closed_reason(dt.date(2026, 7, 5)) == "clinic closed on Sundays"
