"""Antidepressant trials: how each one counts towards the indication [1.1, 1.2].

:func:`assess_trial` judges one trial of a screening record; :class:`TrialAssessment`
is its verdict (:class:`TrialVerdict`) with every reason behind it.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from kaptools.errors import InvalidInputError
from kaptools.printer import escape
from kaptools.protocol import Protocol
from kaptools.screening.names import NameMatch
from kaptools.screening.record import AntidepressantTrial
from kaptools.screening.tables import DrugInfo, DrugTables, TrialRole, drug_tables
from kaptools.vocabulary import StopReason, TrialOutcome

__all__ = ["TrialAssessment", "TrialVerdict", "assess_trial", "number_text"]


def number_text(value: float) -> str:
    """A number as a reason shows it: ``20`` for 20.0, ``12.5`` as is."""
    return str(int(value)) if float(value).is_integer() else f"{value:g}"


_num = number_text


class TrialVerdict(enum.StrEnum):
    """How one antidepressant trial counts towards the indication [1.1, 1.2]."""

    FAILED_ADEQUATE = "failed_adequate"
    """Adequate dose and duration, a failed outcome, not stopped for intolerance: counted."""
    NOT_FAILED_ADEQUATE = "not_failed_adequate"
    """Known not to be a failed adequate trial (short, low dose, responded, intolerance)."""
    NOT_JUDGED = "not_judged"
    """Cannot be judged: unknown drug, dose, duration, outcome or reason stopped."""

    @property
    def label(self) -> str:
        """How the verdict reads in a trial table."""
        return _VERDICT_LABELS[self]


_VERDICT_LABELS = {
    TrialVerdict.FAILED_ADEQUATE: "counted: failed adequate trial",
    TrialVerdict.NOT_FAILED_ADEQUATE: "not counted",
    TrialVerdict.NOT_JUDGED: "not judged (not counted)",
}


@dataclass(frozen=True, slots=True)
class TrialAssessment:
    """The verdict on one trial and every reason behind it."""

    number: int
    """1-based position in the record's trial list."""
    drug: str
    daily_dose_mg: float | None
    weeks: float | None
    outcome: TrialOutcome
    stop_reason: StopReason
    verdict: TrialVerdict
    reasons: tuple[str, ...]
    min_daily_dose_mg: float | None = None
    """The table's minimum adequate dose, None when the drug is not in the table."""
    min_dose_source: str = ""
    drug_resolution: str = ""
    """How the entered drug name resolved ("Lexapro → escitalopram (brand name)")."""

    def __post_init__(self) -> None:
        if not isinstance(self.number, int) or self.number < 1:
            msg = f"number must be a whole number of at least 1 (got {self.number!r})"
            raise InvalidInputError(msg)
        object.__setattr__(self, "verdict", TrialVerdict(self.verdict))
        object.__setattr__(self, "outcome", TrialOutcome(self.outcome))
        object.__setattr__(self, "stop_reason", StopReason(self.stop_reason))
        object.__setattr__(self, "reasons", tuple(self.reasons))
        if not self.reasons:
            msg = "a trial assessment needs at least one reason"
            raise InvalidInputError(msg)

    @property
    def counted(self) -> bool:
        """True when the trial counts as a failed adequate trial."""
        return self.verdict == TrialVerdict.FAILED_ADEQUATE

    @property
    def summary(self) -> str:
        drug = self.drug_resolution or self.drug
        return f"Trial {self.number} ({drug}): {self.verdict.label}: " + "; ".join(self.reasons)

    def _repr_html_(self) -> str:
        return f"<p class='kap-trial'>{escape(self.summary)}</p>"

    def as_dict(self) -> dict[str, Any]:
        return {
            "number": self.number,
            "drug": self.drug,
            "daily_dose_mg": self.daily_dose_mg,
            "weeks": self.weeks,
            "outcome": self.outcome.value,
            "stop_reason": self.stop_reason.value,
            "verdict": self.verdict.value,
            "reasons": list(self.reasons),
            "min_daily_dose_mg": self.min_daily_dose_mg,
            "min_dose_source": self.min_dose_source,
            "drug_resolution": self.drug_resolution,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> TrialAssessment:
        fields: dict[str, Any] = {k: (tuple(v) if k == "reasons" else v) for k, v in data.items()}
        return cls(**fields)


def assess_trial(
    number: int, trial: AntidepressantTrial, protocol: Protocol, tables: DrugTables | None = None
) -> TrialAssessment:
    """Judge one trial: failed adequate, not a failed adequate trial, or not judged [1.1, 1.2].

    A trial is known not to count as soon as one fact rules it out (too short, below
    the minimum dose, stopped for a disqualifying reason, an outcome that is not a
    failure). Otherwise, any unknown fact (drug not in the table, unknown dose,
    duration, outcome or reason stopped) leaves it not judged: never guessed.
    """
    tables = drug_tables() if tables is None else tables
    info = tables.lookup(trial.drug)
    against, unknown, supports = _facts(trial, info, protocol)
    resolution = info.resolution
    if against:
        verdict, reasons = TrialVerdict.NOT_FAILED_ADEQUATE, against
    elif unknown:
        verdict, reasons = TrialVerdict.NOT_JUDGED, unknown
    else:
        verdict, reasons = TrialVerdict.FAILED_ADEQUATE, supports
    return TrialAssessment(
        number=number,
        drug=trial.drug,
        daily_dose_mg=trial.daily_dose_mg,
        weeks=trial.weeks,
        outcome=trial.outcome,
        stop_reason=trial.stop_reason,
        verdict=verdict,
        reasons=tuple(reasons),
        min_daily_dose_mg=info.min_daily_dose_mg,
        min_dose_source=info.min_dose_source,
        drug_resolution=(
            ""
            if resolution is None or (resolution.how == NameMatch.EXACT and not resolution.notes)
            else resolution.summary
        ),
    )


def _facts(
    trial: AntidepressantTrial, info: DrugInfo, protocol: Protocol
) -> tuple[list[str], list[str], list[str]]:
    """What rules the trial out, what is unknown, and what supports it, fact by fact:
    dose (and whether an augmentation agent counts), duration, outcome, reason stopped."""
    s = protocol.screening
    weeks_min = s.thresholds.trial_weeks_min
    against: list[str] = []
    unknown: list[str] = []
    supports: list[str] = []

    min_dose = info.min_daily_dose_mg
    resolution = info.resolution
    of = f" of {info.min_dose_of}" if info.min_dose_of else ""
    if resolution is not None and not resolution.resolved:
        unknown.append(f"{resolution.summary} (so not in the minimum-dose table): clinician review")
    elif min_dose is None:
        unknown.append(f"{info.name!r} is not in the minimum-dose table: clinician review")
    elif trial.daily_dose_mg is None:
        unknown.append("daily dose unknown")
    elif trial.daily_dose_mg < min_dose:
        against.append(
            f"daily dose {_num(trial.daily_dose_mg)} mg{of} is below the minimum adequate "
            f"dose of {_num(min_dose)} mg"
        )
    else:
        supports.append(
            f"daily dose {_num(trial.daily_dose_mg)} mg{of}, at least the minimum adequate "
            f"{_num(min_dose)} mg"
        )
    if info.trial_role == TrialRole.AUGMENTATION:
        if s.trials.augmentation_counts:
            supports.append("augmentation agent: counted, as the protocol decides")
        else:
            against.append("augmentation agent: the protocol does not count augmentation trials")

    if trial.weeks is None:
        unknown.append("duration unknown")
    elif trial.weeks < weeks_min.value:
        against.append(f"lasted {_num(trial.weeks)} weeks, under the minimum of {weeks_min}")
    else:
        supports.append(f"lasted {_num(trial.weeks)} weeks (minimum {weeks_min})")

    if trial.outcome == TrialOutcome.UNKNOWN:
        unknown.append("outcome unknown")
    elif trial.outcome in s.trials.failed_outcomes:
        supports.append(f"outcome {trial.outcome.value}: a failure")
    else:
        against.append(f"outcome {trial.outcome.value}: not a failure")

    if trial.stop_reason in s.trials.disqualifying_stop_reasons:
        against.append(f"stopped for {trial.stop_reason.value}: not a failed adequate trial")
    elif trial.stop_reason == StopReason.UNKNOWN:
        unknown.append("reason stopped unknown")
    else:
        supports.append(f"reason stopped: {trial.stop_reason.value}")
    return against, unknown, supports
