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
import functools
import warnings
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from kaptools.errors import (
    ClinicalWarning,
    InvalidInputError,
    NotPlannableError,
    PlanningError,
)
from kaptools.protocol import Protocol, default_protocol
from kaptools.protocol._courses import CoursePhase, Route
from kaptools.scheduling.calendar import ClinicCalendar
from kaptools.scheduling.constraints import HORIZON_DAYS, Constraint, check_plan
from kaptools.scheduling.doses import (
    CLINICIAN_CONFIRMATION,
    DoseCalculation,
    calculate_dose,
    check_age,
    check_weight,
    fmt_number,
)
from kaptools.scheduling.plan import (
    CoursePlan,
    MeasurePoint,
    PlannedSession,
    PlanOptions,
    SessionStatus,
    dose_label,
    sort_key,
)
from kaptools.scheduling.templates import CourseTemplate, DoseSlot, SessionKind, course_template
from kaptools.screening.result import ScreeningStatus

__all__ = ["plan_course", "replan"]

_DAY = dt.timedelta(days=1)
_START_SEARCH_DAYS = 60
"""How many later start dates the planner tries when suggesting one (a search limit)."""


_PLANNABLE = frozenset({ScreeningStatus.ELIGIBLE, ScreeningStatus.ELIGIBLE_WITH_CAUTIONS})


def _gate(status: object, cautions: object) -> tuple[ScreeningStatus, tuple[str, ...]]:
    """Only a screening that meets the protocol's criteria lets a course be planned."""
    if status is None:
        msg = (
            "No screening on record: a course can only be planned after a screening that "
            "meets the protocol's criteria. Complete a screening first."
        )
        raise NotPlannableError(msg)
    raw = getattr(status, "value", status)
    try:
        value = ScreeningStatus(str(raw).strip().lower())
    except ValueError:
        msg = (
            f"screening_status: {status!r} is not a screening status; use one of "
            f"{[s.value for s in ScreeningStatus]}"
        )
        raise InvalidInputError(msg) from None
    if value is ScreeningStatus.NOT_ELIGIBLE:
        msg = (
            "The latest screening does not meet the protocol's criteria (not eligible): "
            "no course can be planned. Review the screening's exclusion findings."
        )
        raise NotPlannableError(msg)
    if value is ScreeningStatus.INCOMPLETE:
        msg = (
            "The latest screening is incomplete: a course can only be planned once its "
            "required answers are in. Complete the screening first."
        )
        raise NotPlannableError(msg)
    if isinstance(cautions, str):
        cautions = (cautions,)
    if not isinstance(cautions, Iterable):
        msg = f"cautions: must be a list of caution messages (got {cautions!r})"
        raise InvalidInputError(msg)
    texts = tuple(cautions)
    if any(not isinstance(c, str) or not c.strip() for c in texts):
        msg = f"cautions: each caution must be a non-empty text (got {list(texts)!r})"
        raise InvalidInputError(msg)
    if value is ScreeningStatus.ELIGIBLE_WITH_CAUTIONS and not texts:
        texts = ("The screening lists cautions: read them on the screening before dosing.",)
    return value, tuple(c.strip() for c in texts)


def _as_date(value: object, name: str) -> dt.date:
    if isinstance(value, dt.date) and not isinstance(value, dt.datetime):
        return value
    msg = f"{name}: must be a date (got {value!r}); pass datetime.date(...)"
    raise InvalidInputError(msg)


# -- the placement engine ----------------------------------------------------------------

Key = tuple[object, ...]


@dataclass
class _Ctx:
    protocol: Protocol
    template: CourseTemplate
    calendar: ClinicCalendar
    as_of: dt.date
    weight_kg: float | None
    age: int | None
    options: PlanOptions
    pins: dict[Key, dt.date] = field(default_factory=dict)
    out: list[dict[str, Any]] = field(default_factory=list)

    @property
    def lo(self) -> dt.timedelta:
        return dt.timedelta(days=int(self.protocol.courses.integration_min_days_after_dose.value))

    @property
    def hi(self) -> dt.timedelta:
        return dt.timedelta(days=int(self.protocol.courses.integration_max_days_after_dose.value))

    @property
    def horizon(self) -> dt.date:
        return self.as_of + dt.timedelta(days=HORIZON_DAYS)

    def first_open(self, day: dt.date, what: str) -> dt.date:
        found = self.calendar.next_open(day, horizon_days=max(0, (self.horizon - day).days))
        if found is None:
            msg = (
                f"Cannot place {what}: no open clinic day from {day} to {self.horizon} "
                f"(constraint {Constraint.PLANNING_HORIZON.value}). Check the calendar's open "
                f"weekdays and closures."
            )
            raise PlanningError(msg, constraint=Constraint.PLANNING_HORIZON)
        return found

    def integration_day(self, dose: dt.date, floor: dt.date | None = None) -> dt.date | None:
        """The first open day of the integration window after ``dose`` (not before ``floor``)."""
        day = dose + self.lo
        if floor is not None and floor > day:
            day = floor
        while day <= dose + self.hi:
            if self.calendar.is_open(day):
                return day
            day += _DAY
        return None

    def pinned(self, key: Key, what: str) -> dt.date | None:
        """The day ``key`` is pinned to (taken from the pins), or None when it is not pinned."""
        return self.take_pin(key, what) if key in self.pins else None

    def take_pin(self, key: Key, what: str) -> dt.date:
        """Take the day of a pinned ``key`` from the pins; it must be an open day."""
        day = self.pins.pop(key)
        if not self.calendar.is_open(day):
            msg = (
                f"Cannot move {what} to {day}: {self.calendar.closed_reason(day)} "
                f"(constraint {Constraint.OPEN_DAY.value}). Choose an open day."
            )
            raise PlanningError(msg, constraint=Constraint.OPEN_DAY)
        return day

    def closed_between(self, start: dt.date, end: dt.date, limit: int = 6) -> str:
        reasons: list[str] = []
        day = start
        while day <= end and len(reasons) < limit:
            why = self.calendar.closed_reason(day)
            if why:
                reasons.append(f"{day} ({why})")
            day += _DAY
        return "; ".join(reasons) if reasons else "none"

    def emit(self, **kw: Any) -> None:
        """Queue a new session; sessions are built once, indexed, when the plan is complete."""
        self.out.append(kw)


def _fail(constraint: Constraint, msg: str) -> PlanningError:
    return PlanningError(f"{msg} (constraint {constraint.value})", constraint=constraint)


def _build(ctx: _Ctx, history: Sequence[PlannedSession]) -> list[PlannedSession]:
    """Place every session still to come; return history + new sessions, indexed, in order."""
    p = ctx.protocol
    courses = p.courses
    template = ctx.template
    course = template.course
    as_of = ctx.as_of
    spacing = dt.timedelta(days=int(course.min_dose_spacing_days.value))
    prep_gap = dt.timedelta(days=int(courses.preparation_min_gap_days.value))
    prep_total = int(courses.preparation_sessions.value)

    done = [s for s in history if s.status is SessionStatus.DONE]
    done_doses = sorted((s for s in done if s.kind is SessionKind.DOSING), key=lambda s: s.date)
    done_preps = sorted(
        (s for s in done if s.kind is SessionKind.PREPARATION), key=lambda s: s.date
    )
    done_integrations = [s for s in done if s.kind is SessionKind.INTEGRATION]
    n_done = len(done_doses)
    if n_done > template.dose_count:
        raise _fail(
            Constraint.DOSE_COUNT,
            f"{n_done} doses have already been given; the course as chosen has only "
            f"{template.dose_count}. Re-plan with more doses for a phase (phase_doses=...)",
        )

    # Dose calculations (fixed per slot; the same for every weight-based dose).
    weight_based = course.dose.basis == "weight"

    @functools.cache
    def _dose(number: int) -> DoseCalculation:
        return calculate_dose(
            template.route,
            dose_number=number,
            weight_kg=ctx.weight_kg,
            age=ctx.age,
            dose_mg_per_kg=ctx.options.dose_mg_per_kg,
            later_dose_mg=ctx.options.later_dose_mg,
            protocol=p,
        )

    def dose_for(number: int) -> DoseCalculation:
        # A weight-based dose is the same for every session of the course.
        return _dose(1 if weight_based else number)

    # -- preparation ------------------------------------------------------------------------
    first_dose_floor = as_of
    planned_preps: list[dt.date] = []
    if n_done == 0:
        cursor = as_of
        if done_preps:
            cursor = max(cursor, done_preps[-1].date + prep_gap)
        for number in range(len(done_preps) + 1, prep_total + 1):
            what = f"preparation session {number}"
            day = ctx.pinned(("prep", number), what)
            if day is None:
                day = ctx.first_open(cursor, what)
            elif day < cursor:
                raise _fail(
                    Constraint.PREPARATION,
                    f"Cannot move {what} to {day}: it must be on or after {cursor}, at least "
                    f"{prep_gap.days} day(s) after the preparation before it",
                )
            ctx.emit(
                kind=SessionKind.PREPARATION,
                date=day,
                label=f"Preparation {number} of {prep_total}",
                preparation_number=number,
            )
            planned_preps.append(day)
            cursor = day + prep_gap
        if done_preps or planned_preps:
            first_dose_floor = max(as_of, cursor)

    # -- doses and integration ------------------------------------------------------------------
    # The actual first dose of each phase anchors that phase's rhythm.
    phase_first: dict[CoursePhase, dt.date] = {}
    for slot, s in zip(template.slots, done_doses, strict=False):
        phase_first.setdefault(slot.phase, s.date)
    dose_dates: list[tuple[dt.date, SessionStatus]] = [
        (s.date, SessionStatus.DONE) for s in done_doses
    ]
    integration_after: dict[int, tuple[dt.date, SessionStatus]] = {}
    prev = done_doses[-1].date if done_doses else None
    prev_integration: dt.date | None = None

    def make_up_integration(number: int, dose_day: dt.date) -> dt.date:
        """An integration for a dose already given whose integration has not happened."""
        what = f"the integration after dose {number}"
        day = ctx.pinned(("integration", number), what)
        if day is None:
            day = ctx.integration_day(dose_day, floor=as_of)
            note = ""
            if day is None:
                day = ctx.first_open(max(as_of, dose_day + ctx.lo), what)
                note = "make-up: the protocol's window after the dose has passed"
        else:
            note = ""
            earliest = max(as_of, dose_day + ctx.lo)
            latest = max(dose_day + ctx.hi, ctx.first_open(earliest, what))
            if not earliest <= day <= latest:
                raise _fail(
                    Constraint.INTEGRATION_WINDOW,
                    f"Cannot move {what} to {day}: it must fall from {earliest} to {latest}",
                )
        ctx.emit(
            kind=SessionKind.INTEGRATION,
            date=day,
            label=f"Integration after dose {number}" + (" (make-up)" if note else ""),
            dose_number=number,
            phase=template.slots[number - 1].phase if number <= template.dose_count else None,
            note=note,
        )
        return day

    if prev is not None:
        later = [s.date for s in done_integrations if s.date > prev]
        if later:
            prev_integration = min(later)
            integration_after[n_done] = (prev_integration, SessionStatus.DONE)
        else:
            prev_integration = make_up_integration(n_done, prev)
            integration_after[n_done] = (prev_integration, SessionStatus.PLANNED)

    for slot in template.slots[n_done:]:
        n = slot.number
        what = f"dose {n} ({slot.phase.value})"
        phase_t = course.phase(slot.phase)
        if prev is None:
            lower = first_dose_floor
            target = lower
            latest = None
        else:
            assert prev_integration is not None
            lower = max(as_of, prev + spacing, prev_integration + _DAY)
            target = max(lower, _rhythm_target(slot, prev, phase_first, dose_dates))
            latest = None
            if slot.max_gap_days is not None:
                ref = max(prev, as_of - dt.timedelta(days=slot.gap_days or 0))
                latest = ref + dt.timedelta(days=slot.max_gap_days)
        pin = ctx.pinned(("dose", n), what)
        pin_int = ctx.pinned(("integration", n), f"the integration after dose {n}")
        if pin is not None:
            if prev is not None and pin < prev + spacing:
                raise _fail(
                    Constraint.MIN_DOSE_SPACING,
                    f"Cannot move {what} to {pin}: it must be at least {spacing.days} days after "
                    f"the previous dose ({prev}), i.e. on or after {prev + spacing}",
                )
            if prev_integration is not None and pin <= prev_integration:
                raise _fail(
                    Constraint.INTEGRATION,
                    f"Cannot move {what} to {pin}: the integration after the previous dose is on "
                    f"{prev_integration} and must come first",
                )
            if pin < first_dose_floor or pin < as_of:
                raise _fail(
                    Constraint.PREPARATION if prev is None else Constraint.SESSION_ORDER,
                    f"Cannot move {what} to {pin}: the earliest possible day is {lower}",
                )
            if latest is not None and pin > latest:
                raise _fail(
                    Constraint.MAX_DOSE_GAP,
                    f"Cannot move {what} to {pin}: phase {slot.phase.value!r} allows at most "
                    f"{slot.max_gap_days} days between doses ({phase_t.max_gap_days.source}); "
                    f"the latest day is {latest}",
                )
            day = pin
            integ = _integration_for(ctx, day, pin_int)
            if integ is None:
                raise _fail(
                    Constraint.INTEGRATION_WINDOW,
                    f"Cannot move {what} to {pin}: no open day for its integration from "
                    f"{pin + ctx.lo} to {pin + ctx.hi} (closed: "
                    f"{ctx.closed_between(pin + ctx.lo, pin + ctx.hi)})",
                )
        else:
            found = _search_dose_day(ctx, lower, target, latest, pin_int)
            if found is None:
                if pin_int is not None:
                    raise _fail(
                        Constraint.INTEGRATION_WINDOW,
                        f"Cannot move the integration after dose {n} to {pin_int}: the dose cannot "
                        f"be placed on an open day {ctx.lo.days}-{ctx.hi.days} days before it "
                        f"(earliest possible dose day {lower})",
                    )
                if latest is not None:
                    raise _fail(
                        Constraint.MAX_DOSE_GAP,
                        f"Cannot place {what}: phase {slot.phase.value!r} allows at most "
                        f"{slot.max_gap_days} days between doses ({phase_t.max_gap_days.source}), "
                        f"so it must be given from {lower} to {latest}, but none of those days is "
                        f"open with an open day for its integration {ctx.lo.days}-{ctx.hi.days} "
                        f"days later. Closed: {ctx.closed_between(lower, latest + ctx.hi)}",
                    )
                raise _fail(
                    Constraint.PLANNING_HORIZON,
                    f"Cannot place {what}: no open day with an open integration day "
                    f"from {target} to {ctx.horizon}",
                )
            day, integ = found
        dose = dose_for(n)
        ctx.emit(
            kind=SessionKind.DOSING,
            date=day,
            label=dose_label(
                course.label,
                n,
                template.dose_count,
                phase_t.label,
                dose,
                course.infusion_minutes.value if course.infusion_minutes else None,
            ),
            phase=slot.phase,
            dose_number=n,
            dose=dose,
        )
        ctx.emit(
            kind=SessionKind.INTEGRATION,
            date=integ,
            label=f"Integration after dose {n}",
            dose_number=n,
            phase=slot.phase,
        )
        dose_dates.append((day, SessionStatus.PLANNED))
        phase_first.setdefault(slot.phase, day)
        integration_after[n] = (integ, SessionStatus.PLANNED)
        prev, prev_integration = day, integ

    # -- benefit check ---------------------------------------------------------------------------
    phase = course.benefit_check_after
    last = template.last_slot_of(phase) if phase is not None else None
    checks_done = [s for s in done if s.kind is SessionKind.BENEFIT_CHECK]
    if phase is not None and last is not None and last.number <= len(dose_dates):
        end_day, end_status = dose_dates[last.number - 1]
        nxt = dose_dates[last.number] if last.number < len(dose_dates) else None
        required = (
            end_status is SessionStatus.PLANNED or nxt is None or nxt[1] is SessionStatus.PLANNED
        )
        if required and not any(c.date > end_day for c in checks_done):
            phase_label = course.phase(phase).label
            what = f"the end-of-{phase} benefit check"
            day = ctx.pinned(("benefit_check",), what)
            if day is None:
                after_last = integration_after.get(last.number)
                if after_last is not None and after_last[1] is SessionStatus.PLANNED:
                    day = after_last[0]
                else:
                    day = ctx.first_open(max(as_of, end_day + _DAY), what)
            elif not (day > end_day and (nxt is None or day <= nxt[0])):
                raise _fail(
                    Constraint.BENEFIT_CHECK,
                    f"Cannot move {what} to {day}: it must be after {end_day}"
                    + (f" and no later than {nxt[0]}" if nxt else ""),
                )
            ctx.emit(
                kind=SessionKind.BENEFIT_CHECK,
                date=day,
                label=f"Benefit check at the end of {phase_label}: review response before going on",
                phase=phase,
            )

    # -- measures ---------------------------------------------------------------------------------
    instruments = tuple(
        dict.fromkeys((*courses.measures.instruments, *ctx.options.extra_instruments))
    )
    interval = dt.timedelta(days=int(courses.measures.interval_days.value))
    inst_text = ", ".join(instruments)
    done_measures = sorted((s for s in done if s.kind is SessionKind.MEASURE), key=lambda s: s.date)
    all_doses = [d for d, _ in dose_dates]
    last_dose = all_doses[-1]
    baseline_day: dt.date | None = None
    if n_done == 0 and not any(m.measure_point is MeasurePoint.BASELINE for m in done_measures):
        what = "the baseline measures"
        day = ctx.pinned(("measure", MeasurePoint.BASELINE), what)
        if day is None:
            day = planned_preps[0] if planned_preps else all_doses[0]
        elif day > all_doses[0] or day < as_of:
            raise _fail(
                Constraint.MEASURES,
                f"Cannot move {what} to {day}: they must be on or before the first dose "
                f"({all_doses[0]})",
            )
        ctx.emit(
            kind=SessionKind.MEASURE,
            date=day,
            label=f"{inst_text} (baseline)",
            instruments=instruments,
            measure_point=MeasurePoint.BASELINE,
        )
        baseline_day = day

    end_day_measure: dt.date
    if any(
        m.measure_point is MeasurePoint.END_OF_COURSE and m.date > last_dose for m in done_measures
    ):
        end_day_measure = max(
            m.date for m in done_measures if m.measure_point is MeasurePoint.END_OF_COURSE
        )
        end_planned = False
    else:
        what = "the end-of-course measures"
        day = ctx.pinned(("measure", MeasurePoint.END_OF_COURSE), what)
        last_integ = integration_after.get(len(all_doses))
        if day is None:
            if last_integ is not None and last_integ[1] is SessionStatus.PLANNED:
                day = last_integ[0]
            else:
                day = ctx.first_open(max(as_of, last_dose + _DAY), what)
        elif day <= last_dose:
            raise _fail(
                Constraint.MEASURES,
                f"Cannot move {what} to {day}: they must be after the last dose ({last_dose})",
            )
        end_day_measure = day
        end_planned = True

    # Weekly measures, on a day the patient already comes in where there is one.
    busy = sorted({kw["date"] for kw in ctx.out} | {s.date for s in done})
    weekly_keys = [k for k in ctx.pins if k[:2] == ("measure", MeasurePoint.WEEKLY)]
    pinned_weekly = sorted(ctx.take_pin(k, "weekly measures") for k in weekly_keys)
    anchors = [m.date for m in done_measures] + ([baseline_day] if baseline_day else [])
    cursor = max(anchors) if anchors else as_of - interval
    weekly: list[dt.date] = []
    while True:
        due = cursor + interval
        target = max(due, as_of)
        if target >= end_day_measure:
            break
        if pinned_weekly and pinned_weekly[0] < due + interval:
            cursor = pinned_weekly.pop(0)
            weekly.append(cursor)
            continue
        window_end = due + interval - _DAY
        candidates = [d for d in busy if target <= d <= window_end and ctx.calendar.is_open(d)]
        day = candidates[0] if candidates else ctx.first_open(target, "weekly measures")
        if day >= end_day_measure:
            break
        weekly.append(day)
        cursor = day
    weekly.extend(pinned_weekly)
    for day in weekly:
        if day < as_of:
            raise _fail(
                Constraint.SESSION_ORDER, f"Cannot move weekly measures to {day}, before {as_of}"
            )
        ctx.emit(
            kind=SessionKind.MEASURE,
            date=day,
            label=f"{inst_text} (weekly)",
            instruments=instruments,
            measure_point=MeasurePoint.WEEKLY,
        )
    if end_planned:
        ctx.emit(
            kind=SessionKind.MEASURE,
            date=end_day_measure,
            label=f"{inst_text} (end of course)",
            instruments=instruments,
            measure_point=MeasurePoint.END_OF_COURSE,
        )

    if ctx.pins:
        leftover = ", ".join(
            " ".join(str(part) for part in key) + f" to {day}" for key, day in ctx.pins.items()
        )
        msg = (
            f"moved: the move of {leftover} no longer has a place in the re-planned course "
            f"(that session is no longer needed); leave it out of 'moved'"
        )
        raise InvalidInputError(msg)

    keyed: list[tuple[tuple[Any, ...], PlannedSession | dict[str, Any]]] = [
        ((*s.sort_key, False), s) for s in history
    ]
    keyed.extend(
        (
            (
                *sort_key(
                    kw["date"], kw["kind"], kw.get("dose_number") or kw.get("preparation_number")
                ),
                True,
            ),
            kw,
        )
        for kw in ctx.out
    )
    keyed.sort(key=lambda pair: pair[0])
    return [
        replace(item, index=i)
        if isinstance(item, PlannedSession)
        else PlannedSession(index=i, **item)
        for i, (_, item) in enumerate(keyed)
    ]


def _rhythm_target(
    slot: DoseSlot,
    prev: dt.date,
    phase_first: Mapping[CoursePhase, dt.date],
    dose_dates: Sequence[tuple[dt.date, SessionStatus]],
) -> dt.date:
    """The day the phase rhythm aims a dose at (before calendar and spacing rules).

    The first dose of a phase comes one rhythm step after the previous dose. Later
    doses keep to the phase's own days, counted from its first dose (twice a week
    from a Thursday: Thursdays and Mondays), so a one-off delay does not shift the
    weekdays of the rest of the phase; but never more than ``doses_per_period``
    doses fall in any ``period_days`` window, so a late dose is not caught up by
    crowding the next ones.
    """
    anchor = phase_first.get(slot.phase)
    if anchor is None or slot.number_in_phase == 1:
        return prev + dt.timedelta(days=slot.gap_days or 0)
    target = anchor + dt.timedelta(days=slot.offset_days)
    back = slot.doses_per_period
    if slot.number_in_phase > back:
        earlier = dose_dates[slot.number - 1 - back][0]
        target = max(target, earlier + dt.timedelta(days=slot.period_days))
    return target


def _search_dose_day(
    ctx: _Ctx,
    lower: dt.date,
    target: dt.date,
    latest: dt.date | None,
    pin_int: dt.date | None,
) -> tuple[dt.date, dt.date] | None:
    """The dose day and its integration day, or None when no day works.

    Days are tried from the rhythm's ``target`` forward to ``latest`` (push policy);
    only when none works are earlier days tried, back to ``lower`` (never closer to
    the previous dose than the minimum spacing), so a long weekend pulls a dose
    forward instead of breaking the phase's maximum gap.
    """
    end = min(latest, ctx.horizon) if latest is not None else ctx.horizon
    forward = (target + dt.timedelta(days=k) for k in range((end - target).days + 1))
    backward = (target - dt.timedelta(days=k) for k in range(1, (target - lower).days + 1))
    for day in (*forward, *backward) if latest is not None else forward:
        if pin_int is not None and day > pin_int - ctx.lo:
            continue
        if ctx.calendar.is_open(day):
            integ = _integration_for(ctx, day, pin_int)
            if integ is not None:
                return day, integ
    return None


def _integration_for(ctx: _Ctx, dose: dt.date, pin: dt.date | None) -> dt.date | None:
    if pin is None:
        return ctx.integration_day(dose)
    if dose + ctx.lo <= pin <= dose + ctx.hi:
        return pin
    return None


def _notes(protocol: Protocol, route: Route, course_notes: Iterable[str]) -> tuple[str, ...]:
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


def _make(
    ctx: _Ctx,
    history: Sequence[PlannedSession],
    *,
    start: dt.date,
    screening: ScreeningStatus,
    cautions: tuple[str, ...],
    patient_id: str | None,
    revision: int = 1,
    changes: tuple[str, ...] = (),
) -> CoursePlan:
    sessions = _build(ctx, history)
    plan = CoursePlan(
        route=ctx.template.route,
        route_label=ctx.template.course.label,
        sessions=tuple(sessions),
        start=start,
        as_of=ctx.as_of,
        calendar=ctx.calendar,
        protocol=ctx.protocol.info,
        screening_status=screening.value,
        weight_kg=ctx.weight_kg,
        age=ctx.age,
        cautions=cautions,
        notes=_notes(ctx.protocol, ctx.template.route, ctx.template.course.notes),
        options=ctx.options,
        patient_id=patient_id,
        revision=revision,
        changes=changes,
    )
    return check_plan(plan, ctx.protocol)


def plan_course(
    route: Route | str,
    start: dt.date,
    *,
    calendar: ClinicCalendar,
    screening_status: object,
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
) -> CoursePlan:
    """Plan a whole course: every session, dated, in order, meeting the protocol's rules.

    Args:
        route: ``"iv_ketamine"``, ``"im_ketamine"`` or ``"esketamine_nasal"``.
        start: the first day a session may be booked.
        calendar: the clinic's calendar (open weekdays, public holidays, closures).
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

    Returns:
        The plan, checked by :func:`check_plan`.

    Raises:
        NotPlannableError: no screening, or one that is incomplete or not eligible.
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
    screening, caution_texts = _gate(screening_status, cautions)
    protocol = protocol or default_protocol()
    start = _as_date(start, "start")
    if not isinstance(calendar, ClinicCalendar):
        msg = (
            f"calendar: must be a ClinicCalendar (got {type(calendar).__name__}); build one with "
            "ClinicCalendar(...)"
        )
        raise InvalidInputError(msg)
    template = course_template(
        route, protocol, phase_doses=phase_doses, phase_period_days=phase_period_days
    )
    course = template.course
    weight = (
        check_weight(weight_kg, protocol)
        if course.dose.basis == "weight"
        else (None if weight_kg is None else check_weight(weight_kg, protocol))
    )
    years = check_age(age, required=course.dose.basis == "fixed")
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
    if patient_id is not None and (not isinstance(patient_id, str) or not patient_id.strip()):
        msg = f"patient_id: must be a non-empty text (got {patient_id!r})"
        raise InvalidInputError(msg)
    options = PlanOptions.make(
        phase_doses=phase_doses,
        phase_period_days=phase_period_days,
        dose_mg_per_kg=dose_mg_per_kg,
        later_dose_mg=later_dose_mg,
        extra_instruments=extras,
    )
    # Compute the first dose now so dose errors surface before any date search.
    calculate_dose(
        template.route,
        weight_kg=weight,
        age=years,
        dose_mg_per_kg=dose_mg_per_kg,
        later_dose_mg=later_dose_mg,
        protocol=protocol,
    )

    def attempt(day: dt.date) -> CoursePlan:
        ctx = _Ctx(protocol, template, calendar, day, weight, years, options)
        return _make(
            ctx, (), start=day, screening=screening, cautions=caution_texts, patient_id=patient_id
        )

    try:
        return attempt(start)
    except PlanningError as exc:
        if exc.constraint == Constraint.PLANNING_HORIZON:
            raise
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
            raise PlanningError(msg, constraint=exc.constraint) from None
        msg = (
            f"{exc} No start within {_START_SEARCH_DAYS} days of {start.isoformat()} works either."
        )
        raise PlanningError(msg, constraint=exc.constraint) from None


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
            k = sum(1 for d in done_doses if d.date < s.date)
            if k and k != s.dose_number:
                suffix = " (make-up)" if s.label.endswith("(make-up)") else ""
                changed[s.index] = replace(
                    s, dose_number=k, label=f"Integration after dose {k}{suffix}"
                )
    return [changed.get(s.index, s) for s in history]


def replan(
    plan: CoursePlan,
    *,
    as_of: dt.date | None = None,
    missed: Collection[int] = (),
    moved: Mapping[int, dt.date] | None = None,
    calendar: ClinicCalendar | None = None,
    protocol: Protocol | None = None,
    phase_doses: Mapping[CoursePhase | str, int] | None = None,
    phase_period_days: Mapping[CoursePhase | str, int] | None = None,
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
        protocol: the protocol the plan was made with (default: the shipped one; a
            ClinicalWarning when its content differs from the plan's).
        phase_doses: change the doses of phases (e.g. ``{"booster": 2}`` to add
            boosters after an induction); other phases keep the plan's choice.
        phase_period_days: change a phase's rhythm among those the protocol allows.

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
    calendar = calendar or plan.calendar
    moved = dict(moved or {})
    missed_set = set(missed)
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

    options = plan.options
    if phase_doses or phase_period_days:
        options = PlanOptions.make(
            phase_doses={**dict(options.phase_doses), **dict(phase_doses or {})},
            phase_period_days={**dict(options.phase_period_days), **dict(phase_period_days or {})},
            dose_mg_per_kg=options.dose_mg_per_kg,
            later_dose_mg=options.later_dose_mg,
            extra_instruments=options.extra_instruments,
        )
    template = course_template(
        plan.route,
        protocol,
        phase_doses=dict(options.phase_doses),
        phase_period_days=dict(options.phase_period_days),
    )

    # History: what stays as it is (dates, doses given), numbered by what was given.
    history: list[PlannedSession] = []
    for s in plan.sessions:
        if s.index in done_idx:
            history.append(replace(s, status=SessionStatus.DONE))
        elif s.index in missed_set or s.status is SessionStatus.MISSED:
            history.append(replace(s, status=SessionStatus.MISSED))
    history = _renumber_done(history, template)

    # Pins: the slot each moved session fills in the new plan.
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
            assert s.measure_point is not None
            key = (
                ("measure", s.measure_point)
                if s.measure_point is not MeasurePoint.WEEKLY
                else ("measure", MeasurePoint.WEEKLY, i)
            )
        pins[key] = day

    ctx = _Ctx(protocol, template, calendar, as_of, plan.weight_kg, plan.age, options, pins)
    what = []
    if missed_set:
        what.append(
            "missed " + ", ".join(f"#{i} {plan.sessions[i].label}" for i in sorted(missed_set))
        )
    if moved:
        what.append("moved " + ", ".join(f"#{i} to {d}" for i, d in sorted(moved.items())))
    if calendar != plan.calendar:
        what.append("calendar changed")
    if options != plan.options:
        what.append(
            "phases changed: "
            + ", ".join(f"{phase.value} {n} doses" for phase, n in options.phase_doses)
        )
    change = f"{as_of.isoformat()}: re-planned" + (f" ({'; '.join(what)})" if what else "")
    return _make(
        ctx,
        history,
        start=plan.start,
        screening=ScreeningStatus(plan.screening_status),
        cautions=plan.cautions,
        patient_id=plan.patient_id,
        revision=plan.revision + 1,
        changes=(*plan.changes, change),
    )
