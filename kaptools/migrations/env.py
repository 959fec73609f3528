"""Alembic environment: runs on the connection kaptools hands over, or on -x url=..."""

from __future__ import annotations

import sqlalchemy as sa
from alembic import context

config = context.config
connection = config.attributes.get("connection")


def _run(conn: sa.Connection) -> None:
    context.configure(connection=conn, target_metadata=None, render_as_batch=True)
    with context.begin_transaction():
        context.run_migrations()


if connection is not None:
    _run(connection)
else:
    url = context.get_x_argument(as_dictionary=True).get("url")
    if not url:
        from kaptools.config import database_url

        url = database_url().render_as_string(hide_password=False)
    engine = sa.create_engine(url)
    with engine.begin() as conn:
        _run(conn)
