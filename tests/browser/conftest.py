"""A live Voilà server over a private synthetic database, and Chromium for Playwright."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import BrowserContext, ConsoleMessage, Request, Route

from kaptools.testing import CHROMIUM_ARGS, chromium_path, is_loopback_url
from kaptools.testing import voila_server as _voila_server

DASHBOARDS = Path(__file__).resolve().parents[2] / "dashboards"


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args: dict) -> dict:
    args = {**browser_type_launch_args, "args": list(CHROMIUM_ARGS)}
    path = chromium_path()
    if path:
        args["executable_path"] = path
    return args


#: Any URL that does not stay on this machine.
_OFF_MACHINE = re.compile(
    r"^(?!(?:https?|wss?)://(?:127\.\d+\.\d+\.\d+|localhost|\[::1\])[:/])"
    r"(?!(?:data|blob|about):)"
)


@pytest.fixture(autouse=True)
def _stay_on_this_machine(context: BrowserContext) -> Iterator[None]:
    """Fail the test on any request that would leave the machine, or a CSP violation.

    Every off-machine request is aborted (nothing is sent) and recorded; a page's
    Content-Security-Policy violations are recorded from the console.
    """
    leaving: list[str] = []
    csp: list[str] = []

    def refuse(route: Route) -> None:
        leaving.append(route.request.url)
        route.abort()

    def on_request(request: Request) -> None:
        if not is_loopback_url(request.url):
            leaving.append(request.url)

    def on_console(message: ConsoleMessage) -> None:
        if "Content Security Policy" in message.text:
            csp.append(message.text)

    context.route(_OFF_MACHINE, refuse)
    context.on("request", on_request)
    context.on("console", on_console)
    yield
    assert not leaving, f"requests that leave the machine: {sorted(set(leaving))}"
    assert not csp, f"Content-Security-Policy violations: {csp}"


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
