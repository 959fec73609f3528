"""Every exception and warning kaptools raises, in one tree.

KaptoolsError                      base of everything kaptools raises
├── InvalidInputError(ValueError)  a value is wrong: out of range, wrong type,
│   │                              unknown code. The message names the field,
│   │                              the rule, the value received and the fix.
│   ├── UnknownInstrumentError     no such symptom measure
│   ├── InvalidAnswerError         an item answer outside the instrument's range
│   ├── ProtocolError              a protocol file that fails its schema
│   ├── RecordError                a screening / session record that fails its schema
│   └── ConfigurationError         an environment setting that cannot be used
├── IncompleteInputError(ValueError)
│   │                              nothing is wrong, but something required is
│   │                              missing; ``missing`` lists what to supply.
│   └── IncompleteAnswersError     unanswered items of a measure; ``alerts``
│                                  keeps the answered items' safety alerts
├── PlanningError(ValueError)      no valid course plan exists; ``constraint``
│                                  names the rule that cannot be met
├── NotPlannableError              the patient's screening does not allow a plan
├── AccessDeniedError(PermissionError)  the signed-in role may not do this
├── StoreError                     the database refused a write (nothing written)
│   ├── NotFoundError(LookupError) no such patient, record or version
│   └── StaleVersionError          a correction based on a version that is no longer newest
└── InternalError(RuntimeError)    an invariant of kaptools itself failed: a bug to
                                   report, never the caller's input (replaces assert,
                                   which python -O strips)

ClinicalWarning(UserWarning)       a valid result that needs care
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

__all__ = [
    "AccessDeniedError",
    "ClinicalWarning",
    "ConfigurationError",
    "IncompleteAnswersError",
    "IncompleteInputError",
    "InternalError",
    "InvalidAnswerError",
    "InvalidInputError",
    "KaptoolsError",
    "NotFoundError",
    "NotPlannableError",
    "PlanningError",
    "ProtocolError",
    "RecordError",
    "StaleVersionError",
    "StoreError",
    "UnknownInstrumentError",
]


class KaptoolsError(Exception):
    """Base class of every error kaptools raises."""


class InvalidInputError(KaptoolsError, ValueError):
    """A value is invalid. The message names the field, rule, value and fix."""


class UnknownInstrumentError(InvalidInputError):
    """The named symptom measure does not exist."""


class InvalidAnswerError(InvalidInputError):
    """An item answer is not an integer within the instrument's range."""

    def __init__(self, message: str, *, instrument: str, item: int | None, value: object):
        super().__init__(message)
        self.instrument = instrument
        self.item = item
        self.value = value


class ProtocolError(InvalidInputError):
    """A protocol file that cannot be used; the message names the key and line."""


class RecordError(InvalidInputError):
    """A record (screening, dosing session, assessment) that fails validation."""


class ConfigurationError(InvalidInputError):
    """An environment variable or setting that cannot be used."""


class IncompleteInputError(KaptoolsError, ValueError):
    """Required input is missing; ``missing`` names what the caller must supply."""

    def __init__(self, message: str, *, missing: Iterable[object] = ()):
        super().__init__(message)
        self.missing = tuple(missing)


class IncompleteAnswersError(IncompleteInputError):
    """Some items of a measure are unanswered: no partial score is computed.

    ``alerts`` holds the safety alerts the answered items raise (a suicide item at or
    above its alert line raises its alert whatever else is missing): a caller that
    catches this error must still show them.
    """

    def __init__(
        self,
        message: str,
        *,
        instrument: str,
        missing: Iterable[int],
        alerts: Iterable[object] = (),
    ):
        super().__init__(message, missing=missing)
        self.instrument = instrument
        self.alerts: tuple[Any, ...] = tuple(alerts)


class PlanningError(KaptoolsError, ValueError):
    """No plan satisfies the protocol; ``constraint`` names the rule that failed."""

    def __init__(self, message: str, *, constraint: str):
        super().__init__(message)
        self.constraint = constraint


class NotPlannableError(KaptoolsError):
    """The patient's latest screening (or the planner's own gates) do not allow a course.

    ``rule`` names the gate or screening rule that refused (e.g. ``age_under_minimum``).
    """

    def __init__(self, message: str, *, rule: str | None = None):
        super().__init__(message)
        self.rule = rule


class StoreError(KaptoolsError):
    """The database refused a write; the transaction was rolled back."""


class NotFoundError(StoreError, LookupError):
    """No patient, record or version with that identifier."""


class StaleVersionError(StoreError):
    """A correction was based on a version that is no longer the newest; nothing saved.

    ``based_on`` is the version the correction started from, ``current`` the newest
    stored version (``current_author`` / ``current_at`` say who saved it and when).
    """

    def __init__(
        self,
        message: str,
        *,
        record_id: str,
        based_on: int,
        current: int,
        current_author: str = "",
        current_at: object = None,
    ):
        super().__init__(message)
        self.record_id = record_id
        self.based_on = based_on
        self.current = current
        self.current_author = current_author
        self.current_at = current_at


class AccessDeniedError(KaptoolsError, PermissionError):
    """The signed-in person's role does not allow this action; nothing was read or written."""


class InternalError(KaptoolsError, RuntimeError):
    """An invariant kaptools guarantees itself does not hold: a bug, not bad input.

    Raised by explicit checks where an ``assert`` would be stripped by ``python -O``
    (see :func:`kaptools.validation.present`).
    """


class ClinicalWarning(UserWarning):
    """A valid result that needs a clinician's attention."""
