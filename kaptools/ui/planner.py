"""The course-planner dashboard: plan a KAP course, re-plan it, record its dosing sessions.

A thin shell over :mod:`kaptools.scheduling` (plans, re-plans, exports, storage),
:mod:`kaptools.screening` (the latest screening decides whether a course can be
planned) and :mod:`kaptools.sessions` (the session form, REMS forms due). Every
date, dose, rule and flag comes from those modules; this module lays them out.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Sequence
from typing import Any

import holidays
import ipywidgets as w
from IPython.display import HTML, display

from kaptools.alerts import Alert, alerts_html
from kaptools.errors import (
    IncompleteInputError,
    InvalidInputError,
    NotFoundError,
    NotPlannableError,
    PlanningError,
    StaleVersionError,
)
from kaptools.protocol import Protocol
from kaptools.scheduling import (
    ClinicCalendar,
    CoursePlan,
    PlannedSession,
    SavedPlan,
    SessionKind,
    SessionStatus,
    Weekday,
    load_latest_plan,
    named_templates,
    plan_for_patient,
    plan_to_csv,
    plan_to_ics,
    plan_to_parquet,
    plannable,
    replan,
    save_plan,
)
from kaptools.screening import ScreeningResult, ScreeningStatus, latest_screening
from kaptools.screening import Severity as FindingSeverity
from kaptools.sessions import (
    RemsFormStatus,
    SavedDosingSession,
    SessionRecordStatus,
    dosing_sessions,
    rems_form_applies,
    rems_forms_due,
)
from kaptools.store import Store, StoredRecord
from kaptools.ui.common import (
    CSS,
    AuditedDownloads,
    DownloadFile,
    ErrorBox,
    PatientAlertsPanel,
    PatientApp,
    escape,
    guarded,
    lock_author,
    show_figure,
)
from kaptools.ui.session_form import UNSET, Choice, SessionForm, offered_routes
from kaptools.validation import present

__all__ = ["PlannerApp", "plan_table_html", "plan_timeline_spec"]

DISCLAIMER = (
    "Decision support for clinicians: the plan meets the protocol's scheduling rules on the "
    "calendar given; every dose is for clinician confirmation. kaptools never replaces "
    "clinical judgement. Synthetic demo data only."
)

DEFAULT_COUNTRY = "US"
"""The public-holiday calendar a new plan starts with (the clinic may choose another)."""

#: Styles of the planner's own classes (the shared ones are in kaptools.ui.common.CSS).
PLANNER_CSS = """
<style>
.kap-plan-table td, .kap-plan-table th { vertical-align: top; }
.kap-deviations { border-left: 4px solid #b35c00; background: #fff4e5; padding: 0.4em 0.8em; }
.kap-plan-table td:nth-child(2) { white-space: nowrap; }
.kap-plan-table tr.kap-kind-dosing td { background: #f6f2fb; }
.kap-plan-table tr.kap-status-missed td { color: #888; text-decoration: line-through; }
.kap-plan-table tr.kap-status-done td { color: #555; }
.kap-plan-table tr.kap-changed td { background: #fff4c2; }
.kap-plan-table .kap-dose-arithmetic { color: #444; font-size: 0.9em; }
.kap-confirm { color: #7a4f01; font-style: italic; font-size: 0.9em; }
.kap-cautions { background: #fef7e0; border-left: 4px solid #e0a800; padding: 0.3em 0.8em;
  margin: 0.4em 0; }
.kap-not-plannable { background: #f1f3f4; border-left: 4px solid #5f6368; padding: 0.4em 0.8em;
  margin: 0.4em 0; }
.kap-screening-box p { margin: 0.2em 0; }
.kap-section-title h3 { margin: 0.9em 0 0.2em; }
.kap-downloads a { display: inline-block; margin-right: 1em; padding: 3px 10px;
  border: 1px solid #1a4d8f; border-radius: 4px; color: #1a4d8f; text-decoration: none; }
.kap-session-form { border: 1px solid #c9cfd8; border-radius: 6px; padding: 0.4em 0.8em;
  margin: 0.5em 0; background: #fbfcfd; }
.kap-session-form h4 { margin: 0.7em 0 0.2em; }
.kap-vitals-flag { padding: 0.25em 0.6em; margin: 0.2em 0; border-radius: 3px; }
.kap-vitals-flag.kap-flag-flag { background: #fdecea; border-left: 4px solid #b00020; }
.kap-vitals-flag.kap-flag-review { background: #fef7e0; border-left: 4px solid #e0a800; }
.kap-vitals-flagged .kap-v-sys input, .kap-vitals-flagged .kap-v-dia input {
  border-color: #b00020 !important; background: #fdecea; }
.kap-vitals-review .kap-v-sys input, .kap-vitals-review .kap-v-dia input {
  border-color: #e0a800 !important; background: #fef7e0; }
.kap-rems-overdue td { color: #8a0010; font-weight: 600; }
.kap-rems-table td:nth-child(-n+3) { white-space: nowrap; }
</style>
"""

_CLOSURE_RE = re.compile(
    r"^(?P<start>\d{4}-\d{1,2}-\d{1,2})"
    r"(?:\s*(?:to|until|–|—|\.\.)\s*(?P<end>\d{4}-\d{1,2}-\d{1,2}))?"
    r"\s*[:,]?\s*(?P<reason>.*)$"
)

_KIND_LABELS = {
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


def parse_closures(text: str) -> list[dict[str, str]]:
    """Closure lines (``YYYY-MM-DD [to YYYY-MM-DD] [reason]``) as dicts ClinicCalendar reads.

    Only the layout is read here; the dates and their order are checked by ClinicCalendar.
    """
    out = []
    for n, raw in enumerate((text or "").splitlines(), start=1):
        line = raw.strip()
        if not line:
            continue
        m = _CLOSURE_RE.match(line)
        if m is None:
            msg = (
                f"closures, line {n}: {line[:80]!r} is not a closure; write one per line as "
                "YYYY-MM-DD or YYYY-MM-DD to YYYY-MM-DD, then the reason"
            )
            raise InvalidInputError(msg)
        start = m.group("start")
        out.append(
            {
                "start": start,
                "end": m.group("end") or start,
                "reason": m.group("reason").strip() or "clinic closure",
            }
        )
    return out


def _dose_cell(s: PlannedSession) -> str:
    if s.dose is None:
        return ""
    d = s.dose
    return (
        f"<b>{escape(d.mg_text)}</b><br><span class='kap-dose-arithmetic'>"
        f"{escape(d.arithmetic)}</span><br><span class='kap-confirm'>{escape(d.confirmation)}"
        "</span>"
    )


def plan_table_html(
    plan: CoursePlan,
    *,
    recorded: dict[dt.date, SavedDosingSession] | None = None,
    changed: frozenset[int] = frozenset(),
    today: dt.date | None = None,
) -> str:
    """Every session of the plan as a table (class ``kap-plan-table``), doses with arithmetic.

    ``recorded`` marks dosing sessions with a record on the same day; ``changed`` rows
    (by index) are highlighted; planned sessions dated before ``today`` say so.
    """
    recorded = recorded or {}
    rows = []
    for s in plan.sessions:
        record = ""
        if s.kind is SessionKind.DOSING and s.date in recorded:
            saved = recorded[s.date]
            done = saved.session.status is SessionRecordStatus.COMPLETE
            record = (
                f"<span class='kap-badge {'kap-yes' if done else 'kap-warn'} kap-recorded'>"
                f"{'recorded' if done else 'record in progress'} (v{saved.version})</span>"
            )
        classes = [
            "kap-plan-row",
            f"kap-kind-{escape(s.kind.value)}",
            f"kap-status-{escape(s.status.value)}",
        ]
        if s.index in changed:
            classes.append("kap-changed")
        note = f"<br><span class='kap-muted'>{escape(s.note)}</span>" if s.note else ""
        passed = (
            "<br><span class='kap-muted'>date passed</span>"
            if today is not None and s.status is SessionStatus.PLANNED and s.date < today
            else ""
        )
        rows.append(
            f"<tr class='{' '.join(classes)}' data-index='{s.index}'><td>{s.index}</td>"
            f"<td>{s.date:%a %d %b %Y}</td><td>{escape(s.label)}{note}</td>"
            f"<td>{_dose_cell(s)}</td><td>{escape(s.status.value)}{passed}</td><td>{record}</td>"
            "</tr>"
        )
    return (
        "<table class='kap-table kap-plan-table'><thead><tr><th>#</th><th>Date</th>"
        "<th>Session</th><th>Dose (for clinician confirmation)</th><th>Status</th>"
        "<th>Dosing record</th></tr></thead><tbody>" + "".join(rows) + "</tbody></table>"
    )


def _closed_spans(plan: CoursePlan) -> list[tuple[dt.date, dt.date, tuple[str, ...]]]:
    """Runs of days closed by a clinic closure or public holiday, within the plan's dates."""
    first = min(s.date for s in plan.sessions)
    return [(c.first, c.last, c.reasons) for c in plan.calendar.closed_spans(first, plan.end)]


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
    kinds = [k for k in _KIND_LABELS if any(s.kind is k for s in plan.sessions)]
    marker = {
        SessionStatus.PLANNED: "circle-open",
        SessionStatus.DONE: "circle",
        SessionStatus.MISSED: "x-thin-open",
    }
    data: list[dict[str, Any]] = []
    for k in kinds:
        sessions = [s for s in plan.sessions if s.kind is k]
        data.append(
            {
                "type": "scatter",
                "mode": "markers+text" if k is SessionKind.DOSING else "markers",
                "name": _KIND_LABELS[k],
                "x": [s.date.isoformat() for s in sessions],
                "y": [_KIND_LABELS[k]] * len(sessions),
                "text": [
                    f"D{s.dose_number}" if k is SessionKind.DOSING and s.active else ""
                    for s in sessions
                ],
                "textposition": "top center",
                "hovertext": [
                    escape(f"{s.date:%a %d %b}: {s.label} ({s.status.value})")
                    + (
                        "<br>" + escape(f"{s.dose.arithmetic}, {s.dose.confirmation}")
                        if s.dose
                        else ""
                    )
                    for s in sessions
                ],
                "hoverinfo": "text",
                "marker": {
                    "size": 13,
                    "color": _KIND_COLOURS[k],
                    "symbol": [marker[s.status] for s in sessions],
                    "line": {"width": 2, "color": _KIND_COLOURS[k]},
                },
            }
        )
    if recorded:
        data.append(
            {
                "type": "scatter",
                "mode": "markers",
                "name": "dosing recorded",
                "x": [d.isoformat() for d in recorded],
                "y": [_KIND_LABELS[SessionKind.DOSING]] * len(recorded),
                "hoverinfo": "skip",
                "marker": {"size": 7, "color": "#1e8e3e", "symbol": "circle"},
            }
        )
    shapes: list[dict[str, Any]] = []
    annotations: list[dict[str, Any]] = []
    closed_x: list[str] = []
    closed_text: list[str] = []
    for n, (start, end, reasons) in enumerate(_closed_spans(plan)):
        shapes.append(
            {
                "type": "rect",
                "xref": "x",
                "yref": "paper",
                "x0": dt.datetime.combine(start, dt.time()).isoformat(),
                "x1": dt.datetime.combine(end + dt.timedelta(days=1), dt.time()).isoformat(),
                "y0": 0,
                "y1": 1,
                "fillcolor": "#9e9e9e",
                "opacity": 0.18,
                "line": {"width": 0},
                "layer": "below",
            }
        )
        label = reasons[0] + (f" (+{len(reasons) - 1})" if len(reasons) > 1 else "")
        annotations.append(
            {
                "x": start.isoformat(),
                "y": 1.0 if n % 2 == 0 else 1.07,
                "xref": "x",
                "yref": "paper",
                "xanchor": "left",
                "yanchor": "bottom",
                "text": escape(label),  # closure reasons are typed by users
                "showarrow": False,
                "font": {"size": 9, "color": "#555"},
            }
        )
        closed_x.append(dt.datetime.combine(start, dt.time(12)).isoformat())
        closed_text.append(
            f"Closed {start:%a %d %b}"
            + (f" to {end:%a %d %b}" if end != start else "")
            + ": "
            + escape("; ".join(reasons))
        )
    if closed_x:
        data.append(
            {
                "type": "scatter",
                "mode": "markers",
                "name": "closed",
                "x": closed_x,
                "y": [_KIND_LABELS[kinds[0]]] * len(closed_x),
                "hovertext": closed_text,
                "hoverinfo": "text",
                "marker": {"size": 14, "opacity": 0, "color": "#9e9e9e"},
            }
        )
    if as_of is not None:
        shapes.append(
            {
                "type": "line",
                "xref": "x",
                "yref": "paper",
                "x0": as_of.isoformat(),
                "x1": as_of.isoformat(),
                "y0": 0,
                "y1": 1,
                "line": {"color": "#b00020", "width": 1, "dash": "dot"},
            }
        )
        annotations.append(
            {
                "x": as_of.isoformat(),
                "y": 0,
                "xref": "x",
                "yref": "paper",
                "yanchor": "top",
                "text": "today",
                "showarrow": False,
                "font": {"size": 9, "color": "#b00020"},
            }
        )
    lo = min(s.date for s in plan.sessions) - dt.timedelta(days=2)
    hi = plan.end + dt.timedelta(days=2)
    return {
        "data": data,
        "layout": {
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
                "categoryarray": [_KIND_LABELS[k] for k in reversed(kinds)],
                "gridcolor": "#eee",
            },
            "showlegend": False,
            "shapes": shapes,
            "annotations": annotations,
            "hovermode": "closest",
        },
    }


def _plans_side_by_side(mine: CoursePlan, newest: SavedPlan) -> str:
    """The unsaved plan beside the newest saved version: what each says where they differ."""
    v = newest.version
    theirs = newest.plan
    head = (
        f"<b>Reloaded version {v}</b> of the course plan (saved by {escape(newest.author)} "
        f"{newest.created_at:%Y-%m-%d %H:%M} UTC"
        + (f": {escape(newest.reason)}" if newest.reason else "")
        + "). "
    )
    if mine == theirs:
        return f"<div class='kap-reload-notice'>{head}It is the same as your plan.</div>"
    rows = []
    if (mine.route_label, mine.start) != (theirs.route_label, theirs.start):
        rows.append(
            (
                "course",
                f"{mine.route_label} from {mine.start:%d %b %Y}",
                f"{theirs.route_label} from {theirs.start:%d %b %Y}",
            )
        )
    ours = {s.label: s for s in mine.sessions}
    other = {s.label: s for s in theirs.sessions}
    for label in list(dict.fromkeys([*ours, *other])):
        a, b = ours.get(label), other.get(label)
        day_a = f"{a.date:%a %d %b %Y}" if a else "(none)"
        day_b = f"{b.date:%a %d %b %Y}" if b else "(none)"
        if day_a != day_b:
            rows.append((label, day_a, day_b))
    table = "".join(
        f"<tr><td>{escape(k)}</td><td>{escape(x)}</td><td>{escape(y)}</td></tr>" for k, x, y in rows
    )
    return (
        f"<div class='kap-reload-notice'>{head}Your plan (not saved) is still in the form; "
        f"saving it now makes version {v + 1}, replacing version {v}'s changes below. To "
        f"keep version {v} instead, open the patient again.<table "
        f"class='kap-reload-conflicts'><tr><th></th><th>your plan (not saved)</th>"
        f"<th>version {v}</th></tr>{table}</table></div>"
    )


def _country_options() -> list[tuple[str, str]]:
    codes = sorted(c for c in holidays.list_supported_countries() if re.fullmatch(r"[A-Z]{2}", c))
    return [("none (no public holidays)", ""), *((c, c) for c in codes)]


class PlannerApp(PatientApp):
    """Course planning for one patient at a time. ``app.container`` is what the dashboard shows."""

    def __init__(
        self,
        store: Store,
        protocol: Protocol,
        *,
        patient_id: str | None = None,
        author: str | None = None,
        today: dt.date | None = None,
        defer: bool = False,
    ):
        self._init_patient(store, protocol, defer=defer)
        self._today = today
        self.screening: ScreeningResult | None = None
        self.screening_record: StoredRecord | None = None
        self.saved: SavedPlan | None = None
        self.plan: CoursePlan | None = None
        self.changed: frozenset[int] = frozenset()
        self.sessions: list[SavedDosingSession] = []
        self.alerts: tuple[Alert, ...] = ()
        self.gate: str | None = None
        """Why no course can be planned (the planner's message), or None when one can."""

        self.alert_panel = PatientAlertsPanel(
            store, protocol, author=lambda: self.author.value, on_change=self._load
        )
        self.banner = self.alert_panel.banner
        self.screening_box = w.HTML()
        self.screening_box.add_class("kap-screening-box")

        # Plan controls
        style = {"description_width": "initial"}
        self.route = w.Dropdown(
            description="Route",
            options=[(protocol.courses.route(r).label, r.value) for r in offered_routes(protocol)],
            style=style,
            layout=w.Layout(width="360px"),
        )
        self.route.add_class("kap-route")
        self.course = w.Dropdown(description="Course", style=style, layout=w.Layout(width="560px"))
        self.course.add_class("kap-course")
        self.course_notes = w.HTML()
        self.course_notes.add_class("kap-course-notes")
        self.course_row = w.VBox([self.course, self.course_notes])
        self.start = w.DatePicker(description="First session on or after", style=style)
        self.start.add_class("kap-start-date")
        self.country = w.Dropdown(
            description="Public holidays of",
            options=_country_options(),
            value=DEFAULT_COUNTRY,
            style=style,
            layout=w.Layout(width="330px"),
        )
        self.country.add_class("kap-country")
        self.subdivision = Choice(
            options=[], description="Region", style=style, layout=w.Layout(width="220px")
        )
        self.subdivision.add_class("kap-subdivision")
        self.weekdays = [
            w.ToggleButton(
                description=d.name.title(), value=d < Weekday.SAT, layout=w.Layout(width="56px")
            )
            for d in Weekday
        ]
        for b in self.weekdays:
            b.add_class("kap-weekday")
            b.observe(_weekday_style, names="value")
            _weekday_style({"owner": b})
        self.closures = w.Textarea(
            description="Clinic closures",
            placeholder="one per line: 2026-12-24 to 2027-01-01 winter break",
            style=style,
            layout=w.Layout(width="560px", height="56px"),
        )
        self.closures.add_class("kap-closures")
        self.video = w.Checkbox(
            description="Integration by video on the therapist's calendar",
            value=False,
            indent=False,
            layout=w.Layout(width="360px"),
        )
        self.video.add_class("kap-video")
        self.therapist_days = [
            w.ToggleButton(
                description=d.name.title(), value=d < Weekday.SAT, layout=w.Layout(width="56px")
            )
            for d in Weekday
        ]
        for b in self.therapist_days:
            b.add_class("kap-therapist-weekday")
            b.observe(_weekday_style, names="value")
            _weekday_style({"owner": b})
        self.therapist_closures = w.Textarea(
            description="Therapist away",
            placeholder="one per line: 2026-08-03 to 2026-08-14 leave",
            style=style,
            layout=w.Layout(width="560px", height="40px"),
        )
        self.therapist_closures.add_class("kap-therapist-closures")
        self.therapist_row = w.VBox(
            [
                w.HBox([w.HTML("Therapist works on&nbsp;"), *self.therapist_days]),
                self.therapist_closures,
            ]
        )
        self.video.observe(self._on_video, names="value")
        self._on_video()
        self.plan_button = w.Button(
            description="Plan course", button_style="primary", icon="calendar"
        )
        self.plan_button.add_class("kap-plan-button")
        self.calendar_button = w.Button(
            description="Re-plan with this calendar", icon="refresh", layout=w.Layout(width="230px")
        )
        self.calendar_button.add_class("kap-replan-calendar")
        self.plan_error = ErrorBox()
        self.plan_error.add_class("kap-plan-error")
        self.controls = w.VBox(
            [
                _title("Plan a course"),
                w.HBox([self.route, self.start]),
                self.course_row,
                w.HBox([self.country, self.subdivision, w.HTML("&nbsp;Open on"), *self.weekdays]),
                self.closures,
                self.video,
                self.therapist_row,
                w.HBox([self.plan_button, self.calendar_button]),
                self.plan_error,
            ]
        )
        self.controls.add_class("kap-plan-controls")

        # The plan
        self.plan_summary = w.HTML()
        self.plan_summary.add_class("kap-plan-summary")
        self.timeline = w.Output()
        self.timeline.add_class("kap-plan-timeline")
        self.table = w.HTML()
        self.table.add_class("kap-plan-table-box")

        # Move or miss a session
        self.move_which = w.Dropdown(
            description="Move", style=style, layout=w.Layout(width="430px")
        )
        self.move_which.add_class("kap-move-which")
        self.move_date = w.DatePicker(description="to", style=style)
        self.move_date.add_class("kap-move-date")
        self.move_button = w.Button(description="Move and re-plan", icon="arrows-h")
        self.move_button.add_class("kap-move-session")
        self.miss_which = w.Dropdown(
            description="Missed", style=style, layout=w.Layout(width="430px")
        )
        self.miss_which.add_class("kap-miss-which")
        self.miss_button = w.Button(description="Mark missed and re-plan", icon="times")
        self.miss_button.add_class("kap-miss-session")
        self.worsened = w.Checkbox(
            description="symptoms worsened (may return to the previous dosing frequency)",
            value=False,
            indent=False,
            layout=w.Layout(width="430px"),
        )
        self.worsened.add_class("kap-worsened")
        self.replan_error = ErrorBox()
        self.replan_error.add_class("kap-replan-error")
        self.miss_row = w.HBox([self.miss_which, self.miss_button, self.worsened])
        self.miss_note = w.HTML(
            "<p class='kap-muted'>A session can be marked missed once its date has passed.</p>"
        )
        self.move_box = w.VBox(
            [
                w.HBox([self.move_which, self.move_date, self.move_button]),
                self.miss_row,
                self.miss_note,
                self.replan_error,
            ]
        )
        self.move_box.add_class("kap-move-box")

        # Save and download
        self.author = w.Text(
            description="Saved by", value=author or store.identity.user, style=style
        )
        self.author.add_class("kap-plan-author")
        lock_author(self.author)
        self.save_reason = w.Text(
            description="Reason for a new version",
            placeholder="(default: what the re-plan changed)",
            style=style,
            layout=w.Layout(width="520px"),
        )
        self.save_reason.add_class("kap-plan-reason")
        self.ack_reason = w.Text(
            description="Acknowledge the deviation; reason",
            placeholder="why this plan is right for this patient despite the deviation",
            style=style,
            layout=w.Layout(width="720px"),
        )
        self.ack_reason.add_class("kap-deviation-ack")
        self.save_button = w.Button(description="Save plan", button_style="success", icon="save")
        self.save_button.add_class("kap-save-plan")
        self.save_error = ErrorBox()
        self.save_error.add_class("kap-save-message")
        # each download goes through the kernel, which audit-logs it before sending
        self.downloads = AuditedDownloads()
        self.downloads.add_class("kap-downloads")
        self.downloads.before_download = self._log_download
        self.downloads.on_error = lambda exc: self.save_error.error(
            f"Not downloaded: the download could not be audit-logged ({exc})."
        )
        # a stale save (someone saved a newer version of the plan meanwhile): reload it
        # and keep this unsaved plan, the two side by side
        self.reload_button = w.Button(
            description="Reload the current version",
            icon="refresh",
            button_style="warning",
            layout=w.Layout(width="260px", display="none"),
        )
        self.reload_button.add_class("kap-plan-reload")
        self.reload_button.on_click(self._on_reload)
        self.reload_notice = w.HTML(layout=w.Layout(display="none"))
        self.reload_notice.add_class("kap-plan-reload-notice")
        self.save_box = w.VBox(
            [
                w.HBox([self.author, self.save_reason, self.save_button]),
                self.ack_reason,
                self.save_error,
                self.reload_button,
                self.reload_notice,
                self.downloads,
            ]
        )

        # Dosing sessions
        self.session_pick = w.Dropdown(
            description="Dosing session", style=style, layout=w.Layout(width="560px")
        )
        self.session_pick.add_class("kap-session-pick")
        self.open_button = w.Button(description="Open session form", icon="edit")
        self.open_button.add_class("kap-open-session")
        self.session_error = ErrorBox()
        self.form = SessionForm(store, protocol, author=author, on_saved=self._on_session_saved)
        self.rems = w.HTML()
        self.rems.add_class("kap-rems-list")

        self.plan_area = w.VBox(
            [
                self.plan_summary,
                self.timeline,
                self.table,
                _title("Move or miss a session"),
                self.move_box,
                _title("Save and export"),
                self.save_box,
                _title("Dosing sessions"),
                w.HBox([self.session_pick, self.open_button]),
                self.session_error,
                self.form.container,
                _title("REMS Patient Monitoring Forms"),
                self.rems,
            ]
        )
        self.plan_area.add_class("kap-plan-area")
        self.protocol_note = w.HTML(
            f"<p class='kap-muted kap-protocol'>{escape(DISCLAIMER)} "
            f"Protocol: {escape(protocol.info.short)}.</p>"
        )

        self.country.observe(self._on_country, names="value")
        self.route.observe(self._offer_courses, names="value")
        self.course.observe(self._show_course_notes, names="value")
        self.move_which.observe(self._on_move_which, names="value")
        self.plan_button.on_click(self._on_plan)
        self.calendar_button.on_click(self._on_calendar)
        self.move_button.on_click(self._on_move)
        self.miss_button.on_click(self._on_missed)
        self.save_button.on_click(self._on_save)
        self.open_button.on_click(self._on_open_session)
        self._on_country()
        self._offer_courses()
        self.container = self._layout()
        if defer:
            self.screening_box.value = "<p class='kap-muted kap-loading'>Loading…</p>"
            self.controls.layout.display = "none"
            self.plan_area.layout.display = "none"
        else:
            self.select_patient(patient_id)

    # ---- construction -------------------------------------------------------
    def _layout(self) -> w.VBox:
        box = w.VBox(
            [
                w.HTML(CSS),
                w.HTML(PLANNER_CSS),
                self.url,
                self.alert_panel.container,
                self.picker,
                self.notice,
                self.screening_box,
                self.controls,
                self.plan_area,
                self.protocol_note,
            ]
        )
        box.add_class("kap-app")
        box.add_class("kap-planner-app")
        return box

    @property
    def today(self) -> dt.date:
        return self._today or dt.date.today()

    # ---- the single update path -----------------------------------------------
    def _load_patient(self) -> None:
        self._load()

    def _load(self) -> None:
        """Read the patient's latest screening, saved plan and dosing sessions; show them."""
        for box in (self.plan_error, self.replan_error, self.save_error, self.session_error):
            box.clear()
        self.form.close()
        self.screening = self.screening_record = self.saved = self.plan = None
        self.sessions, self.changed, self.alerts, self.gate = [], frozenset(), (), None
        pid = self.picker.value
        if pid is None:
            self.screening_box.value = "<p>No patients in this database yet.</p>"
            self.alert_panel.load(None)
            self._render()
            return
        try:
            latest = latest_screening(self.store, pid)
            if latest is not None:
                self.screening_record, self.screening = latest.record, latest.result
            self.saved = load_latest_plan(self.store, pid)
            self.sessions = dosing_sessions(self.store, pid)
            # every stored alert of the patient (screening, assessments, sessions), open
            # until acknowledged; raised first from any record that holds one
            self.alert_panel.load(pid)
        except NotFoundError as exc:
            self.notice.error(str(exc))
            return
        self.alerts = tuple(a.alert for a in self.alert_panel.stored.open)
        self.gate = self._gate_message(pid)
        self._offer_routes()
        self._set_controls(self.saved.plan if self.saved else None)
        if self.saved is not None and self.plannable:
            self.plan = self.saved.plan
        self._render()

    @property
    def plannable(self) -> bool:
        """Whether the latest screening allows a plan (the planner's own gate decides)."""
        return self.picker.value is not None and self.screening is not None and self.gate is None

    def _gate_message(self, patient_id: str) -> str | None:
        """The planner's own message when the latest screening does not allow a course."""
        gate = plannable(self.store, patient_id, self.today, protocol=self.protocol)
        return None if gate else gate.reason

    def _offer_routes(self) -> None:
        """Offer only the routes whose screening criteria are met (the screening decides:
        ScreeningResult.routes_meeting_criteria); all routes while nothing is plannable."""
        routes = list(offered_routes(self.protocol))
        met = self.screening.routes_meeting_criteria if self.screening is not None else ()
        if met:
            routes = [r for r in routes if r in met]
        options = [(self.protocol.courses.route(r).label, r.value) for r in routes]
        if list(self.route.options) != options:
            self.route.options = options
        self._offer_courses()

    def _offer_courses(self, _change: Any = None) -> None:
        """Offer the chosen route's own course and the protocol's named templates for it
        (e.g. the esketamine label's MDSI schedule); hidden for a route that has none."""
        route = self.route.value
        named = named_templates(route, self.protocol) if route else ()
        own = f"{self.protocol.courses.route(route).label}: the route's own course" if route else ""
        options = [(own, ""), *((t.label, name) for name, t in named)]
        if list(self.course.options) != options:
            keep = self.course.value if any(v == self.course.value for _, v in options) else ""
            self.course.options = options
            self.course.value = keep
        self.course_row.layout.display = None if named else "none"
        self._show_course_notes()

    def _show_course_notes(self, _change: Any = None) -> None:
        """The chosen named template's label notes and source, as the protocol states them."""
        name = self.course.value
        if not name:
            self.course_notes.value = ""
            return
        t = self.protocol.courses.template(name)
        items = "".join(f"<li>{escape(n)}</li>" for n in t.notes)
        self.course_notes.value = (
            f"<div class='kap-course-note'><ul style='margin:0.2em 0'>{items}</ul>"
            f"<p class='kap-muted'>Source: {escape(t.source)}</p></div>"
        )

    def _set_controls(self, plan: CoursePlan | None) -> None:
        if plan is None:
            self.start.value = self.today
            self.country.value = DEFAULT_COUNTRY
            self.subdivision.answer = None
            for b, d in zip(self.weekdays, Weekday, strict=True):
                b.value = d < Weekday.SAT
            self.closures.value = ""
            self.video.value = False
            self.course.value = ""
            return
        if any(value == plan.route.value for _, value in self.route.options):
            self.route.value = plan.route.value
        template = plan.options.template or ""
        if any(value == template for _, value in self.course.options):
            self.course.value = template
        self.video.value = plan.therapist_calendar is not None
        if plan.therapist_calendar is not None:
            for b, d in zip(self.therapist_days, Weekday, strict=True):
                b.value = d in plan.therapist_calendar.open_weekdays
            self.therapist_closures.value = _closures_text(plan.therapist_calendar)
        self.start.value = plan.start
        cal = plan.calendar
        self.country.value = cal.country or ""
        self.subdivision.answer = cal.subdivision
        for b, d in zip(self.weekdays, Weekday, strict=True):
            b.value = d in cal.open_weekdays
        self.closures.value = _closures_text(cal)

    def _render(self) -> None:
        """Draw everything from the App's state (screening, plan, sessions)."""
        self.screening_box.value = self._screening_html()
        plannable = self.plannable
        self.controls.layout.display = None if plannable else "none"
        if self.plan is None or not plannable:
            self.plan_area.layout.display = "none"
            if plannable:
                self.plan_error.value = (
                    "<p class='kap-muted kap-plan-hint'>Choose the route, the first day and the "
                    "clinic calendar, then press <b>Plan course</b>.</p>"
                )
                self.plan_error.layout.display = None
            return
        plan = self.plan
        recorded = self._recorded_by_date()
        self.plan_area.layout.display = None
        self.plan_summary.value = self._summary_html(plan)
        self._draw(plan, recorded)
        as_of = self._as_of(plan)
        _set_options(
            self.move_which,
            [
                (f"#{s.index} {s.label} ({s.date:%a %d %b})", s.index)
                for s in plan.sessions
                if s.status is SessionStatus.PLANNED and s.date >= as_of
            ],
            keep=False,
        )
        _set_options(
            self.miss_which,
            [
                (f"#{s.index} {s.label} ({s.date:%a %d %b})", s.index)
                for s in plan.sessions
                if s.status is SessionStatus.PLANNED
                and s.date < as_of
                and not (s.kind is SessionKind.DOSING and s.date in recorded)
            ],
            keep=False,
        )
        self.miss_row.layout.display = None if self.miss_which.options else "none"
        self.miss_note.layout.display = "none" if self.miss_which.options else None
        self.move_button.disabled = not self.move_which.options
        self._on_move_which()
        self.downloads.offer(self._download_files(plan))
        open_deviation = bool(plan.deviations) and plan.acknowledgement is None
        self.ack_reason.layout.display = None if open_deviation else "none"
        self._render_sessions(plan, recorded)

    def _draw(self, plan: CoursePlan, recorded: dict[dt.date, SavedDosingSession]) -> None:
        """The timeline and the table of ``plan``."""
        on_plan = sorted({s.date for s in plan.doses} & set(recorded))
        show_figure(self.timeline, plan_timeline_spec(plan, as_of=self.today, recorded=on_plan))
        self.table.value = plan_table_html(
            plan, recorded=recorded, changed=self.changed, today=self.today
        )

    def _recorded_by_date(self) -> dict[dt.date, SavedDosingSession]:
        return {s.session.session_date: s for s in self.sessions}

    def _as_of(self, plan: CoursePlan) -> dt.date:
        """Re-planning date: today, or the plan's own as-of date when that is later."""
        return max(self.today, plan.as_of)

    # ---- HTML pieces --------------------------------------------------------------------
    def _screening_html(self) -> str:
        if self.picker.value is None:
            return "<p>No patients in this database yet.</p>"
        if self.screening is None:
            msg = self.gate or "No screening on record."
            return (
                "<div class='kap-not-plannable' role='note'><b>No screening.</b> "
                f"{escape(msg)}</div>"
            )
        r = self.screening
        rec = present(self.screening_record, "the stored record of the shown screening")
        head = (
            f"<p><b>Latest screening</b> ({rec.effective_at:%d %b %Y}, protocol "
            f"{escape(r.protocol.short)}): <b>{escape(r.status.label)}</b> "
            f"<span class='kap-muted'>({escape(r.status.value)})</span></p>"
        )
        gate = self.gate
        if gate is not None:
            severity = (
                FindingSeverity.EXCLUSION
                if r.status is ScreeningStatus.NOT_ELIGIBLE
                else FindingSeverity.MISSING
            )
            items = "".join(
                f"<li>{escape(f.message)}"
                + (f" <span class='kap-muted'>({escape(f.detail)})</span>" if f.detail else "")
                + "</li>"
                for f in r.by_severity(severity)
                if not f.overridden
            )
            kept = ""
            if self.saved is not None:
                kept = (
                    f"<p class='kap-muted'>A course plan saved earlier (version "
                    f"{self.saved.version}, {self.saved.plan.start:%d %b} to "
                    f"{self.saved.plan.end:%d %b %Y}) stays in the record; it is not shown while "
                    "the latest screening does not allow a course.</p>"
                )
            return (
                f"<div class='kap-screening'>{head}<div class='kap-not-plannable' role='note'>"
                f"<b>{escape(gate)}</b><ul>{items}</ul></div>{kept}</div>"
            )
        cautions = r.cautions
        caution_html = ""
        if cautions and self.plan is None:  # a plan on show carries them itself
            caution_html = (
                "<div class='kap-cautions' role='note'><b>Cautions from screening</b> "
                "(shown on the plan and in its calendar file):<ul>"
                + "".join(f"<li class='kap-caution'>{escape(c)}</li>" for c in cautions)
                + "</ul></div>"
            )
        return f"<div class='kap-screening'>{head}{caution_html}</div>"

    def _summary_html(self, plan: CoursePlan) -> str:
        doses = plan.doses
        first = doses[0].dose if doses else None
        if self.saved is not None and self.saved.plan == plan:
            state = (
                f"<span class='kap-badge kap-yes kap-plan-state'>saved: version "
                f"{self.saved.version} by {escape(self.saved.author)}, "
                f"{self.saved.created_at:%d %b %Y %H:%M}</span>"
            )
        else:
            state = "<span class='kap-badge kap-warn kap-plan-state'>not saved yet</span>"
        changes = "".join(f"<li>{escape(c)}</li>" for c in plan.changes[-3:])
        notes = "".join(f"<li>{escape(n)}</li>" for n in plan.notes)
        cautions = "".join(f"<li class='kap-caution'>{escape(c)}</li>" for c in plan.cautions)
        return (
            alerts_html(
                self.alert_panel.stored.open, heading="Open safety alerts (until acknowledged)"
            )
            + f"<h3 style='margin:0.6em 0 0.2em'>{escape(plan.route_label)}: "
            f"{plan.start:%d %b} to {plan.end:%d %b %Y} "
            f"<small>(revision {plan.revision})</small> {state}</h3>"
            f"<p class='kap-muted'>{escape(plan.calendar.summary)}</p>"
            + (
                f"<p>Dose: <b>{escape(first.mg_text)}</b> = {escape(first.arithmetic)}, "
                f"<span class='kap-confirm'>{escape(first.confirmation)}</span>.</p>"
                if first is not None
                else ""
            )
            + (
                "<div class='kap-cautions' role='note'><b>Cautions from screening</b>"
                f"<ul>{cautions}</ul></div>"
                if cautions
                else ""
            )
            + self._deviation_html(plan)
            + (f"<ul class='kap-muted'>{notes}</ul>" if notes else "")
            + "<p class='kap-muted kap-timeline-key'>Timeline: open circle planned, filled held, "
            "× missed; a green dot marks a recorded dosing session; grey bands are clinic "
            "closures and public holidays.</p>"
            + (
                f"<p class='kap-muted'>Re-planned:</p><ul class='kap-changes'>{changes}</ul>"
                if changes
                else ""
            )
        )

    def _deviation_html(self, plan: CoursePlan) -> str:
        """The plan's deviations and its verdict, from the plan itself (never decided here)."""
        verdict = f"<p class='kap-verdict'><b>{escape(plan.verdict)}</b></p>"
        if not plan.deviations:
            return verdict
        items = "".join(
            f"<li class='kap-deviation'>{escape(d.message)}"
            + (
                "<br><span class='kap-muted'>What would fix it: "
                + escape("; ".join(d.fixes))
                + "</span>"
                if d.fixes
                else ""
            )
            + "</li>"
            for d in plan.deviations
        )
        ack = plan.acknowledgement
        ack_html = (
            f"<p class='kap-deviation-acknowledged'>Acknowledged by {escape(ack.by)} "
            f"({ack.at:%d %b %Y %H:%M}): {escape(ack.reason)}</p>"
            if ack
            else "<p class='kap-deviation-open'>Not acknowledged: to save this plan, a "
            "clinician gives the reason below; or re-plan with one of the fixes.</p>"
        )
        return (
            "<div class='kap-deviations' role='alert'><b>Deviation from the protocol</b>"
            f"<ul>{items}</ul>{ack_html}{verdict}</div>"
        )

    def _download_files(self, plan: CoursePlan) -> list[DownloadFile]:
        """The plan's files, made when a download is asked for (after its audit row)."""
        stem = f"course-plan-{plan.patient_id or 'patient'}-r{plan.revision}"
        return [
            DownloadFile(
                "Download calendar (.ics)",
                "kap-download-ics",
                f"{stem}.ics",
                "text/calendar",
                lambda: plan_to_ics(plan).decode("utf-8"),
            ),
            DownloadFile(
                "Download table (.csv)",
                "kap-download-csv",
                f"{stem}.csv",
                "text/csv",
                lambda: plan_to_csv(plan),
            ),
            DownloadFile(
                "Download table (.parquet)",
                "kap-download-parquet",
                f"{stem}.parquet",
                "application/vnd.apache.parquet",
                lambda: plan_to_parquet(plan),
            ),
            DownloadFile(
                "Download summary with open safety alerts (.txt)",
                "kap-download-summary",
                f"{stem}-summary.txt",
                "text/plain",
                lambda: plan.report(self.alert_panel.stored.open).summary,
            ),
        ]

    def _log_download(self, file: DownloadFile) -> None:
        """The audit row of a download (who, when, the patient, the file and which plan)."""
        saved = (
            f"saved record {self.saved.record_id} v{self.saved.version}"
            if self.saved is not None and self.saved.plan == self.plan
            else "not saved"
        )
        self.log_export("download", kind="course_plan", detail=f"{file.filename} ({saved})")

    def _render_sessions(
        self, plan: CoursePlan, recorded: dict[dt.date, SavedDosingSession]
    ) -> None:
        options: list[tuple[str, tuple[str, Any]]] = []
        on_plan = set()
        for s in plan.sessions:
            if s.kind is not SessionKind.DOSING or not s.active:
                continue
            saved = recorded.get(s.date)
            on_plan.add(s.date)
            state = (
                " [recorded]"
                if saved and saved.session.status is SessionRecordStatus.COMPLETE
                else (" [record in progress]" if saved else "")
            )
            options.append((f"{s.date:%a %d %b %Y}: {s.label}{state}", ("plan", s.index)))
        for saved in self.sessions:  # records of this course that are not on the plan
            day = saved.session.session_date
            if day not in on_plan and day >= plan.start:
                options.append(
                    (
                        f"{saved.session.session_date:%a %d %b %Y}: recorded session "
                        "(not on this plan)",
                        ("record", saved.record_id),
                    )
                )
        options.append(("New session record (not on the plan)", ("new", None)))
        _set_options(self.session_pick, options, keep=True)
        self.rems.value = self._rems_html(plan)

    def _rems_html(self, plan: CoursePlan) -> str:
        forms = rems_forms_due(self.sessions, self.today, self.protocol)
        applies = rems_form_applies(plan.route) or any(
            s.session.needs_rems_form for s in self.sessions
        )
        if not applies:
            return (
                "<p class='kap-muted'>REMS Patient Monitoring Forms are filed for outpatient "
                "esketamine sessions; this patient has none.</p>"
            )
        if not forms:
            return "<p class='kap-muted kap-rems-none'>No REMS Patient Monitoring Form is due.</p>"
        rows = []
        for f in forms:
            late = f.status is RemsFormStatus.OVERDUE
            when = f" ({-f.days_left} day(s) late)" if late else f" ({f.days_left} day(s) left)"
            missing = ", ".join(m.replace("_", " ") for m in f.missing) or "ready to file"
            rows.append(
                f"<tr class='kap-rems-{escape(f.status.value)}'>"
                f"<td>{f.session_date:%a %d %b %Y}</td><td>{f.due_by:%a %d %b %Y}</td>"
                f"<td>{escape(f.status.value)}{when}</td><td>{escape(missing)}</td></tr>"
            )
        return (
            "<table class='kap-table kap-rems-table'><tr><th>Session</th><th>File by</th>"
            "<th>Status</th><th>Fields still missing</th></tr>" + "".join(rows) + "</table>"
        )

    # ---- controls -------------------------------------------------------------------------
    def _on_country(self, change: dict[str, Any] | None = None) -> None:
        code = self.country.value
        subs = holidays.list_supported_countries().get(code, []) if code else []
        self.subdivision.options = [("whole country", UNSET), *((s, s) for s in subs)]
        self.subdivision.answer = None

    def _on_move_which(self, change: dict[str, Any] | None = None) -> None:
        if self.plan is None or self.move_which.value is None:
            return
        self.move_date.value = self.plan.session(self.move_which.value).date

    def calendar(self) -> ClinicCalendar:
        """The clinic calendar from the controls (validated by ClinicCalendar)."""
        return ClinicCalendar.from_dict(
            {
                "open_weekdays": [
                    d for b, d in zip(self.weekdays, Weekday, strict=True) if b.value
                ],
                "country": self.country.value or None,
                "subdivision": self.subdivision.answer,
                "closures": parse_closures(self.closures.value),
            }
        )

    def _on_video(self, change: dict[str, Any] | None = None) -> None:
        self.therapist_row.layout.display = None if self.video.value else "none"

    def therapist_calendar(self) -> ClinicCalendar | None:
        """The therapist's calendar from the controls, when integration by video is chosen."""
        if not self.video.value:
            return None
        return ClinicCalendar.from_dict(
            {
                "open_weekdays": [
                    d for b, d in zip(self.therapist_days, Weekday, strict=True) if b.value
                ],
                "country": self.country.value or None,
                "subdivision": self.subdivision.answer,
                "closures": parse_closures(self.therapist_closures.value),
            }
        )

    @guarded(lambda self: self.plan_error)
    def _on_plan(self, _button: Any = None) -> None:
        """A new plan from the route, start date and calendar chosen (nothing is saved)."""
        self.plan_error.clear()
        self.replan_error.clear()
        pid = self.picker.value
        if pid is None:
            raise IncompleteInputError("Pick a patient first.", missing=["patient"])
        if self.screening is None or self.gate is not None:
            raise NotPlannableError(self.gate or "No screening on record.")
        if self.start.value is None:
            msg = "start date: pick the first day a session may be booked"
            raise IncompleteInputError(msg, missing=["start"])
        self.plan = plan_for_patient(
            self.store,
            pid,
            self.route.value,
            self.start.value,
            calendar=self.calendar(),
            therapist_calendar=self.therapist_calendar(),
            screening_status=self.screening.status,
            cautions=self.screening.cautions,
            protocol=self.protocol,
            template=self.course.value or None,
        )
        self.changed = frozenset()
        self._render()
        self.plan_error.ok(
            f"Planned {len(self.plan.doses)} doses from {self.plan.doses[0].date:%a %d %b %Y}. "
            "Not saved yet: check it, then save."
        )

    def _replan(self, **kwargs: Any) -> None:
        if self.plan is None:
            raise IncompleteInputError("Plan a course first.", missing=["plan"])
        self.plan_error.clear()
        before = self.plan
        after = replan(before, as_of=self._as_of(before), protocol=self.protocol, **kwargs)
        self.changed = before.diff(after)
        self.plan = after
        self._render()
        self.replan_error.ok(
            f"Re-planned (revision {after.revision}): {after.changes[-1]}. "
            "Changed sessions are highlighted. Not saved yet."
        )

    def _planning_error(self, box: ErrorBox, exc: PlanningError) -> None:
        box.error(f"Cannot re-plan (rule: {exc.constraint}). {exc}")

    @guarded(lambda self: self.replan_error)
    def _on_move(self, _button: Any = None) -> None:
        self.replan_error.clear()
        if self.plan is None or self.move_which.value is None:
            raise IncompleteInputError("Choose a planned session to move.", missing=["session"])
        if self.move_date.value is None:
            raise IncompleteInputError(
                "new date: pick the day to move the session to", missing=["date"]
            )
        try:
            self._replan(moved={self.move_which.value: self.move_date.value})
        except PlanningError as exc:
            self._planning_error(self.replan_error, exc)

    @guarded(lambda self: self.replan_error)
    def _on_missed(self, _button: Any = None) -> None:
        self.replan_error.clear()
        if self.plan is None or self.miss_which.value is None:
            raise IncompleteInputError("Choose the session that was missed.", missing=["session"])
        try:
            self._replan(
                missed=[self.miss_which.value], symptoms_worsened=self.worsened.value or None
            )
            self.worsened.value = False
        except PlanningError as exc:
            self._planning_error(self.replan_error, exc)

    @guarded(lambda self: self.plan_error)
    def _on_calendar(self, _button: Any = None) -> None:
        self.plan_error.clear()
        if self.plan is None:
            raise IncompleteInputError("Plan a course first.", missing=["plan"])
        try:
            self._replan(calendar=self.calendar(), therapist_calendar=self.therapist_calendar())
        except PlanningError as exc:
            self._planning_error(self.plan_error, exc)

    @guarded(lambda self: self.save_error)
    def _on_save(self, _button: Any = None) -> None:
        """Save the plan: a new version of the patient's plan record (or its first)."""
        self.save_error.clear()
        if self.plan is None:
            raise IncompleteInputError("Plan a course first.", missing=["plan"])
        plan = self.plan
        if self.saved is not None and self.saved.plan == plan:
            msg = f"This plan is already saved as version {self.saved.version}; nothing to save."
            raise InvalidInputError(msg)
        record_id = self.saved.record_id if self.saved else None
        reason = self.save_reason.value.strip() or None
        if record_id is not None and reason is None and plan.revision == 1:
            reason = f"New plan: {plan.route_label} from {plan.start.isoformat()}."
        try:
            record = save_plan(
                self.store,
                plan,
                self.author.value,
                record_id=record_id,
                reason=reason,
                acknowledge_deviations=self.ack_reason.value.strip() or None,
                protocol=self.protocol,
                based_on_version=self.saved.version if self.saved else None,
            )
        except StaleVersionError:
            self.reload_button.layout.display = None  # offer to reload, keeping this plan
            raise
        self.reload_button.layout.display = "none"
        self.reload_notice.layout.display = "none"
        self.ack_reason.value = ""
        self.saved = SavedPlan.from_record(record)
        self.plan = self.saved.plan
        self.save_reason.value = ""
        self.changed = frozenset()
        self._render()
        self.save_error.ok(
            f"Saved version {record.version} of the course plan, by {record.author}."
        )

    @guarded(lambda self: self.save_error)
    def _on_reload(self, _button: Any = None) -> None:
        """Reload the newest saved plan after a stale save. The unsaved plan stays in the
        form (saving it now makes a correction of the newest version); the newest
        version is shown beside it, session by session where they differ."""
        pid = self.picker.value
        if pid is None or self.plan is None:
            return
        newest = load_latest_plan(self.store, pid)
        if newest is None:
            return
        mine, theirs = self.plan, newest.plan
        self.saved = newest
        self.save_error.clear()
        self.reload_button.layout.display = "none"
        self.reload_notice.value = _plans_side_by_side(mine, newest)
        self.reload_notice.layout.display = None
        if mine == theirs:
            self.plan = theirs
        self._render()

    # ---- dosing sessions ----------------------------------------------------------------
    @guarded(lambda self: self.session_error)
    def _on_open_session(self, _button: Any = None) -> None:
        self.session_error.clear()
        if self.plan is None or self.session_pick.value is None:
            raise IncompleteInputError("Choose a dosing session.", missing=["session"])
        what, key = self.session_pick.value
        pid = self.picker.value
        recorded = self._recorded_by_date()
        if what == "plan":
            s = self.plan.session(key)
            self.form.open(
                pid,
                self.plan.route.value,
                s.date,
                plan_session_index=s.index,
                planned_dose=s.dose,
                label=s.label,
                saved=recorded.get(s.date),
                first_dose=bool(self.plan.doses) and s.index == self.plan.doses[0].index,
            )
        elif what == "record":
            saved = next(x for x in self.sessions if x.record_id == key)
            self.form.open(
                pid,
                saved.session.route.value,
                saved.session.session_date,
                plan_session_index=saved.session.plan_session_index,
                saved=saved,
                label="Recorded session",
            )
        else:
            self.form.open(pid, self.plan.route.value, self.today, label="Dosing session")

    def _on_session_saved(self, saved: SavedDosingSession) -> None:
        pid = self.picker.value
        if pid is None:
            return
        self.sessions = dosing_sessions(self.store, pid)
        self.alert_panel.load(pid)  # a session's urgent findings become stored alerts
        self.alerts = tuple(a.alert for a in self.alert_panel.stored.open)
        if self.plan is not None:
            recorded = self._recorded_by_date()
            self._draw(self.plan, recorded)
            self._render_sessions(self.plan, recorded)

    def show(self) -> None:
        display(HTML(""))
        display(self.container)


def _set_options(dropdown: w.Dropdown, options: list[tuple[str, Any]], *, keep: bool) -> None:
    """New options, with the current choice kept (``keep``) or else the first one chosen.

    ipywidgets 8 leaves a dropdown with no value after its options change.
    """
    current = dropdown.value
    dropdown.options = options
    values = [v for _, v in options]
    if values:
        dropdown.value = current if keep and current in values else values[0]


def _closures_text(cal: ClinicCalendar) -> str:
    return "\n".join(
        c.start.isoformat()
        + (f" to {c.end.isoformat()}" if c.end != c.start else "")
        + f" {c.reason}"
        for c in cal.closures
    )


def _weekday_style(change: dict[str, Any]) -> None:
    """Open weekdays show as pressed blue buttons, closed ones as plain."""
    button = change["owner"]
    button.button_style = "info" if button.value else ""


def _title(text: str) -> w.HTML:
    t = w.HTML(f"<h3>{escape(text)}</h3>")
    t.add_class("kap-section-title")
    return t
