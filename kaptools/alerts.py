"""Safety alerts: shown wherever they apply, separate from any status.

The crisis line text lives here once; every view that shows an alert shows
``CRISIS_LINE_TEXT`` beside it.
"""

from __future__ import annotations

import enum
import html
from dataclasses import dataclass

__all__ = ["CRISIS_LINE_TEXT", "Alert", "AlertLevel", "highest_level"]

#: 988 Suicide & Crisis Lifeline (clinical-sources.md §7): call or text 988;
#: veterans press 1. 911 in an emergency.
CRISIS_LINE_TEXT = (
    "988 Suicide & Crisis Lifeline: call or text 988 (veterans press 1). In an emergency call 911."
)


class AlertLevel(enum.StrEnum):
    """How urgent a safety alert is (C-SSRS triage, clinical-sources.md §4.8, §7)."""

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
        esc = html.escape
        return (
            f'<div class="kap-alert kap-alert-{esc(self.level.value)}" role="alert">'
            f"<strong>{esc(self.level.value.upper())}: {esc(self.message)}</strong> "
            f"{esc(self.action)}<br><strong>{esc(self.crisis_line)}</strong>"
            f"<br><small>Source: {esc(self.source)}</small></div>"
        )


def highest_level(alerts: tuple[Alert, ...] | list[Alert]) -> AlertLevel | None:
    """The most urgent level among ``alerts``, or None when there are none."""
    if not alerts:
        return None
    return max((a.level for a in alerts), key=_LEVEL_ORDER.__getitem__)
