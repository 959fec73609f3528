"""The session form's own widgets and the readings of their text.

:class:`Choice` (a dropdown with a visible "not answered" option), :class:`VitalsRow`
(one reading's boxes), and the helpers that read widget text: empty is unknown (None),
never 0; a time is ``HH:MM``; a bad number names its field and the fix.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Sequence
from typing import Any

import ipywidgets as w

from kaptools.errors import InvalidInputError, KaptoolsError
from kaptools.sessions import VitalsFlag, VitalSigns, VitalsSlot, VitalsTimepoint
from kaptools.ui.common import escape
from kaptools.vocabulary import NO_ANSWER

__all__ = [
    "POINT_LABELS",
    "UNSET",
    "YES_NO",
    "Choice",
    "VitalsRow",
    "blank",
    "flags_html",
    "int_or_none",
    "parse_time",
    "reading",
    "text_box",
]

UNSET = NO_ANSWER
"""The value of a Choice's "not answered" option (:data:`kaptools.vocabulary.NO_ANSWER`)."""

YES_NO = [("— not answered —", None), ("yes", True), ("no", False)]

_TIME_RE = re.compile(r"^([01]?\d|2[0-3]):([0-5]\d)$")

POINT_LABELS = {
    VitalsTimepoint.PRE_DOSE: "Pre-dose",
    VitalsTimepoint.DURING: "During infusion",
    VitalsTimepoint.POST_DOSE: "Post-dose check",
    VitalsTimepoint.PRE_DISCHARGE: "Before discharge",
    VitalsTimepoint.OTHER: "Other reading",
}

_VITAL_FIELDS = {
    "minutes_after_dose": "minutes after dosing",
    "systolic": "systolic",
    "diastolic": "diastolic",
    "heart_rate": "heart rate",
    "spo2": "SpO2",
    "respiratory_rate": "respiratory rate",
}


class Choice(w.Dropdown):
    """A dropdown with a visible "not answered" option; ``.answer`` reads it as None."""

    def __init__(self, options: Sequence[tuple[str, Any]], **kwargs: Any):
        super().__init__(
            options=[(label, UNSET if v is None else v) for label, v in options], **kwargs
        )

    @property
    def answer(self) -> Any:
        return None if isinstance(self.value, str) and self.value == UNSET else self.value

    @answer.setter
    def answer(self, value: Any) -> None:
        self.value = UNSET if value is None else value


def text_box(description: str, cls: str, width: str = "90px", **kw: Any) -> w.Text:
    """A text box sent on Enter or leaving it (not on every key), with a CSS class."""
    t = w.Text(
        description=description,
        continuous_update=False,
        layout=w.Layout(width=width),
        style={"description_width": "initial"},
        **kw,
    )
    t.add_class(cls)
    return t


def blank(value: str | None) -> str | None:
    """Widget text → None when empty (unknown is never 0), else the stripped text."""
    if value is None:
        return None
    value = value.strip()
    return value or None


def parse_time(value: str | None, field: str) -> dt.time | None:
    """``HH:MM`` (24-hour) → a time; empty → None; anything else names the field and the fix."""
    text = blank(value)
    if text is None:
        return None
    m = _TIME_RE.match(text)
    if m is None:
        msg = f"{field}: {text!r} is not a time; enter HH:MM on the 24-hour clock, e.g. 09:30"
        raise InvalidInputError(msg)
    return dt.time(int(m.group(1)), int(m.group(2)))


def int_or_none(value: str | None, field: str) -> int | None:
    """Widget text → a whole number, None when empty; anything else names the field."""
    text = blank(value)
    if text is None:
        return None
    try:
        return int(text)
    except ValueError:
        msg = f"{field}: {text!r} is not a whole number; enter digits only"
        raise InvalidInputError(msg) from None


def reading(row: dict[str, Any]) -> VitalSigns:
    """A vitals row's values as VitalSigns (numbers read as whole numbers, for live flags);
    InvalidInputError / ValueError naming the field when one cannot be read."""
    out = dict(row)
    for name, label in _VITAL_FIELDS.items():
        out[name] = int_or_none(row[name], label)
    return VitalSigns(**out)


class VitalsRow:
    """One reading: time point, minutes after dosing, BP, heart rate, SpO2, breathing rate."""

    def __init__(self, slot: VitalsSlot):
        self.point = point = slot.timepoint
        minutes = slot.minutes_after_dose
        self.label = w.HTML(f"<b>{escape(POINT_LABELS[point])}</b>", layout=w.Layout(width="130px"))
        self.minutes = text_box(
            "min", "kap-v-minutes", "80px", value="" if minutes is None else str(minutes)
        )
        self.systolic = text_box("BP", "kap-v-sys", "85px", placeholder="sys")
        self.diastolic = text_box("/", "kap-v-dia", "65px", placeholder="dia")
        self.heart_rate = text_box("HR", "kap-v-hr", "80px")
        self.spo2 = text_box("SpO2 %", "kap-v-spo2", "95px")
        self.respiratory_rate = text_box("RR", "kap-v-rr", "75px")
        self.box = w.HBox([self.label, *self.inputs])
        self.box.add_class("kap-vitals-row")
        self.box.add_class(f"kap-vitals-{point.value.replace('_', '-')}")
        if slot.reading is not None:
            self.fill(slot.reading)

    @property
    def inputs(self) -> tuple[w.Text, ...]:
        return (
            self.minutes,
            self.systolic,
            self.diastolic,
            self.heart_rate,
            self.spo2,
            self.respiratory_rate,
        )

    def measured(self) -> bool:
        return any(blank(t.value) for t in self.inputs[1:])

    def as_dict(self) -> dict[str, Any]:
        return {
            "timepoint": self.point.value,
            "minutes_after_dose": blank(self.minutes.value),
            "systolic": blank(self.systolic.value),
            "diastolic": blank(self.diastolic.value),
            "heart_rate": blank(self.heart_rate.value),
            "spo2": blank(self.spo2.value),
            "respiratory_rate": blank(self.respiratory_rate.value),
        }

    def reading(self) -> VitalSigns | None:
        """The row as VitalSigns, or None when nothing is measured or it cannot be read."""
        if not self.measured():
            return None
        try:
            return reading(self.as_dict())
        except (KaptoolsError, ValueError):
            return None

    def fill(self, v: VitalSigns) -> None:
        def s(x: int | None) -> str:
            return "" if x is None else str(x)

        self.minutes.value = s(v.minutes_after_dose)
        self.systolic.value = s(v.systolic)
        self.diastolic.value = s(v.diastolic)
        self.heart_rate.value = s(v.heart_rate)
        self.spo2.value = s(v.spo2)
        self.respiratory_rate.value = s(v.respiratory_rate)

    def mark(self, flags: Sequence[VitalsFlag]) -> None:
        """Highlight the row when a flag points at it (review: amber; flag: red)."""
        mine = [
            f
            for f in flags
            if f.timepoint is self.point
            and (
                f.minutes_after_dose is None
                or str(f.minutes_after_dose) == blank(self.minutes.value)
            )
        ]
        for cls in ("kap-vitals-flagged", "kap-vitals-review"):
            self.box.remove_class(cls)
        if any(f.level.value == "flag" for f in mine):
            self.box.add_class("kap-vitals-flagged")
        elif mine:
            self.box.add_class("kap-vitals-review")


def flags_html(flags: Sequence[VitalsFlag]) -> str:
    """The protocol's flags, each with its level, message and source (text escaped)."""
    if not flags:
        return "<p class='kap-muted kap-no-flags'>No flags on the readings entered.</p>"
    rows = []
    for f in flags:
        level = escape(f.level.value)
        title = "Flagged" if f.level.value == "flag" else "For clinician review"
        rows.append(
            f"<div class='kap-vitals-flag kap-flag-{level}' role='status'><b>{title}:</b> "
            f"{escape(f.message)} <span class='kap-muted'>({escape(f.source)})</span></div>"
        )
    return "".join(rows)
