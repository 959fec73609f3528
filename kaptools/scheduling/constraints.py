"""The rules every course plan keeps, checked in one place.

:func:`check_plan` is the single validator: the planner runs it on every plan
before returning it (so a bug can never hand out a broken plan), and the tests
run it on every plan they generate. It raises :class:`PlanningError` whose
``constraint`` is a :class:`Constraint`; :func:`plan_violations` lists them all.

History is not re-judged: sessions dated before the plan's ``as_of`` (done or
missed) happened as they happened. Every rule that involves a planned session
is checked; where history already broke a window (a missed integration, a long
break), the rule asks for the earliest open day from ``as_of`` instead.
"""

from __future__ import annotations

import datetime as dt
import enum
import itertools
from dataclasses import dataclass

from kaptools.errors import InvalidInputError, PlanningError
from kaptools.protocol import Protocol, default_protocol
from kaptools.scheduling.calendar import ClinicCalendar
from kaptools.scheduling.doses import CLINICIAN_CONFIRMATION, DoseCalculation, calculate_dose
from kaptools.scheduling.plan import CoursePlan, MeasurePoint, PlannedSession, SessionStatus
from kaptools.scheduling.templates import CourseTemplate, SessionKind, course_template

__all__ = ["HORIZON_DAYS", "Constraint", "Violation", "check_plan", "plan_violations"]

HORIZON_DAYS = 730
"""How far ahead the planner looks for an open day (a search limit, not a clinical rule)."""

_ONE_DAY = dt.timedelta(days=1)


class Constraint(enum.StrEnum):
    """The scheduling rules of a course plan (default protocol "Course templates")."""

    SESSION_ORDER = "session_order"
    """Sessions are in date order; history lies before ``as_of``, planned sessions on or after."""
    OPEN_DAY = "open_day"
    """No planned session on a closed weekday, public holiday or clinic closure."""
    PREPARATION = "preparation"
    """The protocol's preparation sessions, on separate days, all before the first dose."""
    DOSE_COUNT = "dose_count"
    """The course's doses, numbered in order, in the template's phases."""
    MIN_DOSE_SPACING = "min_dose_spacing"
    """No two doses closer than the route's minimum spacing."""
    MAX_DOSE_GAP = "max_dose_gap"
    """No gap between doses longer than the phase allows."""
    INTEGRATION = "integration"
    """An integration session after every dose: on a later day, before the next dose."""
    INTEGRATION_WINDOW = "integration_window"
    """That integration falls within the protocol's window after the dose."""
    BENEFIT_CHECK = "benefit_check"
    """The end-of-phase benefit check after the phase's last dose, by the next phase's first."""
    MEASURES = "measures"
    """Baseline measures by the first dose, and end-of-course measures after the last."""
    DOSE_CALCULATION = "dose_calculation"
    """Each planned dose is the protocol's, with its arithmetic, for clinician confirmation."""
    PLANNING_HORIZON = "planning_horizon"
    """An open day can be found within the planner's search horizon."""


@dataclass(frozen=True, slots=True)
class Violation:
    """One broken rule: which, where, and what is wrong."""

    constraint: Constraint
    message: str
    session_index: int | None = None

    def __str__(self) -> str:
        where = f"session {self.session_index}: " if self.session_index is not None else ""
        return f"[{self.constraint.value}] {where}{self.message}"


def _planned(*sessions: PlannedSession | None) -> bool:
    return any(s is not None and s.status is SessionStatus.PLANNED for s in sessions)


def first_open(calendar: ClinicCalendar, day: dt.date) -> dt.date | None:
    return calendar.next_open(day, horizon_days=HORIZON_DAYS)


def template_for(plan: CoursePlan, protocol: Protocol) -> CourseTemplate:
    return course_template(
        plan.route,
        protocol,
        phase_doses=dict(plan.options.phase_doses),
        phase_period_days=dict(plan.options.phase_period_days),
    )


def plan_violations(
    plan: CoursePlan,
    protocol: Protocol | None = None,
    calendar: ClinicCalendar | None = None,
) -> list[Violation]:
    """Every rule ``plan`` breaks under ``protocol`` on ``calendar`` (empty: it holds).

    Args:
        plan: the plan to check.
        protocol: the protocol it was made with (default: the shipped one). A
            protocol with another content hash is an InvalidInputError.
        calendar: the calendar to check against (default: the plan's own; pass a
            newer calendar to ask whether the plan still holds).
    """
    protocol = protocol or default_protocol()
    if protocol.info.sha256 != plan.protocol.sha256:
        msg = (
            f"protocol: the plan was made with {plan.protocol.short}, not "
            f"{protocol.info.short}; check it against the protocol it was made with"
        )
        raise InvalidInputError(msg)
    calendar = calendar or plan.calendar
    out: list[Violation] = []
    add = out.append
    courses = protocol.courses
    template = template_for(plan, protocol)
    sessions = plan.sessions
    as_of = plan.as_of

    # -- order and dates ---------------------------------------------------------------
    if [s.index for s in sessions] != list(range(len(sessions))):
        add(Violation(Constraint.SESSION_ORDER, "session indices must run 0, 1, 2, … in order"))
    for a, b in itertools.pairwise(sessions):
        if b.sort_key < a.sort_key:
            add(
                Violation(
                    Constraint.SESSION_ORDER, f"out of date order after session {a.index}", b.index
                )
            )
    for s in sessions:
        if s.status is SessionStatus.PLANNED and s.date < as_of:
            add(
                Violation(
                    Constraint.SESSION_ORDER,
                    f"planned for {s.date} before the plan's as-of date {as_of}",
                    s.index,
                )
            )
        if s.status is not SessionStatus.PLANNED and s.date >= as_of:
            add(
                Violation(
                    Constraint.SESSION_ORDER,
                    f"marked {s.status.value} but dated {s.date}, on or after {as_of}",
                    s.index,
                )
            )
        if s.status is SessionStatus.PLANNED and not calendar.is_open(s.date):
            add(
                Violation(
                    Constraint.OPEN_DAY,
                    f"{s.label} on {s.date}: {calendar.closed_reason(s.date)}",
                    s.index,
                )
            )

    active = [s for s in sessions if s.active]
    doses = [s for s in active if s.kind is SessionKind.DOSING]
    preps = [s for s in active if s.kind is SessionKind.PREPARATION]
    integrations = [s for s in active if s.kind is SessionKind.INTEGRATION]
    any_dose_done = any(d.status is SessionStatus.DONE for d in doses)
    expected_doses: dict[int, DoseCalculation] = {}

    # -- doses: count, numbering, phases, calculation --------------------------------------
    if len(doses) != template.dose_count:
        add(
            Violation(
                Constraint.DOSE_COUNT,
                f"{len(doses)} doses on the plan; the course has {template.dose_count}",
            )
        )
    for i, d in enumerate(doses):
        if i >= template.dose_count:
            break
        slot = template.slots[i]
        if d.dose_number != slot.number or d.phase != slot.phase:
            add(
                Violation(
                    Constraint.DOSE_COUNT,
                    f"dose {i + 1} is numbered {d.dose_number} in phase {d.phase}; expected "
                    f"{slot.number} in phase {slot.phase.value}",
                    d.index,
                )
            )
        if d.status is SessionStatus.PLANNED:
            assert d.dose is not None  # PlannedSession guarantees it
            key = 1 if template.course.dose.basis == "weight" else slot.number
            try:
                expected = expected_doses.get(key) or calculate_dose(
                    plan.route,
                    dose_number=key,
                    weight_kg=plan.weight_kg,
                    age=plan.age,
                    dose_mg_per_kg=plan.options.dose_mg_per_kg,
                    later_dose_mg=plan.options.later_dose_mg,
                    protocol=protocol,
                )
            except (InvalidInputError, ValueError) as exc:
                add(
                    Violation(
                        Constraint.DOSE_CALCULATION, f"dose cannot be computed: {exc}", d.index
                    )
                )
            else:
                expected_doses[key] = expected
                if expected.mg != d.dose.mg or d.dose.confirmation != CLINICIAN_CONFIRMATION:
                    add(
                        Violation(
                            Constraint.DOSE_CALCULATION,
                            f"planned {d.dose.mg_text}; the protocol gives {expected.mg_text} "
                            f"({expected.arithmetic})",
                            d.index,
                        )
                    )

    spacing = int(template.course.min_dose_spacing_days.value)
    for i in range(1, min(len(doses), template.dose_count)):
        a, b = doses[i - 1], doses[i]
        if not _planned(a, b):
            continue
        gap = (b.date - a.date).days
        if gap < spacing:
            add(
                Violation(
                    Constraint.MIN_DOSE_SPACING,
                    f"dose on {b.date} is {gap} days after the one on {a.date}; the route needs "
                    f"at least {spacing} ({template.course.min_dose_spacing_days.source})",
                    b.index,
                )
            )
        slot = template.slots[i]
        if b.status is SessionStatus.PLANNED and slot.max_gap_days is not None:
            ref = max(a.date, as_of - dt.timedelta(days=slot.gap_days or 0))
            if (b.date - ref).days > slot.max_gap_days:
                add(
                    Violation(
                        Constraint.MAX_DOSE_GAP,
                        f"dose on {b.date} is more than {slot.max_gap_days} days after {ref} "
                        f"(phase {slot.phase.value})",
                        b.index,
                    )
                )

    # -- preparation --------------------------------------------------------------------------
    prep_gap = int(courses.preparation_min_gap_days.value)
    first_dose = doses[0] if doses else None
    if not any_dose_done and len(preps) != int(courses.preparation_sessions.value):
        add(
            Violation(
                Constraint.PREPARATION,
                f"{len(preps)} preparation sessions before the first dose; the protocol asks "
                f"for {int(courses.preparation_sessions.value)}",
            )
        )
    for i, p in enumerate(preps):
        if p.status is not SessionStatus.PLANNED:
            continue
        if first_dose is not None and (first_dose.date - p.date).days < prep_gap:
            add(
                Violation(
                    Constraint.PREPARATION,
                    f"preparation on {p.date} is not at least {prep_gap} day(s) before the "
                    f"first dose ({first_dose.date})",
                    p.index,
                )
            )
        if i and (p.date - preps[i - 1].date).days < prep_gap:
            add(
                Violation(
                    Constraint.PREPARATION,
                    f"two preparation sessions less than {prep_gap} day(s) apart",
                    p.index,
                )
            )

    # -- integration ------------------------------------------------------------------------
    lo = dt.timedelta(days=int(courses.integration_min_days_after_dose.value))
    hi = dt.timedelta(days=int(courses.integration_max_days_after_dose.value))
    for i, d in enumerate(doses):
        nxt = doses[i + 1] if i + 1 < len(doses) else None
        if not (d.status is SessionStatus.PLANNED or nxt is None or _planned(nxt)):
            continue
        after = [s for s in integrations if d.date < s.date and (nxt is None or s.date < nxt.date)]
        if not after:
            add(
                Violation(
                    Constraint.INTEGRATION,
                    f"no integration session after the dose on {d.date}"
                    + (f" and before the next dose on {nxt.date}" if nxt else ""),
                    d.index,
                )
            )
            continue
        first = after[0]
        if first.status is SessionStatus.DONE:
            continue
        latest = d.date + hi
        if d.status is SessionStatus.DONE:
            # History may have closed the window (a missed integration): make up as soon as open.
            catch_up = first_open(calendar, max(as_of, d.date + lo))
            if catch_up is not None and catch_up > latest:
                latest = catch_up
        if not d.date + lo <= first.date <= latest:
            add(
                Violation(
                    Constraint.INTEGRATION_WINDOW,
                    f"integration on {first.date} is outside {d.date + lo}..{latest} after the "
                    f"dose on {d.date}",
                    first.index,
                )
            )
        if (
            first.status is SessionStatus.PLANNED
            and first.dose_number != d.dose_number
            and d.status is SessionStatus.PLANNED
        ):
            add(
                Violation(
                    Constraint.INTEGRATION,
                    f"integration names dose {first.dose_number}, follows dose {d.dose_number}",
                    first.index,
                )
            )
    if first_dose is not None:
        for s in integrations:
            if s.status is SessionStatus.PLANNED and s.date <= first_dose.date:
                add(
                    Violation(
                        Constraint.INTEGRATION, "integration planned before any dose", s.index
                    )
                )

    # -- benefit check ------------------------------------------------------------------------
    checks = [s for s in active if s.kind is SessionKind.BENEFIT_CHECK]
    phase = template.course.benefit_check_after
    last = template.last_slot_of(phase) if phase is not None else None
    if last is None or last.number > len(doses):
        for c in checks:
            if c.status is SessionStatus.PLANNED:
                add(
                    Violation(
                        Constraint.BENEFIT_CHECK, "a benefit check with no phase to follow", c.index
                    )
                )
    else:
        end_dose = doses[last.number - 1]
        next_dose = doses[last.number] if last.number < len(doses) else None
        done_checks = [
            c for c in checks if c.status is SessionStatus.DONE and c.date > end_dose.date
        ]
        planned_checks = [c for c in checks if c.status is SessionStatus.PLANNED]
        required = (
            end_dose.status is SessionStatus.PLANNED or next_dose is None or _planned(next_dose)
        )
        if not done_checks and required and not planned_checks:
            add(
                Violation(
                    Constraint.BENEFIT_CHECK,
                    f"no benefit check after the last {phase} dose ({end_dose.date})",
                )
            )
        for c in planned_checks:
            if not (end_dose.date < c.date and (next_dose is None or c.date <= next_dose.date)):
                add(
                    Violation(
                        Constraint.BENEFIT_CHECK,
                        f"benefit check on {c.date} must fall after the last {phase} dose "
                        f"({end_dose.date})"
                        + (f" and by the next dose ({next_dose.date})" if next_dose else ""),
                        c.index,
                    )
                )

    # -- measures ---------------------------------------------------------------------------
    measures = [s for s in active if s.kind is SessionKind.MEASURE]
    wanted = set(courses.measures.instruments) | set(plan.options.extra_instruments)
    for m in measures:
        if m.status is SessionStatus.PLANNED and not wanted <= set(m.instruments):
            add(
                Violation(
                    Constraint.MEASURES,
                    f"measures {list(m.instruments)} miss {sorted(wanted - set(m.instruments))}",
                    m.index,
                )
            )
    if first_dose is not None and not any_dose_done:
        if not any(
            m.measure_point is MeasurePoint.BASELINE and m.date <= first_dose.date for m in measures
        ):
            add(
                Violation(
                    Constraint.MEASURES,
                    f"no baseline measures by the first dose ({first_dose.date})",
                )
            )
    if doses:
        last_dose = doses[-1]
        ends = [m for m in measures if m.measure_point is MeasurePoint.END_OF_COURSE]
        if not any(m.date > last_dose.date for m in ends):
            add(
                Violation(
                    Constraint.MEASURES,
                    f"no end-of-course measures after the last dose ({last_dose.date})",
                )
            )
    return out


def check_plan(
    plan: CoursePlan,
    protocol: Protocol | None = None,
    calendar: ClinicCalendar | None = None,
) -> CoursePlan:
    """Return ``plan`` when it keeps every rule; else PlanningError naming the first broken one.

    The error's ``constraint`` is the first violation's :class:`Constraint`; its
    message lists every violation.

    Examples:
        >>> import datetime as dt
        >>> from kaptools.scheduling import ClinicCalendar, plan_course
        >>> cal = ClinicCalendar(country="US", subdivision="NY")
        >>> plan = plan_course("iv_ketamine", dt.date(2026, 3, 2), weight_kg=70, age=40,
        ...                    calendar=cal, screening_status="eligible")
        >>> check_plan(plan) is plan
        True
    """
    found = plan_violations(plan, protocol, calendar)
    if found:
        listed = "\n".join(f"  - {v}" for v in found)
        msg = f"The plan breaks {len(found)} scheduling rule(s):\n{listed}"
        raise PlanningError(msg, constraint=found[0].constraint)
    return plan
