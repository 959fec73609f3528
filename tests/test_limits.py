"""Typed-in values share one table of plausibility limits."""

from __future__ import annotations

import pytest

from kaptools.limits import entry_range
from kaptools.screening import record
from kaptools.sessions.scales import vitals_entry


def test_screening_and_sessions_use_the_same_vital_sign_limits() -> None:
    """A blood pressure accepted at screening is accepted in a dosing session, and vice versa."""
    v = vitals_entry()
    assert v.systolic_mmhg == (record.SYSTOLIC_MIN_MMHG, record.SYSTOLIC_MAX_MMHG)
    assert v.diastolic_mmhg == (record.DIASTOLIC_MIN_MMHG, record.DIASTOLIC_MAX_MMHG)
    assert v.heart_rate_bpm == (record.HEART_RATE_MIN_BPM, record.HEART_RATE_MAX_BPM)
    assert entry_range("weight_kg") == (record.WEIGHT_MIN_KG, record.WEIGHT_MAX_KG)


def test_unknown_limit_is_named() -> None:
    """Asking for a limit that does not exist lists the ones that do."""
    with pytest.raises(KeyError, match="weight_kg"):
        entry_range("weight_lb")
