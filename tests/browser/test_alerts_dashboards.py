"""Stored safety alerts in a real browser: one incomplete, item-9-positive PHQ-9 raises the
988 banner on all three dashboards until a clinician acknowledges it with a note."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from tests.browser.test_eligibility_dashboard import open_eligibility
from tests.browser.test_planner_dashboard import open_planner
from tests.browser.test_trends_dashboard import _fill_phq9, open_trends

pytestmark = pytest.mark.browser
TIMEOUT = 60_000
PATIENT = "SYN-0006"  # no open alert in the demo; written to by this test only


def banner(page: Page):
    return page.locator(".kap-crisis-banner")


def test_incomplete_item9_positive_phq9_raises_the_banner_everywhere_until_acknowledged(
    page: Page, voila_server: str
) -> None:
    """Item 9 = 3, item 4 blank: incomplete (item 4 named), and the alert is on the trends,
    planner and eligibility pages (there on arrival); a note-less acknowledgement is refused;
    acknowledged, the banner is gone everywhere and the alert stays in the history."""
    open_trends(page, voila_server, PATIENT)
    expect(banner(page)).to_be_hidden()
    _fill_phq9(page, [1, 1, 1, None, 1, 1, 1, 1, 3])
    page.locator(".kap-entry-save").click()
    expect(page.locator(".kap-error")).to_contain_text("item 4", timeout=TIMEOUT)
    expect(banner(page)).to_be_visible(timeout=TIMEOUT)
    expect(banner(page)).to_contain_text("988")
    expect(banner(page)).to_contain_text("item 9")

    open_planner(page, voila_server, PATIENT)
    expect(banner(page)).to_be_visible(timeout=TIMEOUT)
    expect(banner(page)).to_contain_text("item 9")

    open_eligibility(page, voila_server, PATIENT)
    expect(banner(page)).to_be_visible(timeout=TIMEOUT)  # on arrival, nothing loaded
    expect(banner(page)).to_contain_text("988")
    expect(banner(page)).to_contain_text("incomplete assessment")

    page.locator(".kap-ack-button").click()  # no note
    expect(page.locator(".kap-ack-message")).to_contain_text("note", timeout=TIMEOUT)
    expect(banner(page)).to_be_visible()

    page.locator(".kap-ack-note textarea").fill("C-SSRS completed: no intent or plan")
    page.locator(".kap-ack-button").click()
    expect(banner(page)).to_be_hidden(timeout=TIMEOUT)
    history = page.locator(".kap-alert-history")
    expect(history).to_contain_text("0 open")
    expect(history).to_contain_text("C-SSRS completed: no intent or plan")
    expect(history).to_contain_text("browser-test")

    open_trends(page, voila_server, PATIENT)
    expect(page.locator(".kap-alert-history")).to_contain_text("acknowledged", timeout=TIMEOUT)
    expect(banner(page)).to_be_hidden()
    open_planner(page, voila_server, PATIENT)
    expect(page.locator(".kap-alert-history")).to_contain_text("acknowledged", timeout=TIMEOUT)
    expect(banner(page)).to_be_hidden()
