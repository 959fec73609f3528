"""The course-planner dashboard in a real browser against a live Voilà server."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

import pytest
from icalendar import Calendar
from playwright.sync_api import Page, expect

from kaptools.sessions import dosing_sessions
from kaptools.store import Store
from tests.browser.widgets import select_matching

pytestmark = pytest.mark.browser
TIMEOUT = 60_000
PATIENT = "SYN-0007"  # written to by these tests; the trends tests read other patients


def open_planner(page: Page, base: str, patient: str) -> None:
    page.goto(f"{base}/voila/render/planner.ipynb?patient={patient}", timeout=TIMEOUT)
    expect(page.locator(".kap-screening-box .kap-screening")).to_be_visible(timeout=TIMEOUT)


def _fill_date(page: Page, css: str, day: dt.date) -> None:
    box = page.locator(f"{css} input")
    box.fill(day.isoformat())
    box.press("Tab")


def _choose_dose_to_move(page: Page, number: int) -> dt.date:
    """Pick dose ``number`` in the move list; wait for the date box to show its date."""
    row = page.locator(".kap-plan-table tr.kap-kind-dosing").nth(number - 1)
    day = dt.datetime.strptime(row.locator("td").nth(1).inner_text().strip(), "%a %d %b %Y").date()
    select_matching(page, ".kap-move-which", rf"Dose {number} of 6")
    expect(page.locator(".kap-move-date input")).to_have_value(day.isoformat(), timeout=TIMEOUT)
    return day


def _next_monday(after: dt.date) -> dt.date:
    return after + dt.timedelta(days=7 - after.weekday())


def _plan_course(page: Page) -> dt.date:
    """Plan an IV course from the Monday after next, Monday to Friday, no public holidays."""
    start = _next_monday(dt.date.today() + dt.timedelta(days=7))
    select_matching(page, ".kap-route", r"IV racemic")
    select_matching(page, ".kap-country", r"^none")
    for day in ("Sat", "Sun"):
        button = page.locator(".kap-weekday", has_text=day)
        if "mod-active" in (button.get_attribute("class") or ""):
            button.click()
    _fill_date(page, ".kap-start-date", start)
    page.locator(".kap-plan-button").click()
    expect(page.locator(".kap-plan-summary")).to_contain_text(f"{start:%d %b}", timeout=TIMEOUT)
    # The table is redrawn after the summary: wait for the new plan's first session (the
    # first preparation, on the Monday start) before anything reads it.
    expect(page.locator(".kap-plan-table")).to_contain_text(f"{start:%a %d %b %Y}", timeout=TIMEOUT)
    expect(page.locator(".kap-plan-timeline .js-plotly-plot")).to_be_visible(timeout=TIMEOUT)
    return start


def test_plan_move_record_and_download(page: Page, voila_server: str, demo_database: str) -> None:
    """Plan a course, move dose 2 and see the re-plan, flag a BP rise, download the .ics."""
    open_planner(page, voila_server, PATIENT)
    _plan_course(page)
    table = page.locator(".kap-plan-table")
    expect(table.locator("tr.kap-kind-dosing")).to_have_count(6)
    expect(table).to_contain_text("for clinician confirmation")
    expect(table).to_contain_text("mg/kg")

    # Move dose 2 one open day later: the plan is re-planned and the changes highlighted.
    moved_from = _choose_dose_to_move(page, 2)
    moved_to = moved_from + dt.timedelta(
        days=1 if moved_from.weekday() < 4 else 7 - moved_from.weekday()
    )
    _fill_date(page, ".kap-move-date", moved_to)
    page.locator(".kap-move-session").click()
    expect(page.locator(".kap-replan-error.kap-ok")).to_contain_text("revision 2", timeout=TIMEOUT)
    expect(page.locator(".kap-plan-summary")).to_contain_text("revision 2")
    dose2 = table.locator("tr.kap-kind-dosing").nth(1)
    expect(dose2).to_contain_text(f"{moved_to:%a %d %b %Y}")
    expect(dose2).to_have_class(re.compile(r"kap-changed"))

    # The .ics download parses and holds one event per session, dose 2 on its new day.
    with page.expect_download(timeout=TIMEOUT) as info:
        page.locator(".kap-download-ics").click()
    download = info.value
    assert download.suggested_filename.endswith(".ics")
    events = Calendar.from_ical(Path(download.path()).read_bytes()).walk("VEVENT")
    assert len(events) == table.locator("tbody tr").count()
    doses = {str(e["summary"]).split(" (")[0]: e.decoded("dtstart") for e in events}
    assert doses["Dose 2 of 6"] == moved_to
    # the file came through the kernel, which audit-logged the download first
    logged = [r for r in Store(demo_database).audit_entries(PATIENT) if r.action == "download"]
    assert logged and logged[-1].who == "browser-test" and logged[-1].kind == "course_plan"
    assert logged[-1].detail.startswith(download.suggested_filename)

    # Record dose 1 with a systolic rise of 45 mmHg: the protocol's flag shows.
    select_matching(page, ".kap-session-pick", r"Dose 1 of 6")
    page.locator(".kap-open-session").click()
    form = page.locator(".kap-session-form")
    expect(form).to_be_visible(timeout=TIMEOUT)
    pre, post = form.locator(".kap-vitals-pre-dose"), form.locator(".kap-vitals-post-dose")
    pre.locator(".kap-v-sys input").fill("130")
    pre.locator(".kap-v-dia input").fill("80")
    post.locator(".kap-v-sys input").fill("175")
    post.locator(".kap-v-dia input").fill("95")
    post.locator(".kap-v-dia input").press("Tab")
    flag = form.locator(".kap-vitals-flag.kap-flag-flag")
    expect(flag).to_contain_text("Systolic rose 45", timeout=TIMEOUT)
    expect(post).to_have_class(re.compile(r"kap-vitals-flagged"))
    before = len(dosing_sessions(Store(demo_database), PATIENT))
    form.locator(".kap-sf-save").click()
    expect(form.locator(".kap-ok")).to_contain_text("Saved version 1", timeout=TIMEOUT)
    assert len(dosing_sessions(Store(demo_database), PATIENT)) == before + 1


def test_moving_a_dose_onto_a_closed_day_names_the_rule(page: Page, voila_server: str) -> None:
    """A dose moved onto a Sunday gives an inline error naming the open_day rule."""
    open_planner(page, voila_server, PATIENT)
    _plan_course(page)
    day = _choose_dose_to_move(page, 3)
    _fill_date(page, ".kap-move-date", day + dt.timedelta(days=6 - day.weekday()))
    page.locator(".kap-move-session").click()
    error = page.locator(".kap-replan-error.kap-error")
    expect(error).to_contain_text("rule: open_day", timeout=TIMEOUT)
    expect(page.locator(".kap-plan-summary")).to_contain_text("revision 1")


def test_not_eligible_patient_gets_a_message_and_no_plan(page: Page, voila_server: str) -> None:
    """SYN-0012's latest screening excludes: a clear message, no plan controls or table."""
    open_planner(page, voila_server, "SYN-0012")
    message = page.locator(".kap-not-plannable")
    expect(message).to_be_visible()
    expect(message).to_contain_text(re.compile("no course can be planned", re.IGNORECASE))
    expect(page.locator(".kap-plan-controls")).to_be_hidden()
    expect(page.locator(".kap-plan-table")).to_be_hidden()


def test_tuesday_thursday_esketamine_deviation_goes_away_with_video(
    page: Page, voila_server: str
) -> None:
    """Esketamine on a Tue/Thu clinic shows the deviation; video integration removes it."""
    open_planner(page, voila_server, PATIENT)
    start = _next_monday(dt.date.today() + dt.timedelta(days=7))
    select_matching(page, ".kap-route", r"esketamine")
    select_matching(page, ".kap-country", r"^none")
    for day in ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"):
        button = page.locator(".kap-weekday", has_text=day)
        active = "mod-active" in (button.get_attribute("class") or "")
        if active != (day in ("Tue", "Thu")):
            button.click()
    expect(page.locator(".kap-weekday.mod-active")).to_have_count(2, timeout=TIMEOUT)
    _fill_date(page, ".kap-start-date", start)
    page.locator(".kap-plan-button").click()
    deviation = page.locator(".kap-plan-summary .kap-deviations")
    expect(deviation).to_contain_text("instead of 4 weeks", timeout=TIMEOUT)
    expect(page.locator(".kap-plan-summary")).not_to_contain_text("Meets the protocol")
    expect(page.locator(".kap-deviation-ack")).to_be_visible()

    page.locator(".kap-video input").check()
    page.locator(".kap-plan-button").click()
    expect(deviation).to_have_count(0, timeout=TIMEOUT)
    expect(page.locator(".kap-plan-summary .kap-verdict")).to_contain_text(
        "Meets the protocol's scheduling rules", timeout=TIMEOUT
    )
    expect(page.locator(".kap-plan-table")).to_contain_text("(video)")
    expect(page.locator(".kap-deviation-ack")).to_be_hidden()


def test_the_mdsi_schedule_is_chosen_with_its_label_notes(page: Page, voila_server: str) -> None:
    """Esketamine offers the label's MDSI schedule beside its own course, with the label's
    notes; planned with it, every dose is 84 mg; a racemic route offers no course choice."""
    open_planner(page, voila_server, PATIENT)
    start = _next_monday(dt.date.today() + dt.timedelta(days=7))
    select_matching(page, ".kap-route", r"esketamine")
    course = page.locator(".kap-course")
    expect(course).to_be_visible(timeout=TIMEOUT)
    select_matching(page, ".kap-course", r"suicidal ideation")
    notes = page.locator(".kap-course-notes")
    expect(notes).to_contain_text("84 mg twice weekly for 4 weeks", timeout=TIMEOUT)
    expect(notes).to_contain_text("oral antidepressant")
    select_matching(page, ".kap-country", r"^none")
    for day in ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"):
        button = page.locator(".kap-weekday", has_text=day)
        active = "mod-active" in (button.get_attribute("class") or "")
        if active != (day not in ("Sat", "Sun")):
            button.click()
    expect(page.locator(".kap-weekday.mod-active")).to_have_count(5, timeout=TIMEOUT)
    _fill_date(page, ".kap-start-date", start)
    page.locator(".kap-plan-button").click()
    summary = page.locator(".kap-plan-summary")
    expect(summary).to_contain_text("Label MDSI schedule", timeout=TIMEOUT)
    expect(summary).to_contain_text("acute suicidal ideation or behaviour")
    doses = page.locator(".kap-plan-table tr.kap-kind-dosing")
    expect(doses).to_have_count(8, timeout=TIMEOUT)
    expect(doses.filter(has_text="84 mg")).to_have_count(8, timeout=TIMEOUT)

    select_matching(page, ".kap-route", r"IV racemic")
    expect(course).to_be_hidden(timeout=TIMEOUT)
