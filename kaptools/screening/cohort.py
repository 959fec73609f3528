"""Screening a whole cohort at once: column-wise (numpy) over the wide layout.

:func:`screen_cohort` applies the rules of :func:`kaptools.screening.screen` to
columns instead of records: each categorical column is mapped once per category
(drug names to doses and classes, codes to indications), and each rule becomes a
few array operations. Findings come back as a boolean matrix (patients × rules)
and, per patient, the rule ids that fired listed by severity: each list is built once
per distinct combination of rules, never once per row. Tests check, record by record,
that both paths give the same status, findings, alerts and trial count.
"""

from __future__ import annotations

import csv
import functools
import html
import io
import json
import os
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

import numpy as np
import pandas as pd

from kaptools.alerts import AlertLevel
from kaptools.errors import InvalidInputError, RecordError
from kaptools.limits import size_limit
from kaptools.partitions import is_dask_frame, screen_by_partition
from kaptools.progress import StageBar
from kaptools.protocol import (
    HistoryQuestion,
    MedicationClass,
    Protocol,
    ProtocolInfo,
    default_protocol,
)
from kaptools.screening.catalogue import RuleCatalogue, rule_catalogue, unknown_rule_id
from kaptools.screening.layout import (
    INPUT_ERROR_COLUMN,
    ListStatus,
    ParsedFrame,
    errors_table,
    parse_frame,
    record_to_row,
    typed_frame,
    wide_columns,
)
from kaptools.screening.record import ScreeningRecord, phq9_definition
from kaptools.screening.result import ScreeningStatus
from kaptools.screening.rules import MEDICATION_RULES, code_matches, phq9_alert_id
from kaptools.screening.tables import TrialRole, drug_tables
from kaptools.spreadsheet import CSV_LINE_END, safe_frame
from kaptools.vocabulary import (
    Answer,
    CssrsQuestion,
    Route,
    Severity,
    Sex,
    StopReason,
    TrialOutcome,
)

__all__ = [
    "MALFORMED",
    "STATUS_CATEGORIES",
    "CohortResult",
    "frame_from_records",
    "read_cohort",
    "screen_cohort",
]

MALFORMED = "malformed"
"""Status of a row that could not be read: it is reported in ``errors``, never screened."""

STATUS_CATEGORIES = (*(s.value for s in ScreeningStatus), MALFORMED)

_ALERT_LEVELS = (AlertLevel.WARNING.value, AlertLevel.CRITICAL.value)

_FINDING_COLUMNS = (
    ("exclusions", Severity.EXCLUSION),
    ("missing", Severity.MISSING),
    ("cautions", Severity.CAUTION),
    ("info", Severity.INFO),
)
"""Table columns listing the rule ids that fired, one column per severity."""


def _idx(members: Iterable[Any], member: Any) -> int:
    return list(members).index(member)


def _answer(codes: np.ndarray) -> np.ndarray:
    """Answer codes with blank read as unknown (an unanswered question is unknown)."""
    return np.where(codes < 0, _idx(Answer, Answer.UNKNOWN), codes)


@dataclass
class _Screened:
    fired: np.ndarray  # (rules, n) bool, rule-major
    alerts: np.ndarray  # (alerts, n) bool
    alert_ids: tuple[str, ...]
    alert_levels: tuple[AlertLevel, ...]
    failed: np.ndarray
    not_judged: np.ndarray


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


def _screen_arrays(p: ParsedFrame, protocol: Protocol, catalogue: RuleCatalogue) -> _Screened:
    s = protocol.screening
    t = s.thresholds
    num, cat = p.numbers, p.categories
    n = p.n
    tables = drug_tables()
    fired = np.zeros((len(catalogue), n), dtype=bool)

    def fire(rule_id: str, mask: np.ndarray) -> None:
        fired[catalogue.index(rule_id)] = mask

    yes, no, unknown = (_idx(Answer, a) for a in (Answer.YES, Answer.NO, Answer.UNKNOWN))

    # -- diagnoses, mapped per category ------------------------------------------------
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
    dx = _dx_bits(p, code_sets)

    def has_code(k: int) -> np.ndarray:
        return (dx & np.uint64(1 << k)) != 0

    # -- antidepressant trials, slot by slot --------------------------------------------
    weeks_min = t.trial_weeks_min.value
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

    # -- indication --------------------------------------------------------------------
    needed = t.failed_adequate_trials_min.value
    trials_known = cat["trial_history"] == _idx(ListStatus, ListStatus.RECORDED)
    upper = np.where(trials_known, failed + not_judged, np.inf)
    could_change = (failed < needed) & (upper >= needed)
    # Unknown diagnoses have no filled slot (the layout refuses one), so no code fires;
    # the indication is then neither met nor not met (unknown is never "no").
    dx_known = p.diagnoses_known
    primary, off_label = has_code(0), has_code(1)
    met = primary & (failed >= needed)
    undetermined = primary & could_change
    rest = dx_known & ~met & ~undetermined
    fire("diagnoses_unknown", ~dx_known)
    fire("indication_primary_met", met)
    fire("indication_undetermined", undetermined)
    fire("indication_off_label", rest & off_label)
    fire("indication_not_met", rest & ~off_label)
    fire("trials_not_judged", (not_judged > 0) & ~((primary | ~dx_known) & could_change))

    # -- age, sex, pregnancy, blood pressure --------------------------------------------
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

    # -- history checklist ---------------------------------------------------------------
    disagree = np.zeros(n, dtype=bool)
    for q in HistoryQuestion:
        answer = _answer(cat[q.value])
        hit = answer == yes
        if q in question_bit:
            coded = has_code(question_bit[q])
            hit = hit | coded
            disagree |= coded & (answer == no)
        fire(q.value, hit)
        fire(unknown_rule_id(q), ~hit & (answer == unknown))
    fire("diagnosis_answer_disagreement", disagree)

    # -- current medications -------------------------------------------------------------
    meds_known = cat["medication_list"] == _idx(ListStatus, ListStatus.RECORDED)
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
        dose = num[f"med{k}_dose_mg"]
        benzo = ~np.isnan(factor)
        # A benzodiazepine with no diazepam equivalent (e.g. in a combination product)
        # cannot be added up: its dose counts as unknown, as on the one-record path.
        unconvertible = ((bits & benzo_bit) != 0) & ~benzo
        unknown_dose |= (benzo & np.isnan(dose)) | unconvertible
        total += np.where(benzo & ~np.isnan(dose), dose * factor, 0.0)
    for r in MEDICATION_RULES:
        fire(r, meds_known & hits[r])
    high = meds_known & (total > t.benzodiazepine_high_dose_above.value)
    fire("benzodiazepine_high_dose", high)
    fire("benzodiazepine_dose_unknown", meds_known & ~high & unknown_dose)
    fire("medication_unrecognised", meds_known & unrecognised)
    bipolar = fired[catalogue.index(HistoryQuestion.BIPOLAR_DISORDER.value)]
    fire("bipolar_no_mood_stabiliser", bipolar & meds_known & ~any_mood)

    # -- C-SSRS and PHQ-9: findings and alerts ----------------------------------------------
    raw = {q: cat[f"cssrs_{q.value}"] for q in CssrsQuestion}
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

    def any_answer(questions: Iterable[CssrsQuestion], value: int) -> np.ndarray:
        out = np.zeros(n, dtype=bool)
        for q in questions:
            out |= effective[q] == value
        return given & out

    urgent_cfg = s.alerts.cssrs_urgent_risk
    moderate_cfg = s.alerts.cssrs_moderate_risk
    urgent = any_answer(urgent_cfg.questions, yes)
    moderate = ~urgent & any_answer(moderate_cfg.questions, yes)
    fire("cssrs_urgent_risk", urgent)
    fire("cssrs_moderate_risk", moderate)
    triage = (*urgent_cfg.questions, *moderate_cfg.questions)
    fire("cssrs_unknown", ~urgent & any_answer(triage, unknown))

    from kaptools.scores import safety_threshold

    defn = phq9_definition()
    threshold = safety_threshold(defn, protocol)
    if p.phq9 is None or threshold is None:
        phq9_alert = np.zeros(n, dtype=bool)
    else:
        with np.errstate(invalid="ignore"):
            phq9_alert = p.phq9[defn.safety_item.item - 1] >= threshold
    ideation_cfg = s.alerts.cssrs_ideation
    alerts = np.vstack(
        [
            phq9_alert,
            any_answer(ideation_cfg.questions, yes),
            moderate,
            urgent,
        ]
    )
    return _Screened(
        fired=fired,
        alerts=alerts,
        alert_ids=(phq9_alert_id(), "cssrs_ideation", "cssrs_moderate_risk", "cssrs_urgent_risk"),
        alert_levels=(
            AlertLevel.WARNING,
            ideation_cfg.level,
            moderate_cfg.level,
            urgent_cfg.level,
        ),
        failed=failed,
        not_judged=not_judged,
    )


def _from_codes(codes: np.ndarray, categories: list[str]) -> pd.Categorical:
    """``pd.Categorical.from_codes`` with the categories as a list (code -1 is missing)."""
    return pd.Categorical.from_codes(  # type: ignore[call-overload]  # stubs want an Index
        codes, categories=categories
    )


def _combination_strings(matrix: np.ndarray, names: list[str]) -> pd.Categorical:
    """Per column of the (k, n) bool ``matrix``, the names set in it, space-separated.

    The text is built once per distinct combination (rows are packed into integer
    keys and factorised by hashing), never once per row.
    """
    k, n = matrix.shape
    packed = np.packbits(matrix, axis=0)  # (ceil(k / 8), n) bytes
    width = packed.shape[0]
    if width <= 8:
        padded = np.zeros((8, n), dtype=np.uint8)
        padded[:width] = packed
        keys = np.ascontiguousarray(padded.T).view(np.uint64).ravel()
        codes, uniques = pd.factorize(keys)
        unique_bytes = np.asarray(uniques, dtype=np.uint64).view(np.uint8).reshape(-1, 8)
    else:
        unique_bytes, codes = np.unique(np.ascontiguousarray(packed.T), axis=0, return_inverse=True)
    bits = np.unpackbits(unique_bytes[:, :width], axis=1)[:, :k].astype(bool)
    labels = [" ".join(names[j] for j in np.flatnonzero(b)) for b in bits]
    return _from_codes(np.asarray(codes).reshape(-1), labels)


def _error_text(p: ParsedFrame) -> np.ndarray:
    out = np.full(p.n, None, dtype=object)
    reasons: dict[int, list[str]] = {}
    for mask, _, reason in p.problems:
        for i in np.flatnonzero(mask):
            reasons.setdefault(int(i), []).append(reason)
    for row, rs in reasons.items():
        out[row] = "; ".join(rs)
    return out


@dataclass(frozen=True, repr=False)
class CohortResult:
    """The screening of a cohort: one table row per input row, plus the detail behind it.

    Attributes:
        table: per patient: ``row`` (1-based), ``patient_id``, ``status`` (a
            ScreeningStatus value or ``malformed``), ``failed_adequate_trials``,
            ``trials_not_judged``, the rule ids that fired (space-separated) in
            ``exclusions``, ``missing``, ``cautions`` and ``info``, ``alerts`` (alert rule
            ids), ``alert_level`` and ``error`` (why a malformed row was not screened).
            Indexed like the input.
        fired: boolean matrix, patients × rule ids (False for malformed rows).
        alerts_fired: boolean matrix, patients × alert rule ids.
        errors: one row per malformed cell: row, index, patient_id, column, value, reason.
        protocol: name, version and content hash of the protocol applied.
        catalogue: every rule of that protocol, with severity, message and source.
    """

    table: pd.DataFrame
    fired: pd.DataFrame
    alerts_fired: pd.DataFrame
    errors: pd.DataFrame
    protocol: ProtocolInfo
    catalogue: RuleCatalogue

    def __repr__(self) -> str:
        return f"<CohortResult: {len(self.table):,} rows, protocol {self.protocol.short}>"

    @property
    def status_counts(self) -> pd.Series:
        """Patients per status (every status listed, ``malformed`` last)."""
        counts = self.table["status"].value_counts(sort=False)
        return counts.reindex(list(STATUS_CATEGORIES), fill_value=0).rename("patients")

    @property
    def rule_counts(self) -> pd.DataFrame:
        """Per rule: severity, patients it fired for, and the share of screened patients."""
        screened = int((self.table["status"] != MALFORMED).sum())
        counts = self.fired.to_numpy().sum(axis=0)
        out = pd.DataFrame(
            {
                "rule_id": list(self.catalogue.ids),
                "severity": [r.severity.value for r in self.catalogue.rules],
                "patients": counts,
                "percent": np.round(100.0 * counts / max(screened, 1), 1),
                "message": [r.message for r in self.catalogue.rules],
            }
        )
        return out.sort_values(["patients", "rule_id"], ascending=[False, True]).reset_index(
            drop=True
        )

    @property
    def alert_counts(self) -> pd.Series:
        return pd.Series(
            self.alerts_fired.to_numpy().sum(axis=0),
            index=self.alerts_fired.columns,
            name="patients",
        )

    def findings_long(self) -> pd.DataFrame:
        """One row per (patient, finding): row, index, patient_id, rule_id, severity, message."""
        rows, cols = np.nonzero(self.fired.to_numpy())
        rules = self.catalogue.rules
        severities = [s.value for s in Severity]
        severity_code = np.array([severities.index(r.severity.value) for r in rules], np.int8)
        return pd.DataFrame(
            {
                "row": self.table["row"].to_numpy()[rows],
                "index": self.table.index[rows],
                "patient_id": self.table["patient_id"].to_numpy()[rows],
                "rule_id": _from_codes(cols, list(self.catalogue.ids)),
                "severity": _from_codes(severity_code[cols], severities),
                "message": np.array([r.message for r in rules], dtype=object)[cols],
            }
        )

    @property
    def summary(self) -> str:
        n = len(self.table)
        counts = self.status_counts
        screened = n - int(counts[MALFORMED])
        lines = [
            f"Cohort screening of {n:,} rows: {screened:,} screened, {int(counts[MALFORMED]):,} "
            f"malformed. Protocol {self.protocol.short}.",
            "Status: "
            + "; ".join(
                f"{k} {int(v):,} ({100.0 * v / max(n, 1):.1f} %)" for k, v in counts.items()
            ),
        ]
        top = self.rule_counts.head(10)
        lines.append(
            "Most frequent findings: "
            + "; ".join(
                f"{rule_id} {patients:,}"
                for rule_id, patients in zip(top["rule_id"], top["patients"], strict=True)
                if patients
            )
        )
        alerts = self.alert_counts
        lines.append("Safety alerts: " + "; ".join(f"{k} {int(v):,}" for k, v in alerts.items()))
        lines.append("Decision support: statuses say whether the protocol's criteria are met.")
        return "\n".join(lines)

    def _repr_html_(self) -> str:
        esc = html.escape
        counts = self.status_counts
        rows = "".join(
            f"<tr><td>{esc(str(k))}</td><td>{int(v):,}</td></tr>" for k, v in counts.items()
        )
        rules = self.rule_counts.head(15)
        top = "".join(
            f"<tr><td>{esc(rule_id)}</td><td>{esc(severity)}</td><td>{int(patients):,}</td>"
            f"<td>{percent}</td></tr>"
            for rule_id, severity, patients, percent in zip(
                rules["rule_id"],
                rules["severity"],
                rules["patients"],
                rules["percent"],
                strict=True,
            )
        )
        return (
            f"<div class='kap-cohort'><p>{esc(self.summary.splitlines()[0])}</p>"
            f"<table><tr><th>status</th><th>patients</th></tr>{rows}</table>"
            f"<table><tr><th>rule</th><th>severity</th><th>patients</th><th>%</th></tr>{top}"
            "</table></div>"
        )

    def write(self, path: str | os.PathLike[str], *, rule_columns: bool = False) -> Path:
        """Write ``table`` to ``.csv``, ``.jsonl`` or ``.parquet`` (optionally with one 0/1
        column per rule)."""
        out = Path(path)
        table = self.table
        if rule_columns:
            flags = self.fired.astype(np.int8).add_prefix("rule_")
            table = pd.concat([table, flags], axis=1)
        suffix = out.suffix.lower()
        if suffix == ".csv":
            safe_frame(table).to_csv(out, index=False, lineterminator=CSV_LINE_END)
        elif suffix in (".jsonl", ".ndjson"):
            table.to_json(out, orient="records", lines=True)
        elif suffix == ".parquet":
            write_parquet(table, out, protocol=self.protocol)
        else:
            msg = (
                f"output {str(out)!r}: write .csv, .jsonl or .parquet "
                f"(got {out.suffix or 'no suffix'!r})"
            )
            raise InvalidInputError(msg)
        return out


def _result(p: ParsedFrame, screened: _Screened, protocol: Protocol) -> CohortResult:
    catalogue = rule_catalogue(protocol)
    fired, alerts, bad = screened.fired, screened.alerts, p.bad
    if bad.any():
        fired[:, bad] = False
        alerts[:, bad] = False
    sev = np.array([r.severity.value for r in catalogue.rules])

    def route_codes(route: Route) -> np.ndarray:
        """Status codes (index in STATUS_CATEGORIES; higher is better) for ``route``."""
        route_sev = np.array([r.severity_for(route).value for r in catalogue.rules])

        def any_of(severity: Severity) -> np.ndarray:
            rows = np.flatnonzero(route_sev == severity.value)
            if not len(rows):
                return np.zeros(p.n, dtype=bool)
            return cast(np.ndarray, fired[rows].any(axis=0))  # (k, n) -> (n,): never a scalar

        return np.select(
            [any_of(Severity.EXCLUSION), any_of(Severity.MISSING), any_of(Severity.CAUTION)],
            [0, 1, 2],
            default=3,
        ).astype(np.int8)

    # Per route, then the best route's status (default protocol, "Screening is per
    # route where the labels differ"); STATUS_CATEGORIES runs from worst to best.
    per_route = {route: route_codes(route) for route in Route}
    best = np.max(np.vstack(list(per_route.values())), axis=0)
    status_codes = np.where(bad, 4, best).astype(np.int8)
    route_columns = {
        f"status_{route.value}": _from_codes(
            np.where(bad, 4, codes).astype(np.int8), list(STATUS_CATEGORIES)
        )
        for route, codes in per_route.items()
    }
    ids = list(catalogue.ids)
    by_severity = {}
    for column, severity in _FINDING_COLUMNS:
        rows = np.flatnonzero(sev == severity.value)
        by_severity[column] = _combination_strings(fired[rows], [ids[j] for j in rows])
    level_rank = np.zeros(p.n, dtype=np.int8)
    for j, level in enumerate(screened.alert_levels):
        level_rank = np.maximum(
            level_rank, np.where(alerts[j], 1 + _ALERT_LEVELS.index(level.value), 0)
        )
    table = pd.DataFrame(
        {
            "row": np.arange(1, p.n + 1),
            "patient_id": p.patient_id,
            "status": _from_codes(status_codes, list(STATUS_CATEGORIES)),
            **route_columns,
            "failed_adequate_trials": pd.arrays.IntegerArray(
                screened.failed.astype(np.int16), bad.copy()
            ),
            "trials_not_judged": pd.arrays.IntegerArray(
                screened.not_judged.astype(np.int16), bad.copy()
            ),
            **by_severity,
            "alerts": _combination_strings(alerts, list(screened.alert_ids)),
            "alert_level": _from_codes(level_rank - 1, list(_ALERT_LEVELS)),
            "error": _error_text(p),
        },
        index=p.index,
    )
    return CohortResult(
        table=table,
        fired=pd.DataFrame(fired.T, columns=ids, index=p.index),
        alerts_fired=pd.DataFrame(alerts.T, columns=list(screened.alert_ids), index=p.index),
        errors=errors_table(p),
        protocol=protocol.info,
        catalogue=catalogue,
    )


# ---------------------------------------------------------------------------
# Reading cohorts


def frame_from_records(
    items: Iterable[ScreeningRecord | Mapping[str, Any] | Exception],
) -> pd.DataFrame:
    """Records (or the errors met reading them) as a wide frame, one row each.

    A record that fails validation, or an exception in place of a record, becomes a
    row carrying its reason in the ``input_error`` column: reported, never screened.
    """
    rows: list[dict[str, Any]] = []
    dx_n = tr_n = md_n = 0
    for item in items:
        if isinstance(item, Exception):
            rows.append({INPUT_ERROR_COLUMN: str(item)})
            continue
        try:
            record = ScreeningRecord.parse(item)
        except RecordError as exc:
            rows.append({INPUT_ERROR_COLUMN: str(exc)})
            continue
        rows.append(record_to_row(record))
        dx_n = max(dx_n, len(record.diagnoses or ()))
        tr_n = max(tr_n, len(record.antidepressant_trials or ()))
        md_n = max(md_n, len(record.current_medications or ()))
    cols = wide_columns(diagnosis_slots=dx_n, trial_slots=tr_n, medication_slots=md_n)
    frame = typed_frame(rows, cols)
    frame.index = pd.RangeIndex(1, len(rows) + 1, name="row")
    return frame


def _read_jsonl(path: Path) -> pd.DataFrame:
    _check_file_size(path)
    line_max = size_limit("jsonl_line_max_chars")

    def items() -> Iterable[ScreeningRecord | Exception]:
        with path.open(encoding="utf-8") as fh:
            for number, line in enumerate(fh, start=1):
                if len(line) > line_max:
                    yield RecordError(
                        f"line {number} has {len(line):,} characters; the limit is "
                        f"{line_max:,} (jsonl_line_max_chars): one screening record per line"
                    )
                    continue
                if not line.strip():
                    yield RecordError(f"line {number} is empty: write one JSON record per line")
                    continue
                try:
                    yield ScreeningRecord.parse_json(line)
                except RecordError as exc:
                    yield exc

    return frame_from_records(items())


_CSV_OPTIONS: dict[str, Any] = {
    "dtype": "category",
    "keep_default_na": False,
    "na_values": [""],
    "skipinitialspace": True,
}


def _check_file_size(path: Path) -> None:
    limit = size_limit("input_file_max_bytes")
    size = path.stat().st_size
    if size > limit:
        msg = (
            f"input {str(path)!r} is {size:,} bytes; the limit is {limit:,} bytes "
            f"(input_file_max_bytes): split the cohort into smaller files"
        )
        raise InvalidInputError(msg)


def _csv_rows(path: Path) -> tuple[list[str], list[tuple[int, list[str]]]]:
    """The header and every non-blank row with its file line, read by the csv module.

    Raises InvalidInputError for a file that breaks a size limit (columns, cell length)
    or that the csv module cannot read, naming the line.
    """
    cell_max = size_limit("csv_cell_max_chars")
    columns_max = size_limit("csv_columns_max")
    old_limit = csv.field_size_limit()
    csv.field_size_limit(cell_max)
    rows: list[tuple[int, list[str]]] = []
    try:
        with path.open(encoding="utf-8-sig", newline="") as fh:
            reader = csv.reader(fh, skipinitialspace=True)
            try:
                for cells in reader:
                    if not cells:
                        continue
                    if len(cells) > columns_max:
                        msg = (
                            f"input {str(path)!r} line {reader.line_num} has {len(cells):,} "
                            f"cells; the limit is {columns_max:,} (csv_columns_max): check the "
                            f"separator, or drop unused slot columns"
                        )
                        raise InvalidInputError(msg)
                    rows.append((reader.line_num, cells))
            except csv.Error as exc:
                msg = (
                    f"input {str(path)!r} line {reader.line_num} cannot be read as CSV ({exc}); "
                    f"a cell may hold at most {cell_max:,} characters (csv_cell_max_chars): "
                    f"check the quoting"
                )
                raise InvalidInputError(msg) from None
    finally:
        csv.field_size_limit(old_limit)
    if not rows:
        msg = f"input {str(path)!r} is empty: it needs a header row in the screening layout"
        raise InvalidInputError(msg)
    return rows[0][1], rows[1:]


def _read_csv(path: Path) -> pd.DataFrame:
    """Read a wide-layout CSV. A row with fewer or more cells than the header is malformed.

    The csv module first counts each row's cells (a cut-short row must never be read as
    if its missing answers were blank); a file whose rows all fit is then read by
    pandas' fast parser, and the rows of one that does not are read one by one.
    """
    _check_file_size(path)
    header, body = _csv_rows(path)
    width = len(header)
    fits = all(len(cells) == width for _, cells in body)
    frame = None
    if fits:
        try:
            frame = pd.read_csv(path, encoding="utf-8-sig", **_CSV_OPTIONS)
        except (pd.errors.ParserError, pd.errors.EmptyDataError):
            frame = None
        if frame is not None and len(frame) != len(body):
            frame = None  # pandas and csv disagree on the rows: trust the row-by-row read
    if frame is None:
        frame = _frame_from_rows(header, body)
    frame.index = pd.RangeIndex(1, len(frame) + 1, name="row")
    return frame


def _frame_from_rows(header: list[str], body: list[tuple[int, list[str]]]) -> pd.DataFrame:
    """A frame of the rows that have as many cells as the header; the others become errors."""
    width = len(header)
    good: list[list[str]] = []
    errors: list[str | None] = []
    for line, cells in body:
        if len(cells) == width:
            good.append(cells)
            errors.append(None)
        else:
            good.append([""] * width)
            short = "missing cells are never read as blank" if len(cells) < width else ""
            errors.append(
                f"line {line} has {len(cells)} cells but the header has {width}"
                + (f" ({short})" if short else "")
                + ": check separators and quoting, and that the row was not cut short"
            )
    buffer = io.StringIO()
    csv.writer(buffer).writerows([header, *good])
    buffer.seek(0)
    frame = pd.read_csv(buffer, **_CSV_OPTIONS)
    if INPUT_ERROR_COLUMN in frame.columns:
        given = frame[INPUT_ERROR_COLUMN].astype(object).to_numpy()
        errors = [e if e is not None else g for e, g in zip(errors, given, strict=True)]
    frame[INPUT_ERROR_COLUMN] = pd.array(errors, dtype=object)
    return frame


def read_cohort(path: str | os.PathLike[str]) -> pd.DataFrame:
    """Read a cohort file into the wide layout, indexed by row number (1-based).

    ``.csv``: the wide layout (README.md lists the columns). ``.jsonl`` / ``.ndjson``:
    one screening record per line, as the JSON Schema describes; a line that is not a
    valid record becomes a row with its reason in ``input_error``.

    Raises:
        InvalidInputError: the file is missing, unreadable, or of another type.
    """
    p = Path(path)
    if not p.is_file():
        msg = f"input {str(p)!r} does not exist or is not a file: give the path of a .csv or .jsonl"
        raise InvalidInputError(msg)
    suffix = p.suffix.lower()
    try:
        if suffix == ".csv":
            return _read_csv(p)
        if suffix in (".jsonl", ".ndjson"):
            return _read_jsonl(p)
        if suffix == ".parquet":
            return _read_parquet(p)
    except UnicodeDecodeError as exc:
        msg = (
            f"input {str(p)!r} is not UTF-8 text ({exc.reason} at byte {exc.start}): "
            f"re-save it as UTF-8"
        )
        raise InvalidInputError(msg) from None
    except OSError as exc:
        msg = f"input {str(p)!r} cannot be read: {exc.strerror or exc}"
        raise InvalidInputError(msg) from None
    msg = (
        f"input {str(p)!r}: use a .csv or .parquet (wide layout) or .jsonl (one JSON record "
        f"per line) file"
    )
    raise InvalidInputError(msg)


def _read_parquet(path: Path) -> pd.DataFrame:
    """A Parquet file in the wide layout, read with pyarrow, indexed by row number."""
    import pyarrow as pa

    _check_file_size(path)  # the same input size limit as CSV (limits.toml)
    try:
        frame = pd.read_parquet(path, engine="pyarrow")
    except (pa.ArrowException, ValueError) as exc:
        msg = f"input {str(path)!r} cannot be read as Parquet ({exc}); write it with pandas/pyarrow"
        raise InvalidInputError(msg) from None
    frame.index = pd.RangeIndex(1, len(frame) + 1)
    return frame


def write_parquet(
    frame: pd.DataFrame, path: str | os.PathLike[str], *, protocol: ProtocolInfo | None = None
) -> Path:
    """Write ``frame`` to Parquet (pyarrow), recording the protocol in the file's metadata."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    out = Path(path)
    table = pa.Table.from_pandas(frame, preserve_index=False)
    if protocol is not None:
        meta = dict(table.schema.metadata or {})
        meta[b"kaptools.protocol"] = json.dumps(
            {"name": protocol.name, "version": protocol.version, "sha256": protocol.sha256}
        ).encode()
        table = table.replace_schema_metadata(meta)
    pq.write_table(table, out)
    return out


def screen_cohort(
    data: pd.DataFrame | str | os.PathLike[str] | Iterable[ScreeningRecord | Mapping[str, Any]],
    *,
    protocol: Protocol | None = None,
    progress: bool | None = None,
) -> CohortResult:
    """Screen every patient of a cohort, column-wise.

    Args:
        data: a DataFrame in the wide layout (pandas, or Dask: each partition is
            screened by this same code, see :mod:`kaptools.partitions`); the path of a
            ``.csv`` / ``.parquet`` / ``.jsonl`` file;
            or an iterable of records (ScreeningRecord or mappings).
        protocol: the clinic's protocol; the shipped default when None.
        progress: a progress bar over the stages (read, checked, screened, tabulated):
            None draws one when a terminal or notebook is watching
            (:mod:`kaptools.progress`), True / False always / never.

    Returns:
        A :class:`CohortResult`. Malformed rows are listed in ``errors`` (with the
        reason) and get the status ``malformed``; they never stop the rest.

    Raises:
        InvalidInputError: the input as a whole cannot be used (unknown or missing
            columns, a missing file, an unsupported file type).
    """
    protocol = default_protocol() if protocol is None else protocol
    if is_dask_frame(data):  # the same code per partition (kaptools.partitions)
        return screen_by_partition(data, protocol, screen_cohort)
    with StageBar(4, progress=progress, desc="kaptools screen") as bar:
        if isinstance(data, pd.DataFrame):
            frame = data
        elif isinstance(data, str | os.PathLike):
            frame = read_cohort(data)
        elif isinstance(data, Iterable) and not isinstance(data, bytes | Mapping):
            frame = frame_from_records(data)
        else:
            msg = (
                f"screen_cohort takes a DataFrame, a file path or records "
                f"(got {type(data).__name__})"
            )
            raise InvalidInputError(msg)
        bar.advance("read")
        parsed = parse_frame(frame)
        bar.advance("checked")
        catalogue = rule_catalogue(protocol)
        screened = _screen_arrays(parsed, protocol, catalogue)
        bar.advance("screened")
        result = _result(parsed, screened, protocol)
        bar.advance("tabulated")
    return result
