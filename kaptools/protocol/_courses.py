"""The ``[courses]`` and ``[monitoring]`` tables: course templates and session monitoring.

``[courses]`` holds what a course is made of for each route (preparation, dosing
phases and their rhythm, the dose rule, integration, scheduled measures);
``[monitoring]`` (:mod:`kaptools.protocol._monitoring`, re-exported here) holds the
vital-sign times and thresholds of a dosing session.
The categories these tables use live below the scheduling logic that reads them, so
the data definitions never import the logic: :class:`RoundingMode` here, the shared
words (:class:`Route`, :class:`CoursePhase`, :class:`IntegrationPlace`) in
:mod:`kaptools.vocabulary`, re-exported here.

Sources: kaptools/sources.toml §2.1, §2.2, §3.1–§3.5, §5.3 (cited per value in
``default.toml``).
"""

from __future__ import annotations

import enum
from typing import Annotated, Literal

from pydantic import Field, StringConstraints, field_validator, model_validator

from kaptools.errors import InvalidInputError
from kaptools.protocol._common import Section, Source, Threshold, positive, whole
from kaptools.protocol._monitoring import Escalation, MonitoringSection, NameList
from kaptools.vocabulary import CoursePhase, IntegrationPlace, Route

__all__ = [
    "CoursePhase",
    "CoursesSection",
    "Escalation",
    "FixedLabelDose",
    "IntegrationPlace",
    "IntegrationRules",
    "MeasureSchedule",
    "MonitoringSection",
    "NameList",
    "NamedTemplate",
    "PhaseTemplate",
    "RoundingMode",
    "Route",
    "RouteCourse",
    "ValueList",
    "WeightBasedDose",
]


class RoundingMode(enum.StrEnum):
    """How a weight-based dose is rounded to the protocol's step (a clinic's choice)."""

    NEAREST = "nearest"
    """To the nearest step; exact halves go up."""
    DOWN = "down"
    """Down to the step below (never more than the computed dose)."""


Label = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1)]
Instrument = Annotated[str, StringConstraints(strip_whitespace=True, min_length=2, max_length=20)]


class ValueList(Section):
    """Several values of one kind, with their unit and source (e.g. allowed doses)."""

    values: tuple[float, ...] = Field(min_length=1)
    unit: Label
    source: Source
    note: str = ""

    @field_validator("values")
    @classmethod
    def _sortedpositive(cls, v: tuple[float, ...]) -> tuple[float, ...]:
        if any(x <= 0 for x in v) or list(v) != sorted(set(v)):
            msg = f"values must be above 0, distinct and in rising order (got {list(v)})"
            raise ValueError(msg)
        return v


class WeightBasedDose(Section):
    """A dose of ``mg_per_kg`` × body weight, rounded to a step, optionally capped."""

    basis: Literal["weight"]
    mg_per_kg: Threshold
    """The protocol's dose per kilogram."""
    min_mg_per_kg: Threshold
    """The lowest dose per kilogram a clinician may choose instead."""
    max_mg_per_kg: Threshold
    """The highest dose per kilogram a clinician may choose instead."""
    rounding_mg: Threshold
    """The step the computed dose is rounded to."""
    rounding: RoundingMode = RoundingMode.NEAREST
    max_mg: Threshold | None = None
    """An absolute cap on one dose, if the clinic sets one."""
    clinician_choice_max_mg_per_kg: Threshold | None = None
    """Above ``max_mg_per_kg`` and up to this, a recorded dose needs a clinician's written
    reason; above it a recorded dose is refused. None: nothing above ``max_mg_per_kg``."""

    @field_validator(
        "mg_per_kg",
        "min_mg_per_kg",
        "max_mg_per_kg",
        "rounding_mg",
        "max_mg",
        "clinician_choice_max_mg_per_kg",
    )
    @classmethod
    def _above_zero(cls, t: Threshold | None) -> Threshold | None:
        return None if t is None else positive(t, what="a dose value")

    @model_validator(mode="after")
    def _range_holds(self) -> WeightBasedDose:
        lo, mid, hi = self.min_mg_per_kg.value, self.mg_per_kg.value, self.max_mg_per_kg.value
        if not lo <= mid <= hi:
            msg = (
                f"mg_per_kg must lie within min_mg_per_kg..max_mg_per_kg "
                f"(got {lo} <= {mid} <= {hi}); fix one of the three"
            )
            raise ValueError(msg)
        choice = self.clinician_choice_max_mg_per_kg
        if choice is not None and choice.value < hi:
            msg = (
                f"clinician_choice_max_mg_per_kg ({choice.value}) must not be below "
                f"max_mg_per_kg ({hi}); fix one of them"
            )
            raise ValueError(msg)
        return self


class FixedLabelDose(Section):
    """Fixed doses from a label: a first dose by age, allowed doses, device size."""

    basis: Literal["fixed"]
    older_adult_age_years: Threshold
    """Age at or above which the older-adult doses apply."""
    first_dose_mg: Threshold
    first_dose_mg_older: Threshold
    options_mg: ValueList
    """Doses allowed after the first one."""
    options_mg_older: ValueList
    step_mg: Threshold
    """Dose changes go in steps of this size."""
    device_mg: Threshold
    """What one device delivers."""

    @field_validator("older_adult_age_years", "first_dose_mg", "first_dose_mg_older")
    @classmethod
    def _wholepositive(cls, t: Threshold) -> Threshold:
        return whole(t, minimum=1, what="an age or first dose")

    @field_validator("step_mg", "device_mg")
    @classmethod
    def _steppositive(cls, t: Threshold) -> Threshold:
        return positive(t, what="a dose step or device size")

    @model_validator(mode="after")
    def _consistent(self) -> FixedLabelDose:
        step, device = self.step_mg.value, self.device_mg.value
        for name, options, first in (
            ("options_mg", self.options_mg, self.first_dose_mg),
            ("options_mg_older", self.options_mg_older, self.first_dose_mg_older),
        ):
            bad = [x for x in options.values if x % step or x % device]
            if bad:
                msg = (
                    f"{name} must be whole multiples of step_mg ({step}) and of "
                    f"device_mg ({device}) (got {bad}); fix the list"
                )
                raise ValueError(msg)
            if first.value % device:
                msg = (
                    f"a first dose must be a whole number of devices of {device} mg (got "
                    f"{first.value})"
                )
                raise ValueError(msg)
        return self


class PhaseTemplate(Section):
    """One dosing phase: how many doses, at what rhythm, and the longest allowed gap.

    The rhythm is ``doses_per_period`` doses every ``period_days`` days; dose *k* of
    the phase is aimed at ``floor(k × period_days / doses_per_period)`` days after
    the phase's first dose (twice a week → gaps of 3 and 4 days).
    """

    phase: CoursePhase
    label: Label
    doses: Threshold
    """Doses in the phase; 0 for an optional phase planned only on request."""
    doses_per_period: int = Field(default=1, gt=0)
    period_days: Threshold
    alternative_period_days: tuple[Annotated[int, Field(gt=0)], ...] = ()
    """Other periods the protocol allows for this phase (chosen per patient)."""
    max_gap_days: Threshold
    """No two consecutive doses of the phase may be further apart than this."""
    optional: bool = False
    within_days: Threshold | None = None
    """The rhythm rule: all the phase's doses fall within this many days of its first
    dose (day 1 = the first dose), e.g. esketamine induction: 8 doses within 28 days."""
    missed_dose_may_return: Source | None = None
    """When set (with its source): after a missed dose in this phase with worsening
    symptoms, the clinician may return the phase to the previous phase's rhythm."""
    max_doses_per_period: int | None = Field(default=None, gt=0)
    """The rhythm rule: at most this many doses in any ``period_days`` window (default
    ``doses_per_period``), e.g. IV 2-3 a week: 3."""

    @property
    def most_per_period(self) -> int:
        """The most doses any ``period_days`` window may hold."""
        return self.max_doses_per_period or self.doses_per_period

    @field_validator("doses")
    @classmethod
    def _doseswhole(cls, t: Threshold) -> Threshold:
        return whole(t, minimum=0, what="doses")

    @field_validator("period_days", "max_gap_days")
    @classmethod
    def _dayswhole(cls, t: Threshold) -> Threshold:
        return whole(t, minimum=1, what="a number of days")

    @field_validator("within_days")
    @classmethod
    def _withinwhole(cls, t: Threshold | None) -> Threshold | None:
        return None if t is None else whole(t, minimum=1, what="within_days")

    @model_validator(mode="after")
    def _gap_fits_rhythm(self) -> PhaseTemplate:
        periods = [int(self.period_days.value), *self.alternative_period_days]
        longest = max(-(-p // self.doses_per_period) for p in periods)
        if self.max_gap_days.value < longest:
            msg = (
                f"max_gap_days ({self.max_gap_days.value}) is shorter than the rhythm's own "
                f"gap ({longest} days) in phase {self.phase.value!r}; raise max_gap_days"
            )
            raise ValueError(msg)
        if self.max_doses_per_period is not None and (
            self.max_doses_per_period < self.doses_per_period
        ):
            msg = (
                f"max_doses_per_period ({self.max_doses_per_period}) is below doses_per_period "
                f"({self.doses_per_period}) in phase {self.phase.value!r}; raise it"
            )
            raise ValueError(msg)
        return self


class RouteCourse(Section):
    """The course template of one route."""

    label: Label
    source: Source
    min_dose_spacing_days: Threshold
    """No two doses closer than this many days (date difference)."""
    infusion_minutes: Threshold | None = None
    """Infusion length, for routes given by infusion (vitals are taken during it)."""
    dose: WeightBasedDose | FixedLabelDose = Field(discriminator="basis")
    phases: tuple[PhaseTemplate, ...] = Field(min_length=1)
    benefit_check_after: CoursePhase | None = None
    """The phase after whose last dose the end-of-phase benefit check is planned."""
    benefit_check_day: Threshold | None = None
    """When set, the benefit check is due on this day of that phase (day 1 = its first
    dose) even when the phase ran late (esketamine label: day 28 of induction)."""
    notes: tuple[Label, ...] = ()
    """Operational reminders printed on every plan of this route."""
    contraindications: tuple[Label, ...] = ()
    """Screening rule ids that refuse this route when they fire (the planner's route gate)."""
    contraindications_source: str = ""

    @field_validator("min_dose_spacing_days")
    @classmethod
    def _spacing(cls, t: Threshold) -> Threshold:
        return whole(t, minimum=1, what="min_dose_spacing_days")

    @model_validator(mode="after")
    def _phases_ok(self) -> RouteCourse:
        names = [p.phase for p in self.phases]
        if names[0] is not CoursePhase.INDUCTION or len(set(names)) != len(names):
            msg = (
                f"phases must start with 'induction' and name each phase once "
                f"(got {[n.value for n in names]}); fix the [[phases]] list"
            )
            raise ValueError(msg)
        if self.phases[0].doses.value < 1:
            msg = "the induction phase needs at least 1 dose (got 0); fix its doses"
            raise ValueError(msg)
        if self.benefit_check_after is not None and self.benefit_check_after not in names:
            msg = (
                f"benefit_check_after names phase {self.benefit_check_after.value!r}, which "
                f"this route does not have (phases: {[n.value for n in names]})"
            )
            raise ValueError(msg)
        return self

    def phase(self, phase: CoursePhase) -> PhaseTemplate:
        """The template of ``phase``; InvalidInputError when this route has none."""
        for p in self.phases:
            if p.phase == phase:
                return p
        msg = (
            f"phase: the route {self.label!r} has no phase {str(phase)!r} in the protocol "
            f"(it has {[p.phase.value for p in self.phases]}); use one of those"
        )
        raise InvalidInputError(msg)


class MeasureSchedule(Section):
    """Which symptom measures are planned, and how often."""

    instruments: tuple[Instrument, ...] = Field(min_length=1)
    """Given to every patient at baseline, at each interval and at the end."""
    optional_instruments: dict[Instrument, Label] = {}
    """Added on request; the value says when (e.g. GAD-7 "when anxious")."""
    interval_days: Threshold
    source: Source

    @field_validator("interval_days")
    @classmethod
    def _interval(cls, t: Threshold) -> Threshold:
        return whole(t, minimum=1, what="interval_days")


class IntegrationRules(Section):
    """Where integration may be held: the places the planner may use, in its order of choice."""

    places: tuple[IntegrationPlace, ...] = Field(min_length=1)
    source: Source

    @field_validator("places")
    @classmethod
    def _clinic_first(cls, v: tuple[IntegrationPlace, ...]) -> tuple[IntegrationPlace, ...]:
        if len(set(v)) != len(v):
            msg = f"places must name each place once (got {[p.value for p in v]})"
            raise ValueError(msg)
        return v


class NamedTemplate(Section):
    """Another schedule for a route (e.g. the esketamine label's MDSI schedule), chosen by name.

    It keeps the route's dose rule and phases, and sets the phase dose counts, the
    day-1 dose and the later dose the planner uses, with the schedule's own notes.
    """

    route: Route
    label: Label
    source: Source
    phase_doses: dict[CoursePhase, Annotated[int, Field(ge=0)]] = {}
    first_dose_mg: Threshold | None = None
    later_dose_mg: Threshold | None = None
    notes: tuple[Label, ...] = ()


class CoursesSection(Section):
    """Course templates: preparation, dosing phases per route, integration, measures."""

    preparation_sessions: Threshold
    preparation_min_gap_days: Threshold
    """Days between preparation sessions, and from the last one to the first dose."""
    integration_min_days_after_dose: Threshold
    integration_max_days_after_dose: Threshold
    patient_weight_min_kg: Threshold
    patient_weight_max_kg: Threshold
    weight_review_above_kg: Threshold | None = None
    """A weight-based dose for a weight above this is flagged for clinician review."""
    plan_doses_max: Threshold | None = None
    """The most doses one course plan may hold (``None``: the shipped default's value)."""
    measures: MeasureSchedule
    integration: IntegrationRules = IntegrationRules(
        places=(IntegrationPlace.CLINIC, IntegrationPlace.VIDEO),
        source="default protocol: integration in clinic or by video",
    )
    iv_ketamine: RouteCourse | None = None
    im_ketamine: RouteCourse | None = None
    esketamine_nasal: RouteCourse | None = None
    templates: dict[
        Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_]*$")], NamedTemplate
    ] = {}
    """Named schedules beyond each route's own (``plan_course(..., template=name)``)."""

    @field_validator("preparation_sessions")
    @classmethod
    def _prep(cls, t: Threshold) -> Threshold:
        return whole(t, minimum=0, what="preparation_sessions")

    @field_validator("plan_doses_max")
    @classmethod
    def _plan_doses(cls, t: Threshold | None) -> Threshold | None:
        return None if t is None else whole(t, minimum=1, what="plan_doses_max")

    @field_validator("preparation_min_gap_days")
    @classmethod
    def _prep_gap(cls, t: Threshold) -> Threshold:
        return whole(t, minimum=1, what="preparation_min_gap_days")

    @field_validator("integration_min_days_after_dose")
    @classmethod
    def _integration_later_day(cls, t: Threshold) -> Threshold:
        # Integration is never on the day of the dose (the patient is under its effects).
        return whole(t, minimum=1, what="integration_min_days_after_dose")

    @field_validator("integration_max_days_after_dose")
    @classmethod
    def _integration_max(cls, t: Threshold) -> Threshold:
        return whole(t, minimum=1, what="integration_max_days_after_dose")

    @model_validator(mode="after")
    def _ranges(self) -> CoursesSection:
        lo, hi = self.integration_min_days_after_dose, self.integration_max_days_after_dose
        if lo.value > hi.value:
            msg = (
                f"integration_min_days_after_dose ({lo.value}) is above "
                f"integration_max_days_after_dose ({hi.value}); fix one of them"
            )
            raise ValueError(msg)
        wlo, whi = self.patient_weight_min_kg, self.patient_weight_max_kg
        if not 0 < wlo.value < whi.value:
            msg = f"patient weight range must satisfy 0 < min < max (got {wlo.value}, {whi.value})"
            raise ValueError(msg)
        for name, t in self.templates.items():
            course = getattr(self, t.route.value)
            if course is None:
                msg = f"templates.{name}: route {t.route.value!r} has no course in this protocol"
                raise ValueError(msg)
            phases = {p.phase for p in course.phases}
            if not set(t.phase_doses) <= phases:
                msg = (
                    f"templates.{name}: phase_doses names {sorted(set(t.phase_doses) - phases)}, "
                    f"not phases of {t.route.value!r}"
                )
                raise ValueError(msg)
        return self

    def template(self, name: str) -> NamedTemplate:
        """The named template; InvalidInputError naming the templates on offer."""
        found = self.templates.get(name) if isinstance(name, str) else None
        if found is None:
            msg = (
                f"template: {name!r} is not a course template of this protocol; use one of "
                f"{sorted(self.templates)}"
            )
            raise InvalidInputError(msg)
        return found

    def dose_plausible_max_mg(self, route: Route | str) -> float:
        """The largest dose of ``route`` that can be right, in mg: above it, a typing error.

        Weight-based routes: ``max_mg_per_kg`` x ``patient_weight_max_kg`` (capped by
        ``max_mg`` when the clinic sets one); fixed label doses: the largest of them. The
        clinical checks of a recorded dose (label doses, mg/kg range, the planned dose)
        come on top; this ceiling is refused whatever reason is given.
        """
        dose = self.route(route).dose
        if isinstance(dose, WeightBasedDose):
            ceiling = dose.max_mg_per_kg.value * self.patient_weight_max_kg.value
            if dose.max_mg is not None:
                ceiling = min(ceiling, dose.max_mg.value)
            return ceiling
        return max(
            dose.first_dose_mg.value,
            dose.first_dose_mg_older.value,
            *dose.options_mg.values,
            *dose.options_mg_older.values,
        )

    def route(self, route: Route | str) -> RouteCourse:
        """The template of ``route``; InvalidInputError naming the routes on offer."""
        try:
            key = Route(route)
        except ValueError:
            msg = f"route: {route!r} is not a known route; use one of {[r.value for r in Route]}"
            raise InvalidInputError(msg) from None
        course = getattr(self, key.value)
        if course is None:
            offered = [r.value for r in Route if getattr(self, r.value) is not None]
            msg = (
                f"route: this protocol has no course template for {key.value!r} "
                f"(it offers {offered}); add a [courses.{key.value}] table or pick another"
            )
            raise InvalidInputError(msg)
        return course
