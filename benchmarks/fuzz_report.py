"""Print the figures of a long fuzz run (``make fuzz``) from its JSON Lines report.

Each line of the report is one entry point: calls, successes, refusals (a
kaptools error naming the field) and the slowest call in CPU seconds. A run that
reaches this script had no unhandled exception, no partial write and no call over
2 s: tests/test_fuzz.py fails otherwise.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path


def main(path: str) -> int:
    rows = [json.loads(line) for line in Path(path).read_text(encoding="utf-8").splitlines()]
    print(f"{'entry point':32} {'calls':>8} {'ok':>8} {'refused':>8} {'slowest (CPU s)':>16}")
    for r in rows:
        print(
            f"{r['entry_point']:32} {r['calls']:>8,} {r['ok']:>8,} {r['refused']:>8,} "
            f"{r['slowest']:>16.3f}"
        )
    print("unhandled exceptions: 0; partial writes: 0 (the run fails otherwise)")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1] if len(sys.argv) > 1 else "var/fuzz-report.jsonl"))
