"""The dosing-session record itself: :class:`DosingSession`, what it derives (flags,
go / no-go, dose check, discharge readiness, safety alerts, the REMS form) and when it
is complete [2.1, 2.2, 5.1-5.4].
"""

from __future__ import annotations

import copy
import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from kaptools.alerts import Alert
from kaptools.errors import IncompleteInputError, RecordError
from kaptools.printer import escape
from kaptools.protocol import Protocol, ProtocolInfo, default_protocol
from kaptools.scheduling.doses import fmt_number
from kaptools.sessions.discharge import DischargeReadiness, discharge_readiness
from kaptools.sessions.dose_check import DoseCheck, DoseVerdict, check_dose
from kaptools.sessions.record.checks import (
    check_dose_and_lot,
    check_dose_fields,
    check_readings,
    check_times,
)
from kaptools.sessions.record.parts import (
    CareSetting,
    DischargeChecklist,
    DissociationRating,
    RemsFields,
    SedationRating,
    SessionRecordStatus,
    rems_form_applies,
)
from kaptools.sessions.record.rems_form import (
    REMS_CLINICIAN_FIELDS,
    RemsMonitoringForm,
    fill_rems_form,
)
from kaptools.sessions.record.serialise import session_to_dict
from kaptools.sessions.safety import (
    GoDecision,
    HoldOverride,
    PreDoseChecks,
    flags_to_alerts,
    go_no_go,
    side_effect_flags,
)
from kaptools.sessions.side_effects import SideEffectReport
from kaptools.sessions.vitals import (
    FlagLevel,
    VitalsFlag,
    VitalSigns,
    VitalsTimepoint,
    sedation_flags,
    vitals_flags,
    vitals_schedule,
)
from kaptools.validation import check_identifier
from kaptools.vocabulary import Route

__all__ = ["DosingSession"]


@dataclass(frozen=True, slots=True)
class DosingSession:
    """One dosing session as recorded (frozen; corrections are new versions in the store)."""

    patient_id: str
    route: Route
    session_date: dt.date
    started_at: dt.datetime | None = None
    """When dosing began (esketamine: the first device)."""
    monitoring_ended_at: dt.datetime | None = None
    discharged_at: dt.datetime | None = None
    dose_mg: float | None = None
    lot_number: str | None = None
    vitals: tuple[VitalSigns, ...] = ()
    sedation: tuple[SedationRating, ...] = ()
    dissociation: tuple[DissociationRating, ...] = ()
    side_effects: tuple[SideEffectReport, ...] | None = None
    """None = not asked yet; () = asked, none."""
    discharge: DischargeChecklist = field(default_factory=DischargeChecklist)
    rems: RemsFields | None = None
    setting: CareSetting = CareSetting.OUTPATIENT
    plan_session_index: int | None = None
    """The session of the course plan this record fulfils, if any."""
    notes: str = ""
    status: SessionRecordStatus = SessionRecordStatus.IN_PROGRESS
    protocol: ProtocolInfo | None = None
    """The protocol the session was completed under."""
    dose_ended_at: dt.datetime | None = None
    """End of dosing: the end of an IV infusion (IV observation counts from it)."""
    pre_dose: PreDoseChecks = field(default_factory=PreDoseChecks)
    """C-SSRS since the last visit, pregnancy since screening, acute intoxication."""
    hold_override: HoldOverride | None = None
    """A clinician's written override of a pre-dose hold (the hold itself is kept)."""
    weight_kg: float | None = None
    """The weight a weight-based dose is checked against (IV, IM)."""
    patient_age_years: int | None = None
    """Age on the session day (esketamine doses depend on it)."""
    first_dose: bool | None = None
    """Whether this is the course's first dose (esketamine day 1)."""
    planned_dose_mg: float | None = None
    """The dose the course plan proposed, if any."""
    dose_reason: str = ""
    """Why the dose differs from the plan or the protocol range (when that needs a reason)."""
    dissociation_note: str = ""
    """Why dissociation counts as resolved though the last rating is above the pre-dose one."""

    def __post_init__(self) -> None:
        check_identifier("patient_id", self.patient_id, error=RecordError)
        try:
            object.__setattr__(self, "route", Route(self.route))
            object.__setattr__(self, "setting", CareSetting(self.setting))
            object.__setattr__(self, "status", SessionRecordStatus(self.status))
        except ValueError as exc:
            msg = f"session: {exc}; routes are {[r.value for r in Route]}"
            raise RecordError(msg) from None
        check_times(self)
        check_dose_and_lot(self)
        check_readings(self)
        check_dose_fields(self)
        if self.status is SessionRecordStatus.COMPLETE:
            # A record marked complete must pass the completion check; it is run under the
            # shipped protocol unless the record names another (then it was checked there).
            default = default_protocol()
            if self.protocol is None or self.protocol.sha256 == default.info.sha256:
                self._check_complete(default)

    # -- derived ------------------------------------------------------------------------

    @property
    def needs_rems_form(self) -> bool:
        """Esketamine in an outpatient setting: a Patient Monitoring Form per session [2.2]."""
        return rems_form_applies(self.route, self.setting)

    @property
    def observation_minutes(self) -> int | None:
        if self.started_at is None or self.monitoring_ended_at is None:
            return None
        return int((self.monitoring_ended_at - self.started_at).total_seconds() // 60)

    def reading(self, timepoint: VitalsTimepoint) -> VitalSigns | None:
        return next((v for v in self.vitals if v.timepoint is timepoint and v.has_bp), None)

    def flags(self, protocol: Protocol | None = None) -> tuple[VitalsFlag, ...]:
        """Vitals, sedation and side-effect flags under the protocol's ``[monitoring]`` lines.

        Urgent flags (a reading at or past a hold line after the dose, MOAA/S at the
        urgent line, suicidal thoughts or hypertensive-crisis symptoms) carry the
        protocol's escalation steps in ``.escalation``.
        """
        protocol = protocol or default_protocol()
        return (
            vitals_flags(self.vitals, protocol)
            + sedation_flags(
                (
                    (r.minutes_after_dose, r.moaa_s)
                    for r in self.sedation
                    if r.minutes_after_dose > 0
                ),
                protocol,
            )
            + side_effect_flags(self.side_effects, protocol)
        )

    def urgent_flags(self, protocol: Protocol | None = None) -> tuple[VitalsFlag, ...]:
        """The flags at the URGENT level (each with its escalation steps)."""
        return tuple(f for f in self.flags(protocol) if f.level is FlagLevel.URGENT)

    def go_no_go(self, protocol: Protocol | None = None) -> GoDecision:
        """Go, review or hold before the dose, from the pre-dose readings and answers."""
        return go_no_go(
            self.vitals,
            self.pre_dose,
            needs_rems_enrolment=self.needs_rems_form,
            rems_enrolled=None if self.rems is None else self.rems.patient_enrolled,
            override=self.hold_override,
            protocol=protocol,
        )

    def dose_check(self, protocol: Protocol | None = None) -> DoseCheck:
        """The recorded dose against the plan and the route's rules."""
        return check_dose(
            self.route,
            self.dose_mg,
            weight_kg=self.weight_kg,
            age_years=self.patient_age_years,
            first_dose=self.first_dose,
            planned_dose_mg=self.planned_dose_mg,
            reason=self.dose_reason,
            protocol=protocol,
        )

    def discharge_readiness(self, protocol: Protocol | None = None) -> DischargeReadiness:
        """Every discharge criterion computed from the record, and what is unmet."""
        return discharge_readiness(self, protocol)

    @property
    def safety_alerts(self) -> tuple[Alert, ...]:
        """The session's safety alerts (kaptools.alerts.Alert) under the shipped protocol:
        every urgent flag (critical), and a C-SSRS finding of the pre-dose check.

        :func:`kaptools.sessions.save_dosing_session` stores them for the patient in the
        same transaction as the record; :meth:`safety_alerts_under` takes a protocol.
        """
        return self.safety_alerts_under(default_protocol())

    def safety_alerts_under(self, protocol: Protocol) -> tuple[Alert, ...]:
        """:attr:`safety_alerts` under ``protocol``."""
        return flags_to_alerts(self.flags(protocol), self.go_no_go(protocol))

    def check_recordable(self, protocol: Protocol | None = None) -> None:
        """Refuse a record that gives a dose the protocol does not allow to be recorded.

        A dose (``dose_mg``) is recorded as given only when the pre-dose decision is
        go or review, or a hold a clinician overrode with a written reason; and when
        the dose check allows it (no refusal, nothing unchecked, a reason where one
        is needed). Nothing is checked while no dose is recorded.

        Raises:
            RecordError: naming the field, the rule, the value and the fix.
            IncompleteInputError: what must be recorded first (``.missing``).
        """
        protocol = protocol or default_protocol()
        if self.dose_mg is None:
            return
        decision = self.go_no_go(protocol)
        if decision.missing:
            msg = (
                f"dose_mg: {fmt_number(self.dose_mg)} mg cannot be recorded as given: no go, "
                f"pre-dose {', '.join(decision.missing)} "
                f"{'is' if len(decision.missing) == 1 else 'are'} not recorded. Record "
                f"{'it' if len(decision.missing) == 1 else 'them'} first."
            )
            raise IncompleteInputError(msg, missing=decision.missing)
        if not decision.dose_may_be_recorded:
            holds = decision.holds
            uncovered = [
                f
                for f in holds
                if self.hold_override is None or f.rule_id not in self.hold_override.rules
            ]
            msg = (
                f"dose_mg: {fmt_number(self.dose_mg)} mg cannot be recorded as given under a "
                "hold: "
                + " ".join(f"[{f.rule_id}] {f.message}" for f in uncovered)
                + " Fix: do not dose, or a clinician overrides the hold with a written reason "
                "(hold_override)."
            )
            raise RecordError(msg)
        check = self.dose_check(protocol)
        if not check.recordable:
            bad = [
                f
                for f in check.findings
                if f.verdict in (DoseVerdict.REFUSED, DoseVerdict.UNCHECKED)
                or (f.verdict is DoseVerdict.NEEDS_REASON and not self.dose_reason.strip())
            ]
            msg = "dose: " + " ".join(f"[{f.field}, {f.rule_id}] {f.message}" for f in bad)
            if all(f.verdict is not DoseVerdict.REFUSED for f in bad):
                raise IncompleteInputError(msg, missing=tuple(dict.fromkeys(f.field for f in bad)))
            raise RecordError(msg)

    # -- completeness ----------------------------------------------------------------------

    def missing_for_completion(self, protocol: Protocol | None = None) -> tuple[str, ...]:
        """Required fields still empty (dotted names), in form order."""
        protocol = protocol or default_protocol()
        missing: list[str] = []
        names = ["started_at"]
        if self.route is Route.IV_KETAMINE:
            names.append("dose_ended_at")
        names += ["monitoring_ended_at", "discharged_at", "dose_mg", "lot_number"]
        for name in names:
            if getattr(self, name) is None:
                missing.append(name)
        if self.route is not Route.ESKETAMINE_NASAL and self.weight_kg is None:
            missing.append("weight_kg")
        for item in self.go_no_go(protocol).missing:
            if item not in missing:
                missing.append(item)
        for tp in (
            VitalsTimepoint.PRE_DOSE,
            VitalsTimepoint.POST_DOSE,
            VitalsTimepoint.PRE_DISCHARGE,
        ):
            if self.reading(tp) is None:
                missing.append(f"vitals.{tp.value}")
        # The during-infusion readings the protocol's schedule asks for (vitals_schedule).
        needed = sum(
            1 for tp, _ in vitals_schedule(self.route, protocol) if tp is VitalsTimepoint.DURING
        )
        have = sum(1 for v in self.vitals if v.timepoint is VitalsTimepoint.DURING and v.has_bp)
        missing.extend(f"vitals.during[{i + 1}]" for i in range(have, needed))
        if not self.sedation:
            missing.append("sedation")
        if not self.dissociation:
            missing.append("dissociation")
        if self.side_effects is None:
            missing.append("side_effects")
        missing.extend(self.discharge.missing())
        if self.needs_rems_form:
            form = self.rems_form(protocol)
            missing.extend(
                f"rems.{m}"
                for m in form.missing
                if f"rems.{m}" not in missing and m in REMS_CLINICIAN_FIELDS
            )
        return tuple(missing)

    def _check_complete(self, protocol: Protocol) -> None:
        missing = self.missing_for_completion(protocol)
        if missing:
            msg = (
                f"The dosing session of {self.session_date} cannot be marked complete: "
                f"{', '.join(missing)} {'is' if len(missing) == 1 else 'are'} missing. Fill "
                f"{'it' if len(missing) == 1 else 'them'} in, then complete the session."
            )
            raise IncompleteInputError(msg, missing=missing)
        self.check_recordable(protocol)
        readiness = self.discharge_readiness(protocol)
        if not readiness.ready:
            msg = (
                "discharge: the record does not meet the protocol's discharge criteria, so the "
                "session cannot be completed: "
                + " ".join(f"[{c.key}] {c.message}" for c in readiness.unmet)
                + " Continue monitoring and record the readings, or correct the record."
            )
            raise RecordError(msg)
        if self.needs_rems_form:
            form = self.rems_form(protocol)
            if not form.complete:
                problems = [*(f"rems.{m} missing" for m in form.missing), *form.contradictions]
                msg = (
                    "rems: the REMS Patient Monitoring Form is not complete: "
                    + "; ".join(problems)
                    + ". Fill or correct these fields, then complete the session."
                )
                raise RecordError(msg)

    def complete(self, protocol: Protocol | None = None) -> DosingSession:
        """This session marked complete, or an error naming what is missing or wrong.

        Raises:
            IncompleteInputError: ``.missing`` lists the required fields still empty.
            RecordError: a dose that may not be recorded (hold without override, refused
                dose, reason missing), a discharge criterion not met (observation, BP,
                SpO2, MOAA/S, dissociation, escort, driving), or an incomplete or
                contradicted REMS Patient Monitoring Form.
        """
        protocol = protocol or default_protocol()
        self._check_complete(protocol)
        # Checked just now: mark it complete without running the check a second time
        # (``replace`` would re-run it in __post_init__).
        done = copy.copy(self)
        object.__setattr__(done, "status", SessionRecordStatus.COMPLETE)
        object.__setattr__(done, "protocol", protocol.info)
        return done

    # -- REMS ---------------------------------------------------------------------------

    def rems_form(self, protocol: Protocol | None = None) -> RemsMonitoringForm:
        """Every field of the REMS Patient Monitoring Form, filled from this record [2.2]."""
        return fill_rems_form(self, protocol or default_protocol())

    # -- display and persistence -----------------------------------------------------------

    @property
    def summary(self) -> str:
        dose = f"{fmt_number(self.dose_mg)} mg" if self.dose_mg is not None else "dose not recorded"
        lot = f", lot {self.lot_number}" if self.lot_number else ""
        flags = self.flags()
        lines = [
            f"{self.route.value} dosing session {self.session_date.isoformat()} "
            f"({self.status.value}): {dose}{lot}",
            "Before the dose: " + self.go_no_go().headline,
        ]
        lines.extend(f.summary for f in flags)
        if self.side_effects:
            lines.append("Side effects: " + "; ".join(s.summary for s in self.side_effects))
        if self.status is SessionRecordStatus.IN_PROGRESS:
            lines.append(self.discharge_readiness().summary)
            missing = self.missing_for_completion()
            if missing:
                lines.append("To complete: " + ", ".join(missing))
        return "\n".join(lines)

    def _repr_html_(self) -> str:
        flags = "".join(f._repr_html_() for f in self.flags())
        vitals = "".join(f"<li>{escape(v.summary)}</li>" for v in self.vitals)
        head, *_ = self.summary.split("\n")
        return (
            f"<div class='kap-dosing-session'><strong>{escape(head)}</strong>"
            f"{self.go_no_go()._repr_html_()}{flags}"
            f"<ul>{vitals}</ul>{self.discharge_readiness()._repr_html_()}</div>"
        )

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready form; :func:`parse_dosing_session` reads it back."""
        return session_to_dict(self)
