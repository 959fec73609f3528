"""Dosing-session records in the store: versioned and audit-logged.

Each session is a ``"dosing_session"`` record dated by when dosing started (or
the session date). Corrections are new versions of the same record and need a
reason; the store keeps every version.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import TYPE_CHECKING

from kaptools.errors import InvalidInputError
from kaptools.sessions.record import DosingSession, parse_dosing_session

if TYPE_CHECKING:
    from kaptools.store import Store, StoredRecord

__all__ = [
    "DOSING_SESSION_KIND",
    "SavedDosingSession",
    "dosing_session_history",
    "dosing_sessions",
    "save_dosing_session",
]

DOSING_SESSION_KIND = "dosing_session"


@dataclass(frozen=True, slots=True)
class SavedDosingSession:
    """A dosing session as stored: its record id and version, author and save time."""

    record_id: str
    version: int
    author: str
    created_at: dt.datetime
    reason: str | None
    session: DosingSession

    @classmethod
    def from_record(cls, record: StoredRecord) -> SavedDosingSession:
        return cls(
            record.record_id,
            record.version,
            record.author,
            record.created_at,
            record.reason,
            parse_dosing_session(record.payload),
        )

    @property
    def summary(self) -> str:
        return f"Record {self.record_id} v{self.version} ({self.author})\n{self.session.summary}"

    def _repr_html_(self) -> str:
        return self.session._repr_html_()


def save_dosing_session(
    store: Store,
    session: DosingSession,
    author: str,
    record_id: str | None = None,
    reason: str | None = None,
    based_on_version: int | None = None,
) -> StoredRecord:
    """Save a session record; with ``record_id``, a corrected version (``reason`` and
    ``based_on_version``, the version corrected, required; a stale one is refused)."""
    if not isinstance(session, DosingSession):
        msg = (
            f"session: must be a DosingSession (got {type(session).__name__}); parse dicts with "
            "parse_dosing_session"
        )
        raise InvalidInputError(msg)
    return store.save_record(
        DOSING_SESSION_KIND,
        session.patient_id,
        session.to_dict(),
        author=author,
        effective_at=session.started_at or session.session_date,
        record_id=record_id,
        reason=reason,
        based_on_version=based_on_version,
    )


def dosing_sessions(store: Store, patient_id: str) -> list[SavedDosingSession]:
    """The newest version of each of a patient's dosing sessions, oldest session first."""
    return [
        SavedDosingSession.from_record(r)
        for r in store.latest_records(DOSING_SESSION_KIND, patient_id)
    ]


def dosing_session_history(store: Store, record_id: str) -> list[SavedDosingSession]:
    """Every version of one dosing-session record, oldest first."""
    return [SavedDosingSession.from_record(r) for r in store.record_history(record_id)]
