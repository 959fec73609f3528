"""The store's safety on a private PostgreSQL cluster: append-only audit log for the
application's role, concurrent corrections, migration with data, backup and restore
between PostgreSQL and SQLite. Skipped where the server binaries are not installed."""

from __future__ import annotations

import threading
import uuid
from pathlib import Path

import pytest
import sqlalchemy as sa

from kaptools.backup import backup, restore
from kaptools.errors import StaleVersionError
from kaptools.identity import Identity, Role
from kaptools.migrations import BASELINE, HEAD, migrate, schema_revision
from kaptools.store import Store
from tests.store.test_postgres import postgres_url  # noqa: F401 - the cluster fixture


@pytest.fixture
def new_database(postgres_url: str):  # noqa: F811
    """A fresh, empty database on the private cluster; yields its URL."""
    admin = sa.create_engine(postgres_url, isolation_level="AUTOCOMMIT")
    names = []

    def make() -> str:
        name = f"kap_{uuid.uuid4().hex[:10]}"
        with admin.connect() as conn:
            conn.exec_driver_sql(f"CREATE DATABASE {name}")
        names.append(name)
        return postgres_url.replace("/kaptools?", f"/{name}?")

    yield make
    for store in _OPEN:
        store.close()
    _OPEN.clear()
    admin.dispose()


_OPEN: list[Store] = []


def _open(url: str, **kwargs) -> Store:
    store = Store(url, **kwargs)
    _OPEN.append(store)
    return store


def _store_with_patient(url: str) -> Store:
    store = _open(url)
    store.add_patient(
        "SYN-1", "Synthetic One", birth_date=None, sex="unknown", weight_kg=None
    )
    return store


def test_audit_rows_cannot_be_updated_deleted_or_truncated(new_database) -> None:
    store = _store_with_patient(new_database())
    store.save_record("assessment", "SYN-1", {"x": 1})
    for sql in ("UPDATE audit_log SET who = 'x'", "DELETE FROM audit_log", "TRUNCATE audit_log"):
        with store.engine.begin() as conn, pytest.raises(sa.exc.DatabaseError, match="append-only"):
            conn.exec_driver_sql(sql)
    # a separate application role with ordinary grants is refused as well
    with store.engine.begin() as conn:
        conn.exec_driver_sql("CREATE ROLE kap_app LOGIN")
        conn.exec_driver_sql(
            "GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO kap_app"
        )
    app = sa.create_engine(str(store.url.set(username="kap_app")))
    with app.begin() as conn, pytest.raises(sa.exc.DatabaseError, match="append-only"):
        conn.exec_driver_sql("DELETE FROM audit_log")
    app.dispose()
    assert store.verify_audit().ok and store.verify_audit().rows_checked == 2


def test_simultaneous_corrections_on_postgres(new_database) -> None:
    store = _store_with_patient(new_database())
    rec = store.save_record("assessment", "SYN-1", {"x": 0})
    start = threading.Barrier(6)
    outcomes: list[str] = []

    def correct(i: int) -> None:
        start.wait()
        try:
            store.as_identity(Identity(f"dr-{i}", Role.CLINICIAN)).save_record(
                "assessment",
                "SYN-1",
                {"x": i},
                record_id=rec.record_id,
                reason="fix",
                based_on_version=1,
            )
            outcomes.append("saved")
        except StaleVersionError:
            outcomes.append("stale")
        except Exception as exc:
            outcomes.append(f"{type(exc).__name__}: {exc}")

    threads = [threading.Thread(target=correct, args=(i,)) for i in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert sorted(outcomes) == ["saved"] + ["stale"] * 5
    assert store.verify_audit().ok


def test_migration_on_postgres_keeps_the_data(new_database) -> None:
    url = new_database()
    engine = sa.create_engine(url)
    with engine.begin() as conn:
        migrate(conn, BASELINE)
        conn.exec_driver_sql(
            "INSERT INTO patients VALUES ('SYN-9', 'Old', NULL, 'male', NULL, true, "
            "'2026-01-05 09:00:00', 'old')"
        )
        conn.exec_driver_sql(
            "INSERT INTO audit_log (at, who, action, patient_id, detail) VALUES "
            "('2026-01-05 09:00:00', 'old', 'create_patient', 'SYN-9', '')"
        )
    engine.dispose()
    store = _open(url)
    with store.engine.connect() as conn:
        assert schema_revision(conn) == HEAD
    assert store.get_patient("SYN-9").display_name == "Old"
    assert [e.who for e in store.audit_entries("SYN-9")] == ["old"]
    assert store.verify_audit().ok


def test_backup_and_restore_between_postgres_and_sqlite(new_database, tmp_path: Path) -> None:
    from kaptools.demo import build_demo_database

    source = _open(new_database())
    build_demo_database(source)
    out = tmp_path / "pg.zip"
    backup(source, out)
    lite = _open(f"sqlite:///{tmp_path / 'from-pg.sqlite'}", create=False)
    restore(out, lite)
    assert lite.audit_entries() == source.audit_entries()
    back = tmp_path / "lite.zip"
    backup(lite, back)
    pg_again = _open(new_database(), create=False)
    restore(back, pg_again)
    assert pg_again.audit_entries() == source.audit_entries()
    assert pg_again.list_patients() == source.list_patients()
    assert pg_again.verify_audit().ok
    # the sequences follow the restored ids: new writes work and chain on
    pg_again.log("view", patient_id="SYN-0001", detail="after restore")
    assert pg_again.verify_audit().ok
