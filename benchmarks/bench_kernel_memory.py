"""Dashboard kernels' memory (issue 14: <= 120 MB RSS each), preheated and after a view.

Serves the dashboards as `make run` does (``python -m kaptools.server``: one preheated
kernel per dashboard) over a private synthetic demo database, waits until every pool
kernel has run its notebook, and reads each kernel's RSS (VmRSS, /proc) as Voilà would
hand it to a page. Then, in each of those kernels (over its Jupyter connection, as the
privacy test does), a patient's view arrives the way the browser sends it (the URL
widget's ``?patient=``) and one input is made (the same as tests/ui/test_kernel_modules.py:
trends a measure chosen, eligibility a diagnosis code typed, planner "Plan course",
what-if "Compare"), and the RSS is read again. Also shows which heavy libraries each
kernel holds. Prints a Markdown table and the machine's load average. The server and
its kernels are stopped at the end; nothing is written outside a temporary folder.

    PYTHONPATH=$PWD .venv/bin/python benchmarks/bench_kernel_memory.py [--rounds 3]

(``bench_dashboard.py`` also reports the page kernel's RSS after a real browser view.)
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

from kaptools.demo import build_demo_database
from kaptools.store import Store
from kaptools.testing import kernel_pids, voila_server
from kaptools.testing import run_in_kernel as run_in

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from tests.ui.test_kernel_modules import HEAVY, VIEW_AND_INPUT  # noqa: E402 (the same inputs)

TARGET_MB = 120.0
APPS = {"TrendsApp": "trends", "EligibilityApp": "eligibility", "PlannerApp": "planner",
        "WhatIfApp": "whatif"}  # fmt: skip


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError(f"no VmRSS for {pid}")


HELD = f"__import__('json').dumps(sorted(m for m in {HEAVY!r} if m in __import__('sys').modules))"


def measure_once(site: Path, env: dict[str, str], pool: int) -> dict[str, dict[str, object]]:
    out: dict[str, dict[str, object]] = {}
    with voila_server(site, env=env) as base:
        deadline = time.monotonic() + 300
        while len(kernel_pids(base)) < pool:
            if time.monotonic() > deadline:
                raise RuntimeError("the preheated pool did not start")
            time.sleep(1)
        pids = kernel_pids(base)
        names: dict[int, str] = {}
        for pid in pids:  # waits in each kernel's queue until its notebook has run
            while True:
                kind = run_in(
                    pid, "", "__import__('json').dumps(type(globals().get('app')).__name__)"
                )
                if kind in APPS:
                    names[pid] = APPS[str(kind)]
                    break
                if time.monotonic() > deadline:
                    raise RuntimeError(f"kernel {pid} never ran its dashboard")
                time.sleep(2)
        time.sleep(3)  # let the pool settle (no refill is pending: no page took a kernel)
        for pid, name in names.items():
            out[name] = {"preheated": rss_mb(pid), "held_preheated": run_in(pid, "", HELD)}
        for pid, name in names.items():
            run_in(pid, VIEW_AND_INPUT[name], "'null'")
            out[name]["after"] = rss_mb(pid)
            out[name]["held_after"] = run_in(pid, "", HELD)
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rounds", type=int, default=3, help="server starts (the median is shown)")
    args = ap.parse_args()
    load_start = " ".join(f"{x:.1f}" for x in os.getloadavg())
    rounds = []
    with tempfile.TemporaryDirectory() as tmp:
        tmpdir = Path(tmp)
        site = tmpdir / "site"
        site.mkdir()
        for nb in (ROOT / "dashboards").glob("*.ipynb"):
            shutil.copy(nb, site / nb.name)
        url = f"sqlite:///{tmpdir / 'demo.sqlite'}"
        build_demo_database(Store(url))
        env = {
            "KAPTOOLS_DATABASE_URL": url,
            "KAPTOOLS_HOME": str(tmpdir / "home"),
            "PYTHONPATH": os.pathsep.join(sys.path),
        }
        pool = len(list(site.glob("*.ipynb")))
        for i in range(args.rounds):
            rounds.append(measure_once(site, env, pool))
            shown = ", ".join(
                f"{n} {r['preheated']:.0f}/{r['after']:.0f}" for n, r in sorted(rounds[-1].items())
            )
            print(f"round {i + 1}: preheated/after MB: {shown}", flush=True)
    load_end = " ".join(f"{x:.1f}" for x in os.getloadavg())
    print()
    print(f"Kernel RSS, median of {args.rounds} server starts (target <= {TARGET_MB:.0f} MB)")
    print()
    print("| dashboard | preheated (MB) | after a view and an input (MB) | heavy libraries held |")
    print("|---|---|---|---|")
    misses = []
    for name in sorted(rounds[0]):
        pre = statistics.median(float(r[name]["preheated"]) for r in rounds)  # type: ignore[arg-type]
        after = statistics.median(float(r[name]["after"]) for r in rounds)  # type: ignore[arg-type]
        held = ", ".join(rounds[-1][name]["held_after"]) or "none"  # type: ignore[arg-type]
        print(f"| {name} | {pre:.0f} | {after:.0f} | {held} |")
        misses += [f"{name} {v:.0f} MB" for v in (pre, after) if v > TARGET_MB]
    print()
    print(f"load average (1, 5, 15 min): {load_start} at the start, {load_end} at the end")
    verdict = "met" if not misses else "missed: " + ", ".join(misses)
    print(f"SUMMARY: kernel RSS <= {TARGET_MB:.0f} MB {verdict}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
