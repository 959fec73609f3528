"""Placement of preparation sessions, doses and the integration after each dose."""

from __future__ import annotations

import datetime as dt

from kaptools.errors import PlanningError
from kaptools.scheduling.constraints import Constraint
from kaptools.scheduling.placement.context import LABEL, PLACE, Ctx, fail
from kaptools.scheduling.placement.state import Placement
from kaptools.scheduling.plan import _KIND_ORDER, SessionStatus, dose_label_with
from kaptools.scheduling.templates import DoseSlot, SessionKind
from kaptools.validation import present
from kaptools.vocabulary import CoursePhase, IntegrationPlace

__all__ = ["DosePlacement"]

_DAY = dt.timedelta(days=1)
_LABEL, _PLACE = LABEL, PLACE
_DOSING, _INTEGRATION = SessionKind.DOSING, SessionKind.INTEGRATION
_DOSING_ORDER, _INTEGRATION_ORDER = _KIND_ORDER[_DOSING], _KIND_ORDER[_INTEGRATION]
_PLANNED, _CLINIC = SessionStatus.PLANNED, IntegrationPlace.CLINIC


class DosePlacement(Placement):
    """Preparation, then every dose with its integration (the policy's first sections)."""

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
