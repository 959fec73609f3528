"""The ``kaptools`` command line: ``kaptools <command> [options]``.

Each command is a :class:`Command` in :data:`COMMANDS`: a name, a one-line help, a
function that adds its arguments to its sub-parser, and a function that runs it and
returns the exit code. To add a command, write those two functions beside the
others (or in their own module) and append a ``Command`` to ``COMMANDS``.

Exit codes and the one error printer are :mod:`kaptools.commands` (0 done, 1 done with
problems reported, 2 bad usage or input, 70 internal error); they are re-exported here.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from kaptools.commands import (
    DEBUG_ENV_VAR,
    EXIT_INTERNAL,
    EXIT_OK,
    EXIT_PROBLEMS,
    EXIT_USAGE,
    Command,
    UsageError,
    run_command,
)

__all__ = [
    "COMMANDS",
    "DEBUG_ENV_VAR",
    "EXIT_INTERNAL",
    "EXIT_OK",
    "EXIT_PROBLEMS",
    "EXIT_USAGE",
    "Command",
    "UsageError",
    "main",
]

# ---------------------------------------------------------------------------
# Options several commands share, declared once

_SHARED_OPTIONS: dict[str, tuple[tuple[str, ...], dict[str, Any]]] = {
    "database": (
        ("--database",),
        {
            "metavar": "URL",
            "help": "SQLAlchemy URL of the database (default: $KAPTOOLS_DATABASE_URL, else the "
            "SQLite file in $KAPTOOLS_HOME)",
        },
    ),
    "quiet": (("--quiet", "-q"), {"action": "store_true", "help": "print nothing on success"}),
}
"""Each shared option: its flags and its ``add_argument`` keywords."""


def _add_shared(parser: argparse.ArgumentParser, *names: str) -> None:
    """Add the shared options ``names`` (keys of :data:`_SHARED_OPTIONS`) to ``parser``."""
    for name in names:
        flags, options = _SHARED_OPTIONS[name]
        parser.add_argument(*flags, **options)


# ---------------------------------------------------------------------------
# kaptools screen

_OUTPUT_SUFFIXES = (".csv", ".jsonl", ".ndjson", ".parquet")


def _screen_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "input",
        nargs="?",
        metavar="INPUT",
        help=(
            "cohort file: .csv or .parquet in the wide layout, or .jsonl with one screening "
            "record per line"
        ),
    )
    parser.add_argument(
        "--out",
        "-o",
        metavar="OUTPUT",
        help=(
            "where to write the per-patient table (.csv, .jsonl or .parquet); with --schema, "
            "the schema"
        ),
    )
    parser.add_argument(
        "--protocol",
        metavar="FILE",
        help="the clinic's protocol TOML (default: $KAPTOOLS_PROTOCOL, else the shipped default)",
    )
    parser.add_argument(
        "--errors",
        metavar="FILE",
        help="where to write malformed rows, .csv or .parquet (default: OUTPUT's name + "
        "'.errors.csv')",
    )
    parser.add_argument(
        "--rule-columns",
        action="store_true",
        help="add one 0/1 column per rule (rule_<id>) to the output",
    )
    parser.add_argument(
        "--schema",
        action="store_true",
        help="print the JSON Schema of a screening record (or write it to --out) and stop",
    )
    _add_shared(parser, "quiet")


def _errors_path(out: Path, given: str | None) -> Path:
    if given:
        return Path(given)
    return out.with_name(out.stem + ".errors.csv")


def _check_output(path: Path, *, what: str, suffixes: tuple[str, ...]) -> None:
    if path.suffix.lower() not in suffixes:
        raise UsageError(
            f"{what} {str(path)!r}: use one of {', '.join(suffixes)} (got "
            f"{path.suffix or 'no suffix'!r})"
        )
    if not path.parent.exists():
        raise UsageError(f"{what} {str(path)!r}: the folder {str(path.parent)!r} does not exist")
    if path.is_dir():
        raise UsageError(f"{what} {str(path)!r} is a folder: give a file name")


def _run_screen(args: argparse.Namespace) -> int:
    from kaptools.protocol import load_protocol, protocol_from_env
    from kaptools.screening import screen_cohort, screening_record_schema
    from kaptools.screening.cohort import write_parquet
    from kaptools.spreadsheet import CSV_LINE_END, safe_frame

    if args.schema:
        text = json.dumps(screening_record_schema(), indent=2, ensure_ascii=False) + "\n"
        if args.input:
            raise UsageError("--schema takes no INPUT: use --out FILE to write the schema")
        if args.out:
            out = Path(args.out)
            _check_output(out, what="--out", suffixes=(".json",))
            out.write_text(text, encoding="utf-8")
        else:
            sys.stdout.write(text)
        return EXIT_OK
    if not args.input:
        raise UsageError("give the INPUT cohort file (or --schema for the record schema)")
    if not args.out:
        raise UsageError("give --out OUTPUT: the file to write the per-patient table to")
    source, out = Path(args.input), Path(args.out)
    _check_output(out, what="--out", suffixes=_OUTPUT_SUFFIXES)
    errors_out = _errors_path(out, args.errors)
    _check_output(errors_out, what="--errors", suffixes=(".csv", ".parquet"))
    if source.exists() and out.exists() and source.resolve() == out.resolve():
        raise UsageError("--out is the INPUT file: write the results somewhere else")

    protocol = load_protocol(args.protocol) if args.protocol else protocol_from_env()
    # a bar only for a person at a terminal: never with --quiet, a pipe or a log file
    result = screen_cohort(source, protocol=protocol, progress=False if args.quiet else None)
    result.write(out, rule_columns=args.rule_columns)
    malformed = len(result.errors) > 0
    if malformed and errors_out.suffix.lower() == ".parquet":
        # typed and as read (the formula neutralisation is for CSV); values as text
        errors = result.errors.astype({"value": "string", "patient_id": "string"})
        write_parquet(errors, errors_out, protocol=protocol.info)
    elif malformed:
        safe_frame(result.errors).to_csv(errors_out, index=False, lineterminator=CSV_LINE_END)
    if not args.quiet:
        print(result.summary)
        print(f"Per-patient table written to {out}.")
    if malformed:
        rows = int(result.errors["row"].nunique())
        print(
            f"kaptools screen: {rows} malformed row(s) were not screened; reasons in {errors_out}.",
            file=sys.stderr,
        )
        return EXIT_PROBLEMS
    return EXIT_OK


SCREEN = Command(
    name="screen",
    help="screen a cohort file against the protocol",
    description=(
        "Screen every patient of a cohort (CSV in the wide layout, or JSON Lines of screening "
        "records) and write one row per patient: status, failed adequate trials, the rule ids "
        "that fired by severity, and safety alerts. Malformed rows are reported with the "
        "reason and never screened (exit code 1). Decision support: a status says whether the "
        "protocol's criteria are met."
    ),
    add_arguments=_screen_arguments,
    run=_run_screen,
)


def _demo_arguments(parser: argparse.ArgumentParser) -> None:
    from kaptools.demo import add_arguments

    add_arguments(parser)


def _run_demo(args: argparse.Namespace) -> int:
    from kaptools.demo import run

    return run(args)


DEMO = Command(
    name="demo",
    help="create a demo database of synthetic patients",
    description=(
        "Fill an empty database with seeded synthetic patients: screenings, course plans, "
        "dosing sessions and symptom measures. Synthetic data only."
    ),
    add_arguments=_demo_arguments,
    run=_run_demo,
)

# ---------------------------------------------------------------------------
# kaptools backup / restore / audit


def _backup_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("out", metavar="BACKUP.zip", help="the backup file to write (new)")
    _add_shared(parser, "database")


def _run_backup(args: argparse.Namespace) -> int:
    from kaptools.backup import backup
    from kaptools.store import Store

    with Store(args.database) as store:
        done = backup(store, args.out)
    print(f"Backed up {done.summary}")
    return EXIT_OK


def _restore_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("backup", metavar="BACKUP.zip", help="a file written by kaptools backup")
    _add_shared(parser, "database")


def _run_restore(args: argparse.Namespace) -> int:
    from kaptools.backup import restore
    from kaptools.store import Store

    with Store(args.database, create=False) as store:
        done = restore(args.backup, store)
        check = store.verify_audit()
    print(f"Restored and verified {done.summary}")
    print(check.summary)
    return EXIT_OK


def _audit_arguments(parser: argparse.ArgumentParser) -> None:
    sub = parser.add_subparsers(dest="audit_command", metavar="ACTION", required=True)
    verify = sub.add_parser("verify", help="check the audit log's hash chain (tampering)")
    _add_shared(verify, "database")
    trail = sub.add_parser("trail", help="who saw or changed one patient's record, and when")
    trail.add_argument("patient", metavar="PATIENT_ID")
    _add_shared(trail, "database")


def _print_open_alerts(store: Any, patient_id: str) -> None:
    """A patient's open safety alerts (with 988) on stderr, so every command that shows a
    patient shows them without changing its machine-readable stdout."""
    from kaptools.patient_alerts import patient_alerts

    lines = patient_alerts(store, patient_id).text_lines()
    if lines:
        print("\n".join(lines), file=sys.stderr)


def _run_audit(args: argparse.Namespace) -> int:
    from kaptools.store import Store

    with Store(args.database) as store:
        if args.audit_command == "verify":
            check = store.verify_audit()
            print(check.summary)
            return EXIT_OK if check.ok else EXIT_PROBLEMS

        store.get_patient(args.patient)  # NotFoundError names a wrong id
        rows = store.audit_entries(args.patient)
        store.log("audit_trail", patient_id=args.patient, detail="CLI")
        _print_open_alerts(store, args.patient)
    print("when (UTC)\twho\taction\tkind\trecord\tversion\tdetail")
    for e in rows:
        when = e.at.replace(microsecond=0).isoformat(sep=" ")
        fields = [when, e.who, e.action, e.kind or "", e.record_id or "", e.version, e.detail]
        print("\t".join("" if f is None else str(f).replace("\t", " ") for f in fields))
    return EXIT_OK


BACKUP = Command(
    name="backup",
    help="write a consistent, verified backup of the database to a file",
    add_arguments=_backup_arguments,
    run=_run_backup,
)
RESTORE = Command(
    name="restore",
    help="load a backup into a new, empty database and verify it",
    description=(
        "Load a kaptools backup into an empty database (SQLite or PostgreSQL). What was "
        "written is read back and compared with the backup's digests, and the audit "
        "chain is checked, before anything is committed."
    ),
    add_arguments=_restore_arguments,
    run=_run_restore,
)
AUDIT = Command(
    name="audit",
    help="verify the audit log, or list who saw or changed a patient's record",
    description=(
        "kaptools audit verify: recompute the audit log's hash chain; exit 1 and name "
        "the first bad row when it was changed. kaptools audit trail PATIENT_ID: every "
        "read and write of the patient's record, with who and when."
    ),
    add_arguments=_audit_arguments,
    run=_run_audit,
)

# kaptools alerts


def _alerts_arguments(parser: argparse.ArgumentParser) -> None:
    sub = parser.add_subparsers(dest="alerts_command", metavar="ACTION", required=True)
    show = sub.add_parser(
        "list",
        help="a patient's open safety alerts (with --all, acknowledged ones too)",
        description=(
            "Print a patient's open safety alerts with the 988 crisis line, raising first "
            "any alert a stored record holds that is not stored yet."
        ),
    )
    show.add_argument("patient_id", help="the patient's id, e.g. SYN-0003")
    show.add_argument("--all", action="store_true", help="also list acknowledged alerts")
    _add_shared(show, "database")
    ack = sub.add_parser(
        "ack",
        help="acknowledge an open alert with a written note",
        description=(
            "Acknowledge an open safety alert: who (KAPTOOLS_USER or the login name), when "
            "and the note are kept and audit-logged; the alert itself is never deleted."
        ),
    )
    ack.add_argument("alert_id", help="the alert's id, as 'kaptools alerts list' prints it")
    ack.add_argument("--note", required=True, help="what was done (required, non-empty)")
    _add_shared(ack, "database")


def _run_alerts(args: argparse.Namespace) -> int:
    from kaptools.patient_alerts import acknowledge_alert, sync_patient_alerts
    from kaptools.protocol import protocol_from_env
    from kaptools.store import Store

    with Store(args.database) as store:
        if args.alerts_command == "ack":
            done = acknowledge_alert(store, args.alert_id, note=args.note)
            print(f"{done.patient_id}: {done.summary}")
            return EXIT_OK
        patient = store.get_patient(args.patient_id)
        found = sync_patient_alerts(store, patient.patient_id, protocol=protocol_from_env())
        store.log(
            "view",
            patient_id=patient.patient_id,
            kind="alerts",
            detail="kaptools alerts list" + (" --all" if args.all else ""),
        )
        print(patient.label)
        lines = found.text_lines()
        print("\n".join(lines) if lines else "No open safety alerts.")
        if args.all and found.acknowledged:
            print("ACKNOWLEDGED ALERTS (kept in the history)")
            for a in found.acknowledged:
                print(f"- {a.summary}")
        return EXIT_OK


ALERTS = Command(
    name="alerts",
    help="list a patient's safety alerts, or acknowledge one with a note",
    description=(
        "Safety alerts stay open until a clinician acknowledges them with a note. "
        "'kaptools alerts list PATIENT' prints the open ones with the 988 crisis line; "
        "'kaptools alerts ack ALERT_ID --note TEXT' acknowledges one."
    ),
    add_arguments=_alerts_arguments,
    run=_run_alerts,
)


def _export_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--fhir", action="store_true", required=True, help="write a FHIR R4 (4.3.0) JSON Bundle"
    )
    _add_shared(parser, "database")
    parser.add_argument(
        "--patient", action="append", metavar="ID", help="a patient id (repeat; default: all)"
    )
    parser.add_argument(
        "--sections",
        default="patient,assessments,vitals,plan,alerts",
        help="comma-separated: patient, assessments, vitals, plan, alerts (default: all); "
        "'patient,assessments' is what 'kaptools import --fhir' reads back",
    )
    parser.add_argument("--out", required=True, help="the .json file to write")
    _add_shared(parser, "quiet")


def _run_export(args: argparse.Namespace) -> int:
    from kaptools.fhir import cohort_bundle
    from kaptools.store import Store

    out = Path(args.out)
    _check_output(out, what="--out", suffixes=(".json",))
    store = Store(args.database, create=False)
    sections = [s.strip() for s in args.sections.split(",") if s.strip()]
    bundle = cohort_bundle(
        store, args.patient, sections=sections, progress=False if args.quiet else None
    )
    out.write_text(bundle.model_dump_json(indent=1, exclude_none=True), encoding="utf-8")
    if not args.quiet:
        print(f"FHIR Bundle with {len(bundle.entry or ())} resources written to {out}.")
    return EXIT_OK


EXPORT = Command(
    name="export",
    help="export patients as a FHIR R4 Bundle (JSON)",
    description=(
        "Write a FHIR Bundle (R4B 4.3.0, validated with fhir.resources): Patient, "
        "QuestionnaireResponse and total-score Observation per assessment, vital-sign "
        "Observations, the course plan as a CarePlan, open safety alerts as Flags."
    ),
    add_arguments=_export_arguments,
    run=_run_export,
)


def _import_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("input", metavar="BUNDLE", help="a FHIR Bundle (.json)")
    parser.add_argument(
        "--fhir", action="store_true", required=True, help="the input is a FHIR Bundle"
    )
    _add_shared(parser, "database")
    parser.add_argument(
        "--author",
        help="who imports: the signed-in person (KAPTOOLS_USER), who is recorded on each "
        "record whether given or not; another name is refused",
    )


def _run_import(args: argparse.Namespace) -> int:
    from kaptools.fhir import import_bundle
    from kaptools.store import Store

    source = Path(args.input)
    if not source.is_file():
        raise UsageError(f"BUNDLE {str(source)!r} does not exist or is not a file")
    report = import_bundle(Store(args.database), source.read_bytes(), author=args.author)
    print(report.summary)
    return EXIT_OK


IMPORT = Command(
    name="import",
    help="import assessments and vital signs from a FHIR Bundle",
    description=(
        "Import QuestionnaireResponses of kaptools' instruments (and check their total-score "
        "Observations), and vital-sign Observations into the dosing session each names, from "
        "a FHIR Bundle. Every entry is validated first; anything not recognised is reported "
        "and nothing is written."
    ),
    add_arguments=_import_arguments,
    run=_run_import,
)

COMMANDS: list[Command] = [SCREEN, DEMO, EXPORT, IMPORT, BACKUP, RESTORE, AUDIT, ALERTS]
"""Every sub-command, in the order ``kaptools --help`` lists them."""


# ---------------------------------------------------------------------------


def build_parser() -> argparse.ArgumentParser:
    """The argument parser with one sub-parser per command in :data:`COMMANDS`."""
    from kaptools import __version__

    parser = argparse.ArgumentParser(
        prog="kaptools",
        description="Decision support for ketamine-assisted psychotherapy (KAP) clinics.",
    )
    parser.add_argument("--version", action="version", version=f"kaptools {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for command in COMMANDS:
        p = sub.add_parser(
            command.name, help=command.help, description=command.description or command.help
        )
        command.add_arguments(p)
        p.set_defaults(_command=command)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run ``kaptools`` with ``argv`` (default: the process arguments); return the exit code."""
    parser = build_parser()
    args = parser.parse_args(argv)
    command: Command = args._command
    return run_command(command, args)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
