"""The dosing-session form: record one session, see the protocol's flags as you type.

A thin shell over :mod:`kaptools.sessions`: the readings the form asks for come from
:func:`~kaptools.sessions.vitals_schedule`, every flag from
:func:`~kaptools.sessions.vitals_flags` / :func:`~kaptools.sessions.sedation_flags`,
what "complete" needs from :meth:`~kaptools.sessions.DosingSession.complete`. The
widget values are untrusted: they go through
:func:`~kaptools.sessions.parse_dosing_session` before anything is saved, and a
failed check writes nothing.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Sequence
from typing import Any

import ipywidgets as w

from kaptools.errors import (
    IncompleteInputError,
    InvalidInputError,
    KaptoolsError,
    StaleVersionError,
)
from kaptools.protocol import Protocol
from kaptools.scheduling import DoseCalculation, Route, offered_routes
from kaptools.sessions import (
    CareSetting,
    ConcomitantMedication,
    DosingSession,
    HoldOverride,
    SavedDosingSession,
    SessionRecordStatus,
    Severity,
    SideEffect,
    VitalsFlag,
    VitalSigns,
    VitalsTimepoint,
    dosing_session_history,
    parse_dosing_session,
    rems_form_applies,
    save_dosing_session,
    sedation_flags,
    vitals_flags,
    vitals_schedule,
)
from kaptools.sessions.scales import cadss6, moaa_s
from kaptools.store import Store
from kaptools.ui.common import (
    AuditedDownloads,
    DownloadFile,
    ErrorBox,
    Reapplied,
    escape,
    guarded,
    lock_author,
    reapplied_html,
    reapply_edits,
)
from kaptools.vocabulary import NO_ANSWER, CssrsQuestion

__all__ = ["Choice", "SessionForm", "flags_html", "offered_routes", "parse_time"]

_TIME_RE = re.compile(r"^([01]?\d|2[0-3]):([0-5]\d)$")
_SIDE_EFFECT_ROWS = 5
_YES_NO = [("— not answered —", None), ("yes", True), ("no", False)]

_POINT_LABELS = {
    VitalsTimepoint.PRE_DOSE: "Pre-dose",
    VitalsTimepoint.DURING: "During infusion",
    VitalsTimepoint.POST_DOSE: "Post-dose check",
    VitalsTimepoint.PRE_DISCHARGE: "Before discharge",
    VitalsTimepoint.OTHER: "Other reading",
}

#: What each discharge-checklist field asks (the field names are DischargeChecklist's).
#: Everything a number can show is computed (discharge_readiness), never ticked.
_DISCHARGE_QUESTIONS = {
    "escort_home": "A responsible adult takes the patient home",
    "no_driving_until_next_day": "Told: no driving or machinery until the next day",
}

_CSSRS_LABELS = {
    CssrsQuestion.WISH_TO_BE_DEAD: "Wish to be dead",
    CssrsQuestion.ACTIVE_THOUGHTS: "Active suicidal thoughts",
    CssrsQuestion.METHOD: "Thoughts with a method",
    CssrsQuestion.INTENT: "Intent",
    CssrsQuestion.PLAN: "Plan",
    CssrsQuestion.BEHAVIOUR_PAST_3_MONTHS: "Suicidal behaviour",
}

_REMS_MEDICATION_LABELS = {
    ConcomitantMedication.BENZODIAZEPINE: "Benzodiazepine",
    ConcomitantMedication.NON_BENZODIAZEPINE_SEDATIVE_HYPNOTIC: "Non-benzodiazepine sedative",
    ConcomitantMedication.OPIOID: "Opioid",
    ConcomitantMedication.PSYCHOSTIMULANT: "Psychostimulant",
    ConcomitantMedication.MAOI: "MAOI",
    ConcomitantMedication.OTHER_CNS_DEPRESSANT: "Other CNS depressant",
}


UNSET = NO_ANSWER
"""The value of a Choice's "not answered" option (:data:`kaptools.vocabulary.NO_ANSWER`)."""


class Choice(w.Dropdown):
    """A dropdown with a visible "not answered" option; ``.answer`` reads it as None."""

    def __init__(self, options: Sequence[tuple[str, Any]], **kwargs: Any):
        super().__init__(
            options=[(label, UNSET if v is None else v) for label, v in options], **kwargs
        )

    @property
    def answer(self) -> Any:
        return None if isinstance(self.value, str) and self.value == UNSET else self.value

    @answer.setter
    def answer(self, value: Any) -> None:
        self.value = UNSET if value is None else value


def _text(description: str, cls: str, width: str = "90px", **kw: Any) -> w.Text:
    t = w.Text(
        description=description,
        continuous_update=False,
        layout=w.Layout(width=width),
        style={"description_width": "initial"},
        **kw,
    )
    t.add_class(cls)
    return t


def _blank(value: str | None) -> str | None:
    """Widget text → None when empty (unknown is never 0), else the stripped text."""
    if value is None:
        return None
    value = value.strip()
    return value or None


def parse_time(value: str | None, field: str) -> dt.time | None:
    """``HH:MM`` (24-hour) → a time; empty → None; anything else names the field and the fix."""
    text = _blank(value)
    if text is None:
        return None
    m = _TIME_RE.match(text)
    if m is None:
        msg = f"{field}: {text!r} is not a time; enter HH:MM on the 24-hour clock, e.g. 09:30"
        raise InvalidInputError(msg)
    return dt.time(int(m.group(1)), int(m.group(2)))


class _VitalsRow:
    """One reading: time point, minutes after dosing, BP, heart rate, SpO2, breathing rate."""

    def __init__(self, point: VitalsTimepoint, minutes: int | None):
        self.point = point
        self.label = w.HTML(
            f"<b>{escape(_POINT_LABELS[point])}</b>", layout=w.Layout(width="130px")
        )
        self.minutes = _text(
            "min", "kap-v-minutes", "80px", value="" if minutes is None else str(minutes)
        )
        self.systolic = _text("BP", "kap-v-sys", "85px", placeholder="sys")
        self.diastolic = _text("/", "kap-v-dia", "65px", placeholder="dia")
        self.heart_rate = _text("HR", "kap-v-hr", "80px")
        self.spo2 = _text("SpO2 %", "kap-v-spo2", "95px")
        self.respiratory_rate = _text("RR", "kap-v-rr", "75px")
        self.box = w.HBox(
            [
                self.label,
                self.minutes,
                self.systolic,
                self.diastolic,
                self.heart_rate,
                self.spo2,
                self.respiratory_rate,
            ]
        )
        self.box.add_class("kap-vitals-row")
        self.box.add_class(f"kap-vitals-{point.value.replace('_', '-')}")

    @property
    def inputs(self) -> tuple[w.Text, ...]:
        return (
            self.minutes,
            self.systolic,
            self.diastolic,
            self.heart_rate,
            self.spo2,
            self.respiratory_rate,
        )

    def measured(self) -> bool:
        return any(_blank(t.value) for t in self.inputs[1:])

    def as_dict(self) -> dict[str, Any]:
        return {
            "timepoint": self.point.value,
            "minutes_after_dose": _blank(self.minutes.value),
            "systolic": _blank(self.systolic.value),
            "diastolic": _blank(self.diastolic.value),
            "heart_rate": _blank(self.heart_rate.value),
            "spo2": _blank(self.spo2.value),
            "respiratory_rate": _blank(self.respiratory_rate.value),
        }

    def fill(self, v: VitalSigns) -> None:
        def s(x: int | None) -> str:
            return "" if x is None else str(x)

        self.minutes.value = s(v.minutes_after_dose)
        self.systolic.value = s(v.systolic)
        self.diastolic.value = s(v.diastolic)
        self.heart_rate.value = s(v.heart_rate)
        self.spo2.value = s(v.spo2)
        self.respiratory_rate.value = s(v.respiratory_rate)

    def mark(self, flags: Sequence[VitalsFlag]) -> None:
        """Highlight the row when a flag points at it (review: amber; flag: red)."""
        mine = [
            f
            for f in flags
            if f.timepoint is self.point
            and (
                f.minutes_after_dose is None
                or str(f.minutes_after_dose) == _blank(self.minutes.value)
            )
        ]
        for cls in ("kap-vitals-flagged", "kap-vitals-review"):
            self.box.remove_class(cls)
        if any(f.level.value == "flag" for f in mine):
            self.box.add_class("kap-vitals-flagged")
        elif mine:
            self.box.add_class("kap-vitals-review")


def flags_html(flags: Sequence[VitalsFlag]) -> str:
    """The protocol's flags, each with its level, message and source (text escaped)."""
    if not flags:
        return "<p class='kap-muted kap-no-flags'>No flags on the readings entered.</p>"
    rows = []
    for f in flags:
        level = escape(f.level.value)
        title = "Flagged" if f.level.value == "flag" else "For clinician review"
        rows.append(
            f"<div class='kap-vitals-flag kap-flag-{level}' role='status'><b>{title}:</b> "
            f"{escape(f.message)} <span class='kap-muted'>({escape(f.source)})</span></div>"
        )
    return "".join(rows)


class SessionForm:
    """Record one dosing session (``.container`` has the class ``kap-session-form``).

    ``open(...)`` fills it for a patient and date (or an existing record, which is
    then corrected as a new version with a reason). ``on_saved`` is called with the
    saved session after every successful save.
    """

    def __init__(
        self,
        store: Store,
        protocol: Protocol,
        *,
        author: str | None = None,
        on_saved: Callable[[SavedDosingSession], None] | None = None,
    ):
        self.store = store
        self.protocol = protocol
        self.on_saved = on_saved
        self.patient_id: str | None = None
        self.record_id: str | None = None
        self.plan_session_index: int | None = None
        self.saved: SavedDosingSession | None = None
        self._opening = False

        self.heading = w.HTML()
        self.heading.add_class("kap-sf-heading")
        self.date = w.DatePicker(description="Session date", style={"description_width": "initial"})
        self.date.add_class("kap-sf-date")
        self.route = w.Dropdown(
            description="Route",
            options=[(protocol.courses.route(r).label, r.value) for r in offered_routes(protocol)],
            style={"description_width": "initial"},
            layout=w.Layout(width="360px"),
        )
        self.route.add_class("kap-sf-route")
        self.setting = w.Dropdown(
            description="Setting",
            options=[
                ("outpatient", CareSetting.OUTPATIENT.value),
                ("inpatient", CareSetting.INPATIENT.value),
            ],
            style={"description_width": "initial"},
            layout=w.Layout(width="220px"),
        )
        self.setting.add_class("kap-sf-setting")
        self.started = _text("Dosing started (HH:MM)", "kap-sf-start", "230px", placeholder="HH:MM")
        self.ended = _text("Monitoring ended", "kap-sf-end", "200px", placeholder="HH:MM")
        self.discharged = _text("Discharged", "kap-sf-discharge", "160px", placeholder="HH:MM")
        self.dose = _text("Dose given (mg)", "kap-sf-dose", "190px")
        self.lot = _text("Lot number", "kap-sf-lot", "240px")
        self.planned_dose = w.HTML()
        self.planned_dose.add_class("kap-sf-planned-dose")
        self.planned_dose_mg: float | None = None
        self.dose_end = _text("Infusion ended", "kap-sf-dose-end", "180px", placeholder="HH:MM")
        self.weight = _text("Weight (kg)", "kap-sf-weight", "150px")
        self.age = _text("Age (years)", "kap-sf-age", "140px")
        self.first_dose = Choice(
            description="First dose of the course",
            options=_YES_NO,
            style={"description_width": "initial"},
            layout=w.Layout(width="300px"),
        )
        self.first_dose.add_class("kap-sf-first-dose")
        self.dose_reason = _text(
            "Reason (dose differs from the plan or the protocol range)",
            "kap-sf-dose-reason",
            "720px",
        )
        self.dose_check = w.HTML()
        self.dose_check.add_class("kap-sf-dose-check")

        # Go / no-go before the dose
        self.cssrs_asked = Choice(
            description="C-SSRS since the last visit",
            options=[("not asked", None), ("asked (all no, or the yes answers chosen)", "asked")],
            style={"description_width": "initial"},
            layout=w.Layout(width="520px"),
        )
        self.cssrs_asked.add_class("kap-sf-cssrs-asked")
        self.cssrs_yes = w.SelectMultiple(
            options=[(label, q.value) for q, label in _CSSRS_LABELS.items()],
            rows=len(_CSSRS_LABELS),
            layout=w.Layout(width="260px"),
        )
        self.cssrs_yes.add_class("kap-sf-cssrs-yes")
        self.pregnant = Choice(
            description="Pregnant since screening",
            options=_YES_NO,
            style={"description_width": "initial"},
            layout=w.Layout(width="320px"),
        )
        self.pregnant.add_class("kap-sf-pregnant")
        self.intoxicated = Choice(
            description="Acutely intoxicated",
            options=_YES_NO,
            style={"description_width": "initial"},
            layout=w.Layout(width="300px"),
        )
        self.intoxicated.add_class("kap-sf-intoxicated")
        self.go_box = w.HTML()
        self.go_box.add_class("kap-sf-go")
        # who overrides is the signed-in clinician, shown, never typed (a value sent from
        # the page is ignored: the override is made in the signed-in person's name)
        self.override_clinician = _text(
            "Clinician overriding", "kap-sf-override-clinician", "320px"
        )
        self.override_clinician.disabled = True
        self.override_clinician.add_class("kap-author-locked")
        self.override_reason = _text(
            "Written reason for dosing despite the hold", "kap-sf-override-reason", "720px"
        )
        self.override_button = w.Button(
            description="Override the hold", button_style="danger", layout=w.Layout(width="200px")
        )
        self.override_button.add_class("kap-sf-override")
        self.override_box = w.VBox(
            [self.override_clinician, self.override_reason, self.override_button]
        )
        self.override_box.add_class("kap-sf-override-box")
        self._override: HoldOverride | None = None
        self.readiness = w.HTML()
        self.readiness.add_class("kap-sf-readiness")

        self.vitals_box = w.VBox()
        self.vitals_box.add_class("kap-sf-vitals")
        self.rows: list[_VitalsRow] = []
        self.flags = w.HTML()
        self.flags.add_class("kap-vitals-flags")

        scale = moaa_s()
        self.sedation_minutes = _text("MOAA/S at min", "kap-sf-sedation-minutes", "150px")
        moaa_options: list[tuple[str, Any]] = [("— not rated —", None)] + [
            (
                f"{v}"
                + (" (alert)" if v == scale.alert else "")
                + (" (loss of consciousness)" if v == scale.loss_of_consciousness else ""),
                v,
            )
            for v in range(scale.max, scale.min - 1, -1)
        ]
        self.sedation = Choice(
            description="rating", options=moaa_options, layout=w.Layout(width="260px")
        )
        self.sedation.add_class("kap-sf-moaas")
        c6 = cadss6()
        self.dissociation_minutes = _text("CADSS-6 at min", "kap-sf-dissociation-minutes", "150px")
        self.dissociation_items = [
            Choice(
                description=f"item {n}",
                options=[("—", None)] + [(str(v), v) for v in range(c6.item_min, c6.item_max + 1)],
                layout=w.Layout(width="135px"),
                style={"description_width": "60px"},
            )
            for n in c6.items
        ]
        for d in self.dissociation_items:
            d.add_class("kap-sf-cadss")
        self.sedation_end_minutes = _text(
            "MOAA/S again at min", "kap-sf-sedation-end-minutes", "170px"
        )
        self.sedation_end = Choice(
            description="rating",
            options=moaa_options,
            layout=w.Layout(width="260px"),
        )
        self.sedation_end.add_class("kap-sf-moaas-end")

        def cadss_items(cls: str) -> list[Choice]:
            out = [
                Choice(
                    description=f"item {n}",
                    options=[("—", None)]
                    + [(str(v), v) for v in range(c6.item_min, c6.item_max + 1)],
                    layout=w.Layout(width="135px"),
                    style={"description_width": "60px"},
                )
                for n in c6.items
            ]
            for d in out:
                d.add_class(cls)
            return out

        self.dissociation_pre_items = cadss_items("kap-sf-cadss-pre")
        self.dissociation_end_minutes = _text(
            "CADSS-6 again at min", "kap-sf-dissociation-end-minutes", "170px"
        )
        self.dissociation_end_items = cadss_items("kap-sf-cadss-end")
        self.dissociation_note = _text(
            "Note: why dissociation counts as resolved (if above the pre-dose rating)",
            "kap-sf-dissociation-note",
            "720px",
        )

        self.side_effects_asked = Choice(
            description="Side effects",
            options=[("not asked yet", None), ("asked (none, or listed below)", "asked")],
            style={"description_width": "initial"},
            layout=w.Layout(width="360px"),
        )
        self.side_effects_asked.add_class("kap-se-asked")
        effects = [("—", None)] + [(e.label, e.value) for e in SideEffect]
        severities = [("—", None)] + [(s.value, s.value) for s in Severity]
        self.side_effect_rows = []
        for _ in range(_SIDE_EFFECT_ROWS):
            effect = Choice(options=effects, layout=w.Layout(width="300px"))
            effect.add_class("kap-se-effect")
            severity = Choice(options=severities, layout=w.Layout(width="130px"))
            severity.add_class("kap-se-severity")
            note = w.Text(placeholder="note (required for 'other')", layout=w.Layout(width="260px"))
            self.side_effect_rows.append((effect, severity, note))

        self.discharge = {
            name: Choice(
                description=question,
                options=_YES_NO,
                style={"description_width": "340px"},
                layout=w.Layout(width="520px"),
            )
            for name, question in _DISCHARGE_QUESTIONS.items()
        }
        for name, d in self.discharge.items():
            d.add_class(f"kap-sf-discharge-{name.replace('_', '-')}")

        # REMS (esketamine, outpatient)
        def yn(label: str, cls: str) -> Choice:
            d = Choice(
                description=label,
                options=_YES_NO,
                style={"description_width": "260px"},
                layout=w.Layout(width="440px"),
            )
            d.add_class(cls)
            return d

        self.rems_enrolled = yn("Patient enrolled in the REMS", "kap-rems-enrolled")
        self.rems_first = yn("First treatment", "kap-rems-first")
        self.rems_meds_asked = Choice(
            description="Concomitant medicines",
            options=[("not asked", None), ("asked (none, or chosen below)", "asked")],
            style={"description_width": "260px"},
            layout=w.Layout(width="560px"),
        )
        self.rems_meds_asked.add_class("kap-rems-meds-asked")
        self.rems_meds = w.SelectMultiple(
            options=[(label, m.value) for m, label in _REMS_MEDICATION_LABELS.items()],
            rows=len(_REMS_MEDICATION_LABELS),
            layout=w.Layout(width="300px"),
        )
        self.rems_meds.add_class("kap-rems-meds")
        self.rems_sae = yn("Serious adverse event", "kap-rems-sae")
        self.rems_sae_text = w.Text(
            placeholder="describe the serious adverse event", layout=w.Layout(width="440px")
        )
        self.rems_submitted = w.DatePicker(
            description="Form submitted on", style={"description_width": "initial"}
        )
        self.rems_submitted.add_class("kap-rems-submitted")
        self.rems_ready = _text(
            "Would have been ready to leave (HH:MM)", "kap-rems-ready", "330px", placeholder="HH:MM"
        )
        self.rems_sedation = yn("Sedation during monitoring", "kap-rems-sedation")
        self.rems_dissociation = yn("Dissociation during monitoring", "kap-rems-dissociation")
        self.rems_respiratory = yn(
            "Respiratory depression during monitoring", "kap-rems-respiratory-depression"
        )
        self.rems_form_state = w.HTML()
        self.rems_form_state.add_class("kap-sf-rems-state")
        # the printable form goes through the kernel, which audit-logs the download first
        self.rems_download = AuditedDownloads()
        self.rems_download.add_class("kap-sf-rems-download")
        self.rems_download.before_download = self._log_download
        self.rems_download.on_error = self._download_refused
        self.rems_box = w.VBox(
            [
                w.HTML("<h4>SPRAVATO REMS Patient Monitoring Form</h4>"),
                self.rems_enrolled,
                self.rems_first,
                w.HBox([self.rems_meds_asked, self.rems_meds]),
                w.HBox([self.rems_sae, self.rems_sae_text]),
                self.rems_sedation,
                self.rems_dissociation,
                self.rems_respiratory,
                self.rems_ready,
                self.rems_submitted,
                self.rems_form_state,
                self.rems_download,
            ]
        )
        self.rems_box.add_class("kap-sf-rems")

        self.notes = w.Textarea(description="Notes", layout=w.Layout(width="720px", height="60px"))
        self.notes.add_class("kap-sf-notes")
        self.author = _text(
            "Recorded by", "kap-sf-author", "320px", value=author or store.identity.user
        )
        lock_author(self.author)
        self.reason = _text("Reason for the correction", "kap-sf-reason", "560px")
        self.save_button = w.Button(
            description="Save (in progress)", icon="save", layout=w.Layout(width="180px")
        )
        self.save_button.add_class("kap-sf-save")
        self.complete_button = w.Button(
            description="Mark complete and save",
            button_style="primary",
            icon="check",
            layout=w.Layout(width="230px"),
        )
        self.complete_button.add_class("kap-sf-complete")
        self.close_button = w.Button(description="Close", icon="times")
        self.close_button.add_class("kap-sf-close")
        self.errors = ErrorBox()
        # a stale correction (someone saved a newer version meanwhile): reload that
        # version and re-apply this form's unsaved edits where they do not conflict
        self.reload_button = w.Button(
            description="Reload the current version",
            icon="refresh",
            button_style="warning",
            layout=w.Layout(width="260px", display="none"),
        )
        self.reload_button.add_class("kap-sf-reload")
        self.reload_button.on_click(self._on_reload)
        self.reload_notice = w.HTML(layout=w.Layout(display="none"))
        self.reload_notice.add_class("kap-sf-reload-notice")
        self._loaded: dict[str, Any] | None = None
        self._label = ""
        self.history = w.HTML()
        self.history.add_class("kap-sf-history")

        self.route.observe(self._on_route, names="value")
        self.setting.observe(self._on_route, names="value")
        self.sedation.observe(self._on_vitals, names="value")
        self.sedation_minutes.observe(self._on_vitals, names="value")
        for widget in (
            self.started,
            self.dose_end,
            self.ended,
            self.discharged,
            self.dose,
            self.weight,
            self.age,
            self.first_dose,
            self.dose_reason,
            self.cssrs_asked,
            self.cssrs_yes,
            self.pregnant,
            self.intoxicated,
            self.sedation_end,
            self.sedation_end_minutes,
            self.dissociation_minutes,
            *self.dissociation_items,
            *self.dissociation_pre_items,
            self.dissociation_end_minutes,
            *self.dissociation_end_items,
            self.dissociation_note,
            self.side_effects_asked,
            *[x for row in self.side_effect_rows for x in row],
            *self.discharge.values(),
            self.rems_enrolled,
            self.rems_first,
            self.rems_meds_asked,
            self.rems_meds,
            self.rems_sae,
            self.rems_sae_text,
            self.rems_sedation,
            self.rems_dissociation,
            self.rems_respiratory,
            self.rems_ready,
            self.lot,
        ):
            widget.observe(self._on_checks, names="value")
        self.override_button.on_click(self._on_override)
        self.save_button.on_click(self._on_save)
        self.complete_button.on_click(self._on_complete)
        self.close_button.on_click(lambda _b: self.close())

        def section(title: str) -> w.HTML:
            return w.HTML(f"<h4 class='kap-sf-section'>{escape(title)}</h4>")

        self.container = w.VBox(
            [
                self.heading,
                w.HBox([self.date, self.route, self.setting]),
                section("Go / no-go before the dose"),
                w.HBox([self.cssrs_asked, self.cssrs_yes]),
                w.HBox([self.pregnant, self.intoxicated]),
                w.HTML(
                    "<p class='kap-muted'>The pre-dose reading below (blood pressure, heart "
                    "rate and SpO2) is part of the check; REMS enrolment too for esketamine.</p>"
                ),
                self.go_box,
                self.override_box,
                section("Dose"),
                w.HBox([self.started, self.dose_end, self.ended, self.discharged]),
                w.HBox([self.dose, self.lot]),
                w.HBox([self.weight, self.age, self.first_dose]),
                self.planned_dose,
                self.dose_reason,
                self.dose_check,
                section("Vital signs at the protocol's time points"),
                self.vitals_box,
                self.flags,
                section("Sedation and dissociation"),
                w.HBox([self.sedation_minutes, self.sedation]),
                w.HBox([self.sedation_end_minutes, self.sedation_end]),
                w.HTML("<span class='kap-muted'>CADSS-6 before the dose (0 min)</span>"),
                w.HBox(self.dissociation_pre_items[:3]),
                w.HBox(self.dissociation_pre_items[3:]),
                w.HBox([self.dissociation_minutes, *self.dissociation_items[:3]]),
                w.HBox([w.HTML(layout=w.Layout(width="150px")), *self.dissociation_items[3:]]),
                w.HBox([self.dissociation_end_minutes, *self.dissociation_end_items[:3]]),
                w.HBox([w.HTML(layout=w.Layout(width="170px")), *self.dissociation_end_items[3:]]),
                self.dissociation_note,
                section("Side effects"),
                self.side_effects_asked,
                *[w.HBox(list(r)) for r in self.side_effect_rows],
                section("Discharge (computed from the record)"),
                *self.discharge.values(),
                self.readiness,
                self.rems_box,
                self.notes,
                w.HBox([self.author, self.reason]),
                w.HBox([self.save_button, self.complete_button, self.close_button]),
                self.errors,
                self.reload_button,
                self.reload_notice,
                self.history,
            ]
        )
        self.container.add_class("kap-session-form")
        self.container.layout.display = "none"
        self._build_vitals_rows()

    # ---- opening -------------------------------------------------------------------
    def open(
        self,
        patient_id: str,
        route: str,
        session_date: dt.date | None,
        *,
        plan_session_index: int | None = None,
        planned_dose: DoseCalculation | None = None,
        label: str = "",
        saved: SavedDosingSession | None = None,
        first_dose: bool | None = None,
    ) -> None:
        """Show the form for one session: empty, or filled from ``saved`` (a correction).

        The patient's weight and age come from the store (the clinician can correct
        them); ``first_dose`` says whether this is the course's first dose.
        """
        self.errors.clear()
        self.patient_id = patient_id
        self.saved = saved
        self.record_id = saved.record_id if saved else None
        self.plan_session_index = plan_session_index
        session = saved.session if saved else None
        self._opening = True
        try:
            self.route.value = session.route.value if session else Route(route).value
        finally:
            self._opening = False
        self._opening = True
        try:
            self._reset()
            self._build_vitals_rows(session.vitals if session else ())
            self.date.value = session.session_date if session else session_date
            self._prefill_patient(patient_id, self.date.value, first_dose)
        finally:
            self._opening = False
        self.planned_dose_mg = planned_dose.mg if planned_dose is not None else None
        if planned_dose is not None:
            self.planned_dose.value = (
                f"<p class='kap-sf-planned'>Planned dose: <b>{escape(planned_dose.mg_text)}</b> "
                f"({escape(planned_dose.arithmetic)}), <i>{escape(planned_dose.confirmation)}</i>. "
                "Enter the dose actually given.</p>"
            )
        else:
            self.planned_dose.value = ""
        if session is not None:
            self._opening = True
            try:
                self._fill(session)
            finally:
                self._opening = False
        self._label = label
        self._show_heading(saved)
        self.reason.layout.display = None if saved else "none"
        self._show_history()
        self._on_route()
        self._on_vitals()
        self._loaded = self._values_or_none()
        self.reload_button.layout.display = "none"
        self.reload_notice.layout.display = "none"
        self.container.layout.display = None

    def _show_heading(self, saved: SavedDosingSession | None) -> None:
        what = escape(self._label) if self._label else "Dosing session"
        if saved is not None:
            state = (
                "complete"
                if saved.session.status is SessionRecordStatus.COMPLETE
                else "in progress"
            )
            self.heading.value = (
                f"<h3>{what}: record {escape(saved.record_id[:8])}, version {saved.version} "
                f"({state})</h3><p class='kap-muted'>Saving makes a new version; say why in "
                "'Reason for the correction'.</p>"
            )
        else:
            self.heading.value = f"<h3>{what}: new record</h3>"

    def _values_or_none(self) -> dict[str, Any] | None:
        try:
            return self.values()
        except KaptoolsError:
            return None

    def _show_session(self, session: DosingSession) -> None:
        """Put a stored session into the form (as opening it does)."""
        self._opening = True
        try:
            self.route.value = session.route.value
            self._reset()
            self._build_vitals_rows(session.vitals)
            self.date.value = session.session_date
            self._fill(session)
        finally:
            self._opening = False
        self._on_route()
        self._on_vitals()

    @guarded(lambda self: self.errors)
    def _on_reload(self, _button: Any = None) -> None:
        """Reload the newest saved version and re-apply this form's unsaved edits to it
        where that version did not change the same field; conflicts are shown side by
        side (the newer value in the form, the user's beside it). Nothing is saved."""
        if self.record_id is None:
            return
        mine = self._values_or_none()
        reason = self.reason.value  # the correction's reason is the user's: kept
        newest = dosing_session_history(self.store, self.record_id)[-1]
        base = self._loaded
        self._show_session(newest.session)
        theirs = self.values()
        self.saved = newest
        self._loaded = theirs
        unread = mine is None or base is None
        result = reapply_edits(base or theirs, mine or theirs, theirs)
        if result.applied:
            try:
                merged = parse_dosing_session(result.values)
            except KaptoolsError:
                # the edits do not combine into a valid record: show each one instead
                result = Reapplied(
                    theirs,
                    (),
                    result.conflicts
                    + tuple((k, result.values[k], theirs.get(k)) for k in result.applied),
                )
            else:
                self._show_session(merged)
        self.reason.value = reason
        self.reason.layout.display = None
        self._show_heading(newest)
        self._show_history()
        self.errors.clear()
        self.reload_button.layout.display = "none"
        notice = reapplied_html(result, newest.version, newest.author)
        if unread:
            notice += (
                " <b>Your unsaved edits could not be read</b> (a field held an invalid "
                "value), so none were re-applied: enter them again."
            )
        self.reload_notice.value = f"<div class='kap-reload-notice'>{notice}</div>"
        self.reload_notice.layout.display = None

    def _prefill_patient(
        self, patient_id: str, day: dt.date | None, first_dose: bool | None
    ) -> None:
        try:
            patient = self.store.get_patient(patient_id)
        except KaptoolsError:
            patient = None
        if patient is not None and patient.weight_kg is not None:
            self.weight.value = f"{patient.weight_kg:g}"
        if patient is not None and day is not None:
            age = patient.age_on(day)
            self.age.value = "" if age is None else str(age)
        self.first_dose.answer = first_dose

    def close(self) -> None:
        self.container.layout.display = "none"
        self.errors.clear()

    def _reset(self) -> None:
        for t in (self.started, self.ended, self.discharged, self.dose, self.lot, self.reason):
            t.value = ""
        self.setting.value = CareSetting.OUTPATIENT.value
        self.sedation.answer = None
        self.sedation_minutes.value = ""
        self.dissociation_minutes.value = ""
        for d in self.dissociation_items:
            d.answer = None
        self.side_effects_asked.answer = None
        for effect, severity, note in self.side_effect_rows:
            effect.answer, severity.answer, note.value = None, None, ""
        for d in self.discharge.values():
            d.answer = None
        for d in (self.rems_enrolled, self.rems_first, self.rems_sae):
            d.answer = None
        self.rems_meds_asked.answer = None
        self.rems_meds.value = ()
        self.rems_sae_text.value = ""
        self.rems_submitted.value = None
        self.notes.value = ""
        for t in (
            self.dose_end,
            self.weight,
            self.age,
            self.dose_reason,
            self.sedation_end_minutes,
            self.dissociation_end_minutes,
            self.dissociation_note,
            self.rems_ready,
            self.override_reason,
        ):
            t.value = ""
        self.override_clinician.value = self.store.identity.user
        self.first_dose.answer = None
        self.cssrs_asked.answer = None
        self.cssrs_yes.value = ()
        self.pregnant.answer = None
        self.intoxicated.answer = None
        self.sedation_end.answer = None
        for d in (*self.dissociation_pre_items, *self.dissociation_end_items):
            d.answer = None
        for d in (self.rems_sedation, self.rems_dissociation, self.rems_respiratory):
            d.answer = None
        self._override = None
        self.rems_download.offer([])
        post = next(
            m
            for t, m in vitals_schedule(self.route.value, self.protocol)
            if t is VitalsTimepoint.POST_DOSE
        )
        self.sedation_minutes.value = str(post)
        self.dissociation_minutes.value = str(post)

    def _fill(self, s: DosingSession) -> None:
        def hhmm(x: dt.datetime | None) -> str:
            return "" if x is None else x.strftime("%H:%M")

        self.setting.value = s.setting.value
        self.started.value = hhmm(s.started_at)
        self.ended.value = hhmm(s.monitoring_ended_at)
        self.discharged.value = hhmm(s.discharged_at)
        self.dose.value = "" if s.dose_mg is None else f"{s.dose_mg:g}"
        self.lot.value = s.lot_number or ""
        self.dose_end.value = hhmm(s.dose_ended_at)
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
        self._override = s.hold_override
        if s.hold_override is not None:
            self.override_clinician.value = s.hold_override.clinician
            self.override_reason.value = s.hold_override.reason
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
        if s.side_effects is not None:
            self.side_effects_asked.answer = "asked"
            for (effect, severity, note), r in zip(
                self.side_effect_rows, s.side_effects, strict=False
            ):
                effect.answer, severity.answer = r.effect.value, r.severity.value
                note.value = r.note
        for name, d in self.discharge.items():
            d.answer = getattr(s.discharge, name)
        if s.rems is not None:
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
            self.rems_ready.value = hhmm(s.rems.ready_to_leave_at)
        self.notes.value = s.notes

    def _build_vitals_rows(self, readings: Sequence[VitalSigns] = ()) -> None:
        """One row per protocol time point (and one spare), filled from ``readings``."""
        schedule = list(vitals_schedule(self.route.value, self.protocol))
        rows = [_VitalsRow(t, m) for t, m in schedule]
        rows.append(_VitalsRow(VitalsTimepoint.OTHER, None))
        left = list(readings)
        for row in rows:
            match = next(
                (
                    v
                    for v in left
                    if v.timepoint is row.point
                    and (
                        row.point is not VitalsTimepoint.DURING
                        or str(v.minutes_after_dose) == row.minutes.value
                    )
                ),
                None,
            )
            if match is None and row.point is VitalsTimepoint.DURING:
                match = next((v for v in left if v.timepoint is row.point), None)
            if match is not None:
                row.fill(match)
                left.remove(match)
        for v in left:  # readings beyond the protocol's rows keep their own
            extra = _VitalsRow(v.timepoint, v.minutes_after_dose)
            extra.fill(v)
            rows.append(extra)
        rows.sort(key=_row_order)  # by minutes after dosing; rows without a minute stay last
        for row in rows:
            for t in row.inputs:
                t.observe(self._on_vitals, names="value")
        self.rows = rows
        self.vitals_box.children = [r.box for r in rows]
        self._on_vitals()

    # ---- live flags ------------------------------------------------------------------
    def _on_route(self, change: dict[str, Any] | None = None) -> None:
        if change is not None and change.get("owner") is self.route and not self._opening:
            kept = [VitalSigns(**_parsed(r.as_dict())) for r in self.rows if _parses(r)]
            self._build_vitals_rows(kept)
        applies = rems_form_applies(self.route.value, self.setting.value)
        self.rems_box.layout.display = None if applies else "none"
        iv = self.route.value == Route.IV_KETAMINE.value
        self.dose_end.layout.display = None if iv else "none"
        self._on_checks()

    def _on_vitals(self, change: dict[str, Any] | None = None) -> None:
        """Recompute the protocol's flags from the readings typed so far."""
        measured = [r for r in self.rows if r.measured()]
        problems: list[str] = []
        readings: list[VitalSigns] = []
        for r in measured:
            try:
                readings.append(VitalSigns(**_parsed(r.as_dict())))
            except (KaptoolsError, ValueError) as exc:
                problems.append(f"{_POINT_LABELS[r.point]}: {exc}")
        sedation: list[tuple[int | None, int]] = []
        if self.sedation.answer is not None:
            try:
                minutes = _int_or_none(self.sedation_minutes.value, "sedation minutes")
            except InvalidInputError as exc:
                problems.append(str(exc))
                minutes = None
            sedation.append((minutes, self.sedation.answer))
        flags: tuple[VitalsFlag, ...] = ()
        if readings:
            flags = vitals_flags(readings, self.protocol)
        flags += sedation_flags(sedation, self.protocol)
        for r in self.rows:
            r.mark(flags if r.measured() else ())
        errors = "".join(
            f"<div class='kap-error kap-vitals-error'>{escape(p)}</div>" for p in problems
        )
        if not readings and not sedation and not problems:
            self.flags.value = "<p class='kap-muted'>Flags appear here as readings are entered.</p>"
        else:
            self.flags.value = errors + flags_html(flags)
        self._on_checks()

    # ---- go / no-go, dose check, discharge readiness, REMS form ------------------------
    def _on_checks(self, change: dict[str, Any] | None = None) -> None:
        """Recompute the pre-dose decision, the dose check, discharge readiness and the
        REMS form from the form's values (each a domain function; nothing decided here)."""
        if self._opening or self.patient_id is None or self.date.value is None:
            return
        try:
            session = self.session()
        except KaptoolsError as exc:
            note = (
                "<div class='kap-muted kap-sf-check-wait'>Checks wait for valid entries: "
                f"{escape(str(exc))}</div>"
            )
            self.go_box.value = note
            self.dose_check.value = ""
            self.readiness.value = note
            self.override_box.layout.display = "none"
            return
        decision = session.go_no_go(self.protocol)
        self.go_box.value = decision._repr_html_()
        hold = decision.status.value == "hold" and not decision.missing
        self.override_box.layout.display = None if hold else "none"
        self.dose_check.value = (
            "" if session.dose_mg is None else session.dose_check(self.protocol)._repr_html_()
        )
        extra = "".join(
            f._repr_html_() for f in session.flags(self.protocol) if f.rule_id.startswith("side_")
        )
        self.readiness.value = extra + session.discharge_readiness(self.protocol)._repr_html_()
        if session.needs_rems_form:
            form = session.rems_form(self.protocol)
            self.rems_form_state.value = form._repr_html_()
            self.rems_download.offer(
                [
                    DownloadFile(
                        "Download the REMS Patient Monitoring Form (printable HTML)",
                        "kap-sf-rems-link",
                        f"rems-monitoring-form-{session.patient_id}-{session.session_date}.html",
                        "text/html",
                        form.to_html_page,
                    )
                ]
            )
        else:
            self.rems_form_state.value = ""
            self.rems_download.offer([])

    @guarded(lambda self: self.errors)
    def _on_override(self, _button: Any = None) -> None:
        """A clinician overrides the current hold with a written reason (kept with the hold)."""
        self.errors.clear()
        session = self.session()
        decision = session.go_no_go(self.protocol)
        if decision.missing:
            msg = (
                "hold_override: the pre-dose check is incomplete ("
                + ", ".join(decision.missing)
                + "); record these first — a missing item cannot be overridden"
            )
            raise IncompleteInputError(msg, missing=decision.missing)
        if not decision.holds:
            msg = "hold_override: there is no hold to override (the decision is go or review)"
            raise InvalidInputError(msg)
        self.override_clinician.value = self.store.identity.user
        self._override = HoldOverride(
            self.store.identity.user,
            self.override_reason.value,
            tuple(f.rule_id for f in decision.holds),
            dt.datetime.now().replace(microsecond=0),
        )
        self.errors.ok(
            f"Hold overridden by {self._override.clinician}: {self._override.reason}. The hold "
            "stays on the record; the override is saved with it as its own audit-logged record."
        )
        self._on_checks()

    # ---- building and saving -------------------------------------------------------------
    def values(self) -> dict[str, Any]:
        """The form as a dosing-session dict (unvalidated: parse_dosing_session checks it)."""
        day = self.date.value

        def at(text: str, field: str) -> str | None:
            t = parse_time(text, field)
            if t is None:
                return None
            if day is None:
                msg = f"{field}: give the session date as well as the time"
                raise InvalidInputError(msg)
            return dt.datetime.combine(day, t).isoformat()

        effects = [
            {"effect": e.answer, "severity": s.answer, "note": n.value.strip()}
            for e, s, n in self.side_effect_rows
            if e.answer is not None or s.answer is not None
        ]
        asked = self.side_effects_asked.answer is not None or bool(effects)

        def rating(items: list[Any], minutes: str | None) -> list[dict[str, Any]]:
            if all(v is None for v in items):
                return []
            return [{"minutes_after_dose": minutes, "items": items}]

        sedation = []
        for minutes, choice in (
            (self.sedation_minutes, self.sedation),
            (self.sedation_end_minutes, self.sedation_end),
        ):
            if choice.answer is not None:
                sedation.append(
                    {"minutes_after_dose": _blank(minutes.value), "moaa_s": choice.answer}
                )
        dissociation = (
            rating([d.answer for d in self.dissociation_pre_items], "0")
            + rating(
                [d.answer for d in self.dissociation_items], _blank(self.dissociation_minutes.value)
            )
            + rating(
                [d.answer for d in self.dissociation_end_items],
                _blank(self.dissociation_end_minutes.value),
            )
        )
        ho = self._override
        rems = None
        if self.route.value == Route.ESKETAMINE_NASAL.value:
            rems = {
                "patient_enrolled": self.rems_enrolled.answer,
                "first_treatment": self.rems_first.answer,
                "concomitant_medications": None
                if self.rems_meds_asked.answer is None and not self.rems_meds.value
                else list(self.rems_meds.value),
                "serious_adverse_event": self.rems_sae.answer,
                "serious_adverse_event_description": self.rems_sae_text.value.strip(),
                "form_submitted_on": self.rems_submitted.value,
                "ready_to_leave_at": at(self.rems_ready.value, "rems.ready_to_leave_at"),
                "sedation": self.rems_sedation.answer,
                "dissociation": self.rems_dissociation.answer,
                "respiratory_depression": self.rems_respiratory.answer,
            }
        return {
            "patient_id": self.patient_id,
            "route": self.route.value,
            "session_date": day,
            "started_at": at(self.started.value, "started_at (dosing started)"),
            "monitoring_ended_at": at(self.ended.value, "monitoring_ended_at"),
            "discharged_at": at(self.discharged.value, "discharged_at"),
            "dose_mg": _blank(self.dose.value),
            "lot_number": _blank(self.lot.value),
            "vitals": [r.as_dict() for r in self.rows if r.measured()],
            "sedation": sedation,
            "dissociation": dissociation,
            "side_effects": effects if asked else None,
            "discharge": {name: d.answer for name, d in self.discharge.items()},
            "rems": rems,
            "setting": self.setting.value,
            "plan_session_index": self.plan_session_index,
            "notes": self.notes.value.strip(),
            "status": SessionRecordStatus.IN_PROGRESS.value,
            "dose_ended_at": at(self.dose_end.value, "dose_ended_at (infusion ended)"),
            "pre_dose": {
                "cssrs_since_last_visit": None
                if self.cssrs_asked.answer is None and not self.cssrs_yes.value
                else list(self.cssrs_yes.value),
                "pregnant_since_screening": self.pregnant.answer,
                "acutely_intoxicated": self.intoxicated.answer,
            },
            "hold_override": None
            if ho is None
            else {
                "clinician": ho.clinician,
                "reason": ho.reason,
                "rules": list(ho.rules),
                "at": ho.at.isoformat() if ho.at else None,
            },
            "weight_kg": _blank(self.weight.value),
            "patient_age_years": _blank(self.age.value),
            "first_dose": self.first_dose.answer,
            "planned_dose_mg": self.planned_dose_mg,
            "dose_reason": self.dose_reason.value.strip(),
            "dissociation_note": self.dissociation_note.value.strip(),
        }

    def session(self) -> DosingSession:
        """The form as a validated DosingSession (in progress); RecordError naming each field."""
        if self.patient_id is None:
            msg = "patient: open the form for a patient first"
            raise InvalidInputError(msg)
        return parse_dosing_session(self.values())

    @guarded(lambda self: self.errors)
    def _on_save(self, _button: Any = None) -> None:
        self._save(complete=False)

    @guarded(lambda self: self.errors)
    def _on_complete(self, _button: Any = None) -> None:
        self._save(complete=True)

    def _save(self, *, complete: bool) -> None:
        self.errors.clear()
        session = self.session()
        if complete:
            session = session.complete(self.protocol)
        reason = _blank(self.reason.value)
        if self.record_id is not None and reason is None:
            version = self.saved.version if self.saved else "an earlier version"
            msg = (
                f"Reason for the correction: this session already has a saved record (version "
                f"{version}); say why it is being changed, then save again."
            )
            raise IncompleteInputError(msg, missing=["reason"])
        try:
            record = save_dosing_session(
                self.store,
                session,
                self.author.value,
                record_id=self.record_id,
                reason=reason,
                based_on_version=self.saved.version if self.saved else None,
                protocol=self.protocol,
            )
        except StaleVersionError:
            self.reload_button.layout.display = None  # offer to reload and re-apply
            raise
        self.reload_button.layout.display = "none"
        self.reload_notice.layout.display = "none"
        self.saved = SavedDosingSession.from_record(record)
        self.record_id = record.record_id
        self.reason.value = ""
        self.reason.layout.display = None
        state = "complete" if complete else "in progress"
        self.errors.ok(
            f"Saved version {record.version} of the dosing-session record ({state}), "
            f"recorded by {record.author}."
        )
        self._show_history()
        self._loaded = self._values_or_none()
        if self.on_saved is not None:
            self.on_saved(self.saved)

    def _download_refused(self, exc: Exception) -> None:
        self.errors.error(f"Not downloaded: the download could not be audit-logged ({exc}).")

    def _log_download(self, file: DownloadFile) -> None:
        """The audit row of a download (who, when, the patient, the file, which record)."""
        record = (
            f"record {self.saved.record_id} v{self.saved.version}"
            if self.saved is not None
            else "not saved"
        )
        self.store.log(
            "download",
            patient_id=self.patient_id,
            kind="dosing_session",
            detail=f"{file.filename} ({record})",
        )

    def _show_history(self) -> None:
        if self.record_id is None:
            self.history.value = ""
            return
        versions = dosing_session_history(self.store, self.record_id)
        rows = "".join(
            f"<li>version {v.version}: {escape(v.session.status.value.replace('_', ' '))}, "
            f"saved by {escape(v.author)} {v.created_at:%Y-%m-%d %H:%M}"
            + (f" (reason: {escape(v.reason)})" if v.reason else "")
            + "</li>"
            for v in versions
        )
        self.history.value = f"<div class='kap-muted'>Versions of this record:<ul>{rows}</ul></div>"


def _row_order(row: _VitalsRow) -> float:
    text = _blank(row.minutes.value)
    return float(text) if text is not None and text.lstrip("-").isdigit() else float("inf")


def _int_or_none(value: str | None, field: str) -> int | None:
    text = _blank(value)
    if text is None:
        return None
    try:
        return int(text)
    except ValueError:
        msg = f"{field}: {text!r} is not a whole number; enter digits only"
        raise InvalidInputError(msg) from None


_VITAL_FIELDS = {
    "minutes_after_dose": "minutes after dosing",
    "systolic": "systolic",
    "diastolic": "diastolic",
    "heart_rate": "heart rate",
    "spo2": "SpO2",
    "respiratory_rate": "respiratory rate",
}


def _parsed(row: dict[str, Any]) -> dict[str, Any]:
    """A vitals row with its numbers read as whole numbers (for live flags)."""
    out = dict(row)
    for name, label in _VITAL_FIELDS.items():
        out[name] = _int_or_none(row[name], label)
    return out


def _parses(row: _VitalsRow) -> bool:
    if not row.measured():
        return False
    try:
        VitalSigns(**_parsed(row.as_dict()))
    except (KaptoolsError, ValueError):
        return False
    return True
