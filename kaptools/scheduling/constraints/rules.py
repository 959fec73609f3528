"""The scheduling rules of a course plan, by name, and one broken rule."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field

from kaptools.vocabulary import CoursePhase

__all__ = ["DEVIATION_RULES", "HORIZON_DAYS", "Constraint", "Violation"]

HORIZON_DAYS = 730
"""How far ahead the planner looks for an open day (a search limit, not a clinical rule)."""


class Constraint(enum.StrEnum):
    """The scheduling rules of a course plan (default protocol "Course templates")."""

    SESSION_ORDER = "session_order"
    """Sessions are in date order; history lies before ``as_of``, planned sessions on or after."""
    OPEN_DAY = "open_day"
    """No planned session on a closed weekday, public holiday or clinic closure."""
    PREPARATION = "preparation"
    """The protocol's preparation sessions, on separate days, all before the first dose."""
    DOSE_COUNT = "dose_count"
    """The course's doses, numbered in order, in the template's phases."""
    MIN_DOSE_SPACING = "min_dose_spacing"
    """No two doses closer than the route's minimum spacing."""
    MAX_DOSE_GAP = "max_dose_gap"
    """No gap between doses longer than the phase allows."""
    INTEGRATION = "integration"
    """An integration session after every dose: on a later day, before the next dose."""
    INTEGRATION_WINDOW = "integration_window"
    """That integration falls within the protocol's window after the dose."""
    BENEFIT_CHECK = "benefit_check"
    """The end-of-phase benefit check after the phase's last dose, by the next phase's first."""
    MEASURES = "measures"
    """Baseline measures by the first dose, and end-of-course measures after the last."""
    DOSE_CALCULATION = "dose_calculation"
    """Each planned dose is the protocol's, with its arithmetic, for clinician confirmation."""
    PLANNING_HORIZON = "planning_horizon"
    """An open day can be found within the planner's search horizon."""
    RHYTHM = "rhythm"
    """Each phase keeps its rhythm: all its doses within ``within_days`` of its first
    dose, and no more than ``max_doses_per_period`` in any ``period_days`` (default
    protocol "Integration and rhythm"; label [3.4]). A plan that cannot keep it carries
    a named :class:`~kaptools.scheduling.Deviation`."""
    SCREENING = "screening"
    """The planner's own gates: age, route contraindications, screening status."""


@dataclass(frozen=True, slots=True)
class Violation:
    """One broken rule: which, where, and what is wrong."""

    constraint: Constraint
    message: str
    session_index: int | None = None
    phase: CoursePhase | None = field(default=None, compare=False)

    def __str__(self) -> str:
        where = f"session {self.session_index}: " if self.session_index is not None else ""
        return f"[{self.constraint.value}] {where}{self.message}"


DEVIATION_RULES = frozenset({Constraint.RHYTHM})
"""Rules a plan may break only with a named, acknowledged deviation."""
