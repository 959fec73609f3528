"""Coded diagnoses fire the checklist rules through the ICD-10-CM hierarchy.

Codes are drawn from the ICD-10-CM release the simple-icd-10-cm package ships (every
code under each code or block a rule lists), never from a list typed here: the
default protocol's "Coded diagnoses fire the same rules as answers".
"""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest

from kaptools import icd10
from kaptools.errors import ProtocolError, RecordError
from kaptools.protocol import default_protocol, parse_protocol
from kaptools.protocol._screening import HistoryQuestion, QuestionRule
from kaptools.screening import (
    ScreeningRecord,
    records_to_frame,
    screen,
    screen_cohort,
    synthetic_screening_frame,
)

VIGNETTES = json.loads(
    (Path(__file__).parents[1] / "data" / "screening_vignettes.json").read_text(encoding="utf-8")
)

PROTOCOL = default_protocol()
CODED_RULES: dict[str, QuestionRule] = {
    q.value: getattr(PROTOCOL.screening.rules, q.value)
    for q in HistoryQuestion
    if getattr(PROTOCOL.screening.rules, q.value).diagnoses
}


def _under(rule: QuestionRule) -> list[str]:
    """Every code under the rule's listed codes, from the package's hierarchy."""
    codes: set[str] = set()
    for root in rule.diagnoses:
        codes.update(icd10.descendants(root))
        if icd10.is_code(root):
            codes.add(root)
    return sorted(codes)


def _record(code: str, **history: str) -> dict[str, Any]:
    """The vignettes' base record (every answer 'no') with ``code`` added."""
    record = copy.deepcopy(VIGNETTES["base_record"])
    record["diagnoses"] = ["F33.1", code]
    record["history"].update(history)
    return record


def test_every_listed_code_exists_and_has_a_description() -> None:
    """Each code or block a rule lists is in the shipped ICD-10-CM release, with a name."""
    for rule in CODED_RULES.values():
        for item in (*rule.diagnoses, *rule.diagnoses_except):
            assert icd10.is_item(item) and icd10.describe(item)


@pytest.mark.parametrize("rule_id", sorted(CODED_RULES))
def test_every_code_under_a_rule_fires_it_on_both_paths(rule_id: str) -> None:
    """All descendants of each listed code fire the rule with its answer 'no' (cohort
    path for every code; the single path for a spread of them), and say they disagree."""
    rule = CODED_RULES[rule_id]
    codes = [c for c in _under(rule) if rule.covers(c)]
    assert codes, f"{rule_id}: no code under {rule.diagnoses}"
    records = [ScreeningRecord.parse(_record(c, **{rule_id: "no"})) for c in codes]
    cohort = screen_cohort(records_to_frame(records))
    assert cohort.errors.empty
    assert cohort.fired[rule_id].all()
    assert cohort.fired["diagnosis_answer_disagreement"].all()
    for code in codes[:: max(1, len(codes) // 7)]:
        result = screen(_record(code, **{rule_id: "no"}))
        finding = result.finding(rule_id)
        assert finding is not None
        assert code in finding.detail and icd10.describe(code) in finding.detail
        assert "disagree" in finding.detail


def test_substance_use_codes_split_on_the_release_words_in_remission() -> None:
    """Under F10-F19 (not nicotine), codes ICD-10-CM calls 'in remission' give the remitted
    caution, every other code the active exclusion; nicotine codes give neither."""
    active = CODED_RULES["active_substance_use_disorder"]
    remitted = CODED_RULES["remitted_substance_use_disorder"]
    all_codes = icd10.descendants("F10-F19")
    nicotine = {"F17", *icd10.descendants("F17")}
    remission = [c for c in all_codes if "in remission" in icd10.describe(c) and c not in nicotine]
    assert len(remission) >= 20
    for code in all_codes:
        if code in nicotine:
            assert not active.covers(code) and not remitted.covers(code)
        elif code in remission:
            assert remitted.covers(code) and not active.covers(code)
        elif icd10.is_code(code) and not any(r in icd10.descendants(code) for r in remission):
            assert active.covers(code) and not remitted.covers(code)


def test_aneurysm_rule_covers_aorta_intracranial_and_peripheral_vessels() -> None:
    """The label's sites: thoracic and abdominal aorta, intracranial and peripheral arteries."""
    rule = CODED_RULES["aneurysm_or_avm"]
    for block, word in (("I71", "thoracic"), ("I71", "abdominal"), ("I72", "extremity")):
        hits = [c for c in icd10.descendants(block) if word in icd10.describe(c).lower()]
        assert hits and all(rule.covers(c) for c in hits)
    assert rule.covers("I67.1") and rule.covers("Q28.2")


def test_a_code_and_an_answer_that_disagree_keep_the_more_serious_reading() -> None:
    """A coded aneurysm with the answer 'no' excludes; an answer 'yes' without code too."""
    result = screen(_record("I67.1", aneurysm_or_avm="no"))
    assert result.status.value == "not_eligible"
    assert result.finding("diagnosis_answer_disagreement") is not None
    agreed = screen(_record("I67.1", aneurysm_or_avm="yes", cardiovascular_disease="yes"))
    assert agreed.finding("diagnosis_answer_disagreement") is None


def test_summary_and_html_show_each_code_with_its_description() -> None:
    """The summary and HTML name every recorded code with its ICD-10-CM description."""
    result = screen(_record("I67.1", aneurysm_or_avm="no"))
    for text in (result.summary, result._repr_html_()):
        assert "Cerebral aneurysm, nonruptured" in text
        assert "Major depressive disorder, recurrent, moderate" in text


@pytest.mark.parametrize("code", ["F33.7", "I71.9X", "Z99.99"])
def test_a_code_that_does_not_exist_is_an_error_naming_it_and_the_field(code: str) -> None:
    """Code-shaped but not in ICD-10-CM: a RecordError naming the code and its place."""
    with pytest.raises(RecordError, match=rf"diagnoses\[2\].*{code.replace('.', '[.]')}"):
        ScreeningRecord.parse({"diagnoses": ["F33.1", code]})


def test_a_code_that_does_not_exist_makes_its_csv_row_malformed() -> None:
    """In the wide layout the row is malformed (never screened), naming the column."""
    frame = synthetic_screening_frame(4, seed=5).astype(object)
    frame.loc[1, "dx2"] = "F33.7"
    cohort = screen_cohort(frame)
    assert cohort.table["status"].iloc[1] == "malformed"
    row = cohort.errors.iloc[0]
    assert row["column"] == "dx2" and row["value"] == "F33.7"
    assert "ICD-10-CM" in row["reason"]
    assert (cohort.table["status"].iloc[[0, 2, 3]] != "malformed").all()


def test_a_protocol_listing_a_code_that_does_not_exist_is_refused() -> None:
    """A clinic's copy naming a non-existent code fails to load, naming key and code."""
    text = PROTOCOL.path.read_text(encoding="utf-8")  # type: ignore[union-attr]
    bad = text.replace('diagnoses = ["I67.4"]', 'diagnoses = ["I67.9X"]', 1)
    assert bad != text
    with pytest.raises(ProtocolError, match=r"hypertensive_encephalopathy.*I67\.9X"):
        parse_protocol(bad, origin="copy")


def test_codes_are_read_through_the_hierarchy_not_by_prefix() -> None:
    """A code that shares a prefix but is not under the listed code does not fire it."""
    rule = CODED_RULES["bipolar_disorder"]
    assert rule.covers("F31.81") and not rule.covers("F32.1")
