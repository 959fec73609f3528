"""Turning what a caller passes as item answers into checked integers, or a clear error.

Accepted: a sequence (list, tuple, 1-D numpy array, pandas Series) with one answer
per item in item order, or a mapping from 1-based item number to answer. An answer
is an ``int`` or numpy integer; an integral float (``2.0``) is accepted as that
integer. An unanswered item is said explicitly: ``None``, ``pd.NA`` or an absent
mapping key. NaN is *not* "unanswered" (issue 13): a NaN is what a failed conversion
or a lost cell looks like, so it is refused like every other non-answer: ±inf,
bools, ``1.5``, text (``"2"``, full-width ``"２"``), and values outside the item's
range. Frames whose NaN mark gaps say so (``score_frame(..., nan_is_unanswered=True)``).

When something is invalid the first invalid item (in item order) is reported, before
any missing ones: a wrong value is an error to fix, a gap is something still to
supply. No partial total is ever computed.
"""

from __future__ import annotations

import math
import sys
from collections.abc import Iterable, Mapping, Sequence, Set
from typing import cast

from kaptools.arguments import numpy_types
from kaptools.errors import IncompleteAnswersError, InvalidAnswerError
from kaptools.scores._definitions import InstrumentDefinition

__all__ = [
    "NAN_FIX",
    "check_answers",
    "check_partial_answers",
    "is_nan",
    "missing_items_message",
]

_ABSENT = object()


def _pandas_value(value: object, name: str) -> bool:
    """``value`` is pandas' ``name`` (``NA``) or an instance of it (``Series``). pandas is
    not imported for this: without it loaded no pandas value exists (issue 14)."""
    pd = sys.modules.get("pandas")
    if pd is None:
        return False
    thing = getattr(pd, name)
    return value is thing or (isinstance(thing, type) and isinstance(value, thing))


def _is_missing(value: object) -> bool:
    """The explicit "unanswered" markers: None, pd.NA, an absent mapping key (never NaN)."""
    return value is None or value is _ABSENT or _pandas_value(value, "NA")


def is_nan(value: object) -> bool:
    """True for a float NaN (Python or numpy), which is never an answer nor a gap."""
    return isinstance(value, (float, *numpy_types("floating"))) and math.isnan(cast("float", value))


NAN_FIX = (
    "NaN is not an answer and does not mean unanswered: mark an unanswered item with None "
    "(or leave its key out of a mapping)."
)
"""The fix named when NaN is given as an answer (frames: see score_frame)."""


def _as_int(value: object) -> int | None:
    """``value`` as an int when it is a whole number that is not a bool; otherwise None."""
    if isinstance(value, (bool, *numpy_types("bool_"))):
        return None
    if isinstance(value, (int, *numpy_types("integer"))):
        return int(cast("int", value))
    if (
        isinstance(value, (float, *numpy_types("floating")))
        and float(cast("float", value)).is_integer()
    ):
        return int(cast("float", value))
    return None


def _describe(value: object) -> str:
    return f"{value!r} ({type(value).__name__})"


def _fix_for(value: object) -> str:
    if isinstance(value, str | bytes):
        return "Convert text to a whole number before scoring."
    if isinstance(value, (bool, *numpy_types("bool_"))):
        return "A yes/no value is not an answer: give the item's score."
    if is_nan(value):
        return NAN_FIX
    if isinstance(value, (float, *numpy_types("floating"))):
        return "Answers are whole numbers: re-enter the answer as marked on the form."
    return "Give the item's score as a whole number."


def _check_value(defn: InstrumentDefinition, item: int, value: object) -> int:
    number = _as_int(value)
    if number is not None and defn.item_min <= number <= defn.item_max:
        return number
    rule = f"{defn.name} item {item} must be an integer from {defn.answer_range}"
    if number is None:
        msg = f"{rule}; got {_describe(value)}. {_fix_for(value)}"
    else:
        msg = f"{rule}; got {number}, which is out of range. Check the answer on the form."
    raise InvalidAnswerError(msg, instrument=defn.name, item=item, value=value)


def _item_number(defn: InstrumentDefinition, key: object) -> int:
    number = None if isinstance(key, (bool, *numpy_types("bool_"))) else _as_int(key)
    if isinstance(key, (float, *numpy_types("floating"))):
        number = None  # item numbers are never floats
    if number is not None and 1 <= number <= defn.item_count:
        return number
    msg = (
        f"{defn.name} item numbers run from 1 to {defn.item_count}; got an answer keyed "
        f"{_describe(key)}. Key each answer by its integer item number as printed on the form."
    )
    raise InvalidAnswerError(msg, instrument=defn.name, item=number, value=key)


def _as_list(defn: InstrumentDefinition, answers: object) -> list[object]:
    if isinstance(answers, Mapping):
        keyed: dict[int, object] = {}
        for key, value in answers.items():
            keyed[_item_number(defn, key)] = value
        return [keyed.get(i, _ABSENT) for i in defn.items]
    if (
        not (
            isinstance(answers, (Sequence, *numpy_types("ndarray")))
            or _pandas_value(answers, "Series")
        )
        or isinstance(answers, str | bytes | bytearray)
        or isinstance(answers, Set)
    ):
        msg = (
            f"{defn.name} answers must be a sequence of {defn.item_count} answers in item order "
            f"or a mapping of item number (1–{defn.item_count}) to answer; got "
            f"{type(answers).__name__}."
        )
        raise InvalidAnswerError(msg, instrument=defn.name, item=None, value=answers)
    shape = getattr(answers, "shape", ()) if isinstance(answers, numpy_types("ndarray")) else None
    if shape is not None and len(shape) != 1:
        msg = (
            f"{defn.name} answers must be one-dimensional, one answer per item; "
            f"got an array of shape {shape}."
        )
        raise InvalidAnswerError(msg, instrument=defn.name, item=None, value=answers)
    values = list(cast("Iterable[object]", answers))  # a sequence, array or Series
    if len(values) != defn.item_count:
        msg = (
            f"{defn.name} has {defn.item_count} items; got {len(values)} answers. Give one "
            f"answer per item in item order (None for an unanswered item), or a mapping of "
            f"item number to answer."
        )
        raise InvalidAnswerError(msg, instrument=defn.name, item=None, value=answers)
    return values


def check_partial_answers(defn: InstrumentDefinition, answers: object) -> tuple[int | None, ...]:
    """The answers in item order, each a checked int or None where unanswered.

    Every given answer is checked exactly as :func:`check_answers` checks it; gaps are
    allowed. Used to look at the suicide item of an incomplete administration.

    Raises:
        InvalidAnswerError: wrong container or number of answers, an unknown item
            number, or an answer that is not a whole number in the item's range.
    """
    raw = _as_list(defn, answers)
    return tuple(
        None if _is_missing(value) else _check_value(defn, item, value)
        for item, value in enumerate(raw, start=1)
    )


def missing_items_message(defn: InstrumentDefinition, missing: list[int]) -> str:
    """The message of an IncompleteAnswersError for ``missing`` items."""
    which = ", ".join(map(str, missing))
    noun = "item" if len(missing) == 1 else "items"
    verb = "is" if len(missing) == 1 else "are"
    return (
        f"{defn.name} {noun} {which} {verb} unanswered: a total needs all {defn.item_count} "
        f"answers, so no partial score is computed. Supply the missing {noun}."
    )


def check_answers(defn: InstrumentDefinition, answers: object) -> tuple[int, ...]:
    """The answers as a tuple of ints in item order.

    Raises:
        InvalidAnswerError: wrong container or number of answers, an unknown item
            number, or an answer that is not a whole number in the item's range.
        IncompleteAnswersError: some items are unanswered; ``missing`` lists them.
            (:func:`kaptools.scores.score` adds the suicide-item alerts of the
            answered items to the error it raises.)
    """
    values = check_partial_answers(defn, answers)
    missing = [item for item, value in enumerate(values, start=1) if value is None]
    if missing:
        raise IncompleteAnswersError(
            missing_items_message(defn, missing), instrument=defn.name, missing=missing
        )
    return tuple(v for v in values if v is not None)
