"""Vital-sign Observations into the dosing session they were taken in: read, grouped by
reading, compared with what the session holds, and the sessions to save checked under
the protocol before anything is written (see :mod:`kaptools.fhir`)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from typing import Any

from fhir.resources.R4B.observation import Observation

from kaptools.errors import KaptoolsError
from kaptools.fhir.codes import (
    DOSING_SESSION_SYSTEM,
    LOINC,
    MINUTES_AFTER_DOSE_URL,
    OBS_CATEGORY,
    UCUM,
    VITAL_SIGN_CODES,
    VITALS_TIMEPOINT_URL,
    subject_id,
)
from kaptools.protocol import Protocol
from kaptools.sessions.record import DosingSession, SessionRecordStatus
from kaptools.sessions.storage import DOSING_SESSION_KIND, dosing_session_history
from kaptools.sessions.vitals import VitalSigns, VitalsTimepoint
from kaptools.store import Store
from kaptools.validation import present

__all__ = ["is_vital_sign", "vital_sign_updates"]

_VITAL_BY_LOINC = {code: key for key, (code, _, _) in VITAL_SIGN_CODES.items()}
_IMPORTABLE_OBS_STATUS = ("final", "amended", "corrected")


def is_vital_sign(obs: Observation) -> bool:
    """An Observation in the vital-signs category, or coded with a vital-sign LOINC code."""
    codes = {c.code for c in (obs.code.coding or ()) if c.system == LOINC} if obs.code else set()
    categories = {
        c.code for cat in obs.category or () for c in cat.coding or () if c.system == OBS_CATEGORY
    }
    return "vital-signs" in categories or bool(codes & set(_VITAL_BY_LOINC))


def _whole(value: Any, key: str, unit: str, quantity: Any) -> int:
    """A reading's value as whole units, its unit checked (never converted or guessed)."""
    if quantity is None or quantity.value is None:
        raise ValueError(f"{key}: no valueQuantity")
    code = quantity.code or quantity.unit
    if code != unit or (quantity.system is not None and quantity.system != UCUM):
        raise ValueError(
            f"{key}: unit {code!r} (system {quantity.system!r}); kaptools reads {unit!r}"
        )
    number = float(quantity.value)
    if not number.is_integer():
        raise ValueError(f"{key}: {quantity.value} is not a whole number of {unit}")
    return int(number)


def _reading_of(obs: Observation) -> tuple[str, VitalsTimepoint, int | None, dict[str, int]]:
    """(dosing-session record id, time point, minutes after the dose, values) of one
    vital-sign Observation; ValueError naming what is missing or not recognised."""
    if obs.status not in _IMPORTABLE_OBS_STATUS:
        raise ValueError(
            f"status {obs.status!r}; only {', '.join(_IMPORTABLE_OBS_STATUS)} are read"
        )
    sessions = [i.value for i in obs.identifier or () if i.system == DOSING_SESSION_SYSTEM]
    if len(sessions) != 1 or not sessions[0]:
        raise ValueError(
            f"names no dosing session (one identifier with system {DOSING_SESSION_SYSTEM}); "
            "kaptools keeps vital signs inside the dosing session they were taken in"
        )
    ext = {e.url: e for e in obs.extension or ()}
    if VITALS_TIMEPOINT_URL not in ext:
        raise ValueError(f"no time point (extension {VITALS_TIMEPOINT_URL})")
    try:
        timepoint = VitalsTimepoint(str(ext[VITALS_TIMEPOINT_URL].valueCode))
    except ValueError:
        raise ValueError(
            f"time point {ext[VITALS_TIMEPOINT_URL].valueCode!r} is not one of "
            f"{', '.join(t.value for t in VitalsTimepoint)}"
        ) from None
    minutes = ext[MINUTES_AFTER_DOSE_URL].valueInteger if MINUTES_AFTER_DOSE_URL in ext else None
    codes = [c.code for c in (obs.code.coding or ()) if c.system == LOINC] if obs.code else []
    keys = [_VITAL_BY_LOINC[c] for c in codes if c in _VITAL_BY_LOINC]
    if len(keys) != 1:
        raise ValueError(
            f"code {codes or None} is not one vital-sign LOINC code kaptools reads "
            f"({', '.join(code for code, _, _ in VITAL_SIGN_CODES.values())})"
        )
    key = keys[0]
    values: dict[str, int] = {}
    if key == "blood_pressure":
        for comp in obs.component or ():
            sub = [c.code for c in comp.code.coding or () if c.system == LOINC]
            names = [_VITAL_BY_LOINC.get(c or "") for c in sub]
            if len(names) != 1 or names[0] not in ("systolic", "diastolic"):
                raise ValueError(f"blood-pressure component {sub} is not systolic or diastolic")
            name = present(names[0], "the component's vital sign (checked just above)")
            if name in values:
                raise ValueError(f"blood pressure: two {name} components")
            values[name] = _whole(None, name, VITAL_SIGN_CODES[name][2], comp.valueQuantity)
        if set(values) != {"systolic", "diastolic"}:
            raise ValueError("blood pressure needs both a systolic and a diastolic component")
    elif key in ("systolic", "diastolic"):
        raise ValueError(f"{key} alone; send blood pressure as the panel 85354-9 with both")
    else:
        values[key] = _whole(None, key, VITAL_SIGN_CODES[key][2], obs.valueQuantity)
    return sessions[0], timepoint, minutes, values


_READING_VALUES = ("systolic", "diastolic", "heart_rate", "spo2", "respiratory_rate")


def _values(v: VitalSigns) -> dict[str, int]:
    return {k: getattr(v, k) for k in _READING_VALUES if getattr(v, k) is not None}


def _reading(timepoint: VitalsTimepoint, minutes: int | None, values: dict[str, int]) -> VitalSigns:
    return VitalSigns(
        timepoint,
        minutes,
        values.get("systolic"),
        values.get("diastolic"),
        values.get("heart_rate"),
        values.get("spo2"),
        values.get("respiratory_rate"),
    )


#: The readings of one dosing session the bundle holds: (time point, minutes after the
#: dose) -> {value name: value}.
_Readings = dict[tuple[VitalsTimepoint, int | None], dict[str, int]]
#: A dosing session to save: (record id, version it is based on, the new session, readings
#: added).
_Update = tuple[str, int, DosingSession, int]


def vital_sign_updates(
    store: Store,
    observations: Sequence[tuple[str, Observation]],
    protocol: Protocol,
    problems: list[str],
) -> tuple[list[_Update], int, int]:
    """Every dosing session the bundle's vital signs change, checked before any write.

    A reading (time point and minutes after the dose) already stored with the same
    values is recognised; a new reading, or a value the stored reading lacks, is added;
    a value that differs from the stored one is a problem (a correction is made in
    kaptools, with a reason), never an overwrite. Returns (record id, version it is
    based on, the new session, readings added), readings added, readings recognised.
    """
    updates: list[_Update] = []
    added = already = 0
    for record_id, readings in _grouped_readings(store, observations, problems).items():
        update, recognised = _session_update(store, record_id, readings, protocol, problems)
        already += recognised
        if update is not None:
            updates.append(update)
            added += update[3]
    return updates, added, already


def _grouped_readings(
    store: Store, observations: Sequence[tuple[str, Observation]], problems: list[str]
) -> dict[str, _Readings]:
    """The bundle's readings by the dosing session they name (a session of their patient
    in this store), Observations of one reading merged; what does not fit is reported."""
    grouped: dict[str, _Readings] = {}
    for where, obs in observations:
        pid, why = subject_id(obs, store)
        if pid is None:
            problems.append(f"{where}: {why}")
            continue
        try:
            record_id, timepoint, minutes, values = _reading_of(obs)
        except ValueError as exc:
            problems.append(f"{where}: vital sign not imported: {exc}")
            continue
        try:
            stored = store.record_history(record_id)[-1]
        except KaptoolsError:
            problems.append(f"{where}: dosing session {record_id!r} is not in this store")
            continue
        if stored.kind != DOSING_SESSION_KIND or stored.patient_id != pid:
            problems.append(
                f"{where}: record {record_id!r} is not a dosing session of patient {pid}"
            )
            continue
        reading = grouped.setdefault(record_id, {}).setdefault((timepoint, minutes), {})
        for name, value in values.items():
            if reading.get(name, value) != value:
                problems.append(
                    f"{where}: {name} {value} at {timepoint.value} {minutes} min differs from "
                    f"another Observation of the same reading ({reading[name]})"
                )
            reading[name] = value
    return grouped


def _session_update(
    store: Store, record_id: str, readings: _Readings, protocol: Protocol, problems: list[str]
) -> tuple[_Update | None, int]:
    """The session ``record_id`` with the imported readings added (None when none is new
    or the result is refused, with the reason in ``problems``), and how many readings it
    already held."""
    saved = dosing_session_history(store, record_id)[-1]
    session = saved.session
    vitals = list(session.vitals)
    count = already = 0
    for (timepoint, minutes), values in readings.items():
        at = next(
            (
                i
                for i, v in enumerate(vitals)
                if v.timepoint is timepoint and v.minutes_after_dose == minutes
            ),
            None,
        )
        current = {} if at is None else {k: getattr(vitals[at], k) for k in values}
        clash = {k: (current[k], v) for k, v in values.items() if current.get(k) not in (None, v)}
        if clash:
            problems.append(
                f"dosing session {record_id} ({session.session_date}), {timepoint.value} "
                f"{minutes} min: imported "
                + ", ".join(
                    f"{k} {new} differs from the stored {old}" for k, (old, new) in clash.items()
                )
                + "; correct the session in kaptools (a new version with a reason)"
            )
            continue
        if at is not None and all(current.get(k) == v for k, v in values.items()):
            already += 1
            continue
        try:
            before = {} if at is None else _values(vitals[at])
            new_reading = _reading(timepoint, minutes, {**before, **values})
            if at is None:
                vitals.append(new_reading)
            else:
                vitals[at] = new_reading
        except KaptoolsError as exc:
            problems.append(f"dosing session {record_id}, {timepoint.value}: {exc}")
            continue
        count += 1
    if not count:
        return None, already
    changed = replace(session, vitals=tuple(vitals))
    try:
        if session.status is SessionRecordStatus.COMPLETE:
            changed = replace(
                changed, status=SessionRecordStatus.IN_PROGRESS, protocol=None
            ).complete(protocol)
        changed.check_recordable(protocol)
    except KaptoolsError as exc:
        problems.append(
            f"dosing session {record_id} ({session.session_date}) with the imported readings: {exc}"
        )
        return None, already
    return (record_id, saved.version, changed, count), already
