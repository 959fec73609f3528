"""The words every layer of kaptools shares: statuses, severities, routes, identifiers.

One public module, at the bottom of the package (it imports nothing of kaptools but
the alert levels), so the protocol, the domain packages, the store and the
dashboards all name a route, a severity or a status the same way and none of them
reaches into another package's private file (as icalendar keeps its enums in
``enums.py``). The packages that own a concept re-export its words
(``kaptools.screening.Severity`` is ``kaptools.vocabulary.Severity``).

Contents:

- routes and course structure: :class:`Route`, :class:`CoursePhase`,
  :class:`IntegrationPlace`, :class:`SessionStatus`;
- screening: :class:`ScreeningStatus`, :class:`Severity`, :class:`Answer`,
  :class:`Sex`, :class:`TrialOutcome`, :class:`StopReason`, :class:`CssrsQuestion`;
- safety alerts: :class:`AlertLevel` (defined in :mod:`kaptools.alerts`);
- identifiers: :data:`PATIENT_ID_PATTERN`, :func:`is_patient_id`;
- :data:`NO_ANSWER`, the one value a form's "not answered" choice holds.
"""

from __future__ import annotations

import enum
import re

from kaptools.alerts import AlertLevel

__all__ = [
    "NO_ANSWER",
    "PATIENT_ID_PATTERN",
    "PATIENT_ID_RE",
    "AlertLevel",
    "Answer",
    "CoursePhase",
    "CssrsQuestion",
    "IntegrationPlace",
    "Route",
    "ScreeningStatus",
    "SessionStatus",
    "Severity",
    "Sex",
    "StopReason",
    "TrialOutcome",
    "is_patient_id",
]


# ---------------------------------------------------------------------------
# Identifiers and markers

PATIENT_ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,39}$"
"""A patient id: a letter or digit, then up to 39 letters, digits, ``_``, ``.`` or ``-``
(``SYN-0003``). The store refuses any other id and the dashboards refuse it in a URL."""

PATIENT_ID_RE = re.compile(PATIENT_ID_PATTERN)


def is_patient_id(value: object) -> bool:
    """Whether ``value`` is a string of the patient-id form (:data:`PATIENT_ID_PATTERN`)."""
    # fullmatch: "$" alone also matches before a trailing line break ("SYN-1\n")
    return isinstance(value, str) and PATIENT_ID_RE.fullmatch(value) is not None


NO_ANSWER = ""
"""The value of a form's "not answered" / "not asked" choice. A widget cannot show None
as a choice, so every form uses this one marker and reads it back as None (unknown is
never "no")."""


# ---------------------------------------------------------------------------
# Routes and courses


class Route(enum.StrEnum):
    """How the drug is given (kaptools/sources.toml §3.1, §3.2, §3.4)."""

    IV_KETAMINE = "iv_ketamine"
    """Racemic ketamine by intravenous infusion, weight-based (off-label) [3.1]."""
    IM_KETAMINE = "im_ketamine"
    """Racemic ketamine by intramuscular injection, weight-based (off-label) [3.2]."""
    ESKETAMINE_NASAL = "esketamine_nasal"
    """Esketamine nasal spray (SPRAVATO), fixed doses on the US label schedule [2.1, 3.4]."""


class CoursePhase(enum.StrEnum):
    """A block of dosing sessions with one rhythm (kaptools/sources.toml §3.1, §3.4)."""

    INDUCTION = "induction"
    """The first block of doses (esketamine weeks 1–4; IV/IM the 6-dose series) [3.1, 3.4]."""
    MAINTENANCE = "maintenance"
    """Esketamine weeks 5–8, once a week [3.4]."""
    CONTINUATION = "continuation"
    """Esketamine week 9 onward: every 2 weeks or weekly, the least frequent that holds [3.4]."""
    BOOSTER = "booster"
    """Booster doses after an IV/IM induction, often every 2–6 weeks (clinic practice) [3.1]."""


class IntegrationPlace(enum.StrEnum):
    """Where an integration session is held (default protocol "Integration and rhythm")."""

    CLINIC = "clinic"
    """In the clinic, on an open clinic day after the dose [3.5]."""
    VIDEO = "video"
    """By video, on a day the therapist's own calendar is open (the clinic may be closed)."""
    BEFORE_NEXT_DOSE = "before_next_dose"
    """In the clinic on the day of the next dose, before it (only when the protocol allows)."""


class SessionStatus(enum.StrEnum):
    """Where a session of a plan stands."""

    PLANNED = "planned"
    """On the plan, not yet held."""
    DONE = "done"
    """Dated before the re-planning date and not reported missed: it stays as it was."""
    MISSED = "missed"
    """Reported missed; kept on the plan as history, and re-planned where still needed."""


# ---------------------------------------------------------------------------
# Screening


class ScreeningStatus(enum.StrEnum):
    """The outcome of screening, by precedence (default protocol, "Screening statuses").

    Any exclusion gives ``not_eligible`` whatever else is missing; otherwise a
    missing required answer gives ``incomplete``; otherwise any caution gives
    ``eligible_with_cautions``; otherwise ``eligible``. Safety alerts are separate.
    """

    NOT_ELIGIBLE = "not_eligible"
    INCOMPLETE = "incomplete"
    ELIGIBLE_WITH_CAUTIONS = "eligible_with_cautions"
    ELIGIBLE = "eligible"

    @property
    def label(self) -> str:
        """How the status reads to a clinician: decision support, never a decision."""
        return _STATUS_LABELS[self]


_STATUS_LABELS = {
    ScreeningStatus.NOT_ELIGIBLE: "Does not meet the protocol's criteria",
    ScreeningStatus.INCOMPLETE: "Incomplete: answers needed before the criteria can be judged",
    ScreeningStatus.ELIGIBLE_WITH_CAUTIONS: "Meets the protocol's criteria, with cautions",
    ScreeningStatus.ELIGIBLE: "Meets the protocol's criteria",
}


class Severity(enum.StrEnum):
    """How a finding weighs on the screening status (default protocol, "Screening statuses")."""

    EXCLUSION = "exclusion"
    """The patient does not meet the protocol's criteria (status ``not_eligible``)."""
    MISSING = "missing"
    """A required answer is unknown: the status is ``incomplete`` unless excluded."""
    CAUTION = "caution"
    """Meets the criteria with a caution the clinician must weigh."""
    INFO = "info"
    """Shown for context; does not change the status."""

    @property
    def rank(self) -> int:
        """Display order: exclusions first, information last."""
        return _SEVERITY_RANK[self]


_SEVERITY_RANK = {Severity.EXCLUSION: 0, Severity.MISSING: 1, Severity.CAUTION: 2, Severity.INFO: 3}


class Answer(enum.StrEnum):
    """An answer to a yes/no question. Unknown is never "no" (default protocol)."""

    YES = "yes"
    NO = "no"
    UNKNOWN = "unknown"


class Sex(enum.StrEnum):
    """Sex as recorded for clinical purposes; decides whether pregnancy status is required.

    Pregnancy and breastfeeding answers are required for anyone who could be
    pregnant: every value but ``male`` (default protocol, "Required answers").
    """

    FEMALE = "female"
    MALE = "male"
    OTHER = "other"
    UNKNOWN = "unknown"


class TrialOutcome(enum.StrEnum):
    """Outcome of an antidepressant trial [1.1, 1.2]. Partial response = under 50 % improvement."""

    NO_RESPONSE = "no_response"
    PARTIAL_RESPONSE = "partial_response"
    RESPONSE = "response"
    REMISSION = "remission"
    UNKNOWN = "unknown"


class StopReason(enum.StrEnum):
    """Why an antidepressant trial ended (ATHF: reason for change [1.2])."""

    ONGOING = "ongoing"
    """Still taking it."""
    LACK_OF_EFFECT = "lack_of_effect"
    INTOLERANCE = "intolerance"
    """Stopped for side effects: not a failed adequate trial [1.1, 1.2]."""
    OTHER = "other"
    UNKNOWN = "unknown"


class CssrsQuestion(enum.StrEnum):
    """The C-SSRS screener questions, in order [4.8].

    Questions 1–5 ask about the past month. Question 6 asks about suicidal behaviour
    over a lifetime and, when "yes", whether it was in the past 3 months: the two
    parts are two answers here. Questions 3–5 are asked only when question 2 is "yes".
    """

    WISH_TO_BE_DEAD = "wish_to_be_dead"
    ACTIVE_THOUGHTS = "active_thoughts"
    METHOD = "method"
    INTENT = "intent"
    PLAN = "plan"
    BEHAVIOUR_LIFETIME = "behaviour_lifetime"
    """Question 6: any suicidal behaviour, ever (lifetime)."""
    BEHAVIOUR_PAST_3_MONTHS = "behaviour_past_3_months"
    """Question 6, follow-up: was it in the past 3 months."""

    @property
    def asked_only_after_active_thoughts(self) -> bool:
        """Questions 3–5 are skipped when question 2 (active thoughts) is "no" [4.8]."""
        return self in (CssrsQuestion.METHOD, CssrsQuestion.INTENT, CssrsQuestion.PLAN)
