"""Seeded, reproducible synthetic KAP patients: the demo database and the test fixture.

No real patient data is used anywhere. Every patient is generated from a seed:
the same seed gives the same patients, answers, sessions and vitals.

What the generator aims to resemble, with sources (kaptools/sources.toml):

- course: two preparation sessions, six dosing sessions (IV 0.5 mg/kg or IM) two a
  week, an integration session 1-2 days after each dose [3.1, 3.5];
- weekly PHQ-9 and GAD-7, PCL-5 for patients with PTSD, from baseline to the end of
  the course and a follow-up [4];
- trajectories: about half respond (≥ 50 % fall; ELEKT-D 55 %, Murrough 71 %), a
  fifth respond partially and the rest do not [3.1]; about half of responders remit;
- side effects per session at roughly the label's frequencies [5.1];
- vitals with the blood-pressure rise peaking about 40 minutes after dosing [3.1, 5.3];
- a few patients whose PHQ-9 item 9 is positive, to exercise the crisis alert [7];
- with ``route_mix`` (research cohorts): routes drawn, esketamine included, and the
  route shaping trajectory and side effects (:data:`ROUTE_EFFECTS`, sources there).
"""

from __future__ import annotations

import datetime as dt
import enum
import math
import tomllib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from importlib import resources

import numpy as np
import pandas as pd

from kaptools.errors import InvalidInputError
from kaptools.scores import item_columns
from kaptools.vocabulary import Route

__all__ = [
    "DEMO_ANCHOR_DATE",
    "ROUTE_EFFECTS",
    "ROUTE_MIX",
    "SIDE_EFFECT_SESSION_RATES",
    "TRAJECTORY_PROPORTIONS",
    "RouteEffect",
    "SyntheticAssessment",
    "SyntheticDosingSession",
    "SyntheticPatient",
    "Trajectory",
    "generate_patients",
]

#: The demo course dates are laid out relative to this day (reproducible demos).
DEMO_ANCHOR_DATE = dt.date(2026, 9, 7)


class Trajectory(enum.StrEnum):
    """Course outcome classes the generator draws from ([3.1], [4.1])."""

    REMITTER = "remitter"
    """Response and remission (PHQ-9 < 5 at the end)."""
    RESPONDER = "responder"
    """≥ 50 % fall from baseline without remission."""
    PARTIAL = "partial"
    """25-49 % fall."""
    NON_RESPONDER = "non_responder"
    """< 25 % fall."""


#: Proportions of trajectories: response ≈ 50 % (ELEKT-D 55.4 %, Murrough 70.8 %
#: [3.1]), partial ≈ 20 %, non-response ≈ 30 %. Remission ≈ half of responders
#: (esketamine monotherapy remission 22.5 % at week 4 [3.4]).
TRAJECTORY_PROPORTIONS: dict[Trajectory, float] = {
    Trajectory.REMITTER: 0.25,
    Trajectory.RESPONDER: 0.25,
    Trajectory.PARTIAL: 0.20,
    Trajectory.NON_RESPONDER: 0.30,
}

#: Target fraction of the baseline PHQ-9 total left at the end of the course.
_END_FRACTION = {
    Trajectory.REMITTER: (0.05, 0.20),
    Trajectory.RESPONDER: (0.30, 0.48),
    Trajectory.PARTIAL: (0.52, 0.74),
    Trajectory.NON_RESPONDER: (0.80, 1.05),
}

#: Per-session probability of each side effect, roughly the label's pooled
#: short-term frequencies [5.1] (per patient in the trials, used per session here).
#: Double vision has no label frequency; 3 % is an assumption for the demo.
SIDE_EFFECT_SESSION_RATES: dict[str, float] = {
    "dissociation": 0.41,
    "dizziness": 0.29,
    "nausea": 0.28,
    "drowsiness": 0.23,
    "vertigo": 0.23,
    "headache": 0.20,
    "dysgeusia": 0.19,
    "hypoaesthesia": 0.18,
    "anxiety": 0.13,
    "lethargy": 0.11,
    "vomiting": 0.09,
    "double_vision": 0.03,
}


@dataclass(frozen=True, slots=True)
class RouteEffect:
    """How a route shapes a synthetic course, with where each number comes from."""

    share: float
    """Share of drawn courses on this route (a KAP clinic mix; kaptools default)."""
    trajectories: dict[Trajectory, float]
    """Trajectory proportions on this route."""
    side_effect_factor: dict[str, float]
    """Multiplier of SIDE_EFFECT_SESSION_RATES per side effect (1 when absent)."""
    source: str


#: The table of route effects (package data; columns and sources in its comments).
ROUTE_EFFECTS_FILE = "synthetic_routes.toml"


def _route_effects(text: str) -> dict[str, RouteEffect]:
    """The route-effects table, checked: known routes, every trajectory with proportions
    summing to 1, known side effects, a share and a source per route."""
    out: dict[str, RouteEffect] = {}
    for route, row in tomllib.loads(text).items():
        where = f"{ROUTE_EFFECTS_FILE} [{route}]"
        try:
            effect = RouteEffect(
                share=float(row["share"]),
                trajectories={Trajectory(k): float(v) for k, v in row["trajectories"].items()},
                side_effect_factor={str(k): float(v) for k, v in row["side_effect_factor"].items()},
                source=str(row["source"]),
            )
        except (KeyError, ValueError, TypeError, AttributeError) as exc:
            raise InvalidInputError(
                f"{where}: {exc!r}; each route needs share, trajectories (remitter, responder, "
                "partial, non_responder), side_effect_factor and source."
            ) from None
        unknown = set(effect.side_effect_factor) - set(SIDE_EFFECT_SESSION_RATES)
        if (
            route not in {r.value for r in Route}
            or set(effect.trajectories) != set(Trajectory)
            or not math.isclose(sum(effect.trajectories.values()), 1.0)
            or unknown
            or not effect.source.strip()
            or not effect.share >= 0
        ):
            raise InvalidInputError(
                f"{where}: a route of kaptools.vocabulary.Route with every trajectory "
                f"(proportions summing to 1), known side effects (unknown: {sorted(unknown)}), "
                "a share of 0 or more and a source; fix the table."
            )
        out[route] = effect
    return out


#: Route effects used when routes are drawn (``generate_patients(route_mix=...)``), from
#: :data:`ROUTE_EFFECTS_FILE`: IV from ELEKT-D and Murrough 2013 [3.1], IM from its
#: bioavailability [3.2], esketamine from its label [3.4] and the pooled side-effect
#: frequencies [5.1] (the table's comments say which number comes from where).
ROUTE_EFFECTS: dict[str, RouteEffect] = _route_effects(
    (resources.files("kaptools") / ROUTE_EFFECTS_FILE).read_text(encoding="utf-8")
)

#: Share of drawn courses per route (pass as ``route_mix`` to draw routes).
ROUTE_MIX: dict[str, float] = {route: e.share for route, e in ROUTE_EFFECTS.items()}

_IV_IM_MG_PER_KG = 0.5
"""The synthetic IV and IM dose (the protocol's default, mg/kg) [3.1]."""

_FIRST_NAMES = (
    "Avery",
    "Blake",
    "Casey",
    "Devon",
    "Emerson",
    "Finley",
    "Harper",
    "Jordan",
    "Kendall",
    "Logan",
    "Morgan",
    "Parker",
    "Quinn",
    "Reese",
    "Rowan",
    "Sage",
    "Skyler",
    "Taylor",
    "Peyton",
    "Riley",
)


@dataclass(frozen=True, slots=True)
class SyntheticAssessment:
    instrument: str
    administered_on: dt.date
    answers: tuple[int, ...]


@dataclass(frozen=True, slots=True)
class VitalReading:
    minutes_after_dose: int
    systolic_mmhg: int
    diastolic_mmhg: int
    heart_rate_bpm: int


@dataclass(frozen=True, slots=True)
class SyntheticDosingSession:
    number: int
    session_date: dt.date
    route: str
    dose_mg: float
    vitals: tuple[VitalReading, ...]
    side_effects: tuple[tuple[str, str], ...]  # (side effect, severity)
    dissociation_rating: int  # 0-4
    sedation_moaas: int  # MOAA/S 0-5, 5 = responds readily to name


@dataclass(frozen=True, slots=True)
class SyntheticPatient:
    patient_id: str
    display_name: str
    sex: str
    birth_date: dt.date
    weight_kg: float
    trajectory: Trajectory
    has_ptsd: bool
    item9_positive: bool
    route: str
    preparation_dates: tuple[dt.date, ...]
    sessions: tuple[SyntheticDosingSession, ...]
    integration_dates: tuple[dt.date, ...]
    assessments: tuple[SyntheticAssessment, ...] = field(default=())


def _spread(
    rng: np.random.Generator,
    total: int,
    n_items: int,
    item_max: int,
    fixed: dict[int, int] | None = None,
) -> tuple[int, ...]:
    """Item answers summing to ``total`` (clipped to the possible range)."""
    answers = [0] * n_items
    fixed = fixed or {}
    for i, v in fixed.items():
        answers[i] = v
    free = [i for i in range(n_items) if i not in fixed]
    remaining = max(0, min(total - sum(fixed.values()), len(free) * item_max))
    while remaining > 0:
        i = free[int(rng.integers(len(free)))]
        if answers[i] < item_max:
            answers[i] += 1
            remaining -= 1
    return tuple(answers)


def _trajectory_total(
    rng,
    baseline: float,
    end_fraction: float,
    week: float,
    n_weeks: float,
    noise: float,
    maximum: int,
) -> int:
    # Ketamine's antidepressant effect comes early: an exponential approach.
    progress = 1 - math.exp(-2.2 * week / n_weeks)
    progress /= 1 - math.exp(-2.2)
    value = baseline * (1 - (1 - end_fraction) * min(progress, 1.0))
    value += rng.normal(0, noise)
    return int(min(max(round(value), 0), maximum))


def _vitals(rng: np.random.Generator, route: str, big_rise: bool) -> tuple[VitalReading, ...]:
    sys0 = int(rng.normal(124, 9))
    dia0 = int(rng.normal(78, 6))
    hr0 = int(rng.normal(72, 8))
    peak_sys = rng.normal(42 if big_rise else 14, 4 if big_rise else 6)
    peak_dia = rng.normal(26 if big_rise else 8, 3 if big_rise else 4)
    times = (0, 15, 30, 40, 60, 90, 120) if route == "iv_ketamine" else (0, 20, 40, 60, 90, 120)
    out = []
    for t in times:
        shape = 0.0 if t == 0 else math.exp(-(((t - 40) / 32) ** 2))
        out.append(
            VitalReading(
                t,
                round(sys0 + peak_sys * shape + rng.normal(0, 2)),
                round(dia0 + peak_dia * shape + rng.normal(0, 1.5)),
                round(hr0 + 9 * shape + rng.normal(0, 2)),
            )
        )
    return tuple(out)


def _next_weekday(d: dt.date) -> dt.date:
    while d.weekday() >= 5:
        d += dt.timedelta(days=1)
    return d


def _route_mix(route_mix: Mapping[str, float]) -> dict[str, float]:
    if not isinstance(route_mix, Mapping) or not route_mix:
        raise InvalidInputError(
            f"route_mix: a mapping of route to share, e.g. {ROUTE_MIX!r}; got {route_mix!r}."
        )
    unknown = [r for r in route_mix if r not in ROUTE_EFFECTS]
    bad = [r for r, v in route_mix.items() if not isinstance(v, int | float) or not v >= 0]
    if unknown or bad or sum(route_mix.values()) <= 0:
        raise InvalidInputError(
            f"route_mix: routes must be among {sorted(ROUTE_EFFECTS)} with shares of 0 or "
            f"more and a positive sum (unknown: {unknown}, bad shares: {bad})."
        )
    total = float(sum(route_mix.values()))
    return {r: float(v) / total for r, v in route_mix.items()}


def generate_patients(
    n: int = 12,
    *,
    seed: int = 2026,
    anchor: dt.date = DEMO_ANCHOR_DATE,
    route_mix: Mapping[str, float] | None = None,
) -> list[SyntheticPatient]:
    """``n`` synthetic patients with a full course, reproducible from ``seed``.

    Without ``route_mix`` (the demo): six IV doses (every fifth patient IM), trajectories
    from :data:`TRAJECTORY_PROPORTIONS`, the demo's stable line-up. With ``route_mix``
    (e.g. :data:`ROUTE_MIX`): each patient's route is drawn with those shares, and the
    route shapes the course (esketamine: eight label doses, twice weekly for four
    weeks), the trajectory and the side effects as :data:`ROUTE_EFFECTS` says, with
    its sources; the same seed gives the same patients.
    """
    if not isinstance(n, int) or isinstance(n, bool) or not 1 <= n <= 100_000:
        raise InvalidInputError(f"n must be an integer from 1 to 100000; got {n!r}.")
    rng = np.random.default_rng(seed)
    order, drawn_routes = _trajectories(rng, n, seed, route_mix)
    return [
        _patient(rng, idx, trajectory, anchor, None if drawn_routes is None else drawn_routes[idx])
        for idx, trajectory in enumerate(order)
    ]


def _trajectories(
    rng: np.random.Generator, n: int, seed: int, route_mix: Mapping[str, float] | None
) -> tuple[list[Trajectory], list[str] | None]:
    """Each patient's trajectory, and (with ``route_mix``) route, in patient order."""
    kinds = list(TRAJECTORY_PROPORTIONS)
    probs = np.array([TRAJECTORY_PROPORTIONS[k] for k in kinds])
    if route_mix is None:
        # Deterministic coverage for small demos: every trajectory appears, then draw.
        order = [kinds[i % len(kinds)] for i in range(min(n, len(kinds)))]
        order += [
            kinds[int(i)] for i in rng.choice(len(kinds), size=max(0, n - len(order)), p=probs)
        ]
        return order, None
    mix = _route_mix(route_mix)
    route_rng = np.random.default_rng([seed, 1])  # its own stream: the demo's is untouched
    names = list(mix)
    drawn_routes = [
        names[int(i)] for i in route_rng.choice(len(names), size=n, p=list(mix.values()))
    ]
    order = []
    for route in drawn_routes:
        table = ROUTE_EFFECTS[route].trajectories
        order.append(kinds[int(route_rng.choice(len(kinds), p=[table[k] for k in kinds]))])
    return order, drawn_routes


def _patient(
    rng: np.random.Generator,
    idx: int,
    trajectory: Trajectory,
    anchor: dt.date,
    drawn_route: str | None,
) -> SyntheticPatient:
    """Patient ``idx``: demographics, course dates, sessions and assessments, drawn from
    ``rng`` in that order (the order keeps a seed's patients the same)."""
    first = _FIRST_NAMES[idx % len(_FIRST_NAMES)]
    name = f"{first} {chr(65 + (idx // len(_FIRST_NAMES)) % 26)}. (synthetic)"
    sex = "female" if rng.random() < 0.6 else "male"
    age = int(rng.integers(22, 70))
    birth = dt.date(anchor.year - age, int(rng.integers(1, 13)), int(rng.integers(1, 29)))
    weight = round(float(rng.normal(72 if sex == "female" else 84, 12)), 1)
    weight = min(max(weight, 45.0), 140.0)
    has_ptsd = idx % 4 == 1
    # Patients 3 and 8 (1-based) keep item 9 positive to the end: crisis banner demos.
    item9_positive = idx in (2, 7)
    route = (
        ("im_ketamine" if idx % 5 == 4 else "iv_ketamine") if drawn_route is None else drawn_route
    )
    factors = {} if drawn_route is None else ROUTE_EFFECTS[route].side_effect_factor
    # Courses start on a Monday or Tuesday: with two doses a week (Mon/Thu or
    # Tue/Fri) every integration falls on a working day before the next dose.
    start = anchor + dt.timedelta(days=int(rng.integers(0, 21)))
    while start.weekday() not in (0, 1):
        start += dt.timedelta(days=1)
    prep: tuple[dt.date, ...] = (start - dt.timedelta(days=14), start - dt.timedelta(days=7))
    prep = tuple(_next_weekday(d) for d in prep)
    # Two doses a week (Mon/Thu pattern), at least two days apart [3.1].
    dose_dates, d = [], start
    n_doses = 8 if route == "esketamine_nasal" else 6  # label induction: 2 a week, 4 weeks
    for k in range(n_doses):
        dose_dates.append(d)
        d = _next_weekday(d + dt.timedelta(days=3 if k % 2 == 0 else 4))
    integration = tuple(_next_weekday(x + dt.timedelta(days=1)) for x in dose_dates)
    big_rise_session = int(rng.integers(0, 6)) if idx % 3 == 0 else -1
    sessions = tuple(
        _session(rng, k, day, route, age, weight, factors, big_rise=k == big_rise_session)
        for k, day in enumerate(dose_dates)
    )
    assessments = _assessments(rng, start, trajectory, item9_positive, has_ptsd)
    return SyntheticPatient(
        patient_id=f"SYN-{idx + 1:04d}",
        display_name=name,
        sex=sex,
        birth_date=birth,
        weight_kg=weight,
        trajectory=trajectory,
        has_ptsd=has_ptsd,
        item9_positive=item9_positive,
        route=route,
        preparation_dates=prep,
        sessions=sessions,
        integration_dates=integration,
        assessments=assessments,
    )


def _session(
    rng: np.random.Generator,
    k: int,
    day: dt.date,
    route: str,
    age: int,
    weight: float,
    factors: Mapping[str, float],
    *,
    big_rise: bool,
) -> SyntheticDosingSession:
    """Dosing session ``k`` (0-based): its dose, side effects, vitals and ratings."""
    if route == "esketamine_nasal":  # label doses [3.4]: day 1 56 mg (28 at 65+)
        older = age >= 65
        dose_mg = (28.0 if older else 56.0) if k == 0 else (56.0 if older else 84.0)
    else:
        dose_mg = round(weight * _IV_IM_MG_PER_KG, 1)
    effects = tuple(
        (
            name_,
            str(rng.choice(["mild", "mild", "moderate", "severe"], p=[0.45, 0.25, 0.22, 0.08])),
        )
        for name_, rate in SIDE_EFFECT_SESSION_RATES.items()
        if rng.random() < min(rate * factors.get(name_, 1.0), 0.95)
    )
    return SyntheticDosingSession(
        number=k + 1,
        session_date=day,
        route=route,
        dose_mg=dose_mg,
        vitals=_vitals(rng, route, big_rise),
        side_effects=effects,
        dissociation_rating=int(rng.integers(0, 4)),
        sedation_moaas=int(rng.integers(3, 6)),
    )


def _assessments(
    rng: np.random.Generator,
    start: dt.date,
    trajectory: Trajectory,
    item9_positive: bool,
    has_ptsd: bool,
) -> tuple[SyntheticAssessment, ...]:
    """Baseline a week before the first dose, then weekly to 6 weeks: PHQ-9 and GAD-7, and
    the PCL-5 for patients with PTSD, following the patient's trajectory."""
    base_phq = int(rng.integers(16, 25))
    base_gad = int(rng.integers(9, 18))
    base_pcl = int(rng.integers(38, 60))
    lo, hi = _END_FRACTION[trajectory]
    end_f = float(rng.uniform(lo, hi))
    days = [-7, 0, 7, 14, 21, 28, 42]
    assessments = []
    n_weeks = 4.0
    for j, off in enumerate(days):
        day = _next_weekday(start + dt.timedelta(days=off))
        week = max(off, 0) / 7
        phq_total = _trajectory_total(rng, base_phq, end_f, week, n_weeks, 1.2, 27)
        if trajectory is Trajectory.REMITTER and j == len(days) - 1:
            phq_total = min(phq_total, 3)
        fixed = None
        if item9_positive and j in (0, len(days) - 1):
            fixed = {8: 1 if j == 0 else 2}
        elif j > 0:
            fixed = {8: 0}
        phq_total = max(phq_total, sum((fixed or {}).values()))
        assessments.append(SyntheticAssessment("phq9", day, _spread(rng, phq_total, 9, 3, fixed)))
        gad_total = _trajectory_total(rng, base_gad, min(end_f + 0.1, 1.0), week, n_weeks, 1.0, 21)
        assessments.append(SyntheticAssessment("gad7", day, _spread(rng, gad_total, 7, 3)))
        if has_ptsd and j in (0, 3, 5, 6):
            pcl_total = _trajectory_total(
                rng, base_pcl, min(end_f + 0.1, 1.0), week, n_weeks, 3, 80
            )
            assessments.append(SyntheticAssessment("pcl5", day, _spread(rng, pcl_total, 20, 4)))
    return tuple(assessments)


def assessment_frame(patients: Iterable[SyntheticPatient], instrument: str) -> pd.DataFrame:
    """One instrument's administrations, one per row: patient_id, route, trajectory,
    administered_on and the items under their one name (``phq9_item1`` …)."""
    rows = []
    for p in patients:
        for a in p.assessments:
            if a.instrument == instrument:
                row: dict[str, object] = {
                    "patient_id": p.patient_id,
                    "route": p.route,
                    "trajectory": p.trajectory.value,
                    "administered_on": a.administered_on,
                }
                row.update(dict(zip(item_columns(instrument), a.answers, strict=True)))
                rows.append(row)
    return pd.DataFrame(rows)
