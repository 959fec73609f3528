"""The clinic's shared install (`make run-shared`) in a real browser: JupyterHub sign-in,
each person's own dashboards, roles from Hub groups, CSRF, sign-out.

One install per module (``python -m kaptools.hub run``: the Hub, its proxy, the idle
culler, a private PostgreSQL cluster or SQLite), on free loopback ports, torn down at
the end. Every wait is on a condition (a URL, an element, a row in a database).
"""

from __future__ import annotations

import http.client
import json
import os
import re
import shutil
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, Page, expect

from kaptools.errors import ConfigurationError
from kaptools.hub import proxy_command
from kaptools.identity import Identity, Role
from kaptools.store import AuditEntry, Store
from kaptools.testing import ServerURL, free_port, kernel_ids
from tests.browser.test_trends_dashboard import _fill_phq9

pytestmark = pytest.mark.browser
TIMEOUT = 60_000
#: a dashboard's first page right after sign-in waits for its preheated kernel
PAGE_TIMEOUT = 180_000
#: a person's dashboards start (4 preheated kernels) on a loaded 2-core machine
SPAWN_TIMEOUT = 240_000
CLINICIAN, RESEARCHER = "demo-clinician", "demo-researcher"


@dataclass
class SharedInstall:
    base: str
    state: Path
    passwords: dict[str, str]
    database_url: str

    def hub_db(self) -> sqlite3.Connection:
        return sqlite3.connect(f"file:{self.state / 'jupyterhub.sqlite'}?mode=ro", uri=True)

    def server_pid(self, user: str) -> int | None:
        """The process id of a person's running dashboards server (None: not running)."""
        with self.hub_db() as db:
            row = db.execute(
                "SELECT s.state, s.server_id FROM spawners s JOIN users u ON u.id = s.user_id "
                "WHERE u.name = ?",
                (user,),
            ).fetchone()
        if row is None or row[1] is None:
            return None
        return int(json.loads(row[0] or "{}").get("pid") or 0) or None

    def audit(self, patient_id: str | None = None) -> list[AuditEntry]:
        with Store(self.database_url, identity=Identity("test-admin", Role.ADMIN)) as admin:
            return admin.audit_entries(patient_id)


def _wait_for(condition: Callable[[], Any], what: str, timeout_s: float = 120) -> Any:
    deadline = time.monotonic() + timeout_s
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.2)


@pytest.fixture(scope="module")
def shared(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SharedInstall]:
    try:
        proxy_command()
    except ConfigurationError as exc:  # `make test` installs it
        pytest.skip(str(exc))
    # /tmp, not pytest's owner-only tmp folder: as root, PostgreSQL runs as 'nobody',
    # which must reach its cluster folder (the launcher makes the state folder 0711).
    state = Path(tempfile.mkdtemp(prefix="kaptools-shared-"))
    log_path = tmp_path_factory.mktemp("shared-install") / "hub.log"
    port = free_port()
    print(f"shared install log: {log_path}")
    log = open(log_path, "w+")
    proc = subprocess.Popen(
        [sys.executable, "-m", "kaptools.hub", "run", "--state", str(state),
         "--port", str(port), "--patients", "5"],
        stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
    )  # fmt: skip
    base = f"http://127.0.0.1:{port}"

    def hub_up() -> bool:
        if proc.poll() is not None:
            log.seek(0)
            raise RuntimeError(f"the shared install stopped; its log:\n{log.read()}")
        try:
            with urllib.request.urlopen(base + "/hub/api/", timeout=2) as r:
                return r.status == 200
        except OSError:
            return False

    try:
        _wait_for(hub_up, "the Hub to answer", timeout_s=300)
        passwords = json.loads((state / "demo-passwords.json").read_text())
        url = (state / "kaptools-database-url").read_text().strip()
        yield SharedInstall(base, state, passwords, url)
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)  # the launcher stops the Hub, servers, PostgreSQL
            try:
                proc.wait(timeout=120)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
        log.close()
        shutil.rmtree(state, ignore_errors=True)


def sign_in(page: Page, shared: SharedInstall, user: str, next_path: str = "") -> None:
    page.goto(f"{shared.base}/hub/login" + (f"?next={next_path}" if next_path else ""))
    page.fill("#username_input", user)
    page.fill("#password_input", shared.passwords[user])
    # the click waits for the Hub's answer, which starts the person's server first
    page.click("#login_submit", timeout=SPAWN_TIMEOUT)
    # the Hub starts the person's dashboards server and sends the browser on to it
    expect(page).to_have_url(re.compile(rf"/user/{user}/"), timeout=SPAWN_TIMEOUT)


def dashboard(shared: SharedInstall, user: str, notebook: str, patient: str) -> str:
    return f"{shared.base}/user/{user}/voila/render/{notebook}?patient={patient}"


def test_sign_in_is_required_and_starts_nothing(shared: SharedInstall, page: Page) -> None:
    """A dashboard's URL without sign-in gets the Hub's login page; no server or kernel
    starts; a wrong password is refused with a message."""
    page.goto(dashboard(shared, CLINICIAN, "eligibility.ipynb", "SYN-0001"))
    expect(page).to_have_url(re.compile(r"/hub/login\?next="), timeout=TIMEOUT)
    expect(page.locator("#login_submit")).to_be_visible()
    # plain unauthenticated requests too (no browser, no cookies)
    for path in (
        f"/user/{CLINICIAN}/voila/render/eligibility.ipynb?patient=SYN-0001",
        f"/user/{RESEARCHER}/",
        "/hub/spawn",
    ):
        with urllib.request.urlopen(shared.base + path, timeout=30) as r:
            assert "/hub/login" in r.url, (path, r.url)
    assert shared.server_pid(CLINICIAN) is None
    assert shared.server_pid(RESEARCHER) is None
    page.fill("#username_input", CLINICIAN)
    page.fill("#password_input", "not-the-password")
    page.click("#login_submit")
    expect(page.locator(".login_error")).to_contain_text("Invalid username or password")
    assert shared.server_pid(CLINICIAN) is None


def test_clinician_saves_under_their_own_name(shared: SharedInstall, page: Page) -> None:
    """The clinician signs in, opens a patient's dashboard and saves a PHQ-9: the record
    and its audit row name the signed-in person, whatever the page says."""
    sign_in(page, shared, CLINICIAN)
    page.goto(dashboard(shared, CLINICIAN, "trends.ipynb", "SYN-0004"), timeout=PAGE_TIMEOUT)
    expect(
        page.locator(".kap-trend-chart .js-plotly-plot .scatterlayer .trace").first
    ).to_be_visible(timeout=TIMEOUT)
    before = {e.record_id for e in shared.audit("SYN-0004") if e.action != "view"}
    _fill_phq9(page, [1, 1, 1, 1, 1, 1, 1, 1, 0])
    page.locator(".kap-entry-save").click()
    expect(page.locator(".kap-ok")).to_contain_text("Saved", timeout=TIMEOUT)
    rows = [e for e in shared.audit("SYN-0004") if e.action != "view" and e.record_id not in before]
    assert rows, "the save wrote an audit row"
    assert {e.who for e in rows} == {CLINICIAN}
    views = [e for e in shared.audit("SYN-0004") if e.action == "view"]
    assert views and views[-1].who == CLINICIAN


def test_no_kernel_for_a_request_without_sign_in(shared: SharedInstall, page: Page) -> None:
    """With the clinician's dashboards running, a request without their sign-in reaches
    their server and is sent to the Hub's login: no kernel starts."""
    sign_in(page, shared, CLINICIAN)
    pid = _wait_for(lambda: shared.server_pid(CLINICIAN), "the clinician's server")
    server = ServerURL(f"{shared.base}/user/{CLINICIAN}", pid)
    before = kernel_ids(server)
    assert before, "the server preheats its dashboards' kernels"
    for nb in ("eligibility.ipynb", "trends.ipynb", "planner.ipynb"):
        with urllib.request.urlopen(dashboard(shared, CLINICIAN, nb, "SYN-0001")) as r:
            assert "/hub/login" in r.url
    # a kernel's websocket, opened without the sign-in (even knowing the kernel's id)
    kernel = sorted(before)[0]
    host, port = shared.base.removeprefix("http://").split(":")
    conn = http.client.HTTPConnection(host, int(port), timeout=30)
    conn.request(
        "GET",
        f"/user/{CLINICIAN}/api/kernels/{kernel}/channels",
        headers={
            "Upgrade": "websocket",
            "Connection": "Upgrade",
            "Sec-WebSocket-Version": "13",
            "Sec-WebSocket-Key": "dGhlIHNhbXBsZSBub25jZQ==",
        },
    )
    assert conn.getresponse().status == 403
    conn.close()
    assert kernel_ids(server) <= before


def test_forged_state_changing_requests_are_refused(shared: SharedInstall, page: Page) -> None:
    """A POST carrying the clinician's cookies but not the Hub's XSRF token (what a
    forged cross-site form sends) is refused, at the Hub and at their server."""
    sign_in(page, shared, CLINICIAN)
    pid = _wait_for(lambda: shared.server_pid(CLINICIAN), "the clinician's server")
    kernels = kernel_ids(ServerURL(f"{shared.base}/user/{CLINICIAN}", pid))
    kernel = sorted(kernels)[0]
    request = page.context.request  # shares the browser's cookies, sends no XSRF token
    for method, url in (
        ("POST", f"{shared.base}/hub/api/users/{CLINICIAN}/server"),  # start their server
        ("DELETE", f"{shared.base}/hub/api/users/{CLINICIAN}/server"),  # stop it
        ("DELETE", f"{shared.base}/user/{CLINICIAN}/api/kernels/{kernel}"),  # a kernel
    ):
        r = request.fetch(
            url, method=method, data="{}", headers={"Content-Type": "application/json"}
        )
        assert r.status == 403, (method, url, r.status, r.text()[:300])
    assert kernel in kernel_ids(ServerURL(f"{shared.base}/user/{CLINICIAN}", pid))
    # the same request from the page itself (with the token) is not refused for XSRF
    assert shared.server_pid(CLINICIAN) is not None


def test_researcher_is_refused_identifying_dashboards(
    shared: SharedInstall, browser: Browser, page: Page
) -> None:
    """The researcher signs in to their own dashboards; a patient's dashboard refuses
    them with a message naming their role, nothing is written in their name, and the
    clinician's dashboards are closed to them."""
    sign_in(page, shared, RESEARCHER)
    for notebook in ("trends.ipynb", "eligibility.ipynb"):
        page.goto(dashboard(shared, RESEARCHER, notebook, "SYN-0001"), timeout=PAGE_TIMEOUT)
        refusal = page.locator(".kap-url-error")
        expect(refusal).to_contain_text(
            f"{RESEARCHER} (researcher) may not read patients' records", timeout=TIMEOUT
        )
        expect(refusal).to_contain_text("Nothing was read or written")
        expect(page.get_by_text("There was an error when executing cell")).to_have_count(0)
    assert not [e for e in shared.audit() if e.who == RESEARCHER and e.action != "view"]
    # another person's dashboards: refused by the Hub (403), no page of theirs
    response = page.goto(dashboard(shared, CLINICIAN, "trends.ipynb", "SYN-0001"))
    assert response is not None and response.status == 403


def test_sign_out_ends_the_session_and_stops_the_dashboards(
    shared: SharedInstall, page: Page
) -> None:
    """Sign-out: the Hub's cookie is gone (a dashboard URL asks to sign in again) and the
    person's dashboards server is stopped with its kernels."""
    sign_in(page, shared, RESEARCHER)
    _wait_for(lambda: shared.server_pid(RESEARCHER), "the researcher's server")
    # the sign-in cookie lives for the browser's session only, out of scripts' reach,
    # not sent with other sites' requests (the Hub refuses it after 8 hours anyway)
    (login,) = [c for c in page.context.cookies() if c["name"] == "jupyterhub-hub-login"]
    assert login["expires"] == -1 and login["httpOnly"] and login["sameSite"] == "Lax"
    page.goto(f"{shared.base}/hub/logout")
    expect(page).to_have_url(re.compile(r"/hub/login"), timeout=TIMEOUT)
    _wait_for(lambda: shared.server_pid(RESEARCHER) is None, "the server to stop")
    page.goto(dashboard(shared, RESEARCHER, "trends.ipynb", "SYN-0001"))
    expect(page).to_have_url(re.compile(r"/hub/login\?next="), timeout=TIMEOUT)
