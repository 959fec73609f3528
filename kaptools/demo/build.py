"""Filling a demo database: each synthetic patient with their assessments, screening,
course plan, dosing sessions and safety alerts."""

from __future__ import annotations

from kaptools.assessments import record_assessment
from kaptools.demo.course import (
    _RESCREENING_AFTER_FOLLOW_UP,
    _SCREENING_BEFORE_PREPARATION,
    _course_plan,
    _number,
    demo_screening_record,
    not_eligible_patient_id,
)
from kaptools.demo.sessions import SESSION_SHOWCASE_PATIENT, _session_showcase, demo_dosing_session
from kaptools.demo_database import (
    DEMO_AUTHOR,
    require_demo_database,
)
from kaptools.errors import IncompleteAnswersError
from kaptools.identity import Identity, Role
from kaptools.progress import progress_bar
from kaptools.protocol import Protocol, default_protocol
from kaptools.screening import (
    save_screening,
    screen,
)
from kaptools.sessions import (
    save_dosing_session,
)
from kaptools.store import Store
from kaptools.synthetic import (
    DEMO_ANCHOR_DATE,
    SyntheticPatient,
    generate_patients,
)

__all__ = ["DEMO_CLINICIAN", "build_demo_database"]

DEMO_CLINICIAN = "dr-demo (synthetic)"
"""Who acknowledges the demo's past safety alerts."""
_DEMO_ACK_NOTE = (
    "Synthetic demo: C-SSRS screen completed at the visit, no intent or plan; safety plan "
    "reviewed and the 988 line given."
)
_INCOMPLETE_PHQ9_BLANK_ITEM = 6


def _store_patient(
    store: Store, p: SyntheticPatient, protocol: Protocol, *, not_eligible: bool
) -> None:
    patient = store.add_patient(
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
    screened_on = p.preparation_dates[0] - _SCREENING_BEFORE_PREPARATION
    record = demo_screening_record(p, patient, screened_on, protocol=protocol)
    result = screen(record, protocol=protocol)
    save_screening(store, p.patient_id, record, result, DEMO_AUTHOR, effective_at=screened_on)
    plan = _course_plan(store, p, result, protocol)
    sessions = [demo_dosing_session(p, s, protocol=protocol, plan=plan) for s in p.sessions]
    if p.patient_id == SESSION_SHOWCASE_PATIENT and len(sessions) >= 4:
        sessions = _session_showcase(sessions, protocol)
    for session in sessions:
        if session.hold_override is not None:
            # the overriding (synthetic) clinician saves the session they overrode
            who = Identity(
                session.hold_override.clinician, store.identity.role, store.identity.clinic
            )
            save_dosing_session(store.as_identity(who), session, protocol=protocol)
        else:
            save_dosing_session(store, session, DEMO_AUTHOR, protocol=protocol)
    _demo_alerts(store, p, protocol)
    if not_eligible:
        on = max(a.administered_on for a in p.assessments) + _RESCREENING_AFTER_FOLLOW_UP
        again = demo_screening_record(p, patient, on, protocol=protocol, rescreen=True)
        save_screening(
            store,
            p.patient_id,
            again,
            screen(again, protocol=protocol),
            DEMO_AUTHOR,
            effective_at=on,
        )


def _demo_alerts(store: Store, p: SyntheticPatient, protocol: Protocol) -> None:
    """Acknowledge the alerts found before the latest assessment; for the second patient
    whose item 9 stays positive, add an incomplete PHQ-9 whose alert stays open."""
    latest = max(a.administered_on for a in p.assessments)
    for a in store.patient_alerts(p.patient_id, open_only=True):
        if a.effective_at.date() < latest:
            acknowledger = Identity(DEMO_CLINICIAN, store.identity.role, store.identity.clinic)
            store.as_identity(acknowledger).acknowledge_alert(a.alert_id, note=_DEMO_ACK_NOTE)
    positive = [a for a in p.assessments if a.instrument == "phq9" and a.administered_on == latest]
    if p.item9_positive and _number(p.patient_id) > 3 and positive:
        answers: list[int | None] = list(positive[0].answers)
        answers[_INCOMPLETE_PHQ9_BLANK_ITEM - 1] = None
        try:
            record_assessment(
                store,
                p.patient_id,
                "phq9",
                answers,
                administered_on=latest,
                author=DEMO_AUTHOR,
                protocol=protocol,
                today=latest,
            )
        except IncompleteAnswersError:
            pass  # expected: the answers are not saved, the item-9 alert is


def build_demo_database(
    store: Store,
    *,
    n: int = 12,
    seed: int = 2026,
    protocol: Protocol | None = None,
    progress: bool | None = None,
) -> list[SyntheticPatient]:
    """Fill ``store`` with ``n`` synthetic patients (reproducible from ``seed``).

    Refuses (:func:`check_demo_store`) the clinic's default store and any database
    that holds a non-synthetic patient, before writing anything. ``progress``: a bar
    per patient (None: when a terminal or notebook watches; see kaptools.progress).

    The data are written by the named system identity :data:`DEMO_AUTHOR` (in the trainer
    role: synthetic patients only) into the clinic of the store's identity; the demo's
    past alerts are acknowledged by :data:`DEMO_CLINICIAN`.
    """
    store = store.as_identity(Identity(DEMO_AUTHOR, Role.TRAINER, store.identity.clinic))
    require_demo_database(store)
    protocol = protocol or default_protocol()
    patients = generate_patients(n, seed=seed, anchor=DEMO_ANCHOR_DATE)
    excluded = not_eligible_patient_id(patients)
    for p in progress_bar(patients, progress=progress, desc="demo patients", unit="patient"):
        _store_patient(store, p, protocol, not_eligible=p.patient_id == excluded)
    return patients
