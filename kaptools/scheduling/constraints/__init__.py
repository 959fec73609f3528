"""The rules every course plan keeps, checked in one place.

:func:`check_plan` is the single validator: the planner runs it on every plan
before returning it (so a bug can never hand out a broken plan), and the tests
run it on every plan they generate. It raises :class:`PlanningError` whose
``constraint`` is a :class:`Constraint`; :func:`plan_violations` lists them all.

History is not re-judged: sessions dated before the plan's ``as_of`` (done or
missed) happened as they happened. Every rule that involves a planned session
is checked; where history already broke a window (a missed integration, a long
break), the rule asks for the earliest open day from ``as_of`` instead.

The package: :mod:`.rules` (the rules by name, and a broken one), :mod:`.sections`
(one check per section of the plan: order, doses, spacing, preparation, integration,
rhythm, benefit check, measures) and :mod:`.check` (the checks run in that order).
"""

from __future__ import annotations

from kaptools.scheduling.constraints.check import (
    all_violations,
    check_plan,
    deviation_violations,
    plan_violations,
    raise_violations,
)
from kaptools.scheduling.constraints.rules import (
    DEVIATION_RULES,
    HORIZON_DAYS,
    Constraint,
    Violation,
)
from kaptools.scheduling.constraints.sections import (
    benefit_check_due,
    first_open,
    options_template,
    phase_doses,
    template_for,
)

__all__ = [
    "DEVIATION_RULES",
    "HORIZON_DAYS",
    "Constraint",
    "Violation",
    "all_violations",
    "benefit_check_due",
    "check_plan",
    "deviation_violations",
    "first_open",
    "options_template",
    "phase_doses",
    "plan_violations",
    "raise_violations",
    "template_for",
]
