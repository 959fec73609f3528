"""Every exception and warning kaptools raises, in one tree.

KaptoolsError                      base of everything kaptools raises
├── InvalidInputError(ValueError)  a value is wrong: out of range, wrong type,
│   │                              unknown code. The message names the field,
│   │                              the rule, the value received and the fix.
│   ├── UnknownInstrumentError     no such symptom measure
│   ├── InvalidAnswerError         an item answer outside the instrument's range
│   ├── ProtocolError              a protocol file that fails its schema
│   ├── RecordError                a screening / session record that fails its schema
│   ├── ArgumentTypeError(TypeError)  a public function's argument of the wrong type
│   │                              (or unknown, or missing): nothing was done
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

An InvalidInputError carries its facts as well as its message: ``problems`` holds one
:class:`Problem` per thing wrong (field path, rule, value received, fix; also in
``args`` after the message, as attrs' validators pass theirs), and ``field``, ``rule``,
``value`` and ``fix`` read the first. :func:`problems_from_validation` is the one
reading of a pydantic ValidationError and :func:`format_problems` the one message
layout: the screening and session records, the protocol loader, the eligibility form
and the command line all go through them.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Self

__all__ = [
    "NOT_GIVEN",
    "PYDANTIC_FIXES",
    "AccessDeniedError",
    "ArgumentTypeError",
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
    "Problem",
    "ProtocolError",
    "RecordError",
    "StaleVersionError",
    "StoreError",
    "UnknownInstrumentError",
    "dotted_path",
    "format_problems",
    "human_path",
    "problems_from_validation",
    "shown_value",
]


class KaptoolsError(Exception):
    """Base class of every error kaptools raises."""


class InvalidInputError(KaptoolsError, ValueError):
    """A value is invalid. The message names the field, rule, value and fix.

    ``problems`` holds the same facts as :class:`Problem` records (empty when the
    raiser wrote only a message); they follow the message in ``args``.
    """

    def __init__(self, message: str, *problems: Problem):
        super().__init__(message, *problems)
        self.problems: tuple[Problem, ...] = problems
        first = problems[0] if problems else None
        self.field: str | None = first.field if first else None
        """The first problem's field path (None when the error carries no structure)."""
        self.rule: str | None = first.rule if first else None
        """The first problem's rule: what the value breaks."""
        self.value: Any = first.value if first else NOT_GIVEN
        """The first problem's value received (:data:`NOT_GIVEN` when it was missing)."""
        self.fix: str | None = first.fix if first else None
        """The first problem's fix: what the caller should do."""

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else ""

    @classmethod
    def of(cls, subject: str, problems: Iterable[Problem]) -> Self:
        """The error for ``problems``, its message laid out by :func:`format_problems`."""
        listed = tuple(problems)
        return cls(format_problems(subject, listed), *listed)


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


class ArgumentTypeError(InvalidInputError, TypeError):
    """A public function was given an argument of the wrong type, an argument it does not
    have, or not one it requires; nothing was done (issue 13: kaptools.arguments).

    ``function``, ``argument`` and ``expected`` name the call, the parameter and what it
    needs; the problem (``field`` = the argument) carries the value and the fix. Also a
    ``TypeError``, so code that catches Python's own error for a wrong type still does.
    """

    def __init__(
        self, message: str, *problems: Problem, function: str, argument: str, expected: str
    ):
        super().__init__(message, *problems)
        self.function = function
        self.argument = argument
        self.expected = expected


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


# ---------------------------------------------------------------------------
# Structure: what is wrong, where, with which value, and how to fix it


class _NotGiven:
    """The value of a field that was not given at all (not the same as None)."""

    def __repr__(self) -> str:
        return "NOT_GIVEN"

    def __reduce__(self) -> str:
        return "NOT_GIVEN"  # unpickled as the one module-level marker


NOT_GIVEN: Any = _NotGiven()
""":attr:`Problem.value` of a field that was missing from the input."""

VALUE_SHOWN_MAX_CHARS = 60
"""Longest value repeated in an error message; a longer one is cut with its length."""


def shown_value(value: object, limit: int = VALUE_SHOWN_MAX_CHARS) -> str:
    """``repr(value)`` for a message, cut to ``limit`` characters with the full length given."""
    if isinstance(value, int) and not isinstance(value, bool) and abs(value) > 10**40:
        return f"a {len(str(abs(value)))}-digit number"
    text = repr(value)
    if len(text) <= limit:
        return text
    return f"{text[: limit - 10]}... ({len(text):,} characters)"


@dataclass(frozen=True)
class Problem:
    """One thing wrong with an input, as facts a caller can act on.

    ``field`` is the path as the input's author writes it (``antidepressant_trials[2].weeks``,
    ``courses.iv_ketamine.phases.0``), ``loc`` the same path as a tuple of keys and
    0-based indexes, ``rule`` what the value breaks, ``value`` what was received
    (:data:`NOT_GIVEN` when it was missing), ``fix`` what to do, ``line`` the line in
    a file when known, ``kind`` pydantic's error type when the problem came from one.
    """

    field: str
    rule: str
    value: Any = NOT_GIVEN
    fix: str = ""
    loc: tuple[str | int, ...] = ()
    line: int | None = None
    kind: str = ""

    def __str__(self) -> str:
        where = f"{self.field} (line {self.line})" if self.line else self.field
        shown = self.value is not NOT_GIVEN and not isinstance(self.value, dict | list)
        got = f" (got {shown_value(self.value)})" if shown else ""
        fix = f"; fix: {self.fix}" if self.fix else ""
        return f"{where}: {self.rule}{got}{fix}"


def format_problems(subject: str, problems: Iterable[Problem]) -> str:
    """The one message layout: ``<subject> is invalid: <problem>; <problem>.``"""
    listed = "; ".join(str(p) for p in problems)
    return f"{subject} is invalid: {listed}."


PYDANTIC_FIXES = {
    "missing": "supply it",
    "extra_forbidden": "remove it or correct its spelling (see the schema)",
    "enum": "use one of the listed values",
    "literal_error": "use one of the listed values",
    "int_parsing": "enter a whole number",
    "int_from_float": "enter a whole number",
    "int_type": "enter a whole number",
    "float_parsing": "enter a number",
    "float_type": "enter a number",
    "bool_parsing": "answer yes (true) or no (false), or leave it unanswered (null)",
    "date_from_datetime_parsing": "enter a date as YYYY-MM-DD",
    "date_parsing": "enter a date as YYYY-MM-DD",
    "datetime_parsing": "enter a date and time as YYYY-MM-DDTHH:MM",
    "datetime_from_date_parsing": "enter a date and time as YYYY-MM-DDTHH:MM",
    "string_too_short": "enter a value",
    "string_too_long": "shorten it",
    "json_invalid": "correct the JSON syntax",
}
"""What to do about each kind of pydantic error (a caller may pass its own wording)."""


def human_path(loc: Sequence[str | int]) -> str:
    """``loc`` as a record's author writes it: ``antidepressant_trials[2].weeks`` (1-based)."""
    return "".join(
        f"[{p + 1}]" if isinstance(p, int) else (f".{p}" if i else str(p))
        for i, p in enumerate(loc)
    )


def dotted_path(loc: Sequence[str | int]) -> str:
    """``loc`` as a key path: ``courses.iv_ketamine.phases.0`` (0-based, as TOML tables)."""
    return ".".join(str(p) for p in loc)


def problems_from_validation(
    exc: Any,
    *,
    path: Callable[[Sequence[str | int]], str] = human_path,
    top: str = "record",
    fixes: Mapping[str, str] | None = None,
    default_fix: str = "correct the value",
    line_of: Callable[[tuple[str | int, ...]], int | None] | None = None,
) -> tuple[Problem, ...]:
    """The one reading of a pydantic ``ValidationError``: a :class:`Problem` per error.

    ``path`` writes the field path (:func:`human_path` or :func:`dotted_path`), ``top``
    names a record-level problem, ``fixes`` overrides :data:`PYDANTIC_FIXES` (an error
    of another kind gets ``default_fix``; a validator's own message already says how to
    fix it), and ``line_of`` finds a key's line in the source file when there is one.
    """
    table = {**PYDANTIC_FIXES, **(fixes or {})}
    out = []
    for e in exc.errors(include_url=False):
        loc = tuple(e["loc"])
        kind = e["type"]
        rule = e["msg"].removeprefix("Value error, ")
        if kind == "extra_forbidden":
            rule = "unknown field"
        elif kind == "missing":
            rule = "required, but missing"
        elif kind == "json_invalid":
            rule = f"not valid JSON ({e.get('ctx', {}).get('error', 'syntax error')})"
        value = NOT_GIVEN if kind in ("missing", "json_invalid") else e.get("input", NOT_GIVEN)
        out.append(
            Problem(
                field=path(loc) or top,
                rule=rule,
                value=value,
                fix=table.get(kind, "" if kind == "value_error" else default_fix),
                loc=loc,
                line=line_of(loc) if line_of else None,
                kind=kind,
            )
        )
    return tuple(out)
