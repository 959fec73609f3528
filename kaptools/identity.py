"""Who is acting, and in which role: the single source of "who" for every write and audit row.

| variable | meaning | default |
|---|---|---|
| ``KAPTOOLS_USER`` | the person's name (author of writes and audit rows) | the login name |
| ``KAPTOOLS_ROLE`` | ``clinician``, ``researcher``, ``trainer`` or ``admin`` | ``clinician`` |
| ``KAPTOOLS_CLINIC`` | the clinic the person works for (a short code) | ``default`` |

`make run` is single-user: the person at the machine, a clinician of the ``default``
clinic. A shared install sets all three from the signed-in session (see the README; the
hub sets the clinic from the person's hub group). What each role may do is enforced by
:class:`kaptools.store.Store` (the domain layer), not by hiding widgets:

| role | may |
|---|---|
| clinician | read and write the records of their own clinic's patients |
| researcher | list patients de-identified (no names, no birth dates); no record |
|   | reads (no free text), no writes |
| trainer | read and write synthetic (demo) patients only |
| admin | users and protocol; read the audit trail; no clinical reads or writes |
"""

from __future__ import annotations

import enum
import os
import re
from dataclasses import dataclass

from kaptools.config import current_user
from kaptools.errors import ConfigurationError

__all__ = [
    "CLINIC_ENV_VAR",
    "DEFAULT_CLINIC",
    "ROLE_ENV_VAR",
    "Identity",
    "Role",
    "check_clinic",
    "current_identity",
]

ROLE_ENV_VAR = "KAPTOOLS_ROLE"
CLINIC_ENV_VAR = "KAPTOOLS_CLINIC"
#: The clinic of `make run`'s single user, and of every patient stored before clinics
#: existed (migration 0004 puts them there).
DEFAULT_CLINIC = "default"
_CLINIC_RE = re.compile(r"^[a-z0-9][a-z0-9_.-]{0,39}$")


class Role(enum.StrEnum):
    CLINICIAN = "clinician"
    RESEARCHER = "researcher"
    TRAINER = "trainer"
    ADMIN = "admin"


@dataclass(frozen=True, slots=True)
class Identity:
    """A signed-in person: their name (the author of what they write), their role and
    the clinic they work for (clinicians see that clinic's patients only)."""

    user: str
    role: Role
    clinic: str = DEFAULT_CLINIC

    def __post_init__(self) -> None:
        if not isinstance(self.user, str) or not self.user.strip():
            raise ConfigurationError("Identity.user must be a non-empty name.")
        if not isinstance(self.role, Role):
            object.__setattr__(self, "role", _role(self.role, "role"))
        object.__setattr__(self, "clinic", check_clinic(self.clinic, "Identity.clinic"))


def check_clinic(value: object, where: str) -> str:
    """A clinic code: 1-40 lower-case letters, digits, '.', '_' or '-' (e.g. 'north')."""
    text = value.strip().lower() if isinstance(value, str) else value
    if not isinstance(text, str) or not _CLINIC_RE.match(text):
        raise ConfigurationError(
            f"{where} {value!r} is not a clinic code: use 1-40 lower-case letters, digits, "
            "'.', '_' or '-', starting with a letter or digit (e.g. 'north')."
        )
    return text


def _role(value: object, where: str) -> Role:
    try:
        return Role(str(value).strip().lower())
    except ValueError:
        choices = ", ".join(r.value for r in Role)
        raise ConfigurationError(
            f"{where} {value!r} is not a kaptools role; use one of {choices}."
        ) from None


def current_identity() -> Identity:
    """The acting person: ``KAPTOOLS_USER`` (else the login name) in ``KAPTOOLS_ROLE``
    at ``KAPTOOLS_CLINIC`` (else the default clinic)."""
    raw = os.environ.get(ROLE_ENV_VAR, "").strip()
    role = _role(raw, ROLE_ENV_VAR) if raw else Role.CLINICIAN
    raw_clinic = os.environ.get(CLINIC_ENV_VAR, "").strip()
    clinic = check_clinic(raw_clinic, CLINIC_ENV_VAR) if raw_clinic else DEFAULT_CLINIC
    return Identity(current_user(), role, clinic)
