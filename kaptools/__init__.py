"""kaptools: decision support for ketamine-assisted psychotherapy (KAP) clinics.

kaptools supports clinical judgement and never replaces it: screening results say
"meets the protocol's criteria", doses are "for clinician confirmation".

The public names are re-exported here; ``__all__`` is the public API.
"""

from __future__ import annotations

from kaptools.alerts import CRISIS_LINE_TEXT, Alert, AlertLevel
from kaptools.errors import (
    ClinicalWarning,
    ConfigurationError,
    IncompleteAnswersError,
    IncompleteInputError,
    InvalidAnswerError,
    InvalidInputError,
    KaptoolsError,
    NotFoundError,
    NotPlannableError,
    PlanningError,
    ProtocolError,
    RecordError,
    StoreError,
    UnknownInstrumentError,
)
from kaptools.protocol import Protocol, ProtocolInfo, default_protocol, load_protocol

__version__ = "0.1.0"

__all__ = [
    "CRISIS_LINE_TEXT",
    "Alert",
    "AlertLevel",
    "ClinicalWarning",
    "ConfigurationError",
    "IncompleteAnswersError",
    "IncompleteInputError",
    "InvalidAnswerError",
    "InvalidInputError",
    "KaptoolsError",
    "NotFoundError",
    "NotPlannableError",
    "PlanningError",
    "Protocol",
    "ProtocolError",
    "ProtocolInfo",
    "RecordError",
    "StoreError",
    "UnknownInstrumentError",
    "__version__",
    "default_protocol",
    "load_protocol",
]
