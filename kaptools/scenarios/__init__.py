"""Trainers' scenario demo: one named synthetic patient per branch of the protocol.

``kaptools demo --scenarios`` (or :func:`build_scenario_database`) fills a demo database
with the patients of :data:`SCENARIOS`, in order. Each says what it teaches and which
rule it triggers; each is built through the same public APIs as a clinic's records
(:func:`kaptools.screening.screen` and ``save_screening``, ``record_assessment``,
``plan_for_patient`` and ``save_plan``, ``DosingSession`` and ``save_dosing_session``),
so what a trainer shows is what the engine does. :func:`observed_facts` reads a
patient back from the store and runs the engine again (screening re-run from the stored
record, stored alerts, the latest plan, every session's go / no-go, flags and
discharge); the tests check every scenario's expected facts against it.

It never touches clinic data, structurally:

* it writes only into a database that is marked a demo / training database
  (:func:`kaptools.demo.require_demo_database`), and marks only an *empty*
  database (a new file), so a clinic database with anything in it is refused;
* :func:`kaptools.demo.check_demo_store` runs first: the clinic's default store and any
  database holding a patient not marked synthetic are refused;
* the refusal comes before the first write (nothing is written), and every scenario
  patient is ``synthetic=True`` with a ``TRN-`` id.

Branch-defining values (an age, a blood pressure, an answer) are fixed; ``seed`` draws
only the incidental ones (weights, birth days), so every seed shows the same branches.

The package: ``scenarios.scenario`` (the Scenario value), ``scenarios.builders`` (how
each patient is built), ``scenarios.catalogue`` (:data:`SCENARIOS`),
``scenarios.facts`` (:func:`observed_facts`); :func:`build_scenario_database` is here.
"""

from __future__ import annotations

import random

from kaptools.arguments import check_exports as _check_exports
from kaptools.demo_database import require_demo_database
from kaptools.errors import InvalidInputError
from kaptools.identity import Identity, Role
from kaptools.progress import progress_bar
from kaptools.protocol import Protocol, default_protocol
from kaptools.scenarios.catalogue import SCENARIOS, scenario
from kaptools.scenarios.facts import observed_facts
from kaptools.scenarios.scenario import SCENARIO_AUTHOR, SCENARIO_CLINICIAN, Scenario
from kaptools.store import Store

__all__ = [
    "SCENARIOS",
    "SCENARIO_AUTHOR",
    "SCENARIO_CLINICIAN",
    "Scenario",
    "build_scenario_database",
    "observed_facts",
    "scenario",
]


def build_scenario_database(
    store: Store,
    *,
    seed: int = 2026,
    protocol: Protocol | None = None,
    progress: bool | None = None,
) -> tuple[Scenario, ...]:
    """Fill ``store`` with one synthetic patient per scenario of :data:`SCENARIOS`.

    Refuses (:func:`kaptools.demo.require_demo_database`) any database that is not a demo database
    (or a new, empty one, which it marks), and one that already holds a scenario
    patient, before writing anything. ``seed`` draws the incidental values only.
    """
    # written by a named system identity (trainer role: synthetic patients only)
    store = store.as_identity(Identity(SCENARIO_AUTHOR, Role.TRAINER, store.identity.clinic))
    require_demo_database(store, what="kaptools demo --scenarios")
    protocol = protocol or default_protocol()
    have = {p.patient_id for p in store.list_patients()} & {s.patient_id for s in SCENARIOS}
    if have:
        raise InvalidInputError(
            f"database: it already holds the scenario patients {', '.join(sorted(have))}; "
            "name a new demo file. Nothing was written."
        )
    rng = random.Random(seed)
    for s in progress_bar(SCENARIOS, progress=progress, desc="scenarios", unit="patient"):
        s.build(store, s, protocol, rng)
    return SCENARIOS

# Every function listed above refuses wrong argument types by name (issue 13).
_check_exports(globals())
