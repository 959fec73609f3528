"""The audit log's hash chain: every audit row carries the previous row's hash and its
own, so an edited, deleted or inserted row is found by :func:`verify_audit_chain`.

This module imports no other part of the store but its tables, so the migrations (0002
chains the rows that existed before the chain) can use it without an import circle.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from kaptools.store.tables import AuditRow

__all__ = [
    "AUDIT_GENESIS_HASH",
    "DEMO_DATABASE_ACTION",
    "AuditEntry",
    "AuditVerification",
    "audit_row_hash",
    "chain_audit_rows",
    "verify_audit_chain",
]

#: The action of the audit row that marks a database as a synthetic demo / training
#: database (the first row it ever gets; see :meth:`Store.mark_demo_database`).
DEMO_DATABASE_ACTION = "mark_demo_database"

#: The ``prev_hash`` of the first audit row.
AUDIT_GENESIS_HASH = "0" * 64


def audit_row_hash(
    prev_hash: str,
    at: dt.datetime,
    who: str,
    action: str,
    patient_id: str | None,
    kind: str | None,
    record_id: str | None,
    version: int | None,
    detail: str | None,
) -> str:
    """SHA-256 of an audit row's content chained to the previous row's hash."""
    content = [
        prev_hash,
        at.isoformat(timespec="microseconds"),
        who,
        action,
        patient_id,
        kind,
        record_id,
        version,
        detail or "",
    ]
    data = json.dumps(content, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(data.encode("utf-8")).hexdigest()


def _row_hash(prev: str, row: AuditRow) -> str:
    return audit_row_hash(
        prev,
        row.at,
        row.who,
        row.action,
        row.patient_id,
        row.kind,
        row.record_id,
        row.version,
        row.detail,
    )


@dataclass(frozen=True, slots=True)
class AuditVerification:
    """The result of :meth:`Store.verify_audit`."""

    ok: bool
    rows_checked: int
    head_hash: str  # hash of the last good row: write it down to detect a cut-off tail
    bad_row_id: int | None
    problem: str | None

    @property
    def summary(self) -> str:
        if self.ok:
            return (
                f"Audit log intact: {self.rows_checked} rows, hash chain verified "
                f"(head {self.head_hash})."
            )
        return (
            f"AUDIT LOG TAMPERED: row {self.bad_row_id}: {self.problem}. "
            f"{self.rows_checked} rows before it verified."
        )


@dataclass(frozen=True, slots=True)
class AuditEntry:
    at: dt.datetime
    who: str
    action: str
    patient_id: str | None
    kind: str | None
    record_id: str | None
    version: int | None
    detail: str


def chain_audit_rows(session: Session, _context: Any, _instances: Any) -> None:
    """Give each new audit row the previous row's hash and its own (before it is written);
    a ``before_flush`` listener of the store's sessions."""
    new = [o for o in session.new if isinstance(o, AuditRow)]
    if not new:
        return
    new.sort(key=lambda o: sa.inspect(o).insert_order or 0)
    with session.no_autoflush:
        prev = session.execute(
            sa.select(AuditRow.row_hash).order_by(AuditRow.id.desc()).limit(1)
        ).scalar()
    prev = prev or AUDIT_GENESIS_HASH
    for row in new:
        if row.detail is None:
            row.detail = ""
        row.prev_hash = prev
        row.row_hash = _row_hash(prev, row)
        prev = row.row_hash


def verify_audit_chain(s: Session) -> AuditVerification:
    """Recompute the audit log's hash chain; report the first row that does not fit.

    An edited row no longer matches its hash; a deleted or inserted row breaks the
    link to the next. Rows are read in id order, a batch at a time.
    """
    prev = AUDIT_GENESIS_HASH
    count = 0
    last_id = 0
    while True:
        rows = list(
            s.scalars(
                sa.select(AuditRow).where(AuditRow.id > last_id).order_by(AuditRow.id).limit(5000)
            )
        )
        if not rows:
            break
        for r in rows:
            expected = _row_hash(prev, r)
            problem = None
            if r.prev_hash != prev:
                problem = (
                    "its link to the previous row is broken (a row before it was "
                    "deleted, inserted or changed)"
                )
            elif r.row_hash != expected:
                problem = "its content no longer matches its hash (the row was changed)"
            if problem:
                return AuditVerification(False, count, prev, r.id, problem)
            prev = expected
            count += 1
            last_id = r.id
        s.expunge_all()
    return AuditVerification(True, count, prev, None, None)
