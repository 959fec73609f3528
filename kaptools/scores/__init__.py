"""Symptom measures: item-level scoring of PHQ-9, GAD-7, PCL-5, QIDS-SR16 and MADRS.

Instrument facts (items, ranges, bands, remission rules, MCIDs, LOINC codes and,
for the public-domain instruments, item wording) live once, in
``instruments.toml`` beside this module; ``README.md`` describes its columns and
sources. What a clinic may tune (suicide-item alert thresholds, the response
fraction, worsening points) comes from the protocol's ``[measures]`` table.

    >>> from kaptools.scores import score, compare
    >>> baseline = score("PHQ-9", [3, 3, 2, 2, 2, 2, 2, 2, 1])
    >>> baseline.total, baseline.band.label, [a.rule_id for a in baseline.alerts]
    (19, 'moderately severe', ['phq9_item9'])
    >>> compare(baseline, score("phq9", [1, 1, 1, 1, 1, 0, 0, 0, 0])).response
    True

Scores are decision support: a flag or a band "meets the criteria" of a published
rule; it is not a diagnosis. Safety alerts are always shown, apart from any band.
"""

from __future__ import annotations

from kaptools.arguments import check_exports as _check_exports
from kaptools.scores._answers import NAN_FIX, is_nan
from kaptools.scores._change import Change, TotalsChange, change_of_totals, compare
from kaptools.scores._definitions import (
    Band,
    ClusterRule,
    Combine,
    Comparison,
    Cutoff,
    Instrument,
    InstrumentDefinition,
    LoincCodes,
    Mcid,
    Rater,
    RemissionRule,
    SafetyItem,
    Subscale,
)
from kaptools.scores._frame import score_frame
from kaptools.scores._items import (
    item_column,
    item_columns,
    legacy_item_columns,
    with_item_columns,
)
from kaptools.scores._result import ScoreResult
from kaptools.scores._scoring import (
    AnswersCheck,
    check_administration,
    safety_threshold,
    score,
    suicide_item_alerts,
)
from kaptools.scores._table import definition

__all__ = [
    "NAN_FIX",
    "AnswersCheck",
    "Band",
    "Change",
    "ClusterRule",
    "Combine",
    "Comparison",
    "Cutoff",
    "Instrument",
    "InstrumentDefinition",
    "LoincCodes",
    "Mcid",
    "Rater",
    "RemissionRule",
    "SafetyItem",
    "ScoreResult",
    "Subscale",
    "TotalsChange",
    "change_of_totals",
    "check_administration",
    "compare",
    "definition",
    "is_nan",
    "item_column",
    "item_columns",
    "legacy_item_columns",
    "safety_threshold",
    "score",
    "score_frame",
    "suicide_item_alerts",
    "with_item_columns",
]

# Every function listed above refuses wrong argument types by name (issue 13).
_check_exports(globals())
