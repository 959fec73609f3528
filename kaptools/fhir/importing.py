"""FHIR import: QuestionnaireResponses become stored assessments, total-score
Observations are checked against them, vital signs go into their dosing session; every
entry is checked before anything is written (see :mod:`kaptools.fhir`)."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from fhir.resources.R4B import get_fhir_model_class
from fhir.resources.R4B.bundle import Bundle
from fhir.resources.R4B.observation import Observation
from fhir.resources.R4B.patient import Patient as FhirPatient
from fhir.resources.R4B.questionnaire import Questionnaire
from fhir.resources.R4B.questionnaireresponse import QuestionnaireResponse
from pydantic import ValidationError

from kaptools.assessments import record_assessment
from kaptools.errors import KaptoolsError, NotFoundError, shown_value
from kaptools.fhir.codes import QUESTIONNAIRE_URL, FhirImportError, subject_id
from kaptools.fhir.vitals_import import is_vital_sign, vital_sign_updates
from kaptools.protocol import Protocol, default_protocol
from kaptools.scores import Instrument, check_administration, definition, item_columns
from kaptools.sessions.storage import save_dosing_session
from kaptools.store import Store

__all__ = ["ImportReport", "import_bundle"]


@dataclass(frozen=True)
class ImportReport:
    """What an import wrote: the assessments stored, and what was checked but not stored."""

    assessments: tuple[str, ...]
    checked_observations: int
    sessions: tuple[str, ...] = ()
    """Dosing-session records given a new version with imported vital signs."""
    added_readings: int = 0
    """Readings (a time point and minutes after the dose) added to those sessions."""
    matched_readings: int = 0
    """Imported readings already stored in their session, value for value."""

    @property
    def summary(self) -> str:
        return (
            f"Imported {len(self.assessments)} assessment(s); {self.checked_observations} "
            f"total-score Observation(s) matched their QuestionnaireResponse; "
            f"{self.added_readings} vital-sign reading(s) added to {len(self.sessions)} dosing "
            f"session(s), {self.matched_readings} already recorded."
        )


#: Bundle types whose entries are resources to read (fhir.resources does not check the code).
_BUNDLE_TYPES = ("collection", "transaction", "batch", "searchset")


def _instrument_of(qr: QuestionnaireResponse) -> Instrument | None:
    url = qr.questionnaire or ""
    if url.startswith(QUESTIONNAIRE_URL):
        try:
            return Instrument.parse(url[len(QUESTIONNAIRE_URL) :])
        except KaptoolsError:
            return None
    return None


#: An assessment the bundle holds, checked and ready to store:
#: (patient id, instrument, answers, day administered).
_Planned = tuple[str, Instrument, list[int | None], dt.date]


def import_bundle(
    store: Store,
    bundle: Mapping[str, Any] | str | bytes,
    *,
    author: str | None = None,
    protocol: Protocol | None = None,
) -> ImportReport:
    """Import QuestionnaireResponses and vital signs (and check total Observations) from a
    FHIR Bundle (see the module's docstring for what goes where).

    Validated with fhir.resources first; every entry is checked before anything is
    written. Raises FhirImportError listing each problem (entry number, resource, why)
    and writes nothing when any entry is not recognised or not valid.
    """
    protocol = protocol or default_protocol()
    author = store.author_for(author)  # the signed-in person; another name is refused
    parsed = _parsed_bundle(bundle)
    problems: list[str] = []
    planned: list[_Planned] = []
    totals: dict[str, int] = {}
    observations: list[tuple[int, Observation]] = []
    for n, entry in enumerate(parsed.entry or (), 1):
        r = entry.resource
        kind = r.get_resource_type() if r is not None else "(empty)"
        where = f"entry {n} ({kind}{' ' + r.id if r is not None and r.id else ''})"
        if isinstance(r, Questionnaire | FhirPatient):
            continue  # definitions and demographics: read by id, never imported over the store
        if isinstance(r, Observation):
            observations.append((n, r))
            continue
        if not isinstance(r, QuestionnaireResponse):
            problems.append(
                f"{where}: {kind} is not imported (QuestionnaireResponse and "
                f"total-score Observation only)"
            )
            continue
        checked = _checked_response(where, r, store, protocol, problems)
        if checked is not None:
            planned.append(checked[0])
            if r.id:
                totals[r.id] = checked[1]
    matched, vitals = _checked_totals(observations, totals, problems)
    session_updates, added, already = vital_sign_updates(store, vitals, protocol, problems)
    if problems:
        raise FhirImportError(
            f"bundle: {len(problems)} problem(s); nothing was written:\n  - "
            + "\n  - ".join(problems),
            problems,
        )
    written = []
    sessions = []
    with store.transaction():  # every record of the bundle, or none
        for pid, inst, answers, day in planned:
            try:
                a = record_assessment(
                    store,
                    pid,
                    inst,
                    answers,
                    administered_on=day,
                    author=author,
                    protocol=protocol,
                )
            except NotFoundError as exc:  # pragma: no cover - checked above
                raise FhirImportError(str(exc), [str(exc)]) from None
            written.append(a.record_id)
        for record_id, version, session, count in session_updates:
            save_dosing_session(
                store,
                session,
                author,
                record_id=record_id,
                reason=f"{count} vital-sign reading(s) imported from a FHIR bundle by {author}",
                based_on_version=version,
                protocol=protocol,
            )
            sessions.append(record_id)
    return ImportReport(tuple(written), matched, tuple(sessions), added, already)


def _check_entry_types(data: Any) -> None:
    """Each entry's ``resource.resourceType`` names a FHIR resource type (the library
    answers an unknown one with a KeyError from deep inside); FhirImportError naming the
    entry otherwise."""
    entries = data.get("entry") if isinstance(data, dict) else None
    if not isinstance(entries, list):
        return
    for n, entry in enumerate(entries, 1):
        resource = entry.get("resource") if isinstance(entry, dict) else None
        if not isinstance(resource, dict):
            continue
        kind = resource.get("resourceType")
        known = isinstance(kind, str) and kind.isascii() and kind.isalnum()
        if known:
            try:
                get_fhir_model_class(kind)
            except (ValueError, KeyError):
                known = False
        if not known:
            raise FhirImportError(
                f"bundle: entry {n}: resourceType {shown_value(kind)} is not a FHIR resource "
                f"type; export the bundle again from its source; nothing was written.",
                [f"entry {n}: resourceType {shown_value(kind)}"],
            )


def _parsed_bundle(bundle: Mapping[str, Any] | str | bytes) -> Bundle:
    """The bundle validated with fhir.resources, of a type whose entries are read."""
    try:
        data = json.loads(bundle) if isinstance(bundle, str | bytes) else dict(bundle)
        _check_entry_types(data)
        parsed = Bundle.model_validate(data)
    except (ValueError, TypeError, KeyError, ValidationError) as exc:
        # KeyError: the FHIR library looks a nested resource's type up in a dict
        first = str(exc).splitlines()[:4]
        raise FhirImportError(
            f"bundle: not a valid FHIR Bundle ({' '.join(first)}); nothing was written.",
            [str(exc)],
        ) from None
    if parsed.type not in _BUNDLE_TYPES:
        raise FhirImportError(
            f"bundle: not a valid FHIR Bundle for import (type {parsed.type!r}; use one of "
            f"{', '.join(_BUNDLE_TYPES)}); nothing was written.",
            [f"type {parsed.type!r}"],
        )
    return parsed


def _checked_response(
    where: str,
    r: QuestionnaireResponse,
    store: Store,
    protocol: Protocol,
    problems: list[str],
) -> tuple[_Planned, int] | None:
    """The assessment a QuestionnaireResponse holds and its total, once it is a completed,
    dated, whole form of a kaptools instrument for a patient of the store; else None,
    with the reason added to ``problems``."""
    inst = _instrument_of(r)
    if inst is None:
        problems.append(
            f"{where}: questionnaire {r.questionnaire!r} is not a kaptools "
            f"instrument ({QUESTIONNAIRE_URL}<instrument>)"
        )
        return None
    pid, why = subject_id(r, store)
    if pid is None:
        problems.append(f"{where}: {why}")
        return None
    if r.status != "completed":
        problems.append(f"{where}: status {r.status!r}; only completed responses are imported")
        return None
    if not r.authored:
        problems.append(f"{where}: authored (the date it was completed) is missing")
        return None
    answers = _answers(where, r, inst, problems)
    if answers is None:
        return None
    try:
        checked = check_administration(inst, answers, protocol=protocol)
    except KaptoolsError as exc:
        problems.append(f"{where}: {exc}")
        return None
    if checked.result is None:
        names = item_columns(inst)
        missing = [names[i] for i, v in enumerate(answers) if v is None]
        problems.append(
            f"{where}: incomplete ({', '.join(missing)} unanswered); an "
            f"incomplete form is entered in kaptools, where its alerts are kept"
        )
        return None
    authored = r.authored
    day = (
        authored.date()
        if isinstance(authored, dt.datetime)
        else dt.date.fromisoformat(str(authored)[:10])
    )
    return (pid, inst, answers, day), checked.result.total


def _answers(
    where: str, r: QuestionnaireResponse, inst: Instrument, problems: list[str]
) -> list[int | None] | None:
    """The form's answers in item order (None: unanswered); None when an item is not the
    instrument's or has not exactly one integer answer (each reported)."""
    names = item_columns(inst)
    answers: list[int | None] = [None] * len(names)
    bad = False
    for item in r.item or ():
        if item.linkId not in names:
            problems.append(
                f"{where}: linkId {item.linkId!r} is not a {definition(inst).name} "
                f"item ({names[0]}…{names[-1]})"
            )
            bad = True
            continue
        values = [a.valueInteger for a in item.answer or ()]
        if len(values) != 1 or values[0] is None:
            problems.append(f"{where}: {item.linkId} needs exactly one valueInteger answer")
            bad = True
            continue
        answers[names.index(item.linkId)] = int(values[0])
    return None if bad else answers


def _checked_totals(
    observations: list[tuple[int, Observation]], totals: dict[str, int], problems: list[str]
) -> tuple[int, list[tuple[str, Observation]]]:
    """How many total-score Observations match the score of the QuestionnaireResponse they
    derive from (others reported), and the vital-sign Observations, set aside."""
    matched = 0
    vitals: list[tuple[str, Observation]] = []
    for n, obs in observations:
        where = f"entry {n} (Observation{' ' + obs.id if obs.id else ''})"
        if is_vital_sign(obs):
            vitals.append((where, obs))
            continue
        sources = [d.reference for d in obs.derivedFrom or () if d.reference]
        qr_ids = [s.split("/", 1)[1] for s in sources if s.startswith("QuestionnaireResponse/")]
        if len(qr_ids) != 1 or qr_ids[0] not in totals:
            problems.append(
                f"{where}: not derived from a QuestionnaireResponse in this bundle; "
                f"total-score Observations are not stored on their own (a total belongs "
                f"to its item answers)"
            )
            continue
        value = obs.valueQuantity.value if obs.valueQuantity is not None else obs.valueInteger
        if value is None or float(value) != totals[qr_ids[0]]:
            problems.append(
                f"{where}: total {value!r} differs from the score of its "
                f"QuestionnaireResponse ({totals[qr_ids[0]]})"
            )
            continue
        matched += 1
    return matched, vitals
