"""The first paint: a dashboard's key result in the page HTML, before the widget frontend.

A dashboard page shows nothing of the patient until ~10 MB of widget and plotly
JavaScript has been loaded and evaluated, the kernel's websocket is open and the browser
has sent ``?patient=`` to the preheated kernel (issue 14: 2.5-5 s here, slower than a
plain Voilà page). When the page request names a patient, kaptools' server (this
module, in the server process; never the preheated kernel, which holds no patient data
until its page's browser sends the URL) computes the dashboard's key result through
the same domain and rendering functions the dashboard uses and streams it into the page
before the heavy scripts:

- trends: the per-measure summary and the patient's chart, drawn as SVG
  (:func:`svg_from_spec`) from the same plotly JSON the dashboard draws
  (:func:`kaptools.ui.charts.trend_figure_spec`);
- eligibility: the patient line and the status panel of the form as the dashboard
  first shows it (answers unknown, age, sex and weight from the patient record);
- planner: the latest screening and the saved plan's rows (or the planner's own
  message when the screening does not allow a course).

Every page with a first paint shows the patient's open safety alerts with the 988
crisis line, as the dashboard does. The rules are the dashboard's: the read is
audit-logged first (``view``, "<App> dashboard (first paint)") and nothing is shown if
that fails; a refusal (a role that may not read patients, another clinic's patient)
and an unknown or malformed patient id show the dashboard's own message and no data.

The first paint's elements carry ``kfp-`` classes (the dashboard's ``kap-`` classes
renamed, styles included), so nothing that looks for the widgets finds it. The widget
view stays hidden behind it until it has loaded the same patient; then the first paint
is removed (:data:`SWAP_SCRIPT`). Both come from the same data and the same protocol
file, so the swap shows no change of result.
"""

from __future__ import annotations

import datetime as dt
import html
import logging
import math
import re
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs

from kaptools.alerts import AlertLevel, StoredAlert, banner_html, highest_level
from kaptools.errors import KaptoolsError
from kaptools.patient_alerts import sync_patient_alerts
from kaptools.protocol import Protocol, protocol_from_env
from kaptools.store import Patient, Store

__all__ = [
    "DASHBOARDS",
    "SWAP_SCRIPT",
    "FirstPaint",
    "first_paint",
    "page_fragment",
    "svg_from_spec",
]

log = logging.getLogger("kaptools.server")

#: Notebook file -> the dashboard App's name (the audit row names it like the dashboard).
DASHBOARDS = {
    "trends.ipynb": "TrendsApp",
    "eligibility.ipynb": "EligibilityApp",
    "planner.ipynb": "PlannerApp",
}


@dataclass(frozen=True)
class FirstPaint:
    """What the server paints first: HTML with ``kap-`` classes, and the dashboard's name."""

    dashboard: str
    body: str
    css: str = ""


def _e(value: object) -> str:
    return html.escape(str(value), quote=True)


def _patient_param(query: str) -> str | None:
    values = parse_qs(query or "", keep_blank_values=True).get("patient")
    return values[0] if values else None


def first_paint(
    notebook: str,
    query: str,
    *,
    store: Store | None = None,
    protocol: Protocol | None = None,
    today: dt.date | None = None,
) -> FirstPaint | None:
    """The first paint of dashboard ``notebook`` for a request with ``query``, or None
    (not a dashboard, or no ``?patient=``: the dashboard then picks its first patient)."""
    name = notebook.rsplit("/", 1)[-1]
    app = DASHBOARDS.get(name)
    if app is None:
        return None
    value = _patient_param(query)
    if value is None or value == "":
        return None
    from kaptools.ui.common import valid_patient_param

    pid, err = valid_patient_param(value)
    if err is not None or pid is None:
        return FirstPaint(app, _error(err or "No patient named."))
    try:
        store = store or Store()
        protocol = protocol or protocol_from_env()
        if pid not in {p.patient_id for p in store.list_patients()}:
            return FirstPaint(
                app,
                _error(
                    f"No patient with id {pid!r} in this database. Pick a patient from the list."
                ),
            )
        # the read is logged before anything is read; if the row cannot be written,
        # nothing is shown
        store.log("view", patient_id=pid, detail=f"{app} dashboard (first paint)")
        patient = store.get_patient(pid)
        alerts = sync_patient_alerts(store, pid, who=store.identity.user, protocol=protocol)
        banner = crisis_banner_html(alerts.open)
        if app == "TrendsApp":
            body, css = _trends(store, protocol, pid)
        elif app == "EligibilityApp":
            body, css = _eligibility(protocol, patient, today)
        else:
            body, css = _planner(store, protocol, pid, alerts.open, today)
    except KaptoolsError as exc:
        return FirstPaint(app, _error(str(exc)))
    return FirstPaint(app, banner + body, css)


def _error(message: str) -> str:
    return f"<div class='kap-error kap-url-error'>{_e(message)}</div>"


def crisis_banner_html(alerts: tuple[StoredAlert, ...] | list[StoredAlert]) -> str:
    """The dashboard's 988 crisis banner for the patient's open stored alerts ('' if none)."""
    level = highest_level([a.alert for a in alerts])
    if level is None:
        return ""
    critical = " kap-critical" if level is AlertLevel.CRITICAL else ""
    return f"<div class='kap-crisis-banner{critical}'>{crisis_banner_content(alerts)}</div>"


def crisis_banner_content(alerts: tuple[StoredAlert, ...] | list[StoredAlert]) -> str:
    """What the dashboard's crisis banner holds for these open stored alerts (the banner
    widget's own HTML: :func:`kaptools.alerts.banner_html`)."""
    return banner_html(alerts)


# ---- the dashboards ----------------------------------------------------------------------
def _trends(store: Store, protocol: Protocol, pid: str) -> tuple[str, str]:
    from kaptools.trends import patient_trends
    from kaptools.ui.charts import trend_figure_spec

    t = patient_trends(store, pid, protocol=protocol)
    chart = svg_from_spec(
        trend_figure_spec(t, protocol),
        label=f"Symptom measures of {t.patient.display_name} over time",
    )
    return (
        f"<div class='kap-summary'>{t.measures_html()}</div>"
        f"<div class='kap-trend-chart'>{chart}</div>",
        "",
    )


def _form_number(value: float | None) -> float | None:
    """A number as the form shows it and reads it back (``%g``: six significant digits)."""
    if value is None:
        return None
    return float(str(int(value)) if float(value).is_integer() else f"{value:g}")


def _eligibility(protocol: Protocol, patient: Patient, today: dt.date | None) -> tuple[str, str]:
    from kaptools.screening import screen
    from kaptools.ui.eligibility.report import ELIGIBILITY_CSS, status_html

    record = eligibility_record(patient, today)
    result = screen(record, protocol=protocol)
    born = "birth date not recorded" if patient.birth_date is None else f"born {patient.birth_date}"
    header = (
        f"Screening <b>{_e(patient.display_name)}</b> ({_e(patient.patient_id)}), {_e(born)}"
        + (" · <span class='kap-badge kap-no'>synthetic</span>" if patient.synthetic else "")
    )
    return (
        f"<div class='kap-patient-header'>{header}</div>"
        f"<div class='kap-status-panel'>{status_html(result, protocol, 'not saved')}</div>",
        ELIGIBILITY_CSS,
    )


def eligibility_record(patient: Patient, today: dt.date | None = None) -> Any:
    """The :class:`ScreeningRecord` the eligibility form holds when it opens ``patient``:
    every answer unknown (lists unknown, PHQ-9 and C-SSRS not asked), age, sex and weight
    prefilled from the patient record."""
    from kaptools.protocol import HistoryQuestion
    from kaptools.screening import ScreeningRecord
    from kaptools.vocabulary import Answer, CssrsQuestion, Sex

    age = patient.age_on(today or dt.date.today())
    sex = Sex(patient.sex) if patient.sex in {s.value for s in Sex} else Sex.UNKNOWN
    data: dict[str, Any] = {
        "patient_id": patient.patient_id,
        "age_years": None if age is None else float(age),
        "sex": sex,
        "weight_kg": _form_number(patient.weight_kg),
        "pregnant": Answer.UNKNOWN,
        "breastfeeding": Answer.UNKNOWN,
        "pregnancy_prevention_discussed": Answer.UNKNOWN,
        "systolic_bp_mmhg": None,
        "diastolic_bp_mmhg": None,
        "heart_rate_bpm": None,
        "history": {q.value: Answer.UNKNOWN for q in HistoryQuestion},
        "phq9": [None] * 9,
        "cssrs": {q.value: None for q in CssrsQuestion},
        "diagnoses": None,
        "antidepressant_trials": None,
        "current_medications": None,
    }
    return ScreeningRecord.model_validate(data)


def _planner(
    store: Store,
    protocol: Protocol,
    pid: str,
    alerts: tuple[StoredAlert, ...],
    today: dt.date | None,
) -> tuple[str, str]:
    """The planner's screening box, plan summary and table, derived as the dashboard
    derives them (:func:`kaptools.ui.planner.derive_view`) from the same reads."""
    from dataclasses import replace

    from kaptools.scheduling import load_latest_plan, plannable
    from kaptools.screening import latest_screening
    from kaptools.sessions import dosing_sessions
    from kaptools.ui.planner import PLANNER_CSS, PlannerState, derive_view

    today = today or dt.date.today()
    saved = load_latest_plan(store, pid)
    gate = plannable(store, pid, today, protocol=protocol)
    state = PlannerState(
        today=today,
        loaded=True,
        patient_id=pid,
        latest=latest_screening(store, pid),
        gate=None if gate else gate.reason,
        saved=saved,
        sessions=tuple(dosing_sessions(store, pid)),
        alerts=alerts,
    )
    if saved is not None and state.plannable:
        state = replace(state, plan=saved.plan)
    view = derive_view(state, protocol)
    body = f"<div class='kap-screening-box'>{view.screening_html}</div>"
    if view.plan_shown:
        body += (
            f"<div class='kap-plan-summary'>{view.summary_html}</div>"
            f"<div class='kap-plan-table-box'>{view.table_html}</div>"
        )
    return body, PLANNER_CSS


# ---- the page fragment -------------------------------------------------------------------
#: Removes the first paint once the widget view has loaded the patient (its "Loading…"
#: placeholder gone and, where the first paint drew it, its own key element present),
#: or at the latest SWAP_FALLBACK_MS after the widget view appeared.
SWAP_FALLBACK_MS = 8000
SWAP_SCRIPT = """
<script>
(function () {
  var fp = document.getElementById("kap-first-paint");
  if (!fp) { return; }
  var key = fp.getAttribute("data-widget-key");
  var shownAt = null;
  function loaded() {
    var cells = document.getElementById("rendered_cells");
    if (!cells || cells.style.display === "none") { return false; }
    var app = cells.querySelector(".kap-app");
    if (!app) { return cells.querySelector(".jupyter-widgets, .voila-error") !== null
        && (shownAt = shownAt || Date.now()) && Date.now() - shownAt > %(fallback)d; }
    shownAt = shownAt || Date.now();
    if (Date.now() - shownAt > %(fallback)d) { return true; }
    if (app.querySelector(".kap-loading")) { return false; }
    if (app.querySelector(".kap-url-error .widget-html-content:not(:empty)")) { return true; }
    return !key || app.querySelector(key) !== null;
  }
  function swap() {
    if (fp.parentNode && loaded()) {
      fp.parentNode.removeChild(fp);
      document.body.classList.remove("kap-first-painted");
      obs.disconnect();
      clearInterval(timer);
    }
  }
  var obs = new MutationObserver(swap);
  obs.observe(document.body, {childList: true, subtree: true, attributes: true,
                              attributeFilter: ["style", "class"]});
  var timer = setInterval(swap, 500);
})();
</script>
""".replace("%(fallback)d", str(SWAP_FALLBACK_MS))

#: The widget view's key element per dashboard (the first paint waits for it).
WIDGET_KEYS = {
    "TrendsApp": ".kap-trend-chart .js-plotly-plot",
    "EligibilityApp": ".kap-patient-header b",
    "PlannerApp": ".kap-screening-box .kap-screening, .kap-screening-box .kap-not-plannable",
}

_FRAME_CSS = """
<style>
body.kap-first-painted #loading { display: none !important; }
body.kap-first-painted #rendered_cells .kap-app { visibility: hidden; }
#kap-first-paint { max-width: 1200px; margin: 0 auto; padding: 1ex 2ex; }
.kfp-first-paint-note { color: #666; font-size: 0.85em; margin: 0.2em 0 0.6em; }
.kfp-trend-chart svg { width: 100%; height: auto; max-width: 1100px; }
</style>
"""

_KAP_CLASS = re.compile(r"\bkap-")


def page_fragment(fp: FirstPaint) -> str:
    """The HTML put into the page before the widget view: styles, content, swap script."""
    from kaptools.ui.common import CSS

    key = WIDGET_KEYS.get(fp.dashboard, "") if "kap-error" not in fp.body[:200] else ""
    content = _KAP_CLASS.sub("kfp-", CSS + fp.css + fp.body)
    return (
        _FRAME_CSS + f"<div id='kap-first-paint' class='kfp-app' data-widget-key='{_e(key)}' "
        "aria-busy='true'>"
        + content
        + "<p class='kfp-first-paint-note'>Loading the interactive view…</p></div>"
        + "<script>document.body.classList.add('kap-first-painted');</script>"
        + SWAP_SCRIPT
    )


# ---- SVG from plotly JSON ----------------------------------------------------------------
def _date_value(value: Any) -> float | None:
    if value is None:
        return None
    if isinstance(value, (int, float)):
        return float(value)
    try:
        day = dt.date.fromisoformat(str(value)[:10])
    except ValueError:
        return None
    return float(day.toordinal())


def _nice_step(span: float, target: int = 5) -> float:
    raw = span / max(target, 1)
    mag = 10 ** math.floor(math.log10(raw)) if raw > 0 else 1
    for m in (1, 2, 5, 10):
        if raw <= m * mag:
            return m * mag
    return 10 * mag


class _Canvas:
    """Pixel positions of a plotly figure's subplots (``xaxis``/``yaxis`` + suffix)."""

    def __init__(self, layout: dict[str, Any], width: int):
        self.width, self.height = width, int(layout.get("height", 320))
        margin = {"l": 50, "r": 20, "t": 40, "b": 30, **layout.get("margin", {})}
        self.left, self.top = margin["l"], margin["t"]
        self.plot_w = width - margin["l"] - margin["r"]
        self.plot_h = self.height - margin["t"] - margin["b"]
        self.axes: dict[str, dict[str, Any]] = {}
        for key, axis in layout.items():
            m = re.fullmatch(r"yaxis(\d*)", key)
            if not m:
                continue
            xaxis = layout.get(f"xaxis{m.group(1)}", {})
            d0, d1 = axis.get("domain", [0, 1])
            self.axes[m.group(1)] = {
                "px": (self.left, self.left + self.plot_w),
                "py": (self.top + (1 - d0) * self.plot_h, self.top + (1 - d1) * self.plot_h),
                "xr": [_date_value(v) for v in xaxis.get("range", [None, None])],
                "yr": axis.get("range", [0, 1]),
                "ticks": xaxis.get("showticklabels", True),
            }

    def axis(self, ref: str) -> dict[str, Any] | None:
        m = re.match(r"[xy](\d*)", ref or "")
        return self.axes.get(m.group(1) if m else "")

    @staticmethod
    def x(a: dict[str, Any], v: Any, domain: bool = False) -> float | None:
        x0, x1 = a["px"]
        if domain:
            return float(x0 + float(v) * (x1 - x0))
        lo, hi = a["xr"]
        dv = _date_value(v)
        if dv is None or lo is None or hi is None or hi == lo:
            return None
        return float(x0 + (dv - lo) / (hi - lo) * (x1 - x0))

    @staticmethod
    def y(a: dict[str, Any], v: Any, domain: bool = False) -> float | None:
        y0, y1 = a["py"]
        if v is None:
            return None
        if domain:
            return float(y0 + float(v) * (y1 - y0))
        lo, hi = a["yr"]
        return float(y0 + (float(v) - lo) / (hi - lo) * (y1 - y0))

    def shape(self, s: dict[str, Any]) -> str:
        xref, yref = s.get("xref", "x"), s.get("yref", "y")
        a = self.axis(yref if yref != "paper" else xref)
        if a is None:
            return ""
        xd, yd = xref.endswith("domain"), yref.endswith("domain")
        x0, x1 = self.x(a, s.get("x0"), xd), self.x(a, s.get("x1"), xd)
        y0, y1 = self.y(a, s.get("y0"), yd), self.y(a, s.get("y1"), yd)
        if x0 is None or x1 is None or y0 is None or y1 is None:
            return ""
        opacity = s.get("opacity", 1)
        if s.get("type") == "rect":
            return (
                f"<rect x='{min(x0, x1):.1f}' y='{min(y0, y1):.1f}' width='{abs(x1 - x0):.1f}' "
                f"height='{abs(y1 - y0):.1f}' fill='{_e(s.get('fillcolor', '#eee'))}' "
                f"opacity='{opacity}'/>"
            )
        line = s.get("line", {})
        dash = {"dot": "2,3", "dash": "6,4"}.get(line.get("dash", ""), "")
        return (
            f"<line x1='{x0:.1f}' y1='{y0:.1f}' x2='{x1:.1f}' y2='{y1:.1f}' "
            f"stroke='{_e(line.get('color', '#444'))}' stroke-width='{line.get('width', 1)}' "
            f"opacity='{opacity}'" + (f" stroke-dasharray='{dash}'" if dash else "") + "/>"
        )

    def frame(self, a: dict[str, Any]) -> str:
        """A subplot's frame, y ticks with grid lines, and date ticks where shown."""
        (x0, x1), (yb, yt) = a["px"], a["py"]
        lo, hi = a["yr"]
        out = []
        step = _nice_step(hi - lo)
        v = math.ceil(lo / step) * step
        while v <= hi:
            y = self.y(a, v)
            if y is None:
                break
            out.append(
                f"<line x1='{x0}' y1='{y:.1f}' x2='{x1}' y2='{y:.1f}' stroke='#eee'/>"
                f"<text x='{x0 - 6}' y='{y + 4:.1f}' text-anchor='end' fill='#444'>{v:g}</text>"
            )
            v += step
        out.append(
            f"<rect x='{x0}' y='{yt:.1f}' width='{x1 - x0}' height='{yb - yt:.1f}' "
            "fill='none' stroke='#ccc'/>"
        )
        xlo, xhi = a["xr"]
        if a["ticks"] and xlo is not None and xhi is not None and xhi > xlo:
            step_days = max(1, int(_nice_step(xhi - xlo, 6)))
            step_days = 7 * max(1, round(step_days / 7)) if step_days >= 7 else step_days
            d = math.ceil(xlo)
            while d <= xhi:
                out.append(
                    f"<text x='{self.x(a, d):.1f}' y='{yb + 16:.1f}' text-anchor='middle' "
                    f"fill='#444'>{dt.date.fromordinal(int(d)):%d %b}</text>"
                )
                d += step_days
        return "".join(out)

    def trace(self, trace: dict[str, Any]) -> str:
        a = self.axis(trace.get("yaxis", "y"))
        if a is None:
            return ""
        pts = [
            (self.x(a, x), self.y(a, y))
            for x, y in zip(trace.get("x", []), trace.get("y", []), strict=False)
        ]
        points = [(x, y) for x, y in pts if x is not None and y is not None]
        if not points:
            return ""
        mode = trace.get("mode", "lines+markers")
        line, marker = trace.get("line", {}), trace.get("marker", {})
        colour = line.get("color") or marker.get("color") or "#1a4d8f"
        parts = [f"<g class='kap-trace'><title>{_e(trace.get('name', ''))}</title>"]
        if "lines" in mode and len(points) > 1:
            path = " ".join(f"{x:.1f},{y:.1f}" for x, y in points)
            parts.append(
                f"<polyline points='{path}' fill='none' stroke='{_e(colour)}' "
                f"stroke-width='{line.get('width', 2)}'/>"
            )
        if "markers" in mode:
            r = float(marker.get("size", 6)) / 2
            fill = _e(marker.get("color", colour))
            edge = marker.get("line", {}).get("width", 1.5)
            for x, y in points:
                if str(marker.get("symbol", "")).startswith("diamond"):
                    parts.append(
                        f"<path d='M{x:.1f},{y - r - 1:.1f} L{x + r + 1:.1f},{y:.1f} "
                        f"L{x:.1f},{y + r + 1:.1f} L{x - r - 1:.1f},{y:.1f} Z' fill='none' "
                        f"stroke='{fill}' stroke-width='{edge}'/>"
                    )
                else:
                    parts.append(f"<circle cx='{x:.1f}' cy='{y:.1f}' r='{r:.1f}' fill='{fill}'/>")
        return "".join(parts) + "</g>"

    def annotation(self, ann: dict[str, Any]) -> str:
        xref, yref = ann.get("xref", "paper"), ann.get("yref", "paper")
        if xref == "paper" and yref == "paper":
            x: float | None = self.left + float(ann.get("x", 0.5)) * self.plot_w
            y: float | None = self.top + (1 - float(ann.get("y", 0.5))) * self.plot_h
        else:
            a = self.axis(yref if yref != "paper" else xref)
            if a is None:
                return ""
            x = self.x(a, ann.get("x"), xref.endswith("domain") or xref == "paper")
            y = self.y(a, ann.get("y"), yref.endswith("domain"))
        if x is None or y is None:
            return ""
        raw = str(ann.get("text", ""))
        text = html.escape(re.sub(r"<[^>]+>", "", raw), quote=False)
        anchor = {"left": "start", "right": "end"}.get(ann.get("xanchor", "center"), "middle")
        dy = {"bottom": -4, "top": 11}.get(ann.get("yanchor", "middle"), 4)
        font = ann.get("font", {})
        return (
            f"<text x='{x:.1f}' y='{y + dy:.1f}' text-anchor='{anchor}' "
            f"font-size='{font.get('size', 11)}' fill='{_e(font.get('color', '#222'))}'"
            + (" font-weight='bold'" if "<b>" in raw else "")
            + f">{text}</text>"
        )


def svg_from_spec(spec: dict[str, Any], *, width: int = 900, label: str = "chart") -> str:
    """A static SVG drawing of a plotly figure spec (the subset the trend chart uses).

    Date x axes and numeric y axes per subplot (``xaxis``/``yaxis`` + suffix, their
    ``domain`` and ``range``), scatter traces (lines, markers; ``diamond-open`` drawn as
    an outlined diamond), ``rect`` and ``line`` shapes in data or ``domain``
    coordinates, and annotations. Interactivity (hover, zoom) comes with the plotly
    chart that replaces it.
    """
    layout = spec.get("layout", {})
    c = _Canvas(layout, width)
    shapes = layout.get("shapes", [])
    return "".join(
        [
            f"<svg xmlns='http://www.w3.org/2000/svg' class='kap-chart-svg' role='img' "
            f"aria-label='{_e(label)}' viewBox='0 0 {c.width} {c.height}' width='{c.width}' "
            f"height='{c.height}' font-family='system-ui, sans-serif' font-size='11'>"
            f"<title>{_e(label)}</title>"
            f"<rect width='{c.width}' height='{c.height}' fill='white'/>",
            *(c.shape(s) for s in shapes if s.get("layer") == "below"),
            *(c.frame(a) for a in c.axes.values()),
            *(c.shape(s) for s in shapes if s.get("layer") != "below"),
            *(c.trace(t) for t in spec.get("data", [])),
            *(c.annotation(a) for a in layout.get("annotations", [])),
            "</svg>",
        ]
    )
