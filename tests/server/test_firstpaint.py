"""The server's first paint (kaptools.server.firstpaint): the same result as the widget
view, audited like it, refused and worded like it, and no widget selector matches it."""

from __future__ import annotations

import datetime as dt
import re
import xml.etree.ElementTree as ET

import pytest

from kaptools.demo import build_demo_database
from kaptools.errors import StoreError
from kaptools.identity import Identity, Role
from kaptools.protocol import default_protocol
from kaptools.scenarios import build_scenario_database
from kaptools.server.firstpaint import (
    crisis_banner_content,
    first_paint,
    page_fragment,
    svg_from_spec,
)
from kaptools.store import Store
from kaptools.trends import patient_trends
from kaptools.ui import EligibilityApp, PlannerApp, TrendsApp
from kaptools.ui.charts import trend_figure_spec

TODAY = dt.date(2026, 11, 30)


@pytest.fixture(scope="module")
def url(tmp_path_factory: pytest.TempPathFactory) -> str:
    url = f"sqlite:///{tmp_path_factory.mktemp('fp') / 'scenarios.sqlite'}"
    build_scenario_database(Store(url))
    return url


@pytest.fixture(scope="module")
def demo_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    url = f"sqlite:///{tmp_path_factory.mktemp('fp') / 'demo.sqlite'}"
    build_demo_database(Store(url))
    return url


def clinician(url: str, name: str = "dr-first") -> Store:
    return Store(url, identity=Identity(name, Role.CLINICIAN))


def patients(url: str) -> list[str]:
    return [p.patient_id for p in clinician(url).list_patients()]


def test_trends_first_paint_matches_the_dashboard(url: str) -> None:
    protocol = default_protocol()
    for pid in patients(url):
        fp = first_paint("trends.ipynb", f"patient={pid}", store=clinician(url), protocol=protocol)
        assert fp is not None
        app = TrendsApp(clinician(url), protocol, patient_id=pid, today=TODAY)
        assert f"<div class='kap-summary'>{app.summary.value}</div>" in fp.body, pid
        shown = app.alerts.shown
        if shown:
            assert app.banner.value == crisis_banner_content(app.alerts.stored.open), pid
            assert app.banner.value in fp.body, pid
            assert "988" in fp.body
        else:
            assert "kap-crisis-banner" not in fp.body, pid
        assert "<svg" in fp.body


def test_eligibility_first_paint_matches_the_dashboard(url: str) -> None:
    protocol = default_protocol()
    for pid in patients(url):
        fp = first_paint(
            "eligibility.ipynb",
            f"patient={pid}",
            store=clinician(url),
            protocol=protocol,
            today=TODAY,
        )
        assert fp is not None
        app = EligibilityApp(clinician(url), protocol, patient_id=pid, today=TODAY)
        assert f"<div class='kap-patient-header'>{app.patient_header.value}</div>" in fp.body
        assert f"<div class='kap-status-panel'>{app.status_panel.value}</div>" in fp.body, pid
        assert (app.banner.value in fp.body) if app.alert_panel.shown else True


@pytest.mark.parametrize("db", ["url", "demo_url"])
def test_planner_first_paint_matches_the_dashboard(db: str, request: pytest.FixtureRequest) -> None:
    url = request.getfixturevalue(db)
    protocol = default_protocol()
    with_plans = 0
    for pid in patients(url):
        fp = first_paint(
            "planner.ipynb", f"patient={pid}", store=clinician(url), protocol=protocol, today=TODAY
        )
        assert fp is not None
        app = PlannerApp(clinician(url), protocol, patient_id=pid, today=TODAY)
        if app.plan is not None and app.plannable:
            with_plans += 1
            assert app.table.value in fp.body, pid
        else:
            assert "kap-plan-row" not in fp.body, pid
            if app.gate:
                assert app.gate in fp.body.replace("&#x27;", "'"), pid
    assert with_plans >= (3 if db == "demo_url" else 1)  # saved plans were shown


def test_a_first_paint_is_an_audited_read(url: str) -> None:
    store = clinician(url, "dr-audit")
    pid = patients(url)[0]
    before = len(store.audit_entries(pid))
    first_paint("trends.ipynb", f"patient={pid}", store=store)
    views = [
        (e.who, e.action, e.detail) for e in store.audit_entries(pid)[before:] if e.action == "view"
    ]
    assert views == [("dr-audit", "view", "TrendsApp dashboard (first paint)")]


def test_no_patient_data_when_the_audit_row_cannot_be_written(
    url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = clinician(url)
    patient = store.list_patients()[0]

    def refuse(*args: object, **kwargs: object) -> None:
        raise StoreError("the audit log cannot be written")

    monkeypatch.setattr(store, "log", refuse)
    for notebook in ("trends.ipynb", "eligibility.ipynb", "planner.ipynb"):
        fp = first_paint(notebook, f"patient={patient.patient_id}", store=store)
        assert fp is not None
        assert "kap-error" in fp.body and "audit log cannot be written" in fp.body
        assert patient.display_name not in fp.body


@pytest.mark.parametrize("role", [Role.RESEARCHER, Role.ADMIN])
def test_a_role_that_may_not_read_patients_is_refused(url: str, role: Role) -> None:
    store = Store(url, identity=Identity("someone", role))
    pid = patients(url)[0]
    name = clinician(url).get_patient(pid).display_name
    before = len(clinician(url).audit_entries(pid))
    fp = first_paint("planner.ipynb", f"patient={pid}", store=store)
    assert fp is not None and "kap-error" in fp.body
    assert name not in fp.body and "kap-plan-row" not in fp.body
    assert "may not read" in fp.body
    # at most the attempt is logged, in the person's name, as the dashboard logs it
    after = [(e.who, e.action) for e in clinician(url).audit_entries(pid)[before:]]
    assert after in ([], [("someone", "view")])


def test_another_clinics_patient_reads_as_unknown(url: str) -> None:
    other = Store(url, identity=Identity("dr-other", Role.CLINICIAN, "northside"))
    pid = patients(url)[0]
    fp = first_paint("trends.ipynb", f"patient={pid}", store=other)
    assert fp is not None
    assert f"No patient with id {pid!r} in this database" in fp.body.replace("&#x27;", "'")
    assert "<svg" not in fp.body


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("patient=NOPE-9999", "No patient with id 'NOPE-9999' in this database"),
        ("patient=../etc", "which is not a valid patient id"),
        ("patient=SYN-0001%0A", "which is not a valid patient id"),
    ],
)
def test_unknown_or_malformed_patients_get_the_dashboards_message(
    url: str, query: str, message: str
) -> None:
    for notebook in ("trends.ipynb", "eligibility.ipynb", "planner.ipynb"):
        fp = first_paint(notebook, query, store=clinician(url))
        assert fp is not None
        assert "kap-error" in fp.body
        assert message in fp.body.replace("&#x27;", "'")


def test_no_first_paint_without_a_patient_or_for_other_pages(url: str) -> None:
    assert first_paint("trends.ipynb", "", store=clinician(url)) is None
    assert first_paint("trends.ipynb", "patient=", store=clinician(url)) is None
    assert first_paint("whatif.ipynb", "patient=SYN-0001", store=clinician(url)) is None
    assert first_paint("baseline.ipynb", "patient=SYN-0001", store=clinician(url)) is None


def test_no_widget_selector_finds_the_first_paint(url: str) -> None:
    pid = patients(url)[0]
    for notebook in ("trends.ipynb", "eligibility.ipynb", "planner.ipynb"):
        fp = first_paint(notebook, f"patient={pid}", store=clinician(url), today=TODAY)
        assert fp is not None
        html = page_fragment(fp)
        classes = re.findall(r"class=['\"]([^'\"]*)['\"]", html)
        assert classes and not [c for c in classes if re.search(r"(^|\s)kap-", c)]
        assert "kfp-" in html and "id='kap-first-paint'" in html


def test_the_chart_is_drawn_as_svg_from_the_chart_spec(demo_url: str) -> None:
    url = demo_url
    protocol = default_protocol()
    store = clinician(url)
    drawn = 0
    for pid in patients(url):
        t = patient_trends(store, pid, protocol=protocol)
        spec = trend_figure_spec(t, protocol)
        svg = svg_from_spec(spec, label="chart")
        root = ET.fromstring(svg)  # well-formed XML
        ns = "{http://www.w3.org/2000/svg}"
        traces = [g for g in root.iter(f"{ns}g") if g.get("class") == "kap-trace"]
        with_points = [d for d in spec["data"] if any(y is not None for y in d.get("y", []))]
        assert len(traces) == len(with_points), pid
        for trace, data in zip(traces, with_points, strict=True):
            marks = list(trace.iter(f"{ns}circle")) + list(trace.iter(f"{ns}path"))
            assert len(marks) == len(data["x"]), pid  # one mark per point
        assert "nan" not in svg.lower()
        drawn += bool(traces)
        titles = [a["text"] for a in spec["layout"]["annotations"] if "<b>" in a["text"]]
        for title in titles:
            assert re.sub(r"<[^>]+>", "", title) in svg
    assert drawn > 3
