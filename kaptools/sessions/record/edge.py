"""The edge of the dosing-session record: pydantic models for untrusted input (a
widget's values, JSON from the store) and :func:`parse_dosing_session`, whose errors
name the field, the rule, the value and the fix.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from kaptools.arguments import checks_itself
from kaptools.errors import InvalidInputError, RecordError, dotted_path, problems_from_validation
from kaptools.protocol import ProtocolInfo
from kaptools.sessions.record.parts import (
    CareSetting,
    ConcomitantMedication,
    DischargeChecklist,
    DissociationRating,
    RemsFields,
    SedationRating,
    SessionRecordStatus,
)
from kaptools.sessions.record.session import DosingSession
from kaptools.sessions.safety import HoldOverride, PreDoseChecks
from kaptools.sessions.side_effects import Severity, SideEffect, SideEffectReport
from kaptools.sessions.vitals import VitalSigns, VitalsTimepoint
from kaptools.vocabulary import CssrsQuestion, Route

__all__ = ["DosingSessionInput", "parse_dosing_session"]


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


# data: its own check is a RecordError, as for every other bad record
@checks_itself("data")
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
