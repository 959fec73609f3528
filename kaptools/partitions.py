"""Past one machine: the cohort functions on a Dask DataFrame, one partition at a time.

``screen_cohort`` and ``course_outcomes`` accept a ``dask.dataframe.DataFrame`` and
run their ordinary vectorised pandas code on each partition (no second
implementation), then put the partitions' results together so they are identical to
the pandas path. Outcomes need every administration of a patient in one partition:
the frame is shuffled on ``patient_id`` first. Give dates as ``datetime64`` columns:
Dask converts Python objects (``datetime.date``) to text when it builds a frame.

Dask is optional (the ``distributed`` extra). Point it at a real cluster by creating
a ``dask.distributed.Client("tcp://scheduler:8786")`` before calling; without one,
Dask's local scheduler runs the partitions on this machine.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from dataclasses import replace
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

if TYPE_CHECKING:
    from kaptools.protocol import Protocol
    from kaptools.screening.cohort import CohortResult

__all__ = ["is_dask_frame", "outcomes_by_partition", "screen_by_partition"]


def is_dask_frame(data: object) -> bool:
    """True for a Dask DataFrame (without importing Dask when it is not in use)."""
    if "dask.dataframe" not in sys.modules:
        return False
    import dask.dataframe as dd

    return isinstance(data, dd.DataFrame)


def screen_by_partition(
    data: Any, protocol: Protocol, screen: Callable[..., CohortResult]
) -> CohortResult:
    """``screen`` (:func:`kaptools.screening.screen_cohort`) of each partition, put together.

    Rows keep their index; ``row`` numbers (and the error table's) count across the
    whole frame, as the pandas path numbers them. The caller passes its own function,
    so this module imports neither screening nor outcomes (no import circle).
    """
    import dask

    def one(part: pd.DataFrame) -> CohortResult:
        return screen(part, protocol=protocol, progress=False)

    results = dask.compute(*[dask.delayed(one)(p) for p in data.to_delayed()])
    offsets = np.cumsum([0, *(len(r.table) for r in results[:-1])])
    tables, errors = [], []
    for offset, r in zip(offsets, results, strict=True):
        table = r.table.copy()
        table["row"] = table["row"] + offset
        tables.append(table)
        err = r.errors.copy()
        if "row" in err.columns:
            err["row"] = err["row"] + offset
        errors.append(err)
    first = results[0]

    def concat(frames: list[pd.DataFrame]) -> pd.DataFrame:
        out = pd.concat(frames)
        for col in frames[0].columns:
            dtypes = [f[col].dtype for f in frames]
            if isinstance(dtypes[0], pd.CategoricalDtype):
                # categoricals: the union of the partitions' categories, in order
                cats = list(dict.fromkeys(c for f in frames for c in f[col].cat.categories))
                out[col] = out[col].astype(pd.CategoricalDtype(cats))
            elif any(d != dtypes[0] for d in dtypes):
                # a partition without values (e.g. no error text) infers object; the
                # whole frame infers the type of the partitions that have values
                typed = [d for d in dtypes if not pd.api.types.is_object_dtype(d)]
                out[col] = out[col].astype(typed[0] if typed else object)
        return out

    return replace(
        first,
        table=concat(tables),
        fired=pd.concat([r.fired for r in results]),
        alerts_fired=pd.concat([r.alerts_fired for r in results]),
        errors=concat(errors).reset_index(drop=True),
    )


def outcomes_by_partition(
    frame: Any,
    instrument: Any,
    *,
    protocol: Protocol | None,
    item_columns: Any,
    nan_is_unanswered: bool = False,
    course_outcomes: Callable[..., pd.DataFrame],
) -> pd.DataFrame:
    """``course_outcomes`` (:func:`kaptools.outcomes.course_outcomes`) per partition of a
    frame shuffled on ``patient_id`` (each patient in one partition), sorted by patient as
    pandas sorts."""
    kwargs = {
        "protocol": protocol,
        "item_columns": item_columns,
        "nan_is_unanswered": nan_is_unanswered,
    }
    meta = course_outcomes(frame._meta, instrument, **kwargs)
    shuffled = frame.shuffle("patient_id")
    parts = shuffled.map_partitions(course_outcomes, instrument, meta=meta, **kwargs)
    out = parts.compute()
    return out.sort_values("patient_id", kind="stable", ignore_index=True)
