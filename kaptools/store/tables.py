"""The store's tables (SQLAlchemy models): patients, record versions, the audit log,
safety alerts and their acknowledgements.

These rows are the store's own; callers read :class:`~kaptools.store.Patient`,
:class:`~kaptools.store.StoredRecord` and :class:`~kaptools.alerts.StoredAlert` values.
``kaptools.backup`` and ``kaptools.migrations`` read :data:`Base`'s metadata.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from kaptools.identity import DEFAULT_CLINIC

__all__ = ["AlertAckRow", "AlertRow", "AuditRow", "Base", "PatientRow", "RecordRow", "utcnow"]


def utcnow() -> dt.datetime:
    """Now, in UTC, without a time zone (how the store keeps every time)."""
    return dt.datetime.now(dt.UTC).replace(tzinfo=None)


class Base(DeclarativeBase):
    pass


class PatientRow(Base):
    __tablename__ = "patients"
    patient_id: Mapped[str] = mapped_column(sa.String(40), primary_key=True)
    display_name: Mapped[str] = mapped_column(sa.String(200))
    birth_date: Mapped[dt.date | None] = mapped_column(sa.Date, nullable=True)
    sex: Mapped[str] = mapped_column(sa.String(16))
    weight_kg: Mapped[float | None] = mapped_column(sa.Float, nullable=True)
    synthetic: Mapped[bool] = mapped_column(sa.Boolean, default=True)
    created_at: Mapped[dt.datetime] = mapped_column(sa.DateTime)
    created_by: Mapped[str] = mapped_column(sa.String(120))
    clinic: Mapped[str] = mapped_column(
        sa.String(40), index=True, server_default=sa.text(f"'{DEFAULT_CLINIC}'")
    )


class RecordRow(Base):
    __tablename__ = "records"
    __table_args__ = (
        sa.UniqueConstraint("record_id", "version", name="uq_record_version"),
        sa.Index("ix_records_patient_kind", "patient_id", "kind"),
    )
    id: Mapped[int] = mapped_column(sa.Integer, primary_key=True, autoincrement=True)
    record_id: Mapped[str] = mapped_column(sa.String(36), index=True)
    version: Mapped[int] = mapped_column(sa.Integer)
    kind: Mapped[str] = mapped_column(sa.String(40))
    patient_id: Mapped[str] = mapped_column(sa.ForeignKey("patients.patient_id"))
    payload: Mapped[dict[str, Any]] = mapped_column(sa.JSON)
    author: Mapped[str] = mapped_column(sa.String(120))
    created_at: Mapped[dt.datetime] = mapped_column(sa.DateTime)
    effective_at: Mapped[dt.datetime] = mapped_column(sa.DateTime)
    reason: Mapped[str | None] = mapped_column(sa.Text, nullable=True)


class AuditRow(Base):
    __tablename__ = "audit_log"
    id: Mapped[int] = mapped_column(sa.Integer, primary_key=True, autoincrement=True)
    at: Mapped[dt.datetime] = mapped_column(sa.DateTime)
    who: Mapped[str] = mapped_column(sa.String(120))
    action: Mapped[str] = mapped_column(sa.String(40))
    patient_id: Mapped[str | None] = mapped_column(sa.String(40), nullable=True, index=True)
    kind: Mapped[str | None] = mapped_column(sa.String(40), nullable=True)
    record_id: Mapped[str | None] = mapped_column(sa.String(36), nullable=True)
    version: Mapped[int | None] = mapped_column(sa.Integer, nullable=True)
    detail: Mapped[str] = mapped_column(sa.Text, default="")
    # tamper evidence: each row carries the previous row's hash and its own
    prev_hash: Mapped[str | None] = mapped_column(sa.String(64), nullable=True)
    row_hash: Mapped[str | None] = mapped_column(sa.String(64), nullable=True)


class AlertRow(Base):
    """A stored safety alert. Never updated or deleted; acknowledgements are their own rows."""

    __tablename__ = "alerts"
    __table_args__ = (
        sa.UniqueConstraint(
            "patient_id", "source_kind", "source_ref", "rule_id", name="uq_alert_source_rule"
        ),
    )
    id: Mapped[int] = mapped_column(sa.Integer, primary_key=True, autoincrement=True)
    alert_id: Mapped[str] = mapped_column(sa.String(36), unique=True)
    patient_id: Mapped[str] = mapped_column(sa.ForeignKey("patients.patient_id"), index=True)
    rule_id: Mapped[str] = mapped_column(sa.String(80))
    level: Mapped[str] = mapped_column(sa.String(16))
    message: Mapped[str] = mapped_column(sa.Text)
    action: Mapped[str] = mapped_column(sa.Text)
    source: Mapped[str] = mapped_column(sa.Text)
    source_kind: Mapped[str] = mapped_column(sa.String(40))
    source_ref: Mapped[str] = mapped_column(sa.String(120))
    effective_at: Mapped[dt.datetime] = mapped_column(sa.DateTime)
    raised_at: Mapped[dt.datetime] = mapped_column(sa.DateTime)
    raised_by: Mapped[str] = mapped_column(sa.String(120))
    crisis_line: Mapped[str | None] = mapped_column(sa.Text, nullable=True)
    """The alert's own crisis line; None (rows before migration 0003) means the 988 line."""


class AlertAckRow(Base):
    __tablename__ = "alert_acknowledgements"
    id: Mapped[int] = mapped_column(sa.Integer, primary_key=True, autoincrement=True)
    alert_id: Mapped[str] = mapped_column(sa.ForeignKey("alerts.alert_id"), unique=True)
    at: Mapped[dt.datetime] = mapped_column(sa.DateTime)
    who: Mapped[str] = mapped_column(sa.String(120))
    note: Mapped[str] = mapped_column(sa.Text)
