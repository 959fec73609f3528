"""Vital signs at a dosing session, and the flags the protocol raises on them.

Readings are taken pre-dose, during an infusion (every 15 min by default), about
40 minutes after dosing and before discharge. A pre-dose blood pressure above the
protocol's review line (140/90 by default) is highlighted for clinician review; a
rise over the pre-dose value of at least the protocol's systolic or diastolic
amount (40 / 25 mmHg) is flagged. Every number comes from the protocol's
``[monitoring]`` table.

References:
    kaptools/sources.toml §2.1 (label: baseline BP, 40-min check, rise of ≥ 40/25 mmHg),
    §5.3 (timing in practice).
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from kaptools.errors import InvalidInputError
from kaptools.printer import escape
from kaptools.protocol import MonitoringSection, Protocol, Threshold, default_protocol
from kaptools.scheduling.doses import fmt_number
from kaptools.sessions.scales import moaa_s, vitals_entry
from kaptools.validation import present

__all__ = [
    "FlagLevel",
    "VitalSigns",
    "VitalsFlag",
    "VitalsTimepoint",
    "after_dose_hold_line_flags",
    "after_dose_review_flags",
    "escalation_text",
    "level_rank",
    "sedation_flags",
    "vitals_flags",
    "vitals_schedule",
]


class VitalsTimepoint(enum.StrEnum):
    """When in a session a reading was taken (default protocol; label [2.1]; §5.3)."""

    PRE_DOSE = "pre_dose"
    """Before dosing: the baseline every rise is measured against [2.1]."""
    DURING = "during"
    """During an infusion, at the protocol's interval [5.3]."""
    POST_DOSE = "post_dose"
    """About 40 minutes after dosing, when the BP rise peaks [2.1]."""
    PRE_DISCHARGE = "pre_discharge"
    """Before the patient leaves [2.1, 5.4]."""
    OTHER = "other"
    """Any further reading (e.g. a recheck after a flag)."""


class FlagLevel(enum.StrEnum):
    """How a vitals or sedation flag is shown."""

    REVIEW = "review"
    """Highlighted for clinician review (e.g. pre-dose BP above the review line)."""
    FLAG = "flag"
    """A protocol threshold was crossed (e.g. a systolic rise of 40 mmHg or more)."""
    URGENT = "urgent"
    """At or past a hold line after the dose (or deep sedation): act now, with the
    protocol's escalation steps (recheck time; emergency care for crisis symptoms)."""


_LEVEL_RANK = {FlagLevel.REVIEW: 1, FlagLevel.FLAG: 2, FlagLevel.URGENT: 3}


def level_rank(level: FlagLevel) -> int:
    """Order of urgency: review < flag < urgent."""
    return _LEVEL_RANK[level]


def _int_in(value: object, name: str, bounds: tuple[int, int], unit: str) -> int | None:
    if value is None:
        return None
    lo, hi = bounds
    if isinstance(value, bool) or not isinstance(value, int) or not lo <= value <= hi:
        msg = (
            f"{name}: must be a whole number from {lo} to {hi} {unit} (got {value!r}); check "
            f"the entry ({vitals_entry().source})"
        )
        raise InvalidInputError(msg)
    return value


@dataclass(frozen=True, slots=True)
class VitalSigns:
    """One set of vital signs. Unmeasured values are ``None`` (unknown, never normal)."""

    timepoint: VitalsTimepoint
    minutes_after_dose: int | None = None
    """Minutes after dosing started (negative or 0 for pre-dose; None if not noted)."""
    systolic: int | None = None
    diastolic: int | None = None
    heart_rate: int | None = None
    spo2: int | None = None
    respiratory_rate: int | None = None

    def __post_init__(self) -> None:
        try:
            object.__setattr__(self, "timepoint", VitalsTimepoint(self.timepoint))
        except ValueError:
            msg = (
                f"vitals.timepoint: {self.timepoint!r} is not a reading time; use one of "
                f"{[t.value for t in VitalsTimepoint]}"
            )
            raise InvalidInputError(msg) from None
        r = vitals_entry()
        _int_in(self.systolic, "vitals.systolic", r.systolic_mmhg, "mmHg")
        _int_in(self.diastolic, "vitals.diastolic", r.diastolic_mmhg, "mmHg")
        _int_in(self.heart_rate, "vitals.heart_rate", r.heart_rate_bpm, "beats/min")
        _int_in(self.spo2, "vitals.spo2", r.spo2_pct, "%")
        _int_in(
            self.respiratory_rate,
            "vitals.respiratory_rate",
            r.respiratory_rate_per_min,
            "breaths/min",
        )
        m = self.minutes_after_dose
        if m is not None and (
            isinstance(m, bool) or not isinstance(m, int) or not -24 * 60 <= m <= 24 * 60
        ):
            msg = (
                "vitals.minutes_after_dose: must be whole minutes within a day of dosing (got "
                f"{m!r})"
            )
            raise InvalidInputError(msg)
        if (self.systolic is None) != (self.diastolic is None):
            msg = (
                f"vitals: blood pressure needs both systolic and diastolic (got "
                f"{self.systolic!r}/{self.diastolic!r}); enter both or neither"
            )
            raise InvalidInputError(msg)
        if (
            self.systolic is not None
            and self.diastolic is not None
            and self.systolic <= self.diastolic
        ):
            msg = (
                f"vitals: systolic ({self.systolic}) must be above diastolic ({self.diastolic}); "
                f"check whether the two were swapped"
            )
            raise InvalidInputError(msg)

    @property
    def has_bp(self) -> bool:
        return self.systolic is not None and self.diastolic is not None

    @property
    def bp_text(self) -> str:
        return f"{self.systolic}/{self.diastolic} mmHg" if self.has_bp else "BP not taken"

    @property
    def summary(self) -> str:
        when = f" at {self.minutes_after_dose} min" if self.minutes_after_dose is not None else ""
        extra = [
            f"{label} {value}{unit}"
            for label, value, unit in (
                ("HR", self.heart_rate, "/min"),
                ("SpO2", self.spo2, "%"),
                ("RR", self.respiratory_rate, "/min"),
            )
            if value is not None
        ]
        return f"{self.timepoint.value}{when}: {self.bp_text}" + (
            f", {', '.join(extra)}" if extra else ""
        )

    def _repr_html_(self) -> str:
        return f"<span class='kap-vitals'>{escape(self.summary)}</span>"


@dataclass(frozen=True, slots=True)
class VitalsFlag:
    """A reading the protocol highlights: which rule, the value, the threshold and source."""

    rule_id: str
    level: FlagLevel
    field: str
    value: float | None
    threshold: float | None
    message: str
    source: str
    timepoint: VitalsTimepoint | None = None
    minutes_after_dose: int | None = None
    escalation: str = ""
    """What to do now (urgent flags): the protocol's escalation steps."""

    @property
    def summary(self) -> str:
        then = f" {self.escalation}" if self.escalation else ""
        return f"[{self.level.value.upper()}] {self.message}{then}"

    def _repr_html_(self) -> str:
        then = (
            f"<br><span class='kap-escalation'>{escape(self.escalation)}</span>"
            if self.escalation
            else ""
        )
        return (
            f"<div class='kap-flag kap-flag-{escape(self.level.value)}' role='status'>"
            f"<strong>{escape(self.level.value.upper())}</strong> {escape(self.message)}{then}"
            f"<br><small>Source: {escape(self.source)}</small></div>"
        )


def _t(x: Threshold) -> str:
    return f"{fmt_number(x.value)} mmHg"


def vitals_flags(
    vitals: Iterable[VitalSigns], protocol: Protocol | None = None
) -> tuple[VitalsFlag, ...]:
    """The flags the protocol's ``[monitoring]`` thresholds raise on a session's readings.

    * pre-dose systolic above ``pre_dose_systolic_review_above`` or diastolic above
      ``pre_dose_diastolic_review_above``: REVIEW;
    * any later reading whose systolic rose by at least ``systolic_rise_flag_min``,
      or diastolic by at least ``diastolic_rise_flag_min``, over pre-dose: FLAG;
    * no pre-dose blood pressure: REVIEW (rises cannot be judged without it);
    * a post-dose reading outside ``post_dose_check_minutes`` ±
      ``post_dose_check_tolerance_minutes``: REVIEW;
    * any reading after the dose at or past a hold line: URGENT, whatever the rise
      (:func:`after_dose_hold_line_flags`).

    Examples:
        >>> pre = VitalSigns("pre_dose", 0, 128, 82)
        >>> post = VitalSigns("post_dose", 40, 170, 95)
        >>> [f.rule_id for f in vitals_flags([pre, post])]
        ['systolic_rise']
    """
    m = (protocol or default_protocol()).monitoring
    readings: Sequence[VitalSigns] = tuple(vitals)
    for v in readings:
        if not isinstance(v, VitalSigns):
            msg = f"vitals: each reading must be a VitalSigns (got {type(v).__name__})"
            raise InvalidInputError(msg)
    pre = next((v for v in readings if v.timepoint is VitalsTimepoint.PRE_DOSE and v.has_bp), None)
    return (
        *_pre_dose_flags(pre, m),
        *(() if pre is None else _rise_flags(pre, readings, m)),
        *_post_dose_timing_flags(readings, m),
        *after_dose_hold_line_flags(readings, protocol),
        *after_dose_review_flags(readings, protocol),
    )


def _pre_dose_flags(pre: VitalSigns | None, m: MonitoringSection) -> list[VitalsFlag]:
    """No pre-dose blood pressure, or a pre-dose systolic / diastolic above its review line."""
    if pre is None:
        return [
            VitalsFlag(
                "pre_dose_bp_missing",
                FlagLevel.REVIEW,
                "vitals.pre_dose",
                None,
                None,
                "No pre-dose blood pressure: rises after dosing cannot be judged. Take it before "
                "dosing.",
                m.pre_dose_systolic_review_above.source,
                VitalsTimepoint.PRE_DOSE,
            )
        ]
    out = []
    for name, value, line in (
        ("systolic", pre.systolic, m.pre_dose_systolic_review_above),
        ("diastolic", pre.diastolic, m.pre_dose_diastolic_review_above),
    ):
        if value is not None and value > line.value:
            out.append(
                VitalsFlag(
                    f"pre_dose_{name}_high",
                    FlagLevel.REVIEW,
                    f"vitals.{name}",
                    value,
                    line.value,
                    f"Pre-dose {name} {value} mmHg is above {_t(line)}: clinician review "
                    "before dosing (weigh the expected rise against the benefit).",
                    line.source,
                    pre.timepoint,
                    pre.minutes_after_dose,
                )
            )
    return out


def _rise_flags(
    pre: VitalSigns, readings: Sequence[VitalSigns], m: MonitoringSection
) -> list[VitalsFlag]:
    """Every later reading whose systolic or diastolic rose by at least the protocol's
    amount over the pre-dose reading."""
    pre_s = present(pre.systolic, "the pre-dose systolic (pre.has_bp)")
    pre_d = present(pre.diastolic, "the pre-dose diastolic (pre.has_bp)")
    out = []
    for v in readings:
        if (
            v is pre
            or v.systolic is None  # not v.has_bp
            or v.diastolic is None
            or v.timepoint is VitalsTimepoint.PRE_DOSE
        ):
            continue
        when = f" at {v.minutes_after_dose} min" if v.minutes_after_dose is not None else ""
        for name, before, after, rise in (
            ("systolic", pre_s, v.systolic, m.systolic_rise_flag_min),
            ("diastolic", pre_d, v.diastolic, m.diastolic_rise_flag_min),
        ):
            if after - before >= rise.value:
                out.append(
                    VitalsFlag(
                        f"{name}_rise",
                        FlagLevel.FLAG,
                        f"vitals.{name}",
                        after - before,
                        rise.value,
                        f"{name.capitalize()} rose {after - before} mmHg ({before} → {after})"
                        f"{when} ({v.timepoint.value}): at least {_t(rise)} over pre-dose.",
                        rise.source,
                        v.timepoint,
                        v.minutes_after_dose,
                    )
                )
    return out


def _post_dose_timing_flags(
    readings: Sequence[VitalSigns], m: MonitoringSection
) -> list[VitalsFlag]:
    """A post-dose reading away from the protocol's check time by more than its tolerance."""
    target, tol = m.post_dose_check_minutes.value, m.post_dose_check_tolerance_minutes.value
    return [
        VitalsFlag(
            "post_dose_timing",
            FlagLevel.REVIEW,
            "vitals.minutes_after_dose",
            v.minutes_after_dose,
            target,
            f"Post-dose reading at {v.minutes_after_dose} min; the protocol's check is at "
            f"about {fmt_number(target)} min (± {fmt_number(tol)}), when the rise peaks.",
            m.post_dose_check_minutes.source,
            v.timepoint,
            v.minutes_after_dose,
        )
        for v in readings
        if v.timepoint is VitalsTimepoint.POST_DOSE
        and v.minutes_after_dose is not None
        and abs(v.minutes_after_dose - target) > tol
    ]


def escalation_text(protocol: Protocol, which: str) -> str:
    """The protocol's escalation steps ``which`` (e.g. ``"urgent_vitals"``), numbers filled in."""
    m = protocol.monitoring
    esc = getattr(m, f"{which}_escalation")
    return str(esc.action.replace("{urgent_recheck_minutes}", str(m.urgent_recheck_minutes)))


def is_after_dose(v: VitalSigns) -> bool:
    """A reading taken after dosing began (not the pre-dose baseline)."""
    if v.timepoint is VitalsTimepoint.PRE_DOSE:
        return False
    # An extra ("other") reading timed before the dose is a pre-dose recheck.
    return not (
        v.timepoint is VitalsTimepoint.OTHER
        and v.minutes_after_dose is not None
        and v.minutes_after_dose < 0
    )


#: The after-dose hold lines, in the order they are checked: (rule id, the reading's
#: field, the ``[monitoring]`` line, which side of it is past it, the message).
_HOLD_LINES = (
    ("urgent_systolic", "systolic", "systolic_hold_at_or_above", "at_or_above",
     "systolic {x} mmHg is at or above the hold line of {t}"),
    ("urgent_diastolic", "diastolic", "diastolic_hold_at_or_above", "at_or_above",
     "diastolic {x} mmHg is at or above the hold line of {t}"),
    ("urgent_spo2", "spo2", "spo2_hold_below", "below",
     "SpO2 {x} % is below the hold line of {t}"),
    ("urgent_respiratory_rate", "respiratory_rate", "respiratory_rate_hold_below", "below",
     "respiratory rate {x}/min is below the hold line of {t}"),
    ("urgent_heart_rate_low", "heart_rate", "heart_rate_hold_below", "below",
     "heart rate {x}/min is below the hold line of {t}"),
    ("urgent_heart_rate_high", "heart_rate", "heart_rate_hold_above", "above",
     "heart rate {x}/min is above the hold line of {t}"),
)  # fmt: skip
_PAST = {
    "at_or_above": lambda x, line: x >= line,
    "below": lambda x, line: x < line,
    "above": lambda x, line: x > line,
}


def after_dose_hold_line_flags(
    vitals: Iterable[VitalSigns], protocol: Protocol | None = None
) -> tuple[VitalsFlag, ...]:
    """URGENT for every after-dose reading at or past a hold line, whatever the rise.

    Hold lines (``[monitoring]``): systolic ≥ ``systolic_hold_at_or_above``, diastolic ≥
    ``diastolic_hold_at_or_above``, SpO2 < ``spo2_hold_below``, respiratory rate <
    ``respiratory_rate_hold_below``, heart rate < ``heart_rate_hold_below`` or >
    ``heart_rate_hold_above``. Each flag carries the protocol's escalation steps.

    Examples:
        >>> [f.rule_id for f in after_dose_hold_line_flags([VitalSigns("post_dose", 40, 182, 118)])]
        ['urgent_systolic', 'urgent_diastolic']
    """
    p = protocol or default_protocol()
    m = p.monitoring
    steps = escalation_text(p, "urgent_vitals")
    out: list[VitalsFlag] = []
    for v in vitals:
        if not is_after_dose(v):
            continue
        when = f" at {v.minutes_after_dose} min" if v.minutes_after_dose is not None else ""
        for rule, attr, line_name, side, text in _HOLD_LINES:
            value, line = getattr(v, attr), getattr(m, line_name)
            if value is None or not _PAST[side](value, line.value):
                continue
            out.append(
                VitalsFlag(
                    rule,
                    FlagLevel.URGENT,
                    f"vitals.{attr}",
                    value,
                    line.value,
                    f"After the dose{when} ({v.timepoint.value}): "
                    + text.format(x=value, t=str(line))
                    + ".",
                    line.source,
                    v.timepoint,
                    v.minutes_after_dose,
                    steps,
                )
            )
    return tuple(out)


def after_dose_review_flags(
    vitals: Iterable[VitalSigns], protocol: Protocol | None = None
) -> tuple[VitalsFlag, ...]:
    """REVIEW for an after-dose heart rate outside the review lines (default 50–110/min)
    or SpO2 below the review line (default 94 %) that is not already past a hold line."""
    m = (protocol or default_protocol()).monitoring
    out: list[VitalsFlag] = []
    for v in vitals:
        if not is_after_dose(v):
            continue
        when = f" at {v.minutes_after_dose} min" if v.minutes_after_dose is not None else ""
        hr = v.heart_rate
        if (
            hr is not None
            and m.heart_rate_hold_below.value <= hr <= m.heart_rate_hold_above.value
            and not m.heart_rate_review_below.value <= hr <= m.heart_rate_review_above.value
        ):
            line = (
                m.heart_rate_review_below
                if hr < m.heart_rate_review_below.value
                else m.heart_rate_review_above
            )
            out.append(
                VitalsFlag(
                    "heart_rate_review",
                    FlagLevel.REVIEW,
                    "vitals.heart_rate",
                    hr,
                    line.value,
                    f"Heart rate {hr}/min{when} ({v.timepoint.value}) is outside "
                    f"{m.heart_rate_review_below} to {m.heart_rate_review_above}: clinician "
                    "review; recheck.",
                    line.source,
                    v.timepoint,
                    v.minutes_after_dose,
                )
            )
        sp = v.spo2
        if sp is not None and m.spo2_hold_below.value <= sp < m.spo2_review_below.value:
            out.append(
                VitalsFlag(
                    "spo2_review",
                    FlagLevel.REVIEW,
                    "vitals.spo2",
                    sp,
                    m.spo2_review_below.value,
                    f"SpO2 {sp} %{when} ({v.timepoint.value}) is below {m.spo2_review_below}: "
                    "clinician review; keep pulse oximetry on.",
                    m.spo2_review_below.source,
                    v.timepoint,
                    v.minutes_after_dose,
                )
            )
    return tuple(out)


def sedation_flags(
    ratings: Iterable[tuple[int | None, int]], protocol: Protocol | None = None
) -> tuple[VitalsFlag, ...]:
    """Flag MOAA/S ratings at the protocol's lines: at or below the review line (default 3)
    REVIEW; at or below the urgent line (default 1; 0 = loss of consciousness) URGENT.

    ``ratings`` are ``(minutes_after_dose, moaa_s)`` pairs.

    Examples:
        >>> [f.level.value for f in sedation_flags([(40, 4), (40, 3), (60, 1)])]
        ['review', 'urgent']
    """
    p = protocol or default_protocol()
    m = p.monitoring
    review, urgent = m.sedation_review_moaa_s_at_or_below, m.sedation_urgent_moaa_s_at_or_below
    scale = moaa_s()
    steps = escalation_text(p, "urgent_vitals")
    out = []
    for minutes, score in ratings:
        when = f" at {minutes} min" if minutes is not None else ""
        lost = " (loss of consciousness)" if score == scale.loss_of_consciousness else ""
        if score <= urgent.value:
            out.append(
                VitalsFlag(
                    "sedation_urgent",
                    FlagLevel.URGENT,
                    "sedation.moaa_s",
                    score,
                    urgent.value,
                    f"MOAA/S {score}{lost}{when}: at or below the urgent line of "
                    f"{fmt_number(urgent.value)}. Check airway, breathing and pulse oximetry now.",
                    urgent.source,
                    None,
                    minutes,
                    steps,
                )
            )
        elif score <= review.value:
            out.append(
                VitalsFlag(
                    "sedation_review",
                    FlagLevel.REVIEW,
                    "sedation.moaa_s",
                    score,
                    review.value,
                    f"MOAA/S {score}{when}: at or below the review line of "
                    f"{fmt_number(review.value)}. Clinician review; keep pulse oximetry on.",
                    review.source,
                    None,
                    minutes,
                )
            )
    return tuple(out)


def vitals_schedule(
    route: str, protocol: Protocol | None = None
) -> tuple[tuple[VitalsTimepoint, int | None], ...]:
    """The readings the protocol asks for at a session on ``route``, in order.

    ``(time point, minutes after dosing)`` pairs: pre-dose at 0; during an infusion
    every ``infusion_vitals_interval_minutes`` up to ``infusion_minutes`` (the same
    count :meth:`DosingSession.missing_for_completion` asks for); the post-dose check
    at ``post_dose_check_minutes``; pre-discharge with no fixed minute (None).

    Examples:
        >>> [(t.value, m) for t, m in vitals_schedule("iv_ketamine")][:3]
        [('pre_dose', 0), ('during', 15), ('during', 30)]
    """
    p = protocol or default_protocol()
    m = p.monitoring
    out: list[tuple[VitalsTimepoint, int | None]] = [(VitalsTimepoint.PRE_DOSE, 0)]
    infusion = p.courses.route(route).infusion_minutes
    if infusion is not None:
        every = int(m.infusion_vitals_interval_minutes.value)
        out.extend(
            (VitalsTimepoint.DURING, every * (i + 1)) for i in range(int(infusion.value // every))
        )
    out.append((VitalsTimepoint.POST_DOSE, int(m.post_dose_check_minutes.value)))
    out.append((VitalsTimepoint.PRE_DISCHARGE, None))
    return tuple(out)
