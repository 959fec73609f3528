"""The checks a dosing-session record passes on construction, one function per group
of fields, in the order the record runs them: the times, the dose and lot, the readings,
then the dose-check and pre-dose fields. Each raises RecordError naming the field, the
rule, the value and the fix.
"""

from __future__ import annotations

import datetime as dt
import itertools
import math
from typing import TYPE_CHECKING

from kaptools.errors import InvalidInputError, RecordError
from kaptools.protocol import default_protocol
from kaptools.scheduling.doses import fmt_number
from kaptools.sessions.record.parts import DissociationRating, RemsFields, SedationRating
from kaptools.sessions.safety import HoldOverride, PreDoseChecks
from kaptools.sessions.side_effects import SideEffectReport
from kaptools.sessions.vitals import VitalSigns
from kaptools.validation import check_date_in_range
from kaptools.vocabulary import Route

if TYPE_CHECKING:
    from kaptools.sessions.record.session import DosingSession

__all__ = [
    "check_dose_and_lot",
    "check_dose_fields",
    "check_dose_plausible",
    "check_readings",
    "check_times",
]


def check_dose_plausible(route: Route, dose_mg: float) -> None:
    """Refuse a dose above the route's plausibility ceiling in the clinic's protocol.

    Every way a session is made (the API, the form, JSON from the store, ``replace``)
    passes here, so none skips it.
    """
    from kaptools.protocol import protocol_from_env

    try:
        ceiling = protocol_from_env().courses.dose_plausible_max_mg(route)
    except InvalidInputError:
        ceiling = default_protocol().courses.dose_plausible_max_mg(route)
    if dose_mg > ceiling:
        msg = (
            f"dose_mg: {fmt_number(dose_mg)} mg is above the plausible maximum of "
            f"{fmt_number(ceiling)} mg for {route.value} (the protocol's highest dose for the "
            f"heaviest plausible patient); check the dose entered, in mg"
        )
        raise RecordError(msg)


def _is_date(value: object) -> bool:
    return isinstance(value, dt.date) and not isinstance(value, dt.datetime)


def check_times(s: DosingSession) -> None:
    """The session date is a date; the times are date-times, dosing starts on the session
    date, and they run start → end of dosing → end of monitoring → discharge."""
    if not _is_date(s.session_date):
        msg = f"session_date: must be a date (got {s.session_date!r})"
        raise RecordError(msg)
    check_date_in_range("session_date", s.session_date, error=RecordError)
    times = [
        ("started_at", s.started_at),
        ("dose_ended_at", s.dose_ended_at),
        ("monitoring_ended_at", s.monitoring_ended_at),
        ("discharged_at", s.discharged_at),
    ]
    for name, value in times:
        if value is not None and not isinstance(value, dt.datetime):
            msg = f"{name}: must be a date and time (got {value!r})"
            raise RecordError(msg)
    if s.started_at is not None and s.started_at.date() != s.session_date:
        msg = (
            f"started_at: {s.started_at.isoformat()} is not on the session date "
            f"{s.session_date.isoformat()}; fix the date or the time"
        )
        raise RecordError(msg)
    known = [(n, v) for n, v in times if v is not None]
    for (n1, v1), (n2, v2) in itertools.pairwise(known):
        if v2 < v1:
            msg = (
                f"{n2}: {v2.isoformat()} is before {n1} ({v1.isoformat()}); times run start → "
                "end of dosing → end of monitoring → discharge"
            )
            raise RecordError(msg)


def check_dose_and_lot(s: DosingSession) -> None:
    """A dose given is a plausible number of mg above 0; a lot number is text as printed."""
    if s.dose_mg is not None and (
        isinstance(s.dose_mg, bool)
        or not isinstance(s.dose_mg, int | float)
        or not math.isfinite(s.dose_mg)
        or s.dose_mg <= 0
    ):
        msg = f"dose_mg: must be a number above 0 (got {s.dose_mg!r}); enter the dose given in mg"
        raise RecordError(msg)
    if s.dose_mg is not None:
        check_dose_plausible(s.route, s.dose_mg)
    if s.lot_number is not None and (not isinstance(s.lot_number, str) or not s.lot_number.strip()):
        msg = (
            f"lot_number: must be the lot number as printed (got {s.lot_number!r}); leave "
            "it empty until known"
        )
        raise RecordError(msg)


def check_readings(s: DosingSession) -> None:
    """Vitals, ratings, side effects and REMS answers are of their types."""
    for name, items, kind in (
        ("vitals", s.vitals, VitalSigns),
        ("sedation", s.sedation, SedationRating),
        ("dissociation", s.dissociation, DissociationRating),
    ):
        if not isinstance(items, tuple) or any(not isinstance(x, kind) for x in items):
            msg = f"{name}: must be a tuple of {kind.__name__} (got {items!r})"
            raise RecordError(msg)
    if s.side_effects is not None and (
        not isinstance(s.side_effects, tuple)
        or any(not isinstance(x, SideEffectReport) for x in s.side_effects)
    ):
        msg = (
            "side_effects: must be a tuple of SideEffectReport, or None when not asked (got "
            f"{s.side_effects!r})"
        )
        raise RecordError(msg)
    if s.rems is not None and not isinstance(s.rems, RemsFields):
        msg = f"rems: must be RemsFields (got {type(s.rems).__name__})"
        raise RecordError(msg)


def check_dose_fields(s: DosingSession) -> None:
    """The pre-dose checks and hold override, and what the dose check reads: weight in
    the protocol's range, age, first dose, planned dose, the written reasons."""
    if not isinstance(s.pre_dose, PreDoseChecks):
        msg = f"pre_dose: must be PreDoseChecks (got {type(s.pre_dose).__name__})"
        raise RecordError(msg)
    if s.hold_override is not None and not isinstance(s.hold_override, HoldOverride):
        msg = f"hold_override: must be a HoldOverride (got {type(s.hold_override).__name__})"
        raise RecordError(msg)
    courses = default_protocol().courses
    lo, hi = courses.patient_weight_min_kg, courses.patient_weight_max_kg
    w = s.weight_kg
    if w is not None and (
        isinstance(w, bool)
        or not isinstance(w, int | float)
        or not math.isfinite(w)
        or not lo.value <= w <= hi.value
    ):
        msg = (
            f"weight_kg: must be a number from {fmt_number(lo.value)} to "
            f"{fmt_number(hi.value)} kg (got {w!r}); enter the weight measured in kg "
            f"({lo.source})"
        )
        raise RecordError(msg)
    a = s.patient_age_years
    if a is not None and (isinstance(a, bool) or not isinstance(a, int) or not 0 <= a <= 130):
        msg = f"patient_age_years: must be whole years from 0 to 130 (got {a!r})"
        raise RecordError(msg)
    if s.first_dose is not None and not isinstance(s.first_dose, bool):
        msg = f"first_dose: must be yes (True), no (False) or unknown (None); got {s.first_dose!r}"
        raise RecordError(msg)
    pd = s.planned_dose_mg
    if pd is not None and (
        isinstance(pd, bool) or not isinstance(pd, int | float) or not math.isfinite(pd) or pd <= 0
    ):
        msg = f"planned_dose_mg: must be a number above 0 (got {pd!r})"
        raise RecordError(msg)
    for name in ("dose_reason", "dissociation_note"):
        if not isinstance(getattr(s, name), str):
            msg = f"{name}: must be text (got {getattr(s, name)!r})"
            raise RecordError(msg)
