"""Safety alerts: shown wherever they apply, separate from any status.

The crisis line text lives here once; every view that shows an alert shows
``CRISIS_LINE_TEXT`` beside it. A :class:`StoredAlert` is an alert kept for a
patient in the store (:meth:`kaptools.store.Store.raise_alert`), open until a
clinician acknowledges it with a note.
"""

from __future__ import annotations

import datetime as dt
import enum
from collections.abc import Sequence
from dataclasses import dataclass

from kaptools.printer import escape

__all__ = [
    "CRISIS_LINE_TEXT",
    "Acknowledgement",
    "Alert",
    "AlertLevel",
    "StoredAlert",
    "alerts_html",
    "alerts_text",
    "banner_html",
    "highest_level",
]

#: 988 Suicide & Crisis Lifeline (kaptools/sources.toml §7): call or text 988;
#: veterans press 1. 911 in an emergency.
CRISIS_LINE_TEXT = (
    "988 Suicide & Crisis Lifeline: call or text 988 (veterans press 1). In an emergency call 911."
)


class AlertLevel(enum.StrEnum):
    """How urgent a safety alert is (C-SSRS triage, kaptools/sources.toml §4.8, §7)."""

    WARNING = "warning"
    """Needs follow-up at this visit (e.g. PHQ-9 item 9 ≥ 1: complete a C-SSRS screen)."""
    CRITICAL = "critical"
    """Immediate risk assessment before anything else (C-SSRS intent, plan or recent behaviour)."""


_LEVEL_ORDER = {AlertLevel.WARNING: 1, AlertLevel.CRITICAL: 2}


@dataclass(frozen=True, slots=True)
class Alert:
    """A safety alert: its rule, level, what the clinician should do, and the source."""

    rule_id: str
    level: AlertLevel
    message: str
    action: str
    source: str
    crisis_line: str = CRISIS_LINE_TEXT

    @property
    def summary(self) -> str:
        return f"[{self.level.value.upper()}] {self.message} {self.action} {self.crisis_line}"

    def _repr_html_(self) -> str:
        return (
            f'<div class="kap-alert kap-alert-{escape(self.level.value)}" role="alert">'
            f"<strong>{escape(self.level.value.upper())}: {escape(self.message)}</strong> "
            f"{escape(self.action)}<br><strong>{escape(self.crisis_line)}</strong>"
            f"<br><small>Source: {escape(self.source)}</small></div>"
        )


def highest_level(alerts: tuple[Alert, ...] | list[Alert]) -> AlertLevel | None:
    """The most urgent level among ``alerts``, or None when there are none."""
    if not alerts:
        return None
    return max((a.level for a in alerts), key=_LEVEL_ORDER.__getitem__)


@dataclass(frozen=True, slots=True)
class Acknowledgement:
    """A clinician's acknowledgement of a stored alert: who, when and why (its own record)."""

    alert_id: str
    at: dt.datetime
    """UTC, naive (as the store keeps times)."""
    who: str
    note: str

    @property
    def summary(self) -> str:
        return f"acknowledged {self.at:%Y-%m-%d %H:%M} UTC by {self.who}: {self.note}"


@dataclass(frozen=True, slots=True)
class StoredAlert:
    """A safety alert stored for a patient: open until a clinician acknowledges it.

    ``source_kind``/``source_ref`` name what raised it (e.g. an ``assessment`` record
    id); the same source never opens a second alert for the same rule. Acknowledging
    adds an :class:`Acknowledgement`; the alert itself is never changed or deleted.
    """

    alert_id: str
    patient_id: str
    alert: Alert
    source_kind: str
    source_ref: str
    effective_at: dt.datetime
    """When the finding was made (the assessment's or session's date)."""
    raised_at: dt.datetime
    raised_by: str
    acknowledgement: Acknowledgement | None = None

    @property
    def is_open(self) -> bool:
        return self.acknowledgement is None

    @property
    def level(self) -> AlertLevel:
        return self.alert.level

    @property
    def origin(self) -> str:
        """Where the alert came from, in words."""
        what = _SOURCE_WORDS.get(self.source_kind, self.source_kind.replace("_", " "))
        return f"{what} of {self.effective_at:%d %b %Y}"

    @property
    def summary(self) -> str:
        state = "OPEN" if self.is_open else self.acknowledgement.summary  # type: ignore[union-attr]
        return f"{self.alert.summary} ({self.origin}; alert {self.alert_id}; {state})"

    def _repr_html_(self) -> str:
        ack = (
            "<strong>open until a clinician acknowledges it</strong>"
            if self.acknowledgement is None
            else escape(self.acknowledgement.summary)
        )
        return (
            f"<div class='kap-stored-alert' data-alert-id='{escape(self.alert_id)}'>"
            f"{self.alert._repr_html_()}<small>{escape(self.origin)}; {ack}</small></div>"
        )


_SOURCE_WORDS = {
    "assessment": "assessment",
    "assessment_incomplete": "incomplete assessment (not saved)",
    "screening": "screening",
    "dosing_session": "dosing session",
}


def alerts_text(alerts: Sequence[StoredAlert | Alert], *, heading: str) -> list[str]:
    """Plain-text lines for a list of alerts, with the crisis line once at the top.

    Empty when there are none. Used by every text summary and the CLI.
    """
    if not alerts:
        return []
    lines = [heading, CRISIS_LINE_TEXT]
    lines.extend(f"- {a.summary}" for a in alerts)
    return lines


def alerts_html(alerts: Sequence[StoredAlert | Alert], *, heading: str) -> str:
    """An HTML block for a list of alerts with the crisis line; empty when there are none."""
    if not alerts:
        return ""
    level = highest_level([a.alert if isinstance(a, StoredAlert) else a for a in alerts])
    css = "kap-critical" if level is AlertLevel.CRITICAL else ""
    return (
        f"<div class='kap-alert-block {css}' role='alert'><h3>{escape(heading)}</h3>"
        f"<p><strong>{escape(CRISIS_LINE_TEXT)}</strong></p>"
        + "".join(a._repr_html_() for a in alerts)
        + "</div>"
    )


def _banner_item(item: StoredAlert | Alert) -> str:
    a = item.alert if isinstance(item, StoredAlert) else item
    text = (
        f"<strong>{escape(a.level.value.upper())}</strong>: {escape(a.message)} "
        f"{escape(a.action)} <span class='kap-muted'>({escape(a.source)})</span>"
    )
    if isinstance(item, StoredAlert):
        return (
            f"<li class='kap-open-alert' data-alert-id='{escape(item.alert_id)}'>{text} "
            f"<span class='kap-muted'>{escape(item.origin)}; open until a clinician "
            "acknowledges it.</span></li>"
        )
    return f"<li class='kap-live-alert'>{text}</li>"


def banner_html(alerts: Sequence[StoredAlert | Alert]) -> str:
    """What a dashboard's 988 crisis banner holds: the crisis line once, then one line per
    alert (a stored one with where it came from and "open until acknowledged"); empty
    when there are none. The banner widget and the server's first paint both show it."""
    if not alerts:
        return ""
    items = "".join(_banner_item(a) for a in alerts)
    return (
        f"<div role='alert'><strong>Safety alert.</strong> {escape(CRISIS_LINE_TEXT)}"
        f"<ul style='margin:0.3em 0'>{items}</ul></div>"
    )
