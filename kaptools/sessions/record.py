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

import datetime as dt
import enum
import html
import itertools
import math
from collections.abc import Mapping
from dataclasses import dataclass, field, fields, replace
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from kaptools.errors import IncompleteInputError, InvalidInputError, RecordError
from kaptools.protocol import Protocol, ProtocolInfo, default_protocol
from kaptools.protocol._courses import Route
from kaptools.scheduling.doses import fmt_number
from kaptools.sessions.scales import cadss6, moaa_s
from kaptools.sessions.side_effects import Severity, SideEffect, SideEffectReport
from kaptools.sessions.vitals import (
    VitalsFlag,
    VitalSigns,
    VitalsTimepoint,
    sedation_flags,
    vitals_flags,
    vitals_schedule,
)
from kaptools.validation import check_identifier

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


def _nonneg_int(value: object, name: str, hi: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= hi:
        msg = f"{name}: must be a whole number from 0 to {hi} (got {value!r})"
        raise InvalidInputError(msg)
    return value


@dataclass(frozen=True, slots=True)
class SedationRating:
    """A MOAA/S rating (0 = loss of consciousness … 5 = alert) at a time after dosing [2.1, 4.7]."""

    minutes_after_dose: int
    moaa_s: int

    def __post_init__(self) -> None:
        scale = moaa_s()
        _nonneg_int(self.minutes_after_dose, "sedation.minutes_after_dose", 24 * 60)
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
    """A CADSS-6 rating: the six short-form CADSS items, each 0–4, at a time after dosing [4.7]."""

    minutes_after_dose: int
    items: tuple[int, ...]

    def __post_init__(self) -> None:
        scale = cadss6()
        _nonneg_int(self.minutes_after_dose, "dissociation.minutes_after_dose", 24 * 60)
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
    """The discharge criteria, each answered by the clinician (None: not yet) [2.1, 5.4]."""

    vitals_near_baseline: bool | None = None
    """Vital signs back near the pre-dose values (BP falling after its peak)."""
    alert_and_oriented: bool | None = None
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

    def __post_init__(self) -> None:
        for name in ("patient_enrolled", "first_treatment", "serious_adverse_event"):
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


@dataclass(frozen=True, slots=True)
class RemsMonitoringForm:
    """The REMS Patient Monitoring Form's fields, filled from a session record [2.2]."""

    patient_id: str
    session_date: dt.date
    patient_enrolled: bool | None
    first_treatment: bool | None
    concomitant_medications: tuple[ConcomitantMedication, ...] | None
    dose_mg: float | None
    lot_number: str | None
    bp_pre_dose: str | None
    bp_post_dose: str | None
    bp_pre_discharge: str | None
    sedation: tuple[SedationRating, ...]
    dissociation: tuple[DissociationRating, ...]
    lowest_spo2: int | None
    serious_adverse_event: bool | None
    serious_adverse_event_description: str
    total_minutes_first_device_to_end_of_monitoring: int | None
    discharged_at: dt.datetime | None
    missing: tuple[str, ...]
    """Fields still to fill before the form can be filed."""

    @property
    def summary(self) -> str:
        state = "ready to file" if not self.missing else f"missing {', '.join(self.missing)}"
        return (
            f"REMS Patient Monitoring Form for {self.patient_id}, "
            f"session {self.session_date}: {state}"
        )

    def _repr_html_(self) -> str:
        return f"<p class='kap-rems-form'>{html.escape(self.summary)}</p>"


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
                    "end of monitoring → discharge"
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
        if self.status is SessionRecordStatus.COMPLETE:
            # A record marked complete must pass the completion check; it is run under the
            # shipped protocol unless the record names another (then it was checked there).
            default = default_protocol()
            if self.protocol is None or self.protocol.sha256 == default.info.sha256:
                self._check_complete(default)

    # -- derived ------------------------------------------------------------------------

    @property
    def needs_rems_form(self) -> bool:
        """Esketamine in an outpatient setting: a Patient Monitoring Form per session [2.2]."""
        return self.route is Route.ESKETAMINE_NASAL and self.setting is CareSetting.OUTPATIENT

    @property
    def observation_minutes(self) -> int | None:
        if self.started_at is None or self.monitoring_ended_at is None:
            return None
        return int((self.monitoring_ended_at - self.started_at).total_seconds() // 60)

    def reading(self, timepoint: VitalsTimepoint) -> VitalSigns | None:
        return next((v for v in self.vitals if v.timepoint is timepoint and v.has_bp), None)

    def flags(self, protocol: Protocol | None = None) -> tuple[VitalsFlag, ...]:
        """Vitals and sedation flags under the protocol's ``[monitoring]`` thresholds."""
        protocol = protocol or default_protocol()
        return vitals_flags(self.vitals, protocol) + sedation_flags(
            ((r.minutes_after_dose, r.moaa_s) for r in self.sedation), protocol
        )

    # -- completeness ----------------------------------------------------------------------

    def missing_for_completion(self, protocol: Protocol | None = None) -> tuple[str, ...]:
        """Required fields still empty (dotted names), in form order."""
        protocol = protocol or default_protocol()
        missing: list[str] = []
        for name in ("started_at", "monitoring_ended_at", "discharged_at", "dose_mg", "lot_number"):
            if getattr(self, name) is None:
                missing.append(name)
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
            rems = self.rems or RemsFields()
            for name in (
                "patient_enrolled",
                "first_treatment",
                "concomitant_medications",
                "serious_adverse_event",
            ):
                if getattr(rems, name) is None:
                    missing.append(f"rems.{name}")
            if not any(v.spo2 is not None for v in self.vitals):
                missing.append("vitals.spo2")
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
        not_met = self.discharge.not_met()
        if not_met:
            msg = (
                f"discharge: {', '.join(not_met)} answered 'no'; the patient does not yet meet "
                f"the discharge criteria [5.4]. Continue monitoring, or record the discharge "
                f"arrangements, before completing the session"
            )
            raise RecordError(msg)
        if self.route is Route.ESKETAMINE_NASAL:
            minimum = protocol.monitoring.esketamine_observation_min_minutes
            observed = self.observation_minutes
            if observed is not None and observed < minimum.value:
                msg = (
                    f"monitoring_ended_at: observation lasted {observed} min after dosing; the "
                    f"protocol requires at least {fmt_number(minimum.value)} "
                    f"{minimum.unit.split()[0]} "
                    f"({minimum.source}). Record the real end of monitoring"
                )
                raise RecordError(msg)
            if (
                self.needs_rems_form
                and self.rems is not None
                and self.rems.patient_enrolled is False
            ):
                msg = (
                    "rems.patient_enrolled: the patient is not enrolled in the SPRAVATO REMS; "
                    "enrolment is required before treatment in an outpatient setting [2.2]"
                )
                raise RecordError(msg)

    def complete(self, protocol: Protocol | None = None) -> DosingSession:
        """This session marked complete, or an error naming what is missing or wrong.

        Raises:
            IncompleteInputError: ``.missing`` lists the required fields still empty.
            RecordError: a discharge criterion answered no, observation shorter than the
                protocol's minimum (esketamine), or an outpatient not enrolled in the REMS.
        """
        protocol = protocol or default_protocol()
        self._check_complete(protocol)
        return replace(self, status=SessionRecordStatus.COMPLETE, protocol=protocol.info)

    # -- REMS ---------------------------------------------------------------------------

    def rems_form(self) -> RemsMonitoringForm:
        """The REMS Patient Monitoring Form's fields filled from this record [2.2]."""
        rems = self.rems or RemsFields()
        pre = self.reading(VitalsTimepoint.PRE_DOSE)
        post = self.reading(VitalsTimepoint.POST_DOSE)
        out = self.reading(VitalsTimepoint.PRE_DISCHARGE)
        spo2 = [v.spo2 for v in self.vitals if v.spo2 is not None]
        values: dict[str, Any] = {
            "patient_enrolled": rems.patient_enrolled,
            "first_treatment": rems.first_treatment,
            "concomitant_medications": rems.concomitant_medications,
            "dose_mg": self.dose_mg,
            "lot_number": self.lot_number,
            "bp_pre_dose": pre.bp_text if pre else None,
            "bp_post_dose": post.bp_text if post else None,
            "bp_pre_discharge": out.bp_text if out else None,
            "lowest_spo2": min(spo2) if spo2 else None,
            "serious_adverse_event": rems.serious_adverse_event,
            "total_minutes_first_device_to_end_of_monitoring": self.observation_minutes,
            "discharged_at": self.discharged_at,
        }
        missing = [k for k, v in values.items() if v is None]
        if not self.sedation:
            missing.append("sedation")
        if not self.dissociation:
            missing.append("dissociation")
        return RemsMonitoringForm(
            patient_id=self.patient_id,
            session_date=self.session_date,
            sedation=self.sedation,
            dissociation=self.dissociation,
            serious_adverse_event_description=rems.serious_adverse_event_description,
            missing=tuple(missing),
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
            f"({self.status.value}): {dose}{lot}"
        ]
        lines.extend(f.summary for f in flags)
        if self.side_effects:
            lines.append("Side effects: " + "; ".join(s.summary for s in self.side_effects))
        if self.status is SessionRecordStatus.IN_PROGRESS:
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
            f"<div class='kap-dosing-session'><strong>{esc(head)}</strong>{flags}"
            f"<ul>{vitals}</ul></div>"
        )

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready form; :func:`parse_dosing_session` reads it back."""

        def t(x: dt.datetime | None) -> str | None:
            return x.isoformat() if x is not None else None

        rems = self.rems
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
    vitals_near_baseline: bool | None = None
    alert_and_oriented: bool | None = None
    escort_home: bool | None = None
    no_driving_until_next_day: bool | None = None


class _RemsIn(_Edge):
    patient_enrolled: bool | None = None
    first_treatment: bool | None = None
    concomitant_medications: list[ConcomitantMedication] | None = None
    serious_adverse_event: bool | None = None
    serious_adverse_event_description: str = ""
    form_submitted_on: dt.date | None = None


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
                r.patient_enrolled,
                r.first_treatment,
                None if r.concomitant_medications is None else tuple(r.concomitant_medications),
                r.serious_adverse_event,
                r.serious_adverse_event_description,
                r.form_submitted_on,
            ),
            setting=self.setting,
            plan_session_index=self.plan_session_index,
            notes=self.notes,
            status=SessionRecordStatus(self.status),
            protocol=None if self.protocol is None else ProtocolInfo(**self.protocol.model_dump()),
        )


_FIXES = {
    "missing": "supply it",
    "extra_forbidden": "remove it (check the spelling against the dosing-session fields)",
    "enum": "use one of the listed values",
    "literal_error": "use one of the listed values",
    "int_parsing": "enter a whole number",
    "int_from_float": "enter a whole number",
    "float_parsing": "enter a number",
    "bool_parsing": "answer yes (true) or no (false), or leave it unanswered (null)",
    "date_from_datetime_parsing": "enter a date as YYYY-MM-DD",
    "date_parsing": "enter a date as YYYY-MM-DD",
    "datetime_parsing": "enter a date and time as YYYY-MM-DDTHH:MM",
    "datetime_from_date_parsing": "enter a date and time as YYYY-MM-DDTHH:MM",
    "string_too_short": "enter a value",
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
        parts = []
        for e in exc.errors():
            where = ".".join(str(p) for p in e["loc"]) or "(record)"
            got = "" if e["type"] == "missing" else f"; got {e.get('input')!r}"
            fix = _FIXES.get(e["type"], "correct the value")
            parts.append(f"  - {where}: {e['msg']}{got}; fix: {fix}")
        msg = "The dosing-session record is not valid:\n" + "\n".join(parts)
        raise RecordError(msg) from None
    try:
        return model.to_domain()
    except InvalidInputError as exc:
        if isinstance(exc, RecordError):
            raise
        raise RecordError(f"The dosing-session record is not valid: {exc}") from None
