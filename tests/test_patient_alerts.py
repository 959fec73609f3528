"""Stored safety alerts: raised from every record, open until acknowledged with a note.

Raising is idempotent per source record and rule; acknowledging never deletes (the
alert stays, the acknowledgement is its own record) and is audit-logged in the same
transaction; an acknowledgement without a note is refused and writes nothing.
"""

from __future__ import annotations

import datetime as dt
import html

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kaptools.alerts import CRISIS_LINE_TEXT, Alert, AlertLevel
from kaptools.assessments import INCOMPLETE_ASSESSMENT_ALERT_KIND, record_assessment
from kaptools.errors import (
    IncompleteAnswersError,
    IncompleteInputError,
    InvalidAnswerError,
    InvalidInputError,
    NotFoundError,
)
from kaptools.patient_alerts import acknowledge_alert, patient_alerts, sync_patient_alerts
from kaptools.screening import screen, synthetic_screening_records
from kaptools.screening.persistence import save_screening
from kaptools.store import Store

TODAY = dt.date(2026, 11, 20)
POSITIVE_INCOMPLETE = [1, 1, 1, None, 1, 1, 1, 1, 3]


@pytest.fixture
def store() -> Store:
    s = Store.in_memory()
    s.add_patient("SYN-A", "Alex", birth_date=dt.date(1980, 1, 1), sex="female", weight_kg=70)
    return s


def _alert(rule: str = "r1", level: AlertLevel = AlertLevel.WARNING) -> Alert:
    return Alert(rule_id=rule, level=level, message="m", action="a", source="s")


def test_incomplete_positive_phq9_stores_an_open_alert_and_saves_no_assessment(store):
    """Item 9 = 3 with item 4 blank: IncompleteAnswersError with the alert; the alert is
    stored open; no assessment row is written; the same form again opens no duplicate."""
    for _ in range(2):
        with pytest.raises(IncompleteAnswersError) as info:
            record_assessment(
                store,
                "SYN-A",
                "PHQ-9",
                POSITIVE_INCOMPLETE,
                administered_on="2026-11-02",
                today=TODAY,
            )
        assert [a.rule_id for a in info.value.alerts] == ["phq9_item9"]
        assert "stays open until a clinician acknowledges it" in str(info.value)
    assert store.latest_records("assessment", "SYN-A") == []
    (stored,) = patient_alerts(store, "SYN-A").open
    assert stored.alert.rule_id == "phq9_item9"
    assert stored.source_kind == INCOMPLETE_ASSESSMENT_ALERT_KIND
    assert stored.raised_by == "pytest"
    assert stored.effective_at.date() == dt.date(2026, 11, 2)
    assert stored.alert.crisis_line == CRISIS_LINE_TEXT


def test_incomplete_negative_phq9_stores_nothing(store):
    """Item 9 below the line with a blank: incomplete, no alert stored."""
    with pytest.raises(IncompleteAnswersError) as info:
        record_assessment(
            store,
            "SYN-A",
            "PHQ-9",
            [1, 1, 1, None, 1, 1, 1, 1, 0],
            administered_on="2026-11-02",
            today=TODAY,
        )
    assert info.value.alerts == ()
    assert patient_alerts(store, "SYN-A").alerts == ()
    assert [e.action for e in store.audit_entries("SYN-A")] == ["create_patient"]


def test_invalid_answer_with_positive_item9_writes_nothing(store):
    """An invalid answer is refused before anything (alert or assessment) is written."""
    with pytest.raises(InvalidAnswerError):
        record_assessment(
            store,
            "SYN-A",
            "PHQ-9",
            [1, 1, 1, None, 1, 1, 7, 1, 3],
            administered_on="2026-11-02",
            today=TODAY,
        )
    assert patient_alerts(store, "SYN-A").alerts == ()


def test_complete_assessment_stores_its_alert_in_the_same_transaction(store):
    """A saved positive assessment has its alert, sourced from the record; a correction
    of the same record opens no second alert."""
    a = record_assessment(
        store,
        "SYN-A",
        "QIDS-SR16",
        [1] * 11 + [2] + [1] * 4,
        administered_on="2026-11-02",
        today=TODAY,
    )
    (stored,) = patient_alerts(store, "SYN-A").alerts
    assert (stored.source_kind, stored.source_ref) == ("assessment", a.record_id)
    assert stored.alert.rule_id == "qids_sr16_item12"
    record_assessment(
        store,
        "SYN-A",
        "QIDS-SR16",
        [1] * 11 + [3] + [1] * 4,
        administered_on="2026-11-02",
        today=TODAY,
        correct_record_id=a.record_id,
        based_on_version=1,
        reason="item 12 misread",
    )
    assert len(patient_alerts(store, "SYN-A").alerts) == 1


def test_saved_screening_stores_its_alerts(store):
    """A screening with a C-SSRS or PHQ-9 alert stores each alert for the patient."""
    rec = next(r for r in synthetic_screening_records(200, seed=5) if screen(r).alerts)
    result = screen(rec)
    saved = save_screening(store, "SYN-A", rec, result)
    stored = patient_alerts(store, "SYN-A").open
    assert sorted(a.alert.rule_id for a in stored) == sorted(a.rule_id for a in result.alerts)
    assert {a.source_ref for a in stored} == {saved.record_id}


def test_acknowledge_keeps_the_alert_and_logs_who_when_why(store):
    """After acknowledgement the alert is no longer open but still listed, with the note;
    the audit log has the acknowledgement; a second acknowledgement is refused."""
    a = store.raise_alert("SYN-A", _alert(), source_kind="assessment", source_ref="x")
    done = acknowledge_alert(store, a.alert_id, note="  C-SSRS done, low risk  ")
    assert not done.is_open
    assert done.acknowledgement.note == "C-SSRS done, low risk"
    assert done.acknowledgement.who == "pytest"
    alerts = patient_alerts(store, "SYN-A")
    assert alerts.open == () and alerts.acknowledged == (done,)
    entry = store.audit_entries("SYN-A")[-1]
    assert (entry.action, entry.who, entry.record_id, entry.detail) == (
        "acknowledge_alert",
        "pytest",
        a.alert_id,
        "C-SSRS done, low risk",
    )
    with pytest.raises(InvalidInputError, match="already acknowledged"):
        acknowledge_alert(store, a.alert_id, note="again")
    assert store.get_alert(a.alert_id).acknowledgement.who == "pytest"


@settings(max_examples=25, deadline=None)
@given(st.one_of(st.none(), st.just(""), st.text(alphabet=" \t\n", max_size=5)))
def test_acknowledgement_without_a_note_is_refused_and_writes_nothing(note):
    """No note (None, empty, blanks): IncompleteInputError naming 'note'; still open."""
    s = Store.in_memory()
    s.add_patient("P1", "P", birth_date=None, sex="unknown", weight_kg=None)
    a = s.raise_alert("P1", _alert(), source_kind="assessment", source_ref="x")
    before = s.audit_entries("P1")
    with pytest.raises(IncompleteInputError) as info:
        s.acknowledge_alert(a.alert_id, note=note)
    assert "note" in str(info.value) and info.value.missing == ("note",)
    assert s.get_alert(a.alert_id).is_open
    assert s.audit_entries("P1") == before


@settings(max_examples=25, deadline=None)
@given(
    st.lists(st.sampled_from(["r1", "r2", "r3"]), min_size=1, max_size=8),
    st.lists(st.sampled_from(["rec-1", "rec-2"]), min_size=1, max_size=8),
)
def test_raising_is_idempotent_per_source_and_rule(rules, refs):
    """However often alerts are raised, there is one per (source, rule)."""
    s = Store.in_memory()
    s.add_patient("P1", "P", birth_date=None, sex="unknown", weight_kg=None)
    pairs = list(zip(rules, refs, strict=False)) * 2
    for rule, ref in pairs:
        s.raise_alert("P1", _alert(rule), source_kind="assessment", source_ref=ref)
    stored = s.patient_alerts("P1")
    assert len(stored) == len(set(pairs))
    assert sum(e.action == "raise_alert" for e in s.audit_entries("P1")) == len(set(pairs))


def test_acknowledged_alert_is_not_reopened_by_raising_again(store):
    a = store.raise_alert("SYN-A", _alert(), source_kind="assessment", source_ref="x")
    store.acknowledge_alert(a.alert_id, note="seen")
    again = store.raise_alert("SYN-A", _alert(), source_kind="assessment", source_ref="x")
    assert again.alert_id == a.alert_id and not again.is_open


def test_bad_input_is_named(store):
    with pytest.raises(NotFoundError, match="No alert"):
        store.acknowledge_alert("nope", note="x")
    with pytest.raises(NotFoundError, match="SYN-Z"):
        store.raise_alert("SYN-Z", _alert(), source_kind="assessment", source_ref="x")
    with pytest.raises(IncompleteInputError, match="who"):
        store.raise_alert("SYN-A", _alert(), source_kind="assessment", source_ref="x", who=" ")
    with pytest.raises(InvalidInputError, match="source_kind"):
        store.raise_alert("SYN-A", _alert(), source_kind="Bad Kind", source_ref="x")
    assert store.patient_alerts("SYN-A") == []


def test_sync_raises_alerts_of_records_saved_without_them(store):
    """Records written before alerts were stored get their alerts on sync, once."""
    store.save_record(
        "assessment",
        "SYN-A",
        {"instrument": "phq9", "answers": [0] * 8 + [2], "administered_on": "2026-11-01"},
        effective_at=dt.date(2026, 11, 1),
    )
    assert patient_alerts(store, "SYN-A").alerts == ()
    first = sync_patient_alerts(store, "SYN-A")
    second = sync_patient_alerts(store, "SYN-A")
    assert [a.alert.rule_id for a in first.open] == ["phq9_item9"]
    assert first == second


def test_summary_and_html_carry_the_crisis_line(store):
    store.raise_alert(
        "SYN-A", _alert(level=AlertLevel.CRITICAL), source_kind="screening", source_ref="x"
    )
    pa = patient_alerts(store, "SYN-A")
    assert CRISIS_LINE_TEXT in pa.summary
    assert html.escape(CRISIS_LINE_TEXT) in pa._repr_html_()
    assert pa.level is AlertLevel.CRITICAL
    store.acknowledge_alert(pa.alerts[0].alert_id, note="risk assessed")
    pa = patient_alerts(store, "SYN-A")
    assert pa.text_lines() == [] and "988" not in pa._repr_html_()
    assert "acknowledged" in pa.alerts[0].summary


def test_alert_audit_rows_join_the_hash_chain(store):
    """Raising and acknowledging append chained audit rows: the chain still verifies."""
    a = store.raise_alert("SYN-A", _alert(), source_kind="assessment", source_ref="x")
    store.acknowledge_alert(a.alert_id, note="seen")
    check = store.verify_audit()
    assert check.ok, check
    actions = [e.action for e in store.audit_entries("SYN-A")]
    assert actions[-2:] == ["raise_alert", "acknowledge_alert"]


def test_dosing_session_alerts_are_stored_with_their_own_crisis_line():
    """A session with an urgent SpO2 reading and suicidal thoughts: its alerts are stored
    for the patient when saved (911 line for the medical one, 988 for suicide risk), a
    record saved without them gets them on sync, once."""
    from dataclasses import replace

    from kaptools.sessions import (
        DosingSession,
        PreDoseChecks,
        SideEffectReport,
        VitalSigns,
        save_dosing_session,
    )

    s = Store.in_memory()
    s.add_patient("SYN-S", "S", birth_date=dt.date(1980, 1, 1), sex="female", weight_kg=70)
    session = DosingSession(
        "SYN-S",
        "iv_ketamine",
        dt.date(2026, 3, 9),
        started_at=dt.datetime(2026, 3, 9, 10),
        vitals=(
            VitalSigns("pre_dose", 0, 128, 82, 72, 98),
            VitalSigns("post_dose", 40, 150, 90, 76, 88),
        ),
        pre_dose=PreDoseChecks((), False, False),
        weight_kg=70,
        side_effects=(SideEffectReport("suicidal_thoughts", "moderate"),),
    )
    saved = save_dosing_session(s, session)
    stored = {a.alert.rule_id: a for a in s.patient_alerts("SYN-S")}
    assert set(stored) == {a.rule_id for a in session.safety_alerts}
    assert all(a.source_ref == saved.record_id for a in stored.values())
    assert "911" in stored["session_urgent_spo2"].alert.crisis_line
    assert stored["session_side_effect_suicidal_thoughts"].alert.crisis_line == CRISIS_LINE_TEXT
    # a record written without its alerts (e.g. before they were stored) gets them on sync
    s.save_record(
        "dosing_session",
        "SYN-S",
        replace(session, side_effects=()).to_dict(),
        effective_at=dt.date(2026, 3, 10),
    )
    n = len(s.patient_alerts("SYN-S"))
    after = sync_patient_alerts(s, "SYN-S")
    assert len(after.alerts) == n + 1  # its urgent SpO2 alert
    assert sync_patient_alerts(s, "SYN-S") == after


def test_banner_shows_the_crisis_line_once_and_every_alert_escaped(store):
    from kaptools.alerts import banner_html
    from kaptools.ui.widgets import CrisisBanner

    assert banner_html([]) == ""
    hostile = Alert(
        rule_id="r2",
        level=AlertLevel.WARNING,
        message="<script>x</script>",
        action="a&b",
        source="s",
    )
    store.raise_alert(
        "SYN-A", _alert(level=AlertLevel.CRITICAL), source_kind="screening", source_ref="x"
    )
    stored = patient_alerts(store, "SYN-A").open
    out = banner_html([*stored, hostile])
    assert out.count("988 Suicide") == 1
    assert "<script>" not in out and "&lt;script&gt;" in out and "a&amp;b" in out
    assert f"data-alert-id='{stored[0].alert_id}'" in out and "open until a clinician" in out
    assert "kap-live-alert" in out
    # the widget shows exactly this (the server's first paint does too: test_firstpaint)
    banner = CrisisBanner()
    banner.set_alerts([*stored, hostile])
    assert banner.value == out and banner.layout.display is None
    banner.set_alerts([])
    assert banner.value == "" and banner.layout.display == "none"
