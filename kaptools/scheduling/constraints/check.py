"""Checking a whole plan: every section's check, in order; the planner's final guard."""

from __future__ import annotations

from collections.abc import Sequence

from kaptools.errors import InvalidInputError, PlanningError
from kaptools.protocol import Protocol, default_protocol
from kaptools.scheduling.calendar import ClinicCalendar
from kaptools.scheduling.constraints.rules import DEVIATION_RULES, Constraint, Violation
from kaptools.scheduling.constraints.sections import SECTIONS, view
from kaptools.scheduling.plan import (
    CoursePlan,
)

__all__ = [
    "all_violations",
    "check_plan",
    "deviation_violations",
    "plan_violations",
    "raise_violations",
]

_RULE_VALUES = frozenset(c.value for c in Constraint)


def _all_violations(
    plan: CoursePlan, protocol: Protocol | None, calendar: ClinicCalendar | None
) -> list[Violation]:
    protocol = protocol or default_protocol()
    if protocol.info.sha256 != plan.protocol.sha256:
        msg = (
            f"protocol: the plan was made with {plan.protocol.short}, not "
            f"{protocol.info.short}; check it against the protocol it was made with"
        )
        raise InvalidInputError(msg)
    v = view(plan, protocol, calendar or plan.calendar)
    for section in SECTIONS:
        section(v)
    return v.out


def all_violations(
    plan: CoursePlan, protocol: Protocol | None = None, calendar: ClinicCalendar | None = None
) -> list[Violation]:
    """Every rule ``plan`` breaks, deviation rules included (whether named or not)."""
    return _all_violations(plan, protocol, calendar)


def deviation_violations(
    plan: CoursePlan,
    protocol: Protocol | None = None,
    calendar: ClinicCalendar | None = None,
) -> list[Violation]:
    """The broken rules a plan may carry as named deviations (the rhythm), found afresh."""
    return [x for x in _all_violations(plan, protocol, calendar) if x.constraint in DEVIATION_RULES]


def plan_violations(
    plan: CoursePlan,
    protocol: Protocol | None = None,
    calendar: ClinicCalendar | None = None,
) -> list[Violation]:
    """Every rule ``plan`` breaks under ``protocol`` on ``calendar`` (empty: it holds).

    A rhythm rule the plan breaks is not listed when the plan names it as a
    :class:`~kaptools.scheduling.Deviation` (the checker confirms it); a deviation the
    plan names but does not have is listed, so a plan can neither hide a broken
    rhythm nor claim one it keeps.

    Args:
        plan: the plan to check.
        protocol: the protocol it was made with (default: the shipped one). A
            protocol with another content hash is an InvalidInputError.
        calendar: the calendar to check against (default: the plan's own; pass a
            newer calendar to ask whether the plan still holds).
    """
    found = _all_violations(plan, protocol, calendar)
    named = {d.key for d in plan.deviations}
    out = [
        x
        for x in found
        if x.constraint not in DEVIATION_RULES or (x.constraint.value, x.phase) not in named
    ]
    confirmed = {(x.constraint.value, x.phase) for x in found if x.constraint in DEVIATION_RULES}
    out.extend(
        Violation(
            Constraint(d.rule) if d.rule in _RULE_VALUES else Constraint.RHYTHM,
            f"the plan names a deviation the checker does not find: {d.message}",
            phase=d.phase,
        )
        for d in plan.deviations
        if d.key not in confirmed
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
    from kaptools.protocol import Protocol
    from kaptools.scheduling.calendar import ClinicCalendar
    from kaptools.scheduling.plan import CoursePlan
    from kaptools.validation import check_type

    check_type("plan", plan, CoursePlan, "a CoursePlan (from plan_course or replan)")
    if protocol is not None:
        check_type("protocol", protocol, Protocol, "a Protocol or None")
    if calendar is not None:
        check_type("calendar", calendar, ClinicCalendar, "a ClinicCalendar or None")
    found = plan_violations(plan, protocol, calendar)
    raise_violations(found)
    return plan


def raise_violations(found: Sequence[Violation]) -> None:
    """PlanningError naming the first of ``found`` and listing them all (nothing when empty)."""
    if found:
        listed = "\n".join(f"  - {v}" for v in found)
        msg = f"The plan breaks {len(found)} scheduling rule(s):\n{listed}"
        raise PlanningError(msg, constraint=found[0].constraint)
