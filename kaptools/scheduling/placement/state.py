"""What the sections of one placement run share: the course, the doses already given,
the dates placed so far, and the dose series."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from kaptools.scheduling.constraints import Constraint
from kaptools.scheduling.doses import DoseCalculation, dose_series
from kaptools.scheduling.placement.context import Ctx, Row, fail
from kaptools.scheduling.plan import PlannedSession, SessionStatus, dose_text
from kaptools.scheduling.templates import SessionKind
from kaptools.vocabulary import CoursePhase

__all__ = ["Placement"]


_TEXTS: dict[tuple[int, float | None], tuple[DoseCalculation, str]] = {}


def _text(dose: DoseCalculation, infusion: float | None) -> str:
    """:func:`dose_text`, kept per dose object (the entry holds the dose, so its id is its own)."""
    found = _TEXTS.get((id(dose), infusion))
    if found is None or found[0] is not dose:
        if len(_TEXTS) >= 4096:
            _TEXTS.clear()
        found = _TEXTS[id(dose), infusion] = (dose, dose_text(dose, infusion))
    return found[1]


class Placement:
    """The state of one placement run; each section is a subclass's methods."""

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

    def _set_check_day(self, phase: CoursePhase, first: dt.date) -> None:
        day = self.course.benefit_check_day
        if day is not None and phase == self.course.benefit_check_after:
            due = first + dt.timedelta(days=int(day.value) - 1)
            self.check_day = self.ctx.first_open(max(due, self.ctx.as_of), "the benefit check")
