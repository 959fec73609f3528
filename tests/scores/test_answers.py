"""kaptools.scores answers: hypothesis properties of totals and of every kind of bad input.

Properties: totals stay in the instrument's range, never fall when one answer rises,
and the QIDS-SR16 total is the sum of its nine domain maxima (Rush 2003,
clinical-sources.md §4.5). Bad input: every invalid answer raises
InvalidAnswerError naming the instrument, item, allowed range and value received;
missing answers raise IncompleteAnswersError listing exactly those items.
"""

from __future__ import annotations

import math
from decimal import Decimal

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kaptools.errors import IncompleteAnswersError, InvalidAnswerError
from kaptools.scores import Instrument, InstrumentDefinition, definition, score

SETTINGS = settings(max_examples=60, deadline=None)

instruments = st.sampled_from(list(Instrument))


def valid_answers(defn: InstrumentDefinition) -> st.SearchStrategy[list[int]]:
    return st.lists(
        st.integers(defn.item_min, defn.item_max),
        min_size=defn.item_count,
        max_size=defn.item_count,
    )


@st.composite
def instrument_and_answers(draw: st.DrawFn) -> tuple[InstrumentDefinition, list[int]]:
    defn = definition(draw(instruments))
    return defn, draw(valid_answers(defn))


# --- properties of valid answers ------------------------------------------


@SETTINGS
@given(instrument_and_answers())
def test_total_and_band_stay_in_range(case):
    """Any valid answers give a total within the instrument's range, inside its band."""
    defn, answers = case
    result = score(defn.instrument, answers)
    assert defn.total_min <= result.total <= defn.total_max
    assert result.band.low <= result.total <= result.band.high
    assert tuple(answers) == result.answers


@SETTINGS
@given(instrument_and_answers(), st.data())
def test_total_never_falls_when_one_answer_rises(case, data):
    """Raising any one answer never lowers the total or the band (monotonic scoring)."""
    defn, answers = case
    item = data.draw(st.integers(0, defn.item_count - 1))
    higher = list(answers)
    higher[item] = data.draw(st.integers(answers[item], defn.item_max))
    before, after = score(defn.instrument, answers), score(defn.instrument, higher)
    assert before.total <= after.total
    assert before.band.rank <= after.band.rank
    assert len(before.alerts) <= len(after.alerts)


QIDS_DOMAINS = [(1, 2, 3, 4), (5,), (6, 7, 8, 9), (10,), (11,), (12,), (13,), (14,), (15, 16)]
"""The nine QIDS-SR16 domains as published (Rush 2003; ids-qids.org) [4.5]: the oracle."""


@SETTINGS
@given(valid_answers(definition("qids_sr16")))
def test_qids_total_is_the_sum_of_domain_maxima(answers):
    """QIDS-SR16 total = sum over the 9 domains of the domain's highest item, never the item sum."""
    expected = sum(max(answers[i - 1] for i in domain) for domain in QIDS_DOMAINS)
    assert expected == score("qids_sr16", answers).total


@SETTINGS
@given(valid_answers(definition("pcl5")))
def test_pcl5_clusters_add_up_to_the_total(answers):
    """PCL-5 cluster subtotals B + C + D + E equal the total [4.3]."""
    result = score("pcl5", answers)
    assert result.total == sum(result.subscores.values())


# --- invalid answers -------------------------------------------------------


def _bad_values(defn: InstrumentDefinition) -> st.SearchStrategy[object]:
    out_of_range = st.integers().filter(lambda v: not defn.item_min <= v <= defn.item_max)
    return st.one_of(
        out_of_range,
        st.integers(-(2**63), 2**63 - 1)
        .filter(lambda v: not defn.item_min <= v <= defn.item_max)
        .map(np.int64),
        st.booleans(),
        st.just(np.bool_(True)),
        st.floats(allow_nan=False).filter(lambda v: not float(v).is_integer()),
        st.just(1.5),
        st.just(math.inf),
        st.text(max_size=3),
        st.just("2"),
        st.just(b"1"),
        st.just(Decimal("1")),
        st.just(complex(1, 0)),
        st.just([1]),
        st.just(object()),
    )


@st.composite
def one_bad_answer(draw: st.DrawFn) -> tuple[InstrumentDefinition, list[object], int, object]:
    defn, answers = draw(instrument_and_answers())
    item = draw(st.integers(1, defn.item_count))
    bad = draw(_bad_values(defn))
    broken: list[object] = list(answers)
    broken[item - 1] = bad
    return defn, broken, item, bad


@SETTINGS
@given(one_bad_answer())
def test_every_invalid_answer_names_instrument_item_range_and_value(case):
    """A non-integer or out-of-range answer raises InvalidAnswerError saying what and where."""
    defn, answers, item, bad = case
    with pytest.raises(InvalidAnswerError) as info:
        score(defn.instrument, answers)
    err = info.value
    message = str(err)
    assert (defn.name, item) == (err.instrument, err.item)
    assert err.value is bad
    assert f"{defn.name} item {item} " in message
    assert f"from {defn.item_min} to {defn.item_max}" in message
    shown = repr(int(bad)) if isinstance(bad, np.integer) else repr(bad)
    assert shown in message
    assert isinstance(err, ValueError)


@SETTINGS
@given(one_bad_answer())
def test_invalid_answers_in_a_mapping_are_reported_the_same_way(case):
    """The same bad answer given in a mapping raises the same error for the same item."""
    defn, answers, item, _ = case
    with pytest.raises(InvalidAnswerError) as info:
        score(defn.instrument, {i: a for i, a in enumerate(answers, start=1)})
    assert item == info.value.item


@SETTINGS
@given(instruments, st.integers(0, 30))
def test_a_wrong_number_of_answers_is_invalid(instrument, count):
    """A sequence with too few or too many answers raises InvalidAnswerError giving both counts."""
    defn = definition(instrument)
    if count == defn.item_count:
        count += 1
    with pytest.raises(InvalidAnswerError) as info:
        score(instrument, [defn.item_min] * count)
    assert f"{defn.name} has {defn.item_count} items; got {count} answers" in str(info.value)
    assert None is info.value.item


@pytest.mark.parametrize(
    "container",
    ["000000000", b"000000000", {0, 1, 2, 3}, 5, None, iter([0] * 9), np.zeros((3, 3), int)],
)
def test_answers_that_are_not_a_sequence_or_mapping_are_invalid(container):
    """Text, sets, scalars, iterators and 2-D arrays are refused with the accepted shapes."""
    with pytest.raises(InvalidAnswerError, match="PHQ-9 answers must be"):
        score("phq9", container)


@pytest.mark.parametrize("key", [0, 10, -1, "1", 1.0, True, None])
def test_a_mapping_with_an_unknown_item_number_is_invalid(key):
    """Mapping keys must be integer item numbers 1–9; the message names the key given."""
    answers: dict[object, int] = {key: 1}  # first, so 1.0 and True are not merged into 1
    answers.update({i: 0 for i in range(2, 10)})
    with pytest.raises(InvalidAnswerError) as info:
        score("phq9", answers)
    assert "item numbers run from 1 to 9" in str(info.value) and repr(key) in str(info.value)


def test_an_invalid_answer_is_reported_before_missing_ones():
    """When answers are both missing and invalid, the invalid one is reported first."""
    with pytest.raises(InvalidAnswerError, match="item 5"):
        score("phq9", [None, 0, 0, 0, 9, 0, 0, 0, None])


# --- missing answers -------------------------------------------------------

_missing_markers = st.sampled_from([None, pd.NA])  # NaN is refused, never a gap (issue 13)


@st.composite
def with_gaps(draw: st.DrawFn) -> tuple[InstrumentDefinition, list[object], list[int]]:
    defn, answers = draw(instrument_and_answers())
    gaps = sorted(draw(st.sets(st.integers(1, defn.item_count), min_size=1)))
    holey: list[object] = list(answers)
    for item in gaps:
        holey[item - 1] = draw(_missing_markers)
    return defn, holey, gaps


@SETTINGS
@given(with_gaps())
def test_missing_answers_raise_incomplete_listing_exactly_those_items(case):
    """None / pd.NA answers raise IncompleteAnswersError whose .missing is those items."""
    defn, answers, gaps = case
    with pytest.raises(IncompleteAnswersError) as info:
        score(defn.instrument, answers)
    assert tuple(gaps) == info.value.missing
    assert defn.name == info.value.instrument
    assert ", ".join(map(str, gaps)) in str(info.value)
    assert "no partial score" in str(info.value)


@SETTINGS
@given(with_gaps())
def test_absent_mapping_keys_are_missing_items(case):
    """Items left out of a mapping are reported as missing, exactly."""
    defn, answers, gaps = case
    mapping = {i: a for i, a in enumerate(answers, start=1) if i not in gaps}
    with pytest.raises(IncompleteAnswersError) as info:
        score(defn.instrument, mapping)
    assert tuple(gaps) == info.value.missing


@SETTINGS
@given(with_gaps(), st.sampled_from([math.nan, np.nan, np.float64("nan"), np.float32("nan")]))
def test_nan_is_refused_never_read_as_a_missing_item(case, nan):
    """A NaN answer raises InvalidAnswerError naming the first NaN item and the None fix."""
    defn, answers, gaps = case
    answers = [nan if i in gaps else a for i, a in enumerate(answers, start=1)]
    with pytest.raises(InvalidAnswerError) as info:
        score(defn.instrument, answers)
    assert info.value.item == gaps[0] and "None" in str(info.value)
