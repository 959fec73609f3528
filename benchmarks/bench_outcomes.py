"""Benchmark of cohort outcomes: patients per second for ``course_outcomes``.

Run:  .venv/bin/python benchmarks/bench_outcomes.py [--patients 10000] [--per-patient 8]

Builds ``patients`` × ``per-patient`` PHQ-9 administrations with random answers as
an in-memory frame (not timed), then times ``course_outcomes`` (best of ``--repeat``
runs). The process is pinned to one CPU core where the OS allows it (the target:
10,000 patients in at most 1 s on one core). Not a test: it prints figures and exits 0.
"""

from __future__ import annotations

import argparse
import os
import platform
import time

import numpy as np
import pandas as pd

from kaptools.outcomes import course_outcomes
from kaptools.scores import item_columns

TARGET_SECONDS_PER_10K = 1.0


def _pin_to_one_core() -> str:
    if hasattr(os, "sched_setaffinity"):
        core = min(os.sched_getaffinity(0))
        os.sched_setaffinity(0, {core})
        return f"pinned to core {core}"
    return "not pinned (no sched_setaffinity on this OS)"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--patients", type=int, default=10_000)
    parser.add_argument("--per-patient", type=int, default=8, help="administrations each")
    parser.add_argument("--repeat", type=int, default=3, help="runs; the best is kept")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()

    pinning = _pin_to_one_core()
    print(
        f"Python {platform.python_version()} on {platform.machine()}, "
        f"{os.cpu_count()} CPUs, {pinning}"
    )
    rng = np.random.default_rng(args.seed)
    n, k = args.patients, args.per_patient
    frame = pd.DataFrame(rng.integers(0, 4, size=(n * k, 9)), columns=list(item_columns("phq9")))
    frame.insert(0, "patient_id", np.repeat([f"P{i:07d}" for i in range(n)], k))
    frame.insert(
        1, "administered_on", np.tile(pd.date_range("2026-01-05", periods=k, freq="7D"), n)
    )

    best = float("inf")
    for _ in range(args.repeat):
        t = time.perf_counter()
        out = course_outcomes(frame, "phq9")
        best = min(best, time.perf_counter() - t)
    assert len(out) == n
    per_10k = best * 10_000 / n
    print(
        f"course_outcomes: {n:,} patients × {k} administrations in {best:.3f} s "
        f"(best of {args.repeat}); {n / best:,.0f} patients/s; "
        f"{per_10k:.3f} s per 10,000 patients (target ≤ {TARGET_SECONDS_PER_10K} s)"
    )


if __name__ == "__main__":
    main()
