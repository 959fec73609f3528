"""Screen the synthetic cohort with kaptools as it was before issue 7, for comparison.

Reproducible: ``python scripts/issue7_before.py [--n 5000] [--seed 7]`` from a git
checkout. It builds the synthetic cohort with the current generator, drops the columns
the old layout did not have (the old code never saw those answers), screens it with the
kaptools package of commit ``BEFORE`` (extracted with ``git archive`` into a temporary
folder, run in a subprocess with the same Python), and writes the old statuses and
findings to ``notebooks/data/issue7_before.csv``. The notebook
``notebooks/cohort_screening.ipynb`` screens the same cohort with the current rules and
counts which patients change status, and why.
"""

from __future__ import annotations

import argparse
import io
import os
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

BEFORE = "d897a30"
"""The last commit on main before issue 7 (drug vocabulary, coded diagnoses, questions,
per-route results, C-SSRS triage) started to land."""
ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "notebooks" / "data" / "issue7_before.csv"
KEEP = ["patient_id", "status", "exclusions", "missing", "cautions", "info"]

_OLD_SCREEN = """
import sys
import pandas as pd
from kaptools.screening import screen_cohort
from kaptools.screening.layout import wide_columns
frame = pd.read_csv(sys.argv[1], dtype="category", keep_default_na=False, na_values=[""])
known = {c.name for c in wide_columns()}
import re
slot = re.compile(r"(dx|trial|med|phq9_item)(\\d+)(.*)")
def old_column(name):
    m = slot.fullmatch(name)
    return name in known or (m is not None and f"{m.group(1)}1{m.group(3)}" in known)
frame = frame[[c for c in frame.columns if old_column(c)]]
for c in ("age_years", "weight_kg", "systolic_bp_mmhg", "diastolic_bp_mmhg", "heart_rate_bpm"):
    frame[c] = pd.to_numeric(frame[c].astype(object), errors="coerce")
result = screen_cohort(frame)
result.table.to_csv(sys.argv[2], index=False)
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=5000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args()

    sys.path.insert(0, str(ROOT))
    from kaptools.screening import synthetic_screening_frame

    cohort = synthetic_screening_frame(args.n, seed=args.seed)
    with tempfile.TemporaryDirectory() as tmp:
        old = Path(tmp) / "old"
        old.mkdir()
        archive = subprocess.run(
            ["git", "-C", str(ROOT), "archive", BEFORE, "kaptools"],
            check=True,
            capture_output=True,
        ).stdout
        with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
            tar.extractall(old, filter="data")
        cohort_csv = Path(tmp) / "cohort.csv"
        table_csv = Path(tmp) / "old_table.csv"
        cohort.to_csv(cohort_csv, index=False)
        env = {**os.environ, "PYTHONPATH": str(old)}
        subprocess.run(
            [sys.executable, "-c", _OLD_SCREEN, str(cohort_csv), str(table_csv)],
            check=True,
            env=env,
            cwd=tmp,
        )
        import pandas as pd

        table = pd.read_csv(table_csv, dtype=str, keep_default_na=False)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    table[KEEP].to_csv(args.out, index=False)
    print(f"{len(table):,} patients screened with kaptools {BEFORE} -> {args.out}")


if __name__ == "__main__":
    main()
