"""screen(): one patient's record in, a ScreeningResult out.

Every rule reads its threshold, codes and wording from the protocol's
``[screening]`` table and the drug tables; nothing clinical is typed here. The
cohort path (:mod:`kaptools.screening.cohort`) applies the same rules to columns
of numbers; tests check that both give the same result for every record.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from typing import Any

from kaptools.alerts import Alert
from kaptools.icd10 import covered_by, describe
from kaptools.protocol import (
    HistoryQuestion,
    MedicationClass,
    Protocol,
    QuestionRule,
    default_protocol,
)
from kaptools.screening.catalogue import rule_catalogue, unknown_rule_id
from kaptools.screening.names import NameMatch
from kaptools.screening.record import ScreeningRecord, phq9_definition
from kaptools.screening.result import Finding, ScreeningResult, best_status, route_statuses
from kaptools.screening.tables import DrugInfo, DrugTables, drug_tables
from kaptools.screening.trials import TrialAssessment, TrialVerdict, assess_trial
from kaptools.screening.trials import number_text as _num
from kaptools.vocabulary import Answer, CssrsQuestion, Sex

__all__ = [
    "MEDICATION_RULES",
    "assess_trial",
    "code_matches",
    "coded",
    "phq9_alert_id",
    "phq9_alerts",
    "screen",
]

MEDICATION_RULES = (
    "benzodiazepine",
    "attenuating_medication",
    "blood_pressure_medication",
    "sedating_medication",
    "ketamine_metabolism_medication",
)
"""Rules that fire on a medication class (their classes are in the protocol)."""


def code_matches(code: str, roots: Iterable[str], excepted: Iterable[str] = ()) -> bool:
    """True when ICD-10-CM ``code`` is or falls under one of ``roots`` in the code
    hierarchy, and under none of ``excepted`` (:func:`kaptools.icd10.covered_by`)."""
    return covered_by(code, roots, excepted)


def phq9_alert_id() -> str:
    """Rule id of the PHQ-9 suicide-item alert, named as kaptools.scores names it."""
    defn = phq9_definition()
    return f"{defn.instrument.value}_item{defn.safety_item.item}"


def phq9_alerts(answers: tuple[int | None, ...] | None, protocol: Protocol) -> tuple[Alert, ...]:
    """The PHQ-9 suicide-item alert for baseline ``answers`` [4.1, 7].

    From :func:`kaptools.scores.check_administration`, so item 9 at or above the
    protocol's alert line raises the alert whether or not other items are answered.
    """
    if answers is None:
        return ()
    from kaptools.scores import check_administration

    defn = phq9_definition()
    return check_administration(defn.instrument, list(answers), protocol=protocol).alerts


class _Findings:
    """Collects fired rules (each at most once) with the detail that made them fire."""

    def __init__(self) -> None:
        self.fired: dict[str, str] = {}

    def fire(self, rule_id: str, detail: str = "") -> None:
        self.fired.setdefault(rule_id, detail)

    def __contains__(self, rule_id: str) -> bool:
        return rule_id in self.fired


def _join(values: Iterable[str]) -> str:
    return ", ".join(values)


def _indication(
    record: ScreeningRecord, protocol: Protocol, tables: DrugTables, out: _Findings
) -> tuple[tuple[TrialAssessment, ...], int]:
    s = protocol.screening
    ind = s.indication
    diagnoses = record.diagnoses
    codes = diagnoses or ()
    primary = [
        c for c in codes if code_matches(c, ind.primary_diagnoses, ind.primary_diagnoses_except)
    ]
    off_label = [c for c in codes if code_matches(c, ind.off_label_diagnoses)]
    trials = record.antidepressant_trials
    assessments = tuple(
        assess_trial(i, t, protocol, tables) for i, t in enumerate(trials or (), start=1)
    )
    failed = sum(a.counted for a in assessments)
    not_judged = [a.number for a in assessments if a.verdict == TrialVerdict.NOT_JUDGED]
    needed = s.thresholds.failed_adequate_trials_min.value
    upper = math.inf if trials is None else failed + len(not_judged)
    # Counting the not-judged trials (or an unknown history) could change the count
    # that the primary indication needs.
    could_change = failed < needed <= upper
    # With the diagnoses unknown the primary indication may be there: the trials that
    # were not judged could matter, so they are never reported as not mattering.
    undetermined = bool(primary or diagnoses is None) and could_change

    if primary and failed >= needed:
        out.fire(
            "indication_primary_met",
            f"{_join(map(coded, primary))}; {failed} failed adequate trial(s)",
        )
    elif diagnoses is None:
        # Unknown is never "no diagnosis": the indication is neither met nor not met.
        out.fire("diagnoses_unknown", "the indication cannot be judged without them")
    elif primary and could_change:
        if trials is None:
            out.fire("indication_undetermined", f"{_join(primary)}; trial history unknown")
        else:
            out.fire(
                "indication_undetermined",
                f"{_join(primary)}; {failed} failed adequate trial(s) counted, trial(s) "
                f"{_join(map(str, not_judged))} not judged",
            )
    elif off_label:
        out.fire("indication_off_label", _join(map(coded, off_label)))
    else:
        detail = (
            f"{_join(primary)} with {failed} failed adequate trial(s)"
            if primary
            else ("diagnoses: " + _join(codes) if codes else "no diagnosis")
        )
        out.fire("indication_not_met", detail)
    if not_judged and not undetermined:
        out.fire("trials_not_judged", "trial(s) " + _join(map(str, not_judged)))
    return assessments, failed


def _vitals_and_demographics(record: ScreeningRecord, protocol: Protocol, out: _Findings) -> None:
    t = protocol.screening.thresholds
    age = record.age_years
    if age is None:
        out.fire("age_unknown")
    elif age < t.age_minimum.value:
        out.fire("age_under_minimum", f"age {age}")
    elif age >= t.age_caution_from.value:
        out.fire("age_older_adult", f"age {age}")

    if record.sex == Sex.UNKNOWN:
        out.fire("sex_unknown")
    said_yes = [
        name
        for name, answer in (("pregnant", record.pregnant), ("breastfeeding", record.breastfeeding))
        if answer == Answer.YES
    ]
    if said_yes:
        out.fire("pregnancy_or_breastfeeding", _join(said_yes))
    elif record.sex != Sex.MALE:
        if record.pregnant == Answer.UNKNOWN:
            out.fire("pregnancy_unknown", f"sex {record.sex.value}")
        if record.breastfeeding == Answer.UNKNOWN:
            out.fire("breastfeeding_unknown", f"sex {record.sex.value}")
    if record.pregnant != Answer.YES and record.sex != Sex.MALE:
        # Anyone who could become pregnant: pregnancy prevention discussed [2.1].
        if record.pregnancy_prevention_discussed == Answer.NO:
            out.fire("pregnancy_prevention_not_confirmed", f"sex {record.sex.value}")
        elif record.pregnancy_prevention_discussed == Answer.UNKNOWN:
            out.fire("pregnancy_prevention_unknown", f"sex {record.sex.value}")

    hr = record.heart_rate_bpm
    if hr is None:
        out.fire("heart_rate_unknown")
    elif hr < t.heart_rate_caution_below.value or hr > t.heart_rate_caution_above.value:
        out.fire("heart_rate_outside_range", f"{_num(hr)} bpm")

    sys_, dia = record.systolic_bp_mmhg, record.diastolic_bp_mmhg
    reading = f"{'?' if sys_ is None else _num(sys_)}/{'?' if dia is None else _num(dia)} mmHg"
    defer = (sys_ is not None and sys_ >= t.bp_defer_systolic_min.value) or (
        dia is not None and dia >= t.bp_defer_diastolic_min.value
    )
    if defer:
        out.fire("blood_pressure_defer", reading)
        return
    if sys_ is None or dia is None:
        out.fire("blood_pressure_unknown", reading)
    if (sys_ is not None and sys_ > t.bp_caution_systolic_above.value) or (
        dia is not None and dia > t.bp_caution_diastolic_above.value
    ):
        out.fire("blood_pressure_raised", reading)
    if (sys_ is not None and sys_ > t.racemic_bp_systolic_above.value) or (
        dia is not None and dia > t.racemic_bp_diastolic_above.value
    ):
        out.fire("blood_pressure_racemic_limit", reading)


def coded(code: str) -> str:
    """An ICD-10-CM code with its description, as findings and summaries show it."""
    text = describe(code)
    return f"{code} ({text})" if text else code


def _history(record: ScreeningRecord, protocol: Protocol, out: _Findings) -> None:
    """Checklist rules: each fires on a "yes" or on a recorded code under its codes.

    A code under a rule whose answer is "no" disagrees with the answer: the finding
    fires (the more serious reading holds) and says so, and the information
    ``diagnosis_answer_disagreement`` lists every such pair until a clinician resolves it.
    """
    rules = protocol.screening.rules
    disagree: list[str] = []
    for q in HistoryQuestion:
        rule: QuestionRule = getattr(rules, q.value)
        # Unknown diagnoses fire nothing: the question is judged on its answer alone.
        codes = [c for c in record.diagnoses or () if rule.covers(c)]
        answer = record.history.answer(q)
        if answer == Answer.YES or codes:
            said = ["answered yes"] if answer == Answer.YES else []
            detail = _join([*said, *(f"coded {coded(c)}" for c in codes)])
            if codes and answer == Answer.NO:
                detail += (
                    "; the checklist answer is 'no': the code and the answer disagree, and "
                    "the code holds until a clinician resolves it"
                )
                disagree.append(f"{q.value}: {_join(codes)} recorded, answered no")
            out.fire(q.value, detail)
        elif answer == Answer.UNKNOWN:
            out.fire(unknown_rule_id(q))
    if disagree:
        out.fire("diagnosis_answer_disagreement", "; ".join(disagree))


def _resolved_name(entered: str, info: DrugInfo) -> str:
    """ "Xanax (alprazolam, brand name)" when the name is not the ingredient itself."""
    r = info.resolution
    if r is None or (r.how == NameMatch.EXACT and not r.notes):
        return entered
    return f"{entered} ({r.ingredient_text}, {r.how.value})"


def _medications(
    record: ScreeningRecord, protocol: Protocol, tables: DrugTables, out: _Findings
) -> None:
    s = protocol.screening
    meds = record.current_medications
    if meds is None:
        out.fire("medications_unknown")
        return
    infos = [(m, tables.lookup(m.drug)) for m in meds]
    for rule_id in MEDICATION_RULES:
        classes = set(getattr(s.rules, rule_id).classes)
        hits = [_resolved_name(m.drug, info) for m, info in infos if classes & info.classes]
        if hits:
            out.fire(rule_id, _join(hits))

    total = 0.0
    unknown_dose: list[str] = []
    counted: list[str] = []
    for m, info in infos:
        if info.diazepam_mg_per_mg is None:
            if MedicationClass.BENZODIAZEPINE in info.classes:
                unknown_dose.append(f"{m.drug} (no diazepam equivalent for {info.name})")
            continue
        if m.daily_dose_mg is None:
            unknown_dose.append(m.drug)
        else:
            total += m.daily_dose_mg * info.diazepam_mg_per_mg
            counted.append(m.drug)
    high = s.thresholds.benzodiazepine_high_dose_above
    if total > high.value:
        out.fire(
            "benzodiazepine_high_dose",
            f"{total:.1f} mg diazepam-equivalent/day ({_join(counted)})",
        )
    elif unknown_dose:
        out.fire("benzodiazepine_dose_unknown", _join(unknown_dose))

    unrecognised = [info.unrecognised_detail for _, info in infos if not info.recognised]
    if unrecognised:
        out.fire("medication_unrecognised", "; ".join(unrecognised))

    if "bipolar_disorder" in out and not any(
        MedicationClass.MOOD_STABILISER in info.classes for _, info in infos
    ):
        out.fire("bipolar_no_mood_stabiliser")


def _cssrs(record: ScreeningRecord, protocol: Protocol, out: _Findings) -> tuple[Alert, ...]:
    """The C-SSRS screen's triage [4.8, 7] (default protocol, "C-SSRS screen triage").

    High risk (a "yes" to a question of the ``cssrs_urgent_risk`` alert): exclusion and
    critical alert. Otherwise moderate risk (a "yes" to a question of the
    ``cssrs_moderate_risk`` alert): caution and warning alert. While not high, any
    unknown answer that could raise the level makes the screen incomplete.
    """
    c = record.cssrs
    if c is None:
        return ()
    alerts_cfg = protocol.screening.alerts
    answers = {q: c.effective(q) for q in CssrsQuestion}
    urgent = alerts_cfg.cssrs_urgent_risk.questions
    moderate = alerts_cfg.cssrs_moderate_risk.questions
    urgent_yes = [q.value for q in urgent if answers[q] == Answer.YES]
    moderate_yes = [q.value for q in moderate if answers[q] == Answer.YES]
    raised: list[str] = []
    if urgent_yes:
        out.fire("cssrs_urgent_risk", "yes to " + _join(urgent_yes))
        raised.append("cssrs_urgent_risk")
    else:
        if moderate_yes:
            out.fire("cssrs_moderate_risk", "yes to " + _join(moderate_yes))
            raised.append("cssrs_moderate_risk")
        triage = [*urgent, *(q for q in moderate if q not in urgent)]
        unknown = [q.value for q in triage if answers[q] == Answer.UNKNOWN]
        if unknown:
            out.fire("cssrs_unknown", "unknown: " + _join(unknown))
    cfg = alerts_cfg.cssrs_ideation
    if any(answers[q] == Answer.YES for q in cfg.questions):
        raised.insert(0, "cssrs_ideation")
    alerts = []
    for alert_id in raised:
        cfg = getattr(alerts_cfg, alert_id)
        alerts.append(
            Alert(
                rule_id=alert_id,
                level=cfg.level,
                message=cfg.message,
                action=cfg.action,
                source=cfg.source,
            )
        )
    return tuple(alerts)


def screen(
    record: ScreeningRecord | Mapping[str, Any], *, protocol: Protocol | None = None
) -> ScreeningResult:
    """Screen one patient's record against the protocol.

    Args:
        record: a :class:`ScreeningRecord`, or a mapping validated as one.
        protocol: the clinic's protocol; the shipped default when None.

    Returns:
        The status (by the protocol's precedence), every finding with its rule id,
        severity, message, source and detail, the safety alerts (separate from the
        status), each antidepressant trial's assessment and the failed-trial count,
        and the protocol's name, version and content hash.

    Raises:
        RecordError: ``record`` is not a valid screening record (names each field).
    """
    record = ScreeningRecord.parse(record)
    protocol = default_protocol() if protocol is None else protocol
    tables = drug_tables()
    catalogue = rule_catalogue(protocol)
    out = _Findings()
    trials, failed = _indication(record, protocol, tables, out)
    _vitals_and_demographics(record, protocol, out)
    _history(record, protocol, out)
    _medications(record, protocol, tables, out)
    alerts = phq9_alerts(record.phq9, protocol) + _cssrs(record, protocol, out)

    specs = sorted(
        (catalogue[rule_id] for rule_id in out.fired),
        key=lambda r: (r.severity.rank, catalogue.index(r.rule_id)),
    )
    findings = tuple(
        Finding(
            r.rule_id,
            r.severity,
            r.message,
            r.source,
            out.fired[r.rule_id],
            route_severity=r.route_severity,
        )
        for r in specs
    )
    # The screening's status is the best route's (per-route statuses: result.routes).
    status = best_status(route_statuses(findings).values())
    return ScreeningResult(
        record=record,
        status=status,
        findings=findings,
        alerts=alerts,
        trials=trials,
        failed_adequate_trials=failed,
        protocol=protocol.info,
    )
