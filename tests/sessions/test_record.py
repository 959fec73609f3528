"""The dosing-session record: fields, completion rules, REMS form fields, the pydantic edge."""

from __future__ import annotations

import csv
import datetime as dt
import html
from dataclasses import replace
from importlib import resources

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kaptools.errors import IncompleteInputError, InvalidInputError, RecordError
from kaptools.protocol import default_protocol
from kaptools.sessions import (
    ConcomitantMedication,
    DischargeChecklist,
    DissociationRating,
    DosingSession,
    PreDoseChecks,
    RemsFields,
    SedationRating,
    SessionRecordStatus,
    Severity,
    SideEffect,
    SideEffectReport,
    VitalSigns,
    parse_dosing_session,
    side_effect_table,
)

DAY = dt.date(2026, 3, 9)
T0 = dt.datetime(2026, 3, 9, 10, 0)
ALL_CLEAR = DischargeChecklist(escort_home=True, no_driving_until_next_day=True)
NO_FINDINGS = PreDoseChecks((), False, False)
REMS_OK = RemsFields(
    True,
    True,
    (ConcomitantMedication.BENZODIAZEPINE,),
    False,
    ready_to_leave_at=T0 + dt.timedelta(minutes=120),
    sedation=True,
    dissociation=True,
    respiratory_depression=False,
)


def _eske(**changes) -> DosingSession:
    """A complete outpatient esketamine session (synthetic)."""
    base = DosingSession(
        patient_id="SYN-0001",
        route="esketamine_nasal",
        session_date=DAY,
        started_at=T0,
        monitoring_ended_at=T0 + dt.timedelta(minutes=125),
        discharged_at=T0 + dt.timedelta(minutes=130),
        dose_mg=56,
        lot_number="LOT-A123",
        vitals=(
            VitalSigns("pre_dose", 0, 128, 82, 70, 98),
            VitalSigns("post_dose", 40, 150, 92, 76, 97),
            VitalSigns("pre_discharge", 120, 130, 84, 72, 98),
        ),
        sedation=(SedationRating(40, 4), SedationRating(120, 5)),
        dissociation=(
            DissociationRating(0, (0, 0, 0, 0, 0, 0)),
            DissociationRating(40, (1, 0, 2, 1, 0, 0)),
            DissociationRating(120, (0, 0, 0, 0, 0, 0)),
        ),
        side_effects=(
            SideEffectReport("nausea", "mild"),
            SideEffectReport(SideEffect.DIZZINESS, Severity.MODERATE),
        ),
        discharge=ALL_CLEAR,
        rems=REMS_OK,
        pre_dose=NO_FINDINGS,
        patient_age_years=45,
        first_dose=False,
    )
    return replace(base, **changes)


def _iv(**changes) -> DosingSession:
    """A complete IV session (synthetic): vitals every 15 min through a 40-min infusion."""
    base = _eske(
        route="iv_ketamine",
        dose_mg=35,
        weight_kg=70,
        dose_ended_at=T0 + dt.timedelta(minutes=40),
        rems=None,
        vitals=(
            VitalSigns("pre_dose", 0, 124, 80, 72, 98),
            VitalSigns("during", 15, 132, 84, 75, 97),
            VitalSigns("during", 30, 138, 86, 76, 97),
            VitalSigns("post_dose", 40, 136, 85, 74, 97),
            VitalSigns("pre_discharge", 90, 126, 80, 70, 98),
        ),
    )
    return replace(base, **changes)


def test_a_full_esketamine_session_can_be_completed():
    """With every field present, complete() marks the session complete under the protocol."""
    done = _eske().complete()
    assert SessionRecordStatus.COMPLETE == done.status
    assert default_protocol().info == done.protocol


def test_completion_lists_every_missing_field():
    """An empty record cannot be completed; .missing lists what to fill in."""
    empty = DosingSession("SYN-0001", "esketamine_nasal", DAY)
    with pytest.raises(IncompleteInputError) as err:
        empty.complete()
    missing = err.value.missing
    for name in (
        "started_at",
        "dose_mg",
        "lot_number",
        "vitals.pre_dose",
        "vitals.post_dose",
        "vitals.pre_discharge",
        "sedation",
        "dissociation",
        "side_effects",
        "discharge.escort_home",
        "rems.patient_enrolled",
        "rems.concomitant_medications",
        "rems.ready_to_leave_at",
        "rems.respiratory_depression",
        "vitals.pre_dose.spo2",
        "pre_dose.cssrs_since_last_visit",
        "pre_dose.pregnant_since_screening",
        "pre_dose.acutely_intoxicated",
    ):
        assert name in missing
    assert "lot_number" in str(err.value)


@pytest.mark.parametrize(
    ("changes", "missing"),
    [
        ({"lot_number": None}, ("lot_number",)),
        ({"side_effects": None}, ("side_effects",)),
        ({"discharge": DischargeChecklist(None, True)}, ("discharge.escort_home",)),
        (
            {"rems": replace(REMS_OK, concomitant_medications=None)},
            ("rems.concomitant_medications",),
        ),
    ],
)
def test_one_missing_field_is_named(changes, missing):
    """Each single missing field blocks completion and is the one named."""
    with pytest.raises(IncompleteInputError) as err:
        _eske(**changes).complete()
    assert missing == err.value.missing


def test_unknown_side_effects_are_not_none():
    """'Not asked' (None) blocks completion; 'asked, none' (empty) does not."""
    assert SessionRecordStatus.COMPLETE == _eske(side_effects=()).complete().status


def test_iv_session_needs_vitals_every_15_minutes_of_the_infusion():
    """An IV session with one reading during the 40-min infusion misses the second."""
    vitals = tuple(v for v in _iv().vitals if v.minutes_after_dose != 30)
    with pytest.raises(IncompleteInputError) as err:
        _iv(vitals=vitals).complete()
    assert ("vitals.during[2]",) == err.value.missing
    assert SessionRecordStatus.COMPLETE == _iv().complete().status


def test_esketamine_observation_shorter_than_two_hours_is_refused():
    """Monitoring that ended 95 minutes after dosing breaks the 2-hour rule, with the fix named."""
    short = _eske(
        monitoring_ended_at=T0 + dt.timedelta(minutes=95),
        discharged_at=T0 + dt.timedelta(minutes=100),
    )
    with pytest.raises(RecordError, match="95 min") as err:
        short.complete()
    assert "120 min" in str(err.value)


def test_discharge_criterion_answered_no_is_refused():
    """No escort home: the session cannot be completed as discharged."""
    with pytest.raises(RecordError, match="escort_home"):
        _eske(discharge=DischargeChecklist(False, True)).complete()


def test_outpatient_not_enrolled_in_rems_is_refused():
    """An outpatient esketamine session without REMS enrolment cannot be completed."""
    with pytest.raises(RecordError, match="REMS"):
        _eske(rems=replace(REMS_OK, patient_enrolled=False)).complete()


def test_inpatient_esketamine_needs_no_rems_fields():
    """Inpatient sessions file no monitoring form, so REMS fields are not required."""
    assert SessionRecordStatus.COMPLETE == _eske(setting="inpatient", rems=None).complete().status


def test_record_marked_complete_is_checked_on_construction():
    """Building a record already marked complete runs the completion check."""
    with pytest.raises(IncompleteInputError):
        _eske(lot_number=None, status="complete")


@pytest.mark.parametrize(
    ("changes", "fragment"),
    [
        ({"started_at": dt.datetime(2026, 3, 10, 9)}, "not on the session date"),
        ({"discharged_at": T0 - dt.timedelta(minutes=5)}, "discharged_at"),
        ({"dose_mg": -5}, "dose_mg"),
        ({"route": "oral"}, "routes are"),
        ({"lot_number": "  "}, "lot_number"),
        ({"patient_id": ""}, "patient_id"),
    ],
)
def test_invalid_fields_are_record_errors_naming_the_field(changes, fragment):
    """Wrong values are RecordErrors naming the field and the rule."""
    with pytest.raises(RecordError, match=fragment):
        _eske(**changes)


def test_flags_come_from_vitals_and_sedation():
    """The session's flags include vitals flags and sedation flags."""
    session = _eske(
        vitals=(VitalSigns("pre_dose", 0, 120, 80), VitalSigns("post_dose", 40, 165, 90)),
        sedation=(SedationRating(40, 0),),
    )
    assert {"systolic_rise", "sedation_urgent"} == {f.rule_id for f in session.flags()}


def test_rems_form_is_filled_from_the_record():
    """The REMS form takes dose, lot, the three BPs, SpO2 and the duration from the record."""
    form = _eske().rems_form()
    assert () == form.missing
    assert ("128/82 mmHg", "150/92 mmHg", "130/84 mmHg") == (
        form.bp_pre_dose,
        form.bp_post_dose,
        form.bp_pre_discharge,
    )
    assert (56, "LOT-A123", 97, 125) == (
        form.dose_mg,
        form.lot_number,
        form.lowest_spo2,
        form.total_minutes_first_device_to_end_of_monitoring,
    )
    assert "lot_number" in _eske(lot_number=None).rems_form().missing


def test_serious_adverse_event_needs_a_description():
    """A serious adverse event answered yes must be described."""
    with pytest.raises(InvalidInputError, match="describe"):
        RemsFields(True, True, (), True)


def test_other_side_effect_needs_a_note():
    """'Other' side effects must say what they were."""
    with pytest.raises(InvalidInputError, match="note"):
        SideEffectReport("other", "mild")


def test_cadss6_needs_six_items_of_0_to_4():
    """A dissociation rating has six CADSS items, each 0–4; its total is their sum."""
    assert 4 == DissociationRating(40, (1, 0, 2, 1, 0, 0)).total
    with pytest.raises(InvalidInputError, match="CADSS"):
        DissociationRating(40, (1, 2, 3))
    with pytest.raises(InvalidInputError, match="CADSS"):
        DissociationRating(40, (5, 0, 0, 0, 0, 0))


def test_moaa_s_outside_0_to_5_is_invalid():
    """MOAA/S runs 0 (loss of consciousness) to 5 (alert)."""
    with pytest.raises(InvalidInputError, match="loss of consciousness"):
        SedationRating(30, 6)


def test_side_effect_table_matches_the_enum_and_has_sources():
    """Every SideEffect has a row with a label and source; the seed list is all there."""
    table = side_effect_table()
    assert set(SideEffect) == set(table)
    assert all(info.source and info.label for info in table.values())
    seeds = {e for e, info in table.items() if info.seed_list}
    assert {
        SideEffect.NAUSEA,
        SideEffect.DIZZINESS,
        SideEffect.DROWSINESS,
        SideEffect.VOMITING,
        SideEffect.DISSOCIATION,
        SideEffect.DOUBLE_VISION,
    } == seeds
    text = (resources.files("kaptools.sessions") / "side_effects.csv").read_text("utf-8")
    assert [e.value for e in SideEffect] == [r["code"] for r in csv.DictReader(text.splitlines())]


def test_record_round_trips_through_dict():
    """to_dict then parse_dosing_session gives back an equal record."""
    for session in (_eske(), _eske().complete(), _iv(), DosingSession("SYN-2", "im_ketamine", DAY)):
        assert session == parse_dosing_session(session.to_dict())


def test_parse_errors_name_field_value_and_fix():
    """A bad dict gives a RecordError naming each field, the value received and how to fix it."""
    data = _eske().to_dict()
    data["vitals"][0]["systolic"] = "high"
    data["side_effects"][0]["severity"] = "awful"
    data["colour"] = "blue"
    with pytest.raises(RecordError) as err:
        parse_dosing_session(data)
    text = str(err.value)
    assert "vitals.0.systolic" in text and "'high'" in text and "whole number" in text
    assert "side_effects.0.severity" in text and "'awful'" in text
    assert "colour" in text and "remove it" in text


def test_parse_turns_domain_rule_breaks_into_record_errors():
    """A dict whose values break a domain rule (swapped BP) is a RecordError too."""
    data = _eske().to_dict()
    data["vitals"][0].update(systolic=70, diastolic=120)
    with pytest.raises(RecordError, match="swapped"):
        parse_dosing_session(data)


def test_parse_refuses_non_mappings():
    """Only a mapping can be parsed."""
    with pytest.raises(RecordError, match="mapping"):
        parse_dosing_session(["not", "a", "record"])


def test_session_renders_summary_and_html():
    """A session renders its dose, flags and what is left to complete."""
    session = replace(_eske(), lot_number=None)
    assert "To complete: lot_number" in session.summary
    assert "<div class='kap-dosing-session'>" in session._repr_html_()


@settings(max_examples=60, deadline=None)
@given(
    data=st.fixed_dictionaries(
        {
            "patient_id": st.one_of(st.text(max_size=5), st.integers()),
            "route": st.sampled_from(["iv_ketamine", "esketamine_nasal", "nasal", 3]),
            "session_date": st.one_of(st.dates().map(str), st.text(max_size=4)),
            "dose_mg": st.one_of(st.none(), st.floats(allow_nan=True), st.text(max_size=3)),
            "vitals": st.lists(
                st.fixed_dictionaries(
                    {
                        "timepoint": st.sampled_from(["pre_dose", "post_dose", "x"]),
                        "systolic": st.integers(-5, 400),
                        "diastolic": st.integers(-5, 250),
                    }
                ),
                max_size=2,
            ),
        }
    )
)
def test_any_input_dict_parses_or_fails_as_a_record_error(data):
    """Untrusted input gives a DosingSession or a RecordError, never another exception."""
    try:
        session = parse_dosing_session(data)
    except RecordError:
        return
    assert isinstance(session, DosingSession)


# -- REMS Patient Monitoring Form -------------------------------------------------------

REMS_QUESTIONS = (
    "Patient enrolled in the SPRAVATO REMS",
    "First treatment session",
    "Concomitant medications (sedation, BP)",
    "Dose (mg)",
    "Lot number",
    "Time of administration (first device)",
    "Blood pressure before administration",
    "Blood pressure about 40 min after",
    "Blood pressure before discharge",
    "Vital signs acceptable before administration",
    "Vital signs acceptable at the end of monitoring",
    "Sedation during monitoring",
    "Dissociation during monitoring",
    "Respiratory depression during monitoring",
    "Lowest SpO2 (pulse oximetry), %",
    "Serious adverse event",
    "Time the patient would have been ready to leave",
    "Total time, first device to end of monitoring (min)",
    "Discharged",
)


def test_rems_form_has_every_field_and_derives_what_the_record_shows():
    """Every PMF question is on the form; 'vital signs acceptable' comes from the numbers."""
    form = _eske().rems_form()
    questions = [q for q, _ in form.rows()]
    assert all(q in questions for q in REMS_QUESTIONS)
    assert form.complete and (True, True) == (
        form.vital_signs_acceptable_before,
        form.vital_signs_acceptable_at_end,
    )
    rising = _eske(
        vitals=(
            VitalSigns("pre_dose", 0, 128, 82, 70, 98),
            VitalSigns("post_dose", 40, 150, 92, 76, 97),
            VitalSigns("pre_discharge", 120, 160, 95, 72, 98),
        )
    ).rems_form()
    assert rising.vital_signs_acceptable_at_end is False


@pytest.mark.parametrize(
    "field", ["ready_to_leave_at", "sedation", "dissociation", "respiratory_depression"]
)
def test_complete_is_refused_while_a_rems_field_is_missing(field):
    """Each clinician-answered REMS field missing blocks completion and is named."""
    session = _eske(rems=replace(REMS_OK, **{field: None}))
    assert field in session.rems_form().missing
    with pytest.raises(IncompleteInputError) as err:
        session.complete()
    assert (f"rems.{field}",) == err.value.missing


def test_rems_answers_cannot_contradict_the_record():
    """'No sedation' with MOAA/S 4 recorded, or 'no respiratory depression' with SpO2 88 %,
    is refused naming the field and the reading."""
    with pytest.raises(RecordError, match=r"rems\.sedation.*MOAA/S 4"):
        _eske(rems=replace(REMS_OK, sedation=False)).complete()
    low = _eske(
        vitals=(
            VitalSigns("pre_dose", 0, 128, 82, 70, 98),
            VitalSigns("post_dose", 40, 150, 92, 76, 88),
            VitalSigns("pre_discharge", 120, 130, 84, 72, 98),
        )
    )
    assert any("respiratory_depression" in c for c in low.rems_form().contradictions)
    with pytest.raises(RecordError, match=r"rems\.dissociation"):
        _eske(rems=replace(REMS_OK, dissociation=False)).complete()


def test_rems_form_prints_as_a_self_contained_page():
    """The filled form is a printable HTML page with every answer, escaped, fetching nothing."""
    page = _eske(lot_number="<LOT&1>").rems_form().to_html_page()
    assert page.startswith("<!DOCTYPE html>") and "@media print" in page
    assert all(html.escape(q) in page for q in REMS_QUESTIONS)
    assert "&lt;LOT&amp;1&gt;" in page and "<LOT&1>" not in page
    assert "http://" not in page and "https://" not in page and "<script" not in page
    missing = _eske(rems=replace(REMS_OK, ready_to_leave_at=None)).rems_form().to_html_page()
    assert "Not ready to file" in missing and "ready_to_leave_at" in missing
