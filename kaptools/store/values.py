"""What the store hands back: patients, record versions, companion records and stored
alerts as frozen values (never the rows themselves), and the de-identified view a
researcher reads.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from kaptools.alerts import Acknowledgement, Alert, AlertLevel, StoredAlert
from kaptools.identity import DEFAULT_CLINIC
from kaptools.store.tables import AlertAckRow, AlertRow, PatientRow, RecordRow

__all__ = [
    "FREE_TEXT_KEYS",
    "Companion",
    "Patient",
    "StoredRecord",
    "deidentified_payload",
    "deidentified_record",
    "patient_of",
    "record_of",
    "stored_alert_of",
]


@dataclass(frozen=True, slots=True)
class Patient:
    """A (synthetic) patient as stored. Age is computed against a date, never stored."""

    patient_id: str
    display_name: str
    birth_date: dt.date | None
    sex: str
    weight_kg: float | None
    synthetic: bool = True
    clinic: str = DEFAULT_CLINIC

    def age_on(self, on: dt.date) -> int | None:
        if self.birth_date is None:
            return None
        b = self.birth_date
        return on.year - b.year - ((on.month, on.day) < (b.month, b.day))

    @property
    def label(self) -> str:
        return f"{self.display_name} ({self.patient_id})"


@dataclass(frozen=True, slots=True)
class StoredRecord:
    """One version of a clinical record."""

    record_id: str
    version: int
    kind: str
    patient_id: str
    payload: Mapping[str, Any]
    author: str
    created_at: dt.datetime
    effective_at: dt.datetime
    reason: str | None


@dataclass(frozen=True, slots=True)
class Companion:
    """A new record saved with another in one transaction (``Store.save_record``'s
    ``companions``): its kind, payload, date and written reason."""

    kind: str
    payload: Mapping[str, Any]
    effective_at: dt.date | dt.datetime | None = None
    reason: str | None = None


#: Payload keys that hold free text (any nesting level): removed for researchers.
FREE_TEXT_KEYS = frozenset(
    {"note", "notes", "reason", "comment", "comments", "description", "text", "free_text"}
)
_FREE_TEXT_SUFFIXES = tuple(f"_{k}" for k in sorted(FREE_TEXT_KEYS))


def deidentified_payload(value: Any) -> Any:
    """``value`` without free text: every key in :data:`FREE_TEXT_KEYS` or ending in
    ``_note``, ``_reason``, ``_description``, ``_comment``, ``_text`` … is dropped, at any
    depth (what a researcher may read: coded and numeric data only)."""
    if isinstance(value, Mapping):
        return {
            k: deidentified_payload(v)
            for k, v in value.items()
            if not (
                isinstance(k, str)
                and (k.lower() in FREE_TEXT_KEYS or k.lower().endswith(_FREE_TEXT_SUFFIXES))
            )
        }
    if isinstance(value, list):
        return [deidentified_payload(v) for v in value]
    return value


def deidentified_record(r: StoredRecord) -> StoredRecord:
    """A record as a researcher sees it: no free text, no author or correction reason."""
    return StoredRecord(
        r.record_id,
        r.version,
        r.kind,
        r.patient_id,
        deidentified_payload(r.payload),
        "(de-identified)",
        r.created_at,
        r.effective_at,
        None,
    )


def patient_of(r: PatientRow) -> Patient:
    return Patient(
        r.patient_id, r.display_name, r.birth_date, r.sex, r.weight_kg, r.synthetic, r.clinic
    )


def record_of(r: RecordRow) -> StoredRecord:
    return StoredRecord(
        r.record_id,
        r.version,
        r.kind,
        r.patient_id,
        dict(r.payload),
        r.author,
        r.created_at,
        r.effective_at,
        r.reason,
    )


def stored_alert_of(r: AlertRow, ack: AlertAckRow | None) -> StoredAlert:
    return StoredAlert(
        alert_id=r.alert_id,
        patient_id=r.patient_id,
        alert=Alert(
            rule_id=r.rule_id,
            level=AlertLevel(r.level),
            message=r.message,
            action=r.action,
            source=r.source,
            **({} if r.crisis_line is None else {"crisis_line": r.crisis_line}),
        ),
        source_kind=r.source_kind,
        source_ref=r.source_ref,
        effective_at=r.effective_at,
        raised_at=r.raised_at,
        raised_by=r.raised_by,
        acknowledgement=None
        if ack is None
        else Acknowledgement(alert_id=r.alert_id, at=ack.at, who=ack.who, note=ack.note),
    )
