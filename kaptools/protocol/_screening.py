"""The ``[screening]`` table: every screening rule, its severity, message and source.

The table also defines the words only screening uses (medication classes, checklist
questions). The words every layer shares (answers, severities, trial outcomes, stop
reasons, C-SSRS questions) live in :mod:`kaptools.vocabulary` and are re-exported
here so older imports keep working.

Layout of the table (see ``default.toml`` for the full, commented default)::

    [screening.thresholds]      numbers: age, blood pressure, benzodiazepine dose, trials
    [screening.indication]      ICD-10-CM code prefixes of the primary and off-label indications
    [screening.trials]          which outcomes fail a trial, which stop reasons disqualify it
    [screening.required]        the message of every "required answer missing" finding
    [screening.rules.<rule_id>] severity, message, source (+ codes or medication classes)
    [screening.alerts.<alert>]  C-SSRS safety alerts: level, questions, message, action, source

Rule messages may name protocol values in braces (``{bp_caution}``); the names
allowed are :data:`MESSAGE_PLACEHOLDERS`, filled from ``[screening.thresholds]``,
so a message can never disagree with the number the rule checks.
"""

from __future__ import annotations

import enum
import string
from typing import Annotated

from pydantic import Field, StringConstraints, field_validator, model_validator

from kaptools.alerts import AlertLevel
from kaptools.icd10 import ICD10_CODE_PATTERN, covered_by, is_item, normalise_code
from kaptools.icd10 import release as icd10_release
from kaptools.protocol._common import Section, Source, Threshold
from kaptools.protocol._routes import Route
from kaptools.protocol._screening_thresholds import Thresholds, TrialsTable
from kaptools.vocabulary import (
    Answer,
    CssrsQuestion,
    Severity,
    Sex,
    StopReason,
    TrialOutcome,
)

__all__ = [
    "ICD10_PATTERN",
    "MESSAGE_PLACEHOLDERS",
    "Answer",
    "CssrsQuestion",
    "HistoryQuestion",
    "IndicationTable",
    "MedicationClass",
    "MedicationRule",
    "QuestionRule",
    "Rule",
    "ScreeningAlertRule",
    "ScreeningSection",
    "Severity",
    "Sex",
    "StopReason",
    "TrialOutcome",
    "normalise_icd10",
]


# ---------------------------------------------------------------------------
# Vocabulary shared by records, rules and results


class MedicationClass(enum.StrEnum):
    """Drug classes the screening rules look for on the current medication list.

    Members are listed, with sources, in ``kaptools/screening/data/`` (README.md there);
    interactions from the SPRAVATO label and racemic-ketamine reviews [2.1, 2.3].
    """

    ANTIDEPRESSANT = "antidepressant"
    BENZODIAZEPINE = "benzodiazepine"
    OPIOID = "opioid"
    CNS_DEPRESSANT = "cns_depressant"
    MAOI = "maoi"
    PSYCHOSTIMULANT = "psychostimulant"
    MOOD_STABILISER = "mood_stabiliser"
    ATTENUATES_KETAMINE = "attenuates_ketamine"
    """Lamotrigine and naltrexone: may blunt ketamine's effect [2.3]."""
    AUGMENTATION = "augmentation"
    """Augmentation agents of depression (aripiprazole, lithium, liothyronine, ...) [1.2, 1.3]."""
    CYP_INHIBITOR = "cyp_inhibitor"
    """Strong inhibitors of CYP3A4 or CYP2B6, which clear ketamine: raise exposure [2.3]."""
    CYP_INDUCER = "cyp_inducer"
    """Strong inducers of CYP3A4 or CYP2B6: lower ketamine exposure [2.3]."""
    NO_KAP_INTERACTION = "no_kap_interaction"
    """Common drugs checked and not known to matter for KAP (kaptools default)."""


class HistoryQuestion(enum.StrEnum):
    """The history checklist: one yes/no/unknown question per contraindication or caution.

    Sources: SPRAVATO label [2.1], racemic ketamine [2.3], practice lists [1.5, 2.4].
    Each question is also the id of the rule that a "yes" fires.
    """

    ANEURYSM_OR_AVM = "aneurysm_or_avm"
    INTRACEREBRAL_HAEMORRHAGE = "intracerebral_haemorrhage"
    KETAMINE_HYPERSENSITIVITY = "ketamine_hypersensitivity"
    PSYCHOSIS = "psychosis"
    ACTIVE_SUBSTANCE_USE_DISORDER = "active_substance_use_disorder"
    KETAMINE_MISUSE = "ketamine_misuse"
    SEVERE_HEPATIC_IMPAIRMENT = "severe_hepatic_impairment"
    BIPOLAR_DISORDER = "bipolar_disorder"
    FAMILY_HISTORY_PSYCHOSIS = "family_history_psychosis"
    REMITTED_SUBSTANCE_USE_DISORDER = "remitted_substance_use_disorder"
    CARDIOVASCULAR_DISEASE = "cardiovascular_disease"
    HYPERTENSIVE_ENCEPHALOPATHY = "hypertensive_encephalopathy"
    RAISED_INTRACRANIAL_OR_INTRAOCULAR_PRESSURE = "raised_intracranial_or_intraocular_pressure"
    MODERATE_HEPATIC_IMPAIRMENT = "moderate_hepatic_impairment"
    BLADDER_SYMPTOMS = "bladder_symptoms"
    # Added in the second round of product decisions ("Questions added to the checklist").
    RECENT_MI_STROKE_OR_TIA = "recent_mi_stroke_or_tia"
    POORLY_CONTROLLED_HYPERTENSION = "poorly_controlled_hypertension"
    ARRHYTHMIA = "arrhythmia"
    SEIZURE_DISORDER = "seizure_disorder"
    HYPERTHYROIDISM = "hyperthyroidism"
    COGNITIVE_IMPAIRMENT = "cognitive_impairment"
    SLEEP_APNOEA_OR_RESPIRATORY_INSUFFICIENCY = "sleep_apnoea_or_respiratory_insufficiency"
    # Ketalar SmPC contraindications for racemic ketamine (default protocol, "Screening is
    # per route where the labels differ").
    PREVIOUS_STROKE_OR_CEREBRAL_TRAUMA = "previous_stroke_or_cerebral_trauma"
    SEVERE_CORONARY_OR_MYOCARDIAL_DISEASE = "severe_coronary_or_myocardial_disease"

    @property
    def label(self) -> str:
        """The question as a clinician asks it."""
        return _QUESTION_LABELS[self]


_QUESTION_LABELS = {
    HistoryQuestion.ANEURYSM_OR_AVM: (
        "Aneurysmal vascular disease (aorta, intracranial or peripheral arteries) or an "
        "arteriovenous malformation"
    ),
    HistoryQuestion.INTRACEREBRAL_HAEMORRHAGE: "History of intracerebral haemorrhage",
    HistoryQuestion.KETAMINE_HYPERSENSITIVITY: "Hypersensitivity to ketamine or esketamine",
    HistoryQuestion.PSYCHOSIS: "Psychotic disorder, or psychotic features now",
    HistoryQuestion.ACTIVE_SUBSTANCE_USE_DISORDER: (
        "Active substance use disorder (other than tobacco)"
    ),
    HistoryQuestion.KETAMINE_MISUSE: "Any misuse of ketamine, ever",
    HistoryQuestion.SEVERE_HEPATIC_IMPAIRMENT: "Severe hepatic impairment (Child-Pugh C)",
    HistoryQuestion.BIPOLAR_DISORDER: "Bipolar disorder",
    HistoryQuestion.FAMILY_HISTORY_PSYCHOSIS: "A first-degree relative with psychosis",
    HistoryQuestion.REMITTED_SUBSTANCE_USE_DISORDER: "Substance use disorder in remission",
    HistoryQuestion.CARDIOVASCULAR_DISEASE: "Cardiovascular or cerebrovascular disease",
    HistoryQuestion.HYPERTENSIVE_ENCEPHALOPATHY: "History of hypertensive encephalopathy",
    HistoryQuestion.RAISED_INTRACRANIAL_OR_INTRAOCULAR_PRESSURE: (
        "Raised intracranial or intraocular pressure"
    ),
    HistoryQuestion.MODERATE_HEPATIC_IMPAIRMENT: "Moderate hepatic impairment (Child-Pugh B)",
    HistoryQuestion.BLADDER_SYMPTOMS: "Cystitis or bladder symptoms",
    HistoryQuestion.RECENT_MI_STROKE_OR_TIA: (
        "Myocardial infarction, stroke or TIA in the past 6 months"
    ),
    HistoryQuestion.POORLY_CONTROLLED_HYPERTENSION: "History of poorly controlled hypertension",
    HistoryQuestion.ARRHYTHMIA: "Arrhythmia or tachyarrhythmia",
    HistoryQuestion.SEIZURE_DISORDER: "Seizure disorder",
    HistoryQuestion.HYPERTHYROIDISM: "Hyperthyroidism, untreated or poorly controlled",
    HistoryQuestion.COGNITIVE_IMPAIRMENT: "Cognitive impairment or dementia",
    HistoryQuestion.SLEEP_APNOEA_OR_RESPIRATORY_INSUFFICIENCY: (
        "Obstructive sleep apnoea, COPD or other respiratory insufficiency"
    ),
    HistoryQuestion.PREVIOUS_STROKE_OR_CEREBRAL_TRAUMA: (
        "Stroke (cerebrovascular accident) or cerebral trauma, ever"
    ),
    HistoryQuestion.SEVERE_CORONARY_OR_MYOCARDIAL_DISEASE: (
        "Severe coronary or myocardial disease (e.g. unstable angina, heart failure)"
    ),
}


# ---------------------------------------------------------------------------
# ICD-10-CM codes

ICD10_PATTERN = ICD10_CODE_PATTERN
"""An ICD-10-CM code: letter, digit, digit or letter, then up to four characters after
an optional dot (the dot is added when missing)."""


def normalise_icd10(code: str) -> str | None:
    """``code`` in canonical form (upper case, dot after the category), or None if malformed."""
    return normalise_code(code)


def _codes(values: tuple[str, ...]) -> tuple[str, ...]:
    """Protocol code lists: ICD-10-CM codes or blocks, each checked against the release."""
    out = []
    for v in values:
        norm = v.strip().upper() if "-" in v else normalise_icd10(v)
        if norm is None or not is_item(norm):
            msg = (
                f"{v!r} is not an ICD-10-CM code or block in {icd10_release()} (write a code "
                f"such as 'F32' or 'F43.1', or a block such as 'F10-F19'); every code under "
                f"it in the hierarchy counts"
            )
            raise ValueError(msg)
        out.append(norm)
    return tuple(out)


CodeList = tuple[str, ...]


# ---------------------------------------------------------------------------
# Rules

MESSAGE_PLACEHOLDERS = (
    "age_minimum",
    "age_caution_from",
    "bp_defer",
    "bp_caution",
    "benzodiazepine_high_dose",
    "failed_trials_min",
    "trial_weeks_min",
    "heart_rate_range",
    "racemic_bp",
)
"""The names a rule message may use in braces; each is filled from ``[screening.thresholds]``."""

Message = Annotated[str, StringConstraints(strip_whitespace=True, min_length=10)]


def _check_placeholders(message: str, allowed: tuple[str, ...]) -> str:
    try:
        names = [name for _, name, _, _ in string.Formatter().parse(message) if name is not None]
    except ValueError as exc:
        msg = f"the message has unbalanced braces ({exc}); write {{{{ and }}}} for a literal brace"
        raise ValueError(msg) from None
    unknown = [n for n in names if n not in allowed]
    if unknown:
        msg = (
            f"the message names {unknown}, which are not protocol values; use only {list(allowed)}"
        )
        raise ValueError(msg)
    return message


class Rule(Section):
    """One screening rule: the severity it gives, the message a clinician reads, its source.

    ``route_severity`` gives the rule another severity for some routes, where the labels
    differ (default protocol, "Screening is per route where the labels differ"): e.g. a
    caution for esketamine that the Ketalar SmPC makes an exclusion for IV and IM racemic
    ketamine. ``route_source`` says where the difference comes from.
    """

    severity: Severity
    message: Message
    source: Source
    route_severity: dict[Route, Severity] = Field(default_factory=dict)
    route_source: str = ""

    @field_validator("message")
    @classmethod
    def _placeholders(cls, message: str) -> str:
        return _check_placeholders(message, MESSAGE_PLACEHOLDERS)

    @model_validator(mode="after")
    def _route_source(self) -> Rule:
        if self.route_severity and len(self.route_source.strip()) < 5:
            msg = (
                "route_source: a rule with route_severity must say where the route "
                "difference comes from (e.g. 'Ketalar SmPC (UK): contraindications')"
            )
            raise ValueError(msg)
        return self

    def severity_for(self, route: Route) -> Severity:
        """The severity this rule gives for ``route``."""
        return self.route_severity.get(route, self.severity)


class QuestionRule(Rule):
    """Fires when its checklist question is answered "yes" or a listed diagnosis is recorded.

    ``diagnoses`` are ICD-10-CM codes or blocks: every code under one of them in the
    ICD-10-CM hierarchy fires the rule ("F20" covers F20.9; "F10-F19" the whole block).
    ``diagnoses_except`` are codes under them that do not count. A code counts only
    when its description (or an ancestor's, below the listed code) contains one of
    ``diagnoses_described_as``, if given, and none of ``diagnoses_except_described_as``
    (e.g. "in remission"): the words come from the ICD-10-CM release, not from kaptools.
    """

    diagnoses: CodeList = ()
    diagnoses_except: CodeList = ()
    diagnoses_described_as: tuple[str, ...] = ()
    diagnoses_except_described_as: tuple[str, ...] = ()
    diagnoses_source: str = ""
    """Where the code list comes from (required when ``diagnoses`` is given)."""

    @field_validator("diagnoses", "diagnoses_except")
    @classmethod
    def _valid_codes(cls, values: tuple[str, ...]) -> tuple[str, ...]:
        return _codes(values)

    @model_validator(mode="after")
    def _codes_have_a_source(self) -> QuestionRule:
        if self.diagnoses and len(self.diagnoses_source.strip()) < 5:
            msg = (
                "diagnoses_source: a rule that lists diagnoses must say where the codes come "
                "from (e.g. 'ICD-10-CM tabular list: I71 aortic aneurysm and dissection')"
            )
            raise ValueError(msg)
        return self

    def covers(self, code: str) -> bool:
        """True when recorded ICD-10-CM ``code`` fires this rule through the hierarchy."""
        return bool(self.diagnoses) and covered_by(
            code,
            self.diagnoses,
            self.diagnoses_except,
            described_as=self.diagnoses_described_as,
            except_described_as=self.diagnoses_except_described_as,
        )


class MedicationRule(Rule):
    """Fires when a current medication belongs to one of ``classes``."""

    classes: tuple[MedicationClass, ...] = Field(min_length=1)


class ScreeningAlertRule(Section):
    """A C-SSRS safety alert: raised when any of ``questions`` is answered "yes" [4.8, 7]."""

    level: AlertLevel
    questions: tuple[CssrsQuestion, ...] = Field(min_length=1)
    message: Message
    action: Message
    source: Source


class ScreeningRules(Section):
    """Every screening rule, by id. The order here is the order findings are listed in."""

    # Indication [1.1, 1.2, 1.4]
    indication_not_met: Rule
    indication_undetermined: Rule
    indication_off_label: Rule
    indication_primary_met: Rule
    trials_not_judged: Rule
    # Age, sex, pregnancy, blood pressure [2.1, 2.3]
    age_under_minimum: Rule
    age_older_adult: Rule
    pregnancy_or_breastfeeding: Rule
    blood_pressure_defer: Rule
    blood_pressure_raised: Rule
    blood_pressure_racemic_limit: Rule
    heart_rate_outside_range: Rule
    pregnancy_prevention_not_confirmed: Rule
    # History checklist [2.1, 2.3, 1.5]: one rule per HistoryQuestion, same id
    aneurysm_or_avm: QuestionRule
    intracerebral_haemorrhage: QuestionRule
    ketamine_hypersensitivity: QuestionRule
    psychosis: QuestionRule
    active_substance_use_disorder: QuestionRule
    ketamine_misuse: QuestionRule
    severe_hepatic_impairment: QuestionRule
    bipolar_disorder: QuestionRule
    bipolar_no_mood_stabiliser: Rule
    family_history_psychosis: QuestionRule
    remitted_substance_use_disorder: QuestionRule
    cardiovascular_disease: QuestionRule
    hypertensive_encephalopathy: QuestionRule
    raised_intracranial_or_intraocular_pressure: QuestionRule
    moderate_hepatic_impairment: QuestionRule
    bladder_symptoms: QuestionRule
    recent_mi_stroke_or_tia: QuestionRule
    poorly_controlled_hypertension: QuestionRule
    arrhythmia: QuestionRule
    seizure_disorder: QuestionRule
    hyperthyroidism: QuestionRule
    cognitive_impairment: QuestionRule
    sleep_apnoea_or_respiratory_insufficiency: QuestionRule
    previous_stroke_or_cerebral_trauma: QuestionRule
    severe_coronary_or_myocardial_disease: QuestionRule
    diagnosis_answer_disagreement: Rule
    # Current medications [2.1, 2.3]
    benzodiazepine: MedicationRule
    benzodiazepine_high_dose: Rule
    benzodiazepine_dose_unknown: Rule
    attenuating_medication: MedicationRule
    blood_pressure_medication: MedicationRule
    sedating_medication: MedicationRule
    ketamine_metabolism_medication: MedicationRule
    medication_unrecognised: Rule
    # Suicide risk [4.8, 7]
    cssrs_urgent_risk: Rule
    cssrs_moderate_risk: Rule
    cssrs_unknown: Rule


class IndicationTable(Section):
    """ICD-10-CM codes of the indications [1.1, 1.4]; each covers every code under it."""

    primary_diagnoses: CodeList = Field(min_length=1)
    """Major depressive disorder: the primary indication (with enough failed trials)."""
    primary_diagnoses_except: CodeList = ()
    """Codes under the primary prefixes that are not a current MDD episode."""
    primary_source: Source
    off_label_diagnoses: CodeList = ()
    """Other indications in use: a caution when the primary indication is not met."""
    off_label_source: Source

    @field_validator("primary_diagnoses", "primary_diagnoses_except", "off_label_diagnoses")
    @classmethod
    def _valid_codes(cls, values: tuple[str, ...]) -> tuple[str, ...]:
        return _codes(values)


class RequiredAnswers(Section):
    """The message of every "required answer unknown" finding (severity: missing).

    ``{answer}`` is replaced by what is missing ("Blood pressure", a checklist question).
    """

    message: Message
    source: Source

    @field_validator("message")
    @classmethod
    def _placeholders(cls, message: str) -> str:
        _check_placeholders(message, ("answer", *MESSAGE_PLACEHOLDERS))
        if "{answer}" not in message:
            msg = "the message must name {answer}, so the clinician sees what to ask"
            raise ValueError(msg)
        return message


class ScreeningAlerts(Section):
    """The C-SSRS safety alerts (PHQ-9 item 9 is raised by kaptools.scores) [4.8, 7].

    The screen's triage: ``cssrs_urgent_risk`` (high risk) also gives the exclusion of
    the same id; ``cssrs_moderate_risk`` (moderate risk, only when not high) also gives
    the caution of the same id; ``cssrs_ideation`` is an alert only.
    """

    cssrs_ideation: ScreeningAlertRule
    cssrs_moderate_risk: ScreeningAlertRule
    cssrs_urgent_risk: ScreeningAlertRule


class ScreeningSection(Section):
    """The ``[screening]`` table of a protocol."""

    thresholds: Thresholds
    indication: IndicationTable
    trials: TrialsTable
    required: RequiredAnswers
    rules: ScreeningRules
    alerts: ScreeningAlerts

    @model_validator(mode="after")
    def _consistent(self) -> ScreeningSection:
        # A checklist question without its rule (or the reverse) could not be screened.
        questions = {q.value for q in HistoryQuestion}
        question_rules = {
            name for name, f in ScreeningRules.model_fields.items() if f.annotation is QuestionRule
        }
        if questions != question_rules:  # pragma: no cover - guards the code, not the file
            msg = f"checklist questions and question rules differ: {questions ^ question_rules}"
            raise ValueError(msg)
        return self

    def rule(self, rule_id: str) -> Rule:
        """The rule with id ``rule_id``; KeyError if the protocol has none."""
        if rule_id not in ScreeningRules.model_fields:
            raise KeyError(rule_id)
        return getattr(self.rules, rule_id)

    @property
    def rule_ids(self) -> tuple[str, ...]:
        """Every rule id, in listing order."""
        return tuple(ScreeningRules.model_fields)

    def message_values(self) -> dict[str, str]:
        """The protocol values a rule message may name, as text with their units."""
        t = self.thresholds
        return {
            "age_minimum": str(t.age_minimum),
            "age_caution_from": str(t.age_caution_from),
            "bp_defer": _bp_text(t.bp_defer_systolic_min, t.bp_defer_diastolic_min),
            "bp_caution": _bp_text(t.bp_caution_systolic_above, t.bp_caution_diastolic_above),
            "benzodiazepine_high_dose": str(t.benzodiazepine_high_dose_above),
            "failed_trials_min": _number(t.failed_adequate_trials_min.value),
            "trial_weeks_min": str(t.trial_weeks_min),
            "racemic_bp": _bp_text(t.racemic_bp_systolic_above, t.racemic_bp_diastolic_above),
            "heart_rate_range": (
                f"{_number(t.heart_rate_caution_below.value)}-"
                f"{_number(t.heart_rate_caution_above.value)} {t.heart_rate_caution_above.unit}"
            ),
        }

    def message(self, rule_id: str) -> str:
        """The message of rule ``rule_id`` with its protocol values filled in."""
        return self.rule(rule_id).message.format_map(self.message_values())

    def required_message(self, answer: str) -> str:
        """The message of a "required answer unknown" finding about ``answer``."""
        return self.required.message.format_map({**self.message_values(), "answer": answer})


def _number(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else str(value)


def _bp_text(systolic: Threshold, diastolic: Threshold) -> str:
    return f"{_number(systolic.value)}/{_number(diastolic.value)} {systolic.unit}"
