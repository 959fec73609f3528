"""Seeded synthetic screening records: for tests, benchmarks and teaching. Never real patients.

The generator draws the wide frame column by column with numpy (a million rows in a
few seconds) and reads records back from it, so both forms hold the same patients.
It aims at the edges the rules care about: ages 17/18/64/65, blood pressure on and
around every threshold, unknown answers, unknown drugs and outcomes, trials stopped
for intolerance or shorter than the minimum, benzodiazepine totals around the
high-dose line, C-SSRS skips, PHQ-9 item 9 answers, and diagnosis lists that were
not recorded (``unknown``, or a blank status with no code), recorded as empty, or
filled with a blank status (the reading of files older than ``diagnosis_list``).
Every screening status occurs in any sample of a few hundred records.

The edge values come from the protocol passed in (default: the shipped one), so a
clinic's changed thresholds get their own edge cases.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from kaptools.limits import size_limit
from kaptools.protocol import HistoryQuestion, Protocol, default_protocol
from kaptools.screening.layout import (
    DIAGNOSIS_LIST_COLUMN,
    DIAGNOSIS_SLOTS,
    INPUT_ERROR_COLUMN,
    MEDICATION_SLOTS,
    TRIAL_SLOTS,
    ListStatus,
    frame_to_records,
    wide_columns,
)
from kaptools.screening.names import NameMatch, drug_name_table
from kaptools.screening.record import ScreeningRecord, phq9_definition
from kaptools.screening.tables import drug_tables
from kaptools.validation import check_synthetic_size
from kaptools.vocabulary import Answer, CssrsQuestion, Sex, StopReason, TrialOutcome

__all__ = ["synthetic_screening_frame", "synthetic_screening_records"]

SYNTHETIC_ROWS_MAX = size_limit("synthetic_rows_max")
"""Most synthetic patients one call generates (limits.toml ``size.synthetic_rows_max``)."""

_PRIMARY_DX = ["F33.1", "F33.2", "F32.1", "F32.2", "F32.9", "F33.9"]
_OTHER_DX = [
    "F43.10",
    "F43.12",
    "F31.4",
    "F31.32",
    "F41.1",
    "F20.9",
    "F25.0",
    "F32.3",
    "F33.3",
    "F32.A",
    "F33.41",
    "F32.81",
    "F90.0",
    "F10.20",
    "F17.210",
    "I10",
    "E11.9",
    "F60.3",
]
_OTHER_DX_WEIGHTS = [3, 1, 2, 1, 3, 0.5, 0.5, 0.5, 0.5, 1, 1, 0.5, 2, 1, 2, 4, 3, 1]
# Comorbid codes in the later slots: common ones, and rarer codes that fire checklist
# rules whatever the answers say (aneurysm, AVM, haemorrhage, substance use, liver,
# thyroid, heart, lung, brain).
_COMORBID_DX = [
    "I10",
    "E11.9",
    "F41.1",
    "E78.5",
    "I67.1",
    "I71.40",
    "Q28.2",
    "I61.9",
    "F10.20",
    "F10.21",
    "F14.11",
    "K74.60",
    "E05.90",
    "G40.909",
    "G47.33",
    "I48.91",
    "I63.9",
    "I25.10",
    "F03.90",
    "N30.10",
]
_COMORBID_DX_WEIGHTS = [10, 10, 10, 8, *([0.4] * 16)]
_UNKNOWN_DRUGS = ["tianeptine", "zuranolone", "Lexaprro", "Percocet"]
"""Names that resolve to nothing kaptools lists: a real drug no table has, a misspelling,
and a combination brand missing from both name sources (data/README.md)."""
_OTHER_MEDS = [
    "lithium",
    "lamotrigine",
    "naltrexone",
    "valproate",
    "phenelzine",
    "methylphenidate",
    "lisdexamfetamine",
    "oxycodone",
    "tramadol",
    "zolpidem",
    "atorvastatin",
    "levothyroxine",
    "quetiapine",
    "metformin",
    "sertraline",
    "bupropion XL",
    "Lipitor",
    "Synthroid",
    "lisinopril",
    "omeprazole",
    "gabapentin",
    "hydroxyzine",
    "clarithromycin",
    "Tegretol",
    "terbinafine",
]
_OTHER_MED_WEIGHTS = [
    *(3, 1, 1, 2, 0.3, 0.7, 0.5, 0.5, 0.5, 1, 4, 4, 1, 4, 6, 4),
    *(2, 2, 3, 3, 1, 1, 0.3, 0.3, 0.3),
]
_OTHER_NAME_SHARE = 0.25
"""Share of drugs written by a brand or salt name from the name table (the resolver's work)."""


def _other_names(ingredients: Sequence[str]) -> dict[str, list[str]]:
    """Brand and salt names of each single ingredient, from data/drug_names.csv (sorted)."""
    names: dict[str, list[str]] = {i: [] for i in ingredients}
    for name, entry in sorted(drug_name_table().names.items()):
        if (
            len(entry.ingredients) == 1
            and entry.ingredients[0] in names
            and entry.how in (NameMatch.BRAND, NameMatch.SALT)
            and name.isascii()
        ):
            names[entry.ingredients[0]].append(name)
    return names


def _written(
    rng: np.random.Generator, ingredients: np.ndarray, names: dict[str, list[str]]
) -> np.ndarray:
    """Each ingredient, or (at ``_OTHER_NAME_SHARE``) one of its brand or salt names."""
    out = ingredients.copy()
    swap = rng.random(len(out)) < _OTHER_NAME_SHARE
    draws = rng.random(len(out))
    for k in np.flatnonzero(swap):
        options = names.get(str(out[k]), [])
        if options:
            out[k] = options[int(draws[k] * len(options))]
    return out


def _cat(values: np.ndarray | list[object]) -> pd.Categorical:
    return pd.Categorical(values)


def _where(condition: np.ndarray, x: object, y: object) -> np.ndarray:
    """``np.where`` for object columns, where ``None`` stands for a blank cell."""
    return np.where(condition, x, y)  # type: ignore[call-overload]  # numpy stubs reject None


def _choice(
    rng: np.random.Generator, n: int, values: Sequence[object], p: Sequence[float]
) -> np.ndarray:
    probs = np.asarray(p, dtype=float)
    out = np.empty(n, dtype=object)
    out[:] = np.asarray(values, dtype=object)[
        rng.choice(len(values), size=n, p=probs / probs.sum())
    ]
    return out


def _list_status(rng: np.random.Generator, n: int, known: np.ndarray) -> pd.Categorical:
    """A list's status column: recorded where ``known``, else unknown or blank."""
    return _cat(
        np.where(
            known,
            ListStatus.RECORDED.value,
            _choice(rng, n, [ListStatus.UNKNOWN.value, None], [1, 1]),
        )
    )


def _mix(
    rng: np.random.Generator, base: np.ndarray, edges: list[float], share: float
) -> np.ndarray:
    take = rng.random(len(base)) < share
    picks = np.asarray(edges, dtype=float)[rng.integers(0, len(edges), len(base))]
    return np.where(take, picks, base)


def synthetic_screening_frame(
    n: int, seed: int = 0, *, protocol: Protocol | None = None
) -> pd.DataFrame:
    """``n`` synthetic patients in the wide layout (categorical answers, float numbers).

    The same ``n`` and ``seed`` always give the same frame. Every row is valid.
    """
    check_synthetic_size(n)
    protocol = default_protocol() if protocol is None else protocol
    rng = np.random.default_rng(seed)
    data: dict[str, object] = {}
    data["patient_id"] = np.array([f"SYN-{seed}-{i:07d}" for i in range(n)], dtype=object)

    _person(rng, n, protocol, data)
    _vitals(rng, n, protocol, data)
    _history(rng, n, data)
    _diagnoses(rng, n, data)
    tables = drug_tables()
    antidepressants = sorted(tables.min_doses)
    benzos = sorted(tables.benzodiazepines)
    names = _other_names([*antidepressants, *benzos])
    _trials(rng, n, protocol, data, antidepressants, names)
    _medications(rng, n, protocol, data, benzos, names)
    _phq9(rng, n, data)
    _cssrs(rng, n, data)
    _diagnosis_list(rng, n, data)

    order = [c.name for c in wide_columns() if c.name != INPUT_ERROR_COLUMN]
    return pd.DataFrame({name: data[name] for name in order})


def _person(rng: np.random.Generator, n: int, protocol: Protocol, data: dict[str, object]) -> None:
    """Age, sex, weight, pregnancy and breastfeeding (men: no or blank), prevention discussed."""
    t = protocol.screening.thresholds
    a_min, a_old = t.age_minimum.value, t.age_caution_from.value
    age = np.round(rng.uniform(a_min, a_old + 10, n))
    age = _mix(
        rng, age, [a_min - 2, a_min - 1, a_min, a_min + 1, a_old - 1, a_old, a_old + 1], 0.12
    )
    age[rng.random(n) < 0.02] = np.nan
    data["age_years"] = age
    sex = _choice(
        rng,
        n,
        [s.value for s in (Sex.FEMALE, Sex.MALE, Sex.OTHER, Sex.UNKNOWN)],
        [0.5, 0.44, 0.03, 0.03],
    )
    data["sex"] = _cat(sex)
    data["weight_kg"] = np.round(np.clip(rng.normal(80, 18, n), 40, 180), 1)
    answers = [a.value for a in Answer]
    male = sex == Sex.MALE.value
    for name in ("pregnant", "breastfeeding"):
        could = _choice(rng, n, answers, [0.02, 0.92, 0.06])
        data[name] = _cat(_where(male, _choice(rng, n, ["no", None], [0.7, 0.3]), could))
    prevention = _choice(rng, n, [*answers, None], [0.86, 0.05, 0.05, 0.04])
    data["pregnancy_prevention_discussed"] = _cat(_where(male, None, prevention))


def _vitals(rng: np.random.Generator, n: int, protocol: Protocol, data: dict[str, object]) -> None:
    """Blood pressure and heart rate, some around the protocol's lines, a few unknown."""
    t = protocol.screening.thresholds
    cs, cd = t.bp_caution_systolic_above.value, t.bp_caution_diastolic_above.value
    ds, dd = t.bp_defer_systolic_min.value, t.bp_defer_diastolic_min.value
    sbp = _mix(
        rng, np.round(rng.normal(122, 11, n)), [cs - 1, cs, cs + 1, ds - 1, ds, ds + 1], 0.06
    )
    dbp = _mix(rng, np.round(rng.normal(77, 7, n)), [cd - 1, cd, cd + 1, dd - 1, dd, dd + 1], 0.06)
    sbp, dbp = np.clip(sbp, 85, 240), np.clip(dbp, 45, 140)
    dbp = np.where(dbp >= sbp, sbp - 30, dbp)
    sbp[rng.random(n) < 0.02] = np.nan
    dbp[rng.random(n) < 0.02] = np.nan
    data["systolic_bp_mmhg"], data["diastolic_bp_mmhg"] = sbp, dbp
    hr_lo, hr_hi = t.heart_rate_caution_below.value, t.heart_rate_caution_above.value
    hr = _mix(
        rng,
        np.round(np.clip(rng.normal(74, 11, n), 40, 160)),
        [hr_lo - 1, hr_lo, hr_hi, hr_hi + 1],
        0.04,
    )
    hr[rng.random(n) < 0.02] = np.nan
    data["heart_rate_bpm"] = hr


def _history(rng: np.random.Generator, n: int, data: dict[str, object]) -> None:
    """The history checklist: a share of records complete, the rest with gaps."""
    # A share of records is complete (no unknown answers); the rest has gaps.
    complete = rng.random(n) < 0.75
    rare = {
        HistoryQuestion.ANEURYSM_OR_AVM,
        HistoryQuestion.INTRACEREBRAL_HAEMORRHAGE,
        HistoryQuestion.KETAMINE_HYPERSENSITIVITY,
        HistoryQuestion.SEVERE_HEPATIC_IMPAIRMENT,
        HistoryQuestion.KETAMINE_MISUSE,
    }
    for q in HistoryQuestion:
        p_yes = 0.003 if q in rare else 0.02
        gappy = _choice(rng, n, ["yes", "no", "unknown", None], [p_yes, 0.9 - p_yes, 0.07, 0.03])
        full = _choice(rng, n, ["yes", "no"], [p_yes, 1 - p_yes])
        data[q.value] = _cat(np.where(complete, full, gappy))


def _diagnoses(rng: np.random.Generator, n: int, data: dict[str, object]) -> None:
    """Diagnosis slots: mostly a depressive episode first, then other and comorbid codes."""
    dx1 = np.where(
        rng.random(n) < 0.85,
        _choice(rng, n, _PRIMARY_DX, [1] * len(_PRIMARY_DX)),
        _choice(rng, n, [*_OTHER_DX, None], [*_OTHER_DX_WEIGHTS, 5]),
    )
    data["dx1"] = _cat(dx1)
    data["dx2"] = _cat(_choice(rng, n, [*_OTHER_DX, None], [*_OTHER_DX_WEIGHTS, 80]))
    for i in range(3, DIAGNOSIS_SLOTS + 1):
        data[f"dx{i}"] = _cat(
            _choice(rng, n, [*_COMORBID_DX, None], [*_COMORBID_DX_WEIGHTS, 80 * i])
        )


def _trials(
    rng: np.random.Generator,
    n: int,
    protocol: Protocol,
    data: dict[str, object],
    antidepressants: list[str],
    names: dict[str, list[str]],
) -> None:
    """Antidepressant trial slots: doses and durations around the adequacy lines."""
    t = protocol.screening.thresholds
    tables = drug_tables()
    min_dose = np.array([tables.min_doses[d][0] for d in antidepressants])
    history_known = rng.random(n) < 0.92
    data["trial_history"] = _list_status(rng, n, history_known)
    n_trials = np.where(history_known, rng.choice(6, n, p=[0.05, 0.12, 0.25, 0.3, 0.16, 0.12]), 0)
    n_trials[history_known & (rng.random(n) < 0.001)] = TRIAL_SLOTS
    w_min = t.trial_weeks_min.value
    outcome_p = [0.6, 0.2, 0.1, 0.03, 0.07]
    stop_p = [0.15, 0.6, 0.1, 0.1, 0.05]
    for i in range(1, TRIAL_SLOTS + 1):
        has = n_trials >= i
        pick = rng.integers(0, len(antidepressants), n)
        known = rng.random(n) < 0.96
        drug = np.where(
            known,
            _written(rng, np.asarray(antidepressants, dtype=object)[pick], names),
            _choice(rng, n, _UNKNOWN_DRUGS, [1] * len(_UNKNOWN_DRUGS)),
        )
        dose = min_dose[pick] * rng.choice(
            [0.5, 0.99, 1.0, 1.5, 2.0], n, p=[0.05, 0.03, 0.37, 0.35, 0.2]
        )
        dose = np.where(known, dose, rng.choice([25.0, 50.0, 100.0], n))
        dose[rng.random(n) < 0.03] = np.nan
        weeks = rng.choice(
            [1, 2, w_min - 1, w_min - 0.5, w_min, w_min + 2, 8, 12, 26, np.nan],
            n,
            p=[0.02, 0.03, 0.04, 0.02, 0.15, 0.22, 0.28, 0.14, 0.06, 0.04],
        )
        outcome = _choice(rng, n, [o.value for o in TrialOutcome], outcome_p)
        outcome = _where(rng.random(n) < 0.02, None, outcome)
        stop = _choice(rng, n, [s.value for s in StopReason], stop_p)
        stop = _where(rng.random(n) < 0.02, None, stop)
        data[f"trial{i}_drug"] = _cat(_where(has, drug, None))
        data[f"trial{i}_dose_mg"] = np.where(has, dose, np.nan)
        data[f"trial{i}_weeks"] = np.where(has, weeks, np.nan)
        data[f"trial{i}_outcome"] = _cat(_where(has, outcome, None))
        data[f"trial{i}_stop_reason"] = _cat(_where(has, stop, None))


def _medications(
    rng: np.random.Generator,
    n: int,
    protocol: Protocol,
    data: dict[str, object],
    benzos: list[str],
    names: dict[str, list[str]],
) -> None:
    """Current medication slots: benzodiazepine doses around the high-dose line, others."""
    tables = drug_tables()
    meds_known = rng.random(n) < 0.96
    data["medication_list"] = _list_status(rng, n, meds_known)
    n_meds = np.where(meds_known, rng.choice(5, n, p=[0.4, 0.3, 0.17, 0.08, 0.05]), 0)
    n_meds[meds_known & (rng.random(n) < 0.001)] = MEDICATION_SLOTS
    eq_10mg = np.array([tables.benzodiazepines[b][0] for b in benzos])
    high = protocol.screening.thresholds.benzodiazepine_high_dose_above.value
    for i in range(1, MEDICATION_SLOTS + 1):
        has = n_meds >= i
        is_benzo = rng.random(n) < 0.12
        pick = rng.integers(0, len(benzos), n)
        # Benzodiazepine doses around the high-dose line (in diazepam equivalents).
        target = rng.choice([0.25, 0.5, 0.9, 1.0, 1.1, 2.0], n) * high
        benzo_dose = np.round(target * eq_10mg[pick] / 10.0, 3)
        other = _choice(rng, n, _OTHER_MEDS, _OTHER_MED_WEIGHTS)
        other_dose = rng.choice([5.0, 25.0, 50.0, 100.0, 300.0, 600.0], n)
        unknown = rng.random(n) < 0.01
        other = np.where(unknown, _choice(rng, n, _UNKNOWN_DRUGS, [1] * len(_UNKNOWN_DRUGS)), other)
        benzo = _written(rng, np.asarray(benzos, dtype=object)[pick], names)
        drug = np.where(is_benzo, benzo, other)
        dose = np.where(is_benzo, benzo_dose, other_dose)
        dose[rng.random(n) < 0.08] = np.nan
        data[f"med{i}_drug"] = _cat(_where(has, drug, None))
        data[f"med{i}_dose_mg"] = np.where(has, dose, np.nan)


def _phq9(rng: np.random.Generator, n: int, data: dict[str, object]) -> None:
    """Baseline PHQ-9 items for a share of patients."""
    defn = phq9_definition()
    phq_given = rng.random(n) < 0.6
    item_values = list(range(defn.item_min, defn.item_max + 1))
    for i in defn.items:
        weights = [0.7, 0.15, 0.1, 0.05] if i == defn.safety_item.item else [0.25] * 4
        values = rng.choice(item_values, n, p=weights[: len(item_values)]).astype(float)
        values[rng.random(n) < 0.04] = np.nan
        data[f"phq9_item{i}"] = np.where(phq_given, values, np.nan)


def _cssrs(rng: np.random.Generator, n: int, data: dict[str, object]) -> None:
    """The C-SSRS screener for a share of patients; follow-ups skipped after a "no"."""
    answers = [a.value for a in Answer]
    c_given = rng.random(n) < 0.45
    wish = _choice(rng, n, answers, [0.15, 0.8, 0.05])
    thoughts = _choice(rng, n, answers, [0.1, 0.85, 0.05])
    data["cssrs_wish_to_be_dead"] = _cat(_where(c_given, wish, None))
    data["cssrs_active_thoughts"] = _cat(_where(c_given, thoughts, None))
    for cq in (CssrsQuestion.METHOD, CssrsQuestion.INTENT, CssrsQuestion.PLAN):
        asked = _choice(rng, n, [*answers, None], [0.3, 0.55, 0.1, 0.05])
        skipped = _choice(rng, n, [None, "no"], [0.9, 0.1])
        value = np.where(thoughts == Answer.NO.value, skipped, asked)
        data[f"cssrs_{cq.value}"] = _cat(_where(c_given, value, None))
    behaviour = _choice(rng, n, [*answers, None], [0.03, 0.88, 0.05, 0.04])
    data["cssrs_behaviour_past_3_months"] = _cat(_where(c_given, behaviour, None))
    # Question 6, lifetime: "yes" whenever the past 3 months is "yes" (or left blank,
    # implied); otherwise some lifetime behaviour, some unknown or not asked.
    lifetime = _choice(rng, n, [*answers, None], [0.08, 0.8, 0.06, 0.06])
    lifetime = np.where(
        behaviour == Answer.YES.value, _choice(rng, n, ["yes", None], [3, 1]), lifetime
    )
    data["cssrs_behaviour_lifetime"] = _cat(_where(c_given, lifetime, None))


def _diagnosis_list(rng: np.random.Generator, n: int, data: dict[str, object]) -> None:
    """The diagnosis list's status: drawn last, so the columns above stay as they were."""
    # The diagnosis list: drawn last, so the columns above stay as they were.
    dx_known = rng.random(n) < 0.95
    dx_filled = np.zeros(n, dtype=bool)
    for i in range(1, DIAGNOSIS_SLOTS + 1):
        codes = np.asarray(data[f"dx{i}"], dtype=object)
        codes = _where(dx_known, codes, None)
        data[f"dx{i}"] = _cat(codes)
        dx_filled |= pd.notna(codes)
    unknown_status = _choice(rng, n, [ListStatus.UNKNOWN.value, None], [1, 1])
    blank_when_filled = dx_filled & (rng.random(n) < 0.1)
    data[DIAGNOSIS_LIST_COLUMN] = _cat(
        np.where(
            dx_known,
            _where(blank_when_filled, None, ListStatus.RECORDED.value),
            unknown_status,
        )
    )


def synthetic_screening_records(
    n: int, seed: int = 0, *, protocol: Protocol | None = None
) -> list[ScreeningRecord]:
    """The same ``n`` synthetic patients as :func:`synthetic_screening_frame`, as records."""
    return frame_to_records(synthetic_screening_frame(n, seed, protocol=protocol))
