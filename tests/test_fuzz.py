"""Property-based fuzzing of every door (issue 13): hostile input never crashes or stalls.

For each entry point, hypothesis generates inputs mixing valid values with hostile ones
(wrong types, NaN and infinities, 400-digit numbers, full-width digits, formula and
control-character text, cut-short rows, deep nesting). Every call must either succeed or
raise a ``kaptools.errors.KaptoolsError`` whose message names the field; it must take
under :data:`SECONDS_MAX`; and nothing may be written partially.

The budget is bounded and the seed fixed (``derandomize``) so ``make test`` is stable:
``KAPTOOLS_FUZZ_EXAMPLES`` examples per entry point (default 25). ``make fuzz`` runs
10,000 per entry point and prints the figures the README reports.
"""

from __future__ import annotations

import csv
import dataclasses
import datetime as dt
import functools
import io
import json
import math
import os
import re
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kaptools import cli
from kaptools.errors import KaptoolsError
from kaptools.protocol import DEFAULT_PROTOCOL_PATH, parse_protocol
from kaptools.scheduling import (
    ClinicCalendar,
    check_plan,
    plan_course,
    plan_to_csv,
    plan_to_ics,
    plan_to_parquet,
    replan,
)
from kaptools.scores import score
from kaptools.screening import (
    screen,
    screen_cohort,
    synthetic_screening_frame,
    synthetic_screening_records,
)
from kaptools.sessions import DosingSession, parse_dosing_session

EXAMPLES = int(os.environ.get("KAPTOOLS_FUZZ_EXAMPLES", "25"))
SECONDS_MAX = 2.0
FUZZ = settings(
    max_examples=EXAMPLES,
    derandomize=True,
    deadline=None,
    database=None,
    suppress_health_check=list(HealthCheck),
)

REPORT_PATH = os.environ.get("KAPTOOLS_FUZZ_REPORT")
"""When set (by ``make fuzz``), each entry point appends its figures here as JSON lines."""


@dataclasses.dataclass
class Tally:
    calls: int = 0
    ok: int = 0
    refused: int = 0
    slowest: float = 0.0


TALLIES: dict[str, Tally] = {}


def call(name: str, fn: Callable[[], Any], *, fields: tuple[str, ...] = ()) -> Any:
    """Run ``fn``: success or a KaptoolsError naming a field; never slower than 2 s."""
    tally = TALLIES.setdefault(name, Tally())
    tally.calls += 1
    start = time.process_time()  # CPU time: other users of a shared machine do not count
    try:
        result = fn()
    except KaptoolsError as exc:
        took = time.process_time() - start
        message = str(exc)
        assert message.strip(), f"{name}: an error without a message"
        if fields:
            assert any(f in message for f in fields), f"{name}: error names no field: {message}"
        tally.refused += 1
        result = exc
    else:
        took = time.process_time() - start
        tally.ok += 1
    tally.slowest = max(tally.slowest, took)
    assert took < SECONDS_MAX, f"{name} took {took:.2f} s of CPU time"
    return result


@pytest.fixture(autouse=True)
def _report() -> Any:
    """After each test, the figures so far replace the report (a cut-short run keeps them)."""
    yield
    if REPORT_PATH:
        with open(REPORT_PATH, "w", encoding="utf-8") as fh:
            for name, t in sorted(TALLIES.items()):
                fh.write(json.dumps({"entry_point": name, **dataclasses.asdict(t)}) + "\n")


# ---------------------------------------------------------------------------
# Hostile values

FORMULAS = ["=1+1", "+cmd|' /C calc'!A0", "-2+3", "@SUM(A1)", "\t=1", "\r=1"]
CONTROL = ["a\nb", "a\rb", "a\x00b", "a\u2028b", "\ufeff", "x" * 5000]
NUMBERS_TEXT = ["9" * 400, "-" + "9" * 400, "1e400", "nan", "inf", "-inf", "１２", "4\u0660", "1_0"]

hostile_text = st.one_of(
    st.sampled_from(FORMULAS + CONTROL + NUMBERS_TEXT + ["", " ", "unknown", "yes", "no"]),
    st.text(max_size=30),
)
hostile_number = st.one_of(
    st.integers(-(10**6), 10**6),
    st.sampled_from([10**400, -(10**400), 2**63, -(2**63) - 1]),
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from([math.nan, math.inf, -math.inf, 1e308, -1e-320, 0.0, -0.0]),
)
hostile_value = st.one_of(
    hostile_text,
    hostile_number,
    st.booleans(),
    st.none(),
    st.just(object()),
    st.lists(st.integers(0, 3), max_size=12),
    st.dictionaries(st.text(max_size=5), st.integers(), max_size=3),
)

RECORDS = [r.model_dump(mode="json") for r in synthetic_screening_records(20, seed=13)]


@st.composite
def mutated_record(draw: st.DrawFn) -> dict[str, Any]:
    """A synthetic record with a few fields (top-level or nested) replaced by hostile values."""
    record = json.loads(json.dumps(draw(st.sampled_from(RECORDS))))
    keys = [*list(record), "unexpected_field"]
    for _ in range(draw(st.integers(1, 4))):
        key = draw(st.sampled_from(keys))
        target = record.get(key)
        if isinstance(target, dict) and target and draw(st.booleans()):
            sub = draw(st.sampled_from(sorted(target)))
            target[sub] = draw(hostile_value)
        elif isinstance(target, list) and target and draw(st.booleans()):
            target[draw(st.integers(0, len(target) - 1))] = draw(hostile_value)
        else:
            record[key] = draw(hostile_value)
    return record


# ---------------------------------------------------------------------------
# Screening


@FUZZ
@given(record=mutated_record())
def test_fuzz_screen(record: dict[str, Any]) -> None:
    """screen() on a mutated record: a result or a RecordError naming a field."""
    call("screen", lambda: screen(record), fields=(*tuple(record), "record"))


@FUZZ
@given(records=st.lists(mutated_record(), min_size=1, max_size=5))
def test_fuzz_screen_cohort_records(records: list[dict[str, Any]]) -> None:
    """screen_cohort() on records: one table row per record, malformed ones reported."""
    result = call("screen_cohort", lambda: screen_cohort(records))
    if not isinstance(result, KaptoolsError):
        assert len(result.table) == len(records)


FRAME = synthetic_screening_frame(4, seed=13).astype(object)
CSV_HEADER = list(FRAME.columns)


@st.composite
def hostile_csv(draw: st.DrawFn) -> str:
    """A cohort CSV with hostile cells, and rows cut short or padded."""
    frame = FRAME.copy()
    for _ in range(draw(st.integers(1, 6))):
        row = draw(st.integers(0, len(frame) - 1))
        col = draw(st.sampled_from(CSV_HEADER))
        frame.loc[row, col] = draw(hostile_text)
    text = frame.to_csv(index=False)
    lines = text.splitlines()
    for _ in range(draw(st.integers(0, 2))):
        i = draw(st.integers(1, len(lines) - 1))
        cut = draw(st.integers(-3, 3))
        cells = lines[i].split(",")
        lines[i] = ",".join(cells[:cut] if cut < 0 else cells + ["x"] * cut)
    return "\n".join(lines) + "\n"


def _check_cli_outputs(code: int, out: Path, errors: Path, n_rows: int) -> None:
    """Exit 0/1: a whole table, every CSV cell safe; exit 2: nothing written."""
    assert code in (cli.EXIT_OK, cli.EXIT_PROBLEMS, cli.EXIT_USAGE), code
    if code == cli.EXIT_USAGE:
        assert not out.exists() and not errors.exists()
        return
    if out.suffix == ".csv":
        with out.open(encoding="utf-8", newline="") as fh:
            rows = list(csv.reader(fh))
        assert len(rows) == n_rows + 1
        for row in rows:
            assert all(not c or c[0] not in "=+-@\t\r" or _plain_number(c) for c in row)
    if code == cli.EXIT_PROBLEMS:
        assert errors.exists()


def _plain_number(cell: str) -> bool:
    return re.fullmatch(r"[+-]?([0-9]+(\.[0-9]*)?|\.[0-9]+)([eE][+-]?[0-9]+)?", cell) is not None


@FUZZ
@given(text=hostile_csv())
def test_fuzz_kaptools_screen_csv(tmp_path_factory: pytest.TempPathFactory, text: str) -> None:
    """kaptools screen on a hostile CSV: exit 0, 1 or 2 with a message; no partial output."""
    folder = tmp_path_factory.mktemp("csv")
    src, out = folder / "in.csv", folder / "out.csv"
    src.write_text(text, encoding="utf-8")
    n_rows = len([r for r in csv.reader(io.StringIO(text)) if r]) - 1
    code = call(
        "kaptools screen (CSV)", lambda: cli.main(["screen", str(src), "-o", str(out), "-q"])
    )
    _check_cli_outputs(code, out, folder / "out.errors.csv", n_rows)


@st.composite
def hostile_jsonl(draw: st.DrawFn) -> list[str]:
    lines = []
    for _ in range(draw(st.integers(1, 4))):
        kind = draw(st.integers(0, 4))
        if kind == 0:
            lines.append(draw(st.text(max_size=40)).replace("\n", " ").replace("\r", " "))
        elif kind == 1:
            depth = draw(st.integers(1, 3000))
            lines.append("[" * depth + "]" * depth)
        else:
            lines.append(json.dumps(draw(mutated_record()), default=str))
    return lines


@FUZZ
@given(lines=hostile_jsonl())
def test_fuzz_kaptools_screen_jsonl(
    tmp_path_factory: pytest.TempPathFactory, lines: list[str]
) -> None:
    """kaptools screen on hostile JSON Lines: one row per line, nothing crashes."""
    folder = tmp_path_factory.mktemp("jsonl")
    src, out = folder / "in.jsonl", folder / "out.csv"
    src.write_text("\n".join(lines) + "\n", encoding="utf-8")
    code = call(
        "kaptools screen (JSON Lines)", lambda: cli.main(["screen", str(src), "-o", str(out), "-q"])
    )
    _check_cli_outputs(code, out, folder / "out.errors.csv", len(lines))


# ---------------------------------------------------------------------------
# Scores


@FUZZ
@given(
    instrument=st.one_of(st.sampled_from(["PHQ-9", "GAD-7", "PCL-5", "phq9"]), hostile_value),
    answers=st.one_of(
        st.lists(st.one_of(st.integers(-1, 5), hostile_number, st.none()), max_size=25),
        st.dictionaries(
            st.one_of(st.integers(-2, 25), hostile_text, hostile_number), hostile_number, max_size=5
        ),
        hostile_value,
    ),
)
def test_fuzz_score(instrument: Any, answers: Any) -> None:
    """score(): a result or an error naming the instrument, item or answers."""
    call(
        "score",
        lambda: score(instrument, answers),
        fields=("instrument", "item", "answers", "PHQ-9", "GAD-7", "PCL-5", "measure"),
    )


# ---------------------------------------------------------------------------
# Planning

CALENDAR = ClinicCalendar(country="US", subdivision="NY")
ROUTES = ["iv_ketamine", "im_ketamine", "esketamine_nasal"]


@st.composite
def plan_kwargs(draw: st.DrawFn) -> dict[str, Any]:
    kw: dict[str, Any] = {
        "route": draw(st.sampled_from(ROUTES)),
        "start": draw(st.dates(dt.date(2025, 1, 1), dt.date(2027, 12, 31))),
        "calendar": CALENDAR,
        "screening_status": "eligible",
        "weight_kg": draw(st.floats(40, 150)),
        "age": draw(st.integers(18, 90)),
    }
    hostile = {
        "route": hostile_value,
        "start": st.one_of(hostile_value, st.dates(dt.date(1, 1, 1), dt.date(9999, 12, 31))),
        "calendar": hostile_value,
        "screening_status": hostile_value,
        "weight_kg": hostile_number,
        "age": hostile_number,
        "cautions": hostile_value,
        "patient_id": hostile_text,
        "phase_doses": st.one_of(
            hostile_value,
            st.dictionaries(
                st.sampled_from(["induction", "booster", "maintenance", "x"]),
                st.one_of(st.integers(-5, 300), st.integers(12_001, 10**9), hostile_number),
                max_size=2,
            ),
        ),
        "phase_period_days": st.one_of(
            hostile_value,
            st.dictionaries(st.sampled_from(["induction", "booster"]), hostile_number, max_size=2),
        ),
        "dose_mg_per_kg": hostile_number,
        "later_dose_mg": hostile_number,
        "extra_instruments": st.one_of(hostile_value, st.lists(hostile_text, max_size=3)),
        "template": hostile_value,
        "protocol": hostile_value,
    }
    for key in draw(st.lists(st.sampled_from(sorted(hostile)), max_size=3, unique=True)):
        kw[key] = draw(hostile[key])
    return kw


PLAN_FIELDS = (
    "route", "start", "calendar", "screening", "weight", "age", "caution", "patient_id",
    "phase_doses", "phase_period_days", "dose", "extra_instruments", "template", "protocol",
    "plan", "date", "status",
)  # fmt: skip


@FUZZ
@given(kw=plan_kwargs())
def test_fuzz_plan_course(kw: dict[str, Any]) -> None:
    """plan_course(): a plan that check_plan accepts, or an error naming the argument."""
    args = dict(kw)
    result = call("plan_course", lambda: plan_course(args.pop("route"), args.pop("start"), **args),
                  fields=PLAN_FIELDS)  # fmt: skip
    if not isinstance(result, KaptoolsError):
        call("check_plan", lambda: check_plan(result), fields=PLAN_FIELDS)


BASE_PLAN = plan_course(
    "iv_ketamine", dt.date(2026, 3, 2), calendar=CALENDAR, screening_status="eligible",
    weight_kg=70, age=40, patient_id="SYN-0001",
)  # fmt: skip


@FUZZ
@given(
    as_of=st.one_of(st.dates(dt.date(2026, 1, 1), dt.date(2026, 8, 1)), hostile_value),
    missed=st.one_of(st.lists(st.integers(-3, 40), max_size=4), hostile_value),
    moved=st.one_of(
        st.dictionaries(st.integers(-2, 40), st.dates(dt.date(2026, 1, 1), dt.date(2027, 1, 1))),
        hostile_value,
    ),
    phase_doses=st.one_of(st.none(), st.dictionaries(st.just("booster"), hostile_number)),
)
def test_fuzz_replan(as_of: Any, missed: Any, moved: Any, phase_doses: Any) -> None:
    """replan(): a plan or an error naming the argument."""
    call(
        "replan",
        lambda: replan(BASE_PLAN, as_of=as_of, missed=missed, moved=moved, phase_doses=phase_doses),
        fields=(*PLAN_FIELDS, "as_of", "missed", "moved"),
    )


# ---------------------------------------------------------------------------
# The protocol loader

DEFAULT_TEXT = DEFAULT_PROTOCOL_PATH.read_text(encoding="utf-8")
VALUES = [m for m in re.finditer(r"value = ([0-9.]+)", DEFAULT_TEXT)]


@FUZZ
@given(
    which=st.integers(0, len(VALUES) - 1),
    new=st.sampled_from(
        ["inf", "-inf", "nan", "1e300", "-1", "0", "99999", '"x"', "[1]", "{a=1}", "1" * 30]
    ),
    tail=st.one_of(
        st.just(""),
        st.integers(1, 5000).map(lambda d: "\n[zz]\nx = " + "[" * d + "]" * d + "\n"),
        st.text(max_size=50),
    ),
)
def test_fuzz_protocol_loader(which: int, new: str, tail: str) -> None:
    """parse_protocol() on a default protocol with one value changed: a protocol or an error."""
    m = VALUES[which]
    text = DEFAULT_TEXT[: m.start(1)] + new + DEFAULT_TEXT[m.end(1) :] + tail
    call(
        "protocol loader",
        lambda: parse_protocol(text, origin="fuzz.toml"),
        fields=("Protocol fuzz.toml",),
    )


# ---------------------------------------------------------------------------
# The dosing-session record

SESSION = DosingSession("SYN-0001", "iv_ketamine", dt.date(2026, 3, 9), dose_mg=35).to_dict()


@FUZZ
@given(
    changes=st.dictionaries(
        st.sampled_from([*sorted(SESSION), "bogus"]),
        st.one_of(hostile_value, st.lists(st.dictionaries(st.text(max_size=8), hostile_value))),
        max_size=4,
    )
)
def test_fuzz_session_record(changes: dict[str, Any]) -> None:
    """parse_dosing_session(): a session or a RecordError naming the field."""
    data = {**SESSION, **changes}
    call(
        "session record",
        lambda: parse_dosing_session(data),
        fields=(*data, "dosing session", "record"),
    )


# ---------------------------------------------------------------------------
# Exports


@FUZZ
@given(
    patient_id=st.one_of(st.none(), hostile_text),
    note=hostile_text,
    label=hostile_text,
    stamp=st.one_of(st.none(), hostile_value),
)
def test_fuzz_exports(patient_id: Any, note: str, label: str, stamp: Any) -> None:
    """plan_to_ics / plan_to_csv on plans carrying hostile text: bytes/text or an error."""
    sessions = list(BASE_PLAN.sessions)
    sessions[0] = dataclasses.replace(sessions[0], note=note, label=label)
    plan = dataclasses.replace(BASE_PLAN, sessions=tuple(sessions), patient_id=patient_id)
    ics = call(
        "plan_to_ics",
        lambda: plan_to_ics(plan, stamp=stamp),
        fields=("patient_id", "label", "note", "stamp", "route_label", "cautions"),
    )
    if isinstance(ics, bytes):
        for line in ics.split(b"\r\n"):
            assert b"\r" not in line and b"\n" not in line
    text = call("plan_to_csv", lambda: plan_to_csv(plan), fields=("plan",))
    if isinstance(text, str):
        for row in csv.reader(io.StringIO(text)):
            assert all(not c or c[0] not in "=+-@\t\r" or _plain_number(c) for c in row)
    data = call("plan_to_parquet", lambda: plan_to_parquet(plan), fields=("plan", "patient_id"))
    if isinstance(data, bytes):  # raw values kept (a typed file, nothing executes)
        frame = pd.read_parquet(io.BytesIO(data))
        assert len(frame) == len(plan.sessions) and frame["note"].iloc[0] == note


@FUZZ
@given(
    records=st.lists(mutated_record(), min_size=1, max_size=4),
    suffix=st.sampled_from([".csv", ".jsonl", ".parquet"]),
)
def test_fuzz_cohort_write(
    tmp_path_factory: pytest.TempPathFactory, records: list[dict[str, Any]], suffix: str
) -> None:
    """CohortResult.write: every row written, CSV cells safe, JSON and Parquet raw."""
    result = screen_cohort(records)
    out = tmp_path_factory.mktemp("w") / f"t{suffix}"
    call("CohortResult.write", lambda: result.write(out, rule_columns=True))
    if suffix == ".jsonl":
        assert len(out.read_text(encoding="utf-8").splitlines()) == len(records)
    elif suffix == ".parquet":
        assert len(pd.read_parquet(out)) == len(records)
    else:
        with out.open(encoding="utf-8", newline="") as fh:
            rows = list(csv.reader(fh))
        assert len(rows) == len(records) + 1
        for row in rows:
            assert all(not c or c[0] not in "=+-@\t\r" or _plain_number(c) for c in row)


# ---------------------------------------------------------------------------
# FHIR: the bundle import (a door for files from other systems) and the export


def _json_paths(node: Any, path: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Every key path inside a JSON document (the root excluded)."""
    children: list[tuple[Any, Any]] = (
        list(node.items())
        if isinstance(node, dict)
        else list(enumerate(node))
        if isinstance(node, list)
        else []
    )
    out: list[tuple[Any, ...]] = []
    for key, child in children:
        out.append((*path, key))
        out.extend(_json_paths(child, (*path, key)))
    return out


@functools.cache
def _fhir_stores() -> tuple[Any, Any, str, dict[str, Any]]:
    """A small demo store, an import target holding the same patients, and one bundle."""
    from kaptools.demo import build_demo_database
    from kaptools.fhir import patient_bundle
    from kaptools.store import Store
    from tests.fhir.test_fhir import empty_copy_of_patients

    source = Store.in_memory()
    build_demo_database(source, n=2, seed=5)
    target = empty_copy_of_patients(source)
    pid = source.list_patients()[0].patient_id
    sections = ["patient", "assessments"]  # imported as they are (vitals need the sessions)
    bundle = json.loads(
        patient_bundle(source, pid, sections=sections).model_dump_json(exclude_none=True)
    )
    return source, target, pid, bundle


def _stored_versions(store: Any) -> int:
    from kaptools.assessments import assessments
    from kaptools.sessions.storage import dosing_sessions

    return sum(
        len(assessments(store, p.patient_id)) + len(dosing_sessions(store, p.patient_id))
        for p in store.list_patients()
    )


@FUZZ
@given(data=st.data())
def test_fuzz_fhir_import(data: st.DataObject) -> None:
    """import_bundle: a bundle with a few values replaced by hostile ones (or removed) is
    imported or refused with a FhirImportError naming the entry; a refusal writes nothing."""
    from kaptools.fhir import import_bundle

    _, target, _, bundle = _fhir_stores()
    doc = json.loads(json.dumps(bundle))
    paths = _json_paths(doc)
    for _ in range(data.draw(st.integers(1, 3))):
        path = data.draw(st.sampled_from(paths))
        parent = doc
        try:
            for key in path[:-1]:
                parent = parent[key]
            if data.draw(st.booleans()) and isinstance(parent, dict):
                parent.pop(path[-1], None)
            else:
                parent[path[-1]] = data.draw(hostile_value)
        except (KeyError, IndexError, TypeError):  # an earlier change removed the path
            continue
    text = json.dumps(doc, default=repr)
    before = _stored_versions(target)
    result = call(
        "FHIR import",
        lambda: import_bundle(target, text),
        fields=("entry", "Bundle", "FHIR"),
    )
    if isinstance(result, KaptoolsError):
        assert _stored_versions(target) == before, "a refused bundle wrote something"


@FUZZ
@given(
    sections=st.lists(
        st.one_of(
            st.sampled_from(["patient", "assessments", "vitals", "plan", "alerts"]), hostile_text
        ),
        max_size=4,
    ),
    patient=hostile_text,
)
def test_fuzz_fhir_export(sections: list[str], patient: str) -> None:
    """patient_bundle: a bundle for a stored patient, or an error naming the patient or
    the section; never an exception from the FHIR library."""
    from kaptools.fhir import patient_bundle

    source, _, pid, _ = _fhir_stores()
    who = pid if patient == "" else patient  # the empty draw stands for the stored patient
    call(
        "FHIR export",
        lambda: patient_bundle(source, who, sections=sections),
        fields=("patient", "section", "sections"),
    )
