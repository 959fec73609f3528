"""Drawn routes: esketamine included, the route shapes outcome and side effects as the
sources in ROUTE_EFFECTS say, reproducibly; the demo's line-up is unchanged without it."""

from __future__ import annotations

from collections import Counter

import pytest

from kaptools.errors import InvalidInputError
from kaptools.outcomes import course_outcomes, outcome_rates
from kaptools.synthetic import ROUTE_EFFECTS, ROUTE_MIX, assessment_frame, generate_patients


@pytest.fixture(scope="module")
def cohort():
    return generate_patients(1500, seed=9, route_mix=ROUTE_MIX)


def test_routes_are_drawn_with_the_mix_and_include_esketamine(cohort) -> None:
    """Each route's share is near its mix value (1,500 draws)."""
    shares = Counter(p.route for p in cohort)
    for route, share in ROUTE_MIX.items():
        assert abs(shares[route] / len(cohort) - share) < 0.05


def test_esketamine_courses_follow_the_label(cohort) -> None:
    """Eight doses twice weekly; 56 mg then 84 mg (28 then 56 at 65 or over)."""
    esk = [p for p in cohort if p.route == "esketamine_nasal"]
    assert esk
    for p in esk[:50]:
        doses = [s.dose_mg for s in p.sessions]
        assert len(doses) == 8 and doses[0] in (28.0, 56.0) and set(doses[1:]) <= {56.0, 84.0}
        assert (p.sessions[-1].session_date - p.sessions[0].session_date).days <= 28


def test_route_shapes_response_as_the_sources_say(cohort) -> None:
    """IV responds more often than esketamine (ELEKT-D/Murrough vs the label's figures)."""
    rates = outcome_rates(course_outcomes(assessment_frame(cohort, "phq9"), "phq9"), by="route")
    assert rates.loc["iv_ketamine", "response"] > rates.loc["esketamine_nasal", "response"] + 0.05
    assert rates.loc["iv_ketamine", "remission"] > rates.loc["esketamine_nasal", "remission"]


def test_route_shapes_side_effects(cohort) -> None:
    """Sedation (drowsiness) is more frequent with esketamine, dissociation with IV."""

    def rate(route: str, effect: str) -> float:
        sessions = [s for p in cohort if p.route == route for s in p.sessions]
        return sum(any(e == effect for e, _ in s.side_effects) for s in sessions) / len(sessions)

    assert rate("esketamine_nasal", "drowsiness") > rate("iv_ketamine", "drowsiness") + 0.05
    assert rate("iv_ketamine", "dissociation") > rate("esketamine_nasal", "dissociation") + 0.05
    assert all(e.source for e in ROUTE_EFFECTS.values())


def test_same_seed_same_cohort_and_the_demo_is_unchanged() -> None:
    """Seeded: the same patients twice; without route_mix the demo keeps IV/IM by position."""
    a = generate_patients(40, seed=3, route_mix=ROUTE_MIX)
    b = generate_patients(40, seed=3, route_mix=ROUTE_MIX)
    assert a == b
    demo = generate_patients(10, seed=2026)
    assert [p.route for p in demo] == [
        "im_ketamine" if i % 5 == 4 else "iv_ketamine" for i in range(10)
    ]


@pytest.mark.parametrize("mix", [{}, {"oral": 1.0}, {"iv_ketamine": -1.0}, {"iv_ketamine": 0}])
def test_bad_route_mix_is_refused(mix) -> None:
    """Unknown routes, negative shares or an all-zero mix: InvalidInputError."""
    with pytest.raises(InvalidInputError, match="route_mix"):
        generate_patients(5, route_mix=mix)


@pytest.mark.parametrize(
    "change",
    [
        ("share = 0.45", ""),  # a column missing
        ("remitter = 0.30", "remitter = 0.50"),  # proportions no longer sum to 1
        ("remitter = 0.30, ", ""),  # a trajectory missing
        ("dissociation = 1.3", "hiccups = 1.3"),  # an unknown side effect
        ("[iv_ketamine]", "[iv_ketamin]"),  # an unknown route
        ('source = "ELEKT-D, Murrough 2013 [3.1]; dissociation during infusion [4.7]"',
         'source = " "'),  # no source
    ],
)  # fmt: skip
def test_a_bad_route_effects_table_is_refused_naming_the_route(change: tuple[str, str]) -> None:
    """The shipped table loads; a table with a column, trajectory, route, side effect or
    source wrong is refused with an error naming the file and the route."""
    from importlib import resources

    from kaptools.errors import InvalidInputError
    from kaptools.synthetic import ROUTE_EFFECTS_FILE, _route_effects

    text = (resources.files("kaptools") / ROUTE_EFFECTS_FILE).read_text(encoding="utf-8")
    assert _route_effects(text) == ROUTE_EFFECTS
    old, new = change
    assert old in text
    with pytest.raises(InvalidInputError, match=r"synthetic_routes\.toml \[iv_ketami"):
        _route_effects(text.replace(old, new, 1))
