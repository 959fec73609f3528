"""The planner's one state and the pure function that derives the page from it.

:class:`PlannerState` holds everything the page shows that was read from the store or
made by the clinician (the patient, the latest screening, the saved plan, the plan on
show, which sessions a re-plan moved, the dosing records, the open alerts). It is
frozen: every event makes a new one (``dataclasses.replace``). :func:`derive_view`
turns a state into a :class:`PlannerView`, everything the page shows, without
touching a widget or the store; the app renders a view, changing only the widgets
whose part of the view changed (the table before the timeline).

Nothing clinical is decided here: the gate is :func:`kaptools.scheduling.plannable`'s
message, the routes :func:`kaptools.scheduling.offered_routes`, the changes
:meth:`CoursePlan.diff`, the REMS forms :func:`kaptools.sessions.rems_forms_due`.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from kaptools.alerts import StoredAlert
from kaptools.protocol import Protocol
from kaptools.scheduling import CoursePlan, SavedPlan, SessionKind, SessionStatus
from kaptools.screening import LatestScreening
from kaptools.sessions import SavedDosingSession
from kaptools.ui.planner.report import rems_html, screening_html, summary_html
from kaptools.ui.planner.timeline import plan_timeline_spec

__all__ = ["NO_PATIENTS", "PlannerState", "PlannerView", "derive_view"]

NO_PATIENTS = "<p>No patients in this database yet.</p>"
LOADING = "<p class='kap-muted kap-loading'>Loading…</p>"
PLAN_HINT = (
    "<p class='kap-muted kap-plan-hint'>Choose the route, the first day and the clinic "
    "calendar, then press <b>Plan course</b>.</p>"
)

Option = tuple[str, Any]


@dataclass(frozen=True)
class PlannerState:
    """What the planner page is about: read from the store, or made by the clinician."""

    today: dt.date
    loaded: bool = False
    """False until the page's URL has arrived (a preheated kernel holds no patient data)."""
    patient_id: str | None = None
    latest: LatestScreening | None = None
    """The patient's latest screening (record and result), if any."""
    gate: str | None = None
    """Why no course can be planned (:func:`~kaptools.scheduling.plannable`), or None."""
    saved: SavedPlan | None = None
    """The newest saved version of the patient's plan."""
    plan: CoursePlan | None = None
    """The plan on show: the saved one, or a new plan / re-plan not saved yet."""
    changed: frozenset[int] = frozenset()
    """Indexes of the sessions the last re-plan moved (:meth:`CoursePlan.diff`)."""
    sessions: tuple[SavedDosingSession, ...] = ()
    """The patient's dosing-session records."""
    alerts: tuple[StoredAlert, ...] = ()
    """The patient's open stored safety alerts (until acknowledged)."""

    @property
    def plannable(self) -> bool:
        """Whether the latest screening allows a course (the planner's own gate decided)."""
        return self.patient_id is not None and self.latest is not None and self.gate is None

    @property
    def plan_shown(self) -> bool:
        return self.plan is not None and self.plannable

    @property
    def recorded(self) -> dict[dt.date, SavedDosingSession]:
        """The dosing records by session date."""
        return {s.session.session_date: s for s in self.sessions}

    @property
    def as_of(self) -> dt.date:
        """Re-planning date: today, or the plan's own as-of date when that is later."""
        return max(self.today, self.plan.as_of) if self.plan is not None else self.today


@dataclass(frozen=True)
class PlannerView:
    """Everything the planner page shows, derived from a :class:`PlannerState`."""

    screening_html: str
    controls_shown: bool = False
    hint: str = ""
    plan_shown: bool = False
    summary_html: str = ""
    table_html: str = ""
    timeline: Mapping[str, Any] | None = None
    move_options: tuple[Option, ...] = ()
    miss_options: tuple[Option, ...] = ()
    ack_shown: bool = False
    session_options: tuple[Option, ...] = ()
    rems_html: str = ""


def derive_view(state: PlannerState, protocol: Protocol) -> PlannerView:
    """The page for ``state``: pure (no widget, no store), so tests can read it."""
    if not state.loaded:
        return PlannerView(LOADING)
    if state.patient_id is None:
        return PlannerView(NO_PATIENTS)
    latest = state.latest
    screening = screening_html(
        latest.result if latest else None,
        latest.record if latest else None,
        gate=state.gate,
        saved=state.saved,
        plan_shown=state.plan is not None,
    )
    if not state.plannable:
        return PlannerView(screening)
    plan = state.plan
    if plan is None or not state.plan_shown:
        return PlannerView(screening, controls_shown=True, hint=PLAN_HINT)
    recorded = state.recorded
    on_plan = sorted({s.date for s in plan.doses} & set(recorded))
    return PlannerView(
        screening,
        controls_shown=True,
        plan_shown=True,
        summary_html=summary_html(plan, state.saved, state.alerts),
        table_html=plan.table_html(recorded=recorded, changed=state.changed, today=state.today),
        timeline=plan_timeline_spec(plan, as_of=state.today, recorded=on_plan),
        move_options=move_options(plan, state.as_of),
        miss_options=miss_options(plan, state.as_of, recorded),
        ack_shown=bool(plan.deviations) and plan.acknowledgement is None,
        session_options=session_options(plan, state.sessions),
        rems_html=rems_html(plan, state.sessions, state.today, protocol),
    )


def _session_option(s: Any) -> Option:
    return (f"#{s.index} {s.label} ({s.date:%a %d %b})", s.index)


def move_options(plan: CoursePlan, as_of: dt.date) -> tuple[Option, ...]:
    """Planned sessions that can still be moved (dated on or after ``as_of``)."""
    return tuple(
        _session_option(s)
        for s in plan.sessions
        if s.status is SessionStatus.PLANNED and s.date >= as_of
    )


def miss_options(
    plan: CoursePlan, as_of: dt.date, recorded: Mapping[dt.date, SavedDosingSession]
) -> tuple[Option, ...]:
    """Planned sessions whose date has passed (a recorded dosing session was not missed)."""
    return tuple(
        _session_option(s)
        for s in plan.sessions
        if s.status is SessionStatus.PLANNED
        and s.date < as_of
        and not (s.kind is SessionKind.DOSING and s.date in recorded)
    )


def session_options(
    plan: CoursePlan, sessions: tuple[SavedDosingSession, ...]
) -> tuple[Option, ...]:
    """The dosing sessions a form can be opened for: the plan's, records not on the plan
    (of this course), and a new record."""
    recorded = {s.session.session_date: s for s in sessions}
    options: list[Option] = []
    on_plan = set()
    for s in plan.sessions:
        if s.kind is not SessionKind.DOSING or not s.active:
            continue
        saved = recorded.get(s.date)
        on_plan.add(s.date)
        state = (
            " [recorded]"
            if saved and saved.complete
            else (" [record in progress]" if saved else "")
        )
        options.append((f"{s.date:%a %d %b %Y}: {s.label}{state}", ("plan", s.index)))
    for saved in sessions:  # records of this course that are not on the plan
        day = saved.session.session_date
        if day not in on_plan and day >= plan.start:
            options.append(
                (
                    f"{day:%a %d %b %Y}: recorded session (not on this plan)",
                    ("record", saved.record_id),
                )
            )
    options.append(("New session record (not on the plan)", ("new", None)))
    return tuple(options)
