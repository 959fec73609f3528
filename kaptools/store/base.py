"""The store's core: its database, who acts through it and what they may touch,
transactions, and the audit log (writing a row, reading it, verifying its chain).

:class:`~kaptools.store.Store` adds patients (:mod:`kaptools.store.patients`), records
(:mod:`kaptools.store.records`) and safety alerts (:mod:`kaptools.store.alerts`) to it.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, Self

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError, SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from kaptools.config import database_url
from kaptools.errors import AccessDeniedError, InvalidInputError, KaptoolsError, StoreError
from kaptools.identity import Identity, Role, current_identity
from kaptools.printer import escape
from kaptools.store.audit import AuditEntry, AuditVerification, chain_audit_rows, verify_audit_chain
from kaptools.store.checks import require_text
from kaptools.store.connection import PG_WRITE_LOCK, WRITE_OPTION, Joined, create_engine
from kaptools.store.tables import AuditRow, Base, PatientRow, utcnow
from kaptools.store.values import Patient, patient_of

__all__ = ["StoreBase"]


class StoreBase:
    """The database, the acting identity, transactions and the audit log."""

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
        self.engine = create_engine(self.url, echo=echo)
        self._maker = sessionmaker(self.engine, expire_on_commit=False)
        sa.event.listen(self._maker, "before_flush", chain_audit_rows)
        # the session of an open Store.transaction() (per thread): reads and writes join it
        self._outer = threading.local()
        if create:
            from kaptools.migrations import ensure_schema

            ensure_schema(self.engine, Base.metadata)

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
        row = s.get(PatientRow, patient_id) if isinstance(patient_id, str) else None
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
            q = q.where(PatientRow.synthetic.is_(True))
        elif who.role is Role.CLINICIAN:
            q = q.where(PatientRow.clinic == who.clinic)
        return q

    def author_for(self, given: object, field: str = "author") -> str:
        """The signed-in person, who authors every write and audit row.

        ``given`` (an ``author=``/``who=`` argument kept for older callers) must name
        that person: a different name is refused, never recorded.
        """
        who = self.identity
        if given is None:
            return who.user
        name = require_text(given, field)
        if name != who.user:
            raise AccessDeniedError(
                f"{field} {name!r} is not the signed-in person {who.user!r}: every write and "
                "audit row is authored by the signed-in identity (KAPTOOLS_USER / the "
                f"shared install's sign-in), never by a typed name. Leave {field} out. "
                "Nothing was saved."
            )
        return who.user

    def as_identity(self, identity: Identity) -> Self:
        """This store (same database and connections) acting as ``identity`` (e.g. a
        named system identity that seeds the demo data)."""
        if not isinstance(identity, Identity):
            raise InvalidInputError(
                f"identity must be a kaptools.identity.Identity; got {type(identity).__name__}."
            )
        other = object.__new__(type(self))
        other.__dict__.update(self.__dict__)
        other._identity = identity
        return other

    def _shown(self, row: PatientRow) -> Patient:
        """A patient as the acting role may see them (de-identified for researchers and
        admins: no name, no birth date)."""
        if self.identity.role in (Role.RESEARCHER, Role.ADMIN):
            return Patient(row.patient_id, "(de-identified)", None, row.sex, row.weight_kg,
                           row.synthetic, row.clinic)  # fmt: skip
        return patient_of(row)

    @classmethod
    def in_memory(cls, *, identity: Identity | None = None) -> Self:
        """A private, empty in-memory SQLite store (tests, demos), acting as ``identity``
        (default: the current identity)."""
        return cls("sqlite://", identity=identity)

    def close(self) -> None:
        """Close every pooled connection (the store can be used again afterwards)."""
        self.engine.dispose()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"Store({self.url.render_as_string(hide_password=True)!r})"

    def _repr_html_(self) -> str:
        return f"<code>{escape(repr(self))}</code>"

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

    def _sessions(self) -> Session | Joined:
        """A session to read with: the open :meth:`transaction`'s, else a new one."""
        outer = getattr(self._outer, "session", None)
        return self._maker() if outer is None else Joined(outer)

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
                session.connection(execution_options={WRITE_OPTION: True})
                if self.url.get_backend_name() == "postgresql":
                    session.execute(sa.text(f"SELECT pg_advisory_xact_lock({PG_WRITE_LOCK})"))
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

    # ---- the audit log --------------------------------------------------------
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
                AuditRow(
                    at=utcnow(),
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
            q = sa.select(AuditRow).order_by(AuditRow.id)
            if patient_id is not None:
                q = q.where(AuditRow.patient_id == patient_id)
            elif who.role is Role.CLINICIAN:
                own = self._visible(sa.select(PatientRow.patient_id)).scalar_subquery()
                q = q.where(sa.or_(AuditRow.patient_id.is_(None), AuditRow.patient_id.in_(own)))
            return [
                AuditEntry(
                    r.at, r.who, r.action, r.patient_id, r.kind, r.record_id, r.version, r.detail
                )
                for r in s.scalars(q)
            ]

    def verify_audit(self) -> AuditVerification:
        """Recompute the audit log's hash chain; report the first row that does not fit.

        An edited row no longer matches its hash; a deleted or inserted row breaks the
        link to the next. Rows are read in id order, a batch at a time.
        """
        with self._sessions() as s:
            return verify_audit_chain(s)
