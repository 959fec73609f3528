"""Versioned clinical records: saving a record or a correction (a new version with a
written reason, based on the newest version), with its alerts and companion records in
one transaction, and reading the newest versions and a record's history.

Nothing is ever overwritten: a correction is version n + 1 of the same ``record_id``.
"""

from __future__ import annotations

import datetime as dt
import json
import uuid
from collections.abc import Callable, Iterable, Mapping
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from kaptools.alerts import Alert
from kaptools.errors import IncompleteInputError, InvalidInputError, NotFoundError
from kaptools.identity import Role
from kaptools.store.alerts import raise_in
from kaptools.store.base import StoreBase
from kaptools.store.checks import (
    as_datetime,
    check_based_on,
    check_kind,
    json_default,
    storable_payload,
)
from kaptools.store.tables import AuditRow, PatientRow, RecordRow, utcnow
from kaptools.store.values import Companion, StoredRecord, deidentified_record, record_of

__all__ = ["RecordsMixin"]


def _audit_row(row: RecordRow, action: str, detail: str | None) -> AuditRow:
    """The audit row of a record version's write."""
    return AuditRow(
        at=row.created_at,
        who=row.author,
        action=action,
        patient_id=row.patient_id,
        kind=row.kind,
        record_id=row.record_id,
        version=row.version,
        detail=(detail or "")[:2000],
    )


def _next_version(
    s: Session,
    kind: str,
    patient_id: str,
    record_id: str | None,
    reason: str | None,
    based_on_version: int | None,
    effective_at: dt.date | dt.datetime | None,
) -> tuple[str, int, str, dt.datetime, str | None]:
    """(record id, version, audit action, effective time, reason) of the version to save:
    version 1 of a new record, or the correction of ``record_id``'s newest version."""
    if record_id is None:
        if reason is not None and not str(reason).strip():
            reason = None
        return str(uuid.uuid4()), 1, "create", as_datetime(effective_at, "effective_at"), reason
    prev = s.scalars(
        sa.select(RecordRow)
        .where(RecordRow.record_id == record_id)
        .order_by(RecordRow.version.desc())
        .limit(1)
    ).first()
    if prev is None:
        raise NotFoundError(f"No record {record_id!r} to correct.")
    if prev.patient_id != patient_id or prev.kind != kind:
        raise InvalidInputError(
            f"Record {record_id!r} is a {prev.kind!r} of patient {prev.patient_id!r}; "
            f"a correction must keep the same kind and patient."
        )
    if not isinstance(reason, str) or not reason.strip():
        raise IncompleteInputError(
            "A correction needs a written reason: pass reason='...'.",
            missing=["reason"],
        )
    check_based_on(record_id, based_on_version, prev)
    # A correction keeps the record's date unless a new one is given.
    when = prev.effective_at if effective_at is None else as_datetime(effective_at, "effective_at")
    return record_id, prev.version + 1, "correct", when, reason


class RecordsMixin(StoreBase):
    """Saving and reading versioned clinical records."""

    def save_record(
        self,
        kind: str,
        patient_id: str,
        payload: Mapping[str, Any],
        *,
        author: str | None = None,
        effective_at: dt.date | dt.datetime | None = None,
        record_id: str | None = None,
        reason: str | None = None,
        alerts: tuple[Alert, ...] | list[Alert] = (),
        based_on_version: int | None = None,
        companions: Callable[[str, int], Iterable[Companion]] | None = None,
    ) -> StoredRecord:
        """Save a new record, or (with ``record_id``) a new version of one.

        ``companions`` (given the saved record's id and version) returns new records that
        belong with it (e.g. a dose-hold override naming the session version it covers):
        they are saved, each with its audit row, in the same transaction: all or nothing.

        A correction needs a written ``reason`` and ``based_on_version``, the version the
        correction started from: when someone saved a newer version meanwhile, the
        correction is refused with :class:`~kaptools.errors.StaleVersionError` naming
        both versions, and nothing is saved. Nothing is ever overwritten.
        ``alerts`` (the record's safety alerts) are stored for the patient in the same
        transaction, raised from this record (see :meth:`raise_alert`).
        The signed-in person is the author (``author``, if given, must name them).
        """
        check_kind(kind)
        author = self.author_for(author)
        clean = storable_payload(payload, reason)
        now = utcnow()
        with self._tx() as s:
            self._require_patient(s, "write clinical records", patient_id)
            if s.get(PatientRow, patient_id) is None:
                raise NotFoundError(f"No patient with id {patient_id!r}; add the patient first.")
            rid, version, action, when, reason = _next_version(
                s, kind, patient_id, record_id, reason, based_on_version, effective_at
            )
            row = RecordRow(
                record_id=rid,
                version=version,
                kind=kind,
                patient_id=patient_id,
                payload=clean,
                author=author,
                created_at=now,
                effective_at=when,
                reason=reason.strip() if isinstance(reason, str) else None,
            )
            s.add(row)
            s.add(_audit_row(row, action, reason))
            for alert in alerts:
                raise_in(
                    s,
                    patient_id,
                    alert,
                    source_kind=kind,
                    source_ref=rid,
                    who=author,
                    effective_at=when,
                )
            for extra in companions(rid, version) if companions is not None else ():
                self._add_companion(s, patient_id, author, now, extra)
        return record_of(row)

    @staticmethod
    def _add_companion(
        s: Session, patient_id: str, author: str, now: dt.datetime, extra: Companion
    ) -> None:
        check_kind(extra.kind)
        try:
            clean = json.loads(
                json.dumps(dict(extra.payload), default=json_default, allow_nan=False)
            )
        except (TypeError, ValueError) as exc:
            raise InvalidInputError(f"payload cannot be stored as JSON: {exc}.") from None
        row = RecordRow(
            record_id=str(uuid.uuid4()),
            version=1,
            kind=extra.kind,
            patient_id=patient_id,
            payload=clean,
            author=author,
            created_at=now,
            effective_at=as_datetime(extra.effective_at, "effective_at"),
            reason=extra.reason.strip() if extra.reason else None,
        )
        s.add(row)
        s.add(_audit_row(row, "create", extra.reason))

    def latest_records(self, kind: str, patient_id: str) -> list[StoredRecord]:
        """The newest version of each ``kind`` record of a patient, by effective time."""
        with self._sessions() as s:
            self._require_patient(s, "read patients' records", patient_id)
            latest = (
                sa.select(RecordRow.record_id, sa.func.max(RecordRow.version).label("v"))
                .where(RecordRow.kind == kind, RecordRow.patient_id == patient_id)
                .group_by(RecordRow.record_id)
                .subquery()
            )
            rows = s.scalars(
                sa.select(RecordRow)
                .join(
                    latest,
                    sa.and_(
                        RecordRow.record_id == latest.c.record_id, RecordRow.version == latest.c.v
                    ),
                )
                .order_by(RecordRow.effective_at, RecordRow.id)
            )
            return [record_of(r) for r in rows]

    def latest_records_of_patients(
        self, kind: str, patient_ids: Iterable[str] | None = None
    ) -> list[StoredRecord]:
        """The newest version of each ``kind`` record of many patients (every patient the
        acting role may see when ``patient_ids`` is None), in one query; ordered by
        patient, then effective time.

        Clinicians get their own clinic's patients, trainers synthetic ones (a listed
        patient outside that is refused); researchers get the cohort de-identified: free
        text (notes, reasons, descriptions) removed, see :func:`deidentified_payload`.
        Admins make no clinical reads.
        """
        who = self._require(
            "read patients' records", (Role.CLINICIAN, Role.TRAINER, Role.RESEARCHER)
        )
        with self._sessions() as s:
            latest = sa.select(RecordRow.record_id, sa.func.max(RecordRow.version).label("v"))
            latest = latest.where(RecordRow.kind == kind)
            if who.role is not Role.RESEARCHER:
                for pid in sorted(set(patient_ids)) if patient_ids is not None else ():
                    self._require_patient(s, "read patients' records", pid)
                visible = self._visible(sa.select(PatientRow.patient_id))
                latest = latest.where(RecordRow.patient_id.in_(visible.scalar_subquery()))
            if patient_ids is not None:
                ids = sorted(set(patient_ids))
                if not ids:
                    return []
                latest = latest.where(RecordRow.patient_id.in_(ids))
            sub = latest.group_by(RecordRow.record_id).subquery()
            rows = s.scalars(
                sa.select(RecordRow)
                .join(
                    sub,
                    sa.and_(RecordRow.record_id == sub.c.record_id, RecordRow.version == sub.c.v),
                )
                .order_by(RecordRow.patient_id, RecordRow.effective_at, RecordRow.id)
            )
            if who.role is Role.RESEARCHER:
                return [deidentified_record(record_of(r)) for r in rows]
            return [record_of(r) for r in rows]

    def record_history(self, record_id: str) -> list[StoredRecord]:
        with self._sessions() as s:
            rows = list(
                s.scalars(
                    sa.select(RecordRow)
                    .where(RecordRow.record_id == record_id)
                    .order_by(RecordRow.version)
                )
            )
            self._require_patient(s, "read patients' records", rows[0].patient_id if rows else None)
            if not rows:
                raise NotFoundError(f"No record {record_id!r}.")
            return [record_of(r) for r in rows]
