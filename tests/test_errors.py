"""Errors carry their facts (field path, rule, value, fix) as well as a message."""

from __future__ import annotations

import pickle
import subprocess
import sys

import pytest
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from kaptools.errors import (
    NOT_GIVEN,
    InvalidInputError,
    Problem,
    ProtocolError,
    RecordError,
    dotted_path,
    format_problems,
    human_path,
    problems_from_validation,
)
from kaptools.protocol import DEFAULT_PROTOCOL_PATH, parse_protocol
from kaptools.screening import ScreeningRecord
from kaptools.sessions import parse_dosing_session


class _Row(BaseModel):
    model_config = ConfigDict(extra="forbid")
    weeks: int = Field(ge=0)


class _Table(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str
    rows: list[_Row]


def _validation_error(data: object) -> ValidationError:
    with pytest.raises(ValidationError) as caught:
        _Table.model_validate(data)
    return caught.value


def test_problem_facts_are_attributes_and_args():
    """An error built from problems keeps them in ``problems``, ``args`` and the first
    problem's field, rule, value and fix as attributes; the message lists them all."""
    first = Problem("rows[2].weeks", "must be 0 or more", -3, "enter the weeks taken")
    second = Problem("name", "required, but missing", fix="supply it")
    exc = RecordError.of("Table", [first, second])
    assert exc.problems == (first, second)
    assert exc.args == (str(exc), first, second)
    assert (exc.field, exc.rule, exc.value, exc.fix) == (
        "rows[2].weeks",
        "must be 0 or more",
        -3,
        "enter the weeks taken",
    )
    assert str(exc) == (
        "Table is invalid: rows[2].weeks: must be 0 or more (got -3); fix: enter the weeks "
        "taken; name: required, but missing; fix: supply it."
    )
    assert format_problems("Table", [first, second]) == str(exc)
    again = pickle.loads(pickle.dumps(exc))
    assert again.problems == exc.problems and str(again) == str(exc)


def test_message_only_error_has_no_structure():
    """An error raised with a message alone reads as before and carries no problems."""
    exc = InvalidInputError("weight_kg: must be a number")
    assert str(exc) == "weight_kg: must be a number"
    assert exc.problems == () and exc.field is None and exc.value is NOT_GIVEN


def test_one_reading_of_a_pydantic_error():
    """Each pydantic error becomes a Problem with its path, rule, value received and fix."""
    problems = problems_from_validation(
        _validation_error({"rows": [{"weeks": 2}, {"weeks": -1}], "colour": "red"})
    )
    by_field = {p.field: p for p in problems}
    assert set(by_field) == {"name", "rows[2].weeks", "colour"}
    assert by_field["name"].value is NOT_GIVEN and by_field["name"].fix == "supply it"
    assert by_field["rows[2].weeks"].loc == ("rows", 1, "weeks")
    assert by_field["rows[2].weeks"].value == -1
    assert "greater than or equal to 0" in by_field["rows[2].weeks"].rule
    assert by_field["colour"].rule == "unknown field" and by_field["colour"].value == "red"
    assert all(p.fix for p in problems)


def test_paths_are_written_for_their_reader():
    """Records count items from 1 (``rows[2]``); key paths keep TOML's 0-based index."""
    assert human_path(("rows", 1, "weeks")) == "rows[2].weeks"
    assert dotted_path(("courses", "iv_ketamine", "phases", 0)) == "courses.iv_ketamine.phases.0"


def test_screening_record_error_names_field_value_and_fix():
    """A bad screening record's RecordError carries each problem as facts."""
    with pytest.raises(RecordError) as caught:
        ScreeningRecord.parse({"age_years": "forty", "sex": "x"})
    exc = caught.value
    fields = {p.field: p for p in exc.problems}
    assert fields["age_years"].value == "forty"
    assert fields["sex"].value == "x" and fields["sex"].fix
    assert str(exc).startswith("Screening record is invalid: ")
    assert "age_years" in str(exc) and "'forty'" in str(exc)


def test_protocol_error_names_key_line_value_and_fix():
    """A protocol file that fails its schema names the key, its line, the value and the fix."""
    text = DEFAULT_PROTOCOL_PATH.read_text("utf-8")
    bad = text.replace("age_minimum = { value = 18,", 'age_minimum = { value = "x",', 1)
    assert bad != text
    with pytest.raises(ProtocolError) as caught:
        parse_protocol(bad, origin="test.toml")
    problem = caught.value.problems[0]
    assert problem.field.startswith("screening.thresholds.age_minimum")
    assert problem.value == "x"
    assert problem.line == 1 + text.splitlines().index(
        next(ln for ln in text.splitlines() if ln.startswith("age_minimum ="))
    )
    assert problem.fix
    assert f"(line {problem.line})" in str(caught.value)


def test_session_record_error_names_field_value_and_fix():
    """A bad dosing-session record's RecordError carries its problems."""
    with pytest.raises(RecordError) as caught:
        parse_dosing_session({"patient_id": "SYN-0001", "no_such_field": 1})
    fields = {p.field: p for p in caught.value.problems}
    assert fields["no_such_field"].rule == "unknown field"
    assert "dosing-session fields" in fields["no_such_field"].fix
    assert str(caught.value).startswith("The dosing-session record is invalid: ")


def test_cli_prints_the_formatted_message(tmp_path):
    """The command line prints the same message, naming the key, line, value and fix."""
    text = DEFAULT_PROTOCOL_PATH.read_text("utf-8")
    bad = tmp_path / "bad.toml"
    bad.write_text(text.replace("age_minimum = { value = 18,", 'age_minimum = { value = "x",', 1))
    rows = tmp_path / "in.csv"
    rows.write_text("patient_id\nSYN-1\n")
    done = subprocess.run(
        [sys.executable, "-m", "kaptools.cli", "screen", str(rows), "--out",
         str(tmp_path / "out.csv"), "--protocol", str(bad)],
        capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip
    assert done.returncode == 2
    assert "kaptools screen: error: Protocol" in done.stderr
    assert "screening.thresholds.age_minimum" in done.stderr and "(got 'x')" in done.stderr
    assert "fix:" in done.stderr
