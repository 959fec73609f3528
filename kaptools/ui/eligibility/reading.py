"""Reading the eligibility form: widget values into record data, checked by the
:class:`~kaptools.screening.ScreeningRecord` itself; every problem names the field as
the clinician knows it, the value entered and the fix (the one reading of pydantic's
errors is :func:`kaptools.screening.record.record_problems`)."""

from __future__ import annotations

import re
from typing import Any

import ipywidgets as w
from pydantic import ValidationError

from kaptools.alerts import Alert
from kaptools.errors import InvalidInputError
from kaptools.protocol import Protocol
from kaptools.screening import ListStatus, ScreeningRecord, screen
from kaptools.screening.record import record_problems
from kaptools.ui.eligibility.rows import Row, RowList
from kaptools.ui.eligibility.state import FormProblem
from kaptools.vocabulary import NO_ANSWER

__all__ = ["FIELD_LABELS", "FormReading"]

#: Clinician-facing names of the record's fields (error messages name them).
FIELD_LABELS = {
    "age_years": "Age (years)",
    "sex": "Sex",
    "weight_kg": "Weight (kg)",
    "pregnant": "Currently pregnant",
    "breastfeeding": "Currently breastfeeding",
    "pregnancy_prevention_discussed": "Contraception discussed / pregnancy test done",
    "diagnoses": "Diagnosis (ICD-10-CM)",
    "antidepressant_trials": "Antidepressant trial",
    "current_medications": "Current medication",
    "systolic_bp_mmhg": "Systolic blood pressure (mmHg)",
    "diastolic_bp_mmhg": "Diastolic blood pressure (mmHg)",
    "heart_rate_bpm": "Heart rate (beats/min)",
    "phq9": "PHQ-9",
    "cssrs": "C-SSRS",
    "history": "Medical history",
}
_ROW_FIELD_LABELS = {
    "drug": "drug",
    "daily_dose_mg": "daily dose (mg)",
    "weeks": "weeks",
    "outcome": "outcome",
    "stop_reason": "reason stopped",
}
_NUMBER_RE = re.compile(r"^[+-]?(\d+(\.\d*)?|\.\d+)$")


class FormReading:
    """Reads the form's widgets (a part of :class:`EligibilityApp`; the widgets are built
    by :class:`~kaptools.ui.eligibility.form.EligibilityForm`)."""

    protocol: Protocol
    picker: w.Dropdown
    age: w.Text
    sex: w.Dropdown
    weight: w.Text
    pregnant: w.ToggleButtons
    breastfeeding: w.ToggleButtons
    pregnancy_prevention: w.ToggleButtons
    systolic: w.Text
    diastolic: w.Text
    heart_rate: w.Text
    history: dict[Any, w.ToggleButtons]
    phq9: list[w.Dropdown]
    cssrs: dict[Any, w.ToggleButtons]
    diagnosis_list: w.ToggleButtons
    trial_history: w.ToggleButtons
    medication_list: w.ToggleButtons
    diagnoses: RowList
    trials: RowList
    medications: RowList

    def _number(self, widget: w.Text, label: str, problems: list[FormProblem]) -> float | None:
        text = widget.value.strip()
        if not text:
            return None
        if not _NUMBER_RE.match(text):
            problems.append(
                FormProblem(
                    label,
                    f"{text!r} is not a number; type digits with a dot for decimals "
                    "(e.g. 72.5), or clear the field if it is not known",
                    (widget,),
                )
            )
            return None
        return float(text)

    def _read(self) -> tuple[dict[str, Any], dict[str, Any], list[FormProblem]]:
        """The form as record data, the widget of each field, and the problems found."""
        problems: list[FormProblem] = []
        where: dict[str, Any] = {}

        def number(key: str, widget: w.Text) -> float | None:
            where[key] = widget
            return self._number(widget, FIELD_LABELS[key], problems)

        data: dict[str, Any] = {
            "patient_id": self.picker.value,
            "age_years": number("age_years", self.age),
            "sex": self.sex.value,
            "weight_kg": number("weight_kg", self.weight),
            "pregnant": self.pregnant.value,
            "breastfeeding": self.breastfeeding.value,
            "pregnancy_prevention_discussed": self.pregnancy_prevention.value,
            "systolic_bp_mmhg": number("systolic_bp_mmhg", self.systolic),
            "diastolic_bp_mmhg": number("diastolic_bp_mmhg", self.diastolic),
            "heart_rate_bpm": number("heart_rate_bpm", self.heart_rate),
            "history": {q.value: tb.value for q, tb in self.history.items()},
            "phq9": [None if dd.value == NO_ANSWER else dd.value for dd in self.phq9],
            "cssrs": {
                q.value: (None if tb.value == NO_ANSWER else tb.value)
                for q, tb in self.cssrs.items()
            },
        }
        dx_rows = [r for r in self.diagnoses.rows if r.fields["code"].value.strip()]
        data["diagnoses"] = [r.fields["code"].value.strip() for r in dx_rows]
        where["diagnoses"] = [r.fields["code"] for r in dx_rows]
        if self.diagnosis_list.value is ListStatus.UNKNOWN:
            data["diagnoses"] = None
            if dx_rows:
                problems.append(
                    FormProblem(
                        FIELD_LABELS["diagnoses"],
                        f"the list is marked “unknown” but {len(dx_rows)} row(s) are filled "
                        "in; choose “recorded below”, or remove the rows",
                        (self.diagnosis_list,),
                    )
                )

        for key, status, rows, label in (
            ("antidepressant_trials", self.trial_history, self.trials, "Trial"),
            ("current_medications", self.medication_list, self.medications, "Medication"),
        ):
            filled = [r for r in rows.rows if not self._blank(r)]
            where[key] = filled
            if status.value is ListStatus.UNKNOWN:
                data[key] = None
                if filled:
                    problems.append(
                        FormProblem(
                            FIELD_LABELS[key],
                            f"the list is marked “unknown” but {len(filled)} row(s) are filled "
                            "in; choose “recorded below”, or remove the rows",
                            (status,),
                        )
                    )
                continue
            items = []
            for i, row in enumerate(filled, start=1):
                item: dict[str, Any] = {}
                for name, widget in row.fields.items():
                    if isinstance(widget, w.Text) and name != "drug":
                        item[name] = self._number(
                            widget, f"{label} {i}: {_ROW_FIELD_LABELS[name]}", problems
                        )
                    else:
                        item[name] = widget.value.strip() if name == "drug" else widget.value
                items.append(item)
            data[key] = items
        return data, where, problems

    @staticmethod
    def _blank(row: Row) -> bool:
        """True when nothing was entered in the row (its choices still "unknown")."""
        for widget in row.fields.values():
            if isinstance(widget, w.Dropdown):
                if widget.value != "unknown":
                    return False
            elif widget.value.strip():
                return False
        return True

    def _validation_problems(
        self, exc: ValidationError, data: dict[str, Any], where: dict[str, Any]
    ) -> list[FormProblem]:
        problems = []
        for found in record_problems(exc):  # the one reading of pydantic's errors
            loc = found.loc
            msg = found.rule[:1].lower() + found.rule[1:]
            if loc == ():  # record-level check: the blood-pressure pair
                problems.append(FormProblem("Blood pressure", msg, (self.systolic, self.diastolic)))
                continue
            key = str(loc[0])
            got = found.value
            if key == "diagnoses":
                bad = [
                    (i, widget)
                    for i, widget in enumerate(where["diagnoses"], start=1)
                    if not _valid_code(widget.value.strip())
                ]
                for i, widget in bad:
                    problems.append(
                        FormProblem(
                            f"Diagnosis {i} (ICD-10-CM)",
                            f"{widget.value.strip()!r} is not an ICD-10-CM code; write a letter, "
                            "two characters and optionally a dot and up to four more, e.g. F33.1",
                            (widget,),
                        )
                    )
                continue
            if key in ("antidepressant_trials", "current_medications") and len(loc) >= 3:
                i, name = int(loc[1]), str(loc[2])
                row = where[key][i]
                label = "Trial" if key == "antidepressant_trials" else "Medication"
                problems.append(
                    FormProblem(
                        f"{label} {i + 1}: {_ROW_FIELD_LABELS.get(name, name)}",
                        f"{msg}; you entered {got!r}",
                        (row.fields.get(name, row.box),),
                    )
                )
                continue
            widget = where.get(key)
            shown = widget.value if isinstance(widget, w.Text) else got
            problems.append(
                FormProblem(
                    FIELD_LABELS.get(key, key),
                    f"{msg}; you entered {shown!r}. Correct it, or clear the field if unknown",
                    (widget,) if isinstance(widget, w.Widget) else (),
                )
            )
        return problems

    def read_record(self) -> tuple[ScreeningRecord | None, list[FormProblem]]:
        """The form as a validated record, or None and the problems (each naming its field)."""
        data, where, problems = self._read()
        if problems:
            return None, problems
        try:
            return ScreeningRecord.model_validate(data), []
        except ValidationError as exc:
            return None, self._validation_problems(exc, data, where)

    def form_record(self) -> ScreeningRecord:
        """The form as a validated record; InvalidInputError naming every bad field."""
        record, problems = self.read_record()
        if record is None:
            raise InvalidInputError(
                "Nothing was saved. Correct these fields first:\n"
                + "\n".join(f"- {p.text}" for p in problems)
            )
        return record

    def _safety_alerts_only(self) -> tuple[Alert, ...]:
        """While other fields are invalid, still raise the alerts of the PHQ-9 and C-SSRS answers.

        The screening package decides the alerts; it is given only the questionnaire part.
        """
        data, _, _ = self._read()
        try:
            part = ScreeningRecord.model_validate({"phq9": data["phq9"], "cssrs": data["cssrs"]})
        except ValidationError:
            return ()
        return screen(part, protocol=self.protocol).alerts


def _valid_code(code: str) -> bool:
    try:
        ScreeningRecord.model_validate({"diagnoses": [code]})
    except ValidationError:
        return False
    return True
