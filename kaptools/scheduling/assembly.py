"""From a placement context to a checked plan: the steps plan_course and replan share.

:func:`make_plan` places every session (:mod:`placement`), adds the plan's standing
notes, and runs the planner's final guard (:func:`check_plan`): rhythm mode first,
compact mode for the phases whose rhythm broke, a rhythm still broken named as a
deviation. The argument checks both entry points share are here too.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import replace
from typing import Any

from kaptools.errors import InvalidInputError, PlanningError
from kaptools.protocol import Protocol
from kaptools.scheduling.calendar import ClinicCalendar
from kaptools.scheduling.constraints import (
    DEVIATION_RULES,
    all_violations,
    check_plan,
    deviation_violations,
    raise_violations,
)
from kaptools.scheduling.deviations import name_deviations
from kaptools.scheduling.doses import CLINICIAN_CONFIRMATION, fmt_number
from kaptools.scheduling.gates import weight_reviews
from kaptools.scheduling.placement import Ctx, build
from kaptools.scheduling.plan import CoursePlan, PlannedSession
from kaptools.validation import check_date_in_range, shown
from kaptools.vocabulary import Route

__all__ = ["as_date", "check_names", "check_protocol_arg", "make_plan", "therapist_arg"]


def therapist_arg(value: object) -> ClinicCalendar | None:
    if value is None or isinstance(value, ClinicCalendar):
        return value
    msg = (
        f"therapist_calendar: must be a ClinicCalendar or None (got {type(value).__name__}); "
        "build one with ClinicCalendar(open_weekdays=..., closures=...)"
    )
    raise InvalidInputError(msg)


def as_date(value: object, name: str) -> dt.date:
    if isinstance(value, dt.date) and not isinstance(value, dt.datetime):
        return check_date_in_range(name, value)
    msg = f"{name}: must be a date (got {value!r}); pass datetime.date(...)"
    raise InvalidInputError(msg)


_NOTES: dict[tuple[str, Route, tuple[str, ...]], tuple[str, ...]] = {}


def _notes(protocol: Protocol, route: Route, course_notes: Iterable[str]) -> tuple[str, ...]:
    """The plan's standing notes (kept per protocol content, route and course notes)."""
    key = (protocol.info.sha256, route, tuple(course_notes))
    found = _NOTES.get(key)
    if found is None:
        if len(_NOTES) > 256:
            _NOTES.clear()
        found = _NOTES[key] = _make_notes(protocol, route, key[2])
    return found


def _make_notes(protocol: Protocol, route: Route, course_notes: Iterable[str]) -> tuple[str, ...]:
    m = protocol.monitoring
    notes = list(course_notes)
    if route is Route.ESKETAMINE_NASAL:
        notes.append(
            f"Observe for at least {fmt_number(m.esketamine_observation_min_minutes.value)} min "
            f"after each dose; file the REMS Patient Monitoring Form within "
            f"{fmt_number(m.rems_form_due_days.value)} calendar days of each session "
            f"({m.rems_form_due_days.source})."
        )
    infusion = protocol.courses.route(route).infusion_minutes
    if infusion is not None:
        notes.append(
            f"Vitals every {fmt_number(m.infusion_vitals_interval_minutes.value)} min during the "
            f"{fmt_number(infusion.value)}-min infusion, about "
            f"{fmt_number(m.post_dose_check_minutes.value)} min after dosing, and before discharge."
        )
    notes.append(f"Every dose is a proposal {CLINICIAN_CONFIRMATION}.")
    return tuple(notes)


def _assemble(ctx: Ctx, history: Sequence[PlannedSession], meta: Mapping[str, Any]) -> CoursePlan:
    sessions = build(ctx, history)
    return CoursePlan(
        route=ctx.template.route,
        route_label=_label(ctx),
        sessions=tuple(sessions),
        as_of=ctx.as_of,
        calendar=ctx.calendar,
        protocol=ctx.protocol.info,
        weight_kg=ctx.weight_kg,
        age=ctx.age,
        notes=(
            *weight_reviews(ctx.weight_kg, ctx.template.route, ctx.protocol),
            *_notes(ctx.protocol, ctx.template.route, _course_notes(ctx)),
            *ctx.notes,
        ),
        options=ctx.options,
        therapist_calendar=ctx.therapist,
        **meta,
    )


def _label(ctx: Ctx) -> str:
    name = ctx.options.template
    return ctx.protocol.courses.template(name).label if name else ctx.template.course.label


def _course_notes(ctx: Ctx) -> tuple[str, ...]:
    name = ctx.options.template
    own = ctx.protocol.courses.template(name).notes if name else ()
    return (*own, *ctx.template.course.notes)


def make_plan(ctx: Ctx, history: Sequence[PlannedSession], **meta: Any) -> CoursePlan:
    """The best plan: rhythm mode first; compact mode for phases whose rhythm broke.

    A rhythm still broken in the best plan is named as a deviation (with what would
    fix it), which :func:`check_plan` confirms.
    """
    plan = _assemble(ctx.fresh(frozenset()), history, meta)
    everything = all_violations(plan, ctx.protocol)
    found = [v for v in everything if v.constraint in DEVIATION_RULES]
    if not found:
        raise_violations(everything)  # the planner's final guard: every rule, checked
        return plan
    if found:
        phases = frozenset(v.phase for v in found if v.phase is not None)
        try:
            other = _assemble(ctx.fresh(phases), history, meta)
        except PlanningError:
            other = None
        if other is not None:
            other_found = deviation_violations(other, ctx.protocol)
            if (len(other_found), other.end) < (len(found), plan.end):
                plan, found = other, other_found
        if found:
            plan = replace(plan, deviations=name_deviations(plan, found, ctx.protocol))
    return check_plan(plan, ctx.protocol)


def check_protocol_arg(protocol: object) -> None:
    if protocol is not None and not isinstance(protocol, Protocol):
        msg = (
            f"protocol: must be a Protocol or None (got {type(protocol).__name__}); load one "
            f"with kaptools.load_protocol(path)"
        )
        raise InvalidInputError(msg)


def check_names(name: str, value: object) -> None:
    """A text or a collection of texts (instrument names, caution texts)."""
    if isinstance(value, str):
        return
    ok = isinstance(value, Collection) and not isinstance(value, bytes | Mapping)
    if ok:
        ok = all(isinstance(x, str) for x in value)  # type: ignore[attr-defined]  # checked above
    if not ok:
        msg = (
            f"{name}: must be a list of names (text), or () for none (got "
            f"{type(value).__name__} {shown(value)})"
        )
        raise InvalidInputError(msg)
