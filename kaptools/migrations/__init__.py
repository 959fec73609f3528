"""Schema migrations (Alembic) for SQLite and PostgreSQL.

:func:`ensure_schema` is what :class:`kaptools.store.Store` runs on opening a database:
an empty database gets every migration, an older one is upgraded to :data:`HEAD`, a
database made before migrations existed (tables but no ``alembic_version``) is taken
as revision ``0001`` and upgraded. Everything runs in one write transaction under the
store's write lock, so two processes opening a new database at once do not collide.
Tables that a newer kaptools module declares without a migration yet are then created
(additive only).

Revisions live in ``versions/``; ``alembic`` commands work with
``-c kaptools/migrations/alembic.ini`` and ``-x url=...``.
"""

from __future__ import annotations

from pathlib import Path

import sqlalchemy as sa

__all__ = ["BASELINE", "HEAD", "ensure_schema", "migrate", "schema_revision"]

HERE = Path(__file__).resolve().parent
#: The schema as it was before migrations existed.
BASELINE = "0001"
#: The newest revision.
HEAD = "0004"


def _config(connection: sa.Connection):  # -> alembic.config.Config
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(HERE))
    cfg.attributes["connection"] = connection
    return cfg


def schema_revision(connection: sa.Connection) -> str | None:
    """The database's Alembic revision, None when it has none."""
    if not sa.inspect(connection).has_table("alembic_version"):
        return None
    return connection.execute(sa.text("SELECT version_num FROM alembic_version")).scalar()


def migrate(connection: sa.Connection, revision: str = "head") -> None:
    """Upgrade (inside the caller's transaction) to ``revision``."""
    from alembic import command

    insp = sa.inspect(connection)
    if not insp.has_table("alembic_version") and insp.has_table("audit_log"):
        command.stamp(_config(connection), BASELINE)  # made by create_all before 0001
    command.upgrade(_config(connection), revision)


def ensure_schema(engine: sa.Engine, metadata: sa.MetaData) -> None:
    """Bring the database to HEAD and create any table the models add beyond it."""
    with engine.connect() as conn:
        current = schema_revision(conn)
        missing = [t for t in metadata.sorted_tables if not sa.inspect(conn).has_table(t.name)]
        conn.rollback()
    if current == HEAD and not missing:
        return
    with engine.connect().execution_options(kaptools_write=True) as conn, conn.begin():
        if engine.dialect.name == "postgresql":
            from kaptools.store.connection import PG_WRITE_LOCK

            conn.execute(sa.text(f"SELECT pg_advisory_xact_lock({PG_WRITE_LOCK})"))
        if schema_revision(conn) != HEAD:
            migrate(conn)
        metadata.create_all(conn, checkfirst=True)
