"""The screening record: its published JSON Schema is current and documented, unknown is
never "no", and bad input is refused with a RecordError naming the field."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import kaptools.screening as screening
from kaptools.errors import RecordError
from kaptools.screening import (
    Answer,
    CssrsQuestion,
    HistoryQuestion,
    ScreeningRecord,
    screening_record_schema,
    synthetic_screening_records,
)

PACKAGE = Path(screening.__file__).parent
SCHEMA_FILE = PACKAGE / "screening_record.schema.json"
README = (PACKAGE / "README.md").read_text(encoding="utf-8")


def test_committed_schema_matches_the_model() -> None:
    """screening_record.schema.json is exactly what screening_record_schema() gives now."""
    committed = json.loads(SCHEMA_FILE.read_text(encoding="utf-8"))
    assert committed == screening_record_schema(), (
        "Regenerate the schema: kaptools screen --schema --out "
        "kaptools/screening/screening_record.schema.json"
    )


def test_schema_is_valid_and_accepts_synthetic_records() -> None:
    """The schema is valid draft 2020-12 and every synthetic record validates against it."""
    schema = screening_record_schema()
    jsonschema.Draft202012Validator.check_schema(schema)
    validator = jsonschema.Draft202012Validator(schema)
    for record in synthetic_screening_records(200, seed=11):
        validator.validate(record.model_dump(mode="json"))


def test_every_field_is_described_in_the_schema_and_readme() -> None:
    """Every record field has a description in the schema and a mention in README.md."""
    schema = screening_record_schema()
    for name, prop in schema["properties"].items():
        assert prop.get("description"), name
        assert f"`{name}`" in README, name
    for name in screening.AntidepressantTrial.model_fields:
        assert f"`antidepressant_trials[].{name}`" in README, name
    for name in screening.Medication.model_fields:
        assert f"`current_medications[].{name}`" in README, name
    for name in screening.CssrsScreener.model_fields:
        assert f"`{name}`" in README, name
    for q in HistoryQuestion:
        assert f"`{q.value}`" in README
        assert schema["$defs"]["HistoryChecklist"]["properties"][q.value]["description"]


def test_left_out_answers_are_unknown_never_no() -> None:
    """A record with only an age has every answer unknown and its lists unknown."""
    record = ScreeningRecord.parse({"age_years": 30})
    assert record.pregnant == Answer.UNKNOWN
    assert all(record.history.answer(q) == Answer.UNKNOWN for q in HistoryQuestion)
    assert record.antidepressant_trials is None and record.current_medications is None
    assert record.diagnoses is None


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        ({}, None),
        ({"diagnoses": None}, None),
        ({"diagnoses": []}, ()),
        ({"diagnoses": ["F33.1"]}, ("F33.1",)),
    ],
)
def test_diagnoses_left_out_are_unknown_and_an_empty_list_is_none(
    data: dict[str, Any], expected: tuple[str, ...] | None
) -> None:
    """Diagnoses left out or null are unknown; [] is "no diagnosis"; a list is recorded."""
    record = ScreeningRecord.parse(data)
    assert record.diagnoses == expected
    assert ScreeningRecord.parse_json(record.model_dump_json()) == record


def test_empty_screeners_are_read_as_not_given() -> None:
    """A C-SSRS object or PHQ-9 list with no answer at all is read as not given."""
    record = ScreeningRecord.parse({"cssrs": {}, "phq9": [None] * 9})
    assert record.cssrs is None and record.phq9 is None


def test_codes_are_normalised() -> None:
    """ICD-10-CM codes are upper-cased and get their dot."""
    record = ScreeningRecord.parse({"diagnoses": ["f331", " F43.10 ", "F41.1"]})
    assert record.diagnoses == ("F33.1", "F43.10", "F41.1")


@pytest.mark.parametrize(
    ("field", "value", "fragment"),
    [
        ("age_years", 17.5, "age_years"),
        ("age_years", 130, "age_years"),
        ("age_years", True, "age_years"),
        ("sex", "f", "sex"),
        ("pregnant", "maybe", "pregnant"),
        ("diagnoses", ["depression"], "diagnoses"),
        ("diagnoses", "F33.1", "diagnoses"),
        ("systolic_bp_mmhg", 900, "systolic_bp_mmhg"),
        ("systolic_bp_mmhg", float("nan"), "systolic_bp_mmhg"),
        ("phq9", [0] * 8, "phq9"),
        ("phq9", [0] * 8 + [4], "phq9"),
        ("phq9", [0] * 8 + [1.5], "phq9"),
        ("antidepressant_trials", [{"drug": "sertraline", "daily_dose_mg": -5}], "daily_dose_mg"),
        ("antidepressant_trials", [{"drug": " "}], "drug"),
        ("antidepressant_trials", [{"drug": "x", "outcome": "better"}], "outcome"),
        ("current_medications", [{"drug": "lorazepam", "daily_dose_mg": True}], "daily_dose_mg"),
        ("history", {"psychosis": "no", "psychosys": "no"}, "psychosys"),
        ("cssrs", {"intent": "sometimes"}, "intent"),
        ("favourite_colour", "blue", "favourite_colour"),
    ],
)
def test_bad_field_raises_record_error_naming_it(field: str, value: Any, fragment: str) -> None:
    """Each kind of bad value is refused with a RecordError that names the field."""
    with pytest.raises(RecordError, match=fragment):
        ScreeningRecord.parse({field: value})


def test_swapped_blood_pressure_is_refused() -> None:
    """A diastolic at or above the systolic reading is refused as probably swapped."""
    with pytest.raises(RecordError, match="swapped"):
        ScreeningRecord.parse({"systolic_bp_mmhg": 80, "diastolic_bp_mmhg": 120})


def test_recent_suicidal_behaviour_without_lifetime_behaviour_is_refused() -> None:
    """C-SSRS Q6: behaviour in the past 3 months with a lifetime "no" is a contradiction."""
    cssrs = {"behaviour_lifetime": "no", "behaviour_past_3_months": "yes"}
    with pytest.raises(RecordError, match=r"cssrs.*behaviour_lifetime"):
        ScreeningRecord.parse({"cssrs": cssrs})


def test_lifetime_suicidal_behaviour_is_recorded_and_implied_by_recent_behaviour() -> None:
    """Lifetime behaviour is a field; a past-3-months yes implies it, a lifetime no ends Q6."""
    recent = ScreeningRecord.parse({"cssrs": {"behaviour_past_3_months": "yes"}}).cssrs
    assert recent is not None
    assert recent.effective(CssrsQuestion.BEHAVIOUR_LIFETIME) == Answer.YES
    never = ScreeningRecord.parse({"cssrs": {"behaviour_lifetime": "no"}}).cssrs
    assert never is not None and never.behaviour_lifetime == Answer.NO
    assert never.effective(CssrsQuestion.BEHAVIOUR_PAST_3_MONTHS) == Answer.NO
    unasked = ScreeningRecord.parse({"cssrs": {"behaviour_past_3_months": "no"}}).cssrs
    assert unasked is not None
    assert unasked.effective(CssrsQuestion.BEHAVIOUR_LIFETIME) == Answer.UNKNOWN


def test_invalid_json_is_a_record_error() -> None:
    """Text that is not JSON is a RecordError, not a crash."""
    with pytest.raises(RecordError, match="not valid JSON"):
        ScreeningRecord.parse_json("{not json")


def test_message_gives_the_value_and_the_fix() -> None:
    """The message shows the value received and where to find the schema."""
    with pytest.raises(RecordError) as err:
        ScreeningRecord.parse({"age_years": 200})
    assert "200" in str(err.value) and "--schema" in str(err.value)


_garbage = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(10**12), max_value=10**12),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=12),
    st.lists(st.integers(), max_size=3),
    st.dictionaries(st.text(max_size=5), st.integers(), max_size=2),
)
_fields = st.sampled_from(
    [*ScreeningRecord.model_fields, "history", "cssrs", "unknown_field", "diagnoses"]
)


@settings(max_examples=150, suppress_health_check=[HealthCheck.too_slow], deadline=None)
@given(data=st.dictionaries(_fields, _garbage, max_size=5))
def test_any_input_gives_a_record_or_a_record_error(data: dict[str, Any]) -> None:
    """Whatever arrives, parsing gives a valid record or a RecordError: never another crash."""
    try:
        record = ScreeningRecord.parse(data)
    except RecordError as exc:
        assert str(exc).startswith("Screening record is invalid")
        return
    assert isinstance(record, ScreeningRecord)
    screening.screen(record)
