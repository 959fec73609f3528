"""What a plan was made with (:class:`PlanOptions`) and what it could not keep
(:class:`Deviation`, and a clinician's :class:`DeviationAcknowledgement` of it)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from kaptools.errors import InvalidInputError
from kaptools.vocabulary import CoursePhase

__all__ = ["Deviation", "DeviationAcknowledgement", "PlanOptions"]


@dataclass(frozen=True, slots=True)
class Deviation:
    """A rule the plan cannot keep, said plainly, with what would fix it.

    The planner names it and :func:`~kaptools.scheduling.check_plan` confirms it
    (a deviation the plan does not have, or one it has and does not name, is an
    error). A plan with a deviation is saved only with a clinician's acknowledgement.
    """

    rule: str
    """The :class:`~kaptools.scheduling.Constraint` value (e.g. ``"rhythm"``)."""
    phase: CoursePhase | None
    message: str
    fixes: tuple[str, ...] = ()

    @property
    def key(self) -> tuple[str, CoursePhase | None]:
        return (self.rule, self.phase)

    @property
    def summary(self) -> str:
        fixes = f" What would fix it: {'; '.join(self.fixes)}." if self.fixes else ""
        return f"{self.message}{fixes}"

    def to_dict(self) -> dict[str, Any]:
        return {
            "rule": self.rule,
            "phase": self.phase.value if self.phase else None,
            "message": self.message,
            "fixes": list(self.fixes),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Deviation:
        return cls(
            str(data["rule"]),
            CoursePhase(data["phase"]) if data.get("phase") else None,
            str(data["message"]),
            tuple(str(f) for f in data.get("fixes") or ()),
        )


@dataclass(frozen=True, slots=True)
class DeviationAcknowledgement:
    """A clinician's acknowledgement of a plan's deviations, with the reason (audit-logged)."""

    by: str
    reason: str
    at: dt.datetime

    def to_dict(self) -> dict[str, Any]:
        return {"by": self.by, "reason": self.reason, "at": self.at.isoformat()}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> DeviationAcknowledgement:
        return cls(str(data["by"]), str(data["reason"]), dt.datetime.fromisoformat(data["at"]))


def _pairs(mapping: Mapping[Any, int] | None) -> tuple[tuple[CoursePhase, int], ...]:
    if not mapping:
        return ()
    try:
        return tuple(sorted((CoursePhase(k), v) for k, v in mapping.items()))
    except ValueError:
        msg = (
            f"phase options: {dict(mapping)!r} names an unknown phase; use "
            f"{[p.value for p in CoursePhase]}"
        )
        raise InvalidInputError(msg) from None


@dataclass(frozen=True, slots=True)
class PlanOptions:
    """The per-patient choices a plan was made with (kept so re-planning reuses them)."""

    phase_doses: tuple[tuple[CoursePhase, int], ...] = ()
    phase_period_days: tuple[tuple[CoursePhase, int], ...] = ()
    dose_mg_per_kg: float | None = None
    later_dose_mg: float | None = None
    extra_instruments: tuple[str, ...] = ()
    template: str | None = None
    """A named course template of the protocol (e.g. ``esketamine_mdsi``), or None."""
    first_dose_mg: float | None = None
    """The template's day-1 dose (fixed-dose routes), or None for the route's own."""
    returned: tuple[CoursePhase, ...] = ()
    """Phases returned to the previous phase's rhythm after a missed dose (label [3.4])."""

    @classmethod
    def make(
        cls,
        *,
        phase_doses: Mapping[Any, int] | None = None,
        phase_period_days: Mapping[Any, int] | None = None,
        dose_mg_per_kg: float | None = None,
        later_dose_mg: float | None = None,
        extra_instruments: Sequence[str] = (),
        template: str | None = None,
        first_dose_mg: float | None = None,
        returned: Sequence[Any] = (),
    ) -> PlanOptions:
        if isinstance(extra_instruments, str):
            extra_instruments = (extra_instruments,)
        return cls(
            _pairs(phase_doses),
            _pairs(phase_period_days),
            dose_mg_per_kg,
            later_dose_mg,
            tuple(extra_instruments),
            template,
            first_dose_mg,
            tuple(sorted({CoursePhase(x) for x in returned})),
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "phase_doses": {k.value: v for k, v in self.phase_doses},
            "phase_period_days": {k.value: v for k, v in self.phase_period_days},
            "dose_mg_per_kg": self.dose_mg_per_kg,
            "later_dose_mg": self.later_dose_mg,
            "extra_instruments": list(self.extra_instruments),
            "template": self.template,
            "first_dose_mg": self.first_dose_mg,
            "returned": [x.value for x in self.returned],
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> PlanOptions:
        return cls.make(
            phase_doses=data.get("phase_doses") or None,
            phase_period_days=data.get("phase_period_days") or None,
            dose_mg_per_kg=data.get("dose_mg_per_kg"),
            later_dose_mg=data.get("later_dose_mg"),
            extra_instruments=tuple(data.get("extra_instruments") or ()),
            template=data.get("template"),
            first_dose_mg=data.get("first_dose_mg"),
            returned=tuple(data.get("returned") or ()),
        )
