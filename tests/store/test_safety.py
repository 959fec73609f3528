"""The store under concurrency and tampering: WAL, owner-only files, stale corrections
refused, concurrent corrections never a raw database error (SQLite and PostgreSQL, one
parametrised test), append-only and tamper-evident audit log, migrations that keep the
data, verified backup and restore; on a private PostgreSQL cluster also the application
role's append-only audit log, migration with data, and backup and restore between
PostgreSQL and SQLite (skipped where the server binaries are not installed)."""

from __future__ import annotations

import datetime as dt
import multiprocessing
import sqlite3
import stat
import threading
import uuid
import zipfile
from pathlib import Path

import pytest
import sqlalchemy as sa

from kaptools.backup import backup, restore
from kaptools.cli import main as cli
from kaptools.errors import (
    AccessDeniedError,
    IncompleteInputError,
    InvalidInputError,
    StaleVersionError,
)
from kaptools.identity import DEFAULT_CLINIC, Identity, Role
from kaptools.migrations import BASELINE, HEAD, migrate, schema_revision
from kaptools.store import Store
from tests.store.test_postgres import postgres_url  # noqa: F401 - the cluster fixture


def _file_store(tmp_path: Path, name: str = "kap.sqlite") -> Store:
    store = Store(f"sqlite:///{tmp_path / 'data' / name}")
    if not store.has_patients():
        store.add_patient("SYN-1", "Synthetic One", birth_date=None, sex="unknown", weight_kg=None)
    return store


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
    store.add_patient("SYN-1", "Synthetic One", birth_date=None, sex="unknown", weight_kg=None)
    return store


@pytest.fixture(params=["sqlite", "postgresql"])
def store_with_patient(request: pytest.FixtureRequest, tmp_path: Path) -> Store:
    """A store holding patient SYN-1: a SQLite file, or a new database on the private
    PostgreSQL cluster (skipped where its server binaries are not installed)."""
    if request.param == "sqlite":
        return _file_store(tmp_path)
    return _store_with_patient(request.getfixturevalue("new_database")())


def test_sqlite_file_is_owner_only_in_wal_mode_with_a_busy_timeout(tmp_path: Path) -> None:
    store = _file_store(tmp_path)
    folder = tmp_path / "data"
    assert stat.S_IMODE(folder.stat().st_mode) == 0o700
    assert stat.S_IMODE((folder / "kap.sqlite").stat().st_mode) == 0o600
    with store.engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar() >= 10_000
    for extra in folder.glob("kap.sqlite-*"):  # the WAL and shared-memory files
        assert stat.S_IMODE(extra.stat().st_mode) & 0o077 == 0, extra


def test_a_stale_correction_is_refused_naming_both_versions(tmp_path: Path) -> None:
    store = _file_store(tmp_path)
    rec = store.save_record("assessment", "SYN-1", {"x": 1})
    store.as_identity(Identity("dr-b", Role.CLINICIAN)).save_record(
        "assessment",
        "SYN-1",
        {"x": 2},
        record_id=rec.record_id,
        reason="item 3 mistyped",
        based_on_version=1,
    )
    n_audit = len(store.audit_entries())
    with pytest.raises(StaleVersionError) as err:
        store.save_record(
            "assessment",
            "SYN-1",
            {"x": 3},
            record_id=rec.record_id,
            reason="my fix",
            based_on_version=1,
        )
    message = str(err.value)
    assert "version 1" in message and "version 2" in message and "dr-b" in message
    assert "Reload" in message
    assert (err.value.based_on, err.value.current) == (1, 2)
    assert [r.payload["x"] for r in store.record_history(rec.record_id)] == [1, 2]
    assert len(store.audit_entries()) == n_audit
    # a correction must say what it was based on; a version that never existed is refused
    with pytest.raises(IncompleteInputError, match="based_on_version"):
        store.save_record("assessment", "SYN-1", {"x": 3}, record_id=rec.record_id, reason="my fix")
    with pytest.raises(InvalidInputError, match="does not exist"):
        store.save_record(
            "assessment",
            "SYN-1",
            {"x": 3},
            record_id=rec.record_id,
            reason="my fix",
            based_on_version=7,
        )


def test_simultaneous_corrections_of_one_version_one_wins_the_rest_are_told(
    store_with_patient: Store,
) -> None:
    """Threads correcting the same version at once: exactly one is saved, every other one
    gets StaleVersionError; never a raw database error (SQLite and PostgreSQL)."""
    store = store_with_patient
    rec = store.save_record("assessment", "SYN-1", {"x": 0})
    start = threading.Barrier(8)
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

    threads = [threading.Thread(target=correct, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert sorted(outcomes) == ["saved"] + ["stale"] * 7
    assert len(store.record_history(rec.record_id)) == 2
    assert store.verify_audit().ok


def _correct_until_saved(url: str, record_id: str, worker: int, n: int) -> list[str]:
    """A clinician process: reload, correct, and on a stale refusal reload and re-apply."""
    problems = []
    store = Store(url, identity=Identity(f"proc-{worker}", Role.CLINICIAN))
    for k in range(n):
        for _attempt in range(200):
            newest = store.record_history(record_id)[-1]
            try:
                store.save_record(
                    "assessment",
                    "SYN-1",
                    {"x": newest.payload["x"] + 1},
                    record_id=record_id,
                    reason=f"correction {k}",
                    based_on_version=newest.version,
                )
                break
            except StaleVersionError:
                continue
            except Exception as exc:
                problems.append(f"{type(exc).__name__}: {exc}")
                break
    store.close()
    return problems


def test_concurrent_correcting_processes_lose_nothing(tmp_path: Path) -> None:
    """Four processes each make 5 corrections of one record (reload and re-apply when
    refused): all 20 are kept, in order, with no raw database error."""
    store = _file_store(tmp_path)
    rec = store.save_record("assessment", "SYN-1", {"x": 0})
    url = str(store.url)
    ctx = multiprocessing.get_context("spawn")
    with ctx.Pool(4) as pool:
        results = pool.starmap(_correct_until_saved, [(url, rec.record_id, w, 5) for w in range(4)])
    assert results == [[], [], [], []]
    history = store.record_history(rec.record_id)
    assert [h.version for h in history] == list(range(1, 22))
    assert history[-1].payload["x"] == 20  # no correction overwrote another
    assert store.verify_audit().ok


def test_audit_rows_cannot_be_changed_and_tampering_is_detected(tmp_path: Path) -> None:
    store = _file_store(tmp_path)
    for i in range(5):
        store.save_record("assessment", "SYN-1", {"x": i})
    store.log("view", patient_id="SYN-1", detail="trends dashboard")
    assert store.verify_audit().ok
    with store.engine.begin() as conn:
        for sql in ("UPDATE audit_log SET who = 'someone-else'", "DELETE FROM audit_log"):
            with pytest.raises(sa.exc.DatabaseError, match="append-only"):
                conn.exec_driver_sql(sql)
    assert cli(["audit", "verify", "--database", str(store.url)]) == 0
    # someone with the file drops the guard and edits a row: the chain shows it
    db = str(store.url.database)
    store.close()
    raw = sqlite3.connect(db)
    (original,) = raw.execute("SELECT who FROM audit_log WHERE id = 3").fetchone()
    raw.execute("DROP TRIGGER audit_log_no_update")
    raw.execute("UPDATE audit_log SET who = 'someone-else' WHERE id = 3")
    raw.commit()
    check = Store(f"sqlite:///{db}").verify_audit()
    assert not check.ok and check.bad_row_id == 3 and "changed" in (check.problem or "")
    assert cli(["audit", "verify", "--database", f"sqlite:///{db}"]) == 1
    raw.execute("DROP TRIGGER audit_log_no_delete")
    raw.execute("UPDATE audit_log SET who = ? WHERE id = 3", (original,))  # undo the edit
    raw.execute("DELETE FROM audit_log WHERE id = 4")
    raw.commit()
    raw.close()
    check = Store(f"sqlite:///{db}").verify_audit()
    assert not check.ok and check.bad_row_id == 5 and "link" in (check.problem or "")


@pytest.mark.parametrize("stamped", [True, False], ids=["alembic-0001", "before-migrations"])
def test_migration_upgrades_an_old_schema_and_keeps_every_row(
    tmp_path: Path, stamped: bool
) -> None:
    """A database at the baseline schema (or made before migrations existed), with data,
    is upgraded on opening: every row is kept and the old audit rows are chained."""
    url = f"sqlite:///{tmp_path / 'old.sqlite'}"
    engine = sa.create_engine(url)
    when = dt.datetime(2026, 1, 5, 9, 30, 0, 123456)
    with engine.begin() as conn:
        migrate(conn, BASELINE)
        conn.exec_driver_sql(
            "INSERT INTO patients VALUES ('SYN-9', 'Old Patient', '1980-02-03', 'female', 61.5, "
            "1, '2026-01-05 09:00:00.000000', 'old-author')"
        )
        for v, x in ((1, 4), (2, 5)):
            conn.execute(
                sa.text(
                    "INSERT INTO records (record_id, version, kind, patient_id, payload, author,"
                    " created_at, effective_at, reason) VALUES ('r-1', :v, 'assessment', 'SYN-9',"
                    " :p, 'old-author', :t, :t, :reason)"
                ),
                {"v": v, "p": f'{{"x": {x}}}', "t": when, "reason": None if v == 1 else "typo"},
            )
            conn.execute(
                sa.text(
                    "INSERT INTO audit_log (at, who, action, patient_id, kind, record_id,"
                    " version, detail) VALUES (:t, 'old-author', :a, 'SYN-9', 'assessment',"
                    " 'r-1', :v, '')"
                ),
                {"t": when, "a": "create" if v == 1 else "correct", "v": v},
            )
        if not stamped:
            conn.exec_driver_sql("DROP TABLE alembic_version")
    engine.dispose()

    store = Store(url)
    with store.engine.connect() as conn:
        assert schema_revision(conn) == HEAD
    patient = store.get_patient("SYN-9")
    assert (patient.display_name, patient.birth_date, patient.weight_kg) == (
        "Old Patient",
        dt.date(1980, 2, 3),
        61.5,
    )
    assert [(r.version, r.payload) for r in store.record_history("r-1")] == [
        (1, {"x": 4}),
        (2, {"x": 5}),
    ]
    assert [(e.who, e.action, e.at) for e in store.audit_entries("SYN-9")] == [
        ("old-author", "create", when),
        ("old-author", "correct", when),
    ]
    assert store.verify_audit().ok and store.verify_audit().rows_checked == 2
    store.save_record(
        "assessment",
        "SYN-9",
        {"x": 6},
        record_id="r-1",
        reason="new fix",
        based_on_version=2,
    )
    assert store.verify_audit().ok and store.verify_audit().rows_checked == 3
    # migration 0004: the old patient went to the default clinic, whose clinicians
    # (make run's single user) see them; another clinic's clinician does not
    assert patient.clinic == DEFAULT_CLINIC
    with pytest.raises(AccessDeniedError, match="another clinic"):
        store.as_identity(Identity("dr-x", Role.CLINICIAN, "north")).get_patient("SYN-9")


def test_migration_0004_puts_existing_patients_in_the_default_clinic(tmp_path: Path) -> None:
    """A database at 0003 with patients, records and alerts: upgraded, nothing lost."""
    url = f"sqlite:///{tmp_path / 'at3.sqlite'}"
    engine = sa.create_engine(url)
    with engine.begin() as conn:
        conn.exec_driver_sql("PRAGMA foreign_keys=ON")
        migrate(conn, "0003")
        for pid in ("SYN-1", "SYN-2"):
            conn.exec_driver_sql(
                f"INSERT INTO patients VALUES ('{pid}', 'P', NULL, 'male', NULL, 1, "
                "'2026-01-05 09:00:00.000000', 'old-author')"
            )
        conn.exec_driver_sql(
            "INSERT INTO records (record_id, version, kind, patient_id, payload, author,"
            " created_at, effective_at) VALUES ('r-1', 1, 'assessment', 'SYN-1', '{}',"
            " 'old-author', '2026-01-05 09:00:00', '2026-01-05 09:00:00')"
        )
    engine.dispose()
    store = Store(url)
    with store.engine.connect() as conn:
        assert schema_revision(conn) == HEAD
        clinics = conn.exec_driver_sql("SELECT patient_id, clinic FROM patients").all()
    assert sorted(clinics) == [("SYN-1", DEFAULT_CLINIC), ("SYN-2", DEFAULT_CLINIC)]
    assert [r.record_id for r in store.latest_records("assessment", "SYN-1")] == ["r-1"]
    assert [p.patient_id for p in store.list_patients()] == ["SYN-1", "SYN-2"]


def test_backup_and_verified_restore(tmp_path: Path) -> None:
    from kaptools.demo import build_demo_database

    source = Store(f"sqlite:///{tmp_path / 'src.sqlite'}")
    build_demo_database(source)
    out = tmp_path / "kap-backup.zip"
    assert cli(["backup", str(out), "--database", str(source.url)]) == 0
    assert stat.S_IMODE(out.stat().st_mode) == 0o600
    target_url = f"sqlite:///{tmp_path / 'restored.sqlite'}"
    assert cli(["restore", str(out), "--database", target_url]) == 0
    target = Store(target_url)
    for p in source.list_patients():
        assert target.get_patient(p.patient_id) == p
        for kind in ("assessment", "course_plan", "screening", "dosing_session"):
            assert target.latest_records(kind, p.patient_id) == source.latest_records(
                kind, p.patient_id
            )
    assert target.audit_entries() == source.audit_entries()
    assert target.verify_audit().ok
    # restoring again onto data is refused, and changes nothing
    assert cli(["restore", str(out), "--database", target_url]) == 2
    assert target.audit_entries() == source.audit_entries()
    # a damaged backup is refused before anything is written
    bad = tmp_path / "damaged.zip"
    with zipfile.ZipFile(out) as zin, zipfile.ZipFile(bad, "w") as zout:
        for item in zin.namelist():
            data = zin.read(item)
            if item == "records.jsonl":
                data = data.replace(b'"dr.', b'"xx.', 1) if b'"dr.' in data else data[:-40]
            zout.writestr(item, data)
    empty = Store(f"sqlite:///{tmp_path / 'empty.sqlite'}", create=False)
    with pytest.raises(InvalidInputError, match="damaged"):
        restore(bad, empty)
    assert not sa.inspect(empty.engine).has_table("records")
    with pytest.raises(InvalidInputError, match="already exists"):
        backup(source, out)


# ---- PostgreSQL only ------------------------------------------------------------------


def test_postgres_audit_rows_cannot_be_updated_deleted_or_truncated(new_database) -> None:
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
