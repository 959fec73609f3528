"""One name per item (phq9_item1 …) across kaptools; older spellings are read, never mixed."""

from __future__ import annotations

import pandas as pd
import pytest

from kaptools.errors import InvalidInputError
from kaptools.scores import (
    Instrument,
    definition,
    item_column,
    item_columns,
    legacy_item_columns,
    score_frame,
    with_item_columns,
)
from kaptools.screening import synthetic_screening_records
from kaptools.screening.layout import records_to_frame


@pytest.mark.parametrize("instrument", list(Instrument))
def test_item_names_follow_one_pattern(instrument) -> None:
    """<instrument>_item<n>, n from 1 to the item count."""
    cols = item_columns(instrument)
    assert len(cols) == definition(instrument).item_count
    assert cols[0] == f"{instrument.value}_item1" == item_column(instrument, 1)


def test_the_screening_layout_uses_the_same_item_names() -> None:
    """The cohort layout's PHQ-9 columns are the package-wide names."""
    frame = records_to_frame(synthetic_screening_records(3, seed=2))
    assert set(item_columns("phq9")) <= set(frame.columns)


@pytest.mark.parametrize("bad", [0, 10, True, "1"])
def test_item_numbers_out_of_range_are_refused(bad) -> None:
    """item_column names the instrument's item range."""
    with pytest.raises(InvalidInputError, match="items 1 to 9"):
        item_column("phq9", bad)


@pytest.mark.parametrize("which", [0, 1])
def test_score_frame_reads_every_spelling_the_same(which) -> None:
    """score_frame gives the same totals for phq9_item1…, phq9_1… and item_1…."""
    values = {c: [1, 2] for c in item_columns("phq9")}
    frame = pd.DataFrame(values)
    old = frame.rename(
        columns=dict(zip(item_columns("phq9"), legacy_item_columns("phq9")[which], strict=True))
    )
    pd.testing.assert_frame_equal(score_frame(old, "phq9"), score_frame(frame, "phq9"))
    assert with_item_columns(frame, "phq9") is frame


def test_partly_present_items_are_named() -> None:
    """A frame missing some items names them."""
    frame = pd.DataFrame({c: [0] for c in item_columns("gad7")[:5]})
    with pytest.raises(InvalidInputError, match="gad7_item6"):
        with_item_columns(frame, "gad7")
    with pytest.raises(InvalidInputError, match="no GAD-7 item columns"):
        with_item_columns(pd.DataFrame({"x": [1]}), "gad7")
