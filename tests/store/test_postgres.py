"""The same store on a real PostgreSQL server: a URL change, no code change.

Starts a private throw-away PostgreSQL cluster (Debian's server binaries) on a
Unix socket. Where the server binaries are not installed the test is skipped
with the reason; CI machines have them.
"""

from __future__ import annotations

import datetime as dt
import glob
import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from kaptools.errors import IncompleteInputError
from kaptools.store import Store


def _pg_bin() -> Path | None:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    if found:
        return Path(found[-1]).parent
    initdb = shutil.which("initdb")
    return Path(initdb).parent if initdb else None


@pytest.fixture(scope="module")
def postgres_url() -> Iterator[str]:
    pg = _pg_bin()
    if pg is None:
        pytest.skip("PostgreSQL server binaries (initdb, pg_ctl) are not installed")
    pytest.importorskip("psycopg", reason="install the 'postgres' extra for this test")
    root = Path(tempfile.mkdtemp(prefix="kaptools-pg-"))
    data, sock = root / "data", root / "sock"
    sock.mkdir()
    # PostgreSQL refuses to run as root: run it as 'nobody' when we are root.
    as_user = ["runuser", "-u", "nobody", "--"] if os.geteuid() == 0 else []
    if as_user:
        shutil.chown(root, "nobody")
        shutil.chown(sock, "nobody")
    subprocess.run(
        [
            *as_user,
            str(pg / "initdb"),
            "-D",
            str(data),
            "-U",
            "kap",
            "--auth=trust",
            "-E",
            "UTF8",
            "--no-instructions",
        ],
        check=True,
        capture_output=True,
    )
    subprocess.run(
        [
            *as_user,
            str(pg / "pg_ctl"),
            "-D",
            str(data),
            "-w",
            "-l",
            str(root / "log"),
            "-o",
            f"-k {sock} -c listen_addresses='' -p 55432",
            "start",
        ],
        check=True,
        capture_output=True,
    )
    try:
        subprocess.run(
            [
                *as_user,
                str(pg / "createdb"),
                "-h",
                str(sock),
                "-p",
                "55432",
                "-U",
                "kap",
                "kaptools",
            ],
            check=True,
            capture_output=True,
        )
        yield f"postgresql+psycopg://kap@/kaptools?host={sock}&port=55432"
    finally:
        subprocess.run(
            [*as_user, str(pg / "pg_ctl"), "-D", str(data), "-m", "immediate", "stop"],
            capture_output=True,
        )
        shutil.rmtree(root, ignore_errors=True)


def test_versions_audit_and_rollback_on_postgresql(postgres_url: str) -> None:
    """Records, corrections, the audit log and refused writes behave as on SQLite."""
    with Store(postgres_url) as store, Store(postgres_url) as other:
        _exercise(store, other)


def _exercise(store: Store, other: Store) -> None:
    store.add_patient(
        "SYN-1", "P", birth_date=dt.date(1990, 1, 1), sex="male", weight_kg=80
    )
    rec = store.save_record(
        "assessment", "SYN-1", {"answers": [1, 2]}, effective_at=dt.date(2026, 3, 1)
    )
    store.save_record(
        "assessment",
        "SYN-1",
        {"answers": [1, 3]},
        record_id=rec.record_id,
        reason="typo",
        based_on_version=1,
    )
    with pytest.raises(IncompleteInputError):
        store.save_record(
            "assessment", "SYN-1", {"answers": [0]}, record_id=rec.record_id
        )
    assert [r.version for r in store.record_history(rec.record_id)] == [1, 2]
    assert store.latest_records("assessment", "SYN-1")[0].payload == {"answers": [1, 3]}
    assert [e.action for e in store.audit_entries("SYN-1")] == [
        "create_patient",
        "create",
        "correct",
    ]
    # a second Store on the same URL sees the same data
    assert other.get_patient("SYN-1").weight_kg == 80


def test_stored_alerts_on_postgresql(postgres_url: str) -> None:
    """Alerts raise idempotently, acknowledgement needs a note and never deletes."""
    from kaptools.alerts import Alert, AlertLevel

    with Store(postgres_url) as store:
        store.add_patient(
            "SYN-ALERT", "P", birth_date=None, sex="unknown", weight_kg=None
        )
        alert = Alert(
            rule_id="phq9_item9", level=AlertLevel.WARNING, message="m", action="a", source="s"
        )
        a = store.raise_alert("SYN-ALERT", alert, source_kind="assessment", source_ref="r")
        assert (
            store.raise_alert(
                "SYN-ALERT", alert, source_kind="assessment", source_ref="r"
            ).alert_id
            == a.alert_id
        )
        with pytest.raises(IncompleteInputError):
            store.acknowledge_alert(a.alert_id, note=" ")
        assert store.patient_alerts("SYN-ALERT", open_only=True)[0].alert_id == a.alert_id
        store.acknowledge_alert(a.alert_id, note="seen")
        assert store.patient_alerts("SYN-ALERT", open_only=True) == []
        (kept,) = store.patient_alerts("SYN-ALERT")
        assert kept.acknowledgement is not None and kept.acknowledgement.note == "seen"
        assert [e.action for e in store.audit_entries("SYN-ALERT")][-2:] == [
            "raise_alert",
            "acknowledge_alert",
        ]
