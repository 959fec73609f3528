"""Persistence: patients, versioned clinical records and the audit log (SQLAlchemy).

Clinical records are never overwritten or deleted. A correction is a new version
of the same record (``record_id``) with a reason; the old versions stay readable
through :meth:`Store.record_history`. Every write appends an audit row (who, when,
what) in the same transaction, so a failed write leaves nothing behind.

SQLite is the default (a file named by ``KAPTOOLS_DATABASE_URL`` or
``KAPTOOLS_HOME``, see :mod:`kaptools.config`); a PostgreSQL URL works unchanged.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import html
import json
import os
import re
import threading
import uuid
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError, SQLAlchemyError
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column, sessionmaker
from sqlalchemy.pool import StaticPool

from kaptools.alerts import Acknowledgement, Alert, AlertLevel, StoredAlert
from kaptools.config import database_url
from kaptools.errors import (
    AccessDeniedError,
    IncompleteInputError,
    InvalidInputError,
    KaptoolsError,
    NotFoundError,
    StaleVersionError,
    StoreError,
)
from kaptools.identity import DEFAULT_CLINIC, Identity, Role, current_identity
from kaptools.limits import entry_range, size_limit
from kaptools.vocabulary import PATIENT_ID_RE

__all__ = [
    "AUDIT_GENESIS_HASH",
    "DEMO_DATABASE_ACTION",
    "FREE_TEXT_KEYS",
    "AuditEntry",
    "AuditVerification",
    "Patient",
    "Store",
    "StoredRecord",
    "audit_row_hash",
    "deidentified_payload",
]

#: Longest acknowledgement note kept (characters).
ACK_NOTE_MAX_CHARS = 2000

# \Z, not $: "$" also matches before a trailing line break ("SYN-1\n")
_KIND_RE = re.compile(r"^[a-z][a-z0-9_]{1,39}\Z")
_PATIENT_ID_RE = PATIENT_ID_RE  # the one pattern, kaptools.vocabulary (used with fullmatch)

PAYLOAD_MAX_BYTES = size_limit("record_payload_max_bytes")
"""Largest record payload, as stored JSON (limits.toml ``size.record_payload_max_bytes``)."""
PAYLOAD_NESTING_MAX = size_limit("record_nesting_max")
"""Deepest nesting of lists and mappings in a payload (``size.record_nesting_max``)."""
PAYLOAD_LIST_MAX_ITEMS = size_limit("record_payload_list_max_items")
"""Most items of one list in a payload (``size.record_payload_list_max_items``)."""
FREE_TEXT_MAX_CHARS = size_limit("free_text_max_chars")
"""Longest text in a payload or a written reason (``size.free_text_max_chars``)."""


def _check_payload_shape(payload: Mapping[str, Any]) -> None:
    """Refuse a payload nested too deeply, with a list or a text over its limit; iterative,
    so a crafted depth cannot exhaust the stack."""
    stack: list[tuple[object, int, str]] = [(payload, 1, "payload")]
    while stack:
        value, depth, where = stack.pop()
        if isinstance(value, str):
            if len(value) > FREE_TEXT_MAX_CHARS:
                raise InvalidInputError(
                    f"{where} is {len(value):,} characters; at most {FREE_TEXT_MAX_CHARS:,} "
                    f"(limits.toml size.free_text_max_chars). Shorten it."
                )
            continue
        if not isinstance(value, Mapping | list | tuple):
            continue
        if depth > PAYLOAD_NESTING_MAX:
            raise InvalidInputError(
                f"{where} is nested more than {PAYLOAD_NESTING_MAX} levels deep (limits.toml "
                f"size.record_nesting_max). Store a flatter record."
            )
        if isinstance(value, Mapping):
            stack.extend((v, depth + 1, f"{where}.{str(k)[:40]}") for k, v in value.items())
            continue
        if len(value) > PAYLOAD_LIST_MAX_ITEMS:
            raise InvalidInputError(
                f"{where} holds {len(value):,} items; at most {PAYLOAD_LIST_MAX_ITEMS} "
                f"(limits.toml size.record_payload_list_max_items). Split the record."
            )
        stack.extend((v, depth + 1, f"{where}[{i}]") for i, v in enumerate(value))
_SEXES = ("female", "male", "other", "unknown")


def _utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC).replace(tzinfo=None)


class _Base(DeclarativeBase):
    pass


class _PatientRow(_Base):
    __tablename__ = "patients"
    patient_id: Mapped[str] = mapped_column(sa.String(40), primary_key=True)
    display_name: Mapped[str] = mapped_column(sa.String(200))
    birth_date: Mapped[dt.date | None] = mapped_column(sa.Date, nullable=True)
    sex: Mapped[str] = mapped_column(sa.String(16))
    weight_kg: Mapped[float | None] = mapped_column(sa.Float, nullable=True)
    synthetic: Mapped[bool] = mapped_column(sa.Boolean, default=True)
    created_at: Mapped[dt.datetime] = mapped_column(sa.DateTime)
    created_by: Mapped[str] = mapped_column(sa.String(120))
    clinic: Mapped[str] = mapped_column(
        sa.String(40), index=True, server_default=sa.text(f"'{DEFAULT_CLINIC}'")
    )


class _RecordRow(_Base):
    __tablename__ = "records"
    __table_args__ = (
        sa.UniqueConstraint("record_id", "version", name="uq_record_version"),
        sa.Index("ix_records_patient_kind", "patient_id", "kind"),
    )
    id: Mapped[int] = mapped_column(sa.Integer, primary_key=True, autoincrement=True)
    record_id: Mapped[str] = mapped_column(sa.String(36), index=True)
    version: Mapped[int] = mapped_column(sa.Integer)
    kind: Mapped[str] = mapped_column(sa.String(40))
    patient_id: Mapped[str] = mapped_column(sa.ForeignKey("patients.patient_id"))
    payload: Mapped[dict[str, Any]] = mapped_column(sa.JSON)
    author: Mapped[str] = mapped_column(sa.String(120))
    created_at: Mapped[dt.datetime] = mapped_column(sa.DateTime)
    effective_at: Mapped[dt.datetime] = mapped_column(sa.DateTime)
    reason: Mapped[str | None] = mapped_column(sa.Text, nullable=True)


class _AuditRow(_Base):
    __tablename__ = "audit_log"
    id: Mapped[int] = mapped_column(sa.Integer, primary_key=True, autoincrement=True)
    at: Mapped[dt.datetime] = mapped_column(sa.DateTime)
    who: Mapped[str] = mapped_column(sa.String(120))
    action: Mapped[str] = mapped_column(sa.String(40))
    patient_id: Mapped[str | None] = mapped_column(sa.String(40), nullable=True, index=True)
    kind: Mapped[str | None] = mapped_column(sa.String(40), nullable=True)
    record_id: Mapped[str | None] = mapped_column(sa.String(36), nullable=True)
    version: Mapped[int | None] = mapped_column(sa.Integer, nullable=True)
    detail: Mapped[str] = mapped_column(sa.Text, default="")
    # tamper evidence: each row carries the previous row's hash and its own
    prev_hash: Mapped[str | None] = mapped_column(sa.String(64), nullable=True)
    row_hash: Mapped[str | None] = mapped_column(sa.String(64), nullable=True)


#: The action of the audit row that marks a database as a synthetic demo / training
#: database (the first row it ever gets; see :meth:`Store.mark_demo_database`).
DEMO_DATABASE_ACTION = "mark_demo_database"

#: The ``prev_hash`` of the first audit row.
AUDIT_GENESIS_HASH = "0" * 64


def audit_row_hash(
    prev_hash: str,
    at: dt.datetime,
    who: str,
    action: str,
    patient_id: str | None,
    kind: str | None,
    record_id: str | None,
    version: int | None,
    detail: str | None,
) -> str:
    """SHA-256 of an audit row's content chained to the previous row's hash."""
    content = [
        prev_hash,
        at.isoformat(timespec="microseconds"),
        who,
        action,
        patient_id,
        kind,
        record_id,
        version,
        detail or "",
    ]
    data = json.dumps(content, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(data.encode("utf-8")).hexdigest()


class _AlertRow(_Base):
    """A stored safety alert. Never updated or deleted; acknowledgements are their own rows."""

    __tablename__ = "alerts"
    __table_args__ = (
        sa.UniqueConstraint(
            "patient_id", "source_kind", "source_ref", "rule_id", name="uq_alert_source_rule"
        ),
    )
    id: Mapped[int] = mapped_column(sa.Integer, primary_key=True, autoincrement=True)
    alert_id: Mapped[str] = mapped_column(sa.String(36), unique=True)
    patient_id: Mapped[str] = mapped_column(sa.ForeignKey("patients.patient_id"), index=True)
    rule_id: Mapped[str] = mapped_column(sa.String(80))
    level: Mapped[str] = mapped_column(sa.String(16))
    message: Mapped[str] = mapped_column(sa.Text)
    action: Mapped[str] = mapped_column(sa.Text)
    source: Mapped[str] = mapped_column(sa.Text)
    source_kind: Mapped[str] = mapped_column(sa.String(40))
    source_ref: Mapped[str] = mapped_column(sa.String(120))
    effective_at: Mapped[dt.datetime] = mapped_column(sa.DateTime)
    raised_at: Mapped[dt.datetime] = mapped_column(sa.DateTime)
    raised_by: Mapped[str] = mapped_column(sa.String(120))
    crisis_line: Mapped[str | None] = mapped_column(sa.Text, nullable=True)
    """The alert's own crisis line; None (rows before migration 0003) means the 988 line."""


class _AlertAckRow(_Base):
    __tablename__ = "alert_acknowledgements"
    id: Mapped[int] = mapped_column(sa.Integer, primary_key=True, autoincrement=True)
    alert_id: Mapped[str] = mapped_column(sa.ForeignKey("alerts.alert_id"), unique=True)
    at: Mapped[dt.datetime] = mapped_column(sa.DateTime)
    who: Mapped[str] = mapped_column(sa.String(120))
    note: Mapped[str] = mapped_column(sa.Text)


@dataclass(frozen=True, slots=True)
class Patient:
    """A (synthetic) patient as stored. Age is computed against a date, never stored."""

    patient_id: str
    display_name: str
    birth_date: dt.date | None
    sex: str
    weight_kg: float | None
    synthetic: bool = True
    clinic: str = DEFAULT_CLINIC

    def age_on(self, on: dt.date) -> int | None:
        if self.birth_date is None:
            return None
        b = self.birth_date
        return on.year - b.year - ((on.month, on.day) < (b.month, b.day))

    @property
    def label(self) -> str:
        return f"{self.display_name} ({self.patient_id})"


class _Joined:
    """The open transaction's session, used in a ``with`` block that must not close it."""

    def __init__(self, session: Session):
        self._session = session

    def __enter__(self) -> Session:
        return self._session

    def __exit__(self, *exc: object) -> None:
        return None


@dataclass(frozen=True, slots=True)
class StoredRecord:
    """One version of a clinical record."""

    record_id: str
    version: int
    kind: str
    patient_id: str
    payload: Mapping[str, Any]
    author: str
    created_at: dt.datetime
    effective_at: dt.datetime
    reason: str | None


@dataclass(frozen=True, slots=True)
class Companion:
    """A new record saved with another in one transaction (``Store.save_record``'s
    ``companions``): its kind, payload, date and written reason."""

    kind: str
    payload: Mapping[str, Any]
    effective_at: dt.date | dt.datetime | None = None
    reason: str | None = None


@dataclass(frozen=True, slots=True)
class AuditVerification:
    """The result of :meth:`Store.verify_audit`."""

    ok: bool
    rows_checked: int
    head_hash: str  # hash of the last good row: write it down to detect a cut-off tail
    bad_row_id: int | None
    problem: str | None

    @property
    def summary(self) -> str:
        if self.ok:
            return (
                f"Audit log intact: {self.rows_checked} rows, hash chain verified "
                f"(head {self.head_hash})."
            )
        return (
            f"AUDIT LOG TAMPERED: row {self.bad_row_id}: {self.problem}. "
            f"{self.rows_checked} rows before it verified."
        )


@dataclass(frozen=True, slots=True)
class AuditEntry:
    at: dt.datetime
    who: str
    action: str
    patient_id: str | None
    kind: str | None
    record_id: str | None
    version: int | None
    detail: str


def _as_datetime(value: dt.date | dt.datetime | None, field: str) -> dt.datetime:
    if value is None:
        return _utcnow()
    if isinstance(value, dt.datetime):
        if value.tzinfo is not None:
            value = value.astimezone(dt.UTC).replace(tzinfo=None)
        return value
    if isinstance(value, dt.date):
        return dt.datetime.combine(value, dt.time())
    raise InvalidInputError(
        f"{field} must be a date or datetime; got {value!r} ({type(value).__name__})."
    )


def _require_text(value: object, field: str, *, max_len: int = 120) -> str:
    if not isinstance(value, str) or not value.strip():
        raise IncompleteInputError(f"{field} is required: give a non-empty name.", missing=[field])
    if len(value) > max_len:
        raise InvalidInputError(f"{field} is {len(value)} characters; at most {max_len} allowed.")
    return value.strip()


class Store:
    """The kaptools database. ``Store()`` uses the configured URL (see kaptools.config)."""

    def __init__(
        self,
        url: str | None = None,
        *,
        create: bool = True,
        echo: bool = False,
        identity: Identity | None = None,
    ):
        self.url = database_url(url)
        self._identity = identity
        kwargs: dict[str, Any] = {"echo": echo, "future": True}
        if self.url.get_backend_name() == "sqlite":
            db = self.url.database
            if db and db != ":memory:":
                _owner_only_file(Path(db).expanduser())
            else:
                kwargs["poolclass"] = StaticPool
            # the driver waits this long for a lock too (the busy timeout below is SQLite's)
            kwargs["connect_args"] = {"check_same_thread": False, "timeout": SQLITE_BUSY_TIMEOUT_S}
        self.engine = sa.create_engine(self.url, **kwargs)
        if self.url.get_backend_name() == "sqlite":
            sa.event.listen(self.engine, "connect", _sqlite_pragmas)
            sa.event.listen(self.engine, "begin", _sqlite_begin)
        self._maker = sessionmaker(self.engine, expire_on_commit=False)
        sa.event.listen(self._maker, "before_flush", _chain_audit_rows)
        # the session of an open Store.transaction() (per thread): reads and writes join it
        self._outer = threading.local()
        if create:
            from kaptools.migrations import ensure_schema

            ensure_schema(self.engine, _Base.metadata)

    # ---- who is acting, and may they ----------------------------------------
    @property
    def identity(self) -> Identity:
        """Who acts through this store: the one given, else the current identity
        (``KAPTOOLS_USER`` / ``KAPTOOLS_ROLE``, see :mod:`kaptools.identity`)."""
        return self._identity or current_identity()

    def _require(self, action: str, allowed: tuple[Role, ...]) -> Identity:
        who = self.identity
        if who.role not in allowed:
            roles = ", ".join(r.value for r in allowed)
            raise AccessDeniedError(
                f"{who.user} ({who.role.value}) may not {action}: that is for the "
                f"{roles} role{'s' if len(allowed) > 1 else ''}. Nothing was read or written."
            )
        return who

    def _require_patient(self, s: Session, action: str, patient_id: object) -> None:
        """Clinicians their own clinic's patients; trainers synthetic (demo) patients only."""
        who = self._require(action, (Role.CLINICIAN, Role.TRAINER))
        row = s.get(_PatientRow, patient_id) if isinstance(patient_id, str) else None
        if row is None:
            return  # the caller says "no such patient"
        if who.role is Role.TRAINER and not row.synthetic:
            raise AccessDeniedError(
                f"{who.user} (trainer) may not {action} for patient {patient_id!r}: "
                "trainers work with synthetic demo patients only. Nothing was read or "
                "written."
            )
        if who.role is Role.CLINICIAN and row.clinic != who.clinic:
            raise AccessDeniedError(
                f"{who.user} (clinician, clinic {who.clinic!r}) may not {action} for patient "
                f"{patient_id!r}: the patient belongs to another clinic, and clinicians see "
                "their own clinic's patients only. Nothing was read or written."
            )

    def _visible(self, q: Any) -> Any:
        """Limit a query over patients to the ones the acting role may see."""
        who = self.identity
        if who.role is Role.TRAINER:
            q = q.where(_PatientRow.synthetic.is_(True))
        elif who.role is Role.CLINICIAN:
            q = q.where(_PatientRow.clinic == who.clinic)
        return q

    def author_for(self, given: object, field: str = "author") -> str:
        """The signed-in person, who authors every write and audit row.

        ``given`` (an ``author=``/``who=`` argument kept for older callers) must name
        that person: a different name is refused, never recorded.
        """
        who = self.identity
        if given is None:
            return who.user
        name = _require_text(given, field)
        if name != who.user:
            raise AccessDeniedError(
                f"{field} {name!r} is not the signed-in person {who.user!r}: every write and "
                "audit row is authored by the signed-in identity (KAPTOOLS_USER / the "
                f"shared install's sign-in), never by a typed name. Leave {field} out. "
                "Nothing was saved."
            )
        return who.user

    def as_identity(self, identity: Identity) -> Store:
        """This store (same database and connections) acting as ``identity`` (e.g. a
        named system identity that seeds the demo data)."""
        if not isinstance(identity, Identity):
            raise InvalidInputError(
                f"identity must be a kaptools.identity.Identity; got {type(identity).__name__}."
            )
        other = object.__new__(Store)
        other.__dict__.update(self.__dict__)
        other._identity = identity
        return other

    def _shown(self, row: _PatientRow) -> Patient:
        """A patient as the acting role may see them (de-identified for researchers and
        admins: no name, no birth date)."""
        if self.identity.role in (Role.RESEARCHER, Role.ADMIN):
            return Patient(row.patient_id, "(de-identified)", None, row.sex, row.weight_kg,
                           row.synthetic, row.clinic)
        return _patient(row)

    @classmethod
    def in_memory(cls, *, identity: Identity | None = None) -> Store:
        """A private, empty in-memory SQLite store (tests, demos), acting as ``identity``
        (default: the current identity)."""
        return cls("sqlite://", identity=identity)

    def close(self) -> None:
        """Close every pooled connection (the store can be used again afterwards)."""
        self.engine.dispose()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"Store({self.url.render_as_string(hide_password=True)!r})"

    # ---- transactions -------------------------------------------------------
    @contextmanager
    def transaction(self) -> Iterator[None]:
        """Several writes as one: all of them are saved, or none.

        Every read and write of this store inside the ``with`` block (in this thread)
        joins one transaction, so a failure part-way (a refused record, a database
        error) leaves the database as it was. Nested blocks join the outer one::

            with store.transaction():
                record_assessment(store, ...)
                save_dosing_session(store, ...)
        """
        if getattr(self._outer, "session", None) is not None:
            yield
            return
        with self._tx() as s:
            self._outer.session, self._outer.failed = s, False
            try:
                yield
            finally:
                self._outer.session = None
            if self._outer.failed:  # a write failed and its error was caught in the block
                raise StoreError(
                    "A write inside the transaction failed, so none of its writes were "
                    "saved; let the error end the transaction, then try again."
                )

    def _sessions(self) -> Session | _Joined:
        """A session to read with: the open :meth:`transaction`'s, else a new one."""
        outer = getattr(self._outer, "session", None)
        return self._maker() if outer is None else _Joined(outer)

    @contextmanager
    def _tx(self) -> Iterator[Session]:
        """A write transaction: all or nothing, one writer at a time.

        On SQLite it starts with ``BEGIN IMMEDIATE`` (the write lock is taken first, so
        two writers queue on the busy timeout instead of failing); on PostgreSQL writes
        are serialised by a transaction-level advisory lock (the audit chain needs the
        previous row). Inside :meth:`transaction` it joins that transaction.
        """
        outer = getattr(self._outer, "session", None)
        if outer is not None:
            try:
                yield outer
            except BaseException:
                self._outer.failed = True
                raise
            return
        session = self._maker()
        try:
            with session.begin():
                session.connection(execution_options={_WRITE_OPTION: True})
                if self.url.get_backend_name() == "postgresql":
                    session.execute(sa.text(f"SELECT pg_advisory_xact_lock({_PG_WRITE_LOCK})"))
                yield session
        except KaptoolsError:
            raise
        except (IntegrityError, SQLAlchemyError) as exc:
            raise StoreError(
                "The database refused the write; nothing was saved "
                f"({exc.__class__.__name__}: {getattr(exc, 'orig', exc)})."
            ) from exc
        finally:
            session.close()

    # ---- patients -----------------------------------------------------------
    def add_patient(
        self,
        patient_id: str,
        display_name: str,
        *,
        birth_date: dt.date | None,
        sex: str,
        weight_kg: float | None,
        author: str | None = None,
        synthetic: bool = True,
    ) -> Patient:
        """Add a patient to the acting person's clinic. Identifiers are short codes, never
        real identifiers. The signed-in person is the author (``author``, if given, must
        name them)."""
        if not isinstance(patient_id, str) or not _PATIENT_ID_RE.fullmatch(patient_id):
            raise InvalidInputError(
                f"patient_id {patient_id!r} is not valid: use 1-40 letters, digits, '.', '_' "
                "or '-', starting with a letter or digit (e.g. 'SYN-0001')."
            )
        display_name = _require_text(display_name, "display_name", max_len=200)
        author = self.author_for(author)
        if sex not in _SEXES:
            raise InvalidInputError(f"sex {sex!r} is not one of {', '.join(_SEXES)}.")
        low, high = entry_range("weight_kg")
        if weight_kg is not None and not (low <= float(weight_kg) <= high):
            raise InvalidInputError(
                f"weight_kg {weight_kg!r} is outside {low:g}-{high:g} kg; check the value and unit."
            )
        if birth_date is not None and not isinstance(birth_date, dt.date):
            raise InvalidInputError(f"birth_date must be a date; got {birth_date!r}.")
        who = self._require("add patients", (Role.CLINICIAN, Role.TRAINER))
        if who.role is Role.TRAINER and not synthetic:
            raise AccessDeniedError(
                f"{who.user} (trainer) may add synthetic demo patients only; nothing was saved."
            )
        with self._tx() as s:
            if s.get(_PatientRow, patient_id) is not None:
                raise InvalidInputError(
                    f"patient_id {patient_id!r} already exists; choose another."
                )
            s.add(
                _PatientRow(
                    patient_id=patient_id,
                    display_name=display_name,
                    birth_date=birth_date,
                    sex=sex,
                    weight_kg=None if weight_kg is None else float(weight_kg),
                    synthetic=synthetic,
                    created_at=_utcnow(),
                    created_by=author,
                    clinic=who.clinic,
                )
            )
            s.add(
                _AuditRow(
                    at=_utcnow(),
                    who=author,
                    action="create_patient",
                    patient_id=patient_id,
                    detail=f"synthetic={synthetic} clinic={who.clinic}",
                )
            )
        return Patient(
            patient_id,
            display_name,
            birth_date,
            sex,
            None if weight_kg is None else float(weight_kg),
            synthetic,
            who.clinic,
        )

    def get_patient(self, patient_id: str) -> Patient:
        with self._sessions() as s:
            row = s.get(_PatientRow, patient_id) if isinstance(patient_id, str) else None
            if row is None:
                raise NotFoundError(
                    f"No patient with id {patient_id!r}. Pick one from list_patients()."
                )
            if self.identity.role in (Role.TRAINER, Role.CLINICIAN):
                self._require_patient(s, "read this patient", patient_id)
            return self._shown(row)

    def list_patients(self) -> list[Patient]:
        """Every patient the acting role may see (clinicians: their clinic's; trainers:
        synthetic ones; researchers and admins: de-identified)."""
        with self._sessions() as s:
            q = self._visible(sa.select(_PatientRow).order_by(_PatientRow.patient_id))
            return [self._shown(r) for r in s.scalars(q)]

    def count_patients(self) -> int:
        """How many patients are stored (0 for a database whose tables do not exist yet)."""
        if not sa.inspect(self.engine).has_table(_PatientRow.__tablename__):
            return 0
        with self._sessions() as s:
            return int(s.execute(sa.select(sa.func.count()).select_from(_PatientRow)).scalar_one())

    def has_patients(self) -> bool:
        with self._sessions() as s:
            return s.execute(sa.select(sa.func.count()).select_from(_PatientRow)).scalar_one() > 0

    def count_non_synthetic_patients(self) -> int:
        """How many stored patients are not marked synthetic (real patients)."""
        if not sa.inspect(self.engine).has_table(_PatientRow.__tablename__):
            return 0  # a store not yet created (Store(url, create=False)) holds nobody
        with self._sessions() as s:
            query = sa.select(sa.func.count()).where(_PatientRow.synthetic.is_not(True))
            return int(s.execute(query).scalar_one())

    # ---- demo (training) databases ----------------------------------------------
    def is_demo_database(self) -> bool:
        """Whether this database was marked a synthetic demo / training database when it
        was created (its first audit row is :data:`DEMO_DATABASE_ACTION`)."""
        if not sa.inspect(self.engine).has_table(_AuditRow.__tablename__):
            return False
        with self._sessions() as s:
            first = s.scalars(sa.select(_AuditRow.action).order_by(_AuditRow.id).limit(1)).first()
            return first == DEMO_DATABASE_ACTION

    def is_empty(self) -> bool:
        """No patient and no audit row: a database nothing has been written to yet."""
        if not sa.inspect(self.engine).has_table(_AuditRow.__tablename__):
            return True
        with self._sessions() as s:
            audit = s.execute(sa.select(sa.func.count()).select_from(_AuditRow)).scalar_one()
            patients = s.execute(sa.select(sa.func.count()).select_from(_PatientRow)).scalar_one()
            return audit == 0 and patients == 0

    def mark_demo_database(self, *, who: str | None = None, detail: str = "") -> None:
        """Mark an empty database as a synthetic demo / training database (its first audit
        row). Only an empty database can be marked, so a clinic database never becomes
        one; a database already marked is left as it is. The row names the signed-in
        identity (``who``, if given, must be it)."""
        who = self.author_for(who, "who")
        with self._tx() as s:
            first = s.scalars(sa.select(_AuditRow.action).order_by(_AuditRow.id).limit(1)).first()
            if first == DEMO_DATABASE_ACTION:
                return
            patients = s.execute(sa.select(sa.func.count()).select_from(_PatientRow)).scalar_one()
            if first is not None or patients:
                raise InvalidInputError(
                    f"database: {self.url.render_as_string(hide_password=True)} already holds "
                    "data, so it cannot be marked a demo database (only a new, empty database "
                    "can); name a new demo file. Nothing was written."
                )
            s.add(
                _AuditRow(
                    at=_utcnow(),
                    who=who,
                    action=DEMO_DATABASE_ACTION,
                    detail=(detail or "synthetic demo / training database")[:2000],
                )
            )

    # ---- records ------------------------------------------------------------
    def save_record(
        self,
        kind: str,
        patient_id: str,
        payload: Mapping[str, Any],
        *,
        author: str | None = None,
        effective_at: dt.date | dt.datetime | None = None,
        record_id: str | None = None,
        reason: str | None = None,
        alerts: tuple[Alert, ...] | list[Alert] = (),
        based_on_version: int | None = None,
        companions: Callable[[str, int], Iterable[Companion]] | None = None,
    ) -> StoredRecord:
        """Save a new record, or (with ``record_id``) a new version of one.

        ``companions`` (given the saved record's id and version) returns new records that
        belong with it (e.g. a dose-hold override naming the session version it covers):
        they are saved, each with its audit row, in the same transaction: all or nothing.

        A correction needs a written ``reason`` and ``based_on_version``, the version the
        correction started from: when someone saved a newer version meanwhile, the
        correction is refused with :class:`~kaptools.errors.StaleVersionError` naming
        both versions, and nothing is saved. Nothing is ever overwritten.
        ``alerts`` (the record's safety alerts) are stored for the patient in the same
        transaction, raised from this record (see :meth:`raise_alert`).
        The signed-in person is the author (``author``, if given, must name them).
        """
        if not isinstance(kind, str) or not _KIND_RE.match(kind):
            raise InvalidInputError(
                f"kind {kind!r} must be a short snake_case name such as 'assessment'."
            )
        author = self.author_for(author)
        if not isinstance(payload, Mapping):
            raise InvalidInputError(f"payload must be a mapping; got {type(payload).__name__}.")
        if reason is not None and isinstance(reason, str) and len(reason) > FREE_TEXT_MAX_CHARS:
            raise InvalidInputError(
                f"reason is {len(reason):,} characters; at most {FREE_TEXT_MAX_CHARS:,} "
                f"(limits.toml size.free_text_max_chars). Shorten it."
            )
        _check_payload_shape(payload)
        try:
            text = json.dumps(dict(payload), default=_json_default, allow_nan=False)
        except (TypeError, ValueError, RecursionError) as exc:
            raise InvalidInputError(f"payload cannot be stored as JSON: {exc}.") from None
        if len(text.encode("utf-8")) > PAYLOAD_MAX_BYTES:
            raise InvalidInputError(
                f"payload is {len(text.encode('utf-8')):,} bytes as JSON; at most "
                f"{PAYLOAD_MAX_BYTES:,} (limits.toml size.record_payload_max_bytes). Split it."
            )
        clean = json.loads(text)
        _check_payload_shape(clean)  # what _json_default turned objects into, too
        now = _utcnow()
        with self._tx() as s:
            self._require_patient(s, "write clinical records", patient_id)
            if s.get(_PatientRow, patient_id) is None:
                raise NotFoundError(f"No patient with id {patient_id!r}; add the patient first.")
            if record_id is None:
                if reason is not None and not str(reason).strip():
                    reason = None
                rid, version, action = str(uuid.uuid4()), 1, "create"
                when = _as_datetime(effective_at, "effective_at")
            else:
                prev = s.scalars(
                    sa.select(_RecordRow)
                    .where(_RecordRow.record_id == record_id)
                    .order_by(_RecordRow.version.desc())
                    .limit(1)
                ).first()
                if prev is None:
                    raise NotFoundError(f"No record {record_id!r} to correct.")
                if prev.patient_id != patient_id or prev.kind != kind:
                    raise InvalidInputError(
                        f"Record {record_id!r} is a {prev.kind!r} of patient {prev.patient_id!r}; "
                        f"a correction must keep the same kind and patient."
                    )
                if not isinstance(reason, str) or not reason.strip():
                    raise IncompleteInputError(
                        "A correction needs a written reason: pass reason='...'.",
                        missing=["reason"],
                    )
                _check_based_on(record_id, based_on_version, prev)
                rid, version, action = record_id, prev.version + 1, "correct"
                # A correction keeps the record's date unless a new one is given.
                when = (
                    prev.effective_at
                    if effective_at is None
                    else _as_datetime(effective_at, "effective_at")
                )
            row = _RecordRow(
                record_id=rid,
                version=version,
                kind=kind,
                patient_id=patient_id,
                payload=clean,
                author=author,
                created_at=now,
                effective_at=when,
                reason=reason.strip() if isinstance(reason, str) else None,
            )
            s.add(row)
            s.add(
                _AuditRow(
                    at=now,
                    who=author,
                    action=action,
                    patient_id=patient_id,
                    kind=kind,
                    record_id=rid,
                    version=version,
                    detail=(reason or "")[:2000],
                )
            )
            for alert in alerts:
                self._raise_in(
                    s,
                    patient_id,
                    alert,
                    source_kind=kind,
                    source_ref=rid,
                    who=author,
                    effective_at=when,
                )
            for extra in companions(rid, version) if companions is not None else ():
                self._add_companion(s, patient_id, author, now, extra)
        return _record(row)

    @staticmethod
    def _add_companion(
        s: Session, patient_id: str, author: str, now: dt.datetime, extra: Companion
    ) -> None:
        if not isinstance(extra.kind, str) or not _KIND_RE.match(extra.kind):
            raise InvalidInputError(
                f"kind {extra.kind!r} must be a short snake_case name such as 'assessment'."
            )
        try:
            clean = json.loads(
                json.dumps(dict(extra.payload), default=_json_default, allow_nan=False)
            )
        except (TypeError, ValueError) as exc:
            raise InvalidInputError(f"payload cannot be stored as JSON: {exc}.") from None
        rid = str(uuid.uuid4())
        when = _as_datetime(extra.effective_at, "effective_at")
        s.add(
            _RecordRow(
                record_id=rid,
                version=1,
                kind=extra.kind,
                patient_id=patient_id,
                payload=clean,
                author=author,
                created_at=now,
                effective_at=when,
                reason=extra.reason.strip() if extra.reason else None,
            )
        )
        s.add(
            _AuditRow(
                at=now,
                who=author,
                action="create",
                patient_id=patient_id,
                kind=extra.kind,
                record_id=rid,
                version=1,
                detail=(extra.reason or "")[:2000],
            )
        )

    def latest_records(self, kind: str, patient_id: str) -> list[StoredRecord]:
        """The newest version of each ``kind`` record of a patient, by effective time."""
        with self._sessions() as s:
            self._require_patient(s, "read patients' records", patient_id)
            latest = (
                sa.select(_RecordRow.record_id, sa.func.max(_RecordRow.version).label("v"))
                .where(_RecordRow.kind == kind, _RecordRow.patient_id == patient_id)
                .group_by(_RecordRow.record_id)
                .subquery()
            )
            rows = s.scalars(
                sa.select(_RecordRow)
                .join(
                    latest,
                    sa.and_(
                        _RecordRow.record_id == latest.c.record_id, _RecordRow.version == latest.c.v
                    ),
                )
                .order_by(_RecordRow.effective_at, _RecordRow.id)
            )
            return [_record(r) for r in rows]

    def latest_records_of_patients(
        self, kind: str, patient_ids: Iterable[str] | None = None
    ) -> list[StoredRecord]:
        """The newest version of each ``kind`` record of many patients (every patient the
        acting role may see when ``patient_ids`` is None), in one query; ordered by
        patient, then effective time.

        Clinicians get their own clinic's patients, trainers synthetic ones (a listed
        patient outside that is refused); researchers get the cohort de-identified: free
        text (notes, reasons, descriptions) removed, see :func:`deidentified_payload`.
        Admins make no clinical reads.
        """
        who = self._require(
            "read patients' records", (Role.CLINICIAN, Role.TRAINER, Role.RESEARCHER)
        )
        with self._sessions() as s:
            latest = sa.select(_RecordRow.record_id, sa.func.max(_RecordRow.version).label("v"))
            latest = latest.where(_RecordRow.kind == kind)
            if who.role is not Role.RESEARCHER:
                for pid in sorted(set(patient_ids)) if patient_ids is not None else ():
                    self._require_patient(s, "read patients' records", pid)
                visible = self._visible(sa.select(_PatientRow.patient_id))
                latest = latest.where(_RecordRow.patient_id.in_(visible.scalar_subquery()))
            if patient_ids is not None:
                ids = sorted(set(patient_ids))
                if not ids:
                    return []
                latest = latest.where(_RecordRow.patient_id.in_(ids))
            sub = latest.group_by(_RecordRow.record_id).subquery()
            rows = s.scalars(
                sa.select(_RecordRow)
                .join(
                    sub,
                    sa.and_(_RecordRow.record_id == sub.c.record_id, _RecordRow.version == sub.c.v),
                )
                .order_by(_RecordRow.patient_id, _RecordRow.effective_at, _RecordRow.id)
            )
            if who.role is Role.RESEARCHER:
                return [_deidentified(_record(r)) for r in rows]
            return [_record(r) for r in rows]

    def record_history(self, record_id: str) -> list[StoredRecord]:
        with self._sessions() as s:
            rows = list(
                s.scalars(
                    sa.select(_RecordRow)
                    .where(_RecordRow.record_id == record_id)
                    .order_by(_RecordRow.version)
                )
            )
            self._require_patient(
                s, "read patients' records", rows[0].patient_id if rows else None
            )
            if not rows:
                raise NotFoundError(f"No record {record_id!r}.")
            return [_record(r) for r in rows]

    def log(
        self,
        action: str,
        *,
        who: str | None = None,
        patient_id: str | None = None,
        kind: str | None = None,
        record_id: str | None = None,
        detail: str = "",
    ) -> None:
        """Append an audit row for something that is not a record write (an export, a
        view), in the signed-in person's name (``who``, if given, must name them)."""
        who = self.author_for(who, "who")
        with self._tx() as s:
            s.add(
                _AuditRow(
                    at=_utcnow(),
                    who=who,
                    action=action[:40],
                    patient_id=patient_id,
                    kind=kind,
                    record_id=record_id,
                    detail=detail[:2000],
                )
            )

    def audit_entries(self, patient_id: str | None = None) -> list[AuditEntry]:
        """The audit log (of one patient): for admins (all of it) and clinicians (the
        rows of their own clinic's patients, and rows naming no patient); trainers: of a
        synthetic patient."""
        with self._sessions() as s:
            who = self.identity
            if who.role is not Role.ADMIN:
                if patient_id is None:
                    self._require("read the whole audit log", (Role.CLINICIAN, Role.ADMIN))
                self._require_patient(s, "read the audit log", patient_id)
            q = sa.select(_AuditRow).order_by(_AuditRow.id)
            if patient_id is not None:
                q = q.where(_AuditRow.patient_id == patient_id)
            elif who.role is Role.CLINICIAN:
                own = self._visible(sa.select(_PatientRow.patient_id)).scalar_subquery()
                q = q.where(sa.or_(_AuditRow.patient_id.is_(None), _AuditRow.patient_id.in_(own)))
            return [
                AuditEntry(
                    r.at, r.who, r.action, r.patient_id, r.kind, r.record_id, r.version, r.detail
                )
                for r in s.scalars(q)
            ]

    # ---- safety alerts --------------------------------------------------------
    def raise_alert(
        self,
        patient_id: str,
        alert: Alert,
        *,
        source_kind: str,
        source_ref: str,
        who: str | None = None,
        effective_at: dt.date | dt.datetime | None = None,
    ) -> StoredAlert:
        """Store ``alert`` for the patient, raised from ``source_kind``/``source_ref``.

        Idempotent: the same source and rule never open a second alert (the stored one,
        open or acknowledged, is returned). Audit-logged in the same transaction, in the
        signed-in person's name (``who``, if given, must name them).
        """
        who = self.author_for(who, "who")
        if not isinstance(alert, Alert):
            raise InvalidInputError(
                f"alert must be a kaptools.alerts.Alert; got {type(alert).__name__}."
            )
        if not isinstance(source_kind, str) or not _KIND_RE.match(source_kind):
            raise InvalidInputError(
                f"source_kind {source_kind!r} must be a short snake_case name such as 'assessment'."
            )
        source_ref = _require_text(source_ref, "source_ref")
        when = _as_datetime(effective_at, "effective_at")
        try:
            with self._tx() as s:
                self._require_patient(s, "raise alerts", patient_id)
                if s.get(_PatientRow, patient_id) is None:
                    raise NotFoundError(
                        f"No patient with id {patient_id!r}; add the patient first."
                    )
                alert_id = self._raise_in(
                    s,
                    patient_id,
                    alert,
                    source_kind=source_kind,
                    source_ref=source_ref,
                    who=who,
                    effective_at=when,
                )
        except StoreError:
            # a concurrent writer stored the same alert first: that one stands
            found = self._find_alert(patient_id, source_kind, source_ref, alert.rule_id)
            if found is None:
                raise
            return found
        return self.get_alert(alert_id)

    def _find_alert(
        self, patient_id: str, source_kind: str, source_ref: str, rule_id: str
    ) -> StoredAlert | None:
        with self._sessions() as s:
            row = s.scalars(
                sa.select(_AlertRow).where(
                    _AlertRow.patient_id == patient_id,
                    _AlertRow.source_kind == source_kind,
                    _AlertRow.source_ref == source_ref,
                    _AlertRow.rule_id == rule_id,
                )
            ).first()
            return None if row is None else self._stored_alert(s, row)

    def _raise_in(
        self,
        s: Session,
        patient_id: str,
        alert: Alert,
        *,
        source_kind: str,
        source_ref: str,
        who: str,
        effective_at: dt.datetime,
    ) -> str:
        existing = s.scalars(
            sa.select(_AlertRow).where(
                _AlertRow.patient_id == patient_id,
                _AlertRow.source_kind == source_kind,
                _AlertRow.source_ref == source_ref,
                _AlertRow.rule_id == alert.rule_id,
            )
        ).first()
        if existing is not None:
            return existing.alert_id
        now = _utcnow()
        alert_id = str(uuid.uuid4())
        s.add(
            _AlertRow(
                alert_id=alert_id,
                patient_id=patient_id,
                rule_id=alert.rule_id[:80],
                level=alert.level.value,
                message=alert.message,
                action=alert.action,
                source=alert.source,
                source_kind=source_kind,
                source_ref=source_ref[:120],
                effective_at=effective_at,
                raised_at=now,
                raised_by=who,
                crisis_line=alert.crisis_line,
            )
        )
        s.flush()  # the alert row exists before the audit row names it
        s.add(
            _AuditRow(
                at=now,
                who=who,
                action="raise_alert",
                patient_id=patient_id,
                kind=source_kind,
                record_id=alert_id,
                detail=f"{alert.level.value} {alert.rule_id} from {source_kind} {source_ref}",
            )
        )
        return alert_id

    def acknowledge_alert(
        self, alert_id: str, *, who: str | None = None, note: str
    ) -> StoredAlert:
        """Acknowledge an open alert with a written note; audit-logged in the same transaction.

        The alert row is never changed or deleted: the acknowledgement is its own record.

        Raises:
            IncompleteInputError: no note (or no ``who``); nothing is saved.
            InvalidInputError: the alert is already acknowledged (says by whom and when).
            NotFoundError: no such alert.
            AccessDeniedError: ``who`` is not the signed-in person, or the patient is not
                theirs to see.
        """
        who = self.author_for(who, "who")
        if not isinstance(note, str) or not note.strip():
            raise IncompleteInputError(
                f"note: acknowledging a safety alert needs a written note (rule: every "
                f"acknowledgement says why); got {note!r}. Write what was done, e.g. "
                "'C-SSRS completed, low risk, safety plan reviewed'. Nothing was saved.",
                missing=["note"],
            )
        note = note.strip()
        if len(note) > ACK_NOTE_MAX_CHARS:
            raise InvalidInputError(
                f"note is {len(note)} characters; at most {ACK_NOTE_MAX_CHARS} are kept. "
                "Shorten it. Nothing was saved."
            )
        with self._tx() as s:
            self._require("acknowledge alerts", (Role.CLINICIAN, Role.TRAINER))
            row = (
                s.scalars(sa.select(_AlertRow).where(_AlertRow.alert_id == alert_id)).first()
                if isinstance(alert_id, str)
                else None
            )
            if row is None:
                raise NotFoundError(
                    f"No alert {alert_id!r}. List a patient's alerts to find its id."
                )
            self._require_patient(s, "acknowledge alerts", row.patient_id)
            done = s.scalars(
                sa.select(_AlertAckRow).where(_AlertAckRow.alert_id == alert_id)
            ).first()
            if done is not None:
                raise InvalidInputError(
                    f"alert {alert_id}: already acknowledged {done.at:%Y-%m-%d %H:%M} UTC by "
                    f"{done.who} ({done.note!r}); an acknowledgement is kept as written. "
                    "Nothing was saved."
                )
            now = _utcnow()
            s.add(_AlertAckRow(alert_id=alert_id, at=now, who=who, note=note))
            s.add(
                _AuditRow(
                    at=now,
                    who=who,
                    action="acknowledge_alert",
                    patient_id=row.patient_id,
                    kind=row.source_kind,
                    record_id=alert_id,
                    detail=note[:2000],
                )
            )
        return self.get_alert(alert_id)

    def get_alert(self, alert_id: str) -> StoredAlert:
        with self._sessions() as s:
            row = (
                s.scalars(sa.select(_AlertRow).where(_AlertRow.alert_id == alert_id)).first()
                if isinstance(alert_id, str)
                else None
            )
            if row is None:
                raise NotFoundError(
                    f"No alert {alert_id!r}. List a patient's alerts to find its id."
                )
            self._require_patient(s, "read patients' alerts", row.patient_id)
            return self._stored_alert(s, row)

    def patient_alerts(self, patient_id: str, *, open_only: bool = False) -> list[StoredAlert]:
        """A patient's stored alerts, oldest finding first (open ones only, if asked)."""
        with self._sessions() as s:
            self._require_patient(s, "read patients' alerts", patient_id)
            q = (
                sa.select(_AlertRow, _AlertAckRow)
                .outerjoin(_AlertAckRow, _AlertAckRow.alert_id == _AlertRow.alert_id)
                .where(_AlertRow.patient_id == patient_id)
                .order_by(_AlertRow.effective_at, _AlertRow.id)
            )
            if open_only:
                q = q.where(_AlertAckRow.id.is_(None))
            return [_stored_alert(a, ack) for a, ack in s.execute(q)]

    def _stored_alert(self, s: Session, row: _AlertRow) -> StoredAlert:
        ack = s.scalars(
            sa.select(_AlertAckRow).where(_AlertAckRow.alert_id == row.alert_id)
        ).first()
        return _stored_alert(row, ack)

    # ---- audit integrity ------------------------------------------------------
    def verify_audit(self) -> AuditVerification:
        """Recompute the audit log's hash chain; report the first row that does not fit.

        An edited row no longer matches its hash; a deleted or inserted row breaks the
        link to the next. Rows are read in id order, a batch at a time.
        """
        prev = AUDIT_GENESIS_HASH
        count = 0
        last_id = 0
        with self._sessions() as s:
            while True:
                rows = list(
                    s.scalars(
                        sa.select(_AuditRow)
                        .where(_AuditRow.id > last_id)
                        .order_by(_AuditRow.id)
                        .limit(5000)
                    )
                )
                if not rows:
                    break
                for r in rows:
                    expected = audit_row_hash(
                        prev,
                        r.at,
                        r.who,
                        r.action,
                        r.patient_id,
                        r.kind,
                        r.record_id,
                        r.version,
                        r.detail,
                    )
                    problem = None
                    if r.prev_hash != prev:
                        problem = (
                            "its link to the previous row is broken (a row before it was "
                            "deleted, inserted or changed)"
                        )
                    elif r.row_hash != expected:
                        problem = "its content no longer matches its hash (the row was changed)"
                    if problem:
                        return AuditVerification(False, count, prev, r.id, problem)
                    prev = expected
                    count += 1
                    last_id = r.id
                s.expunge_all()
        return AuditVerification(True, count, prev, None, None)

    def _repr_html_(self) -> str:
        return f"<code>{html.escape(repr(self))}</code>"


#: How long a writer waits for another's lock before giving up (seconds).
SQLITE_BUSY_TIMEOUT_S = 30
_WRITE_OPTION = "kaptools_write"
_PG_WRITE_LOCK = 726_351_401  # any constant; one advisory lock for every kaptools write


def _owner_only_file(db: Path) -> None:
    """Create the SQLite file (and its folder) readable by their owner only."""
    folder = db.parent
    if not folder.exists():
        folder.mkdir(mode=0o700, parents=True, exist_ok=True)
        os.chmod(folder, 0o700)  # mkdir's mode is reduced by the umask, never widened
    if not db.exists():
        fd = os.open(db, os.O_CREAT | os.O_WRONLY, 0o600)
        os.close(fd)
        os.chmod(db, 0o600)


def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
    # the driver's own transaction handling off: _sqlite_begin emits BEGIN itself
    dbapi_conn.isolation_level = None
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA foreign_keys=ON")
    cur.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_S * 1000}")
    cur.execute("PRAGMA journal_mode")
    if cur.fetchone()[0] not in ("memory", "wal"):
        cur.execute("PRAGMA journal_mode=WAL")  # readers never block the writer
    cur.close()


def _sqlite_begin(conn: sa.Connection) -> None:
    """BEGIN IMMEDIATE for writes (lock first, then read), plain BEGIN for reads."""
    if conn.get_execution_options().get(_WRITE_OPTION):
        conn.exec_driver_sql("BEGIN IMMEDIATE")
    else:
        conn.exec_driver_sql("BEGIN")


def _chain_audit_rows(session: Session, _context: Any, _instances: Any) -> None:
    """Give each new audit row the previous row's hash and its own (before it is written)."""
    new = [o for o in session.new if isinstance(o, _AuditRow)]
    if not new:
        return
    new.sort(key=lambda o: sa.inspect(o).insert_order or 0)
    with session.no_autoflush:
        prev = session.execute(
            sa.select(_AuditRow.row_hash).order_by(_AuditRow.id.desc()).limit(1)
        ).scalar()
    prev = prev or AUDIT_GENESIS_HASH
    for row in new:
        if row.detail is None:
            row.detail = ""
        row.prev_hash = prev
        row.row_hash = audit_row_hash(
            prev,
            row.at,
            row.who,
            row.action,
            row.patient_id,
            row.kind,
            row.record_id,
            row.version,
            row.detail,
        )
        prev = row.row_hash


def _check_based_on(record_id: str, based_on: object, newest: _RecordRow) -> None:
    if based_on is None:
        raise IncompleteInputError(
            f"A correction of record {record_id!r} must state the version it was based on: "
            f"pass based_on_version=<the version you loaded> (the newest is "
            f"{newest.version}).",
            missing=["based_on_version"],
        )
    if isinstance(based_on, bool) or not isinstance(based_on, int) or based_on < 1:
        raise InvalidInputError(
            f"based_on_version must be a version number (1 or more); got {based_on!r}."
        )
    if based_on > newest.version:
        raise InvalidInputError(
            f"based_on_version {based_on} of record {record_id!r} does not exist; the newest "
            f"version is {newest.version}."
        )
    if based_on != newest.version:
        at = newest.created_at.replace(microsecond=0).isoformat(sep=" ")
        raise StaleVersionError(
            f"Not saved: this correction was based on version {based_on} of record "
            f"{record_id!r}, but version {newest.version} was saved meanwhile by "
            f"{newest.author} at {at} UTC. Reload the record (version {newest.version}), "
            "check their change and re-apply yours.",
            record_id=record_id,
            based_on=based_on,
            current=newest.version,
            current_author=newest.author,
            current_at=newest.created_at,
        )


def _json_default(value: object) -> object:
    if isinstance(value, (dt.date, dt.datetime, dt.time)):
        return value.isoformat()
    if hasattr(value, "item"):  # numpy scalars
        return value.item()
    if isinstance(value, (set, frozenset, tuple)):
        return list(value)
    raise TypeError(f"{type(value).__name__} is not JSON-serialisable")


def _patient(r: _PatientRow) -> Patient:
    return Patient(
        r.patient_id, r.display_name, r.birth_date, r.sex, r.weight_kg, r.synthetic, r.clinic
    )


#: Payload keys that hold free text (any nesting level): removed for researchers.
FREE_TEXT_KEYS = frozenset(
    {"note", "notes", "reason", "comment", "comments", "description", "text", "free_text"}
)
_FREE_TEXT_SUFFIXES = tuple(f"_{k}" for k in sorted(FREE_TEXT_KEYS))


def deidentified_payload(value: Any) -> Any:
    """``value`` without free text: every key in :data:`FREE_TEXT_KEYS` or ending in
    ``_note``, ``_reason``, ``_description``, ``_comment``, ``_text`` … is dropped, at any
    depth (what a researcher may read: coded and numeric data only)."""
    if isinstance(value, Mapping):
        return {
            k: deidentified_payload(v)
            for k, v in value.items()
            if not (
                isinstance(k, str)
                and (k.lower() in FREE_TEXT_KEYS or k.lower().endswith(_FREE_TEXT_SUFFIXES))
            )
        }
    if isinstance(value, list):
        return [deidentified_payload(v) for v in value]
    return value


def _deidentified(r: StoredRecord) -> StoredRecord:
    """A record as a researcher sees it: no free text, no author or correction reason."""
    return StoredRecord(
        r.record_id,
        r.version,
        r.kind,
        r.patient_id,
        deidentified_payload(r.payload),
        "(de-identified)",
        r.created_at,
        r.effective_at,
        None,
    )


def _record(r: _RecordRow) -> StoredRecord:
    return StoredRecord(
        r.record_id,
        r.version,
        r.kind,
        r.patient_id,
        dict(r.payload),
        r.author,
        r.created_at,
        r.effective_at,
        r.reason,
    )


def _stored_alert(r: _AlertRow, ack: _AlertAckRow | None) -> StoredAlert:
    return StoredAlert(
        alert_id=r.alert_id,
        patient_id=r.patient_id,
        alert=Alert(
            rule_id=r.rule_id,
            level=AlertLevel(r.level),
            message=r.message,
            action=r.action,
            source=r.source,
            **({} if r.crisis_line is None else {"crisis_line": r.crisis_line}),
        ),
        source_kind=r.source_kind,
        source_ref=r.source_ref,
        effective_at=r.effective_at,
        raised_at=r.raised_at,
        raised_by=r.raised_by,
        acknowledgement=None
        if ack is None
        else Acknowledgement(alert_id=r.alert_id, at=ack.at, who=ack.who, note=ack.note),
    )
