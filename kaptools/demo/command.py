"""``kaptools demo`` / ``python -m kaptools.demo``: its options and what it runs."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence

from kaptools.config import (
    DATABASE_URL_ENV_VAR,
    default_demo_database_path,
)
from kaptools.demo.build import build_demo_database
from kaptools.demo_database import (
    check_demo_store,
    refuse_non_demo_database,
)
from kaptools.errors import InvalidInputError
from kaptools.store import Store

__all__ = ["add_arguments", "main", "run"]


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The options of ``kaptools demo`` / ``python -m kaptools.demo``."""
    parser.add_argument(
        "--database",
        help=(
            "SQLAlchemy URL of the demo database (default: KAPTOOLS_DATABASE_URL when set, "
            "else the demo file KAPTOOLS_HOME/demo.sqlite; never the clinic's default store)"
        ),
    )
    parser.add_argument("--patients", type=int, default=12, help="how many patients (default 12)")
    parser.add_argument("--seed", type=int, default=2026, help="random seed (default 2026)")
    parser.add_argument(
        "--if-empty", action="store_true", help="do nothing when the database already has patients"
    )
    parser.add_argument(
        "--scenarios",
        action="store_true",
        help="the trainers' scenarios instead: one named synthetic patient per branch of "
        "the protocol (kaptools.scenarios); --patients is ignored",
    )
    parser.add_argument(
        "-q", "--quiet", action="store_true", help="no progress bar (also off when not a terminal)"
    )


def run(args: argparse.Namespace) -> int:
    """Create the demo database; 0 when done (or left alone with --if-empty), 2 on bad input.

    Every check runs on the database as it is, before anything (even its tables) is
    written: the clinic's default store, a database holding a non-synthetic patient,
    and one holding data that was never marked a demo database are refused.
    """
    url = args.database
    if url is None and not os.environ.get(DATABASE_URL_ENV_VAR, "").strip():
        url = f"sqlite:///{default_demo_database_path()}"
        print(f"No database given: using the demo file {default_demo_database_path()}.")
    store = Store(url, create=False)
    check_demo_store(store)
    where = store.url.render_as_string(hide_password=True)
    if store.count_patients() and args.if_empty:
        print(f"Demo database {where} already has patients; left as it is.")
        return 0
    refuse_non_demo_database(store)
    if store.count_patients():
        raise InvalidInputError(
            f"the database {where} already has patients; name an empty database with "
            "--database, or pass --if-empty to leave it as it is."
        )
    store = Store(url)
    quiet = False if args.quiet else None
    if args.scenarios:
        from kaptools.scenarios import build_scenario_database

        scenarios = build_scenario_database(store, seed=args.seed, progress=quiet)
        print(f"Created {len(scenarios)} synthetic training scenarios in {where}:")
        for s in scenarios:
            print(f"  {s.patient_id}  {s.title}  [{s.rule}]")
    else:
        patients = build_demo_database(store, n=args.patients, seed=args.seed, progress=quiet)
        print(f"Created {len(patients)} synthetic patients in {where}.")
    print(f"Serve the dashboards on it with: make run KAPTOOLS_DATABASE_URL={where}")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m kaptools.demo``: the same as ``kaptools demo`` (same errors, exit codes)."""
    from kaptools.commands import Command, run_command

    parser = argparse.ArgumentParser(
        prog="python -m kaptools.demo", description="Create a demo database of synthetic patients."
    )
    add_arguments(parser)
    command = Command(name="demo", help="demo database", add_arguments=add_arguments, run=run)
    return run_command(command, parser.parse_args(sys.argv[1:] if argv is None else argv))
