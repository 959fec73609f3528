"""The screening record: what screening takes for one patient, checked at the edge.

``ScreeningRecord`` is a pydantic model because records arrive untrusted (JSON, a
form, a CSV row). Its JSON Schema is published (:func:`screening_record_schema`,
``kaptools screen --schema``, and ``screening_record.schema.json`` beside this
module, kept in sync by a test). Every field is described there and in README.md.

Unknown is never "no": a question left out is ``unknown``; a diagnosis, trial or
medication list left out (``null``) is unknown, while an empty list means "none".
"""

from __future__ import annotations

import functools
import math
from typing import TYPE_CHECKING, Annotated, Any

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationError,
    create_model,
    field_validator,
    model_validator,
)

from kaptools.errors import Problem, RecordError, problems_from_validation, shown_value
from kaptools.icd10 import validate_code
from kaptools.limits import entry_range, size_limit
from kaptools.protocol import HistoryQuestion
from kaptools.vocabulary import Answer, CssrsQuestion, Sex, StopReason, TrialOutcome

__all__ = [
    "AGE_MAX_YEARS",
    "DIASTOLIC_MAX_MMHG",
    "DIASTOLIC_MIN_MMHG",
    "DOSE_MAX_MG",
    "HEART_RATE_MAX_BPM",
    "HEART_RATE_MIN_BPM",
    "SCHEMA_ID",
    "SYSTOLIC_MAX_MMHG",
    "SYSTOLIC_MIN_MMHG",
    "TRIAL_WEEKS_MAX",
    "WEIGHT_MAX_KG",
    "WEIGHT_MIN_KG",
    "AntidepressantTrial",
    "CssrsScreener",
    "HistoryChecklist",
    "Medication",
    "ScreeningRecord",
    "phq9_definition",
    "screening_record_schema",
]

# Plausibility limits of the input. They reject typing errors (an age of 420, a
# blood pressure of 12); they are not clinical thresholds, which live in the protocol.
# The shared ones come from kaptools/limits.toml.
AGE_MAX_YEARS = int(entry_range("age_years")[1])
WEIGHT_MIN_KG, WEIGHT_MAX_KG = map(float, entry_range("weight_kg"))
SYSTOLIC_MIN_MMHG, SYSTOLIC_MAX_MMHG = map(float, entry_range("systolic_mmhg"))
DIASTOLIC_MIN_MMHG, DIASTOLIC_MAX_MMHG = map(float, entry_range("diastolic_mmhg"))
HEART_RATE_MIN_BPM, HEART_RATE_MAX_BPM = map(float, entry_range("heart_rate_bpm"))
DOSE_MAX_MG = 10_000.0
"""Largest daily dose of any one drug accepted, in mg (typing-error guard)."""
TRIAL_WEEKS_MAX = 520.0
"""Longest antidepressant trial accepted, in weeks (ten years)."""
DRUG_NAME_MAX_LENGTH = 100
LIST_MAX_ITEMS = size_limit("record_list_max_items")
"""Most diagnoses, trials or medications one record may list (limits.toml)."""

SCHEMA_ID = "urn:kaptools:schema:screening-record:1"


@functools.cache
def phq9_definition() -> Any:
    """The PHQ-9 definition from kaptools.scores (item count, answer range, suicide item)."""
    from kaptools.scores import Instrument, definition

    return definition(Instrument.PHQ9)


def _no_bool(value: object) -> object:
    if isinstance(value, bool):
        msg = "a yes/no value is not a number"
        raise ValueError(msg)
    return value


def _bounds(lo: float, hi: float, *, gt: bool = False) -> Any:
    """The pydantic constraints of a finite number from ``lo`` (exclusive if ``gt``) to ``hi``."""
    if gt:
        return Field(allow_inf_nan=False, le=hi, gt=lo)
    return Field(allow_inf_nan=False, le=hi, ge=lo)


_NO_BOOL = BeforeValidator(_no_bool)
DrugName = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=DRUG_NAME_MAX_LENGTH)
]
DailyDose = Annotated[float, _NO_BOOL, _bounds(0.0, DOSE_MAX_MG, gt=True)]
Weeks = Annotated[float, _NO_BOOL, _bounds(0.0, TRIAL_WEEKS_MAX)]
WeightKg = Annotated[float, _NO_BOOL, _bounds(WEIGHT_MIN_KG, WEIGHT_MAX_KG)]
SystolicMmHg = Annotated[float, _NO_BOOL, _bounds(SYSTOLIC_MIN_MMHG, SYSTOLIC_MAX_MMHG)]
DiastolicMmHg = Annotated[float, _NO_BOOL, _bounds(DIASTOLIC_MIN_MMHG, DIASTOLIC_MAX_MMHG)]
HeartRateBpm = Annotated[float, _NO_BOOL, _bounds(HEART_RATE_MIN_BPM, HEART_RATE_MAX_BPM)]
AgeYears = Annotated[int, _NO_BOOL, Field(ge=0, le=AGE_MAX_YEARS)]
PatientId = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1)]


class _Edge(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class AntidepressantTrial(_Edge):
    """One antidepressant trial in the current episode [1.2]."""

    drug: DrugName = Field(
        description=(
            "Drug name as written: ingredient, brand, salt or combination (e.g. "
            "'sertraline', 'Zoloft', 'escitalopram oxalate', 'Wellbutrin XL 300 mg'); it is "
            "resolved to its ingredient (kaptools/screening/data/README.md). A name that "
            "does not resolve, or a drug not in kaptools' minimum-dose table, cannot be judged."
        )
    )
    daily_dose_mg: DailyDose | None = Field(
        None, description="Highest daily dose reached, in mg; null when unknown."
    )
    weeks: Weeks | None = Field(
        None, description="How long the drug was taken, in weeks; null when unknown."
    )
    outcome: TrialOutcome = Field(
        TrialOutcome.UNKNOWN,
        description="no_response, partial_response (under 50 % improvement), response, "
        "remission or unknown.",
    )
    stop_reason: StopReason = Field(
        StopReason.UNKNOWN,
        description="Why it ended: ongoing (still taking it), lack_of_effect, intolerance, "
        "other or unknown.",
    )


class Medication(_Edge):
    """One current medication."""

    drug: DrugName = Field(
        description=(
            "Drug name as written: ingredient, brand, salt or combination (e.g. "
            "'lorazepam', 'Xanax XR', 'oxycodone/acetaminophen'); it is resolved to its "
            "ingredient(s). A name that does not resolve is never guessed: the "
            "medication_unrecognised finding offers close names."
        )
    )
    daily_dose_mg: DailyDose | None = Field(
        None, description="Total daily dose in mg; null when unknown."
    )


class CssrsScreener(_Edge):
    """C-SSRS screener answers [4.8]: questions 1–5 about the past month, 6 about behaviour.

    ``null`` is "not asked". Questions 3–5 are asked only after a "yes" to question 2;
    when question 2 is "no" they count as "no", otherwise a missing answer is unknown.
    Question 6 asks about suicidal behaviour over a lifetime, then whether it was in
    the past 3 months: a "yes" for the past 3 months means "yes" for the lifetime, and
    a lifetime "no" means "no" for the past 3 months (the follow-up is not asked).
    """

    wish_to_be_dead: Answer | None = Field(None, description="Q1, past month.")
    active_thoughts: Answer | None = Field(
        None, description="Q2, non-specific active suicidal thoughts, past month."
    )
    method: Answer | None = Field(None, description="Q3, thoughts with a method, past month.")
    intent: Answer | None = Field(
        None, description="Q4, intent without a specific plan, past month."
    )
    plan: Answer | None = Field(None, description="Q5, intent with a specific plan, past month.")
    behaviour_lifetime: Answer | None = Field(
        None,
        description="Q6, any suicidal behaviour ever (lifetime); implied yes when "
        "behaviour_past_3_months is yes.",
    )
    behaviour_past_3_months: Answer | None = Field(
        None,
        description="Q6 follow-up, suicidal behaviour in the past 3 months; implied no when "
        "behaviour_lifetime is no.",
    )

    @model_validator(mode="after")
    def _behaviour_consistent(self) -> CssrsScreener:
        if self.behaviour_lifetime == Answer.NO and self.behaviour_past_3_months == Answer.YES:
            msg = (
                "behaviour_past_3_months is 'yes' but behaviour_lifetime is 'no': behaviour in "
                "the past 3 months is lifetime behaviour; answer behaviour_lifetime 'yes'"
            )
            raise ValueError(msg)
        return self

    def effective(self, question: CssrsQuestion) -> Answer:
        """The answer the rules use: skipped questions count as the screen's flow implies.

        Questions 3–5 skipped after a "no" to question 2 count as "no"; lifetime
        behaviour is "yes" when behaviour in the past 3 months is "yes"; the past-3-
        months follow-up is "no" after a lifetime "no".
        """
        value = getattr(self, question.value)
        if value is not None and value != Answer.UNKNOWN:
            return value
        if question.asked_only_after_active_thoughts and self.active_thoughts == Answer.NO:
            return Answer.NO if value is None else value
        if (
            question == CssrsQuestion.BEHAVIOUR_LIFETIME
            and self.behaviour_past_3_months == Answer.YES
        ):
            return Answer.YES
        if (
            question == CssrsQuestion.BEHAVIOUR_PAST_3_MONTHS
            and self.behaviour_lifetime == Answer.NO
        ):
            return Answer.NO
        return Answer.UNKNOWN

    @property
    def given(self) -> bool:
        """True when at least one question has an answer."""
        return any(getattr(self, q.value) is not None for q in CssrsQuestion)


class _HistoryBase(_Edge):
    def answer(self, question: HistoryQuestion) -> Answer:
        """The answer to ``question`` (unknown when it was not asked)."""
        return getattr(self, question.value)


_HISTORY_FIELDS: dict[str, Any] = {
    q.value: (Answer, Field(Answer.UNKNOWN, description=f"{q.label}?")) for q in HistoryQuestion
}

if TYPE_CHECKING:
    # Type checkers see a class; its fields, one per HistoryQuestion, are made at run time.
    class HistoryChecklist(_HistoryBase):
        """The history checklist (one ``Answer`` field per :class:`HistoryQuestion`)."""

else:
    HistoryChecklist = create_model(
        "HistoryChecklist",
        __base__=_HistoryBase,
        __doc__=(
            "The history checklist: every contraindication and caution question, answered "
            "yes, no or unknown. A question left out is unknown, never no."
        ),
        **_HISTORY_FIELDS,
    )


class ScreeningRecord(_Edge):
    """One patient's screening record: the input of :func:`kaptools.screening.screen`.

    Synthetic data only in examples and tests. Build one from untrusted data with
    :meth:`parse` (a :class:`~kaptools.errors.RecordError` names every bad field).
    """

    model_config = ConfigDict(
        extra="forbid",
        frozen=True,
        title="kaptools screening record",
        json_schema_extra={"$id": SCHEMA_ID},
    )

    patient_id: PatientId | None = Field(
        None, description="Identifier for cohort tables (synthetic data only)."
    )
    age_years: AgeYears | None = Field(
        None, description="Age in whole years at screening; null when unknown (required)."
    )
    sex: Sex = Field(
        Sex.UNKNOWN,
        description="female, male, other or unknown (required: unknown makes it incomplete). "
        "Pregnancy answers are required unless male.",
    )
    weight_kg: WeightKg | None = Field(
        None, description="Weight in kg (recorded for course planning; no screening rule)."
    )
    pregnant: Answer = Field(Answer.UNKNOWN, description="Currently pregnant: yes, no or unknown.")
    breastfeeding: Answer = Field(
        Answer.UNKNOWN, description="Currently breastfeeding: yes, no or unknown."
    )
    pregnancy_prevention_discussed: Answer = Field(
        Answer.UNKNOWN,
        description="Could become pregnant: contraception discussed, or a pregnancy test done "
        "where the clinic requires it: yes, no or unknown (required unless male).",
    )
    diagnoses: tuple[str, ...] | None = Field(
        None,
        max_length=LIST_MAX_ITEMS,
        description="ICD-10-CM codes, e.g. 'F33.1' (the dot may be left out), each a code of "
        "the ICD-10-CM release kaptools ships; [] when the patient has no diagnosis (the "
        "indication is then not met); null when the diagnoses were not recorded "
        "(required: unknown makes screening incomplete).",
    )
    antidepressant_trials: tuple[AntidepressantTrial, ...] | None = Field(
        None,
        max_length=LIST_MAX_ITEMS,
        description="Antidepressant trials in the current episode; [] when there were none; "
        "null when the history is unknown.",
    )
    current_medications: tuple[Medication, ...] | None = Field(
        None,
        max_length=LIST_MAX_ITEMS,
        description="Current medications with daily doses; [] when none; null when the "
        "list is unknown (required).",
    )
    systolic_bp_mmhg: SystolicMmHg | None = Field(
        None, description="Systolic blood pressure at screening, mmHg (required)."
    )
    diastolic_bp_mmhg: DiastolicMmHg | None = Field(
        None, description="Diastolic blood pressure at screening, mmHg (required)."
    )
    heart_rate_bpm: HeartRateBpm | None = Field(
        None,
        description="Heart rate at screening, beats per minute (required; outside the "
        "protocol's range gives a caution).",
    )
    history: HistoryChecklist = Field(
        default_factory=HistoryChecklist,
        description="The history checklist; every question is required.",
    )
    phq9: tuple[int | None, ...] | None = Field(
        None,
        description="Optional baseline PHQ-9: 9 answers in item order (0-3, null when "
        "unanswered). Item 9 at or above the protocol threshold raises a safety alert.",
    )
    cssrs: CssrsScreener | None = Field(
        None, description="Optional C-SSRS screener answers; null when not given."
    )

    @field_validator("diagnoses")
    @classmethod
    def _icd10(cls, codes: tuple[str, ...] | None) -> tuple[str, ...] | None:
        if codes is None:
            return None
        # Each code must exist in the ICD-10-CM release kaptools ships (kaptools.icd10):
        # an error names the code and its place in the list.
        return tuple(
            validate_code(code, f"diagnoses[{i}]") for i, code in enumerate(codes, start=1)
        )

    @field_validator("phq9", mode="before")
    @classmethod
    def _phq9_answers(cls, value: object) -> object:
        if value is None:
            return None
        defn = phq9_definition()
        if not isinstance(value, list | tuple) or len(value) != defn.item_count:
            msg = f"give {defn.item_count} PHQ-9 answers in item order (null for unanswered)"
            raise ValueError(msg)
        out: list[int | None] = []
        for i, v in enumerate(value, start=1):
            if v is None:
                out.append(None)
                continue
            if isinstance(v, float) and math.isnan(v):
                msg = (
                    f"PHQ-9 item {i} is NaN; write null for an unanswered item (NaN is "
                    f"not an answer, and never read as 'not asked')"
                )
                raise ValueError(msg)
            whole = (
                isinstance(v, int | float)
                and not isinstance(v, bool)
                and defn.item_min <= v <= defn.item_max  # range first: 10**400 has no float
                and float(v).is_integer()
            )
            if not whole:
                msg = (
                    f"PHQ-9 item {i} is {shorten(v)}; answers are whole numbers "
                    f"{defn.answer_range}"
                )
                raise ValueError(msg)
            out.append(int(v))
        return None if all(v is None for v in out) else tuple(out)

    @field_validator("cssrs")
    @classmethod
    def _cssrs_given(cls, value: CssrsScreener | None) -> CssrsScreener | None:
        return value if value is not None and value.given else None

    @model_validator(mode="after")
    def _pressures(self) -> ScreeningRecord:
        s, d = self.systolic_bp_mmhg, self.diastolic_bp_mmhg
        if s is not None and d is not None and d >= s:
            msg = (
                f"diastolic_bp_mmhg ({d}) must be below systolic_bp_mmhg ({s}); "
                f"check the two readings are not swapped"
            )
            raise ValueError(msg)
        return self

    @classmethod
    def parse(cls, data: object) -> ScreeningRecord:
        """Validate ``data`` (a mapping or a record); RecordError naming each bad field."""
        if isinstance(data, cls):
            return data
        try:
            return cls.model_validate(data)
        except ValidationError as exc:
            raise RecordError.of("Screening record", record_problems(exc)) from None

    @classmethod
    def parse_json(cls, text: str | bytes) -> ScreeningRecord:
        """Validate one JSON document as a record; RecordError naming each bad field."""
        try:
            return cls.model_validate_json(text)
        except ValidationError as exc:
            raise RecordError.of("Screening record", record_problems(exc)) from None


shorten = shown_value
"""``repr(value)`` cut for a message (:func:`kaptools.errors.shown_value`)."""

_RECORD_FIXES = {
    "extra_forbidden": "remove it, or correct its spelling against the record schema "
    "(kaptools screen --schema)",
}


def record_problems(exc: ValidationError) -> tuple[Problem, ...]:
    """The problems of a screening record, read by the one formatter (kaptools.errors)."""
    return problems_from_validation(
        exc,
        fixes=_RECORD_FIXES,
        default_fix="correct it (record schema: kaptools screen --schema)",
    )


def screening_record_schema() -> dict[str, Any]:
    """The JSON Schema (draft 2020-12) of a screening record."""
    schema = ScreeningRecord.model_json_schema()
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    return schema
