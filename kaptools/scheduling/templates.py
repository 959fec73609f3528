"""Course templates: the protocol's ``[courses]`` table resolved for one route.

The protocol says, per route, which dosing phases a course has, how many doses
each holds and at what rhythm. :func:`course_template` turns that into the list
of dose slots a plan must fill (phase, aimed-for gap from the previous dose,
longest allowed gap), applying the per-patient choices the protocol allows:
how many doses an optional phase gets, and which of its allowed periods to use.
"""

from __future__ import annotations

import datetime as dt
import enum
from collections.abc import Mapping
from dataclasses import dataclass, field

from kaptools.errors import InvalidInputError
from kaptools.printer import escape
from kaptools.protocol import NamedTemplate, Protocol, RouteCourse, default_protocol
from kaptools.vocabulary import CoursePhase, IntegrationPlace, Route

__all__ = [
    "CoursePhase",
    "CourseTemplate",
    "DoseSlot",
    "IntegrationPlace",
    "Route",
    "SessionKind",
    "course_template",
    "named_templates",
]


class SessionKind(enum.StrEnum):
    """The kinds of session in a KAP course (kaptools/sources.toml §3.5, default protocol)."""

    PREPARATION = "preparation"
    """Psychotherapy before the first dose: set, setting, intentions, consent [3.5]."""
    DOSING = "dosing"
    """A monitored dosing session (any phase: induction, maintenance, booster) [3.1–3.4]."""
    INTEGRATION = "integration"
    """Psychotherapy on a later day than a dose, 1–3 days after it in practice [3.5]."""
    MEASURE = "measure"
    """Scheduled symptom measures (PHQ-9 etc.): baseline, weekly and end of course [4]."""
    BENEFIT_CHECK = "benefit_check"
    """End-of-induction review of benefit before going on (esketamine label) [3.4]."""


@dataclass(frozen=True, slots=True)
class DoseSlot:
    """One dose a plan must place: its number, phase, and gaps to the previous dose."""

    number: int
    """1-based dose number within the course."""
    phase: CoursePhase
    number_in_phase: int
    phase_doses: int
    gap_days: int | None
    """Aimed-for days after the previous dose (None for the first dose of the course)."""
    max_gap_days: int | None
    """Longest allowed gap from the previous dose (None for the first dose)."""
    offset_days: int
    """Days from the phase's first dose at the phase rhythm (0 for that first dose)."""
    doses_per_period: int
    period_days: int
    gap: dt.timedelta = field(init=False, repr=False, compare=False)
    """``gap_days`` as a timedelta (0 for the first dose), kept for the planner's date sums."""
    max_gap: dt.timedelta | None = field(init=False, repr=False, compare=False)
    offset: dt.timedelta = field(init=False, repr=False, compare=False)
    period: dt.timedelta = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        days = dt.timedelta
        object.__setattr__(self, "gap", days(days=self.gap_days or 0))
        max_gap = None if self.max_gap_days is None else days(days=self.max_gap_days)
        object.__setattr__(self, "max_gap", max_gap)
        object.__setattr__(self, "offset", days(days=self.offset_days))
        object.__setattr__(self, "period", days(days=self.period_days))


@dataclass(frozen=True, slots=True)
class CourseTemplate:
    """A route's course as the planner fills it."""

    route: Route
    course: RouteCourse
    slots: tuple[DoseSlot, ...]
    phase_doses: Mapping[CoursePhase, int]
    phase_period_days: Mapping[CoursePhase, int]
    returned: frozenset[CoursePhase] = frozenset()
    """Phases returned to the previous phase's rhythm after a missed dose (label [3.4])."""
    phase_most_per_period: Mapping[CoursePhase, int] = field(default_factory=dict)
    """The most doses any period of the phase may hold (the rhythm rule)."""

    @property
    def dose_count(self) -> int:
        return len(self.slots)

    def last_slot_of(self, phase: CoursePhase) -> DoseSlot | None:
        """The last dose of ``phase`` in this course, or None when it has none."""
        found = [s for s in self.slots if s.phase == phase]
        return found[-1] if found else None

    @property
    def summary(self) -> str:
        parts = [
            f"{p.label}: {self.phase_doses[p.phase]} doses, "
            f"{p.doses_per_period} per {self.phase_period_days[p.phase]} days"
            for p in self.course.phases
            if self.phase_doses[p.phase]
        ]
        return f"{self.course.label}: " + "; ".join(parts)

    def _repr_html_(self) -> str:
        return f"<p class='kap-template'>{escape(self.summary)}</p>"


def _offset(k: int, doses_per_period: int, period_days: int) -> int:
    """Days from a phase's first dose to its dose ``k`` (0-based) at the phase rhythm."""
    return (k * period_days) // doses_per_period


_CACHE: dict[tuple[object, ...], CourseTemplate] = {}
_CACHE_MAX = 512


def _frozen(given: object) -> tuple[tuple[str, str, object], ...] | None:
    """A hashable key for a phase mapping; raises TypeError when it cannot be one."""
    if given is None:
        return None
    if not isinstance(given, Mapping):
        raise TypeError
    out = tuple(
        sorted((str(getattr(k, "value", k)), type(v).__name__, v) for k, v in given.items())
    )
    hash(out)
    return out


def course_template(
    route: Route | str,
    protocol: Protocol | None = None,
    *,
    phase_doses: Mapping[CoursePhase | str, int] | None = None,
    phase_period_days: Mapping[CoursePhase | str, int] | None = None,
    returned: frozenset[CoursePhase] = frozenset(),
) -> CourseTemplate:
    """Resolve the protocol's template for ``route`` into dose slots (cached per protocol).

    See :func:`_course_template`; a template is a frozen value, so the same inputs
    under the same protocol content give back the same object.
    """
    protocol = protocol or default_protocol()
    try:
        key: tuple[object, ...] | None = (
            protocol.info.sha256,
            str(getattr(route, "value", route)),
            _frozen(phase_doses),
            _frozen(phase_period_days),
            frozenset(returned),
        )
    except TypeError:
        key = None  # unhashable input: resolve it, which names the bad value
    found = _CACHE.get(key) if key is not None else None
    if found is not None:
        return found
    template = _course_template(
        route,
        protocol,
        phase_doses=phase_doses,
        phase_period_days=phase_period_days,
        returned=frozenset(returned),
    )
    if key is not None:
        if len(_CACHE) >= _CACHE_MAX:
            _CACHE.clear()
        _CACHE[key] = template
    return template


def _course_template(
    route: Route | str,
    protocol: Protocol,
    *,
    phase_doses: Mapping[CoursePhase | str, int] | None = None,
    phase_period_days: Mapping[CoursePhase | str, int] | None = None,
    returned: frozenset[CoursePhase] = frozenset(),
) -> CourseTemplate:
    """Resolve the protocol's template for ``route`` into dose slots.

    Args:
        route: the route (``Route`` or its value).
        protocol: the protocol (default: the shipped one).
        phase_doses: doses per phase where the clinician departs from the protocol's
            count (e.g. ``{"continuation": 4}`` to plan 4 esketamine doses from week 9).
        phase_period_days: for phases whose protocol lists alternative periods, the
            period to use (e.g. ``{"continuation": 7}`` for weekly).

    Raises:
        InvalidInputError: an unknown route or phase, a negative count, or a period
            the protocol does not allow for that phase.
    """
    course = protocol.courses.route(route)
    key = Route(route)
    doses_wanted = _phase_map(phase_doses, course, "phase_doses")
    periods_wanted = _phase_map(phase_period_days, course, "phase_period_days")
    doses, periods = _phase_choices(course, doses_wanted, periods_wanted)
    limit = protocol.courses.plan_doses_max or default_protocol().courses.plan_doses_max
    if limit is not None and sum(doses.values()) > limit.value:
        msg = (
            f"phase_doses: {sum(doses.values()):,} doses in one plan is more than the protocol's "
            f"plan_doses_max of {limit.int_value:,}; plan fewer doses and extend the course later"
        )
        raise InvalidInputError(msg)
    per, most = _rhythms(course, periods, returned)

    slots = _slots(course, doses, periods, per)
    return CourseTemplate(key, course, slots, doses, periods, frozenset(returned), most)


def _phase_choices(
    course: RouteCourse,
    doses_wanted: Mapping[CoursePhase, int],
    periods_wanted: Mapping[CoursePhase, int],
) -> tuple[dict[CoursePhase, int], dict[CoursePhase, int]]:
    """Doses and period per phase: the clinician's choice where given, each one checked
    against the protocol, else the protocol's."""
    doses: dict[CoursePhase, int] = {}
    periods: dict[CoursePhase, int] = {}
    for p in course.phases:
        n = doses_wanted.get(p.phase, int(p.doses.value))
        if isinstance(n, bool) or not isinstance(n, int) or n < 0:
            msg = (
                f"phase_doses[{p.phase.value!r}]: must be a whole number of doses, 0 or more "
                f"(got {n!r}); the protocol plans {int(p.doses.value)}"
            )
            raise InvalidInputError(msg)
        if p.phase is CoursePhase.INDUCTION and n < 1:
            msg = "phase_doses['induction']: a course needs at least 1 induction dose (got 0)"
            raise InvalidInputError(msg)
        allowed = (int(p.period_days.value), *p.alternative_period_days)
        period = periods_wanted.get(p.phase, allowed[0])
        if period not in allowed:
            msg = (
                f"phase_period_days[{p.phase.value!r}]: {period!r} days is not a rhythm the "
                f"protocol allows for this phase; use one of {list(allowed)}"
            )
            raise InvalidInputError(msg)
        doses[p.phase] = n
        periods[p.phase] = period
    return doses, periods


def _slots(
    course: RouteCourse,
    doses: dict[CoursePhase, int],
    periods: dict[CoursePhase, int],
    per: dict[CoursePhase, int],
) -> tuple[DoseSlot, ...]:
    """Every dose of the course, numbered, with its gap and its place in the phase rhythm."""
    slots: list[DoseSlot] = []
    for p in course.phases:
        n, period, dpp = doses[p.phase], periods[p.phase], per[p.phase]
        for k in range(n):
            gap: int | None
            if not slots:
                gap, max_gap = None, None
            else:
                # Inside a phase, the gap follows the rhythm; the first dose of a later
                # phase comes one rhythm step after the last dose of the phase before.
                gap = (
                    _offset(k, dpp, period) - _offset(k - 1, dpp, period)
                    if k
                    else _offset(1, dpp, period) - _offset(0, dpp, period)
                )
                max_gap = int(p.max_gap_days.value)
            slots.append(
                DoseSlot(
                    number=len(slots) + 1,
                    phase=p.phase,
                    number_in_phase=k + 1,
                    phase_doses=n,
                    gap_days=gap,
                    max_gap_days=max_gap,
                    offset_days=_offset(k, dpp, period),
                    doses_per_period=dpp,
                    period_days=period,
                )
            )
    return tuple(slots)


def _rhythms(
    course: RouteCourse, periods: dict[CoursePhase, int], returned: frozenset[CoursePhase]
) -> tuple[dict[CoursePhase, int], dict[CoursePhase, int]]:
    """Doses per period and the most per period, by phase; a returned phase takes the
    previous phase's rhythm (and period) after a missed dose (label [3.4])."""
    per: dict[CoursePhase, int] = {}
    most: dict[CoursePhase, int] = {}
    for i, p in enumerate(course.phases):
        per[p.phase], most[p.phase] = p.doses_per_period, p.most_per_period
        if p.phase not in returned:
            continue
        if i == 0 or p.missed_dose_may_return is None:
            msg = (
                f"symptoms_worsened: phase {p.phase.value!r} has no previous rhythm the "
                f"protocol lets it return to after a missed dose"
            )
            raise InvalidInputError(msg)
        before = course.phases[i - 1]
        per[p.phase] = before.doses_per_period
        most[p.phase] = max(p.most_per_period, before.most_per_period)
        periods[p.phase] = periods[before.phase]
    return per, most


def _phase_map(
    given: Mapping[CoursePhase | str, int] | None, course: RouteCourse, name: str
) -> dict[CoursePhase, int]:
    if given is None:
        return {}
    if not isinstance(given, Mapping):
        msg = f"{name}: must be a mapping of phase to number (got {given!r})"
        raise InvalidInputError(msg)
    out: dict[CoursePhase, int] = {}
    names = [p.phase.value for p in course.phases]
    for phase, value in given.items():
        try:
            key = CoursePhase(phase)
        except ValueError:
            key = None
        if key is None or key.value not in names:
            msg = (
                f"{name}: {phase!r} is not a phase of the {course.label!r} course; "
                f"use one of {names}"
            )
            raise InvalidInputError(msg)
        out[key] = value
    return out


def named_templates(
    route: Route | str, protocol: Protocol | None = None
) -> tuple[tuple[str, NamedTemplate], ...]:
    """The protocol's named course templates for ``route``, by name, in the file's order
    (e.g. ``esketamine_mdsi``, the esketamine label's schedule for MDD with acute suicidal
    ideation or behaviour); empty for a route that has none.

    Examples:
        >>> [name for name, _ in named_templates("esketamine_nasal")]
        ['esketamine_mdsi']
        >>> named_templates("iv_ketamine")
        ()
    """
    protocol = protocol or default_protocol()
    protocol.courses.route(route)  # an unknown route: InvalidInputError naming it
    value = str(getattr(route, "value", route))
    return tuple(
        (name, t) for name, t in protocol.courses.templates.items() if t.route.value == value
    )
