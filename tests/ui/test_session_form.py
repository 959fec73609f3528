"""The dosing-session form on its own: its state; the flags and checks derived from the entries."""

from __future__ import annotations

import datetime as dt

import pytest

from kaptools.demo import build_demo_database
from kaptools.errors import InvalidInputError
from kaptools.identity import Identity, Role
from kaptools.protocol import default_protocol
from kaptools.scheduling import calculate_dose
from kaptools.sessions import (
    GoStatus,
    VitalsTimepoint,
    dosing_session_history,
    dosing_sessions,
    vitals_slots,
)
from kaptools.store import Store
from kaptools.ui.session_form import (
    SessionForm,
    SessionFormState,
    derive_checks,
    derive_vitals,
)

PROTOCOL = default_protocol()
DAY = dt.date(2026, 12, 7)


@pytest.fixture
def form() -> SessionForm:
    store = Store.in_memory(identity=Identity("dr-test", Role.CLINICIAN))
    build_demo_database(store, n=3)
    return SessionForm(store, PROTOCOL)


def _row(form: SessionForm, point: str, n: int = 0):
    return [r for r in form.rows if r.point.value == point][n]


def _bp(row, systolic: int | str, diastolic: int | str) -> None:
    row.systolic.value, row.diastolic.value = str(systolic), str(diastolic)


def _pre_dose(form: SessionForm, systolic: int, diastolic: int) -> None:
    """Pre-dose answers and readings (C-SSRS asked, all no; not pregnant; not intoxicated)."""
    form.cssrs_asked.answer = "asked"
    form.pregnant.answer = False
    form.intoxicated.answer = False
    pre = _row(form, "pre_dose")
    _bp(pre, systolic, diastolic)
    pre.heart_rate.value, pre.spo2.value = "72", "98"


def test_a_closed_form_holds_no_session(form: SessionForm) -> None:
    """Built, the form is hidden and its state names no patient or record."""
    assert form.state == SessionFormState()
    assert form.container.layout.display == "none"


def test_opening_a_new_session_sets_the_state_and_the_protocols_rows(form: SessionForm) -> None:
    """A new IV session: the state holds the patient, the planned dose and the label; one
    row per reading the protocol asks for (vitals_slots) plus a spare; nothing flagged."""
    dose = calculate_dose("iv_ketamine", weight_kg=70, protocol=PROTOCOL)
    form.open("SYN-0001", "iv_ketamine", DAY, planned_dose=dose, label="Dose 1 of 6")
    state = form.state
    assert (state.patient_id, state.record_id, state.saved) == ("SYN-0001", None, None)
    assert state.planned_dose == dose and form.planned_dose_mg == dose.mg
    assert state.shown and form.container.layout.display is None
    assert "Dose 1 of 6: new record" in form.heading.value
    slots = vitals_slots("iv_ketamine", (), PROTOCOL)
    assert [(r.point, r.minutes.value) for r in form.rows] == [
        (s.timepoint, "" if s.minutes_after_dose is None else str(s.minutes_after_dose))
        for s in slots
    ]
    assert form.vitals_view.flags == () and not form.vitals_view.entered
    assert form.checks.decision is not None
    assert form.checks.decision.status is GoStatus.HOLD and form.checks.decision.missing


def test_a_stored_session_is_opened_as_a_correction_of_its_version(form: SessionForm) -> None:
    """A demo session opened for correction: the state holds its record and version, its
    readings are back in the rows the domain puts them in, and the values read back."""
    saved = dosing_sessions(form.store, "SYN-0001")[0]
    form.open("SYN-0001", saved.session.route.value, None, saved=saved)
    assert form.state.record_id == saved.record_id and form.state.saved == saved
    assert f"version {saved.version}" in form.heading.value
    filled = [r.reading() for r in form.rows if r.measured()]
    expected = [
        s.reading
        for s in vitals_slots(saved.session.route.value, saved.session.vitals, PROTOCOL)
        if s.reading is not None
    ]
    assert filled == expected
    assert form.state.loaded == form.values()


def test_readings_are_flagged_as_they_are_typed(form: SessionForm) -> None:
    """Pre-dose 150/95 is for review and marks its row; 400 mmHg cannot be read and says so."""
    form.open("SYN-0001", "iv_ketamine", DAY)
    _bp(_row(form, "pre_dose"), 150, 95)
    view = form.vitals_view
    assert view.flags and {f.level.value for f in view.flags} == {"review"}
    assert {f.timepoint for f in view.flags} == {VitalsTimepoint.PRE_DOSE}
    assert "kap-vitals-review" in _row(form, "pre_dose").box._dom_classes
    _bp(_row(form, "post_dose"), 400, 90)
    assert form.vitals_view.problems and "400" in form.vitals_view.problems[0]


def test_a_pre_dose_hold_is_overridden_in_the_signed_in_clinicians_name(
    form: SessionForm,
) -> None:
    """185/115 before the dose holds it: the checks say hold and offer the override; the
    override (a written reason) goes into the state, by the signed-in clinician, and
    into the values saved."""
    form.open("SYN-0001", "iv_ketamine", DAY)
    _pre_dose(form, 185, 115)
    checks = form.checks
    assert checks.decision is not None and checks.decision.status is GoStatus.HOLD
    assert checks.hold and form.override_box.layout.display is None
    form.override_reason.value = "Hypertension reviewed with the anaesthetist"
    form._on_override()
    override = form.state.override
    assert override is not None and override.clinician == "dr-test"
    assert override.reason == "Hypertension reviewed with the anaesthetist"
    assert form.values()["hold_override"]["clinician"] == "dr-test"


def test_an_override_without_a_hold_is_refused_and_the_state_keeps_none(
    form: SessionForm,
) -> None:
    """Pre-dose 120/80 is a go: there is nothing to override; the state has no override."""
    form.open("SYN-0001", "iv_ketamine", DAY)
    _pre_dose(form, 120, 80)
    assert form.checks.decision.status is GoStatus.GO and not form.checks.hold
    form._on_override()
    assert form.state.override is None and "no hold to override" in form.errors.value


def test_the_rems_form_is_offered_for_outpatient_esketamine_only(form: SessionForm) -> None:
    """Esketamine outpatient: the checks carry the REMS form's file; inpatient or IV: none."""
    form.open("SYN-0001", "esketamine_nasal", DAY)
    assert form.checks.rems_file is not None and form.rems_box.layout.display is None
    form.setting.value = "inpatient"
    assert form.checks.rems_file is None and form.rems_box.layout.display == "none"
    form.route.value = "iv_ketamine"
    assert form.checks.rems_file is None


def test_changing_the_route_keeps_the_readings_typed(form: SessionForm) -> None:
    """From IV to IM: the rows follow the new route's schedule; the pre-dose reading stays."""
    form.open("SYN-0001", "iv_ketamine", DAY)
    _bp(_row(form, "pre_dose"), 128, 80)
    form.route.value = "im_ketamine"
    assert [r.point for r in form.rows if r.point is VitalsTimepoint.DURING] == []
    pre = _row(form, "pre_dose")
    assert (pre.systolic.value, pre.diastolic.value) == ("128", "80")


def test_saving_moves_the_state_to_the_saved_version(form: SessionForm) -> None:
    """A save makes the saved record the state's (record id, version 1, values as loaded);
    closing hides the form."""
    form.open("SYN-0001", "iv_ketamine", DAY)
    _bp(_row(form, "pre_dose"), 128, 80)
    form._on_save()
    state = form.state
    assert state.record_id is not None and state.saved is not None
    assert (
        state.saved.version == 1 == dosing_session_history(form.store, state.record_id)[-1].version
    )
    assert state.loaded == form.values()
    form.close()
    assert not form.state.shown and form.container.layout.display == "none"


def test_the_checks_are_pure_and_wait_for_a_readable_form(form: SessionForm) -> None:
    """derive_checks of an error says why the checks wait; of a session, the domain's
    decision; derive_vitals of nothing entered is empty."""
    waiting = derive_checks(InvalidInputError("started_at: '25:00' is not a time"), PROTOCOL)
    assert waiting.decision is None and "25:00" in waiting.go_html and not waiting.hold
    form.open("SYN-0001", "iv_ketamine", DAY)
    _pre_dose(form, 120, 80)
    session = form.session()
    assert derive_checks(session, PROTOCOL) == derive_checks(session, PROTOCOL)
    assert derive_checks(session, PROTOCOL).decision == session.go_no_go(PROTOCOL)
    assert derive_vitals([], (None, None), PROTOCOL).html.startswith("<p class='kap-muted'>")
