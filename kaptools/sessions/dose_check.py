"""A recorded dose checked against the plan and the route's rules (default protocol "Doses").

* Esketamine: only the label's doses for the patient's age and the day (day 1: the
  first dose, 56 mg, 28 mg at 65 and over; later 56 or 84 mg, 28/56/84 mg at 65 and
  over). Any other dose is **refused**.
* IV and IM racemic ketamine: the recorded mg/kg for the recorded weight must lie
  within the route's ``min_mg_per_kg``–``max_mg_per_kg``; above that and up to
  ``clinician_choice_max_mg_per_kg`` (IV: 1.0 mg/kg) it **needs a written reason**;
  anything else is **refused**. A dose above the route's ``max_mg`` cap is refused.
* Any dose more than ``dose_plan_deviation_reason_above_pct`` (10 %) from the planned
  dose needs a written reason.
* A weight above ``courses.weight_review_above_kg`` (120 kg) for a weight-based dose
  is a review flag (the same line the planner uses).
* A named label schedule of the route (``[courses.templates]``, e.g. esketamine MDSI:
  84 mg from day 1) allows its own day-1 dose when the plan proposed it.

Unknown is never "no": a dose that cannot be checked (no weight, no age, first dose
not said) is **unchecked** and names what to record.

References:
    kaptools/sources.toml §3.1, §3.2 (IV/IM mg/kg), §3.4 (esketamine label doses).
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

from kaptools.printer import escape
from kaptools.protocol import FixedLabelDose, Protocol, WeightBasedDose, default_protocol
from kaptools.scheduling.doses import fmt_number
from kaptools.vocabulary import Route

__all__ = ["DoseCheck", "DoseFinding", "DoseVerdict", "check_dose"]


class DoseVerdict(enum.StrEnum):
    """What a dose check says about one rule (most serious last)."""

    OK = "ok"
    REVIEW = "review"
    """Recordable; highlighted for clinician review (e.g. weight above 120 kg)."""
    NEEDS_REASON = "needs_reason"
    """Recordable only with a clinician's written reason."""
    UNCHECKED = "unchecked"
    """Cannot be checked: something the rule needs is not recorded."""
    REFUSED = "refused"
    """Outside what the protocol allows: cannot be recorded as given."""


_RANK = {v: i for i, v in enumerate(DoseVerdict)}


@dataclass(frozen=True, slots=True)
class DoseFinding:
    rule_id: str
    verdict: DoseVerdict
    field: str
    value: object
    message: str
    source: str

    @property
    def summary(self) -> str:
        return f"[{self.verdict.value.upper()}] {self.message}"


@dataclass(frozen=True, slots=True)
class DoseCheck:
    """Every finding on a recorded dose, and whether it may be recorded as given."""

    dose_mg: float | None
    findings: tuple[DoseFinding, ...]
    reason: str = ""

    @property
    def verdict(self) -> DoseVerdict:
        return max(
            (f.verdict for f in self.findings), key=_RANK.__getitem__, default=DoseVerdict.OK
        )

    @property
    def needs_reason(self) -> bool:
        return any(f.verdict is DoseVerdict.NEEDS_REASON for f in self.findings)

    @property
    def recordable(self) -> bool:
        """No refusal, nothing unchecked, and a written reason wherever one is needed."""
        worst = self.verdict
        if worst in (DoseVerdict.REFUSED, DoseVerdict.UNCHECKED):
            return False
        return not (self.needs_reason and not self.reason.strip())

    @property
    def summary(self) -> str:
        if not self.findings:
            return "Dose: meets the protocol's rules for this route (for clinician confirmation)."
        return "\n".join(f.summary for f in self.findings)

    def _repr_html_(self) -> str:
        items = "".join(
            f"<li class='kap-dose-{escape(f.verdict.value)}'>{escape(f.summary)} "
            f"<small class='kap-muted'>({escape(f.source)})</small></li>"
            for f in self.findings
        )
        return f"<div class='kap-dose-check'><ul>{items or escape(self.summary)}</ul></div>"


def check_dose(
    route: Route | str,
    dose_mg: float | None,
    *,
    weight_kg: float | None = None,
    age_years: int | None = None,
    first_dose: bool | None = None,
    planned_dose_mg: float | None = None,
    reason: str = "",
    protocol: Protocol | None = None,
) -> DoseCheck:
    """The findings on ``dose_mg`` given on ``route`` (no findings: within the rules).

    Examples:
        >>> check_dose("esketamine_nasal", 112, age_years=40, first_dose=False).verdict.value
        'refused'
        >>> check_dose("iv_ketamine", 400, weight_kg=80).verdict.value
        'refused'
        >>> check_dose("iv_ketamine", 40, weight_kg=80).verdict.value
        'ok'
    """
    p = protocol or default_protocol()
    course = p.courses.route(route)
    m = p.monitoring
    reason = reason or ""
    out: list[DoseFinding] = []
    if dose_mg is None:
        return DoseCheck(None, (), reason)
    dose = course.dose
    if isinstance(dose, FixedLabelDose):
        # A named label schedule of this route (e.g. MDSI: 84 mg from day 1) allows its
        # own doses when the plan proposed that dose.
        named = {
            t.value
            for tpl in p.courses.templates.values()
            if tpl.route == Route(route)
            for t in (tpl.first_dose_mg, tpl.later_dose_mg)
            if t is not None
        }
        if not (dose_mg in named and planned_dose_mg == dose_mg):
            out.extend(_fixed(dose, dose_mg, age_years, first_dose))
    else:
        out.extend(_weight(dose, dose_mg, weight_kg, p))
    if planned_dose_mg is not None and planned_dose_mg > 0:
        pct = m.dose_plan_deviation_reason_above_pct
        off = abs(dose_mg - planned_dose_mg) / planned_dose_mg * 100
        if off > pct.value:
            out.append(
                DoseFinding(
                    "dose_differs_from_plan",
                    DoseVerdict.NEEDS_REASON,
                    "dose_reason",
                    dose_mg,
                    f"Dose {fmt_number(dose_mg)} mg is {fmt_number(round(off, 1))} % from the "
                    f"planned {fmt_number(planned_dose_mg)} mg (more than {pct}): write the "
                    "reason in dose_reason.",
                    pct.source,
                )
            )
    return DoseCheck(dose_mg, tuple(out), reason)


def _fixed(
    dose: FixedLabelDose, mg: float, age: int | None, first: bool | None
) -> list[DoseFinding]:
    older_age = dose.older_adult_age_years
    src = dose.options_mg.source

    def allowed(older: bool, is_first: bool) -> tuple[float, ...]:
        if is_first:
            return ((dose.first_dose_mg_older if older else dose.first_dose_mg).value,)
        return (dose.options_mg_older if older else dose.options_mg).values

    ages = [age >= older_age.value] if age is not None else [False, True]
    firsts = [first] if first is not None else [True, False]
    verdicts = {mg in allowed(o, f) for o in ages for f in firsts}
    if verdicts == {True}:
        return []
    if verdicts == {False}:
        who = "" if age is None else (f" at {age} years")
        day = "" if first is None else (" on day 1 (the first dose)" if first else " after day 1")
        options = sorted({x for o in ages for f in firsts for x in allowed(o, f)})
        return [
            DoseFinding(
                "esketamine_label_dose",
                DoseVerdict.REFUSED,
                "dose_mg",
                mg,
                f"Esketamine {fmt_number(mg)} mg is not a label dose{who}{day}: the label allows "
                f"{', '.join(fmt_number(x) + ' mg' for x in options)}. Record the dose actually "
                "given from those devices.",
                f"{src}; first dose: {dose.first_dose_mg.source}",
            )
        ]
    needed = [n for n, v in (("patient_age_years", age), ("first_dose", first)) if v is None]
    return [
        DoseFinding(
            "esketamine_label_dose_unchecked",
            DoseVerdict.UNCHECKED,
            needed[0],
            mg,
            f"Esketamine {fmt_number(mg)} mg is a label dose only for some ages or days: record "
            f"{' and '.join(needed)} so it can be checked.",
            src,
        )
    ]


def _weight(
    dose: WeightBasedDose, mg: float, weight: float | None, p: Protocol
) -> list[DoseFinding]:
    if weight is None:
        return [
            DoseFinding(
                "weight_missing",
                DoseVerdict.UNCHECKED,
                "weight_kg",
                None,
                "weight_kg: the dose is weight-based; record the patient's weight so the mg/kg "
                "can be checked.",
                dose.mg_per_kg.source,
            )
        ]
    out: list[DoseFinding] = []
    review = p.courses.weight_review_above_kg
    if review is not None and weight > review.value:
        out.append(
            DoseFinding(
                "weight_above_review_line",
                DoseVerdict.REVIEW,
                "weight_kg",
                weight,
                f"Weight {fmt_number(weight)} kg is above {review}: clinician review of the "
                "weight-based dose (consider a cap).",
                review.source,
            )
        )
    per_kg = mg / weight
    half_step = dose.rounding_mg.value / 2
    lo_mg = dose.min_mg_per_kg.value * weight - half_step
    hi_mg = dose.max_mg_per_kg.value * weight + half_step
    choice = dose.clinician_choice_max_mg_per_kg
    choice_mg = None if choice is None else choice.value * weight + half_step
    text = f"{fmt_number(mg)} mg for {fmt_number(weight)} kg = {fmt_number(round(per_kg, 3))} mg/kg"
    rng = f"{fmt_number(dose.min_mg_per_kg.value)}–{fmt_number(dose.max_mg_per_kg.value)} mg/kg"
    if dose.max_mg is not None and mg > dose.max_mg.value:
        out.append(
            DoseFinding(
                "dose_above_cap",
                DoseVerdict.REFUSED,
                "dose_mg",
                mg,
                f"{fmt_number(mg)} mg is above the protocol's cap of {dose.max_mg}: record the "
                "dose actually given.",
                dose.max_mg.source,
            )
        )
    elif lo_mg <= mg <= hi_mg:
        pass
    elif mg > hi_mg and choice is not None and choice_mg is not None and mg <= choice_mg:
        out.append(
            DoseFinding(
                "dose_clinician_choice",
                DoseVerdict.NEEDS_REASON,
                "dose_reason",
                mg,
                f"{text}: above the protocol range {rng}, within the clinician's choice up to "
                f"{fmt_number(choice.value)} mg/kg; write the reason in dose_reason.",
                choice.source,
            )
        )
    else:
        allowed_hi = dose.max_mg_per_kg.value if choice is None else choice.value
        out.append(
            DoseFinding(
                "dose_outside_range",
                DoseVerdict.REFUSED,
                "dose_mg",
                mg,
                f"{text}: outside what the protocol allows "
                f"({fmt_number(dose.min_mg_per_kg.value)}–{fmt_number(allowed_hi)} mg/kg, "
                f"{fmt_number(round(dose.min_mg_per_kg.value * weight, 1))}–"
                f"{fmt_number(round(allowed_hi * weight, 1))} mg at this weight). Check the dose "
                "and the weight.",
                dose.max_mg_per_kg.source if mg > hi_mg else dose.min_mg_per_kg.source,
            )
        )
    return out
