"""Event loops of their own for tests that run asyncio or tornado code.

The browser tests' Playwright leaves an event loop running in pytest's main thread,
where ``asyncio.run`` and tornado's test loops are refused ("Cannot run the event loop
while another loop is running"): a test run after a browser test runs its loop in a
thread of its own.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import unittest
from collections.abc import Coroutine
from typing import Any, TypeVar

T = TypeVar("T")


def run(coro: Coroutine[Any, Any, T]) -> T:
    """Run ``coro`` to its end on a new event loop in a thread of its own."""
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, coro).result()


class OwnThread(unittest.TestCase):
    """A TestCase (e.g. tornado's AsyncHTTPTestCase, listed after this class) whose set-up,
    test and tear-down run in a thread of their own, with that thread's event loop."""

    def run(self, result: Any = None) -> Any:
        with concurrent.futures.ThreadPoolExecutor(1) as pool:
            return pool.submit(super().run, result).result()
