"""Serving in a real browser: local icon font, and the page-close beacon frees the kernel."""

from __future__ import annotations

import re
import time

import pytest
from playwright.sync_api import Page, expect

from kaptools.testing import ServerURL, kernel_ids

pytestmark = pytest.mark.browser
TIMEOUT = 60_000


def test_icons_come_from_this_server_and_closing_the_page_frees_its_kernel(
    page: Page, voila_server: ServerURL
) -> None:
    fonts: list[str] = []
    page.on("requestfinished", lambda r: fonts.append(r.url) if ".woff2" in r.url else None)
    page.goto(f"{voila_server}/voila/render/trends.ipynb?patient=SYN-0001", timeout=TIMEOUT)
    save = page.locator("button.widget-button", has_text="Save assessment")
    expect(save).to_be_visible(timeout=TIMEOUT)
    # the button's icon is drawn with the locally served Font Awesome
    expect(save.locator("i.fa")).to_have_count(1)
    page.wait_for_function(
        "[...document.fonts].some(f => f.family.includes('Font Awesome 5 Free')"
        " && f.status === 'loaded')",
        timeout=TIMEOUT,
    )
    assert fonts and all(u.startswith(voila_server) for u in fonts)

    m = re.search(r'"kernelId":\s*"([0-9a-f-]{36})"', page.content())
    assert m, "no kernel id in the page"
    kernel = m.group(1)
    assert kernel in kernel_ids(voila_server)
    page.close(run_before_unload=True)  # the browser sends Voilà's shutdown beacon
    deadline = time.monotonic() + 30
    while kernel in kernel_ids(voila_server):
        assert time.monotonic() < deadline, "the closed page's kernel is still running"
        time.sleep(0.5)
