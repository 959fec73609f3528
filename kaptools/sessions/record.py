"""The dosing-session record: what happened at one dosing session, and when it is complete.

A :class:`DosingSession` holds the date and times (dose start, end of monitoring,
discharge), route, dose given and lot number, vital signs at the protocol's
times, sedation (MOAA/S) and dissociation (CADSS-6) ratings, side effects with a
severity, the discharge checklist, and — for esketamine — the fields of the
SPRAVATO REMS Patient Monitoring Form.

Unknown is never "no": an unanswered item is ``None``. A session can be saved
while in progress; :meth:`DosingSession.complete` refuses (IncompleteInputError
with ``.missing``) while any required field is missing, and refuses (RecordError)
when a completed session would break the protocol (observation shorter than the
minimum, a discharge criterion not met).

Untrusted input (a dict from a widget, JSON from the store) comes in through
:func:`parse_dosing_session`, a pydantic model whose errors are rewritten to name
the field, the rule, the value and the fix.

References:
    clinical-sources.md §2.1 (observation, BP, driving), §2.2 (REMS form fields),
    §4.7 (MOAA/S, CADSS), §5.1–§5.4 (side effects, vitals, discharge).
"""

from __future__ import annotations

import copy
import datetime as dt
import enum
import html
import itertools
import math
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from kaptools.alerts import Alert
from kaptools.errors import (
    IncompleteInputError,
    InvalidInputError,
    RecordError,
    dotted_path,
    problems_from_validation,
)
from kaptools.protocol import Protocol, ProtocolInfo, default_protocol
from kaptools.scheduling.doses import fmt_number
from kaptools.sessions.discharge import DischargeReadiness, discharge_readiness
from kaptools.sessions.dose_check import DoseCheck, DoseVerdict, check_dose
from kaptools.sessions.safety import (
    GoDecision,
    HoldOverride,
    PreDoseChecks,
    flags_to_alerts,
    go_no_go,
    side_effect_flags,
)
from kaptools.sessions.scales import cadss6, moaa_s
from kaptools.sessions.side_effects import Severity, SideEffect, SideEffectReport
from kaptools.sessions.vitals import (
    FlagLevel,
    VitalsFlag,
    VitalSigns,
    VitalsTimepoint,
    is_after_dose,
    sedation_flags,
    vitals_flags,
    vitals_schedule,
)
from kaptools.validation import check_identifier
from kaptools.vocabulary import CssrsQuestion, Route

__all__ = [
    "CareSetting",
    "ConcomitantMedication",
    "DischargeChecklist",
    "DissociationRating",
    "DosingSession",
    "RemsFields",
    "RemsMonitoringForm",
    "SedationRating",
    "SessionRecordStatus",
    "parse_dosing_session",
    "rems_form_applies",
]


class SessionRecordStatus(enum.StrEnum):
    """Whether a dosing-session record is finished."""

    IN_PROGRESS = "in_progress"
    """Being filled in; may be saved with fields missing."""
    COMPLETE = "complete"
    """Every required field present and the protocol's session rules met."""


class CareSetting(enum.StrEnum):
    """Where the session took place (SPRAVATO REMS, clinical-sources.md §2.2)."""

    OUTPATIENT = "outpatient"
    """A certified outpatient setting: enrolment and a Patient Monitoring Form per session [2.2]."""
    INPATIENT = "inpatient"
    """Inpatient: no enrolment or monitoring form; adverse events still reported [2.2]."""


def rems_form_applies(route: object, setting: object = CareSetting.OUTPATIENT) -> bool:
    """Whether a session by ``route`` in ``setting`` needs REMS enrolment and a Patient
    Monitoring Form: esketamine nasal spray in an outpatient setting [2.2].

    The one statement of the rule: :attr:`DosingSession.needs_rems_form`, the session
    form and the planner's REMS list all ask it. Values may be the enums or their
    strings (a widget's value); anything else is not esketamine / not outpatient.
    """
    route_value = getattr(route, "value", route)
    setting_value = getattr(setting, "value", setting)
    return (
        route_value == Route.ESKETAMINE_NASAL.value
        and setting_value == CareSetting.OUTPATIENT.value
    )


class ConcomitantMedication(enum.StrEnum):
    """Medicines the REMS form asks about: they add sedation or raise BP [2.1, 2.2]."""

    BENZODIAZEPINE = "benzodiazepine"
    """Adds sedation (CNS depressant) [2.1, 2.2]."""
    NON_BENZODIAZEPINE_SEDATIVE_HYPNOTIC = "non_benzodiazepine_sedative_hypnotic"
    """Adds sedation [2.2]."""
    OPIOID = "opioid"
    """Adds sedation and respiratory depression [2.1, 2.2]."""
    PSYCHOSTIMULANT = "psychostimulant"
    """Raises blood pressure (amphetamines, methylphenidate, modafinil, armodafinil) [2.1, 2.2]."""
    MAOI = "maoi"
    """Raises blood pressure [2.1]."""
    OTHER_CNS_DEPRESSANT = "other_cns_depressant"
    """Other sedating medicines, alcohol [2.1]."""


def _minutes(value: object, name: str) -> int:
    """Whole minutes after dosing within a day either side (≤ 0: a pre-dose rating)."""
    lo, hi = -24 * 60, 24 * 60
    if isinstance(value, bool) or not isinstance(value, int) or not lo <= value <= hi:
        msg = (
            f"{name}: must be whole minutes after dosing from {lo} to {hi} (got {value!r}); "
            "use 0 or less for a rating before the dose"
        )
        raise InvalidInputError(msg)
    return value


@dataclass(frozen=True, slots=True)
class SedationRating:
    """A MOAA/S rating (0 = loss of consciousness … 5 = alert) at a time after dosing [2.1, 4.7].

    ``minutes_after_dose`` ≤ 0 is a rating before the dose."""

    minutes_after_dose: int
    moaa_s: int

    def __post_init__(self) -> None:
        scale = moaa_s()
        _minutes(self.minutes_after_dose, "sedation.minutes_after_dose")
        if (
            isinstance(self.moaa_s, bool)
            or not isinstance(self.moaa_s, int)
            or not scale.min <= self.moaa_s <= scale.max
        ):
            msg = (
                f"sedation.moaa_s: must be a whole MOAA/S rating from {scale.min} to {scale.max} "
                f"(got {self.moaa_s!r}); {scale.min} = loss of consciousness, {scale.max} = alert"
            )
            raise InvalidInputError(msg)


@dataclass(frozen=True, slots=True)
class DissociationRating:
    """A CADSS-6 rating: the six short-form CADSS items, each 0–4, at a time after dosing [4.7].

    ``minutes_after_dose`` ≤ 0 is the pre-dose rating discharge compares with."""

    minutes_after_dose: int
    items: tuple[int, ...]

    def __post_init__(self) -> None:
        scale = cadss6()
        _minutes(self.minutes_after_dose, "dissociation.minutes_after_dose")
        items = tuple(self.items) if not isinstance(self.items, str | bytes) else ()
        if len(items) != len(scale.items) or any(
            isinstance(x, bool)
            or not isinstance(x, int)
            or not scale.item_min <= x <= scale.item_max
            for x in items
        ):
            msg = (
                f"dissociation.items: must be {len(scale.items)} whole answers from "
                f"{scale.item_min} to {scale.item_max}, one for each CADSS item "
                f"{list(scale.items)} "
                f"(got {self.items!r})"
            )
            raise InvalidInputError(msg)
        object.__setattr__(self, "items", items)

    @property
    def total(self) -> int:
        return sum(self.items)


@dataclass(frozen=True, slots=True)
class DischargeChecklist:
    """The discharge answers only a clinician can give (None: not yet) [2.1, 5.4].

    Everything a number can show (vital signs safe and not rising, alert, dissociation
    resolved, observation long enough) is computed from the record by
    :func:`kaptools.sessions.discharge_readiness`, never ticked, so no box can
    contradict a recorded number.
    """

    escort_home: bool | None = None
    """A responsible adult takes the patient home."""
    no_driving_until_next_day: bool | None = None
    """Told: no driving or machinery until the next day after a restful sleep [2.1]."""

    def __post_init__(self) -> None:
        for f in fields(self):
            name, value = f.name, getattr(self, f.name)
            if value is not None and not isinstance(value, bool):
                msg = (
                    f"discharge.{name}: must be yes (True), no (False) or not answered (None); "
                    f"got {value!r}"
                )
                raise InvalidInputError(msg)

    def missing(self) -> tuple[str, ...]:
        return tuple(f"discharge.{f.name}" for f in fields(self) if getattr(self, f.name) is None)

    def not_met(self) -> tuple[str, ...]:
        return tuple(f"discharge.{f.name}" for f in fields(self) if getattr(self, f.name) is False)


@dataclass(frozen=True, slots=True)
class RemsFields:
    """What the SPRAVATO REMS Patient Monitoring Form asks beyond the session itself [2.2]."""

    patient_enrolled: bool | None = None
    first_treatment: bool | None = None
    concomitant_medications: tuple[ConcomitantMedication, ...] | None = None
    """None = not asked; () = asked, none taken."""
    serious_adverse_event: bool | None = None
    serious_adverse_event_description: str = ""
    form_submitted_on: dt.date | None = None
    ready_to_leave_at: dt.datetime | None = None
    """When the patient would have been ready to leave (clinically stable) [2.2]."""
    sedation: bool | None = None
    """Did the patient experience sedation during the session (form yes/no) [2.2]."""
    dissociation: bool | None = None
    respiratory_depression: bool | None = None

    def __post_init__(self) -> None:
        for name in (
            "patient_enrolled",
            "first_treatment",
            "serious_adverse_event",
            "sedation",
            "dissociation",
            "respiratory_depression",
        ):
            value = getattr(self, name)
            if value is not None and not isinstance(value, bool):
                msg = (
                    f"rems.{name}: must be yes (True), no (False) or not answered (None); got "
                    f"{value!r}"
                )
                raise InvalidInputError(msg)
        meds = self.concomitant_medications
        if meds is not None:
            try:
                object.__setattr__(
                    self, "concomitant_medications", tuple(ConcomitantMedication(m) for m in meds)
                )
            except (ValueError, TypeError):
                msg = (
                    f"rems.concomitant_medications: {meds!r} holds an unknown class; use "
                    f"{[m.value for m in ConcomitantMedication]}"
                )
                raise InvalidInputError(msg) from None
        if self.serious_adverse_event and not self.serious_adverse_event_description.strip():
            msg = "rems.serious_adverse_event_description: describe the serious adverse event"
            raise InvalidInputError(msg)
        d = self.form_submitted_on
        if d is not None and (isinstance(d, dt.datetime) or not isinstance(d, dt.date)):
            msg = f"rems.form_submitted_on: must be a date (got {d!r})"
            raise InvalidInputError(msg)
        r = self.ready_to_leave_at
        if r is not None and not isinstance(r, dt.datetime):
            msg = f"rems.ready_to_leave_at: must be a date and time (got {r!r})"
            raise InvalidInputError(msg)


@dataclass(frozen=True, slots=True)
class RemsMonitoringForm:
    """Every field of the SPRAVATO REMS Patient Monitoring Form, filled from a session [2.2].

    What a number in the record can answer is derived from it (vital signs acceptable
    before the dose and at the end, lowest SpO2, monitoring time); what only the
    clinician can answer comes from :class:`RemsFields` and is checked against the
    record (``contradictions``).
    """

    patient_id: str
    session_date: dt.date
    setting: CareSetting
    patient_enrolled: bool | None
    first_treatment: bool | None
    concomitant_medications: tuple[ConcomitantMedication, ...] | None
    dose_mg: float | None
    lot_number: str | None
    administered_at: dt.datetime | None
    """Time of the first device."""
    bp_pre_dose: str | None
    bp_post_dose: str | None
    bp_pre_discharge: str | None
    vital_signs_acceptable_before: bool | None
    """Derived: the pre-dose readings are within the go / no-go hold lines."""
    vital_signs_acceptable_at_end: bool | None
    """Derived: the last BP below the hold line and not rising, SpO2 at the review line."""
    sedation: bool | None
    dissociation: bool | None
    respiratory_depression: bool | None
    sedation_ratings: tuple[SedationRating, ...]
    dissociation_ratings: tuple[DissociationRating, ...]
    lowest_spo2: int | None
    serious_adverse_event: bool | None
    serious_adverse_event_description: str
    ready_to_leave_at: dt.datetime | None
    """When the patient would have been ready to leave."""
    monitoring_ended_at: dt.datetime | None
    total_minutes_first_device_to_end_of_monitoring: int | None
    discharged_at: dt.datetime | None
    missing: tuple[str, ...]
    """Fields still to fill before the form can be filed."""
    contradictions: tuple[str, ...] = ()
    """Answers the recorded numbers contradict (each names the field and the reading)."""

    @property
    def complete(self) -> bool:
        return not self.missing and not self.contradictions

    @property
    def summary(self) -> str:
        problems = [*(f"missing {m}" for m in self.missing), *self.contradictions]
        state = "ready to file" if not problems else "; ".join(problems)
        return (
            f"REMS Patient Monitoring Form for {self.patient_id}, "
            f"session {self.session_date}: {state}"
        )

    def rows(self) -> list[tuple[str, str]]:
        """(question, answer) pairs in the form's order; unanswered shows as "— missing —"."""

        def yn(v: bool | None) -> str:
            return "— missing —" if v is None else ("Yes" if v else "No")

        def tm(v: dt.datetime | None) -> str:
            return "— missing —" if v is None else v.strftime("%Y-%m-%d %H:%M")

        def tx(v: object) -> str:
            return "— missing —" if v is None else str(v)

        meds = self.concomitant_medications
        return [
            ("Patient (kaptools id)", self.patient_id),
            ("Treatment session date", self.session_date.isoformat()),
            ("Healthcare setting", self.setting.value),
            ("Patient enrolled in the SPRAVATO REMS", yn(self.patient_enrolled)),
            ("First treatment session", yn(self.first_treatment)),
            (
                "Concomitant medications (sedation, BP)",
                "— missing —"
                if meds is None
                else (", ".join(m.value.replace("_", " ") for m in meds) or "None"),
            ),
            ("Dose (mg)", "— missing —" if self.dose_mg is None else fmt_number(self.dose_mg)),
            ("Lot number", tx(self.lot_number)),
            ("Time of administration (first device)", tm(self.administered_at)),
            ("Blood pressure before administration", tx(self.bp_pre_dose)),
            ("Blood pressure about 40 min after", tx(self.bp_post_dose)),
            ("Blood pressure before discharge", tx(self.bp_pre_discharge)),
            (
                "Vital signs acceptable before administration",
                yn(self.vital_signs_acceptable_before),
            ),
            (
                "Vital signs acceptable at the end of monitoring",
                yn(self.vital_signs_acceptable_at_end),
            ),
            ("Sedation during monitoring", yn(self.sedation)),
            ("Dissociation during monitoring", yn(self.dissociation)),
            ("Respiratory depression during monitoring", yn(self.respiratory_depression)),
            (
                "Sedation ratings (MOAA/S)",
                ", ".join(
                    f"{r.moaa_s} at {r.minutes_after_dose} min" for r in self.sedation_ratings
                )
                or "— missing —",
            ),
            (
                "Dissociation ratings (CADSS-6 total)",
                ", ".join(
                    f"{r.total} at {r.minutes_after_dose} min" for r in self.dissociation_ratings
                )
                or "— missing —",
            ),
            ("Lowest SpO2 (pulse oximetry), %", tx(self.lowest_spo2)),
            ("Serious adverse event", yn(self.serious_adverse_event)),
            ("Serious adverse event, description", self.serious_adverse_event_description or "—"),
            ("Time the patient would have been ready to leave", tm(self.ready_to_leave_at)),
            ("End of monitoring", tm(self.monitoring_ended_at)),
            (
                "Total time, first device to end of monitoring (min)",
                tx(self.total_minutes_first_device_to_end_of_monitoring),
            ),
            ("Discharged", tm(self.discharged_at)),
        ]

    def _repr_html_(self) -> str:
        return f"<p class='kap-rems-form'>{html.escape(self.summary)}</p>"

    def to_html_page(self) -> str:
        """The filled form as a self-contained printable HTML page (no external resources)."""
        esc = html.escape
        rows = "".join(
            f"<tr><th scope='row'>{esc(q)}</th><td>{esc(a)}</td></tr>" for q, a in self.rows()
        )
        problems = "".join(f"<li>missing: {esc(m)}</li>" for m in self.missing) + "".join(
            f"<li>{esc(c)}</li>" for c in self.contradictions
        )
        state = (
            "<p class='ok'>Every field is filled: ready to file on the SPRAVATO REMS portal.</p>"
            if self.complete
            else f"<div class='todo'><b>Not ready to file:</b><ul>{problems}</ul></div>"
        )
        return (
            "<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>"
            f"<title>REMS Patient Monitoring Form {esc(self.patient_id)} "
            f"{self.session_date.isoformat()}</title><style>"
            "body{font-family:sans-serif;margin:2em;max-width:48em}"
            "table{border-collapse:collapse;width:100%}"
            "th,td{border:1px solid #999;padding:4px 8px;text-align:left;vertical-align:top}"
            "th{width:55%;background:#f3f3f3}.todo{color:#8a0010}"
            "@media print{.noprint{display:none}}</style></head><body>"
            "<h1>SPRAVATO REMS Patient Monitoring Form</h1>"
            "<p>Filled by kaptools from the dosing-session record, for the certified setting to "
            "check and submit within 7 calendar days (spravatorems.com) [2.2]. Synthetic data "
            "only.</p>"
            f"{state}<table>{rows}</table></body></html>"
        )


#: REMS form fields only the clinician answers (the rest are derived or asked elsewhere).
_REMS_OWN = frozenset(
    {
        "patient_enrolled",
        "first_treatment",
        "concomitant_medications",
        "serious_adverse_event",
        "sedation",
        "dissociation",
        "respiratory_depression",
        "ready_to_leave_at",
    }
)


def _check_dose_plausible(route: Route, dose_mg: float) -> None:
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


@dataclass(frozen=True, slots=True)
class DosingSession:
    """One dosing session as recorded (frozen; corrections are new versions in the store)."""

    patient_id: str
    route: Route
    session_date: dt.date
    started_at: dt.datetime | None = None
    """When dosing began (esketamine: the first device)."""
    monitoring_ended_at: dt.datetime | None = None
    discharged_at: dt.datetime | None = None
    dose_mg: float | None = None
    lot_number: str | None = None
    vitals: tuple[VitalSigns, ...] = ()
    sedation: tuple[SedationRating, ...] = ()
    dissociation: tuple[DissociationRating, ...] = ()
    side_effects: tuple[SideEffectReport, ...] | None = None
    """None = not asked yet; () = asked, none."""
    discharge: DischargeChecklist = field(default_factory=DischargeChecklist)
    rems: RemsFields | None = None
    setting: CareSetting = CareSetting.OUTPATIENT
    plan_session_index: int | None = None
    """The session of the course plan this record fulfils, if any."""
    notes: str = ""
    status: SessionRecordStatus = SessionRecordStatus.IN_PROGRESS
    protocol: ProtocolInfo | None = None
    """The protocol the session was completed under."""
    dose_ended_at: dt.datetime | None = None
    """End of dosing: the end of an IV infusion (IV observation counts from it)."""
    pre_dose: PreDoseChecks = field(default_factory=PreDoseChecks)
    """C-SSRS since the last visit, pregnancy since screening, acute intoxication."""
    hold_override: HoldOverride | None = None
    """A clinician's written override of a pre-dose hold (the hold itself is kept)."""
    weight_kg: float | None = None
    """The weight a weight-based dose is checked against (IV, IM)."""
    patient_age_years: int | None = None
    """Age on the session day (esketamine doses depend on it)."""
    first_dose: bool | None = None
    """Whether this is the course's first dose (esketamine day 1)."""
    planned_dose_mg: float | None = None
    """The dose the course plan proposed, if any."""
    dose_reason: str = ""
    """Why the dose differs from the plan or the protocol range (when that needs a reason)."""
    dissociation_note: str = ""
    """Why dissociation counts as resolved though the last rating is above the pre-dose one."""

    def __post_init__(self) -> None:
        check_identifier("patient_id", self.patient_id, error=RecordError)
        try:
            object.__setattr__(self, "route", Route(self.route))
            object.__setattr__(self, "setting", CareSetting(self.setting))
            object.__setattr__(self, "status", SessionRecordStatus(self.status))
        except ValueError as exc:
            msg = f"session: {exc}; routes are {[r.value for r in Route]}"
            raise RecordError(msg) from None
        if not _is_date(self.session_date):
            msg = f"session_date: must be a date (got {self.session_date!r})"
            raise RecordError(msg)
        times = [
            ("started_at", self.started_at),
            ("dose_ended_at", self.dose_ended_at),
            ("monitoring_ended_at", self.monitoring_ended_at),
            ("discharged_at", self.discharged_at),
        ]
        for name, value in times:
            if value is not None and not isinstance(value, dt.datetime):
                msg = f"{name}: must be a date and time (got {value!r})"
                raise RecordError(msg)
        if self.started_at is not None and self.started_at.date() != self.session_date:
            msg = (
                f"started_at: {self.started_at.isoformat()} is not on the session date "
                f"{self.session_date.isoformat()}; fix the date or the time"
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
        if self.dose_mg is not None and (
            isinstance(self.dose_mg, bool)
            or not isinstance(self.dose_mg, int | float)
            or not math.isfinite(self.dose_mg)
            or self.dose_mg <= 0
        ):
            msg = (
                f"dose_mg: must be a number above 0 (got {self.dose_mg!r}); enter the dose given "
                "in mg"
            )
            raise RecordError(msg)
        if self.dose_mg is not None:
            _check_dose_plausible(self.route, self.dose_mg)
        if self.lot_number is not None and (
            not isinstance(self.lot_number, str) or not self.lot_number.strip()
        ):
            msg = (
                f"lot_number: must be the lot number as printed (got {self.lot_number!r}); leave "
                "it empty until known"
            )
            raise RecordError(msg)
        for name, items, kind in (
            ("vitals", self.vitals, VitalSigns),
            ("sedation", self.sedation, SedationRating),
            ("dissociation", self.dissociation, DissociationRating),
        ):
            if not isinstance(items, tuple) or any(not isinstance(x, kind) for x in items):
                msg = f"{name}: must be a tuple of {kind.__name__} (got {items!r})"
                raise RecordError(msg)
        if self.side_effects is not None and (
            not isinstance(self.side_effects, tuple)
            or any(not isinstance(x, SideEffectReport) for x in self.side_effects)
        ):
            msg = (
                "side_effects: must be a tuple of SideEffectReport, or None when not asked (got "
                f"{self.side_effects!r})"
            )
            raise RecordError(msg)
        if self.rems is not None and not isinstance(self.rems, RemsFields):
            msg = f"rems: must be RemsFields (got {type(self.rems).__name__})"
            raise RecordError(msg)
        self._check_new_fields()
        if self.status is SessionRecordStatus.COMPLETE:
            # A record marked complete must pass the completion check; it is run under the
            # shipped protocol unless the record names another (then it was checked there).
            default = default_protocol()
            if self.protocol is None or self.protocol.sha256 == default.info.sha256:
                self._check_complete(default)

    def _check_new_fields(self) -> None:
        if not isinstance(self.pre_dose, PreDoseChecks):
            msg = f"pre_dose: must be PreDoseChecks (got {type(self.pre_dose).__name__})"
            raise RecordError(msg)
        if self.hold_override is not None and not isinstance(self.hold_override, HoldOverride):
            msg = f"hold_override: must be a HoldOverride (got {type(self.hold_override).__name__})"
            raise RecordError(msg)
        courses = default_protocol().courses
        lo, hi = courses.patient_weight_min_kg, courses.patient_weight_max_kg
        w = self.weight_kg
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
        a = self.patient_age_years
        if a is not None and (isinstance(a, bool) or not isinstance(a, int) or not 0 <= a <= 130):
            msg = f"patient_age_years: must be whole years from 0 to 130 (got {a!r})"
            raise RecordError(msg)
        if self.first_dose is not None and not isinstance(self.first_dose, bool):
            msg = (
                f"first_dose: must be yes (True), no (False) or unknown (None); got "
                f"{self.first_dose!r}"
            )
            raise RecordError(msg)
        pd = self.planned_dose_mg
        if pd is not None and (
            isinstance(pd, bool)
            or not isinstance(pd, int | float)
            or not math.isfinite(pd)
            or pd <= 0
        ):
            msg = f"planned_dose_mg: must be a number above 0 (got {pd!r})"
            raise RecordError(msg)
        for name in ("dose_reason", "dissociation_note"):
            if not isinstance(getattr(self, name), str):
                msg = f"{name}: must be text (got {getattr(self, name)!r})"
                raise RecordError(msg)

    # -- derived ------------------------------------------------------------------------

    @property
    def needs_rems_form(self) -> bool:
        """Esketamine in an outpatient setting: a Patient Monitoring Form per session [2.2]."""
        return rems_form_applies(self.route, self.setting)

    @property
    def observation_minutes(self) -> int | None:
        if self.started_at is None or self.monitoring_ended_at is None:
            return None
        return int((self.monitoring_ended_at - self.started_at).total_seconds() // 60)

    def reading(self, timepoint: VitalsTimepoint) -> VitalSigns | None:
        return next((v for v in self.vitals if v.timepoint is timepoint and v.has_bp), None)

    def flags(self, protocol: Protocol | None = None) -> tuple[VitalsFlag, ...]:
        """Vitals, sedation and side-effect flags under the protocol's ``[monitoring]`` lines.

        Urgent flags (a reading at or past a hold line after the dose, MOAA/S at the
        urgent line, suicidal thoughts or hypertensive-crisis symptoms) carry the
        protocol's escalation steps in ``.escalation``.
        """
        protocol = protocol or default_protocol()
        return (
            vitals_flags(self.vitals, protocol)
            + sedation_flags(
                (
                    (r.minutes_after_dose, r.moaa_s)
                    for r in self.sedation
                    if r.minutes_after_dose > 0
                ),
                protocol,
            )
            + side_effect_flags(self.side_effects, protocol)
        )

    def urgent_flags(self, protocol: Protocol | None = None) -> tuple[VitalsFlag, ...]:
        """The flags at the URGENT level (each with its escalation steps)."""
        return tuple(f for f in self.flags(protocol) if f.level is FlagLevel.URGENT)

    def go_no_go(self, protocol: Protocol | None = None) -> GoDecision:
        """Go, review or hold before the dose, from the pre-dose readings and answers."""
        return go_no_go(
            self.vitals,
            self.pre_dose,
            needs_rems_enrolment=self.needs_rems_form,
            rems_enrolled=None if self.rems is None else self.rems.patient_enrolled,
            override=self.hold_override,
            protocol=protocol,
        )

    def dose_check(self, protocol: Protocol | None = None) -> DoseCheck:
        """The recorded dose against the plan and the route's rules."""
        return check_dose(
            self.route,
            self.dose_mg,
            weight_kg=self.weight_kg,
            age_years=self.patient_age_years,
            first_dose=self.first_dose,
            planned_dose_mg=self.planned_dose_mg,
            reason=self.dose_reason,
            protocol=protocol,
        )

    def discharge_readiness(self, protocol: Protocol | None = None) -> DischargeReadiness:
        """Every discharge criterion computed from the record, and what is unmet."""
        return discharge_readiness(self, protocol)

    @property
    def safety_alerts(self) -> tuple[Alert, ...]:
        """The session's safety alerts (kaptools.alerts.Alert) under the shipped protocol:
        every urgent flag (critical), and a C-SSRS finding of the pre-dose check.

        :func:`kaptools.sessions.save_dosing_session` stores them for the patient in the
        same transaction as the record; :meth:`safety_alerts_under` takes a protocol.
        """
        return self.safety_alerts_under(default_protocol())

    def safety_alerts_under(self, protocol: Protocol) -> tuple[Alert, ...]:
        """:attr:`safety_alerts` under ``protocol``."""
        return flags_to_alerts(self.flags(protocol), self.go_no_go(protocol))

    def check_recordable(self, protocol: Protocol | None = None) -> None:
        """Refuse a record that gives a dose the protocol does not allow to be recorded.

        A dose (``dose_mg``) is recorded as given only when the pre-dose decision is
        go or review, or a hold a clinician overrode with a written reason; and when
        the dose check allows it (no refusal, nothing unchecked, a reason where one
        is needed). Nothing is checked while no dose is recorded.

        Raises:
            RecordError: naming the field, the rule, the value and the fix.
            IncompleteInputError: what must be recorded first (``.missing``).
        """
        protocol = protocol or default_protocol()
        if self.dose_mg is None:
            return
        decision = self.go_no_go(protocol)
        if decision.missing:
            msg = (
                f"dose_mg: {fmt_number(self.dose_mg)} mg cannot be recorded as given: no go, "
                f"pre-dose {', '.join(decision.missing)} "
                f"{'is' if len(decision.missing) == 1 else 'are'} not recorded. Record "
                f"{'it' if len(decision.missing) == 1 else 'them'} first."
            )
            raise IncompleteInputError(msg, missing=decision.missing)
        if not decision.dose_may_be_recorded:
            holds = decision.holds
            uncovered = [
                f
                for f in holds
                if self.hold_override is None or f.rule_id not in self.hold_override.rules
            ]
            msg = (
                f"dose_mg: {fmt_number(self.dose_mg)} mg cannot be recorded as given under a "
                "hold: "
                + " ".join(f"[{f.rule_id}] {f.message}" for f in uncovered)
                + " Fix: do not dose, or a clinician overrides the hold with a written reason "
                "(hold_override)."
            )
            raise RecordError(msg)
        check = self.dose_check(protocol)
        if not check.recordable:
            bad = [
                f
                for f in check.findings
                if f.verdict in (DoseVerdict.REFUSED, DoseVerdict.UNCHECKED)
                or (f.verdict is DoseVerdict.NEEDS_REASON and not self.dose_reason.strip())
            ]
            msg = "dose: " + " ".join(f"[{f.field}, {f.rule_id}] {f.message}" for f in bad)
            if all(f.verdict is not DoseVerdict.REFUSED for f in bad):
                raise IncompleteInputError(msg, missing=tuple(dict.fromkeys(f.field for f in bad)))
            raise RecordError(msg)

    # -- completeness ----------------------------------------------------------------------

    def missing_for_completion(self, protocol: Protocol | None = None) -> tuple[str, ...]:
        """Required fields still empty (dotted names), in form order."""
        protocol = protocol or default_protocol()
        missing: list[str] = []
        names = ["started_at"]
        if self.route is Route.IV_KETAMINE:
            names.append("dose_ended_at")
        names += ["monitoring_ended_at", "discharged_at", "dose_mg", "lot_number"]
        for name in names:
            if getattr(self, name) is None:
                missing.append(name)
        if self.route is not Route.ESKETAMINE_NASAL and self.weight_kg is None:
            missing.append("weight_kg")
        for item in self.go_no_go(protocol).missing:
            if item not in missing:
                missing.append(item)
        for tp in (
            VitalsTimepoint.PRE_DOSE,
            VitalsTimepoint.POST_DOSE,
            VitalsTimepoint.PRE_DISCHARGE,
        ):
            if self.reading(tp) is None:
                missing.append(f"vitals.{tp.value}")
        # The during-infusion readings the protocol's schedule asks for (vitals_schedule).
        needed = sum(
            1 for tp, _ in vitals_schedule(self.route, protocol) if tp is VitalsTimepoint.DURING
        )
        have = sum(1 for v in self.vitals if v.timepoint is VitalsTimepoint.DURING and v.has_bp)
        missing.extend(f"vitals.during[{i + 1}]" for i in range(have, needed))
        if not self.sedation:
            missing.append("sedation")
        if not self.dissociation:
            missing.append("dissociation")
        if self.side_effects is None:
            missing.append("side_effects")
        missing.extend(self.discharge.missing())
        if self.needs_rems_form:
            form = self.rems_form(protocol)
            missing.extend(
                f"rems.{m}" for m in form.missing if f"rems.{m}" not in missing and m in _REMS_OWN
            )
        return tuple(missing)

    def _check_complete(self, protocol: Protocol) -> None:
        missing = self.missing_for_completion(protocol)
        if missing:
            msg = (
                f"The dosing session of {self.session_date} cannot be marked complete: "
                f"{', '.join(missing)} {'is' if len(missing) == 1 else 'are'} missing. Fill "
                f"{'it' if len(missing) == 1 else 'them'} in, then complete the session."
            )
            raise IncompleteInputError(msg, missing=missing)
        self.check_recordable(protocol)
        readiness = self.discharge_readiness(protocol)
        if not readiness.ready:
            msg = (
                "discharge: the record does not meet the protocol's discharge criteria, so the "
                "session cannot be completed: "
                + " ".join(f"[{c.key}] {c.message}" for c in readiness.unmet)
                + " Continue monitoring and record the readings, or correct the record."
            )
            raise RecordError(msg)
        if self.needs_rems_form:
            form = self.rems_form(protocol)
            if not form.complete:
                problems = [*(f"rems.{m} missing" for m in form.missing), *form.contradictions]
                msg = (
                    "rems: the REMS Patient Monitoring Form is not complete: "
                    + "; ".join(problems)
                    + ". Fill or correct these fields, then complete the session."
                )
                raise RecordError(msg)

    def complete(self, protocol: Protocol | None = None) -> DosingSession:
        """This session marked complete, or an error naming what is missing or wrong.

        Raises:
            IncompleteInputError: ``.missing`` lists the required fields still empty.
            RecordError: a dose that may not be recorded (hold without override, refused
                dose, reason missing), a discharge criterion not met (observation, BP,
                SpO2, MOAA/S, dissociation, escort, driving), or an incomplete or
                contradicted REMS Patient Monitoring Form.
        """
        protocol = protocol or default_protocol()
        self._check_complete(protocol)
        # Checked just now: mark it complete without running the check a second time
        # (``replace`` would re-run it in __post_init__).
        done = copy.copy(self)
        object.__setattr__(done, "status", SessionRecordStatus.COMPLETE)
        object.__setattr__(done, "protocol", protocol.info)
        return done

    # -- REMS ---------------------------------------------------------------------------

    def rems_form(self, protocol: Protocol | None = None) -> RemsMonitoringForm:
        """Every field of the REMS Patient Monitoring Form, filled from this record [2.2]."""
        protocol = protocol or default_protocol()
        m = protocol.monitoring
        rems = self.rems or RemsFields()
        pre = self.reading(VitalsTimepoint.PRE_DOSE)
        post = self.reading(VitalsTimepoint.POST_DOSE)
        out = self.reading(VitalsTimepoint.PRE_DISCHARGE)
        spo2 = [v.spo2 for v in self.vitals if v.spo2 is not None]
        decision = self.go_no_go(protocol)
        vitals_missing = [x for x in decision.missing if x.startswith("vitals.")]
        before = (
            None
            if vitals_missing
            else not any(f.field.startswith("vitals.") for f in decision.holds)
        )
        readiness = {c.key: c for c in self.discharge_readiness(protocol).criteria}
        bp_c, sp_c = readiness["blood_pressure"], readiness["spo2"]
        have_end = any(v.has_bp and is_after_dose(v) for v in self.vitals)
        at_end = (bp_c.met and sp_c.met) if have_end else None
        values: dict[str, Any] = {
            "patient_enrolled": rems.patient_enrolled,
            "first_treatment": rems.first_treatment,
            "concomitant_medications": rems.concomitant_medications,
            "dose_mg": self.dose_mg,
            "lot_number": self.lot_number,
            "administered_at": self.started_at,
            "bp_pre_dose": pre.bp_text if pre else None,
            "bp_post_dose": post.bp_text if post else None,
            "bp_pre_discharge": out.bp_text if out else None,
            "vital_signs_acceptable_before": before,
            "vital_signs_acceptable_at_end": at_end,
            "sedation": rems.sedation,
            "dissociation": rems.dissociation,
            "respiratory_depression": rems.respiratory_depression,
            "lowest_spo2": min(spo2) if spo2 else None,
            "serious_adverse_event": rems.serious_adverse_event,
            "ready_to_leave_at": rems.ready_to_leave_at,
            "monitoring_ended_at": self.monitoring_ended_at,
            "total_minutes_first_device_to_end_of_monitoring": self.observation_minutes,
            "discharged_at": self.discharged_at,
        }
        missing = [k for k, v in values.items() if v is None]
        if not self.sedation:
            missing.append("sedation_ratings")
        if not self.dissociation:
            missing.append("dissociation_ratings")
        contradictions: list[str] = []
        scale = moaa_s()
        sedated = [r for r in self.sedation if r.minutes_after_dose > 0 and r.moaa_s < scale.alert]
        if rems.sedation is False and sedated:
            contradictions.append(
                f"rems.sedation: answered no, but MOAA/S {sedated[0].moaa_s} was recorded at "
                f"{sedated[0].minutes_after_dose} min (below {scale.alert}, alert); answer yes"
            )
        pre_d = [r.total for r in self.dissociation if r.minutes_after_dose <= 0]
        base = pre_d[-1] if pre_d else 0
        dissociated = [r for r in self.dissociation if r.minutes_after_dose > 0 and r.total > base]
        effect = any(s.effect is SideEffect.DISSOCIATION for s in self.side_effects or ())
        if rems.dissociation is False and (dissociated or effect):
            what = (
                f"CADSS-6 total {dissociated[0].total} at {dissociated[0].minutes_after_dose} "
                f"min (pre-dose {base})"
                if dissociated
                else "a dissociation side effect"
            )
            contradictions.append(
                f"rems.dissociation: answered no, but the record shows {what}; answer yes"
            )
        depressed = [
            v
            for v in self.vitals
            if is_after_dose(v)
            and (
                (
                    v.respiratory_rate is not None
                    and v.respiratory_rate < m.respiratory_rate_hold_below.value
                )
                or (v.spo2 is not None and v.spo2 < m.spo2_hold_below.value)
            )
        ]
        if rems.respiratory_depression is False and depressed:
            contradictions.append(
                f"rems.respiratory_depression: answered no, but {depressed[0].summary} is past "
                f"the hold line (respiratory rate < {m.respiratory_rate_hold_below} or SpO2 < "
                f"{m.spo2_hold_below}); answer yes"
            )
        r = rems.ready_to_leave_at
        if r is not None and self.started_at is not None and r < self.started_at:
            contradictions.append(
                f"rems.ready_to_leave_at: {r:%H:%M} is before the dose ({self.started_at:%H:%M}); "
                "enter the time the patient would have been ready to leave"
            )
        return RemsMonitoringForm(
            patient_id=self.patient_id,
            session_date=self.session_date,
            setting=self.setting,
            sedation_ratings=self.sedation,
            dissociation_ratings=self.dissociation,
            serious_adverse_event_description=rems.serious_adverse_event_description,
            missing=tuple(missing),
            contradictions=tuple(contradictions),
            **values,
        )

    # -- display and persistence -----------------------------------------------------------

    @property
    def summary(self) -> str:
        dose = f"{fmt_number(self.dose_mg)} mg" if self.dose_mg is not None else "dose not recorded"
        lot = f", lot {self.lot_number}" if self.lot_number else ""
        flags = self.flags()
        lines = [
            f"{self.route.value} dosing session {self.session_date.isoformat()} "
            f"({self.status.value}): {dose}{lot}",
            "Before the dose: " + self.go_no_go().headline,
        ]
        lines.extend(f.summary for f in flags)
        if self.side_effects:
            lines.append("Side effects: " + "; ".join(s.summary for s in self.side_effects))
        if self.status is SessionRecordStatus.IN_PROGRESS:
            lines.append(self.discharge_readiness().summary)
            missing = self.missing_for_completion()
            if missing:
                lines.append("To complete: " + ", ".join(missing))
        return "\n".join(lines)

    def _repr_html_(self) -> str:
        esc = html.escape
        flags = "".join(f._repr_html_() for f in self.flags())
        vitals = "".join(f"<li>{esc(v.summary)}</li>" for v in self.vitals)
        head, *_ = self.summary.split("\n")
        return (
            f"<div class='kap-dosing-session'><strong>{esc(head)}</strong>"
            f"{self.go_no_go()._repr_html_()}{flags}"
            f"<ul>{vitals}</ul>{self.discharge_readiness()._repr_html_()}</div>"
        )

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready form; :func:`parse_dosing_session` reads it back."""

        def t(x: dt.datetime | None) -> str | None:
            return x.isoformat() if x is not None else None

        rems = self.rems
        ho = self.hold_override
        return {
            "patient_id": self.patient_id,
            "route": self.route.value,
            "session_date": self.session_date.isoformat(),
            "started_at": t(self.started_at),
            "monitoring_ended_at": t(self.monitoring_ended_at),
            "discharged_at": t(self.discharged_at),
            "dose_mg": self.dose_mg,
            "lot_number": self.lot_number,
            "vitals": [
                {
                    "timepoint": v.timepoint.value,
                    "minutes_after_dose": v.minutes_after_dose,
                    "systolic": v.systolic,
                    "diastolic": v.diastolic,
                    "heart_rate": v.heart_rate,
                    "spo2": v.spo2,
                    "respiratory_rate": v.respiratory_rate,
                }
                for v in self.vitals
            ],
            "sedation": [
                {"minutes_after_dose": r.minutes_after_dose, "moaa_s": r.moaa_s}
                for r in self.sedation
            ],
            "dissociation": [
                {"minutes_after_dose": r.minutes_after_dose, "items": list(r.items)}
                for r in self.dissociation
            ],
            "side_effects": None
            if self.side_effects is None
            else [
                {"effect": s.effect.value, "severity": s.severity.value, "note": s.note}
                for s in self.side_effects
            ],
            "discharge": {
                f.name: getattr(self.discharge, f.name) for f in fields(DischargeChecklist)
            },
            "rems": None
            if rems is None
            else {
                "patient_enrolled": rems.patient_enrolled,
                "first_treatment": rems.first_treatment,
                "concomitant_medications": None
                if rems.concomitant_medications is None
                else [m.value for m in rems.concomitant_medications],
                "serious_adverse_event": rems.serious_adverse_event,
                "serious_adverse_event_description": rems.serious_adverse_event_description,
                "form_submitted_on": rems.form_submitted_on.isoformat()
                if rems.form_submitted_on
                else None,
                "ready_to_leave_at": t(rems.ready_to_leave_at),
                "sedation": rems.sedation,
                "dissociation": rems.dissociation,
                "respiratory_depression": rems.respiratory_depression,
            },
            "setting": self.setting.value,
            "plan_session_index": self.plan_session_index,
            "notes": self.notes,
            "status": self.status.value,
            "protocol": None
            if self.protocol is None
            else {
                "name": self.protocol.name,
                "version": self.protocol.version,
                "sha256": self.protocol.sha256,
            },
            "dose_ended_at": t(self.dose_ended_at),
            "pre_dose": {
                "cssrs_since_last_visit": None
                if self.pre_dose.cssrs_since_last_visit is None
                else [q.value for q in self.pre_dose.cssrs_since_last_visit],
                "pregnant_since_screening": self.pre_dose.pregnant_since_screening,
                "acutely_intoxicated": self.pre_dose.acutely_intoxicated,
            },
            "hold_override": None
            if ho is None
            else {
                "clinician": ho.clinician,
                "reason": ho.reason,
                "rules": list(ho.rules),
                "at": t(ho.at),
            },
            "weight_kg": self.weight_kg,
            "patient_age_years": self.patient_age_years,
            "first_dose": self.first_dose,
            "planned_dose_mg": self.planned_dose_mg,
            "dose_reason": self.dose_reason,
            "dissociation_note": self.dissociation_note,
        }


# -- the edge: pydantic models for untrusted input ----------------------------------------


class _Edge(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class _VitalsIn(_Edge):
    timepoint: VitalsTimepoint
    minutes_after_dose: int | None = None
    systolic: int | None = None
    diastolic: int | None = None
    heart_rate: int | None = None
    spo2: int | None = None
    respiratory_rate: int | None = None


class _SedationIn(_Edge):
    minutes_after_dose: int
    moaa_s: int


class _DissociationIn(_Edge):
    minutes_after_dose: int
    items: list[int]


class _SideEffectIn(_Edge):
    effect: SideEffect
    severity: Severity
    note: str = ""


class _DischargeIn(_Edge):
    escort_home: bool | None = None
    no_driving_until_next_day: bool | None = None
    # Records saved before discharge was computed held these two ticks; they are read
    # (so old versions still open) but never used: the record's numbers decide.
    vitals_near_baseline: bool | None = Field(default=None, exclude=True)
    alert_and_oriented: bool | None = Field(default=None, exclude=True)


class _PreDoseIn(_Edge):
    cssrs_since_last_visit: list[CssrsQuestion] | None = None
    pregnant_since_screening: bool | None = None
    acutely_intoxicated: bool | None = None


class _OverrideIn(_Edge):
    clinician: str
    reason: str
    rules: list[str]
    at: dt.datetime | None = None


class _RemsIn(_Edge):
    patient_enrolled: bool | None = None
    first_treatment: bool | None = None
    concomitant_medications: list[ConcomitantMedication] | None = None
    serious_adverse_event: bool | None = None
    serious_adverse_event_description: str = ""
    form_submitted_on: dt.date | None = None
    ready_to_leave_at: dt.datetime | None = None
    sedation: bool | None = None
    dissociation: bool | None = None
    respiratory_depression: bool | None = None


class _ProtocolIn(_Edge):
    name: str
    version: str
    sha256: str


class DosingSessionInput(_Edge):
    """A dosing session as it arrives from a form, a widget or JSON (validated, then converted)."""

    patient_id: str = Field(min_length=1)
    route: Route
    session_date: dt.date
    started_at: dt.datetime | None = None
    monitoring_ended_at: dt.datetime | None = None
    discharged_at: dt.datetime | None = None
    dose_mg: float | None = None
    lot_number: str | None = None
    vitals: list[_VitalsIn] = []
    sedation: list[_SedationIn] = []
    dissociation: list[_DissociationIn] = []
    side_effects: list[_SideEffectIn] | None = None
    discharge: _DischargeIn = _DischargeIn()
    rems: _RemsIn | None = None
    setting: CareSetting = CareSetting.OUTPATIENT
    plan_session_index: int | None = None
    notes: str = ""
    status: Literal["in_progress", "complete"] = "in_progress"
    protocol: _ProtocolIn | None = None
    dose_ended_at: dt.datetime | None = None
    pre_dose: _PreDoseIn = _PreDoseIn()
    hold_override: _OverrideIn | None = None
    weight_kg: float | None = None
    patient_age_years: int | None = None
    first_dose: bool | None = None
    planned_dose_mg: float | None = None
    dose_reason: str = ""
    dissociation_note: str = ""

    def to_domain(self) -> DosingSession:
        d = self.discharge
        r = self.rems
        return DosingSession(
            patient_id=self.patient_id,
            route=self.route,
            session_date=self.session_date,
            started_at=self.started_at,
            monitoring_ended_at=self.monitoring_ended_at,
            discharged_at=self.discharged_at,
            dose_mg=self.dose_mg,
            lot_number=self.lot_number or None,
            vitals=tuple(VitalSigns(**v.model_dump()) for v in self.vitals),
            sedation=tuple(SedationRating(s.minutes_after_dose, s.moaa_s) for s in self.sedation),
            dissociation=tuple(
                DissociationRating(x.minutes_after_dose, tuple(x.items)) for x in self.dissociation
            ),
            side_effects=None
            if self.side_effects is None
            else tuple(SideEffectReport(s.effect, s.severity, s.note) for s in self.side_effects),
            discharge=DischargeChecklist(**d.model_dump()),
            rems=None
            if r is None
            else RemsFields(
                patient_enrolled=r.patient_enrolled,
                first_treatment=r.first_treatment,
                concomitant_medications=None
                if r.concomitant_medications is None
                else tuple(r.concomitant_medications),
                serious_adverse_event=r.serious_adverse_event,
                serious_adverse_event_description=r.serious_adverse_event_description,
                form_submitted_on=r.form_submitted_on,
                ready_to_leave_at=r.ready_to_leave_at,
                sedation=r.sedation,
                dissociation=r.dissociation,
                respiratory_depression=r.respiratory_depression,
            ),
            setting=self.setting,
            plan_session_index=self.plan_session_index,
            notes=self.notes,
            status=SessionRecordStatus(self.status),
            protocol=None if self.protocol is None else ProtocolInfo(**self.protocol.model_dump()),
            dose_ended_at=self.dose_ended_at,
            pre_dose=PreDoseChecks(
                None
                if self.pre_dose.cssrs_since_last_visit is None
                else tuple(self.pre_dose.cssrs_since_last_visit),
                self.pre_dose.pregnant_since_screening,
                self.pre_dose.acutely_intoxicated,
            ),
            hold_override=None
            if self.hold_override is None
            else HoldOverride(
                self.hold_override.clinician,
                self.hold_override.reason,
                tuple(self.hold_override.rules),
                self.hold_override.at,
            ),
            weight_kg=self.weight_kg,
            patient_age_years=self.patient_age_years,
            first_dose=self.first_dose,
            planned_dose_mg=self.planned_dose_mg,
            dose_reason=self.dose_reason,
            dissociation_note=self.dissociation_note,
        )


_FIXES = {
    "extra_forbidden": "remove it (check the spelling against the dosing-session fields)",
}


def parse_dosing_session(data: Mapping[str, Any]) -> DosingSession:
    """A :class:`DosingSession` from a dict (widget values, JSON from the store).

    Raises:
        RecordError: the message names each field, the rule it breaks, the value
            received and the fix; or IncompleteInputError when the record is marked
            complete with fields missing.
    """
    if not isinstance(data, Mapping):
        msg = f"dosing session: expected a mapping of fields (got {type(data).__name__})"
        raise RecordError(msg)
    try:
        model = DosingSessionInput.model_validate(dict(data))
    except ValidationError as exc:
        problems = problems_from_validation(exc, path=dotted_path, top="(record)", fixes=_FIXES)
        raise RecordError.of("The dosing-session record", problems) from None
    try:
        return model.to_domain()
    except InvalidInputError as exc:
        if isinstance(exc, RecordError):
            raise
        raise RecordError(f"The dosing-session record is invalid: {exc}", *exc.problems) from None
