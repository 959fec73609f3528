"""Augmentation trials count as the protocol decides, judged either way, on both paths."""

from __future__ import annotations

from kaptools.protocol import default_protocol
from kaptools.screening import TrialVerdict, screen, screen_cohort
from kaptools.screening.cohort import frame_from_records
from kaptools.screening.tables import TrialRole, drug_tables
from tests.screening.test_screening import vignette_record

AUGMENTERS = sorted(d for d, r in drug_tables().trial_roles.items() if r == TrialRole.AUGMENTATION)


def _record(drug: str):  # type: ignore[no-untyped-def]
    dose = drug_tables().min_doses[drug][0]
    return vignette_record(
        {
            "antidepressant_trials": [
                {
                    "drug": "sertraline",
                    "daily_dose_mg": 100,
                    "weeks": 8,
                    "outcome": "no_response",
                    "stop_reason": "lack_of_effect",
                },
                {
                    "drug": drug,
                    "daily_dose_mg": dose,
                    "weeks": 6,
                    "outcome": "no_response",
                    "stop_reason": "lack_of_effect",
                },
            ]
        }
    )


def test_every_issue_augmenter_is_in_the_table() -> None:
    """The augmentation agents of the default protocol page all have a minimum dose."""
    assert set(AUGMENTERS) >= {
        "aripiprazole",
        "brexpiprazole",
        "cariprazine",
        "quetiapine",
        "lithium",
        "liothyronine",
    }


def test_augmentation_counts_by_default_and_is_never_not_judged() -> None:
    """Default protocol: an adequate failed augmentation trial counts (2 trials met)."""
    for drug in AUGMENTERS:
        result = screen(_record(drug))
        assert result.trials[1].verdict == TrialVerdict.FAILED_ADEQUATE, drug
        assert any("augmentation agent" in r for r in result.trials[1].reasons)
        assert result.status.value == "eligible", (drug, result.summary)


def test_a_protocol_that_does_not_count_augmentation_judges_it_not_failed_on_both_paths() -> None:
    """augmentation_counts = false: the trial is 'not a failed adequate trial' (judged,
    never 'not judged'), the indication is not met, and the cohort path agrees."""
    clinic = default_protocol().with_changes({"screening.trials.augmentation_counts": False})
    records = [_record(drug) for drug in AUGMENTERS]
    cohort = screen_cohort(frame_from_records(records), protocol=clinic)
    for i, record in enumerate(records):
        result = screen(record, protocol=clinic)
        assert result.trials[1].verdict == TrialVerdict.NOT_FAILED_ADEQUATE
        assert "indication_not_met" in result.rule_ids
        assert cohort.table["status"].iloc[i] == result.status.value
        assert int(cohort.table["failed_adequate_trials"].iloc[i]) == 1
