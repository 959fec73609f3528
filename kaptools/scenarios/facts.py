"""What the engine says about a stored scenario patient, read back from the store."""

from __future__ import annotations

from kaptools.errors import InvalidInputError
from kaptools.protocol import Protocol, default_protocol
from kaptools.scheduling.storage import load_latest_plan
from kaptools.screening import screen
from kaptools.screening.persistence import SCREENING_KIND, load_screening
from kaptools.sessions import (
    dosing_sessions,
)
from kaptools.store import Store

__all__ = ["observed_facts"]


def observed_facts(
    store: Store, patient_id: str, protocol: Protocol | None = None
) -> frozenset[str]:
    """What the engine finds for ``patient_id``, read back from the store.

    Facts: ``status:<status>`` and ``rule:<id>`` (every finding) and
    ``route:<route>:<status>`` from the latest screening, re-run through
    :func:`kaptools.screening.screen` from its stored record (and checked against the
    stored result); ``alert:<level>:<rule>``, ``alert:open``, ``alert:acknowledged`` and
    ``alert:crisis_line`` from the stored alerts; ``plan:deviation:<rule>:<phase>`` and
    ``plan:acknowledged`` from the latest plan; per dosing session
    ``session:hold:<rule>``, ``session:hold_overridden``, ``session:dose_given`` /
    ``session:no_dose``, ``session:urgent:<rule>`` and
    ``session:discharge_not_ready:<criterion>``.
    """
    protocol = protocol or default_protocol()
    facts: set[str] = set()
    screenings = store.latest_records(SCREENING_KIND, patient_id)
    if screenings:
        stored = load_screening(store, screenings[-1].record_id)
        again = screen(stored.record, protocol=protocol)
        if again.status is not stored.status or again.rule_ids != stored.rule_ids:
            raise InvalidInputError(
                f"screening of {patient_id}: the stored result ({stored.status.value}) differs "
                f"from the engine's ({again.status.value}) under {protocol.info.name}."
            )
        facts.add(f"status:{again.status.value}")
        facts |= {f"rule:{f.rule_id}" for f in again.findings}
        facts |= {f"route:{r.value}:{st.value}" for r, st in again.routes.items()}
    for a in store.patient_alerts(patient_id):
        facts.add(f"alert:{a.alert.level.value}:{a.alert.rule_id}")
        facts.add("alert:open" if a.is_open else "alert:acknowledged")
        if "988" in (a.alert.crisis_line or ""):
            facts.add("alert:crisis_line")
    saved = load_latest_plan(store, patient_id)
    if saved is not None:
        facts |= {
            f"plan:deviation:{d.rule}:{d.phase.value if d.phase else 'course'}"
            for d in saved.plan.deviations
        }
        if saved.plan.deviations and saved.plan.acknowledgement is not None:
            facts.add("plan:acknowledged")
    for entry in dosing_sessions(store, patient_id):
        session = entry.session
        decision = session.go_no_go(protocol)
        facts |= {f"session:hold:{f.rule_id}" for f in decision.holds}
        if decision.overridden:
            facts.add("session:hold_overridden")
        facts.add("session:dose_given" if session.dose_mg is not None else "session:no_dose")
        facts |= {f"session:urgent:{f.rule_id}" for f in session.urgent_flags(protocol)}
        facts |= {
            f"session:discharge_not_ready:{c.key}"
            for c in session.discharge_readiness(protocol).unmet
        }
    return frozenset(facts)
