"""The session form's widgets, section by section, and their layout.

:class:`SessionFormWidgets` builds them (one method a section of the form: the
session, the go / no-go check, the dose, the vital signs, sedation and dissociation,
side effects, discharge, the REMS form, saving); the behaviour is the
:class:`~kaptools.ui.session_form.form.SessionForm`'s.
"""

from __future__ import annotations

from typing import Any

import ipywidgets as w

from kaptools.protocol import Protocol
from kaptools.scheduling import offered_routes
from kaptools.sessions import CareSetting, ConcomitantMedication, Severity, SideEffect
from kaptools.sessions.scales import cadss6, moaa_s
from kaptools.ui.common import AuditedDownloads, ErrorBox, escape, lock_author
from kaptools.ui.session_form.widgets import YES_NO, Choice, VitalsRow, text_box
from kaptools.vocabulary import CssrsQuestion

__all__ = ["SessionFormWidgets"]

SIDE_EFFECT_ROWS = 5

#: What each discharge-checklist field asks (the field names are DischargeChecklist's).
#: Everything a number can show is computed (discharge_readiness), never ticked.
DISCHARGE_QUESTIONS = {
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


def _choice(
    description: str,
    cls: str,
    *,
    options: Any = YES_NO,
    width: str = "300px",
    label_width: str = "initial",
) -> Choice:
    """A Choice (yes / no / not answered unless ``options`` say otherwise) with its class."""
    d = Choice(
        description=description,
        options=options,
        style={"description_width": label_width},
        layout=w.Layout(width=width),
    )
    d.add_class(cls)
    return d


def _cadss_items(cls: str) -> list[Choice]:
    """The six CADSS-6 items of one rating, each 0 to 4 or not rated."""
    c6 = cadss6()
    options = [("—", None)] + [(str(v), v) for v in range(c6.item_min, c6.item_max + 1)]
    return [
        _choice(f"item {n}", cls, options=options, width="135px", label_width="60px")
        for n in c6.items
    ]


def _moaa_s_options() -> list[tuple[str, Any]]:
    scale = moaa_s()
    return [("— not rated —", None)] + [
        (
            f"{v}"
            + (" (alert)" if v == scale.alert else "")
            + (" (loss of consciousness)" if v == scale.loss_of_consciousness else ""),
            v,
        )
        for v in range(scale.max, scale.min - 1, -1)
    ]


def _section(title: str) -> w.HTML:
    return w.HTML(f"<h4 class='kap-sf-section'>{escape(title)}</h4>")


class SessionFormWidgets:
    """The widgets of a dosing-session form (``.container``, class ``kap-session-form``)."""

    protocol: Protocol
    rows: list[VitalsRow]

    def _build_widgets(self, author: str) -> None:
        self._build_session()
        self._build_go()
        self._build_dose()
        self.vitals_box = w.VBox()
        self.vitals_box.add_class("kap-sf-vitals")
        self.rows = []
        self.flags = w.HTML()
        self.flags.add_class("kap-vitals-flags")
        self._build_scales()
        self._build_side_effects()
        self._build_rems()
        self._build_footer(author)
        self.container = self._layout()
        self.container.add_class("kap-session-form")
        self.container.layout.display = "none"

    def _build_session(self) -> None:
        self.heading = w.HTML()
        self.heading.add_class("kap-sf-heading")
        self.date = w.DatePicker(description="Session date", style={"description_width": "initial"})
        self.date.add_class("kap-sf-date")
        self.route = _choice(
            "Route",
            "kap-sf-route",
            options=[
                (self.protocol.courses.route(r).label, r.value)
                for r in offered_routes(self.protocol)
            ],
            width="360px",
        )
        self.setting = _choice(
            "Setting",
            "kap-sf-setting",
            options=[
                ("outpatient", CareSetting.OUTPATIENT.value),
                ("inpatient", CareSetting.INPATIENT.value),
            ],
            width="220px",
        )

    def _build_go(self) -> None:
        """Go / no-go before the dose, and the override of a hold (with a written reason)."""
        self.cssrs_asked = _choice(
            "C-SSRS since the last visit",
            "kap-sf-cssrs-asked",
            options=[("not asked", None), ("asked (all no, or the yes answers chosen)", "asked")],
            width="520px",
        )
        self.cssrs_yes = w.SelectMultiple(
            options=[(label, q.value) for q, label in _CSSRS_LABELS.items()],
            rows=len(_CSSRS_LABELS),
            layout=w.Layout(width="260px"),
        )
        self.cssrs_yes.add_class("kap-sf-cssrs-yes")
        self.pregnant = _choice("Pregnant since screening", "kap-sf-pregnant", width="320px")
        self.intoxicated = _choice("Acutely intoxicated", "kap-sf-intoxicated")
        self.go_box = w.HTML()
        self.go_box.add_class("kap-sf-go")
        # who overrides is the signed-in clinician, shown, never typed (a value sent from
        # the page is ignored: the override is made in the signed-in person's name)
        self.override_clinician = text_box(
            "Clinician overriding", "kap-sf-override-clinician", "320px"
        )
        self.override_clinician.disabled = True
        self.override_clinician.add_class("kap-author-locked")
        self.override_reason = text_box(
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

    def _build_dose(self) -> None:
        self.started = text_box(
            "Dosing started (HH:MM)", "kap-sf-start", "230px", placeholder="HH:MM"
        )
        self.ended = text_box("Monitoring ended", "kap-sf-end", "200px", placeholder="HH:MM")
        self.discharged = text_box("Discharged", "kap-sf-discharge", "160px", placeholder="HH:MM")
        self.dose = text_box("Dose given (mg)", "kap-sf-dose", "190px")
        self.lot = text_box("Lot number", "kap-sf-lot", "240px")
        self.planned_dose = w.HTML()
        self.planned_dose.add_class("kap-sf-planned-dose")
        self.dose_end = text_box("Infusion ended", "kap-sf-dose-end", "180px", placeholder="HH:MM")
        self.weight = text_box("Weight (kg)", "kap-sf-weight", "150px")
        self.age = text_box("Age (years)", "kap-sf-age", "140px")
        self.first_dose = _choice("First dose of the course", "kap-sf-first-dose")
        self.dose_reason = text_box(
            "Reason (dose differs from the plan or the protocol range)",
            "kap-sf-dose-reason",
            "720px",
        )
        self.dose_check = w.HTML()
        self.dose_check.add_class("kap-sf-dose-check")
        self.readiness = w.HTML()
        self.readiness.add_class("kap-sf-readiness")

    def _build_scales(self) -> None:
        """MOAA/S after the dose and again later; CADSS-6 before, after and again later."""
        moaa = _moaa_s_options()
        self.sedation_minutes = text_box("MOAA/S at min", "kap-sf-sedation-minutes", "150px")
        self.sedation = _choice("rating", "kap-sf-moaas", options=moaa, width="260px")
        self.sedation_end_minutes = text_box(
            "MOAA/S again at min", "kap-sf-sedation-end-minutes", "170px"
        )
        self.sedation_end = _choice("rating", "kap-sf-moaas-end", options=moaa, width="260px")
        self.dissociation_pre_items = _cadss_items("kap-sf-cadss-pre")
        self.dissociation_minutes = text_box(
            "CADSS-6 at min", "kap-sf-dissociation-minutes", "150px"
        )
        self.dissociation_items = _cadss_items("kap-sf-cadss")
        self.dissociation_end_minutes = text_box(
            "CADSS-6 again at min", "kap-sf-dissociation-end-minutes", "170px"
        )
        self.dissociation_end_items = _cadss_items("kap-sf-cadss-end")
        self.dissociation_note = text_box(
            "Note: why dissociation counts as resolved (if above the pre-dose rating)",
            "kap-sf-dissociation-note",
            "720px",
        )

    def _build_side_effects(self) -> None:
        self.side_effects_asked = _choice(
            "Side effects",
            "kap-se-asked",
            options=[("not asked yet", None), ("asked (none, or listed below)", "asked")],
            width="360px",
        )
        effects = [("—", None)] + [(e.label, e.value) for e in SideEffect]
        severities = [("—", None)] + [(s.value, s.value) for s in Severity]
        self.side_effect_rows: list[tuple[Choice, Choice, w.Text]] = []
        for _ in range(SIDE_EFFECT_ROWS):
            effect = _choice("", "kap-se-effect", options=effects)
            severity = _choice("", "kap-se-severity", options=severities, width="130px")
            note = w.Text(placeholder="note (required for 'other')", layout=w.Layout(width="260px"))
            self.side_effect_rows.append((effect, severity, note))
        self.discharge = {
            name: _choice(
                question,
                f"kap-sf-discharge-{name.replace('_', '-')}",
                width="520px",
                label_width="340px",
            )
            for name, question in DISCHARGE_QUESTIONS.items()
        }

    def _build_rems(self) -> None:
        """The SPRAVATO REMS Patient Monitoring Form (esketamine, outpatient)."""

        def yn(label: str, cls: str) -> Choice:
            return _choice(label, cls, width="440px", label_width="260px")

        self.rems_enrolled = yn("Patient enrolled in the REMS", "kap-rems-enrolled")
        self.rems_first = yn("First treatment", "kap-rems-first")
        self.rems_meds_asked = _choice(
            "Concomitant medicines",
            "kap-rems-meds-asked",
            options=[("not asked", None), ("asked (none, or chosen below)", "asked")],
            width="560px",
            label_width="260px",
        )
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
        self.rems_ready = text_box(
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

    def _build_footer(self, author: str) -> None:
        """Notes, who records, the correction's reason, save / complete / close, history."""
        self.notes = w.Textarea(description="Notes", layout=w.Layout(width="720px", height="60px"))
        self.notes.add_class("kap-sf-notes")
        self.author = text_box("Recorded by", "kap-sf-author", "320px", value=author)
        lock_author(self.author)
        self.reason = text_box("Reason for the correction", "kap-sf-reason", "560px")
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
        self.reload_notice = w.HTML(layout=w.Layout(display="none"))
        self.reload_notice.add_class("kap-sf-reload-notice")
        self.history = w.HTML()
        self.history.add_class("kap-sf-history")

    def checked_widgets(self) -> tuple[w.Widget, ...]:
        """The inputs whose change re-runs the checks (go / no-go, dose, discharge, REMS)."""
        return (
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
        )

    def _layout(self) -> w.VBox:
        return w.VBox(
            [
                self.heading,
                w.HBox([self.date, self.route, self.setting]),
                _section("Go / no-go before the dose"),
                w.HBox([self.cssrs_asked, self.cssrs_yes]),
                w.HBox([self.pregnant, self.intoxicated]),
                w.HTML(
                    "<p class='kap-muted'>The pre-dose reading below (blood pressure, heart "
                    "rate and SpO2) is part of the check; REMS enrolment too for esketamine.</p>"
                ),
                self.go_box,
                self.override_box,
                _section("Dose"),
                w.HBox([self.started, self.dose_end, self.ended, self.discharged]),
                w.HBox([self.dose, self.lot]),
                w.HBox([self.weight, self.age, self.first_dose]),
                self.planned_dose,
                self.dose_reason,
                self.dose_check,
                _section("Vital signs at the protocol's time points"),
                self.vitals_box,
                self.flags,
                *self._scales_layout(),
                _section("Side effects"),
                self.side_effects_asked,
                *[w.HBox(list(r)) for r in self.side_effect_rows],
                _section("Discharge (computed from the record)"),
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

    def _scales_layout(self) -> list[w.Widget]:
        pre, mid, end = (
            self.dissociation_pre_items,
            self.dissociation_items,
            self.dissociation_end_items,
        )
        return [
            _section("Sedation and dissociation"),
            w.HBox([self.sedation_minutes, self.sedation]),
            w.HBox([self.sedation_end_minutes, self.sedation_end]),
            w.HTML("<span class='kap-muted'>CADSS-6 before the dose (0 min)</span>"),
            w.HBox(pre[:3]),
            w.HBox(pre[3:]),
            w.HBox([self.dissociation_minutes, *mid[:3]]),
            w.HBox([w.HTML(layout=w.Layout(width="150px")), *mid[3:]]),
            w.HBox([self.dissociation_end_minutes, *end[:3]]),
            w.HBox([w.HTML(layout=w.Layout(width="170px")), *end[3:]]),
            self.dissociation_note,
        ]
