"""Vital signs at a dosing session and the protocol's flags on them."""

from __future__ import annotations

import datetime as dt
import html

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kaptools.errors import InvalidInputError
from kaptools.protocol import DEFAULT_PROTOCOL_PATH, default_protocol, parse_protocol
from kaptools.sessions import (
    DosingSession,
    FlagLevel,
    VitalSigns,
    VitalsTimepoint,
    sedation_flags,
    vitals_flags,
    vitals_schedule,
)

M = default_protocol().monitoring


def _ids(flags):
    return sorted(f.rule_id for f in flags)


def test_pre_dose_bp_above_140_90_is_highlighted_for_review():
    """Pre-dose 145/95 gets two REVIEW highlights; 140/90 exactly gets none."""
    assert ["pre_dose_diastolic_high", "pre_dose_systolic_high"] == _ids(
        vitals_flags([VitalSigns("pre_dose", 0, 145, 95)])
    )
    assert [] == _ids(vitals_flags([VitalSigns("pre_dose", 0, 140, 90)]))
    assert {FlagLevel.REVIEW} == {
        f.level for f in vitals_flags([VitalSigns("pre_dose", 0, 141, 80)])
    }


def test_rise_of_40_systolic_or_25_diastolic_is_flagged():
    """A rise of exactly 40/25 over pre-dose is flagged; 39/24 is not."""
    pre = VitalSigns("pre_dose", 0, 120, 80)
    assert ["diastolic_rise", "systolic_rise"] == _ids(
        vitals_flags([pre, VitalSigns("post_dose", 40, 160, 105)])
    )
    assert [] == _ids(vitals_flags([pre, VitalSigns("post_dose", 40, 159, 104)]))


def test_rise_flag_names_values_and_source():
    """The rise flag says by how much, from what to what, and cites the protocol's source."""
    pre = VitalSigns("pre_dose", 0, 120, 80)
    (flag,) = vitals_flags([pre, VitalSigns("during", 30, 165, 85)])
    assert "Systolic rose 45 mmHg (120 → 165) at 30 min" in flag.message
    assert M.systolic_rise_flag_min.source == flag.source
    assert FlagLevel.FLAG == flag.level


def test_missing_pre_dose_bp_is_flagged_not_assumed_normal():
    """Without a pre-dose BP, rises cannot be judged and that is said."""
    assert ["pre_dose_bp_missing"] == _ids(vitals_flags([VitalSigns("post_dose", 40, 170, 100)]))


def test_post_dose_reading_far_from_40_minutes_is_highlighted():
    """A post-dose reading outside 40 ± 10 min is highlighted for review."""
    pre = VitalSigns("pre_dose", 0, 120, 80)
    assert ["post_dose_timing"] == _ids(vitals_flags([pre, VitalSigns("post_dose", 75, 125, 80)]))
    assert [] == _ids(vitals_flags([pre, VitalSigns("post_dose", 50, 125, 80)]))


def test_thresholds_come_from_the_protocol():
    """A clinic protocol with a 30 mmHg systolic rise line flags a 30 mmHg rise."""
    text = DEFAULT_PROTOCOL_PATH.read_text(encoding="utf-8")
    old = "systolic_rise_flag_min = { value = 40,"
    assert old in text
    protocol = parse_protocol(
        text.replace(old, "systolic_rise_flag_min = { value = 30,"), origin="copy"
    )
    readings = [VitalSigns("pre_dose", 0, 120, 80), VitalSigns("post_dose", 40, 150, 80)]
    assert [] == _ids(vitals_flags(readings))
    assert ["systolic_rise"] == _ids(vitals_flags(readings, protocol))


def test_sedation_flags_at_the_protocol_moaa_s_lines():
    """MOAA/S 0 is urgent (loss of consciousness), the urgent line urgent, the review line
    review, one above it nothing."""
    urgent = int(M.sedation_urgent_moaa_s_at_or_below.value)
    review = int(M.sedation_review_moaa_s_at_or_below.value)
    flags = sedation_flags(
        [(30, 0), (45, urgent), (50, urgent + 1), (55, review), (60, review + 1)]
    )
    assert [f.level for f in flags] == [FlagLevel.URGENT] * 2 + [FlagLevel.REVIEW] * 2
    assert "loss of consciousness" in flags[0].message
    assert flags[0].escalation


@pytest.mark.parametrize(
    ("kwargs", "fragment"),
    [
        ({"systolic": 120}, "both systolic and diastolic"),
        ({"systolic": 80, "diastolic": 120}, "swapped"),
        ({"systolic": 400, "diastolic": 80}, "vitals.systolic"),
        ({"spo2": 101}, "vitals.spo2"),
        ({"heart_rate": 72.5}, "whole number"),
        ({"minutes_after_dose": "40"}, "minutes_after_dose"),
    ],
)
def test_implausible_readings_are_invalid_with_the_field_named(kwargs, fragment):
    """Entry errors name the field and the range or rule."""
    with pytest.raises(InvalidInputError, match=fragment):
        VitalSigns("post_dose", **kwargs)


def test_unknown_timepoint_is_invalid():
    """A reading time that is not one of the protocol's is an error listing them."""
    with pytest.raises(InvalidInputError, match="pre_dose"):
        VitalSigns("afterwards")


def test_flags_render_escaped():
    """A flag renders as text and escaped HTML."""
    (flag,) = vitals_flags([VitalSigns("pre_dose", 0, 150, 80)])
    assert flag.summary.startswith("[REVIEW]")
    assert html.escape(flag.message) in flag._repr_html_()


@settings(max_examples=120, deadline=None)
@given(
    pre=st.tuples(st.integers(90, 200), st.integers(50, 85)),
    post=st.tuples(st.integers(90, 260), st.integers(50, 89)),
)
def test_rise_flags_fire_exactly_at_the_protocol_thresholds(pre, post):
    """Rise flags appear exactly when the rise reaches the protocol's systolic or diastolic line."""
    readings = [VitalSigns("pre_dose", 0, *pre), VitalSigns("post_dose", 40, *post)]
    ids = _ids(vitals_flags(readings))
    assert ("systolic_rise" in ids) == (post[0] - pre[0] >= M.systolic_rise_flag_min.value)
    assert ("diastolic_rise" in ids) == (post[1] - pre[1] >= M.diastolic_rise_flag_min.value)
    assert ("pre_dose_systolic_high" in ids) == (pre[0] > M.pre_dose_systolic_review_above.value)


@settings(max_examples=60, deadline=None)
@given(
    value=st.one_of(
        st.integers(-1000, 1000), st.floats(allow_nan=True), st.text(max_size=3), st.none()
    )
)
def test_any_systolic_entry_is_accepted_or_rejected_cleanly(value):
    """Whatever is typed as systolic gives a reading or an InvalidInputError, nothing else:
    accepted exactly when it is a whole number in the entry range and above the diastolic."""
    from kaptools.limits import entry_range

    diastolic = 70 if value is not None else None
    low, high = entry_range("systolic_mmhg")
    valid = value is None or (
        isinstance(value, int)
        and not isinstance(value, bool)
        and low <= value <= high
        and value > 70
    )
    try:
        reading = VitalSigns(VitalsTimepoint.PRE_DOSE, 0, value, diastolic)
    except InvalidInputError:
        assert not valid, value
    else:
        assert valid, value
        assert reading.systolic == value


def test_vitals_schedule_follows_the_protocol_and_the_completion_check():
    """The schedule has the during-infusion readings completion asks for, and the 40-min check."""
    for route in ("iv_ketamine", "im_ketamine", "esketamine_nasal"):
        schedule = vitals_schedule(route)
        points = [t for t, _ in schedule]
        assert points[0] is VitalsTimepoint.PRE_DOSE and points[-1] is VitalsTimepoint.PRE_DISCHARGE
        assert (VitalsTimepoint.POST_DOSE, int(M.post_dose_check_minutes.value)) in schedule
        empty = DosingSession("SYN-1", route, dt.date(2026, 3, 2))
        asked = [m for m in empty.missing_for_completion() if m.startswith("vitals.during")]
        assert len(asked) == points.count(VitalsTimepoint.DURING)
    assert [m for t, m in vitals_schedule("iv_ketamine") if t is VitalsTimepoint.DURING] == [15, 30]
