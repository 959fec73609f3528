"""A patient's trends: baseline, latest, change and alerts per measure, with sessions."""

from __future__ import annotations

import datetime as dt

import pytest

from kaptools.demo import build_demo_database
from kaptools.protocol import default_protocol
from kaptools.scores import Instrument
from kaptools.store import Store
from kaptools.synthetic import Trajectory
from kaptools.trends import patient_trends


@pytest.fixture(scope="module")
def demo():
    store = Store.in_memory()
    patients = build_demo_database(store)
    return store, {p.patient_id: p for p in patients}


def test_trends_follow_the_synthetic_trajectories(demo) -> None:
    """Remitters show response and remission on PHQ-9; non-responders show neither."""
    store, patients = demo
    for pid, p in patients.items():
        change = patient_trends(store, pid).measures[Instrument.PHQ9].change
        if p.trajectory is Trajectory.REMITTER:
            assert change.response and change.remission
        if p.trajectory is Trajectory.NON_RESPONDER:
            assert not change.response and not change.remission


def test_item9_positive_patient_has_a_988_alert_and_others_do_not(demo) -> None:
    """Latest PHQ-9 item 9 ≥ 1 gives an alert with the crisis line; otherwise none."""
    store, patients = demo
    for pid, p in patients.items():
        alerts = patient_trends(store, pid).latest_alerts
        assert bool(alerts) == p.item9_positive
        assert all("988" in a.crisis_line for a in alerts)


def test_every_alert_in_the_period_is_shown_not_only_the_latest(demo) -> None:
    """The trend's alerts are those of every assessment, each dated in the summary, and
    the stored open alerts come first with the crisis line."""
    store, _ = demo
    for pid in ("SYN-0001", "SYN-0003", "SYN-0008"):
        t = patient_trends(store, pid)
        expected = [
            (a.administered_on, al)
            for m in t.measures.values()
            for a in m.points
            for al in a.result.alerts
        ]
        assert sorted(expected, key=lambda x: x[0]) == [
            (p.administered_on, al) for p, al in t.alert_history
        ]
        for p, _al in t.alert_history:
            assert f"{p.administered_on.isoformat()} ALERT:" in t.summary
        open_ = store.patient_alerts(pid, open_only=True)
        assert t.open_alerts == tuple(open_)
        assert ("OPEN SAFETY ALERTS" in t.summary) == bool(open_)
    t3 = patient_trends(store, "SYN-0003")
    assert len(t3.alerts) > len(t3.latest_alerts)  # baseline and latest both shown


def test_sessions_are_marked_with_their_side_effects(demo) -> None:
    """Every recorded dosing session appears once, in date order, with its side effects."""
    store, patients = demo
    t = patient_trends(store, "SYN-0001")
    p = patients["SYN-0001"]
    assert [s.session_date for s in t.sessions] == [s.session_date for s in p.sessions]
    assert [s.side_effects for s in t.sessions] == [s.side_effects for s in p.sessions]


def test_ptsd_patients_have_a_pcl5_series(demo) -> None:
    """PCL-5 appears exactly for the patients generated with PTSD."""
    store, patients = demo
    for pid, p in patients.items():
        assert (Instrument.PCL5 in patient_trends(store, pid).measures) == p.has_ptsd


def test_response_threshold_comes_from_the_protocol(demo) -> None:
    """The response line is baseline × (1 − the protocol's response fraction)."""
    store, _ = demo
    m = patient_trends(store, "SYN-0002").measures[Instrument.PHQ9]
    frac = default_protocol().measures.response_reduction_min.value
    assert m.response_threshold(default_protocol()) == pytest.approx(
        m.baseline.result.total * (1 - frac)
    )
    assert m.baseline.administered_on < m.latest.administered_on
    assert isinstance(m.latest.administered_on, dt.date)


def test_trends_render_their_own_html_with_open_alerts_and_the_crisis_line(demo) -> None:
    """The notebook view and the dashboard's tables come from the trends object: the open
    alerts (with 988) first, then one row per measure, the period's alerts and the sessions."""
    store, _ = demo
    t = patient_trends(store, "SYN-0003")
    page = t._repr_html_()
    assert t.open_alerts and "988" in page and page.index("988") < page.index("kap-summary-table")
    assert t.measures_html() in page and t.sessions_html() in page
    assert t.measures_html().count("<tr>") == len(t.measures) + 1
    assert "kap-period-alerts" in t.measures_html()
    first = next(iter(t.measures))
    items = t.items_html(first)
    assert items.count("<tr>") == t.measures[first].definition.item_count + 1
    assert "No assessments of this measure" in t.items_html(None)
    assert t.sessions_html().count("<tr>") == len(t.sessions) + 1
