"""Tamper-evident, append-only audit log.

Each audit row gets the previous row's hash and its own (existing rows are chained in
id order), and UPDATE / DELETE (and TRUNCATE on PostgreSQL) of audit rows is refused by
triggers, for every database role including the owner.

Revision ID: 0002
Revises: 0001
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

_PG_FUNCTION = """
CREATE OR REPLACE FUNCTION kaptools_audit_append_only() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'audit_log is append-only: % refused', TG_OP
        USING ERRCODE = 'insufficient_privilege';
END
$$
"""


def upgrade() -> None:
    from kaptools.store.audit import AUDIT_GENESIS_HASH, audit_row_hash

    with op.batch_alter_table("audit_log") as batch:
        batch.add_column(sa.Column("prev_hash", sa.String(64), nullable=True))
        batch.add_column(sa.Column("row_hash", sa.String(64), nullable=True))
    conn = op.get_bind()
    audit = sa.table(
        "audit_log",
        *(
            sa.column(c)
            for c in (
                "id",
                "at",
                "who",
                "action",
                "patient_id",
                "kind",
                "record_id",
                "version",
                "detail",
                "prev_hash",
                "row_hash",
            )
        ),
    )
    prev = AUDIT_GENESIS_HASH
    rows = conn.execute(sa.select(audit).order_by(audit.c.id)).mappings().all()
    for r in rows:
        at = r["at"]
        if isinstance(at, str):  # SQLite hands back text through a lightweight table
            import datetime as dt

            at = dt.datetime.fromisoformat(at)
        h = audit_row_hash(
            prev,
            at,
            r["who"],
            r["action"],
            r["patient_id"],
            r["kind"],
            r["record_id"],
            r["version"],
            r["detail"],
        )
        conn.execute(audit.update().where(audit.c.id == r["id"]).values(prev_hash=prev, row_hash=h))
        prev = h
    if conn.dialect.name == "postgresql":
        op.execute(_PG_FUNCTION)
        op.execute(
            "CREATE TRIGGER audit_log_append_only BEFORE UPDATE OR DELETE ON audit_log "
            "FOR EACH ROW EXECUTE FUNCTION kaptools_audit_append_only()"
        )
        op.execute(
            "CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON audit_log "
            "FOR EACH STATEMENT EXECUTE FUNCTION kaptools_audit_append_only()"
        )
    else:
        for event in ("UPDATE", "DELETE"):
            op.execute(
                f"CREATE TRIGGER audit_log_no_{event.lower()} BEFORE {event} ON audit_log "
                f"BEGIN SELECT RAISE(ABORT, 'audit_log is append-only: {event} refused'); END"
            )


def downgrade() -> None:
    conn = op.get_bind()
    if conn.dialect.name == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS audit_log_append_only ON audit_log")
        op.execute("DROP TRIGGER IF EXISTS audit_log_no_truncate ON audit_log")
        op.execute("DROP FUNCTION IF EXISTS kaptools_audit_append_only()")
    else:
        op.execute("DROP TRIGGER IF EXISTS audit_log_no_update")
        op.execute("DROP TRIGGER IF EXISTS audit_log_no_delete")
    with op.batch_alter_table("audit_log") as batch:
        batch.drop_column("row_hash")
        batch.drop_column("prev_hash")
