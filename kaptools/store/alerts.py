"""Stored safety alerts: raised from a record (idempotently, audit-logged), read per
patient, and acknowledged with a written note. An alert row is never changed or
deleted; its acknowledgement is a row of its own.
"""

from __future__ import annotations

import datetime as dt
import uuid

import sqlalchemy as sa
from sqlalchemy.orm import Session

from kaptools.alerts import Alert, StoredAlert
from kaptools.errors import IncompleteInputError, InvalidInputError, NotFoundError, StoreError
from kaptools.identity import Role
from kaptools.store.base import StoreBase
from kaptools.store.checks import ACK_NOTE_MAX_CHARS, as_datetime, check_kind, require_text
from kaptools.store.tables import AlertAckRow, AlertRow, AuditRow, PatientRow, utcnow
from kaptools.store.values import stored_alert_of

__all__ = ["AlertsMixin", "raise_in"]


def _same_alert(patient_id: str, source_kind: str, source_ref: str, rule_id: str) -> sa.Select:
    return sa.select(AlertRow).where(
        AlertRow.patient_id == patient_id,
        AlertRow.source_kind == source_kind,
        AlertRow.source_ref == source_ref,
        AlertRow.rule_id == rule_id,
    )


def raise_in(
    s: Session,
    patient_id: str,
    alert: Alert,
    *,
    source_kind: str,
    source_ref: str,
    who: str,
    effective_at: dt.datetime,
) -> str:
    """Store ``alert`` (and its audit row) in the open write session ``s``, unless the
    same source and rule already raised it; the alert's id either way."""
    existing = s.scalars(_same_alert(patient_id, source_kind, source_ref, alert.rule_id)).first()
    if existing is not None:
        return existing.alert_id
    now = utcnow()
    alert_id = str(uuid.uuid4())
    s.add(
        AlertRow(
            alert_id=alert_id,
            patient_id=patient_id,
            rule_id=alert.rule_id[:80],
            level=alert.level.value,
            message=alert.message,
            action=alert.action,
            source=alert.source,
            source_kind=source_kind,
            source_ref=source_ref[:120],
            effective_at=effective_at,
            raised_at=now,
            raised_by=who,
            crisis_line=alert.crisis_line,
        )
    )
    s.flush()  # the alert row exists before the audit row names it
    s.add(
        AuditRow(
            at=now,
            who=who,
            action="raise_alert",
            patient_id=patient_id,
            kind=source_kind,
            record_id=alert_id,
            detail=f"{alert.level.value} {alert.rule_id} from {source_kind} {source_ref}",
        )
    )
    return alert_id


class AlertsMixin(StoreBase):
    """Raising, reading and acknowledging a patient's stored safety alerts."""

    def raise_alert(
        self,
        patient_id: str,
        alert: Alert,
        *,
        source_kind: str,
        source_ref: str,
        who: str | None = None,
        effective_at: dt.date | dt.datetime | None = None,
    ) -> StoredAlert:
        """Store ``alert`` for the patient, raised from ``source_kind``/``source_ref``.

        Idempotent: the same source and rule never open a second alert (the stored one,
        open or acknowledged, is returned). Audit-logged in the same transaction, in the
        signed-in person's name (``who``, if given, must name them).
        """
        who = self.author_for(who, "who")
        if not isinstance(alert, Alert):
            raise InvalidInputError(
                f"alert must be a kaptools.alerts.Alert; got {type(alert).__name__}."
            )
        check_kind(source_kind, "source_kind")
        source_ref = require_text(source_ref, "source_ref")
        when = as_datetime(effective_at, "effective_at")
        try:
            with self._tx() as s:
                self._require_patient(s, "raise alerts", patient_id)
                if s.get(PatientRow, patient_id) is None:
                    raise NotFoundError(
                        f"No patient with id {patient_id!r}; add the patient first."
                    )
                alert_id = raise_in(
                    s,
                    patient_id,
                    alert,
                    source_kind=source_kind,
                    source_ref=source_ref,
                    who=who,
                    effective_at=when,
                )
        except StoreError:
            # a concurrent writer stored the same alert first: that one stands
            found = self._find_alert(patient_id, source_kind, source_ref, alert.rule_id)
            if found is None:
                raise
            return found
        return self.get_alert(alert_id)

    def _find_alert(
        self, patient_id: str, source_kind: str, source_ref: str, rule_id: str
    ) -> StoredAlert | None:
        with self._sessions() as s:
            row = s.scalars(_same_alert(patient_id, source_kind, source_ref, rule_id)).first()
            return None if row is None else self._stored_alert(s, row)

    def acknowledge_alert(self, alert_id: str, *, who: str | None = None, note: str) -> StoredAlert:
        """Acknowledge an open alert with a written note; audit-logged in the same transaction.

        The alert row is never changed or deleted: the acknowledgement is its own record.

        Raises:
            IncompleteInputError: no note (or no ``who``); nothing is saved.
            InvalidInputError: the alert is already acknowledged (says by whom and when).
            NotFoundError: no such alert.
            AccessDeniedError: ``who`` is not the signed-in person, or the patient is not
                theirs to see.
        """
        who = self.author_for(who, "who")
        if not isinstance(note, str) or not note.strip():
            raise IncompleteInputError(
                f"note: acknowledging a safety alert needs a written note (rule: every "
                f"acknowledgement says why); got {note!r}. Write what was done, e.g. "
                "'C-SSRS completed, low risk, safety plan reviewed'. Nothing was saved.",
                missing=["note"],
            )
        note = note.strip()
        if len(note) > ACK_NOTE_MAX_CHARS:
            raise InvalidInputError(
                f"note is {len(note)} characters; at most {ACK_NOTE_MAX_CHARS} are kept. "
                "Shorten it. Nothing was saved."
            )
        with self._tx() as s:
            self._require("acknowledge alerts", (Role.CLINICIAN, Role.TRAINER))
            row = self._alert_row(s, alert_id)
            self._require_patient(s, "acknowledge alerts", row.patient_id)
            done = s.scalars(sa.select(AlertAckRow).where(AlertAckRow.alert_id == alert_id)).first()
            if done is not None:
                raise InvalidInputError(
                    f"alert {alert_id}: already acknowledged {done.at:%Y-%m-%d %H:%M} UTC by "
                    f"{done.who} ({done.note!r}); an acknowledgement is kept as written. "
                    "Nothing was saved."
                )
            now = utcnow()
            s.add(AlertAckRow(alert_id=alert_id, at=now, who=who, note=note))
            s.add(
                AuditRow(
                    at=now,
                    who=who,
                    action="acknowledge_alert",
                    patient_id=row.patient_id,
                    kind=row.source_kind,
                    record_id=alert_id,
                    detail=note[:2000],
                )
            )
        return self.get_alert(alert_id)

    @staticmethod
    def _alert_row(s: Session, alert_id: object) -> AlertRow:
        row = (
            s.scalars(sa.select(AlertRow).where(AlertRow.alert_id == alert_id)).first()
            if isinstance(alert_id, str)
            else None
        )
        if row is None:
            raise NotFoundError(f"No alert {alert_id!r}. List a patient's alerts to find its id.")
        return row

    def get_alert(self, alert_id: str) -> StoredAlert:
        with self._sessions() as s:
            row = self._alert_row(s, alert_id)
            self._require_patient(s, "read patients' alerts", row.patient_id)
            return self._stored_alert(s, row)

    def patient_alerts(self, patient_id: str, *, open_only: bool = False) -> list[StoredAlert]:
        """A patient's stored alerts, oldest finding first (open ones only, if asked)."""
        with self._sessions() as s:
            self._require_patient(s, "read patients' alerts", patient_id)
            q = (
                sa.select(AlertRow, AlertAckRow)
                .outerjoin(AlertAckRow, AlertAckRow.alert_id == AlertRow.alert_id)
                .where(AlertRow.patient_id == patient_id)
                .order_by(AlertRow.effective_at, AlertRow.id)
            )
            if open_only:
                q = q.where(AlertAckRow.id.is_(None))
            return [stored_alert_of(a, ack) for a, ack in s.execute(q)]

    @staticmethod
    def _stored_alert(s: Session, row: AlertRow) -> StoredAlert:
        ack = s.scalars(sa.select(AlertAckRow).where(AlertAckRow.alert_id == row.alert_id)).first()
        return stored_alert_of(row, ack)
