"""Protocol.with_changes: what-if protocols are validated like a file, carry their own
name, version and content hash, and every route that would keep the old provenance is
closed (content hash computed, never stored; frozen sections; validated copies)."""

from __future__ import annotations

import copy
import dataclasses
import json
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from pydantic import ValidationError

from kaptools.errors import ProtocolError
from kaptools.outcomes import course_outcomes
from kaptools.protocol import default_protocol, parse_protocol
from kaptools.screening import screen, screen_cohort, synthetic_screening_frame

VIGNETTES = json.loads(
    (Path(__file__).parents[1] / "data" / "screening_vignettes.json").read_text(encoding="utf-8")
)
ITEMS = [f"item_{i}" for i in range(1, 10)]
KEY = "screening.thresholds.bp_caution_systolic_above"


def raised_bp_record() -> dict[str, Any]:
    record = copy.deepcopy(VIGNETTES["base_record"])
    record["systolic_bp_mmhg"], record["diastolic_bp_mmhg"] = 135, 80
    return record


def test_with_changes_names_versions_and_hashes_the_new_protocol() -> None:
    """The what-if protocol's name lists the change, its version and hash are new."""
    base = default_protocol()
    what_if = base.with_changes({KEY: 130})
    assert what_if.info.name.startswith(base.info.name)
    assert "modified" in what_if.info.name and f"{KEY}=130" in what_if.info.name
    assert what_if.info.version != base.info.version
    assert what_if.info.version.startswith(base.info.version + "+whatif.")
    assert what_if.info.sha256 != base.info.sha256
    assert what_if.screening.thresholds.bp_caution_systolic_above.value == 130
    # unit and source kept; the note says what it was
    threshold = what_if.screening.thresholds.bp_caution_systolic_above
    assert threshold.unit == "mmHg" and "140" in threshold.note
    assert base.screening.thresholds.bp_caution_systolic_above.value == 140  # untouched
    assert what_if.value(KEY)["value"] == 130
    assert str(base.info.sha256[:12]) in what_if.header.based_on


def test_with_changes_results_carry_new_provenance_and_quote_new_values() -> None:
    """Screening under the what-if records it and its messages quote the new number."""
    base = default_protocol()
    what_if = base.with_changes({KEY: 130, "screening.thresholds.bp_caution_diastolic_above": 85})
    record = raised_bp_record()
    before, after = screen(record, protocol=base), screen(record, protocol=what_if)
    assert "blood_pressure_raised" not in before.rule_ids
    assert "blood_pressure_raised" in after.rule_ids
    assert after.protocol == what_if.info
    message = next(f.message for f in after.findings if f.rule_id == "blood_pressure_raised")
    assert "130/85" in message and "140/90" not in message


def test_with_changes_same_changes_give_same_hash_and_identical_results() -> None:
    """The content hash is a function of the content: same changes, same hash."""
    a = default_protocol().with_changes({KEY: 130})
    b = default_protocol().with_changes({KEY: 130.0})
    assert a.info == b.info


def test_with_changes_cohort_and_outcomes_use_the_new_values() -> None:
    """screen_cohort records the what-if protocol; course_outcomes applies its fraction."""
    base = default_protocol()
    what_if = base.with_changes({KEY: 130})
    frame = synthetic_screening_frame(200, seed=1)
    assert screen_cohort(frame, protocol=what_if).protocol == what_if.info
    assert screen_cohort(frame, protocol=base).protocol == base.info
    # 18 -> 10 is a 44 % fall: response at 0.4, not at the default 0.5
    frame_o = pd.DataFrame(
        [
            {"patient_id": "P1", "administered_on": "2026-01-01", **dict.fromkeys(ITEMS, 2)},
            {
                "patient_id": "P1",
                "administered_on": "2026-02-01",
                **dict(zip(ITEMS, [2, 2, 1, 1, 1, 1, 1, 1, 0], strict=True)),
            },
        ]
    )
    lenient = base.with_changes({"measures.response_reduction_min": 0.4})
    assert not bool(course_outcomes(frame_o, "PHQ-9", protocol=base)["response"].iloc[0])
    assert bool(course_outcomes(frame_o, "PHQ-9", protocol=lenient)["response"].iloc[0])


@pytest.mark.parametrize(
    ("changes", "fragment"),
    [
        ({KEY: 200}, "must be below bp_defer_systolic_min"),
        ({KEY: "high"}, "screening.thresholds.bp_caution_systolic_above.value"),
        ({"screening.thresholds.bp_caution_systolc_above": 130}, "'bp_caution_systolc_above'"),
        ({"measures.response_reduction_min": 50}, "fraction of the baseline"),
        ({"nowhere.at_all": 1}, "'nowhere'"),
        ({"protocol.name": "mine"}, "header"),
        ({KEY: {"value": 130}}, "unit"),
        ({}, "non-empty mapping"),
    ],
)
def test_with_changes_refuses_what_a_protocol_file_would_refuse(
    changes: dict[str, Any], fragment: str
) -> None:
    """Bad changes raise ProtocolError naming the key, the problem and the value."""
    with pytest.raises(ProtocolError) as err:
        default_protocol().with_changes(changes)
    assert fragment in str(err.value)


def test_replacing_a_section_outside_with_changes_never_keeps_old_provenance() -> None:
    """dataclasses.replace with an edited section: new hash and a name saying modified."""
    base = default_protocol()
    measures = base.measures.model_copy(
        update={
            "response_reduction_min": {
                **base.value("measures.response_reduction_min"),
                "value": 0.4,
            }
        }
    )
    edited = dataclasses.replace(base, measures=measures)
    assert edited.info.sha256 != base.info.sha256
    assert "modified" in edited.info.name and edited.info.version != base.info.version
    # and the same trick on a what-if protocol is caught too
    what_if = base.with_changes({KEY: 130})
    edited_again = dataclasses.replace(what_if, measures=measures)
    assert "outside with_changes" in edited_again.info.name


def test_section_copies_are_validated_and_sections_are_frozen() -> None:
    """model_copy(update=...) validates; assigning to a section raises."""
    thresholds = default_protocol().screening.thresholds
    with pytest.raises(ValidationError):
        thresholds.bp_caution_systolic_above.model_copy(update={"value": "high"})
    with pytest.raises(ValidationError):
        thresholds.bp_caution_systolic_above.value = 1  # type: ignore[misc]
    with pytest.raises(dataclasses.FrozenInstanceError):
        default_protocol().measures = default_protocol().measures  # type: ignore[misc]


def test_content_hash_ignores_layout_but_not_values() -> None:
    """Reformatting a file keeps the hash; changing a value or source changes it."""
    base = default_protocol()
    text = base.path.read_text(encoding="utf-8")  # type: ignore[union-attr]
    assert parse_protocol("# a comment\n" + text).info == base.info
    edited = parse_protocol(text.replace("value = 140, unit", "value = 141, unit", 1))
    assert edited.info.sha256 != base.info.sha256
    assert edited.info.name == base.info.name  # an edited file is that file: its own header


def test_with_changes_can_replace_a_whole_table_and_be_named() -> None:
    """A table replaces the entry; name= labels the what-if protocol, still marked modified."""
    base = default_protocol()
    entry = {"value": 130, "unit": "mmHg", "source": "our clinic's lead, 2026 review"}
    what_if = base.with_changes({KEY: entry}, name="Clinic BP review")
    assert what_if.info.name.startswith("Clinic BP review (modified:")
    assert what_if.screening.thresholds.bp_caution_systolic_above.source == entry["source"]
