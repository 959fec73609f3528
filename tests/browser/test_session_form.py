"""The dosing-session form in a real browser: go / no-go with override, discharge readiness."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import replace

import pytest
from playwright.sync_api import Locator, Page, expect

from kaptools.identity import Identity, Role
from kaptools.sessions import (
    GoStatus,
    dosing_session_history,
    dosing_sessions,
    hold_overrides,
    save_dosing_session,
)
from kaptools.store import Store
from tests.browser.widgets import select_matching

pytestmark = pytest.mark.browser
TIMEOUT = 60_000
HELD = "SYN-0005"  # IM course; written to by the hold test
DISCHARGED = "SYN-0011"  # IV course; written to by the discharge test
STALE = "SYN-0008"  # its first recorded dose is corrected twice at once by the reload test


def _type(scope: Locator, css: str, value: str) -> None:
    box = scope.locator(f"{css} input").first
    box.fill(value)
    box.press("Tab")


def _open_first_dose(page: Page, base: str, patient: str, route: str) -> Locator:
    """Plan a new course for ``patient`` and open its first dose in the session form."""
    page.set_default_timeout(TIMEOUT)  # many widget round trips on a shared, loaded machine
    page.goto(f"{base}/voila/render/planner.ipynb?patient={patient}", timeout=TIMEOUT)
    expect(page.locator(".kap-screening-box .kap-screening")).to_be_visible(timeout=TIMEOUT)
    start = dt.date.today() + dt.timedelta(days=14)
    start += dt.timedelta(days=7 - start.weekday())
    select_matching(page, ".kap-route", route)
    select_matching(page, ".kap-country", r"^none")
    box = page.locator(".kap-start-date input")
    box.fill(start.isoformat())
    box.press("Tab")
    page.locator(".kap-plan-button").click()
    expect(page.locator(".kap-plan-summary")).to_contain_text(f"{start:%d %b}", timeout=TIMEOUT)
    # The table is redrawn after the summary: wait for the new plan's first session (the
    # first preparation, on the Monday start) before reading its first dose's day.
    expect(page.locator(".kap-plan-table")).to_contain_text(
        f"{start:%a %d %b %Y}", timeout=TIMEOUT
    )
    first = page.locator(".kap-plan-table tr.kap-kind-dosing").first.locator("td").nth(1)
    day = first.inner_text().strip()
    # Wait until the session list holds the new plan's dose 1 (it is redrawn after the table).
    pattern = re.escape(day).replace(r"\ ", r"\s") + r":\sDose\s1\sof\s6"
    expect(page.locator(".kap-session-pick select")).to_contain_text(
        re.compile(pattern), timeout=TIMEOUT
    )
    select_matching(page, ".kap-session-pick", pattern)
    page.locator(".kap-open-session").click()
    form = page.locator(".kap-session-form")
    expect(form).to_be_visible(timeout=TIMEOUT)
    return form


def _planned_mg(form: Locator) -> str:
    text = form.locator(".kap-sf-planned-dose").inner_text()
    m = re.search(r"Planned dose: ([\d.]+) mg", text)
    assert m, text
    return m.group(1)


def _pre_dose(form: Locator, sys: int, dia: int) -> None:
    pre = form.locator(".kap-vitals-pre-dose")
    for css, value in (
        (".kap-v-sys", sys),
        (".kap-v-dia", dia),
        (".kap-v-hr", 72),
        (".kap-v-spo2", 98),
    ):
        _type(pre, css, str(value))
    select_matching(form, ".kap-sf-cssrs-asked", r"^asked")
    select_matching(form, ".kap-sf-pregnant", r"^no$")
    select_matching(form, ".kap-sf-intoxicated", r"^no$")


def test_pre_dose_185_115_holds_and_the_dose_needs_an_override_reason(
    page: Page, voila_server: str, demo_database: str
) -> None:
    """185/115 before the dose shows HOLD; saving the dose is refused until a clinician
    overrides with a written reason; the override is its own record and the hold stays."""
    form = _open_first_dose(page, voila_server, HELD, r"IM racemic")
    _pre_dose(form, 185, 115)
    go = form.locator(".kap-sf-go")
    expect(go.locator(".kap-go-status-hold")).to_contain_text("HOLD", timeout=TIMEOUT)
    expect(go).to_contain_text("185 mmHg", timeout=TIMEOUT)
    expect(form.locator(".kap-sf-override-box")).to_be_visible(timeout=TIMEOUT)

    store = Store(demo_database)
    before = len(dosing_sessions(store, HELD))
    _type(form, ".kap-sf-start", "09:30")
    _type(form, ".kap-sf-dose", _planned_mg(form))
    form.locator(".kap-sf-save").click()
    error = form.locator(".kap-error").last
    expect(error).to_contain_text("cannot be recorded as given under a hold", timeout=TIMEOUT)
    assert len(dosing_sessions(store, HELD)) == before

    # An override without a real reason is refused, naming the field.
    # the overriding clinician is the signed-in person, shown and not typed
    expect(form.locator(".kap-sf-override-clinician input")).to_be_disabled()
    expect(form.locator(".kap-sf-override-clinician input")).to_have_value("browser-test")
    _type(form, ".kap-sf-override-reason", "ok")
    form.locator(".kap-sf-override").click()
    expect(form.locator(".kap-error").last).to_contain_text("hold_override.reason", timeout=TIMEOUT)
    _type(form, ".kap-sf-override-reason", "Recheck 176/104 after rest; benefit outweighs risk")
    form.locator(".kap-sf-override").click()
    expect(form.locator(".kap-ok").last).to_contain_text("Hold overridden", timeout=TIMEOUT)
    expect(go).to_contain_text("overridden by browser-test", timeout=TIMEOUT)
    form.locator(".kap-sf-save").click()
    expect(form.locator(".kap-ok").last).to_contain_text("Saved version 1", timeout=TIMEOUT)

    saved = dosing_sessions(store, HELD)
    assert len(saved) == before + 1
    session = saved[-1].session
    assert session.go_no_go().status is GoStatus.HOLD and session.go_no_go().overridden
    (override,) = [
        o for o in hold_overrides(store, HELD) if o.payload["clinician"] == "browser-test"
    ]
    assert override.payload["session_record_id"] == saved[-1].record_id


def test_session_is_not_dischargeable_until_the_recovery_criteria_are_met(
    page: Page, voila_server: str, demo_database: str
) -> None:
    """A pressure still climbing and MOAA/S 4 keep 'not ready' and refuse completion;
    once the numbers recover the form says ready and the session completes."""
    form = _open_first_dose(page, voila_server, DISCHARGED, r"IV racemic")
    _pre_dose(form, 128, 80)
    expect(form.locator(".kap-go-status-go")).to_be_visible(timeout=TIMEOUT)
    for css, value in (
        (".kap-sf-start", "09:30"),
        (".kap-sf-dose-end", "10:10"),
        (".kap-sf-end", "11:30"),
        (".kap-sf-discharge", "11:40"),
        (".kap-sf-dose", _planned_mg(form)),
        (".kap-sf-lot", "SYN-LOT-1"),
    ):
        _type(form, css, value)
    rows = {
        ".kap-vitals-during": [(134, 84), (138, 86)],
        ".kap-vitals-post-dose": [(142, 88)],
        ".kap-vitals-pre-discharge": [(150, 90)],  # still climbing
    }
    for css, values in rows.items():
        for i, (s, d) in enumerate(values):
            row = form.locator(css).nth(i)
            _type(row, ".kap-v-sys", str(s))
            _type(row, ".kap-v-dia", str(d))
            _type(row, ".kap-v-spo2", "97")
    _type(form.locator(".kap-vitals-pre-discharge"), ".kap-v-minutes", "120")
    select_matching(form, ".kap-sf-moaas", r"^3$")
    _type(form, ".kap-sf-sedation-end-minutes", "120")
    select_matching(form, ".kap-sf-moaas-end", r"^4$")
    for i in range(6):
        select_matching(form, ".kap-sf-cadss-pre", r"^0$", nth=i)
        select_matching(form, ".kap-sf-cadss", r"^1$", nth=i)
        select_matching(form, ".kap-sf-cadss-end", r"^0$", nth=i)
    _type(form, ".kap-sf-dissociation-end-minutes", "120")
    select_matching(form, ".kap-se-asked", r"^asked")
    select_matching(form, ".kap-sf-discharge-escort-home", r"^yes$")
    select_matching(form, ".kap-sf-discharge-no-driving-until-next-day", r"^yes$")

    readiness = form.locator(".kap-sf-readiness")
    expect(readiness.locator(".kap-discharge-not-ready")).to_be_visible(timeout=TIMEOUT)
    expect(readiness).to_contain_text("rising", timeout=TIMEOUT)
    expect(readiness).to_contain_text("MOAA/S 4", timeout=TIMEOUT)
    store = Store(demo_database)
    before = len(dosing_sessions(store, DISCHARGED))
    form.locator(".kap-sf-complete").click()
    expect(form.locator(".kap-error").last).to_contain_text("discharge criteria", timeout=TIMEOUT)
    assert len(dosing_sessions(store, DISCHARGED)) == before

    # The numbers recover: pressure falling, MOAA/S 5.
    row = form.locator(".kap-vitals-pre-discharge")
    _type(row, ".kap-v-sys", "130")
    _type(row, ".kap-v-dia", "82")
    select_matching(form, ".kap-sf-moaas-end", r"^5")
    expect(readiness.locator(".kap-discharge-ready")).to_contain_text(
        "Ready for discharge", timeout=TIMEOUT
    )
    form.locator(".kap-sf-complete").click()
    expect(form.locator(".kap-ok").last).to_contain_text("(complete)", timeout=TIMEOUT)
    assert dosing_sessions(store, DISCHARGED)[-1].session.status.value == "complete"


def test_a_stale_correction_is_reloaded_and_the_unsaved_edits_reapplied(
    page: Page, voila_server: str, demo_database: str
) -> None:
    """Open a recorded session; someone else saves a correction meanwhile; saving is
    refused with a reload button; reloading shows their version with this form's own
    edit re-applied and the conflicting one side by side; saving then succeeds."""
    page.set_default_timeout(TIMEOUT)
    page.goto(f"{voila_server}/voila/render/planner.ipynb?patient={STALE}", timeout=TIMEOUT)
    expect(page.locator(".kap-screening-box .kap-screening")).to_be_visible(timeout=TIMEOUT)
    select_matching(page, ".kap-session-pick", r"Dose 1 of 6 .*\[recorded\]")
    page.locator(".kap-open-session").click()
    form = page.locator(".kap-session-form")
    expect(form.locator(".kap-sf-heading")).to_contain_text("version 1", timeout=TIMEOUT)
    store = Store(demo_database)
    (saved,) = [
        s for s in dosing_sessions(store, STALE) if s.session.session_date == dt.date(2026, 9, 21)
    ]
    save_dosing_session(
        store.as_identity(Identity("dr-other", Role.CLINICIAN)),
        replace(saved.session, lot_number="THEIR-LOT"),
        record_id=saved.record_id,
        reason="lot number corrected",
        based_on_version=saved.version,
    )

    _type(form, ".kap-sf-lot", "MY-LOT")  # both change the lot number: a conflict
    notes = form.locator(".kap-sf-notes textarea")
    notes.fill("my note")  # only this form changes the notes
    notes.press("Tab")
    _type(form, ".kap-sf-reason", "my correction")
    form.locator(".kap-sf-save").click()
    expect(form.locator(".kap-error", has_text="saved meanwhile by dr-other")).to_be_visible()
    reload = form.locator(".kap-sf-reload")
    expect(reload).to_be_visible()
    assert len(dosing_session_history(store, saved.record_id)) == saved.version + 1

    reload.click()
    notice = form.locator(".kap-sf-reload-notice")
    expect(notice).to_contain_text("re-applied to: notes")
    expect(notice).to_contain_text("MY-LOT")
    expect(form.locator(".kap-sf-heading")).to_contain_text(f"version {saved.version + 1}")
    expect(form.locator(".kap-sf-lot input")).to_have_value("THEIR-LOT")
    expect(notes).to_have_value("my note")
    expect(form.locator(".kap-sf-reason input")).to_have_value("my correction")
    expect(reload).to_be_hidden()

    form.locator(".kap-sf-save").click()
    expect(form.locator(".kap-ok", has_text=f"Saved version {saved.version + 2}")).to_be_visible()
    newest = dosing_session_history(store, saved.record_id)[-1]
    assert (newest.version, newest.author) == (saved.version + 2, "browser-test")
    assert (newest.session.lot_number, newest.session.notes) == ("THEIR-LOT", "my note")
