"""Persistence: patients, versioned clinical records and the audit log (SQLAlchemy).

Clinical records are never overwritten or deleted. A correction is a new version
of the same record (``record_id``) with a reason; the old versions stay readable
through :meth:`Store.record_history`. Every write appends an audit row (who, when,
what) in the same transaction, so a failed write leaves nothing behind.

SQLite is the default (a file named by ``KAPTOOLS_DATABASE_URL`` or
``KAPTOOLS_HOME``, see :mod:`kaptools.config`); a PostgreSQL URL works unchanged.

The package is split by concept, each module re-exported here:

==========================  ================================================================
``store.base``              the database, who acts and what they may touch, transactions,
                            the audit log (write, read, verify)
``store.patients``          patients and the demo-database mark
``store.records``           versioned records, corrections, companions
``store.alerts``            stored safety alerts and their acknowledgements
``store.audit``             the audit log's hash chain (the migrations use it too)
``store.connection``        engine, SQLite pragmas and file, the write locks
``store.checks``            checks on kinds, names, dates and payloads (limits.toml ``size``)
``store.values``            the frozen values handed back; the researcher's de-identified view
``store.saved``             a stored record read back as its domain value (``SavedRecord``:
                            ``SavedPlan``, ``SavedDosingSession``)
``store.tables``            the SQLAlchemy tables
==========================  ================================================================
"""

from __future__ import annotations

from kaptools.arguments import check_exports as _check_exports
from kaptools.store.alerts import AlertsMixin
from kaptools.store.audit import (
    AUDIT_GENESIS_HASH,
    DEMO_DATABASE_ACTION,
    AuditEntry,
    AuditVerification,
    audit_row_hash,
)
from kaptools.store.checks import (
    ACK_NOTE_MAX_CHARS,
    FREE_TEXT_MAX_CHARS,
    PAYLOAD_LIST_MAX_ITEMS,
    PAYLOAD_MAX_BYTES,
    PAYLOAD_NESTING_MAX,
)
from kaptools.store.connection import SQLITE_BUSY_TIMEOUT_S
from kaptools.store.patients import PatientsMixin
from kaptools.store.records import RecordsMixin
from kaptools.store.saved import SavedRecord
from kaptools.store.values import (
    FREE_TEXT_KEYS,
    Companion,
    Patient,
    StoredRecord,
    deidentified_payload,
)

__all__ = [
    "ACK_NOTE_MAX_CHARS",
    "AUDIT_GENESIS_HASH",
    "DEMO_DATABASE_ACTION",
    "FREE_TEXT_KEYS",
    "FREE_TEXT_MAX_CHARS",
    "PAYLOAD_LIST_MAX_ITEMS",
    "PAYLOAD_MAX_BYTES",
    "PAYLOAD_NESTING_MAX",
    "SQLITE_BUSY_TIMEOUT_S",
    "AuditEntry",
    "AuditVerification",
    "Companion",
    "Patient",
    "SavedRecord",
    "Store",
    "StoredRecord",
    "audit_row_hash",
    "deidentified_payload",
]


class Store(PatientsMixin, RecordsMixin, AlertsMixin):
    """The kaptools database. ``Store()`` uses the configured URL (see kaptools.config)."""


# Every function listed above refuses wrong argument types by name (issue 13).
_check_exports(globals())
