"""Load test: many browsers open dashboards at once; do they all render, and are the
kernels freed afterwards?

Starts the dashboards as `make run` does (``python -m kaptools.server``, on a free
loopback port, over a throw-away demo database), opens ``--contexts`` fresh browser
contexts at the same moment (dashboards and patients in turn), waits for each
dashboard's own content, closes every page the way a browser tab closes (its close
beacon is sent), then waits until the server is back to its preheated pool.

Prints: how many dashboards rendered, how many were blank (no content in time) or got
the "busy, try again" page, render times, the most kernels alive, and how long the
kernels took to return to the pool size. Loopback only: any request that would leave
the machine is aborted and counted. Bounded: every wait has a timeout.

    .venv/bin/python benchmarks/load_dashboards.py [--contexts 16] [--timeout 180]

Exit code 0 when every dashboard rendered and the kernels returned to the pool size
within --return-within seconds, 1 otherwise.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

from playwright.async_api import async_playwright

from kaptools.testing import (
    CHROMIUM_ARGS,
    ServerURL,
    chromium_path,
    is_loopback_url,
    kernel_pids,
    voila_server,
)

DASHBOARDS = Path(__file__).resolve().parents[1] / "dashboards"
#: (dashboard, the element that shows its content has rendered)
TARGETS = [
    ("trends.ipynb", ".kap-trend-chart .js-plotly-plot"),
    ("planner.ipynb", ".kap-screening-box .kap-screening"),
    ("eligibility.ipynb", ".kap-patient-header b"),
]
PATIENTS = ["SYN-0001", "SYN-0002", "SYN-0003", "SYN-0004"]


class KernelWatch:
    """Samples the server's kernel count in a thread; remembers the peak."""

    def __init__(self, server: ServerURL) -> None:
        self.server, self.peak, self._stop = server, 0, threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            self.peak = max(self.peak, len(kernel_pids(self.server)))
            time.sleep(0.5)

    def __enter__(self) -> KernelWatch:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


async def open_one(browser, base: str, i: int, timeout_s: float, leaving: list[str]) -> dict:
    notebook, selector = TARGETS[i % len(TARGETS)]
    patient = PATIENTS[i % len(PATIENTS)]
    context = await browser.new_context()

    async def refuse(route) -> None:
        leaving.append(route.request.url)
        await route.abort()

    await context.route(lambda url: not is_loopback_url(url), refuse)
    page = await context.new_page()
    url = f"{base}/voila/render/{notebook}?patient={patient}"
    t0 = time.monotonic()
    outcome = {"dashboard": notebook, "patient": patient}
    try:
        response = await page.goto(url, timeout=timeout_s * 1000)
        if response is not None and response.status == 503:
            outcome["result"] = "busy"
        else:
            await page.locator(selector).first.wait_for(state="visible", timeout=timeout_s * 1000)
            outcome["result"] = "rendered"
    except Exception as exc:  # a page that never showed its content: blank
        outcome["result"] = "blank"
        outcome["error"] = f"{type(exc).__name__}: {str(exc).splitlines()[0]}"
    outcome["seconds"] = time.monotonic() - t0
    outcome["context"], outcome["page"] = context, page
    return outcome


async def run(args: argparse.Namespace) -> int:
    from kaptools.demo import build_demo_database
    from kaptools.store import Store

    tmp = Path(tempfile.mkdtemp(prefix="kaptools-load-"))
    db = f"sqlite:///{tmp / 'demo.sqlite'}"
    build_demo_database(Store(db))
    env = {"KAPTOOLS_DATABASE_URL": db, "KAPTOOLS_USER": "load-test"}
    pool = len(list(DASHBOARDS.glob("*.ipynb")))
    with voila_server(DASHBOARDS, env=env, log_path=tmp / "voila.log") as base:
        deadline = time.monotonic() + 180
        while len(kernel_pids(base)) < pool:
            if time.monotonic() > deadline:
                print("the preheated pool did not fill within 180 s", file=sys.stderr)
                return 1
            await asyncio.sleep(0.5)
        await asyncio.sleep(2)
        async with async_playwright() as pw:
            launch = {"args": list(CHROMIUM_ARGS)}
            if chromium_path():
                launch["executable_path"] = chromium_path()
            browser = await pw.chromium.launch(**launch)
            leaving: list[str] = []
            with KernelWatch(base) as watch:
                t0 = time.monotonic()
                results = await asyncio.gather(
                    *(
                        open_one(browser, base, i, args.timeout, leaving)
                        for i in range(args.contexts)
                    )
                )
                all_done = time.monotonic() - t0
                for r in results:  # close like a tab: the close beacon is sent
                    await r["page"].close(run_before_unload=True)
                    await r["context"].close()
                closed_at = time.monotonic()
                returned = None
                while time.monotonic() - closed_at < args.return_within + 30:
                    if len(kernel_pids(base)) <= pool:
                        returned = time.monotonic() - closed_at
                        break
                    await asyncio.sleep(0.5)
                left = len(kernel_pids(base))
            await browser.close()

    counts = {k: sum(r["result"] == k for r in results) for k in ("rendered", "blank", "busy")}
    times = sorted(r["seconds"] for r in results if r["result"] == "rendered")
    print(
        f"load test: {args.contexts} browser contexts opened dashboards at once "
        f"(loopback, {pool} preheated kernels; shared 2-core machine)"
    )
    print(
        f"  rendered {counts['rendered']}/{args.contexts}, blank {counts['blank']}, "
        f"busy page {counts['busy']}; all settled after {all_done:.1f} s"
    )
    if times:
        print(f"  render time: median {statistics.median(times):.1f} s, max {times[-1]:.1f} s")
    print(f"  kernels: peak {watch.peak}, pool size {pool}")
    if returned is not None:
        print(f"  kernels back to the pool size {returned:.1f} s after the pages closed")
    else:
        print(
            f"  kernels NOT back to the pool size: {left} alive "
            f"{args.return_within + 30:.0f} s after the pages closed"
        )
    for r in results:
        if r["result"] != "rendered":
            print(f"  {r['result']}: {r['dashboard']}?patient={r['patient']} {r.get('error', '')}")
    if leaving:
        print(f"  requests that would have left the machine (aborted): {sorted(set(leaving))}")
    ok = (
        counts["rendered"] == args.contexts
        and returned is not None
        and returned <= args.return_within
        and not leaving
    )
    return 0 if ok else 1


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--contexts", type=int, default=16, help="browser contexts (16)")
    parser.add_argument(
        "--timeout", type=float, default=240, help="seconds a dashboard may take to render (240)"
    )
    parser.add_argument(
        "--return-within",
        type=float,
        default=60,
        help="seconds the kernels may take to return to the pool (60)",
    )
    args = parser.parse_args()
    if not 1 <= args.contexts <= 64:
        parser.error("--contexts must be 1-64 (this is a bounded test)")
    return asyncio.run(run(args))


if __name__ == "__main__":
    sys.exit(main())
