"""Plotly figures for the dashboards and notebooks. Numbers come from kaptools, never from here."""

from __future__ import annotations

import datetime as dt

import plotly.graph_objects as go
from plotly.subplots import make_subplots

from kaptools.protocol import Protocol
from kaptools.trends import PatientTrends

__all__ = ["BAND_COLOURS", "trend_figure"]

#: Band shading, least to most severe (colour only; the bands come from the instrument table).
BAND_COLOURS = ("#e8f5e9", "#fffde7", "#fff3e0", "#fde0dc", "#f8bbd0", "#f48fb1")


def trend_figure(
    trends: PatientTrends, protocol: Protocol, *, height_per_measure: int = 260
) -> go.Figure:
    """Every measure over time: bands shaded, baseline, response and remission lines, doses."""
    measures = list(trends.measures.values())
    rows = max(len(measures), 1)
    fig = make_subplots(
        rows=rows,
        cols=1,
        shared_xaxes=True,
        vertical_spacing=0.08,
        subplot_titles=[m.definition.title for m in measures] or ["No assessments yet"],
    )
    all_dates: list[dt.date] = [p.administered_on for m in measures for p in m.points]
    all_dates += [s.session_date for s in trends.sessions]
    for row, m in enumerate(measures, start=1):
        d = m.definition
        for i, band in enumerate(d.bands):
            fig.add_hrect(
                y0=band.low - 0.5 if band.low > d.total_min else d.total_min,
                y1=band.high + 0.5 if band.high < d.total_max else d.total_max,
                fillcolor=BAND_COLOURS[min(i, len(BAND_COLOURS) - 1)],
                line_width=0,
                layer="below",
                row=row,
                col=1,
                exclude_empty_subplots=False,
            )
            fig.add_annotation(
                text=band.label,
                x=1.0,
                xref="x domain",
                xanchor="right",
                y=(band.low + band.high) / 2,
                showarrow=False,
                font={"size": 9, "color": "#777"},
                row=row,
                col=1,
            )
        xs = [p.administered_on for p in m.points]
        ys = [p.result.total for p in m.points]
        hover = [
            f"{p.administered_on:%d %b %Y}: {p.result.total} ({p.result.band.label})"
            + ("<br><b>ALERT</b>" if p.result.alerts else "")
            for p in m.points
        ]
        fig.add_trace(
            go.Scatter(
                x=xs,
                y=ys,
                mode="lines+markers",
                name=d.title,
                hovertext=hover,
                hoverinfo="text",
                line={"width": 2.5, "color": "#1a4d8f"},
                marker={"size": 8},
            ),
            row=row,
            col=1,
        )
        alert_pts = [p for p in m.points if p.result.alerts]
        if alert_pts:
            fig.add_trace(
                go.Scatter(
                    x=[p.administered_on for p in alert_pts],
                    y=[p.result.total for p in alert_pts],
                    mode="markers",
                    name="safety alert",
                    showlegend=False,
                    marker={
                        "symbol": "diamond-open",
                        "size": 15,
                        "color": "#b00020",
                        "line": {"width": 2},
                    },
                    hoverinfo="skip",
                ),
                row=row,
                col=1,
            )
        base = m.baseline.result.total
        fig.add_hline(
            y=base,
            line_dash="dot",
            line_color="#555",
            row=row,
            col=1,
            annotation_text=f"baseline {base}",
            annotation_position="top left",
            annotation_font_size=10,
        )
        resp = m.response_threshold(protocol)
        fig.add_hline(
            y=resp,
            line_dash="dash",
            line_color="#1e8e3e",
            row=row,
            col=1,
            annotation_text=f"response ≤ {resp:g}",
            annotation_position="bottom left",
            annotation_font_size=10,
        )
        rem = d.remission
        if rem is not None:
            fig.add_hline(
                y=rem.total,
                line_dash="dash",
                line_color="#0b8043",
                line_width=1,
                row=row,
                col=1,
                annotation_text=f"remission: {rem}",
                annotation_position="bottom right",
                annotation_font_size=10,
            )
        fig.update_yaxes(
            range=[d.total_min - 0.5, d.total_max + 0.5], title_text="total", row=row, col=1
        )
    for s in trends.sessions:
        fig.add_vline(
            x=dt.datetime.combine(s.session_date, dt.time(12)).timestamp() * 1000,
            line_color="#7b1fa2",
            line_width=1,
            opacity=0.55,
        )
    if trends.sessions:
        # One legend entry for the dose markers.
        fig.add_trace(
            go.Scatter(
                x=[None],
                y=[None],
                mode="lines",
                name="dosing session",
                line={"color": "#7b1fa2", "width": 1},
            )
        )
    if all_dates:
        lo, hi = min(all_dates), max(all_dates)
        pad = dt.timedelta(days=3)
        fig.update_xaxes(range=[lo - pad, hi + pad])
    fig.update_layout(
        height=max(320, height_per_measure * rows),
        margin={"l": 50, "r": 20, "t": 40, "b": 30},
        template="plotly_white",
        hovermode="closest",
        legend={"orientation": "h", "y": -0.08},
    )
    return fig
