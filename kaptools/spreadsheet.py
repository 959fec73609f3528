"""CSV cells a spreadsheet would execute are neutralised (the OWASP CSV-injection rule).

A spreadsheet reads a cell beginning with ``=``, ``+``, ``-``, ``@``, a tab or a
carriage return as a formula, so a patient id such as ``=HYPERLINK(...)`` would run
when a CSV is opened. Every CSV kaptools writes passes its text cells through
:func:`safe_cell` / :func:`safe_frame`, which put a single quote in front of such a
cell (OWASP, "CSV Injection": prepend a single quote). A plain number such as
``-5`` or ``+1.5`` cannot run and is left as it is. JSON outputs keep the raw value.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["CSV_LINE_END", "FORMULA_STARTS", "safe_cell", "safe_frame"]

CSV_LINE_END = "\r\n"
"""Rows end with CR LF (RFC 4180). With it, the csv writer quotes every cell holding a CR
or an LF; with a bare LF ending it leaves a CR unquoted, which splits the row when read."""

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
"""First characters that make a spreadsheet read a cell as a formula (OWASP)."""

_PLAIN_NUMBER = re.compile(r"[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?")


def safe_cell(value: Any) -> Any:
    """``value`` with a leading ``'`` when it is text a spreadsheet would execute."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        if _PLAIN_NUMBER.fullmatch(value):
            return value
        return "'" + value
    return value


def safe_frame(frame: pd.DataFrame) -> pd.DataFrame:
    """A copy of ``frame`` whose text cells (and column names) pass :func:`safe_cell`.

    Categorical columns are mapped once per category, never once per row.
    """
    import numpy as np
    import pandas as pd  # only here: safe_cell is on the dashboards' path (issue 14)

    out = frame.copy()
    for name in out.columns:
        col = out[name]
        if isinstance(col.dtype, pd.CategoricalDtype):
            cats = col.cat.categories
            if cats.dtype == object or pd.api.types.is_string_dtype(cats.dtype):
                mapped = [safe_cell(c) for c in cats]
                if mapped != list(cats):
                    if len(set(mapped)) == len(mapped):
                        out[name] = col.cat.rename_categories(mapped)
                    else:
                        out[name] = col.astype(object).map(safe_cell)
        elif col.dtype == object or pd.api.types.is_string_dtype(col.dtype):
            values = col.to_numpy(dtype=object)
            out[name] = pd.Series(
                np.fromiter((safe_cell(v) for v in values), dtype=object, count=len(values)),
                index=col.index,
                dtype=object,
            )
    out.columns = [safe_cell(c) for c in out.columns]
    return out
