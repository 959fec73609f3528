"""The dosing-session form: record one session, see the protocol's flags as you type.

A thin shell over :mod:`kaptools.sessions`: the readings the form asks for and where a
stored reading goes come from :func:`~kaptools.sessions.vitals_slots`, every flag from
:func:`~kaptools.sessions.vitals_flags` / :func:`~kaptools.sessions.sedation_flags`,
what "complete" needs from :meth:`~kaptools.sessions.DosingSession.complete`. The
widget values are untrusted: they go through
:func:`~kaptools.sessions.parse_dosing_session` before anything is saved, and a
failed check writes nothing.

Whose session the form holds is one frozen :class:`SessionFormState` (changed through
:meth:`SessionForm.set_state`); what the checks say is derived from the typed values by
pure functions (:func:`derive_vitals`, :func:`derive_checks`) and kept as
``form.vitals_view`` and ``form.checks``, which the tests read.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from dataclasses import replace
from typing import Any

from kaptools.errors import (
    IncompleteInputError,
    InvalidInputError,
    KaptoolsError,
    StaleVersionError,
)
from kaptools.protocol import Protocol
from kaptools.scheduling import DoseCalculation, Route
from kaptools.sessions import (
    DosingSession,
    HoldOverride,
    SavedDosingSession,
    SessionRecordStatus,
    VitalSigns,
    dosing_session_history,
    parse_dosing_session,
    rems_form_applies,
    save_dosing_session,
    vitals_slots,
)
from kaptools.store import Store
from kaptools.ui.common import (
    DownloadFile,
    Reapplied,
    escape,
    guarded,
    reapplied_html,
    reapply_edits,
)
from kaptools.ui.session_form.state import (
    SessionChecks,
    SessionFormState,
    VitalsView,
    derive_checks,
    derive_vitals,
)
from kaptools.ui.session_form.values import SessionFormValues
from kaptools.ui.session_form.widgets import VitalsRow

__all__ = ["SessionForm"]


class SessionForm(SessionFormValues):
    """Record one dosing session (``.container`` has the class ``kap-session-form``).

    ``open(...)`` fills it for a patient and date (or an existing record, which is
    then corrected as a new version with a reason). ``on_saved`` is called with the
    saved session after every successful save.
    """

    def __init__(
        self,
        store: Store,
        protocol: Protocol,
        *,
        author: str | None = None,
        on_saved: Callable[[SavedDosingSession], None] | None = None,
    ):
        self.store = store
        self.protocol = protocol
        self.on_saved = on_saved
        self.state = SessionFormState()
        self.vitals_view = VitalsView()
        self.checks = SessionChecks()
        self._opening = False
        self._build_widgets(author or store.identity.user)
        self.rems_download.before_download = self._log_download
        self.rems_download.on_error = self._download_refused
        self.route.observe(self._on_route, names="value")
        self.setting.observe(self._on_route, names="value")
        self.sedation.observe(self._on_vitals, names="value")
        self.sedation_minutes.observe(self._on_vitals, names="value")
        for widget in self.checked_widgets():
            widget.observe(self._on_checks, names="value")
        self.override_button.on_click(self._on_override)
        self.save_button.on_click(self._on_save)
        self.complete_button.on_click(self._on_complete)
        self.close_button.on_click(lambda _b: self.close())
        self.reload_button.on_click(self._on_reload)
        self._build_vitals_rows()

    # ---- the state ----
    def set_state(self, state: SessionFormState) -> None:
        """Make ``state`` the form's state; show whose session it is."""
        self.state = state
        self._show_heading()
        self._show_planned_dose()
        self.container.layout.display = None if state.shown else "none"

    def _update(self, **changes: Any) -> None:
        self.set_state(replace(self.state, **changes))

    @property
    def patient_id(self) -> str | None:  # type: ignore[override]
        return self.state.patient_id

    @property
    def record_id(self) -> str | None:
        return self.state.record_id

    @property
    def saved(self) -> SavedDosingSession | None:
        return self.state.saved

    @property
    def plan_session_index(self) -> int | None:  # type: ignore[override]
        return self.state.plan_session_index

    @property
    def planned_dose_mg(self) -> float | None:  # type: ignore[override]
        dose = self.state.planned_dose
        return dose.mg if dose is not None else None

    @property
    def _override(self) -> HoldOverride | None:  # type: ignore[override]
        return self.state.override

    # ---- opening ----
    def open(
        self,
        patient_id: str,
        route: str,
        session_date: dt.date | None,
        *,
        plan_session_index: int | None = None,
        planned_dose: DoseCalculation | None = None,
        label: str = "",
        saved: SavedDosingSession | None = None,
        first_dose: bool | None = None,
    ) -> None:
        """Show the form for one session: empty, or filled from ``saved`` (a correction).

        The patient's weight and age come from the store (the clinician can correct
        them); ``first_dose`` says whether this is the course's first dose.
        """
        self.errors.clear()
        session = saved.session if saved else None
        self.state = SessionFormState(
            patient_id=patient_id,
            record_id=saved.record_id if saved else None,
            saved=saved,
            plan_session_index=plan_session_index,
            planned_dose=planned_dose,
            label=label,
            override=session.hold_override if session else None,
        )
        self._opening = True
        try:
            self.route.value = session.route.value if session else Route(route).value
            self._reset(self.store.identity.user)
            self._build_vitals_rows(session.vitals if session else ())
            self.date.value = session.session_date if session else session_date
            self._prefill_patient(patient_id, self.date.value, first_dose)
            if session is not None:
                self._fill(session)
        finally:
            self._opening = False
        self.reason.layout.display = None if saved else "none"
        self._show_history()
        self._on_route()
        self._on_vitals()
        self.reload_button.layout.display = "none"
        self.reload_notice.layout.display = "none"
        self._update(loaded=self._values_or_none(), shown=True)

    def _show_planned_dose(self) -> None:
        d = self.state.planned_dose
        self.planned_dose.value = (
            ""
            if d is None
            else f"<p class='kap-sf-planned'>Planned dose: <b>{escape(d.mg_text)}</b> "
            f"({escape(d.arithmetic)}), <i>{escape(d.confirmation)}</i>. "
            "Enter the dose actually given.</p>"
        )

    def _show_heading(self) -> None:
        saved, label = self.state.saved, self.state.label
        what = escape(label) if label else "Dosing session"
        if saved is None:
            self.heading.value = f"<h3>{what}: new record</h3>"
            return
        done = saved.session.status is SessionRecordStatus.COMPLETE
        self.heading.value = (
            f"<h3>{what}: record {escape(saved.record_id[:8])}, version {saved.version} "
            f"({'complete' if done else 'in progress'})</h3><p class='kap-muted'>Saving makes "
            "a new version; say why in 'Reason for the correction'.</p>"
        )

    def _values_or_none(self) -> dict[str, Any] | None:
        try:
            return self.values()
        except KaptoolsError:
            return None

    def _show_session(self, session: DosingSession) -> None:
        """Put a stored session into the form (as opening it does)."""
        self.state = replace(self.state, override=session.hold_override)
        self._opening = True
        try:
            self.route.value = session.route.value
            self._reset(self.store.identity.user)
            self._build_vitals_rows(session.vitals)
            self.date.value = session.session_date
            self._fill(session)
        finally:
            self._opening = False
        self._on_route()
        self._on_vitals()

    @guarded(lambda self: self.errors)
    def _on_reload(self, _button: Any = None) -> None:
        """Reload the newest saved version and re-apply this form's unsaved edits to it
        where that version did not change the same field; conflicts are shown side by
        side (the newer value in the form, the user's beside it). Nothing is saved."""
        if self.record_id is None:
            return
        mine = self._values_or_none()
        reason = self.reason.value  # the correction's reason is the user's: kept
        newest = dosing_session_history(self.store, self.record_id)[-1]
        base = self.state.loaded
        self._show_session(newest.session)
        theirs = self.values()
        result = reapply_edits(base or theirs, mine or theirs, theirs)
        if result.applied:
            try:
                merged = parse_dosing_session(result.values)
            except KaptoolsError:
                # the edits do not combine into a valid record: show each one instead
                result = Reapplied(
                    theirs,
                    (),
                    result.conflicts
                    + tuple((k, result.values[k], theirs.get(k)) for k in result.applied),
                )
            else:
                self._show_session(merged)
        self.reason.value = reason
        self.reason.layout.display = None
        self._update(saved=newest, loaded=theirs)
        self._show_history()
        self.errors.clear()
        self.reload_button.layout.display = "none"
        notice = reapplied_html(result, newest.version, newest.author)
        if mine is None or base is None:
            notice += (
                " <b>Your unsaved edits could not be read</b> (a field held an invalid "
                "value), so none were re-applied: enter them again."
            )
        self.reload_notice.value = f"<div class='kap-reload-notice'>{notice}</div>"
        self.reload_notice.layout.display = None

    def _prefill_patient(
        self, patient_id: str, day: dt.date | None, first_dose: bool | None
    ) -> None:
        try:
            patient = self.store.get_patient(patient_id)
        except KaptoolsError:
            patient = None
        if patient is not None and patient.weight_kg is not None:
            self.weight.value = f"{patient.weight_kg:g}"
        if patient is not None and day is not None:
            age = patient.age_on(day)
            self.age.value = "" if age is None else str(age)
        self.first_dose.answer = first_dose

    def close(self) -> None:
        self.errors.clear()
        self._update(shown=False)

    def _build_vitals_rows(self, readings: Sequence[VitalSigns] = ()) -> None:
        """One row per protocol time point (and one spare), filled from ``readings``
        (which reading goes in which row: the domain's vitals_slots)."""
        rows = [VitalsRow(s) for s in vitals_slots(self.route.value, readings, self.protocol)]
        for row in rows:
            for t in row.inputs:
                t.observe(self._on_vitals, names="value")
        self.rows = rows
        self.vitals_box.children = [r.box for r in rows]
        self._on_vitals()

    # ---- live flags and checks ----
    def _on_route(self, change: dict[str, Any] | None = None) -> None:
        if change is not None and change.get("owner") is self.route and not self._opening:
            kept = [v for v in (r.reading() for r in self.rows) if v is not None]
            self._build_vitals_rows(kept)
        applies = rems_form_applies(self.route.value, self.setting.value)
        self.rems_box.layout.display = None if applies else "none"
        iv = self.route.value == Route.IV_KETAMINE.value
        self.dose_end.layout.display = None if iv else "none"
        self._on_checks()

    def _on_vitals(self, change: dict[str, Any] | None = None) -> None:
        """Recompute the protocol's flags from the readings typed so far."""
        measured = [(r.point, r.as_dict()) for r in self.rows if r.measured()]
        view = derive_vitals(
            measured, (self.sedation_minutes.value, self.sedation.answer), self.protocol
        )
        self.vitals_view = view
        for r in self.rows:
            r.mark(view.flags if r.measured() else ())
        self.flags.value = view.html
        self._on_checks()

    def _on_checks(self, change: dict[str, Any] | None = None) -> None:
        """Recompute the pre-dose decision, the dose check, discharge readiness and the
        REMS form from the form's values (each a domain function; nothing decided here)."""
        if self._opening or self.patient_id is None or self.date.value is None:
            return
        try:
            session: DosingSession | KaptoolsError = self.session()
        except KaptoolsError as exc:
            session = exc
        checks = self.checks = derive_checks(session, self.protocol)
        self.go_box.value = checks.go_html
        self.override_box.layout.display = None if checks.hold else "none"
        self.dose_check.value = checks.dose_html
        self.readiness.value = checks.readiness
        self.rems_form_state.value = checks.rems_html
        self.rems_download.offer([checks.rems_file] if checks.rems_file else [])

    @guarded(lambda self: self.errors)
    def _on_override(self, _button: Any = None) -> None:
        """A clinician overrides the current hold with a written reason (kept with the hold)."""
        self.errors.clear()
        decision = self.session().go_no_go(self.protocol)
        if decision.missing:
            msg = (
                "hold_override: the pre-dose check is incomplete ("
                + ", ".join(decision.missing)
                + "); record these first — a missing item cannot be overridden"
            )
            raise IncompleteInputError(msg, missing=decision.missing)
        if not decision.holds:
            msg = "hold_override: there is no hold to override (the decision is go or review)"
            raise InvalidInputError(msg)
        self.override_clinician.value = self.store.identity.user
        override = HoldOverride(
            self.store.identity.user,
            self.override_reason.value,
            tuple(f.rule_id for f in decision.holds),
            dt.datetime.now().replace(microsecond=0),
        )
        self._update(override=override)
        self.errors.ok(
            f"Hold overridden by {override.clinician}: {override.reason}. The hold "
            "stays on the record; the override is saved with it as its own audit-logged record."
        )
        self._on_checks()

    # ---- building and saving ----
    def session(self) -> DosingSession:
        """The form as a validated DosingSession (in progress); RecordError naming each field."""
        if self.patient_id is None:
            msg = "patient: open the form for a patient first"
            raise InvalidInputError(msg)
        return parse_dosing_session(self.values())

    @guarded(lambda self: self.errors)
    def _on_save(self, _button: Any = None) -> None:
        self._save(complete=False)

    @guarded(lambda self: self.errors)
    def _on_complete(self, _button: Any = None) -> None:
        self._save(complete=True)

    def _save(self, *, complete: bool) -> None:
        self.errors.clear()
        session = self.session()
        if complete:
            session = session.complete(self.protocol)
        reason = (self.reason.value or "").strip() or None
        saved = self.saved
        if self.record_id is not None and reason is None:
            version = saved.version if saved else "an earlier version"
            msg = (
                f"Reason for the correction: this session already has a saved record (version "
                f"{version}); say why it is being changed, then save again."
            )
            raise IncompleteInputError(msg, missing=["reason"])
        try:
            record = save_dosing_session(
                self.store,
                session,
                self.author.value,
                record_id=self.record_id,
                reason=reason,
                based_on_version=saved.version if saved else None,
                protocol=self.protocol,
            )
        except StaleVersionError:
            self.reload_button.layout.display = None  # offer to reload and re-apply
            raise
        self.reload_button.layout.display = "none"
        self.reload_notice.layout.display = "none"
        now = SavedDosingSession.from_record(record)
        self.reason.value = ""
        self.reason.layout.display = None
        self._update(saved=now, record_id=record.record_id)
        self.errors.ok(
            f"Saved version {record.version} of the dosing-session record "
            f"({'complete' if complete else 'in progress'}), recorded by {record.author}."
        )
        self._show_history()
        self._update(loaded=self._values_or_none())
        if self.on_saved is not None:
            self.on_saved(now)

    def _download_refused(self, exc: Exception) -> None:
        self.errors.error(f"Not downloaded: the download could not be audit-logged ({exc}).")

    def _log_download(self, file: DownloadFile) -> None:
        """The audit row of a download (who, when, the patient, the file, which record)."""
        saved = self.saved
        record = f"record {saved.record_id} v{saved.version}" if saved else "not saved"
        self.store.log(
            "download",
            patient_id=self.patient_id,
            kind="dosing_session",
            detail=f"{file.filename} ({record})",
        )

    def _show_history(self) -> None:
        if self.record_id is None:
            self.history.value = ""
            return
        versions = dosing_session_history(self.store, self.record_id)
        rows = "".join(
            f"<li>version {v.version}: {escape(v.session.status.value.replace('_', ' '))}, "
            f"saved by {escape(v.author)} {v.created_at:%Y-%m-%d %H:%M}"
            + (f" (reason: {escape(v.reason)})" if v.reason else "")
            + "</li>"
            for v in versions
        )
        self.history.value = f"<div class='kap-muted'>Versions of this record:<ul>{rows}</ul></div>"
