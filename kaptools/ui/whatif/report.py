"""What the what-if page draws from a comparison: the transition heatmap and the downloads.

The comparison's words and tables are the domain object's own
(:class:`kaptools.whatif.ScreeningComparison`: ``summary``, ``changed_html``). The heatmap
is plain plotly JSON (as the trends and planner charts are), so the page's kernel never
imports plotly's Python package (~36 MB, issue 14 kernel memory); it is the figure
``go.Heatmap`` with the ``plotly_white`` template gave (tests/ui/test_whatif.py compares).
"""

from __future__ import annotations

import base64
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["download_link", "transition_figure"]

#: plotly's "Blues" colour scale, as ``go.Heatmap(colorscale="Blues")`` writes it out
#: (plotly.js's own "Blues" is another scale).
_BLUES = [
    [0.0, "rgb(247,251,255)"],
    [0.125, "rgb(222,235,247)"],
    [0.25, "rgb(198,219,239)"],
    [0.375, "rgb(158,202,225)"],
    [0.5, "rgb(107,174,214)"],
    [0.625, "rgb(66,146,198)"],
    [0.75, "rgb(33,113,181)"],
    [0.875, "rgb(8,81,156)"],
    [1.0, "rgb(8,48,107)"],
]

_AXIS = {
    "gridcolor": "#EBF0F8",
    "linecolor": "#EBF0F8",
    "ticks": "",
    "title": {"standoff": 15},
    "zerolinecolor": "#EBF0F8",
    "automargin": True,
    "zerolinewidth": 2,
}

#: The parts of plotly's ``plotly_white`` template a heatmap without a colour bar uses.
_WHITE = {
    "layout": {
        "font": {"color": "#2a3f5f"},
        "hoverlabel": {"align": "left"},
        "paper_bgcolor": "white",
        "plot_bgcolor": "white",
        "title": {"x": 0.05},
        "xaxis": _AXIS,
        "yaxis": _AXIS,
    }
}


def transition_figure(transitions: pd.DataFrame, title: str) -> dict[str, Any]:
    """A heatmap of patients by status before (rows) and after (columns), as plotly JSON."""
    z = [[int(v) for v in row] for row in transitions.to_numpy().tolist()]
    heatmap = {
        "colorscale": _BLUES,
        "hovertemplate": "before %{y} → after %{x}: %{z} patients<extra></extra>",
        "showscale": False,
        "text": z,
        "texttemplate": "%{text}",
        "x": [str(c) for c in transitions.columns],
        "y": [str(r) for r in transitions.index],
        "z": z,
        "type": "heatmap",
    }
    layout = {
        "template": _WHITE,
        "title": {"text": title},
        "height": 380,
        "xaxis": {"title": {"text": "under the changed protocol"}},
        "yaxis": {"title": {"text": "under the current protocol"}, "autorange": "reversed"},
        "margin": {"l": 170, "r": 20, "t": 60, "b": 60},
    }
    return {"data": [heatmap], "layout": layout}


def download_link(csv_text: str, parquet: bytes = b"") -> str:
    """Links that download the changed patients as CSV (and Parquet)."""
    data = base64.b64encode(csv_text.encode("utf-8")).decode("ascii")
    link = (
        "<a class='kap-download' download='whatif-status-changes.csv' "
        f"href='data:text/csv;base64,{data}'>Download the table (CSV)</a>"
    )
    if parquet:
        packed = base64.b64encode(parquet).decode("ascii")
        link += (
            " <a class='kap-download-parquet' download='whatif-status-changes.parquet' "
            f"href='data:application/vnd.apache.parquet;base64,{packed}'>(Parquet)</a>"
        )
    return link
