"""A dated course plan: the value the planner returns and the store keeps.

A :class:`CoursePlan` is frozen. Re-planning (a missed or moved session, new
closures) makes a new plan with ``revision`` one higher; sessions already done
keep their dates, missed ones stay on the plan marked missed.
"""

from __future__ import annotations

import datetime as dt
import enum
import functools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, fields
from typing import TYPE_CHECKING, Any

from kaptools.alerts import Alert, StoredAlert
from kaptools.errors import InvalidInputError, RecordError
from kaptools.protocol import ProtocolInfo
from kaptools.scheduling.calendar import ClinicCalendar
from kaptools.scheduling.doses import CLINICIAN_CONFIRMATION, DoseCalculation, fmt_number
from kaptools.scheduling.options import Deviation, DeviationAcknowledgement, PlanOptions
from kaptools.scheduling.templates import SessionKind
from kaptools.vocabulary import CoursePhase, IntegrationPlace, Route, SessionStatus

if TYPE_CHECKING:
    import pandas as pd

    from kaptools.scheduling.report import Recorded

__all__ = [
    "CoursePlan",
    "Deviation",
    "DeviationAcknowledgement",
    "MeasurePoint",
    "PlanOptions",
    "PlanReport",
    "PlannedSession",
    "SessionStatus",
]


class MeasurePoint(enum.StrEnum):
    """When in the course a measure session falls (default protocol "Measures")."""

    BASELINE = "baseline"
    """Before the first dose."""
    WEEKLY = "weekly"
    """At the protocol's interval during the course."""
    END_OF_COURSE = "end_of_course"
    """After the last dose."""


_KIND_ORDER = {
    SessionKind.PREPARATION: 0,
    SessionKind.MEASURE: 1,
    SessionKind.INTEGRATION: 2,
    SessionKind.BENEFIT_CHECK: 3,
    SessionKind.DOSING: 4,
}


_DOSING, _INTEGRATION, _MEASURE = SessionKind.DOSING, SessionKind.INTEGRATION, SessionKind.MEASURE


def sort_key(date: dt.date, kind: SessionKind, number: int | None) -> tuple[dt.date, int, int]:
    """Sessions run by date; on one day preparation, measures, integration, check, dosing."""
    return (date, _KIND_ORDER[kind], number or 0)


@dataclass(frozen=True, slots=True)
class PlannedSession:
    """One dated session of a course plan."""

    index: int
    kind: SessionKind
    date: dt.date
    label: str
    status: SessionStatus = SessionStatus.PLANNED
    phase: CoursePhase | None = None
    """The dosing phase (dosing sessions, and the integration or benefit check after them)."""
    dose_number: int | None = None
    """For a dosing session its number in the course; for an integration, the dose it follows."""
    preparation_number: int | None = None
    dose: DoseCalculation | None = None
    instruments: tuple[str, ...] = ()
    measure_point: MeasurePoint | None = None
    note: str = ""
    place: IntegrationPlace | None = None
    """For an integration session: in the clinic, by video, or before the next dose."""

    def __post_init__(self) -> None:
        date, kind = self.date, self.kind
        if type(date) is not dt.date and (
            isinstance(date, dt.datetime) or not isinstance(date, dt.date)
        ):
            msg = f"session date: must be a date (got {date!r})"
            raise InvalidInputError(msg)
        if kind is _DOSING:
            if self.dose is None or self.dose_number is None or self.phase is None:
                msg = (
                    f"session {self.index}: a dosing session needs its dose, dose_number and "
                    f"phase (got dose={self.dose!r}, dose_number={self.dose_number!r}, "
                    f"phase={self.phase!r})"
                )
                raise InvalidInputError(msg)
        elif self.dose is not None:
            msg = f"session {self.index}: only a dosing session carries a dose (kind {kind})"
            raise InvalidInputError(msg)
        if kind is _INTEGRATION and self.dose_number is None:
            msg = f"session {self.index}: an integration session names the dose it follows"
            raise InvalidInputError(msg)
        if (kind is _INTEGRATION) != (self.place is not None):
            msg = (
                f"session {self.index}: an integration session says where it is held "
                f"(place one of {[p.value for p in IntegrationPlace]}), and only it "
                f"(kind {kind}, place {self.place!r})"
            )
            raise InvalidInputError(msg)
        if kind is _MEASURE and (not self.instruments or self.measure_point is None):
            msg = f"session {self.index}: a measure session lists its instruments and measure point"
            raise InvalidInputError(msg)

    @property
    def active(self) -> bool:
        """Held or to be held (not missed)."""
        return self.status is not SessionStatus.MISSED

    @property
    def sort_key(self) -> tuple[dt.date, int, int]:
        return sort_key(self.date, self.kind, self.dose_number or self.preparation_number)

    def to_dict(self) -> dict[str, Any]:
        return {
            "index": self.index,
            "kind": self.kind.value,
            "date": self.date.isoformat(),
            "label": self.label,
            "status": self.status.value,
            "phase": self.phase.value if self.phase else None,
            "dose_number": self.dose_number,
            "preparation_number": self.preparation_number,
            "dose": self.dose.to_dict() if self.dose else None,
            "instruments": list(self.instruments),
            "measure_point": self.measure_point.value if self.measure_point else None,
            "note": self.note,
            "place": self.place.value if self.place else None,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> PlannedSession:
        kind = SessionKind(data["kind"])
        place = data.get("place")
        if place is None and kind is SessionKind.INTEGRATION:
            place = IntegrationPlace.CLINIC.value  # plans saved before places were recorded
        return cls(
            index=int(data["index"]),
            kind=kind,
            date=dt.date.fromisoformat(data["date"]),
            label=str(data["label"]),
            status=SessionStatus(data.get("status", "planned")),
            phase=CoursePhase(data["phase"]) if data.get("phase") else None,
            dose_number=data.get("dose_number"),
            preparation_number=data.get("preparation_number"),
            dose=DoseCalculation.from_dict(data["dose"]) if data.get("dose") else None,
            instruments=tuple(data.get("instruments") or ()),
            measure_point=MeasurePoint(data["measure_point"])
            if data.get("measure_point")
            else None,
            note=str(data.get("note") or ""),
            place=IntegrationPlace(place) if place else None,
        )


_SETTERS = tuple(getattr(PlannedSession, f.name).__set__ for f in fields(PlannedSession))


def session_from_row(
    index: int,
    row: Sequence[Any],
    *,
    _new: Any = object.__new__,
    _setters: tuple[Any, ...] = _SETTERS,
    _check: Any = PlannedSession.__post_init__,
) -> PlannedSession:
    """``PlannedSession(index, *row)``, validated the same way (``__post_init__``), built
    slot by slot: the planner builds one per session of every plan, and a frozen
    dataclass's ``__init__`` costs about half as much again."""
    if len(row) != len(_setters) - 1:
        msg = f"session row: {len(row)} values, expected {len(_setters) - 1}"
        raise InvalidInputError(msg)
    s = _new(PlannedSession)
    (s0, s1, s2, s3, s4, s5, s6, s7, s8, s9, s10, s11, s12) = _setters
    s0(s, index)
    s1(s, row[0])
    s2(s, row[1])
    s3(s, row[2])
    s4(s, row[3])
    s5(s, row[4])
    s6(s, row[5])
    s7(s, row[6])
    s8(s, row[7])
    s9(s, row[8])
    s10(s, row[9])
    s11(s, row[10])
    s12(s, row[11])
    _check(s)
    return s


def session_cells(s: PlannedSession) -> dict[str, Any]:
    """The typed cells of one planned session (date, kind, phase, status, dose), shared by
    :meth:`CoursePlan.to_frame` and the CSV/Parquet exports, which add their own columns."""
    return {
        "index": s.index,
        "date": s.date,
        "weekday": s.date.strftime("%a"),
        "kind": s.kind.value,
        "phase": s.phase.value if s.phase else None,
        "label": s.label,
        "status": s.status.value,
        "dose_number": s.dose_number,
        "dose_mg": s.dose.mg if s.dose else None,
        "devices": s.dose.devices if s.dose else None,
        "dose_arithmetic": s.dose.arithmetic if s.dose else None,
        "confirmation": s.dose.confirmation if s.dose else None,
    }


@dataclass(frozen=True, slots=True)
class CoursePlan:
    """A dated plan of every session of a course, in order.

    Decision support: the plan meets the protocol's rules on the calendar given;
    every dose on it is a proposal for clinician confirmation.
    """

    route: Route
    route_label: str
    sessions: tuple[PlannedSession, ...]
    start: dt.date
    as_of: dt.date
    """Sessions before this date are history (done or missed); the rest are planned."""
    calendar: ClinicCalendar
    protocol: ProtocolInfo
    screening_status: str
    weight_kg: float | None = None
    age: int | None = None
    cautions: tuple[str, ...] = ()
    notes: tuple[str, ...] = ()
    options: PlanOptions = field(default_factory=PlanOptions)
    patient_id: str | None = None
    revision: int = 1
    changes: tuple[str, ...] = ()
    """What each re-planning changed, oldest first."""
    therapist_calendar: ClinicCalendar | None = None
    """The therapist's own calendar, for integration by video (None: no video integration)."""
    deviations: tuple[Deviation, ...] = ()
    """Rules the plan cannot keep, named (see :class:`Deviation`)."""
    acknowledgement: DeviationAcknowledgement | None = None
    """A clinician's acknowledgement of the deviations (needed to save a plan that has any)."""

    @property
    def meets_protocol(self) -> bool:
        """Whether the plan keeps every scheduling rule (no open deviation)."""
        return not self.deviations

    def acknowledged(self, by: str, reason: str, at: dt.datetime) -> CoursePlan:
        """This plan with the clinician's acknowledgement of its deviations."""
        from dataclasses import replace

        return replace(self, acknowledgement=DeviationAcknowledgement(by, reason, at))

    # -- views -------------------------------------------------------------------------

    def of_kind(self, kind: SessionKind, *, active_only: bool = True) -> tuple[PlannedSession, ...]:
        return tuple(s for s in self.sessions if s.kind is kind and (s.active or not active_only))

    @property
    def doses(self) -> tuple[PlannedSession, ...]:
        """Dosing sessions held or planned (not missed), in order."""
        return self.of_kind(SessionKind.DOSING)

    @property
    def planned(self) -> tuple[PlannedSession, ...]:
        return tuple(s for s in self.sessions if s.status is SessionStatus.PLANNED)

    @property
    def end(self) -> dt.date:
        return max(s.date for s in self.sessions)

    def keyed_sessions(self) -> tuple[tuple[tuple[object, ...], PlannedSession], ...]:
        """Each session with a key that names the same session across re-plans.

        Kind, dose or preparation number, measure point, and the occurrence among
        sessions with those (the third weekly measure is the third, whatever its date).
        """
        seen: dict[tuple[object, ...], int] = {}
        out = []
        for s in self.sessions:
            base = (s.kind, s.dose_number, s.preparation_number, s.measure_point)
            seen[base] = seen.get(base, 0) + 1
            out.append(((*base, seen[base]), s))
        return tuple(out)

    def diff(self, other: CoursePlan) -> frozenset[int]:
        """The indexes of ``other``'s sessions that are new or moved against this plan.

        A session is matched across the two plans by :meth:`keyed_sessions` (the same
        dose, preparation or measure, whatever its date); it changed when it has no
        match here or its date differs. ``before.diff(after)`` is what a re-plan moved.
        """
        if not isinstance(other, CoursePlan):
            msg = f"other: must be a CoursePlan (got {type(other).__name__})"
            raise InvalidInputError(msg)
        old = {key: s.date for key, s in self.keyed_sessions()}
        return frozenset(s.index for key, s in other.keyed_sessions() if old.get(key) != s.date)

    def session(self, index: int) -> PlannedSession:
        if (
            isinstance(index, bool)
            or not isinstance(index, int)
            or not 0 <= index < len(self.sessions)
        ):
            msg = (
                f"index: {index!r} is not a session of this plan; use 0 to {len(self.sessions) - 1}"
            )
            raise InvalidInputError(msg)
        return self.sessions[index]

    def to_frame(self) -> pd.DataFrame:
        """One row per session (a pandas DataFrame)."""
        import pandas as pd

        rows = [
            {
                **session_cells(s),
                "instruments": ", ".join(s.instruments) or None,
                "note": s.note or None,
                "place": s.place.value if s.place else None,
            }
            for s in self.sessions
        ]
        frame = pd.DataFrame(rows).set_index("index")
        for column in ("dose_number", "devices"):
            frame[column] = frame[column].astype("Int64")
        return frame

    @property
    def summary(self) -> str:
        """The plan as text (:func:`kaptools.scheduling.report.plan_summary_text`)."""
        from kaptools.scheduling.report import plan_summary_text

        return plan_summary_text(self)

    @property
    def verdict(self) -> str:
        """One line: meets the protocol's scheduling rules, or names the open deviations."""
        if self.deviations:
            return (
                f"Does NOT meet the protocol's scheduling rules: {len(self.deviations)} "
                f"deviation(s) above; doses are {CLINICIAN_CONFIRMATION}."
            )
        return (
            f"Meets the protocol's scheduling rules on the clinic calendar; doses are "
            f"{CLINICIAN_CONFIRMATION}."
        )

    def cautions_html(self) -> str:
        """The screening's cautions as an HTML note (empty when there are none): the one
        rendering the plan's HTML and the planner dashboard both show."""
        from kaptools.scheduling.report import cautions_html

        return cautions_html(self.cautions)

    def deviations_html(self) -> str:
        """The deviations (each with what would fix it), their acknowledgement or that
        one is needed, and the verdict, as HTML: the verdict alone when there are none."""
        from kaptools.scheduling.report import deviations_html

        return deviations_html(self)

    def table_html(
        self,
        *,
        recorded: Mapping[dt.date, Recorded] | None = None,
        changed: frozenset[int] = frozenset(),
        today: dt.date | None = None,
    ) -> str:
        """Every session as a table, with the dashboard's optional decorations (dosing
        records, the rows a re-plan moved, dates passed):
        :func:`kaptools.scheduling.report.plan_table_html`."""
        from kaptools.scheduling.report import plan_table_html

        return plan_table_html(self, recorded=recorded, changed=changed, today=today)

    def _repr_html_(self) -> str:
        from kaptools.scheduling.report import plan_html

        return plan_html(self)

    def report(self, alerts: Sequence[Alert | StoredAlert] = ()) -> PlanReport:
        """The plan with the patient's open safety alerts (and the 988 line) on top."""
        return PlanReport(self, tuple(alerts))

    # -- persistence ---------------------------------------------------------------------

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready form (:meth:`from_dict` reads it back)."""
        return {
            "route": self.route.value,
            "route_label": self.route_label,
            "sessions": [s.to_dict() for s in self.sessions],
            "start": self.start.isoformat(),
            "as_of": self.as_of.isoformat(),
            "calendar": self.calendar.to_dict(),
            "protocol": {
                "name": self.protocol.name,
                "version": self.protocol.version,
                "sha256": self.protocol.sha256,
            },
            "screening_status": self.screening_status,
            "weight_kg": self.weight_kg,
            "age": self.age,
            "cautions": list(self.cautions),
            "notes": list(self.notes),
            "options": self.options.to_dict(),
            "patient_id": self.patient_id,
            "revision": self.revision,
            "changes": list(self.changes),
            "therapist_calendar": self.therapist_calendar.to_dict()
            if self.therapist_calendar
            else None,
            "deviations": [d.to_dict() for d in self.deviations],
            "acknowledgement": self.acknowledgement.to_dict() if self.acknowledgement else None,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> CoursePlan:
        """A plan from :meth:`to_dict` output; RecordError when the data is not a plan."""
        try:
            proto = data["protocol"]
            return cls(
                route=Route(data["route"]),
                route_label=str(data["route_label"]),
                sessions=tuple(PlannedSession.from_dict(s) for s in data["sessions"]),
                start=dt.date.fromisoformat(data["start"]),
                as_of=dt.date.fromisoformat(data["as_of"]),
                calendar=ClinicCalendar.from_dict(data["calendar"]),
                protocol=ProtocolInfo(
                    str(proto["name"]), str(proto["version"]), str(proto["sha256"])
                ),
                screening_status=str(data["screening_status"]),
                weight_kg=data.get("weight_kg"),
                age=data.get("age"),
                cautions=tuple(data.get("cautions") or ()),
                notes=tuple(data.get("notes") or ()),
                options=PlanOptions.from_dict(data.get("options") or {}),
                patient_id=data.get("patient_id"),
                revision=int(data.get("revision", 1)),
                changes=tuple(data.get("changes") or ()),
                therapist_calendar=ClinicCalendar.from_dict(data["therapist_calendar"])
                if data.get("therapist_calendar")
                else None,
                deviations=tuple(Deviation.from_dict(d) for d in data.get("deviations") or ()),
                acknowledgement=DeviationAcknowledgement.from_dict(data["acknowledgement"])
                if data.get("acknowledgement")
                else None,
            )
        except (KeyError, TypeError, ValueError) as exc:
            msg = (
                f"course plan record: cannot be read ({type(exc).__name__}: {exc}); "
                f"it must be the output of CoursePlan.to_dict()"
            )
            raise RecordError(msg) from None


@functools.lru_cache(maxsize=4096)
def dose_label(
    route_label: str,
    number: int,
    total: int,
    phase_label: str,
    dose: DoseCalculation,
    infusion_minutes: float | None,
) -> str:
    """The label of a dosing session, e.g. ``Dose 1 of 6 (Induction): 35 mg over 40 min``."""
    return dose_label_with(number, total, phase_label, dose_text(dose, infusion_minutes))


def dose_text(dose: DoseCalculation, infusion_minutes: float | None) -> str:
    """What a dosing session's label says of the dose, e.g. ``35 mg over 40 min``."""
    over = f" over {fmt_number(infusion_minutes)} min" if infusion_minutes else ""
    devices = f" ({dose.devices} device{'s' if dose.devices != 1 else ''})" if dose.devices else ""
    return f"{dose.mg_text}{devices}{over}"


def dose_label_with(number: int, total: int, phase_label: str, text: str) -> str:
    """:func:`dose_label` from the dose's :func:`dose_text` (the planner keeps that per dose)."""
    return f"Dose {number} of {total} ({phase_label}): {text}"


@dataclass(frozen=True, slots=True)
class PlanReport:
    """A course plan shown with the patient's open safety alerts: every plan summary
    (text, HTML, the downloaded summary) carries them, with the 988 crisis line."""

    plan: CoursePlan
    alerts: tuple[Alert | StoredAlert, ...] = ()

    @property
    def summary(self) -> str:
        from kaptools.scheduling.report import plan_report_text

        return plan_report_text(self)

    def _repr_html_(self) -> str:
        from kaptools.scheduling.report import plan_report_html

        return plan_report_html(self)
