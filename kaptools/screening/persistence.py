"""Storing screenings and clinicians' overrides of findings (kaptools.store).

A screening is saved as a ``screening`` record: the input record, status,
findings, alerts, trial assessments and the protocol's name, version and hash.
An override is its own ``screening_override`` record (who, when, why, and the
finding as it was), so the screening itself is never changed and every override
is in the audit log. :func:`load_screening` gives the stored result with its
overrides applied: original and overridden status side by side.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from kaptools.arguments import checks_itself
from kaptools.errors import IncompleteInputError, InvalidInputError
from kaptools.protocol import Protocol, default_protocol
from kaptools.screening.record import ScreeningRecord
from kaptools.screening.result import FindingOverride, ScreeningResult

if TYPE_CHECKING:
    from kaptools.store import Store, StoredRecord

__all__ = [
    "OVERRIDE_KIND",
    "SCREENING_KIND",
    "LatestScreening",
    "latest_screening",
    "load_screening",
    "override_finding",
    "save_screening",
    "screening_overrides",
]

SCREENING_KIND = "screening"
OVERRIDE_KIND = "screening_override"


def save_screening(
    store: Store,
    patient_id: str,
    record: ScreeningRecord | dict[str, Any],
    result: ScreeningResult,
    author: str | None = None,
    *,
    effective_at: Any = None,
) -> StoredRecord:
    """Save ``result`` (computed from ``record``) as a ``screening`` record; audit-logged.

    Its safety alerts (C-SSRS, PHQ-9 item 9) are stored for the patient in the same
    transaction and stay open until a clinician acknowledges them.

    Raises:
        InvalidInputError: ``result`` was not computed from ``record``.
        NotFoundError: no such patient.
    """
    record = ScreeningRecord.parse(record)
    if not isinstance(result, ScreeningResult):
        msg = f"result must be a ScreeningResult from screen() (got {type(result).__name__})"
        raise InvalidInputError(msg)
    if result.record != record:
        msg = (
            "result: it was computed from a different screening record; run "
            "screen(record) on the record being saved"
        )
        raise InvalidInputError(msg)
    return store.save_record(
        SCREENING_KIND,
        patient_id,
        result.to_payload(),
        author=author,
        effective_at=effective_at,
        alerts=result.alerts,  # stored for the patient, open until acknowledged
    )


def _latest_screening(store: Store, screening_record_id: str) -> StoredRecord:
    latest = store.record_history(screening_record_id)[-1]
    if latest.kind != SCREENING_KIND:
        msg = (
            f"screening_record_id: record {screening_record_id!r} is a {latest.kind!r} record, "
            f"not a {SCREENING_KIND!r}; give the id save_screening returned"
        )
        raise InvalidInputError(msg)
    return latest


def screening_overrides(store: Store, screening_record_id: str) -> tuple[FindingOverride, ...]:
    """Every override stored for one screening, oldest first."""
    stored = _latest_screening(store, screening_record_id)
    out = []
    for rec in store.latest_records(OVERRIDE_KIND, stored.patient_id):
        if rec.payload.get("screening_record_id") != screening_record_id:
            continue
        out.append(
            FindingOverride(
                rule_id=rec.payload["rule_id"],
                reason=rec.payload["reason"],
                author=rec.author,
                created_at=rec.created_at,
                record_id=rec.record_id,
                screening_record_id=screening_record_id,
            )
        )
    return tuple(sorted(out, key=lambda o: o.created_at))


def load_screening(store: Store, screening_record_id: str) -> ScreeningResult:
    """The stored screening with its overrides applied (``original_status`` kept)."""
    stored = _latest_screening(store, screening_record_id)
    result = ScreeningResult.from_payload(stored.payload)
    return result.with_overrides(screening_overrides(store, screening_record_id))


# reason: a missing reason (None) is IncompleteInputError, its own check
@checks_itself("reason")
def override_finding(
    store: Store,
    screening_record_id: str,
    rule_id: str,
    reason: str,
    author: str | None = None,
    *,
    protocol: Protocol | None = None,
) -> FindingOverride:
    """Override one finding of a stored screening, with a written reason.

    The override is saved as a ``screening_override`` record (audit-logged, with the
    reason); the screening and its finding stay as they were.

    Args:
        store: the kaptools store.
        screening_record_id: the id :func:`save_screening` returned.
        rule_id: the finding to override; it must have fired in that screening.
        reason: why, in the clinician's words; at least the protocol's
            ``override_reason_min_length`` characters.
        author: who overrides: the signed-in person (another name is refused).
        protocol: whose ``override_reason_min_length`` applies (default protocol if None).

    Raises:
        IncompleteInputError: no reason given.
        InvalidInputError: a reason too short, or a rule that did not fire.
        NotFoundError: no such screening record.
    """
    protocol = default_protocol() if protocol is None else protocol
    if reason is None or (isinstance(reason, str) and not reason.strip()):
        msg = "reason: a finding is overridden only with a written reason; pass reason='...'"
        raise IncompleteInputError(msg, missing=["reason"])
    if not isinstance(reason, str):
        msg = f"reason must be text (got {type(reason).__name__})"
        raise InvalidInputError(msg)
    minimum = protocol.screening.thresholds.override_reason_min_length
    text = reason.strip()
    if len(text) < minimum.value:
        msg = (
            f"reason: {text!r} is {len(text)} characters; the protocol asks for at least "
            f"{minimum}. Say why the finding does not apply."
        )
        raise InvalidInputError(msg)
    author = store.author_for(author)
    stored = _latest_screening(store, screening_record_id)
    result = ScreeningResult.from_payload(stored.payload)
    finding = result.finding(rule_id)
    if finding is None:
        msg = (
            f"rule_id: {rule_id!r} did not fire in screening {screening_record_id!r} "
            f"(findings: {list(result.rule_ids)}); override one of those"
        )
        raise InvalidInputError(msg)
    payload = {
        "screening_record_id": screening_record_id,
        "screening_version": stored.version,
        "rule_id": rule_id,
        "reason": text,
        "finding": finding.as_dict(),
        "status_before": result.status.value,
        "protocol": stored.payload.get("protocol"),
    }
    saved = store.save_record(
        OVERRIDE_KIND, stored.patient_id, payload, author=author, reason=text
    )
    return FindingOverride(
        rule_id=rule_id,
        reason=text,
        author=saved.author,
        created_at=saved.created_at,
        record_id=saved.record_id,
        screening_record_id=screening_record_id,
    )


@dataclass(frozen=True)
class LatestScreening:
    """A patient's newest saved screening: the stored record and its result."""

    record: StoredRecord
    """Who saved it, when, and its record id."""
    result: ScreeningResult
    """The result with every override applied (:func:`load_screening`)."""


def latest_screening(store: Store, patient_id: str) -> LatestScreening | None:
    """The patient's newest saved screening with its overrides applied; None when there is none.

    The one lookup of "the latest screening": the planner's gate, the planner dashboard
    and the eligibility form's offer all read it here.
    """
    records = store.latest_records(SCREENING_KIND, patient_id)
    if not records:
        return None
    return LatestScreening(records[-1], load_screening(store, records[-1].record_id))
