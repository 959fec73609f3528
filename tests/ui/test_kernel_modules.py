"""What a dashboard's kernel imports (issue 14, kernel memory: <= 120 MB RSS per kernel).

Each dashboard notebook's own code runs in a fresh process, as Voilà's preheated kernel
runs it, then the page's URL arrives (a patient's view) and one input is made. The heavy
libraries a page does not use must not be imported on the way: pandas (and pyarrow, which
pandas 3 imports with it: ~67 MB together), numpy (~11 MB: only frames and arrays need
it), plotly's Python package (charts are sent as plain JSON), icalendar (only when a plan
is downloaded), holidays (~9 MB, only the planner's calendar) and simple-icd-10-cm
(~170 MB: codes are answered from kaptools' shipped index). The what-if page screens a
synthetic cohort held in a DataFrame once Compare is pressed, so pandas, pyarrow (its
Parquet download) and numpy are its own after the input, never in its preheated kernel;
its heatmap is plain plotly JSON like the other charts.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

DASHBOARDS = Path(__file__).resolve().parents[2] / "dashboards"
HEAVY = ("pandas", "pyarrow", "numpy", "plotly", "icalendar", "holidays", "simple_icd_10_cm")
OWN = {"planner": {"holidays"}}
"""Heavy libraries a dashboard needs for what it shows, preheated and after."""
OWN_AFTER = {"whatif": {"pandas", "pyarrow", "numpy"}}
"""Heavy libraries a dashboard needs once its input has been made (and not before)."""

#: After the notebook's cells: a patient's view (the URL as the browser sends it) and
#: an input; prints what was imported when preheated and after, and what the input showed.
VIEW_AND_INPUT = {
    "trends": (
        "app.url.search = '?patient=SYN-0002'\n"
        "app.item_measure.value = [v for _, v in app.item_measure.options][-1]\n"
        "shown = app.summary.value + app.items.value\n"
    ),
    "eligibility": (
        "app.url.search = '?patient=SYN-0002'\n"
        "app.diagnoses.add({'code': 'I67.1'})\n"
        "shown = app.dx_descriptions.value\n"
    ),
    "planner": (
        "app.url.search = '?patient=SYN-0002'\napp.plan_button.click()\nshown = app.table.value\n"
    ),
    "whatif": (
        "box = next(iter(app.fields.values()))\n"
        "box.value = box.value + 1\n"
        "app.apply_button.click()\n"
        "shown = app.summary.value\n"
    ),
}

#: Proof that the view and the input happened (text each one puts on the page).
SHOWN = {
    "trends": "Patient Health Questionnaire-9",
    "eligibility": "Cerebral aneurysm, nonruptured",
    "planner": "kap-plan-row",
    "whatif": "patients",
}

RUNNER = """
import json, sys
HEAVY = {heavy!r}
namespace = {{}}
for cell in json.loads(sys.argv[1]):
    exec(cell, namespace)
preheated = sorted(m for m in HEAVY if m in sys.modules)
exec(sys.argv[2], namespace)
after = sorted(m for m in HEAVY if m in sys.modules)
print("RESULT " + json.dumps({{"preheated": preheated, "after": after,
                              "shown": namespace["shown"]}}))
"""


def notebook_code(name: str) -> list[str]:
    nb = json.loads((DASHBOARDS / f"{name}.ipynb").read_text(encoding="utf-8"))
    return ["".join(c["source"]) for c in nb["cells"] if c["cell_type"] == "code"]


def test_every_dashboard_is_checked() -> None:
    assert sorted(VIEW_AND_INPUT) == sorted(p.stem for p in DASHBOARDS.glob("*.ipynb"))


@pytest.mark.parametrize("name", sorted(VIEW_AND_INPUT))
def test_a_dashboard_kernel_imports_no_heavy_library_it_does_not_use(name: str) -> None:
    done = subprocess.run(
        [
            sys.executable,
            "-c",
            RUNNER.format(heavy=HEAVY),
            json.dumps(notebook_code(name)),
            VIEW_AND_INPUT[name],
        ],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stderr
    line = next(x for x in done.stdout.splitlines() if x.startswith("RESULT "))
    result = json.loads(line.removeprefix("RESULT "))
    assert SHOWN[name] in result["shown"], result["shown"][:500]
    allowed = OWN.get(name, set())
    assert set(result["preheated"]) - allowed == set(), f"{name} preheated: {result}"
    after = allowed | OWN_AFTER.get(name, set())
    assert set(result["after"]) - after == set(), f"{name} after a view and an input: {result}"
