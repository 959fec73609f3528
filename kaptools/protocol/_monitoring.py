"""The ``[monitoring]`` table: a dosing session's go / no-go lines, vital-sign times and
thresholds, escalations, discharge and REMS.

Sources: kaptools/sources.toml §2.1, §2.2, §4.7, §4.8, §5.3, §5.4, §7 (cited per value in
``default.toml``).
"""

from __future__ import annotations

from typing import Annotated

from pydantic import Field, StringConstraints, field_validator, model_validator

from kaptools.protocol._common import Section, Source, Threshold, positive, whole
from kaptools.vocabulary import CssrsQuestion

__all__ = ["Escalation", "MonitoringSection", "NameList"]

Label = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1)]


class NameList(Section):
    """Several named categories (e.g. C-SSRS questions) a rule applies to, with its source."""

    values: tuple[Label, ...] = Field(min_length=1)
    source: Source


class Escalation(Section):
    """What to do when a rule fires: the steps, in words, and where they come from."""

    action: Label
    source: Source


class MonitoringSection(Section):
    """Dosing-session monitoring: go / no-go, vital-sign times and lines, discharge, REMS.

    Hold lines ("at or above" / "below") stop a dose before it is given and make any
    later reading an urgent flag; review lines ask for a clinician's review.
    """

    pre_dose_systolic_review_above: Threshold
    """Pre-dose systolic BP above this is highlighted for clinician review."""
    pre_dose_diastolic_review_above: Threshold
    systolic_hold_at_or_above: Threshold
    """Systolic BP at or above this: hold before the dose; urgent after it."""
    diastolic_hold_at_or_above: Threshold
    heart_rate_hold_below: Threshold
    heart_rate_hold_above: Threshold
    heart_rate_review_below: Threshold
    heart_rate_review_above: Threshold
    spo2_hold_below: Threshold
    spo2_review_below: Threshold
    """Pre-dose SpO2 below this: review; discharge needs SpO2 at or above it."""
    respiratory_rate_hold_below: Threshold
    """After the dose, a respiratory rate below this is urgent."""
    urgent_recheck_minutes: Threshold
    """After an urgent reading, recheck within this many minutes."""
    systolic_rise_flag_min: Threshold
    """A rise of at least this much over the pre-dose systolic BP is flagged."""
    diastolic_rise_flag_min: Threshold
    post_dose_check_minutes: Threshold
    """When the post-dose blood pressure is due, in minutes after dosing."""
    post_dose_check_tolerance_minutes: Threshold
    infusion_vitals_interval_minutes: Threshold
    """During an infusion, vitals are taken this often."""
    esketamine_observation_min_minutes: Threshold
    """Esketamine: minimum observation counted from the dose (first device)."""
    iv_observation_after_infusion_min_minutes: Threshold
    """IV: minimum observation counted from the end of the infusion."""
    im_observation_min_minutes: Threshold
    """IM: minimum observation counted from the injection."""
    sedation_review_moaa_s_at_or_below: Threshold
    """A MOAA/S rating at or below this is a review flag."""
    sedation_urgent_moaa_s_at_or_below: Threshold
    """A MOAA/S rating at or below this is urgent (0 = loss of consciousness)."""
    cssrs_hold_questions: NameList
    """C-SSRS questions (since the last visit) whose "yes" holds the dose."""
    cssrs_review_questions: NameList
    """C-SSRS questions (since the last visit) whose "yes" needs clinician review."""
    urgent_vitals_escalation: Escalation
    hypertensive_crisis_escalation: Escalation
    suicidal_thoughts_escalation: Escalation
    dose_plan_deviation_reason_above_pct: Threshold
    """A dose more than this % from the planned dose needs a written reason."""
    rems_form_due_days: Threshold
    """The REMS Patient Monitoring Form is due within this many calendar days."""

    @field_validator(
        "pre_dose_systolic_review_above",
        "pre_dose_diastolic_review_above",
        "systolic_hold_at_or_above",
        "diastolic_hold_at_or_above",
        "heart_rate_hold_below",
        "heart_rate_hold_above",
        "heart_rate_review_below",
        "heart_rate_review_above",
        "spo2_hold_below",
        "spo2_review_below",
        "respiratory_rate_hold_below",
        "urgent_recheck_minutes",
        "systolic_rise_flag_min",
        "diastolic_rise_flag_min",
        "post_dose_check_minutes",
        "infusion_vitals_interval_minutes",
        "esketamine_observation_min_minutes",
        "iv_observation_after_infusion_min_minutes",
        "im_observation_min_minutes",
        "dose_plan_deviation_reason_above_pct",
        "rems_form_due_days",
    )
    @classmethod
    def _positive_value(cls, t: Threshold) -> Threshold:
        return positive(t, what="a monitoring threshold")

    @field_validator(
        "post_dose_check_tolerance_minutes",
        "sedation_review_moaa_s_at_or_below",
        "sedation_urgent_moaa_s_at_or_below",
    )
    @classmethod
    def _non_negative(cls, t: Threshold) -> Threshold:
        return whole(t, minimum=0, what="a tolerance or rating")

    @field_validator("cssrs_hold_questions", "cssrs_review_questions")
    @classmethod
    def _cssrs_known(cls, v: NameList) -> NameList:
        known = {q.value for q in CssrsQuestion}
        bad = [x for x in v.values if x not in known]
        if bad:
            msg = f"unknown C-SSRS question(s) {bad}; use {sorted(known)}"
            raise ValueError(msg)
        return v

    @model_validator(mode="after")
    def _lines_ordered(self) -> MonitoringSection:
        pairs = [
            ("pre_dose_systolic_review_above", "systolic_hold_at_or_above"),
            ("pre_dose_diastolic_review_above", "diastolic_hold_at_or_above"),
            ("heart_rate_hold_below", "heart_rate_review_below"),
            ("heart_rate_review_below", "heart_rate_review_above"),
            ("heart_rate_review_above", "heart_rate_hold_above"),
            ("spo2_hold_below", "spo2_review_below"),
            ("sedation_urgent_moaa_s_at_or_below", "sedation_review_moaa_s_at_or_below"),
        ]
        for low, high in pairs:
            a, b = getattr(self, low).value, getattr(self, high).value
            if not a <= b:
                msg = f"{low} ({a}) must not be above {high} ({b}); fix one of them"
                raise ValueError(msg)
        overlap = set(self.cssrs_hold_questions.values) & set(self.cssrs_review_questions.values)
        if overlap:
            msg = (
                f"C-SSRS question(s) {sorted(overlap)} are in both cssrs_hold_questions and "
                "cssrs_review_questions; keep each in one"
            )
            raise ValueError(msg)
        return self
