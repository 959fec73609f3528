"""A patient's stored safety alerts: raised from every record, open until acknowledged.

Every safety alert (suicide items of the symptom measures, the screening's C-SSRS and
PHQ-9 alerts, a dosing session's urgent findings) is stored for the patient
(:meth:`kaptools.store.Store.raise_alert`) and stays open until a clinician
acknowledges it with a note; acknowledging never deletes. Records saved through
kaptools store their alerts in the same transaction; :func:`sync_patient_alerts`
raises any that a record holds but the store does not (records saved before alerts
were stored, or by another path), and is idempotent.

Every view of a patient shows :func:`patient_alerts` (open ones with the 988 line).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass

from kaptools.alerts import (
    Alert,
    AlertLevel,
    StoredAlert,
    alerts_html,
    alerts_text,
    highest_level,
)
from kaptools.protocol import Protocol, default_protocol
from kaptools.store import Store

__all__ = [
    "PatientAlerts",
    "acknowledge_alert",
    "patient_alerts",
    "raise_alerts",
    "sync_patient_alerts",
]


@dataclass(frozen=True, slots=True)
class PatientAlerts:
    """Every stored alert of one patient, open and acknowledged, oldest finding first."""

    patient_id: str
    alerts: tuple[StoredAlert, ...]

    @property
    def open(self) -> tuple[StoredAlert, ...]:
        return tuple(a for a in self.alerts if a.is_open)

    @property
    def acknowledged(self) -> tuple[StoredAlert, ...]:
        return tuple(a for a in self.alerts if not a.is_open)

    @property
    def level(self) -> AlertLevel | None:
        """The most urgent level among the open alerts."""
        return highest_level([a.alert for a in self.open])

    def between(self, start: dt.date, end: dt.date) -> tuple[StoredAlert, ...]:
        """Alerts whose finding falls in ``start``–``end`` (inclusive)."""
        return tuple(a for a in self.alerts if start <= a.effective_at.date() <= end)

    @property
    def summary(self) -> str:
        if not self.open:
            return f"{self.patient_id}: no open safety alerts ({len(self.alerts)} acknowledged)."
        return "\n".join(alerts_text(self.open, heading=f"{self.patient_id}: OPEN SAFETY ALERTS"))

    def text_lines(self) -> list[str]:
        """Open alerts with the crisis line, for text summaries; empty when none is open."""
        return alerts_text(self.open, heading="OPEN SAFETY ALERTS (until acknowledged)")

    def _repr_html_(self) -> str:
        if not self.open:
            return (
                f"<p class='kap-muted'>No open safety alerts "
                f"({len(self.acknowledged)} acknowledged).</p>"
            )
        return alerts_html(self.open, heading="Open safety alerts (until acknowledged)")


def patient_alerts(store: Store, patient_id: str) -> PatientAlerts:
    """The patient's stored alerts (read only; see :func:`sync_patient_alerts`)."""
    return PatientAlerts(patient_id, tuple(store.patient_alerts(patient_id)))


def raise_alerts(
    store: Store,
    patient_id: str,
    alerts: Iterable[Alert],
    *,
    source_kind: str,
    source_ref: str,
    who: str | None = None,
    effective_at: dt.date | dt.datetime | None = None,
) -> list[StoredAlert]:
    """Store each alert for the patient (idempotent per source and rule)."""
    return [
        store.raise_alert(
            patient_id,
            a,
            source_kind=source_kind,
            source_ref=source_ref,
            who=who,
            effective_at=effective_at,
        )
        for a in alerts
    ]


def _record_alerts(payload_alerts: object) -> list[Alert]:
    out = []
    for a in payload_alerts if isinstance(payload_alerts, list) else []:
        try:
            out.append(
                Alert(
                    rule_id=str(a["rule_id"]),
                    level=AlertLevel(a["level"]),
                    message=str(a["message"]),
                    action=str(a["action"]),
                    source=str(a["source"]),
                )
            )
        except (KeyError, TypeError, ValueError):
            continue  # a malformed stored alert cannot be rebuilt; the record still shows it
    return out


def sync_patient_alerts(
    store: Store, patient_id: str, *, who: str | None = None, protocol: Protocol | None = None
) -> PatientAlerts:
    """Store every alert the patient's records raise that is not stored yet; all alerts.

    Sources: assessments (suicide items, under ``protocol``), saved screenings (their
    C-SSRS and PHQ-9 alerts as saved) and dosing sessions (their urgent flags and C-SSRS findings,
    ``DosingSession.safety_alerts_under(protocol)``).
    Idempotent: an alert already stored for the same record and rule, open or
    acknowledged, is not raised again.
    """
    from kaptools.assessments import ASSESSMENT_KIND, assessments
    from kaptools.screening.persistence import SCREENING_KIND
    from kaptools.sessions import dosing_sessions
    from kaptools.sessions.storage import DOSING_SESSION_KIND

    protocol = protocol or default_protocol()
    store.get_patient(patient_id)
    for a in assessments(store, patient_id, protocol=protocol):
        raise_alerts(
            store,
            patient_id,
            a.result.alerts,
            source_kind=ASSESSMENT_KIND,
            source_ref=a.record_id,
            who=who,
            effective_at=a.administered_on,
        )
    for rec in store.latest_records(SCREENING_KIND, patient_id):
        raise_alerts(
            store,
            patient_id,
            _record_alerts(rec.payload.get("alerts")),
            source_kind=SCREENING_KIND,
            source_ref=rec.record_id,
            who=who,
            effective_at=rec.effective_at,
        )
    for saved in dosing_sessions(store, patient_id):
        raise_alerts(
            store,
            patient_id,
            saved.session.safety_alerts_under(protocol),
            source_kind=DOSING_SESSION_KIND,
            source_ref=saved.record_id,
            who=who,
            effective_at=saved.session.started_at or saved.session.session_date,
        )
    return patient_alerts(store, patient_id)


def acknowledge_alert(
    store: Store, alert_id: str, *, note: str, who: str | None = None
) -> StoredAlert:
    """Acknowledge an open alert with a written note, as the signed-in person (``who``,
    if given, must name them).

    Raises:
        IncompleteInputError: no note; nothing is saved.
        InvalidInputError: already acknowledged.
        NotFoundError: no such alert.
    """
    return store.acknowledge_alert(alert_id, who=who, note=note)
