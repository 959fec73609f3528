"""Build the demo database of synthetic patients (``python -m kaptools.demo``).

Used by ``make run`` (creates ``var/demo.sqlite`` when it is missing) and by the
tests, which build a private copy. Everything in it is synthetic.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from kaptools.assessments import record_assessment
from kaptools.errors import KaptoolsError
from kaptools.protocol import Protocol, default_protocol
from kaptools.store import Store
from kaptools.synthetic import DEMO_ANCHOR_DATE, SyntheticPatient, generate_patients

__all__ = ["DEMO_AUTHOR", "build_demo_database", "main"]

DEMO_AUTHOR = "synthetic-data-generator"


def _store_patient(store: Store, p: SyntheticPatient, protocol: Protocol) -> None:
    store.add_patient(
        p.patient_id,
        p.display_name,
        birth_date=p.birth_date,
        sex=p.sex,
        weight_kg=p.weight_kg,
        author=DEMO_AUTHOR,
        synthetic=True,
    )
    for a in p.assessments:
        record_assessment(
            store,
            p.patient_id,
            a.instrument,
            list(a.answers),
            administered_on=a.administered_on,
            author=DEMO_AUTHOR,
            protocol=protocol,
            today=a.administered_on,
        )
    for s in p.sessions:
        # INTERIM: replaced by the dosing-session record once kaptools.sessions lands.
        store.save_record(
            "dosing_session",
            p.patient_id,
            {
                "session_date": s.session_date.isoformat(),
                "route": s.route,
                "dose_mg": s.dose_mg,
                "label": f"Dose {s.number}",
                "side_effects": [{"name": n, "severity": sev} for n, sev in s.side_effects],
            },
            author=DEMO_AUTHOR,
            effective_at=s.session_date,
        )


def build_demo_database(
    store: Store, *, n: int = 12, seed: int = 2026, protocol: Protocol | None = None
) -> list[SyntheticPatient]:
    """Fill ``store`` with ``n`` synthetic patients (reproducible from ``seed``)."""
    protocol = protocol or default_protocol()
    patients = generate_patients(n, seed=seed, anchor=DEMO_ANCHOR_DATE)
    for p in patients:
        _store_patient(store, p, protocol)
    return patients


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m kaptools.demo", description=__doc__)
    parser.add_argument("--database", help="SQLAlchemy URL (default: KAPTOOLS_DATABASE_URL)")
    parser.add_argument("--patients", type=int, default=12, help="how many patients (default 12)")
    parser.add_argument("--seed", type=int, default=2026, help="random seed (default 2026)")
    parser.add_argument(
        "--if-empty", action="store_true", help="do nothing when the database already has patients"
    )
    args = parser.parse_args(argv)
    try:
        store = Store(args.database)
        if store.has_patients():
            if args.if_empty:
                print(
                    f"Demo database {store.url.render_as_string(hide_password=True)} "
                    "already has patients; left as it is."
                )
                return 0
            print(
                "error: the database already has patients; use an empty database or --if-empty.",
                file=sys.stderr,
            )
            return 2
        patients = build_demo_database(store, n=args.patients, seed=args.seed)
    except KaptoolsError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(
        f"Created {len(patients)} synthetic patients in "
        f"{store.url.render_as_string(hide_password=True)}."
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
