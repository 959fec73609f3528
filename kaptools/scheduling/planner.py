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

import datetime as dt
from collections.abc import Callable, Collection, Mapping, Sequence

from kaptools.errors import InvalidInputError, PlanningError
from kaptools.protocol import Protocol, default_protocol
from kaptools.scheduling.assembly import (
    as_date,
    check_names,
    check_protocol_arg,
    make_plan,
    therapist_arg,
)
from kaptools.scheduling.calendar import ClinicCalendar
from kaptools.scheduling.constraints import Constraint
from kaptools.scheduling.doses import check_age, check_weight, dose_series
from kaptools.scheduling.gates import age_gate, route_gate, screening_gate
from kaptools.scheduling.placement import Ctx
from kaptools.scheduling.plan import CoursePlan, PlanOptions
from kaptools.scheduling.replanner import replan
from kaptools.scheduling.templates import CourseTemplate, course_template
from kaptools.screening.result import ScreeningResult
from kaptools.validation import check_identifier, check_type
from kaptools.vocabulary import CoursePhase, Route

__all__ = ["plan_course", "replan"]

_START_SEARCH_DAYS = 60
"""How many later start dates the planner tries when suggesting one (a search limit)."""


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
    check_protocol_arg(protocol)
    check_names("extra_instruments", extra_instruments)
    if template is not None:
        check_type("template", template, str, "a template name (text) or None")
    status, caution_texts = screening_gate(screening_status, cautions, screening)
    protocol = protocol or default_protocol()
    start = as_date(start, "start")
    if not isinstance(calendar, ClinicCalendar):
        msg = (
            f"calendar: must be a ClinicCalendar (got {type(calendar).__name__}); build one with "
            "ClinicCalendar(...)"
        )
        raise InvalidInputError(msg)
    therapist = therapist_arg(therapist_calendar)
    course_t, options, weight, years = _course_choices(
        route,
        protocol,
        screening,
        template=template,
        phase_doses=phase_doses,
        phase_period_days=phase_period_days,
        weight_kg=weight_kg,
        age=age,
        dose_mg_per_kg=dose_mg_per_kg,
        later_dose_mg=later_dose_mg,
        extra_instruments=extra_instruments,
        patient_id=patient_id,
    )

    def attempt(day: dt.date) -> CoursePlan:
        ctx = Ctx(protocol, course_t, calendar, day, weight, years, options, therapist=therapist)
        return make_plan(
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


def _course_choices(
    route: Route | str,
    protocol: Protocol,
    screening: ScreeningResult | None,
    *,
    template: str | None,
    phase_doses: Mapping[CoursePhase | str, int] | None,
    phase_period_days: Mapping[CoursePhase | str, int] | None,
    weight_kg: float | None,
    age: int | None,
    dose_mg_per_kg: float | None,
    later_dose_mg: float | None,
    extra_instruments: Collection[str],
    patient_id: str | None,
) -> tuple[CourseTemplate, PlanOptions, float | None, int | None]:
    """The course as chosen (template, options), the weight and the age, each checked
    against the protocol, and the route's gates passed."""
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
    return course_t, options, weight, years
