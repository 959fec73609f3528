"""Serving safety of `make run` (kaptools.server), probed over HTTP on loopback only.

One server with a small kernel cap and the default cull times (what `make run` uses);
every request goes to 127.0.0.1. Kernels are counted as the server's ipykernel
processes.
"""

from __future__ import annotations

import asyncio
import gzip
import json
import os
import re
import signal
import sys
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import tornado.websocket

from kaptools.server import (
    CONTENT_SECURITY_POLICY,
    CULL_IDLE_S,
    CULL_INTERVAL_S,
    CULL_LOADING_BROWSER_S,
    CULL_UNCONNECTED_S,
    FRONTEND_EXTENSIONS,
)
from kaptools.server.transport import IMMUTABLE, is_versioned_asset
from kaptools.testing import ServerURL, is_loopback_url, kernel_ids, kernel_pids, voila_server
from tests import async_thread

#: An unconnected page (a plain GET, no browser) frees its kernel within this (seconds).
UNCONNECTED_KERNEL_MAX_S = 60

DASHBOARDS = Path(__file__).resolve().parents[2] / "dashboards"
#: Voilà's own bundle (voila.js and its numbered chunks), as installed.
VOILA_STATIC = Path(sys.prefix) / "share" / "jupyter" / "voila" / "templates" / "base" / "static"
POOL = len(list(DASHBOARDS.glob("*.ipynb")))  # one preheated kernel per dashboard
CAP = 2
TRENDS = "/voila/render/trends.ipynb?patient=SYN-0001"
PLANNER = "/voila/render/planner.ipynb?patient=SYN-0001"


def request(
    base: str, path: str, *, method: str = "GET", headers: dict[str, str] | None = None
) -> tuple[int, dict[str, str], str]:
    req = urllib.request.Request(base + path, method=method, headers=headers or {})
    try:
        with urllib.request.urlopen(req, timeout=120) as r:
            return r.status, dict(r.headers), r.read().decode("utf-8", "replace")
    except urllib.error.HTTPError as e:
        return e.code, dict(e.headers), e.read().decode("utf-8", "replace")


def wait_for(condition, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")
        time.sleep(0.5)


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerURL]:
    log = tmp_path_factory.mktemp("voila") / "voila.log"
    args = (f"--KaptoolsVoila.max_kernels={CAP}",)
    with voila_server(DASHBOARDS, extra_args=args, log_path=log) as base:
        wait_for(lambda: len(kernel_pids(base)) >= POOL, 120, "the preheated pool")
        yield base


def kernel_id(page_html: str) -> str:
    m = re.search(r'"kernelId":\s*"([0-9a-f-]{36})"', page_html)
    assert m, "no kernel id in the page"
    return m.group(1)


def test_forged_host_is_refused_before_anything_runs(server: ServerURL) -> None:
    """DNS rebinding: a page served under another name reaches nothing, starts no kernel."""
    before = kernel_pids(server)
    port = server.rsplit(":", 1)[1]
    for path in (TRENDS, "/", "/voila/static/voila.js", "/api/kernels"):
        status, headers, body = request(server, path, headers={"Host": f"evil.example:{port}"})
        assert status == 403, path
        assert "DNS-rebinding" in body
        assert headers["Content-Security-Policy"] == CONTENT_SECURITY_POLICY
    # the right name on a wrong port is refused too
    assert request(server, "/", headers={"Host": "127.0.0.1:1"})[0] == 403
    assert kernel_pids(server) == before
    assert request(server, "/", headers={"Host": f"localhost:{port}"})[0] == 200


def test_other_origins_cannot_post_or_open_websockets(server: ServerURL) -> None:
    evil = {"Origin": "http://evil.example"}
    status, _, body = request(server, "/voila/api/shutdown/x", method="POST", headers=evil)
    assert status == 403 and "origin" in body
    ws = {**evil, "Upgrade": "websocket", "Connection": "Upgrade"}
    assert request(server, "/api/kernels/0/channels", headers=ws)[0] == 403
    # another site may not pull a dashboard in as a sub-resource (img, fetch)
    cross = {"Sec-Fetch-Site": "cross-site", "Sec-Fetch-Mode": "no-cors"}
    assert request(server, TRENDS, headers=cross)[0] == 403


def test_pages_have_a_strict_csp_and_only_local_assets(server: ServerURL) -> None:
    status, headers, _body = request(server, "/")
    assert status == 200
    csp = headers["Content-Security-Policy"]
    for directive in (
        "default-src 'self'",
        "connect-src 'self'",
        "frame-ancestors 'none'",
        "object-src 'none'",
        "base-uri 'self'",
        "form-action 'self'",
    ):
        assert directive in csp
    assert "http" not in csp and "*" not in csp
    assert headers["X-Frame-Options"] == "DENY"
    status, headers, page = request(server, PLANNER)
    assert status == 200 and headers["Content-Security-Policy"] == CONTENT_SECURITY_POLICY
    assets = re.findall(r'(?:src|href)="([^"#]+)"', page) + re.findall(r"url\(([^)]+)\)", page)
    external = [a for a in assets if "//" in a and not is_loopback_url(a)]
    assert not external, external
    # the icon font and its stylesheet come from this server (under its static version)
    static = static_url(page)
    assert f'href="{static}/fontawesome/css/all.min.css"' in page
    status, _, css = request(server, f"{static}/fontawesome/css/all.min.css")
    assert status == 200 and "fa-solid-900.woff2" in css
    assert request(server, f"{static}/fontawesome/webfonts/fa-solid-900.woff2")[0] == 200
    kill_page_kernel(server, page)


def kill_page_kernel(server: ServerURL, page: str) -> None:
    own = {"Origin": server}
    status = request(server, f"/voila/api/shutdown/{kernel_id(page)}", method="POST", headers=own)[
        0
    ]
    assert status == 204


def test_close_beacon_frees_the_kernel(server: ServerURL) -> None:
    """The page-close beacon (no _xsrf argument, the server's own Origin) is accepted."""
    wait_for(lambda: len(kernel_pids(server)) == POOL, 60, "the pool alone")
    _, _, page = request(server, TRENDS)
    wait_for(lambda: len(kernel_pids(server)) == POOL + 1, 60, "the page kernel and a refill")
    kid = kernel_id(page)
    # without an Origin (not a browser beacon) it is refused, the kernel lives on
    assert request(server, f"/voila/api/shutdown/{kid}", method="POST")[0] == 403
    assert (
        request(server, f"/voila/api/shutdown/{kid}", method="POST", headers={"Origin": server})[0]
        == 204
    )
    wait_for(lambda: len(kernel_pids(server)) == POOL, 20, "the page kernel to end")


def test_kernel_cap_gives_a_busy_page_and_idle_kernels_are_culled(server: ServerURL) -> None:
    """Past the cap a clear 'busy, try again' page; abandoned kernels are culled."""
    wait_for(lambda: len(kernel_pids(server)) == POOL, 150, "the pool alone")
    for path in (TRENDS, PLANNER)[:CAP]:
        status, _, page = request(server, path)
        assert status == 200 and "kernelId" in page
    status, headers, page = request(server, TRENDS)
    assert status == 503
    assert headers["Retry-After"] == "30"
    assert "busy" in page and "Try again" in page and "988" in page
    assert "kernelId" not in page
    # nobody connects to the two page kernels: they are culled (45 s grace + one 10-s cull
    # interval), back to the pool size once the pool has refilled too; the bound is what a
    # loaded 2-core machine needs (it timed out once at 120 s under load 10), not a wait
    wait_for(lambda: len(kernel_pids(server)) == POOL, 240, "culling of the abandoned kernels")
    status, _, page = request(server, TRENDS)
    assert status == 200
    kill_page_kernel(server, page)  # leave no page kernel behind for the next test


def test_a_dead_preheated_kernel_is_never_handed_out(server: ServerURL) -> None:
    """Every pool kernel killed, some of them mid pre-render: the page still renders."""
    wait_for(lambda: len(kernel_pids(server)) == POOL, 90, "the pool alone")
    for pid in kernel_pids(server):
        os.kill(pid, signal.SIGKILL)
    status, _, page = request(server, TRENDS)
    assert status == 200
    assert "application/vnd.jupyter.widget-view+json" in page
    assert "There was an error" not in page
    kill_page_kernel(server, page)


def test_an_unconnected_get_frees_its_kernel_within_a_minute(server: ServerURL) -> None:
    """A plain GET (no browser ever connects) keeps its kernel at most 60 s after the
    page was served, with the default settings: the grace an unconnected page gets, plus
    one cull interval (a busy kernel, still rendering, is never culled). A browser's page
    navigation keeps its kernel longer while its frontend loads."""
    assert max(CULL_UNCONNECTED_S, CULL_IDLE_S) + CULL_INTERVAL_S <= UNCONNECTED_KERNEL_MAX_S
    # a page taken and closed first, so the pool's kernel the GET gets is a new one
    # (a kernel's own age must not decide: it is handed out just after it started)
    wait_for(lambda: len(kernel_pids(server)) == POOL, 120, "the pool alone")
    kill_page_kernel(server, request(server, TRENDS)[2])
    wait_for(lambda: len(kernel_pids(server)) == POOL, 120, "the pool refilled")
    status, _, page = request(server, TRENDS)
    assert status == 200
    kid = kernel_id(page)
    assert kid in kernel_ids(server)
    # a browser's page navigation (Fetch Metadata headers) is still loading its frontend:
    # it keeps its kernel for CULL_LOADING_BROWSER_S (on a loaded machine that load took
    # over a minute, and a page whose kernel was culled meanwhile came up blank)
    navigation = {"Sec-Fetch-Mode": "navigate", "Sec-Fetch-Dest": "document"}
    status, _, nav_page = request(server, PLANNER, headers=navigation)
    served_at = time.monotonic()
    assert status == 200
    nav_kid = kernel_id(nav_page)
    wait_for(
        lambda: kid not in kernel_ids(server),
        UNCONNECTED_KERNEL_MAX_S,
        "the unconnected page's kernel to be culled",
    )
    # past the plain GET's limit (measured from the navigation's own page), the loading
    # browser's kernel is still there
    wait_for(
        lambda: time.monotonic() - served_at > UNCONNECTED_KERNEL_MAX_S + CULL_INTERVAL_S,
        2 * UNCONNECTED_KERNEL_MAX_S,
        "the plain GET's limit to pass for the navigation's kernel",
    )
    assert nav_kid in kernel_ids(server)
    assert CULL_LOADING_BROWSER_S > UNCONNECTED_KERNEL_MAX_S + CULL_INTERVAL_S
    kill_page_kernel(server, nav_page)


def get_page(base: str, path: str) -> tuple[int, dict[str, str], str]:
    """GET a page, then close it as a browser does (the beacon frees its kernel: the
    module's server has a kernel cap of 2)."""
    status, headers, body = request(base, path)
    if status == 200:
        request(
            base, f"/voila/api/shutdown/{kernel_id(body)}", method="POST", headers={"Origin": base}
        )
    return status, headers, body


def page_config(body: str) -> dict:
    config = re.search(
        r'<script id="jupyter-config-data" type="application/json">(.*?)</script>', body, re.S
    )
    assert config, "no page config in the page"
    return dict(json.loads(config.group(1)))


def page_extensions(body: str) -> dict[str, str]:
    """The page's frontend extensions: name -> entry point (from its page config)."""
    return {e["name"]: e["load"] for e in page_config(body)["federated_extensions"]}


def static_url(body: str) -> str:
    """Where the page loads Voilà's static files from: ``/voila/static/v/<version>``."""
    url = page_config(body)["fullStaticUrl"]
    assert re.fullmatch(r"/voila/static/v/[0-9a-f]{16}", url), url
    return str(url)


def test_only_the_dashboards_frontend_extensions_are_sent(server: ServerURL) -> None:
    """The page names exactly the extensions the dashboards use (no unused bundles)."""
    status, _, body = get_page(server, TRENDS)
    assert status == 200
    assert set(page_extensions(body)) == set(FRONTEND_EXTENSIONS)


def test_versioned_assets_are_cached_and_text_is_compressed(server: ServerURL) -> None:
    """A content-hashed asset, and voila.js and its chunks under the server's static
    version, are cached for a year; the unversioned URL is revalidated; text is
    gzip-compressed and decompresses to the same bytes, also when it is served from the
    compressed cache; pages are never cached."""
    _, _, body = get_page(server, TRENDS)
    plotly = f"/voila/labextensions/jupyterlab-plotly/{page_extensions(body)['jupyterlab-plotly']}"
    static = static_url(body)
    assert f'<script src="{static}/voila.js"></script>' in body  # the page loads this one
    chunk = max(VOILA_STATIC.glob("[0-9]*.voila.js"), key=lambda p: p.stat().st_size).name
    cases = (
        (plotly, IMMUTABLE),
        (f"{static}/voila.js", IMMUTABLE),
        (f"{static}/{chunk}", IMMUTABLE),
        ("/voila/static/voila.js", "no-cache"),
        ("/voila/static/v/0000000000000000/voila.js", "no-cache"),  # not this server's
    )
    for path, cache in cases:
        req = urllib.request.Request(server + path, headers={"Accept-Encoding": "gzip"})
        bodies = []
        for _ in range(2):  # the second answer comes from the compressed cache
            with urllib.request.urlopen(req, timeout=60) as r:
                assert r.headers["Content-Encoding"] == "gzip", path
                assert r.headers["Cache-Control"] == cache, path
                bodies.append(gzip.decompress(r.read()))
        with urllib.request.urlopen(server + path, timeout=60) as r:
            assert r.headers.get("Content-Encoding") is None  # not asked for: not sent
            raw = r.read()
        assert bodies[0] == bodies[1] == raw, path
        assert len(raw) > 1000
        if "voila.js" in path:
            assert raw == (VOILA_STATIC / path.rsplit("/", 1)[-1]).read_bytes(), path
    _, headers, _ = get_page(server, TRENDS)
    assert "no-store" in headers["Cache-Control"]


def test_the_kernel_websocket_is_compressed(server: ServerURL) -> None:
    """A page's kernel websocket negotiates permessage-deflate (the widget state it
    carries is repetitive JSON), and messages still arrive whole through it."""
    _, _, page = request(server, TRENDS)
    kid = kernel_id(page)

    async def kernel_info() -> tuple[str, dict]:
        ws_url = server.replace("http://", "ws://") + f"/api/kernels/{kid}/channels"
        conn = await tornado.websocket.websocket_connect(
            ws_url, compression_options={}, connect_timeout=60
        )
        try:
            msg_id = uuid.uuid4().hex
            conn.write_message(
                json.dumps(
                    {
                        "header": {
                            "msg_id": msg_id,
                            "msg_type": "kernel_info_request",
                            "username": "test",
                            "session": uuid.uuid4().hex,
                            "date": "",
                            "version": "5.3",
                        },
                        "parent_header": {},
                        "metadata": {},
                        "content": {},
                        "channel": "shell",
                        "buffers": [],
                    }
                )
            )
            while True:
                raw = await asyncio.wait_for(conn.read_message(), 60)
                assert raw is not None, "the websocket closed"
                msg = json.loads(raw)
                if msg.get("parent_header", {}).get("msg_id") == msg_id and (
                    msg["header"]["msg_type"] == "kernel_info_reply"
                ):
                    return conn.headers.get("Sec-WebSocket-Extensions", ""), msg["content"]
        finally:
            # close and wait for the closing handshake (tornado aborts it after 5 s), so
            # the socket is closed before this loop ends: a socket left to the garbage
            # collector raises its ResourceWarning in whichever test runs next
            conn.close()
            while await asyncio.wait_for(conn.read_message(), 30) is not None:
                pass

    try:
        extensions, content = async_thread.run(kernel_info())
    finally:
        kill_page_kernel(server, page)
    assert extensions.startswith("permessage-deflate"), extensions
    assert content["status"] == "ok" and content["implementation"] == "ipython"


@pytest.mark.parametrize(
    ("path", "query", "versioned"),
    [
        ("/voila/labextensions/x/static/remoteEntry.1dda3c8f6e5cd2a3.js", "", True),
        ("/voila/labextensions/anywidget/static/remoteEntry.698dcaf7.js", "", True),
        ("/voila/static/1cb1c39ea642f26a4dfe.woff", "", True),
        ("/voila/templates/kaptools/static/voila-style.js", "v=f8119197a6dca998", True),
        ("/voila/static/voila.js", "", False),
        ("/voila/static/9484.voila.js", "", False),  # the name stays across Voilà versions
        ("/voila/labextensions/x/static/style.js", "", False),
        ("/voila/render/trends.ipynb", "v=f8119197a6dca998", False),  # a page, not an asset
    ],
)
def test_which_assets_count_as_versioned(path: str, query: str, versioned: bool) -> None:
    assert is_versioned_asset(path, query) is versioned


def test_a_page_naming_a_patient_gets_the_first_paint_before_the_widgets(
    server: ServerURL,
) -> None:
    """The key result is in the page HTML, before the widget view and its scripts."""
    status, _, body = get_page(server, TRENDS)
    assert status == 200
    first = body.find("id='kap-first-paint'")
    assert 0 < first < body.find('id="rendered_cells"') < body.find(f"{static_url(body)}/voila.js")
    assert "kfp-trace" in body  # the chart, drawn
    _, _, plain = get_page(server, "/voila/render/trends.ipynb")  # no ?patient=: none
    assert "id='kap-first-paint'" not in plain
