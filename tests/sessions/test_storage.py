"""Dosing-session records in the store: saved, corrected as new versions, read back."""

from __future__ import annotations

import datetime as dt

import pytest

from kaptools.errors import IncompleteInputError, InvalidInputError
from kaptools.identity import Identity, Role
from kaptools.protocol import default_protocol
from kaptools.sessions import (
    DOSING_SESSION_KIND,
    DischargeChecklist,
    DissociationRating,
    DosingSession,
    PreDoseChecks,
    RemsFields,
    SedationRating,
    VitalSigns,
    dosing_session_history,
    dosing_sessions,
    rems_forms_due,
    save_dosing_session,
)
from kaptools.store import Store

T0 = dt.datetime(2026, 3, 9, 10, 0)


@pytest.fixture
def store():
    with Store.in_memory(identity=Identity("dr.synthetic", Role.CLINICIAN)) as s:
        s.add_patient(
            "SYN-0001",
            "Synthetic Patient",
            birth_date=dt.date(1980, 5, 1),
            sex="female",
            weight_kg=70,
        )
        yield s


GO = {
    "vitals": (VitalSigns("pre_dose", 0, 128, 82, 70, 98),),
    "pre_dose": PreDoseChecks((), False, False),
    "rems": RemsFields(patient_enrolled=True),
    "patient_age_years": 45,
    "first_dose": False,
}


def _session(day=dt.date(2026, 3, 9), **kw) -> DosingSession:
    """An esketamine session whose pre-dose checks say go (so a dose may be recorded)."""
    return DosingSession(
        "SYN-0001",
        "esketamine_nasal",
        day,
        started_at=dt.datetime.combine(day, T0.time()),
        **{**GO, **kw},
    )


def test_saved_session_reads_back_equal(store):
    """A saved session comes back equal, as a dosing_session record with an audit row."""
    rec = save_dosing_session(store, _session(dose_mg=56), "dr.synthetic")
    assert DOSING_SESSION_KIND == rec.kind
    (saved,) = dosing_sessions(store, "SYN-0001")
    assert _session(dose_mg=56) == saved.session
    assert (rec.record_id, 1) == (saved.record_id, saved.version)
    assert any(e.record_id == rec.record_id for e in store.audit_entries("SYN-0001"))


def test_correction_is_a_new_version_and_needs_a_reason(store):
    """Correcting a record keeps the old version and requires a reason."""
    rec = save_dosing_session(store, _session(dose_mg=56), "dr.synthetic")
    with pytest.raises(IncompleteInputError):
        save_dosing_session(store, _session(dose_mg=84), "dr.synthetic", record_id=rec.record_id)
    save_dosing_session(
        store,
        _session(dose_mg=84),
        "dr.synthetic",
        record_id=rec.record_id,
        reason="dose typo",
        based_on_version=1,
    )
    history = dosing_session_history(store, rec.record_id)
    assert [(1, 56), (2, 84)] == [(h.version, h.session.dose_mg) for h in history]
    (latest,) = dosing_sessions(store, "SYN-0001")
    assert (2, "dose typo") == (latest.version, latest.reason)


def test_sessions_are_listed_oldest_first_and_feed_the_rems_list(store):
    """Sessions come back in session order; the REMS list reads them with their record ids."""
    later = save_dosing_session(store, _session(dt.date(2026, 3, 12)), "dr.synthetic")
    save_dosing_session(store, _session(dt.date(2026, 3, 9)), "dr.synthetic")
    saved = dosing_sessions(store, "SYN-0001")
    assert [dt.date(2026, 3, 9), dt.date(2026, 3, 12)] == [s.session.session_date for s in saved]
    due = rems_forms_due(saved, dt.date(2026, 3, 13))
    assert later.record_id == due[-1].record_id


def test_only_sessions_can_be_saved(store):
    """Saving a dict instead of a DosingSession is refused with the parser named."""
    with pytest.raises(InvalidInputError, match="parse_dosing_session"):
        save_dosing_session(store, _session().to_dict(), "dr.synthetic")


def test_completed_session_keeps_its_protocol_through_the_store(store):
    """A completed session is stored and read back with the protocol it was completed under."""
    session = DosingSession(
        "SYN-0001",
        "iv_ketamine",
        T0.date(),
        started_at=T0,
        monitoring_ended_at=T0 + dt.timedelta(minutes=90),
        discharged_at=T0 + dt.timedelta(minutes=100),
        dose_mg=35,
        dose_ended_at=T0 + dt.timedelta(minutes=40),
        weight_kg=70,
        lot_number="LOT-9",
        vitals=(
            VitalSigns("pre_dose", 0, 120, 80, 70, 98),
            VitalSigns("during", 15, 130, 82, 72, 97),
            VitalSigns("during", 30, 134, 84, 74, 97),
            VitalSigns("post_dose", 40, 132, 84, 74, 97),
            VitalSigns("pre_discharge", 90, 122, 80, 70, 98),
        ),
        sedation=(SedationRating(40, 4), SedationRating(90, 5)),
        dissociation=(
            DissociationRating(0, (0, 0, 0, 0, 0, 0)),
            DissociationRating(40, (0, 1, 0, 0, 0, 0)),
            DissociationRating(90, (0, 0, 0, 0, 0, 0)),
        ),
        side_effects=(),
        discharge=DischargeChecklist(escort_home=True, no_driving_until_next_day=True),
        pre_dose=PreDoseChecks((), False, False),
    ).complete()
    save_dosing_session(store, session, "dr.synthetic")
    (saved,) = dosing_sessions(store, "SYN-0001")
    assert session == saved.session
    assert default_protocol().info == saved.session.protocol
