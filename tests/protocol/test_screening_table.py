"""The [screening] table: the shipped default loads, every rule has severity, message and
source, and a bad clinic copy fails on load with the key, the problem and the line."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from kaptools.errors import ProtocolError
from kaptools.protocol import (
    PROTOCOL_ENV_VAR,
    default_protocol,
    load_protocol,
    parse_protocol,
    protocol_from_env,
)
from kaptools.screening import HistoryQuestion, Severity, rule_catalogue

DEFAULT_TEXT = default_protocol().path.read_text(encoding="utf-8")  # type: ignore[union-attr]


def edited(old: str, new: str) -> str:
    assert DEFAULT_TEXT.count(old) == 1, old
    return DEFAULT_TEXT.replace(old, new)


def line_of(text: str, needle: str) -> int:
    return next(i for i, line in enumerate(text.splitlines(), start=1) if needle in line)


def test_every_rule_has_severity_message_and_source() -> None:
    """Each rule of the default protocol has a severity, a clinician's message and a source."""
    catalogue = rule_catalogue(default_protocol())
    assert len(catalogue) > 40
    for rule in catalogue.rules:
        assert isinstance(rule.severity, Severity)
        assert len(rule.message) > 10 and "{" not in rule.message
        assert len(rule.source) > 5


def test_every_checklist_question_has_its_rule_and_missing_rule() -> None:
    """Each history question is a rule id, and its unknown answer has a missing rule."""
    catalogue = rule_catalogue(default_protocol())
    for q in HistoryQuestion:
        assert q.value in catalogue and f"{q.value}_unknown" in catalogue
        assert catalogue[f"{q.value}_unknown"].severity == Severity.MISSING
        assert q.label in catalogue[f"{q.value}_unknown"].message


def test_thresholds_carry_their_units_and_sources() -> None:
    """Every screening threshold has a unit and a source citing the clinical sources."""
    t = default_protocol().screening.thresholds
    for name in type(t).model_fields:
        threshold = getattr(t, name)
        assert threshold.unit and threshold.source
    assert (t.bp_caution_systolic_above.value, t.bp_defer_systolic_min.value) == (140, 180)
    assert (t.age_minimum.value, t.age_caution_from.value) == (18, 65)


@pytest.mark.parametrize(
    ("old", "new", "key", "needle"),
    [
        (
            'bp_defer_systolic_min = { value = 180, unit = "mmHg"',
            'bp_defer_systolic_min = { value = 180, unit = "kPa"',
            "screening.thresholds.bp_defer_systolic_min",
            "bp_defer_systolic_min",
        ),
        (
            '[screening.rules.psychosis]\nseverity = "exclusion"',
            '[screening.rules.psychosis]\nseverity = "fatal"',
            "screening.rules.psychosis.severity",
            'severity = "fatal"',
        ),
        (
            '[screening.rules.bladder_symptoms]\nseverity = "caution"',
            '[screening.rules.bladder_symptoms]\nseverity = "caution"\nsevrity = "info"',
            "screening.rules.bladder_symptoms.sevrity",
            "sevrity",
        ),
        (
            'classes = ["maoi", "psychostimulant"]',
            'classes = ["maoi", "stimulant"]',
            "screening.rules.blood_pressure_medication.classes",
            'classes = ["maoi", "stimulant"]',
        ),
        (
            'primary_diagnoses = ["F32", "F33"]',
            'primary_diagnoses = ["F32", "depression"]',
            "screening.indication.primary_diagnoses",
            "primary_diagnoses = [",
        ),
        (
            'failed_outcomes = ["no_response", "partial_response"]',
            'failed_outcomes = ["no_response", "unknown"]',
            "screening.trials.failed_outcomes",
            "failed_outcomes",
        ),
    ],
)
def test_bad_screening_value_names_key_problem_and_line(
    old: str, new: str, key: str, needle: str
) -> None:
    """A wrong unit, severity, key, class, code or outcome names its key and line."""
    text = edited(old, new)
    with pytest.raises(ProtocolError) as err:
        parse_protocol(text, origin="clinic.toml")
    message = str(err.value)
    assert key in message
    assert f"line {line_of(text, needle)}" in message


def test_message_naming_an_unknown_value_is_refused() -> None:
    """A rule message may only name protocol values; a typo in braces is refused with its key."""
    text = edited('message = "Age under {age_minimum}:', 'message = "Age under {age_minimun}:')
    with pytest.raises(ProtocolError, match=r"age_under_minimum\.message.*age_minimun"):
        parse_protocol(text)


def test_required_message_must_name_the_answer() -> None:
    """The required-answer message must say which answer is missing."""
    text = edited('message = "{answer}: not recorded', 'message = "Something: not recorded')
    with pytest.raises(ProtocolError, match=r"screening\.required\.message"):
        parse_protocol(text)


def test_caution_line_at_or_above_defer_line_is_refused() -> None:
    """A caution threshold at or above its defer threshold would leave no caution band."""
    text = edited(
        "bp_caution_systolic_above = { value = 140,", "bp_caution_systolic_above = { value = 190,"
    )
    with pytest.raises(ProtocolError, match=r"bp_caution_systolic_above.*must be below"):
        parse_protocol(text)


def test_fractional_trial_count_is_refused() -> None:
    """The number of failed trials needed is a whole number."""
    text = edited(
        "failed_adequate_trials_min = { value = 2,", "failed_adequate_trials_min = { value = 1.5,"
    )
    with pytest.raises(ProtocolError, match=r"failed_adequate_trials_min.*whole number"):
        parse_protocol(text)


def test_missing_rule_is_named() -> None:
    """Deleting a rule's table fails with the rule's key named as missing."""
    start = DEFAULT_TEXT.index("[screening.rules.ketamine_misuse]")
    end = DEFAULT_TEXT.index("[screening.rules.severe_hepatic_impairment]")
    text = DEFAULT_TEXT[:start] + DEFAULT_TEXT[end:]
    with pytest.raises(ProtocolError, match=r"screening\.rules\.ketamine_misuse.*missing"):
        parse_protocol(text)


def test_clinic_copy_is_found_through_the_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A clinic's copy named by KAPTOOLS_PROTOCOL is loaded, with its own content hash."""
    copy = tmp_path / "clinic.toml"
    copy.write_text(
        re.sub(r'version = "[^"]+"', 'version = "clinic-2"', DEFAULT_TEXT, count=1),
        encoding="utf-8",
    )
    monkeypatch.setenv(PROTOCOL_ENV_VAR, str(copy))
    protocol = protocol_from_env()
    assert protocol.info.version == "clinic-2"
    assert protocol.info.sha256 != default_protocol().info.sha256
    assert load_protocol(copy).info == protocol.info


def test_rule_catalogue_summary_and_html() -> None:
    """The catalogue describes itself and escapes what it shows."""
    catalogue = rule_catalogue(default_protocol())
    assert "screening rules" in catalogue.summary
    assert "<table" in catalogue._repr_html_()
    with pytest.raises(KeyError, match="no screening rule"):
        catalogue.index("not_a_rule")
