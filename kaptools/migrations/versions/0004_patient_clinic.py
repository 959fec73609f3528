"""Each patient belongs to a clinic; clinicians see their own clinic's patients only.

Patients stored before this revision keep every row and go to the clinic ``default``
(``kaptools.identity.DEFAULT_CLINIC``: the clinic of `make run`'s single user, so a
single-clinic install sees exactly what it saw before). A clinic that runs a shared
install with several clinics moves its patients afterwards with
``UPDATE patients SET clinic = '<code>' WHERE ...`` (the column is a short code).

Revision ID: 0004
Revises: 0003
"""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

#: Where existing patients go (kaptools.identity.DEFAULT_CLINIC, copied: a migration
#: must not change when the code does).
DEFAULT_CLINIC = "default"


def upgrade() -> None:
    # A plain ADD COLUMN (no table copy: SQLite would have to drop the patients table,
    # which records and alerts reference): every existing row gets the default.
    op.add_column(
        "patients",
        sa.Column(
            "clinic",
            sa.String(40),
            nullable=False,
            server_default=sa.text(f"'{DEFAULT_CLINIC}'"),
        ),
    )
    op.create_index("ix_patients_clinic", "patients", ["clinic"])


def downgrade() -> None:
    op.drop_index("ix_patients_clinic", "patients")
    with op.batch_alter_table("patients") as batch:
        batch.drop_column("clinic")
