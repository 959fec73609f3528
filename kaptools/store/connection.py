"""The database connection: the engine, SQLite's file, pragmas and write lock, and
PostgreSQL's advisory write lock.

Writes are serialised (the audit chain needs the previous row): on SQLite a write
transaction starts with ``BEGIN IMMEDIATE``; on PostgreSQL it takes the transaction-level
advisory lock :data:`PG_WRITE_LOCK` (the migrations take the same lock).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session
from sqlalchemy.pool import StaticPool

__all__ = ["PG_WRITE_LOCK", "SQLITE_BUSY_TIMEOUT_S", "WRITE_OPTION", "Joined", "create_engine"]

#: How long a writer waits for another's lock before giving up (seconds).
SQLITE_BUSY_TIMEOUT_S = 30
#: The execution option that marks a write transaction's connection.
WRITE_OPTION = "kaptools_write"
#: One PostgreSQL advisory lock for every kaptools write (any constant).
PG_WRITE_LOCK = 726_351_401


def create_engine(url: sa.URL, *, echo: bool = False) -> sa.Engine:
    """The engine for ``url``; a SQLite file is created readable by its owner only."""
    kwargs: dict[str, Any] = {"echo": echo, "future": True}
    if url.get_backend_name() == "sqlite":
        db = url.database
        if db and db != ":memory:":
            _owner_only_file(Path(db).expanduser())
        else:
            kwargs["poolclass"] = StaticPool
        # the driver waits this long for a lock too (the busy timeout below is SQLite's)
        kwargs["connect_args"] = {"check_same_thread": False, "timeout": SQLITE_BUSY_TIMEOUT_S}
    engine = sa.create_engine(url, **kwargs)
    if url.get_backend_name() == "sqlite":
        sa.event.listen(engine, "connect", _sqlite_pragmas)
        sa.event.listen(engine, "begin", _sqlite_begin)
    return engine


class Joined:
    """The open transaction's session, used in a ``with`` block that must not close it."""

    def __init__(self, session: Session):
        self._session = session

    def __enter__(self) -> Session:
        return self._session

    def __exit__(self, *exc: object) -> None:
        return None


def _owner_only_file(db: Path) -> None:
    """Create the SQLite file (and its folder) readable by their owner only."""
    folder = db.parent
    if not folder.exists():
        folder.mkdir(mode=0o700, parents=True, exist_ok=True)
        os.chmod(folder, 0o700)  # mkdir's mode is reduced by the umask, never widened
    if not db.exists():
        fd = os.open(db, os.O_CREAT | os.O_WRONLY, 0o600)
        os.close(fd)
        os.chmod(db, 0o600)


def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
    # the driver's own transaction handling off: _sqlite_begin emits BEGIN itself
    dbapi_conn.isolation_level = None
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA foreign_keys=ON")
    cur.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_S * 1000}")
    cur.execute("PRAGMA journal_mode")
    if cur.fetchone()[0] not in ("memory", "wal"):
        cur.execute("PRAGMA journal_mode=WAL")  # readers never block the writer
    cur.close()


def _sqlite_begin(conn: sa.Connection) -> None:
    """BEGIN IMMEDIATE for writes (lock first, then read), plain BEGIN for reads."""
    if conn.get_execution_options().get(WRITE_OPTION):
        conn.exec_driver_sql("BEGIN IMMEDIATE")
    else:
        conn.exec_driver_sql("BEGIN")
