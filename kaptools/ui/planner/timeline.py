"""The course plan as a timeline: plain plotly JSON, one row per kind of session.

A pure function of the plan (:func:`plan_timeline_spec`); the dashboard draws it after
the plan table, and only when it changed.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

from kaptools.scheduling import ClosedSpan, CoursePlan, PlannedSession, SessionKind, SessionStatus
from kaptools.ui.common import escape

__all__ = ["KIND_LABELS", "plan_timeline_spec"]

KIND_LABELS = {
    SessionKind.PREPARATION: "Preparation",
    SessionKind.MEASURE: "Measures",
    SessionKind.DOSING: "Dosing",
    SessionKind.INTEGRATION: "Integration",
    SessionKind.BENEFIT_CHECK: "Benefit check",
}
#: Colours of the session kinds on the timeline (display only).
_KIND_COLOURS = {
    SessionKind.PREPARATION: "#2e7d32",
    SessionKind.MEASURE: "#1a4d8f",
    SessionKind.DOSING: "#7b1fa2",
    SessionKind.INTEGRATION: "#00838f",
    SessionKind.BENEFIT_CHECK: "#ef6c00",
}
_MARKERS = {
    SessionStatus.PLANNED: "circle-open",
    SessionStatus.DONE: "circle",
    SessionStatus.MISSED: "x-thin-open",
}


def plan_timeline_spec(
    plan: CoursePlan,
    *,
    as_of: dt.date | None = None,
    recorded: Sequence[dt.date] = (),
) -> dict[str, Any]:
    """The plan as a timeline (plotly JSON): one row per kind of session, doses numbered.

    Planned sessions are open markers, held ones filled, missed ones crossed; closures
    and public holidays are shaded; recorded dosing sessions a green dot.
    """
    kinds = [k for k in KIND_LABELS if any(s.kind is k for s in plan.sessions)]
    data = [_kind_trace(k, [s for s in plan.sessions if s.kind is k]) for k in kinds]
    if recorded:
        data.append(_recorded_trace(recorded))
    first = min(s.date for s in plan.sessions)
    spans = plan.calendar.closed_spans(first, plan.end)
    shapes = [_closed_shape(span) for span in spans]
    annotations = [_closed_annotation(n, span) for n, span in enumerate(spans)]
    if spans:
        data.append(_closed_hover_trace(spans, KIND_LABELS[kinds[0]]))
    if as_of is not None:
        shapes.append(_today_line(as_of))
        annotations.append(_today_annotation(as_of))
    lo = first - dt.timedelta(days=2)
    hi = plan.end + dt.timedelta(days=2)
    return {"data": data, "layout": _layout(kinds, lo, hi, shapes, annotations)}


def _kind_trace(kind: SessionKind, sessions: list[PlannedSession]) -> dict[str, Any]:
    dosing = kind is SessionKind.DOSING
    return {
        "type": "scatter",
        "mode": "markers+text" if dosing else "markers",
        "name": KIND_LABELS[kind],
        "x": [s.date.isoformat() for s in sessions],
        "y": [KIND_LABELS[kind]] * len(sessions),
        "text": [f"D{s.dose_number}" if dosing and s.active else "" for s in sessions],
        "textposition": "top center",
        "hovertext": [_hover(s) for s in sessions],
        "hoverinfo": "text",
        "marker": {
            "size": 13,
            "color": _KIND_COLOURS[kind],
            "symbol": [_MARKERS[s.status] for s in sessions],
            "line": {"width": 2, "color": _KIND_COLOURS[kind]},
        },
    }


def _hover(s: PlannedSession) -> str:
    text = escape(f"{s.date:%a %d %b}: {s.label} ({s.status.value})")
    if s.dose:
        text += "<br>" + escape(f"{s.dose.arithmetic}, {s.dose.confirmation}")
    return text


def _recorded_trace(recorded: Sequence[dt.date]) -> dict[str, Any]:
    return {
        "type": "scatter",
        "mode": "markers",
        "name": "dosing recorded",
        "x": [d.isoformat() for d in recorded],
        "y": [KIND_LABELS[SessionKind.DOSING]] * len(recorded),
        "hoverinfo": "skip",
        "marker": {"size": 7, "color": "#1e8e3e", "symbol": "circle"},
    }


def _midnight(day: dt.date) -> str:
    return dt.datetime.combine(day, dt.time()).isoformat()


def _closed_shape(span: ClosedSpan) -> dict[str, Any]:
    return {
        "type": "rect",
        "xref": "x",
        "yref": "paper",
        "x0": _midnight(span.first),
        "x1": _midnight(span.last + dt.timedelta(days=1)),
        "y0": 0,
        "y1": 1,
        "fillcolor": "#9e9e9e",
        "opacity": 0.18,
        "line": {"width": 0},
        "layer": "below",
    }


def _closed_annotation(n: int, span: ClosedSpan) -> dict[str, Any]:
    reasons = span.reasons
    label = reasons[0] + (f" (+{len(reasons) - 1})" if len(reasons) > 1 else "")
    return {
        "x": span.first.isoformat(),
        "y": 1.0 if n % 2 == 0 else 1.07,
        "xref": "x",
        "yref": "paper",
        "xanchor": "left",
        "yanchor": "bottom",
        "text": escape(label),  # closure reasons are typed by users
        "showarrow": False,
        "font": {"size": 9, "color": "#555"},
    }


def _closed_hover_trace(spans: Sequence[ClosedSpan], row: str) -> dict[str, Any]:
    """Invisible markers on the closed days whose hover names the closure."""
    text = [
        f"Closed {s.first:%a %d %b}"
        + (f" to {s.last:%a %d %b}" if s.last != s.first else "")
        + ": "
        + escape("; ".join(s.reasons))
        for s in spans
    ]
    return {
        "type": "scatter",
        "mode": "markers",
        "name": "closed",
        "x": [dt.datetime.combine(s.first, dt.time(12)).isoformat() for s in spans],
        "y": [row] * len(spans),
        "hovertext": text,
        "hoverinfo": "text",
        "marker": {"size": 14, "opacity": 0, "color": "#9e9e9e"},
    }


def _today_line(as_of: dt.date) -> dict[str, Any]:
    return {
        "type": "line",
        "xref": "x",
        "yref": "paper",
        "x0": as_of.isoformat(),
        "x1": as_of.isoformat(),
        "y0": 0,
        "y1": 1,
        "line": {"color": "#b00020", "width": 1, "dash": "dot"},
    }


def _today_annotation(as_of: dt.date) -> dict[str, Any]:
    return {
        "x": as_of.isoformat(),
        "y": 0,
        "xref": "x",
        "yref": "paper",
        "yanchor": "top",
        "text": "today",
        "showarrow": False,
        "font": {"size": 9, "color": "#b00020"},
    }


def _layout(
    kinds: list[SessionKind],
    lo: dt.date,
    hi: dt.date,
    shapes: list[dict[str, Any]],
    annotations: list[dict[str, Any]],
) -> dict[str, Any]:
    return {
        "height": 300,
        "margin": {"l": 100, "r": 20, "t": 44, "b": 40},
        "template": {"layout": {"plot_bgcolor": "white", "paper_bgcolor": "white"}},
        "xaxis": {
            "type": "date",
            "range": [lo.isoformat(), hi.isoformat()],
            "gridcolor": "#eee",
            "dtick": 7 * 24 * 3600 * 1000,
            "tick0": "2024-01-01",  # a Monday: weekly ticks fall on Mondays
            "tickformat": "%a %d %b",
        },
        "yaxis": {
            "type": "category",
            "categoryorder": "array",
            "categoryarray": [KIND_LABELS[k] for k in reversed(kinds)],
            "gridcolor": "#eee",
        },
        "showlegend": False,
        "shapes": shapes,
        "annotations": annotations,
        "hovermode": "closest",
    }
