"""The ``[screening.thresholds]`` and ``[screening.trials]`` tables: every number the
screening rules compare against (each in the unit record values use), and how a trial's
outcome and reason for stopping count [1.1, 1.2].
"""

from __future__ import annotations

from pydantic import Field, ValidationInfo, field_validator, model_validator

from kaptools.protocol._common import Section, Source, Threshold
from kaptools.vocabulary import StopReason, TrialOutcome

__all__ = ["Thresholds", "TrialsTable"]

_THRESHOLD_UNITS = {
    "age_minimum": "years",
    "age_caution_from": "years",
    "bp_defer_systolic_min": "mmHg",
    "bp_defer_diastolic_min": "mmHg",
    "bp_caution_systolic_above": "mmHg",
    "bp_caution_diastolic_above": "mmHg",
    "racemic_bp_systolic_above": "mmHg",
    "racemic_bp_diastolic_above": "mmHg",
    "heart_rate_caution_below": "bpm",
    "heart_rate_caution_above": "bpm",
    "benzodiazepine_high_dose_above": "mg diazepam-equivalent/day",
    "failed_adequate_trials_min": "trials",
    "trial_weeks_min": "weeks",
    "override_reason_min_length": "characters",
}
"""The unit each screening threshold must be written in: record values use these units."""

_WHOLE_THRESHOLDS = frozenset(
    {"age_minimum", "age_caution_from", "failed_adequate_trials_min", "override_reason_min_length"}
)


class Thresholds(Section):
    """Every number the screening rules compare against, with its unit and source."""

    age_minimum: Threshold
    """Below this age: exclusion."""
    age_caution_from: Threshold
    """At or above this age: caution."""
    bp_defer_systolic_min: Threshold
    """Systolic at or above this: defer until controlled (exclusion)."""
    bp_defer_diastolic_min: Threshold
    bp_caution_systolic_above: Threshold
    """Systolic above this (and below the defer line): caution."""
    bp_caution_diastolic_above: Threshold
    racemic_bp_systolic_above: Threshold
    """Systolic above this: the Ketalar SmPC's limit for racemic ketamine (route rule)."""
    racemic_bp_diastolic_above: Threshold
    """Diastolic above this: the Ketalar SmPC's limit for racemic ketamine (route rule)."""
    heart_rate_caution_below: Threshold
    """Heart rate at screening below this: caution (the line itself is inside the range)."""
    heart_rate_caution_above: Threshold
    """Heart rate at screening above this: caution."""
    benzodiazepine_high_dose_above: Threshold
    """Total diazepam-equivalent daily dose above this: caution (may blunt response)."""
    failed_adequate_trials_min: Threshold
    """Failed adequate trials needed for the primary indication."""
    trial_weeks_min: Threshold
    """A trial shorter than this is not adequate."""
    override_reason_min_length: Threshold
    """A clinician's written reason for overriding a finding has at least this many characters."""

    @field_validator("*")
    @classmethod
    def _unit_and_value(cls, t: Threshold, info: ValidationInfo) -> Threshold:
        name = info.field_name or ""
        unit = _THRESHOLD_UNITS.get(name)
        if unit is not None and t.unit != unit:
            msg = (
                f"the unit must be {unit!r}: kaptools compares record values in {unit} "
                f"(got {t.unit!r}); convert the value and write unit = {unit!r}"
            )
            raise ValueError(msg)
        if name in _WHOLE_THRESHOLDS and (not float(t.value).is_integer() or t.value < 1):
            msg = f"the value must be a whole number of at least 1 (got {t.value})"
            raise ValueError(msg)
        if t.value <= 0:
            msg = f"the value must be above 0 (got {t.value})"
            raise ValueError(msg)
        return t

    @model_validator(mode="after")
    def _ordered(self) -> Thresholds:
        pairs = [
            ("age_minimum", "age_caution_from"),
            ("bp_caution_systolic_above", "bp_defer_systolic_min"),
            ("bp_caution_diastolic_above", "bp_defer_diastolic_min"),
            ("heart_rate_caution_below", "heart_rate_caution_above"),
        ]
        for low, high in pairs:
            lo, hi = getattr(self, low), getattr(self, high)
            if not lo.value < hi.value:
                msg = (
                    f"{low} ({lo}) must be below {high} ({hi}): otherwise the caution band "
                    f"is empty; fix one of them"
                )
                raise ValueError(msg)
        return self


class TrialsTable(Section):
    """How a trial's outcome and reason for stopping count [1.1, 1.2]."""

    failed_outcomes: tuple[TrialOutcome, ...] = Field(min_length=1)
    """Outcomes that make an adequate trial a failed one."""
    disqualifying_stop_reasons: tuple[StopReason, ...] = ()
    """Reasons for stopping that keep a trial from counting as a failed adequate trial."""
    source: Source
    augmentation_counts: bool
    """Whether an adequate, failed trial of an augmentation agent (aripiprazole, lithium,
    liothyronine, ...: the minimum-dose table's ``augmentation`` rows) counts as a failed
    adequate trial. Either way it is judged, never "not judged" for being an augmenter."""
    augmentation_source: Source

    @field_validator("failed_outcomes")
    @classmethod
    def _known_outcomes(cls, values: tuple[TrialOutcome, ...]) -> tuple[TrialOutcome, ...]:
        if TrialOutcome.UNKNOWN in values:
            msg = "'unknown' cannot count as a failure: an unknown outcome is never guessed"
            raise ValueError(msg)
        return values

    @field_validator("disqualifying_stop_reasons")
    @classmethod
    def _known_reasons(cls, values: tuple[StopReason, ...]) -> tuple[StopReason, ...]:
        if StopReason.UNKNOWN in values:
            msg = "'unknown' cannot be listed: an unknown reason is never guessed"
            raise ValueError(msg)
        return values
