"""Symptom assessments: validated before they are stored, read back as scored series.

An assessment is stored item by item (record kind ``"assessment"``), dated, with
who entered it. Scores are recomputed from the items with the current protocol
when read, so a corrected answer (a new version) re-scores everything after it.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from kaptools.errors import InvalidInputError
from kaptools.printer import escape
from kaptools.protocol import Protocol, default_protocol
from kaptools.scores import Instrument, ScoreResult, check_administration, item_columns, score
from kaptools.store import Store, StoredRecord

if TYPE_CHECKING:
    import pandas as pd

__all__ = [
    "ASSESSMENT_KIND",
    "INCOMPLETE_ASSESSMENT_ALERT_KIND",
    "Assessment",
    "assessment_frame",
    "assessments",
    "record_assessment",
]

ASSESSMENT_KIND = "assessment"
INCOMPLETE_ASSESSMENT_ALERT_KIND = "assessment_incomplete"
"""Source kind of an alert raised from an incomplete (and so unsaved) assessment."""

#: How far back or ahead an administration date may lie (typing errors, not policy).
_OLDEST_DATE = dt.date(1990, 1, 1)


@dataclass(frozen=True, slots=True)
class Assessment:
    """A stored assessment with its score under the given protocol."""

    record_id: str
    version: int
    patient_id: str
    administered_on: dt.date
    entered_by: str
    result: ScoreResult

    @property
    def instrument(self) -> Instrument:
        return self.result.instrument

    @property
    def summary(self) -> str:
        return f"{self.administered_on.isoformat()} {self.result.summary}"

    def _repr_html_(self) -> str:
        return f"<p>{escape(self.summary)}</p>"


def _check_date(value: object, *, today: dt.date | None = None) -> dt.date:
    today = today or dt.date.today()
    if isinstance(value, dt.datetime):
        value = value.date()
    if isinstance(value, str):
        try:
            value = dt.date.fromisoformat(value.strip())
        except ValueError:
            raise InvalidInputError(
                f"administered_on {value!r} is not a date: use YYYY-MM-DD."
            ) from None
    if not isinstance(value, dt.date):
        raise InvalidInputError(f"administered_on must be a date (YYYY-MM-DD); got {value!r}.")
    if value > today:
        raise InvalidInputError(
            f"administered_on {value.isoformat()} is in the future (today is "
            f"{today.isoformat()}); enter the date the measure was completed."
        )
    if value < _OLDEST_DATE:
        raise InvalidInputError(
            f"administered_on {value.isoformat()} is before {_OLDEST_DATE.isoformat()}; "
            "check the year."
        )
    return value


def record_assessment(
    store: Store,
    patient_id: str,
    instrument: Instrument | str,
    answers: Sequence[int | None] | Mapping[int, int | None],
    *,
    administered_on: dt.date | str,
    author: str | None = None,
    protocol: Protocol | None = None,
    correct_record_id: str | None = None,
    reason: str | None = None,
    today: dt.date | None = None,
    based_on_version: int | None = None,
) -> Assessment:
    """Score and store one assessment. Invalid or incomplete answers raise; the
    assessment is not saved.

    A suicide item at or above its alert line raises its alert whatever else is
    answered: the alert is stored for the patient with the assessment, and for an
    incomplete form the alert alone is stored (open until acknowledged; raising the
    same form again opens no second alert) before IncompleteAnswersError is raised
    with ``.alerts``. Pass ``correct_record_id``, ``based_on_version`` (the version
    corrected; a stale one is refused) and a ``reason`` to store a corrected version.
    """
    protocol = protocol or default_protocol()
    inst = Instrument.parse(instrument)
    when = _check_date(administered_on, today=today)
    store.get_patient(patient_id)  # raises NotFoundError before anything is written
    checked = check_administration(inst, answers, protocol=protocol)  # invalid: raises
    if checked.result is None:
        if checked.alerts:
            key = f"{inst.value}:{when.isoformat()}:" + ",".join(
                "-" if v is None else str(v) for v in checked.answers
            )
            for alert in checked.alerts:
                store.raise_alert(
                    patient_id,
                    alert,
                    source_kind=INCOMPLETE_ASSESSMENT_ALERT_KIND,
                    source_ref=key,
                    who=author,
                    effective_at=when,
                )
        raise checked.incomplete_error(
            "The alert is stored for the patient and stays open until a clinician "
            "acknowledges it; the incomplete answers are not saved."
        )
    result = checked.result
    payload = {
        "instrument": inst.value,
        "answers": list(result.answers),
        "administered_on": when.isoformat(),
    }
    rec = store.save_record(
        ASSESSMENT_KIND,
        patient_id,
        payload,
        author=author,
        effective_at=when,
        record_id=correct_record_id,
        reason=reason,
        alerts=result.alerts,
        based_on_version=based_on_version,
    )
    return _from_record(rec, protocol)


def _from_record(rec: StoredRecord, protocol: Protocol) -> Assessment:
    p = rec.payload
    result = score(Instrument.parse(p["instrument"]), p["answers"], protocol=protocol)
    return Assessment(
        record_id=rec.record_id,
        version=rec.version,
        patient_id=rec.patient_id,
        administered_on=dt.date.fromisoformat(p["administered_on"]),
        entered_by=rec.author,
        result=result,
    )


def assessments(
    store: Store, patient_id: str, *, protocol: Protocol | None = None
) -> list[Assessment]:
    """Every current (latest-version) assessment of a patient, oldest first."""
    protocol = protocol or default_protocol()
    recs = store.latest_records(ASSESSMENT_KIND, patient_id)
    out = [_from_record(r, protocol) for r in recs]
    out.sort(key=lambda a: (a.administered_on, a.instrument.value))
    return out


def assessment_frame(
    store: Store, patient_id: str, *, protocol: Protocol | None = None
) -> pd.DataFrame:
    """One row per assessment: patient_id, date, instrument, total, band, alerts and the
    item answers under their one name (``phq9_item1`` …). For many patients at once,
    with route and protocol provenance: :func:`kaptools.tidy.assessments_long`."""
    rows = []
    for a in assessments(store, patient_id, protocol=protocol):
        row = {
            "patient_id": a.patient_id,
            "administered_on": a.administered_on,
            "instrument": a.instrument.value,
            "total": a.result.total,
            "band": a.result.band.label,
            "alerts": len(a.result.alerts),
            "entered_by": a.entered_by,
            "record_id": a.record_id,
            "version": a.version,
        }
        row.update(dict(zip(item_columns(a.instrument), a.result.answers, strict=True)))
        rows.append(row)
    import pandas as pd  # only here: a dashboard kernel never needs it (issue 14)

    return pd.DataFrame(rows)
