"""What the what-if page draws from a comparison: the transition heatmap and the downloads.

The comparison's words and tables are the domain object's own
(:class:`kaptools.whatif.ScreeningComparison`: ``summary``, ``changed_html``).
"""

from __future__ import annotations

import base64

import pandas as pd
import plotly.graph_objects as go

__all__ = ["download_link", "transition_figure"]


def transition_figure(transitions: pd.DataFrame, title: str) -> go.Figure:
    """A heatmap of patients by status before (rows) and after (columns)."""
    z = transitions.to_numpy()
    fig = go.Figure(
        go.Heatmap(
            z=z,
            x=[str(c) for c in transitions.columns],
            y=[str(r) for r in transitions.index],
            text=z,
            texttemplate="%{text}",
            colorscale="Blues",
            showscale=False,
            hovertemplate="before %{y} → after %{x}: %{z} patients<extra></extra>",
        )
    )
    fig.update_layout(
        title=title,
        height=380,
        template="plotly_white",
        xaxis_title="under the changed protocol",
        yaxis_title="under the current protocol",
        yaxis_autorange="reversed",
        margin={"l": 170, "r": 20, "t": 60, "b": 60},
    )
    return fig


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
