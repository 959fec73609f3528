"""What every kaptools command shares: exit codes, the Command record, one error printer.

``kaptools <command>`` (:mod:`kaptools.cli`) and the modules that can also be run on
their own (``python -m kaptools.demo``) run a command through :func:`run_command`, so
a bad input prints the same one-line message and exit code whichever way it was
started, and neither entry point imports the other.

Exit codes:
    0   done.
    1   done, but the output reports problems (e.g. malformed rows not screened).
    2   bad usage or unusable input (a missing file, a bad protocol, wrong columns):
        a message says what and how to fix it; never a traceback.
    70  an internal error (please report it with the command you ran).
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable
from dataclasses import dataclass

from kaptools.errors import KaptoolsError

__all__ = [
    "DEBUG_ENV_VAR",
    "EXIT_INTERNAL",
    "EXIT_OK",
    "EXIT_PROBLEMS",
    "EXIT_USAGE",
    "Command",
    "UsageError",
    "run_command",
]

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


def run_command(command: Command, args: argparse.Namespace) -> int:
    """Run ``command`` with parsed ``args``; print any error as one line, return the exit code."""
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
