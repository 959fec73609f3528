"""Dashboard speed: every dashboard and a plain Voilà page, side by side in one run.

Starts the dashboards as `make run` does (``python -m kaptools.server``: preheated
kernels, the same settings) over a private synthetic demo database, next to a plain
Voilà notebook (a DataFrame, a dropdown and a plotly chart: the baseline). Each page is
opened RUNS times, each time in a fresh Chromium context, pages in rotating order, and
the script prints per page (medians):

- **key**: navigation to the page's key element on screen (trends: the patient's chart
  drawn; eligibility: the patient's screening status; planner: the saved plan's rows;
  baseline: its plotly chart drawn). The key element counts in either form: the server's
  first paint (``#kap-first-paint``, drawn before the widget frontend loads) or the
  interactive widget view, whichever is on screen first;
- the phases, from the browser's own clock (``performance.now()`` in the page, 0 =
  navigation): HTML first byte and end, first paint, the widget frontend's main script
  loaded, kernel websocket opened, first widget visible, the widget view's key element
  (the patient's data arrived and were rendered);
- **input**: input-to-result p50/p95 for one input per dashboard, timed in the page from
  the input event to the changed result (trends: another measure in "Which items moved";
  eligibility: the age, alternately valid and not a number, status panel redrawn;
  planner: a new first day, then "Plan course", plan table redrawn; baseline: none);
- **bytes**: everything the page receives from the server, per first view (fresh
  context) and repeat view (the same context again, its browser cache warm), counted
  until 1.5 s after the widget view's key element (the patient's load has settled), from
  the Chrome DevTools Protocol, as it crosses the wire:
  - HTTP: each response's ``encodedDataLength``: status line, headers and body as sent
    (compressed when sent compressed; a 304 revalidation counts its headers; a response
    the browser takes from its cache counts 0);
  - websocket: each message the kernel's websocket sends to the page (widget state and
    updates, outputs, replies): its payload, compressed as the handshake negotiated
    (permessage-deflate, recomputed with the server's zlib settings: CDP reports the
    decompressed payload), plus its frame header. What the page sends is not counted.
  And the number of requests. ``--breakdown`` prints, for run 1, the bytes of both views
  by kind (status, network or cache, websocket) and the largest responses;
- **kernel RSS**: the page's kernel after the view (its process' VmRSS), and the server's.

Then a table (Markdown, README-ready) and a one-line summary against the targets
(issue 14: key <= 1.5 s and <= 0.6x the plain page; input p95 <= 150 ms; first view
<= 5 MB, repeat <= 0.5 MB; kernel RSS <= 120 MB). Wall-clock figures depend on the
machine's load: the script prints ``uptime``'s load average with them.

    .venv/bin/python benchmarks/bench_dashboard.py             # median of 7 (~10 min)
    .venv/bin/python benchmarks/bench_dashboard.py --quick     # 2 runs, for development
    .venv/bin/python benchmarks/bench_dashboard.py --pages trends,baseline --runs 3
    .venv/bin/python benchmarks/bench_dashboard.py --trace /tmp/traces   # CDP traces
    .venv/bin/python benchmarks/bench_dashboard.py --quick --pages planner --breakdown
    .venv/bin/python benchmarks/bench_dashboard.py -- --VoilaKernelManager.fill_delay=1
"""

from __future__ import annotations

import argparse
import base64
import datetime as dt
import json
import os
import re
import shutil
import statistics
import sys
import tempfile
import time
import zlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import nbformat
from nbformat.v4 import new_code_cell, new_notebook
from playwright.sync_api import Page, sync_playwright

from kaptools.demo import build_demo_database
from kaptools.store import Store
from kaptools.testing import CHROMIUM_ARGS, chromium_path, kernel_pids, voila_server

ROOT = Path(__file__).resolve().parents[1]

BASELINE_CELLS = [
    "import pandas as pd\nimport plotly.graph_objects as go\nimport ipywidgets as w",
    "df = pd.DataFrame({'week': range(8), 'score': [20, 18, 15, 12, 10, 9, 8, 8]})\n"
    "display(df)\nw.Dropdown(options=['a', 'b'], description='Pick')",
    "go.Figure(go.Scatter(x=df.week, y=df.score))",
]

#: Targets of issue 14 (seconds, ratio, milliseconds, megabytes).
KEY_MAX_S = 1.5
KEY_RATIO_MAX = 0.6
INPUT_P95_MAX_MS = 150.0
FIRST_VIEW_MAX_MB = 5.0
REPEAT_VIEW_MAX_MB = 0.5
KERNEL_RSS_MAX_MB = 120.0

#: Watched in every page from its first byte: selector -> mark name. A mark is the
#: page's clock (ms since navigation) when a matching element is first visible.
MARKS = {
    "#kap-first-paint": "first_paint",
    ".jupyter-widgets": "widget",
    ".js-plotly-plot": "plotly",
}


@dataclass(frozen=True)
class Dashboard:
    name: str
    path: str
    widget_key: str  # the key element in the interactive widget view
    first_paint_key: str | None  # the key element in the server's first paint


PAGES = {
    "trends": Dashboard(
        "trends",
        "/voila/render/trends.ipynb?patient=SYN-0003",
        ".kap-trend-chart .js-plotly-plot .scatterlayer .trace",
        "#kap-first-paint .kfp-trend-chart svg .kfp-trace",
    ),
    "eligibility": Dashboard(
        "eligibility",
        "/voila/render/eligibility.ipynb?patient=SYN-0001",
        ".kap-app:has(.kap-patient-header b) .kap-eligibility-status",
        "#kap-first-paint .kfp-eligibility-status",
    ),
    "planner": Dashboard(
        "planner",
        "/voila/render/planner.ipynb?patient=SYN-0001",
        ".kap-plan-table .kap-plan-row",
        "#kap-first-paint .kfp-plan-row",
    ),
    "baseline": Dashboard(
        "baseline", "/voila/render/baseline.ipynb", ".js-plotly-plot .scatterlayer .trace", None
    ),
}

#: In every page before its own scripts: record when watched elements first become
#: visible and when the kernel websocket is created and opened.
INIT_SCRIPT = """
(() => {
  const marks = (window.__kapMarks = {});
  const watched = (window.__kapWatch = Object.assign({}, %s));
  const visible = (el) => el.getClientRects().length > 0 &&
      getComputedStyle(el).visibility !== "hidden";
  const check = () => {
    for (const [sel, name] of Object.entries(watched)) {
      if (name in marks) continue;
      for (const el of document.querySelectorAll(sel)) {
        if (visible(el)) { marks[name] = performance.now(); break; }
      }
    }
  };
  window.__kapCheck = check;
  new MutationObserver(check).observe(document, {
      childList: true, subtree: true, attributes: true, attributeFilter: ["style", "class"]});
  const WS = window.WebSocket;
  window.WebSocket = function (url, protocols) {
    const ws = protocols === undefined ? new WS(url) : new WS(url, protocols);
    if (String(url).includes("/api/kernels/")) {
      if (!("ws_created" in marks)) marks.ws_created = performance.now();
      ws.addEventListener("open", () => {
        if (!("ws_open" in marks)) marks.ws_open = performance.now();
      });
    }
    return ws;
  };
  window.WebSocket.prototype = WS.prototype;
  Object.assign(window.WebSocket, {CONNECTING: 0, OPEN: 1, CLOSING: 2, CLOSED: 3});
})();
"""

#: One input, timed in the page: from the input event to the watched element's change.
INPUT_SCRIPT = """
async ([kind, i]) => {
  const changed = (el, before, timeout) => new Promise((resolve, reject) => {
    const t = setTimeout(() => { obs.disconnect(); reject(new Error("no change")); }, timeout);
    const obs = new MutationObserver(() => {
      if (el.innerHTML !== before) { clearTimeout(t); obs.disconnect(); resolve(); }
    });
    obs.observe(el, {childList: true, subtree: true, characterData: true, attributes: true});
  });
  const pick = (select, i) => {
    const values = Array.from(select.options).map((o) => o.value);
    const v = values[i % values.length] === select.value
        ? values[(i + 1) % values.length] : values[i % values.length];
    select.value = v;
    select.dispatchEvent(new Event("change", {bubbles: true}));
  };
  if (kind === "trends") {
    const out = document.querySelector(".kap-items");
    const before = out.innerHTML;
    const t0 = performance.now();
    pick(document.querySelector(".kap-item-measure select"), i);
    await changed(out, before, 60000);
    return performance.now() - t0;
  }
  if (kind === "eligibility") {
    const out = document.querySelector(".kap-status-panel");
    const before = out.innerHTML;
    const age = document.querySelector(".kap-age input");
    const t0 = performance.now();
    age.value = i % 2 ? "45" : "4x";  // valid, then not a number: re-screened either way
    age.dispatchEvent(new Event("input", {bubbles: true}));
    age.dispatchEvent(new Event("change", {bubbles: true}));
    await changed(out, before, 60000);
    return performance.now() - t0;
  }
  if (kind === "planner") {  // the new first day was typed in before (not timed)
    // the widget's own element: a redraw replaces the <table> inside it
    const out = document.querySelector(".kap-plan-table").closest(".widget-html");
    const before = out.innerHTML;
    const t0 = performance.now();
    document.querySelector("button.kap-plan-button").click();
    await changed(out, before, 60000);
    return performance.now() - t0;
  }
  return null;
}
"""

PHASES_SCRIPT = """
() => {
  window.__kapCheck();
  const nav = performance.getEntriesByType("navigation")[0];
  const main = performance.getEntriesByType("resource")
      .filter((r) => /voila\\/static\\/(v\\/[0-9a-f]+\\/)?voila\\.js/.test(r.name))[0];
  return Object.assign({
    html_first_byte: nav.responseStart, html_end: nav.responseEnd,
    main_js_loaded: main ? main.responseEnd : null,
  }, window.__kapMarks);
}
"""


@dataclass
class Sample:
    key_s: float
    phases: dict[str, float]
    first_bytes: int = 0
    requests: int = 0
    repeat_bytes: int | None = None
    kernel_rss_mb: float | None = None


@dataclass
class Results:
    samples: dict[str, list[Sample]] = field(default_factory=dict)
    inputs_ms: dict[str, list[float]] = field(default_factory=dict)
    server_rss_mb: list[float] = field(default_factory=list)
    input_failures: dict[str, int] = field(default_factory=dict)


def rss_mb(pid: int) -> float | None:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        return None
    return None


def kernel_pid(server: Any, kernel_id: str) -> int | None:
    for pid in kernel_pids(server):
        try:
            cmd = Path(f"/proc/{pid}/cmdline").read_bytes().decode(errors="replace")
        except OSError:
            continue
        if kernel_id in cmd:
            return pid
    return None


class ByteCounter:
    """What one page receives from the server, from the Chrome DevTools Protocol.

    - HTTP: every response's ``encodedDataLength`` (Network.loadingFinished): status
      line, headers and body as transferred (compressed when it was sent compressed; a
      304 revalidation counts its headers; a response from the browser's cache counts 0).
    - Websocket: every message the server sends to the page (the kernel's messages:
      widget state, outputs, replies), as it crosses the wire: its payload, compressed
      the way the handshake negotiated (permessage-deflate: recomputed here with the
      server's zlib settings, which CDP does not report), plus the frame header.
      Messages the page sends are counted apart (``ws_sent``), not in the total.
    """

    def __init__(self, page: Page):
        self.reset()
        cdp = page.context.new_cdp_session(page)
        cdp.send("Network.enable")
        cdp.on("Network.loadingFinished", self._finished)
        cdp.on("Network.requestWillBeSent", self._sent)
        cdp.on("Network.responseReceived", self._response)
        cdp.on("Network.requestServedFromCache", self._from_cache)
        cdp.on("Network.webSocketHandshakeResponseReceived", self._handshake)
        cdp.on("Network.webSocketFrameReceived", self._frame)
        cdp.on("Network.webSocketFrameSent", self._frame_sent)
        self.cdp = cdp

    def reset(self) -> None:
        self.requests = 0
        self.http = 0
        self.ws_received = 0
        self.ws_messages = 0
        self.ws_sent = 0
        self._responses: dict[str, tuple[str, int, str]] = {}
        self._cached: set[str] = set()
        self.rows: list[tuple[str, int, str, int]] = []  # url, status, how, bytes
        self._deflate: dict[str, Any] = {}
        self.ws_rows: list[tuple[int, bytes]] = []  # wire bytes, the message

    @property
    def total(self) -> int:
        return self.http + self.ws_received

    def _finished(self, event: dict[str, Any]) -> None:
        n = int(event.get("encodedDataLength", 0))
        self.http += n
        rid = event["requestId"]
        url, status, how = self._responses.get(rid, ("?", 0, "?"))
        if rid in self._cached:
            how = "cache"
        self.rows.append((url, status, how, n))

    def _sent(self, _event: dict[str, Any]) -> None:
        self.requests += 1

    def _response(self, event: dict[str, Any]) -> None:
        r = event["response"]
        how = "disk cache" if r.get("fromDiskCache") else "network"
        self._responses[event["requestId"]] = (r["url"], int(r["status"]), how)

    def _from_cache(self, event: dict[str, Any]) -> None:
        self._cached.add(event["requestId"])

    def _handshake(self, event: dict[str, Any]) -> None:
        headers = {k.lower(): v for k, v in event["response"].get("headers", {}).items()}
        if "permessage-deflate" in headers.get("sec-websocket-extensions", ""):
            # tornado's compressor: zlib's default level, raw deflate, context kept
            self._deflate[event["requestId"]] = zlib.compressobj(
                zlib.Z_DEFAULT_COMPRESSION, zlib.DEFLATED, -zlib.MAX_WBITS
            )

    @staticmethod
    def _payload(event: dict[str, Any]) -> bytes:
        r = event.get("response", {})
        data = r.get("payloadData", "")
        return base64.b64decode(data) if r.get("opcode") == 2 else data.encode()

    def _frame(self, event: dict[str, Any]) -> None:
        payload = self._payload(event)
        comp = self._deflate.get(event["requestId"])
        if comp is not None:
            payload = (comp.compress(payload) + comp.flush(zlib.Z_SYNC_FLUSH))[:-4]
        n = len(payload)
        self.ws_received += n + (2 if n < 126 else 4 if n < 65536 else 10)
        self.ws_messages += 1
        self.ws_rows.append((n, self._payload(event)))

    def _frame_sent(self, event: dict[str, Any]) -> None:
        self.ws_sent += len(self._payload(event))

    def breakdown(self) -> str:
        """The bytes by kind, and the largest responses (for --breakdown)."""
        kinds: dict[str, list[int]] = {}
        for _url, status, how, n in self.rows:
            kind = f"{status} {how}"
            kinds.setdefault(kind, [0, 0])
            kinds[kind][0] += 1
            kinds[kind][1] += n
        lines = [
            f"    {kind}: {c} responses, {b / 1e3:.1f} kB" for kind, (c, b) in sorted(kinds.items())
        ]
        lines.append(
            f"    websocket: {self.ws_messages} messages received, {self.ws_received / 1e3:.1f} kB"
            f" (sent {self.ws_sent / 1e3:.1f} kB)"
        )
        for url, status, how, n in sorted(self.rows, key=lambda r: -r[3])[:8]:
            lines.append(f"      {n / 1e3:8.1f} kB {status} {how} {url[:110]}")
        for n, head in sorted(self.ws_rows, key=lambda r: -r[0])[:8]:
            kinds = re.findall(rb'"(?:msg_type|_model_name|method)": ?"(\w+)"', head)
            lines.append(
                f"      {n / 1e3:8.1f} kB websocket ({len(head) / 1e3:.1f} kB uncompressed)"
                f" {b' '.join(dict.fromkeys(kinds)).decode()}"
            )
        return "\n".join(lines)


def open_view(page: Page, base: str, dash: Dashboard, timeout_ms: int) -> tuple[float, dict]:
    """Navigate; wait for the key element; return (key seconds, phases in ms)."""
    keys = [dash.widget_key] + ([dash.first_paint_key] if dash.first_paint_key else [])
    page.goto(base + dash.path, wait_until="commit", timeout=timeout_ms)
    page.evaluate(
        "(keys) => { keys.forEach((k, i) => { window.__kapWatch[k] = 'key' + i; });"
        " window.__kapCheck(); }",
        keys,
    )
    # the widget view's key element is always waited for: the phases need it and the
    # input test drives the widgets
    page.wait_for_function("() => 'key0' in window.__kapMarks", timeout=timeout_ms, polling=50)
    phases = page.evaluate(PHASES_SCRIPT)
    phases["widget_key"] = phases.pop("key0")
    if "key1" in phases:
        phases["first_paint_key"] = phases.pop("key1")
    key_ms = min(phases["widget_key"], phases.get("first_paint_key", float("inf")))
    return key_ms / 1000, phases


def type_start_date(page: Page, i: int) -> None:
    """Type a new first day (a Monday 2-5 weeks ahead) into the planner; let it reach
    the kernel before the timed "Plan course"."""
    day = dt.date.today() + dt.timedelta(days=14 + 7 * (i % 4))
    day += dt.timedelta(days=(7 - day.weekday()) % 7)
    box = page.locator(".kap-start-date input")
    box.fill(day.isoformat())
    box.press("Tab")
    page.wait_for_timeout(400)


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    k = (len(ordered) - 1) * q
    lo, hi = int(k), min(int(k) + 1, len(ordered) - 1)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (k - lo)


def fmt(value: float | None, spec: str = ".2f") -> str:
    return "–" if value is None or value != value else format(value, spec)


def report(results: Results, args: argparse.Namespace, load: str) -> None:
    names = list(results.samples)
    med: dict[str, dict[str, float | None]] = {}
    for name in names:
        ss = results.samples[name]
        phase_names = sorted({p for s in ss for p in s.phases})
        row: dict[str, float | None] = {
            "key": statistics.median(s.key_s for s in ss),
            **{
                p: statistics.median(s.phases[p] for s in ss if p in s.phases) / 1000
                for p in phase_names
                if any(p in s.phases for s in ss)
            },
        }
        row["first_mb"] = statistics.median(s.first_bytes for s in ss) / 1e6
        row["requests"] = statistics.median(s.requests for s in ss)
        reps = [s.repeat_bytes for s in ss if s.repeat_bytes is not None]
        row["repeat_mb"] = statistics.median(reps) / 1e6 if reps else None
        rss = [s.kernel_rss_mb for s in ss if s.kernel_rss_mb is not None]
        row["rss"] = statistics.median(rss) if rss else None
        ins = results.inputs_ms.get(name, [])
        row["in50"] = pct(ins, 0.5) if ins else None
        row["in95"] = pct(ins, 0.95) if ins else None
        med[name] = row
    base = med.get("baseline", {}).get("key")
    print()
    print(
        f"Dashboard speed, median of {args.runs} views per page (fresh Chromium context each), "
        f"load average at start/end: {load}"
    )
    print()
    cols = [
        ("page", None),
        ("key (s)", "key"),
        ("× plain", None),
        ("HTML end", "html_end"),
        ("first paint", "first_paint_key"),
        ("main js", "main_js_loaded"),
        ("ws open", "ws_open"),
        ("widget", "widget"),
        ("widget key", "widget_key"),
        ("input p50/p95 (ms)", None),
        ("first view (MB)", "first_mb"),
        ("requests", "requests"),
        ("repeat (MB)", "repeat_mb"),
        ("kernel RSS (MB)", "rss"),
    ]
    print("| " + " | ".join(c for c, _ in cols) + " |")
    print("|" + "|".join("---" for _ in cols) + "|")
    for name in names:
        r = med[name]
        cells = []
        for title, k in cols:
            if title == "page":
                cells.append(name)
            elif title == "× plain":
                cells.append(fmt(r["key"] / base if base else None))
            elif title.startswith("input"):
                cells.append(f"{fmt(r['in50'], '.0f')} / {fmt(r['in95'], '.0f')}")
            elif k in ("rss", "requests"):
                cells.append(fmt(r.get(k), ".0f"))
            else:
                cells.append(fmt(r.get(k)))
        print("| " + " | ".join(cells) + " |")
    if results.server_rss_mb:
        print(f"\nVoilà server RSS: {max(results.server_rss_mb):.0f} MB (max over the run)")
    print("\nPer-view key times (s):")
    for name in names:
        print(f"  {name:12s} " + ", ".join(f"{s.key_s:.2f}" for s in results.samples[name]))
    dashboards = [n for n in names if n != "baseline"]
    misses = []
    for n in dashboards:
        r = med[n]
        if r["key"] > KEY_MAX_S:
            misses.append(f"{n} key {r['key']:.2f} s")
        if base and r["key"] / base > KEY_RATIO_MAX:
            misses.append(f"{n} {r['key'] / base:.2f}× plain")
        if results.input_failures.get(n):
            misses.append(f"{n} {results.input_failures[n]} inputs without a result")
        if r["in95"] is not None and r["in95"] > INPUT_P95_MAX_MS:
            misses.append(f"{n} input p95 {r['in95']:.0f} ms")
        if r["first_mb"] > FIRST_VIEW_MAX_MB:
            misses.append(f"{n} first view {r['first_mb']:.1f} MB")
        if r["repeat_mb"] is not None and r["repeat_mb"] > REPEAT_VIEW_MAX_MB:
            misses.append(f"{n} repeat view {r['repeat_mb']:.2f} MB")
        if r["rss"] is not None and r["rss"] > KERNEL_RSS_MAX_MB:
            misses.append(f"{n} kernel {r['rss']:.0f} MB")
    keys = ", ".join(f"{n} {med[n]['key']:.2f} s" for n in dashboards)
    print(
        f"\nSUMMARY: key element {keys}; plain page {fmt(base)} s; load {load}; "
        + ("all targets met" if not misses else "targets missed: " + "; ".join(misses))
    )


def loadavg() -> str:
    try:
        return " ".join(Path("/proc/loadavg").read_text().split()[:3])
    except OSError:
        return "?"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=7, help="views per page (the median is shown)")
    ap.add_argument("--quick", action="store_true", help="2 runs, 5 inputs: for development")
    ap.add_argument(
        "--refill",
        type=float,
        default=12.0,
        help="seconds between views, for the preheated kernel pool to refill",
    )
    ap.add_argument("--inputs", type=int, default=12, help="inputs timed per dashboard")
    ap.add_argument("--pages", default=",".join(PAGES), help="comma-separated page names")
    ap.add_argument(
        "--breakdown", action="store_true", help="print where run 1's bytes went, per view"
    )
    ap.add_argument("--trace", type=Path, help="save one Chromium trace per page here")
    ap.add_argument("--timeout", type=float, default=120.0, help="seconds per view at most")
    ap.add_argument("server_args", nargs="*", help="extra options for the server (after --)")
    args = ap.parse_args()
    if args.quick:
        args.runs, args.inputs, args.refill = 2, 5, min(args.refill, 8.0)
    pages = [PAGES[p] for p in args.pages.split(",")]
    timeout_ms = int(args.timeout * 1000)
    load_start = loadavg()
    results = Results()

    with tempfile.TemporaryDirectory() as tmp:
        tmpdir = Path(tmp)
        site = tmpdir / "site"
        site.mkdir()
        for nb_file in (ROOT / "dashboards").glob("*.ipynb"):
            shutil.copy(nb_file, site / nb_file.name)
        nb = new_notebook(cells=[new_code_cell(c) for c in BASELINE_CELLS])
        nb.metadata["kernelspec"] = {
            "name": "python3",
            "display_name": "Python 3",
            "language": "python",
        }
        nbformat.write(nb, site / "baseline.ipynb")
        url = f"sqlite:///{tmpdir / 'demo.sqlite'}"
        build_demo_database(Store(url))
        env = {"KAPTOOLS_DATABASE_URL": url, "PYTHONPATH": os.pathsep.join(sys.path)}
        if args.trace:
            args.trace.mkdir(parents=True, exist_ok=True)
        with (
            voila_server(site, env=env, extra_args=tuple(args.server_args)) as base,
            sync_playwright() as pw,
        ):
            launch: dict[str, Any] = {"args": list(CHROMIUM_ARGS)}
            if chromium_path():
                launch["executable_path"] = chromium_path()
            browser = pw.chromium.launch(**launch)
            time.sleep(args.refill * 2)  # let the first pools fill
            for run in range(args.runs + 1):  # run 0 warms the server and its caches
                order = pages[run % len(pages) :] + pages[: run % len(pages)]
                for dash in order:
                    ctx = browser.new_context()
                    ctx.add_init_script(INIT_SCRIPT % json.dumps(MARKS))
                    page = ctx.new_page()
                    counter = ByteCounter(page)
                    tracing = args.trace is not None and run == 1
                    if tracing:
                        browser.start_tracing(page=page, screenshots=True)
                    try:
                        key_s, phases = open_view(page, base, dash, timeout_ms)
                    except Exception:
                        page.screenshot(path=f"/tmp/bench-fail-{dash.name}.png", full_page=True)
                        raise
                    if tracing:
                        (args.trace / f"{dash.name}.json").write_bytes(browser.stop_tracing())
                    page.wait_for_timeout(1500)  # the patient's load has settled
                    sample = Sample(key_s, phases, counter.total, counter.requests)
                    kid = page.evaluate(
                        "() => JSON.parse(document.getElementById('jupyter-config-data')"
                        ".textContent).kernelId"
                    )
                    if run > 0 and dash.name != "baseline" and run <= 2:
                        for i in range(args.inputs):
                            try:
                                if dash.name == "planner":
                                    type_start_date(page, i + run * 100)
                                ms = page.evaluate(INPUT_SCRIPT, [dash.name, i + run * 100])
                            except Exception as exc:  # counted, shown in the table
                                print(f"  {dash.name} input {i}: no result ({exc})", flush=True)
                                results.input_failures[dash.name] = (
                                    results.input_failures.get(dash.name, 0) + 1
                                )
                                continue
                            if ms is not None:
                                results.inputs_ms.setdefault(dash.name, []).append(ms)
                    kpid = kernel_pid(base, kid)
                    sample.kernel_rss_mb = rss_mb(kpid) if kpid else None
                    if args.breakdown and run == 1:
                        print(f"  {dash.name} first view:\n{counter.breakdown()}", flush=True)
                    if run == 1:  # repeat view: the same context, its cache warm
                        page.goto("about:blank")
                        counter.reset()
                        open_view(page, base, dash, timeout_ms)
                        page.wait_for_timeout(1500)  # the patient's load has settled
                        sample.repeat_bytes = counter.total
                        if args.breakdown:
                            print(f"  {dash.name} repeat view:\n{counter.breakdown()}", flush=True)
                    server_rss = rss_mb(base.pid)
                    if server_rss:
                        results.server_rss_mb.append(server_rss)
                    ctx.close()
                    if run > 0:
                        results.samples.setdefault(dash.name, []).append(sample)
                    timeline = sorted(phases.items(), key=lambda kv: kv[1])
                    shown = ", ".join(f"{k} {v / 1000:.2f}" for k, v in timeline)
                    print(f"run {run} {dash.name:12s} key {key_s:.2f} s ({shown})", flush=True)
                    time.sleep(args.refill)
            browser.close()
    report(results, args, f"{load_start} / {loadavg()}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
