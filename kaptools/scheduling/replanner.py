"""Re-planning a course: the rest of a plan after missed or moved sessions, or a new
calendar, protocol or choice of phases.

Sessions dated before ``as_of`` are taken as done unless reported missed, and stay
as they are. Missed sessions stay on the plan, marked missed; a missed dose or
preparation is planned again (the course keeps its number of doses), a missed
integration is made up before the next dose (on the first open day, if its window
has passed). Doses held are numbered in the order they were given. Moved sessions
are pinned to their new dates and everything after them is re-planned around them.
"""

from __future__ import annotations

import bisect
import datetime as dt
import warnings
from collections.abc import Collection, Hashable, Mapping, Sequence
from dataclasses import replace

from kaptools.errors import ClinicalWarning, InvalidInputError
from kaptools.protocol import Protocol, default_protocol
from kaptools.scheduling.assembly import as_date, check_protocol_arg, make_plan, therapist_arg
from kaptools.scheduling.calendar import ClinicCalendar
from kaptools.scheduling.constraints import options_template
from kaptools.scheduling.placement import Ctx, Key
from kaptools.scheduling.plan import (
    CoursePlan,
    MeasurePoint,
    PlannedSession,
    PlanOptions,
    SessionStatus,
    dose_label,
)
from kaptools.scheduling.templates import CourseTemplate, SessionKind
from kaptools.validation import check_type, present
from kaptools.vocabulary import CoursePhase

__all__ = ["replan"]


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
        day = as_date(day, f"moved[{i}]")
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
    protocol, as_of = _replan_inputs(plan, as_of, missed, moved, calendar, protocol)
    unchanged = (
        not missed
        and not moved
        and calendar is None
        and therapist_calendar is None
        and phase_doses is None
        and phase_period_days is None
        and symptoms_worsened is None
        and protocol.info.sha256 == plan.protocol.sha256
    )
    return _replan(
        plan,
        as_of,
        protocol,
        set(missed),
        dict(moved or {}),
        calendar or plan.calendar,
        therapist_arg(therapist_calendar) or plan.therapist_calendar,
        phase_doses,
        phase_period_days,
        symptoms_worsened,
        nothing_changed=unchanged,
    )


def _replan_inputs(
    plan: object,
    as_of: object,
    missed: object,
    moved: object,
    calendar: object,
    protocol: Protocol | None,
) -> tuple[Protocol, dt.date]:
    """Check a re-plan's arguments; return the protocol and the re-planning date."""
    if not isinstance(plan, CoursePlan):
        msg = f"plan: must be a CoursePlan (got {type(plan).__name__})"
        raise InvalidInputError(msg)
    check_protocol_arg(protocol)
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
            stacklevel=3,
        )
    as_of = as_date(as_of if as_of is not None else dt.date.today(), "as_of")
    if as_of < plan.as_of:
        msg = (
            f"as_of: {as_of} is before the plan's own as-of date {plan.as_of}; re-plan "
            f"from {plan.as_of} or later"
        )
        raise InvalidInputError(msg)
    return protocol, as_of


def _replan(
    plan: CoursePlan,
    as_of: dt.date,
    protocol: Protocol,
    missed_set: set[int],
    moved: dict[int, dt.date],
    calendar: ClinicCalendar,
    therapist_calendar: ClinicCalendar | None,
    phase_doses: Mapping[CoursePhase | str, int] | None,
    phase_period_days: Mapping[CoursePhase | str, int] | None,
    symptoms_worsened: bool | None,
    *,
    nothing_changed: bool,
) -> CoursePlan:
    """:func:`replan` on checked arguments."""
    done_idx = _check_requests(plan, as_of, missed_set, moved)
    returned, choices = _missed_dose_choice(plan, missed_set, symptoms_worsened, protocol)
    options = _replan_options(plan.options, phase_doses, phase_period_days, returned)
    template = options_template(plan.route, options, protocol)
    history = _renumber_done(_history(plan, done_idx, missed_set), template)
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
    return make_plan(
        ctx,
        history,
        start=plan.start,
        screening_status=plan.screening_status,
        cautions=plan.cautions,
        patient_id=plan.patient_id,
        revision=plan.revision + 1,
        changes=(*plan.changes, change),
    )


def _history(plan: CoursePlan, done_idx: set[int], missed_set: set[int]) -> list[PlannedSession]:
    """What stays as it is (dates, doses given): sessions held are done, the rest missed."""
    history: list[PlannedSession] = []
    for s in plan.sessions:
        if s.index in done_idx:
            history.append(replace(s, status=SessionStatus.DONE))
        elif s.index in missed_set or s.status is SessionStatus.MISSED:
            history.append(replace(s, status=SessionStatus.MISSED))
    return history
