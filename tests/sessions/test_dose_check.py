"""A recorded dose checked against the plan and the route's rules (numbers from the protocol)."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kaptools.protocol import default_protocol
from kaptools.sessions import DoseVerdict, check_dose

P = default_protocol()
ESK = P.courses.route("esketamine_nasal").dose
IV = P.courses.route("iv_ketamine").dose
IM = P.courses.route("im_ketamine").dose
OLDER = int(ESK.older_adult_age_years.value)
PCT = P.monitoring.dose_plan_deviation_reason_above_pct.value
assert P.courses.weight_review_above_kg is not None
HEAVY = P.courses.weight_review_above_kg.value


def _v(*args, **kw) -> DoseVerdict:
    return check_dose(*args, **kw).verdict


@pytest.mark.parametrize("mg", [112, 30, 0.5, 140])
def test_non_label_esketamine_doses_are_refused(mg):
    """The issue's cases (112 mg, 30 mg) and others: refused, naming the label doses."""
    check = check_dose("esketamine_nasal", mg, age_years=40, first_dose=False)
    assert DoseVerdict.REFUSED == check.verdict and not check.recordable
    assert "56 mg" in check.findings[0].message


@pytest.mark.parametrize(
    ("age", "first", "allowed"),
    [
        (OLDER - 1, True, {ESK.first_dose_mg.value}),
        (OLDER, True, {ESK.first_dose_mg_older.value}),
        (OLDER - 1, False, set(ESK.options_mg.values)),
        (OLDER, False, set(ESK.options_mg_older.values)),
    ],
)
def test_esketamine_label_doses_by_age_and_day(age, first, allowed):
    """Exactly the label's doses for the age (edge at the older-adult age) and the day."""
    for mg in (28, 56, 84):
        expected = DoseVerdict.OK if mg in allowed else DoseVerdict.REFUSED
        assert expected == _v("esketamine_nasal", mg, age_years=age, first_dose=first), mg


def test_esketamine_unknown_age_or_day_is_unchecked_when_it_matters():
    """28 mg without an age cannot be checked (it is a label dose only at 65+); 56 later can."""
    c = check_dose("esketamine_nasal", 28, first_dose=False)
    assert DoseVerdict.UNCHECKED == c.verdict and "patient_age_years" in c.findings[0].message
    assert DoseVerdict.UNCHECKED == _v("esketamine_nasal", 84, age_years=40)
    assert DoseVerdict.OK == _v("esketamine_nasal", 56, first_dose=False)


def test_iv_400_mg_for_80_kg_is_refused():
    """The issue's case: 5 mg/kg IV is outside everything the protocol allows."""
    c = check_dose("iv_ketamine", 400, weight_kg=80)
    assert DoseVerdict.REFUSED == c.verdict
    assert "5 mg/kg" in c.findings[0].message and "80 kg" in c.findings[0].message


def test_iv_between_the_range_and_the_clinicians_choice_needs_a_reason():
    """IV above max_mg_per_kg up to clinician_choice_max_mg_per_kg: a written reason."""
    w = 80
    assert IV.clinician_choice_max_mg_per_kg is not None
    choice = IV.clinician_choice_max_mg_per_kg.value
    c = check_dose("iv_ketamine", choice * w, weight_kg=w)
    assert DoseVerdict.NEEDS_REASON == c.verdict and not c.recordable
    assert check_dose(
        "iv_ketamine", choice * w, weight_kg=w, reason="Partial response at 0.75"
    ).recordable
    assert DoseVerdict.REFUSED == _v("iv_ketamine", choice * w + 2, weight_kg=w)


@pytest.mark.parametrize("dose", [IV, IM])
def test_weight_based_range_edges(dose):
    """At min and max mg/kg: fine; a step outside: refused (IM has no clinician's choice)."""
    route = "iv_ketamine" if dose is IV else "im_ketamine"
    w = 70
    step = dose.rounding_mg.value
    assert DoseVerdict.OK == _v(route, dose.min_mg_per_kg.value * w, weight_kg=w)
    assert DoseVerdict.OK == _v(route, dose.max_mg_per_kg.value * w, weight_kg=w)
    assert DoseVerdict.REFUSED == _v(route, dose.min_mg_per_kg.value * w - step, weight_kg=w)
    above = _v(route, dose.max_mg_per_kg.value * w + step, weight_kg=w)
    expected = (
        DoseVerdict.REFUSED
        if dose.clinician_choice_max_mg_per_kg is None
        else (DoseVerdict.NEEDS_REASON)
    )
    assert expected == above


def test_weight_based_dose_without_weight_is_unchecked():
    """No weight: the mg/kg cannot be checked; the finding names weight_kg."""
    c = check_dose("im_ketamine", 35)
    assert DoseVerdict.UNCHECKED == c.verdict and "weight_kg" == c.findings[0].field


@pytest.mark.parametrize(("weight", "flag"), [(HEAVY, False), (HEAVY + 0.1, True)])
def test_weight_above_the_review_line_is_a_review_flag(weight, flag):
    """Weight above 120 kg: review flag (recordable)."""
    c = check_dose("iv_ketamine", round(0.5 * weight), weight_kg=weight)
    assert any(f.rule_id == "weight_above_review_line" for f in c.findings) == flag
    assert c.recordable


@settings(max_examples=150, deadline=None)
@given(planned=st.integers(20, 100), pct=st.floats(-40, 40, allow_nan=False))
def test_more_than_the_deviation_line_from_plan_needs_a_reason(planned, pct):
    """|given − planned| / planned > 10 %: a reason is needed; at or under it, not."""
    given_mg = round(planned * (1 + pct / 100), 3)
    c = check_dose("iv_ketamine", given_mg, weight_kg=planned / 0.5, planned_dose_mg=planned)
    off = abs(given_mg - planned) / planned * 100
    assert any(f.rule_id == "dose_differs_from_plan" for f in c.findings) == (off > PCT)


def test_label_dose_differing_from_plan_needs_a_reason():
    """Planned 84 mg, 56 mg given: a label dose, but more than 10 % off: reason needed."""
    c = check_dose("esketamine_nasal", 56, age_years=40, first_dose=False, planned_dose_mg=84)
    assert DoseVerdict.NEEDS_REASON == c.verdict and not c.recordable


def test_a_named_label_schedule_allows_its_day_1_dose_when_planned():
    """MDSI (label: 84 mg from day 1): 84 mg on day 1 is refused under the TRD rule unless
    the plan proposed it from the named schedule."""
    mdsi = P.courses.templates["esketamine_mdsi"]
    assert mdsi.first_dose_mg is not None
    mg = mdsi.first_dose_mg.value
    assert DoseVerdict.REFUSED == _v("esketamine_nasal", mg, age_years=40, first_dose=True)
    assert DoseVerdict.OK == _v(
        "esketamine_nasal", mg, age_years=40, first_dose=True, planned_dose_mg=mg
    )
