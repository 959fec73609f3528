"""Named deviations: a rule a plan cannot keep, said in plain words, with what would fix it.

The planner calls :func:`name_deviations` with the rhythm violations the checker
found on its best plan; :func:`~kaptools.scheduling.check_plan` later confirms each
named deviation against the plan (default protocol "Integration and rhythm").
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from kaptools.protocol import Protocol
from kaptools.scheduling.calendar import ClinicCalendar
from kaptools.scheduling.constraints import Constraint, Violation, phase_doses, template_for
from kaptools.scheduling.plan import CoursePlan, Deviation
from kaptools.vocabulary import CoursePhase, IntegrationPlace

__all__ = ["name_deviations"]


def _days(calendar: ClinicCalendar) -> str:
    names = [
        dt.date(2024, 1, 1 + int(d)).strftime("%A") + "s" for d in sorted(calendar.open_weekdays)
    ]
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]


def _weeks(days: int) -> str:
    weeks = round(days / 7)
    return f"{weeks} week{'s' if weeks != 1 else ''}"


def _closed_in(calendar: ClinicCalendar, start: dt.date, end: dt.date, limit: int = 4) -> list[str]:
    out: list[str] = []
    day = start
    while day <= end and len(out) < limit:
        if day.weekday() in calendar.open_weekdays:
            why = calendar.closed_reason(day)
            if why:
                out.append(f"{day} ({why})")
        day += dt.timedelta(days=1)
    return out


def name_deviations(
    plan: CoursePlan, found: Sequence[Violation], protocol: Protocol
) -> tuple[Deviation, ...]:
    """One :class:`Deviation` per phase whose rhythm ``found`` says is broken."""
    phases = list(dict.fromkeys(v.phase for v in found if v.constraint is Constraint.RHYTHM))
    template = template_for(plan, protocol)
    by_phase = phase_doses(template, plan.doses)
    return tuple(
        _rhythm_deviation(plan, protocol, p, by_phase.get(p, []), template.phase_doses[p])
        for p in phases
        if p is not None
    )


def _rhythm_deviation(
    plan: CoursePlan, protocol: Protocol, phase: CoursePhase, doses: Sequence, wanted: int
) -> Deviation:
    course = protocol.courses.route(plan.route)
    t = course.phase(phase)
    first, last = doses[0].date, doses[-1].date
    span = (last - first).days + 1
    if t.within_days is not None and span > t.within_days.value:
        within = int(t.within_days.value)
        head = (
            f"{t.label} takes {_weeks(span)} instead of {_weeks(within)}: {wanted} doses from "
            f"{first} to {last} ({span} days), where the protocol's rhythm is {wanted} within "
            f"{within} days ({t.within_days.source})."
        )
    else:
        head = (
            f"{t.label}: more than {t.most_per_period} doses fall within "
            f"{template_for(plan, protocol).phase_period_days[phase]} days "
            f"({t.period_days.source})."
        )
    places = protocol.courses.integration.places
    video = IntegrationPlace.VIDEO in places and plan.therapist_calendar is not None
    why = (
        f" The clinic doses on {_days(plan.calendar)}, and each dose needs an integration "
        "session on a later day before the next dose"
        + (
            f" (in the clinic, or by video on the therapist's {_days(plan.therapist_calendar)})"
            if video and plan.therapist_calendar is not None
            else " (in the clinic: no therapist calendar for video integration)"
            if IntegrationPlace.VIDEO in places
            else " (in the clinic)"
        )
        + "."
    )
    closed = _closed_in(plan.calendar, first, last)
    if closed:
        why += " Closed in that time: " + "; ".join(closed) + "."
    return Deviation(Constraint.RHYTHM.value, phase, head + why, _fixes(plan, protocol, closed))


def _fixes(plan: CoursePlan, protocol: Protocol, closed: list[str]) -> tuple[str, ...]:
    places = protocol.courses.integration.places
    fixes: list[str] = []
    if len(plan.calendar.open_weekdays) < 7:
        fixes.append(
            f"dose on another weekday as well (the clinic now doses on {_days(plan.calendar)})"
        )
    if IntegrationPlace.VIDEO not in places:
        fixes.append("allow integration by video in the protocol ([courses.integration] places)")
    elif plan.therapist_calendar is None:
        fixes.append("integration by video: give the therapist's calendar (open days, closures)")
    elif len(plan.therapist_calendar.open_weekdays) < 7:
        fixes.append("more open days on the therapist's calendar for video integration")
    if IntegrationPlace.BEFORE_NEXT_DOSE not in places:
        fixes.append(
            "integration on the next dose's day, before it (add 'before_next_dose' to the "
            "protocol's [courses.integration] places)"
        )
    if closed:
        fixes.append("a later start, after the closures in the way")
    return tuple(fixes)
