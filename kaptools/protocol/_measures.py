"""The ``[measures]`` table: clinic-adjustable thresholds for symptom measures.

Instrument facts (items, ranges, bands, LOINC codes) are not clinic policy and
live in ``kaptools/scores/instruments.toml``; what a clinic may tune lives here.
"""

from __future__ import annotations

from kaptools.protocol._common import Section, Threshold

__all__ = ["MeasuresSection"]


class MeasuresSection(Section):
    """Alert and outcome thresholds applied to every score."""

    phq9_item9_alert_min: Threshold
    """PHQ-9 item 9 answer at or above which the suicide-risk alert is raised."""
    response_reduction_min: Threshold
    """Fraction of the baseline total a score must fall by to count as response."""
    worsening_increase_min: Threshold
    """Points a total must rise by, against baseline, to count as worsening."""
