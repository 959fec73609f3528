"""kaptools.scores.compare: response, remission, clinically important change and worsening.

Rules: response = fall of at least the protocol's fraction (50 %, NCQA/HEDIS and
trials, clinical-sources.md §4.1, §4.4); remission per instrument (PHQ-9 < 5 [4.1],
QIDS-SR16 ≤ 5 [4.5], MADRS ≤ 10 [4.4], none for GAD-7 and PCL-5); MCID PHQ-9 5
points [4.1], PCL-5 10 points [4.3]; worsening = rise of at least the protocol's
points (5 by default).
"""

from __future__ import annotations

import dataclasses
import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kaptools.errors import InvalidInputError
from kaptools.protocol import DEFAULT_PROTOCOL_PATH, Protocol, default_protocol, parse_protocol
from kaptools.scores import Change, Instrument, definition, score
from kaptools.scores import compare as compare_scores


def protocol_with(**measures: float) -> Protocol:
    """The default protocol with some [measures] values replaced."""
    text = DEFAULT_PROTOCOL_PATH.read_text(encoding="utf-8")
    for key, value in measures.items():
        text, n = re.subn(rf"(?m)^({key} = \{{ value = )[^,]+", rf"\g<1>{value}", text)
        assert n == 1, key
    return parse_protocol(text, origin="test")


def scored(instrument: str | Instrument, total: int, protocol: Protocol | None = None):
    """A result with the given total (items, or QIDS domain first items, filled greedily)."""
    defn = definition(instrument)
    answers = [defn.item_min] * defn.item_count
    slots = [s.items[0] for s in defn.subscales] if defn.total_from_subscales else defn.items
    remaining = total - defn.total_min
    for item in slots:
        step = min(defn.item_max - defn.item_min, remaining)
        answers[item - 1] += step
        remaining -= step
    return score(instrument, answers, protocol=protocol)


def change(instrument: str, baseline: int, current: int, protocol: Protocol | None = None):
    return compare_scores(
        scored(instrument, baseline), scored(instrument, current), protocol=protocol
    )


@pytest.mark.parametrize(
    ("baseline", "current", "response"),
    [(20, 10, True), (20, 11, False), (15, 7, True), (15, 8, False), (1, 0, True), (10, 10, False)],
)
def test_response_is_a_fall_of_at_least_half(baseline, current, response):
    """Response holds exactly when the total fell by 50 % or more of the baseline."""
    assert response is change("phq9", baseline, current).response


def test_response_fraction_comes_from_the_protocol_without_float_edges():
    """With a 0.3 fraction, 10 → 7 meets it exactly (no 0.3 × 10 > 3 rounding error)."""
    protocol = protocol_with(response_reduction_min=0.3)
    assert True is change("phq9", 10, 7, protocol).response
    assert False is change("phq9", 10, 8, protocol).response
    assert 0.3 == change("phq9", 10, 8, protocol).response_reduction_min


def test_baseline_zero_leaves_percent_change_and_response_undefined():
    """From a baseline of 0, percent change and response are None (not defined), not False."""
    c = change("phq9", 0, 6)
    assert (None, None) == (c.percent_change, c.response)
    assert (6, True) == (c.delta, c.worsening)
    assert "not defined" in c.summary


def test_percent_change_and_delta():
    """delta = current − baseline; percent change = 100 × delta / baseline."""
    c = change("madrs", 32, 8)
    assert (-24, -75.0) == (c.delta, c.percent_change)
    assert (32, 8) == (c.baseline_total, c.current_total)


@pytest.mark.parametrize(
    ("instrument", "inside", "outside"),
    [("phq9", 4, 5), ("qids_sr16", 5, 6), ("madrs", 10, 11)],
)
def test_remission_thresholds(instrument, inside, outside):
    """Remission: PHQ-9 below 5, QIDS-SR16 5 or less, MADRS 10 or less."""
    assert True is change(instrument, 20, inside).remission
    assert False is change(instrument, 20, outside).remission


@pytest.mark.parametrize("instrument", ["gad7", "pcl5"])
def test_remission_is_undefined_where_no_rule_is_sourced(instrument):
    """GAD-7 and PCL-5 have no sourced remission rule: remission is None, even at 0."""
    c = change(instrument, 15, 0)
    assert None is c.remission
    assert f"remission: not defined for the {definition(instrument).name}" in c.summary


@pytest.mark.parametrize(
    ("instrument", "baseline", "met", "not_met"),
    [("phq9", 20, 15, 16), ("pcl5", 50, 40, 41)],
)
def test_minimal_clinically_important_change(instrument, baseline, met, not_met):
    """MCID: a fall of 5 points on the PHQ-9, 10 on the PCL-5; a rise never meets it."""
    assert True is change(instrument, baseline, met).mcid_met
    assert False is change(instrument, baseline, not_met).mcid_met
    assert False is change(instrument, baseline, baseline + 12).mcid_met


@pytest.mark.parametrize("instrument", ["gad7", "qids_sr16", "madrs"])
def test_mcid_is_undefined_where_no_value_is_sourced(instrument):
    """GAD-7, QIDS-SR16 and MADRS have no sourced MCID: mcid_met is None."""
    assert None is change(instrument, 18, 2).mcid_met


@pytest.mark.parametrize(("current", "worse"), [(15, True), (14, False), (25, True), (5, False)])
def test_worsening_is_a_rise_of_at_least_the_protocol_points(current, worse):
    """Worsening: the total rose by 5 points or more (default protocol)."""
    assert worse is change("phq9", 10, current).worsening


def test_worsening_points_come_from_the_protocol():
    """With worsening_increase_min = 3, a rise of 3 is worsening and the summary says 3."""
    protocol = protocol_with(worsening_increase_min=3)
    c = change("gad7", 10, 13, protocol)
    assert (True, 3) == (c.worsening, c.worsening_increase_min)
    assert "rise of 3 points or more" in c.summary
    assert protocol.info == c.protocol


def test_compare_refuses_different_instruments():
    """A PHQ-9 cannot be compared with a GAD-7; the message names both."""
    with pytest.raises(InvalidInputError, match=r"'phq9'.*'gad7'"):
        compare_scores(scored("phq9", 10), scored("gad7", 10))


def test_compare_refuses_things_that_are_not_scores():
    """compare() takes ScoreResults only."""
    with pytest.raises(InvalidInputError, match=r"baseline:? must be a ScoreResult"):
        compare_scores(12, scored("phq9", 10))  # type: ignore[arg-type]


def test_change_notes_a_baseline_already_in_remission_and_mixed_protocols():
    """The notes say when the baseline already met remission or the protocols differ."""
    other = protocol_with(phq9_item9_alert_min=2)
    c = compare_scores(scored("phq9", 3), scored("phq9", 2, other))
    assert any("already met the remission rule" in n for n in c.notes)
    assert any("different protocols" in n for n in c.notes)


def test_change_summary_states_each_outcome_and_its_rule():
    """The summary gives the totals, the change and every outcome with the rule applied."""
    c = change("phq9", 20, 4)
    assert c.summary.startswith("PHQ-9 20 → 4 (-16 points, -80 %)")
    for text in ("response: meets the protocol's criterion", "remission: meets", "total < 5"):
        assert text in c.summary
    assert "minimal clinically important difference (fall of 5 points or more): met" in c.summary
    assert "&#x27;" in c._repr_html_()


def test_change_is_frozen_and_checks_its_delta():
    """Change is immutable and refuses a delta that is not current − baseline."""
    c = change("phq9", 20, 10)
    assert isinstance(c, Change)
    with pytest.raises(dataclasses.FrozenInstanceError):
        c.delta = 0  # type: ignore[misc]
    with pytest.raises(InvalidInputError, match="current − baseline"):
        dataclasses.replace(c, delta=3)


@settings(max_examples=60, deadline=None)
@given(st.integers(0, 27), st.integers(0, 27))
def test_response_matches_the_half_rule_for_any_pair(baseline, current):
    """For any PHQ-9 pair, response ⇔ 2 × fall ≥ baseline (baseline > 0), else None."""
    c = change("phq9", baseline, current)
    expected = None if baseline == 0 else 2 * (baseline - current) >= baseline
    assert expected is c.response
    assert (current - baseline >= 5) is c.worsening
    assert (current < 5) is c.remission


def test_compare_uses_the_default_protocol_when_none_is_given():
    """Without a protocol, the shipped default's info is recorded."""
    assert default_protocol().info == change("phq9", 10, 5).protocol
