"""kaptools.scores: instrument table, worked examples, bands, flags, alerts and rendering.

Worked examples are in tests/data/score_examples.json, each built from the
instrument's published scoring rule and cut-offs with its source (clinical-sources.md
§4.1–4.5, §7). Bad input and hypothesis properties: test_answers.py;
compare(): test_compare.py.
"""

from __future__ import annotations

import dataclasses
import inspect
import json
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import kaptools.scores as scores
from kaptools.alerts import CRISIS_LINE_TEXT, AlertLevel
from kaptools.errors import (
    IncompleteAnswersError,
    InvalidAnswerError,
    InvalidInputError,
    ProtocolError,
    UnknownInstrumentError,
)
from kaptools.protocol import DEFAULT_PROTOCOL_PATH, Protocol, default_protocol, parse_protocol
from kaptools.scores import (
    Band,
    Instrument,
    InstrumentDefinition,
    ScoreResult,
    definition,
    score,
    score_frame,
)
from kaptools.scores._table import TABLE_FILE, parse_instrument_table

DATA = Path(__file__).parents[1] / "data" / "score_examples.json"
EXAMPLES = json.loads(DATA.read_text(encoding="utf-8"))["cases"]
TABLE_TEXT = (Path(scores.__file__).parent / TABLE_FILE).read_text(encoding="utf-8")


def protocol_with(**measures: float) -> Protocol:
    """The default protocol with some [measures] values replaced."""
    text = DEFAULT_PROTOCOL_PATH.read_text(encoding="utf-8")
    for key, value in measures.items():
        text, n = re.subn(rf"(?m)^({key} = \{{ value = )[^,]+", rf"\g<1>{value}", text)
        assert n == 1, key
    return parse_protocol(text, origin="test")


def answers_with_total(defn: InstrumentDefinition, total: int) -> list[int]:
    """Answers reaching ``total``: fill items (or each domain's first item) greedily."""
    answers = [defn.item_min] * defn.item_count
    slots = [s.items[0] for s in defn.subscales] if defn.total_from_subscales else defn.items
    remaining = total - defn.total_min
    for item in slots:
        step = min(defn.item_max - defn.item_min, remaining)
        answers[item - 1] += step
        remaining -= step
    assert remaining == 0
    return answers


# --- the public API --------------------------------------------------------


def test_all_lists_exactly_the_public_names():
    """__all__ names every public object of kaptools.scores and nothing else."""
    public = {
        name
        for name, obj in vars(scores).items()
        if not name.startswith("_") and not inspect.ismodule(obj) and name != "annotations"
    }
    assert sorted(public) == sorted(scores.__all__)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("PHQ-9", Instrument.PHQ9),
        ("phq9", Instrument.PHQ9),
        (" Phq 9 ", Instrument.PHQ9),
        ("GAD-7", Instrument.GAD7),
        ("PCL-5", Instrument.PCL5),
        ("QIDS-SR16", Instrument.QIDS_SR16),
        ("qids_sr16", Instrument.QIDS_SR16),
        ("QIDS-SR 16", Instrument.QIDS_SR16),
        ("MADRS", Instrument.MADRS),
        (Instrument.MADRS, Instrument.MADRS),
    ],
)
def test_instrument_parse_ignores_case_spaces_and_hyphens(text, expected):
    """Instrument.parse accepts the usual spellings of each instrument."""
    assert expected is Instrument.parse(text)


@pytest.mark.parametrize("bad", ["phq8", "PHQ", "qids", "", "BDI-II", 9, None])
def test_instrument_parse_refuses_unknown_names_listing_valid_ones(bad):
    """An unknown instrument raises UnknownInstrumentError naming the value and every valid one."""
    with pytest.raises(UnknownInstrumentError) as info:
        Instrument.parse(bad)
    message = str(info.value)
    assert repr(bad) in message
    assert all(repr(m.value) in message for m in Instrument)
    assert isinstance(info.value, ValueError)


def test_score_refuses_an_unknown_instrument():
    """score() raises UnknownInstrumentError before looking at the answers."""
    with pytest.raises(UnknownInstrumentError, match="'phq-8'"):
        score("phq-8", [0] * 8)


# --- the instrument table --------------------------------------------------


@pytest.mark.parametrize(
    ("instrument", "items", "item_range", "total_range", "lows"),
    [
        (Instrument.PHQ9, 9, (0, 3), (0, 27), [0, 5, 10, 15, 20]),
        (Instrument.GAD7, 7, (0, 3), (0, 21), [0, 5, 10, 15]),
        (Instrument.PCL5, 20, (0, 4), (0, 80), [0, 33]),
        (Instrument.QIDS_SR16, 16, (0, 3), (0, 27), [0, 6, 11, 16, 21]),
        (Instrument.MADRS, 10, (0, 6), (0, 60), [0, 7, 20, 35]),
    ],
)
def test_definitions_match_the_default_protocol_measures_table(
    instrument, items, item_range, total_range, lows
):
    """Item counts, ranges and band starts are those of default-protocol.md 'Measures' [4]."""
    d = definition(instrument)
    assert (items, item_range, total_range) == (
        d.item_count,
        (d.item_min, d.item_max),
        (d.total_min, d.total_max),
    )
    assert lows == [b.low for b in d.bands]
    assert list(range(len(d.bands))) == [b.rank for b in d.bands]


def test_definition_accepts_names_and_members_alike():
    """definition('PHQ-9') and definition(Instrument.PHQ9) are the same cached object."""
    assert definition("PHQ-9") is definition(Instrument.PHQ9)


@pytest.mark.parametrize(
    ("instrument", "remission", "mcid"),
    [
        (Instrument.PHQ9, "total < 5", 5),
        (Instrument.GAD7, None, None),
        (Instrument.PCL5, None, 10),
        (Instrument.QIDS_SR16, "total <= 5", None),
        (Instrument.MADRS, "total <= 10", None),
    ],
)
def test_remission_and_mcid_are_defined_only_where_sourced(instrument, remission, mcid):
    """Remission: PHQ-9 < 5 [4.1], QIDS ≤ 5 [4.5], MADRS ≤ 10 [4.4]; MCID: PHQ-9 5, PCL-5 10."""
    d = definition(instrument)
    assert remission == (None if d.remission is None else str(d.remission))
    assert mcid == (None if d.mcid is None else d.mcid.points)


def test_phq9_loinc_codes_are_those_of_us_core():
    """PHQ-9 panel, total and item codes are those listed in clinical-sources §4.1."""
    codes = definition("phq9").loinc
    assert codes is not None
    assert ("44249-1", "44261-6") == (codes.panel, codes.total)
    expected_items = (
        "44250-9 44255-8 44259-0 44254-1 44251-7 44258-2 44252-5 44253-3 44260-8".split()
    )
    assert tuple(expected_items) == codes.items
    assert ("LA6568-5", "LA6569-3", "LA6570-1", "LA6571-9") == codes.answers


def test_gad7_has_panel_and_total_codes_and_other_instruments_none():
    """GAD-7 carries 69737-5 / 70274-6 [4.2]; PCL-5, QIDS-SR16 and MADRS carry no code."""
    gad7 = definition("gad7").loinc
    assert gad7 is not None
    assert ("69737-5", "70274-6", None) == (gad7.panel, gad7.total, gad7.items)
    assert [None, None, None] == [definition(i).loinc for i in ("pcl5", "qids_sr16", "madrs")]


def _loinc_check_digit_ok(code: str) -> bool:
    digits = [int(c) for c in code.replace("-", "")]
    total = 0
    for position, digit in enumerate(reversed(digits)):
        if position % 2:
            digit *= 2
            digit -= 9 if digit > 9 else 0
        total += digit
    return total % 10 == 0


def test_every_loinc_term_code_has_a_valid_check_digit():
    """Each shipped LOINC term code passes LOINC's mod-10 check digit (catches typos)."""
    codes = []
    for instrument in Instrument:
        loinc = definition(instrument).loinc
        if loinc is not None:
            codes += [loinc.panel, loinc.total, *(loinc.items or ())]
    assert codes
    assert [] == [c for c in codes if not _loinc_check_digit_ok(c)]


@pytest.mark.parametrize(
    ("instrument", "shipped"),
    [("phq9", True), ("gad7", True), ("pcl5", True), ("qids_sr16", False), ("madrs", False)],
)
def test_item_wording_ships_only_for_public_domain_instruments(instrument, shipped):
    """PHQ-9, GAD-7 and PCL-5 carry item and answer wording; QIDS-SR16 and MADRS none [8]."""
    d = definition(instrument)
    if shipped:
        assert d.item_texts is not None and d.answer_labels is not None
        assert d.item_count == len(d.item_texts)
        assert d.item_max - d.item_min + 1 == len(d.answer_labels)
        assert d.instructions
    else:
        assert (None, None, None) == (d.item_texts, d.answer_labels, d.instructions)


def test_safety_items_are_the_suicide_items():
    """PHQ-9 item 9, QIDS-SR16 item 12 and MADRS item 10 are the suicide items; others none."""
    found = {
        i.value: (None if definition(i).safety_item is None else definition(i).safety_item.item)
        for i in Instrument
    }
    assert {"phq9": 9, "gad7": None, "pcl5": None, "qids_sr16": 12, "madrs": 10} == found
    assert "better off dead" in (definition("phq9").item_text(9) or "")


def test_qids_domains_are_the_published_nine():
    """QIDS-SR16 domains: sleep 1–4, appetite/weight 6–9, psychomotor 15–16, six single items."""
    published = [
        (1, 2, 3, 4),
        (5,),
        (6, 7, 8, 9),
        (10,),
        (11,),
        (12,),
        (13,),
        (14,),
        (15, 16),
    ]
    d = definition("qids_sr16")
    assert published == [s.items for s in d.subscales]
    assert all(s.combine is scores.Combine.MAX for s in d.subscales)


def test_pcl5_clusters_follow_dsm5():
    """PCL-5 clusters B 1–5, C 6–7, D 8–14, E 15–20 need 1, 1, 2, 2 items rated 2 or more."""
    d = definition("pcl5")
    got = [(s.key, s.items[0], s.items[-1], s.endorsed_min) for s in d.subscales]
    assert [("B", 1, 5, 1), ("C", 6, 7, 1), ("D", 8, 14, 2), ("E", 15, 20, 2)] == got
    assert d.cluster_rule is not None and 2 == d.cluster_rule.item_answer_min
    assert [33] == [c.total_min for c in d.cutoffs]


@pytest.mark.parametrize(
    ("old", "new", "complaint"),
    [
        ('{ label = "mild", low = 5, high = 9 }', '{ label = "mild", low = 6, high = 9 }', "gaps"),
        ('total_max = 27\ntotal_from = "items"', 'total_max = 26\ntotal_from = "items"', "26"),
        ('    "Poor appetite or overeating",\n', "", "item_texts must have 9 entries"),
        ('"44260-8"]', '"44260-8", "44261-6"]', "loinc.items must have 9 entries"),
        ("total_min = 33, label", "total_min = 30, label", "must start a band"),
        ('protocol_key = "phq9_item9_alert_min"', 'protocol_key = "phq9_item9"', "[measures]"),
        ('combine = "max", items = [15, 16]', 'combine = "max", items = [15]', "exactly once"),
        ("[phq9]\n", "[phq8]\n", "exactly the instruments"),
        ('rater = "clinician"', 'rater = "nurse"', "madrs.rater"),
        ('licence = "Public domain', 'licenze = "Public domain', "pcl5.licenze"),
    ],
)
def test_a_broken_instrument_table_is_refused_naming_the_problem(old, new, complaint):
    """The table loader checks consistency: gaps, ranges, lengths, keys, domains, typos."""
    assert TABLE_TEXT.count(old) >= 1, old
    with pytest.raises(InvalidInputError) as info:
        parse_instrument_table(TABLE_TEXT.replace(old, new, 1))
    assert complaint in str(info.value)


def test_band_refuses_low_above_high():
    """A Band is checked on construction."""
    with pytest.raises(InvalidInputError, match="low must not exceed high"):
        Band("mild", 9, 5, 1)


# --- worked examples -------------------------------------------------------


@pytest.mark.parametrize("case", EXAMPLES, ids=[c["id"] for c in EXAMPLES])
def test_worked_example(case):
    """Each published-rule example gives its total, band, flags and subscores."""
    result = score(case["instrument"], case["answers"])
    met = sorted(key for key, value in result.criteria.items() if value)
    assert case["total"] == result.total
    assert case["band"] == result.band.label
    assert sorted(case["flags"]) == met
    assert len(case["flags"]) == len(result.flags)
    if "subscores" in case:
        assert case["subscores"] == dict(result.subscores)
    assert case["source"]


def test_worked_examples_cover_every_instrument_and_band():
    """The example file exercises every band of every instrument."""
    seen = {(c["instrument"], c["band"]) for c in EXAMPLES}
    needed = {(i.value, b.label) for i in Instrument for b in definition(i).bands}
    assert set() == needed - seen


# --- band boundaries -------------------------------------------------------


@pytest.mark.parametrize(
    ("below", "above", "labels"),
    [
        (4, 5, ("minimal", "mild")),
        (9, 10, ("mild", "moderate")),
        (14, 15, ("moderate", "moderately severe")),
        (19, 20, ("moderately severe", "severe")),
    ],
)
def test_phq9_band_boundaries(below, above, labels):
    """PHQ-9 totals 4/5, 9/10, 14/15 and 19/20 fall on either side of a cut-point [4.1]."""
    d = definition("phq9")
    got = tuple(score("phq9", answers_with_total(d, t)).band.label for t in (below, above))
    assert labels == got


@pytest.mark.parametrize("instrument", list(Instrument))
def test_every_band_holds_its_own_limits(instrument):
    """For every band, a total at its low and at its high end lands in that band."""
    d = definition(instrument)
    for band in d.bands:
        for total in (band.low, band.high):
            result = score(instrument, answers_with_total(d, total))
            assert (total, band) == (result.total, result.band)


# --- answers in other shapes ----------------------------------------------


def test_mapping_answers_score_like_the_sequence():
    """A mapping of 1-based item number to answer gives the same result as the list."""
    answers = [3, 2, 1, 0, 1, 2, 3, 2, 0]
    mapped = {i: a for i, a in enumerate(answers, start=1)}
    assert score("phq9", answers) == score("phq9", mapped)
    assert score("phq9", answers) == score("phq9", dict(reversed(mapped.items())))


def test_numpy_and_pandas_answers_are_accepted():
    """numpy integers, 1-D arrays, Series and integral floats (pandas gaps) are accepted."""
    answers = [1, 2, 0, 3, 1, 0, 2, 1, 0]
    expected = score("phq9", answers)
    assert expected == score("phq9", np.array(answers, dtype=np.int8))
    assert expected == score("phq9", [np.int64(a) for a in answers])
    assert expected == score("phq9", pd.Series(answers, dtype="Int64"))
    assert expected == score("phq9", [float(a) for a in answers])
    assert expected == score("phq9", {np.int32(i): a for i, a in enumerate(answers, start=1)})


# --- alerts and the protocol ----------------------------------------------


def test_phq9_item9_alert_prompts_cssrs_with_the_crisis_line():
    """Item 9 ≥ 1 raises one WARNING alert: complete a C-SSRS screen; 988 shown [7]."""
    result = score("phq9", [0, 0, 0, 0, 0, 0, 0, 0, 2])
    assert 1 == len(result.alerts)
    alert = result.alerts[0]
    assert ("phq9_item9", AlertLevel.WARNING) == (alert.rule_id, alert.level)
    assert "C-SSRS" in alert.action and "this visit" in alert.action
    assert CRISIS_LINE_TEXT == alert.crisis_line and "988" in alert.crisis_line
    assert "item 9" in alert.message and "More than half the days" in alert.message
    assert "7]" in alert.source and "phq9_item9_alert_min" in alert.source


def test_no_alert_when_the_suicide_items_are_zero():
    """With every suicide item at 0 no alert is raised, whatever the total."""
    assert () == score("phq9", [3, 3, 3, 3, 3, 3, 3, 3, 0]).alerts
    assert () == score("qids_sr16", [3] * 11 + [0] + [3] * 4).alerts
    assert () == score("madrs", [6] * 9 + [0]).alerts
    assert () == score("gad7", [3] * 7).alerts
    assert () == score("pcl5", [4] * 20).alerts


@pytest.mark.parametrize(
    ("instrument", "item", "rule_id"),
    [("qids_sr16", 12, "qids_sr16_item12"), ("madrs", 10, "madrs_item10")],
)
def test_other_suicide_items_alert_at_their_protocol_threshold(instrument, item, rule_id):
    """QIDS-SR16 item 12 and MADRS item 10 alert at the protocol's threshold, not below."""
    d = definition(instrument)
    threshold = getattr(default_protocol().measures, d.safety_item.protocol_key).int_value
    answers = [0] * d.item_count
    answers[item - 1] = threshold - 1
    assert () == score(instrument, answers).alerts
    answers[item - 1] = threshold
    alerts = score(instrument, answers).alerts
    assert [rule_id] == [a.rule_id for a in alerts]


def test_item9_threshold_comes_from_the_protocol():
    """With phq9_item9_alert_min = 2, item 9 = 1 raises nothing and 2 raises the alert."""
    protocol = protocol_with(phq9_item9_alert_min=2)
    one = score("phq9", [0] * 8 + [1], protocol=protocol)
    two = score("phq9", [0] * 8 + [2], protocol=protocol)
    assert ((), False) == (one.alerts, one.criteria["item9_alert"])
    assert (1, True) == (len(two.alerts), two.criteria["item9_alert"])
    assert "threshold of 2" in two.alerts[0].message


def test_a_threshold_beyond_the_item_range_is_a_protocol_error():
    """A threshold the item can never reach is refused, naming the key and the range."""
    protocol = protocol_with(phq9_item9_alert_min=4)
    with pytest.raises(ProtocolError) as info:
        score("phq9", [0] * 9, protocol=protocol)
    assert "measures.phq9_item9_alert_min" in str(info.value) and "0 to 3" in str(info.value)


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("phq9_item9_alert_min", 0),
        ("phq9_item9_alert_min", 1.5),
        ("response_reduction_min", 1.5),
        ("response_reduction_min", 0),
        ("worsening_increase_min", 0),
    ],
)
def test_the_measures_table_refuses_impossible_values(key, value):
    """[measures] thresholds are checked when the protocol is loaded, naming the key."""
    with pytest.raises(ProtocolError, match=f"measures.{key}"):
        protocol_with(**{key: value})


def test_results_record_the_protocol():
    """Every result carries the ProtocolInfo of the protocol that produced it."""
    protocol = protocol_with(phq9_item9_alert_min=2)
    assert protocol.info == score("phq9", [0] * 9, protocol=protocol).protocol
    assert default_protocol().info == score("phq9", [0] * 9).protocol
    assert protocol.info != default_protocol().info


def test_result_exposes_loinc_codes():
    """The PHQ-9 result carries its LOINC codes; a PCL-5 result carries none."""
    assert definition("phq9").loinc == score("phq9", [0] * 9).loinc
    assert None is score("pcl5", [0] * 20).loinc


# --- the result value ------------------------------------------------------


def test_score_result_is_frozen_and_hashable():
    """A ScoreResult cannot be changed after construction, and can be hashed."""
    result = score("pcl5", [2] * 20)
    with pytest.raises(dataclasses.FrozenInstanceError):
        result.total = 0  # type: ignore[misc]
    with pytest.raises(TypeError):
        result.subscores["B"] = 0  # type: ignore[index]
    assert hash(result) == hash(score("pcl5", [2] * 20))


def test_score_result_refuses_a_total_that_does_not_follow_from_its_answers():
    """Building a ScoreResult by hand with an inconsistent total raises InvalidInputError."""
    good = score("phq9", [1] * 9)
    with pytest.raises(InvalidInputError, match="do not follow"):
        dataclasses.replace(good, total=10)
    with pytest.raises(InvalidInputError, match="9 ints from 0 to 3"):
        dataclasses.replace(good, answers=(1,) * 8 + (4,))


def test_summary_and_html_show_total_band_flags_and_alerts():
    """The summary and HTML show the total, band, flags, alert and crisis line, escaped."""
    result = score("phq9", [2, 2, 2, 2, 2, 2, 2, 2, 1])
    assert "PHQ-9 total 17 of 27: moderately severe (15–19)" in result.summary
    assert "ALERT" in result.summary and "988" in result.summary
    page = result._repr_html_()
    assert "moderately severe" in page and "988" in page and "kap-alert" in page
    assert "clinic's" not in page and "clinic&#x27;s" in page


def test_as_dict_is_json_and_rescoring_it_gives_the_same_result():
    """as_dict() is JSON-serialisable and its answers re-score to the same result."""
    result = score("qids_sr16", [1, 3, 0, 0, 2, 3, 0, 1, 0, 1, 2, 1, 2, 1, 0, 2])
    record = json.loads(json.dumps(result.as_dict()))
    assert result == score(record["instrument"], record["answers"])
    assert result.total == record["total"] and record["alerts"]


# --- score_frame -----------------------------------------------------------


def test_score_frame_scores_rows_and_leaves_incomplete_rows_unscored():
    """Complete rows are scored; a row with a gap gets <NA> and lists the missing items."""
    df = pd.DataFrame({f"gad7_{i}": [1, pd.NA, 3] for i in range(1, 8)}, dtype="Int64")
    df.loc[1, "gad7_1"] = 2
    out = score_frame(df, "gad7")
    assert [7, 21] == out["total"].dropna().tolist()
    assert pd.isna(out.loc[1, "total"]) and "2, 3, 4, 5, 6, 7" == out.loc[1, "missing_items"]
    assert ["mild", "severe"] == out["band"].dropna().tolist()


def test_score_frame_names_the_row_of_an_invalid_answer():
    """An invalid answer in a frame raises InvalidAnswerError naming the row and item."""
    df = pd.DataFrame({f"phq9_{i}": [1, 1] for i in range(1, 10)}, index=["a", "b"])
    df.loc["b", "phq9_4"] = 7
    with pytest.raises(InvalidAnswerError, match=r"row 'b': PHQ-9 item 4"):
        score_frame(df, "phq9")


def test_score_frame_refuses_absent_item_columns():
    """Item columns missing from the frame are named in the error."""
    with pytest.raises(InvalidInputError, match="phq9_9"):
        score_frame(pd.DataFrame({f"phq9_{i}": [0] for i in range(1, 9)}), "phq9")


def test_incomplete_answers_error_is_not_an_invalid_input_error():
    """Missing answers are 'incomplete', a separate branch from 'invalid' (errors.py)."""
    with pytest.raises(IncompleteAnswersError) as info:
        score("phq9", [0] * 8 + [None])
    assert not isinstance(info.value, InvalidInputError)
    assert isinstance(info.value, ValueError)


def test_score_result_type_is_exported():
    """score() returns the exported ScoreResult type."""
    assert isinstance(score("madrs", [0] * 10), ScoreResult)
