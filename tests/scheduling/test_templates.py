"""Course templates in the protocol: the [courses] and [monitoring] tables and their resolution."""

from __future__ import annotations

import doctest
import importlib

import pytest
from pydantic import BaseModel

from kaptools.errors import InvalidInputError, ProtocolError
from kaptools.protocol import DEFAULT_PROTOCOL_PATH, Threshold, default_protocol, parse_protocol
from kaptools.scheduling import CoursePhase, Route, course_template


def _edited(old: str, new: str):
    text = DEFAULT_PROTOCOL_PATH.read_text(encoding="utf-8")
    assert old in text
    return parse_protocol(text.replace(old, new, 1), origin="edited copy")


def _thresholds(model: BaseModel, path: str = ""):
    for name, value in model:
        where = f"{path}.{name}" if path else name
        if isinstance(value, Threshold):
            yield where, value
        elif isinstance(value, BaseModel):
            yield from _thresholds(value, where)
        elif isinstance(value, tuple):
            for i, item in enumerate(value):
                if isinstance(item, BaseModel):
                    yield from _thresholds(item, f"{where}[{i}]")


def test_every_course_and_monitoring_number_has_unit_and_source():
    """Each threshold in [courses] and [monitoring] carries a unit and a source."""
    p = default_protocol()
    found = list(_thresholds(p.courses, "courses")) + list(_thresholds(p.monitoring, "monitoring"))
    assert len(found) > 40
    for where, t in found:
        assert t.unit.strip(), where
        assert len(t.source.strip()) >= 3, where


def test_default_protocol_matches_the_product_decisions():
    """The shipped defaults are the default-protocol page's: doses, counts, windows, BP lines."""
    p = default_protocol()
    c, m = p.courses, p.monitoring
    assert (2, 1, 3) == (
        c.preparation_sessions.value,
        c.integration_min_days_after_dose.value,
        c.integration_max_days_after_dose.value,
    )
    assert (0.5, 6) == (c.iv_ketamine.dose.mg_per_kg.value, c.iv_ketamine.phases[0].doses.value)
    assert (0.25, 1.0) == (
        c.im_ketamine.dose.min_mg_per_kg.value,
        c.im_ketamine.dose.max_mg_per_kg.value,
    )
    eske = c.esketamine_nasal.dose
    assert (56, 28, 28, 28) == (
        eske.first_dose_mg.value,
        eske.first_dose_mg_older.value,
        eske.step_mg.value,
        eske.device_mg.value,
    )
    assert ((56, 84), (28, 56, 84)) == (eske.options_mg.values, eske.options_mg_older.values)
    assert (140, 90, 40, 25) == (
        m.pre_dose_systolic_review_above.value,
        m.pre_dose_diastolic_review_above.value,
        m.systolic_rise_flag_min.value,
        m.diastolic_rise_flag_min.value,
    )
    assert (120, 7, 15, 40) == (
        m.esketamine_observation_min_minutes.value,
        m.rems_form_due_days.value,
        m.infusion_vitals_interval_minutes.value,
        m.post_dose_check_minutes.value,
    )


def test_esketamine_template_is_the_label_schedule():
    """Esketamine: 8 induction doses twice weekly (gaps 3, 4), then 4 weekly maintenance doses."""
    t = course_template(Route.ESKETAMINE_NASAL)
    assert 12 == t.dose_count
    assert [CoursePhase.INDUCTION] * 8 + [CoursePhase.MAINTENANCE] * 4 == [s.phase for s in t.slots]
    assert [None, 3, 4, 3, 4, 3, 4, 3, 7, 7, 7, 7] == [s.gap_days for s in t.slots]


def test_optional_phase_is_planned_on_request_with_an_allowed_rhythm():
    """Continuation doses are added on request, every 2 weeks or (allowed alternative) weekly."""
    t = course_template(
        "esketamine_nasal", phase_doses={"continuation": 3}, phase_period_days={"continuation": 7}
    )
    assert [7, 7, 7] == [s.gap_days for s in t.slots if s.phase is CoursePhase.CONTINUATION]
    t14 = course_template("esketamine_nasal", phase_doses={"continuation": 2})
    assert [14, 14] == [s.gap_days for s in t14.slots if s.phase is CoursePhase.CONTINUATION]


@pytest.mark.parametrize(
    ("kwargs", "fragment"),
    [
        ({"phase_doses": {"booster": 2}}, "not a phase"),
        ({"phase_doses": {"continuation": -1}}, "0 or more"),
        ({"phase_doses": {"induction": 0}}, "at least 1 induction"),
        ({"phase_period_days": {"continuation": 10}}, "use one of"),
    ],
)
def test_bad_phase_choices_are_invalid(kwargs, fragment):
    """Per-patient phase choices outside what the protocol allows are InvalidInputErrors."""
    with pytest.raises(InvalidInputError, match=fragment):
        course_template("esketamine_nasal", **kwargs)


def test_unknown_route_lists_the_routes():
    """An unknown route names the routes there are."""
    with pytest.raises(InvalidInputError, match="iv_ketamine"):
        course_template("oral_ketamine")


@pytest.mark.parametrize(
    ("old", "new", "key"),
    [
        (
            "integration_min_days_after_dose = { value = 1,",
            "integration_min_days_after_dose = { value = 0,",
            "courses.integration_min_days_after_dose",
        ),
        (
            'mg_per_kg = { value = 0.5, unit = "mg/kg", source = "standard',
            'mg_per_kg = { value = 0.9, unit = "mg/kg", source = "standard',
            "courses.iv_ketamine.dose",
        ),
        (
            'phase = "induction"\nlabel = "Induction (weeks 1-4)"',
            'phase = "booster"\nlabel = "Induction (weeks 1-4)"',
            "courses.esketamine_nasal",
        ),
        (
            "options_mg = { values = [56, 84]",
            "options_mg = { values = [56, 70]",
            "courses.esketamine_nasal.dose",
        ),
        (
            "rems_form_due_days = { value = 7,",
            "rems_form_due_days = { value = 0,",
            "monitoring.rems_form_due_days",
        ),
    ],
    ids=[
        "integration_same_day",
        "iv_dose_out_of_range",
        "phases_order",
        "options_off_step",
        "rems_zero_days",
    ],
)
def test_broken_course_tables_are_protocol_errors_naming_the_key(old, new, key):
    """A protocol copy that breaks a course or monitoring rule fails to load, naming the key."""
    with pytest.raises(ProtocolError, match=key.replace(".", r"\.")):
        _edited(old, new)


def test_route_missing_from_protocol_is_not_offered():
    """A clinic protocol without an IM table cannot plan IM courses, and says what it offers."""
    text = DEFAULT_PROTOCOL_PATH.read_text(encoding="utf-8")
    start = text.index("[courses.im_ketamine]")
    end = text.index("[courses.esketamine_nasal]")
    protocol = parse_protocol(text[:start] + text[end:], origin="no IM")
    with pytest.raises(InvalidInputError, match="offers"):
        course_template("im_ketamine", protocol)


def test_template_summary_renders():
    """A template describes itself in text and HTML."""
    t = course_template("iv_ketamine")
    assert "Induction: 6 doses, 2 per 7 days" in t.summary
    assert "<p" in t._repr_html_()


@pytest.mark.parametrize(
    "module",
    [
        "kaptools.scheduling.calendar",
        "kaptools.scheduling.doses",
        "kaptools.scheduling.constraints.check",
        "kaptools.scheduling.planner",
        "kaptools.scheduling.gates",
        "kaptools.sessions.vitals",
        "kaptools.sessions.rems",
        "kaptools.sessions.vitals_rows",
    ],
)
def test_docstring_examples_run_as_written(module):
    """The Examples in the scheduling and sessions docstrings give the results they show."""
    result = doctest.testmod(importlib.import_module(module), optionflags=doctest.ELLIPSIS)
    assert 0 == result.failed
    assert result.attempted > 0


# -- named templates: the label's MDSI schedule -------------------------------------------


def _mdsi(**kw):
    import datetime as dt

    from kaptools.scheduling import ClinicCalendar, plan_course

    kw.setdefault("age", 40)
    return plan_course(
        kw.pop("route", "esketamine_nasal"),
        dt.date(2026, 3, 2),
        calendar=ClinicCalendar(),
        screening_status="eligible",
        template="esketamine_mdsi",
        **kw,
    )


def test_mdsi_template_is_84_mg_twice_weekly_for_4_weeks_with_the_labels_notes():
    """8 doses of 84 mg, twice weekly within 28 days, nothing after; the label's notes shown."""
    plan = _mdsi()
    doses = plan.doses
    assert [d.dose.mg for d in doses] == [84.0] * 8
    assert (doses[-1].date - doses[0].date).days + 1 <= 28
    assert plan.deviations == ()
    assert "suicidal ideation" in plan.route_label
    assert any("reduced to 56 mg" in n for n in plan.notes)
    assert any("oral antidepressant" in n for n in plan.notes)
    assert plan.options.template == "esketamine_mdsi"


def test_mdsi_dose_may_be_reduced_to_56_mg_and_round_trips():
    """later_dose_mg=56 steps down after day 1; the plan reads back equal and re-checks."""
    from kaptools.scheduling import CoursePlan, check_plan

    plan = _mdsi(later_dose_mg=56)
    assert [d.dose.mg for d in plan.doses] == [84.0] + [56.0] * 7
    again = CoursePlan.from_dict(plan.to_dict())
    assert again == plan
    assert check_plan(again) is again


def test_mdsi_template_on_another_route_or_unknown_name_is_invalid():
    """A template for esketamine cannot plan IV; an unknown template name is named."""
    with pytest.raises(InvalidInputError, match="esketamine_nasal"):
        _mdsi(route="iv_ketamine", weight_kg=70)
    import datetime as dt

    from kaptools.scheduling import ClinicCalendar, plan_course

    with pytest.raises(InvalidInputError, match="esketamine_mdsi"):
        plan_course(
            "esketamine_nasal",
            dt.date(2026, 3, 2),
            calendar=ClinicCalendar(),
            screening_status="eligible",
            age=40,
            template="nope",
        )
