"""Suicide-item alerts raise whether or not the other items are answered [7].

The protocol's ``[measures]`` alert lines (PHQ-9 item 9, QIDS-SR16 item 12, MADRS
item 10) are read from the protocol, never repeated here; each is tested exactly at
its line and one below it, complete and with gaps. An incomplete administration
stays incomplete (no partial total) and still carries its alert.
"""

from __future__ import annotations

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kaptools.alerts import CRISIS_LINE_TEXT
from kaptools.errors import IncompleteAnswersError, InvalidAnswerError
from kaptools.protocol import default_protocol
from kaptools.scores import (
    Instrument,
    check_administration,
    compare,
    definition,
    score,
    score_frame,
    suicide_item_alerts,
)
from kaptools.scores._scoring import safety_threshold

SETTINGS = settings(max_examples=80, deadline=None)
WITH_SUICIDE_ITEM = [i for i in Instrument if definition(i).safety_item is not None]


def _line(inst: Instrument) -> int:
    line = safety_threshold(definition(inst), default_protocol())
    assert line is not None
    return line


def test_every_configured_suicide_item_is_covered():
    """PHQ-9, QIDS-SR16 and MADRS carry a suicide item with a protocol alert line."""
    assert set(WITH_SUICIDE_ITEM) == {Instrument.PHQ9, Instrument.QIDS_SR16, Instrument.MADRS}


@pytest.mark.parametrize("inst", WITH_SUICIDE_ITEM)
@pytest.mark.parametrize("offset", [0, -1])
@pytest.mark.parametrize("blank", [None, "first", "all_others"])
def test_alert_exactly_at_the_line_with_or_without_gaps(inst, offset, blank):
    """At the line the alert fires, one below it does not; gaps change neither."""
    defn = definition(inst)
    item = defn.safety_item.item
    value = _line(inst) + offset
    answers: list[int | None] = [defn.item_min] * defn.item_count
    answers[item - 1] = value
    others = [i for i in defn.items if i != item]
    if blank == "first":
        answers[others[0] - 1] = None
    elif blank == "all_others":
        for i in others:
            answers[i - 1] = None
    checked = check_administration(inst, answers)
    fired = offset == 0
    assert [a.rule_id for a in checked.alerts] == ([f"{inst.value}_item{item}"] if fired else [])
    assert checked.complete is (blank is None)
    assert suicide_item_alerts(inst, answers) == checked.alerts
    if blank is None:
        assert score(inst, answers).alerts == checked.alerts
    else:
        with pytest.raises(IncompleteAnswersError) as info:
            score(inst, answers)
        assert info.value.alerts == checked.alerts
        assert checked.result is None
        if fired:
            assert "SAFETY ALERT" in str(info.value)
            assert "988" in str(info.value)
            assert "unanswered" in checked.alerts[0].message


def test_issue_example_phq9_item9_three_one_blank():
    """PHQ-9 item 9 answered 3 with item 4 blank: incomplete, alert present with 988."""
    answers = [1, 1, 1, None, 1, 1, 1, 1, 3]
    with pytest.raises(IncompleteAnswersError) as info:
        score("PHQ-9", answers)
    assert info.value.missing == (4,)
    (alert,) = info.value.alerts
    assert alert.rule_id == "phq9_item9"
    assert alert.crisis_line == CRISIS_LINE_TEXT


@st.composite
def partial_with_suicide_item(draw: st.DrawFn):
    inst = draw(st.sampled_from(WITH_SUICIDE_ITEM))
    defn = definition(inst)
    answers: list[int | None] = [
        draw(st.one_of(st.none(), st.integers(defn.item_min, defn.item_max))) for _ in defn.items
    ]
    return inst, answers


@SETTINGS
@given(partial_with_suicide_item())
def test_alert_depends_only_on_the_suicide_item(case):
    """Whatever else is answered or blank, the alert fires iff the suicide item is at
    or above its line; the score is complete iff nothing is blank."""
    inst, answers = case
    defn = definition(inst)
    value = answers[defn.safety_item.item - 1]
    checked = check_administration(inst, answers)
    assert bool(checked.alerts) == (value is not None and value >= _line(inst))
    assert checked.missing == tuple(i for i, a in enumerate(answers, start=1) if a is None)
    assert (checked.result is None) == bool(checked.missing)


@SETTINGS
@given(partial_with_suicide_item(), st.data())
def test_invalid_answers_are_refused_even_with_gaps(case, data):
    """An out-of-range answer among gaps is an InvalidAnswerError naming the item."""
    inst, answers = case
    defn = definition(inst)
    bad_item = data.draw(st.sampled_from(list(defn.items)))
    answers[bad_item - 1] = defn.item_max + data.draw(st.integers(1, 5))
    with pytest.raises(InvalidAnswerError) as info:
        check_administration(inst, answers)
    assert info.value.item == bad_item


def test_score_frame_counts_the_alert_of_an_incomplete_row():
    """An incomplete row keeps total <NA> but counts its item-9 alert."""
    df = pd.DataFrame(
        [[1, 1, 1, None, 1, 1, 1, 1, 3], [1, 1, 1, None, 1, 1, 1, 1, 0]],
        columns=[f"phq9_{i}" for i in range(1, 10)],
    )
    out = score_frame(df, "PHQ-9")
    assert out["total"].isna().all()
    assert list(out["alerts"]) == [1, 0]
    assert list(out["missing_items"]) == ["4", "4"]


@pytest.mark.parametrize("inst", WITH_SUICIDE_ITEM)
def test_comparisons_carry_both_scores_alerts_with_the_crisis_line(inst):
    """compare(): a suicide item at its line in either score puts its alert, with 988,
    in the change's alerts, summary and HTML; below the line, none."""
    defn = definition(inst)
    item = defn.safety_item.item
    line = _line(inst)

    def answers(value: int) -> list[int]:
        out = [defn.item_min] * defn.item_count
        out[item - 1] = value
        return out

    below, at = score(inst, answers(line - 1)), score(inst, answers(line))
    assert compare(below, below).alerts == ()
    assert CRISIS_LINE_TEXT not in compare(below, below).summary
    forward = compare(below, at)
    assert forward.current_alerts == at.alerts and forward.baseline_alerts == ()
    assert "ALERT (current score)" in forward.summary and CRISIS_LINE_TEXT in forward.summary
    assert "kap-alert" in forward._repr_html_()
    back = compare(at, below)
    assert back.baseline_alerts == at.alerts and "ALERT (baseline score)" in back.summary
