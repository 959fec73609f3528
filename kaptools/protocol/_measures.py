"""The ``[measures]`` table: clinic-adjustable thresholds for symptom measures.

Instrument facts (items, ranges, bands, remission rules, LOINC codes) are not
clinic policy and live in ``kaptools/scores/instruments.toml``; what a clinic may
tune lives here. Whether an item threshold fits its instrument's answer range is
checked where the instrument is known, when a score is computed.
"""

from __future__ import annotations

from pydantic import field_validator

from kaptools.protocol._common import Section, Threshold

__all__ = ["MeasuresSection"]


class MeasuresSection(Section):
    """Alert and outcome thresholds applied to every score."""

    phq9_item9_alert_min: Threshold
    """PHQ-9 item 9 answer at or above which the suicide-risk alert is raised."""
    qids_sr16_item12_alert_min: Threshold
    """QIDS-SR16 item 12 (thoughts of death or suicide) answer that raises the same alert."""
    madrs_item10_alert_min: Threshold
    """MADRS item 10 (suicidal thoughts) rating that raises the same alert."""
    response_reduction_min: Threshold
    """Fraction of the baseline total a score must fall by to count as response."""
    worsening_increase_min: Threshold
    """Points a total must rise by, against baseline, to count as worsening."""

    @field_validator("phq9_item9_alert_min", "qids_sr16_item12_alert_min", "madrs_item10_alert_min")
    @classmethod
    def _item_answer(cls, t: Threshold) -> Threshold:
        if not float(t.value).is_integer() or t.value < 1:
            msg = (
                f"an item alert threshold must be a whole item answer of at least 1 "
                f"(got {t.value}); 1 alerts on any endorsement"
            )
            raise ValueError(msg)
        return t

    @field_validator("response_reduction_min")
    @classmethod
    def _fraction(cls, t: Threshold) -> Threshold:
        if not 0 < t.value <= 1:
            msg = (
                f"the response reduction is a fraction of the baseline total, above 0 and "
                f"at most 1 (got {t.value}); write 0.5 for 50 %"
            )
            raise ValueError(msg)
        return t

    @field_validator("worsening_increase_min")
    @classmethod
    def _points(cls, t: Threshold) -> Threshold:
        if not float(t.value).is_integer() or t.value < 1:
            msg = f"the worsening threshold is a whole number of points, at least 1 (got {t.value})"
            raise ValueError(msg)
        return t
