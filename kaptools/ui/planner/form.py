"""The planner's inputs: route, course, first day, the clinic's and the therapist's calendars.

:class:`PlanControls` owns these widgets and reads them (:meth:`PlanControls.calendar`,
validated by :class:`~kaptools.scheduling.ClinicCalendar`); the values are untrusted
and every bad one is named by the error it raises.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

import holidays
import ipywidgets as w

from kaptools.errors import InvalidInputError
from kaptools.protocol import Protocol
from kaptools.scheduling import ClinicCalendar, CoursePlan, Route, Weekday, named_templates
from kaptools.ui.common import AuditedDownloads, ErrorBox, escape, lock_author
from kaptools.ui.session_form import UNSET, Choice

__all__ = [
    "DEFAULT_COUNTRY",
    "MoveControls",
    "PlanControls",
    "SaveControls",
    "parse_closures",
    "title",
]

DEFAULT_COUNTRY = "US"
"""The public-holiday calendar a new plan starts with (the clinic may choose another)."""

_CLOSURE_RE = re.compile(
    r"^(?P<start>\d{4}-\d{1,2}-\d{1,2})"
    r"(?:\s*(?:to|until|–|—|\.\.)\s*(?P<end>\d{4}-\d{1,2}-\d{1,2}))?"
    r"\s*[:,]?\s*(?P<reason>.*)$"
)
_STYLE = {"description_width": "initial"}


def parse_closures(text: str) -> list[dict[str, str]]:
    """Closure lines (``YYYY-MM-DD [to YYYY-MM-DD] [reason]``) as dicts ClinicCalendar reads.

    Only the layout is read here; the dates and their order are checked by ClinicCalendar.
    """
    out = []
    for n, raw in enumerate((text or "").splitlines(), start=1):
        line = raw.strip()
        if not line:
            continue
        m = _CLOSURE_RE.match(line)
        if m is None:
            msg = (
                f"closures, line {n}: {line[:80]!r} is not a closure; write one per line as "
                "YYYY-MM-DD or YYYY-MM-DD to YYYY-MM-DD, then the reason"
            )
            raise InvalidInputError(msg)
        start = m.group("start")
        out.append(
            {
                "start": start,
                "end": m.group("end") or start,
                "reason": m.group("reason").strip() or "clinic closure",
            }
        )
    return out


def closures_text(cal: ClinicCalendar) -> str:
    """A calendar's closures as the lines :func:`parse_closures` reads."""
    return "\n".join(
        c.start.isoformat()
        + (f" to {c.end.isoformat()}" if c.end != c.start else "")
        + f" {c.reason}"
        for c in cal.closures
    )


def title(text: str) -> w.HTML:
    t = w.HTML(f"<h3>{escape(text)}</h3>")
    t.add_class("kap-section-title")
    return t


def _country_options() -> list[tuple[str, str]]:
    codes = sorted(c for c in holidays.list_supported_countries() if re.fullmatch(r"[A-Z]{2}", c))
    return [("none (no public holidays)", ""), *((c, c) for c in codes)]


def _weekday_style(change: dict[str, Any]) -> None:
    """Open weekdays show as pressed blue buttons, closed ones as plain."""
    button = change["owner"]
    button.button_style = "info" if button.value else ""


def _weekday_buttons(css: str) -> list[w.ToggleButton]:
    buttons = [
        w.ToggleButton(
            description=d.name.title(), value=d < Weekday.SAT, layout=w.Layout(width="56px")
        )
        for d in Weekday
    ]
    for b in buttons:
        b.add_class(css)
        b.observe(_weekday_style, names="value")
        _weekday_style({"owner": b})
    return buttons


def _with_class(widget: Any, css: str) -> Any:
    widget.add_class(css)
    return widget


def _closures_box(description: str, example: str, height: str, css: str) -> w.Textarea:
    """A box of closure lines (:func:`parse_closures` reads them)."""
    box = w.Textarea(
        description=description,
        placeholder=f"one per line: {example}",
        style=_STYLE,
        layout=w.Layout(width="560px", height=height),
    )
    box.add_class(css)
    return box


class PlanControls:
    """The "Plan a course" inputs (``.container`` has the class ``kap-plan-controls``)."""

    def __init__(self, protocol: Protocol, routes: Sequence[Route]):
        self.protocol = protocol
        self.route = _with_class(
            w.Dropdown(description="Route", style=_STYLE, layout=w.Layout(width="360px")),
            "kap-route",
        )
        self.route.options = self._route_options(routes)
        self.course = _with_class(
            w.Dropdown(description="Course", style=_STYLE, layout=w.Layout(width="560px")),
            "kap-course",
        )
        self.course_notes = _with_class(w.HTML(), "kap-course-notes")
        self.course_row = w.VBox([self.course, self.course_notes])
        self.start = _with_class(
            w.DatePicker(description="First session on or after", style=_STYLE), "kap-start-date"
        )
        self.country = _with_class(
            w.Dropdown(
                description="Public holidays of",
                options=_country_options(),
                value=DEFAULT_COUNTRY,
                style=_STYLE,
                layout=w.Layout(width="330px"),
            ),
            "kap-country",
        )
        self.subdivision = _with_class(
            Choice(options=[], description="Region", style=_STYLE, layout=w.Layout(width="220px")),
            "kap-subdivision",
        )
        self.weekdays = _weekday_buttons("kap-weekday")
        self.closures = _closures_box(
            "Clinic closures", "2026-12-24 to 2027-01-01 winter break", "56px", "kap-closures"
        )
        self._build_therapist()
        self.plan_button = _with_class(
            w.Button(description="Plan course", button_style="primary", icon="calendar"),
            "kap-plan-button",
        )
        self.calendar_button = _with_class(
            w.Button(
                description="Re-plan with this calendar",
                icon="refresh",
                layout=w.Layout(width="230px"),
            ),
            "kap-replan-calendar",
        )
        self.plan_error = _with_class(ErrorBox(), "kap-plan-error")
        self.container = _with_class(self._layout(), "kap-plan-controls")
        self.country.observe(self._on_country, names="value")
        self.route.observe(self._offer_courses, names="value")
        self.course.observe(self._show_course_notes, names="value")
        self.video.observe(self._on_video, names="value")
        self._on_video()
        self._on_country()
        self._offer_courses()

    def _build_therapist(self) -> None:
        self.video = _with_class(
            w.Checkbox(
                description="Integration by video on the therapist's calendar",
                value=False,
                indent=False,
                layout=w.Layout(width="360px"),
            ),
            "kap-video",
        )
        self.therapist_days = _weekday_buttons("kap-therapist-weekday")
        self.therapist_closures = _closures_box(
            "Therapist away", "2026-08-03 to 2026-08-14 leave", "40px", "kap-therapist-closures"
        )
        self.therapist_row = w.VBox(
            [
                w.HBox([w.HTML("Therapist works on&nbsp;"), *self.therapist_days]),
                self.therapist_closures,
            ]
        )

    def _layout(self) -> w.VBox:
        return w.VBox(
            [
                title("Plan a course"),
                w.HBox([self.route, self.start]),
                self.course_row,
                w.HBox([self.country, self.subdivision, w.HTML("&nbsp;Open on"), *self.weekdays]),
                self.closures,
                self.video,
                self.therapist_row,
                w.HBox([self.plan_button, self.calendar_button]),
                self.plan_error,
            ]
        )

    # ---- what is offered ----
    def _route_options(self, routes: Sequence[Route]) -> list[tuple[str, str]]:
        return [(self.protocol.courses.route(r).label, r.value) for r in routes]

    def offer_routes(self, routes: Sequence[Route]) -> None:
        """Offer these routes (the screening decides which: offered_routes)."""
        options = self._route_options(routes)
        if list(self.route.options) != options:
            self.route.options = options
        self._offer_courses()

    def _offer_courses(self, _change: Any = None) -> None:
        """Offer the chosen route's own course and the protocol's named templates for it
        (e.g. the esketamine label's MDSI schedule); hidden for a route that has none."""
        route = self.route.value
        named = named_templates(route, self.protocol) if route else ()
        own = f"{self.protocol.courses.route(route).label}: the route's own course" if route else ""
        options = [(own, ""), *((t.label, name) for name, t in named)]
        if list(self.course.options) != options:
            keep = self.course.value if any(v == self.course.value for _, v in options) else ""
            self.course.options = options
            self.course.value = keep
        self.course_row.layout.display = None if named else "none"
        self._show_course_notes()

    def _show_course_notes(self, _change: Any = None) -> None:
        """The chosen named template's label notes and source, as the protocol states them."""
        name = self.course.value
        if not name:
            self.course_notes.value = ""
            return
        t = self.protocol.courses.template(name)
        items = "".join(f"<li>{escape(n)}</li>" for n in t.notes)
        self.course_notes.value = (
            f"<div class='kap-course-note'><ul style='margin:0.2em 0'>{items}</ul>"
            f"<p class='kap-muted'>Source: {escape(t.source)}</p></div>"
        )

    def _on_country(self, change: dict[str, Any] | None = None) -> None:
        code = self.country.value
        subs = holidays.list_supported_countries().get(code, []) if code else []
        self.subdivision.options = [("whole country", UNSET), *((s, s) for s in subs)]
        self.subdivision.answer = None

    def _on_video(self, change: dict[str, Any] | None = None) -> None:
        self.therapist_row.layout.display = None if self.video.value else "none"

    # ---- reading and filling ----
    def calendar(self) -> ClinicCalendar:
        """The clinic calendar from the controls (validated by ClinicCalendar)."""
        return self._calendar(self.weekdays, self.closures.value)

    def therapist_calendar(self) -> ClinicCalendar | None:
        """The therapist's calendar from the controls, when integration by video is chosen."""
        if not self.video.value:
            return None
        return self._calendar(self.therapist_days, self.therapist_closures.value)

    def _calendar(self, days: list[w.ToggleButton], closures: str) -> ClinicCalendar:
        return ClinicCalendar.from_dict(
            {
                "open_weekdays": [d for b, d in zip(days, Weekday, strict=True) if b.value],
                "country": self.country.value or None,
                "subdivision": self.subdivision.answer,
                "closures": parse_closures(closures),
            }
        )

    def show_plan(self, plan: CoursePlan | None, today: Any) -> None:
        """The controls as ``plan`` was made (or a new plan's defaults from ``today``)."""
        if plan is None:
            self.start.value = today
            self.country.value = DEFAULT_COUNTRY
            self.subdivision.answer = None
            _set_days(self.weekdays, [d for d in Weekday if d < Weekday.SAT])
            self.closures.value = ""
            self.video.value = False
            self.course.value = ""
            return
        if any(value == plan.route.value for _, value in self.route.options):
            self.route.value = plan.route.value
        template = plan.options.template or ""
        if any(value == template for _, value in self.course.options):
            self.course.value = template
        self.video.value = plan.therapist_calendar is not None
        if plan.therapist_calendar is not None:
            _set_days(self.therapist_days, plan.therapist_calendar.open_weekdays)
            self.therapist_closures.value = closures_text(plan.therapist_calendar)
        self.start.value = plan.start
        cal = plan.calendar
        self.country.value = cal.country or ""
        self.subdivision.answer = cal.subdivision
        _set_days(self.weekdays, cal.open_weekdays)
        self.closures.value = closures_text(cal)


def _set_days(buttons: list[w.ToggleButton], open_days: Any) -> None:
    for b, d in zip(buttons, Weekday, strict=True):
        b.value = d in open_days


class MoveControls:
    """Move a planned session, or mark a passed one missed (``.container``: ``kap-move-box``)."""

    def __init__(self) -> None:
        self.move_which = _with_class(
            w.Dropdown(description="Move", style=_STYLE, layout=w.Layout(width="430px")),
            "kap-move-which",
        )
        self.move_date = _with_class(w.DatePicker(description="to", style=_STYLE), "kap-move-date")
        self.button = _with_class(
            w.Button(description="Move and re-plan", icon="arrows-h"), "kap-move-session"
        )
        self.miss_which = _with_class(
            w.Dropdown(description="Missed", style=_STYLE, layout=w.Layout(width="430px")),
            "kap-miss-which",
        )
        self.miss_button = _with_class(
            w.Button(description="Mark missed and re-plan", icon="times"), "kap-miss-session"
        )
        self.worsened = _with_class(
            w.Checkbox(
                description="symptoms worsened (may return to the previous dosing frequency)",
                value=False,
                indent=False,
                layout=w.Layout(width="430px"),
            ),
            "kap-worsened",
        )
        self.error = _with_class(ErrorBox(), "kap-replan-error")
        self.miss_row = w.HBox([self.miss_which, self.miss_button, self.worsened])
        self.miss_note = w.HTML(
            "<p class='kap-muted'>A session can be marked missed once its date has passed.</p>"
        )
        self.container = _with_class(
            w.VBox(
                [
                    w.HBox([self.move_which, self.move_date, self.button]),
                    self.miss_row,
                    self.miss_note,
                    self.error,
                ]
            ),
            "kap-move-box",
        )


class SaveControls:
    """Save the plan (a new version, with a reason), acknowledge a deviation, download it."""

    def __init__(self, author: str) -> None:
        self.author = _with_class(
            w.Text(description="Saved by", value=author, style=_STYLE), "kap-plan-author"
        )
        lock_author(self.author)
        self.reason = _with_class(
            w.Text(
                description="Reason for a new version",
                placeholder="(default: what the re-plan changed)",
                style=_STYLE,
                layout=w.Layout(width="520px"),
            ),
            "kap-plan-reason",
        )
        self.ack_reason = _with_class(
            w.Text(
                description="Acknowledge the deviation; reason",
                placeholder="why this plan is right for this patient despite the deviation",
                style=_STYLE,
                layout=w.Layout(width="720px"),
            ),
            "kap-deviation-ack",
        )
        self.button = _with_class(
            w.Button(description="Save plan", button_style="success", icon="save"),
            "kap-save-plan",
        )
        self.error = _with_class(ErrorBox(), "kap-save-message")
        # each download goes through the kernel, which audit-logs it before sending
        self.downloads = _with_class(AuditedDownloads(), "kap-downloads")
        # a stale save (someone saved a newer version of the plan meanwhile): reload it
        # and keep this unsaved plan, the two side by side
        self.reload_button = _with_class(
            w.Button(
                description="Reload the current version",
                icon="refresh",
                button_style="warning",
                layout=w.Layout(width="260px", display="none"),
            ),
            "kap-plan-reload",
        )
        self.reload_notice = _with_class(
            w.HTML(layout=w.Layout(display="none")), "kap-plan-reload-notice"
        )
        self.container = w.VBox(
            [
                w.HBox([self.author, self.reason, self.button]),
                self.ack_reason,
                self.error,
                self.reload_button,
                self.reload_notice,
                self.downloads,
            ]
        )
