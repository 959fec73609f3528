"""The course-planner App's Python side: the screening gate, re-plans, saves, the session form."""

from __future__ import annotations

import base64
import csv
import datetime as dt
import html
import io
import re
from dataclasses import replace

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from icalendar import Calendar

from kaptools.demo import build_demo_database
from kaptools.errors import StoreError
from kaptools.identity import Identity, Role
from kaptools.protocol import default_protocol
from kaptools.scheduling import (
    CSV_COLUMNS,
    SessionKind,
    SessionStatus,
    load_latest_plan,
    offered_routes,
    plan_history,
    plan_violations,
    plannable,
    save_plan,
)
from kaptools.screening import Severity, save_screening, screen
from kaptools.sessions import (
    RemsFormStatus,
    SessionRecordStatus,
    dosing_session_history,
    dosing_sessions,
    rems_forms_due,
    save_dosing_session,
)
from kaptools.store import Store
from kaptools.ui import PlannerApp
from kaptools.ui.common import AuditedDownloads, reapply_edits
from kaptools.ui.planner import derive_view, parse_closures

TODAY = dt.date(2026, 11, 27)
START = dt.date(2026, 12, 7)  # a Monday after the demo courses
PROTOCOL = default_protocol()


def _app(n: int = 8) -> PlannerApp:
    store = Store.in_memory(identity=Identity("dr-test", Role.CLINICIAN))
    build_demo_database(store, n=n)
    return PlannerApp(store, PROTOCOL, defer=True, today=TODAY)


@pytest.fixture
def app() -> PlannerApp:
    """Eight demo patients: SYN-0004 has cautions, SYN-0008 (the last) is not eligible."""
    return _app()


def _arrive(app: PlannerApp, search: str) -> None:
    app.url.observe(app._on_url, names="search")
    app.url.search = search


def _plan_new(app: PlannerApp, *, country: str = "US", start: dt.date = START) -> None:
    app.country.value = country
    for b in app.weekdays[5:]:
        b.value = False
    app.closures.value = ""
    app.start.value = start
    app._on_plan()


def _index_of_dose(app: PlannerApp, number: int) -> int:
    return next(s.index for s in app.plan.doses if s.dose_number == number)


def _audit(app: PlannerApp) -> int:
    return len(app.store.audit_entries())


def _link(downloads: AuditedDownloads, cls: str) -> bytes:
    """What a click on a download button sends to the browser (after its audit row)."""
    sent: list[dict] = []
    downloads.send = sent.append  # type: ignore[method-assign]
    index = [f["css"] for f in downloads.files].index(cls)
    downloads._on_msg(downloads, {"download": index}, [])
    (msg,) = sent
    if "b64" in msg:  # a binary file
        return base64.b64decode(msg["b64"])
    return msg["text"].encode("utf-8")


# ---- loading and the screening gate ----------------------------------------------------


def test_nothing_is_loaded_before_the_url_arrives(app: PlannerApp) -> None:
    """A deferred app (a preheated kernel) holds no patient list, screening or plan."""
    assert app.picker.options == ()
    assert app.screening is None and app.plan is None
    assert app.plan_area.layout.display == "none"


def test_saved_plan_is_shown_with_doses_and_recorded_sessions(app: PlannerApp) -> None:
    """SYN-0001's saved plan shows each dose with its arithmetic and its dosing record."""
    _arrive(app, "?patient=SYN-0001")
    saved = load_latest_plan(app.store, "SYN-0001")
    assert app.plan == saved.plan and app.plan_area.layout.display is None
    state = app.state
    assert state.saved == saved and state.plan == saved.plan and state.plan_shown
    assert len(app.plan.doses) == 6
    assert {s.date for s in app.plan.doses} <= set(state.recorded)
    assert all("× 0.5 mg/kg" in s.dose.arithmetic for s in app.plan.doses)
    # the page shows the plan's own table, decorated with the records from the state
    decorated = app.plan.table_html(recorded=state.recorded, changed=state.changed, today=TODAY)
    assert app.table.value == decorated and decorated.count("kap-recorded") == 6


def test_not_eligible_patient_cannot_be_planned(app: PlannerApp) -> None:
    """The last demo patient's latest screening excludes: a message, no plan, nothing written."""
    _arrive(app, "?patient=SYN-0008")
    assert app.screening.status.value == "not_eligible"
    assert app.plan is None and not app.state.plannable
    assert app.controls.layout.display == "none" and app.plan_area.layout.display == "none"
    gate = plannable(app.store, "SYN-0008", TODAY, protocol=PROTOCOL)
    assert not gate and app.state.gate == gate.reason
    assert "no course can be planned" in app.state.gate
    assert any(
        "defer until blood pressure is controlled" in f.message
        for f in app.screening.by_severity(Severity.EXCLUSION)
    )
    before = _audit(app)
    app._on_plan()
    assert "not eligible" in app.plan_error.value and "kap-error" in app.plan_error._dom_classes
    assert app.plan is None and _audit(app) == before


def test_patient_without_screening_gets_the_planners_message(app: PlannerApp) -> None:
    """No screening on record: the planner's own message, and no plan controls."""
    app.store.add_patient(
        "SYN-NEW",
        "New P. (synthetic)",
        birth_date=dt.date(1980, 1, 1),
        sex="female",
        weight_kg=70,
    )
    _arrive(app, "?patient=SYN-NEW")
    assert app.screening is None and app.plan is None and app.state.latest is None
    assert app.state.gate is not None and "No screening on record" in app.state.gate
    assert app.controls.layout.display == "none"


def test_incomplete_screening_gets_a_message_and_no_plan(app: PlannerApp) -> None:
    """A screening with answers missing is incomplete: the message says so; no plan."""
    app.store.add_patient(
        "SYN-INC",
        "Inc P. (synthetic)",
        birth_date=dt.date(1980, 1, 1),
        sex="female",
        weight_kg=70,
    )
    trial = {"daily_dose_mg": 150, "weeks": 8, "outcome": "no_response"}
    record = {  # complete but for the history checklist, left unasked
        "patient_id": "SYN-INC",
        "age_years": 46,
        "sex": "female",
        "pregnant": "no",
        "breastfeeding": "no",
        "diagnoses": ["F33.1"],
        "current_medications": [],
        "antidepressant_trials": [
            {"drug": "sertraline", "stop_reason": "lack_of_effect", **trial},
            {"drug": "venlafaxine", "stop_reason": "lack_of_effect", **trial, "daily_dose_mg": 225},
        ],
        "systolic_bp_mmhg": 120,
        "diastolic_bp_mmhg": 78,
    }
    save_screening(app.store, "SYN-INC", record, screen(record), "dr-test")
    _arrive(app, "?patient=SYN-INC")
    assert app.screening.status.value == "incomplete"
    assert app.state.gate is not None and "incomplete" in app.state.gate
    assert app.plan is None and not app.state.plannable


def test_only_routes_whose_criteria_are_met_are_offered(app: PlannerApp) -> None:
    """A racemic-only contraindication (hyperthyroidism, Ketalar SmPC) leaves esketamine the
    only route offered; the screening decides (ScreeningResult.routes_meeting_criteria)."""
    _arrive(app, "?patient=SYN-0004")
    saved = app.screening
    assert saved is not None
    history = saved.record.history.model_dump() | {"hyperthyroidism": "yes"}
    record = saved.record.model_copy(
        update={"history": saved.record.history.model_validate(history)}
    )
    result = screen(record)
    assert [r.value for r in result.routes_meeting_criteria] == ["esketamine_nasal"]
    save_screening(app.store, "SYN-0004", record, result, "dr-test")
    app._load()
    assert [value for _, value in app.route.options] == ["esketamine_nasal"]
    assert app.route.value == "esketamine_nasal"


def test_cautions_from_screening_are_shown_on_the_plan(app: PlannerApp) -> None:
    """An eligible-with-cautions patient is planned, and the plan lists the cautions."""
    _arrive(app, "?patient=SYN-0004")
    assert app.screening.status.value == "eligible_with_cautions"
    _plan_new(app)
    assert app.state.plan is app.plan and app.plan.cautions
    assert "Benzodiazepine" in app.plan.cautions[0]
    assert app.plan.cautions_html() in app.plan_summary.value  # the plan's own note
    ics = Calendar.from_ical(_link(app.downloads, "kap-download-ics"))
    assert "Benzodiazepine" in str(ics.walk("VEVENT")[0]["description"])


def test_crisis_banner_follows_the_patients_alerts(app: PlannerApp) -> None:
    """SYN-0003 (item 9 positive) shows the 988 banner while any stored alert is open,
    on the plan summary and its downloaded summary too; acknowledged, they go."""
    _arrive(app, "?patient=SYN-0003")
    assert app.banner.layout.display is None and "988" in app.banner.value
    _plan_new(app)
    assert app.state.alerts and all(a.is_open for a in app.state.alerts)
    assert "Open safety alerts" in app.plan_summary.value
    assert "988" in _link(app.downloads, "kap-download-summary").decode()
    for a in app.alert_panel.stored.open:
        app.store.acknowledge_alert(a.alert_id, note="risk assessed")
    app.picker.value = "SYN-0001"
    app.picker.value = "SYN-0003"
    assert app.banner.layout.display == "none"
    assert "acknowledged" in app.alert_panel.history.value


@pytest.mark.parametrize("search", ["?patient=%3Cscript%3E", "?patient=SYN-9999"])
def test_bad_or_unknown_url_patient_is_named_and_first_patient_shown(
    app: PlannerApp, search: str
) -> None:
    """A malformed or unknown ?patient= gives an escaped message and the first patient."""
    _arrive(app, search)
    assert app.notice.layout.display is None and "<script>" not in app.notice.value
    assert app.picker.value == "SYN-0001"


# ---- planning and re-planning ----------------------------------------------------------------


def test_new_plan_follows_the_controls(app: PlannerApp) -> None:
    """Route, start and the US calendar from the controls make a plan that keeps every rule."""
    _arrive(app, "?patient=SYN-0002")
    app.route.value = "im_ketamine"
    _plan_new(app)
    plan = app.plan
    assert plan.route.value == "im_ketamine" and plan.start == START
    assert plan.calendar.country == "US" and plan.patient_id == "SYN-0002"
    assert plan_violations(plan, PROTOCOL) == []
    assert app.state.saved is None or app.state.saved.plan != plan  # not saved yet
    assert "kap-ok" in app.plan_error._dom_classes


def test_moving_a_dose_replans_and_keeps_the_constraints(app: PlannerApp) -> None:
    """Dose 2 moved a day later: it is on the new day, later sessions follow, every rule holds."""
    _arrive(app, "?patient=SYN-0001")
    _plan_new(app)
    saved_plan = app.plan
    i = _index_of_dose(app, 2)
    new_day = app.plan.session(i).date + dt.timedelta(days=1)
    app.move_which.value = i
    assert app.move_date.value == app.plan.session(i).date
    app.move_date.value = new_day
    app._on_move()
    assert app.plan.revision == 2 and "Re-planned (revision 2)" in app.replan_error.value
    assert [s.date for s in app.plan.doses if s.dose_number == 2] == [new_day]
    assert plan_violations(app.plan, PROTOCOL) == []
    assert i in app.state.changed and app.state.changed == saved_plan.diff(app.plan)


def test_moving_onto_a_closed_day_names_the_constraint_and_keeps_the_plan(app: PlannerApp) -> None:
    """Christmas Day is a US public holiday: the error names open_day; the plan is unchanged."""
    _arrive(app, "?patient=SYN-0001")
    _plan_new(app)
    before, audit = app.plan, _audit(app)
    app.move_which.value = _index_of_dose(app, 6)
    app.move_date.value = dt.date(2026, 12, 25)
    app._on_move()
    assert "open_day" in app.replan_error.value and "Christmas" in app.replan_error.value
    assert app.plan == before and _audit(app) == audit


def test_start_inside_a_long_closure_shows_the_planning_error_and_writes_nothing(
    app: PlannerApp,
) -> None:
    """A closure over the whole planning horizon: PlanningError inline, no plan, no write."""
    _arrive(app, "?patient=SYN-0002")
    audit = _audit(app)
    app.closures.value = "2026-12-01 to 2029-12-31 building work"
    app.start.value = START
    app._on_plan()
    assert "planning_horizon" in app.plan_error.value
    assert "kap-error" in app.plan_error._dom_classes
    assert app.plan == load_latest_plan(app.store, "SYN-0002").plan  # the saved one, untouched
    assert _audit(app) == audit


@pytest.mark.parametrize(
    ("text", "field"),
    [("christmas", "line 1"), ("2026-12-24\nnext week", "line 2"), ("2026-02-30", "2026-02-30")],
)
def test_bad_closure_lines_are_named(app: PlannerApp, text: str, field: str) -> None:
    """A closure line that is not a date (range) is named in the inline error."""
    _arrive(app, "?patient=SYN-0002")
    app.closures.value = text
    app._on_plan()
    assert field in app.plan_error.value


def test_closure_lines_are_read_with_reasons() -> None:
    """Single days and ranges, with or without a reason, become closure dicts."""
    assert parse_closures("2026-12-24 to 2027-01-01 winter break\n\n2026-11-27") == [
        {"start": "2026-12-24", "end": "2027-01-01", "reason": "winter break"},
        {"start": "2026-11-27", "end": "2026-11-27", "reason": "clinic closure"},
    ]


@pytest.fixture(scope="module")
def planned() -> PlannerApp:
    a = _app(n=2)
    _arrive(a, "?patient=SYN-0001")
    _plan_new(a)
    return a


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(dose=st.integers(1, 6), shift=st.integers(-3, 12))
def test_any_move_either_keeps_every_rule_or_names_the_broken_one(
    planned: PlannerApp, dose: int, shift: int
) -> None:
    """Moving any dose by any number of days gives a valid plan or an inline named constraint."""
    app = planned
    app._on_plan()  # a fresh plan each example
    before = app.plan
    i = _index_of_dose(app, dose)
    app.move_which.value = i
    app.move_date.value = before.session(i).date + dt.timedelta(days=shift)
    app._on_move()
    if app.plan is before:
        assert "kap-error" in app.replan_error._dom_classes
        assert re.search(r"rule: [a-z_]+|as_of|before", app.replan_error.value)
    else:
        assert plan_violations(app.plan, PROTOCOL) == []
        assert app.plan.revision == before.revision + 1


def test_a_missed_dose_is_planned_again(app: PlannerApp) -> None:
    """A dose dated before today reported missed stays as missed; the course keeps its doses."""
    _arrive(app, "?patient=SYN-0002")
    _plan_new(app, start=dt.date(2026, 11, 16))
    missed = next(i for label, i in app.miss_which.options if "Dose 1" in label)
    app.miss_which.value = missed
    app._on_missed()
    assert app.plan.session(missed).status is SessionStatus.MISSED
    assert len(app.plan.doses) == 6
    assert all(s.date >= TODAY for s in app.plan.doses if s.status is SessionStatus.PLANNED)
    assert plan_violations(app.plan, PROTOCOL) == []


# ---- saving and exporting ----------------------------------------------------------------------


def test_saving_a_plan_stores_a_new_version_with_author_and_reason(app: PlannerApp) -> None:
    """A new plan becomes the next version of the patient's plan record; a re-plan the one after."""
    _arrive(app, "?patient=SYN-0001")
    record_id = app.saved.record_id
    before = len(plan_history(app.store, record_id))
    _plan_new(app)
    app._on_save()
    history = plan_history(app.store, record_id)
    assert [h.version for h in history] == list(range(1, before + 2))
    assert history[-1].author == "dr-test" and history[-1].reason.startswith("New plan")
    app.move_which.value = _index_of_dose(app, 3)
    app.move_date.value = app.plan.session(app.move_which.value).date + dt.timedelta(days=1)
    app._on_move()
    app._on_save()
    history = plan_history(app.store, record_id)
    assert len(history) == before + 2 and "moved" in history[-1].reason
    assert history[-1].plan == app.plan
    audit = _audit(app)
    app._on_save()
    assert "already saved" in app.save_error.value and _audit(app) == audit


def test_downloads_are_the_plan_as_ics_and_csv(app: PlannerApp) -> None:
    """The .ics link holds one event per session; the CSV and the Parquet file have the
    export's columns, one row per session."""
    _arrive(app, "?patient=SYN-0001")
    _plan_new(app)
    events = Calendar.from_ical(_link(app.downloads, "kap-download-ics")).walk("VEVENT")
    assert len(events) == len(app.plan.sessions)
    assert {str(e["summary"]) for e in events} == {s.label for s in app.plan.sessions}
    rows = list(csv.reader(io.StringIO(_link(app.downloads, "kap-download-csv").decode())))
    assert tuple(rows[0]) == CSV_COLUMNS and len(rows) == len(app.plan.sessions) + 1
    import pyarrow.parquet as pq

    table = pq.read_table(io.BytesIO(_link(app.downloads, "kap-download-parquet")))
    assert tuple(table.column_names) == CSV_COLUMNS and table.num_rows == len(app.plan.sessions)
    assert table.column("date").to_pylist() == [s.date for s in app.plan.sessions]


def test_each_download_is_audit_logged_before_the_file_is_sent(app: PlannerApp) -> None:
    """The page holds no file: a click asks the kernel, which writes the audit row (who,
    when, the patient, the file, which plan) and only then sends the file; when the row
    cannot be written, nothing is sent and the page says why."""
    _arrive(app, "?patient=SYN-0001")
    _plan_new(app)
    assert "BEGIN:VCALENDAR" not in repr(app.downloads.get_state())
    before = len(app.store.audit_entries("SYN-0001"))
    for cls in (
        "kap-download-ics",
        "kap-download-csv",
        "kap-download-parquet",
        "kap-download-summary",
    ):
        assert _link(app.downloads, cls)
    rows = app.store.audit_entries("SYN-0001")[before:]
    assert [(r.action, r.who, r.kind) for r in rows] == [("download", "dr-test", "course_plan")] * 4
    assert [r.detail.split(" ")[0] for r in rows] == [f["filename"] for f in app.downloads.files]
    assert all("(not saved)" in r.detail for r in rows)

    def refuse(*_a, **_k):
        raise StoreError("The database refused the write; nothing was saved (disk full).")

    app.store.log = refuse  # type: ignore[method-assign]
    sent: list[dict] = []
    app.downloads.send = sent.append  # type: ignore[method-assign]
    app.downloads._on_msg(app.downloads, {"download": 0}, [])
    assert sent == []
    assert "Not downloaded" in app.save_error.value and "disk full" in app.save_error.value


# ---- the dosing-session form -------------------------------------------------------------------


def _open_dose(app: PlannerApp, number: int) -> None:
    value = next(v for label, v in app.session_pick.options if f"Dose {number} of" in label)
    app.session_pick.value = value
    app._on_open_session()
    assert app.form.container.layout.display is None


def _row(app: PlannerApp, point: str):
    return next(r for r in app.form.rows if r.point.value == point)


def _bp(row, systolic: int | str, diastolic: int | str) -> None:
    row.systolic.value, row.diastolic.value = str(systolic), str(diastolic)


def test_session_form_flags_come_from_the_protocol(app: PlannerApp) -> None:
    """Pre-dose 150/95 is highlighted for review; a 45 mmHg systolic rise is flagged."""
    _arrive(app, "?patient=SYN-0001")
    _plan_new(app)
    _open_dose(app, 1)
    form = app.form
    assert [r.point.value for r in form.rows][:4] == ["pre_dose", "during", "during", "post_dose"]
    _bp(_row(app, "pre_dose"), 150, 95)
    assert "kap-flag-review" in form.flags.value and "Pre-dose systolic 150" in form.flags.value
    assert "kap-vitals-review" in _row(app, "pre_dose").box._dom_classes
    _bp(_row(app, "post_dose"), 195, 100)
    assert "kap-flag-flag" in form.flags.value and "Systolic rose 45" in form.flags.value
    assert "kap-vitals-flagged" in _row(app, "post_dose").box._dom_classes


def test_a_blood_pressure_of_400_is_an_inline_error_and_nothing_is_written(
    app: PlannerApp,
) -> None:
    """Systolic 400 is outside the entry range: the form says so and saves nothing."""
    _arrive(app, "?patient=SYN-0001")
    _plan_new(app)
    _open_dose(app, 1)
    _bp(_row(app, "pre_dose"), 400, 90)
    assert "kap-vitals-error" in app.form.flags.value and "400" in app.form.flags.value
    audit = _audit(app)
    app.form._on_save()
    assert (
        "kap-error" in app.form.errors._dom_classes and "vitals.systolic" in app.form.errors.value
    )
    assert _audit(app) == audit


def test_bad_time_is_named_and_nothing_is_written(app: PlannerApp) -> None:
    """A start time of 25:00 names the field and the fix; nothing is saved."""
    _arrive(app, "?patient=SYN-0001")
    _plan_new(app)
    _open_dose(app, 1)
    app.form.started.value = "25:00"
    audit = _audit(app)
    app.form._on_save()
    assert "started_at" in app.form.errors.value and "HH:MM" in app.form.errors.value
    assert _audit(app) == audit


def _go(app: PlannerApp) -> None:
    """Pre-dose answers that say go (C-SSRS asked, all no; not pregnant; not intoxicated)."""
    f = app.form
    f.cssrs_asked.answer = "asked"
    f.pregnant.answer = False
    f.intoxicated.answer = False
    pre = _row(app, "pre_dose")
    pre.heart_rate.value, pre.spo2.value = "72", "98"


def _fill_complete(app: PlannerApp) -> None:
    f = app.form
    _go(app)
    f.started.value, f.dose_end.value = "09:30", "10:10"
    f.ended.value, f.discharged.value = "11:30", "11:45"
    f.dose.value, f.lot.value = "38", "LOT-123"
    for r, (s, d) in zip(
        f.rows[:5], [(128, 80), (135, 84), (140, 86), (150, 90), (126, 80)], strict=True
    ):
        _bp(r, s, d)
        r.spo2.value = "97"
    f.rows[4].minutes.value = "120"
    f.sedation.answer = 4
    f.sedation_end_minutes.value, f.sedation_end.answer = "120", 5
    for pre, item, end in zip(
        f.dissociation_pre_items, f.dissociation_items, f.dissociation_end_items, strict=True
    ):
        pre.answer, item.answer, end.answer = 0, 1, 0
    f.dissociation_end_minutes.value = "120"
    f.side_effects_asked.answer = "asked"
    effect, severity, _ = f.side_effect_rows[0]
    effect.answer, severity.answer = "nausea", "mild"
    for d in f.discharge.values():
        d.answer = True


def test_mark_complete_names_missing_fields_then_saves_versions(app: PlannerApp) -> None:
    """Complete refuses with the missing fields and writes nothing; filled in, it saves v1, v2."""
    _arrive(app, "?patient=SYN-0001")
    _plan_new(app)
    _open_dose(app, 1)
    _bp(_row(app, "pre_dose"), 128, 80)
    audit = _audit(app)
    app.form._on_complete()
    message = app.form.errors.value
    assert "cannot be marked complete" in message
    assert "lot_number" in message and "discharge.escort_home" in message
    assert _audit(app) == audit
    app.form._on_save()  # in progress: allowed with fields missing
    first = app.form.record_id
    assert dosing_session_history(app.store, first)[-1].session.status.value == "in_progress"
    _fill_complete(app)
    app.form.reason.value = "Completed after discharge"
    app.form._on_complete()
    assert "Saved version 2" in app.form.errors.value
    history = dosing_session_history(app.store, first)
    assert [h.version for h in history] == [1, 2]
    assert history[-1].session.status is SessionRecordStatus.COMPLETE
    assert history[-1].session.plan_session_index == _index_of_dose(app, 1)
    assert history[-1].author == "dr-test" and history[-1].reason == "Completed after discharge"
    assert _audit(app) == audit + 2
    assert app.state.recorded[app.plan.doses[0].date].complete


def test_correcting_a_recorded_session_needs_a_reason(app: PlannerApp) -> None:
    """A demo session opened from the saved plan is corrected only with a written reason."""
    _arrive(app, "?patient=SYN-0001")
    _open_dose(app, 1)
    form = app.form
    assert form.record_id is not None and form.dose.value != ""
    assert form.side_effects_asked.answer == "asked"
    form.lot.value = "CORRECTED-LOT"
    audit = _audit(app)
    form._on_save()
    assert "Reason for the correction" in form.errors.value and _audit(app) == audit
    form.reason.value = "Lot number mistyped"
    form._on_complete()
    (saved,) = [s for s in dosing_sessions(app.store, "SYN-0001") if s.record_id == form.record_id]
    assert saved.version == 2 and saved.session.lot_number == "CORRECTED-LOT"


def test_a_stale_correction_offers_a_reload_that_reapplies_the_unsaved_edits(
    app: PlannerApp,
) -> None:
    """Someone saves a newer version while this form is open: saving is refused with
    both versions named and a "Reload the current version" button; reloading shows the
    newer version with this form's edits re-applied where the newer version left the
    field alone, and each conflict side by side (the newer value kept); nothing is saved
    until the clinician saves again, as a correction of the newer version."""
    _arrive(app, "?patient=SYN-0001")
    _open_dose(app, 1)
    form = app.form
    loaded = form.saved
    assert loaded is not None and form.reload_button.layout.display == "none"
    other = app.store.as_identity(Identity("dr-other", Role.CLINICIAN))
    save_dosing_session(
        other,
        replace(loaded.session, lot_number="THEIR-LOT", notes="their note"),
        record_id=loaded.record_id,
        reason="their fix",
        based_on_version=loaded.version,
    )
    form.lot.value = "MY-LOT"  # both change the lot number: a conflict
    form.dissociation_note.value = "my note"  # only this form changes it
    form.reason.value = "my fix"
    before = len(dosing_session_history(app.store, loaded.record_id))
    form._on_save()
    assert f"version {loaded.version + 1} was saved meanwhile by dr-other" in form.errors.value
    assert form.reload_button.layout.display is None
    assert len(dosing_session_history(app.store, loaded.record_id)) == before

    form.reload_button.click()
    assert form.saved is not None and form.saved.version == loaded.version + 1
    assert f"version {loaded.version + 1}" in form.heading.value
    assert form.lot.value == "THEIR-LOT"  # conflict: the newer version's value shown
    assert form.notes.value == "their note"  # only they changed it
    assert form.dissociation_note.value == "my note"  # only this form did: re-applied
    assert form.reason.value == "my fix"
    notice = form.reload_notice.value
    assert form.reload_notice.layout.display is None
    assert "re-applied to: dissociation_note" in notice
    assert "lot_number" in notice and "MY-LOT" in notice and "THEIR-LOT" in notice
    assert form.reload_button.layout.display == "none" and form.errors.value == ""
    assert len(dosing_session_history(app.store, loaded.record_id)) == before

    form._on_save()
    newest = dosing_session_history(app.store, loaded.record_id)[-1]
    assert (newest.version, newest.author) == (loaded.version + 2, "dr-test")
    assert newest.reason == "my fix"
    assert (newest.session.lot_number, newest.session.notes) == ("THEIR-LOT", "their note")
    assert newest.session.dissociation_note == "my note"
    assert form.reload_notice.layout.display == "none"


def test_a_stale_plan_save_offers_a_reload_and_keeps_the_unsaved_plan(app: PlannerApp) -> None:
    """A plan saved by someone else meanwhile: saving is refused naming both versions,
    with a reload button; reloading keeps the unsaved plan in the form and shows the
    newer version beside it; saving then makes a correction of the newer version."""
    _arrive(app, "?patient=SYN-0001")
    base = app.saved
    assert base is not None and app.reload_button.layout.display == "none"
    _plan_new(app)
    mine = app.plan
    assert mine is not None and mine != base.plan
    other = app.store.as_identity(Identity("dr-other", Role.CLINICIAN))
    save_plan(
        other,
        base.plan,
        record_id=base.record_id,
        reason="reviewed with the patient",
        based_on_version=base.version,
    )
    app._on_save()
    assert f"version {base.version + 1} was saved meanwhile by dr-other" in app.save_error.value
    assert app.reload_button.layout.display is None
    assert load_latest_plan(app.store, "SYN-0001").version == base.version + 1  # not saved

    app.reload_button.click()
    assert app.saved is not None and app.saved.version == base.version + 1
    assert app.plan == mine  # the unsaved plan is kept
    notice = app.reload_notice.value
    assert f"Reloaded version {base.version + 1}" in notice and "dr-other" in notice
    assert "reviewed with the patient" in notice and "your plan (not saved)" in notice
    assert f"{mine.start:%d %b %Y}" in notice and f"{base.plan.start:%d %b %Y}" in notice
    assert app.reload_button.layout.display == "none" and app.save_error.value == ""

    app._on_save()
    newest = load_latest_plan(app.store, "SYN-0001")
    assert newest is not None and newest.version == base.version + 2
    assert newest.plan == mine and newest.author == "dr-test"
    assert app.reload_notice.layout.display == "none"


def test_reapply_edits_merges_field_by_field() -> None:
    base = {"a": 1, "b": 1, "c": 1, "d": 1}
    mine = {"a": 2, "b": 1, "c": 3, "d": 5}
    theirs = {"a": 1, "b": 4, "c": 3, "d": 6}
    result = reapply_edits(base, mine, theirs)
    assert result.values == {"a": 2, "b": 4, "c": 3, "d": 6}
    assert result.applied == ("a",) and result.conflicts == (("d", 5, 6),)


def test_rems_forms_due_are_listed_for_esketamine_sessions(app: PlannerApp) -> None:
    """An unfiled esketamine session over a week old is listed as overdue, with missing fields."""
    _arrive(app, "?patient=SYN-0002")
    assert not any(s.session.needs_rems_form for s in app.state.sessions)
    assert "has none" in app.rems.value
    app.route.value = "esketamine_nasal"
    _plan_new(app, start=dt.date(2026, 11, 9))
    assert app.plan.doses[0].dose.devices == 2
    _open_dose(app, 1)
    assert app.form.rems_box.layout.display is None
    _bp(_row(app, "pre_dose"), 128, 80)
    app.form._on_save()
    assert "kap-ok" in app.form.errors._dom_classes
    due = rems_forms_due(list(app.state.sessions), TODAY, PROTOCOL)
    assert [f.status for f in due] == [RemsFormStatus.OVERDUE]
    assert "lot_number" in due[0].missing
    assert app.rems.value == app.view.rems_html and "kap-rems-overdue" in app.rems.value
    # the printable REMS form is downloaded through the kernel, audit-logged first
    page = _link(app.form.rems_download, "kap-sf-rems-link").decode()
    assert "REMS" in page and "SYN-0002" in page
    row = app.store.audit_entries("SYN-0002")[-1]
    assert (row.action, row.who, row.kind) == ("download", "dr-test", "dosing_session")
    assert row.detail.startswith("rems-monitoring-form-SYN-0002-") and " v1)" in row.detail


def test_session_kinds_of_a_plan_all_reach_the_timeline(app: PlannerApp) -> None:
    """The timeline spec has one trace per session kind on the plan, doses labelled D1..D6."""
    from kaptools.ui.planner import plan_timeline_spec

    _arrive(app, "?patient=SYN-0001")
    _plan_new(app)
    spec = plan_timeline_spec(app.plan, as_of=TODAY)
    names = [t["name"] for t in spec["data"]]
    assert set(names) >= {"Preparation", "Dosing", "Integration", "Measures"}
    dosing = spec["data"][names.index("Dosing")]
    assert dosing["text"] == [f"D{i}" for i in range(1, 7)]
    assert len(app.plan.of_kind(SessionKind.DOSING)) == 6


def test_typed_closure_reasons_are_escaped_everywhere(app: PlannerApp) -> None:
    """A closure reason with markup is shown as text in the summary and on the timeline."""
    from kaptools.ui.planner import plan_timeline_spec

    _arrive(app, "?patient=SYN-0001")
    _plan_new(app)
    app.closures.value = "2026-12-10 <img src=x onerror=alert(1)>"
    app._on_calendar()
    assert app.plan.calendar.closures[0].reason.startswith("<img")
    assert "<img" not in app.plan_summary.value and "&lt;img" in app.plan_summary.value
    texts = [a["text"] for a in plan_timeline_spec(app.plan)["layout"]["annotations"]]
    assert any("&lt;img" in t for t in texts) and not any("<img" in t for t in texts)


def _tue_thu(app: PlannerApp) -> None:
    app.route.value = "esketamine_nasal"
    app.country.value = ""
    for b, on in zip(app.weekdays, [0, 1, 0, 1, 0, 0, 0], strict=True):
        b.value = bool(on)
    app.closures.value = ""
    app.start.value = START


def test_deviation_is_shown_and_saving_asks_for_the_acknowledgement(app: PlannerApp) -> None:
    """Tue/Thu esketamine: the deviation shows; save refuses without a reason, then saves it."""
    _arrive(app, "?patient=SYN-0002")
    _tue_thu(app)
    app._on_plan()
    assert app.plan is not None and app.plan.deviations and not app.plan.meets_protocol
    assert any("7 weeks instead of 4" in d.message for d in app.plan.deviations)
    assert app.view.ack_shown
    assert app.plan.deviations_html() in app.plan_summary.value  # the plan's own HTML
    assert app.ack_reason.layout.display is None
    before = _audit(app)
    app._on_save()
    assert "acknowledge" in app.save_error.value.lower()
    assert _audit(app) == before  # nothing written
    app.ack_reason.value = "Patient can only come on Tuesdays and Thursdays: agreed with her"
    app._on_save()
    saved = load_latest_plan(app.store, "SYN-0002")
    assert saved is not None and saved.plan.acknowledgement is not None
    assert "Acknowledged by dr-test" in app.plan_summary.value
    assert app.ack_reason.layout.display == "none"


def test_video_integration_makes_the_deviation_disappear(app: PlannerApp) -> None:
    """Switching integration to video (therapist Monday to Friday) keeps the rhythm."""
    _arrive(app, "?patient=SYN-0002")
    _tue_thu(app)
    app._on_plan()
    assert app.plan is not None and app.plan.deviations
    app.video.value = True
    app._on_plan()
    assert app.plan.deviations == ()
    assert "kap-deviations" not in app.plan_summary.value
    assert "Meets the protocol" in app.plan_summary.value
    assert "(video)" in app.table.value
    assert plan_violations(app.plan, PROTOCOL) == []


def test_missed_dose_with_worsening_is_the_clinicians_choice_on_the_page(app: PlannerApp) -> None:
    """'Symptoms worsened' on an IV session is refused naming the rule; the plan is kept."""
    _arrive(app, "?patient=SYN-0001")  # an IV course with past sessions
    assert app.plan is not None and app.miss_which.options
    revision = app.plan.revision
    app.worsened.value = True
    app._on_missed()
    assert "symptoms_worsened" in app.replan_error.value
    assert app.plan.revision == revision


# ---- named course templates (the esketamine label's MDSI schedule) -------------------------


def test_the_mdsi_schedule_is_offered_for_esketamine_only_with_its_label_notes(
    app: PlannerApp,
) -> None:
    """The course choice lists the protocol's named templates of the chosen route (the
    label's MDSI schedule for esketamine) and is hidden for a route that has none; choosing
    it shows the template's label notes and source from the protocol."""
    _arrive(app, "?patient=SYN-0002")
    app.route.value = "iv_ketamine"
    assert app.course_row.layout.display == "none"
    assert [v for _, v in app.course.options] == [""]
    app.route.value = "esketamine_nasal"
    assert app.course_row.layout.display is None
    assert [v for _, v in app.course.options] == ["", "esketamine_mdsi"]
    mdsi = PROTOCOL.courses.template("esketamine_mdsi")
    assert mdsi.label in dict(app.course.options)
    assert app.course_notes.value == ""
    app.course.value = "esketamine_mdsi"
    for note in mdsi.notes:
        assert html.escape(note) in app.course_notes.value
    assert html.escape(mdsi.source) in app.course_notes.value
    app.route.value = "im_ketamine"  # another route: back to its own course, notes gone
    assert app.course.value == "" and app.course_notes.value == ""


def test_planning_with_the_mdsi_schedule_gives_84_mg_twice_weekly_for_4_weeks(
    app: PlannerApp,
) -> None:
    """The MDSI choice plans 8 esketamine doses of 84 mg in 4 weeks, no maintenance, with
    the label's notes on the plan; saved and reloaded, the choice is shown again."""
    _arrive(app, "?patient=SYN-0002")
    app.route.value = "esketamine_nasal"
    app.course.value = "esketamine_mdsi"
    _plan_new(app)
    plan = app.plan
    assert plan is not None and plan.options.template == "esketamine_mdsi"
    assert [d.dose.mg for d in plan.doses] == [84.0] * 8
    assert {d.phase.value for d in plan.doses} == {"induction"}
    assert (plan.doses[-1].date - plan.doses[0].date).days < 28
    assert plan_violations(plan, PROTOCOL) == []
    mdsi = PROTOCOL.courses.template("esketamine_mdsi")
    assert html.escape(mdsi.notes[0]) in app.plan_summary.value
    app._on_save()
    app.picker.value = "SYN-0001"
    app.course.value = ""
    app.picker.value = "SYN-0002"
    assert app.plan is not None and app.plan.options.template == "esketamine_mdsi"
    assert app.route.value == "esketamine_nasal" and app.course.value == "esketamine_mdsi"


def test_the_mdsi_schedule_is_not_offered_when_esketamine_is_not() -> None:
    """Only where the protocol allows: a screening whose criteria esketamine does not meet
    (here a protocol making hyperthyroidism an esketamine exclusion) offers neither the
    route nor its MDSI schedule; the racemic routes stay, without a course choice."""
    protocol = PROTOCOL.with_changes(
        {"screening.rules.hyperthyroidism.route_severity": {"esketamine_nasal": "exclusion"}}
    )
    store = Store.in_memory(identity=Identity("dr-test", Role.CLINICIAN))
    build_demo_database(store, n=8)
    app = PlannerApp(store, protocol, defer=True, author="dr-test", today=TODAY)
    _arrive(app, "?patient=SYN-0002")
    assert "esketamine_mdsi" in [v for _, v in _with_route(app, "esketamine_nasal")]
    saved = app.screening
    assert saved is not None
    history = saved.record.history.model_dump() | {"hyperthyroidism": "yes"}
    record = saved.record.model_copy(
        update={"history": saved.record.history.model_validate(history)}
    )
    result = screen(record, protocol=protocol)
    met = [r.value for r in result.routes_meeting_criteria]
    assert met and "esketamine_nasal" not in met
    save_screening(store, "SYN-0002", record, result, "dr-test")
    app._load()
    assert app.plannable
    assert [v for _, v in app.route.options] == met
    assert "esketamine_mdsi" not in [v for _, v in app.course.options]
    assert app.course_row.layout.display == "none"


def _with_route(app: PlannerApp, route: str) -> list[tuple[str, str]]:
    app.route.value = route
    return list(app.course.options)


# ---- the one state and its pure view (issue 11 item 2; issue 14's incremental render) ------


def test_a_deferred_app_derives_a_loading_page_from_its_state(app: PlannerApp) -> None:
    """Before the URL arrives the state is not loaded and the view shows nothing of a patient."""
    assert app.state.loaded is False and app.state.patient_id is None
    view = derive_view(app.state, PROTOCOL)
    assert view == app.view
    assert not view.controls_shown and not view.plan_shown and view.timeline is None
    assert "kap-loading" in view.screening_html


def test_the_view_is_a_pure_function_of_the_state(app: PlannerApp) -> None:
    """The same state gives an equal view, computed without the app's widgets."""
    _arrive(app, "?patient=SYN-0001")
    first = derive_view(app.state, PROTOCOL)
    assert first == derive_view(app.state, PROTOCOL) == app.view
    assert first.plan_shown and first.timeline is not None
    assert [label for label, _ in first.session_options][-1].startswith("New session record")


def test_the_state_holds_the_gate_and_no_plan_for_a_not_eligible_patient(app: PlannerApp) -> None:
    """SYN-0008's latest screening excludes: the state carries the planner's gate, the view
    hides the controls, and a saved plan is not the plan on show."""
    _arrive(app, "?patient=SYN-0008")
    state = app.state
    assert state.latest is not None and state.latest.result.status.value == "not_eligible"
    assert state.gate is not None and not state.plannable and state.plan is None
    assert not app.view.controls_shown and not app.view.plan_shown


def test_a_replan_records_what_it_moved_in_the_state(app: PlannerApp) -> None:
    """Moving dose 2 makes a new state: the re-plan as the plan, CoursePlan.diff as changed,
    the move and miss lists derived from it; the old state is untouched (frozen)."""
    _arrive(app, "?patient=SYN-0001")
    _plan_new(app)
    before = app.state
    i = _index_of_dose(app, 2)
    app.move_which.value = i
    app.move_date.value = before.plan.session(i).date + dt.timedelta(days=1)
    app._on_move()
    after = app.state
    assert after is not before and before.changed == frozenset()
    assert after.plan.revision == before.plan.revision + 1
    assert after.changed == before.plan.diff(after.plan) and i in after.changed
    assert app.view.move_options == tuple(
        (f"#{s.index} {s.label} ({s.date:%a %d %b})", s.index)
        for s in after.plan.sessions
        if s.status is SessionStatus.PLANNED and s.date >= after.as_of
    )


def test_the_table_is_drawn_before_the_timeline_and_an_unchanged_state_redraws_nothing(
    app: PlannerApp, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A new plan updates the table first, then draws the timeline once; rendering the same
    state again changes no widget and draws no timeline (only what changed is re-rendered)."""
    import kaptools.ui.planner.app as planner_app

    order: list[str] = []
    monkeypatch.setattr(planner_app, "show_figure", lambda out, spec: order.append("timeline"))
    app.table.observe(lambda _c: order.append("table"), names="value")
    _arrive(app, "?patient=SYN-0002")
    _plan_new(app)
    assert order[-2:] == ["table", "timeline"]
    seen = len(order)
    app.set_state(app.state)
    assert len(order) == seen


def test_exports_are_built_only_when_downloaded(
    app: PlannerApp, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Planning and re-planning build no .ics or CSV; a download builds its file once."""
    import kaptools.ui.planner.report as report

    built: list[str] = []
    real_ics = report.plan_to_ics
    monkeypatch.setattr(report, "plan_to_ics", lambda plan: built.append("ics") or real_ics(plan))
    monkeypatch.setattr(report, "plan_to_csv", lambda plan: built.append("csv") or "")
    _arrive(app, "?patient=SYN-0001")
    _plan_new(app)
    app.closures.value = "2026-12-10 staff training"
    app._on_calendar()
    assert app.state.plan.revision == 2 and built == []
    assert Calendar.from_ical(_link(app.downloads, "kap-download-ics")).walk("VEVENT")
    assert built == ["ics"]


def test_offered_routes_follow_the_protocol_and_the_screening(app: PlannerApp) -> None:
    """The route list is the domain's offered_routes: templates the protocol has, narrowed
    to the routes whose screening criteria are met."""
    _arrive(app, "?patient=SYN-0002")
    screening = app.state.latest.result
    assert [v for _, v in app.route.options] == [
        r.value for r in offered_routes(PROTOCOL, screening)
    ]
    assert set(offered_routes(PROTOCOL, screening)) <= set(offered_routes(PROTOCOL))


def test_the_summary_shows_the_plans_own_html_rendered_once(app: PlannerApp) -> None:
    """The cautions, deviations and verdict on the page are the plan's own HTML (the same
    the plan shows in a notebook), the first dose the DoseCalculation's."""
    _arrive(app, "?patient=SYN-0004")  # eligible with cautions
    _tue_thu(app)  # and a deviation
    app._on_plan()
    plan = app.plan
    assert plan is not None and plan.cautions and plan.deviations
    summary = app.plan_summary.value
    assert plan.cautions_html() in summary and plan.cautions_html() in plan._repr_html_()
    assert plan.deviations_html() in summary and plan.deviations_html() in plan._repr_html_()
    assert plan.doses[0].dose._repr_html_() in summary


def test_a_replan_renders_the_page_once(app: PlannerApp) -> None:
    """A move is one new state and one render (DashboardApp's one update path)."""
    _arrive(app, "?patient=SYN-0001")
    _plan_new(app)
    before = app.renders
    i = _index_of_dose(app, 3)
    app.move_which.value = i
    app.move_date.value = app.plan.session(i).date + dt.timedelta(days=1)
    app._on_move()
    assert app.state.plan.revision == 2 and app.renders == before + 1
