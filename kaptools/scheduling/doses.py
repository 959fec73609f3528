"""Doses computed from the protocol, with the arithmetic shown, for clinician confirmation.

Weight-based routes (IV and IM racemic ketamine): body weight × the protocol's
mg/kg, rounded to the protocol's step, then capped if the protocol sets a cap —
each step written out (``70 kg × 0.5 mg/kg = 35 mg``). Esketamine: fixed doses
from the label — the day-1 dose by age, later doses from the label's options,
reached from the day-1 dose in the label's 28-mg steps, counted in devices.

Every :class:`DoseCalculation` says "for clinician confirmation": kaptools
proposes; the prescriber decides.

References:
    kaptools/sources.toml §3.1 (IV 0.5 mg/kg over 40 min), §3.2 (IM), §3.4 and §2.1
    (esketamine day-1 56/28 mg, 28-mg steps, 28 mg per device).
"""

from __future__ import annotations

import enum
import math
from dataclasses import dataclass
from decimal import ROUND_FLOOR, ROUND_HALF_UP, Decimal
from typing import Any, TypeGuard

from kaptools.arguments import checks_itself
from kaptools.errors import IncompleteInputError, InvalidInputError
from kaptools.printer import escape
from kaptools.protocol import (
    FixedLabelDose,
    Protocol,
    RoundingMode,
    RouteCourse,
    WeightBasedDose,
    default_protocol,
)
from kaptools.validation import shown
from kaptools.vocabulary import Route

__all__ = [
    "CLINICIAN_CONFIRMATION",
    "DoseBasis",
    "DoseCalculation",
    "DoseSeries",
    "calculate_dose",
    "check_age",
    "check_weight",
    "dose_series",
]

CLINICIAN_CONFIRMATION = "for clinician confirmation"
"""The words every proposed dose carries."""


class DoseBasis(enum.StrEnum):
    """How a dose is worked out (kaptools/sources.toml §3.1, §3.2, §3.4)."""

    WEIGHT = "weight"
    """Body weight × mg/kg (racemic ketamine IV and IM) [3.1, 3.2]."""
    FIXED = "fixed"
    """A fixed label dose in whole devices (esketamine nasal spray) [2.1, 3.4]."""


def fmt_number(x: float | Decimal) -> str:
    """``35`` for 35.0, ``36.15`` for 36.150: no trailing zeros, no exponent."""
    if isinstance(x, int) or (isinstance(x, float) and x.is_integer() and abs(x) < 1e15):
        return str(int(x))
    return format(Decimal(str(x)).normalize(), "f")


@dataclass(frozen=True, slots=True)
class DoseCalculation:
    """A proposed dose and how it was reached. Always for clinician confirmation."""

    route: Route
    basis: DoseBasis
    mg: float
    arithmetic: str
    """The working, e.g. ``"70 kg × 0.5 mg/kg = 35 mg"``."""
    source: str
    weight_kg: float | None = None
    mg_per_kg: float | None = None
    devices: int | None = None
    device_mg: float | None = None
    options_mg: tuple[float, ...] = ()
    """Doses the label allows at this point (fixed-dose routes)."""
    rounded: bool = False
    capped: bool = False
    confirmation: str = CLINICIAN_CONFIRMATION

    def __post_init__(self) -> None:
        if not (isinstance(self.mg, int | float) and math.isfinite(self.mg) and self.mg > 0):
            msg = f"dose mg: must be a finite number above 0 (got {self.mg!r})"
            raise InvalidInputError(msg)
        if self.confirmation != CLINICIAN_CONFIRMATION:
            msg = (
                f"dose confirmation: every proposed dose is {CLINICIAN_CONFIRMATION!r} "
                f"(got {self.confirmation!r}); leave the default"
            )
            raise InvalidInputError(msg)
        if self.devices is not None and self.devices < 1:
            msg = f"dose devices: must be 1 or more (got {self.devices!r})"
            raise InvalidInputError(msg)

    @property
    def mg_text(self) -> str:
        return f"{fmt_number(self.mg)} mg"

    @property
    def summary(self) -> str:
        return f"{self.arithmetic}, {self.confirmation}"

    def _repr_html_(self) -> str:
        return (
            f"<span class='kap-dose'><strong>{escape(self.mg_text)}</strong> "
            f"<span class='kap-dose-arithmetic'>{escape(self.arithmetic)}</span> "
            f"<em>{escape(self.confirmation)}</em></span>"
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "route": self.route.value,
            "basis": self.basis.value,
            "mg": self.mg,
            "arithmetic": self.arithmetic,
            "source": self.source,
            "weight_kg": self.weight_kg,
            "mg_per_kg": self.mg_per_kg,
            "devices": self.devices,
            "device_mg": self.device_mg,
            "options_mg": list(self.options_mg),
            "rounded": self.rounded,
            "capped": self.capped,
            "confirmation": self.confirmation,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> DoseCalculation:
        return cls(
            route=Route(data["route"]),
            basis=DoseBasis(data["basis"]),
            mg=float(data["mg"]),
            arithmetic=str(data["arithmetic"]),
            source=str(data["source"]),
            weight_kg=data.get("weight_kg"),
            mg_per_kg=data.get("mg_per_kg"),
            devices=data.get("devices"),
            device_mg=data.get("device_mg"),
            options_mg=tuple(float(x) for x in data.get("options_mg") or ()),
            rounded=bool(data.get("rounded", False)),
            capped=bool(data.get("capped", False)),
            confirmation=str(data.get("confirmation", CLINICIAN_CONFIRMATION)),
        )


_NUMBER_MAX_ABS = 1e15
"""Larger magnitudes are refused before any arithmetic (an int of 400 digits has no float)."""


def _is_number(x: object) -> TypeGuard[int | float | Decimal]:
    if isinstance(x, bool):
        return False
    if isinstance(x, int):
        return abs(x) <= _NUMBER_MAX_ABS
    if not isinstance(x, float | Decimal):
        return False
    try:
        return bool(math.isfinite(x) and abs(float(x)) <= _NUMBER_MAX_ABS)
    except (OverflowError, ArithmeticError):
        return False


def check_weight(weight_kg: object, protocol: Protocol) -> float:
    """The weight as a float, within the protocol's plausibility range, or an error."""
    if weight_kg is None:
        msg = (
            "weight_kg: a weight-based dose needs the patient's weight; record it "
            "(kg) before planning"
        )
        raise IncompleteInputError(msg, missing=("weight_kg",))
    lo, hi = protocol.courses.patient_weight_min_kg, protocol.courses.patient_weight_max_kg
    if not _is_number(weight_kg) or not lo.value <= float(weight_kg) <= hi.value:
        msg = (
            f"weight_kg: must be a number from {fmt_number(lo.value)} to "
            f"{fmt_number(hi.value)} {lo.unit} (got {shown(weight_kg)}); check the entry "
            f"(source: {lo.source})"
        )
        raise InvalidInputError(msg)
    return float(weight_kg)


_AGE_YEARS_MAX = 130
"""Data-entry sanity bound for an age in years (not a clinical rule)."""


def check_age(age: object, *, required: bool) -> int | None:
    """The age as an int (0–130), ``None`` when unknown and not required, or an error."""
    if age is None:
        if required:
            msg = "age: the esketamine day-1 dose depends on age; record the patient's age"
            raise IncompleteInputError(msg, missing=("age",))
        return None
    if isinstance(age, bool) or not isinstance(age, int) or not 0 <= age <= _AGE_YEARS_MAX:
        msg = (
            f"age: must be whole years from 0 to {_AGE_YEARS_MAX} (got {shown(age)}); check "
            f"the entry"
        )
        raise InvalidInputError(msg)
    return age


def _weight_dose(
    route: Route,
    course: RouteCourse,
    rule: WeightBasedDose,
    weight_kg: float,
    mg_per_kg: float | None,
) -> DoseCalculation:
    rate = rule.mg_per_kg.value if mg_per_kg is None else mg_per_kg
    lo, hi = rule.min_mg_per_kg, rule.max_mg_per_kg
    if not _is_number(rate) or not lo.value <= float(rate) <= hi.value:
        msg = (
            f"dose_mg_per_kg: must be from {fmt_number(lo.value)} to {fmt_number(hi.value)} "
            f"mg/kg for {course.label} (got {rate!r}); choose a dose in the protocol's range "
            f"(source: {lo.source}; {hi.source})"
        )
        raise InvalidInputError(msg)
    w, r = Decimal(str(weight_kg)), Decimal(str(rate))
    raw = w * r
    step = Decimal(str(rule.rounding_mg.value))
    mode = ROUND_HALF_UP if rule.rounding is RoundingMode.NEAREST else ROUND_FLOOR
    rounded = (raw / step).quantize(Decimal(1), rounding=mode) * step
    text = f"{fmt_number(w)} kg × {fmt_number(r)} mg/kg = {fmt_number(raw)} mg"
    if rounded != raw:
        how = "to the nearest" if rule.rounding is RoundingMode.NEAREST else "down to a multiple of"
        text += f", rounded {how} {fmt_number(step)} mg: {fmt_number(rounded)} mg"
    if rounded <= 0:
        msg = (
            f"dose: {text} leaves no dose to give; check weight_kg ({weight_kg!r}) and the "
            f"protocol's rounding_mg ({fmt_number(step)} mg)"
        )
        raise InvalidInputError(msg)
    final, capped = rounded, False
    if rule.max_mg is not None and rounded > Decimal(str(rule.max_mg.value)):
        final, capped = Decimal(str(rule.max_mg.value)), True
        text += f"; capped at the protocol maximum of {fmt_number(final)} mg"
    source = (
        rule.mg_per_kg.source
        if mg_per_kg is None
        else "clinician-chosen dose within the protocol's range"
    )
    return DoseCalculation(
        route=route,
        basis=DoseBasis.WEIGHT,
        mg=float(final),
        arithmetic=text,
        source=source,
        weight_kg=float(weight_kg),
        mg_per_kg=float(rate),
        rounded=rounded != raw,
        capped=capped,
    )


def _fixed_dose(
    route: Route,
    rule: FixedLabelDose,
    age: int,
    dose_number: int,
    later_mg: float | None,
    first_mg: float | None = None,
) -> DoseCalculation:
    older = age >= rule.older_adult_age_years.value
    group = (
        f"{fmt_number(rule.older_adult_age_years.value)} or over"
        if older
        else f"under {fmt_number(rule.older_adult_age_years.value)}"
    )
    first = rule.first_dose_mg_older if older else rule.first_dose_mg
    options = rule.options_mg_older if older else rule.options_mg
    device, step = rule.device_mg.value, rule.step_mg.value
    if later_mg is not None and (not _is_number(later_mg) or float(later_mg) not in options.values):
        allowed = " or ".join(fmt_number(v) for v in options.values)
        msg = (
            f"later_dose_mg: the label allows {allowed} mg after day 1 for patients {group} "
            f"(got {later_mg!r}); choose one of those (source: {options.source})"
        )
        raise InvalidInputError(msg)
    first_value, first_source = first.value, first.source
    if first_mg is not None:
        if not _is_number(first_mg) or float(first_mg) not in options.values:
            allowed = " or ".join(fmt_number(v) for v in options.values)
            msg = (
                f"first_dose_mg: a schedule's day-1 dose must be one of the label's doses for "
                f"patients {group}, {allowed} mg (got {first_mg!r}); source: {options.source}"
            )
            raise InvalidInputError(msg)
        first_value = float(first_mg)
        first_source = "the course template's day-1 dose (label schedule)"
    if dose_number == 1:
        why = f"day-1 dose, patient {group}" + (
            ", as the course template sets" if first_mg is not None else ""
        )
        mg, source = first_value, first_source
    else:
        target = (
            float(later_mg)
            if later_mg is not None
            else (first_value if first_value in options.values else options.values[0])
        )
        # From the day-1 dose, change one label step per session until the target is reached.
        moved = step * (dose_number - 1)
        mg = (
            min(target, first_value + moved)
            if first_value < target
            else max(target, first_value - moved)
        )
        if mg not in options.values:
            mg = min(options.values, key=lambda v: (abs(v - mg), v))
        allowed = ", ".join(fmt_number(v) for v in options.values)
        why = (
            f"label options {allowed} mg for patients {group}, "
            f"changed in {fmt_number(step)}-mg steps"
        )
        if mg != target:
            why += f"; stepping towards {fmt_number(target)} mg"
        source = options.source
    devices = int(mg // device)
    text = (
        f"{fmt_number(mg)} mg = {devices} device{'s' if devices != 1 else ''} × "
        f"{fmt_number(device)} mg ({why})"
    )
    return DoseCalculation(
        route=route,
        basis=DoseBasis.FIXED,
        mg=float(mg),
        arithmetic=text,
        source=source,
        devices=devices,
        device_mg=float(device),
        options_mg=(float(first_value),) if dose_number == 1 else tuple(options.values),
    )


_DOSES: dict[tuple[object, ...], DoseCalculation] = {}
_EXACT: dict[tuple[object, ...], DoseCalculation] = {}
_RULES: dict[tuple[str, object], WeightBasedDose | FixedLabelDose] = {}
_DOSES_MAX = 4096


def _memo_key(
    protocol: Protocol,
    route: object,
    dose_number: object,
    weight_kg: object,
    age: object,
    dose_mg_per_kg: object,
    later_dose_mg: object,
    first_dose_mg: object,
) -> tuple[object, ...] | None:
    """A key naming the result: inputs a route's rule does not use (and that need no
    check) are left out, so every plan of a kind shares one calculation. None: do not
    keep (a bool anywhere, an unhashable value, an unknown route)."""
    args = (route, dose_number, weight_kg, age, dose_mg_per_kg, later_dose_mg, first_dose_mg)
    if bool in map(type, args):
        return None
    sha = protocol.info.sha256
    try:
        rule = _RULES[sha, route]
    except KeyError:
        try:
            rule = _RULES[sha, route] = protocol.courses.route(route).dose  # type: ignore[arg-type]
        except InvalidInputError:
            return None
    except TypeError:
        return None
    valid_age = type(age) is int and 0 <= age <= _AGE_YEARS_MAX
    valid_number = type(dose_number) is int and dose_number >= 1
    if isinstance(rule, WeightBasedDose):
        # Every dose of a weight-based course is the same; age is only checked.
        key: tuple[object, ...] = (
            1 if valid_number else dose_number,
            weight_kg,
            None if age is None or valid_age else age,
            dose_mg_per_kg,
            later_dose_mg,
            first_dose_mg,
        )
    else:
        # A fixed dose depends on the age group only; weight is not used.
        group = (age >= rule.older_adult_age_years.value) if valid_age else age  # type: ignore[operator]
        # Past the steps from the day-1 dose to the target, every later dose is the same.
        doses = (*rule.options_mg.values, *rule.options_mg_older.values, rule.first_dose_mg.value)
        steps = int((max(doses) - min(doses)) // rule.step_mg.value) + 2
        number = (
            min(dose_number, steps) if type(dose_number) is int and valid_number else dose_number
        )
        key = (number, None, ("group", group), dose_mg_per_kg, later_dose_mg, first_dose_mg)
    key = (sha, str(route), *key)
    try:
        hash(key)
    except TypeError:
        return None
    return key


# weight_kg: its own check gives the protocol's plausible range
@checks_itself("weight_kg")
def calculate_dose(
    route: Route | str,
    *,
    dose_number: int = 1,
    weight_kg: float | None = None,
    age: int | None = None,
    dose_mg_per_kg: float | None = None,
    later_dose_mg: float | None = None,
    protocol: Protocol | None = None,
    first_dose_mg: float | None = None,
) -> DoseCalculation:
    """Propose dose ``dose_number`` of a course on ``route``, with the arithmetic shown.

    The same inputs under the same protocol content give the same (frozen) result,
    so results are kept and handed back (the planner asks for every dose of every
    plan).

    Args:
        route: the route.
        dose_number: 1 for the first dose of the course (esketamine day 1).
        weight_kg: body weight (needed for weight-based routes).
        age: age in years (needed for esketamine: the day-1 dose depends on it).
        dose_mg_per_kg: a clinician's choice within the protocol's mg/kg range.
        later_dose_mg: esketamine dose aimed at after day 1 (one of the label's options).
        first_dose_mg: a course template's esketamine day-1 dose (e.g. the label's MDSI
            schedule: 84 mg), one of the label's options for the patient's age.
        protocol: the protocol (default: the shipped one).

    Returns:
        The proposed dose, marked for clinician confirmation.

    Raises:
        IncompleteInputError: the weight (weight-based) or age (esketamine) is missing.
        InvalidInputError: a value outside the protocol's range.

    Examples:
        >>> calculate_dose("iv_ketamine", weight_kg=70).arithmetic
        '70 kg × 0.5 mg/kg = 35 mg'
        >>> calculate_dose("esketamine_nasal", age=70).mg
        28.0
    """
    protocol = protocol or default_protocol()
    # Fast path: these exact arguments (with their types, so 1, 1.0 and True differ) were
    # answered before under this protocol content.
    args = (route, dose_number, weight_kg, age, dose_mg_per_kg, later_dose_mg, first_dose_mg)
    exact: tuple[object, ...] = (protocol.info.sha256, *args, *map(type, args))
    keep = True
    try:
        found = _EXACT.get(exact)
    except TypeError:  # an unhashable argument: computed (and refused) below
        found, keep = None, False
    if found is not None:
        return found
    key = _memo_key(protocol, *args)
    found = _DOSES.get(key) if key is not None else None
    if found is None:
        found = _calculate_dose(protocol, *args)
        if key is not None:
            if len(_DOSES) >= _DOSES_MAX:
                _DOSES.clear()
            _DOSES[key] = found
    if key is not None and keep:
        if len(_EXACT) >= _DOSES_MAX:
            _EXACT.clear()
        _EXACT[exact] = found
    return found


class DoseSeries(dict[int, DoseCalculation]):
    """Every dose of a course by number (``series[n]``), for one set of dose inputs.

    A missing number is worked out by :func:`calculate_dose` on first look-up (its
    errors propagate) and kept, so the planner and the checker, which ask for every dose
    of every plan, look most of them up. Get one with :func:`dose_series`.
    """

    __slots__ = ("_args",)

    def __init__(self, args: dict[str, Any]) -> None:
        super().__init__()
        self._args = args

    def __missing__(self, number: int) -> DoseCalculation:
        found = calculate_dose(dose_number=number, **self._args)
        if len(self) < _SERIES_DOSES_MAX:
            self[number] = found
        return found

    def __reduce__(self) -> tuple[Any, ...]:
        return (DoseSeries, (self._args,))


_SERIES: dict[tuple[object, ...], DoseSeries] = {}
_SERIES_MAX = 1024
_SERIES_DOSES_MAX = 512
"""Bounds on what is kept (a longer course's later doses are worked out each time)."""


def dose_series(
    route: Route | str,
    *,
    weight_kg: float | None,
    age: int | None,
    dose_mg_per_kg: float | None,
    later_dose_mg: float | None,
    first_dose_mg: float | None,
    protocol: Protocol,
) -> DoseSeries:
    """The :class:`DoseSeries` of these dose inputs (kept per protocol content and inputs;
    the exact values and their types name it, so 70 and 70.0 kg are kept apart)."""
    args: dict[str, Any] = {
        "route": route,
        "weight_kg": weight_kg,
        "age": age,
        "dose_mg_per_kg": dose_mg_per_kg,
        "later_dose_mg": later_dose_mg,
        "first_dose_mg": first_dose_mg,
        "protocol": protocol,
    }
    key = (
        protocol.info.sha256,
        route,
        type(route),
        weight_kg,
        type(weight_kg),
        age,
        type(age),
        dose_mg_per_kg,
        type(dose_mg_per_kg),
        later_dose_mg,
        type(later_dose_mg),
        first_dose_mg,
        type(first_dose_mg),
    )
    try:
        found = _SERIES.get(key)
    except TypeError:  # an unhashable input: a series of its own (its doses are refused)
        return DoseSeries(args)
    if found is None:
        if len(_SERIES) >= _SERIES_MAX:
            _SERIES.clear()
        found = _SERIES[key] = DoseSeries(args)
    return found


def _calculate_dose(
    protocol: Protocol,
    route: Route | str,
    dose_number: int,
    weight_kg: float | None,
    age: int | None,
    dose_mg_per_kg: float | None,
    later_dose_mg: float | None,
    first_dose_mg: float | None,
) -> DoseCalculation:
    """:func:`calculate_dose`, worked out afresh (nothing kept); the arguments in the
    order of its memo key."""
    course = protocol.courses.route(route)
    key = Route(route)
    if isinstance(dose_number, bool) or not isinstance(dose_number, int) or dose_number < 1:
        msg = f"dose_number: must be a whole number from 1 (got {dose_number!r})"
        raise InvalidInputError(msg)
    rule = course.dose
    if isinstance(rule, WeightBasedDose):
        if later_dose_mg is not None or first_dose_mg is not None:
            msg = (
                f"later_dose_mg/first_dose_mg: {course.label} is dosed by weight (got "
                f"{later_dose_mg if later_dose_mg is not None else first_dose_mg!r}); "
                f"use dose_mg_per_kg to choose another dose"
            )
            raise InvalidInputError(msg)
        weight = check_weight(weight_kg, protocol)
        check_age(age, required=False)
        return _weight_dose(key, course, rule, weight, dose_mg_per_kg)
    if dose_mg_per_kg is not None:
        msg = (
            f"dose_mg_per_kg: {course.label} has fixed label doses (got {dose_mg_per_kg!r}); "
            f"use later_dose_mg to choose a dose from the label's options"
        )
        raise InvalidInputError(msg)
    years = check_age(age, required=True)
    return _fixed_dose(key, rule, years or 0, dose_number, later_dose_mg, first_dose_mg)
