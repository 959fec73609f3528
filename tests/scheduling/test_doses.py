"""Doses from the protocol: weight × mg/kg with rounding and caps; esketamine label doses.

Worked examples live in tests/data/scheduling_dose_examples.json, each with its source.
"""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kaptools.errors import IncompleteInputError, InvalidInputError
from kaptools.protocol import DEFAULT_PROTOCOL_PATH, default_protocol, parse_protocol
from kaptools.scheduling import CLINICIAN_CONFIRMATION, DoseCalculation, calculate_dose

CASES = json.loads(
    (Path(__file__).parents[1] / "data" / "scheduling_dose_examples.json").read_text()
)["cases"]
IV_DOSE_TABLE = '[courses.iv_ketamine.dose]\nbasis = "weight"\n'


def _edited(*changes: tuple[str, str]):
    """The shipped protocol with passages replaced (first occurrence each): a clinic's copy."""
    text = DEFAULT_PROTOCOL_PATH.read_text(encoding="utf-8")
    for old, new in changes:
        assert old in text
        text = text.replace(old, new, 1)
    return parse_protocol(text, origin="edited copy")


def _with_iv_cap(mg: float):
    cap = f'max_mg = {{ value = {mg}, unit = "mg", source = "test clinic policy" }}\n'
    return _edited((IV_DOSE_TABLE, IV_DOSE_TABLE + cap))


@pytest.mark.parametrize("case", CASES, ids=[c["id"] for c in CASES])
def test_worked_dose_examples(case):
    """Each worked example gives its documented dose and arithmetic, or its documented error."""
    kwargs = {
        "dose_number": case["dose_number"],
        "weight_kg": case["weight_kg"],
        "age": case["age"],
        "dose_mg_per_kg": case.get("dose_mg_per_kg"),
        "later_dose_mg": case.get("later_dose_mg"),
    }
    if "error" in case:
        with pytest.raises(InvalidInputError):
            calculate_dose(case["route"], **kwargs)
        return
    dose = calculate_dose(case["route"], **kwargs)
    assert case["mg"] == dose.mg
    assert case["arithmetic"] == dose.arithmetic
    assert case["devices"] == dose.devices
    assert CLINICIAN_CONFIRMATION == dose.confirmation


def test_cap_applies_after_rounding_and_is_shown():
    """A protocol cap limits the dose and the arithmetic says so."""
    dose = calculate_dose("iv_ketamine", weight_kg=150, protocol=_with_iv_cap(60))
    assert 60 == dose.mg
    assert dose.capped
    assert "150 kg × 0.5 mg/kg = 75 mg; capped at the protocol maximum of 60 mg" == dose.arithmetic


def test_dose_below_cap_is_not_capped():
    """Below the cap the weight-based dose stands."""
    dose = calculate_dose("iv_ketamine", weight_kg=100, protocol=_with_iv_cap(60))
    assert (50, False) == (dose.mg, dose.capped)


def test_rounding_down_mode_never_exceeds_the_computed_dose():
    """With rounding = "down" the dose is the step at or below weight × mg/kg."""
    protocol = _edited(
        ("rounding_mg = { value = 1,", "rounding_mg = { value = 5,"),  # first hit: IV table
        ('rounding = "nearest"\n# An absolute', 'rounding = "down"\n# An absolute'),
    )
    dose = calculate_dose("iv_ketamine", weight_kg=79, protocol=protocol)
    assert 35 == dose.mg
    expected = "79 kg × 0.5 mg/kg = 39.5 mg, rounded down to a multiple of 5 mg: 35 mg"
    assert expected == dose.arithmetic


def test_missing_weight_is_incomplete_input():
    """A weight-based dose without a weight asks for the weight."""
    with pytest.raises(IncompleteInputError) as err:
        calculate_dose("iv_ketamine", weight_kg=None)
    assert ("weight_kg",) == err.value.missing


def test_missing_age_for_esketamine_is_incomplete_input():
    """The esketamine day-1 dose depends on age, so a missing age is asked for."""
    with pytest.raises(IncompleteInputError) as err:
        calculate_dose("esketamine_nasal", age=None)
    assert ("age",) == err.value.missing


@pytest.mark.parametrize("weight", [0, -70, 12, 400, float("nan"), "70", True])
def test_implausible_weight_is_invalid_and_message_gives_the_range(weight):
    """A weight outside the protocol's plausibility range names the range from the protocol."""
    lo = default_protocol().courses.patient_weight_min_kg.value
    with pytest.raises(InvalidInputError, match=f"from {lo:g} to"):
        calculate_dose("iv_ketamine", weight_kg=weight)


def test_mixing_dose_choices_across_routes_is_invalid():
    """mg/kg is for weight-based routes, later_dose_mg for esketamine; swapping them is an error."""
    with pytest.raises(InvalidInputError, match="later_dose_mg"):
        calculate_dose("iv_ketamine", weight_kg=70, later_dose_mg=56)
    with pytest.raises(InvalidInputError, match="dose_mg_per_kg"):
        calculate_dose("esketamine_nasal", age=40, dose_mg_per_kg=0.5)


def test_older_adult_titrates_in_28mg_steps():
    """At 65+, aiming for 84 mg goes 28 → 56 → 84 mg, one label step per session."""
    mgs = [
        calculate_dose("esketamine_nasal", age=72, dose_number=n, later_dose_mg=84).mg
        for n in (1, 2, 3, 4)
    ]
    assert [28, 56, 84, 84] == mgs


def test_dose_renders_with_confirmation_and_escapes():
    """The dose shows its arithmetic and the words 'for clinician confirmation'."""
    dose = calculate_dose("iv_ketamine", weight_kg=70)
    assert "for clinician confirmation" in dose.summary
    assert "for clinician confirmation" in dose._repr_html_()
    assert dose == DoseCalculation.from_dict(dose.to_dict())


def test_dose_cannot_drop_the_confirmation():
    """A DoseCalculation without 'for clinician confirmation' cannot be built."""
    dose = calculate_dose("iv_ketamine", weight_kg=70)
    with pytest.raises(InvalidInputError, match="clinician confirmation"):
        DoseCalculation(
            dose.route, dose.basis, dose.mg, dose.arithmetic, dose.source, confirmation="ok"
        )


@settings(max_examples=80, deadline=None)
@given(
    weight=st.decimals(30, 250, places=1).map(float),
    rate=st.sampled_from([0.1, 0.25, 0.4, 0.5, 0.6, 0.75]),
)
def test_weight_dose_is_the_product_rounded_to_the_nearest_mg(weight, rate):
    """Any plausible weight and allowed rate: mg is weight × rate to the nearest mg, shown."""
    dose = calculate_dose("iv_ketamine", weight_kg=weight, dose_mg_per_kg=rate)
    exact = Decimal(str(weight)) * Decimal(str(rate))
    assert abs(Decimal(str(dose.mg)) - exact) <= Decimal("0.5")
    assert dose.arithmetic.startswith(f"{Decimal(str(weight)).normalize():f} kg × ")
    assert CLINICIAN_CONFIRMATION == dose.confirmation


@settings(max_examples=40, deadline=None)
@given(weight=st.floats(30, 250), cap=st.integers(10, 120))
def test_capped_dose_never_exceeds_the_cap(weight, cap):
    """With a protocol cap, no dose is above it."""
    protocol = _CAPS.setdefault(cap, _with_iv_cap(cap))
    assert calculate_dose("iv_ketamine", weight_kg=weight, protocol=protocol).mg <= cap


_CAPS: dict[int, object] = {}
