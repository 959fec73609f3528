"""Screening a whole cohort, step by step: read, check, screen column-wise, tabulate."""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from typing import Any

import pandas as pd

from kaptools.errors import InvalidInputError
from kaptools.partitions import is_dask_frame, screen_by_partition
from kaptools.progress import StageBar
from kaptools.protocol import Protocol, default_protocol
from kaptools.screening.catalogue import rule_catalogue
from kaptools.screening.cohort.columnwise import screen_arrays
from kaptools.screening.cohort.files import frame_from_records, read_cohort
from kaptools.screening.cohort.result import CohortResult, tabulate
from kaptools.screening.layout import parse_frame
from kaptools.screening.record import ScreeningRecord

__all__ = ["screen_cohort"]


def screen_cohort(
    data: pd.DataFrame | str | os.PathLike[str] | Iterable[ScreeningRecord | Mapping[str, Any]],
    *,
    protocol: Protocol | None = None,
    progress: bool | None = None,
) -> CohortResult:
    """Screen every patient of a cohort, column-wise.

    Args:
        data: a DataFrame in the wide layout (pandas, or Dask: each partition is
            screened by this same code, see :mod:`kaptools.partitions`); the path of a
            ``.csv`` / ``.parquet`` / ``.jsonl`` file;
            or an iterable of records (ScreeningRecord or mappings).
        protocol: the clinic's protocol; the shipped default when None.
        progress: a progress bar over the stages (read, checked, screened, tabulated):
            None draws one when a terminal or notebook is watching
            (:mod:`kaptools.progress`), True / False always / never.

    Returns:
        A :class:`CohortResult`. Malformed rows are listed in ``errors`` (with the
        reason) and get the status ``malformed``; they never stop the rest.

    Raises:
        InvalidInputError: the input as a whole cannot be used (unknown or missing
            columns, a missing file, an unsupported file type).
    """
    protocol = default_protocol() if protocol is None else protocol
    if is_dask_frame(data):  # the same code per partition (kaptools.partitions)
        return screen_by_partition(data, protocol, screen_cohort)
    with StageBar(4, progress=progress, desc="kaptools screen") as bar:
        if isinstance(data, pd.DataFrame):
            frame = data
        elif isinstance(data, str | os.PathLike):
            frame = read_cohort(data)
        elif isinstance(data, Iterable) and not isinstance(data, bytes | Mapping):
            frame = frame_from_records(data)
        else:
            msg = (
                f"screen_cohort takes a DataFrame, a file path or records "
                f"(got {type(data).__name__})"
            )
            raise InvalidInputError(msg)
        bar.advance("read")
        parsed = parse_frame(frame)
        bar.advance("checked")
        catalogue = rule_catalogue(protocol)
        screened = screen_arrays(parsed, protocol, catalogue)
        bar.advance("screened")
        result = tabulate(parsed, screened, protocol)
        bar.advance("tabulated")
    return result
