"""The eligibility form: five steps of answer widgets, cleared, prefilled from the
patient record or filled from a saved screening; unanswered and invalid fields marked.

Unknown is never "no": every yes/no question starts as "unknown", every number empty,
every questionnaire item "not asked" (:data:`kaptools.vocabulary.NO_ANSWER`).
"""

from __future__ import annotations

import datetime as dt
import enum
from collections.abc import Callable, Sequence
from typing import Any

import ipywidgets as w

from kaptools.scores import Instrument, definition
from kaptools.screening import (
    Answer,
    AntidepressantTrial,
    CssrsQuestion,
    CssrsScreener,
    HistoryQuestion,
    ListStatus,
    ScreeningRecord,
    Sex,
    StopReason,
    TrialOutcome,
    drug_tables,
)
from kaptools.screening.report import number_text
from kaptools.ui.common import escape
from kaptools.ui.eligibility.reading import FIELD_LABELS, FormReading
from kaptools.ui.eligibility.rows import DrugRow, RowList, labelled, text_box, toggle
from kaptools.ui.eligibility.state import EligibilityState, FormProblem
from kaptools.vocabulary import NO_ANSWER

__all__ = ["EligibilityForm"]

_ANSWER_OPTIONS = [("yes", Answer.YES), ("no", Answer.NO), ("unknown", Answer.UNKNOWN)]
_CSSRS_OPTIONS = [("not asked", NO_ANSWER), *_ANSWER_OPTIONS]
_LIST_OPTIONS = [("unknown", ListStatus.UNKNOWN), ("recorded below", ListStatus.RECORDED)]


def _words(value: str) -> str:
    return value.replace("_", " ")


class EligibilityForm(FormReading):
    """The form's widgets and what changes them (a part of :class:`EligibilityApp`).

    The app provides ``state``, ``today``, :meth:`refresh` (read, screen, render),
    ``batch`` / ``holding`` (:class:`kaptools.ui.common.DashboardApp`) and ``_on_change``.
    """

    state: EligibilityState
    today: dt.date | None
    trial_table: w.HTML
    _invalid: set[w.Widget]
    batch: Callable[[], Any]
    refresh: Callable[[], None]
    _on_change: Callable[..., None]

    @property
    def holding(self) -> bool:  # DashboardApp's (the app's first base) is the one used
        raise NotImplementedError

    def _build_form(self) -> None:
        """Build the five steps' widgets as tabs; every answer widget reports changes."""
        steps = [
            ("Demographics", "demographics", self._demographics_step()),
            ("Diagnoses & trials", "diagnoses", self._history_step()),
            ("Medications", "medications", self._medication_step()),
            ("Medical history", "checklist", self._checklist_step()),
            ("Vitals & scores", "vitals", self._vitals_step()),
        ]
        self._build_tabs(steps)
        self.clear_button = w.Button(description="Clear the form", icon="eraser")
        self.clear_button.add_class("kap-clear")
        for widget in self._scalar_widgets():
            widget.observe(self._on_change, names="value")

    def _demographics_step(self) -> list[w.Widget]:
        """1. Demographics."""
        self.age = text_box("not recorded", css="kap-age")
        self.sex = w.Dropdown(
            options=[("— not recorded —", Sex.UNKNOWN)]
            + [(s.value, s) for s in Sex if s is not Sex.UNKNOWN],
            value=Sex.UNKNOWN,
            layout=w.Layout(width="12em"),
        )
        self.sex.add_class("kap-sex")
        self.weight = text_box("not recorded", css="kap-weight")
        self.pregnant = toggle(_ANSWER_OPTIONS, Answer.UNKNOWN, "kap-pregnant")
        self.breastfeeding = toggle(_ANSWER_OPTIONS, Answer.UNKNOWN, "kap-breastfeeding")
        self.pregnancy_prevention = toggle(
            _ANSWER_OPTIONS, Answer.UNKNOWN, "kap-pregnancy-prevention"
        )
        self.prefill_note = w.HTML()
        self.prefill_note.add_class("kap-hint")
        return [
            self.prefill_note,
            labelled(FIELD_LABELS["age_years"], self.age, "whole years"),
            labelled(FIELD_LABELS["sex"], self.sex),
            labelled(FIELD_LABELS["weight_kg"], self.weight, "recorded for course planning"),
            labelled(FIELD_LABELS["pregnant"], self.pregnant),
            labelled(FIELD_LABELS["breastfeeding"], self.breastfeeding),
            labelled(
                FIELD_LABELS["pregnancy_prevention_discussed"],
                self.pregnancy_prevention,
                "anyone who could become pregnant (required unless male)",
            ),
        ]

    def _history_step(self) -> list[w.Widget]:
        """2. Diagnoses and antidepressant history."""
        antidepressants = sorted(drug_tables().min_doses)
        self.diagnosis_list = toggle(_LIST_OPTIONS, ListStatus.UNKNOWN, "kap-dx-list")
        self.diagnosis_list.style.button_width = "120px"
        self.diagnoses = RowList(
            lambda: {"code": text_box("e.g. F33.1", "9em", "kap-dx-code")},
            css="kap-dx-row",
            add_label="Add diagnosis",
            header=[("ICD-10-CM code", "9em")],
            on_change=self._on_rows_added(self.diagnosis_list),
        )
        self.dx_descriptions = w.HTML()  # each code with its ICD-10-CM description
        self.dx_descriptions.add_class("kap-dx-description-list")
        self.trial_history = toggle(_LIST_OPTIONS, ListStatus.UNKNOWN, "kap-trial-history")
        self.trial_history.style.button_width = "120px"

        self.trials = RowList(
            lambda: self._trial_fields(antidepressants),
            css="kap-trial-row",
            add_label="Add trial",
            header=[
                ("Drug", "13em"),
                ("Max mg/day", "6.5em"),
                ("Weeks", "5.5em"),
                ("Outcome", "11em"),
                ("Reason stopped", "10em"),
            ],
            on_change=self._on_rows_added(self.trial_history),
            row=DrugRow,
        )
        fields = AntidepressantTrial.model_fields
        return [
            w.HTML("<b>Diagnoses</b>"),
            labelled("Diagnosis list", self.diagnosis_list),
            w.HTML(
                "<div class='kap-hint'>“unknown”: the diagnoses were not taken. “recorded "
                "below”: the rows are every diagnosis (no rows = no diagnosis). One ICD-10-CM "
                "code per row (the dot may be left out).</div>"
            ),
            self.diagnoses.widget(),
            self.dx_descriptions,
            w.HTML("<b>Antidepressant trials in the current episode</b>"),
            labelled("Trial history", self.trial_history),
            w.HTML(
                "<div class='kap-hint'>“unknown”: the history was not taken. “recorded "
                "below”: the rows are the whole history (no rows = no trials). Outcome: "
                f"{escape(_words(fields['outcome'].description or ''))}</div>"
            ),
            self.trials.widget(),
            w.HTML("<b>Which trials counted, and why</b>"),
            self.trial_table,
        ]

    @staticmethod
    def _trial_fields(antidepressants: list[str]) -> dict[str, w.Widget]:
        """One antidepressant trial row's fields."""
        drug = w.Combobox(
            placeholder="drug, e.g. sertraline",
            options=antidepressants,
            continuous_update=False,
            layout=w.Layout(width="13em"),
        )
        drug.add_class("kap-trial-drug")
        outcome = _unknown_first(TrialOutcome, TrialOutcome.UNKNOWN, "11em", "kap-trial-outcome")
        stop = _unknown_first(StopReason, StopReason.UNKNOWN, "10em", "kap-trial-stop")
        return {
            "drug": drug,
            "daily_dose_mg": text_box("mg/day", "6.5em", "kap-trial-dose"),
            "weeks": text_box("weeks", "5.5em", "kap-trial-weeks"),
            "outcome": outcome,
            "stop_reason": stop,
        }

    def _medication_step(self) -> list[w.Widget]:
        """3. Current medications."""
        tables = drug_tables()
        all_drugs = sorted({*tables.classes, *tables.benzodiazepines, *tables.min_doses})
        self.medication_list = toggle(_LIST_OPTIONS, ListStatus.UNKNOWN, "kap-med-list")
        self.medication_list.style.button_width = "120px"

        def medication_fields() -> dict[str, w.Widget]:
            drug = w.Combobox(
                placeholder="drug, e.g. lorazepam",
                options=all_drugs,
                continuous_update=False,
                layout=w.Layout(width="13em"),
            )
            drug.add_class("kap-med-drug")
            return {"drug": drug, "daily_dose_mg": text_box("mg/day", "6.5em", "kap-med-dose")}

        self.medications = RowList(
            medication_fields,
            css="kap-med-row",
            add_label="Add medication",
            header=[("Drug", "13em"), ("Total mg/day", "6.5em")],
            on_change=self._on_rows_added(self.medication_list),
            row=DrugRow,
        )
        return [
            labelled("Medication list", self.medication_list),
            w.HTML(
                "<div class='kap-hint'>“unknown”: the list was not taken. “recorded below”: "
                "the rows are every current medication (no rows = none). Write drugs as the "
                "patient or letter names them (brand, salt, “XR”, strength): each row shows "
                "the ingredient it resolved to; a name that does not resolve is never "
                "guessed, and close names are offered to accept.</div>"
            ),
            self.medications.widget(),
        ]

    def _checklist_step(self) -> list[w.Widget]:
        """4. Medical-history checklist: every question starts as "unknown"."""
        self.history = {
            q: toggle(_ANSWER_OPTIONS, Answer.UNKNOWN, f"kap-q-{q.value}") for q in HistoryQuestion
        }
        self._question_rows: dict[w.Widget, w.HBox] = {}
        checklist_step: list[w.Widget] = [
            w.HTML("<div class='kap-hint'>Every question starts as “unknown”.</div>")
        ]
        for q, tb in self.history.items():
            row = w.HBox([tb, w.HTML(f"<span>{escape(q.label)}?</span>")])
            row.add_class("kap-question")
            self._question_rows[tb] = row
            checklist_step.append(row)
        return checklist_step

    def _vitals_step(self) -> list[w.Widget]:
        """5. Vitals and symptom scores (PHQ-9 and C-SSRS optional)."""
        self.systolic = text_box("not recorded", css="kap-systolic")
        self.diastolic = text_box("not recorded", css="kap-diastolic")
        self.heart_rate = text_box("not recorded", css="kap-heart-rate")
        phq9 = definition(Instrument.PHQ9)
        labels = phq9.answer_labels
        phq_options: list[tuple[str, int | str]] = [("— not asked —", NO_ANSWER)] + [
            (f"{v} {labels[v - phq9.item_min] if labels else ''}".strip(), v)
            for v in range(phq9.item_min, phq9.item_max + 1)
        ]
        self.phq9 = [
            w.Dropdown(
                options=phq_options,
                value=NO_ANSWER,
                layout=w.Layout(width="15em", flex="0 0 auto"),
            )
            for _ in range(phq9.item_count)
        ]
        phq_rows = []
        for i, dd in enumerate(self.phq9, start=1):
            dd.add_class("kap-phq9-item")
            text = phq9.item_texts[i - 1] if phq9.item_texts else f"Item {i}"
            phq_rows.append(w.HBox([dd, w.HTML(f"<span>&nbsp;{i}. {escape(text)}</span>")]))
        self.cssrs = {
            q: toggle(_CSSRS_OPTIONS, NO_ANSWER, f"kap-cssrs-{q.value}") for q in CssrsQuestion
        }
        cssrs_rows = []
        for cq, tb in self.cssrs.items():
            desc = CssrsScreener.model_fields[cq.value].description or ""
            label = f"{_words(cq.value).capitalize()}: {desc}"
            cssrs_rows.append(w.HBox([tb, w.HTML(f"<span>&nbsp;{escape(label)}</span>")]))
        return [
            labelled(FIELD_LABELS["systolic_bp_mmhg"], self.systolic),
            labelled(FIELD_LABELS["diastolic_bp_mmhg"], self.diastolic),
            labelled(FIELD_LABELS["heart_rate_bpm"], self.heart_rate),
            w.HTML(f"<b>Baseline {escape(phq9.name)} (optional)</b>"),
            w.HTML(
                "<div class='kap-hint'>Over the last 2 weeks. Leave “not asked” when "
                "the questionnaire was not given.</div>"
            ),
            *phq_rows,
            w.HTML("<b>C-SSRS screener (optional)</b>"),
            w.HTML(
                "<div class='kap-hint'>Questions 3–5 are asked only after a “yes” to question "
                "2; left “not asked” after a “no” to question 2 they count as “no”.</div>"
            ),
            *cssrs_rows,
        ]

    def _build_tabs(self, steps: list[tuple[str, str, list[w.Widget]]]) -> None:
        """One tab per step, each with a button to the next."""
        self.tabs = w.Tab()
        self.tabs.add_class("kap-steps")
        children = []
        for i, (_title, css, body) in enumerate(steps):
            nxt: list[w.Widget] = []
            if i + 1 < len(steps):
                button = w.Button(
                    description=f"Next: {steps[i + 1][0]}",
                    icon="arrow-right",
                    layout=w.Layout(width="16em", margin="0.8em 0 0 0"),
                )
                button.add_class("kap-next-step")
                button.on_click(lambda _b, j=i + 1: setattr(self.tabs, "selected_index", j))
                nxt = [button]
            box = w.VBox([*body, *nxt])
            box.add_class("kap-step")
            box.add_class(f"kap-step-{css}")
            children.append(box)
        self.tabs.children = children
        self.tabs.titles = [f"{i}. {title}" for i, (title, _, _) in enumerate(steps, start=1)]

    def _scalar_widgets(self) -> list[w.Widget]:
        return [
            self.age,
            self.sex,
            self.weight,
            self.pregnant,
            self.breastfeeding,
            self.pregnancy_prevention,
            self.diagnosis_list,
            self.trial_history,
            self.medication_list,
            *self.history.values(),
            self.systolic,
            self.diastolic,
            self.heart_rate,
            *self.phq9,
            *self.cssrs.values(),
        ]

    def _on_rows_added(self, status: w.ToggleButtons) -> Callable[[], None]:
        """Rows were added or changed: a list with a filled row is being recorded (a row
        just added and still blank is no answer yet, so it leaves "unknown" alone)."""

        def on_change() -> None:
            lists = {
                id(self.diagnosis_list): self.diagnoses,
                id(self.trial_history): self.trials,
                id(self.medication_list): self.medications,
            }
            filled = [r for r in lists[id(status)].rows if not self._blank(r)]
            if filled and status.value is ListStatus.UNKNOWN and not self.holding:
                status.value = ListStatus.RECORDED  # triggers the update
            else:
                self._on_change()

        return on_change

    def reset_form(self) -> None:
        """Every answer back to unknown / empty, then age, sex and weight from the patient."""
        with self.batch():
            for box in (self.age, self.weight, self.systolic, self.diastolic, self.heart_rate):
                box.value = ""
            self.sex.value = Sex.UNKNOWN
            for tb in (
                self.pregnant,
                self.breastfeeding,
                self.pregnancy_prevention,
                *self.history.values(),
            ):
                tb.value = Answer.UNKNOWN
            self.diagnosis_list.value = ListStatus.UNKNOWN
            self.trial_history.value = ListStatus.UNKNOWN
            self.medication_list.value = ListStatus.UNKNOWN
            for rows in (self.diagnoses, self.trials, self.medications):
                rows.clear()
            for dd in self.phq9:
                dd.value = NO_ANSWER
            for tb in self.cssrs.values():
                tb.value = NO_ANSWER
            self.tabs.selected_index = 0
            self._prefill()
            self.refresh()

    def _prefill(self) -> None:
        p = self.state.patient
        if p is None:
            self.prefill_note.value = ""
            return
        filled = []
        age = p.age_on(self.today or dt.date.today())
        if age is not None:
            self.age.value = str(age)
            filled.append("age")
        if p.sex in {s.value for s in Sex} and p.sex != Sex.UNKNOWN:
            self.sex.value = Sex(p.sex)
            filled.append("sex")
        if p.weight_kg is not None:
            self.weight.value = number_text(p.weight_kg)
            filled.append("weight")
        self.prefill_note.value = (
            f"Prefilled from the patient record: {', '.join(filled)}. Check them with the patient."
            if filled
            else "Nothing to prefill from the patient record."
        )

    def fill(self, record: ScreeningRecord) -> None:
        """Put ``record``'s answers into the form (e.g. a saved screening)."""
        with self.batch():
            self.reset_form()
            self.age.value = "" if record.age_years is None else str(record.age_years)
            self.sex.value = record.sex
            self.weight.value = number_text(record.weight_kg)
            self.pregnant.value = record.pregnant
            self.breastfeeding.value = record.breastfeeding
            self.pregnancy_prevention.value = record.pregnancy_prevention_discussed
            self.diagnosis_list.value = (
                ListStatus.UNKNOWN if record.diagnoses is None else ListStatus.RECORDED
            )
            for code in record.diagnoses or ():
                self.diagnoses.add({"code": code})
            for status, rows, items in (
                (self.trial_history, self.trials, record.antidepressant_trials),
                (self.medication_list, self.medications, record.current_medications),
            ):
                status.value = ListStatus.UNKNOWN if items is None else ListStatus.RECORDED
                for item in items or ():
                    rows.add({k: _widget_value(v) for k, v in item.model_dump().items()})
            for q, tb in self.history.items():
                tb.value = record.history.answer(q)
            self.systolic.value = number_text(record.systolic_bp_mmhg)
            self.diastolic.value = number_text(record.diastolic_bp_mmhg)
            self.heart_rate.value = number_text(record.heart_rate_bpm)
            for dd, value in zip(self.phq9, record.phq9 or [None] * len(self.phq9), strict=True):
                dd.value = NO_ANSWER if value is None else value
            for cq, tb in self.cssrs.items():
                answer = None if record.cssrs is None else getattr(record.cssrs, cq.value)
                tb.value = NO_ANSWER if answer is None else answer
            self.refresh()

    def _mark_invalid(self, problems: Sequence[FormProblem]) -> None:
        bad = {widget for p in problems for widget in p.widgets}
        for widget in self._invalid - bad:
            widget.remove_class("kap-invalid")
        for widget in bad - self._invalid:
            widget.add_class("kap-invalid")
        self._invalid = bad

    def _mark_unanswered(self) -> None:
        for box in (self.age, self.weight, self.systolic, self.diastolic, self.heart_rate):
            _mark(box, not box.value.strip())
        _mark(self.sex, self.sex.value == Sex.UNKNOWN)
        for tb in (
            self.pregnant,
            self.breastfeeding,
            self.pregnancy_prevention,
            self.diagnosis_list,
            self.trial_history,
            self.medication_list,
        ):
            _mark(tb, tb.value == "unknown")
        for tb, row in self._question_rows.items():
            _mark(row, tb.value == Answer.UNKNOWN)


def _widget_value(value: object) -> object:
    """A stored value as its form widget holds it (numbers as text, None as empty)."""
    if value is None:
        return ""
    return number_text(value) if isinstance(value, float) else value


def _mark(widget: w.Widget, unanswered: bool) -> None:
    if unanswered:
        widget.add_class("kap-unanswered")
    else:
        widget.remove_class("kap-unanswered")


def _unknown_first(kind: type[enum.Enum], unknown: enum.Enum, width: str, css: str) -> w.Dropdown:
    """A dropdown of ``kind``'s values in words, starting at "— unknown —" (``unknown``)."""
    box = w.Dropdown(
        options=[("— unknown —", unknown)]
        + [(_words(str(v.value)), v) for v in kind if v is not unknown],
        value=unknown,
        layout=w.Layout(width=width),
    )
    box.add_class(css)
    return box
