"""Benchmark of screening on Dask: records per second for 10 million synthetic records.

Run:  .venv/bin/python benchmarks/bench_distributed.py [--records 10000000] [--partitions 20]
      [--scheduler tcp://host:8786]

Builds one block of ``records / partitions`` synthetic records and gives every
partition a copy (not timed; kept in memory with ``persist``), then times
``screen_cohort``'s per-partition code (the same vectorised pandas code as one
machine) reducing to status counts, so nothing but the counts comes back. Without
``--scheduler`` it starts a local ``dask.distributed`` cluster with one worker
process per core. Not a test: it prints
figures and exits 0.
"""

from __future__ import annotations

import argparse
import os
import platform
import time

import dask
import dask.dataframe as dd
import pandas as pd
from distributed import Client, LocalCluster

from kaptools.screening import screen_cohort, synthetic_screening_frame


def _shifted(block: pd.DataFrame, offset: int) -> pd.DataFrame:
    return block.set_axis(block.index + offset)


def _statuses(part: pd.DataFrame) -> pd.DataFrame:
    counts = screen_cohort(part, progress=False).status_counts
    return counts.rename("patients").rename_axis("status").reset_index()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=10_000_000)
    parser.add_argument("--partitions", type=int, default=20)
    parser.add_argument("--scheduler", help="address of a running Dask scheduler")
    args = parser.parse_args()

    cores = os.cpu_count() or 1
    if args.scheduler:
        client = Client(args.scheduler)
        where = f"cluster at {args.scheduler}"
    else:
        cluster = LocalCluster(n_workers=cores, threads_per_worker=1, dashboard_address=None)
        client = Client(cluster)
        where = f"local cluster, {cores} worker processes"
    print(f"Python {platform.python_version()} on {platform.machine()}, {cores} CPUs; {where}")
    size = args.records // args.partitions
    # One block of synthetic records, built once and shared: every partition holds the
    # same records (the screening work is the same; building 10 million records one
    # by one would take longer than screening them).
    t = time.perf_counter()
    block = synthetic_screening_frame(size, seed=1)
    [shared] = client.scatter([block], broadcast=True)
    parts = [dask.delayed(_shifted)(shared, i * size) for i in range(args.partitions)]
    frame = dd.from_delayed(parts, meta=block.iloc[:0], verify_meta=False).persist()
    n = int(frame.map_partitions(len).sum().compute())
    print(f"built {n:,} records in {args.partitions} partitions in {time.perf_counter() - t:.1f} s")

    t = time.perf_counter()
    meta_counts = _statuses(synthetic_screening_frame(5, seed=0))
    counts = (
        frame.map_partitions(_statuses, meta=meta_counts.iloc[:0])
        .groupby("status", observed=True)["patients"]
        .sum()
        .compute()
    )
    elapsed = time.perf_counter() - t
    assert int(counts.sum()) == n
    print(f"screened {n:,} records in {elapsed:.1f} s: {n / elapsed:,.0f} records/s")
    print(counts.to_string())
    client.close()


if __name__ == "__main__":
    main()
