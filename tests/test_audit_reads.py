"""Every read of a patient's record is audit-logged with who, when and what: opening it
on a dashboard, downloading or printing its summary, listing its audit trail."""

from __future__ import annotations

import datetime as dt

import pytest

from kaptools.cli import main as cli
from kaptools.demo import build_demo_database
from kaptools.protocol import default_protocol
from kaptools.store import Store
from kaptools.ui import EligibilityApp, PlannerApp, TrendsApp

TODAY = dt.date(2026, 11, 30)


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Store:
    store = Store(f"sqlite:///{tmp_path_factory.mktemp('audit') / 'demo.sqlite'}")
    build_demo_database(store, n=3)
    return store


def _views(store: Store, patient_id: str) -> list[tuple[str, str, str]]:
    return [
        (e.who, e.action, e.detail)
        for e in store.audit_entries(patient_id)
        if e.action in ("view", "download_html", "download_text", "print", "audit_trail")
    ]


@pytest.mark.parametrize("app_class", [TrendsApp, PlannerApp, EligibilityApp])
def test_opening_a_patient_on_a_dashboard_is_logged(
    demo: Store, app_class: type, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("KAPTOOLS_USER", "dr-reader")
    before = len(_views(demo, "SYN-0002"))
    app = app_class(demo, default_protocol(), defer=True)
    assert len(_views(demo, "SYN-0002")) == before  # a preheated page reads nothing
    app.url.observe(app._on_url, names="search")
    app.url.search = "?patient=SYN-0002"
    logged = _views(demo, "SYN-0002")[before:]
    assert logged == [("dr-reader", "view", f"{app_class.__name__} dashboard")]
    entry = demo.audit_entries("SYN-0002")[-1]
    assert abs(entry.at - dt.datetime.now(dt.UTC).replace(tzinfo=None)) < dt.timedelta(minutes=1)
    assert demo.verify_audit().ok


def test_downloads_and_prints_of_the_summary_are_logged(
    demo: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("KAPTOOLS_USER", "dr-printer")
    app = EligibilityApp(demo, default_protocol(), defer=True, today=TODAY)
    app.url.observe(app._on_url, names="search")
    app.url.search = "?patient=SYN-0003"
    before = len(_views(demo, "SYN-0003"))
    for action in ("download_html", "print", "download_text", "delete_everything"):
        app.export._on_msg(app.export, {"exported": action}, [])  # what the browser sends
    assert _views(demo, "SYN-0003")[before:] == [
        ("dr-printer", "download_html", "screening summary"),
        ("dr-printer", "print", "screening summary"),
        ("dr-printer", "download_text", "screening summary"),
    ]


def test_admin_lists_who_saw_or_changed_a_record_and_that_read_is_logged(
    demo: Store, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("KAPTOOLS_USER", "admin-ann")
    app = TrendsApp(demo, default_protocol(), defer=True)
    app.url.observe(app._on_url, names="search")
    monkeypatch.setenv("KAPTOOLS_USER", "dr-viewer")
    app.url.search = "?patient=SYN-0001"
    monkeypatch.setenv("KAPTOOLS_USER", "admin-ann")
    assert cli(["audit", "trail", "SYN-0001", "--database", str(demo.url)]) == 0
    out = capsys.readouterr().out
    assert "dr-viewer\tview" in out  # who saw it
    assert "\tcreate\tassessment\t" in out  # who wrote it
    assert demo.audit_entries("SYN-0001")[-1].action == "audit_trail"
    assert demo.audit_entries("SYN-0001")[-1].who == "admin-ann"
    assert cli(["audit", "trail", "SYN-9999", "--database", str(demo.url)]) == 2
