"""Placement of the benefit check and the measures, once the doses are placed."""

from __future__ import annotations

import bisect
import datetime as dt
from collections.abc import Sequence

from kaptools.scheduling.calendar import ClinicCalendar
from kaptools.scheduling.constraints import Constraint
from kaptools.scheduling.placement.context import DATE, PLACE, fail
from kaptools.scheduling.placement.state import Placement
from kaptools.scheduling.plan import MeasurePoint, SessionStatus
from kaptools.scheduling.templates import SessionKind
from kaptools.validation import present
from kaptools.vocabulary import CoursePhase, IntegrationPlace

__all__ = ["CheckPlacement"]

_DAY = dt.timedelta(days=1)
_DATE, _PLACE = DATE, PLACE
_VIDEO = IntegrationPlace.VIDEO


class CheckPlacement(Placement):
    """The benefit check and the measures (the policy's last sections)."""

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
