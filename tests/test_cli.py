"""kaptools command line: `screen` writes the table and reports malformed rows; every bad
usage or input ends with a clear message and exit code 2, never a traceback."""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from kaptools import cli
from kaptools.protocol import PROTOCOL_ENV_VAR, default_protocol
from kaptools.screening import screening_record_schema, synthetic_screening_frame

DEFAULT_TEXT = default_protocol().path.read_text(encoding="utf-8")  # type: ignore[union-attr]


@pytest.fixture
def cohort_csv(tmp_path: Path) -> Path:
    path = tmp_path / "cohort.csv"
    synthetic_screening_frame(120, seed=31).to_csv(path, index=False)
    return path


def run(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    code = cli.main(argv)
    out, err = capsys.readouterr()
    return code, out, err


def test_screen_writes_the_table_and_prints_the_summary(
    cohort_csv: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A clean cohort: exit 0, one output row per patient, the summary on stdout."""
    out = tmp_path / "screened.csv"
    code, stdout, stderr = run(["screen", str(cohort_csv), "--out", str(out)], capsys)
    assert code == cli.EXIT_OK and stderr == ""
    table = pd.read_csv(out)
    assert len(table) == 120 and {"status", "exclusions", "alerts"} <= set(table.columns)
    assert "Cohort screening of 120 rows" in stdout and "kaptools-default" in stdout


def test_malformed_rows_are_written_and_exit_code_is_1(
    cohort_csv: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Malformed rows go to OUTPUT.errors.csv with their reason; the rest are screened."""
    frame = pd.read_csv(cohort_csv, dtype=str)
    frame.loc[4, "age_years"] = "forty"
    frame.to_csv(cohort_csv, index=False)
    out = tmp_path / "screened.csv"
    code, _, stderr = run(["screen", str(cohort_csv), "--out", str(out)], capsys)
    assert code == cli.EXIT_PROBLEMS
    errors = pd.read_csv(tmp_path / "screened.errors.csv")
    assert list(errors["row"]) == [5] and "age_years" in errors["reason"].iloc[0]
    assert "1 malformed row(s)" in stderr
    table = pd.read_csv(out)
    assert table["status"].iloc[4] == "malformed" and (table["status"] != "malformed").sum() == 119


def test_jsonl_in_and_out_with_rule_columns(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """JSON Lines input works and --rule-columns adds one 0/1 column per rule."""
    source = tmp_path / "cohort.jsonl"
    source.write_text('{"age_years": 40, "diagnoses": ["F33.1"]}\n', encoding="utf-8")
    out = tmp_path / "screened.jsonl"
    code, _, _ = run(["screen", str(source), "--out", str(out), "--rule-columns", "-q"], capsys)
    assert code == cli.EXIT_OK
    row = json.loads(out.read_text(encoding="utf-8"))
    assert row["status"] == "incomplete" and row["rule_age_unknown"] == 0


def test_parquet_in_and_out_gives_the_same_table_as_csv(
    cohort_csv: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """--out x.parquet writes the table (protocol in the metadata); a Parquet cohort reads."""
    import pyarrow.parquet as pq

    out_csv, out_pq = tmp_path / "s.csv", tmp_path / "s.parquet"
    assert run(["screen", str(cohort_csv), "--out", str(out_csv), "-q"], capsys)[0] == 0
    assert run(["screen", str(cohort_csv), "--out", str(out_pq), "-q"], capsys)[0] == 0
    from_csv, from_pq = pd.read_csv(out_csv, dtype=str), pd.read_parquet(out_pq)
    assert from_pq["status"].astype(str).tolist() == from_csv["status"].tolist()
    meta = json.loads(pq.read_schema(out_pq).metadata[b"kaptools.protocol"])
    assert meta["sha256"] == default_protocol().info.sha256
    source = tmp_path / "cohort.parquet"
    synthetic_screening_frame(120, seed=31).to_parquet(source, index=False)
    out2 = tmp_path / "again.csv"
    assert run(["screen", str(source), "--out", str(out2), "-q"], capsys)[0] == 0
    assert pd.read_csv(out2, dtype=str)["status"].tolist() == from_csv["status"].tolist()


def test_a_file_that_is_not_parquet_is_refused_by_name(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A .parquet file that is not Parquet: exit 2 and a message naming it."""
    bad = tmp_path / "cohort.parquet"
    bad.write_text("age_years\n40\n", encoding="utf-8")
    code, _, err = run(["screen", str(bad), "--out", str(tmp_path / "o.csv")], capsys)
    assert code == 2 and "cannot be read as Parquet" in err


def test_schema_is_printed_or_written(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """--schema prints the record schema; with --out it writes it to a .json file."""
    code, stdout, _ = run(["screen", "--schema"], capsys)
    assert code == 0 and json.loads(stdout) == screening_record_schema()
    target = tmp_path / "schema.json"
    assert run(["screen", "--schema", "--out", str(target)], capsys)[0] == 0
    assert json.loads(target.read_text(encoding="utf-8")) == screening_record_schema()


def test_protocol_option_and_environment_variable(
    cohort_csv: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """--protocol applies a clinic's copy; without it, KAPTOOLS_PROTOCOL is used."""
    clinic = tmp_path / "clinic.toml"
    clinic.write_text(
        DEFAULT_TEXT.replace('name = "kaptools-default"', 'name = "our-clinic"'), encoding="utf-8"
    )
    out = tmp_path / "screened.csv"
    _, stdout, _ = run(
        ["screen", str(cohort_csv), "--out", str(out), "--protocol", str(clinic)], capsys
    )
    assert "our-clinic" in stdout
    monkeypatch.setenv(PROTOCOL_ENV_VAR, str(clinic))
    _, stdout, _ = run(["screen", str(cohort_csv), "--out", str(out)], capsys)
    assert "our-clinic" in stdout


@pytest.mark.parametrize(
    ("argv", "fragment"),
    [
        (["screen", "{tmp}/missing.csv", "--out", "{tmp}/o.csv"], "does not exist"),
        (["screen", "{csv}", "--out", "{tmp}/o.xlsx"], "use one of .csv"),
        (["screen", "{csv}", "--out", "{tmp}/no/such/dir/o.csv"], "does not exist"),
        (["screen", "{csv}"], "give --out"),
        (["screen"], "give the INPUT"),
        (
            ["screen", "{csv}", "--out", "{tmp}/o.csv", "--protocol", "{tmp}/nope.toml"],
            "Protocol file",
        ),
        (["screen", "{csv}", "--out", "{tmp}/o.csv", "--protocol", "{bad_protocol}"], "line"),
        (["screen", "{odd}", "--out", "{tmp}/o.csv"], "not in the screening layout"),
        (["screen", "{csv}", "--out", "{csv}"], "--out is the INPUT"),
        (["screen", "--schema", "{csv}"], "takes no INPUT"),
    ],
)
def test_bad_usage_or_input_exits_2_with_a_message(
    argv: list[str],
    fragment: str,
    cohort_csv: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """Each bad usage or input: exit 2, one clear message on stderr, no traceback."""
    bad_protocol = tmp_path / "bad.toml"
    bad_protocol.write_text(
        DEFAULT_TEXT.replace('severity = "exclusion"', 'severity = "fatal"', 1), encoding="utf-8"
    )
    odd = tmp_path / "odd.csv"
    odd.write_text("age,sex\n40,female\n", encoding="utf-8")
    values = {
        "tmp": str(tmp_path),
        "csv": str(cohort_csv),
        "bad_protocol": str(bad_protocol),
        "odd": str(odd),
    }
    code, _, stderr = run([a.format(**values) for a in argv], capsys)
    assert code == cli.EXIT_USAGE
    assert fragment in stderr and "Traceback" not in stderr
    assert stderr.startswith("kaptools screen: error:")


def test_argparse_usage_errors_exit_2(capsys: pytest.CaptureFixture[str]) -> None:
    """No command or an unknown option is an argparse usage error with exit code 2."""
    for argv in ([], ["screen", "--nope"], ["frobnicate"]):
        with pytest.raises(SystemExit) as exc:
            cli.main(argv)
        assert exc.value.code == 2
    assert "usage: kaptools" in capsys.readouterr().err


def test_internal_error_is_reported_without_traceback(
    cohort_csv: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """An unexpected exception gives exit 70 and a one-line report, not a traceback."""
    import kaptools.screening

    def boom(*args: object, **kwargs: object) -> None:
        raise RuntimeError("unexpected")

    monkeypatch.delenv(cli.DEBUG_ENV_VAR, raising=False)
    monkeypatch.setattr(kaptools.screening, "screen_cohort", boom)
    code, _, stderr = run(["screen", str(cohort_csv), "--out", str(tmp_path / "o.csv")], capsys)
    assert code == cli.EXIT_INTERNAL
    assert "internal error (RuntimeError: unexpected)" in stderr and "Traceback" not in stderr


def test_commands_can_be_added(monkeypatch: pytest.MonkeyPatch) -> None:
    """A Command appended to COMMANDS becomes a sub-command with its own arguments."""

    def add(parser: argparse.ArgumentParser) -> None:
        parser.add_argument("--flag", action="store_true")

    def run_it(args: argparse.Namespace) -> int:
        return 0 if args.flag else 3

    monkeypatch.setattr(
        cli, "COMMANDS", [*cli.COMMANDS, cli.Command("hello", "say hi", add, run_it)]
    )
    assert cli.main(["hello", "--flag"]) == 0
    assert cli.main(["hello"]) == 3


def test_module_entry_point_runs_in_a_fresh_process(tmp_path: Path) -> None:
    """`python -m kaptools.cli` reports a missing file with exit code 2 and no traceback."""
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "kaptools.cli",
            "screen",
            str(tmp_path / "x.csv"),
            "--out",
            str(tmp_path / "o.csv"),
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 2
    assert "does not exist" in done.stderr and "Traceback" not in done.stderr


def test_demo_command_fills_an_empty_database_and_refuses_a_full_one(tmp_path, capsys) -> None:
    """`kaptools demo` creates synthetic patients once; a second run without --if-empty is
    refused with a message (exit 2) and --if-empty leaves the database alone (exit 0)."""
    from kaptools.store import Store

    url = f"sqlite:///{tmp_path / 'demo.sqlite'}"
    assert cli.main(["demo", "--database", url, "--patients", "2"]) == 0
    assert [p.patient_id for p in Store(url).list_patients()] == ["SYN-0001", "SYN-0002"]
    assert cli.main(["demo", "--database", url]) == 2
    assert "already has patients" in capsys.readouterr().err
    assert cli.main(["demo", "--database", url, "--if-empty"]) == 0
    assert len(Store(url).list_patients()) == 2


@pytest.mark.parametrize(
    ("args", "text"),
    [
        (["--patients", "0"], "n must be"),
        (["--database", "mysql://x@y/z"], "database URL"),
    ],
)
def test_demo_command_bad_input_is_a_message_not_a_traceback(tmp_path, capsys, args, text):
    """Bad options give exit code 2 and a one-line message naming the problem."""
    argv = ["demo", "--database", f"sqlite:///{tmp_path / 'd.sqlite'}", *args]
    assert cli.main(argv) == 2
    assert text in capsys.readouterr().err


def test_screen_resolves_brand_salt_and_formulation_names_in_csv_and_jsonl(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """`kaptools screen` (CSV in, JSON Lines out) resolves drug names as screen() does: a
    brand benzodiazepine and a brand MAOI with a formulation word fire their cautions, and
    a misspelt name leaves the medication list incomplete."""
    from kaptools.screening import frame_from_records, screen
    from tests.screening.test_screening import vignette_record

    meds = (
        [{"drug": "Xanax", "daily_dose_mg": 1}],
        [{"drug": "Emsam patch", "daily_dose_mg": 6}],
        [{"drug": "Xanaks", "daily_dose_mg": 1}],
    )
    records = [vignette_record({"current_medications": m}) for m in meds]
    source = tmp_path / "cohort.csv"
    frame_from_records(records).to_csv(source, index=False)
    out = tmp_path / "screened.jsonl"
    code, _, _ = run(["screen", str(source), "--out", str(out), "--rule-columns", "-q"], capsys)
    assert code == cli.EXIT_OK
    rows = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    assert rows[0]["rule_benzodiazepine"] == 1 and rows[0]["rule_benzodiazepine_high_dose"] == 1
    assert rows[1]["rule_blood_pressure_medication"] == 1
    assert rows[2]["rule_medication_unrecognised"] == 1 and rows[2]["status"] == "incomplete"
    assert [r["status"] for r in rows] == [screen(r).status.value for r in records]


def test_alerts_list_and_ack(tmp_path, capsys, monkeypatch) -> None:
    """'alerts list' prints open alerts with 988 (raising a record's alert first); 'alerts
    ack' without a note is refused (exit 2, names the note, nothing saved); with a note
    it acknowledges, and the alert stays listed under --all."""
    import datetime as dt

    from kaptools.cli import main as cli_main
    from kaptools.store import Store

    url = f"sqlite:///{tmp_path / 'a.sqlite'}"
    monkeypatch.setenv("KAPTOOLS_USER", "dr-cli")
    store = Store(url)
    store.add_patient("SYN-C1", "C", birth_date=None, sex="unknown", weight_kg=None)
    store.save_record(
        "assessment",
        "SYN-C1",
        {"instrument": "phq9", "answers": [0] * 8 + [2], "administered_on": "2026-11-01"},
        effective_at=dt.date(2026, 11, 1),
    )
    assert cli_main(["alerts", "list", "SYN-C1", "--database", url]) == 0
    out = capsys.readouterr().out
    assert "988" in out and "PHQ-9 item 9" in out and "OPEN SAFETY ALERTS" in out
    (alert,) = store.patient_alerts("SYN-C1")
    assert alert.alert_id in out and alert.raised_by == "dr-cli"

    assert cli_main(["alerts", "ack", alert.alert_id, "--note", "  ", "--database", url]) == 2
    assert "note" in capsys.readouterr().err
    assert store.get_alert(alert.alert_id).is_open

    assert cli_main(["alerts", "ack", alert.alert_id, "--note", "seen", "--database", url]) == 0
    assert "acknowledged" in capsys.readouterr().out
    assert store.get_alert(alert.alert_id).acknowledgement.who == "dr-cli"
    assert cli_main(["alerts", "list", "SYN-C1", "--all", "--database", url]) == 0
    out = capsys.readouterr().out
    assert "No open safety alerts." in out and "ACKNOWLEDGED" in out and "seen" in out

    assert cli_main(["alerts", "list", "SYN-NOPE", "--database", url]) == 2
    assert "SYN-NOPE" in capsys.readouterr().err


def test_audit_trail_of_a_patient_prints_open_alerts_on_stderr(tmp_path, capsys) -> None:
    """'audit trail' keeps its table on stdout and shows the open alerts (988) on stderr."""
    from kaptools.alerts import Alert, AlertLevel
    from kaptools.cli import main as cli_main
    from kaptools.store import Store

    url = f"sqlite:///{tmp_path / 'b.sqlite'}"
    store = Store(url)
    store.add_patient("SYN-C2", "C", birth_date=None, sex="unknown", weight_kg=None)
    alert = Alert(rule_id="r", level=AlertLevel.WARNING, message="m", action="a", source="s")
    store.raise_alert("SYN-C2", alert, source_kind="assessment", source_ref="x")
    assert cli_main(["audit", "trail", "SYN-C2", "--database", url]) == 0
    captured = capsys.readouterr()
    assert "988" in captured.err and "OPEN SAFETY ALERTS" in captured.err
    assert "988" not in captured.out and "raise_alert" in captured.out


def test_malformed_rows_can_be_written_as_parquet(
    cohort_csv: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """--errors x.parquet: the same malformed rows, typed, with the protocol in the metadata;
    a cell starting with '=' is kept as read (neutralisation is for CSV)."""
    import json

    import pyarrow.parquet as pq

    frame = pd.read_csv(cohort_csv, dtype=str)
    frame.loc[4, "age_years"] = "=forty"
    frame.to_csv(cohort_csv, index=False)
    out, errors = tmp_path / "screened.parquet", tmp_path / "bad.parquet"
    code, _, _ = run(
        ["screen", str(cohort_csv), "--out", str(out), "--errors", str(errors)], capsys
    )
    assert code == cli.EXIT_PROBLEMS
    table = pq.read_table(errors)
    rows = table.to_pandas()
    assert list(rows["row"]) == [5] and "age_years" in rows["reason"].iloc[0]
    assert rows["value"].iloc[0] == "=forty"
    assert json.loads(table.schema.metadata[b"kaptools.protocol"])["name"]
    assert not (tmp_path / "screened.errors.csv").exists()
