"""The what-if dashboard in a real browser against a live Voilà server."""

from __future__ import annotations

import base64
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

pytestmark = pytest.mark.browser
TIMEOUT = 60_000


def open_whatif(page: Page, base: str) -> None:
    page.goto(f"{base}/voila/render/whatif.ipynb", timeout=TIMEOUT)
    expect(page.locator(".kap-whatif-summary")).to_contain_text("press Compare", timeout=TIMEOUT)


def systolic(page: Page):
    return page.locator(".kap-threshold-bp-caution-systolic-above input")


def test_lead_changes_a_threshold_sees_transitions_and_downloads_the_table(
    page: Page, voila_server: str
) -> None:
    """Lowering the caution line to 130: summary, heatmap, table and a CSV download."""
    open_whatif(page, voila_server)
    expect(systolic(page)).to_have_value("140")
    systolic(page).fill("130")
    systolic(page).press("Enter")
    page.locator(".kap-whatif-apply").click()
    expect(page.locator(".kap-whatif-summary")).to_contain_text("change status", timeout=TIMEOUT)
    expect(page.locator(".kap-whatif-summary")).to_contain_text("bp_caution_systolic_above=130")
    expect(page.locator(".kap-whatif-chart .js-plotly-plot")).to_be_visible(timeout=TIMEOUT)
    expect(page.locator(".kap-whatif-changed tbody tr").first).to_be_visible()
    expect(page.locator(".kap-whatif-changed")).to_contain_text("blood_pressure_raised")
    link = page.locator("a.kap-download")
    with page.expect_download(timeout=TIMEOUT) as info:
        link.click()
    download = info.value
    assert download.suggested_filename == "whatif-status-changes.csv"
    text = Path(download.path()).read_text(encoding="utf-8")
    rows = page.locator(".kap-whatif-changed tbody tr").count()
    assert text.startswith("row,patient_id,status_before,status_after")
    assert len(text.strip().splitlines()) - 1 == rows
    href = link.get_attribute("href") or ""
    assert base64.b64decode(href.split("base64,", 1)[1]).decode() == text


def test_an_invalid_threshold_shows_the_protocol_error(page: Page, voila_server: str) -> None:
    """A caution line above the defer line: the protocol's message, no table."""
    open_whatif(page, voila_server)
    systolic(page).fill("200")
    systolic(page).press("Enter")
    page.locator(".kap-whatif-apply").click()
    expect(page.locator(".kap-whatif-error")).to_contain_text(
        "must be below bp_defer_systolic_min", timeout=TIMEOUT
    )
    expect(page.locator(".kap-whatif-changed")).to_have_count(0)
