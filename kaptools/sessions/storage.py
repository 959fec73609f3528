"""Dosing-session records in the store: versioned and audit-logged.

Each session is a ``"dosing_session"`` record dated by when dosing started (or
the session date). Corrections are new versions of the same record and need a
reason; the store keeps every version.

A record that gives a dose the protocol does not allow is refused before anything
is written (:meth:`DosingSession.check_recordable`: a hold without a clinician's
override, a refused dose, a missing reason). A hold override is saved as its own
``"dose_hold_override"`` record (audit-logged like every record), holding the hold
findings it overrode, the clinician, the reason and the session version; the
session record keeps the hold too.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from kaptools.arguments import checks_itself
from kaptools.errors import IncompleteInputError, InvalidInputError
from kaptools.protocol import Protocol, default_protocol
from kaptools.sessions.record import DosingSession, SessionRecordStatus, parse_dosing_session
from kaptools.sessions.safety import GoDecision, HoldOverride
from kaptools.store.saved import SavedRecord

if TYPE_CHECKING:
    from kaptools.store import Store, StoredRecord

__all__ = [
    "DOSE_HOLD_OVERRIDE_KIND",
    "DOSING_SESSION_KIND",
    "SavedDosingSession",
    "dosing_session_history",
    "dosing_sessions",
    "hold_overrides",
    "save_dosing_session",
]

DOSING_SESSION_KIND = "dosing_session"
DOSE_HOLD_OVERRIDE_KIND = "dose_hold_override"


class SavedDosingSession(SavedRecord[DosingSession]):
    """A dosing session as stored: its record id and version, author and save time
    (:class:`~kaptools.store.saved.SavedRecord` of a ``dosing_session`` record)."""

    __slots__ = ()
    noun = "Dosing-session record"

    @staticmethod
    def parse(payload: Mapping[str, Any]) -> DosingSession:
        return parse_dosing_session(payload)

    @property
    def session(self) -> DosingSession:
        """The stored session."""
        return self.value

    @property
    def complete(self) -> bool:
        """Whether the stored record is complete (not a record in progress)."""
        return self.value.status is SessionRecordStatus.COMPLETE


# session: its own check points a raw mapping to parse_dosing_session
@checks_itself("session")
def save_dosing_session(
    store: Store,
    session: DosingSession,
    author: str | None = None,
    record_id: str | None = None,
    reason: str | None = None,
    based_on_version: int | None = None,
    protocol: Protocol | None = None,
) -> StoredRecord:
    """Save a session record; with ``record_id``, a corrected version (``reason`` and
    ``based_on_version``, the version corrected, required; a stale one is refused).

    Raises:
        RecordError / IncompleteInputError: the record gives a dose the protocol does not
            allow to be recorded (nothing is written).
    """
    if not isinstance(session, DosingSession):
        msg = (
            f"session: must be a DosingSession (got {type(session).__name__}); parse dicts with "
            "parse_dosing_session"
        )
        raise InvalidInputError(msg)
    protocol = protocol or default_protocol()
    session.check_recordable(protocol)
    if record_id is not None and (not isinstance(reason, str) or not reason.strip()):
        msg = "A correction needs a written reason: pass reason='...'."
        raise IncompleteInputError(msg, missing=["reason"])
    decision = session.go_no_go(protocol)
    override = session.hold_override
    log_override = False
    if override is not None and decision.holds:
        previous = None
        if record_id is not None:
            previous = store.record_history(record_id)[-1].payload.get("hold_override")
        log_override = previous != session.to_dict()["hold_override"]
        if log_override:
            # a new override is the signed-in clinician's: another name is refused
            store.author_for(override.clinician, "hold_override.clinician")
    from kaptools.store import Companion

    def override_record(record_id: str, version: int) -> list[Companion]:
        """The hold override as its own record, naming the session version it covers."""
        if not (log_override and override is not None):
            return []
        return [
            Companion(
                DOSE_HOLD_OVERRIDE_KIND,
                _override_payload(override, decision, protocol, record_id, version),
                effective_at=override.at or session.started_at or session.session_date,
                reason=f"hold overridden by {override.clinician}: {override.reason}",
            )
        ]

    # The session, its alerts and its override record: one transaction, all or nothing.
    record = store.save_record(
        DOSING_SESSION_KIND,
        session.patient_id,
        session.to_dict(),
        author=author,
        effective_at=session.started_at or session.session_date,
        record_id=record_id,
        reason=reason,
        based_on_version=based_on_version,
        alerts=session.safety_alerts_under(protocol),
        companions=override_record,
    )
    return record


def _override_payload(
    override: HoldOverride,
    decision: GoDecision,
    protocol: Protocol,
    record_id: str,
    version: int,
) -> dict[str, Any]:
    """The dose-hold override record: who, why, which holds, under which protocol, and
    the session version it covers."""
    return {
        "session_record_id": record_id,
        "session_version": version,
        "clinician": override.clinician,
        "reason": override.reason,
        "rules": list(override.rules),
        "at": override.at.isoformat() if override.at else None,
        "holds": [
            {"rule_id": f.rule_id, "message": f.message, "source": f.source} for f in decision.holds
        ],
        "protocol": {
            "name": protocol.info.name,
            "version": protocol.info.version,
            "sha256": protocol.info.sha256,
        },
    }


def hold_overrides(store: Store, patient_id: str) -> list[StoredRecord]:
    """Every dose-hold override record of a patient (each audit-logged when saved)."""
    return store.latest_records(DOSE_HOLD_OVERRIDE_KIND, patient_id)


def dosing_sessions(store: Store, patient_id: str) -> list[SavedDosingSession]:
    """The newest version of each of a patient's dosing sessions, oldest session first."""
    return [
        SavedDosingSession.from_record(r)
        for r in store.latest_records(DOSING_SESSION_KIND, patient_id)
    ]


def dosing_session_history(store: Store, record_id: str) -> list[SavedDosingSession]:
    """Every version of one dosing-session record, oldest first."""
    return [SavedDosingSession.from_record(r) for r in store.record_history(record_id)]
