"""One check per section of a plan, each adding the violations it finds to a view."""

from __future__ import annotations

import bisect
import datetime as dt
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from kaptools.errors import InvalidInputError
from kaptools.protocol import Protocol
from kaptools.scheduling.calendar import ClinicCalendar
from kaptools.scheduling.constraints.rules import HORIZON_DAYS, Constraint, Violation
from kaptools.scheduling.doses import CLINICIAN_CONFIRMATION, DoseCalculation, dose_series
from kaptools.scheduling.plan import (
    _KIND_ORDER,
    CoursePlan,
    MeasurePoint,
    PlannedSession,
    PlanOptions,
    SessionStatus,
)
from kaptools.scheduling.templates import CourseTemplate, SessionKind, course_template
from kaptools.validation import present
from kaptools.vocabulary import CoursePhase, IntegrationPlace, Route

__all__ = [
    "SECTIONS",
    "View",
    "benefit_check_due",
    "first_open",
    "options_template",
    "phase_doses",
    "template_for",
    "view",
]

_ONE_DAY = dt.timedelta(days=1)


_PLANNED = SessionStatus.PLANNED


def _planned(*sessions: PlannedSession | None) -> bool:
    return any(s is not None and s.status is _PLANNED for s in sessions)


def _either_planned(a: PlannedSession, b: PlannedSession) -> bool:
    """:func:`_planned` for two sessions (the checker's inner loops)."""
    return a.status is _PLANNED or b.status is _PLANNED


def first_open(calendar: ClinicCalendar, day: dt.date) -> dt.date | None:
    return calendar.next_open(day, horizon_days=HORIZON_DAYS)


_TEMPLATES: dict[tuple[object, ...], CourseTemplate] = {}
_TEMPLATES_MAX = 512


def template_for(plan: CoursePlan, protocol: Protocol) -> CourseTemplate:
    """The course template the plan fills (kept per protocol content, route and options)."""
    return options_template(plan.route, plan.options, protocol)


def options_template(route: Route, options: PlanOptions, protocol: Protocol) -> CourseTemplate:
    """The course template of ``route`` with a plan's options (phases, rhythms, returned
    phases), kept per protocol content, route and options."""
    pairs = (*options.phase_doses, *options.phase_period_days)
    key = None
    if all(type(n) is int for _, n in pairs):  # 1 and True must not share a template
        key = (protocol.info.sha256, route, pairs, options.returned, len(options.phase_doses))
        found = _TEMPLATES.get(key)
        if found is not None:
            return found
    template = course_template(
        route,
        protocol,
        phase_doses=dict(options.phase_doses),
        phase_period_days=dict(options.phase_period_days),
        returned=frozenset(options.returned),
    )
    if key is not None:
        if len(_TEMPLATES) >= _TEMPLATES_MAX:
            _TEMPLATES.clear()
        _TEMPLATES[key] = template
    return template


@dataclass(frozen=True, slots=True)
class View:
    """What every section check reads: the plan, its template and its sessions by kind."""

    plan: CoursePlan
    protocol: Protocol
    calendar: ClinicCalendar
    template: CourseTemplate
    doses: list[PlannedSession]
    preps: list[PlannedSession]
    integrations: list[PlannedSession]
    checks: list[PlannedSession]
    measures: list[PlannedSession]
    any_dose_done: bool
    out: list[Violation] = field(default_factory=list)

    def add(
        self,
        constraint: Constraint,
        message: str,
        index: int | None = None,
        phase: CoursePhase | None = None,
    ) -> None:
        self.out.append(Violation(constraint, message, index, phase))

    def calendar_for(self, s: PlannedSession) -> ClinicCalendar | None:
        """The calendar a session must be open on (the therapist's for video integration)."""
        if s.place is IntegrationPlace.VIDEO:
            return self.plan.therapist_calendar
        return self.calendar


def view(plan: CoursePlan, protocol: Protocol, calendar: ClinicCalendar) -> View:
    by_kind: dict[SessionKind, list[PlannedSession]] = {k: [] for k in SessionKind}
    missed = SessionStatus.MISSED
    for s in plan.sessions:
        if s.status is not missed:  # s.active
            by_kind[s.kind].append(s)
    doses = by_kind[SessionKind.DOSING]
    return View(
        plan,
        protocol,
        calendar,
        template_for(plan, protocol),
        doses,
        by_kind[SessionKind.PREPARATION],
        by_kind[SessionKind.INTEGRATION],
        by_kind[SessionKind.BENEFIT_CHECK],
        by_kind[SessionKind.MEASURE],
        any(d.status is SessionStatus.DONE for d in doses),
    )


def _check_order(v: View) -> None:
    sessions, as_of = v.plan.sessions, v.plan.as_of
    first = len(v.out)
    planned_status, video = SessionStatus.PLANNED, IntegrationPlace.VIDEO
    clinic_open = v.calendar.open_lookup
    therapist = v.plan.therapist_calendar
    therapist_open = therapist.open_lookup if therapist is not None else None
    kind_order = _KIND_ORDER
    indices_ok, prev = True, None
    suspects: list[PlannedSession] = []
    # One pass: indices, date order (plan.sort_key), and the sessions that need a closer
    # look below (closed day, or on the wrong side of as_of).
    for i, s in enumerate(sessions):
        if s.index != i:
            indices_ok = False
        key = (s.date, kind_order[s.kind], s.dose_number or s.preparation_number or 0)
        if prev is not None and key < prev:
            v.add(
                Constraint.SESSION_ORDER,
                f"out of date order after session {sessions[i - 1].index}",
                s.index,
            )
        prev = key
        if s.status is planned_status:
            is_open = therapist_open if s.place is video else clinic_open
            if is_open is None or not is_open(s.date) or s.date < as_of:
                suspects.append(s)
        elif s.date >= as_of:
            suspects.append(s)
    if not indices_ok:
        v.out.insert(
            first,
            Violation(Constraint.SESSION_ORDER, "session indices must run 0, 1, 2, … in order"),
        )
    for s in suspects:
        planned = s.status is planned_status
        if planned:
            is_open = therapist_open if s.place is video else clinic_open
            if is_open is None or not is_open(s.date):
                _check_open(v, s)
        if planned and s.date < as_of:
            v.add(
                Constraint.SESSION_ORDER,
                f"planned for {s.date} before the plan's as-of date {as_of}",
                s.index,
            )
        if not planned and s.date >= as_of:
            v.add(
                Constraint.SESSION_ORDER,
                f"marked {s.status.value} but dated {s.date}, on or after {as_of}",
                s.index,
            )


def _check_open(v: View, s: PlannedSession) -> None:
    cal = v.calendar_for(s)
    if cal is None:
        v.add(
            Constraint.OPEN_DAY,
            f"{s.label} on {s.date} is by video, but the plan has no therapist calendar",
            s.index,
        )
    elif not cal.is_open(s.date):
        whose = "therapist's calendar" if s.place is IntegrationPlace.VIDEO else "clinic"
        v.add(
            Constraint.OPEN_DAY,
            f"{s.label} on {s.date}: {cal.closed_reason(s.date)} ({whose})",
            s.index,
        )


def _check_doses(v: View) -> None:
    template, plan = v.template, v.plan
    doses = v.doses
    if len(doses) != template.dose_count:
        v.add(
            Constraint.DOSE_COUNT,
            f"{len(doses)} doses on the plan; the course has {template.dose_count}",
        )
    weight_based = template.course.dose.basis == "weight"
    expected_doses: dict[int, DoseCalculation | None] = {}
    series = dose_series(
        plan.route,
        weight_kg=plan.weight_kg if weight_based else None,  # a fixed dose does not use it
        age=plan.age,
        dose_mg_per_kg=plan.options.dose_mg_per_kg,
        later_dose_mg=plan.options.later_dose_mg,
        first_dose_mg=plan.options.first_dose_mg,
        protocol=v.protocol,
    )
    for d, slot in zip(doses, template.slots, strict=False):
        if d.dose_number != slot.number or d.phase != slot.phase:
            v.add(
                Constraint.DOSE_COUNT,
                f"dose {slot.number} is numbered {d.dose_number} in phase {d.phase}; expected "
                f"{slot.number} in phase {slot.phase.value}",
                d.index,
            )
        if d.status is not SessionStatus.PLANNED:
            continue
        dose = present(d.dose, f"the dose of planned session {d.index}")
        key = 1 if weight_based else slot.number
        if key not in expected_doses:
            try:
                expected_doses[key] = series[key]
            except (InvalidInputError, ValueError) as exc:
                expected_doses[key] = None
                v.add(Constraint.DOSE_CALCULATION, f"dose cannot be computed: {exc}", d.index)
        expected = expected_doses[key]
        if expected is not None and (
            expected.mg != dose.mg or dose.confirmation != CLINICIAN_CONFIRMATION
        ):
            v.add(
                Constraint.DOSE_CALCULATION,
                f"planned {dose.mg_text}; the protocol gives {expected.mg_text} "
                f"({expected.arithmetic})",
                d.index,
            )


def _check_spacing(v: View) -> None:
    template, as_of = v.template, v.plan.as_of
    spacing = int(template.course.min_dose_spacing_days.value)
    doses = v.doses[: template.dose_count]
    for i in range(1, len(doses)):
        a, b = doses[i - 1], doses[i]
        if not _either_planned(a, b):
            continue
        gap = (b.date - a.date).days
        if gap < spacing:
            v.add(
                Constraint.MIN_DOSE_SPACING,
                f"dose on {b.date} is {gap} days after the one on {a.date}; the route needs "
                f"at least {spacing} ({template.course.min_dose_spacing_days.source})",
                b.index,
            )
        slot = template.slots[i]
        if b.status is _PLANNED and slot.max_gap_days is not None:
            ref = max(a.date, as_of - slot.gap)
            if (b.date - ref).days > slot.max_gap_days:
                v.add(
                    Constraint.MAX_DOSE_GAP,
                    f"dose on {b.date} is more than {slot.max_gap_days} days after {ref} "
                    f"(phase {slot.phase.value})",
                    b.index,
                )


def _check_preparation(v: View) -> None:
    courses = v.protocol.courses
    prep_gap = int(courses.preparation_min_gap_days.value)
    wanted = int(courses.preparation_sessions.value)
    first_dose = v.doses[0] if v.doses else None
    if not v.any_dose_done and len(v.preps) != wanted:
        v.add(
            Constraint.PREPARATION,
            f"{len(v.preps)} preparation sessions before the first dose; the protocol asks "
            f"for {wanted}",
        )
    for i, p in enumerate(v.preps):
        if p.status is not SessionStatus.PLANNED:
            continue
        if first_dose is not None and (first_dose.date - p.date).days < prep_gap:
            v.add(
                Constraint.PREPARATION,
                f"preparation on {p.date} is not at least {prep_gap} day(s) before the "
                f"first dose ({first_dose.date})",
                p.index,
            )
        if i and (p.date - v.preps[i - 1].date).days < prep_gap:
            v.add(
                Constraint.PREPARATION,
                f"two preparation sessions less than {prep_gap} day(s) apart",
                p.index,
            )


def _check_integration(v: View) -> None:
    courses, as_of = v.protocol.courses, v.plan.as_of
    lo = dt.timedelta(days=int(courses.integration_min_days_after_dose.value))
    hi = dt.timedelta(days=int(courses.integration_max_days_after_dose.value))
    allowed = set(courses.integration.places)
    integrations = v.integrations
    dates = [s.date for s in integrations]
    doses = v.doses
    for s in integrations:
        if s.status is SessionStatus.PLANNED and s.place not in allowed:
            v.add(
                Constraint.INTEGRATION,
                f"integration on {s.date} is {s.place}; the protocol allows "
                f"{[p.value for p in courses.integration.places]}",
                s.index,
            )
    n_doses, n_integrations = len(doses), len(integrations)
    for i, d in enumerate(doses):
        nxt = doses[i + 1] if i + 1 < n_doses else None
        if not (d.status is _PLANNED or nxt is None or nxt.status is _PLANNED):
            continue
        k = bisect.bisect_right(dates, d.date)
        first = integrations[k] if k < n_integrations else None
        if first is not None and nxt is not None and not _before_next(first, nxt):
            first = None
        if first is None:
            v.add(
                Constraint.INTEGRATION,
                f"no integration session after the dose on {d.date}"
                + (f" and before the next dose on {nxt.date}" if nxt else ""),
                d.index,
            )
            continue
        if first.status is SessionStatus.DONE:
            continue
        latest = d.date + hi
        if d.status is SessionStatus.DONE:
            # History may have closed the window (a missed integration): make up as soon as open.
            cal = v.calendar_for(first) or v.calendar
            catch_up = first_open(cal, max(as_of, d.date + lo))
            if catch_up is not None and catch_up > latest:
                latest = catch_up
        if not d.date + lo <= first.date <= latest:
            v.add(
                Constraint.INTEGRATION_WINDOW,
                f"integration on {first.date} is outside {d.date + lo}..{latest} after the "
                f"dose on {d.date}",
                first.index,
            )
        if d.status is SessionStatus.PLANNED and first.dose_number != d.dose_number:
            v.add(
                Constraint.INTEGRATION,
                f"integration names dose {first.dose_number}, follows dose {d.dose_number}",
                first.index,
            )
    _check_integration_places(v)


def _before_next(s: PlannedSession, nxt: PlannedSession) -> bool:
    """An integration comes before the next dose: a day earlier, or that morning when allowed."""
    if s.place is IntegrationPlace.BEFORE_NEXT_DOSE:
        return s.date <= nxt.date
    return s.date < nxt.date


def _check_integration_places(v: View) -> None:
    first_dose = v.doses[0] if v.doses else None
    dose_days = {d.date for d in v.doses}
    for s in v.integrations:
        if s.status is not SessionStatus.PLANNED:
            continue
        if first_dose is not None and s.date <= first_dose.date:
            v.add(Constraint.INTEGRATION, "integration planned before any dose", s.index)
        if s.place is IntegrationPlace.BEFORE_NEXT_DOSE and s.date not in dose_days:
            v.add(
                Constraint.INTEGRATION,
                f"integration on {s.date} is marked 'before the next dose', but no dose is "
                "planned that day",
                s.index,
            )
        if s.place is not IntegrationPlace.BEFORE_NEXT_DOSE and s.date in dose_days:
            v.add(
                Constraint.INTEGRATION,
                f"integration on {s.date} falls on a dosing day without being marked "
                "'before the next dose'",
                s.index,
            )


def phase_doses(
    template: CourseTemplate, doses: Sequence[PlannedSession]
) -> dict[CoursePhase, list[PlannedSession]]:
    """The plan's doses by the phase of the course they fill, in order."""
    out: dict[CoursePhase, list[PlannedSession]] = {}
    for d, slot in zip(doses, template.slots, strict=False):
        out.setdefault(slot.phase, []).append(d)
    return out


def _check_rhythm(v: View) -> None:
    course = v.template.course
    for phase, ds in phase_doses(v.template, v.doses).items():
        if not any(d.status is SessionStatus.PLANNED for d in ds):
            continue
        t = course.phase(phase)
        period = v.template.phase_period_days[phase]
        wanted = v.template.phase_doses[phase]
        if t.within_days is not None and len(ds) == wanted and ds:
            within = int(t.within_days.value)
            span = (ds[-1].date - ds[0].date).days + 1
            if span > within:
                v.add(
                    Constraint.RHYTHM,
                    f"{t.label}: {wanted} doses over {span} days ({ds[0].date} to "
                    f"{ds[-1].date}); the rhythm is {wanted} within {within} days "
                    f"({t.within_days.source})",
                    ds[-1].index,
                    phase,
                )
        most = v.template.phase_most_per_period.get(phase, t.most_per_period)
        for k in range(most, len(ds)):
            a, b = ds[k - most], ds[k]
            if (a.status is _PLANNED or b.status is _PLANNED) and (b.date - a.date).days < period:
                v.add(
                    Constraint.RHYTHM,
                    f"{t.label}: {most + 1} doses from {a.date} to {b.date}, within "
                    f"{period} days; the rhythm allows at most {most} ({t.period_days.source})",
                    b.index,
                    phase,
                )


def benefit_check_due(template: CourseTemplate, doses: Sequence[PlannedSession]) -> dt.date | None:
    """The day the benefit check is due when the protocol fixes its day (label: day 28)."""
    course = template.course
    day = course.benefit_check_day
    phase = course.benefit_check_after
    if day is None or phase is None:
        return None
    first = next((d for d, s in zip(doses, template.slots, strict=False) if s.phase == phase), None)
    if first is None:
        return None
    return first.date + dt.timedelta(days=int(day.value) - 1)


def _check_benefit(v: View) -> None:
    template, doses = v.template, v.doses
    phase = template.course.benefit_check_after
    last = template.last_slot_of(phase) if phase is not None else None
    planned_checks = [c for c in v.checks if c.status is SessionStatus.PLANNED]
    if phase is None or last is None or last.number > len(doses):
        for c in planned_checks:
            v.add(Constraint.BENEFIT_CHECK, "a benefit check with no phase to follow", c.index)
        return
    end_dose = doses[last.number - 1]
    next_dose = doses[last.number] if last.number < len(doses) else None
    due = benefit_check_due(template, doses)
    if due is not None:
        _check_benefit_day(v, due, next_dose, planned_checks)
        return
    done_checks = [c for c in v.checks if c.status is SessionStatus.DONE and c.date > end_dose.date]
    required = end_dose.status is SessionStatus.PLANNED or next_dose is None or _planned(next_dose)
    if not done_checks and required and not planned_checks:
        v.add(
            Constraint.BENEFIT_CHECK,
            f"no benefit check after the last {phase} dose ({end_dose.date})",
        )
    for c in planned_checks:
        if not (end_dose.date < c.date and (next_dose is None or c.date <= next_dose.date)):
            v.add(
                Constraint.BENEFIT_CHECK,
                f"benefit check on {c.date} must fall after the last {phase} dose "
                f"({end_dose.date})"
                + (f" and by the next dose ({next_dose.date})" if next_dose else ""),
                c.index,
            )


def _check_benefit_day(
    v: View, due: dt.date, next_dose: PlannedSession | None, planned: list[PlannedSession]
) -> None:
    as_of = v.plan.as_of
    done = [c for c in v.checks if c.status is SessionStatus.DONE and c.date >= v.doses[0].date]
    if done:
        return
    day = first_open(v.calendar, max(due, as_of))
    if not planned:
        v.add(Constraint.BENEFIT_CHECK, f"no benefit check on day {due} (the label's day)")
        return
    for c in planned:
        if day is not None and c.date != day:
            v.add(
                Constraint.BENEFIT_CHECK,
                f"benefit check on {c.date}; it is due on {due}, so on the first open day "
                f"from then ({day})",
                c.index,
            )
        if (
            next_dose is not None
            and next_dose.status is SessionStatus.PLANNED
            and (next_dose.date < c.date)
        ):
            v.add(
                Constraint.BENEFIT_CHECK,
                f"the dose after induction on {next_dose.date} comes before the benefit check "
                f"({c.date})",
                next_dose.index,
            )


def _check_measures(v: View) -> None:
    courses = v.protocol.courses
    wanted = set(courses.measures.instruments) | set(v.plan.options.extra_instruments)
    measures = v.measures
    for m in measures:
        if m.status is SessionStatus.PLANNED and not wanted <= set(m.instruments):
            v.add(
                Constraint.MEASURES,
                f"measures {list(m.instruments)} miss {sorted(wanted - set(m.instruments))}",
                m.index,
            )
    doses = v.doses
    if doses and not v.any_dose_done:
        first = doses[0].date
        if not any(m.measure_point is MeasurePoint.BASELINE and m.date <= first for m in measures):
            v.add(Constraint.MEASURES, f"no baseline measures by the first dose ({first})")
    if doses:
        last = doses[-1].date
        ends = [m for m in measures if m.measure_point is MeasurePoint.END_OF_COURSE]
        if not any(m.date > last for m in ends):
            v.add(
                Constraint.MEASURES,
                f"no end-of-course measures after the last dose ({last})",
            )


SECTIONS: tuple[Callable[[View], None], ...] = (
    _check_order,
    _check_doses,
    _check_spacing,
    _check_preparation,
    _check_integration,
    _check_rhythm,
    _check_benefit,
    _check_measures,
)
