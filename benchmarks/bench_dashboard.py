"""Time from navigation to a populated chart: trends dashboard vs a plain baseline notebook.

Starts Voilà as `make run` does (preheated kernels) over a private synthetic demo
database, warms each page once, then opens each page RUNS times in a fresh browser
context and prints the median time from navigation to the first drawn plotly chart,
and the ratio between the two. Target (issue 2): trends median <= 2.5 s on a 2-core
machine with a warm server.

    .venv/bin/python benchmarks/bench_dashboard.py [--runs 5] [--refill 10]
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import tempfile
import time
from pathlib import Path

import nbformat
from nbformat.v4 import new_code_cell, new_notebook
from playwright.sync_api import sync_playwright

from kaptools.demo import build_demo_database
from kaptools.store import Store
from kaptools.testing import CHROMIUM_ARGS, chromium_path, voila_server

ROOT = Path(__file__).resolve().parents[1]

BASELINE_CELLS = [
    "import pandas as pd\nimport plotly.graph_objects as go\nimport ipywidgets as w",
    "df = pd.DataFrame({'week': range(8), 'score': [20, 18, 15, 12, 10, 9, 8, 8]})\n"
    "w.Dropdown(options=['a', 'b'], description='Pick')",
    "go.Figure(go.Scatter(x=df.week, y=df.score))",
]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument(
        "--refill",
        type=float,
        default=10.0,
        help="seconds to let the preheated kernel pool refill between views",
    )
    ap.add_argument("--patient", default="SYN-0003")
    args = ap.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        tmpdir = Path(tmp)
        site = tmpdir / "site"
        site.mkdir()
        shutil.copy(ROOT / "dashboards" / "trends.ipynb", site / "trends.ipynb")
        nb = new_notebook(cells=[new_code_cell(c) for c in BASELINE_CELLS])
        nb.metadata["kernelspec"] = {
            "name": "python3",
            "display_name": "Python 3",
            "language": "python",
        }
        nbformat.write(nb, site / "baseline.ipynb")
        url = f"sqlite:///{tmpdir / 'demo.sqlite'}"
        build_demo_database(Store(url))
        env = {"KAPTOOLS_DATABASE_URL": url}
        pages = {
            "trends": (
                f"/voila/render/trends.ipynb?patient={args.patient}",
                ".kap-trend-chart .js-plotly-plot .scatterlayer .trace",
            ),
            "baseline": ("/voila/render/baseline.ipynb", ".js-plotly-plot"),
        }
        times: dict[str, list[float]] = {k: [] for k in pages}
        with voila_server(site, env=env) as base, sync_playwright() as pw:
            launch = {"args": list(CHROMIUM_ARGS)}
            if chromium_path():
                launch["executable_path"] = chromium_path()
            browser = pw.chromium.launch(**launch)
            time.sleep(args.refill)  # let the first pools fill
            for run in range(args.runs + 1):  # run 0 warms the server and browser cache paths
                for name, (path, selector) in pages.items():
                    ctx = browser.new_context()
                    page = ctx.new_page()
                    t0 = time.perf_counter()
                    page.goto(base + path, timeout=120_000)
                    try:
                        page.locator(selector).first.wait_for(state="visible", timeout=60_000)
                    except Exception:
                        page.screenshot(path="/tmp/bench-fail.png", full_page=True)
                        raise
                    elapsed = time.perf_counter() - t0
                    ctx.close()
                    if run > 0:
                        times[name].append(elapsed)
                    time.sleep(args.refill)
            browser.close()
    med = {k: statistics.median(v) for k, v in times.items()}
    for k, v in times.items():
        print(
            f"{k:9s} navigation -> chart drawn: median {med[k]:.2f} s "
            f"(runs: {', '.join(f'{x:.2f}' for x in v)})"
        )
    print(f"ratio trends / baseline: {med['trends'] / med['baseline']:.2f}")
    print(f"target trends median <= 2.50 s: {'met' if med['trends'] <= 2.5 else 'NOT met'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
