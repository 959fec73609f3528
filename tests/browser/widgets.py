"""Shared widget helpers for the browser tests: wait for conditions, never fixed times."""

from __future__ import annotations

import re
import time

from playwright.sync_api import Locator, Page, expect
from playwright.sync_api import TimeoutError as PlaywrightTimeoutError

TIMEOUT = 60_000


def select_matching(scope: Page | Locator, css: str, pattern: str, nth: int = 0) -> None:
    """Choose the option matching ``pattern``; ipywidgets' <select> carries labels (with
    non-breaking spaces) as values. The list can be redrawn between reading its options
    and choosing one (the planner redraws the session list after the plan table), so the
    option is looked up again until it is chosen or the suite's timeout runs out."""
    select = scope.locator(f"{css} select").nth(nth)
    deadline = time.monotonic() + TIMEOUT / 1000
    while True:
        option = select.locator("option").filter(has_text=re.compile(pattern.replace(" ", r"\s")))
        expect(option.first).to_be_attached(timeout=TIMEOUT)
        labels = select.locator("option").all_text_contents()
        label = next((x for x in labels if re.search(pattern, x.replace("\xa0", " "))), None)
        if label is not None:
            try:
                select.select_option(label=label, timeout=5_000)
                return
            except PlaywrightTimeoutError:
                pass
        if time.monotonic() > deadline:
            raise AssertionError(f"no option matching {pattern!r} could be chosen in {css}")
