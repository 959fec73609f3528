"""The course planner: a dated plan of every session, from a start date, route and calendar.

How the planner places sessions (the policy; every rule is in :mod:`constraints`):

* **Preparation** sessions go on the first open days from the start, each at least
  ``preparation_min_gap_days`` after the one before; the first dose comes at least
  that long after the last.
* **Doses** follow the phase rhythm on fixed weekdays counted from the phase's first
  dose (twice a week from a Thursday: Thursdays and Mondays), never closer than the
  route's minimum spacing. A dose whose day does not work moves to the next day that
  does (*push policy*); the later doses keep to the phase's days, but never more
  than the rhythm's number of doses fall in any one period, so a late dose is not
  caught up by crowding the next ones (the label's advice for a missed esketamine
  session is likewise to carry on with the schedule [3.4]). Only when no later day
  keeps the phase's maximum gap is an earlier day taken (a Thursday dose before a
  long weekend instead of the Friday), still at least the minimum spacing after the
  previous dose.
* **Integration** follows every dose on the first open day of the protocol's window
  (1–3 days after, by default). A day is only taken for a dose when its
  integration window has an open day before the next dose can be due, so a
  closure *pushes the dose*, never the integration out of its window.
* When the push would leave more than the phase's ``max_gap_days`` between two
  doses, or no open day exists within :data:`HORIZON_DAYS`, there is no valid
  plan: :class:`PlanningError` names the constraint, the dates and the closures in
  the way, and (for a new plan) the first later start date that works.
* **Measures**: baseline on the first preparation day (or the first dose day),
  then every ``interval_days`` on a day the patient is already in when there is
  one that week, and at the end of the course on the last integration day. The
  end-of-induction **benefit check** goes with the integration after the phase's
  last dose.

Re-planning (:func:`replan`): sessions dated before ``as_of`` are taken as done
unless reported missed, and stay as they are. Missed sessions stay on the plan,
marked missed; a missed dose or preparation is planned again (the course keeps its
number of doses), a missed integration is made up before the next dose (on the first
open day, if its window has passed). Doses held are numbered in the order they were
given. Moved sessions are pinned to their new dates and everything after them is
re-planned around them.
"""

from __future__ import annotations

import bisect
import datetime as dt
import warnings
from collections.abc import Callable, Collection, Hashable, Iterable, Mapping, Sequence
from dataclasses import replace
from typing import Any

from kaptools.errors import (
    ClinicalWarning,
    InvalidInputError,
    PlanningError,
)
from kaptools.protocol import Protocol, default_protocol
from kaptools.scheduling.calendar import ClinicCalendar
from kaptools.scheduling.constraints import (
    DEVIATION_RULES,
    Constraint,
    all_violations,
    check_plan,
    deviation_violations,
    raise_violations,
)
from kaptools.scheduling.deviations import name_deviations
from kaptools.scheduling.doses import (
    CLINICIAN_CONFIRMATION,
    check_age,
    check_weight,
    dose_series,
    fmt_number,
)
from kaptools.scheduling.gates import age_gate, route_gate, screening_gate, weight_reviews
from kaptools.scheduling.placement import Ctx, Key, build
from kaptools.scheduling.plan import (
    CoursePlan,
    MeasurePoint,
    PlannedSession,
    PlanOptions,
    SessionStatus,
    dose_label,
)
from kaptools.scheduling.templates import CourseTemplate, SessionKind, course_template
from kaptools.screening.result import ScreeningResult
from kaptools.validation import check_identifier, check_type, present, shown
from kaptools.vocabulary import CoursePhase, Route

__all__ = ["plan_course", "replan"]

_DAY = dt.timedelta(days=1)
_START_SEARCH_DAYS = 60
"""How many later start dates the planner tries when suggesting one (a search limit)."""


def _therapist(value: object) -> ClinicCalendar | None:
    if value is None or isinstance(value, ClinicCalendar):
        return value
    msg = (
        f"therapist_calendar: must be a ClinicCalendar or None (got {type(value).__name__}); "
        "build one with ClinicCalendar(open_weekdays=..., closures=...)"
    )
    raise InvalidInputError(msg)


def _as_date(value: object, name: str) -> dt.date:
    if isinstance(value, dt.date) and not isinstance(value, dt.datetime):
        return value
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


def _named_template(
    name: object,
    route: Route | str,
    protocol: Protocol,
    phase_doses: Mapping[CoursePhase | str, int] | None,
    later_dose_mg: float | None,
) -> tuple[Mapping[CoursePhase | str, int] | None, float | None, float | None]:
    """Phase doses, later and day-1 dose with a named template applied (the caller's win)."""
    if name is None:
        return phase_doses, later_dose_mg, None
    t = protocol.courses.template(name)  # type: ignore[arg-type]  # checked inside
    if str(getattr(route, "value", route)) != t.route.value:
        msg = (
            f"template: {name!r} is a schedule for {t.route.value!r}, not for route "
            f"{route!r}; plan it with route={t.route.value!r}"
        )
        raise InvalidInputError(msg)
    doses: dict[CoursePhase | str, int] = {}
    for source in (t.phase_doses, phase_doses or {}):
        doses.update(source.items())
    later = (
        later_dose_mg
        if later_dose_mg is not None
        else (t.later_dose_mg.value if t.later_dose_mg else None)
    )
    return doses, later, t.first_dose_mg.value if t.first_dose_mg else None


def _make(ctx: Ctx, history: Sequence[PlannedSession], **meta: Any) -> CoursePlan:
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


def _extras(extra_instruments: Collection[str], protocol: Protocol) -> tuple[str, ...]:
    """The optional measures asked for, each one the protocol offers."""
    optional = protocol.courses.measures.optional_instruments
    extras = (
        tuple(extra_instruments) if not isinstance(extra_instruments, str) else (extra_instruments,)
    )
    unknown = [x for x in extras if x not in optional]
    if unknown:
        msg = (
            f"extra_instruments: {unknown} are not optional measures of this protocol; "
            f"use any of {sorted(optional)}"
        )
        raise InvalidInputError(msg)
    return extras


def _with_later_start(
    exc: PlanningError, attempt: Callable[[dt.date], CoursePlan], start: dt.date
) -> PlanningError:
    """The planning error, naming the first later start date that works (if any)."""
    if exc.constraint == Constraint.PLANNING_HORIZON:
        return exc
    for offset in range(1, _START_SEARCH_DAYS + 1):
        later = start + dt.timedelta(days=offset)
        try:
            works = attempt(later)
        except PlanningError:
            continue
        msg = (
            f"{exc} A course starting on {later.isoformat()} can be planned "
            f"(first dose {works.doses[0].date.isoformat()})."
        )
        return PlanningError(msg, constraint=exc.constraint)
    msg = f"{exc} No start within {_START_SEARCH_DAYS} days of {start.isoformat()} works either."
    return PlanningError(msg, constraint=exc.constraint)


def _check_protocol_arg(protocol: object) -> None:
    if protocol is not None and not isinstance(protocol, Protocol):
        msg = (
            f"protocol: must be a Protocol or None (got {type(protocol).__name__}); load one "
            f"with kaptools.load_protocol(path)"
        )
        raise InvalidInputError(msg)


def _check_names(name: str, value: object) -> None:
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


def plan_course(
    route: Route | str,
    start: dt.date,
    *,
    calendar: ClinicCalendar,
    screening_status: object = None,
    screening: ScreeningResult | None = None,
    therapist_calendar: ClinicCalendar | None = None,
    weight_kg: float | None = None,
    age: int | None = None,
    cautions: Sequence[str] = (),
    protocol: Protocol | None = None,
    patient_id: str | None = None,
    phase_doses: Mapping[CoursePhase | str, int] | None = None,
    phase_period_days: Mapping[CoursePhase | str, int] | None = None,
    dose_mg_per_kg: float | None = None,
    later_dose_mg: float | None = None,
    extra_instruments: Collection[str] = (),
    template: str | None = None,
) -> CoursePlan:
    """Plan a whole course: every session, dated, in order, meeting the protocol's rules.

    Args:
        route: ``"iv_ketamine"``, ``"im_ketamine"`` or ``"esketamine_nasal"``.
        start: the first day a session may be booked.
        calendar: the clinic's calendar (open weekdays, public holidays, closures).
        therapist_calendar: the therapist's own calendar (its open days and closures),
            for integration by video where the protocol allows it; None: no video.
        screening: the patient's latest stored screening (a ScreeningResult); when given,
            its status, cautions and findings are used (route contraindications).
        screening_status: the latest screening's status (a string or a StrEnum with
            one of the values ``eligible``, ``eligible_with_cautions``, ``incomplete``,
            ``not_eligible``), or ``None`` when there is none.
        weight_kg: from the patient record (needed for weight-based routes).
        age: in years, from the record (needed for esketamine).
        cautions: the screening's caution messages, shown on the plan.
        protocol: the protocol (default: the shipped one).
        patient_id: the store's patient id (needed to save the plan).
        phase_doses: doses for optional phases, e.g. ``{"booster": 2}``.
        phase_period_days: one of a phase's allowed rhythms, e.g. ``{"continuation": 7}``.
        dose_mg_per_kg: a clinician-chosen mg/kg within the protocol's range.
        later_dose_mg: esketamine dose to reach after day 1 (one of the label's options).
        extra_instruments: optional measures to add (e.g. ``["GAD-7"]``).
        template: a named course template of the protocol for this route, e.g.
            ``"esketamine_mdsi"`` (the label's schedule for MDD with acute suicidal
            ideation or behaviour: 84 mg twice weekly for 4 weeks).

    Returns:
        The plan, checked by :func:`check_plan`.

    Raises:
        NotPlannableError: no screening, or one that is incomplete or not eligible; an
            age below the protocol's minimum; a route whose contraindications the
            screening lists. ``rule`` names which.
        IncompleteInputError: weight (weight-based) or age (esketamine) missing.
        InvalidInputError: a value the protocol does not allow.
        PlanningError: no plan keeps every rule on this calendar; ``constraint`` says
            which rule, and the message the first start date that works.

    Examples:
        >>> import datetime as dt
        >>> cal = ClinicCalendar(country="US", subdivision="CA")
        >>> plan = plan_course("iv_ketamine", dt.date(2026, 3, 2), calendar=cal,
        ...                    screening_status="eligible", weight_kg=70, age=40)
        >>> plan.doses[0].dose.arithmetic
        '70 kg × 0.5 mg/kg = 35 mg'
    """
    if screening is not None and not isinstance(screening, ScreeningResult):
        msg = f"screening: must be a ScreeningResult or None (got {type(screening).__name__})"
        raise InvalidInputError(msg)
    _check_protocol_arg(protocol)
    _check_names("extra_instruments", extra_instruments)
    if template is not None:
        check_type("template", template, str, "a template name (text) or None")
    status, caution_texts = screening_gate(screening_status, cautions, screening)
    protocol = protocol or default_protocol()
    start = _as_date(start, "start")
    if not isinstance(calendar, ClinicCalendar):
        msg = (
            f"calendar: must be a ClinicCalendar (got {type(calendar).__name__}); build one with "
            "ClinicCalendar(...)"
        )
        raise InvalidInputError(msg)
    therapist = _therapist(therapist_calendar)
    phase_doses, later_dose_mg, first_dose_mg = _named_template(
        template, route, protocol, phase_doses, later_dose_mg
    )
    course_t = course_template(
        route, protocol, phase_doses=phase_doses, phase_period_days=phase_period_days
    )
    course = course_t.course
    weight = (
        check_weight(weight_kg, protocol)
        if course.dose.basis == "weight"
        else (None if weight_kg is None else check_weight(weight_kg, protocol))
    )
    years = check_age(age, required=course.dose.basis == "fixed")
    age_gate(years, protocol)
    route_gate(course_t.route, screening, protocol)
    extras = _extras(extra_instruments, protocol)
    if patient_id is not None:
        check_identifier("patient_id", patient_id)
    options = PlanOptions.make(
        phase_doses=phase_doses,
        phase_period_days=phase_period_days,
        dose_mg_per_kg=dose_mg_per_kg,
        later_dose_mg=later_dose_mg,
        extra_instruments=extras,
        template=template,
        first_dose_mg=first_dose_mg,
    )
    # Compute the first dose now so dose errors surface before any date search (the
    # series is the planner's own: a fixed dose does not use the weight).
    dose_series(
        course_t.route,
        weight_kg=weight if course.dose.basis == "weight" else None,
        age=years,
        dose_mg_per_kg=dose_mg_per_kg,
        later_dose_mg=later_dose_mg,
        first_dose_mg=first_dose_mg,
        protocol=protocol,
    )[1]

    def attempt(day: dt.date) -> CoursePlan:
        ctx = Ctx(protocol, course_t, calendar, day, weight, years, options, therapist=therapist)
        return _make(
            ctx,
            (),
            start=day,
            screening_status=status.value,
            cautions=caution_texts,
            patient_id=patient_id,
        )

    try:
        return attempt(start)
    except PlanningError as exc:
        raise _with_later_start(exc, attempt, start) from None


def _missed_dose_choice(
    plan: CoursePlan, missed: set[int], worsened: object, protocol: Protocol
) -> tuple[tuple[CoursePhase, ...], list[str]]:
    """The label's choice after a missed dose: keep the schedule, or (symptoms worsened)
    return the phase to the previous dosing frequency. Returns the phases returned and
    the lines saying what was chosen (or that the choice exists)."""
    if worsened is not None and not isinstance(worsened, bool):
        msg = f"symptoms_worsened: must be True, False or None (got {worsened!r})"
        raise InvalidInputError(msg)
    course = protocol.courses.route(plan.route)
    names = [p.phase for p in course.phases]
    phases = {
        plan.sessions[i].phase
        for i in missed
        if plan.sessions[i].kind is SessionKind.DOSING and plan.sessions[i].phase is not None
    }
    eligible = [
        p
        for p in course.phases
        if p.phase in phases and p.missed_dose_may_return and names.index(p.phase) > 0
    ]
    if worsened and not eligible:
        msg = (
            "symptoms_worsened: the label's return to the previous dosing frequency applies to "
            "a missed dose in a phase that has one (esketamine maintenance or continuation); "
            "no such dose is reported missed"
        )
        raise InvalidInputError(msg)
    lines = []
    for p in eligible:
        before = course.phases[names.index(p.phase) - 1]
        if worsened:
            lines.append(
                f"symptoms worsened after a missed {p.label} dose: the rest of {p.label} returns "
                f"to the previous frequency ({before.label}: {before.doses_per_period} per "
                f"{int(before.period_days.value)} days), the clinician's choice "
                f"({p.missed_dose_may_return})"
            )
        elif worsened is False:
            lines.append(
                f"symptoms not worsened after a missed {p.label} dose: the schedule carries on "
                f"({p.missed_dose_may_return})"
            )
        else:
            lines.append(
                f"missed {p.label} dose: the schedule carries on; if symptoms have worsened the "
                f"clinician may return to the previous frequency (re-plan with "
                f"symptoms_worsened=True; {p.missed_dose_may_return})"
            )
    returned = tuple(p.phase for p in eligible) if worsened else ()
    return returned, lines


def _slot_numbers(
    sessions: Sequence[PlannedSession], kind: SessionKind, done: set[int], missed: set[int]
) -> dict[int, int]:
    """Old session index → new slot number, for dosing or preparation sessions.

    Done sessions keep the numbers of their order among done ones; then come the
    sessions reported missed now (to be planned again), then the planned ones.
    """
    active = [s for s in sessions if s.kind is kind and s.status is not SessionStatus.MISSED]
    done_s = [s for s in active if s.index in done]
    missed_s = [s for s in active if s.index in missed]
    rest = [s for s in active if s.index not in done and s.index not in missed]
    return {s.index: i + 1 for i, s in enumerate([*done_s, *missed_s, *rest])}


def _renumber_done(history: list[PlannedSession], template: CourseTemplate) -> list[PlannedSession]:
    """Number done doses (and their integrations) by the order they were given.

    When a missed session is reported after later sessions were held, the doses held
    keep their dates and amounts, but their numbers and phases are those of the
    course as given (the 4th dose given is dose 4), so the rest of the plan follows.
    """
    course = template.course
    infusion = course.infusion_minutes.value if course.infusion_minutes else None
    done_doses = sorted(
        (s for s in history if s.status is SessionStatus.DONE and s.kind is SessionKind.DOSING),
        key=lambda s: s.date,
    )
    done_dates = [d.date for d in done_doses]
    changed: dict[int, PlannedSession] = {}
    for k, s in enumerate(done_doses[: template.dose_count], start=1):
        slot = template.slots[k - 1]
        if (s.dose_number, s.phase) != (k, slot.phase) and s.dose is not None:
            label = dose_label(
                course.label,
                k,
                template.dose_count,
                course.phase(slot.phase).label,
                s.dose,
                infusion,
            )
            changed[s.index] = replace(s, dose_number=k, phase=slot.phase, label=label)
    for s in history:
        if s.status is SessionStatus.DONE and s.kind is SessionKind.INTEGRATION:
            k = bisect.bisect_left(done_dates, s.date)
            if k and k != s.dose_number:
                suffix = " (make-up)" if s.label.endswith("(make-up)") else ""
                changed[s.index] = replace(
                    s, dose_number=k, label=f"Integration after dose {k}{suffix}"
                )
    return [changed.get(s.index, s) for s in history]


def _check_requests(
    plan: CoursePlan, as_of: dt.date, missed_set: set[int], moved: dict[int, dt.date]
) -> set[int]:
    """Check what is reported missed or moved; return the indices of sessions held (done)."""
    n = len(plan.sessions)
    for i in [*missed_set, *moved]:
        if isinstance(i, bool) or not isinstance(i, int) or not 0 <= i < n:
            msg = f"missed/moved: {i!r} is not a session index of this plan; use 0 to {n - 1}"
            raise InvalidInputError(msg)
    for i in missed_set:
        s = plan.sessions[i]
        if s.date >= as_of:
            msg = (
                f"missed: session {i} ({s.label}) is dated {s.date}, on or after as_of "
                f"{as_of}, so it cannot have been missed yet; move it instead"
            )
            raise InvalidInputError(msg)
        if s.status is SessionStatus.DONE:
            msg = f"missed: session {i} ({s.label}) was recorded as done on an earlier re-plan"
            raise InvalidInputError(msg)

    done_idx = {
        s.index
        for s in plan.sessions
        if s.date < as_of and s.status is not SessionStatus.MISSED and s.index not in missed_set
    }
    for i, day in moved.items():
        s = plan.sessions[i]
        if i in done_idx or (s.status is SessionStatus.MISSED and i not in missed_set):
            msg = (
                f"moved: session {i} ({s.label}, {s.date}) is history (done or missed) and "
                f"stays as it is; move a planned session"
            )
            raise InvalidInputError(msg)
        day = _as_date(day, f"moved[{i}]")
        if day < as_of:
            msg = f"moved[{i}]: {day} is before as_of {as_of}; move sessions to {as_of} or later"
            raise InvalidInputError(msg)
    return done_idx


def _replan_options(
    options: PlanOptions,
    phase_doses: Mapping[CoursePhase | str, int] | None,
    phase_period_days: Mapping[CoursePhase | str, int] | None,
    returned: tuple[CoursePhase, ...],
) -> PlanOptions:
    """The plan's options with a re-plan's changes (phases, rhythms, returned phases)."""
    if not (phase_doses or phase_period_days or returned):
        return options
    return PlanOptions.make(
        phase_doses={**dict(options.phase_doses), **dict(phase_doses or {})},
        phase_period_days={**dict(options.phase_period_days), **dict(phase_period_days or {})},
        dose_mg_per_kg=options.dose_mg_per_kg,
        later_dose_mg=options.later_dose_mg,
        extra_instruments=options.extra_instruments,
        template=options.template,
        first_dose_mg=options.first_dose_mg,
        returned=(*options.returned, *returned),
    )


def _pins(
    plan: CoursePlan, moved: dict[int, dt.date], done_idx: set[int], missed_set: set[int]
) -> dict[Key, dt.date]:
    """The slot each moved session fills in the new plan, pinned to its new day."""
    dose_no = _slot_numbers(plan.sessions, SessionKind.DOSING, done_idx, missed_set)
    prep_no = _slot_numbers(plan.sessions, SessionKind.PREPARATION, done_idx, missed_set)
    pins: dict[Key, dt.date] = {}
    for i, day in moved.items():
        s = plan.sessions[i]
        key: Key
        if s.kind is SessionKind.DOSING:
            key = ("dose", dose_no[i])
        elif s.kind is SessionKind.PREPARATION:
            key = ("prep", prep_no[i])
        elif s.kind is SessionKind.INTEGRATION:
            # An integration follows the last dose held or planned before it.
            before = [
                d
                for d in plan.sessions
                if d.kind is SessionKind.DOSING
                and d.date < s.date
                and (d.active or d.index in missed_set)
            ]
            if not before or before[-1].index in missed_set:
                msg = (
                    f"moved: session {i} ({s.label}) follows a dose that was missed; move the "
                    "dose instead"
                )
                raise InvalidInputError(msg)
            key = ("integration", dose_no[before[-1].index])
        elif s.kind is SessionKind.BENEFIT_CHECK:
            key = ("benefit_check",)
        else:
            measure_point = present(s.measure_point, f"the measure point of session {s.index}")
            key = (
                ("measure", measure_point)
                if measure_point is not MeasurePoint.WEEKLY
                else ("measure", MeasurePoint.WEEKLY, i)
            )
        pins[key] = day
    return pins


def _change_line(
    plan: CoursePlan,
    as_of: dt.date,
    missed_set: set[int],
    moved: dict[int, dt.date],
    choices: list[str],
    calendar: ClinicCalendar,
    therapist_calendar: ClinicCalendar | None,
    options: PlanOptions,
) -> str:
    """What a re-plan changed, in one line for the plan's ``changes``."""
    what = []
    if missed_set:
        what.append(
            "missed " + ", ".join(f"#{i} {plan.sessions[i].label}" for i in sorted(missed_set))
        )
    what.extend(choices)
    if moved:
        what.append("moved " + ", ".join(f"#{i} to {d}" for i, d in sorted(moved.items())))
    if calendar != plan.calendar:
        what.append("calendar changed")
    if therapist_calendar != plan.therapist_calendar:
        what.append("therapist calendar changed")
    if options != plan.options:
        what.append(
            "phases changed: "
            + ", ".join(f"{phase.value} {n} doses" for phase, n in options.phase_doses)
        )
    change = f"{as_of.isoformat()}: re-planned" + (f" ({'; '.join(what)})" if what else "")
    return change


def replan(
    plan: CoursePlan,
    *,
    as_of: dt.date | None = None,
    missed: Collection[int] = (),
    moved: Mapping[int, dt.date] | None = None,
    calendar: ClinicCalendar | None = None,
    therapist_calendar: ClinicCalendar | None = None,
    protocol: Protocol | None = None,
    phase_doses: Mapping[CoursePhase | str, int] | None = None,
    phase_period_days: Mapping[CoursePhase | str, int] | None = None,
    symptoms_worsened: bool | None = None,
) -> CoursePlan:
    """Re-plan the rest of a course after missed or moved sessions (or a new calendar).

    Args:
        plan: the current plan.
        as_of: the re-planning date (default: today). Sessions dated before it are
            taken as done unless listed in ``missed``; they keep their dates.
        missed: indices of sessions before ``as_of`` that did not happen.
        moved: ``{index: new_date}`` for sessions to pin to a new date (on or after
            ``as_of``); the rest of the course is re-planned around them.
        calendar: a newer clinic calendar (default: the plan's).
        therapist_calendar: a newer therapist calendar (default: the plan's).
        protocol: the protocol the plan was made with (default: the shipped one; a
            ClinicalWarning when its content differs from the plan's).
        phase_doses: change the doses of phases (e.g. ``{"booster": 2}`` to add
            boosters after an induction); other phases keep the plan's choice.
        phase_period_days: change a phase's rhythm among those the protocol allows.
        symptoms_worsened: for a missed dose in a phase the protocol lets return to the
            previous phase's rhythm (esketamine maintenance and continuation, label
            [3.4]): True returns the rest of that phase to the previous frequency (the
            clinician's choice); False or None keeps the schedule. The choice (or the
            option, when not said) is written in the plan's ``changes``.

    Returns:
        A new plan, ``revision`` one higher, with a line in ``changes``.

    Raises:
        InvalidInputError: an index that is not on the plan, a future session
            reported missed, a done session moved, or a move before ``as_of``.
        PlanningError: the rest of the course cannot keep every rule; the
            ``constraint`` says which.
    """
    if not isinstance(plan, CoursePlan):
        msg = f"plan: must be a CoursePlan (got {type(plan).__name__})"
        raise InvalidInputError(msg)
    _check_protocol_arg(protocol)
    if calendar is not None:
        check_type("calendar", calendar, ClinicCalendar, "a ClinicCalendar or None")
    if moved is not None and not isinstance(moved, Mapping):
        msg = (
            f"moved: must be a mapping of session index to new date (got "
            f"{type(moved).__name__}); pass {{index: date}}"
        )
        raise InvalidInputError(msg)
    if isinstance(missed, str | bytes | Mapping) or not isinstance(missed, Collection):
        msg = (
            f"missed: must be a collection of session indices (got {type(missed).__name__}); "
            f"pass e.g. [3, 4]"
        )
        raise InvalidInputError(msg)
    try:
        hash_ok = all(isinstance(i, Hashable) for i in missed)
    except TypeError:
        hash_ok = False
    if not hash_ok:
        msg = "missed: every entry must be a session index (a whole number)"
        raise InvalidInputError(msg)
    protocol = protocol or default_protocol()
    if protocol.info.sha256 != plan.protocol.sha256:
        warnings.warn(
            f"Re-planning with protocol {protocol.info.short}; the plan was made with "
            f"{plan.protocol.short}. The new plan records the new protocol.",
            ClinicalWarning,
            stacklevel=2,
        )
    as_of = _as_date(as_of if as_of is not None else dt.date.today(), "as_of")
    if as_of < plan.as_of:
        msg = (
            f"as_of: {as_of} is before the plan's own as-of date {plan.as_of}; re-plan "
            f"from {plan.as_of} or later"
        )
        raise InvalidInputError(msg)
    nothing_changed = (
        not missed
        and not moved
        and calendar is None
        and therapist_calendar is None
        and phase_doses is None
        and phase_period_days is None
        and symptoms_worsened is None
        and protocol.info.sha256 == plan.protocol.sha256
    )
    calendar = calendar or plan.calendar
    therapist_calendar = _therapist(therapist_calendar) or plan.therapist_calendar
    moved = dict(moved or {})
    missed_set = set(missed)
    done_idx = _check_requests(plan, as_of, missed_set, moved)
    returned, choices = _missed_dose_choice(plan, missed_set, symptoms_worsened, protocol)
    options = _replan_options(plan.options, phase_doses, phase_period_days, returned)
    template = course_template(
        plan.route,
        protocol,
        phase_doses=dict(options.phase_doses),
        phase_period_days=dict(options.phase_period_days),
        returned=frozenset(options.returned),
    )

    # History: what stays as it is (dates, doses given), numbered by what was given.
    history: list[PlannedSession] = []
    for s in plan.sessions:
        if s.index in done_idx:
            history.append(replace(s, status=SessionStatus.DONE))
        elif s.index in missed_set or s.status is SessionStatus.MISSED:
            history.append(replace(s, status=SessionStatus.MISSED))
    history = _renumber_done(history, template)

    # Nothing missed, moved or changed: the doses still to come keep their days.
    kept = (
        {
            s.index: s.date
            for s in plan.sessions
            if s.kind is SessionKind.DOSING and s.active and s.date >= as_of
        }
        if nothing_changed
        else {}
    )
    pins = _pins(plan, {**kept, **moved}, done_idx, missed_set)
    ctx = Ctx(
        protocol,
        template,
        calendar,
        as_of,
        plan.weight_kg,
        plan.age,
        options,
        pins,
        therapist=therapist_calendar,
    )
    change = _change_line(
        plan, as_of, missed_set, moved, choices, calendar, therapist_calendar, options
    )
    return _make(
        ctx,
        history,
        start=plan.start,
        screening_status=plan.screening_status,
        cautions=plan.cautions,
        patient_id=plan.patient_id,
        revision=plan.revision + 1,
        changes=(*plan.changes, change),
    )
