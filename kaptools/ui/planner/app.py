"""The course-planner dashboard: plan a KAP course, re-plan it, record its dosing sessions.

A thin shell over :mod:`kaptools.scheduling` (plans, re-plans, exports, storage),
:mod:`kaptools.screening` (the latest screening decides whether a course can be
planned) and :mod:`kaptools.sessions` (the session form, REMS forms due). Every
date, dose, rule and flag comes from those modules; this module lays them out.

One frozen :class:`~kaptools.ui.planner.state.PlannerState`; every event (a patient
opened, a plan made, moved, saved or reloaded, a session recorded) makes a new one
and calls :meth:`PlannerApp.set_state`, the one update path: it derives the page
(:func:`~kaptools.ui.planner.state.derive_view`, pure) and renders only the parts
that changed, the plan table before the timeline, each widget's changes sent at once.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import fields, replace
from typing import Any

import ipywidgets as w
from IPython.display import HTML, display

from kaptools.alerts import Alert, StoredAlert
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
    SavedPlan,
    load_latest_plan,
    offered_routes,
    plan_for_patient,
    plannable,
    replan,
    save_plan,
)
from kaptools.screening import ScreeningResult, latest_screening
from kaptools.sessions import SavedDosingSession, dosing_sessions
from kaptools.store import Store, StoredRecord
from kaptools.ui.common import (
    CSS,
    DownloadFile,
    ErrorBox,
    PatientAlertsPanel,
    PatientApp,
    escape,
    guarded,
    show_figure,
)
from kaptools.ui.planner.form import MoveControls, PlanControls, SaveControls, title
from kaptools.ui.planner.report import PLANNER_CSS, plan_files, plans_side_by_side
from kaptools.ui.planner.state import PlannerState, PlannerView, derive_view
from kaptools.ui.session_form import SessionForm

__all__ = ["DISCLAIMER", "PlannerApp"]

DISCLAIMER = (
    "Decision support for clinicians: the plan meets the protocol's scheduling rules on the "
    "calendar given; every dose is for clinician confirmation. kaptools never replaces "
    "clinical judgement. Synthetic demo data only."
)
_STYLE = {"description_width": "initial"}


def _css(widget: Any, css: str) -> Any:
    widget.add_class(css)
    return widget


class PlannerApp(PatientApp[PlannerState]):
    """Course planning for one patient at a time. ``app.container`` is what the dashboard shows.

    ``app.state`` is what the page is about, ``app.view`` what it shows (both frozen).
    """

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
        self._init_state(PlannerState(today=self.today))
        self.view: PlannerView | None = None
        self._timeline: Mapping[str, Any] | None = None
        """A timeline spec rendered but not drawn yet (drawn after the held widgets)."""
        self._offered: CoursePlan | None = None
        self.alert_panel = PatientAlertsPanel(
            store, protocol, author=lambda: self.author.value, on_change=self._load
        )
        self.banner = self.alert_panel.banner
        self.screening_box = _css(w.HTML(), "kap-screening-box")
        self.plan_controls = PlanControls(protocol, offered_routes(protocol))
        self._alias_controls()
        self._build_plan_area()
        self._build_move_box()
        self._build_save_box(author)
        self._build_sessions(author)
        self.plan_area = _css(self._plan_area_layout(), "kap-plan-area")
        self.protocol_note = w.HTML(
            f"<p class='kap-muted kap-protocol'>{escape(DISCLAIMER)} "
            f"Protocol: {escape(protocol.info.short)}.</p>"
        )
        self._connect()
        self.container = self._layout()
        if defer:
            self.set_state(self.state)
        else:
            self.select_patient(patient_id)

    # ---- construction ----
    def _alias_controls(self) -> None:
        """The plan inputs under the names the app (and its tests) use."""
        c = self.plan_controls
        self.controls = c.container
        self.route, self.course, self.course_notes, self.course_row = (
            c.route,
            c.course,
            c.course_notes,
            c.course_row,
        )
        self.start, self.country, self.subdivision = c.start, c.country, c.subdivision
        self.weekdays, self.closures, self.video = c.weekdays, c.closures, c.video
        self.therapist_days, self.therapist_closures = c.therapist_days, c.therapist_closures
        self.therapist_row = c.therapist_row
        self.plan_button, self.calendar_button = c.plan_button, c.calendar_button
        self.plan_error = c.plan_error

    def _build_plan_area(self) -> None:
        self.plan_summary = _css(w.HTML(), "kap-plan-summary")
        self.timeline = _css(w.Output(), "kap-plan-timeline")
        self.table = _css(w.HTML(), "kap-plan-table-box")

    def _build_move_box(self) -> None:
        m = self.move_controls = MoveControls()
        self.move_which, self.move_date, self.move_button = m.move_which, m.move_date, m.button
        self.miss_which, self.miss_button, self.worsened = m.miss_which, m.miss_button, m.worsened
        self.miss_row, self.miss_note, self.replan_error = m.miss_row, m.miss_note, m.error
        self.move_box = m.container

    def _build_save_box(self, author: str | None) -> None:
        c = self.save_controls = SaveControls(author or self.store.identity.user)
        self.author, self.save_reason, self.ack_reason = c.author, c.reason, c.ack_reason
        self.save_button, self.save_error, self.downloads = c.button, c.error, c.downloads
        self.reload_button, self.reload_notice, self.save_box = (
            c.reload_button,
            c.reload_notice,
            c.container,
        )
        self.downloads.before_download = self._log_download
        self.downloads.on_error = lambda exc: self.save_error.error(
            f"Not downloaded: the download could not be audit-logged ({exc})."
        )

    def _build_sessions(self, author: str | None) -> None:
        self.session_pick = _css(
            w.Dropdown(description="Dosing session", style=_STYLE, layout=w.Layout(width="560px")),
            "kap-session-pick",
        )
        self.open_button = _css(
            w.Button(description="Open session form", icon="edit"), "kap-open-session"
        )
        self.session_error = ErrorBox()
        self.form = SessionForm(
            self.store, self.protocol, author=author, on_saved=self._on_session_saved
        )
        self.rems = _css(w.HTML(), "kap-rems-list")

    def _plan_area_layout(self) -> w.VBox:
        return w.VBox(
            [
                self.plan_summary,
                self.timeline,  # drawn after the table (the result), only when it changed
                self.table,
                title("Move or miss a session"),
                self.move_box,
                title("Save and export"),
                self.save_box,
                title("Dosing sessions"),
                w.HBox([self.session_pick, self.open_button]),
                self.session_error,
                self.form.container,
                title("REMS Patient Monitoring Forms"),
                self.rems,
            ]
        )

    def _connect(self) -> None:
        self.move_which.observe(self._on_move_which, names="value")
        self.plan_button.on_click(self._on_plan)
        self.calendar_button.on_click(self._on_calendar)
        self.move_button.on_click(self._on_move)
        self.miss_button.on_click(self._on_missed)
        self.save_button.on_click(self._on_save)
        self.reload_button.on_click(self._on_reload)
        self.open_button.on_click(self._on_open_session)

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

    # ---- the state, read-only views of it --------------------------------------------------
    @property
    def plan(self) -> CoursePlan | None:
        """The plan on show (saved, or made here and not saved yet)."""
        return self.state.plan

    @property
    def saved(self) -> SavedPlan | None:
        return self.state.saved

    @property
    def changed(self) -> frozenset[int]:
        return self.state.changed

    @property
    def screening(self) -> ScreeningResult | None:
        return self.state.latest.result if self.state.latest else None

    @property
    def screening_record(self) -> StoredRecord | None:
        return self.state.latest.record if self.state.latest else None

    @property
    def sessions(self) -> list[SavedDosingSession]:
        return list(self.state.sessions)

    @property
    def alerts(self) -> tuple[Alert, ...]:
        return tuple(a.alert for a in self.state.alerts)

    @property
    def gate(self) -> str | None:
        """Why no course can be planned (the planner's message), or None when one can."""
        return self.state.gate

    @property
    def plannable(self) -> bool:
        """Whether the latest screening allows a plan (the planner's own gate decides)."""
        return self.state.plannable

    # ---- the one update path ----
    def set_state(self, state: PlannerState) -> None:
        """Make ``state`` the page's state and show it (:meth:`DashboardApp.replace`)."""
        self.replace(state)

    def _update(self, **changes: Any) -> None:
        self.replace(replace(self.state, today=self.today, **changes))

    def render(self, state: PlannerState) -> None:
        """Derive the page from ``state`` (pure) and write what differs from the page shown."""
        view = derive_view(state, self.protocol)
        self._render(view, self.view)
        self.view = view

    def update(self) -> None:
        """Render (every widget's changes held and sent together), then draw the timeline:
        its figure goes to the browser after the table, which is the result."""
        super().update()
        if self._timeline is not None and not self.holding:
            spec, self._timeline = self._timeline, None
            show_figure(self.timeline, dict(spec))

    def _render(self, view: PlannerView, shown: PlannerView | None) -> None:
        """Change only what differs from the page ``shown``; the table before the timeline."""
        new = {
            f.name
            for f in fields(view)
            if shown is None or getattr(shown, f.name) != getattr(view, f.name)
        }
        self.screening_box.value = view.screening_html
        self.controls.layout.display = None if view.controls_shown else "none"
        if view.hint and not self.plan_error.value:
            self.plan_error.value = view.hint
            self.plan_error.layout.display = None
        self.plan_area.layout.display = None if view.plan_shown else "none"
        if not view.plan_shown:
            return
        self.table.value = view.table_html
        self.plan_summary.value = view.summary_html
        if "move_options" in new or "miss_options" in new:
            self._show_move_options(view)
        if "session_options" in new:
            _set_options(self.session_pick, view.session_options, keep=True)
        self.ack_reason.layout.display = None if view.ack_shown else "none"
        self.rems.value = view.rems_html
        if self._offered is not self.state.plan and self.state.plan is not None:
            self._offered = self.state.plan
            self.downloads.offer(plan_files(self.state.plan, lambda: self.alert_panel.stored.open))
        if "timeline" in new and view.timeline is not None:
            self._timeline = view.timeline  # drawn by update(), after the held widgets

    def _show_move_options(self, view: PlannerView) -> None:
        _set_options(self.move_which, view.move_options, keep=False)
        _set_options(self.miss_which, view.miss_options, keep=False)
        self.miss_row.layout.display = None if view.miss_options else "none"
        self.miss_note.layout.display = "none" if view.miss_options else None
        self.move_button.disabled = not view.move_options
        self._on_move_which()

    # ---- reading the patient ----
    def _load_patient(self) -> None:
        self._load()

    def _load(self) -> None:
        """Read the patient's latest screening, saved plan and dosing sessions; show them."""
        for box in (self.plan_error, self.replan_error, self.save_error, self.session_error):
            box.clear()
        self.form.close()
        pid = self.picker.value
        if pid is None:
            self.alert_panel.load(None)
            self.set_state(PlannerState(today=self.today, loaded=True))
            return
        try:
            latest = latest_screening(self.store, pid)
            saved = load_latest_plan(self.store, pid)
            sessions = tuple(dosing_sessions(self.store, pid))
            # every stored alert of the patient (screening, assessments, sessions), open
            # until acknowledged; raised first from any record that holds one
            self.alert_panel.load(pid)
        except NotFoundError as exc:
            self.notice.error(str(exc))
            return
        gate = plannable(self.store, pid, self.today, protocol=self.protocol)
        state = PlannerState(
            today=self.today,
            loaded=True,
            patient_id=pid,
            latest=latest,
            gate=None if gate else gate.reason,
            saved=saved,
            sessions=sessions,
            alerts=tuple(self.alert_panel.stored.open),
        )
        routes = offered_routes(self.protocol, latest.result if latest else None)
        self.plan_controls.offer_routes(routes or offered_routes(self.protocol))
        self.plan_controls.show_plan(saved.plan if saved else None, self.today)
        if saved is not None and state.plannable:
            state = replace(state, plan=saved.plan)
        self.set_state(state)

    # ---- downloads ----
    def _log_download(self, file: DownloadFile) -> None:
        """The audit row of a download (who, when, the patient, the file and which plan)."""
        saved = self.saved
        which = (
            f"saved record {saved.record_id} v{saved.version}"
            if saved is not None and saved.plan == self.plan
            else "not saved"
        )
        self.log_export("download", kind="course_plan", detail=f"{file.filename} ({which})")

    # ---- planning ----
    def _on_move_which(self, change: dict[str, Any] | None = None) -> None:
        if self.plan is None or self.move_which.value is None:
            return
        self.move_date.value = self.plan.session(self.move_which.value).date

    def calendar(self) -> ClinicCalendar:
        """The clinic calendar from the controls (validated by ClinicCalendar)."""
        return self.plan_controls.calendar()

    def therapist_calendar(self) -> ClinicCalendar | None:
        """The therapist's calendar from the controls, when integration by video is chosen."""
        return self.plan_controls.therapist_calendar()

    @guarded(lambda self: self.plan_error)
    def _on_plan(self, _button: Any = None) -> None:
        """A new plan from the route, start date and calendar chosen (nothing is saved)."""
        self.plan_error.clear()
        self.replan_error.clear()
        pid = self.picker.value
        if pid is None:
            raise IncompleteInputError("Pick a patient first.", missing=["patient"])
        screening = self.screening
        if screening is None or self.gate is not None:
            raise NotPlannableError(self.gate or "No screening on record.")
        if self.start.value is None:
            msg = "start date: pick the first day a session may be booked"
            raise IncompleteInputError(msg, missing=["start"])
        plan = plan_for_patient(
            self.store,
            pid,
            self.route.value,
            self.start.value,
            calendar=self.calendar(),
            therapist_calendar=self.therapist_calendar(),
            screening_status=screening.status,
            cautions=screening.cautions,
            protocol=self.protocol,
            template=self.course.value or None,
        )
        self._update(plan=plan, changed=frozenset())
        self.plan_error.ok(
            f"Planned {len(plan.doses)} doses from {plan.doses[0].date:%a %d %b %Y}. "
            "Not saved yet: check it, then save."
        )

    def _replan(self, **kwargs: Any) -> None:
        before = self.plan
        if before is None:
            raise IncompleteInputError("Plan a course first.", missing=["plan"])
        self.plan_error.clear()
        after = replan(before, as_of=self.state.as_of, protocol=self.protocol, **kwargs)
        self._update(plan=after, changed=before.diff(after))
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

    # ---- saving ----
    @guarded(lambda self: self.save_error)
    def _on_save(self, _button: Any = None) -> None:
        """Save the plan: a new version of the patient's plan record (or its first)."""
        self.save_error.clear()
        plan, saved = self.plan, self.saved
        if plan is None:
            raise IncompleteInputError("Plan a course first.", missing=["plan"])
        if saved is not None and saved.plan == plan:
            msg = f"This plan is already saved as version {saved.version}; nothing to save."
            raise InvalidInputError(msg)
        record_id = saved.record_id if saved else None
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
                based_on_version=saved.version if saved else None,
            )
        except StaleVersionError:
            self.reload_button.layout.display = None  # offer to reload, keeping this plan
            raise
        self.reload_button.layout.display = "none"
        self.reload_notice.layout.display = "none"
        self.ack_reason.value = ""
        self.save_reason.value = ""
        now = SavedPlan.from_record(record)
        self._update(saved=now, plan=now.plan, changed=frozenset())
        self.save_error.ok(
            f"Saved version {record.version} of the course plan, by {record.author}."
        )

    @guarded(lambda self: self.save_error)
    def _on_reload(self, _button: Any = None) -> None:
        """Reload the newest saved plan after a stale save. The unsaved plan stays in the
        form (saving it now makes a correction of the newest version); the newest
        version is shown beside it, session by session where they differ."""
        pid, mine = self.picker.value, self.plan
        if pid is None or mine is None:
            return
        newest = load_latest_plan(self.store, pid)
        if newest is None:
            return
        self.save_error.clear()
        self.reload_button.layout.display = "none"
        self.reload_notice.value = plans_side_by_side(mine, newest)
        self.reload_notice.layout.display = None
        self._update(saved=newest, plan=newest.plan if mine == newest.plan else mine)

    # ---- dosing sessions ----
    @guarded(lambda self: self.session_error)
    def _on_open_session(self, _button: Any = None) -> None:
        self.session_error.clear()
        plan = self.plan
        if plan is None or self.session_pick.value is None:
            raise IncompleteInputError("Choose a dosing session.", missing=["session"])
        what, key = self.session_pick.value
        pid = self.picker.value
        if what == "plan":
            s = plan.session(key)
            self.form.open(
                pid,
                plan.route.value,
                s.date,
                plan_session_index=s.index,
                planned_dose=s.dose,
                label=s.label,
                saved=self.state.recorded.get(s.date),
                first_dose=bool(plan.doses) and s.index == plan.doses[0].index,
            )
        elif what == "record":
            saved = next(x for x in self.state.sessions if x.record_id == key)
            self.form.open(
                pid,
                saved.session.route.value,
                saved.session.session_date,
                plan_session_index=saved.session.plan_session_index,
                saved=saved,
                label="Recorded session",
            )
        else:
            self.form.open(pid, plan.route.value, self.today, label="Dosing session")

    def _on_session_saved(self, saved: SavedDosingSession) -> None:
        pid = self.picker.value
        if pid is None:
            return
        sessions = tuple(dosing_sessions(self.store, pid))
        self.alert_panel.load(pid)  # a session's urgent findings become stored alerts
        alerts: tuple[StoredAlert, ...] = tuple(self.alert_panel.stored.open)
        self._update(sessions=sessions, alerts=alerts)

    def show(self) -> None:
        display(HTML(""))
        display(self.container)


def _set_options(dropdown: w.Dropdown, options: Sequence[tuple[str, Any]], *, keep: bool) -> None:
    """New options, with the current choice kept (``keep``) or else the first one chosen.

    ipywidgets 8 leaves a dropdown with no value after its options change.
    """
    current = dropdown.value
    dropdown.options = list(options)
    values = [v for _, v in options]
    if values:
        dropdown.value = current if keep and current in values else values[0]
