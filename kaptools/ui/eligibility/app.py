"""The eligibility App: one patient walked through screening, rendered from one frozen
:class:`~kaptools.ui.eligibility.state.EligibilityState`.

Every form change goes through one path (:meth:`EligibilityApp.refresh`): read the form
into a :class:`~kaptools.screening.ScreeningRecord`, screen it into a new state, render
it. Saving and overriding use the screening package's :func:`save_screening` and
:func:`override_finding` and make a new state from what was stored.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import ipywidgets as w
from IPython.display import display

from kaptools.errors import KaptoolsError, NotFoundError
from kaptools.protocol import Protocol
from kaptools.screening import (
    ScreeningResult,
    latest_screening,
    load_screening,
    override_finding,
    save_screening,
    screen,
)
from kaptools.screening.report import diagnoses_html, number_text
from kaptools.store import Patient, Store
from kaptools.ui.common import CSS, PatientApp, escape, guarded
from kaptools.ui.eligibility.form import EligibilityForm
from kaptools.ui.eligibility.report import (
    DISCLAIMER,
    ELIGIBILITY_CSS,
    SavedScreening,
    SummaryExport,
    panel_findings_html,
    panel_trials_html,
    status_html,
    summary_document,
    summary_text,
)
from kaptools.ui.eligibility.state import (
    EligibilityState,
    FormProblem,
    header_html,
    offer_html,
    override_choices,
    override_note,
    screened,
)
from kaptools.ui.widgets import ErrorBox, PatientAlertsPanel, lock_author

__all__ = ["EligibilityApp"]


class EligibilityApp(PatientApp[EligibilityState], EligibilityForm):
    """Screening one patient against the protocol. ``app.container`` is what the dashboard
    shows; ``app.state`` is what it shows, as one frozen value."""

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
        self._init_state(EligibilityState(loading=defer))
        self.today = today
        self._invalid: set[w.Widget] = set()
        self._build_results()
        self._build_form()
        self._build_actions(author or store.identity.user)
        self.container = self._layout()
        if defer:
            self.refresh()
        else:
            self.select_patient(patient_id)

    # ---- the state, under the names the tests and notebooks use -----------------------
    @property
    def patient(self) -> Patient | None:
        return self.state.patient

    @property
    def result(self) -> ScreeningResult | None:
        """The screening of the form as it is now (None while the form has input errors)."""
        return self.state.result

    @property
    def shown(self) -> ScreeningResult | None:
        """What the panel shows: the saved screening (with overrides) when the form matches it."""
        return self.state.shown

    @property
    def saved(self) -> SavedScreening | None:
        return self.state.saved

    @property
    def latest_saved(self) -> SavedScreening | None:
        return self.state.latest_saved

    @property
    def problems(self) -> tuple[FormProblem, ...]:
        return self.state.problems

    # ---- construction -------------------------------------------------------
    def _build_results(self) -> None:
        """The widgets that show the state: alerts, header, offer, status, findings."""
        self.alert_panel = PatientAlertsPanel(
            self.store,
            self.protocol,
            author=lambda: self.screened_by.value,
            on_change=self.update,
        )
        self.banner = self.alert_panel.banner
        self.patient_header = w.HTML()
        self.patient_header.add_class("kap-patient-header")
        self.saved_offer = w.HTML()
        self.saved_offer.add_class("kap-saved-offer")
        self.load_button = w.Button(
            description="Load it into the form", icon="upload", layout=w.Layout(width="14em")
        )
        self.load_button.add_class("kap-load-saved")
        self.offer_box = w.HBox([self.saved_offer, self.load_button])
        self.status_panel = w.HTML()
        self.status_panel.add_class("kap-status-panel")
        self.form_error = ErrorBox()
        self.form_error.add_class("kap-form-error")
        self.findings = w.HTML()
        self.findings.add_class("kap-findings")
        self.trial_table = w.HTML()
        self.trial_table.add_class("kap-trials")

    def _build_actions(self, author: str) -> None:
        """Save, summary downloads and overrides."""
        self.screened_by = w.Text(
            description="Screened by",
            value=author,
            style={"description_width": "initial"},
            layout=w.Layout(width="22em"),
            continuous_update=False,
        )
        self.screened_by.add_class("kap-screened-by")
        lock_author(self.screened_by)
        self.screened_by.observe(lambda _c: self.update(), names="value")
        self.save_button = w.Button(
            description="Save screening", button_style="primary", icon="save"
        )
        self.save_button.add_class("kap-save")
        self.save_message = ErrorBox()
        self.save_message.add_class("kap-save-message")
        self.export = SummaryExport()
        self.export.on_export = lambda action: self.log_export(
            action, kind="screening", detail="screening summary"
        )
        self.override_rule = w.Dropdown(description="Finding", layout=w.Layout(width="640px"))
        self.override_rule.add_class("kap-override-rule")
        least = self.protocol.screening.thresholds.override_reason_min_length.value
        self.override_reason = w.Textarea(
            placeholder=(
                "Why the finding does not apply to this patient (at least "
                f"{number_text(least)} characters)"
            ),
            layout=w.Layout(width="640px", height="4.5em"),
        )
        self.override_reason.add_class("kap-override-reason")
        self.override_button = w.Button(description="Override finding", icon="pencil")
        self.override_button.add_class("kap-override-button")
        self.override_note = w.HTML()
        self.override_note.add_class("kap-override-note")
        self.override_message = ErrorBox()
        self.override_message.add_class("kap-override-message")
        self.load_button.on_click(self._on_load_saved)
        self.save_button.on_click(self._on_save)
        self.override_button.on_click(self._on_override)
        self.clear_button.on_click(self._on_clear)

    def _layout(self) -> w.VBox:
        def h(text: str) -> w.HTML:
            box = w.HTML(f"<h3>{escape(text)}</h3>")
            box.add_class("kap-section-title")
            return box

        save_row = w.HBox([self.screened_by, self.save_button, self.clear_button])
        override_box = w.VBox(
            [
                self.override_note,
                self.override_rule,
                self.override_reason,
                self.override_button,
                self.override_message,
            ]
        )
        override_box.add_class("kap-overrides")
        findings_column = w.VBox([h("Findings"), self.findings])
        findings_column.add_class("kap-findings-column")
        self.tabs.layout = w.Layout(width="62%", flex="0 0 auto")
        findings_column.layout = w.Layout(width="38%", padding="0 0 0 12px")
        columns = w.HBox([self.tabs, findings_column], layout=w.Layout(align_items="flex-start"))
        box = w.VBox(
            [
                w.HTML(CSS),
                w.HTML(ELIGIBILITY_CSS),
                self.url,
                self.alert_panel.container,
                self.picker,
                self.notice,
                self.patient_header,
                self.offer_box,
                self.status_panel,
                self.form_error,
                columns,
                h("Save and summary"),
                save_row,
                self.save_message,
                self.export,
                h("Override a finding of the saved screening"),
                override_box,
                w.HTML(
                    f"<p class='kap-muted kap-disclaimer'>{escape(DISCLAIMER)} "
                    f"Protocol: {escape(self.protocol.info.short)}.</p>"
                ),
            ]
        )
        box.add_class("kap-app")
        box.add_class("kap-eligibility-app")
        return box

    # ---- patient selection: a new state per patient -----------------------------------
    def _warm_up(self) -> None:
        """Before any request (no patient data): load the ICD-10-CM index (kaptools.icd10,
        ~1 MB; the simple-icd-10-cm package itself is never loaded in a kernel), so the
        first diagnosis code typed is screened at once."""
        from kaptools.icd10 import load_code_set

        load_code_set()

    def _load_patient(self) -> None:
        pid = self.picker.value
        for box in (self.save_message, self.override_message):
            box.clear()
        if pid is None:
            self.alert_panel.load(None)
            with self.batch():
                self.replace(EligibilityState(no_patients=True))
                self.reset_form()
            return
        try:
            patient = self.store.get_patient(pid)
            # the patient's open alerts (a saved screening's C-SSRS alert among them) show on
            # arrival, before anything is loaded into the form
            self.alert_panel.load(pid)
        except NotFoundError as exc:
            self.notice.error(str(exc))
            return
        latest, error = self._read_latest(pid)
        with self.batch():
            self.replace(EligibilityState(patient=patient, latest_saved=latest, offer_error=error))
            self.reset_form()

    def _read_latest(self, pid: str) -> tuple[SavedScreening | None, str]:
        """The patient's latest saved screening, to offer it (or why it cannot be read)."""
        try:
            latest = latest_screening(self.store, pid)
        except KaptoolsError as exc:
            return None, f"The latest saved screening cannot be read: {exc}"
        if latest is None:
            return None, ""
        stored = latest.record
        return SavedScreening(stored.record_id, stored.author, stored.created_at, latest.result), ""

    # ---- the single update path --------------------------------------------
    @guarded(lambda self: self.form_error)
    def _on_change(self, change: dict[str, Any] | None = None) -> None:
        if not self.holding:
            self.refresh()

    def refresh(self) -> None:
        """Read the form, screen it into a new state, and show it (the one update path)."""
        record, problems = self.read_record()
        partial = self._safety_alerts_only() if record is None else ()
        self.replace(screened(self.state, record, tuple(problems), self.protocol, partial))

    # ---- the one render path ---------------------------------------------------------
    def render(self, state: EligibilityState) -> None:
        self.patient_header.value = header_html(state)
        self._mark_invalid(state.problems)
        self._mark_unanswered()
        if state.record is None and state.problems:
            self.form_error.error(
                "Not screened until these are corrected:\n"
                + "\n".join(f"- {p.text}" for p in state.problems)
            )
        else:
            self.form_error.clear()
        self.alert_panel.set_live(state.live_alerts)
        shown = state.shown
        self.status_panel.value = status_html(shown, self.protocol, state.saved_note)
        self.dx_descriptions.value = "" if shown is None else diagnoses_html(shown)
        self.findings.value = panel_findings_html(shown)
        self.trial_table.value = panel_trials_html(shown, self.protocol)
        self.offer_box.layout.display = None if state.offer_visible else "none"
        self.load_button.disabled = state.latest_saved is None
        self.saved_offer.value = offer_html(state)
        self._render_export(state)
        self._render_overrides(state)

    def _render_export(self, state: EligibilityState) -> None:
        shown = state.shown
        if shown is None:
            self.export.html = self.export.text = ""
            return
        kwargs: dict[str, Any] = {
            "patient": state.patient,
            "screened_by": self.screened_by.value.strip(),
            "saved": state.shown_saved,
            "open_alerts": self.alert_panel.stored.open,
        }
        day = self.today or dt.date.today()
        self.export.filename = f"screening-{self.picker.value or 'patient'}-{day:%Y-%m-%d}"
        self.export.html = summary_document(shown, self.protocol, **kwargs)
        self.export.text = summary_text(shown, **kwargs)

    def _render_overrides(self, state: EligibilityState) -> None:
        self.override_note.value = f"<div class='kap-hint'>{escape(override_note(state))}</div>"
        options = override_choices(state)
        current = self.override_rule.value
        self.override_rule.options = options
        values = [v for _, v in options]
        if values:  # keep the clinician's choice when it is still there
            self.override_rule.value = current if current in values else values[0]
        for widget in (self.override_rule, self.override_reason, self.override_button):
            widget.disabled = not options

    # ---- actions: each makes a new state ----------------------------------------------
    def _stored(self, record_id: str, author: str, at: dt.datetime) -> SavedScreening:
        """A saved screening as the store now has it (its overrides applied)."""
        return SavedScreening(record_id, author, at, load_screening(self.store, record_id))

    @guarded(lambda self: self.save_message)
    def _on_save(self, _button: Any = None) -> None:
        self.save_message.clear()
        pid = self.picker.value
        if pid is None:
            self.save_message.error("Pick a patient first: nothing was saved.")
            return
        record = self.form_record()
        if self.state.matches_saved and self.state.saved is not None:
            self.save_message.ok(f"Already {self.state.saved.note}; nothing new to save.")
            return
        result = screen(record, protocol=self.protocol)
        stored = save_screening(
            self.store, pid, record, result, author=self.screened_by.value.strip()
        )
        saved = self._stored(stored.record_id, stored.author, stored.created_at)
        with self.batch():
            self.alert_panel.reload()  # the screening's alerts were stored with it
            self.replace(saved=saved, latest_saved=saved)
            self.refresh()
        self.save_message.ok(
            f"Saved: {result.status.value} under protocol {self.protocol.info.short}, {saved.note}."
        )

    @guarded(lambda self: self.save_message)
    def _on_load_saved(self, _button: Any = None) -> None:
        latest = self.state.latest_saved
        if latest is None:
            return
        with self.batch():
            self.replace(saved=latest)
            self.fill(latest.result.record)
        note = f"Loaded the screening {latest.note}."
        if latest.result.protocol != self.protocol.info:
            note += (
                f" It was saved under protocol {latest.result.protocol.short}; the form is now "
                f"screened under {self.protocol.info.short}, so the findings may differ."
            )
        self.save_message.ok(note)

    @guarded(lambda self: self.override_message)
    def _on_override(self, _button: Any = None) -> None:
        self.override_message.clear()
        saved = self.state.shown_saved
        if saved is None or self.override_rule.value is None:
            self.override_message.error(
                "Save the screening first: an override is recorded against a saved screening."
            )
            return
        override = override_finding(
            self.store,
            saved.record_id,
            self.override_rule.value,
            self.override_reason.value,
            author=self.screened_by.value.strip(),
            protocol=self.protocol,
        )
        now = self._stored(saved.record_id, saved.author, saved.saved_at)
        self.override_reason.value = ""
        self.replace(saved=now, latest_saved=now)
        result = now.result
        self.override_message.ok(
            f"Overrode {override.rule_id} ({override.author}); the status is now "
            f"{result.status.value} (before overrides: "
            f"{(result.original_status or result.status).value})."
        )

    @guarded(lambda self: self.save_message)
    def _on_clear(self, _button: Any = None) -> None:
        self.save_message.clear()
        with self.batch():
            self.replace(saved=None)
            self.reset_form()

    def show(self) -> None:
        display(self.container)
