"""The parts of a dosing-session record: its status, the care setting, the REMS
question fields, and the sedation, dissociation and discharge answers, each validated
on construction [2.1, 2.2, 4.7, 5.4].
"""

from __future__ import annotations

import datetime as dt
import enum
from dataclasses import dataclass, fields

from kaptools.errors import InvalidInputError
from kaptools.sessions.scales import cadss6, moaa_s
from kaptools.vocabulary import Route

__all__ = [
    "CareSetting",
    "ConcomitantMedication",
    "DischargeChecklist",
    "DissociationRating",
    "RemsFields",
    "SedationRating",
    "SessionRecordStatus",
    "rems_form_applies",
]


class SessionRecordStatus(enum.StrEnum):
    """Whether a dosing-session record is finished."""

    IN_PROGRESS = "in_progress"
    """Being filled in; may be saved with fields missing."""
    COMPLETE = "complete"
    """Every required field present and the protocol's session rules met."""


class CareSetting(enum.StrEnum):
    """Where the session took place (SPRAVATO REMS, kaptools/sources.toml §2.2)."""

    OUTPATIENT = "outpatient"
    """A certified outpatient setting: enrolment and a Patient Monitoring Form per session [2.2]."""
    INPATIENT = "inpatient"
    """Inpatient: no enrolment or monitoring form; adverse events still reported [2.2]."""


def rems_form_applies(route: object, setting: object = CareSetting.OUTPATIENT) -> bool:
    """Whether a session by ``route`` in ``setting`` needs REMS enrolment and a Patient
    Monitoring Form: esketamine nasal spray in an outpatient setting [2.2].

    The one statement of the rule: :attr:`DosingSession.needs_rems_form`, the session
    form and the planner's REMS list all ask it. Values may be the enums or their
    strings (a widget's value); anything else is not esketamine / not outpatient.
    """
    route_value = getattr(route, "value", route)
    setting_value = getattr(setting, "value", setting)
    return (
        route_value == Route.ESKETAMINE_NASAL.value
        and setting_value == CareSetting.OUTPATIENT.value
    )


class ConcomitantMedication(enum.StrEnum):
    """Medicines the REMS form asks about: they add sedation or raise BP [2.1, 2.2]."""

    BENZODIAZEPINE = "benzodiazepine"
    """Adds sedation (CNS depressant) [2.1, 2.2]."""
    NON_BENZODIAZEPINE_SEDATIVE_HYPNOTIC = "non_benzodiazepine_sedative_hypnotic"
    """Adds sedation [2.2]."""
    OPIOID = "opioid"
    """Adds sedation and respiratory depression [2.1, 2.2]."""
    PSYCHOSTIMULANT = "psychostimulant"
    """Raises blood pressure (amphetamines, methylphenidate, modafinil, armodafinil) [2.1, 2.2]."""
    MAOI = "maoi"
    """Raises blood pressure [2.1]."""
    OTHER_CNS_DEPRESSANT = "other_cns_depressant"
    """Other sedating medicines, alcohol [2.1]."""


def _minutes(value: object, name: str) -> int:
    """Whole minutes after dosing within a day either side (≤ 0: a pre-dose rating)."""
    lo, hi = -24 * 60, 24 * 60
    if isinstance(value, bool) or not isinstance(value, int) or not lo <= value <= hi:
        msg = (
            f"{name}: must be whole minutes after dosing from {lo} to {hi} (got {value!r}); "
            "use 0 or less for a rating before the dose"
        )
        raise InvalidInputError(msg)
    return value


@dataclass(frozen=True, slots=True)
class SedationRating:
    """A MOAA/S rating (0 = loss of consciousness … 5 = alert) at a time after dosing [2.1, 4.7].

    ``minutes_after_dose`` ≤ 0 is a rating before the dose."""

    minutes_after_dose: int
    moaa_s: int

    def __post_init__(self) -> None:
        scale = moaa_s()
        _minutes(self.minutes_after_dose, "sedation.minutes_after_dose")
        if (
            isinstance(self.moaa_s, bool)
            or not isinstance(self.moaa_s, int)
            or not scale.min <= self.moaa_s <= scale.max
        ):
            msg = (
                f"sedation.moaa_s: must be a whole MOAA/S rating from {scale.min} to {scale.max} "
                f"(got {self.moaa_s!r}); {scale.min} = loss of consciousness, {scale.max} = alert"
            )
            raise InvalidInputError(msg)


@dataclass(frozen=True, slots=True)
class DissociationRating:
    """A CADSS-6 rating: the six short-form CADSS items, each 0–4, at a time after dosing [4.7].

    ``minutes_after_dose`` ≤ 0 is the pre-dose rating discharge compares with."""

    minutes_after_dose: int
    items: tuple[int, ...]

    def __post_init__(self) -> None:
        scale = cadss6()
        _minutes(self.minutes_after_dose, "dissociation.minutes_after_dose")
        items = tuple(self.items) if not isinstance(self.items, str | bytes) else ()
        if len(items) != len(scale.items) or any(
            isinstance(x, bool)
            or not isinstance(x, int)
            or not scale.item_min <= x <= scale.item_max
            for x in items
        ):
            msg = (
                f"dissociation.items: must be {len(scale.items)} whole answers from "
                f"{scale.item_min} to {scale.item_max}, one for each CADSS item "
                f"{list(scale.items)} "
                f"(got {self.items!r})"
            )
            raise InvalidInputError(msg)
        object.__setattr__(self, "items", items)

    @property
    def total(self) -> int:
        return sum(self.items)


@dataclass(frozen=True, slots=True)
class DischargeChecklist:
    """The discharge answers only a clinician can give (None: not yet) [2.1, 5.4].

    Everything a number can show (vital signs safe and not rising, alert, dissociation
    resolved, observation long enough) is computed from the record by
    :func:`kaptools.sessions.discharge_readiness`, never ticked, so no box can
    contradict a recorded number.
    """

    escort_home: bool | None = None
    """A responsible adult takes the patient home."""
    no_driving_until_next_day: bool | None = None
    """Told: no driving or machinery until the next day after a restful sleep [2.1]."""

    def __post_init__(self) -> None:
        for f in fields(self):
            name, value = f.name, getattr(self, f.name)
            if value is not None and not isinstance(value, bool):
                msg = (
                    f"discharge.{name}: must be yes (True), no (False) or not answered (None); "
                    f"got {value!r}"
                )
                raise InvalidInputError(msg)

    def missing(self) -> tuple[str, ...]:
        return tuple(f"discharge.{f.name}" for f in fields(self) if getattr(self, f.name) is None)

    def not_met(self) -> tuple[str, ...]:
        return tuple(f"discharge.{f.name}" for f in fields(self) if getattr(self, f.name) is False)


@dataclass(frozen=True, slots=True)
class RemsFields:
    """What the SPRAVATO REMS Patient Monitoring Form asks beyond the session itself [2.2]."""

    patient_enrolled: bool | None = None
    first_treatment: bool | None = None
    concomitant_medications: tuple[ConcomitantMedication, ...] | None = None
    """None = not asked; () = asked, none taken."""
    serious_adverse_event: bool | None = None
    serious_adverse_event_description: str = ""
    form_submitted_on: dt.date | None = None
    ready_to_leave_at: dt.datetime | None = None
    """When the patient would have been ready to leave (clinically stable) [2.2]."""
    sedation: bool | None = None
    """Did the patient experience sedation during the session (form yes/no) [2.2]."""
    dissociation: bool | None = None
    respiratory_depression: bool | None = None

    def __post_init__(self) -> None:
        for name in (
            "patient_enrolled",
            "first_treatment",
            "serious_adverse_event",
            "sedation",
            "dissociation",
            "respiratory_depression",
        ):
            value = getattr(self, name)
            if value is not None and not isinstance(value, bool):
                msg = (
                    f"rems.{name}: must be yes (True), no (False) or not answered (None); got "
                    f"{value!r}"
                )
                raise InvalidInputError(msg)
        meds = self.concomitant_medications
        if meds is not None:
            try:
                object.__setattr__(
                    self, "concomitant_medications", tuple(ConcomitantMedication(m) for m in meds)
                )
            except (ValueError, TypeError):
                msg = (
                    f"rems.concomitant_medications: {meds!r} holds an unknown class; use "
                    f"{[m.value for m in ConcomitantMedication]}"
                )
                raise InvalidInputError(msg) from None
        if self.serious_adverse_event and not self.serious_adverse_event_description.strip():
            msg = "rems.serious_adverse_event_description: describe the serious adverse event"
            raise InvalidInputError(msg)
        d = self.form_submitted_on
        if d is not None and (isinstance(d, dt.datetime) or not isinstance(d, dt.date)):
            msg = f"rems.form_submitted_on: must be a date (got {d!r})"
            raise InvalidInputError(msg)
        r = self.ready_to_leave_at
        if r is not None and not isinstance(r, dt.datetime):
            msg = f"rems.ready_to_leave_at: must be a date and time (got {r!r})"
            raise InvalidInputError(msg)
