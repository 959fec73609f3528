"""Synthetic patients are reproducible and resemble what the sources report."""

from __future__ import annotations

import datetime as dt
import itertools
from collections import Counter

import pytest

from kaptools.synthetic import (
    SIDE_EFFECT_SESSION_RATES,
    TRAJECTORY_PROPORTIONS,
    Trajectory,
    generate_patients,
)


def test_same_seed_same_patients() -> None:
    """The generator is reproducible from its seed, and another seed gives other patients."""
    assert generate_patients(20, seed=7) == generate_patients(20, seed=7)
    assert generate_patients(20, seed=7) != generate_patients(20, seed=8)


def test_every_course_has_prep_six_doses_and_integration_after_each() -> None:
    """Preparation before the first dose; doses ≥ 2 days apart; integration 1-3 days after."""
    for p in generate_patients(40, seed=1):
        doses = [s.session_date for s in p.sessions]
        assert len(doses) == 6 and len(p.preparation_dates) == 2
        assert max(p.preparation_dates) < doses[0]
        assert all((b - a).days >= 2 for a, b in itertools.pairwise(doses))
        for dose, integ in zip(doses, p.integration_dates, strict=True):
            assert 1 <= (integ - dose).days <= 3
        for integ, next_dose in zip(p.integration_dates, doses[1:], strict=False):
            assert integ < next_dose  # integration between consecutive doses
        assert all(d.weekday() < 5 for d in doses + list(p.integration_dates))


def test_trajectory_mix_follows_the_reported_proportions() -> None:
    """Over many patients each trajectory's share is within 5 points of its target."""
    counts = Counter(p.trajectory for p in generate_patients(4000, seed=3))
    for kind, share in TRAJECTORY_PROPORTIONS.items():
        assert abs(counts[kind] / 4000 - share) < 0.05


def test_trajectories_end_where_their_class_says() -> None:
    """Remitters end with PHQ-9 < 5; non-responders fall by less than half."""
    for p in generate_patients(200, seed=5):
        phq = [sum(a.answers) for a in p.assessments if a.instrument == "phq9"]
        if p.trajectory is Trajectory.REMITTER:
            assert phq[-1] < 5
        if p.trajectory is Trajectory.NON_RESPONDER:
            assert phq[-1] > phq[0] * 0.5


def test_side_effects_occur_at_roughly_their_rates() -> None:
    """Per-session side-effect frequencies are within 4 points of the label-based rates."""
    sessions = [s for p in generate_patients(800, seed=11) for s in p.sessions]
    counts = Counter(name for s in sessions for name, _ in s.side_effects)
    for name, rate in SIDE_EFFECT_SESSION_RATES.items():
        assert abs(counts[name] / len(sessions) - rate) < 0.04, name


def test_blood_pressure_peaks_about_40_minutes_after_dosing() -> None:
    """Averaged over sessions, systolic pressure is highest at 30-60 minutes."""
    sums: dict[int, list[int]] = {}
    for p in generate_patients(200, seed=2):
        for s in p.sessions:
            for v in s.vitals:
                sums.setdefault(v.minutes_after_dose, []).append(v.systolic_mmhg)
    means = {t: sum(v) / len(v) for t, v in sums.items()}
    assert 30 <= max(means, key=means.get) <= 60
    assert means[0] < means[40]


def test_some_patients_have_item_9_positive_and_answers_are_in_range() -> None:
    """The demo has item-9-positive patients; every answer is within its instrument's range."""
    patients = generate_patients(12)
    assert any(p.item9_positive for p in patients)
    for p in patients:
        for a in p.assessments:
            top = 4 if a.instrument == "pcl5" else 3
            assert all(0 <= x <= top for x in a.answers)
            assert a.administered_on >= dt.date(2026, 8, 1)


@pytest.mark.parametrize("n", [0, -1, 1.5, True, 10**6])
def test_bad_patient_counts_are_refused(n) -> None:
    """n must be a whole number from 1 to 100000."""
    with pytest.raises(ValueError, match="n must be"):
        generate_patients(n)
