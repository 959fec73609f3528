"""The store's checks on what it is given, before anything is written: record kinds,
names, dates, a payload's size, nesting and JSON form (limits.toml ``size``), and a
correction's ``based_on_version``.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Mapping
from typing import Any

from kaptools.errors import IncompleteInputError, InvalidInputError, StaleVersionError
from kaptools.limits import size_limit
from kaptools.store.tables import RecordRow, utcnow

__all__ = [
    "ACK_NOTE_MAX_CHARS",
    "FREE_TEXT_MAX_CHARS",
    "KIND_RE",
    "PAYLOAD_LIST_MAX_ITEMS",
    "PAYLOAD_MAX_BYTES",
    "PAYLOAD_NESTING_MAX",
    "SEXES",
    "as_datetime",
    "check_based_on",
    "check_kind",
    "check_payload_shape",
    "json_default",
    "require_text",
    "storable_payload",
]

#: Longest acknowledgement note kept (characters).
ACK_NOTE_MAX_CHARS = 2000

# \Z, not $: "$" also matches before a trailing line break ("SYN-1\n")
KIND_RE = re.compile(r"^[a-z][a-z0-9_]{1,39}\Z")

PAYLOAD_MAX_BYTES = size_limit("record_payload_max_bytes")
"""Largest record payload, as stored JSON (limits.toml ``size.record_payload_max_bytes``)."""
PAYLOAD_NESTING_MAX = size_limit("record_nesting_max")
"""Deepest nesting of lists and mappings in a payload (``size.record_nesting_max``)."""
PAYLOAD_LIST_MAX_ITEMS = size_limit("record_payload_list_max_items")
"""Most items of one list in a payload (``size.record_payload_list_max_items``)."""
FREE_TEXT_MAX_CHARS = size_limit("free_text_max_chars")
"""Longest text in a payload or a written reason (``size.free_text_max_chars``)."""

SEXES = ("female", "male", "other", "unknown")


def check_kind(kind: object, field: str = "kind") -> None:
    """``kind`` is a short snake_case record kind."""
    if not isinstance(kind, str) or not KIND_RE.match(kind):
        raise InvalidInputError(
            f"{field} {kind!r} must be a short snake_case name such as 'assessment'."
        )


def check_payload_shape(payload: Mapping[str, Any]) -> None:
    """Refuse a payload nested too deeply, with a list or a text over its limit; iterative,
    so a crafted depth cannot exhaust the stack."""
    stack: list[tuple[object, int, str]] = [(payload, 1, "payload")]
    while stack:
        value, depth, where = stack.pop()
        if isinstance(value, str):
            if len(value) > FREE_TEXT_MAX_CHARS:
                raise InvalidInputError(
                    f"{where} is {len(value):,} characters; at most {FREE_TEXT_MAX_CHARS:,} "
                    f"(limits.toml size.free_text_max_chars). Shorten it."
                )
            continue
        if not isinstance(value, Mapping | list | tuple):
            continue
        if depth > PAYLOAD_NESTING_MAX:
            raise InvalidInputError(
                f"{where} is nested more than {PAYLOAD_NESTING_MAX} levels deep (limits.toml "
                f"size.record_nesting_max). Store a flatter record."
            )
        if isinstance(value, Mapping):
            stack.extend((v, depth + 1, f"{where}.{str(k)[:40]}") for k, v in value.items())
            continue
        if len(value) > PAYLOAD_LIST_MAX_ITEMS:
            raise InvalidInputError(
                f"{where} holds {len(value):,} items; at most {PAYLOAD_LIST_MAX_ITEMS} "
                f"(limits.toml size.record_payload_list_max_items). Split the record."
            )
        stack.extend((v, depth + 1, f"{where}[{i}]") for i, v in enumerate(value))


def storable_payload(payload: object, reason: object) -> dict[str, Any]:
    """``payload`` as the JSON the store keeps, after the checks of a record's payload
    and written reason against limits.toml ``size``."""
    if not isinstance(payload, Mapping):
        raise InvalidInputError(f"payload must be a mapping; got {type(payload).__name__}.")
    if reason is not None and isinstance(reason, str) and len(reason) > FREE_TEXT_MAX_CHARS:
        raise InvalidInputError(
            f"reason is {len(reason):,} characters; at most {FREE_TEXT_MAX_CHARS:,} "
            f"(limits.toml size.free_text_max_chars). Shorten it."
        )
    check_payload_shape(payload)
    try:
        text = json.dumps(dict(payload), default=json_default, allow_nan=False)
    except (TypeError, ValueError, RecursionError) as exc:
        raise InvalidInputError(f"payload cannot be stored as JSON: {exc}.") from None
    if len(text.encode("utf-8")) > PAYLOAD_MAX_BYTES:
        raise InvalidInputError(
            f"payload is {len(text.encode('utf-8')):,} bytes as JSON; at most "
            f"{PAYLOAD_MAX_BYTES:,} (limits.toml size.record_payload_max_bytes). Split it."
        )
    clean: dict[str, Any] = json.loads(text)
    check_payload_shape(clean)  # what json_default turned objects into, too
    return clean


def json_default(value: object) -> object:
    if isinstance(value, (dt.date, dt.datetime, dt.time)):
        return value.isoformat()
    if hasattr(value, "item"):  # numpy scalars
        return value.item()
    if isinstance(value, (set, frozenset, tuple)):
        return list(value)
    raise TypeError(f"{type(value).__name__} is not JSON-serialisable")


def as_datetime(value: dt.date | dt.datetime | None, field: str) -> dt.datetime:
    if value is None:
        return utcnow()
    if isinstance(value, dt.datetime):
        if value.tzinfo is not None:
            value = value.astimezone(dt.UTC).replace(tzinfo=None)
        return value
    if isinstance(value, dt.date):
        return dt.datetime.combine(value, dt.time())
    raise InvalidInputError(
        f"{field} must be a date or datetime; got {value!r} ({type(value).__name__})."
    )


def require_text(value: object, field: str, *, max_len: int = 120) -> str:
    if not isinstance(value, str) or not value.strip():
        raise IncompleteInputError(f"{field} is required: give a non-empty name.", missing=[field])
    if len(value) > max_len:
        raise InvalidInputError(f"{field} is {len(value)} characters; at most {max_len} allowed.")
    return value.strip()


def check_based_on(record_id: str, based_on: object, newest: RecordRow) -> None:
    """A correction starts from the newest version (else StaleVersionError names both)."""
    if based_on is None:
        raise IncompleteInputError(
            f"A correction of record {record_id!r} must state the version it was based on: "
            f"pass based_on_version=<the version you loaded> (the newest is "
            f"{newest.version}).",
            missing=["based_on_version"],
        )
    if isinstance(based_on, bool) or not isinstance(based_on, int) or based_on < 1:
        raise InvalidInputError(
            f"based_on_version must be a version number (1 or more); got {based_on!r}."
        )
    if based_on > newest.version:
        raise InvalidInputError(
            f"based_on_version {based_on} of record {record_id!r} does not exist; the newest "
            f"version is {newest.version}."
        )
    if based_on != newest.version:
        at = newest.created_at.replace(microsecond=0).isoformat(sep=" ")
        raise StaleVersionError(
            f"Not saved: this correction was based on version {based_on} of record "
            f"{record_id!r}, but version {newest.version} was saved meanwhile by "
            f"{newest.author} at {at} UTC. Reload the record (version {newest.version}), "
            "check their change and re-apply yours.",
            record_id=record_id,
            based_on=based_on,
            current=newest.version,
            current_author=newest.author,
            current_at=newest.created_at,
        )
