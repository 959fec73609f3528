"""SPRAVATO REMS Patient Monitoring Forms that are due or overdue.

In a certified outpatient setting a Patient Monitoring Form is filed after every
esketamine session, within the protocol's ``rems_form_due_days`` (7 by default)
calendar days of the session [2.2]. A form is *due* from the session until that
deadline (inclusive) and *overdue* after it; a session whose form is recorded as
submitted drops off the list. Inpatient sessions need no form [2.2].
"""

from __future__ import annotations

import datetime as dt
import enum
from collections.abc import Iterable
from dataclasses import dataclass

from kaptools.errors import InvalidInputError
from kaptools.printer import escape
from kaptools.protocol import Protocol, default_protocol
from kaptools.sessions.record import DosingSession

__all__ = ["RemsFormDue", "RemsFormStatus", "rems_forms_due"]


class RemsFormStatus(enum.StrEnum):
    """Where an unfiled REMS Patient Monitoring Form stands (REMS, kaptools/sources.toml §2.2)."""

    DUE = "due"
    """Within the filing window (up to and including the deadline)."""
    OVERDUE = "overdue"
    """Past the deadline: file it now."""


@dataclass(frozen=True, slots=True)
class RemsFormDue:
    """One unfiled Patient Monitoring Form, with its deadline."""

    patient_id: str
    session_date: dt.date
    due_by: dt.date
    status: RemsFormStatus
    days_left: int
    """Days from ``as_of`` to the deadline (negative when overdue)."""
    missing: tuple[str, ...]
    """Form fields still missing on the session record."""
    record_id: str | None = None

    @property
    def summary(self) -> str:
        when = (
            f"due by {self.due_by} ({self.days_left} day{'s' if self.days_left != 1 else ''} left)"
            if self.status is RemsFormStatus.DUE
            else f"OVERDUE since {self.due_by} ({-self.days_left} day(s))"
        )
        gaps = f"; missing {', '.join(self.missing)}" if self.missing else ""
        return f"REMS form for {self.patient_id}, session {self.session_date}: {when}{gaps}"

    def _repr_html_(self) -> str:
        return (
            f"<p class='kap-rems-{escape(self.status.value)}'>{escape(self.summary)}</p>"
        )


def rems_forms_due(
    sessions: Iterable[object], as_of: dt.date, protocol: Protocol | None = None
) -> tuple[RemsFormDue, ...]:
    """The REMS Patient Monitoring Forms not yet filed as of ``as_of``, soonest deadline first.

    Args:
        sessions: dosing sessions (``DosingSession``, or saved ones with ``.session``
            and ``.record_id``). Only outpatient esketamine sessions on or before
            ``as_of`` without a submitted form are listed.
        as_of: the day to judge by.
        protocol: for ``rems_form_due_days`` (default: the shipped protocol).

    Examples:
        >>> import datetime as dt
        >>> s = DosingSession("SYN-1", "esketamine_nasal", dt.date(2026, 3, 2))
        >>> [f.status.value for f in rems_forms_due([s], dt.date(2026, 3, 10))]
        ['overdue']
    """
    if isinstance(as_of, dt.datetime) or not isinstance(as_of, dt.date):
        msg = f"as_of: must be a date (got {as_of!r})"
        raise InvalidInputError(msg)
    days = dt.timedelta(
        days=int((protocol or default_protocol()).monitoring.rems_form_due_days.value)
    )
    out = []
    for item in sessions:
        session = getattr(item, "session", item)
        if not isinstance(session, DosingSession):
            msg = f"sessions: each item must be a DosingSession (got {type(item).__name__})"
            raise InvalidInputError(msg)
        if not session.needs_rems_form or session.session_date > as_of:
            continue
        if session.rems is not None and session.rems.form_submitted_on is not None:
            continue
        due_by = session.session_date + days
        left = (due_by - as_of).days
        out.append(
            RemsFormDue(
                patient_id=session.patient_id,
                session_date=session.session_date,
                due_by=due_by,
                status=RemsFormStatus.DUE if left >= 0 else RemsFormStatus.OVERDUE,
                days_left=left,
                missing=session.rems_form().missing,
                record_id=getattr(item, "record_id", None),
            )
        )
    return tuple(sorted(out, key=lambda f: (f.due_by, f.patient_id)))
