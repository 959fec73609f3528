"""score(): answers in, a checked ScoreResult out, with flags and safety alerts."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from kaptools.alerts import Alert, AlertLevel
from kaptools.arguments import checks_itself
from kaptools.errors import IncompleteAnswersError, ProtocolError
from kaptools.protocol import Protocol, default_protocol
from kaptools.scores import pcl5
from kaptools.scores._answers import check_partial_answers, missing_items_message
from kaptools.scores._definitions import Instrument, InstrumentDefinition
from kaptools.scores._result import ScoreResult
from kaptools.scores._table import definition
from kaptools.validation import present

__all__ = [
    "SAFETY_ACTION",
    "AnswersCheck",
    "check_administration",
    "safety_threshold",
    "score",
    "suicide_item_alerts",
]

SAFETY_ACTION = (
    "Complete a C-SSRS screen at this visit, before the patient leaves, and follow the "
    "clinic's suicide-risk pathway: the item is a flag, not a risk assessment."
)
"""What a clinician does after a positive suicide item (kaptools/sources.toml §7, §4.8)."""


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
    defn: InstrumentDefinition,
    answers: tuple[int | None, ...],
    threshold: int,
    protocol: Protocol,
) -> tuple[bool, str | None, Alert | None]:
    item = present(defn.safety_item, f"{defn.name}'s suicide item (only they are checked)")
    value = answers[item.item - 1]
    if value is None or value < threshold:
        return False, None, None
    label = defn.answer_label(value)
    said = f"{value} ({label})" if label else f"{value}"
    missing = [i for i, a in enumerate(answers, start=1) if a is None]
    gaps = ""
    if missing:
        which = ", ".join(map(str, missing))
        verb = "Item {} is" if len(missing) == 1 else "Items {} are"
        gaps = f" {verb.format(which)} unanswered: the total stays incomplete, the alert stands."
    flag = (
        f"item {item.item} ({item.topic}) answered {said}, at or above the alert "
        f"threshold of {threshold}: see the safety alert"
    )
    alert = Alert(
        rule_id=f"{defn.instrument.value}_item{item.item}",
        level=AlertLevel.WARNING,
        message=(
            f"{defn.name} item {item.item} ({item.topic}) answered {said}: at or above the "
            f"protocol's alert threshold of {threshold}.{gaps}"
        ),
        action=SAFETY_ACTION,
        source=(
            f"{item.source}; threshold measures.{item.protocol_key} of protocol "
            f"{protocol.info.short}"
        ),
    )
    return True, flag, alert


@dataclass(frozen=True, slots=True)
class AnswersCheck:
    """One administration checked as far as its answers allow.

    ``result`` is the full score when every item is answered, else None (no partial
    total, ever); ``missing`` lists the unanswered items; ``alerts`` are the safety
    alerts the answered items raise, present whether or not the score is complete.
    """

    instrument: Instrument
    answers: tuple[int | None, ...]
    missing: tuple[int, ...]
    alerts: tuple[Alert, ...]
    result: ScoreResult | None

    @property
    def complete(self) -> bool:
        return self.result is not None

    def incomplete_error(self, note: str = "") -> IncompleteAnswersError:
        """The error for an incomplete administration, carrying its alerts (``note``
        is added after them, e.g. where the alert was stored)."""
        defn = definition(self.instrument)
        msg = missing_items_message(defn, list(self.missing))
        if self.alerts:
            msg += " SAFETY ALERT (raised from the answered items): " + " ".join(
                a.summary for a in self.alerts
            )
            if note:
                msg += f" {note}"
        return IncompleteAnswersError(
            msg, instrument=defn.name, missing=self.missing, alerts=self.alerts
        )


def suicide_item_alerts(
    instrument: str | Instrument,
    answers: Sequence[Any] | Mapping[int, Any],
    *,
    protocol: Protocol | None = None,
) -> tuple[Alert, ...]:
    """The suicide-item alert of one administration, complete or not [7].

    The suicide item (PHQ-9 item 9, QIDS-SR16 item 12, MADRS item 10) at or above the
    protocol's alert line raises its alert whether or not the other items are
    answered. Every given answer is checked as :func:`score` checks it.

    Raises:
        UnknownInstrumentError, InvalidAnswerError, ProtocolError: as :func:`score`.
    """
    return check_administration(instrument, answers, protocol=protocol).alerts


def check_administration(
    instrument: str | Instrument,
    answers: Sequence[Any] | Mapping[int, Any],
    *,
    protocol: Protocol | None = None,
) -> AnswersCheck:
    """Check one administration and return both its score (when complete) and its alerts.

    Every path that records answers uses this (or :func:`score`, which raises an
    :class:`IncompleteAnswersError` carrying the same alerts), so an incomplete form
    never loses its suicide-item alert.

    Raises:
        UnknownInstrumentError, InvalidAnswerError, ProtocolError: as :func:`score`.
    """
    defn = definition(instrument)
    protocol = default_protocol() if protocol is None else protocol
    threshold = safety_threshold(defn, protocol)
    values = check_partial_answers(defn, answers)
    missing = tuple(i for i, v in enumerate(values, start=1) if v is None)
    if missing:
        alerts: tuple[Alert, ...] = ()
        if threshold is not None:
            _, _, alert = _safety_alert(defn, values, threshold, protocol)
            alerts = () if alert is None else (alert,)
        return AnswersCheck(defn.instrument, values, missing, alerts, None)
    result = _score_complete(defn, tuple(v for v in values if v is not None), threshold, protocol)
    return AnswersCheck(defn.instrument, values, (), result.alerts, result)


# answers: numpy arrays and Series too; its own check is InvalidAnswerError naming the measure
@checks_itself("answers")
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
            number to answer. ``None`` or ``pd.NA`` (or an absent key) marks an
            unanswered item; NaN is refused, never read as unanswered.
        protocol: the clinic's protocol; the shipped default when None. Its
            ``[measures]`` thresholds decide the suicide-item alerts, and its
            ``info`` is recorded on the result.

    Returns:
        The total (QIDS-SR16: the sum of its 9 domain maxima), severity band,
        subscores (PCL-5 clusters, QIDS-SR16 domains), flags, criteria, safety
        alerts and LOINC codes.

    Raises:
        UnknownInstrumentError: no such instrument.
        InvalidAnswerError: an answer that is not a whole number in the item's range
            (NaN, ±inf, bools, text and ``2.5`` included), a wrong number of answers, or
            an unknown item number.
        IncompleteAnswersError: unanswered items (``.missing``); no partial score. Its
            ``.alerts`` hold the suicide-item alert of the answered items, which must
            still be shown (see :func:`check_administration`).
        ProtocolError: a suicide-item threshold outside the item's answer range.

    Examples:
        >>> r = score("PHQ-9", [1, 1, 2, 1, 0, 1, 1, 0, 0])
        >>> r.total, r.band.label
        (7, 'mild')

    References:
        kaptools/sources.toml §4.1–4.5 (instruments), §7 (suicide items).
    """
    checked = check_administration(instrument, answers, protocol=protocol)
    if checked.result is None:
        raise checked.incomplete_error()
    return checked.result


def _score_complete(
    defn: InstrumentDefinition,
    values: tuple[int, ...],
    threshold: int | None,
    protocol: Protocol,
) -> ScoreResult:
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
