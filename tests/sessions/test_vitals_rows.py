"""Which recorded reading belongs to which of the protocol's vital-sign rows (vitals_slots)."""

from __future__ import annotations

from kaptools.protocol import default_protocol
from kaptools.sessions import VitalSigns, VitalsTimepoint, vitals_schedule, vitals_slots

PROTOCOL = default_protocol()


def _bp(point: str, minutes: int | None) -> VitalSigns:
    return VitalSigns(point, minutes, systolic=120, diastolic=80)


def test_without_readings_the_rows_are_the_protocols_schedule_and_a_spare() -> None:
    """Every reading the protocol asks for, in its order, then one spare 'other' row."""
    for route in ("iv_ketamine", "im_ketamine", "esketamine_nasal"):
        slots = vitals_slots(route, (), PROTOCOL)
        assert [(s.timepoint, s.minutes_after_dose) for s in slots] == [
            *vitals_schedule(route, PROTOCOL),
            (VitalsTimepoint.OTHER, None),
        ]
        assert all(s.reading is None for s in slots)


def test_each_reading_goes_to_its_time_points_row_and_extras_get_their_own() -> None:
    """A pre-dose and a post-dose reading fill their rows; a second pre-dose reading and
    an 'other' one beyond the spare get rows of their own; nothing is dropped."""
    readings = [
        _bp("pre_dose", 0),
        _bp("post_dose", 45),
        _bp("pre_dose", -5),
        _bp("other", 90),
        _bp("other", 100),
    ]
    slots = vitals_slots("im_ketamine", readings, PROTOCOL)
    placed = [s.reading for s in slots if s.reading is not None]
    assert sorted(placed, key=repr) == sorted(readings, key=repr)
    pre = [s for s in slots if s.timepoint is VitalsTimepoint.PRE_DOSE]
    assert [s.reading for s in pre] == [readings[2], readings[0]]  # by minute: -5, then 0
    post = next(s for s in slots if s.timepoint is VitalsTimepoint.POST_DOSE)
    assert post.reading == readings[1] and post.minutes_after_dose == 45


def test_infusion_readings_fill_the_during_rows_in_order_of_minutes() -> None:
    """Readings during an infusion fill the during rows (a row takes the reading of its own
    minute when one is left, else the first left); rows come in order of minutes, those
    without a minute last."""
    at_30, at_25 = _bp("during", 30), _bp("during", 25)
    slots = vitals_slots("iv_ketamine", [at_30, at_25], PROTOCOL)
    during = [s for s in slots if s.timepoint is VitalsTimepoint.DURING]
    assert [s.reading for s in during][:2] == [at_25, at_30]
    minutes = [s.minutes_after_dose for s in slots]
    numbered = [m for m in minutes if m is not None]
    assert numbered == sorted(numbered)
    assert minutes[len(numbered) :] == [None] * (len(minutes) - len(numbered))
