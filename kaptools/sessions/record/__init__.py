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
    kaptools/sources.toml §2.1 (observation, BP, driving), §2.2 (REMS form fields),
    §4.7 (MOAA/S, CADSS), §5.1–§5.4 (side effects, vitals, discharge).

The package is split by concept, each module re-exported here:

==============================  =========================================================
``record.session``              :class:`DosingSession`: what it derives, when complete
``record.parts``                its parts: status, setting, ratings, discharge, REMS fields
``record.checks``               the checks it runs on construction, by group of fields
``record.rems_form``            the REMS Patient Monitoring Form filled from it
``record.serialise``            the JSON-ready form the store keeps
``record.edge``                 pydantic models for untrusted input, parse_dosing_session
==============================  =========================================================
"""

from __future__ import annotations

from kaptools.arguments import check_exports as _check_exports
from kaptools.sessions.record.edge import DosingSessionInput, parse_dosing_session
from kaptools.sessions.record.parts import (
    CareSetting,
    ConcomitantMedication,
    DischargeChecklist,
    DissociationRating,
    RemsFields,
    SedationRating,
    SessionRecordStatus,
    rems_form_applies,
)
from kaptools.sessions.record.rems_form import RemsMonitoringForm
from kaptools.sessions.record.session import DosingSession

__all__ = [
    "CareSetting",
    "ConcomitantMedication",
    "DischargeChecklist",
    "DissociationRating",
    "DosingSession",
    "DosingSessionInput",
    "RemsFields",
    "RemsMonitoringForm",
    "SedationRating",
    "SessionRecordStatus",
    "parse_dosing_session",
    "rems_form_applies",
]

# Every function listed above refuses wrong argument types by name (issue 13).
_check_exports(globals())
