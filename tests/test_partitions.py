"""Dask DataFrames: screen_cohort and course_outcomes run the same pandas code per
partition and give results identical to the pandas path, on a local dask.distributed cluster."""

from __future__ import annotations

import pandas as pd
import pytest

dd = pytest.importorskip("dask.dataframe")
distributed = pytest.importorskip("distributed")

from kaptools.outcomes import course_outcomes, outcome_rates  # noqa: E402
from kaptools.protocol import default_protocol  # noqa: E402
from kaptools.screening import screen_cohort, synthetic_screening_frame  # noqa: E402
from kaptools.synthetic import assessment_frame, generate_patients  # noqa: E402


@pytest.fixture(scope="module")
def client():
    """A small local cluster: two worker threads in this process (no extra processes)."""
    with (
        distributed.LocalCluster(
            n_workers=1, threads_per_worker=2, processes=False, dashboard_address=None
        ) as cluster,
        distributed.Client(cluster) as c,
    ):
        yield c


def test_screening_partitions_equal_the_pandas_path(client) -> None:
    """Table, fired rules, alerts and errors are identical, row numbers included."""
    frame = synthetic_screening_frame(900, seed=12)
    frame = frame.astype(object)
    frame.loc[5, "age_years"] = "forty"  # a malformed row in the first partition
    frame.loc[700, "age_years"] = "old"  # and one in a later one
    expected = screen_cohort(frame, progress=False)
    got = screen_cohort(dd.from_pandas(frame, npartitions=4), progress=False)
    pd.testing.assert_frame_equal(got.table, expected.table)
    pd.testing.assert_frame_equal(got.fired, expected.fired)
    pd.testing.assert_frame_equal(got.alerts_fired, expected.alerts_fired)
    pd.testing.assert_frame_equal(got.errors, expected.errors)
    assert got.status_counts.equals(expected.status_counts)
    assert got.protocol == expected.protocol


def test_outcome_partitions_equal_the_pandas_path(client) -> None:
    """Patients split over partitions are shuffled together first: same outcomes, same rates."""
    frame = assessment_frame(generate_patients(80, seed=6), "phq9")
    # dates as datetime64: Dask turns Python objects (datetime.date) into text
    frame["administered_on"] = pd.to_datetime(frame["administered_on"])
    lenient = default_protocol().with_changes({"measures.response_reduction_min": 0.4})
    expected = course_outcomes(frame, "phq9", protocol=lenient)
    ddf = dd.from_pandas(frame, npartitions=5)  # cuts through patients' rows
    got = course_outcomes(ddf, "phq9", protocol=lenient)
    pd.testing.assert_frame_equal(got, expected)
    pd.testing.assert_frame_equal(
        outcome_rates(got, by="route"), outcome_rates(expected, by="route")
    )
