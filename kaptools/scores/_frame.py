"""score_frame(): score every row of a DataFrame with the scalar core (no rule re-implemented)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from kaptools.errors import IncompleteAnswersError, InvalidAnswerError, InvalidInputError
from kaptools.protocol import Protocol, default_protocol
from kaptools.scores._answers import is_nan
from kaptools.scores._definitions import Instrument
from kaptools.scores._items import item_columns as item_columns_of
from kaptools.scores._items import with_item_columns
from kaptools.scores._scoring import score
from kaptools.scores._table import definition
from kaptools.validation import check_frame_size

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["score_frame"]


def score_frame(
    df: pd.DataFrame,
    instrument: str | Instrument,
    item_columns: Sequence[str] | None = None,
    *,
    protocol: Protocol | None = None,
    nan_is_unanswered: bool = False,
) -> pd.DataFrame:
    """Score each row of ``df``; one output row per input row, same index.

    Args:
        df: one administration per row.
        instrument: the instrument the columns hold.
        item_columns: the item columns in item order; by default the one item name
            ``<instrument>_item<n>`` (``phq9_item1`` … ``phq9_item9``); frames with the
            older ``phq9_1`` or ``item_1`` names are read too.
        protocol: as for :func:`score`.
        nan_is_unanswered: an unanswered item is ``<NA>`` in a nullable column
            (``Int64``; ``pd.read_csv(..., dtype="Int64")``) or None in an object
            column. A NaN is refused by default, because NaN is also what a failed
            conversion or a lost cell looks like; pass True to say that this frame's
            NaN (a float column read with gaps) mark unanswered items.

    Returns:
        Columns ``total`` and ``band_rank`` (nullable Int64), ``band``, ``flags``
        (joined with "; "), ``alerts`` (count; an incomplete row counts its suicide
        item's alert too), ``missing_items`` (item numbers of an incomplete row, whose
        total stays <NA>: never a partial sum), and one ``subscore_<key>`` column per
        subscale.

    Raises:
        InvalidInputError: item columns absent from ``df``.
        InvalidAnswerError: an invalid answer (NaN too, unless ``nan_is_unanswered``);
            the message names the row, the item and the fix.
        InvalidInputError: ``nan_is_unanswered`` is not a bool.
    """
    check_frame_size("score_frame: df", df)
    if not isinstance(nan_is_unanswered, bool):
        msg = (
            f"score_frame: nan_is_unanswered must be True or False; got "
            f"{type(nan_is_unanswered).__name__}."
        )
        raise InvalidInputError(msg)
    defn = definition(instrument)
    protocol = default_protocol() if protocol is None else protocol
    if item_columns is None:  # the one item name; older spellings are read too
        df = with_item_columns(df, defn.instrument)
    columns = list(item_columns_of(defn.instrument)) if item_columns is None else list(item_columns)
    absent = [c for c in columns if c not in df.columns]
    if absent or len(columns) != defn.item_count:
        msg = (
            f"score_frame needs {defn.item_count} {defn.name} item columns present in the "
            f"frame; got {len(columns)} names, absent from the frame: {absent}. Pass "
            f"item_columns in item order."
        )
        raise InvalidInputError(msg)
    rows = [
        _row(index, values, defn.instrument, protocol, nan_is_unanswered)
        for index, values in zip(df.index, df[columns].itertuples(index=False), strict=True)
    ]
    import pandas as pd  # here: scoring one administration (a dashboard) never needs it

    out = pd.DataFrame(rows, index=df.index)
    ints = ["total", "band_rank", "alerts"] + [f"subscore_{s.key}" for s in defn.subscales]
    for col in ints:
        out[col] = pd.array(  # type: ignore[call-overload]  # stubs reject a Series
            out[col] if col in out else [pd.NA] * len(out), dtype="Int64"
        )
    for col in ("band", "flags", "missing_items"):
        out[col] = pd.array(  # type: ignore[call-overload]  # stubs reject a Series
            out[col] if col in out else [pd.NA] * len(out), dtype="string"
        )
    order = ["total", "band", "band_rank", "flags", "alerts", "missing_items"]
    return out[order + [c for c in ints if c.startswith("subscore_")]]


def _row(
    index: object,
    values: Sequence[object],
    instrument: Instrument,
    protocol: Protocol,
    nan_is_unanswered: bool,
) -> dict[str, object]:
    """One row's output columns: its score, or the items an incomplete row misses (its
    answered suicide item's alert still counts); an invalid answer names the row."""
    answers = [None if nan_is_unanswered and is_nan(v) else v for v in values]
    try:
        result = score(instrument, answers, protocol=protocol)
    except IncompleteAnswersError as exc:
        # the total stays <NA>; the answered suicide item's alert still counts
        return {"missing_items": ", ".join(map(str, exc.missing)), "alerts": len(exc.alerts)}
    except InvalidAnswerError as exc:
        msg = f"row {index!r}: {exc}"
        if is_nan(exc.value):
            msg += (
                " If NaN in this frame marks unanswered items, pass nan_is_unanswered=True "
                "(or use a nullable Int64 column, where a gap is <NA>)."
            )
        raise InvalidAnswerError(
            msg, instrument=exc.instrument, item=exc.item, value=exc.value
        ) from None
    row: dict[str, object] = {
        "total": result.total,
        "band": result.band.label,
        "band_rank": result.band.rank,
        "flags": "; ".join(result.flags),
        "alerts": len(result.alerts),
        "missing_items": "",
    }
    row.update({f"subscore_{k}": v for k, v in result.subscores.items()})
    return row
