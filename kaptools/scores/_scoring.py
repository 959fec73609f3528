"""score(): answers in, a checked ScoreResult out, with flags and safety alerts."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from kaptools.alerts import Alert, AlertLevel
from kaptools.errors import ProtocolError
from kaptools.protocol import Protocol, default_protocol
from kaptools.scores import pcl5
from kaptools.scores._answers import check_answers
from kaptools.scores._definitions import Instrument, InstrumentDefinition, definition
from kaptools.scores._result import ScoreResult

__all__ = ["SAFETY_ACTION", "safety_threshold", "score"]

SAFETY_ACTION = (
    "Complete a C-SSRS screen at this visit, before the patient leaves, and follow the "
    "clinic's suicide-risk pathway: the item is a flag, not a risk assessment."
)
"""What a clinician does after a positive suicide item (clinical-sources.md §7, §4.8)."""


def safety_threshold(defn: InstrumentDefinition, protocol: Protocol) -> int | None:
    """The protocol's alert threshold for the instrument's suicide item, checked against
    the item's answer range; None when the instrument has no such item.

    Raises:
        ProtocolError: the threshold lies outside the item's answers, so the alert
            would fire for everyone or never.
    """
    item = defn.safety_item
    if item is None:
        return None
    threshold = getattr(protocol.measures, item.protocol_key)
    value = threshold.int_value
    if not defn.item_min < value <= defn.item_max:
        msg = (
            f"Protocol {protocol.info.short}: measures.{item.protocol_key} is {threshold}, but "
            f"{defn.name} item {item.item} answers run {defn.answer_range}. Set it from "
            f"{defn.item_min + 1} to {defn.item_max} so the alert can fire."
        )
        raise ProtocolError(msg)
    return value


def _safety_alert(
    defn: InstrumentDefinition, answers: tuple[int, ...], threshold: int, protocol: Protocol
) -> tuple[bool, str | None, Alert | None]:
    item = defn.safety_item
    assert item is not None  # only called for instruments with a suicide item
    value = answers[item.item - 1]
    if value < threshold:
        return False, None, None
    label = defn.answer_label(value)
    said = f"{value} ({label})" if label else f"{value}"
    flag = (
        f"item {item.item} ({item.topic}) answered {said}, at or above the alert "
        f"threshold of {threshold}: see the safety alert"
    )
    alert = Alert(
        rule_id=f"{defn.instrument.value}_item{item.item}",
        level=AlertLevel.WARNING,
        message=(
            f"{defn.name} item {item.item} ({item.topic}) answered {said}: at or above the "
            f"protocol's alert threshold of {threshold}."
        ),
        action=SAFETY_ACTION,
        source=(
            f"{item.source}; threshold measures.{item.protocol_key} of protocol "
            f"{protocol.info.short}"
        ),
    )
    return True, flag, alert


def score(
    instrument: str | Instrument,
    answers: Sequence[Any] | Mapping[int, Any],
    *,
    protocol: Protocol | None = None,
) -> ScoreResult:
    """Score one administration of ``instrument``.

    Args:
        instrument: an :class:`Instrument` or its name (``"PHQ-9"``, ``"phq9"``).
        answers: one answer per item in item order, or a mapping of 1-based item
            number to answer. ``None``/NaN (or an absent key) marks an unanswered item.
        protocol: the clinic's protocol; the shipped default when None. Its
            ``[measures]`` thresholds decide the suicide-item alerts, and its
            ``info`` is recorded on the result.

    Returns:
        The total (QIDS-SR16: the sum of its 9 domain maxima), severity band,
        subscores (PCL-5 clusters, QIDS-SR16 domains), flags, criteria, safety
        alerts and LOINC codes.

    Raises:
        UnknownInstrumentError: no such instrument.
        InvalidAnswerError: an answer that is not a whole number in the item's range,
            a wrong number of answers, or an unknown item number.
        IncompleteAnswersError: unanswered items (``.missing``); no partial score.
        ProtocolError: a suicide-item threshold outside the item's answer range.

    Examples:
        >>> r = score("PHQ-9", [1, 1, 2, 1, 0, 1, 1, 0, 0])
        >>> r.total, r.band.label
        (7, 'mild')

    References:
        clinical-sources.md §4.1–4.5 (instruments), §7 (suicide items).
    """
    defn = definition(instrument)
    protocol = default_protocol() if protocol is None else protocol
    threshold = safety_threshold(defn, protocol)
    values = check_answers(defn, answers)
    total = defn.total_of(values)
    flags: list[str] = []
    criteria: dict[str, bool] = {}
    alerts: list[Alert] = []

    if threshold is not None and defn.safety_item is not None:
        met, flag, alert = _safety_alert(defn, values, threshold, protocol)
        criteria[f"item{defn.safety_item.item}_alert"] = met
        if flag is not None and alert is not None:
            flags.append(flag)
            alerts.append(alert)

    for cutoff in defn.cutoffs:
        met = total >= cutoff.total_min
        criteria[cutoff.key] = met
        if met:
            flags.append(
                f"total {total} meets the {cutoff.label} ({cutoff.total_min} or more): "
                f"a provisional finding, not a diagnosis"
            )

    if defn.cluster_rule is not None:
        finding = pcl5.cluster_rule(defn, values)
        criteria[pcl5.CLUSTER_RULE_KEY] = finding.met
        if finding.met:
            flags.append(finding.flag)

    return ScoreResult(
        instrument=defn.instrument,
        answers=values,
        total=total,
        band=defn.band_for(total),
        flags=tuple(flags),
        alerts=tuple(alerts),
        subscores=defn.subscores_of(values),
        criteria=criteria,
        loinc=defn.loinc,
        protocol=protocol.info,
    )
