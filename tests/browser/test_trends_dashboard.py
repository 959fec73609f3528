"""The symptom-trends dashboard in a real browser against a live Voilà server."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from kaptools.store import Store

pytestmark = pytest.mark.browser
TIMEOUT = 60_000


def open_trends(page: Page, base: str, patient: str | None = None) -> None:
    url = f"{base}/voila/render/trends.ipynb" + (f"?patient={patient}" if patient else "")
    page.goto(url, timeout=TIMEOUT)
    expect(
        page.locator(".kap-trend-chart .js-plotly-plot .scatterlayer .trace").first
    ).to_be_visible(timeout=TIMEOUT)


def picker(page: Page):
    return page.locator(".kap-patient-picker select")


def choose_patient(page: Page, patient_id: str) -> None:
    """ipywidgets' <select> carries labels as values: choose by the id in the label."""
    label = picker(page).locator("option", has_text=f"({patient_id})").text_content()
    picker(page).select_option(label=label)


def summary_text(page: Page) -> str:
    return page.locator(".kap-summary-table").inner_text()


def test_chart_renders_a_demo_patients_measures(page: Page, voila_server: str) -> None:
    """The chart draws each measure of the patient, with the summary and no crisis banner."""
    open_trends(page, voila_server, "SYN-0001")
    expect(picker(page)).to_have_value(re.compile(r"\(SYN-0001\)$"))
    text = summary_text(page)
    assert "Patient Health Questionnaire-9" in text and "Generalized Anxiety Disorder-7" in text
    # one subplot per measure, with the dosing sessions in the legend
    expect(page.locator(".kap-trend-chart .subplot")).to_have_count(2)
    expect(page.locator(".kap-trend-chart .legendtext", has_text="dosing session")).to_be_visible()
    expect(page.locator(".kap-crisis-banner")).to_be_hidden()
    expect(page.locator(".kap-side-effect-table tr")).to_have_count(7)


def test_switching_patient_updates_chart_and_summary(page: Page, voila_server: str) -> None:
    """Choosing another patient redraws the summary for that patient."""
    open_trends(page, voila_server, "SYN-0001")
    before = summary_text(page)
    choose_patient(page, "SYN-0002")
    expect(page.locator(".kap-summary-table")).not_to_have_text(before, timeout=TIMEOUT)
    # SYN-0002 has PTSD: a third measure appears
    expect(page.locator(".kap-trend-chart .subplot")).to_have_count(3, timeout=TIMEOUT)
    assert "PTSD Checklist" in summary_text(page)


def test_crisis_banner_shows_988_for_item_9_positive_patient(page: Page, voila_server: str) -> None:
    """A patient whose latest PHQ-9 item 9 is positive gets the 988 banner at the top."""
    open_trends(page, voila_server, "SYN-0003")
    banner = page.locator(".kap-crisis-banner")
    expect(banner).to_be_visible()
    expect(banner).to_contain_text("988")
    expect(banner).to_contain_text("C-SSRS")
    # the banner sits above the chart
    assert banner.bounding_box()["y"] < page.locator(".kap-trend-chart").bounding_box()["y"]


def _fill_phq9(page: Page, answers: list[int | None]) -> None:
    selects = page.locator(".kap-entry-item select")
    expect(selects).to_have_count(9)
    for i, a in enumerate(answers):
        if a is not None:
            label = selects.nth(i).locator("option", has_text=re.compile(rf"^{a}\s")).text_content()
            selects.nth(i).select_option(label=label)


def test_valid_assessment_is_saved_and_chart_updates(
    page: Page, voila_server: str, demo_database: str
) -> None:
    """A complete PHQ-9 is saved, the summary shows it as latest, and the database has it."""
    store = Store(demo_database)
    before = len(store.latest_records("assessment", "SYN-0004"))
    open_trends(page, voila_server, "SYN-0004")
    _fill_phq9(page, [1, 1, 1, 1, 1, 1, 1, 1, 0])
    page.locator(".kap-entry-save").click()
    expect(page.locator(".kap-ok")).to_contain_text("Saved", timeout=TIMEOUT)
    expect(page.locator(".kap-summary-table")).to_contain_text("8 mild")
    assert len(store.latest_records("assessment", "SYN-0004")) == before + 1
    expect(page.locator(".kap-crisis-banner")).to_be_hidden()


def test_invalid_assessment_shows_inline_error_and_saves_nothing(
    page: Page, voila_server: str, demo_database: str
) -> None:
    """An unanswered item gives an inline error naming it, and nothing is written."""
    store = Store(demo_database)

    def writes() -> int:  # audit rows other than page views (opening the page logs one)
        return sum(e.action != "view" for e in store.audit_entries())

    before = writes()
    open_trends(page, voila_server, "SYN-0005")
    _fill_phq9(page, [1, 1, 1, 1, None, 1, 1, 1, 0])
    page.locator(".kap-entry-save").click()
    error = page.locator(".kap-error")
    expect(error).to_be_visible(timeout=TIMEOUT)
    expect(error).to_contain_text("5")
    assert writes() == before


def test_bad_patient_parameter_gets_a_message(page: Page, voila_server: str) -> None:
    """A malformed ?patient= value is named in a message and the first patient is shown."""
    open_trends(page, voila_server, "..%2F..%2Fetc")
    expect(page.locator(".kap-url-error")).to_contain_text("not a valid patient id")
    expect(picker(page)).to_have_value(re.compile(r"\(SYN-0001\)$"))
