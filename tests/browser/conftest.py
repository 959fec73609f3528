"""A live Voilà server over a private synthetic database, and Chromium for Playwright."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from kaptools.testing import CHROMIUM_ARGS, chromium_path
from kaptools.testing import voila_server as _voila_server

DASHBOARDS = Path(__file__).resolve().parents[2] / "dashboards"


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args: dict) -> dict:
    args = {**browser_type_launch_args, "args": list(CHROMIUM_ARGS)}
    path = chromium_path()
    if path:
        args["executable_path"] = path
    return args


@pytest.fixture(scope="session")
def demo_database(tmp_path_factory: pytest.TempPathFactory) -> str:
    from kaptools.demo import build_demo_database
    from kaptools.store import Store

    url = f"sqlite:///{tmp_path_factory.mktemp('db') / 'demo.sqlite'}"
    build_demo_database(Store(url))
    return url


@pytest.fixture(scope="session")
def voila_server(demo_database: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """Voilà serving dashboards/ as `make run` does, on a free loopback port."""
    env = {"KAPTOOLS_DATABASE_URL": demo_database, "KAPTOOLS_USER": "browser-test"}
    log = tmp_path_factory.mktemp("voila") / "voila.log"
    print(f"Voilà log: {log}")
    with _voila_server(DASHBOARDS, env=env, log_path=log) as base:
        yield base
