"""Checks shared by every public entry point: argument types and identifier text.

Each raises :class:`~kaptools.errors.InvalidInputError` (or the subclass the caller
passes) naming the argument, the rule, the value received and the fix, so a wrong
argument never surfaces as a TypeError from deep inside, and no library's ``assert``
is ever relied on to catch bad text.
"""

from __future__ import annotations

import datetime as dt
import unicodedata
from typing import Any, TypeVar

from kaptools.errors import InternalError, InvalidInputError, shown_value
from kaptools.limits import entry_range, size_limit

__all__ = [
    "TEXT_MAX_CHARS",
    "check_date_in_range",
    "check_frame_size",
    "check_identifier",
    "check_synthetic_size",
    "check_text_line",
    "check_type",
    "present",
    "shown",
]

_T = TypeVar("_T")


def present(value: _T | None, what: str) -> _T:
    """``value``, which kaptools itself guarantees is not None at this point.

    The explicit form of ``assert value is not None`` (which ``python -O`` strips):
    a None here is a bug in kaptools, raised as :class:`InternalError` naming ``what``.
    """
    if value is None:
        msg = (
            f"Internal check failed: {what} is missing where kaptools guarantees it. This is "
            f"a bug in kaptools, not in your input: nothing was saved; report it with the "
            f"steps that led here."
        )
        raise InternalError(msg)
    return value


TEXT_MAX_CHARS = size_limit("text_field_max_chars")
"""Longest identifier or name accepted (limits.toml ``text_field_max_chars``)."""

_BREAKING = frozenset({"Cc", "Cs", "Zl", "Zp"})
"""Unicode categories refused in one-line text: control characters (line breaks, NUL),
lone surrogates, and the line and paragraph separators."""


shown = shown_value
"""``repr(value)`` shortened for an error message (:func:`kaptools.errors.shown_value`)."""


def check_type(name: str, value: Any, types: type | tuple[type, ...], what: str) -> Any:
    """``value`` when it is an instance of ``types`` (bools are never numbers); else an error."""
    numeric = (int, float)
    wants_number = any(t in numeric for t in (types if isinstance(types, tuple) else (types,)))
    if isinstance(value, types) and not (wants_number and isinstance(value, bool)):
        return value
    msg = f"{name}: must be {what} (got {type(value).__name__} {shown(value)}); pass {what}"
    raise InvalidInputError(msg)


def check_date_in_range(
    name: str, value: dt.date, *, error: type[InvalidInputError] = InvalidInputError
) -> dt.date:
    """``value`` when its year is within limits.toml ``calendar_year``; else ``error``.

    A date of year 1 or 9999 is a typing error, and would overflow date arithmetic."""
    low, high = entry_range("calendar_year")
    if not low <= value.year <= high:
        msg = (
            f"{name}: a date from {low:g} to {high:g} (got {value.isoformat()}); check the "
            f"year (limits.toml calendar_year)"
        )
        raise error(msg)
    return value


def check_frame_size(name: str, frame: Any) -> None:
    """Refuse a DataFrame (or Dask DataFrame) wider than limits.toml ``frame_columns_max``
    or longer than ``frame_rows_max``, before any work is done on it.

    ``name`` is ``function: argument``. A Dask frame's rows are not counted (that would
    compute it); its partitions go through the same functions and are counted there."""
    columns = getattr(frame, "columns", None)
    if columns is None:
        return
    columns_max = size_limit("frame_columns_max")
    if len(columns) > columns_max:
        msg = (
            f"{name}: a frame of at most {columns_max:,} columns (got {len(columns):,}; "
            f"limits.toml frame_columns_max); pass only the columns it reads"
        )
        raise InvalidInputError(msg)
    if type(frame).__module__.startswith("dask"):
        return
    rows_max = size_limit("frame_rows_max")
    if len(frame) > rows_max:
        msg = (
            f"{name}: a frame of at most {rows_max:,} rows (got {len(frame):,}; limits.toml "
            f"frame_rows_max); split it by patient and call once per part"
        )
        raise InvalidInputError(msg)


def check_synthetic_size(n: object) -> int:
    """``n``, how many synthetic patients to make: a whole number from 0 to limits.toml
    ``synthetic_rows_max``; anything else is refused naming the value and the fix
    (checked before any work, so a dashboard can refuse it before building a cohort)."""
    rows_max = size_limit("synthetic_rows_max")
    if not isinstance(n, int) or isinstance(n, bool) or not 0 <= n <= rows_max:
        msg = (
            f"n must be a whole number from 0 to {rows_max:,} (limits.toml "
            f"size.synthetic_rows_max); got {shown(n)}. Ask for fewer synthetic patients."
        )
        raise InvalidInputError(msg)
    return n


def check_text_line(
    name: str,
    value: str,
    *,
    max_chars: int | None = None,
    error: type[InvalidInputError] = InvalidInputError,
) -> str:
    """``value`` when it is one line of printable text within ``max_chars``; else ``error``."""
    if not isinstance(value, str):
        msg = f"{name}: must be text (got {type(value).__name__} {shown(value)})"
        raise error(msg)
    limit = max_chars
    if limit is not None and len(value) > limit:
        msg = (
            f"{name}: at most {limit:,} characters (got {len(value):,}); shorten it "
            f"(text_field_max_chars)"
        )
        raise error(msg)
    for i, ch in enumerate(value):
        if unicodedata.category(ch) in _BREAKING and ch != "\t":
            msg = (
                f"{name}: must be one line of printable text; character {i + 1} is "
                f"U+{ord(ch):04X} ({unicodedata.name(ch, 'a control character')}) in "
                f"{shown(value)}; remove it"
            )
            raise error(msg)
    return value


def check_identifier(
    name: str, value: str, *, error: type[InvalidInputError] = InvalidInputError
) -> str:
    """A non-empty, one-line identifier of at most :data:`TEXT_MAX_CHARS` characters."""
    check_text_line(name, value, max_chars=TEXT_MAX_CHARS, error=error)
    if not value.strip():
        msg = f"{name}: must be a non-empty text (got {shown(value)}); give the identifier"
        raise error(msg)
    if "\t" in value:
        msg = f"{name}: must not contain a tab (got {shown(value)}); remove it"
        raise error(msg)
    return value
