"""The privacy rule of preheating, checked in real preheated kernels: a kernel that ran
its dashboard before any request holds no patient data (no patient objects, no patient
id or name in any widget's state, no read in the audit log) until its page's browser
sends ``?patient=``. The first paint is computed by the server, never by these kernels.
"""

from __future__ import annotations

import time
from pathlib import Path

from kaptools.demo import build_demo_database
from kaptools.store import Store
from kaptools.testing import kernel_pids, run_in_kernel, voila_server

DASHBOARDS = Path(__file__).resolve().parents[2] / "dashboards"
POOL = len(list(DASHBOARDS.glob("*.ipynb")))

#: Run in a preheated kernel: what in it could be patient data.
PROBE = """
def _kap_probe(ids, names):
    import gc
    import ipywidgets
    from kaptools.store import Patient
    from kaptools.trends import PatientTrends
    from kaptools.screening import ScreeningResult
    from kaptools.scheduling import CoursePlan
    kinds = (Patient, PatientTrends, ScreeningResult, CoursePlan)
    def patients_of(o):  # a blank form's screening (no patient) is not patient data
        record = getattr(o, "record", None)
        return getattr(o, "patient_id", None) or getattr(record, "patient_id", None) or (
            isinstance(o, (Patient, PatientTrends)))
    objects = sorted({type(o).__name__ for o in gc.get_objects()
                      if isinstance(o, kinds) and patients_of(o)})
    from ipywidgets.widgets import widget as widget_module
    registry = getattr(widget_module, "_instances", None) or ipywidgets.Widget.widgets
    states = [str(w.get_state()) for w in list(registry.values())]
    text = " ".join(states)
    found = sorted({v for v in [*ids, *names] if v in text})
    rendered = "app" in globals()
    import json
    return json.dumps({"rendered": rendered, "objects": objects, "found": found,
                       "widgets": len(states)})
"""


def test_a_preheated_kernel_holds_no_patient_data(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'demo.sqlite'}"
    store = Store(url)
    build_demo_database(store)
    patients = store.list_patients()
    ids = [p.patient_id for p in patients]
    names = [p.display_name for p in patients]
    views_before = [e for e in store.audit_entries() if e.action == "view"]
    with voila_server(DASHBOARDS, env={"KAPTOOLS_DATABASE_URL": url}) as base:
        deadline = time.monotonic() + 240
        while len(kernel_pids(base)) < POOL:
            assert time.monotonic() < deadline, "the preheated pool did not start"
            time.sleep(1)
        checked = []
        for pid in kernel_pids(base):
            while True:  # until the kernel has run its dashboard (its pre-render)
                found = run_in_kernel(pid, PROBE, f"_kap_probe({ids!r}, {names!r})", timeout=120)
                assert isinstance(found, dict)
                if found["rendered"]:
                    break
                assert time.monotonic() < deadline, "a preheated kernel never rendered"
                time.sleep(2)
            checked.append(found)
    assert len(checked) >= POOL
    for found in checked:
        assert found["widgets"] > 0  # the dashboard's widgets exist
        assert found["objects"] == [], found
        assert found["found"] == [], found
    views = [e for e in store.audit_entries() if e.action == "view"]
    assert views == views_before  # no patient was read
