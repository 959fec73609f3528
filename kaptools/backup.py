"""Backup and verified restore of a kaptools database (SQLite or PostgreSQL).

A backup is one zip file, created readable by its owner only: ``manifest.json`` (format,
schema revision, when, and per table the row count and a SHA-256 digest of its rows)
and one JSON Lines file per table. It is read in one snapshot (a single transaction),
so it is consistent while clinicians keep working.

:func:`restore` loads a backup into an *empty* database (SQLite or PostgreSQL, either
way round): the schema is built to the backup's revision, the rows are inserted, the
digests of what was written are recomputed from the database and compared with the
manifest, the audit log's hash chain is checked, and only then is the schema upgraded
to the current revision and the transaction committed. Any difference and nothing is
kept.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from kaptools.errors import InvalidInputError, StoreError
from kaptools.store import Store

__all__ = ["BACKUP_FORMAT", "BackupSummary", "backup", "restore"]

BACKUP_FORMAT = "kaptools-backup-1"
_SKIP_TABLES = {"alembic_version"}


@dataclass(frozen=True, slots=True)
class BackupSummary:
    path: Path
    schema_revision: str | None
    rows: dict[str, int]

    @property
    def summary(self) -> str:
        total = sum(self.rows.values())
        tables = ", ".join(f"{t} {n}" for t, n in self.rows.items())
        return f"{total} rows ({tables}); schema {self.schema_revision}; {self.path}"


def _encode(value: Any) -> Any:
    if isinstance(value, dt.datetime):
        return value.isoformat(timespec="microseconds")
    if isinstance(value, dt.date):
        return value.isoformat()
    return value


def _decode(column: sa.Column, value: Any) -> Any:
    if value is None:
        return None
    if isinstance(column.type, sa.DateTime):
        return dt.datetime.fromisoformat(value)
    if isinstance(column.type, sa.Date):
        return dt.date.fromisoformat(value)
    return value


def _canonical(row: dict[str, Any]) -> str:
    return json.dumps(row, sort_keys=True, ensure_ascii=False, separators=(",", ":"))


def _tables(store: Store) -> list[sa.Table]:
    from kaptools.store.tables import Base

    return [t for t in Base.metadata.sorted_tables if t.name not in _SKIP_TABLES]


def _rows(
    conn: sa.Connection, table: sa.Table, columns: list[str] | None = None
) -> list[dict[str, Any]]:
    order = list(table.primary_key.columns) or list(table.columns)
    cols = [table.c[c] for c in columns] if columns is not None else list(table.columns)
    result = conn.execute(sa.select(*cols).order_by(*order)).mappings()
    return [{k: _encode(v) for k, v in r.items()} for r in result]


def _digest(rows: list[dict[str, Any]]) -> str:
    h = hashlib.sha256()
    for r in rows:
        h.update(_canonical(r).encode("utf-8"))
        h.update(b"\n")
    return h.hexdigest()


def backup(store: Store, path: str | Path) -> BackupSummary:
    """Write a consistent backup of ``store`` to ``path`` (a new file, owner-only)."""
    from kaptools.migrations import schema_revision

    out = Path(path)
    if out.exists():
        raise InvalidInputError(f"backup file {str(out)!r} already exists; choose a new name.")
    if out.suffix != ".zip":
        raise InvalidInputError(f"backup file {str(out)!r} must end in .zip.")
    tables = _tables(store)
    with store.engine.connect() as conn:
        if conn.dialect.name == "postgresql":
            conn = conn.execution_options(isolation_level="REPEATABLE READ")
        with conn.begin():
            revision = schema_revision(conn)
            data = {t.name: _rows(conn, t) for t in tables}
    manifest = {
        "format": BACKUP_FORMAT,
        "schema_revision": revision,
        "created_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "database": store.engine.dialect.name,
        "tables": {
            name: {"rows": len(rows), "sha256": _digest(rows)} for name, rows in data.items()
        },
    }
    fd = os.open(out, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600)
    with os.fdopen(fd, "wb") as fh, zipfile.ZipFile(fh, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("manifest.json", json.dumps(manifest, indent=2))
        for name, rows in data.items():
            zf.writestr(f"{name}.jsonl", "".join(_canonical(r) + "\n" for r in rows))
    return BackupSummary(out, revision, {n: len(r) for n, r in data.items()})


def _read(path: Path) -> tuple[dict[str, Any], dict[str, list[dict[str, Any]]]]:
    try:
        with zipfile.ZipFile(path) as zf:
            manifest = json.loads(zf.read("manifest.json"))
            if manifest.get("format") != BACKUP_FORMAT:
                raise InvalidInputError(
                    f"{str(path)!r} is not a kaptools backup (format "
                    f"{manifest.get('format')!r}, expected {BACKUP_FORMAT!r})."
                )
            data = {}
            for name in manifest["tables"]:
                text = zf.read(f"{name}.jsonl").decode("utf-8")
                data[name] = [json.loads(line) for line in text.splitlines() if line]
    except (zipfile.BadZipFile, KeyError, json.JSONDecodeError) as exc:
        raise InvalidInputError(
            f"{str(path)!r} is not a readable kaptools backup ({exc}); nothing was restored."
        ) from None
    for name, rows in data.items():
        expected = manifest["tables"][name]
        if len(rows) != expected["rows"] or _digest(rows) != expected["sha256"]:
            raise InvalidInputError(
                f"backup {str(path)!r} is damaged: table {name!r} does not match its manifest "
                "digest; nothing was restored."
            )
    return manifest, data


def restore(path: str | Path, store: Store) -> BackupSummary:
    """Load the backup at ``path`` into the empty database of ``store``, verified."""
    from kaptools.migrations import BASELINE, HEAD, migrate, schema_revision
    from kaptools.store.connection import PG_WRITE_LOCK
    from kaptools.store.tables import Base

    src = Path(path)
    if not src.is_file():
        raise InvalidInputError(f"backup file {str(src)!r} does not exist.")
    manifest, data = _read(src)
    tables = {t.name: t for t in _tables(store)}
    unknown = sorted(set(data) - set(tables))
    if unknown:
        raise InvalidInputError(
            f"the backup holds tables this kaptools does not know ({', '.join(unknown)}); "
            "restore it with the kaptools version that made it."
        )
    with store.engine.connect().execution_options(kaptools_write=True) as conn, conn.begin():
        if conn.dialect.name == "postgresql":
            conn.execute(sa.text(f"SELECT pg_advisory_xact_lock({PG_WRITE_LOCK})"))
        insp = sa.inspect(conn)
        for name in tables:
            if (
                insp.has_table(name)
                and conn.execute(sa.select(sa.func.count()).select_from(tables[name])).scalar_one()
            ):
                raise InvalidInputError(
                    f"the target database is not empty (table {name!r} has rows); restore "
                    "only into a new, empty database. Nothing was changed."
                )
        revision = manifest["schema_revision"] or BASELINE
        current = schema_revision(conn)
        if current is None and not insp.has_table("audit_log"):
            migrate(conn, revision)
        elif current != revision:
            raise InvalidInputError(
                f"the target database is at schema {current}, the backup at {revision}; "
                "restore into a new, empty database."
            )
        if revision == HEAD:
            Base.metadata.create_all(conn, checkfirst=True)
        for name in (t.name for t in Base.metadata.sorted_tables if t.name in data):
            table = tables[name]
            rows = [{k: _decode(table.c[k], v) for k, v in r.items()} for r in data[name]]
            if rows:
                conn.execute(table.insert(), rows)
            if conn.dialect.name == "postgresql" and "id" in table.c and rows:
                conn.execute(
                    sa.text(
                        f"SELECT setval(pg_get_serial_sequence('{name}', 'id'), "
                        f"(SELECT max(id) FROM {name}))"
                    )
                )
        # verify what the database now holds, before committing
        for name, rows in data.items():
            columns = list(rows[0]) if rows else [c.name for c in tables[name].columns]
            written = _rows(conn, tables[name], columns) if rows else []
            if _digest(written) != manifest["tables"][name]["sha256"]:
                raise StoreError(
                    f"restore verification failed: table {name!r} reads back differently "
                    "from the backup; nothing was restored."
                )
        migrate(conn, "head")
        Base.metadata.create_all(conn, checkfirst=True)
    check = store.verify_audit()
    if not check.ok:
        raise StoreError(f"restored, but the audit chain does not verify: {check.summary}")
    return BackupSummary(src, revision, {n: len(r) for n, r in data.items()})
