"""The ``kaptools`` command line: ``kaptools <command> [options]``.

Each command is a :class:`Command` in :data:`COMMANDS`: a name, a one-line help, a
function that adds its arguments to its sub-parser, and a function that runs it and
returns the exit code. To add a command, write those two functions beside the
others (or in their own module) and append a ``Command`` to ``COMMANDS``.

Exit codes:
    0   done.
    1   done, but the output reports problems (e.g. malformed rows not screened).
    2   bad usage or unusable input (a missing file, a bad protocol, wrong columns):
        a message says what and how to fix it; never a traceback.
    70  an internal error (please report it with the command you ran).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from kaptools.errors import KaptoolsError

__all__ = ["COMMANDS", "EXIT_INTERNAL", "EXIT_OK", "EXIT_PROBLEMS", "EXIT_USAGE", "Command", "main"]

EXIT_OK = 0
EXIT_PROBLEMS = 1
EXIT_USAGE = 2
EXIT_INTERNAL = 70

DEBUG_ENV_VAR = "KAPTOOLS_DEBUG"
"""Set to 1 to see the traceback of an internal error instead of a one-line message."""


class UsageError(Exception):
    """Raised by a command for a usage problem argparse cannot see (exit code 2)."""


@dataclass(frozen=True)
class Command:
    """One sub-command of ``kaptools``."""

    name: str
    help: str
    add_arguments: Callable[[argparse.ArgumentParser], None]
    run: Callable[[argparse.Namespace], int]
    description: str = ""


# ---------------------------------------------------------------------------
# kaptools screen

_OUTPUT_SUFFIXES = (".csv", ".jsonl", ".ndjson")


def _screen_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "input",
        nargs="?",
        metavar="INPUT",
        help="cohort file: .csv in the wide layout, or .jsonl with one screening record per line",
    )
    parser.add_argument(
        "--out",
        "-o",
        metavar="OUTPUT",
        help="where to write the per-patient table (.csv or .jsonl); with --schema, the schema",
    )
    parser.add_argument(
        "--protocol",
        metavar="FILE",
        help="the clinic's protocol TOML (default: $KAPTOOLS_PROTOCOL, else the shipped default)",
    )
    parser.add_argument(
        "--errors",
        metavar="FILE",
        help="where to write malformed rows (default: OUTPUT's name + '.errors.csv')",
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
    parser.add_argument("--quiet", "-q", action="store_true", help="print nothing on success")


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
    _check_output(errors_out, what="--errors", suffixes=(".csv",))
    if source.exists() and out.exists() and source.resolve() == out.resolve():
        raise UsageError("--out is the INPUT file: write the results somewhere else")

    protocol = load_protocol(args.protocol) if args.protocol else protocol_from_env()
    result = screen_cohort(source, protocol=protocol)
    result.write(out, rule_columns=args.rule_columns)
    malformed = len(result.errors) > 0
    if malformed:
        result.errors.to_csv(errors_out, index=False)
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

COMMANDS: list[Command] = [SCREEN, DEMO]
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
    prefix = f"kaptools {command.name}: error:"
    try:
        return command.run(args)
    except UsageError as exc:
        print(f"{prefix} {exc}", file=sys.stderr)
        return EXIT_USAGE
    except KaptoolsError as exc:
        print(f"{prefix} {exc}", file=sys.stderr)
        return EXIT_USAGE
    except OSError as exc:
        where = f" {exc.filename!r}" if getattr(exc, "filename", None) else ""
        print(f"{prefix} cannot read or write{where}: {exc.strerror or exc}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print(f"kaptools {command.name}: interrupted", file=sys.stderr)
        return 130
    except Exception as exc:
        if os.environ.get(DEBUG_ENV_VAR):
            raise
        print(
            f"kaptools {command.name}: internal error ({type(exc).__name__}: {exc}). Please "
            f"report it with the command you ran; set {DEBUG_ENV_VAR}=1 to see the traceback.",
            file=sys.stderr,
        )
        return EXIT_INTERNAL


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
