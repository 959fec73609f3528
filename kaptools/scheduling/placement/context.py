"""What one placement run reads (:class:`Ctx`) and the rows it emits."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from kaptools.errors import PlanningError
from kaptools.protocol import Protocol
from kaptools.scheduling.calendar import ClinicCalendar
from kaptools.scheduling.constraints import HORIZON_DAYS, Constraint
from kaptools.scheduling.doses import DoseCalculation
from kaptools.scheduling.plan import _KIND_ORDER, MeasurePoint, PlanOptions, SessionStatus
from kaptools.scheduling.templates import CourseTemplate, SessionKind
from kaptools.vocabulary import CoursePhase, IntegrationPlace

__all__ = ["ROW_FIELDS", "Ctx", "Key", "Row", "fail"]


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
DATE, LABEL, PLACE = 1, 2, 11
"""Where a row holds its date, label and integration place."""
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
