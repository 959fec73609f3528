"""The session form's state and the pure functions that derive what it shows.

:class:`SessionFormState` says whose session the form holds (patient, record and
version, the plan's session and dose, a hold override made here, the values as
loaded); the typed values live in the widgets and are read by ``values()``.
:func:`derive_vitals` gives the protocol's flags on the readings typed so far and
:func:`derive_checks` the go / no-go decision, the dose check, discharge readiness and
the REMS form: each a domain call on the parsed session, nothing decided here.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from kaptools.errors import InvalidInputError, KaptoolsError
from kaptools.protocol import Protocol
from kaptools.scheduling import DoseCalculation
from kaptools.sessions import (
    DosingSession,
    GoDecision,
    HoldOverride,
    SavedDosingSession,
    VitalsFlag,
    VitalSigns,
    VitalsTimepoint,
    sedation_flags,
    vitals_flags,
)
from kaptools.ui.common import DownloadFile, escape
from kaptools.ui.session_form.widgets import POINT_LABELS, flags_html, int_or_none, reading

__all__ = [
    "SessionChecks",
    "SessionFormState",
    "VitalsView",
    "derive_checks",
    "derive_vitals",
]


@dataclass(frozen=True)
class SessionFormState:
    """Whose dosing session the form holds (the typed values are in its widgets)."""

    patient_id: str | None = None
    record_id: str | None = None
    """The record corrected by saving (None: a new record)."""
    saved: SavedDosingSession | None = None
    """The version the form was opened from or last saved as."""
    plan_session_index: int | None = None
    planned_dose: DoseCalculation | None = None
    label: str = ""
    override: HoldOverride | None = None
    """A hold overridden here (or as stored), saved with the session."""
    loaded: Mapping[str, Any] | None = None
    """The values as opened or last saved: the base a reload re-applies edits to."""
    shown: bool = False


@dataclass(frozen=True)
class VitalsView:
    """The protocol's flags on the readings typed so far, and what could not be read."""

    flags: tuple[VitalsFlag, ...] = ()
    problems: tuple[str, ...] = ()
    entered: bool = False

    @property
    def html(self) -> str:
        if not self.entered and not self.problems:
            return "<p class='kap-muted'>Flags appear here as readings are entered.</p>"
        errors = "".join(
            f"<div class='kap-error kap-vitals-error'>{escape(p)}</div>" for p in self.problems
        )
        return errors + flags_html(self.flags)


def derive_vitals(
    rows: Sequence[tuple[VitalsTimepoint, Mapping[str, Any]]],
    sedation: tuple[str | None, int | None],
    protocol: Protocol,
) -> VitalsView:
    """Flags for the measured vitals ``rows`` ((time point, the row's values)) and the
    MOAA/S rating ``sedation`` ((minutes text, rating or None))."""
    problems: list[str] = []
    readings: list[VitalSigns] = []
    for point, values in rows:
        try:
            readings.append(reading(dict(values)))
        except (KaptoolsError, ValueError) as exc:
            problems.append(f"{POINT_LABELS[point]}: {exc}")
    rated: list[tuple[int | None, int]] = []
    minutes_text, rating = sedation
    if rating is not None:
        try:
            minutes = int_or_none(minutes_text, "sedation minutes")
        except InvalidInputError as exc:
            problems.append(str(exc))
            minutes = None
        rated.append((minutes, rating))
    flags: tuple[VitalsFlag, ...] = vitals_flags(readings, protocol) if readings else ()
    flags += sedation_flags(rated, protocol)
    return VitalsView(flags, tuple(problems), bool(readings or rated))


@dataclass(frozen=True)
class SessionChecks:
    """The checks of the session as typed: each from the domain, as its HTML."""

    waiting: str = ""
    """Why the checks wait (an entry that cannot be read yet), or empty."""
    decision: GoDecision | None = None
    dose_html: str = ""
    readiness_html: str = ""
    rems_html: str = ""
    rems_file: DownloadFile | None = None

    @property
    def hold(self) -> bool:
        """A hold that can be overridden (a complete check that says hold)."""
        d = self.decision
        return d is not None and d.status.value == "hold" and not d.missing

    @property
    def go_html(self) -> str:
        return self._note() if self.decision is None else self.decision._repr_html_()

    def _note(self) -> str:
        return (
            "<div class='kap-muted kap-sf-check-wait'>Checks wait for valid entries: "
            f"{escape(self.waiting)}</div>"
            if self.waiting
            else ""
        )

    @property
    def readiness(self) -> str:
        return self._note() if self.decision is None else self.readiness_html


def derive_checks(session: DosingSession | KaptoolsError, protocol: Protocol) -> SessionChecks:
    """The go / no-go decision, dose check, discharge readiness and REMS form of
    ``session`` (or why they wait: the error reading the form)."""
    if isinstance(session, KaptoolsError):
        return SessionChecks(waiting=str(session))
    side = "".join(
        f._repr_html_() for f in session.flags(protocol) if f.rule_id.startswith("side_")
    )
    rems_html, rems_file = "", None
    if session.needs_rems_form:
        form = session.rems_form(protocol)
        rems_html = form._repr_html_()
        rems_file = DownloadFile(
            "Download the REMS Patient Monitoring Form (printable HTML)",
            "kap-sf-rems-link",
            f"rems-monitoring-form-{session.patient_id}-{session.session_date}.html",
            "text/html",
            form.to_html_page,
        )
    return SessionChecks(
        decision=session.go_no_go(protocol),
        dose_html="" if session.dose_mg is None else session.dose_check(protocol)._repr_html_(),
        readiness_html=side + session.discharge_readiness(protocol)._repr_html_(),
        rems_html=rems_html,
        rems_file=rems_file,
    )
