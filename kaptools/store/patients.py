"""Patients: adding one to the acting person's clinic, reading them as the acting role
may see them, counting them, and marking a new database a synthetic demo database.
"""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa

from kaptools.errors import AccessDeniedError, InvalidInputError, NotFoundError
from kaptools.identity import Role
from kaptools.limits import entry_range
from kaptools.store.audit import DEMO_DATABASE_ACTION
from kaptools.store.base import StoreBase
from kaptools.store.checks import SEXES, require_text
from kaptools.store.tables import AuditRow, PatientRow, utcnow
from kaptools.store.values import Patient
from kaptools.validation import check_date_in_range
from kaptools.vocabulary import PATIENT_ID_RE

__all__ = ["PatientsMixin"]


class PatientsMixin(StoreBase):
    """The store's patients and its demo-database mark."""

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
        if not isinstance(patient_id, str) or not PATIENT_ID_RE.fullmatch(patient_id):
            raise InvalidInputError(
                f"patient_id {patient_id!r} is not valid: use 1-40 letters, digits, '.', '_' "
                "or '-', starting with a letter or digit (e.g. 'SYN-0001')."
            )
        display_name = require_text(display_name, "display_name", max_len=200)
        author = self.author_for(author)
        if sex not in SEXES:
            raise InvalidInputError(f"sex {sex!r} is not one of {', '.join(SEXES)}.")
        low, high = entry_range("weight_kg")
        if weight_kg is not None and not (low <= float(weight_kg) <= high):
            raise InvalidInputError(
                f"weight_kg {weight_kg!r} is outside {low:g}-{high:g} kg; check the value and unit."
            )
        if birth_date is not None:
            _check_birth_date(birth_date)
        who = self._require("add patients", (Role.CLINICIAN, Role.TRAINER))
        if who.role is Role.TRAINER and not synthetic:
            raise AccessDeniedError(
                f"{who.user} (trainer) may add synthetic demo patients only; nothing was saved."
            )
        weight = None if weight_kg is None else float(weight_kg)
        with self._tx() as s:
            if s.get(PatientRow, patient_id) is not None:
                raise InvalidInputError(
                    f"patient_id {patient_id!r} already exists; choose another."
                )
            s.add(
                PatientRow(
                    patient_id=patient_id,
                    display_name=display_name,
                    birth_date=birth_date,
                    sex=sex,
                    weight_kg=weight,
                    synthetic=synthetic,
                    created_at=utcnow(),
                    created_by=author,
                    clinic=who.clinic,
                )
            )
            s.add(
                AuditRow(
                    at=utcnow(),
                    who=author,
                    action="create_patient",
                    patient_id=patient_id,
                    detail=f"synthetic={synthetic} clinic={who.clinic}",
                )
            )
        return Patient(patient_id, display_name, birth_date, sex, weight, synthetic, who.clinic)

    def get_patient(self, patient_id: str) -> Patient:
        with self._sessions() as s:
            row = s.get(PatientRow, patient_id) if isinstance(patient_id, str) else None
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
            q = self._visible(sa.select(PatientRow).order_by(PatientRow.patient_id))
            return [self._shown(r) for r in s.scalars(q)]

    def count_patients(self) -> int:
        """How many patients are stored (0 for a database whose tables do not exist yet)."""
        if not sa.inspect(self.engine).has_table(PatientRow.__tablename__):
            return 0
        with self._sessions() as s:
            return int(s.execute(sa.select(sa.func.count()).select_from(PatientRow)).scalar_one())

    def has_patients(self) -> bool:
        with self._sessions() as s:
            return s.execute(sa.select(sa.func.count()).select_from(PatientRow)).scalar_one() > 0

    def count_non_synthetic_patients(self) -> int:
        """How many stored patients are not marked synthetic (real patients)."""
        if not sa.inspect(self.engine).has_table(PatientRow.__tablename__):
            return 0  # a store not yet created (Store(url, create=False)) holds nobody
        with self._sessions() as s:
            query = sa.select(sa.func.count()).where(PatientRow.synthetic.is_not(True))
            return int(s.execute(query).scalar_one())

    # ---- demo (training) databases ----------------------------------------------
    def is_demo_database(self) -> bool:
        """Whether this database was marked a synthetic demo / training database when it
        was created (its first audit row is :data:`DEMO_DATABASE_ACTION`)."""
        if not sa.inspect(self.engine).has_table(AuditRow.__tablename__):
            return False
        with self._sessions() as s:
            first = s.scalars(sa.select(AuditRow.action).order_by(AuditRow.id).limit(1)).first()
            return first == DEMO_DATABASE_ACTION

    def is_empty(self) -> bool:
        """No patient and no audit row: a database nothing has been written to yet."""
        if not sa.inspect(self.engine).has_table(AuditRow.__tablename__):
            return True
        with self._sessions() as s:
            audit = s.execute(sa.select(sa.func.count()).select_from(AuditRow)).scalar_one()
            patients = s.execute(sa.select(sa.func.count()).select_from(PatientRow)).scalar_one()
            return audit == 0 and patients == 0

    def mark_demo_database(self, *, who: str | None = None, detail: str = "") -> None:
        """Mark an empty database as a synthetic demo / training database (its first audit
        row). Only an empty database can be marked, so a clinic database never becomes
        one; a database already marked is left as it is. The row names the signed-in
        identity (``who``, if given, must be it)."""
        who = self.author_for(who, "who")
        with self._tx() as s:
            first = s.scalars(sa.select(AuditRow.action).order_by(AuditRow.id).limit(1)).first()
            if first == DEMO_DATABASE_ACTION:
                return
            patients = s.execute(sa.select(sa.func.count()).select_from(PatientRow)).scalar_one()
            if first is not None or patients:
                raise InvalidInputError(
                    f"database: {self.url.render_as_string(hide_password=True)} already holds "
                    "data, so it cannot be marked a demo database (only a new, empty database "
                    "can); name a new demo file. Nothing was written."
                )
            s.add(
                AuditRow(
                    at=utcnow(),
                    who=who,
                    action=DEMO_DATABASE_ACTION,
                    detail=(detail or "synthetic demo / training database")[:2000],
                )
            )


def _check_birth_date(value: object) -> None:
    """A date (not a date and time), within limits.toml ``calendar_year``, not in the future."""
    if isinstance(value, dt.datetime) or not isinstance(value, dt.date):
        raise InvalidInputError(f"birth_date must be a date (YYYY-MM-DD); got {value!r}.")
    check_date_in_range("birth_date", value)
    if value > dt.date.today():
        raise InvalidInputError(
            f"birth_date {value.isoformat()} is in the future; check the year."
        )
