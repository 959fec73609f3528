"""screen(): every rule fires for the case it exists for, statuses follow the precedence,
trials are judged one by one, and results record their protocol and render safely."""

from __future__ import annotations

import copy
import json
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from kaptools.alerts import AlertLevel
from kaptools.errors import InvalidInputError, RecordError
from kaptools.protocol import default_protocol, parse_protocol
from kaptools.scores import Instrument, score
from kaptools.screening import (
    Finding,
    FindingOverride,
    ScreeningRecord,
    ScreeningResult,
    ScreeningStatus,
    Severity,
    TrialVerdict,
    records_to_frame,
    rule_catalogue,
    screen,
    screen_cohort,
    synthetic_screening_records,
)
from kaptools.screening.result import best_status, status_of

VIGNETTES_PATH = Path(__file__).parents[1] / "data" / "screening_vignettes.json"
VIGNETTES = json.loads(VIGNETTES_PATH.read_text(encoding="utf-8"))
DEFAULT_TEXT = default_protocol().path.read_text(encoding="utf-8")  # type: ignore[union-attr]


def vignette_record(changes: dict[str, Any]) -> dict[str, Any]:
    record = copy.deepcopy(VIGNETTES["base_record"])
    for key, value in changes.items():
        if key == "history":
            record["history"].update(value)
        else:
            record[key] = value
    return record


def with_changes(**changes: Any) -> dict[str, Any]:
    return vignette_record(changes)


@pytest.mark.parametrize("v", VIGNETTES["vignettes"], ids=lambda v: v["id"])
def test_vignette_gives_expected_status_findings_and_alerts(v: dict[str, Any]) -> None:
    """Each clinical vignette gets exactly its expected status, rule ids, alerts and trial count."""
    result = screen(vignette_record(v["changes"]))
    assert result.status.value == v["expected_status"], result.summary
    assert sorted(result.rule_ids) == v["expected_rules"], result.summary
    assert [a.rule_id for a in result.alerts] == v["expected_alerts"]
    assert result.failed_adequate_trials == v["expected_failed_trials"]
    if "expected_routes" in v:
        assert {r.value: st.value for r, st in result.routes.items()} == v["expected_routes"]
        assert result.status == best_status(result.routes.values())


def test_vignettes_cover_every_rule_and_alert() -> None:
    """Every rule of the default protocol fires in at least one vignette, as does every alert."""
    fired = {r for v in VIGNETTES["vignettes"] for r in v["expected_rules"]}
    missing = set(rule_catalogue(default_protocol()).ids) - fired
    assert not missing
    alerts = {a for v in VIGNETTES["vignettes"] for a in v["expected_alerts"]}
    cssrs_alerts = set(type(default_protocol().screening.alerts).model_fields)
    assert alerts == {"phq9_item9", *cssrs_alerts}


def test_vignettes_cite_a_source() -> None:
    """Every vignette says where its expectation comes from."""
    assert all(len(v["source"]) > 5 and v["description"] for v in VIGNETTES["vignettes"])


def test_vignettes_give_the_same_result_on_the_cohort_path() -> None:
    """Screening all vignettes as one cohort gives each one's expected status and findings."""
    vignettes = VIGNETTES["vignettes"]
    frame = records_to_frame([vignette_record(v["changes"]) for v in vignettes])
    cohort = screen_cohort(frame)
    fired = cohort.fired
    for i, v in enumerate(vignettes):
        assert cohort.table["status"].iloc[i] == v["expected_status"], v["id"]
        assert sorted(fired.columns[fired.iloc[i].to_numpy()]) == v["expected_rules"], v["id"]
        assert cohort.table["failed_adequate_trials"].iloc[i] == v["expected_failed_trials"]


INDICATION_RULES = {
    "indication_not_met",
    "indication_undetermined",
    "indication_off_label",
    "indication_primary_met",
}


def test_unknown_diagnoses_are_never_read_as_no_diagnosis() -> None:
    """Over synthetic records, unknown diagnoses give a missing answer, never an indication
    finding, and judge everything else as a recorded empty list would."""
    ignore = {"diagnoses_unknown", "indication_not_met", "trials_not_judged"}
    for record in synthetic_screening_records(400, seed=23):
        unknown = screen(record.model_copy(update={"diagnoses": None}))
        none = screen(record.model_copy(update={"diagnoses": ()}))
        assert "diagnoses_unknown" in unknown.rule_ids
        assert not INDICATION_RULES & set(unknown.rule_ids)
        assert "indication_not_met" in none.rule_ids and "diagnoses_unknown" not in none.rule_ids
        excluded = bool(unknown.by_severity(Severity.EXCLUSION))
        expected = ScreeningStatus.NOT_ELIGIBLE if excluded else ScreeningStatus.INCOMPLETE
        assert unknown.status == expected, unknown.summary
        assert set(unknown.rule_ids) - ignore == set(none.rule_ids) - ignore


def test_unknown_diagnoses_finding_is_the_protocols_required_answer() -> None:
    """diagnoses_unknown is a missing finding worded and sourced by [screening.required]."""
    finding = screen(with_changes(diagnoses=None)).finding("diagnoses_unknown")
    required = default_protocol().screening.required
    assert finding is not None and finding.severity == Severity.MISSING
    assert finding.message.startswith("Diagnoses (ICD-10-CM codes): not recorded")
    assert finding.source == required.source and finding.detail


def test_finding_carries_protocol_message_source_and_detail() -> None:
    """A finding's message and source are the protocol's; the detail names the patient's value."""
    result = screen(with_changes(systolic_bp_mmhg=152))
    finding = result.finding("blood_pressure_raised")
    assert finding is not None
    rule = default_protocol().screening.rules.blood_pressure_raised
    assert finding.severity == Severity.CAUTION
    assert finding.source == rule.source
    assert "140/90 mmHg" in finding.message and "{" not in finding.message
    assert finding.detail == "152/82 mmHg"


def test_threshold_is_read_from_the_protocol() -> None:
    """Raising the caution line in a copy of the protocol stops 145/85 from being a caution."""
    text = DEFAULT_TEXT.replace(
        "bp_caution_systolic_above = { value = 140,", "bp_caution_systolic_above = { value = 150,"
    )
    clinic = parse_protocol(text, origin="clinic copy")
    record = with_changes(systolic_bp_mmhg=145, diastolic_bp_mmhg=85)
    assert screen(record).status == ScreeningStatus.ELIGIBLE_WITH_CAUTIONS
    modified = screen(record, protocol=clinic)
    assert modified.status == ScreeningStatus.ELIGIBLE
    assert modified.protocol == clinic.info != default_protocol().info


def test_message_follows_the_changed_threshold() -> None:
    """The caution message names the clinic's own threshold, never the default's."""
    text = DEFAULT_TEXT.replace(
        "bp_caution_systolic_above = { value = 140,", "bp_caution_systolic_above = { value = 135,"
    )
    clinic = parse_protocol(text)
    finding = screen(with_changes(systolic_bp_mmhg=137), protocol=clinic).finding(
        "blood_pressure_raised"
    )
    assert finding is not None and "135/90 mmHg" in finding.message


def test_severity_is_read_from_the_protocol() -> None:
    """A clinic that makes family history of psychosis an exclusion gets not_eligible for it."""
    text = DEFAULT_TEXT.replace(
        '[screening.rules.family_history_psychosis]\nseverity = "caution"',
        '[screening.rules.family_history_psychosis]\nseverity = "exclusion"',
    )
    clinic = parse_protocol(text)
    record = with_changes(history={"family_history_psychosis": "yes"})
    assert screen(record, protocol=clinic).status == ScreeningStatus.NOT_ELIGIBLE


def test_result_records_protocol_name_version_and_hash() -> None:
    """Every result records the name, version and SHA-256 of the protocol that produced it."""
    result = screen(vignette_record({}))
    info = default_protocol().info
    assert (result.protocol.name, result.protocol.version) == ("kaptools-default", info.version)
    assert len(result.protocol.sha256) == 64 and result.protocol == info


def test_trial_assessments_say_why_each_trial_counts_or_not() -> None:
    """Each trial has a verdict and reasons naming the dose, duration, outcome or unknown fact."""
    record = with_changes(
        antidepressant_trials=[
            {
                "drug": "sertraline",
                "daily_dose_mg": 150,
                "weeks": 8,
                "outcome": "no_response",
                "stop_reason": "lack_of_effect",
            },
            {
                "drug": "fluoxetine",
                "daily_dose_mg": 10,
                "weeks": 8,
                "outcome": "no_response",
                "stop_reason": "lack_of_effect",
            },
            {
                "drug": "tianeptine",
                "daily_dose_mg": 25,
                "weeks": 8,
                "outcome": "no_response",
                "stop_reason": "lack_of_effect",
            },
        ]
    )
    trials = screen(record).trials
    assert [t.verdict for t in trials] == [
        TrialVerdict.FAILED_ADEQUATE,
        TrialVerdict.NOT_FAILED_ADEQUATE,
        TrialVerdict.NOT_JUDGED,
    ]
    assert any("at least the minimum adequate 50 mg" in r for r in trials[0].reasons)
    assert any("below the minimum adequate dose of 20 mg" in r for r in trials[1].reasons)
    assert any("not in the minimum-dose table" in r for r in trials[2].reasons)
    assert trials[0].counted and not trials[1].counted and trials[0].min_dose_source


def test_trial_ruled_out_shows_every_reason_against() -> None:
    """A trial that is both short and stopped for intolerance lists both reasons."""
    record = with_changes(
        antidepressant_trials=[
            {
                "drug": "sertraline",
                "daily_dose_mg": 100,
                "weeks": 2,
                "outcome": "no_response",
                "stop_reason": "intolerance",
            },
        ]
    )
    (trial,) = screen(record).trials
    assert trial.verdict == TrialVerdict.NOT_FAILED_ADEQUATE
    assert len(trial.reasons) == 2


def test_phq9_alert_is_the_one_kaptools_scores_raises() -> None:
    """With every PHQ-9 item answered, screening shows exactly the alert score() raises."""
    answers = [1, 1, 1, 1, 1, 1, 1, 1, 2]
    result = screen(with_changes(phq9=answers))
    assert result.alerts == score(Instrument.PHQ9, answers).alerts
    assert result.alerts[0].level == AlertLevel.WARNING
    assert "988" in result.alerts[0].crisis_line


def test_partial_phq9_alert_uses_the_same_rule_id_and_threshold() -> None:
    """With gaps in the PHQ-9, item 9 alone raises an alert named like score()'s."""
    alert = screen(with_changes(phq9=[None] * 8 + [1])).alerts[0]
    full = score(Instrument.PHQ9, [0] * 8 + [1]).alerts[0]
    assert (alert.rule_id, alert.level, alert.action) == (full.rule_id, full.level, full.action)
    assert screen(with_changes(phq9=[None] * 8 + [0])).alerts == ()


def test_phq9_alert_threshold_comes_from_the_protocol() -> None:
    """A protocol alerting from item 9 = 2 does not alert on an answer of 1."""
    text = DEFAULT_TEXT.replace(
        "phq9_item9_alert_min = { value = 1,", "phq9_item9_alert_min = { value = 2,"
    )
    clinic = parse_protocol(text)
    assert screen(with_changes(phq9=[0] * 8 + [1]), protocol=clinic).alerts == ()
    assert screen(with_changes(phq9=[0] * 8 + [2]), protocol=clinic).alerts


def test_critical_alert_names_the_action_and_crisis_line() -> None:
    """The C-SSRS critical alert asks for immediate risk assessment and shows 988."""
    result = screen(with_changes(cssrs={"active_thoughts": "yes", "plan": "yes"}))
    critical = [a for a in result.alerts if a.level == AlertLevel.CRITICAL]
    assert len(critical) == 1
    assert "Immediate risk assessment" in critical[0].action
    assert "988" in critical[0].summary and result.alert_level == AlertLevel.CRITICAL


def test_screen_accepts_a_mapping_and_rejects_a_bad_one() -> None:
    """screen() validates a dict; a bad one raises RecordError naming the field."""
    assert screen(vignette_record({})).status == ScreeningStatus.ELIGIBLE
    with pytest.raises(RecordError, match="age_years"):
        screen(with_changes(age_years=-4))


def test_findings_are_listed_exclusions_first() -> None:
    """Findings come in severity order: exclusions, missing answers, cautions, information."""
    record = with_changes(age_years=70, history={"psychosis": "yes", "bladder_symptoms": "unknown"})
    ranks = [f.severity.rank for f in screen(record).findings]
    assert ranks == sorted(ranks) and ranks[0] == Severity.EXCLUSION.rank


@pytest.mark.parametrize(
    ("severities", "expected"),
    [
        ([], ScreeningStatus.ELIGIBLE),
        ([Severity.INFO], ScreeningStatus.ELIGIBLE),
        ([Severity.CAUTION, Severity.INFO], ScreeningStatus.ELIGIBLE_WITH_CAUTIONS),
        ([Severity.CAUTION, Severity.MISSING], ScreeningStatus.INCOMPLETE),
        ([Severity.MISSING, Severity.EXCLUSION, Severity.CAUTION], ScreeningStatus.NOT_ELIGIBLE),
    ],
)
def test_status_precedence(severities: list[Severity], expected: ScreeningStatus) -> None:
    """Exclusion beats missing beats caution; information never changes the status."""
    assert status_of(severities) == expected


def test_summary_and_html_say_decision_support_and_escape_text() -> None:
    """The summary names the status and protocol; the HTML escapes every text it shows."""
    record = with_changes(current_medications=[{"drug": "<script>x</script>"}])
    result = screen(record)
    assert result.status.label in result.summary
    assert result.protocol.short in result.summary
    page = result._repr_html_()
    assert "<script>" not in page and "&lt;script&gt;" in page


def test_parts_render_themselves_escaped() -> None:
    """Findings, trial assessments and overrides have a summary and escaped HTML."""
    record = with_changes(
        antidepressant_trials=[{"drug": "<b>x</b>", "daily_dose_mg": 10, "weeks": 8}]
    )
    result = screen(record)
    trial = result.trials[0]
    assert "<b>" not in trial._repr_html_() and "&lt;b&gt;" in trial._repr_html_()
    finding = result.findings[0]
    assert finding.rule_id in finding.summary and "Source:" in finding._repr_html_()
    override = FindingOverride("x", "a <reason>", "dr", datetime(2026, 1, 1))
    assert "&lt;reason&gt;" in override._repr_html_()


def test_result_refuses_a_status_that_does_not_follow_from_findings() -> None:
    """A hand-built result with a status its findings do not give is refused."""
    good = screen(with_changes(systolic_bp_mmhg=150))
    with pytest.raises(InvalidInputError, match="do not follow"):
        ScreeningResult(
            record=good.record,
            status=ScreeningStatus.ELIGIBLE,
            findings=good.findings,
            alerts=good.alerts,
            trials=good.trials,
            failed_adequate_trials=good.failed_adequate_trials,
            protocol=good.protocol,
        )


def test_result_refuses_a_wrong_trial_count() -> None:
    """failed_adequate_trials must equal the number of counted trial assessments."""
    good = screen(vignette_record({}))
    with pytest.raises(InvalidInputError, match="failed_adequate_trials"):
        ScreeningResult(
            record=good.record,
            status=good.status,
            findings=good.findings,
            alerts=good.alerts,
            trials=good.trials,
            failed_adequate_trials=5,
            protocol=good.protocol,
        )


def test_finding_refuses_blank_text_and_unknown_severity() -> None:
    """A finding needs a rule id, message and source, and a known severity."""
    with pytest.raises(InvalidInputError):
        Finding("", Severity.INFO, "message", "source")
    with pytest.raises(ValueError):
        Finding("x", "fatal", "message", "source")  # type: ignore[arg-type]


def test_overrides_keep_findings_and_recompute_status() -> None:
    """Overriding the only caution makes the status eligible and keeps the original status."""
    result = screen(with_changes(systolic_bp_mmhg=150))
    override = FindingOverride(
        "blood_pressure_raised", "Home readings average 128/80.", "dr.lee", datetime(2026, 1, 2)
    )
    overridden = result.with_overrides([override])
    assert overridden.status == ScreeningStatus.ELIGIBLE
    assert overridden.original_status == ScreeningStatus.ELIGIBLE_WITH_CAUTIONS
    assert overridden.rule_ids == result.rule_ids
    finding = overridden.finding("blood_pressure_raised")
    assert finding is not None and finding.override == override
    assert "OVERRIDDEN: blood_pressure_raised overridden by dr.lee" in overridden.summary
    assert "Before clinician overrides" in overridden._repr_html_()


def test_override_of_a_rule_that_did_not_fire_is_refused() -> None:
    """An override must name a finding of the result."""
    result = screen(vignette_record({}))
    override = FindingOverride("psychosis", "Not psychotic.", "dr.lee", datetime(2026, 1, 2))
    with pytest.raises(InvalidInputError, match="did not fire"):
        result.with_overrides([override])


def test_payload_round_trip_gives_the_same_result() -> None:
    """A result stored as a payload and read back is equal to the original."""
    result = screen(with_changes(systolic_bp_mmhg=150, phq9=[1] * 9))
    payload = json.loads(json.dumps(result.to_payload()))
    assert ScreeningResult.from_payload(payload) == result
    assert payload["protocol"]["sha256"] == result.protocol.sha256
    assert payload["record"]["systolic_bp_mmhg"] == 150


def test_payload_with_another_schema_is_refused() -> None:
    """A payload that is not a screening payload is refused with the schema named."""
    with pytest.raises(RecordError, match="schema"):
        ScreeningResult.from_payload({"schema": "other"})


def test_record_is_kept_on_the_result() -> None:
    """The result holds the validated input record (codes normalised)."""
    result = screen(with_changes(diagnoses=["f331"]))
    assert isinstance(result.record, ScreeningRecord)
    assert result.record.diagnoses == ("F33.1",)


def test_cautions_lists_caution_findings_with_detail_and_skips_overridden() -> None:
    """ScreeningResult.cautions: every caution that still counts, message then detail."""
    from kaptools.screening import synthetic_screening_records

    for record in synthetic_screening_records(300, seed=12):
        result = screen(record)
        expected = [
            f for f in result.findings if f.severity.value == "caution" and not f.overridden
        ]
        assert len(result.cautions) == len(expected)
        for text, f in zip(result.cautions, expected, strict=True):
            assert text.startswith(f.message)
            if f.detail:
                assert text.endswith(f"({f.detail})")
