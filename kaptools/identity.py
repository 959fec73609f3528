"""Who is acting, and in which role: the single source of "who" for every write and audit row.

| variable | meaning | default |
|---|---|---|
| ``KAPTOOLS_USER`` | the person's name (author of writes and audit rows) | the login name |
| ``KAPTOOLS_ROLE`` | ``clinician``, ``researcher``, ``trainer`` or ``admin`` | ``clinician`` |

`make run` is single-user: the person at the machine, a clinician. A shared install sets
both from the signed-in session (see the README). What each role may do is enforced by
:class:`kaptools.store.Store` (the domain layer), not by hiding widgets:

| role | may |
|---|---|
| clinician | read and write patients' records |
| researcher | list patients de-identified (no names, no birth dates); no record |
|   | reads (no free text), no writes |
| trainer | read and write synthetic (demo) patients only |
| admin | users and protocol; read the audit trail; no clinical reads or writes |
"""

from __future__ import annotations

import enum
import os
from dataclasses import dataclass

from kaptools.config import current_user
from kaptools.errors import ConfigurationError

__all__ = ["ROLE_ENV_VAR", "Identity", "Role", "current_identity"]

ROLE_ENV_VAR = "KAPTOOLS_ROLE"


class Role(enum.StrEnum):
    CLINICIAN = "clinician"
    RESEARCHER = "researcher"
    TRAINER = "trainer"
    ADMIN = "admin"


@dataclass(frozen=True, slots=True)
class Identity:
    """A signed-in person: their name (the author of what they write) and their role."""

    user: str
    role: Role

    def __post_init__(self) -> None:
        if not isinstance(self.user, str) or not self.user.strip():
            raise ConfigurationError("Identity.user must be a non-empty name.")
        if not isinstance(self.role, Role):
            object.__setattr__(self, "role", _role(self.role, "role"))


def _role(value: object, where: str) -> Role:
    try:
        return Role(str(value).strip().lower())
    except ValueError:
        choices = ", ".join(r.value for r in Role)
        raise ConfigurationError(
            f"{where} {value!r} is not a kaptools role; use one of {choices}."
        ) from None


def current_identity() -> Identity:
    """The acting person: ``KAPTOOLS_USER`` (else the login name) in ``KAPTOOLS_ROLE``."""
    raw = os.environ.get(ROLE_ENV_VAR, "").strip()
    role = _role(raw, ROLE_ENV_VAR) if raw else Role.CLINICIAN
    return Identity(current_user(), role)
