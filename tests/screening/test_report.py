"""The one printer of a screening result: the notebook's view, the CLI's text, the
dashboard's panels and the printed summary all come from kaptools.screening.report."""

from __future__ import annotations

from datetime import datetime

from kaptools.printer import DECISION_SUPPORT, escape
from kaptools.protocol import default_protocol
from kaptools.screening import FindingOverride, Severity, screen
from kaptools.screening.report import (
    ROUTE_LABELS,
    findings_html,
    latest_screening_html,
    no_screening_html,
    report_document,
    report_text,
    routes_html,
    screening_html,
    summary_text,
    trials_html,
)

from .test_screening import with_changes


def test_the_result_renders_through_the_printer() -> None:
    """summary and _repr_html_ are the printer's; the HTML holds the routes, findings
    and trials exactly as the dashboard's panels show them."""
    result = screen(
        with_changes(
            systolic_bp_mmhg=150,
            antidepressant_trials=[{"drug": "sertraline", "daily_dose_mg": 100, "weeks": 8}],
        )
    )
    assert result.summary == summary_text(result)
    page = result._repr_html_()
    assert page == screening_html(result)
    for part in (routes_html(result), findings_html(result, fold=False), trials_html(result)):
        assert part in page
    assert "kap-trial-table" in page and "blood_pressure_raised" in page
    assert "Decision support, not a decision" in page and result.protocol.short in page


def test_alerts_come_first_with_the_crisis_line_everywhere() -> None:
    """A C-SSRS alert is shown before the status in the HTML, and in the report's text
    and document with the 988 crisis line."""
    result = screen(with_changes(cssrs={"wish_to_be_dead": "yes", "active_thoughts": "yes"}))
    assert result.alerts
    page = result._repr_html_()
    assert page.index("kap-alert") < page.index("kap-eligibility-status")
    assert "988" in page
    text = report_text(result, title="T", disclaimer="D")
    assert "SAFETY ALERTS" in text and "988" in text
    doc = report_document(result, title="T", disclaimer="D")
    assert "988" in doc and doc.startswith("<!DOCTYPE html>")


def test_the_printer_escapes_and_keeps_overrides_in_view() -> None:
    """Entered text is escaped; an overridden finding stays, marked with who and why, and
    the status before overrides is named."""
    result = screen(with_changes(current_medications=[{"drug": "<script>x</script>"}]))
    assert "<script>" not in screening_html(result) and "&lt;script&gt;" in screening_html(result)
    raised = screen(with_changes(systolic_bp_mmhg=150))
    rule = raised.finding("blood_pressure_raised")
    assert rule is not None
    over = raised.with_overrides(
        [FindingOverride(rule.rule_id, "home readings <normal>", "dr", datetime(2026, 1, 1))]
    )
    page = screening_html(over)
    assert "kap-overridden" in page and "home readings &lt;normal&gt;" in page
    assert "Before clinician overrides" in page
    text = report_text(over, title="T", disclaimer="D", header=[("Patient", "P")])
    assert "OVERRIDDEN by dr" in text and "Patient: P" in text


def test_trials_name_the_protocols_minimum_when_given() -> None:
    """The trial count names the protocol's minimum only when the caller gives it."""
    result = screen(with_changes(antidepressant_trials=[]))
    needed = default_protocol().screening.thresholds.failed_adequate_trials_min.value
    assert "needs at least" in trials_html(result, needed)
    assert "needs at least" not in trials_html(result)


def test_the_latest_screening_box_says_why_no_course_can_be_planned() -> None:
    """The planner's screening box is the printer's: date, protocol and status; with a
    gate, the gate's words over the open exclusions (not eligible) and what follows it;
    without, the cautions unless a plan on show carries them."""
    day = datetime(2026, 3, 2, 9, 0)
    raised = screen(with_changes(systolic_bp_mmhg=150))
    assert raised.cautions
    box = latest_screening_html(raised, day)
    assert box.startswith("<div class='kap-screening'><p><b>Latest screening</b> (02 Mar 2026")
    assert escape(raised.protocol.short) in box and escape(raised.status.label) in box
    assert "kap-cautions" in box and "kap-not-plannable" not in box
    for caution in raised.cautions:
        assert escape(caution) in box
    assert "kap-cautions" not in latest_screening_html(raised, day, cautions=False)
    excluded = screen(with_changes(systolic_bp_mmhg=200))
    assert excluded.status.value == "not_eligible"
    gate = "Not plannable <here>"
    box = latest_screening_html(excluded, day, gate=gate, after_gate="<p>kept</p>")
    assert "kap-not-plannable" in box and "Not plannable &lt;here&gt;" in box
    for f in excluded.by_severity(Severity.EXCLUSION):
        assert escape(f.message) in box
    assert box.endswith("<p>kept</p></div>") and "kap-cautions" not in box
    none = no_screening_html("No screening on record for <P1>.")
    assert "kap-not-plannable" in none and "&lt;P1&gt;" in none
    assert "No screening on record." in no_screening_html()


def test_text_and_html_carry_the_same_facts() -> None:
    """Status, each route's status, each diagnosis, each finding, each trial verdict, the
    alerts and the protocol version are in the text and (escaped) in the HTML."""
    result = screen(
        with_changes(
            systolic_bp_mmhg=150,
            cssrs={"wish_to_be_dead": "yes"},
            antidepressant_trials=[{"drug": "sertraline", "daily_dose_mg": 100, "weeks": 8}],
        )
    )
    text, page = result.summary, result._repr_html_()
    facts = [result.status.label, result.status.value, result.protocol.short]
    facts += [ROUTE_LABELS[r] for r, _, _ in result.route_rows()]
    facts += [st.label for _, st, _ in result.route_rows()]
    facts += [f.message for f in result.findings]
    facts += [a.message for a in result.alerts]
    facts += [d for _, d in result.diagnoses]
    facts += [t.verdict.label for t in result.trials]
    assert result.findings and result.alerts and result.trials
    for fact in facts:
        assert fact in text, fact
        assert escape(fact) in page, fact
    assert DECISION_SUPPORT in text and DECISION_SUPPORT in page
