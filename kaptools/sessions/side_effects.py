"""Side effects a dosing session can log, each with a severity.

The list is the project's seed list (nausea, dizziness, drowsiness, vomiting,
dissociation, double vision) plus the adverse events of the esketamine label's
pooled short-term trials; ``side_effects.csv`` holds each one's label,
frequencies and source, and a test keeps it in step with :class:`SideEffect`.

References:
    kaptools/sources.toml §5.1 (label frequencies), §5.2 (the seed list mapped to sources).
"""

from __future__ import annotations

import csv
import enum
import functools
from dataclasses import dataclass
from importlib import resources

from kaptools.errors import InvalidInputError
from kaptools.printer import escape

__all__ = [
    "Escalation",
    "Severity",
    "SideEffect",
    "SideEffectInfo",
    "SideEffectReport",
    "side_effect_table",
]


class Escalation(enum.StrEnum):
    """The escalation a side effect triggers; its steps are in the protocol's ``[monitoring]``."""

    SUICIDAL_THOUGHTS = "suicidal_thoughts"
    """``monitoring.suicidal_thoughts_escalation`` (label boxed warning [2.1]; [4.8, 7])."""
    HYPERTENSIVE_CRISIS = "hypertensive_crisis"
    """``monitoring.hypertensive_crisis_escalation``: emergency care now (label [2.1])."""


class SideEffect(enum.StrEnum):
    """A side effect (seed list [5.2] and SPRAVATO label adverse events [5.1]).

    Labels, frequencies and sources per member: :func:`side_effect_table`.
    """

    NAUSEA = "nausea"
    DIZZINESS = "dizziness"
    DROWSINESS = "drowsiness"
    VOMITING = "vomiting"
    DISSOCIATION = "dissociation"
    DOUBLE_VISION = "double_vision"
    VERTIGO = "vertigo"
    HEADACHE = "headache"
    DYSGEUSIA = "dysgeusia"
    HYPOAESTHESIA = "hypoaesthesia"
    ANXIETY = "anxiety"
    LETHARGY = "lethargy"
    BLOOD_PRESSURE_INCREASED = "blood_pressure_increased"
    INSOMNIA = "insomnia"
    DIARRHOEA = "diarrhoea"
    NASAL_DISCOMFORT = "nasal_discomfort"
    THROAT_IRRITATION = "throat_irritation"
    FEELING_DRUNK = "feeling_drunk"
    DRY_MOUTH = "dry_mouth"
    HYPERHIDROSIS = "hyperhidrosis"
    EUPHORIC_MOOD = "euphoric_mood"
    DYSARTHRIA = "dysarthria"
    TREMOR = "tremor"
    MENTAL_IMPAIRMENT = "mental_impairment"
    CONSTIPATION = "constipation"
    POLLAKIURIA = "pollakiuria"
    FEELING_ABNORMAL = "feeling_abnormal"
    TACHYCARDIA = "tachycardia"
    SUICIDAL_THOUGHTS = "suicidal_thoughts"
    """Escalates: immediate risk assessment (label boxed warning [2.1]; C-SSRS [4.8, 7])."""
    CHEST_PAIN = "chest_pain"
    """A hypertensive-crisis symptom: emergency care now (label [2.1])."""
    SHORTNESS_OF_BREATH = "shortness_of_breath"
    """A hypertensive-crisis symptom: emergency care now (label [2.1])."""
    SUDDEN_SEVERE_HEADACHE = "sudden_severe_headache"
    """A hypertensive-crisis symptom: emergency care now (label [2.1])."""
    VISUAL_DISTURBANCE = "visual_disturbance"
    """A hypertensive-crisis symptom: emergency care now (label [2.1])."""
    SEIZURE = "seizure"
    """A hypertensive-encephalopathy symptom: emergency care now (label [2.1])."""
    REDUCED_CONSCIOUSNESS = "reduced_consciousness"
    """A hypertensive-encephalopathy symptom: emergency care now (label [2.1])."""
    FOCAL_NEUROLOGICAL_DEFICIT = "focal_neurological_deficit"
    """A hypertensive-encephalopathy symptom: emergency care now (label [2.1])."""
    OTHER = "other"
    """Anything not listed: the report's note must say what."""

    @property
    def info(self) -> SideEffectInfo:
        return side_effect_table()[self]

    @property
    def label(self) -> str:
        return self.info.label


class Severity(enum.StrEnum):
    """How bad a side effect was: the three-level intensity grading of adverse-event reports.

    Mild, moderate and severe follow the usual adverse-event wording (CTCAE grades
    1–3: no limit on activity / some limit / prevents usual activity); whether an
    event was *serious* is recorded separately on the session (REMS form [2.2]).
    """

    MILD = "mild"
    """Noticed, but does not get in the way."""
    MODERATE = "moderate"
    """Gets in the way of usual activity; may need simple treatment."""
    SEVERE = "severe"
    """Prevents usual activity or needs treatment."""


@dataclass(frozen=True, slots=True)
class SideEffectInfo:
    """One row of ``side_effects.csv``."""

    effect: SideEffect
    label: str
    seed_list: bool
    esketamine_pct: float | None
    placebo_pct: float | None
    source: str
    escalation: Escalation | None = None
    """Set when recording this effect must trigger the protocol's escalation steps."""


@functools.cache
def side_effect_table() -> dict[SideEffect, SideEffectInfo]:
    """Every side effect with its label, label frequencies and source."""
    text = (resources.files("kaptools.sessions") / "side_effects.csv").read_text("utf-8")
    out: dict[SideEffect, SideEffectInfo] = {}
    for row in csv.DictReader(text.splitlines()):
        effect = SideEffect(row["code"])
        out[effect] = SideEffectInfo(
            effect,
            row["label"],
            row["seed_list"] == "yes",
            float(row["esketamine_pct"]) if row["esketamine_pct"] else None,
            float(row["placebo_pct"]) if row["placebo_pct"] else None,
            row["source"],
            Escalation(row["escalation"]) if row["escalation"] else None,
        )
    return out


@dataclass(frozen=True, slots=True)
class SideEffectReport:
    """A side effect seen at a session, with its severity (and a note; required for OTHER)."""

    effect: SideEffect
    severity: Severity
    note: str = ""

    def __post_init__(self) -> None:
        try:
            object.__setattr__(self, "effect", SideEffect(self.effect))
        except ValueError:
            msg = (
                f"side_effects.effect: {self.effect!r} is not a listed side effect; use one of "
                f"{[e.value for e in SideEffect]} ('other' with a note for anything else)"
            )
            raise InvalidInputError(msg) from None
        try:
            object.__setattr__(self, "severity", Severity(self.severity))
        except ValueError:
            msg = (
                f"side_effects.severity: {self.severity!r} is not a severity; use one of "
                f"{[s.value for s in Severity]}"
            )
            raise InvalidInputError(msg) from None
        if self.effect is SideEffect.OTHER and not str(self.note).strip():
            msg = "side_effects.note: an 'other' side effect needs a note saying what it was"
            raise InvalidInputError(msg)

    @property
    def summary(self) -> str:
        note = f" ({self.note})" if self.note else ""
        return f"{self.effect.label}: {self.severity.value}{note}"

    def _repr_html_(self) -> str:
        return f"<span class='kap-side-effect'>{escape(self.summary)}</span>"
