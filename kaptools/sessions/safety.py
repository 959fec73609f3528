"""Safety checks of a dosing session: go / no-go before the dose, escalations after it.

Before a dose can be recorded as given, :func:`go_no_go` says **go**, **review** or
**hold** from the pre-dose checks (default protocol "Dosing session: go / no-go"):

| check | hold | review |
|---|---|---|
| pre-dose BP | systolic ≥ 180 or diastolic ≥ 110 | above 140/90 |
| pre-dose heart rate | < 40 or > 130 | outside 50–110 |
| pre-dose SpO2 (pulse oximetry every session) | < 90 % | < 94 % |
| C-SSRS since the last visit | intent, plan or behaviour | wish / thoughts / method |
| pregnancy since screening, acute intoxication | yes | — |
| esketamine REMS enrolment (outpatient) | not enrolled | — |

Every number and question list comes from the protocol's ``[monitoring]`` table.
Anything not recorded is unknown, never "no": a missing pre-dose reading or answer
is **no go**, and the decision names what is missing. A hold can be overridden only
by a clinician with a written reason (:class:`HoldOverride`); the hold itself stays
on the record, and the override is saved as its own audit-logged record
(:func:`kaptools.sessions.save_dosing_session`).

After the dose, side effects with an escalation (suicidal thoughts, the symptoms of
hypertensive crisis) raise urgent flags with the protocol's steps
(:func:`side_effect_flags`), and urgent flags become safety alerts
(:func:`flags_to_alerts`) for the alert store.

References:
    kaptools/sources.toml §2.1 (label BP, pulse oximetry, crisis symptoms), §2.2 (REMS),
    §4.8 and §7 (C-SSRS triage, 988).
"""

from __future__ import annotations

import datetime as dt
import enum
from collections.abc import Iterable
from dataclasses import dataclass

from kaptools.alerts import CRISIS_LINE_TEXT, Alert, AlertLevel
from kaptools.errors import InvalidInputError
from kaptools.printer import escape
from kaptools.protocol import MonitoringSection, Protocol, Threshold, default_protocol
from kaptools.sessions.side_effects import Escalation, SideEffectReport
from kaptools.sessions.vitals import (
    FlagLevel,
    VitalsFlag,
    VitalSigns,
    VitalsTimepoint,
    escalation_text,
)
from kaptools.vocabulary import CssrsQuestion

__all__ = [
    "EMERGENCY_LINE_TEXT",
    "GoDecision",
    "GoFinding",
    "GoStatus",
    "HoldOverride",
    "PreDoseChecks",
    "flags_to_alerts",
    "go_no_go",
    "side_effect_flags",
]

#: Shown with urgent medical (not suicide-risk) alerts.
EMERGENCY_LINE_TEXT = "In an emergency call 911."

#: Minimum length of a written override reason (a word is not a reason).
OVERRIDE_REASON_MIN_CHARS = 10


class GoStatus(enum.StrEnum):
    """The pre-dose decision (default protocol "Dosing session: go / no-go")."""

    GO = "go"
    """Every pre-dose check recorded and within the protocol's lines."""
    REVIEW = "review"
    """Recorded, no hold; at least one check needs clinician review before dosing."""
    HOLD = "hold"
    """No go: a check is at a hold line, or something required is not recorded."""


_STATUS_RANK = {GoStatus.GO: 0, GoStatus.REVIEW: 1, GoStatus.HOLD: 2}


@dataclass(frozen=True, slots=True)
class PreDoseChecks:
    """Pre-dose answers besides the vital signs. ``None`` = not asked (unknown, never no)."""

    cssrs_since_last_visit: tuple[CssrsQuestion, ...] | None = None
    """C-SSRS questions answered yes since the last visit; () = asked, all no."""
    pregnant_since_screening: bool | None = None
    """A pregnancy since screening (answer "no" when the patient cannot be pregnant)."""
    acutely_intoxicated: bool | None = None
    """Acute intoxication (alcohol or drugs) at the visit."""

    def __post_init__(self) -> None:
        c = self.cssrs_since_last_visit
        if c is not None:
            if isinstance(c, str | bytes):
                c = (c,)
            try:
                object.__setattr__(
                    self,
                    "cssrs_since_last_visit",
                    tuple(dict.fromkeys(CssrsQuestion(q) for q in c)),
                )
            except (ValueError, TypeError):
                msg = (
                    f"pre_dose.cssrs_since_last_visit: {self.cssrs_since_last_visit!r} holds an "
                    f"unknown C-SSRS question; use {[q.value for q in CssrsQuestion]} "
                    "(an empty list when every answer was no)"
                )
                raise InvalidInputError(msg) from None
        for name in ("pregnant_since_screening", "acutely_intoxicated"):
            value = getattr(self, name)
            if value is not None and not isinstance(value, bool):
                msg = (
                    f"pre_dose.{name}: must be yes (True), no (False) or not asked (None); got "
                    f"{value!r}"
                )
                raise InvalidInputError(msg)


@dataclass(frozen=True, slots=True)
class HoldOverride:
    """A clinician's decision to dose despite a hold, with a written reason.

    ``rules`` names the hold findings it covers (``GoFinding.rule_id``): a hold that
    appears later (another reading) is not covered and stops the dose again.
    """

    clinician: str
    reason: str
    rules: tuple[str, ...]
    at: dt.datetime | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.clinician, str) or not self.clinician.strip():
            msg = (
                f"hold_override.clinician: name the clinician who overrides the hold (got "
                f"{self.clinician!r})"
            )
            raise InvalidInputError(msg)
        if not isinstance(self.reason, str) or len(self.reason.strip()) < OVERRIDE_REASON_MIN_CHARS:
            msg = (
                f"hold_override.reason: a hold can be overridden only with a written reason of "
                f"at least {OVERRIDE_REASON_MIN_CHARS} characters (got {self.reason!r}); write "
                "why the dose is given despite the hold"
            )
            raise InvalidInputError(msg)
        rules = self.rules
        if isinstance(rules, str) or not all(isinstance(r, str) and r for r in rules) or not rules:
            msg = (
                f"hold_override.rules: list the hold findings overridden (got {rules!r}); use the "
                "rule ids the go / no-go decision shows"
            )
            raise InvalidInputError(msg)
        object.__setattr__(self, "rules", tuple(rules))
        object.__setattr__(self, "clinician", self.clinician.strip())
        object.__setattr__(self, "reason", self.reason.strip())
        if self.at is not None and not isinstance(self.at, dt.datetime):
            msg = f"hold_override.at: must be a date and time (got {self.at!r})"
            raise InvalidInputError(msg)


@dataclass(frozen=True, slots=True)
class GoFinding:
    """One pre-dose check that is not plain "go": its rule, level, value, line and source."""

    rule_id: str
    status: GoStatus
    field: str
    value: object
    threshold: float | None
    message: str
    source: str

    @property
    def summary(self) -> str:
        return f"[{self.status.value.upper()}] {self.message}"


@dataclass(frozen=True, slots=True)
class GoDecision:
    """Go, review or hold before a dose, with every finding and what is missing."""

    status: GoStatus
    findings: tuple[GoFinding, ...]
    missing: tuple[str, ...]
    """Required pre-dose items not recorded (they alone make the decision hold)."""
    override: HoldOverride | None = None

    @property
    def holds(self) -> tuple[GoFinding, ...]:
        return tuple(f for f in self.findings if f.status is GoStatus.HOLD)

    @property
    def overridden(self) -> bool:
        """A hold (not a missing item) covered entirely by a clinician's override."""
        return (
            self.status is GoStatus.HOLD
            and not self.missing
            and self.override is not None
            and {f.rule_id for f in self.holds} <= set(self.override.rules)
        )

    @property
    def dose_may_be_recorded(self) -> bool:
        """Go or review; or a hold whose every finding a clinician overrode with a reason."""
        return self.status is not GoStatus.HOLD or self.overridden

    @property
    def headline(self) -> str:
        if self.status is GoStatus.GO:
            return "GO: every pre-dose check meets the protocol's criteria."
        if self.status is GoStatus.REVIEW:
            return "REVIEW: clinician review before the dose."
        if self.missing and not self.holds:
            return "HOLD (no go): pre-dose items missing: " + ", ".join(self.missing) + "."
        head = "HOLD (no go)"
        if self.overridden and self.override is not None:
            head += f", overridden by {self.override.clinician}: {self.override.reason}"
        elif self.override is not None:
            head += " (the override does not cover every hold)"
        if self.missing:
            head += "; missing: " + ", ".join(self.missing)
        return head + "."

    @property
    def summary(self) -> str:
        return "\n".join([self.headline, *(f.summary for f in self.findings)])

    def _repr_html_(self) -> str:
        items = "".join(
            f"<li class='kap-go-{escape(f.status.value)}'><b>{escape(f.status.value.upper())}</b> "
            f"{escape(f.message)} <small class='kap-muted'>({escape(f.source)})</small></li>"
            for f in self.findings
        )
        missing = "".join(
            f"<li class='kap-go-missing'>missing: {escape(m)}</li>" for m in self.missing
        )
        return (
            f"<div class='kap-go kap-go-status-{escape(self.status.value)}' role='status'>"
            f"<strong>{escape(self.headline)}</strong><ul>{items}{missing}</ul></div>"
        )


def _t(x: Threshold) -> str:
    return str(x)


@dataclass
class _Found:
    """What the pre-dose checks found so far, in the order the rules run."""

    findings: list[GoFinding]
    missing: list[str]

    def add(
        self,
        rule: str,
        status: GoStatus,
        fld: str,
        value: object,
        line: Threshold | None,
        text: str,
        source: str,
    ) -> None:
        self.findings.append(
            GoFinding(rule, status, fld, value, None if line is None else line.value, text, source)
        )


def go_no_go(
    vitals: Iterable[VitalSigns],
    checks: PreDoseChecks | None,
    *,
    needs_rems_enrolment: bool,
    rems_enrolled: bool | None,
    override: HoldOverride | None = None,
    protocol: Protocol | None = None,
) -> GoDecision:
    """The pre-dose decision from the pre-dose reading and answers.

    The pre-dose reading is the last ``pre_dose`` reading (a recheck replaces the
    first); its blood pressure, heart rate and SpO2 are all required. The rules run in
    the order of the table above: blood pressure, heart rate, SpO2, C-SSRS, pregnancy
    and intoxication, REMS enrolment.

    Examples:
        >>> d = go_no_go([VitalSigns("pre_dose", 0, 185, 115, 80, 97)],
        ...     PreDoseChecks((), False, False), needs_rems_enrolment=False, rems_enrolled=None)
        >>> d.status.value, [f.rule_id for f in d.holds]
        ('hold', ['pre_dose_systolic_hold', 'pre_dose_diastolic_hold'])
    """
    m = (protocol or default_protocol()).monitoring
    pre_readings = [v for v in vitals if v.timepoint is VitalsTimepoint.PRE_DOSE]
    pre = pre_readings[-1] if pre_readings else None
    found = _Found([], [])
    _blood_pressure(pre, m, found)
    _heart_rate(pre, m, found)
    _spo2(pre, m, found)
    checks = checks or PreDoseChecks()
    _cssrs(checks, m, found)
    _pregnancy_and_intoxication(checks, found)
    if needs_rems_enrolment:
        _rems_enrolment(rems_enrolled, found)
    status = max(
        (f.status for f in found.findings), key=_STATUS_RANK.__getitem__, default=GoStatus.GO
    )
    if found.missing:
        status = GoStatus.HOLD
    return GoDecision(status, tuple(found.findings), tuple(found.missing), override)


def _blood_pressure(pre: VitalSigns | None, m: MonitoringSection, found: _Found) -> None:
    """Systolic, then diastolic: at or above the hold line holds, above review reviews."""
    if pre is None or pre.systolic is None or pre.diastolic is None:  # not pre.has_bp
        found.missing.append("vitals.pre_dose.blood_pressure")
        return
    for name, value, hold, review in (
        ("systolic", pre.systolic, m.systolic_hold_at_or_above, m.pre_dose_systolic_review_above),
        (
            "diastolic",
            pre.diastolic,
            m.diastolic_hold_at_or_above,
            m.pre_dose_diastolic_review_above,
        ),
    ):
        if value >= hold.value:
            found.add(
                f"pre_dose_{name}_hold",
                GoStatus.HOLD,
                f"vitals.{name}",
                value,
                hold,
                f"Pre-dose {name} {value} mmHg is at or above the hold line of {_t(hold)}: "
                "do not dose until it is controlled.",
                hold.source,
            )
        elif value > review.value:
            found.add(
                f"pre_dose_{name}_review",
                GoStatus.REVIEW,
                f"vitals.{name}",
                value,
                review,
                f"Pre-dose {name} {value} mmHg is above {_t(review)}: clinician review "
                "(weigh the expected rise against the benefit).",
                review.source,
            )


def _heart_rate(pre: VitalSigns | None, m: MonitoringSection, found: _Found) -> None:
    """Outside the hold lines holds; outside the review lines reviews."""
    if pre is None or pre.heart_rate is None:
        found.missing.append("vitals.pre_dose.heart_rate")
        return
    hr = pre.heart_rate
    for suffix, status, low, high, text in (
        ("hold", GoStatus.HOLD, m.heart_rate_hold_below, m.heart_rate_hold_above,
         "is outside the hold lines ({low} to {high})."),
        ("review", GoStatus.REVIEW, m.heart_rate_review_below, m.heart_rate_review_above,
         "is outside {low} to {high}: clinician review."),
    ):  # fmt: skip
        if hr < low.value or hr > high.value:
            line = low if hr < low.value else high
            found.add(
                f"pre_dose_heart_rate_{suffix}",
                status,
                "vitals.heart_rate",
                hr,
                line,
                f"Pre-dose heart rate {hr}/min " + text.format(low=_t(low), high=_t(high)),
                line.source,
            )
            return


def _spo2(pre: VitalSigns | None, m: MonitoringSection, found: _Found) -> None:
    """Below the hold line holds; below the review line reviews."""
    if pre is None or pre.spo2 is None:
        found.missing.append("vitals.pre_dose.spo2")
        return
    sp = pre.spo2
    for suffix, status, line, text in (
        ("hold", GoStatus.HOLD, m.spo2_hold_below, "is below the hold line of {line}."),
        ("review", GoStatus.REVIEW, m.spo2_review_below, "is below {line}: clinician review."),
    ):
        if sp < line.value:
            found.add(
                f"pre_dose_spo2_{suffix}",
                status,
                "vitals.spo2",
                sp,
                line,
                f"Pre-dose SpO2 {sp} % " + text.format(line=_t(line)),
                line.source,
            )
            return


def _cssrs(checks: PreDoseChecks, m: MonitoringSection, found: _Found) -> None:
    """A C-SSRS hold question answered yes holds, a review question reviews (988 shown)."""
    c = checks.cssrs_since_last_visit
    if c is None:
        found.missing.append("pre_dose.cssrs_since_last_visit")
        return
    hold_q = [q for q in c if q.value in m.cssrs_hold_questions.values]
    review_q = [q for q in c if q.value in m.cssrs_review_questions.values]
    for rule, status, asked, step, rule_list in (
        ("pre_dose_cssrs_high_risk", GoStatus.HOLD, hold_q,
         "Immediate risk assessment before any dose.", m.cssrs_hold_questions),
        ("pre_dose_cssrs_review", GoStatus.REVIEW, review_q,
         "Clinician review before the dose.", m.cssrs_review_questions),
    ):  # fmt: skip
        if asked:
            found.add(
                rule,
                status,
                "pre_dose.cssrs_since_last_visit",
                [q.value for q in asked],
                None,
                "C-SSRS since the last visit: "
                + ", ".join(q.value.replace("_", " ") for q in asked)
                + f". {step} "
                + CRISIS_LINE_TEXT,
                rule_list.source,
            )
            return


def _pregnancy_and_intoxication(checks: PreDoseChecks, found: _Found) -> None:
    """A pregnancy since screening or acute intoxication holds."""
    for name, rule, text, source in (
        (
            "pregnant_since_screening",
            "pre_dose_pregnancy",
            "Pregnancy since screening: ketamine and esketamine are not recommended.",
            "SPRAVATO label: pregnancy not recommended [2.1]",
        ),
        (
            "acutely_intoxicated",
            "pre_dose_intoxication",
            "Acute intoxication at the visit: do not dose.",
            "Ketalar SmPC: acute intoxication; label: CNS depressants add sedation [2.1, 2.3]",
        ),
    ):
        value = getattr(checks, name)
        if value is None:
            found.missing.append(f"pre_dose.{name}")
        elif value:
            found.add(rule, GoStatus.HOLD, f"pre_dose.{name}", True, None, text, source)


def _rems_enrolment(rems_enrolled: bool | None, found: _Found) -> None:
    """An outpatient esketamine patient not enrolled in the REMS holds."""
    if rems_enrolled is None:
        found.missing.append("rems.patient_enrolled")
    elif not rems_enrolled:
        found.add(
            "pre_dose_rems_not_enrolled",
            GoStatus.HOLD,
            "rems.patient_enrolled",
            False,
            None,
            "The patient is not enrolled in the SPRAVATO REMS: enrol before treatment.",
            "SPRAVATO REMS: patient enrolment before the first treatment [2.2]",
        )


def side_effect_flags(
    reports: Iterable[SideEffectReport] | None, protocol: Protocol | None = None
) -> tuple[VitalsFlag, ...]:
    """URGENT for each recorded side effect that carries an escalation, with its steps."""
    p = protocol or default_protocol()
    out = []
    for r in reports or ():
        esc = r.effect.info.escalation
        if esc is None:
            continue
        which = {
            Escalation.SUICIDAL_THOUGHTS: "suicidal_thoughts",
            Escalation.HYPERTENSIVE_CRISIS: "hypertensive_crisis",
        }[esc]
        source = getattr(p.monitoring, f"{which}_escalation").source
        note = f" ({r.note})" if r.note else ""
        out.append(
            VitalsFlag(
                f"side_effect_{r.effect.value}",
                FlagLevel.URGENT,
                "side_effects.effect",
                None,
                None,
                f"{r.effect.label} recorded ({r.severity.value}){note}.",
                source,
                None,
                None,
                escalation_text(p, which),
            )
        )
    return tuple(out)


_SUICIDE_RULES = ("side_effect_suicidal_thoughts", "pre_dose_cssrs_high_risk")


def flags_to_alerts(
    flags: Iterable[VitalsFlag], decision: GoDecision | None = None
) -> tuple[Alert, ...]:
    """Safety alerts for the alert store: every URGENT flag (critical) and the C-SSRS
    findings of the pre-dose check (critical for a hold, warning for a review).

    Suicide-risk alerts carry the 988 line; medical emergencies the 911 line.
    """
    out: list[Alert] = []
    for f in flags:
        if f.level is not FlagLevel.URGENT:
            continue
        suicide = f.rule_id in _SUICIDE_RULES
        out.append(
            Alert(
                f"session_{f.rule_id}",
                AlertLevel.CRITICAL,
                f"Dosing session: {f.message}",
                f.escalation,
                f.source,
                CRISIS_LINE_TEXT if suicide else EMERGENCY_LINE_TEXT,
            )
        )
    if decision is not None:
        for g in decision.findings:
            if g.rule_id not in ("pre_dose_cssrs_high_risk", "pre_dose_cssrs_review"):
                continue
            high = g.status is GoStatus.HOLD
            out.append(
                Alert(
                    f"session_{g.rule_id}",
                    AlertLevel.CRITICAL if high else AlertLevel.WARNING,
                    f"Dosing session, C-SSRS since the last visit: "
                    f"{', '.join(str(v).replace('_', ' ') for v in g.value)}"  # type: ignore[attr-defined]
                    ".",
                    "Immediate risk assessment before any dose; 911 in an emergency."
                    if high
                    else "Clinician review of suicide risk before the dose.",
                    g.source,
                )
            )
    return tuple(out)
