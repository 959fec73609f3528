"""How a course plan reads: the one rendering of :class:`CoursePlan`'s text and HTML.

``CoursePlan.summary`` and ``_repr_html_``, its session table (``CoursePlan.table_html``,
which the planner dashboard shows with its decorations: the dosing records, the rows a
re-plan moved, today), its cautions and deviations, ``PlanReport`` and the note on a
saved plan the latest screening no longer allows all render through these functions,
with their shared parts from :mod:`kaptools.printer`. Nothing here decides anything:
it lays out what the planner made.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import TYPE_CHECKING, Protocol

from kaptools.printer import (
    Html,
    escape,
    heading_html,
    heading_text,
    list_html,
    protocol_text,
    table_html,
    table_text,
)
from kaptools.scheduling.templates import SessionKind
from kaptools.screening.report import CAUTIONS_TITLE, cautions_html
from kaptools.validation import present
from kaptools.vocabulary import SessionStatus

if TYPE_CHECKING:  # plan.py imports this module: types only, no circle
    from kaptools.scheduling.plan import CoursePlan, PlannedSession, PlanReport
    from kaptools.scheduling.storage import SavedPlan

__all__ = [
    "Recorded",
    "deviations_html",
    "kept_plan_html",
    "plan_html",
    "plan_report_html",
    "plan_report_text",
    "plan_summary_text",
    "plan_table_html",
    "plan_table_text",
]

PLAN_TABLE_COLUMNS = ("#", "Date", "Session", "Dose (for clinician confirmation)", "Status")
PLAN_TABLE_TEXT_COLUMNS = ("#", "Date", "Session", "Dose", "Status")
"""The text table's columns (the verdict under it says doses are for clinician confirmation)."""
RECORD_COLUMN = "Dosing record"
OPEN_ALERTS_TEXT = "OPEN SAFETY ALERTS (until acknowledged)"
OPEN_ALERTS_HTML = "Open safety alerts (until acknowledged)"


class Recorded(Protocol):
    """A dosing record on a planned session's day, as the plan table marks it
    (:class:`~kaptools.sessions.SavedDosingSession` is one)."""

    @property
    def version(self) -> int: ...

    @property
    def complete(self) -> bool: ...


# ---------------------------------------------------------------------------
# text


def plan_heading(plan: CoursePlan) -> tuple[str, str, str]:
    """The plan's title and its details (revision, protocol version)."""
    return (
        f"{plan.route_label} course plan",
        f"revision {plan.revision}",
        protocol_text(plan.protocol),
    )


def counts_line(plan: CoursePlan) -> str:
    """How many sessions of each kind, and the dates the course runs."""
    n = {k: len(plan.of_kind(k)) for k in SessionKind}
    return (
        f"{n[SessionKind.PREPARATION]} preparation, {n[SessionKind.DOSING]} dosing, "
        f"{n[SessionKind.INTEGRATION]} integration, {n[SessionKind.MEASURE]} measure "
        f"and {n[SessionKind.BENEFIT_CHECK]} benefit-check sessions, "
        f"{plan.start.isoformat()} to {plan.end.isoformat()}"
    )


def deviation_lines(plan: CoursePlan) -> list[str]:
    """Each deviation, then who acknowledged them (or that a clinician must)."""
    lines = [f"DEVIATION: {d.summary}" for d in plan.deviations]
    if plan.deviations:
        ack = plan.acknowledgement
        lines.append(
            f"Acknowledged by {ack.by} ({ack.at:%Y-%m-%d %H:%M}): {ack.reason}"
            if ack
            else "Not yet acknowledged: a clinician must acknowledge the deviation, with a "
            "reason, before the plan is saved."
        )
    return lines


def plan_summary_text(plan: CoursePlan) -> str:
    """The plan as text (``CoursePlan.summary``): heading, counts, first dose, missed
    sessions, cautions, the last re-plan, notes, deviations, every dated session (the
    table the HTML shows) and the verdict."""
    lines = [heading_text(*plan_heading(plan)), counts_line(plan)]
    doses = plan.doses
    if doses:
        first = doses[0]
        dose = present(first.dose, "the first dosing session's dose")
        lines.append(f"First dose {first.date.isoformat()}: {dose.summary}")
    missed = [s for s in plan.sessions if s.status is SessionStatus.MISSED]
    if missed:
        lines.append(f"Missed: {', '.join(f'{s.label} ({s.date.isoformat()})' for s in missed)}")
    if plan.cautions:
        lines.append(f"{CAUTIONS_TITLE}: " + "; ".join(plan.cautions))
    if plan.changes:
        lines.append(f"Re-planned {plan.changes[-1]}")
    lines.extend(plan.notes)
    lines.extend(deviation_lines(plan))
    lines.append(plan_table_text(plan))
    lines.append(plan.verdict)
    return "\n".join(lines)


def plan_table_text(plan: CoursePlan) -> str:
    """Every session as an aligned text table: the rows of :func:`plan_table_html`
    without the page's decorations (the dose as its amount)."""
    return table_text(
        PLAN_TABLE_TEXT_COLUMNS,
        [
            (
                s.index,
                f"{s.date:%a %d %b %Y}",
                f"{s.label} ({s.note})" if s.note else s.label,
                s.dose.mg_text if s.dose else "",
                s.status.value,
            )
            for s in plan.sessions
        ],
    )


def plan_report_text(report: PlanReport) -> str:
    """The plan's text under the patient's open safety alerts (with the 988 line)."""
    from kaptools.alerts import alerts_text

    head = alerts_text(report.alerts, heading=OPEN_ALERTS_TEXT)
    return "\n".join([*head, *([""] if head else []), plan_summary_text(report.plan)])


# ---------------------------------------------------------------------------
# HTML


def deviations_html(plan: CoursePlan) -> str:
    """The deviations (each with what would fix it), their acknowledgement or that one
    is needed, and the verdict: the verdict alone when there are none."""
    verdict = f"<p class='kap-verdict'><strong>{escape(plan.verdict)}</strong></p>"
    if not plan.deviations:
        return verdict
    items = [
        Html(
            escape(d.message)
            + (
                f"<br><span class='kap-muted'>What would fix it: {escape('; '.join(d.fixes))}"
                "</span>"
                if d.fixes
                else ""
            )
        )
        for d in plan.deviations
    ]
    ack = plan.acknowledgement
    ack_html = (
        f"<p class='kap-deviation-acknowledged'>Acknowledged by {escape(ack.by)} "
        f"({ack.at:%d %b %Y %H:%M}): {escape(ack.reason)}</p>"
        if ack
        else "<p class='kap-deviation-open'>Not acknowledged: to save this plan, a "
        "clinician gives the reason; or re-plan with one of the fixes.</p>"
    )
    return (
        "<div class='kap-deviations' role='alert'><strong>Deviation from the protocol"
        f"</strong>{list_html(items, item_css='kap-deviation')}{ack_html}{verdict}</div>"
    )


def _dose_cell(s: PlannedSession) -> str:
    if s.dose is None:
        return ""
    d = s.dose
    return (
        f"<b>{escape(d.mg_text)}</b><br><span class='kap-dose-arithmetic'>"
        f"{escape(d.arithmetic)}</span><br><span class='kap-confirm'>{escape(d.confirmation)}"
        "</span>"
    )


def _record_cell(s: PlannedSession, recorded: Mapping[dt.date, Recorded]) -> str:
    if s.kind is not SessionKind.DOSING or s.date not in recorded:
        return ""
    saved = recorded[s.date]
    done = saved.complete
    return (
        f"<span class='kap-badge {'kap-yes' if done else 'kap-warn'} kap-recorded'>"
        f"{'recorded' if done else 'record in progress'} (v{saved.version})</span>"
    )


def _row_attrs(s: PlannedSession, changed: frozenset[int]) -> str:
    classes = ["kap-plan-row", f"kap-kind-{escape(s.kind.value)}"]
    classes.append(f"kap-status-{escape(s.status.value)}")
    if s.index in changed:
        classes.append("kap-changed")
    return f"class='{' '.join(classes)}' data-index='{s.index}'"


def _row(
    s: PlannedSession, recorded: Mapping[dt.date, Recorded] | None, today: dt.date | None
) -> list[object]:
    note = f"<br><span class='kap-muted'>{escape(s.note)}</span>" if s.note else ""
    passed = (
        "<br><span class='kap-muted'>date passed</span>"
        if today is not None and s.status is SessionStatus.PLANNED and s.date < today
        else ""
    )
    cells: list[object] = [
        s.index,
        f"{s.date:%a %d %b %Y}",
        Html(escape(s.label) + note),
        Html(_dose_cell(s)),
        Html(escape(s.status.value) + passed),
    ]
    if recorded is not None:
        cells.append(Html(_record_cell(s, recorded)))
    return cells


def plan_table_html(
    plan: CoursePlan,
    *,
    recorded: Mapping[dt.date, Recorded] | None = None,
    changed: frozenset[int] = frozenset(),
    today: dt.date | None = None,
) -> str:
    """Every session of the plan as a table (class ``kap-plan-table``; each row
    ``kap-plan-row`` with its ``data-index``), doses with their arithmetic.

    The dashboard's decorations: ``recorded`` adds a "Dosing record" column marking the
    dosing sessions with a record on the same day; ``changed`` rows (by index) are
    highlighted (``kap-changed``); planned sessions dated before ``today`` say so.
    """
    columns = PLAN_TABLE_COLUMNS + ((RECORD_COLUMN,) if recorded is not None else ())
    return table_html(
        columns,
        [_row(s, recorded, today) for s in plan.sessions],
        css="kap-table kap-plan-table",
        row_attrs=[_row_attrs(s, changed) for s in plan.sessions],
    )


def plan_html(plan: CoursePlan) -> str:
    """The plan as HTML (``CoursePlan._repr_html_``): heading, counts, cautions,
    deviations and verdict, notes, the session table."""
    return (
        f"<div class='kap-course-plan'>{heading_html(*plan_heading(plan))}"
        f"<p>{escape(counts_line(plan))}</p>{cautions_html(plan.cautions)}"
        f"{deviations_html(plan)}{list_html(plan.notes)}{plan_table_html(plan)}</div>"
    )


def plan_report_html(report: PlanReport) -> str:
    """The plan's HTML under the patient's open safety alerts (with the 988 line)."""
    from kaptools.alerts import alerts_html

    return alerts_html(report.alerts, heading=OPEN_ALERTS_HTML) + plan_html(report.plan)


def kept_plan_html(saved: SavedPlan) -> str:
    """A saved plan the latest screening no longer allows: it stays in the record."""
    return (
        f"<p class='kap-muted'>A course plan saved earlier (version "
        f"{saved.version}, {saved.plan.start:%d %b} to "
        f"{saved.plan.end:%d %b %Y}) stays in the record; it is not shown while "
        "the latest screening does not allow a course.</p>"
    )
