"""Dosing sessions: the session record, vital-sign flags, side effects, REMS forms due.

Build a :class:`DosingSession` (or parse one with :func:`parse_dosing_session`),
read its :meth:`~DosingSession.flags`, mark it complete with
:meth:`~DosingSession.complete`, list REMS forms with :func:`rems_forms_due`, and
keep records in the store with :func:`save_dosing_session`.
"""

from __future__ import annotations

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
)
from kaptools.sessions.rems import RemsFormDue, RemsFormStatus, rems_forms_due
from kaptools.sessions.side_effects import (
    Severity,
    SideEffect,
    SideEffectInfo,
    SideEffectReport,
    side_effect_table,
)
from kaptools.sessions.storage import (
    DOSING_SESSION_KIND,
    SavedDosingSession,
    dosing_session_history,
    dosing_sessions,
    save_dosing_session,
)
from kaptools.sessions.vitals import (
    FlagLevel,
    VitalsFlag,
    VitalSigns,
    VitalsTimepoint,
    sedation_flags,
    vitals_flags,
    vitals_schedule,
)

__all__ = [
    "DOSING_SESSION_KIND",
    "CareSetting",
    "ConcomitantMedication",
    "DischargeChecklist",
    "DissociationRating",
    "DosingSession",
    "DosingSessionInput",
    "FlagLevel",
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
    "VitalsTimepoint",
    "dosing_session_history",
    "dosing_sessions",
    "parse_dosing_session",
    "rems_forms_due",
    "save_dosing_session",
    "sedation_flags",
    "side_effect_table",
    "vitals_flags",
    "vitals_schedule",
]
