"""Dosing sessions: the session record as a safety checklist.

Build a :class:`DosingSession` (or parse one with :func:`parse_dosing_session`);
before the dose read :meth:`~DosingSession.go_no_go` (go / review / hold; a hold is
overridden only with a :class:`HoldOverride`); after it :meth:`~DosingSession.flags`
(urgent flags carry their escalation steps) and :meth:`~DosingSession.safety_alerts`
(kaptools.alerts.Alert objects for the alert store); check the dose with
:meth:`~DosingSession.dose_check`; see what discharge still needs with
:meth:`~DosingSession.discharge_readiness`; mark it complete with
:meth:`~DosingSession.complete`; fill the REMS form with
:meth:`~DosingSession.rems_form`; list REMS forms due with :func:`rems_forms_due`;
keep records in the store with :func:`save_dosing_session`.
"""

from __future__ import annotations

from kaptools.arguments import check_exports as _check_exports
from kaptools.sessions.discharge import DischargeCriterion, DischargeReadiness, discharge_readiness
from kaptools.sessions.dose_check import DoseCheck, DoseFinding, DoseVerdict, check_dose
from kaptools.sessions.record import (
    CareSetting,
    ConcomitantMedication,
    DischargeChecklist,
    DissociationRating,
    DosingSession,
    DosingSessionInput,
    RemsFields,
    RemsMonitoringForm,
    SedationRating,
    SessionRecordStatus,
    parse_dosing_session,
    rems_form_applies,
)
from kaptools.sessions.rems import RemsFormDue, RemsFormStatus, rems_forms_due
from kaptools.sessions.safety import (
    GoDecision,
    GoFinding,
    GoStatus,
    HoldOverride,
    PreDoseChecks,
    flags_to_alerts,
    go_no_go,
    side_effect_flags,
)
from kaptools.sessions.side_effects import (
    Severity,
    SideEffect,
    SideEffectInfo,
    SideEffectReport,
    side_effect_table,
)
from kaptools.sessions.storage import (
    DOSE_HOLD_OVERRIDE_KIND,
    DOSING_SESSION_KIND,
    SavedDosingSession,
    dosing_session_history,
    dosing_sessions,
    hold_overrides,
    save_dosing_session,
)
from kaptools.sessions.vitals import (
    FlagLevel,
    VitalsFlag,
    VitalSigns,
    VitalsTimepoint,
    after_dose_hold_line_flags,
    sedation_flags,
    vitals_flags,
    vitals_schedule,
)
from kaptools.sessions.vitals_rows import VitalsSlot, vitals_slots

__all__ = [
    "DOSE_HOLD_OVERRIDE_KIND",
    "DOSING_SESSION_KIND",
    "CareSetting",
    "ConcomitantMedication",
    "DischargeChecklist",
    "DischargeCriterion",
    "DischargeReadiness",
    "DissociationRating",
    "DoseCheck",
    "DoseFinding",
    "DoseVerdict",
    "DosingSession",
    "DosingSessionInput",
    "FlagLevel",
    "GoDecision",
    "GoFinding",
    "GoStatus",
    "HoldOverride",
    "PreDoseChecks",
    "RemsFields",
    "RemsFormDue",
    "RemsFormStatus",
    "RemsMonitoringForm",
    "SavedDosingSession",
    "SedationRating",
    "SessionRecordStatus",
    "Severity",
    "SideEffect",
    "SideEffectInfo",
    "SideEffectReport",
    "VitalSigns",
    "VitalsFlag",
    "VitalsSlot",
    "VitalsTimepoint",
    "after_dose_hold_line_flags",
    "check_dose",
    "discharge_readiness",
    "dosing_session_history",
    "dosing_sessions",
    "flags_to_alerts",
    "go_no_go",
    "hold_overrides",
    "parse_dosing_session",
    "rems_form_applies",
    "rems_forms_due",
    "save_dosing_session",
    "sedation_flags",
    "side_effect_flags",
    "side_effect_table",
    "vitals_flags",
    "vitals_schedule",
    "vitals_slots",
]

# Every function listed above refuses wrong argument types by name (issue 13).
_check_exports(globals())
