"""The course planner: dated plans that keep every rule, or a PlanningError naming the rule.

The property tests check each plan twice: with an independent reading of the rules
written here from the holidays library and the protocol (not with the planner's
own code), and with ``check_plan``, which the planner runs as its final guard; the
guard is swapped for one that fails the test, so a broken plan can never pass as
an ordinary PlanningError.
"""

from __future__ import annotations

import datetime as dt
import enum
import html
from contextlib import contextmanager
from dataclasses import replace
from unittest import mock

import holidays
import pytest
from hypothesis import HealthCheck, assume, event, given, settings
from hypothesis import strategies as st

import kaptools.scheduling.assembly as assembly_module
from kaptools.errors import (
    ClinicalWarning,
    IncompleteInputError,
    InvalidInputError,
    NotPlannableError,
    PlanningError,
)
from kaptools.protocol import default_protocol
from kaptools.scheduling import (
    ClinicCalendar,
    Constraint,
    CoursePhase,
    CoursePlan,
    MeasurePoint,
    Route,
    SessionKind,
    SessionStatus,
    check_plan,
    course_template,
    plan_course,
    plan_violations,
    replan,
)

D = dt.date
MON_FRI = ClinicCalendar()  # no public holidays
START = D(2026, 3, 2)  # a Monday
NY = ClinicCalendar(country="US", subdivision="NY")
REGIONS = [
    (None, None),
    ("US", "CA"),
    ("US", "NY"),
    ("US", "TX"),
    ("GB", "ENG"),
    ("GB", "SCT"),
    ("GB", "WLS"),
    ("CA", "ON"),
    ("CA", "QC"),
    ("CA", "BC"),
    ("AU", "NSW"),
    ("AU", "VIC"),
    ("AU", "QLD"),
]


def _plan(route="iv_ketamine", start=START, calendar=MON_FRI, **kw):
    kw.setdefault("screening_status", "eligible")
    kw.setdefault("weight_kg", 70)
    kw.setdefault("age", 40)
    return plan_course(route, start, calendar=calendar, **kw)


def _of(plan, kind):
    return [s for s in plan.sessions if s.kind is kind and s.active]


def _guard(plan, protocol=None, calendar=None):
    found = plan_violations(plan, protocol, calendar)
    assert not found, "the planner produced a plan that breaks its rules: " + "; ".join(
        map(str, found)
    )
    return plan


@contextmanager
def strict_guard():
    """Make the planner's final check fail the test instead of raising PlanningError."""
    with (
        mock.patch.object(assembly_module, "check_plan", _guard),
        mock.patch.object(assembly_module, "raise_violations", _fail_on_any),
    ):
        yield


def _fail_on_any(found):
    assert not found, "the planner produced a plan that breaks its rules: " + "; ".join(
        map(str, found)
    )


# -- the esketamine label schedule -------------------------------------------------------


@pytest.mark.parametrize(
    ("age", "day1_mg", "devices"), [(40, 56, 2), (64, 56, 2), (65, 28, 1), (80, 28, 1)]
)
def test_esketamine_plan_follows_the_label_schedule(age, day1_mg, devices):
    """Weeks 1–4: two doses a week; weeks 5–8: one a week; day 1 is 56 mg (28 mg at 65+)."""
    plan = _plan("esketamine_nasal", start=D(2026, 3, 5), age=age, weight_kg=None)
    doses = _of(plan, SessionKind.DOSING)
    first = doses[0].date
    per_week = [
        sum(
            1
            for d in doses
            if first + dt.timedelta(days=7 * w) <= d.date < first + dt.timedelta(days=7 * (w + 1))
        )
        for w in range(8)
    ]
    assert [2, 2, 2, 2, 1, 1, 1, 1] == per_week
    assert [CoursePhase.INDUCTION] * 8 + [CoursePhase.MAINTENANCE] * 4 == [d.phase for d in doses]
    assert (day1_mg, devices) == (doses[0].dose.mg, doses[0].dose.devices)
    assert all(d.dose.confirmation == "for clinician confirmation" for d in doses)


def test_esketamine_dates_on_an_open_week():
    """With Monday–Friday open and no holidays, doses fall Monday/Thursday then Thursdays."""
    plan = _plan("esketamine_nasal", start=D(2026, 3, 5), weight_kg=None)
    expected = [D(2026, 3, d) for d in (9, 12, 16, 19, 23, 26, 30)] + [
        D(2026, 4, d) for d in (2, 9, 16, 23, 30)
    ]
    assert expected == [d.date for d in _of(plan, SessionKind.DOSING)]
    assert [D(2026, 3, 5), D(2026, 3, 6)] == [p.date for p in _of(plan, SessionKind.PREPARATION)]
    assert [d.date + dt.timedelta(days=1) for d in _of(plan, SessionKind.DOSING)] == [
        i.date for i in _of(plan, SessionKind.INTEGRATION)
    ]


def test_a_holiday_moves_one_dose_and_the_phase_keeps_its_weekdays():
    """Memorial Day pushes a Monday dose to Tuesday; that week's Thursday dose stays on Thursday."""
    plan = _plan("esketamine_nasal", start=D(2026, 5, 7), calendar=NY, weight_kg=None)
    induction = [d.date for d in plan.doses if d.phase is CoursePhase.INDUCTION]
    assert [D(2026, 5, 11), D(2026, 5, 14), D(2026, 5, 18), D(2026, 5, 21)] == induction[:4]
    assert [D(2026, 5, 26), D(2026, 5, 28)] == induction[4:6]


def test_esketamine_plan_carries_rems_and_observation_notes_from_the_protocol():
    """The plan reminds of REMS enrolment, the observation time and the form deadline."""
    m = default_protocol().monitoring
    text = _plan("esketamine_nasal", weight_kg=None).summary
    assert "REMS before the first treatment" in text
    assert f"at least {m.esketamine_observation_min_minutes.value:g} min" in text
    assert f"within {m.rems_form_due_days.value:g} calendar days" in text


def test_continuation_phase_is_added_on_request():
    """Esketamine doses from week 9 are planned when asked for, every 2 weeks by default."""
    plan = _plan("esketamine_nasal", weight_kg=None, phase_doses={"continuation": 2})
    doses = _of(plan, SessionKind.DOSING)
    assert 14 == len(doses)
    assert CoursePhase.CONTINUATION == doses[-1].phase
    assert (doses[-1].date - doses[-2].date).days >= 14


def test_iv_boosters_are_added_on_request():
    """IV boosters are planned about three weeks apart when asked for."""
    plan = _plan(phase_doses={"booster": 2}, calendar=NY)
    doses = _of(plan, SessionKind.DOSING)
    assert [CoursePhase.INDUCTION] * 6 + [CoursePhase.BOOSTER] * 2 == [d.phase for d in doses]
    assert (doses[6].date - doses[5].date).days >= 21


# -- an IV course ------------------------------------------------------------------------


def test_iv_course_has_every_session_kind_in_order():
    """IV plan: 2 preparations, 6 doses each with an integration, measures, a benefit check."""
    plan = _plan(calendar=NY)
    kinds = [s.kind for s in plan.sessions]
    assert 2 == kinds.count(SessionKind.PREPARATION)
    assert 6 == kinds.count(SessionKind.DOSING) == kinds.count(SessionKind.INTEGRATION)
    assert 1 == kinds.count(SessionKind.BENEFIT_CHECK)
    points = [s.measure_point for s in _of(plan, SessionKind.MEASURE)]
    assert MeasurePoint.BASELINE == points[0] and MeasurePoint.END_OF_COURSE == points[-1]
    assert list(range(len(plan.sessions))) == [s.index for s in plan.sessions]
    assert sorted(plan.sessions, key=lambda s: s.date) == list(plan.sessions)
    assert "70 kg × 0.5 mg/kg = 35 mg" == plan.doses[0].dose.arithmetic
    assert "over 40 min" in plan.doses[0].label


def test_extra_instruments_are_measured_alongside_phq9():
    """Asking for GAD-7 adds it to every scheduled measure session."""
    plan = _plan(extra_instruments=["GAD-7"])
    assert all(("PHQ-9", "GAD-7") == m.instruments for m in _of(plan, SessionKind.MEASURE))


def test_unknown_extra_instrument_is_invalid():
    """Only the protocol's optional measures may be added."""
    with pytest.raises(InvalidInputError, match="GAD-7"):
        _plan(extra_instruments=["BDI-II"])


# -- the screening gate ------------------------------------------------------------------


class _Status(enum.StrEnum):
    ELIGIBLE_WITH_CAUTIONS = "eligible_with_cautions"
    NOT_ELIGIBLE = "not_eligible"


@pytest.mark.parametrize(
    ("status", "fragment"),
    [
        (None, "screening"),
        ("not_eligible", "not eligible"),
        (_Status.NOT_ELIGIBLE, "not eligible"),
        ("incomplete", "incomplete"),
    ],
)
def test_patient_without_an_eligible_screening_cannot_be_planned(status, fragment):
    """No screening, an incomplete one or a not-eligible one: NotPlannableError saying why."""
    with pytest.raises(NotPlannableError, match=fragment):
        _plan(screening_status=status)


def test_unknown_screening_status_is_invalid_input():
    """A status that is none of the four is an input error naming the four."""
    with pytest.raises(InvalidInputError, match="eligible_with_cautions"):
        _plan(screening_status="maybe")


def test_cautions_are_shown_on_the_plan_and_escaped():
    """A patient with cautions is planned, with the cautions on the summary and (escaped) HTML."""
    caution = "BP 150/95 at screening <check>"
    plan = _plan(screening_status=_Status.ELIGIBLE_WITH_CAUTIONS, cautions=[caution])
    assert (caution,) == plan.cautions
    assert caution in plan.summary
    assert html.escape(caution) in plan._repr_html_()
    assert "<check>" not in plan._repr_html_()


def test_cautions_status_without_messages_still_warns_on_the_plan():
    """eligible_with_cautions with no messages still puts a caution line on the plan."""
    plan = _plan(screening_status="eligible_with_cautions")
    assert 1 == len(plan.cautions)


# -- when no plan exists -----------------------------------------------------------------


def test_closure_in_induction_is_a_planning_error_naming_the_gap_and_a_start_that_works():
    """A 12-day closure inside a twice-weekly induction breaks the maximum gap; the error says."""
    cal = ClinicCalendar(closures=[(D(2026, 3, 9), D(2026, 3, 20), "refurbishment")])
    with pytest.raises(PlanningError) as err:
        _plan(start=D(2026, 3, 2), calendar=cal)
    assert Constraint.MAX_DOSE_GAP == err.value.constraint
    assert "refurbishment" in str(err.value)
    assert "can be planned" in str(err.value)


def test_a_calendar_without_open_days_is_a_planning_horizon_error():
    """When no open day exists in the search horizon the error says so."""
    cal = ClinicCalendar(closures=[(D(2026, 1, 1), D(2030, 12, 31), "closed")])
    with pytest.raises(PlanningError) as err:
        _plan(start=D(2026, 3, 2), calendar=cal)
    assert Constraint.PLANNING_HORIZON == err.value.constraint


def test_weight_based_route_without_weight_asks_for_it():
    """Planning IV ketamine without a weight is incomplete input naming weight_kg."""
    with pytest.raises(IncompleteInputError) as err:
        _plan(weight_kg=None)
    assert ("weight_kg",) == err.value.missing


def test_bad_planning_inputs_are_invalid():
    """A non-date start or a non-calendar calendar is an InvalidInputError."""
    with pytest.raises(InvalidInputError, match="start"):
        _plan(start="2026-03-02")
    with pytest.raises(InvalidInputError, match="ClinicCalendar"):
        _plan(calendar={"country": "US"})


# -- check_plan catches broken plans -----------------------------------------------------


def _swap(plan: CoursePlan, index: int, **changes) -> CoursePlan:
    sessions = list(plan.sessions)
    sessions[index] = replace(sessions[index], **changes)
    return replace(plan, sessions=tuple(sessions))


def test_check_plan_accepts_the_planners_plans():
    """A fresh plan passes check_plan unchanged."""
    plan = _plan(calendar=NY)
    assert plan is check_plan(plan)


def test_check_plan_flags_a_session_on_a_closed_day():
    """Moving a session onto a Saturday breaks the open-day rule."""
    plan = _plan()
    dose = plan.doses[-1]
    saturday = dose.date + dt.timedelta(days=(5 - dose.date.weekday()) % 7)
    broken = _swap(plan, dose.index, date=saturday)
    assert Constraint.OPEN_DAY in {v.constraint for v in plan_violations(broken)}


def test_check_plan_flags_doses_too_close():
    """Two doses one day apart break the minimum spacing."""
    plan = _plan()
    d1, d2 = plan.doses[0], plan.doses[1]
    broken = _swap(plan, d2.index, date=d1.date + dt.timedelta(days=1))
    with pytest.raises(PlanningError) as err:
        check_plan(broken)
    assert Constraint.MIN_DOSE_SPACING in str(err.value)


def test_check_plan_flags_a_missing_integration():
    """Dropping an integration session breaks the integration rule."""
    plan = _plan()
    integ = _of(plan, SessionKind.INTEGRATION)[2]
    sessions = tuple(
        replace(s, index=i) for i, s in enumerate(s for s in plan.sessions if s is not integ)
    )
    found = {v.constraint for v in plan_violations(replace(plan, sessions=sessions))}
    assert Constraint.INTEGRATION in found


def test_check_plan_flags_preparation_after_the_first_dose():
    """A preparation session after the first dose breaks the preparation rule."""
    plan = _plan()
    prep = _of(plan, SessionKind.PREPARATION)[1]
    broken = _swap(plan, prep.index, date=plan.doses[0].date)
    assert Constraint.PREPARATION in {v.constraint for v in plan_violations(broken)}


def test_check_plan_flags_a_dose_that_is_not_the_protocols():
    """A planned dose that differs from the protocol's calculation is caught."""
    plan = _plan()
    dose = plan.doses[0]
    broken = _swap(plan, dose.index, dose=replace(dose.dose, mg=70.0))
    assert Constraint.DOSE_CALCULATION in {v.constraint for v in plan_violations(broken)}


def test_check_plan_refuses_another_protocol():
    """Checking a plan against a different protocol is an input error, not a silent pass."""
    # (a comment-only copy has the same content hash: the protocol is the same)
    other = default_protocol().with_changes({"measures.worsening_increase_min": 6})
    with pytest.raises(InvalidInputError, match="made with"):
        check_plan(_plan(), other)


def test_check_plan_against_a_newer_calendar():
    """A plan checked against a calendar with a new closure reports the sessions it hits."""
    plan = _plan()
    day = plan.doses[2].date
    found = plan_violations(plan, calendar=MON_FRI.with_closures(day))
    assert [Constraint.OPEN_DAY] == sorted({v.constraint for v in found})


# -- re-planning ----------------------------------------------------------------------


def test_missed_dose_is_replanned_and_history_kept():
    """A missed dose stays on the plan as missed; the course still has all its doses."""
    plan = _plan(calendar=NY)
    d2 = plan.doses[1]
    as_of = d2.date + dt.timedelta(days=1)
    new = replan(plan, as_of=as_of, missed=[d2.index])
    missed = [s for s in new.sessions if s.status is SessionStatus.MISSED]
    assert [(d2.kind, d2.date)] == [(s.kind, s.date) for s in missed]
    assert 6 == len(new.doses)
    assert new.doses[0].status is SessionStatus.DONE and new.doses[0].date == plan.doses[0].date
    assert new.doses[1].date >= as_of
    assert (2, 1) == (new.revision, len(new.changes))
    assert "missed" in new.changes[0]


def test_done_sessions_keep_their_dates():
    """Everything dated before as_of is kept as it was, marked done."""
    plan = _plan(calendar=NY)
    as_of = plan.doses[3].date
    new = replan(plan, as_of=as_of, missed=[plan.doses[2].index])
    before = [(s.kind, s.date) for s in plan.sessions if s.date < as_of]
    kept = [(s.kind, s.date) for s in new.sessions if s.date < as_of]
    assert before == kept
    assert all(s.status is not SessionStatus.PLANNED for s in new.sessions if s.date < as_of)


def test_missed_integration_is_made_up_before_the_next_dose():
    """A missed integration gets a make-up session before the next dose."""
    plan = _plan(calendar=NY)
    integ = _of(plan, SessionKind.INTEGRATION)[0]
    as_of = integ.date + dt.timedelta(days=1)
    new = replan(plan, as_of=as_of, missed=[integ.index])
    second = new.doses[1]
    makeups = [
        s
        for s in _of(new, SessionKind.INTEGRATION)
        if s.status is SessionStatus.PLANNED and s.date < second.date
    ]
    assert 1 == len(makeups)
    assert as_of <= makeups[0].date


def test_moved_dose_is_pinned_and_the_rest_follows():
    """Moving dose 3 two days later pins it there; later doses come after it."""
    plan = _plan(calendar=MON_FRI)
    d3 = plan.doses[2]
    target = d3.date + dt.timedelta(days=1)
    while not MON_FRI.is_open(target):
        target += dt.timedelta(days=1)
    new = replan(plan, as_of=plan.doses[1].date + dt.timedelta(days=1), moved={d3.index: target})
    assert target == new.doses[2].date
    assert all(b.date > a.date for a, b in zip(new.doses, new.doses[1:], strict=False))


def test_moved_integration_is_pinned_within_its_window():
    """Moving an integration a day later, still in its window, pins it there."""
    plan = _plan(calendar=MON_FRI)
    integ = _of(plan, SessionKind.INTEGRATION)[0]
    later = integ.date + dt.timedelta(days=1)
    assert MON_FRI.is_open(later) and later < plan.doses[1].date  # the example's premise
    new = replan(plan, as_of=plan.start, moved={integ.index: later})
    assert later == _of(new, SessionKind.INTEGRATION)[0].date


def test_moving_onto_a_closed_day_is_a_planning_error():
    """A move onto a closed day fails with the open-day constraint."""
    plan = _plan()
    d3 = plan.doses[2]
    sunday = d3.date + dt.timedelta(days=(6 - d3.date.weekday()) % 7)
    with pytest.raises(PlanningError) as err:
        replan(plan, as_of=plan.start, moved={d3.index: sunday})
    assert Constraint.OPEN_DAY == err.value.constraint


def test_moving_a_dose_too_close_to_the_previous_one_fails():
    """A move that breaks the minimum spacing names that constraint."""
    plan = _plan()
    d2, d3 = plan.doses[1], plan.doses[2]
    with pytest.raises(PlanningError) as err:
        replan(plan, as_of=plan.start, moved={d3.index: d2.date})
    assert err.value.constraint in {Constraint.MIN_DOSE_SPACING, Constraint.INTEGRATION}


@pytest.mark.parametrize("which", ["future_missed", "done_moved", "move_before_as_of", "bad_index"])
def test_impossible_replan_requests_are_invalid_input(which):
    """Missing a future session, moving history or before as_of, a bad index: input errors."""
    plan = _plan()
    as_of = plan.doses[2].date
    future, past = plan.doses[3], plan.doses[0]
    kwargs = {
        "future_missed": {"missed": [future.index]},
        "done_moved": {"moved": {past.index: as_of + dt.timedelta(days=7)}},
        "move_before_as_of": {"moved": {future.index: as_of - dt.timedelta(days=1)}},
        "bad_index": {"missed": [999]},
    }[which]
    with pytest.raises(InvalidInputError):
        replan(plan, as_of=as_of, **kwargs)


def test_new_closure_moves_sessions_off_it():
    """Re-planning with a new closure moves the planned sessions it covers."""
    plan = _plan(calendar=NY)
    hit = plan.doses[4].date
    cal = NY.with_closures((hit, hit, "staff away"))
    new = replan(plan, as_of=plan.doses[1].date, calendar=cal)
    assert all(s.date != hit for s in new.planned)
    assert "calendar changed" in new.changes[-1]


def test_boosters_can_be_added_when_re_planning():
    """After an IV induction, re-planning can add boosters; the induction stays as it was."""
    plan = _plan(calendar=NY)
    as_of = plan.doses[-1].date + dt.timedelta(days=5)
    new = replan(plan, as_of=as_of, phase_doses={"booster": 2})
    assert [CoursePhase.INDUCTION] * 6 + [CoursePhase.BOOSTER] * 2 == [d.phase for d in new.doses]
    assert [d.date for d in plan.doses] == [d.date for d in new.doses[:6]]
    assert "booster 2 doses" in new.changes[-1]


def test_replanning_with_another_protocol_warns():
    """Re-planning under a different protocol than the plan's raises a ClinicalWarning."""
    other = default_protocol().with_changes({"measures.worsening_increase_min": 6})
    plan = _plan()
    with pytest.warns(ClinicalWarning, match="Re-planning with protocol"):
        new = replan(plan, as_of=plan.start, protocol=other)
    assert other.info == new.protocol


# -- rendering and persistence forms -----------------------------------------------------


def test_plan_round_trips_through_dict():
    """to_dict / from_dict give back an equal plan, replanned history included."""
    plan = _plan("esketamine_nasal", weight_kg=None, calendar=NY, patient_id="SYN-0001")
    plan = replan(plan, as_of=plan.doses[2].date, missed=[plan.doses[1].index])
    assert plan == CoursePlan.from_dict(plan.to_dict())


def test_to_frame_has_one_row_per_session():
    """The DataFrame view has a row per session and the dose columns."""
    plan = _plan()
    frame = plan.to_frame()
    assert len(plan.sessions) == len(frame)
    assert {"date", "kind", "dose_mg", "dose_arithmetic", "confirmation"} <= set(frame.columns)


# -- properties --------------------------------------------------------------------------


@st.composite
def calendars(draw):
    country, sub = draw(st.sampled_from(REGIONS))
    weekdays = draw(st.sets(st.integers(0, 6), min_size=2, max_size=7))
    base = draw(st.dates(D(2024, 1, 1), D(2028, 6, 30)))
    closures = [
        (base + dt.timedelta(days=off), base + dt.timedelta(days=off + length))
        for off, length in draw(
            st.lists(st.tuples(st.integers(0, 120), st.integers(0, 12)), max_size=4)
        )
    ]
    return ClinicCalendar(weekdays, country, sub, closures), base


def _closed(cal: ClinicCalendar, day: dt.date) -> bool:
    """Closedness worked out here, from the holidays library and the calendar's settings."""
    if day.weekday() not in cal.open_weekdays:
        return True
    if any(c.start <= day <= c.end for c in cal.closures):
        return True
    return cal.country is not None and day in holidays.country_holidays(
        cal.country, subdiv=cal.subdivision, years=day.year
    )


def _assert_rules_hold(plan: CoursePlan, cal: ClinicCalendar) -> None:
    """The issue's rules, read directly from the protocol, on every planned session."""
    c = default_protocol().courses
    course = c.route(plan.route)
    lo, hi = (
        int(c.integration_min_days_after_dose.value),
        int(c.integration_max_days_after_dose.value),
    )
    spacing = int(course.min_dose_spacing_days.value)
    for s in plan.planned:
        assert not _closed(cal, s.date), f"{s.label} on closed day {s.date}"
        assert s.date >= plan.as_of
    doses = _of(plan, SessionKind.DOSING)
    assert course_template(
        plan.route, phase_doses=dict(plan.options.phase_doses)
    ).dose_count == len(doses)
    preps = _of(plan, SessionKind.PREPARATION)
    if all(d.status is SessionStatus.PLANNED for d in doses):
        assert int(c.preparation_sessions.value) == len(preps)
        assert all(p.date < doses[0].date for p in preps)
    integrations = _of(plan, SessionKind.INTEGRATION)
    for a, b in zip(doses, [*doses[1:], None], strict=False):
        if b is not None and (
            a.status is SessionStatus.PLANNED or b.status is SessionStatus.PLANNED
        ):
            assert (b.date - a.date).days >= spacing
        if a.status is SessionStatus.PLANNED:
            between = [
                i for i in integrations if a.date < i.date and (b is None or i.date < b.date)
            ]
            assert between, f"no integration after the dose on {a.date}"
            assert lo <= (between[0].date - a.date).days <= hi
        if a.status is SessionStatus.PLANNED:
            assert "for clinician confirmation" == a.dose.confirmation


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    cal_base=calendars(),
    start_offset=st.integers(-5, 60),
    route=st.sampled_from(list(Route)),
    age=st.integers(18, 95),
    weight=st.floats(40, 180),
    optional_doses=st.integers(0, 2),
)
def test_every_plan_keeps_every_rule_or_names_the_one_it_cannot(
    cal_base, start_offset, route, age, weight, optional_doses
):
    """Random starts, calendars, routes: a plan keeping every rule, or an error naming one."""
    cal, base = cal_base
    optional = {Route.ESKETAMINE_NASAL: "continuation"}.get(route, "booster")
    with strict_guard():
        try:
            plan = _plan(
                route,
                base + dt.timedelta(days=start_offset),
                cal,
                age=age,
                weight_kg=weight,
                phase_doses={optional: optional_doses},
            )
        except PlanningError as exc:
            event(f"PlanningError: {exc.constraint}")
            assert exc.constraint in set(Constraint)
            assert exc.constraint.value in str(exc)
            return
    event("planned")
    _assert_rules_hold(plan, cal)


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    cal_base=calendars(),
    route=st.sampled_from(list(Route)),
    data=st.data(),
)
def test_replanning_after_missed_or_moved_sessions_keeps_every_rule(cal_base, route, data):
    """After missed or moved sessions the re-plan keeps rules and history, or names what fails."""
    cal, base = cal_base
    try:
        plan = _plan(route, base, cal, age=50)
    except PlanningError:
        assume(False)
    for _ in range(data.draw(st.integers(1, 3))):
        planned = plan.planned
        if len(planned) < 2:
            break
        as_of = data.draw(st.sampled_from([s.date for s in planned[1:]]))
        past = [
            s.index for s in plan.sessions if s.date < as_of and s.status is SessionStatus.PLANNED
        ]
        missed = data.draw(st.lists(st.sampled_from(past), max_size=2, unique=True)) if past else []
        future = [s for s in plan.sessions if s.date >= as_of]
        moved = {}
        if future and data.draw(st.booleans()):
            s = data.draw(st.sampled_from(future))
            moved[s.index] = s.date + dt.timedelta(days=data.draw(st.integers(-2, 6)))
        new_cal = (
            cal.with_closures(as_of + dt.timedelta(days=data.draw(st.integers(0, 20))))
            if data.draw(st.booleans())
            else cal
        )
        with strict_guard():
            try:
                new = replan(plan, as_of=as_of, missed=missed, moved=moved, calendar=new_cal)
            except PlanningError as exc:
                event(f"PlanningError: {exc.constraint}")
                assert exc.constraint in set(Constraint)
                return
            except InvalidInputError:
                event("InvalidInputError")
                return  # e.g. a move before as_of, or of an integration whose dose was missed
        event("re-planned")
        _assert_rules_hold(new, new_cal)
        history = [
            (s.kind, s.date, s.status is SessionStatus.MISSED or s.index in missed)
            for s in plan.sessions
            if s.date < as_of
        ]
        assert history == [
            (s.kind, s.date, s.status is SessionStatus.MISSED)
            for s in new.sessions
            if s.date < as_of
        ]
        for index, day in moved.items():
            assert any(s.date == day and s.kind is plan.sessions[index].kind for s in new.planned)
        plan = new


@settings(max_examples=60, deadline=None)
@given(cal_base=calendars(), route=st.sampled_from(list(Route)), pick=st.integers(0, 200))
def test_replanning_with_nothing_changed_keeps_the_future(cal_base, route, pick):
    """Re-planning with nothing missed or moved gives back the same future sessions."""
    cal, base = cal_base
    try:
        plan = _plan(route, base, cal)
    except PlanningError:
        assume(False)
    as_of = plan.sessions[pick % len(plan.sessions)].date
    new = replan(plan, as_of=as_of)
    assert [(s.kind, s.date, s.dose_number) for s in plan.sessions if s.date >= as_of] == [
        (s.kind, s.date, s.dose_number) for s in new.sessions if s.date >= as_of
    ]


def test_planner_rows_build_the_same_validated_sessions_as_the_dataclass():
    """session_from_row (the planner's fast build) equals PlannedSession(index, *row) for
    every session of a plan, follows the dataclass's field order, and refuses what
    PlannedSession refuses (a dosing session without its dose; a row of the wrong size)."""
    from dataclasses import fields

    from kaptools.errors import InvalidInputError
    from kaptools.scheduling.placement import ROW_FIELDS
    from kaptools.scheduling.plan import PlannedSession, session_from_row

    assert ROW_FIELDS == tuple(f.name for f in fields(PlannedSession))[1:]
    plan = plan_course(
        "esketamine_nasal",
        dt.date(2026, 3, 2),
        calendar=ClinicCalendar(country="US", subdivision="CA"),
        screening_status="eligible",
        age=40,
    )
    for s in plan.sessions:
        row = [getattr(s, name) for name in ROW_FIELDS]
        built = session_from_row(s.index, row)
        assert built == PlannedSession(s.index, *row) == s
        assert type(built) is PlannedSession
    dosing = next(s for s in plan.sessions if s.kind is SessionKind.DOSING)
    bad = [getattr(dosing, name) for name in ROW_FIELDS]
    bad[ROW_FIELDS.index("dose")] = None
    for make in (lambda: PlannedSession(0, *bad), lambda: session_from_row(0, bad)):
        with pytest.raises(InvalidInputError, match="dosing session needs its dose"):
            make()
    with pytest.raises(InvalidInputError, match="session row"):
        session_from_row(0, bad[:-1])
