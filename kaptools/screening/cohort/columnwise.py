"""The screening rules applied to columns: each rule a few array operations.

Each categorical column is mapped once per category (drug names to doses and classes,
codes to indications); findings come back as a boolean matrix (rules × patients) and
the safety alerts as another. The sections follow :func:`kaptools.screening.screen`:
indication (diagnoses and antidepressant trials), age, sex, pregnancy and vital signs,
the history checklist, current medications, then C-SSRS and PHQ-9.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable
from dataclasses import dataclass

import numpy as np

from kaptools.alerts import AlertLevel
from kaptools.protocol import HistoryQuestion, MedicationClass, Protocol
from kaptools.screening.catalogue import RuleCatalogue, unknown_rule_id
from kaptools.screening.layout import ListStatus, ParsedFrame
from kaptools.screening.record import phq9_definition
from kaptools.screening.rules import MEDICATION_RULES, code_matches, phq9_alert_id
from kaptools.screening.tables import DrugTables, TrialRole, drug_tables
from kaptools.vocabulary import Answer, CssrsQuestion, Sex, StopReason, TrialOutcome

__all__ = ["Screened", "screen_arrays"]


def _idx(members: Iterable[object], member: object) -> int:
    return list(members).index(member)


def _answer(codes: np.ndarray) -> np.ndarray:
    """Answer codes with blank read as unknown (an unanswered question is unknown)."""
    return np.where(codes < 0, _idx(Answer, Answer.UNKNOWN), codes)


_YES, _NO, _UNKNOWN = (_idx(Answer, a) for a in (Answer.YES, Answer.NO, Answer.UNKNOWN))


@dataclass
class Screened:
    """The rules and alerts applied to every row of a parsed frame."""

    fired: np.ndarray  # (rules, n) bool, rule-major
    alerts: np.ndarray  # (alerts, n) bool
    alert_ids: tuple[str, ...]
    alert_levels: tuple[AlertLevel, ...]
    failed: np.ndarray
    not_judged: np.ndarray


@dataclass
class _Findings:
    """The findings matrix being filled, rule by rule."""

    fired: np.ndarray
    catalogue: RuleCatalogue

    def fire(self, rule_id: str, mask: np.ndarray) -> None:
        self.fired[self.catalogue.index(rule_id)] = mask

    def of(self, rule_id: str) -> np.ndarray:
        return self.fired[self.catalogue.index(rule_id)]


def _dx_bits(p: ParsedFrame, code_sets: list[Callable[[str], bool]]) -> np.ndarray:
    """Per row, bit k set when a diagnosis falls in code set k (mapped once per category)."""
    bits = np.zeros(p.n, dtype=np.uint64)
    for col in p.dx:
        table = [
            sum((1 << k) for k, covers in enumerate(code_sets) if label and covers(label))
            for label in col.labels
        ]
        bits |= col.lookup(table, 0, np.uint64)
    return bits


def _class_bits(classes: Iterable[MedicationClass]) -> int:
    members = list(MedicationClass)
    return sum(1 << members.index(c) for c in classes)


def screen_arrays(p: ParsedFrame, protocol: Protocol, catalogue: RuleCatalogue) -> Screened:
    """Every rule of ``protocol`` on every row of ``p``, section by section."""
    f = _Findings(np.zeros((len(catalogue), p.n), dtype=bool), catalogue)
    tables = drug_tables()
    dx, question_bit = _diagnosis_bits(p, protocol)
    failed, not_judged = _trial_counts(p, protocol, tables)
    _indication(p, protocol, f, dx, failed, not_judged)
    _person_and_vitals(p, protocol, f)
    _history(p, f, dx, question_bit)
    _medications(p, protocol, f, tables)
    alerts, alert_levels = _safety(p, protocol, f)
    return Screened(
        fired=f.fired,
        alerts=alerts,
        alert_ids=(phq9_alert_id(), "cssrs_ideation", "cssrs_moderate_risk", "cssrs_urgent_risk"),
        alert_levels=alert_levels,
        failed=failed,
        not_judged=not_judged,
    )


def _has_code(dx: np.ndarray, k: int) -> np.ndarray:
    return (dx & np.uint64(1 << k)) != 0


def _diagnosis_bits(
    p: ParsedFrame, protocol: Protocol
) -> tuple[np.ndarray, dict[HistoryQuestion, int]]:
    """Per row, which code sets its diagnoses fall in (bit 0 primary indication, bit 1
    off-label, then one bit per history question a diagnosis answers), mapped per
    category; and each such question's bit."""
    s = protocol.screening
    ind = s.indication
    code_sets: list[Callable[[str], bool]] = [
        functools.partial(
            code_matches, roots=ind.primary_diagnoses, excepted=ind.primary_diagnoses_except
        ),
        functools.partial(code_matches, roots=ind.off_label_diagnoses),
    ]
    question_bit: dict[HistoryQuestion, int] = {}
    for q in HistoryQuestion:
        rule = getattr(s.rules, q.value)
        if rule.diagnoses:
            question_bit[q] = len(code_sets)
            code_sets.append(rule.covers)
    return _dx_bits(p, code_sets), question_bit


def _trial_counts(
    p: ParsedFrame, protocol: Protocol, tables: DrugTables
) -> tuple[np.ndarray, np.ndarray]:
    """Per row, the failed adequate trials and the trials that cannot be judged, slot by slot."""
    s = protocol.screening
    num, cat, n = p.numbers, p.categories, p.n
    weeks_min = s.thresholds.trial_weeks_min.value
    outcomes, stops = list(TrialOutcome), list(StopReason)
    failed_outcome = np.array([o in s.trials.failed_outcomes for o in outcomes])
    disqualifying = np.array([r in s.trials.disqualifying_stop_reasons for r in stops])
    out_unknown, stop_unknown = (
        _idx(outcomes, TrialOutcome.UNKNOWN),
        _idx(stops, StopReason.UNKNOWN),
    )
    failed = np.zeros(n, dtype=np.int16)
    not_judged = np.zeros(n, dtype=np.int16)
    augmentation_counts = s.trials.augmentation_counts
    for k, drug in enumerate(p.trial_drugs, start=1):
        infos = [tables.lookup(label) for label in drug.labels]
        min_dose = drug.lookup(
            [np.nan if i.min_daily_dose_mg is None else i.min_daily_dose_mg for i in infos],
            np.nan,
            np.float64,
        )
        # An augmentation trial that the protocol does not count is ruled out (judged).
        not_counted = drug.lookup(
            [i.trial_role == TrialRole.AUGMENTATION and not augmentation_counts for i in infos],
            False,
            bool,
        )
        dose, weeks = num[f"trial{k}_dose_mg"], num[f"trial{k}_weeks"]
        oc = np.where(cat[f"trial{k}_outcome"] < 0, out_unknown, cat[f"trial{k}_outcome"])
        sc = np.where(cat[f"trial{k}_stop_reason"] < 0, stop_unknown, cat[f"trial{k}_stop_reason"])
        with np.errstate(invalid="ignore"):
            against = (
                (weeks < weeks_min)
                | disqualifying[sc]
                | ((oc != out_unknown) & ~failed_outcome[oc])
                | (dose < min_dose)
                | not_counted
            )
        unsure = (
            np.isnan(min_dose)
            | np.isnan(dose)
            | np.isnan(weeks)
            | (oc == out_unknown)
            | (sc == stop_unknown)
        )
        present = drug.present() & ~against
        failed += present & ~unsure
        not_judged += present & unsure
    return failed, not_judged


def _indication(
    p: ParsedFrame,
    protocol: Protocol,
    f: _Findings,
    dx: np.ndarray,
    failed: np.ndarray,
    not_judged: np.ndarray,
) -> None:
    fire = f.fire
    needed = protocol.screening.thresholds.failed_adequate_trials_min.value
    trials_known = p.categories["trial_history"] == _idx(ListStatus, ListStatus.RECORDED)
    upper = np.where(trials_known, failed + not_judged, np.inf)
    could_change = (failed < needed) & (upper >= needed)
    # Unknown diagnoses have no filled slot (the layout refuses one), so no code fires;
    # the indication is then neither met nor not met (unknown is never "no").
    dx_known = p.diagnoses_known
    primary, off_label = _has_code(dx, 0), _has_code(dx, 1)
    met = primary & (failed >= needed)
    undetermined = primary & could_change
    rest = dx_known & ~met & ~undetermined
    fire("diagnoses_unknown", ~dx_known)
    fire("indication_primary_met", met)
    fire("indication_undetermined", undetermined)
    fire("indication_off_label", rest & off_label)
    fire("indication_not_met", rest & ~off_label)
    fire("trials_not_judged", (not_judged > 0) & ~((primary | ~dx_known) & could_change))


def _person_and_vitals(p: ParsedFrame, protocol: Protocol, f: _Findings) -> None:
    """Age, sex, pregnancy and breastfeeding, heart rate and blood pressure."""
    fire, num, cat = f.fire, p.numbers, p.categories
    t = protocol.screening.thresholds
    yes, no, unknown = _YES, _NO, _UNKNOWN
    age = num["age_years"]
    with np.errstate(invalid="ignore"):
        fire("age_unknown", np.isnan(age))
        fire("age_under_minimum", age < t.age_minimum.value)
        fire("age_older_adult", age >= t.age_caution_from.value)
    sex = cat["sex"]
    fire("sex_unknown", (sex < 0) | (sex == _idx(Sex, Sex.UNKNOWN)))
    male = sex == _idx(Sex, Sex.MALE)
    pregnant, breastfeeding = _answer(cat["pregnant"]), _answer(cat["breastfeeding"])
    either = (pregnant == yes) | (breastfeeding == yes)
    fire("pregnancy_or_breastfeeding", either)
    fire("pregnancy_unknown", ~either & ~male & (pregnant == unknown))
    fire("breastfeeding_unknown", ~either & ~male & (breastfeeding == unknown))
    prevention = _answer(cat["pregnancy_prevention_discussed"])
    could = ~male & (pregnant != yes)
    fire("pregnancy_prevention_not_confirmed", could & (prevention == no))
    fire("pregnancy_prevention_unknown", could & (prevention == unknown))
    hr = num["heart_rate_bpm"]
    fire("heart_rate_unknown", np.isnan(hr))
    with np.errstate(invalid="ignore"):
        fire(
            "heart_rate_outside_range",
            (hr < t.heart_rate_caution_below.value) | (hr > t.heart_rate_caution_above.value),
        )
    sbp, dbp = num["systolic_bp_mmhg"], num["diastolic_bp_mmhg"]
    with np.errstate(invalid="ignore"):
        defer = (sbp >= t.bp_defer_systolic_min.value) | (dbp >= t.bp_defer_diastolic_min.value)
        raised = (sbp > t.bp_caution_systolic_above.value) | (
            dbp > t.bp_caution_diastolic_above.value
        )
    fire("blood_pressure_defer", defer)
    fire("blood_pressure_unknown", ~defer & (np.isnan(sbp) | np.isnan(dbp)))
    fire("blood_pressure_raised", ~defer & raised)
    with np.errstate(invalid="ignore"):
        racemic = (sbp > t.racemic_bp_systolic_above.value) | (
            dbp > t.racemic_bp_diastolic_above.value
        )
    fire("blood_pressure_racemic_limit", ~defer & racemic)


def _history(
    p: ParsedFrame, f: _Findings, dx: np.ndarray, question_bit: dict[HistoryQuestion, int]
) -> None:
    """The history checklist: a "yes", or a diagnosis that answers the question."""
    disagree = np.zeros(p.n, dtype=bool)
    for q in HistoryQuestion:
        answer = _answer(p.categories[q.value])
        hit = answer == _YES
        if q in question_bit:
            coded = _has_code(dx, question_bit[q])
            hit = hit | coded
            disagree |= coded & (answer == _NO)
        f.fire(q.value, hit)
        f.fire(unknown_rule_id(q), ~hit & (answer == _UNKNOWN))
    f.fire("diagnosis_answer_disagreement", disagree)


def _medications(p: ParsedFrame, protocol: Protocol, f: _Findings, tables: DrugTables) -> None:
    """Current medications: classes the rules name, benzodiazepine dose, mood stabiliser."""
    s, fire, n = protocol.screening, f.fire, p.n
    meds_known = p.categories["medication_list"] == _idx(ListStatus, ListStatus.RECORDED)
    fire("medications_unknown", ~meds_known)
    rule_bits = {r: _class_bits(getattr(s.rules, r).classes) for r in MEDICATION_RULES}
    mood_bit = _class_bits([MedicationClass.MOOD_STABILISER])
    benzo_bit = _class_bits([MedicationClass.BENZODIAZEPINE])
    hits = {r: np.zeros(n, dtype=bool) for r in MEDICATION_RULES}
    any_mood = np.zeros(n, dtype=bool)
    unrecognised = np.zeros(n, dtype=bool)
    unknown_dose = np.zeros(n, dtype=bool)
    total = np.zeros(n, dtype=np.float64)
    for k, drug in enumerate(p.med_drugs, start=1):
        infos = [tables.lookup(label) for label in drug.labels]
        bits = drug.lookup([_class_bits(i.classes) for i in infos], 0, np.int64)
        factor = drug.lookup(
            [np.nan if i.diazepam_mg_per_mg is None else i.diazepam_mg_per_mg for i in infos],
            np.nan,
            np.float64,
        )
        recognised = drug.lookup([i.recognised for i in infos], True, bool)
        for r in MEDICATION_RULES:
            hits[r] |= (bits & rule_bits[r]) != 0
        any_mood |= (bits & mood_bit) != 0
        unrecognised |= drug.present() & ~recognised
        dose = p.numbers[f"med{k}_dose_mg"]
        benzo = ~np.isnan(factor)
        # A benzodiazepine with no diazepam equivalent (e.g. in a combination product)
        # cannot be added up: its dose counts as unknown, as on the one-record path.
        unconvertible = ((bits & benzo_bit) != 0) & ~benzo
        unknown_dose |= (benzo & np.isnan(dose)) | unconvertible
        total += np.where(benzo & ~np.isnan(dose), dose * factor, 0.0)
    for r in MEDICATION_RULES:
        fire(r, meds_known & hits[r])
    high = meds_known & (total > s.thresholds.benzodiazepine_high_dose_above.value)
    fire("benzodiazepine_high_dose", high)
    fire("benzodiazepine_dose_unknown", meds_known & ~high & unknown_dose)
    fire("medication_unrecognised", meds_known & unrecognised)
    bipolar = f.of(HistoryQuestion.BIPOLAR_DISORDER.value)
    fire("bipolar_no_mood_stabiliser", bipolar & meds_known & ~any_mood)


def _cssrs_answers(p: ParsedFrame) -> tuple[np.ndarray, dict[CssrsQuestion, np.ndarray]]:
    """Per row, whether the C-SSRS screener was given, and each question's answer as read
    (a follow-up not asked after a "no" is "no"; blank is unknown)."""
    n, yes, no, unknown = p.n, _YES, _NO, _UNKNOWN
    raw = {q: p.categories[f"cssrs_{q.value}"] for q in CssrsQuestion}
    given = np.zeros(n, dtype=bool)
    for codes in raw.values():
        given |= codes >= 0
    thoughts_no = raw[CssrsQuestion.ACTIVE_THOUGHTS] == no
    effective: dict[CssrsQuestion, np.ndarray] = {}
    for cq, codes in raw.items():
        blank = codes < 0
        skipped = blank & thoughts_no if cq.asked_only_after_active_thoughts else np.zeros(n, bool)
        effective[cq] = np.where(skipped, no, np.where(blank, unknown, codes))
    # Question 6: behaviour in the past 3 months is lifetime behaviour; after a lifetime
    # "no" the follow-up is not asked (the same reading as CssrsScreener.effective).
    lifetime = CssrsQuestion.BEHAVIOUR_LIFETIME
    recent = CssrsQuestion.BEHAVIOUR_PAST_3_MONTHS
    lifetime_raw, recent_raw = raw[lifetime], raw[recent]
    effective[lifetime] = np.where(
        (effective[lifetime] == unknown) & (recent_raw == yes), yes, effective[lifetime]
    )
    effective[recent] = np.where(
        (effective[recent] == unknown) & (lifetime_raw == no), no, effective[recent]
    )
    return given, effective


def _safety(
    p: ParsedFrame, protocol: Protocol, f: _Findings
) -> tuple[np.ndarray, tuple[AlertLevel, ...]]:
    """C-SSRS and PHQ-9: findings, and the alerts (PHQ-9 item 9, ideation, moderate and
    urgent risk) with their levels."""
    s, n = protocol.screening, p.n
    given, effective = _cssrs_answers(p)

    def any_answer(questions: Iterable[CssrsQuestion], value: int) -> np.ndarray:
        out = np.zeros(n, dtype=bool)
        for q in questions:
            out |= effective[q] == value
        return given & out

    urgent_cfg = s.alerts.cssrs_urgent_risk
    moderate_cfg = s.alerts.cssrs_moderate_risk
    urgent = any_answer(urgent_cfg.questions, _YES)
    moderate = ~urgent & any_answer(moderate_cfg.questions, _YES)
    f.fire("cssrs_urgent_risk", urgent)
    f.fire("cssrs_moderate_risk", moderate)
    triage = (*urgent_cfg.questions, *moderate_cfg.questions)
    f.fire("cssrs_unknown", ~urgent & any_answer(triage, _UNKNOWN))

    from kaptools.scores import safety_threshold

    defn = phq9_definition()
    threshold = safety_threshold(defn, protocol)
    if p.phq9 is None or threshold is None:
        phq9_alert = np.zeros(n, dtype=bool)
    else:
        with np.errstate(invalid="ignore"):
            phq9_alert = p.phq9[defn.safety_item.item - 1] >= threshold
    ideation_cfg = s.alerts.cssrs_ideation
    alerts = np.vstack([phq9_alert, any_answer(ideation_cfg.questions, _YES), moderate, urgent])
    levels = (AlertLevel.WARNING, ideation_cfg.level, moderate_cfg.level, urgent_cfg.level)
    return alerts, levels
