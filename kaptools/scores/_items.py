"""One name per item across kaptools: ``<instrument>_item<n>`` (``phq9_item1`` … ``phq9_item9``).

The name matches the rest of the package: the screening cohort layout's
``phq9_item1`` columns, the alert id ``phq9_item9`` and the protocol keys
``phq9_item9_alert_min`` / ``qids_sr16_item12_alert_min``. Frames written by
earlier kaptools versions used ``item_1`` (assessment and synthetic frames) or
``phq9_1`` (``score_frame``'s default); :func:`with_item_columns` reads them, and
nothing else: a frame holding two spellings of one item is refused, never merged.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from kaptools.arguments import checks_itself
from kaptools.errors import InvalidInputError
from kaptools.scores._definitions import Instrument
from kaptools.scores._table import definition

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["item_column", "item_columns", "legacy_item_columns", "with_item_columns"]


# item: its own check names the instrument's item range
@checks_itself("item")
def item_column(instrument: Instrument | str, item: int) -> str:
    """The column name of ``instrument``'s item ``item`` (1-based), e.g. ``phq9_item9``."""
    defn = definition(instrument)
    if not isinstance(item, int) or isinstance(item, bool) or not 1 <= item <= defn.item_count:
        raise InvalidInputError(
            f"item: the {defn.name} has items 1 to {defn.item_count} (got {item!r})."
        )
    return f"{defn.instrument.value}_item{item}"


def item_columns(instrument: Instrument | str) -> tuple[str, ...]:
    """Every item column of ``instrument``, in item order."""
    defn = definition(instrument)
    return tuple(f"{defn.instrument.value}_item{i}" for i in range(1, defn.item_count + 1))


def legacy_item_columns(instrument: Instrument | str) -> tuple[tuple[str, ...], ...]:
    """Older spellings kaptools wrote for the same items, newest first.

    ``<instrument>_<n>`` (``score_frame`` before 0.2) and ``item_<n>`` (assessment
    and synthetic frames before 0.2).
    """
    defn = definition(instrument)
    n = range(1, defn.item_count + 1)
    return (
        tuple(f"{defn.instrument.value}_{i}" for i in n),
        tuple(f"item_{i}" for i in n),
    )


def with_item_columns(frame: pd.DataFrame, instrument: Instrument | str) -> pd.DataFrame:
    """``frame`` with ``instrument``'s items under their one name (:func:`item_columns`).

    A frame already using the names is returned as it is. A frame using one older
    spelling throughout (:func:`legacy_item_columns`) gets its columns renamed (a
    copy). Raises InvalidInputError when the items are absent, only partly present,
    or present under more than one spelling, naming the columns found.
    """
    canonical = item_columns(instrument)
    present = set(frame.columns)
    spellings = [canonical, *legacy_item_columns(instrument)]
    found = [cols for cols in spellings if present & set(cols)]
    name = definition(instrument).name
    if len(found) > 1:
        clash = [sorted(present & set(cols))[:3] for cols in found]
        raise InvalidInputError(
            f"item columns: the frame holds {name} items under more than one name "
            f"({clash}); keep one spelling ({canonical[0]}…{canonical[-1]}) and drop the others."
        )
    if not found:
        raise InvalidInputError(
            f"item columns: the frame has no {name} item columns; expected "
            f"{canonical[0]}…{canonical[-1]} (older files: {spellings[1][0]}… or "
            f"{spellings[2][0]}…)."
        )
    cols = found[0]
    absent = [c for c in cols if c not in present]
    if absent:
        raise InvalidInputError(
            f"item columns: the frame lacks {name} item column(s) {absent}; every item "
            f"column {cols[0]}…{cols[-1]} is needed (an unanswered item is an empty cell)."
        )
    if cols is canonical:
        return frame
    return frame.rename(columns=dict(zip(cols, canonical, strict=True)))
