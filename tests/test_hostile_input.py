"""Hostile input (issue 13): one test per defect found by crafted files and seeded fuzzing.

Each test was written before its fix. Cut-short rows are never screened, exported cells
never execute in a spreadsheet, and nothing a user can type crashes or stalls kaptools.
"""

from __future__ import annotations

import csv
import io
import json
import math
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from kaptools import cli
from kaptools.errors import IncompleteAnswersError, InvalidAnswerError
from kaptools.outcomes import course_outcomes
from kaptools.scores import score, score_frame
from kaptools.screening import MALFORMED, screen_cohort, synthetic_screening_frame


def _critical_row_frame() -> pd.DataFrame:
    """Three synthetic rows; row 2 has a C-SSRS intent 'yes' (critical alert, not eligible)."""
    frame = synthetic_screening_frame(3, seed=5).astype(object)
    cssrs = [c for c in frame.columns if str(c).startswith("cssrs_")]
    for c in cssrs:
        frame.loc[1, c] = "yes"
    return frame


def test_a_short_csv_row_is_malformed_with_its_line_and_never_screened(tmp_path: Path) -> None:
    """A row missing its last cells (here the C-SSRS answers) is malformed, not 'not asked'."""
    frame = _critical_row_frame()
    full = tmp_path / "full.csv"
    frame.to_csv(full, index=False)
    assert screen_cohort(full).table["alert_level"].iloc[1] == "critical"
    lines = full.read_text(encoding="utf-8").splitlines()
    cells = lines[2].split(",")
    n_cssrs = sum(str(c).startswith("cssrs_") for c in frame.columns)
    lines[2] = ",".join(cells[:-n_cssrs])  # the row stops before its C-SSRS answers
    short = tmp_path / "short.csv"
    short.write_text("\n".join(lines) + "\n", encoding="utf-8")
    cohort = screen_cohort(short)
    status = list(cohort.table["status"])
    assert status[1] == MALFORMED and MALFORMED not in (status[0], status[2])
    reason = cohort.errors.set_index("row")["reason"][2]
    assert "line 3" in reason and "cells but the header has" in reason
    out = tmp_path / "out.csv"
    code = cli.main(["screen", str(short), "--out", str(out), "-q"])
    assert code == cli.EXIT_PROBLEMS
    assert pd.read_csv(out)["status"].iloc[1] == MALFORMED


def test_a_long_csv_row_names_its_line_too(tmp_path: Path) -> None:
    """A row with extra cells is malformed and its reason gives the file line."""
    path = tmp_path / "long.csv"
    synthetic_screening_frame(3, seed=5).to_csv(path, index=False)
    lines = path.read_text(encoding="utf-8").splitlines()
    lines[3] += ",x,y"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    cohort = screen_cohort(path)
    assert list(cohort.table["status"] == MALFORMED) == [False, False, True]
    assert "line 4" in cohort.errors["reason"].iloc[0]


@pytest.mark.parametrize("cut", [1, 2, 5])
def test_any_short_row_is_malformed_whatever_is_cut(tmp_path: Path, cut: int) -> None:
    """However many trailing cells are missing (blank or not), the row is malformed."""
    path = tmp_path / "c.csv"
    synthetic_screening_frame(2, seed=1).to_csv(path, index=False)
    lines = path.read_text(encoding="utf-8").splitlines()
    header_width = len(lines[0].split(","))
    cells = lines[1].split(",")
    assert len(cells) == header_width
    lines[1] = ",".join(cells[:-cut])
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    assert list(screen_cohort(path).table["status"] == MALFORMED) == [True, False]


# ---------------------------------------------------------------------------
# CSV injection (OWASP): cells a spreadsheet would execute are neutralised in CSV

FORMULAS = ['=HYPERLINK("http://x","y")', "+1+cmd|'/C calc'!A0", "-2+3", "@SUM(A1)", "\t=1", "\r=1"]


@pytest.mark.parametrize("formula", FORMULAS)
def test_screen_output_and_errors_csv_never_start_a_cell_with_a_formula(
    tmp_path: Path, formula: str
) -> None:
    """Patient ids and bad cell values reach the CSVs neutralised; JSON Lines keep them raw."""
    frame = synthetic_screening_frame(3, seed=2).astype(object)
    frame.loc[0, "patient_id"] = formula
    frame.loc[1, "patient_id"] = formula
    frame.loc[1, "age_years"] = formula  # malformed: goes to the errors CSV with its value
    src = tmp_path / "in.csv"
    frame.to_csv(src, index=False)
    out, errors = tmp_path / "out.csv", tmp_path / "out.errors.csv"
    assert cli.main(["screen", str(src), "--out", str(out), "-q"]) == cli.EXIT_PROBLEMS
    for path in (out, errors):
        with path.open(encoding="utf-8", newline="") as fh:
            for row in csv.reader(fh):
                for cell in row:
                    assert not cell or cell[0] not in "=+-@\t\r", (path.name, cell)
    jsonl = tmp_path / "out.jsonl"
    cli.main(["screen", str(src), "--out", str(jsonl), "-q"])
    raw = json.loads(jsonl.read_text(encoding="utf-8").splitlines()[0])["patient_id"]
    assert raw in (formula, formula.lstrip("\r"))  # pandas writes a bare CR as a line end
    with out.open(encoding="utf-8", newline="") as fh:
        assert next(iter(csv.DictReader(fh)))["patient_id"] == "'" + raw


def test_plan_csv_neutralises_formula_cells() -> None:
    """A session note (or any text cell) starting with '=' is written with a leading quote."""
    import dataclasses
    import datetime as dt

    from kaptools.scheduling import ClinicCalendar, plan_course, plan_to_csv

    plan = plan_course(
        "iv_ketamine",
        dt.date(2026, 3, 2),
        calendar=ClinicCalendar(country="US", subdivision="NY"),
        screening_status="eligible",
        weight_kg=70,
        age=40,
        patient_id="SYN-0001",
    )
    sessions = list(plan.sessions)
    sessions[0] = dataclasses.replace(sessions[0], note="=1+1", label="@cmd")
    plan = dataclasses.replace(plan, sessions=tuple(sessions))
    rows = list(csv.DictReader(io.StringIO(plan_to_csv(plan))))
    assert rows[0]["note"] == "'=1+1" and rows[0]["label"] == "'@cmd"
    assert rows[0]["dose_mg"] == "" or not rows[0]["dose_mg"].startswith("'")


@pytest.mark.parametrize(
    ("value", "written"),
    [
        ("=1+1", "'=1+1"),
        ("-1+1", "'-1+1"),
        ("@x", "'@x"),
        ("\t1", "'\t1"),
        ("-5", "-5"),
        ("+1.5e3", "+1.5e3"),
        ("SYN-1", "SYN-1"),
        ("", ""),
        (3, 3),
        (None, None),
    ],
)
def test_safe_cell_quotes_formulas_and_leaves_plain_numbers(value: object, written: object) -> None:
    """Only text a spreadsheet would execute gains the quote; plain numbers cannot execute."""
    from kaptools.spreadsheet import safe_cell

    assert safe_cell(value) == written


# ---------------------------------------------------------------------------
# Numbers: out-of-range magnitudes, NaN, infinities and non-ASCII digits are refused

NUMERIC_COLUMNS = [
    c.name
    for c in __import__("kaptools.screening", fromlist=["wide_columns"]).wide_columns(
        diagnosis_slots=1, trial_slots=1, medication_slots=1
    )
    if c.kind == "number"
]


@pytest.mark.parametrize("column", NUMERIC_COLUMNS)
@pytest.mark.parametrize(
    "value", ["9" * 400, "-" + "9" * 400, "1e400", "nan", "inf", "１２", "4\u0660"]
)
def test_a_huge_or_non_ascii_number_in_any_numeric_cell_is_malformed(
    tmp_path: Path, column: str, value: str
) -> None:
    """The row is reported malformed naming the column; the CLI exits 1, never 70."""
    frame = synthetic_screening_frame(3, seed=2).astype(object)
    if column.startswith("med1"):
        frame.loc[0, "med1_drug"] = "sertraline"
        frame.loc[0, "medication_list"] = "recorded"
    if column.startswith("trial1"):
        frame.loc[0, "trial1_drug"] = "sertraline"
        frame.loc[0, "trial_history"] = "recorded"
    frame.loc[0, column] = value
    src, out = tmp_path / "in.csv", tmp_path / "out.csv"
    frame.to_csv(src, index=False)
    assert cli.main(["screen", str(src), "--out", str(out), "-q"]) == cli.EXIT_PROBLEMS
    errors = pd.read_csv(tmp_path / "out.errors.csv", dtype=str)
    assert column in set(errors.loc[errors["row"] == "1", "column"])


@pytest.mark.parametrize("phq9", [[0] * 8 + [float("nan")], [float("nan")] * 9])
def test_a_phq9_answer_of_nan_is_refused_not_read_as_unanswered(phq9: list[float]) -> None:
    """NaN is not 'not asked' in a record: null is. The error names the item."""
    from kaptools.errors import RecordError
    from kaptools.screening import ScreeningRecord

    with pytest.raises(RecordError, match=r"phq9.*item [19].*null"):
        ScreeningRecord.parse({"phq9": phq9})
    text = json.dumps({"phq9": phq9})  # Python writes NaN, which some JSON readers accept
    with pytest.raises(RecordError, match="phq9"):
        ScreeningRecord.parse_json(text)


def test_an_error_message_never_repeats_a_400_digit_value() -> None:
    """The value received is shown, shortened: an error stays one readable line."""
    from kaptools.errors import RecordError
    from kaptools.screening import ScreeningRecord

    with pytest.raises(RecordError) as info:
        ScreeningRecord.parse({"weight_kg": 10**400})
    assert "weight_kg" in str(info.value) and len(str(info.value)) < 400


# ---------------------------------------------------------------------------
# Protocol files: values finite and plausible, nesting and size bounded


def _default_text() -> str:
    from kaptools.protocol import DEFAULT_PROTOCOL_PATH

    return DEFAULT_PROTOCOL_PATH.read_text(encoding="utf-8")


@pytest.mark.parametrize("value", ["inf", "+inf", "-inf", "nan", "1e300", "-180", "99999"])
def test_a_non_finite_or_implausible_threshold_is_refused_with_its_key(value: str) -> None:
    """bp_defer_systolic_min = inf used to load and switch the defer rule off."""
    from kaptools.errors import ProtocolError
    from kaptools.protocol import parse_protocol

    text = _default_text().replace(
        "bp_defer_systolic_min = { value = 180,", f"bp_defer_systolic_min = {{ value = {value},"
    )
    line = 1 + text.split("bp_defer_systolic_min = {")[0].count("\n")
    with pytest.raises(ProtocolError, match=rf"bp_defer_systolic_min.*\(line {line}\)"):
        parse_protocol(text, origin="clinic.toml")


def test_every_threshold_of_the_default_protocol_is_finite_and_plausible() -> None:
    """The shipped defaults pass the same plausibility ranges a clinic's copy must."""
    from kaptools.protocol import default_protocol

    assert default_protocol().screening.thresholds.bp_defer_systolic_min.value == 180


@pytest.mark.parametrize("depth", [50, 2000, 100_000])
def test_deeply_nested_toml_is_refused_not_a_recursion_error(depth: int) -> None:
    """A protocol nested thousands deep is a ProtocolError naming the limit."""
    from kaptools.errors import ProtocolError
    from kaptools.protocol import parse_protocol

    text = _default_text() + "\n[extra]\nx = " + "[" * depth + "]" * depth + "\n"
    with pytest.raises(ProtocolError, match="nest"):
        parse_protocol(text, origin="clinic.toml")


def test_an_oversized_protocol_file_is_refused_unread(tmp_path: Path) -> None:
    """A protocol file larger than the limit is refused before it is parsed."""
    from kaptools.errors import ProtocolError
    from kaptools.limits import size_limit
    from kaptools.protocol import load_protocol

    path = tmp_path / "big.toml"
    path.write_text(_default_text() + "#" * size_limit("protocol_file_max_bytes"), "utf-8")
    with pytest.raises(ProtocolError, match="protocol_file_max_bytes"):
        load_protocol(path)


# ---------------------------------------------------------------------------
# Sizes: list lengths, column counts, slot numbers and line lengths are bounded


def test_a_jsonl_record_with_100000_diagnoses_is_malformed_quickly(tmp_path: Path) -> None:
    """A list longer than record_list_max_items makes that line malformed, in well under 2 s."""
    import time

    from kaptools.limits import size_limit

    path = tmp_path / "c.jsonl"
    ok = {"age_years": 40, "sex": "female"}
    huge = {**ok, "diagnoses": ["F33.1"] * 100_000}
    path.write_text(json.dumps(ok) + "\n" + json.dumps(huge) + "\n", encoding="utf-8")
    start = time.process_time()  # CPU time: a loaded machine does not count
    cohort = screen_cohort(path)
    assert time.process_time() - start < 2
    assert list(cohort.table["status"] == MALFORMED) == [False, True]
    reason = cohort.errors["reason"].iloc[0]
    assert "diagnoses" in reason and str(size_limit("record_list_max_items")) in reason


def test_a_jsonl_line_over_the_length_limit_is_malformed(tmp_path: Path) -> None:
    """A line longer than jsonl_line_max_chars is reported with its number, never parsed."""
    from kaptools.limits import size_limit

    path = tmp_path / "c.jsonl"
    pad = " " * (size_limit("jsonl_line_max_chars") + 1)
    path.write_text('{"age_years": 40}\n{"age_years": 41' + pad + "}\n", encoding="utf-8")
    cohort = screen_cohort(path)
    assert list(cohort.table["status"] == MALFORMED) == [False, True]
    assert "line 2" in cohort.errors["reason"].iloc[0]


def test_a_csv_with_100000_trial_columns_is_refused_quickly(tmp_path: Path) -> None:
    """Too many columns is one clear error naming the limit, in well under 2 s."""
    import time

    from kaptools.errors import InvalidInputError

    frame = synthetic_screening_frame(2, seed=1)
    extra = ",".join(f"trial{i}_drug" for i in range(9, 100_009))
    text = frame.to_csv(index=False).splitlines()
    text[0] += "," + extra
    for i in range(1, len(text)):
        text[i] += "," * 100_000
    path = tmp_path / "wide.csv"
    path.write_text("\n".join(text) + "\n", encoding="utf-8")
    start = time.process_time()  # CPU time: a loaded machine does not count
    with pytest.raises(InvalidInputError, match="csv_columns_max"):
        screen_cohort(path)
    assert time.process_time() - start < 2


def test_a_single_far_slot_number_is_refused_not_looped_over() -> None:
    """A column trial99999_drug alone would make 99,999 empty slots: refused by name."""
    from kaptools.errors import InvalidInputError

    frame = synthetic_screening_frame(2, seed=1)
    frame["trial99999_drug"] = None
    with pytest.raises(InvalidInputError, match="trial99999_drug"):
        screen_cohort(frame)


# ---------------------------------------------------------------------------
# Doses: a per-route plausibility ceiling from the protocol, on every path


@pytest.mark.parametrize(
    ("route", "dose"),
    [
        ("iv_ketamine", 370),
        ("iv_ketamine", 99_999),
        ("iv_ketamine", 1e12),
        ("im_ketamine", 1e12),
        ("esketamine_nasal", 99_999),
        ("esketamine_nasal", 370),
    ],
)
def test_an_implausible_dose_is_refused_on_every_path(route: str, dose: float) -> None:
    """Direct construction, the dict/JSON path the form uses, and replace() all refuse it."""
    import dataclasses
    import datetime as dt

    from kaptools.errors import RecordError
    from kaptools.sessions import DosingSession, parse_dosing_session

    day = dt.date(2026, 3, 9)
    with pytest.raises(RecordError, match=r"dose_mg.*plausib"):
        DosingSession("SYN-0001", route, day, dose_mg=dose)
    data = DosingSession("SYN-0001", route, day).to_dict()
    with pytest.raises(RecordError, match=r"dose_mg.*plausib"):
        parse_dosing_session({**data, "dose_mg": dose})
    ok = DosingSession("SYN-0001", route, day, dose_mg=56 if route == "esketamine_nasal" else 35)
    with pytest.raises(RecordError, match=r"dose_mg.*plausib"):
        dataclasses.replace(ok, dose_mg=dose)


def test_the_dose_ceiling_comes_from_the_protocol() -> None:
    """Weight-based: max mg/kg x heaviest plausible weight; fixed: the largest label dose."""
    from kaptools.protocol import default_protocol

    c = default_protocol().courses
    iv = c.iv_ketamine.dose
    assert c.dose_plausible_max_mg("iv_ketamine") == pytest.approx(
        iv.max_mg_per_kg.value * c.patient_weight_max_kg.value
    )
    assert c.dose_plausible_max_mg("esketamine_nasal") == 84


# ---------------------------------------------------------------------------
# No assert relied on: identifiers with line breaks are refused before any library sees them

BAD_IDS = ["SYN\n1", "SYN\r1", "SYN\x00", "SYN\u2028X", "x" * 10_000]


def _iv_plan(**kw: object):
    import datetime as dt

    from kaptools.scheduling import ClinicCalendar, plan_course

    args: dict[str, object] = {"weight_kg": 70, "age": 40, **kw}
    return plan_course(
        "iv_ketamine",
        dt.date(2026, 3, 2),
        calendar=ClinicCalendar(country="US", subdivision="NY"),
        screening_status="eligible",
        **args,  # type: ignore[arg-type]
    )


@pytest.mark.parametrize("pid", BAD_IDS)
def test_a_patient_id_with_a_line_break_is_refused_by_plan_course(pid: str) -> None:
    """plan_course names patient_id; nothing reaches the iCalendar library's assert."""
    from kaptools.errors import InvalidInputError

    with pytest.raises(InvalidInputError, match="patient_id"):
        _iv_plan(patient_id=pid)


@pytest.mark.parametrize("pid", BAD_IDS)
def test_plan_to_ics_refuses_a_bad_patient_id_itself(pid: str) -> None:
    """A plan altered after planning is checked again by the export (works under python -O)."""
    import dataclasses

    from kaptools.errors import InvalidInputError
    from kaptools.scheduling import plan_to_ics

    plan = dataclasses.replace(_iv_plan(patient_id="SYN-1"), patient_id=pid)
    with pytest.raises(InvalidInputError, match="patient_id"):
        plan_to_ics(plan)


def test_plan_to_ics_refuses_control_characters_in_session_text() -> None:
    """A carriage return in a note would split an iCalendar line: refused, naming the field."""
    import dataclasses

    from kaptools.errors import InvalidInputError
    from kaptools.scheduling import plan_to_ics

    plan = _iv_plan(patient_id="SYN-1")
    sessions = list(plan.sessions)
    sessions[0] = dataclasses.replace(sessions[0], label="Dose\rBEGIN:VEVENT")
    with pytest.raises(InvalidInputError, match="label"):
        plan_to_ics(dataclasses.replace(plan, sessions=tuple(sessions)))


def test_plan_to_ics_under_python_O_refuses_a_line_break(tmp_path: Path) -> None:
    """Run with -O (asserts stripped): the export still refuses, nothing is written."""
    import subprocess
    import sys

    code = (
        "import dataclasses, datetime as dt\n"
        "from kaptools.errors import InvalidInputError\n"
        "from kaptools.scheduling import ClinicCalendar, plan_course, plan_to_ics\n"
        "p = plan_course('iv_ketamine', dt.date(2026, 3, 2), screening_status='eligible',\n"
        "    calendar=ClinicCalendar(country='US', subdivision='NY'), weight_kg=70, age=40)\n"
        "p = dataclasses.replace(p, patient_id='A\\nX-INJECTED:1')\n"
        "try:\n    plan_to_ics(p)\nexcept InvalidInputError:\n    print('refused')\n"
        "else:\n    print('written')\n"
    )
    out = subprocess.run(
        [sys.executable, "-O", "-c", code], capture_output=True, text=True, check=True
    )
    assert out.stdout.strip() == "refused"


@pytest.mark.parametrize("pid", ["SYN\n1", "x" * 10_000])
def test_a_dosing_session_refuses_a_patient_id_with_control_characters(pid: str) -> None:
    """The session record uses the same identifier rule."""
    import datetime as dt

    from kaptools.errors import RecordError
    from kaptools.sessions import DosingSession

    with pytest.raises(RecordError, match="patient_id"):
        DosingSession(pid, "iv_ketamine", dt.date(2026, 3, 9))


# ---------------------------------------------------------------------------
# Planner entry points: wrong types and magnitudes are named; a plan's dose count is bounded
# (tests committed together with their fix, found by tests/test_fuzz.py)


@pytest.mark.parametrize(
    ("kw", "field"),
    [
        ({"extra_instruments": None}, "extra_instruments"),
        ({"extra_instruments": [1, 2]}, "extra_instruments"),
        ({"protocol": "default.toml"}, "protocol"),
        ({"template": 3}, "template"),
        ({"weight_kg": 10**400}, "weight_kg"),
        ({"age": 10**400}, "age"),
        ({"phase_doses": {"booster": 100_000}}, "plan_doses_max"),
    ],
)
def test_plan_course_names_a_wrong_argument(kw: dict[str, object], field: str) -> None:
    """A kaptools error naming the argument, never a TypeError or OverflowError from inside."""
    import time

    from kaptools.errors import InvalidInputError

    start = time.process_time()  # CPU time: a loaded machine does not count
    with pytest.raises(InvalidInputError, match=field):
        _iv_plan(**kw)
    assert time.process_time() - start < 2


@pytest.mark.parametrize(
    ("kw", "field"),
    [
        ({"missed": None}, "missed"),
        ({"missed": [[1]]}, "missed"),
        ({"moved": [1, 2]}, "moved"),
        ({"calendar": "NY"}, "calendar"),
        ({"protocol": object()}, "protocol"),
    ],
)
def test_replan_names_a_wrong_argument(kw: dict[str, object], field: str) -> None:
    """replan refuses wrong types with an InvalidInputError naming the argument."""
    import datetime as dt

    from kaptools.errors import InvalidInputError
    from kaptools.scheduling import replan

    plan = _iv_plan(patient_id="SYN-1")
    with pytest.raises(InvalidInputError, match=field):
        replan(plan, as_of=dt.date(2026, 3, 10), **kw)  # type: ignore[arg-type]


def test_check_plan_names_a_wrong_argument() -> None:
    from kaptools.errors import InvalidInputError
    from kaptools.scheduling import check_plan

    with pytest.raises(InvalidInputError, match="plan"):
        check_plan({"sessions": []})  # type: ignore[arg-type]


def test_a_csv_cell_holding_a_carriage_return_stays_in_its_row() -> None:
    """The CSV writers end rows with CR LF, so a CR inside a cell is quoted, not a row break."""
    import dataclasses

    from kaptools.scheduling import plan_to_csv

    plan = _iv_plan(patient_id="SYN-1")
    sessions = list(plan.sessions)
    sessions[0] = dataclasses.replace(sessions[0], note="a\rb")
    rows = list(
        csv.reader(
            io.StringIO(
                plan_to_csv(dataclasses.replace(plan, sessions=tuple(sessions))), newline=""
            )
        )
    )
    assert (
        len(rows) == len(plan.sessions) + 1
        and rows[1][-3:].count("a\rb") + rows[1].count("a\rb") >= 1
    )


# ---------------------------------------------------------------------------
# Scoring: NaN, infinities, bools and text are never "unanswered" (issue 13, session 3).
# An unanswered item is said explicitly: None or pd.NA (or an absent mapping key); in a
# frame, <NA> of a nullable column, or NaN only with nan_is_unanswered=True.

_NOT_ANSWERS = [
    float("nan"),
    float("inf"),
    float("-inf"),
    np.float32("nan"),
    np.float64("nan"),
    2.5,
    True,
    np.bool_(False),
    "2",
    "２",
    b"2",
    [2],
]


@pytest.mark.parametrize("bad", _NOT_ANSWERS, ids=repr)
@pytest.mark.parametrize("entry", ["score", "check_administration", "suicide_item_alerts"])
def test_no_single_administration_path_reads_nan_or_a_non_number_as_unanswered(
    entry: str, bad: object
) -> None:
    """NaN, ±inf, 2.5, bools and text are refused naming instrument, item and the fix."""
    from kaptools import scores

    call = getattr(scores, entry)
    for item in (1, 9):
        answers: list[object] = [0] * 9
        answers[item - 1] = bad
        for given in (answers, dict(enumerate(answers, start=1))):
            with pytest.raises(InvalidAnswerError) as info:
                call("phq9", given)
            assert info.value.instrument == "PHQ-9" and info.value.item == item
            assert f"PHQ-9 item {item}" in str(info.value)
    if isinstance(bad, float) and math.isnan(bad):
        assert "None" in str(info.value)  # the fix: how to say "unanswered"


@pytest.mark.parametrize("marker", [None, pd.NA], ids=repr)
def test_an_explicit_missing_marker_is_still_unanswered(marker: object) -> None:
    """None / pd.NA / an absent key mark an unanswered item: incomplete, never a total."""
    with pytest.raises(IncompleteAnswersError) as info:
        score("phq9", [1] * 8 + [marker])
    assert info.value.missing == (9,)
    with pytest.raises(IncompleteAnswersError) as info:
        score("phq9", {i: 1 for i in range(1, 9)})
    assert info.value.missing == (9,)


def _float_frame_with_a_gap() -> pd.DataFrame:
    frame = pd.DataFrame(
        {f"phq9_item{i}": [1.0, 2.0] for i in range(1, 10)}, index=["a", "b"]
    ).astype("float64")
    frame.loc["b", "phq9_item9"] = np.nan
    return frame


def test_score_frame_refuses_nan_unless_the_caller_says_nan_means_unanswered() -> None:
    """A float frame's NaN is refused by default naming row and item; opt in to read it as a gap."""
    frame = _float_frame_with_a_gap()
    with pytest.raises(InvalidAnswerError, match=r"row 'b'.*PHQ-9 item 9") as info:
        score_frame(frame, "phq9")
    assert "nan_is_unanswered=True" in str(info.value)
    out = score_frame(frame, "phq9", nan_is_unanswered=True)
    assert out.loc["a", "total"] == 9 and pd.isna(out.loc["b", "total"])
    assert out.loc["b", "missing_items"] == "9"
    # <NA> in a nullable column is an explicit gap: no opt-in needed
    nullable = score_frame(frame.astype("Int64"), "phq9")
    assert nullable.loc["b", "missing_items"] == "9"
    infinite = frame.fillna(np.inf)
    with pytest.raises(InvalidAnswerError, match=r"row 'b'.*item 9"):
        score_frame(infinite, "phq9", nan_is_unanswered=True)


def _outcome_frame() -> pd.DataFrame:
    rows = []
    for n, day in enumerate(["2024-01-01", "2024-02-01", "2024-03-01"]):
        rows.append(
            {"patient_id": "SYN-1", "administered_on": pd.Timestamp(day)}
            | {f"phq9_item{i}": 2 - (n > 0) for i in range(1, 10)}
        )
    return pd.DataFrame(rows)


def test_course_outcomes_refuses_nan_unless_opted_in_and_keeps_nullable_gaps() -> None:
    """course_outcomes: NaN refused by default (row and item named); <NA> is a gap."""
    frame = _outcome_frame().astype({"phq9_item5": "float64"})
    frame.loc[2, "phq9_item5"] = np.nan
    with pytest.raises(InvalidAnswerError, match=r"row 2, phq9_item5") as info:
        course_outcomes(frame, "phq9")
    assert "nan_is_unanswered=True" in str(info.value)
    out = course_outcomes(frame, "phq9", nan_is_unanswered=True)
    assert out["n_incomplete"].tolist() == [1] and out["latest_on"].iloc[0] == pd.Timestamp(
        "2024-02-01"
    )
    nullable = frame.astype({"phq9_item5": "Int64"})
    assert course_outcomes(nullable, "phq9")["n_incomplete"].tolist() == [1]


@pytest.mark.parametrize("bad", [True, "2", "２", np.inf, -np.inf, 2.5], ids=repr)
def test_course_outcomes_refuses_text_bools_and_infinities(bad: object) -> None:
    """An object column holding text, a bool or an infinity is refused, never converted."""
    frame = _outcome_frame().astype({"phq9_item3": object})
    frame.loc[1, "phq9_item3"] = bad
    with pytest.raises(InvalidAnswerError, match=r"row 1, phq9_item3"):
        course_outcomes(frame, "phq9", nan_is_unanswered=True)


def test_record_assessment_refuses_nan_and_stores_nothing() -> None:
    """The assessment form's path refuses NaN (item named); nothing is stored."""
    import datetime as dt

    from kaptools.assessments import record_assessment
    from kaptools.store import Store

    store = Store.in_memory()
    store.add_patient("SYN-1", "P", birth_date=dt.date(1980, 1, 1), sex="female", weight_kg=70)
    with pytest.raises(InvalidAnswerError, match="PHQ-9 item 9"):
        record_assessment(
            store, "SYN-1", "phq9", [0] * 8 + [math.nan], administered_on="2024-01-02"
        )
    assert store.latest_records("assessment", "SYN-1") == []


# ---------------------------------------------------------------------------
# No assert relied on (issue 13): python -O strips asserts, so kaptools has none


def test_kaptools_source_holds_no_assert_statement() -> None:
    """Every invariant is an explicit check raising InternalError (ruff S101 keeps it so)."""
    import ast

    import kaptools

    root = Path(kaptools.__file__).parent
    found = [
        f"{path.relative_to(root)}:{node.lineno}"
        for path in sorted(root.rglob("*.py"))
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8")))
        if isinstance(node, ast.Assert)
    ]
    assert found == []


def test_a_broken_invariant_is_an_internal_error_not_an_assertion() -> None:
    """present() returns a value that is there and raises InternalError (a KaptoolsError)."""
    from kaptools.errors import InternalError, KaptoolsError
    from kaptools.validation import present

    assert present(0, "the dose") == 0
    with pytest.raises(InternalError, match="the dose") as info:
        present(None, "the dose")
    assert isinstance(info.value, KaptoolsError) and "bug in kaptools" in str(info.value)


# ---------------------------------------------------------------------------
# Store: a record's payload, its lists, its text and its nesting are bounded
# (limits.toml [size]); nothing is written when one is exceeded.


def _nested(depth: int) -> list[Any]:
    """A list inside a list ... ``depth`` deep, built without recursion."""
    inner: list[Any] = []
    for _ in range(depth - 1):
        inner = [inner]
    return inner


def _store_with_patient() -> Any:
    import datetime as dt

    from kaptools.store import Store

    store = Store.in_memory()
    store.add_patient("SYN-1", "P", birth_date=dt.date(1980, 1, 1), sex="female", weight_kg=70)
    return store


@pytest.mark.parametrize(
    ("payload", "named"),
    [
        ({"notes": ["x" * 9_000] * 2_500}, "record_payload_max_bytes"),
        ({"items": list(range(150_000))}, "record_payload_list_max_items"),
        ({"note": "x" * 20_000}, "free_text_max_chars"),
        ({"deep": _nested(100)}, "record_nesting_max"),
        ({"deep": _nested(5000)}, "record_nesting_max"),
    ],
    ids=["22 MB", "150,000 items", "20,000 chars", "nesting 100", "nesting 5000"],
)
def test_an_oversized_record_payload_is_refused_and_nothing_is_stored(
    payload: dict[str, Any], named: str
) -> None:
    """Payload bytes, list lengths, text lengths and nesting each have a limit, named."""
    from kaptools.errors import InvalidInputError

    store = _store_with_patient()
    with pytest.raises(InvalidInputError, match=named):
        store.save_record("note", "SYN-1", payload)
    assert store.latest_records("note", "SYN-1") == []
    store.save_record("note", "SYN-1", {"note": "fine", "items": [1, 2]})


def test_a_correction_reason_over_the_free_text_limit_is_refused() -> None:
    """A written reason is free text: bounded like any other."""
    from kaptools.errors import InvalidInputError

    store = _store_with_patient()
    rec = store.save_record("note", "SYN-1", {"n": 1})
    with pytest.raises(InvalidInputError, match="free_text_max_chars"):
        store.save_record(
            "note",
            "SYN-1",
            {"n": 2},
            record_id=rec.record_id,
            reason="r" * 20_000,
            based_on_version=rec.version,
        )
    assert store.latest_records("note", "SYN-1")[0].version == rec.version


@pytest.mark.parametrize(
    "value", ["x" * 41, "SYN-1\n", "SYN 1", "ＳＹＮ-1", "x" * 100_000, "-SYN"], ids=repr
)
def test_a_patient_url_parameter_beyond_length_or_charset_is_refused(value: str) -> None:
    """?patient= is at most 40 ASCII letters, digits, '.', '_', '-' (the store's id rule);
    the message never repeats a long value."""
    from kaptools.ui.common import valid_patient_param

    pid, error = valid_patient_param(value)
    assert pid is None and error is not None and len(error) < 400


# ---------------------------------------------------------------------------
# Dates: a year outside limits.toml calendar_year (1900-2200) is a typing error, refused
# with the field named before any date arithmetic (year 1 or 9999 overflowed).

_FAR_DATES = [(1, 1, 1), (1899, 12, 31), (2201, 1, 1), (9999, 12, 1)]


def _plan_kwargs() -> dict[str, Any]:
    from kaptools.scheduling import ClinicCalendar

    return {
        "calendar": ClinicCalendar(country="US", subdivision="NY"),
        "screening_status": "eligible",
        "weight_kg": 70,
        "age": 40,
    }


@pytest.mark.parametrize("ymd", _FAR_DATES, ids=str)
def test_a_plan_start_outside_the_calendar_years_is_refused(ymd: tuple[int, int, int]) -> None:
    """plan_course(start=1 AD / 9999 ...): an InvalidInputError naming start, the range and
    the limit, never an OverflowError."""
    import datetime as dt

    from kaptools.errors import InvalidInputError
    from kaptools.scheduling import plan_course

    with pytest.raises(InvalidInputError, match=r"start: .*1900 to 2200.*calendar_year"):
        plan_course("iv_ketamine", dt.date(*ymd), **_plan_kwargs())


@pytest.mark.parametrize("ymd", _FAR_DATES, ids=str)
def test_replan_dates_outside_the_calendar_years_are_refused(ymd: tuple[int, int, int]) -> None:
    """replan's as_of and a moved session's date are checked like a start date."""
    import datetime as dt

    from kaptools.errors import InvalidInputError
    from kaptools.scheduling import plan_course, replan

    plan = plan_course("iv_ketamine", dt.date(2026, 1, 5), **_plan_kwargs())
    with pytest.raises(InvalidInputError, match=r"as_of: .*calendar_year"):
        replan(plan, as_of=dt.date(*ymd))
    last = len(plan.sessions) - 1
    with pytest.raises(InvalidInputError, match=rf"moved\[{last}\]: .*calendar_year"):
        replan(plan, as_of=dt.date(2026, 1, 6), moved={last: dt.date(*ymd)})


@pytest.mark.parametrize("ymd", _FAR_DATES, ids=str)
def test_a_closure_outside_the_calendar_years_is_refused(ymd: tuple[int, int, int]) -> None:
    """A clinic closure spanning year 1 to 9999 overflowed while its days were counted."""
    import datetime as dt

    from kaptools.errors import InvalidInputError
    from kaptools.scheduling import ClinicCalendar

    with pytest.raises(InvalidInputError, match=r"closure .*calendar_year"):
        ClinicCalendar(country="US", closures=[(dt.date(*ymd), dt.date(2026, 1, 1), "x")])
    with pytest.raises(InvalidInputError, match=r"closure .*calendar_year"):
        ClinicCalendar(country="US", closures=[(dt.date(2026, 1, 1), dt.date(*ymd), "x")])


@pytest.mark.parametrize("ymd", _FAR_DATES, ids=str)
def test_a_dosing_session_date_outside_the_calendar_years_is_refused(
    ymd: tuple[int, int, int],
) -> None:
    """A dosing session dated 1 AD or 9999 is a typing error, not a record."""
    import datetime as dt

    from kaptools.errors import InvalidInputError
    from kaptools.sessions import DosingSession, parse_dosing_session

    with pytest.raises(InvalidInputError, match=r"session_date.*calendar_year"):
        DosingSession("SYN-1", "iv_ketamine", dt.date(*ymd), dose_mg=35)
    data = DosingSession("SYN-1", "iv_ketamine", dt.date(2026, 3, 9), dose_mg=35).to_dict()
    data["session_date"] = dt.date(*ymd).isoformat()
    with pytest.raises(InvalidInputError, match=r"session_date.*calendar_year"):
        parse_dosing_session(data)


def test_the_longest_plan_from_the_latest_start_year_stays_in_range() -> None:
    """Plan span: the protocol's dose limit at its longest rhythm, started in the last
    accepted year, ends inside Python's dates (so the start-year bound bounds the span)."""
    import datetime as dt

    from kaptools.limits import entry_range
    from kaptools.protocol import default_protocol
    from kaptools.scheduling import plan_course

    _, last_year = entry_range("calendar_year")
    doses = default_protocol().courses.plan_doses_max.value
    plan = plan_course(
        "esketamine_nasal", dt.date(int(last_year), 12, 1),
        phase_doses={"continuation": int(doses) - 12}, **_plan_kwargs(),
    )  # fmt: skip
    assert len(plan.doses) == int(doses) and plan.sessions[-1].date.year < 9999


# ---------------------------------------------------------------------------
# The dashboards' address: the query as a whole is bounded (limits.toml
# url_query_max_chars), a patient named twice is ambiguous, and a parameter the
# dashboards do not read is said to be ignored (a misspelt ?patinet= showed the first
# patient without a word).


def test_an_address_query_over_its_limit_is_refused_and_nothing_read() -> None:
    """A query longer than url_query_max_chars: no patient read, the limit named."""
    from kaptools.limits import size_limit
    from kaptools.ui.common import read_url_parameters

    limit = size_limit("url_query_max_chars")
    pid, problems = read_url_parameters("?patient=SYN-1&x=" + "a" * limit)
    assert pid is None and len(problems) == 1
    assert "url_query_max_chars" in problems[0] and f"{limit:,}" in problems[0]
    assert len(problems[0]) < 400


def test_a_patient_named_twice_in_the_address_is_refused() -> None:
    """?patient=A&patient=B names two patients: neither is shown."""
    from kaptools.ui.common import read_url_parameters

    pid, problems = read_url_parameters("?patient=SYN-1&patient=SYN-2")
    assert pid is None and any("more than once" in p for p in problems)


def test_an_unknown_address_parameter_is_reported_not_silently_ignored() -> None:
    """?patinet=SYN-1: the notice names the parameter and the one the page reads."""
    from kaptools.ui.common import read_url_parameters

    pid, problems = read_url_parameters("?patinet=SYN-1")
    assert pid is None and any("'patinet'" in p and "?patient=" in p for p in problems)
    assert read_url_parameters("?patient=SYN-1") == ("SYN-1", [])
    assert read_url_parameters("") == (None, []) and read_url_parameters("?") == (None, [])


# --- frames given to the outcome and scoring functions are bounded (lead, 30 Nov) ---


def _phq9_frame(extra_columns: int = 0) -> pd.DataFrame:
    items = {f"phq9_item{i}": [1, 2] for i in range(1, 10)}
    frame = pd.DataFrame(
        {"patient_id": ["SYN-1", "SYN-1"], "administered_on": ["2026-01-01", "2026-02-01"], **items}
    )
    if extra_columns:
        extra = pd.DataFrame(
            np.zeros((2, extra_columns)), columns=[f"x{i}" for i in range(extra_columns)]
        )
        frame = pd.concat([frame, extra], axis=1)
    return frame


def _frame_calls() -> list[tuple[str, Any]]:
    from kaptools.outcomes import outcome_rates
    from kaptools.protocol import default_protocol
    from kaptools.whatif import compare_outcomes

    return [
        ("score_frame", lambda f: score_frame(f, "phq9")),
        ("course_outcomes", lambda f: course_outcomes(f, "phq9")),
        ("outcome_rates", lambda f: outcome_rates(f)),
        ("compare_outcomes", lambda f: compare_outcomes(f, "phq9", default_protocol())),
    ]


@pytest.mark.parametrize("index", range(4), ids=[n for n, _ in _frame_calls()])
def test_a_frame_with_too_many_columns_is_refused_before_any_work(index: int) -> None:
    from kaptools.errors import InvalidInputError
    from kaptools.limits import size_limit

    name, call = _frame_calls()[index]
    wide = _phq9_frame(extra_columns=size_limit("frame_columns_max") + 1)
    with pytest.raises(InvalidInputError, match="frame_columns_max") as err:
        call(wide)
    assert name in str(err.value)


@pytest.mark.parametrize("index", range(4), ids=[n for n, _ in _frame_calls()])
def test_a_frame_with_too_many_rows_is_refused_before_any_work(
    index: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    import kaptools.validation as validation
    from kaptools.errors import InvalidInputError

    real = validation.size_limit
    monkeypatch.setattr(validation, "size_limit", lambda n: 1 if n == "frame_rows_max" else real(n))
    name, call = _frame_calls()[index]
    with pytest.raises(InvalidInputError, match="frame_rows_max") as err:
        call(_phq9_frame())
    assert name in str(err.value)


def test_frames_within_the_limits_are_still_scored() -> None:
    from kaptools.outcomes import outcome_rates

    frame = _phq9_frame(extra_columns=10)
    assert len(score_frame(frame, "phq9")) == 2
    outcomes = course_outcomes(frame, "phq9")
    assert int(outcome_rates(outcomes)["patients"].iloc[0]) == 1


@pytest.mark.parametrize("year", [1, 1899, 9999])
def test_a_birth_date_outside_the_calendar_limits_is_refused(year: int) -> None:
    import datetime as dt

    from kaptools.errors import InvalidInputError
    from kaptools.store import Store

    store = Store.in_memory()
    with pytest.raises(InvalidInputError, match=r"birth_date.*calendar_year"):
        store.add_patient("SYN-2", "P", birth_date=dt.date(year, 1, 1), sex="female", weight_kg=70)
    assert store.list_patients() == []


def test_a_birth_date_in_the_future_or_with_a_time_is_refused() -> None:
    import datetime as dt

    from kaptools.errors import InvalidInputError
    from kaptools.store import Store

    store = Store.in_memory()
    with pytest.raises(InvalidInputError, match=r"birth_date.*future"):
        store.add_patient(
            "SYN-2",
            "P",
            birth_date=dt.date.today() + dt.timedelta(days=1),
            sex="female",
            weight_kg=70,
        )
    with pytest.raises(InvalidInputError, match="birth_date"):
        store.add_patient(
            "SYN-2", "P", birth_date=dt.datetime(1980, 1, 1, 12), sex="female", weight_kg=70
        )
