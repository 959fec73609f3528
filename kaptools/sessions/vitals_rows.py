"""Which recorded reading belongs to which of the protocol's vital-sign rows.

A session form shows one row per reading the protocol asks for
(:func:`~kaptools.sessions.vitals_schedule`) and one spare; a stored session's
readings are put back in those rows here, so every dashboard lays them out alike.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from kaptools.protocol import Protocol
from kaptools.sessions.vitals import VitalSigns, VitalsTimepoint, vitals_schedule

__all__ = ["VitalsSlot", "vitals_slots"]


@dataclass(frozen=True, slots=True)
class VitalsSlot:
    """One row of a session's vital signs: a time point, its minute, the reading if any."""

    timepoint: VitalsTimepoint
    minutes_after_dose: int | None
    """The reading's own minute, or the protocol's when nothing was recorded (None: any)."""
    reading: VitalSigns | None = None


def vitals_slots(
    route: str, readings: Iterable[VitalSigns] = (), protocol: Protocol | None = None
) -> tuple[VitalsSlot, ...]:
    """The rows of a session on ``route``: one per reading the protocol asks for and one
    spare ("other"), each holding the recorded reading that belongs to it, and a row of
    its own for every reading beyond those; in order of minutes after dosing (rows with
    no minute last, otherwise as the protocol lists them).

    A reading belongs to the first free row of its time point; readings during an
    infusion go to the row of their own minute first, else to the first free one.

    Examples:
        >>> [(s.timepoint.value, s.minutes_after_dose) for s in vitals_slots("im_ketamine")]
        [('pre_dose', 0), ('post_dose', 40), ('pre_discharge', None), ('other', None)]
        >>> late = VitalSigns("during", 25, systolic=130, diastolic=80)
        >>> [s.minutes_after_dose for s in vitals_slots("iv_ketamine", [late])][:4]
        [0, 25, 30, 40]
    """
    rows = [*vitals_schedule(route, protocol), (VitalsTimepoint.OTHER, None)]
    left = list(readings)
    slots = []
    for point, minutes in rows:
        match = _belonging(point, minutes, left)
        if match is None:
            slots.append(VitalsSlot(point, minutes))
            continue
        left.remove(match)
        slots.append(VitalsSlot(point, match.minutes_after_dose, match))
    slots.extend(VitalsSlot(v.timepoint, v.minutes_after_dose, v) for v in left)
    return tuple(sorted(slots, key=_order))


def _belonging(
    point: VitalsTimepoint, minutes: int | None, readings: list[VitalSigns]
) -> VitalSigns | None:
    same = [v for v in readings if v.timepoint is point]
    if point is VitalsTimepoint.DURING:
        exact = next((v for v in same if v.minutes_after_dose == minutes), None)
        return exact if exact is not None else next(iter(same), None)
    return next(iter(same), None)


def _order(slot: VitalsSlot) -> float:
    m = slot.minutes_after_dose
    return float("inf") if m is None else float(m)
