"""The placement engine behind :func:`~kaptools.scheduling.plan_course` and ``replan``.

How sessions are placed (the policy; every rule is checked in :mod:`constraints`):

* **Preparation** sessions go on the first open days from the start, each at least
  ``preparation_min_gap_days`` after the one before; the first dose comes at least
  that long after the last.
* **Doses** follow the phase rhythm on fixed weekdays counted from the phase's first
  dose, never closer than the route's minimum spacing (*rhythm mode*); a dose whose
  day does not work moves to the next day that does, and only when no later day
  keeps the phase's maximum gap is an earlier day taken. When a phase cannot keep
  its rhythm that way, the phase is planned again in *compact mode*: each dose on the
  earliest day every rule allows, up to the protocol's most doses per period. The
  earliest-day choice is optimal here: every rule is a lower bound that moves later
  when an earlier dose moves later, so no other choice finishes the phase sooner.
* **Integration** follows every dose on the first day of the protocol's window that
  a place the protocol allows is open: the clinic, video on the therapist's own
  calendar, or (when the protocol turns it on) the next dose's day, before the dose.
* **Benefit check**: with a fixed day (esketamine label: day 28 of induction) on the
  first open day from then, even when induction ran late (the plan says so); the
  next phase starts no earlier. Otherwise with the integration after the phase's
  last dose.
* **Measures**: baseline on the first preparation day (or the first dose day), then
  every ``interval_days`` on a day the patient is already in when there is one,
  and at the end of the course on the last integration day.

Every step is linear in the number of sessions (bisect over sorted dates, no scans
of the whole plan per session).
"""

from __future__ import annotations

import bisect
import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from kaptools.errors import InvalidInputError, PlanningError
from kaptools.protocol import Protocol
from kaptools.scheduling.calendar import ClinicCalendar
from kaptools.scheduling.constraints import HORIZON_DAYS, Constraint
from kaptools.scheduling.doses import DoseCalculation, dose_series
from kaptools.scheduling.plan import (
    _KIND_ORDER,
    MeasurePoint,
    PlannedSession,
    PlanOptions,
    SessionStatus,
    dose_label_with,
    dose_text,
    session_from_row,
)
from kaptools.scheduling.templates import CourseTemplate, DoseSlot, SessionKind
from kaptools.validation import present
from kaptools.vocabulary import CoursePhase, IntegrationPlace

__all__ = ["Ctx", "Key", "build", "fail"]

_DAY = dt.timedelta(days=1)

Key = tuple[object, ...]

Row = list[Any]
"""A session emitted by a placement run: :class:`PlannedSession`'s fields after ``index``,
in their order (see :data:`ROW_FIELDS`); built into sessions once the plan is complete."""

ROW_FIELDS = (
    "kind",
    "date",
    "label",
    "status",
    "phase",
    "dose_number",
    "preparation_number",
    "dose",
    "instruments",
    "measure_point",
    "note",
    "place",
)
_DATE, _LABEL, _PLACE = 1, 2, 11
_DOSING, _INTEGRATION = SessionKind.DOSING, SessionKind.INTEGRATION
_DOSING_ORDER, _INTEGRATION_ORDER = _KIND_ORDER[_DOSING], _KIND_ORDER[_INTEGRATION]
_PLANNED, _VIDEO, _CLINIC = SessionStatus.PLANNED, IntegrationPlace.VIDEO, IntegrationPlace.CLINIC


_HORIZON = dt.timedelta(days=HORIZON_DAYS)
_RULES: dict[str, tuple[dt.timedelta, dt.timedelta, bool, bool, bool]] = {}


def _integration_rules(
    protocol: Protocol,
) -> tuple[dt.timedelta, dt.timedelta, bool, bool, bool]:
    """The integration window (first and last day after a dose) and the places allowed
    (clinic, video, before the next dose), kept per protocol content."""
    found = _RULES.get(protocol.info.sha256)
    if found is None:
        courses = protocol.courses
        places = courses.integration.places
        found = (
            dt.timedelta(days=int(courses.integration_min_days_after_dose.value)),
            dt.timedelta(days=int(courses.integration_max_days_after_dose.value)),
            IntegrationPlace.CLINIC in places,
            IntegrationPlace.VIDEO in places,
            IntegrationPlace.BEFORE_NEXT_DOSE in places,
        )
        if len(_RULES) >= 64:
            _RULES.clear()
        _RULES[protocol.info.sha256] = found
    return found


def fail(constraint: Constraint, msg: str) -> PlanningError:
    return PlanningError(f"{msg} (constraint {constraint.value})", constraint=constraint)


@dataclass
class Ctx:
    """Everything one placement run reads, and the sessions it emits."""

    protocol: Protocol
    template: CourseTemplate
    calendar: ClinicCalendar
    as_of: dt.date
    weight_kg: float | None
    age: int | None
    options: PlanOptions
    pins: dict[Key, dt.date] = field(default_factory=dict)
    therapist: ClinicCalendar | None = None
    compact: frozenset[CoursePhase] = frozenset()
    """Phases planned in compact mode (earliest allowed day for each dose)."""
    out: list[Row] = field(default_factory=list)
    keys: list[tuple[Any, ...]] = field(default_factory=list)
    """Each emitted row's sort key (date, kind order, number, True: after history)."""
    notes: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.lo, self.hi, self.clinic_ok, video, self.same_day_ok = _integration_rules(
            self.protocol
        )
        self.horizon = _HORIZON
        """How far past the day it starts from any search looks (a search limit)."""
        self.video_ok = video and self.therapist is not None
        self.clinic_open = self.calendar.open_lookup
        self.video_open = self.therapist.open_lookup if self.video_ok and self.therapist else None

    def fresh(self, compact: frozenset[CoursePhase]) -> Ctx:
        """A new run with the same inputs (pins copied) and other compact phases."""
        return Ctx(
            self.protocol,
            self.template,
            self.calendar,
            self.as_of,
            self.weight_kg,
            self.age,
            self.options,
            dict(self.pins),
            self.therapist,
            compact,
        )

    def first_open(self, day: dt.date, what: str) -> dt.date:
        found = self.calendar.next_open(day, horizon_days=HORIZON_DAYS)
        if found is None:
            msg = (
                f"Cannot place {what}: no open clinic day from {day} to {day + self.horizon} "
                f"(constraint {Constraint.PLANNING_HORIZON.value}). Check the calendar's open "
                f"weekdays and closures."
            )
            raise PlanningError(msg, constraint=Constraint.PLANNING_HORIZON)
        return found

    def place_on(self, day: dt.date) -> IntegrationPlace | None:
        """Where an integration can be held on ``day``: the clinic first, then video."""
        if self.clinic_ok and self.clinic_open(day):
            return _CLINIC
        if self.video_open is not None and self.video_open(day):
            return _VIDEO
        return None

    def integration_day(
        self, dose: dt.date, floor: dt.date | None = None
    ) -> tuple[dt.date, IntegrationPlace] | None:
        """The first day of the integration window after ``dose`` with a place open."""
        day = dose + self.lo
        if floor is not None and floor > day:
            day = floor
        end = dose + self.hi
        clinic = self.clinic_open if self.clinic_ok else None
        video = self.video_open
        while day <= end:  # place_on, inlined (the planner's innermost loop)
            if clinic is not None and clinic(day):
                return day, _CLINIC
            if video is not None and video(day):
                return day, _VIDEO
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

    def emit(
        self,
        kind: SessionKind,
        date: dt.date,
        label: str,
        *,
        phase: CoursePhase | None = None,
        dose_number: int | None = None,
        preparation_number: int | None = None,
        dose: DoseCalculation | None = None,
        instruments: tuple[str, ...] = (),
        measure_point: MeasurePoint | None = None,
        note: str = "",
        place: IntegrationPlace | None = None,
    ) -> Row:
        """Queue a new session; sessions are built once, indexed, when the plan is complete."""
        row = [
            kind,
            date,
            label,
            _PLANNED,
            phase,
            dose_number,
            preparation_number,
            dose,
            instruments,
            measure_point,
            note,
            place,
        ]
        self.out.append(row)
        # plan.sort_key, then True: after a history session with the same key.
        self.keys.append((date, _KIND_ORDER[kind], dose_number or preparation_number or 0, True))
        return row


_TEXTS: dict[tuple[int, float | None], tuple[DoseCalculation, str]] = {}


def _text(dose: DoseCalculation, infusion: float | None) -> str:
    """:func:`dose_text`, kept per dose object (the entry holds the dose, so its id is its own)."""
    found = _TEXTS.get((id(dose), infusion))
    if found is None or found[0] is not dose:
        if len(_TEXTS) >= 4096:
            _TEXTS.clear()
        found = _TEXTS[id(dose), infusion] = (dose, dose_text(dose, infusion))
    return found[1]


def build(ctx: Ctx, history: Sequence[PlannedSession]) -> list[PlannedSession]:
    """Place every session still to come; return history + new sessions, indexed, in order."""
    b = _Builder(ctx, history)
    b.preparation()
    b.doses()
    b.benefit_check()
    b.measures()
    return b.assemble()


class _Builder:
    """One placement run, section by section (each method one section of the policy)."""

    def __init__(self, ctx: Ctx, history: Sequence[PlannedSession]) -> None:
        self.ctx = ctx
        self.history = history
        p = ctx.protocol
        self.template = ctx.template
        self.course = ctx.template.course
        self.spacing = dt.timedelta(days=int(self.course.min_dose_spacing_days.value))
        self.prep_gap = dt.timedelta(days=int(p.courses.preparation_min_gap_days.value))
        self.prep_total = int(p.courses.preparation_sessions.value)
        self.done = [s for s in history if s.status is SessionStatus.DONE]
        self.done_doses = sorted(
            (s for s in self.done if s.kind is SessionKind.DOSING), key=lambda s: s.date
        )
        self.n_done = len(self.done_doses)
        if self.n_done > self.template.dose_count:
            raise fail(
                Constraint.DOSE_COUNT,
                f"{self.n_done} doses have already been given; the course as chosen has only "
                f"{self.template.dose_count}. Re-plan with more doses for a phase "
                f"(phase_doses=...)",
            )
        self.first_dose_floor = ctx.as_of
        self.planned_preps: list[dt.date] = []
        self.dose_dates: list[tuple[dt.date, SessionStatus]] = [
            (s.date, SessionStatus.DONE) for s in self.done_doses
        ]
        self.integration_after: dict[int, tuple[dt.date, SessionStatus]] = {}
        self.phase_first: dict[CoursePhase, dt.date] = {}
        self.check_day: dt.date | None = None
        self.weight_based = self.course.dose.basis == "weight"
        self.series = dose_series(
            self.template.route,
            # A fixed dose does not use the weight: leaving it out lets every patient of
            # that age share one series.
            weight_kg=ctx.weight_kg if self.weight_based else None,
            age=ctx.age,
            dose_mg_per_kg=ctx.options.dose_mg_per_kg,
            later_dose_mg=ctx.options.later_dose_mg,
            first_dose_mg=ctx.options.first_dose_mg,
            protocol=ctx.protocol,
        )
        self.texts: dict[int, tuple[DoseCalculation, str]] = {}
        self.dose_count = self.template.dose_count
        self.phase_labels = {p.phase: p.label for p in self.course.phases}
        self.infusion = self.course.infusion_minutes.value if self.course.infusion_minutes else None
        self.last_integration: Row | None = None
        for slot, s in zip(self.template.slots, self.done_doses, strict=False):
            if slot.phase not in self.phase_first:
                self.phase_first[slot.phase] = s.date
                self._set_check_day(slot.phase, s.date)

    # -- doses ----------------------------------------------------------------------------

    def _dose(self, number: int) -> tuple[DoseCalculation, str]:
        """Dose ``number`` and its label text (a weight-based dose is the same for all)."""
        key = 1 if self.weight_based else number
        found = self.texts.get(key)
        if found is None:
            dose = self.series[key]
            found = self.texts[key] = (dose, _text(dose, self.infusion))
        return found

    def dose_for(self, number: int) -> DoseCalculation:
        return self._dose(number)[0]

    # -- preparation ------------------------------------------------------------------------

    def preparation(self) -> None:
        ctx, prep_gap = self.ctx, self.prep_gap
        if self.n_done:
            return
        done_preps = sorted(
            (s for s in self.done if s.kind is SessionKind.PREPARATION), key=lambda s: s.date
        )
        cursor = ctx.as_of
        if done_preps:
            cursor = max(cursor, done_preps[-1].date + prep_gap)
        for number in range(len(done_preps) + 1, self.prep_total + 1):
            what = f"preparation session {number}"
            day = ctx.pinned(("prep", number), what)
            if day is None:
                day = ctx.first_open(cursor, what)
            elif day < cursor:
                raise fail(
                    Constraint.PREPARATION,
                    f"Cannot move {what} to {day}: it must be on or after {cursor}, at least "
                    f"{prep_gap.days} day(s) after the preparation before it",
                )
            ctx.emit(
                kind=SessionKind.PREPARATION,
                date=day,
                label=f"Preparation {number} of {self.prep_total}",
                preparation_number=number,
            )
            self.planned_preps.append(day)
            cursor = day + prep_gap
        if done_preps or self.planned_preps:
            self.first_dose_floor = max(ctx.as_of, cursor)

    def _emit_integration(
        self, number: int, day: dt.date, place: IntegrationPlace, note: str = ""
    ) -> None:
        slots = self.template.slots
        self.last_integration = self.ctx.emit(
            kind=SessionKind.INTEGRATION,
            date=day,
            label=f"Integration after dose {number} ({place})"  # a StrEnum formats as its value
            + (" (make-up)" if note else ""),
            dose_number=number,
            phase=slots[number - 1].phase if number <= len(slots) else None,
            note=note,
            place=place,
        )
        self.integration_after[number] = (day, SessionStatus.PLANNED)

    def make_up_integration(self, number: int, dose_day: dt.date) -> dt.date:
        """An integration for a dose already given whose integration has not happened."""
        ctx, as_of = self.ctx, self.ctx.as_of
        what = f"the integration after dose {number}"
        day = ctx.pinned(("integration", number), what)
        note = ""
        place: IntegrationPlace | None = IntegrationPlace.CLINIC
        if day is None:
            found = ctx.integration_day(dose_day, floor=as_of)
            if found is None:
                day = ctx.first_open(max(as_of, dose_day + ctx.lo), what)
                note = "make-up: the protocol's window after the dose has passed"
            else:
                day, place = found
        else:
            earliest = max(as_of, dose_day + ctx.lo)
            latest = max(dose_day + ctx.hi, ctx.first_open(earliest, what))
            if not earliest <= day <= latest:
                raise fail(
                    Constraint.INTEGRATION_WINDOW,
                    f"Cannot move {what} to {day}: it must fall from {earliest} to {latest}",
                )
        self._emit_integration(number, day, present(place, f"the place of {what}"), note)
        return day

    def doses(self) -> None:
        prev = self.done_doses[-1].date if self.done_doses else None
        prev_integration: dt.date | None = None
        if prev is not None:
            later = [
                s.date for s in self.done if s.kind is SessionKind.INTEGRATION and s.date > prev
            ]
            if later:
                prev_integration = min(later)
                self.integration_after[self.n_done] = (prev_integration, SessionStatus.DONE)
            else:
                prev_integration = self.make_up_integration(self.n_done, prev)
        for slot in self.template.slots[self.n_done :]:
            prev, prev_integration = self._place_dose(slot, prev, prev_integration)

    def _bounds(
        self, slot: DoseSlot, prev: dt.date | None, prev_integration: dt.date | None
    ) -> tuple[dt.date, dt.date, dt.date | None]:
        """The earliest day, the day aimed at, and the latest day for a dose."""
        ctx = self.ctx
        if prev is None:
            return self.first_dose_floor, self.first_dose_floor, None
        prev_integration = present(prev_integration, "the previous dose's integration day")
        after_integration = (
            prev_integration if self._same_day_possible() else (prev_integration + _DAY)
        )
        lower = max(ctx.as_of, prev + self.spacing, after_integration)
        if (
            self.check_day is not None
            and slot.number_in_phase == 1
            and slot.phase is not CoursePhase.INDUCTION
        ):
            lower = max(lower, self.check_day)
        latest = None
        if slot.max_gap is not None:
            latest = max(prev, ctx.as_of - slot.gap) + slot.max_gap
        return lower, max(lower, self._target(slot, prev)), latest

    def _same_day_possible(self) -> bool:
        last = self.last_integration
        return self.ctx.same_day_ok and last is not None and last[_PLACE] is _CLINIC

    def _target(self, slot: DoseSlot, prev: dt.date) -> dt.date:
        """The day the phase rhythm aims a dose at (before calendar and spacing rules).

        Rhythm mode: the first dose of a phase comes one rhythm step after the previous
        dose; later doses keep to the phase's own days, counted from its first dose, but
        never more than ``doses_per_period`` fall in any ``period_days``. Compact mode:
        the earliest day, with at most the protocol's most doses per period.
        """
        compact = slot.phase in self.ctx.compact
        anchor = self.phase_first.get(slot.phase)
        if compact:
            target = prev
        elif anchor is None or slot.number_in_phase == 1:
            return prev + slot.gap
        else:
            target = anchor + slot.offset
        back = (
            self.template.phase_most_per_period.get(slot.phase, slot.doses_per_period)
            if compact
            else slot.doses_per_period
        )
        if slot.number_in_phase > back:
            earlier = self.dose_dates[slot.number - 1 - back][0]
            target = max(target, earlier + slot.period)
        return target

    def _place_dose(
        self, slot: DoseSlot, prev: dt.date | None, prev_integration: dt.date | None
    ) -> tuple[dt.date, dt.date]:
        ctx, n = self.ctx, slot.number
        lower, target, latest = self._bounds(slot, prev, prev_integration)
        pin = pin_int = None
        if ctx.pins:
            pin = ctx.pinned(("dose", n), f"dose {n} ({slot.phase.value})")
            pin_int = ctx.pinned(("integration", n), f"the integration after dose {n}")
        if pin is not None:
            day, integ = self._check_pin(slot, pin, pin_int, prev, prev_integration, lower, latest)
        else:
            found = _search_dose_day(ctx, lower, target, latest, pin_int)
            if found is None:
                raise self._no_day(slot, lower, target, latest, pin_int)
            day, integ = found
        if prev_integration is not None and day == prev_integration and self.last_integration:
            # The integration after the previous dose is held on this dose's day, before it.
            self.last_integration[_PLACE] = IntegrationPlace.BEFORE_NEXT_DOSE
            self.last_integration[_LABEL] = (
                f"Integration after dose {n - 1} ({IntegrationPlace.BEFORE_NEXT_DOSE.value})"
            )
        self._emit_dose_and_integration(slot, day, integ[0], integ[1])
        self.dose_dates.append((day, _PLANNED))
        if slot.phase not in self.phase_first:
            self.phase_first[slot.phase] = day
            self._set_check_day(slot.phase, day)
        return day, integ[0]

    def _set_check_day(self, phase: CoursePhase, first: dt.date) -> None:
        day = self.course.benefit_check_day
        if day is not None and phase == self.course.benefit_check_after:
            due = first + dt.timedelta(days=int(day.value) - 1)
            self.check_day = self.ctx.first_open(max(due, self.ctx.as_of), "the benefit check")

    def _emit_dose_and_integration(
        self, slot: DoseSlot, day: dt.date, integration_day: dt.date, place: IntegrationPlace
    ) -> None:
        """Queue a dose and the integration after it: :meth:`Ctx.emit` twice, inlined (the
        planner's hottest path), with the rows and keys emit would make."""
        n, phase, ctx = slot.number, slot.phase, self.ctx
        dose, text = self._dose(n)
        label = dose_label_with(n, self.dose_count, self.phase_labels[phase], text)
        integration = [
            _INTEGRATION,
            integration_day,
            f"Integration after dose {n} ({place})",  # a StrEnum formats as its value
            _PLANNED,
            phase,
            n,
            None,
            None,
            (),
            None,
            "",
            place,
        ]
        ctx.out.append([_DOSING, day, label, _PLANNED, phase, n, None, dose, (), None, "", None])
        ctx.keys.append((day, _DOSING_ORDER, n, True))
        ctx.out.append(integration)
        ctx.keys.append((integration_day, _INTEGRATION_ORDER, n, True))
        self.last_integration = integration
        self.integration_after[n] = (integration_day, _PLANNED)

    def _check_pin(
        self,
        slot: DoseSlot,
        pin: dt.date,
        pin_int: dt.date | None,
        prev: dt.date | None,
        prev_integration: dt.date | None,
        lower: dt.date,
        latest: dt.date | None,
    ) -> tuple[dt.date, tuple[dt.date, IntegrationPlace]]:
        ctx = self.ctx
        what = f"dose {slot.number} ({slot.phase.value})"
        if prev is not None and pin < prev + self.spacing:
            raise fail(
                Constraint.MIN_DOSE_SPACING,
                f"Cannot move {what} to {pin}: it must be at least {self.spacing.days} days "
                f"after the previous dose ({prev}), i.e. on or after {prev + self.spacing}",
            )
        if prev_integration is not None and pin < lower and pin <= prev_integration:
            raise fail(
                Constraint.INTEGRATION,
                f"Cannot move {what} to {pin}: the integration after the previous dose is on "
                f"{prev_integration} and must come first",
            )
        if pin < self.first_dose_floor or pin < ctx.as_of or pin < lower:
            raise fail(
                Constraint.PREPARATION if prev is None else Constraint.SESSION_ORDER,
                f"Cannot move {what} to {pin}: the earliest possible day is {lower}",
            )
        if latest is not None and pin > latest:
            phase_t = self.course.phase(slot.phase)
            raise fail(
                Constraint.MAX_DOSE_GAP,
                f"Cannot move {what} to {pin}: phase {slot.phase.value!r} allows at most "
                f"{slot.max_gap_days} days between doses ({phase_t.max_gap_days.source}); "
                f"the latest day is {latest}",
            )
        integ = _integration_for(ctx, pin, pin_int)
        if integ is None:
            raise fail(
                Constraint.INTEGRATION_WINDOW,
                f"Cannot move {what} to {pin}: no open day for its integration from "
                f"{pin + ctx.lo} to {pin + ctx.hi} (closed: "
                f"{ctx.closed_between(pin + ctx.lo, pin + ctx.hi)})",
            )
        return pin, integ

    def _no_day(
        self,
        slot: DoseSlot,
        lower: dt.date,
        target: dt.date,
        latest: dt.date | None,
        pin_int: dt.date | None,
    ) -> PlanningError:
        ctx, n = self.ctx, slot.number
        what = f"dose {n} ({slot.phase.value})"
        if pin_int is not None:
            return fail(
                Constraint.INTEGRATION_WINDOW,
                f"Cannot move the integration after dose {n} to {pin_int}: the dose cannot "
                f"be placed on an open day {ctx.lo.days}-{ctx.hi.days} days before it "
                f"(earliest possible dose day {lower})",
            )
        if latest is not None:
            phase_t = self.course.phase(slot.phase)
            return fail(
                Constraint.MAX_DOSE_GAP,
                f"Cannot place {what}: phase {slot.phase.value!r} allows at most "
                f"{slot.max_gap_days} days between doses ({phase_t.max_gap_days.source}), "
                f"so it must be given from {lower} to {latest}, but none of those days is "
                f"open with an open day for its integration {ctx.lo.days}-{ctx.hi.days} "
                f"days later. Closed: {ctx.closed_between(lower, latest + ctx.hi)}",
            )
        return fail(
            Constraint.PLANNING_HORIZON,
            f"Cannot place {what}: no open day with an open integration day "
            f"from {target} to {target + ctx.horizon}",
        )

    # -- benefit check -----------------------------------------------------------------------

    def benefit_check(self) -> None:
        ctx, course = self.ctx, self.course
        phase = course.benefit_check_after
        last = self.template.last_slot_of(phase) if phase is not None else None
        if phase is None or last is None or last.number > len(self.dose_dates):
            return
        checks_done = [s for s in self.done if s.kind is SessionKind.BENEFIT_CHECK]
        end_day, end_status = self.dose_dates[last.number - 1]
        nxt = self.dose_dates[last.number] if last.number < len(self.dose_dates) else None
        what = f"the end-of-{phase} benefit check"
        note = ""
        if course.benefit_check_day is not None:
            first = self.dose_dates[0][0]
            if any(c.date >= first for c in checks_done):
                return
            day = self._fixed_check_day(what)
            if end_day > day:
                note = self._late_note(phase, day, end_day)
        else:
            required = (
                end_status is SessionStatus.PLANNED
                or nxt is None
                or nxt[1] is SessionStatus.PLANNED
            )
            if not required or any(c.date > end_day for c in checks_done):
                return
            day = self._check_after_phase(last.number, end_day, nxt, what)
        ctx.emit(
            kind=SessionKind.BENEFIT_CHECK,
            date=day,
            label=f"Benefit check at the end of {course.phase(phase).label}: review response "
            "before going on",
            phase=phase,
            note=note,
        )

    def _fixed_check_day(self, what: str) -> dt.date:
        """The label's day for the check (first open day from it); a move must keep it."""
        check_day = present(self.check_day, "the benefit check day (set with the first dose)")
        pin = self.ctx.pinned(("benefit_check",), what)
        if pin is not None and pin != check_day:
            raise fail(
                Constraint.BENEFIT_CHECK,
                f"Cannot move {what} to {pin}: it is due on a fixed day of the phase, the "
                f"first open day from then being {check_day}",
            )
        return check_day

    def _late_note(self, phase: CoursePhase, day: dt.date, end_day: dt.date) -> str:
        check = present(self.course.benefit_check_day, "the course's benefit check day")
        n = int(check.value)
        label = self.course.phase(phase).label
        late = sum(
            1
            for (d, _), s in zip(self.dose_dates, self.template.slots, strict=False)
            if s.phase == phase and d > day
        )
        text = (
            f"{label} ran late: {late} of its doses fall after day {n} (last on {end_day}). "
            f"The benefit check stays on day {n} ({day}), as the label asks "
            f"({check.source})."
        )
        self.ctx.notes.append(text)
        return text

    def _check_after_phase(
        self,
        number: int,
        end_day: dt.date,
        nxt: tuple[dt.date, SessionStatus] | None,
        what: str,
    ) -> dt.date:
        ctx = self.ctx
        day = ctx.pinned(("benefit_check",), what)
        if day is None:
            after_last = self.integration_after.get(number)
            if after_last is not None and after_last[1] is SessionStatus.PLANNED:
                return (
                    after_last[0]
                    if ctx.calendar.is_open(after_last[0])
                    else ctx.first_open(after_last[0], what)
                )
            return ctx.first_open(max(ctx.as_of, end_day + _DAY), what)
        if not (day > end_day and (nxt is None or day <= nxt[0])):
            raise fail(
                Constraint.BENEFIT_CHECK,
                f"Cannot move {what} to {day}: it must be after {end_day}"
                + (f" and no later than {nxt[0]}" if nxt else ""),
            )
        return day

    # -- measures -------------------------------------------------------------------------------

    def measures(self) -> None:
        ctx = self.ctx
        courses = ctx.protocol.courses
        self.instruments = tuple(
            dict.fromkeys((*courses.measures.instruments, *ctx.options.extra_instruments))
        )
        self.inst_text = ", ".join(self.instruments)
        self.done_measures = sorted(
            (s for s in self.done if s.kind is SessionKind.MEASURE), key=lambda s: s.date
        )
        baseline = self._baseline()
        end_day, end_planned = self._end_of_course()
        self._weekly(baseline, end_day)
        if end_planned:
            self._emit_measure(end_day, "end of course", MeasurePoint.END_OF_COURSE)

    def _emit_measure(self, day: dt.date, what: str, point: MeasurePoint) -> None:
        self.ctx.emit(
            kind=SessionKind.MEASURE,
            date=day,
            label=f"{self.inst_text} ({what})",
            instruments=self.instruments,
            measure_point=point,
        )

    def _baseline(self) -> dt.date | None:
        ctx = self.ctx
        first = self.dose_dates[0][0]
        if self.n_done or any(m.measure_point is MeasurePoint.BASELINE for m in self.done_measures):
            return None
        what = "the baseline measures"
        day = ctx.pinned(("measure", MeasurePoint.BASELINE), what)
        if day is None:
            day = self.planned_preps[0] if self.planned_preps else first
        elif day > first or day < ctx.as_of:
            raise fail(
                Constraint.MEASURES,
                f"Cannot move {what} to {day}: they must be on or before the first dose ({first})",
            )
        self._emit_measure(day, "baseline", MeasurePoint.BASELINE)
        return day

    def _end_of_course(self) -> tuple[dt.date, bool]:
        ctx = self.ctx
        last_dose = self.dose_dates[-1][0]
        ends = [
            m.date
            for m in self.done_measures
            if m.measure_point is MeasurePoint.END_OF_COURSE and m.date > last_dose
        ]
        if ends:
            return max(ends), False
        what = "the end-of-course measures"
        day = ctx.pinned(("measure", MeasurePoint.END_OF_COURSE), what)
        last_integ = self.integration_after.get(len(self.dose_dates))
        if day is None:
            if (
                last_integ is not None
                and last_integ[1] is SessionStatus.PLANNED
                and ctx.calendar.is_open(last_integ[0])
            ):
                day = last_integ[0]
            else:
                day = ctx.first_open(max(ctx.as_of, last_dose + _DAY), what)
        elif day <= last_dose:
            raise fail(
                Constraint.MEASURES,
                f"Cannot move {what} to {day}: they must be after the last dose ({last_dose})",
            )
        return day, True

    def _weekly(self, baseline: dt.date | None, end_day: dt.date) -> None:
        """Weekly measures, on a day the patient already comes in where there is one."""
        ctx = self.ctx
        interval = dt.timedelta(days=int(ctx.protocol.courses.measures.interval_days.value))
        busy = sorted(
            {row[_DATE] for row in ctx.out if row[_PLACE] is not _VIDEO}
            | {s.date for s in self.done}
        )
        weekly_keys = [k for k in ctx.pins if k[:2] == ("measure", MeasurePoint.WEEKLY)]
        pinned = sorted(ctx.take_pin(k, "weekly measures") for k in weekly_keys)
        anchors = [m.date for m in self.done_measures] + ([baseline] if baseline else [])
        cursor = max(anchors) if anchors else ctx.as_of - interval
        weekly: list[dt.date] = []
        while True:
            due = cursor + interval
            target = max(due, ctx.as_of)
            if target >= end_day:
                break
            if pinned and pinned[0] < due + interval:
                cursor = pinned.pop(0)
                weekly.append(cursor)
                continue
            day = _busy_day(busy, target, due + interval - _DAY, ctx.calendar)
            if day is None:
                day = ctx.first_open(target, "weekly measures")
            if day >= end_day:
                break
            weekly.append(day)
            cursor = day
        weekly.extend(pinned)
        for day in weekly:
            if day < ctx.as_of:
                raise fail(
                    Constraint.SESSION_ORDER,
                    f"Cannot move weekly measures to {day}, before {ctx.as_of}",
                )
            self._emit_measure(day, "weekly", MeasurePoint.WEEKLY)

    # -- assembly -----------------------------------------------------------------------------

    def assemble(self) -> list[PlannedSession]:
        ctx = self.ctx
        if ctx.pins:
            leftover = ", ".join(
                " ".join(str(part) for part in key) + f" to {day}" for key, day in ctx.pins.items()
            )
            msg = (
                f"moved: the move of {leftover} no longer has a place in the re-planned course "
                f"(that session is no longer needed); leave it out of 'moved'"
            )
            raise InvalidInputError(msg)
        keyed: list[tuple[tuple[Any, ...], PlannedSession | Row]] = [
            ((*s.sort_key, False), s) for s in self.history
        ]
        keyed.extend(zip(ctx.keys, ctx.out, strict=True))
        keyed.sort(key=_first)
        return [
            replace(item, index=i)
            if isinstance(item, PlannedSession)
            else session_from_row(i, item)
            for i, (_, item) in enumerate(keyed)
        ]


def _first(pair: tuple[tuple[Any, ...], object]) -> tuple[Any, ...]:
    return pair[0]


def _busy_day(
    busy: Sequence[dt.date], start: dt.date, end: dt.date, calendar: ClinicCalendar
) -> dt.date | None:
    """The first day from ``start`` to ``end`` the patient already comes to the clinic."""
    k = bisect.bisect_left(busy, start)
    is_open = calendar.open_lookup
    while k < len(busy) and busy[k] <= end:
        if is_open(busy[k]):
            return busy[k]
        k += 1
    return None


def _search_dose_day(
    ctx: Ctx,
    lower: dt.date,
    target: dt.date,
    latest: dt.date | None,
    pin_int: dt.date | None,
) -> tuple[dt.date, tuple[dt.date, IntegrationPlace]] | None:
    """The dose day and its integration (day, place), or None when no day works.

    Days are tried from the rhythm's ``target`` forward to ``latest`` (push policy);
    only when none works are earlier days tried, back to ``lower`` (never closer to
    the previous dose than the minimum spacing), so a long weekend pulls a dose
    forward instead of breaking the phase's maximum gap.
    """
    end = latest if latest is not None else target + ctx.horizon
    day = target
    while day <= end:
        found = _try_day(ctx, day, pin_int)
        if found is not None:
            return found
        day += _DAY
    if latest is None:
        return None
    day = target - _DAY
    while day >= lower:
        found = _try_day(ctx, day, pin_int)
        if found is not None:
            return found
        day -= _DAY
    return None


def _try_day(
    ctx: Ctx, day: dt.date, pin_int: dt.date | None
) -> tuple[dt.date, tuple[dt.date, IntegrationPlace]] | None:
    if pin_int is None:
        if not ctx.clinic_open(day):
            return None
        integ = ctx.integration_day(day)
    else:
        if day > pin_int - ctx.lo or not ctx.clinic_open(day):
            return None
        integ = _integration_for(ctx, day, pin_int)
    return None if integ is None else (day, integ)


def _integration_for(
    ctx: Ctx, dose: dt.date, pin: dt.date | None
) -> tuple[dt.date, IntegrationPlace] | None:
    if pin is None:
        return ctx.integration_day(dose)
    if dose + ctx.lo <= pin <= dose + ctx.hi:
        place = ctx.place_on(pin)
        return None if place is None else (pin, place)
    return None
