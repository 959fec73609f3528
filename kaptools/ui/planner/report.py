"""What the planner shows, as HTML: pure functions of the plan and the page's state.

Every date, dose, rule and verdict comes from the domain objects (CoursePlan,
ScreeningResult, the REMS forms due); these functions lay them out and escape every
text (closure reasons and notes are typed by users).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence

from kaptools.alerts import StoredAlert, alerts_html
from kaptools.protocol import Protocol
from kaptools.scheduling import (
    CoursePlan,
    SavedPlan,
    plan_to_csv,
    plan_to_ics,
    plan_to_parquet,
)
from kaptools.scheduling.report import kept_plan_html, plan_table_html  # the table moved there
from kaptools.screening import ScreeningResult
from kaptools.screening.report import latest_screening_html, no_screening_html
from kaptools.sessions import (
    RemsFormStatus,
    SavedDosingSession,
    rems_form_applies,
    rems_forms_due,
)
from kaptools.store import StoredRecord
from kaptools.ui.common import DownloadFile, escape

__all__ = [
    "PLANNER_CSS",
    "plan_files",
    "plan_table_html",
    "plans_side_by_side",
    "rems_html",
    "screening_html",
    "summary_html",
]

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

TIMELINE_KEY = (
    "<p class='kap-muted kap-timeline-key'>Timeline: open circle planned, filled held, "
    "× missed; a green dot marks a recorded dosing session; grey bands are clinic "
    "closures and public holidays.</p>"
)


# ---- the latest screening: the screening printer's box ----
def screening_html(
    screening: ScreeningResult | None,
    record: StoredRecord | None,
    *,
    gate: str | None,
    saved: SavedPlan | None,
    plan_shown: bool,
) -> str:
    """The latest screening (the screening printer's box), and why no course can be
    planned when the planner says so (a saved plan stays in the record); its cautions
    when no plan on show carries them."""
    if screening is None or record is None:
        return no_screening_html(gate)
    return latest_screening_html(
        screening,
        record.effective_at,
        gate=gate,
        after_gate=kept_plan_html(saved) if saved is not None else "",
        cautions=not plan_shown,
    )


# ---- the plan's summary ----
def summary_html(plan: CoursePlan, saved: SavedPlan | None, alerts: Sequence[StoredAlert]) -> str:
    """The plan's heading, saved state, first dose, cautions, deviations, notes and changes;
    the patient's open safety alerts first. The dose, cautions and deviations are the
    domain objects' own HTML (DoseCalculation, CoursePlan), rendered once."""
    doses = plan.doses
    first = doses[0].dose if doses else None
    changes = "".join(f"<li>{escape(c)}</li>" for c in plan.changes[-3:])
    notes = "".join(f"<li>{escape(n)}</li>" for n in plan.notes)
    return (
        alerts_html(alerts, heading="Open safety alerts (until acknowledged)")
        + f"<h3 style='margin:0.6em 0 0.2em'>{escape(plan.route_label)}: "
        f"{plan.start:%d %b} to {plan.end:%d %b %Y} "
        f"<small>(revision {plan.revision})</small> {_saved_badge(plan, saved)}</h3>"
        f"<p class='kap-muted'>{escape(plan.calendar.summary)}</p>"
        + (f"<p>Dose: {first._repr_html_()}</p>" if first is not None else "")
        + plan.cautions_html()
        + plan.deviations_html()
        + (f"<ul class='kap-muted'>{notes}</ul>" if notes else "")
        + TIMELINE_KEY
        + (
            f"<p class='kap-muted'>Re-planned:</p><ul class='kap-changes'>{changes}</ul>"
            if changes
            else ""
        )
    )


def _saved_badge(plan: CoursePlan, saved: SavedPlan | None) -> str:
    if saved is not None and saved.plan == plan:
        return (
            f"<span class='kap-badge kap-yes kap-plan-state'>saved: version "
            f"{saved.version} by {escape(saved.author)}, "
            f"{saved.created_at:%d %b %Y %H:%M}</span>"
        )
    return "<span class='kap-badge kap-warn kap-plan-state'>not saved yet</span>"


# ---- REMS forms due ----
def rems_html(
    plan: CoursePlan,
    sessions: Sequence[SavedDosingSession],
    today: dt.date,
    protocol: Protocol,
) -> str:
    """The REMS Patient Monitoring Forms due (rems_forms_due), or why there are none."""
    applies = rems_form_applies(plan.route) or any(s.session.needs_rems_form for s in sessions)
    if not applies:
        return (
            "<p class='kap-muted'>REMS Patient Monitoring Forms are filed for outpatient "
            "esketamine sessions; this patient has none.</p>"
        )
    forms = rems_forms_due(list(sessions), today, protocol)
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


# ---- a stale save, reloaded ----
def plans_side_by_side(mine: CoursePlan, newest: SavedPlan) -> str:
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
    table = "".join(
        f"<tr><td>{escape(k)}</td><td>{escape(x)}</td><td>{escape(y)}</td></tr>"
        for k, x, y in _differences(mine, theirs)
    )
    return (
        f"<div class='kap-reload-notice'>{head}Your plan (not saved) is still in the form; "
        f"saving it now makes version {v + 1}, replacing version {v}'s changes below. To "
        f"keep version {v} instead, open the patient again.<table "
        f"class='kap-reload-conflicts'><tr><th></th><th>your plan (not saved)</th>"
        f"<th>version {v}</th></tr>{table}</table></div>"
    )


def _differences(mine: CoursePlan, theirs: CoursePlan) -> list[tuple[str, str, str]]:
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
    for label in dict.fromkeys([*ours, *other]):
        a, b = ours.get(label), other.get(label)
        day_a = f"{a.date:%a %d %b %Y}" if a else "(none)"
        day_b = f"{b.date:%a %d %b %Y}" if b else "(none)"
        if day_a != day_b:
            rows.append((label, day_a, day_b))
    return rows


# ---- the plan's files ----
def plan_files(plan: CoursePlan, alerts: Callable[[], Sequence[StoredAlert]]) -> list[DownloadFile]:
    """The plan's downloads (.ics, CSV, Parquet, the summary with the open safety alerts).

    Each file is made only when it is downloaded, after its audit row is written
    (:class:`~kaptools.ui.common.AuditedDownloads`); a re-plan builds none of them.
    """
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
            lambda: plan.report(alerts()).summary,
        ),
    ]
