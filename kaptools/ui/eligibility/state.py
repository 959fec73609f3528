"""The eligibility page's state and the pure functions that derive what it shows.

:class:`EligibilityState` is frozen; every change of the page is a new state
(:func:`screened` after a form change, a new patient, a save, an override), and
:meth:`EligibilityApp.render <kaptools.ui.eligibility.app.EligibilityApp.render>` shows
it. Nothing clinical is decided here: the result is :func:`kaptools.screening.screen`'s.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

from kaptools.alerts import Alert
from kaptools.protocol import Protocol
from kaptools.screening import ScreeningRecord, ScreeningResult, Severity, screen
from kaptools.store import Patient
from kaptools.ui.common import escape
from kaptools.ui.eligibility.report import NOT_SCREENED, SavedScreening, status_badge

__all__ = [
    "EligibilityState",
    "FormProblem",
    "header_html",
    "offer_html",
    "override_choices",
    "override_note",
    "screened",
]

LOADING_HTML = "<p class='kap-muted kap-loading'>Loading…</p>"
NO_PATIENTS_HTML = "<p>No patients in this database yet.</p>"


@dataclass(frozen=True)
class FormProblem:
    """One input problem: the field as the clinician knows it, what is wrong, and the
    widgets to mark (not part of the comparison: the words are)."""

    label: str
    message: str
    widgets: tuple[Any, ...] = field(default=(), compare=False)

    @property
    def text(self) -> str:
        return f"{self.label}: {self.message}"


@dataclass(frozen=True)
class EligibilityState:
    """Everything the eligibility page shows, in one frozen value."""

    loading: bool = False
    """A preheated page waiting for its URL parameters (nothing read yet)."""
    no_patients: bool = False
    patient: Patient | None = None
    record: ScreeningRecord | None = None
    """The form as a validated record (None while it holds input errors)."""
    problems: tuple[FormProblem, ...] = ()
    result: ScreeningResult | None = None
    """The screening of the form as it is now (None while the form has input errors)."""
    partial_alerts: tuple[Alert, ...] = ()
    """While the form has input errors: the alerts of its PHQ-9 and C-SSRS answers."""
    saved: SavedScreening | None = None
    """The saved screening this form was saved as or loaded from."""
    latest_saved: SavedScreening | None = None
    """The patient's latest saved screening, offered for loading into the form."""
    offer_error: str = ""

    @property
    def matches_saved(self) -> bool:
        """True when the form holds the saved screening's answers under the same protocol
        (a record saved without a patient id, e.g. by a cohort import, matches its
        patient's form)."""
        s, record, result = self.saved, self.record, self.result
        if s is None or record is None or result is None or s.result.protocol != result.protocol:
            return False
        saved = s.result.record
        if saved.patient_id is None:
            saved = saved.model_copy(update={"patient_id": record.patient_id})
        return saved == record

    @property
    def shown(self) -> ScreeningResult | None:
        """What the panel shows: the saved screening (with its overrides) when the form
        matches it, else the screening of the form."""
        if self.saved is not None and self.matches_saved:
            return self.saved.result
        return self.result

    @property
    def shown_saved(self) -> SavedScreening | None:
        """The saved screening when it is what the panel shows."""
        return self.saved if self.matches_saved else None

    @property
    def status(self) -> str:
        """The status badge's text: the shown result's status, or ``not_screened``."""
        return NOT_SCREENED if self.shown is None else self.shown.status.value

    @property
    def live_alerts(self) -> tuple[Alert, ...]:
        """The page's own alerts (the banner shows them with the stored ones)."""
        return self.partial_alerts if self.shown is None else self.shown.alerts

    @property
    def saved_note(self) -> str:
        if self.saved is None:
            return "not saved"
        if self.matches_saved:
            return self.saved.note
        return f"changed since it was {self.saved.note}: save again to keep the changes"

    @property
    def offer_visible(self) -> bool:
        """The latest saved screening is offered while it is not what the form holds."""
        latest = self.latest_saved
        in_form = (
            latest is not None
            and self.saved is not None
            and self.saved.record_id == latest.record_id
            and self.matches_saved
        )
        return bool((latest and not in_form) or self.offer_error)


def screened(
    state: EligibilityState,
    record: ScreeningRecord | None,
    problems: tuple[FormProblem, ...],
    protocol: Protocol,
    partial_alerts: tuple[Alert, ...] = (),
) -> EligibilityState:
    """The state after the form changed: ``record`` screened under ``protocol``."""
    result = None if record is None else screen(record, protocol=protocol)
    return replace(
        state,
        record=record,
        problems=problems,
        result=result,
        partial_alerts=() if record is not None else partial_alerts,
    )


def header_html(state: EligibilityState) -> str:
    """Who is being screened (or why nobody is)."""
    if state.loading:
        return LOADING_HTML
    p = state.patient
    if p is None:
        return NO_PATIENTS_HTML if state.no_patients else ""
    born = "birth date not recorded" if p.birth_date is None else f"born {p.birth_date}"
    return f"Screening <b>{escape(p.display_name)}</b> ({escape(p.patient_id)}), {escape(born)}" + (
        " · <span class='kap-badge kap-no'>synthetic</span>" if p.synthetic else ""
    )


def offer_html(state: EligibilityState) -> str:
    """The offer of the patient's latest saved screening (or why it cannot be read)."""
    latest = state.latest_saved
    if state.offer_error:
        return escape(state.offer_error)
    if latest is None:
        return ""
    result = latest.result
    return (
        f"A screening of this patient was {escape(latest.note)}: "
        f"{status_badge(result.status.value, 'kap-saved-status')} under protocol "
        f"{escape(result.protocol.name)} version {escape(result.protocol.version)}."
    )


def override_note(state: EligibilityState) -> str:
    """Whether a finding can be overridden now, and how an override is recorded."""
    if state.saved is None:
        return "Save the screening first: an override is recorded against a saved screening."
    if not state.matches_saved:
        return "The form differs from the saved screening: save it again before overriding."
    return (
        "Overriding keeps the protocol's finding and records who, when and why "
        "(audit-logged). Only a written reason is accepted."
    )


def override_choices(state: EligibilityState) -> list[tuple[str, str]]:
    """The saved screening's findings a clinician may override (information aside),
    as (label, rule id); none unless the form shows the saved screening."""
    saved = state.shown_saved
    if saved is None:
        return []
    options = []
    for f in saved.result.findings:
        if f.severity is Severity.INFO:
            continue
        mark = " (overridden)" if f.overridden else ""
        text = f"{f.severity.value}: {f.message}"
        options.append((f"{text[:110]}{mark}", f.rule_id))
    return options
