"""Test-session set-up shared by tests/, notebooks/ and dashboards/ (nbval).

Every test run gets its own throw-away data folder and demo database, so no test
(and no notebook kernel, which inherits this environment) touches ~/.kaptools or
a clinic's real database.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

_TMP = Path(tempfile.mkdtemp(prefix="kaptools-test-"))


def pytest_configure(config) -> None:
    os.environ["KAPTOOLS_HOME"] = str(_TMP)
    os.environ["KAPTOOLS_USER"] = "pytest"
    os.environ.pop("KAPTOOLS_PROTOCOL", None)
    url = f"sqlite:///{_TMP / 'demo.sqlite'}"
    os.environ["KAPTOOLS_DATABASE_URL"] = url
    # Notebooks (executed by nbval) read the demo database through the environment.
    from kaptools.demo import build_demo_database
    from kaptools.store import Store

    build_demo_database(Store(url))


def _hypothesis_profile() -> None:
    """Property tests are deterministic in CI: a fixed seed, no example database, no
    wall-clock deadline (the machine is shared; a deadline there fails now and then)."""
    from hypothesis import settings

    settings.register_profile("kaptools", derandomize=True, database=None, deadline=None)
    settings.load_profile(os.environ.get("KAPTOOLS_HYPOTHESIS_PROFILE", "kaptools"))


_hypothesis_profile()
