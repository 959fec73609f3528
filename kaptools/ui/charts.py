"""Plotly figures for the dashboards and notebooks. Numbers come from kaptools, never from here.

Figures are built as plain plotly JSON (dicts): constructing the same figure through
plotly's validated graph objects took ~0.55 s per patient here, most of a page view's
budget. ``trend_figure`` wraps the same spec in a ``go.Figure`` for notebooks.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from kaptools.protocol import Protocol
from kaptools.trends import MeasureTrend, PatientTrends

__all__ = ["BAND_COLOURS", "loading_figure_spec", "trend_figure", "trend_figure_spec"]

#: Band shading, least to most severe (colour only; the bands come from the instrument table).
BAND_COLOURS = ("#e8f5e9", "#fffde7", "#fff3e0", "#fde0dc", "#f8bbd0", "#f48fb1")
_LINE = "#1a4d8f"
_DOSE = "#7b1fa2"
_FONT = "system-ui, -apple-system, 'Segoe UI', sans-serif"


def _axis_suffix(row: int) -> str:
    return "" if row == 1 else str(row)


@dataclass
class _Spec:
    """The figure being built: traces, shapes, annotations and layout, in plotly's order."""

    data: list[dict[str, Any]] = field(default_factory=list)
    shapes: list[dict[str, Any]] = field(default_factory=list)
    annotations: list[dict[str, Any]] = field(default_factory=list)
    layout: dict[str, Any] = field(default_factory=dict)


def trend_figure_spec(
    trends: PatientTrends, protocol: Protocol, *, height_per_measure: int = 260
) -> dict[str, Any]:
    """Every measure over time as plotly JSON: bands shaded, baseline, response and
    remission lines, dosing sessions marked, safety alerts ringed."""
    measures = list(trends.measures.values())
    rows = max(len(measures), 1)
    spec = _Spec()
    x_range = _x_range(trends)
    for row, m in enumerate(measures or [None], start=1):
        top = _add_axes(spec, row, rows, x_range)
        if m is None:
            spec.annotations.append(
                {
                    "text": "No assessments recorded yet",
                    "xref": "paper",
                    "yref": "paper",
                    "x": 0.5,
                    "y": 0.5,
                    "showarrow": False,
                }
            )
            continue
        _add_measure(spec, m, row, top, protocol)
        _add_points(spec, m, row)
        for s in trends.sessions:
            _add_session(spec, s.session_date, row)
    if trends.sessions:
        spec.data.append(
            {
                "type": "scatter",
                "mode": "lines",
                "name": "dosing session",
                "x": [None],
                "y": [None],
                "line": {"color": _DOSE, "width": 1},
            }
        )
    spec.layout.update(
        {
            "height": max(320, height_per_measure * rows),
            "margin": {"l": 50, "r": 20, "t": 40, "b": 30},
            "hovermode": "closest",
            "plot_bgcolor": "white",
            "paper_bgcolor": "white",
            "font": {"family": _FONT, "size": 12},
            "legend": {"orientation": "h", "y": -0.08},
            "shapes": spec.shapes,
            "annotations": spec.annotations,
        }
    )
    return {"data": spec.data, "layout": spec.layout}


def _x_range(trends: PatientTrends) -> list[str] | None:
    """Every assessment and session date, padded by three days (None without dates)."""
    dates = [p.administered_on for m in trends.measures.values() for p in m.points]
    dates += [s.session_date for s in trends.sessions]
    if not dates:
        return None
    pad = dt.timedelta(days=3)
    return [(min(dates) - pad).isoformat(), (max(dates) + pad).isoformat()]


def _add_axes(spec: _Spec, row: int, rows: int, x_range: list[str] | None) -> float:
    """The row's x and y axes (stacked, sharing the dates); returns the row's top."""
    gap = 0.09
    span = (1 - gap * (rows - 1)) / rows
    sfx = _axis_suffix(row)
    xa, ya = f"x{sfx}", f"y{sfx}"
    top = 1 - (row - 1) * (span + gap)
    domain = [max(0.0, round(top - span, 6)), min(1.0, round(top, 6))]
    spec.layout[f"yaxis{sfx}"] = {
        "domain": domain,
        "anchor": xa,
        "title": {"text": "total"},
        "zeroline": False,
    }
    spec.layout[f"xaxis{sfx}"] = {
        "anchor": ya,
        "type": "date",
        "showticklabels": row == rows,
        **({"matches": "x"} if row > 1 else {}),
        **({"range": x_range} if x_range else {}),
    }
    return top


def _add_measure(spec: _Spec, m: MeasureTrend, row: int, top: float, protocol: Protocol) -> None:
    """The measure's title, its bands shaded, and its baseline, response and remission lines."""
    sfx = _axis_suffix(row)
    xa, ya = f"x{sfx}", f"y{sfx}"
    d = m.definition
    spec.layout[f"yaxis{sfx}"]["range"] = [d.total_min - 0.5, d.total_max + 0.5]
    spec.annotations.append(
        {
            "text": f"<b>{d.title}</b>",
            "xref": "paper",
            "yref": "paper",
            "x": 0.5,
            "y": top,
            "xanchor": "center",
            "yanchor": "bottom",
            "showarrow": False,
            "font": {"size": 14},
        }
    )
    for i, band in enumerate(d.bands):
        y0 = d.total_min - 0.5 if band.low == d.total_min else band.low - 0.5
        y1 = d.total_max + 0.5 if band.high == d.total_max else band.high + 0.5
        spec.shapes.append(
            {
                "type": "rect",
                "xref": f"{xa} domain",
                "yref": ya,
                "x0": 0,
                "x1": 1,
                "y0": y0,
                "y1": y1,
                "line": {"width": 0},
                "layer": "below",
                "fillcolor": BAND_COLOURS[min(i, len(BAND_COLOURS) - 1)],
            }
        )
        spec.annotations.append(
            {
                "text": band.label,
                "xref": f"{xa} domain",
                "yref": ya,
                "x": 1,
                "xanchor": "right",
                "y": (band.low + band.high) / 2,
                "showarrow": False,
                "font": {"size": 9, "color": "#777"},
            }
        )
    base = m.baseline.result.total
    _hline(spec, row, base, f"baseline {base}", "#555555", "dot", "left")
    resp = m.response_threshold(protocol)
    _hline(spec, row, resp, f"response ≤ {resp:g}", "#1e8e3e", "dash", "left")
    if d.remission is not None:
        _hline(
            spec, row, d.remission.total, f"remission: {d.remission}", "#0b8043", "dash", "right"
        )


def _hline(spec: _Spec, row: int, y: float, text: str, colour: str, dash: str, anchor: str) -> None:
    """A labelled horizontal line across the row's plot."""
    sfx = _axis_suffix(row)
    xa, ya = f"x{sfx}", f"y{sfx}"
    spec.shapes.append(
        {
            "type": "line",
            "xref": f"{xa} domain",
            "yref": ya,
            "x0": 0,
            "x1": 1,
            "y0": y,
            "y1": y,
            "line": {"color": colour, "dash": dash, "width": 1.5},
        }
    )
    left = anchor == "left"
    spec.annotations.append(
        {
            "text": text,
            "xref": f"{xa} domain",
            "yref": ya,
            "x": 0 if left else 1,
            "xanchor": anchor,
            "y": y,
            "yanchor": "bottom" if left else "top",
            "showarrow": False,
            "font": {"size": 10, "color": colour},
        }
    )


def _add_points(spec: _Spec, m: MeasureTrend, row: int) -> None:
    """The measure's scores over time, and the scores with a safety alert ringed."""
    sfx = _axis_suffix(row)
    xa, ya = f"x{sfx}", f"y{sfx}"
    d = m.definition
    hover = [
        f"{p.administered_on:%d %b %Y}: {p.result.total} ({p.result.band.label})"
        + ("<br><b>safety alert</b>" if p.result.alerts else "")
        for p in m.points
    ]
    spec.data.append(
        {
            "type": "scatter",
            "mode": "lines+markers",
            "name": d.title,
            "x": [p.administered_on.isoformat() for p in m.points],
            "y": [p.result.total for p in m.points],
            "xaxis": xa,
            "yaxis": ya,
            "hovertext": hover,
            "hoverinfo": "text",
            "showlegend": False,
            "line": {"width": 2.5, "color": _LINE},
            "marker": {"size": 8},
        }
    )
    alert_pts = [p for p in m.points if p.result.alerts]
    if alert_pts:
        spec.data.append(
            {
                "type": "scatter",
                "mode": "markers",
                "name": "safety alert",
                "x": [p.administered_on.isoformat() for p in alert_pts],
                "y": [p.result.total for p in alert_pts],
                "xaxis": xa,
                "yaxis": ya,
                "hoverinfo": "skip",
                "showlegend": row == 1,
                "marker": {
                    "symbol": "diamond-open",
                    "size": 15,
                    "color": "#b00020",
                    "line": {"width": 2},
                },
            }
        )


def _add_session(spec: _Spec, day: dt.date, row: int) -> None:
    """A dosing session: a vertical line on the row's plot."""
    sfx = _axis_suffix(row)
    spec.shapes.append(
        {
            "type": "line",
            "xref": f"x{sfx}",
            "yref": f"y{sfx} domain",
            "y0": 0,
            "y1": 1,
            "x0": day.isoformat(),
            "x1": day.isoformat(),
            "line": {"color": _DOSE, "width": 1},
            "opacity": 0.55,
        }
    )


def loading_figure_spec(height: int = 320) -> dict[str, Any]:
    """An empty chart saying "Loading…" (no traces), shown until the data arrive."""
    return {
        "data": [],
        "layout": {
            "height": height,
            "xaxis": {"visible": False},
            "yaxis": {"visible": False},
            "plot_bgcolor": "white",
            "paper_bgcolor": "white",
            "annotations": [
                {
                    "text": "Loading…",
                    "xref": "paper",
                    "yref": "paper",
                    "x": 0.5,
                    "y": 0.5,
                    "showarrow": False,
                    "font": {"size": 16, "color": "#777"},
                }
            ],
        },
    }


def trend_figure(trends: PatientTrends, protocol: Protocol, **kwargs: Any) -> Any:
    """The same chart as a ``plotly.graph_objects.Figure`` (for notebooks and export)."""
    import plotly.graph_objects as go

    return go.Figure(trend_figure_spec(trends, protocol, **kwargs))
