"""How a course plan reads (kaptools.scheduling.report): the plan's text and HTML carry
the same facts, and its one session table serves the notebook and the planner page."""

from __future__ import annotations

import datetime as dt
import html
from dataclasses import dataclass, replace

import pytest

from kaptools.alerts import Alert, AlertLevel
from kaptools.printer import escape
from kaptools.scheduling import ClinicCalendar, SessionStatus, plan_course
from kaptools.scheduling.options import Deviation, DeviationAcknowledgement
from kaptools.scheduling.report import (
    counts_line,
    deviations_html,
    plan_html,
    plan_summary_text,
    plan_table_html,
    plan_table_text,
)
from kaptools.screening.report import cautions_html

START = dt.date(2026, 3, 2)  # a Monday
CAUTION = "BP 150/95 at screening <recheck>"


@dataclass(frozen=True)
class Record:
    version: int
    complete: bool


@pytest.fixture(scope="module")
def plan():
    plan = plan_course(
        "iv_ketamine",
        START,
        calendar=ClinicCalendar(),
        screening_status="eligible_with_cautions",
        cautions=[CAUTION],
        weight_kg=70,
        age=40,
    )
    deviation = Deviation("rhythm", None, "Dose 3 is 9 days after dose 2 <late>", ("move it",))
    return replace(plan, deviations=(deviation,), notes=("note & more",))


def test_the_plan_renders_through_its_printer(plan) -> None:
    """summary and _repr_html_ are the report module's; cautions and deviations too."""
    assert plan.summary == plan_summary_text(plan)
    assert plan._repr_html_() == plan_html(plan)
    assert plan.cautions_html() == cautions_html(plan.cautions)
    assert plan.deviations_html() == deviations_html(plan)
    assert plan.report().summary == plan.summary


def test_the_report_puts_open_alerts_and_the_crisis_line_first_in_text_and_html(plan) -> None:
    """PlanReport: the patient's open alerts (with 988) above the plan, in both forms."""
    alert = Alert("phq9_item9", AlertLevel.WARNING, "Item 9 answered 1", "Screen C-SSRS.", "§4.8")
    report = plan.report([alert])
    text, page = report.summary, report._repr_html_()
    assert text.index("Item 9 answered 1") < text.index(plan.route_label)
    assert page.index("Item 9 answered 1") < page.index("kap-course-plan")
    assert "988" in text and "988" in page
    assert text.endswith(plan.summary) and page.endswith(plan._repr_html_())


def test_text_and_html_carry_the_same_facts(plan) -> None:
    """Every fact of the text (heading with revision and protocol version, counts, the
    cautions, each deviation, notes, the verdict) is in the HTML, escaped."""
    text, page = plan.summary, plan._repr_html_()
    facts = [
        f"{plan.route_label} course plan",
        f"revision {plan.revision}",
        f"protocol {plan.protocol.short}",
        counts_line(plan),
        CAUTION,
        "Dose 3 is 9 days after dose 2 <late>",
        "note & more",
        plan.verdict,
    ]
    for fact in facts:
        assert fact in text, fact
        assert escape(fact) in page, fact
    assert "<late>" not in page and "<recheck>" not in page
    first = plan.doses[0]
    assert first.dose.mg_text in text and escape(first.dose.mg_text) in page
    for s in plan.sessions:  # every dated session, in both
        day = f"{s.date:%a %d %b %Y}"
        assert f"{s.index}  " in text and day in text and s.label in text
        assert f"data-index='{s.index}'" in page and day in page and escape(s.label) in page
    assert text.index(plan_table_text(plan)) < text.index(plan.verdict)
    acknowledged = replace(
        plan,
        acknowledgement=DeviationAcknowledgement("dr.a", "ok <because>", dt.datetime(2026, 3, 1)),
    )
    assert "Acknowledged by dr.a" in acknowledged.summary
    assert "Acknowledged by dr.a" in acknowledged._repr_html_()
    assert html.escape("ok <because>") in acknowledged._repr_html_()


def test_the_table_lists_every_session_in_order(plan) -> None:
    """One row per session (kap-plan-row, its data-index, kind and status classes), the
    dose with its arithmetic and confirmation; no record column unless asked for."""
    table = plan.table_html()
    assert table == plan_table_html(plan)
    assert table.startswith("<table class='kap-table kap-plan-table'>")
    assert table.count("class='kap-plan-row ") == len(plan.sessions)
    for s in plan.sessions:
        assert f"data-index='{s.index}'" in table
        assert f"kap-kind-{s.kind.value} kap-status-{s.status.value}'" in table
    dose = plan.doses[0].dose
    assert escape(dose.arithmetic) in table and escape(dose.confirmation) in table
    assert "Dosing record" not in table and "kap-changed" not in table
    assert "date passed" not in table
    assert table in plan._repr_html_()


def test_the_dashboards_decorations(plan) -> None:
    """Recorded dosing sessions are marked (complete or in progress, with the version),
    changed rows highlighted, planned sessions before today say their date passed."""
    first, second = plan.doses[0], plan.doses[1]
    recorded = {first.date: Record(2, True), second.date: Record(1, False)}
    dosing_days = {s.date for s in plan.doses}
    other = next(s for s in plan.sessions if s.date not in dosing_days)
    recorded[other.date] = Record(9, True)
    today = second.date + dt.timedelta(days=1)
    table = plan.table_html(recorded=recorded, changed=frozenset({second.index}), today=today)
    assert "<th>Dosing record</th>" in table
    assert "recorded (v2)" in table and "record in progress (v1)" in table
    assert "(v9)" not in table  # only dosing sessions carry a record
    assert table.count("kap-changed") == 1
    assert f"kap-changed' data-index='{second.index}'" in table
    passed = [s for s in plan.sessions if s.status is SessionStatus.PLANNED and s.date < today]
    assert table.count("date passed") == len(passed) > 0
    assert "<th>Dosing record</th>" in plan.table_html(recorded={})
