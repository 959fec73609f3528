"""The session form's values: read from the widgets as a dosing-session dict, written back
from a stored session, reset to a new one.

The dict is unvalidated: :func:`~kaptools.sessions.parse_dosing_session` checks it
(the widget values are untrusted) and names each field it refuses.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from kaptools.errors import InvalidInputError
from kaptools.scheduling import Route
from kaptools.sessions import (
    CareSetting,
    DosingSession,
    HoldOverride,
    SessionRecordStatus,
    VitalsTimepoint,
    vitals_schedule,
)
from kaptools.ui.session_form.sections import SessionFormWidgets
from kaptools.ui.session_form.widgets import Choice, blank, parse_time

__all__ = ["SessionFormValues"]


def _rating(items: list[Any], minutes: str | None) -> list[dict[str, Any]]:
    if all(v is None for v in items):
        return []
    return [{"minutes_after_dose": minutes, "items": items}]


def _hhmm(x: dt.datetime | None) -> str:
    return "" if x is None else x.strftime("%H:%M")


class SessionFormValues(SessionFormWidgets):
    """Reading and writing the form's widgets (the form's state says whose session it is)."""

    patient_id: str | None
    plan_session_index: int | None
    planned_dose_mg: float | None
    _override: HoldOverride | None

    # ---- reading ----
    def values(self) -> dict[str, Any]:
        """The form as a dosing-session dict (unvalidated: parse_dosing_session checks it)."""
        day = self.date.value
        return {
            "patient_id": self.patient_id,
            "route": self.route.value,
            "session_date": day,
            **self._times(day),
            "dose_mg": blank(self.dose.value),
            "lot_number": blank(self.lot.value),
            "vitals": [r.as_dict() for r in self.rows if r.measured()],
            "sedation": self._sedation(),
            "dissociation": self._dissociation(),
            "side_effects": self._side_effects(),
            "discharge": {name: d.answer for name, d in self.discharge.items()},
            "rems": self._rems(day),
            "setting": self.setting.value,
            "plan_session_index": self.plan_session_index,
            "notes": self.notes.value.strip(),
            "status": SessionRecordStatus.IN_PROGRESS.value,
            "pre_dose": {
                "cssrs_since_last_visit": None
                if self.cssrs_asked.answer is None and not self.cssrs_yes.value
                else list(self.cssrs_yes.value),
                "pregnant_since_screening": self.pregnant.answer,
                "acutely_intoxicated": self.intoxicated.answer,
            },
            "hold_override": self._override_dict(),
            "weight_kg": blank(self.weight.value),
            "patient_age_years": blank(self.age.value),
            "first_dose": self.first_dose.answer,
            "planned_dose_mg": self.planned_dose_mg,
            "dose_reason": self.dose_reason.value.strip(),
            "dissociation_note": self.dissociation_note.value.strip(),
        }

    @staticmethod
    def _at(day: dt.date | None, text: str, field: str) -> str | None:
        t = parse_time(text, field)
        if t is None:
            return None
        if day is None:
            msg = f"{field}: give the session date as well as the time"
            raise InvalidInputError(msg)
        return dt.datetime.combine(day, t).isoformat()

    def _times(self, day: dt.date | None) -> dict[str, str | None]:
        return {
            "started_at": self._at(day, self.started.value, "started_at (dosing started)"),
            "monitoring_ended_at": self._at(day, self.ended.value, "monitoring_ended_at"),
            "discharged_at": self._at(day, self.discharged.value, "discharged_at"),
            "dose_ended_at": self._at(day, self.dose_end.value, "dose_ended_at (infusion ended)"),
        }

    def _sedation(self) -> list[dict[str, Any]]:
        return [
            {"minutes_after_dose": blank(minutes.value), "moaa_s": choice.answer}
            for minutes, choice in (
                (self.sedation_minutes, self.sedation),
                (self.sedation_end_minutes, self.sedation_end),
            )
            if choice.answer is not None
        ]

    def _dissociation(self) -> list[dict[str, Any]]:
        return (
            _rating([d.answer for d in self.dissociation_pre_items], "0")
            + _rating(
                [d.answer for d in self.dissociation_items], blank(self.dissociation_minutes.value)
            )
            + _rating(
                [d.answer for d in self.dissociation_end_items],
                blank(self.dissociation_end_minutes.value),
            )
        )

    def _side_effects(self) -> list[dict[str, Any]] | None:
        effects = [
            {"effect": e.answer, "severity": s.answer, "note": n.value.strip()}
            for e, s, n in self.side_effect_rows
            if e.answer is not None or s.answer is not None
        ]
        asked = self.side_effects_asked.answer is not None or bool(effects)
        return effects if asked else None

    def _rems(self, day: dt.date | None) -> dict[str, Any] | None:
        if self.route.value != Route.ESKETAMINE_NASAL.value:
            return None
        return {
            "patient_enrolled": self.rems_enrolled.answer,
            "first_treatment": self.rems_first.answer,
            "concomitant_medications": None
            if self.rems_meds_asked.answer is None and not self.rems_meds.value
            else list(self.rems_meds.value),
            "serious_adverse_event": self.rems_sae.answer,
            "serious_adverse_event_description": self.rems_sae_text.value.strip(),
            "form_submitted_on": self.rems_submitted.value,
            "ready_to_leave_at": self._at(day, self.rems_ready.value, "rems.ready_to_leave_at"),
            "sedation": self.rems_sedation.answer,
            "dissociation": self.rems_dissociation.answer,
            "respiratory_depression": self.rems_respiratory.answer,
        }

    def _override_dict(self) -> dict[str, Any] | None:
        ho = self._override
        if ho is None:
            return None
        return {
            "clinician": ho.clinician,
            "reason": ho.reason,
            "rules": list(ho.rules),
            "at": ho.at.isoformat() if ho.at else None,
        }

    # ---- writing ----
    def _reset(self, user: str) -> None:
        """Every field empty or not answered; the MOAA/S and CADSS-6 minutes at the
        protocol's post-dose check; the override's clinician the signed-in ``user``."""
        for t in (
            self.started,
            self.ended,
            self.discharged,
            self.dose,
            self.lot,
            self.reason,
            self.dose_end,
            self.weight,
            self.age,
            self.dose_reason,
            self.sedation_end_minutes,
            self.dissociation_end_minutes,
            self.dissociation_note,
            self.rems_ready,
            self.override_reason,
            self.rems_sae_text,
            self.notes,
        ):
            t.value = ""
        for c in self._choices():
            c.answer = None
        for _, _, note in self.side_effect_rows:
            note.value = ""
        self.setting.value = CareSetting.OUTPATIENT.value
        self.rems_meds.value = ()
        self.cssrs_yes.value = ()
        self.rems_submitted.value = None
        self.override_clinician.value = user
        self.rems_download.offer([])
        post = next(
            m
            for t, m in vitals_schedule(self.route.value, self.protocol)
            if t is VitalsTimepoint.POST_DOSE
        )
        self.sedation_minutes.value = str(post)
        self.dissociation_minutes.value = str(post)

    def _choices(self) -> list[Choice]:
        return [
            self.sedation,
            self.sedation_end,
            *self.dissociation_pre_items,
            *self.dissociation_items,
            *self.dissociation_end_items,
            self.side_effects_asked,
            *[x for effect, severity, _ in self.side_effect_rows for x in (effect, severity)],
            *self.discharge.values(),
            self.rems_enrolled,
            self.rems_first,
            self.rems_sae,
            self.rems_meds_asked,
            self.first_dose,
            self.cssrs_asked,
            self.pregnant,
            self.intoxicated,
            self.rems_sedation,
            self.rems_dissociation,
            self.rems_respiratory,
        ]

    def _fill(self, s: DosingSession) -> None:
        """Put a stored session's values in the widgets (the vitals rows are built apart)."""
        self.setting.value = s.setting.value
        self.started.value = _hhmm(s.started_at)
        self.ended.value = _hhmm(s.monitoring_ended_at)
        self.discharged.value = _hhmm(s.discharged_at)
        self.dose.value = "" if s.dose_mg is None else f"{s.dose_mg:g}"
        self.lot.value = s.lot_number or ""
        self.dose_end.value = _hhmm(s.dose_ended_at)
        if s.weight_kg is not None:
            self.weight.value = f"{s.weight_kg:g}"
        if s.patient_age_years is not None:
            self.age.value = str(s.patient_age_years)
        if s.first_dose is not None:
            self.first_dose.answer = s.first_dose
        self.dose_reason.value = s.dose_reason
        self.dissociation_note.value = s.dissociation_note
        c = s.pre_dose.cssrs_since_last_visit
        self.cssrs_asked.answer = None if c is None else "asked"
        self.cssrs_yes.value = tuple(q.value for q in c or ())
        self.pregnant.answer = s.pre_dose.pregnant_since_screening
        self.intoxicated.answer = s.pre_dose.acutely_intoxicated
        if s.hold_override is not None:
            self.override_clinician.value = s.hold_override.clinician
            self.override_reason.value = s.hold_override.reason
        self._fill_scales(s)
        if s.side_effects is not None:
            self.side_effects_asked.answer = "asked"
            for (effect, severity, note), r in zip(
                self.side_effect_rows, s.side_effects, strict=False
            ):
                effect.answer, severity.answer = r.effect.value, r.severity.value
                note.value = r.note
        for name, d in self.discharge.items():
            d.answer = getattr(s.discharge, name)
        self._fill_rems(s)
        self.notes.value = s.notes

    def _fill_scales(self, s: DosingSession) -> None:
        after = [r for r in s.sedation if r.minutes_after_dose > 0]
        if after:
            self.sedation_minutes.value = str(after[0].minutes_after_dose)
            self.sedation.answer = after[0].moaa_s
        if len(after) > 1:
            self.sedation_end_minutes.value = str(after[-1].minutes_after_dose)
            self.sedation_end.answer = after[-1].moaa_s
        pre_d = [r for r in s.dissociation if r.minutes_after_dose <= 0]
        post_d = [r for r in s.dissociation if r.minutes_after_dose > 0]
        if pre_d:
            for d, v in zip(self.dissociation_pre_items, pre_d[-1].items, strict=True):
                d.answer = v
        if post_d:
            self.dissociation_minutes.value = str(post_d[0].minutes_after_dose)
            for d, v in zip(self.dissociation_items, post_d[0].items, strict=True):
                d.answer = v
        if len(post_d) > 1:
            self.dissociation_end_minutes.value = str(post_d[-1].minutes_after_dose)
            for d, v in zip(self.dissociation_end_items, post_d[-1].items, strict=True):
                d.answer = v

    def _fill_rems(self, s: DosingSession) -> None:
        if s.rems is None:
            return
        self.rems_enrolled.answer = s.rems.patient_enrolled
        self.rems_first.answer = s.rems.first_treatment
        meds = s.rems.concomitant_medications
        self.rems_meds_asked.answer = None if meds is None else "asked"
        self.rems_meds.value = tuple(m.value for m in meds or ())
        self.rems_sae.answer = s.rems.serious_adverse_event
        self.rems_sae_text.value = s.rems.serious_adverse_event_description
        self.rems_submitted.value = s.rems.form_submitted_on
        self.rems_sedation.answer = s.rems.sedation
        self.rems_dissociation.answer = s.rems.dissociation
        self.rems_respiratory.answer = s.rems.respiratory_depression
        self.rems_ready.value = _hhmm(s.rems.ready_to_leave_at)
