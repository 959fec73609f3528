"""Baseline: the schema before migrations (patients, versioned records, audit log, alerts).

Revision ID: 0001
Revises:
"""

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "patients",
        sa.Column("patient_id", sa.String(40), primary_key=True),
        sa.Column("display_name", sa.String(200), nullable=False),
        sa.Column("birth_date", sa.Date, nullable=True),
        sa.Column("sex", sa.String(16), nullable=False),
        sa.Column("weight_kg", sa.Float, nullable=True),
        sa.Column("synthetic", sa.Boolean, nullable=False),
        sa.Column("created_at", sa.DateTime, nullable=False),
        sa.Column("created_by", sa.String(120), nullable=False),
    )
    op.create_table(
        "records",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("record_id", sa.String(36), nullable=False),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("kind", sa.String(40), nullable=False),
        sa.Column(
            "patient_id", sa.String(40), sa.ForeignKey("patients.patient_id"), nullable=False
        ),
        sa.Column("payload", sa.JSON, nullable=False),
        sa.Column("author", sa.String(120), nullable=False),
        sa.Column("created_at", sa.DateTime, nullable=False),
        sa.Column("effective_at", sa.DateTime, nullable=False),
        sa.Column("reason", sa.Text, nullable=True),
        sa.UniqueConstraint("record_id", "version", name="uq_record_version"),
    )
    op.create_index("ix_records_record_id", "records", ["record_id"])
    op.create_index("ix_records_patient_kind", "records", ["patient_id", "kind"])
    op.create_table(
        "audit_log",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("at", sa.DateTime, nullable=False),
        sa.Column("who", sa.String(120), nullable=False),
        sa.Column("action", sa.String(40), nullable=False),
        sa.Column("patient_id", sa.String(40), nullable=True),
        sa.Column("kind", sa.String(40), nullable=True),
        sa.Column("record_id", sa.String(36), nullable=True),
        sa.Column("version", sa.Integer, nullable=True),
        sa.Column("detail", sa.Text, nullable=False),
    )
    op.create_index("ix_audit_log_patient_id", "audit_log", ["patient_id"])
    op.create_table(
        "alerts",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("alert_id", sa.String(36), nullable=False, unique=True),
        sa.Column(
            "patient_id", sa.String(40), sa.ForeignKey("patients.patient_id"), nullable=False
        ),
        sa.Column("rule_id", sa.String(80), nullable=False),
        sa.Column("level", sa.String(16), nullable=False),
        sa.Column("message", sa.Text, nullable=False),
        sa.Column("action", sa.Text, nullable=False),
        sa.Column("source", sa.Text, nullable=False),
        sa.Column("source_kind", sa.String(40), nullable=False),
        sa.Column("source_ref", sa.String(120), nullable=False),
        sa.Column("effective_at", sa.DateTime, nullable=False),
        sa.Column("raised_at", sa.DateTime, nullable=False),
        sa.Column("raised_by", sa.String(120), nullable=False),
        sa.UniqueConstraint(
            "patient_id", "source_kind", "source_ref", "rule_id", name="uq_alert_source_rule"
        ),
    )
    op.create_index("ix_alerts_patient_id", "alerts", ["patient_id"])
    op.create_table(
        "alert_acknowledgements",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column(
            "alert_id", sa.String(36), sa.ForeignKey("alerts.alert_id"), nullable=False, unique=True
        ),
        sa.Column("at", sa.DateTime, nullable=False),
        sa.Column("who", sa.String(120), nullable=False),
        sa.Column("note", sa.Text, nullable=False),
    )


def downgrade() -> None:
    for table in ("alert_acknowledgements", "alerts", "audit_log", "records", "patients"):
        op.drop_table(table)
