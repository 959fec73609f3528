"""The clinic calendar: which days sessions can be booked on.

A day is open when it is one of the clinic's open weekdays, is not a public
holiday of the clinic's country and region, and is not inside a clinic closure.
Public holidays come from the maintained ``holidays`` library (observed days
included), so a calendar is named by country and subdivision
(``ClinicCalendar(country="US", subdivision="CA")``) rather than by a hand-kept
list of dates.
"""

from __future__ import annotations

import datetime as dt
import enum
import functools
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from kaptools.errors import InvalidInputError
from kaptools.printer import escape
from kaptools.validation import check_date_in_range

__all__ = ["ClinicCalendar", "ClosedSpan", "Closure", "Weekday"]


class Weekday(enum.IntEnum):
    """Days of the week, numbered as :meth:`datetime.date.weekday` (Monday = 0)."""

    MON = 0
    TUE = 1
    WED = 2
    THU = 3
    FRI = 4
    SAT = 5
    SUN = 6

    @classmethod
    def parse(cls, value: object) -> Weekday:
        """A weekday from 0–6, a ``Weekday``, or a name ("mon", "Monday")."""
        if isinstance(value, bool):
            value = repr(value)
        if isinstance(value, int):
            if 0 <= value <= 6:
                return cls(value)
        elif isinstance(value, str):
            key = value.strip().upper()[:3]
            if key in cls.__members__:
                return cls[key]
        msg = (
            f"open_weekdays: {value!r} is not a weekday; use 0-6 (Monday = 0) "
            f"or a name such as 'mon'"
        )
        raise InvalidInputError(msg)


_WEEKDAYS_MON_FRI = frozenset(Weekday(d) for d in range(5))
_ONE_DAY = dt.timedelta(days=1)


@dataclass(frozen=True, slots=True)
class Closure:
    """Days the clinic is closed, from ``start`` to ``end`` inclusive, with a reason."""

    start: dt.date
    end: dt.date
    reason: str = "clinic closure"

    def __post_init__(self) -> None:
        for name in ("start", "end"):
            value = getattr(self, name)
            if not isinstance(value, dt.date) or isinstance(value, dt.datetime):
                msg = f"closure {name}: must be a date (got {value!r}); pass datetime.date(...)"
                raise InvalidInputError(msg)
        if self.end < self.start:
            msg = (
                f"closure: end {self.end.isoformat()} is before start "
                f"{self.start.isoformat()}; swap them or fix the dates"
            )
            raise InvalidInputError(msg)
        if not isinstance(self.reason, str) or not self.reason.strip():
            msg = f"closure reason: must be a non-empty text (got {self.reason!r})"
            raise InvalidInputError(msg)

    def __contains__(self, day: object) -> bool:
        return isinstance(day, dt.date) and self.start <= day <= self.end

    @classmethod
    def coerce(cls, value: object) -> Closure:
        """A closure from a ``Closure``, a date, a ``(start, end[, reason])`` tuple or a dict."""
        if isinstance(value, Closure):
            return value
        if isinstance(value, dt.date) and not isinstance(value, dt.datetime):
            return cls(value, value)
        if isinstance(value, Mapping):
            return cls(
                _as_date(value.get("start"), "closure start"),
                _as_date(value.get("end", value.get("start")), "closure end"),
                str(value.get("reason") or "clinic closure"),
            )
        if isinstance(value, tuple | list) and len(value) in (2, 3):
            reason = str(value[2]) if len(value) == 3 else "clinic closure"
            return cls(
                _as_date(value[0], "closure start"), _as_date(value[1], "closure end"), reason
            )
        msg = (
            f"closures: {value!r} is not a closure; give a date, a (start, end) pair "
            f"of dates, or a Closure"
        )
        raise InvalidInputError(msg)


def _as_date(value: object, field_name: str) -> dt.date:
    if isinstance(value, dt.date) and not isinstance(value, dt.datetime):
        return check_date_in_range(field_name, value)
    if isinstance(value, str):
        try:
            day = dt.date.fromisoformat(value)
        except ValueError:
            pass
        else:
            return check_date_in_range(field_name, day)
    msg = f"{field_name}: {value!r} is not a date; give a date or an ISO date text (YYYY-MM-DD)"
    raise InvalidInputError(msg)


@functools.cache
def _supported() -> dict[str, tuple[str, ...]]:
    import holidays  # here: a kernel that plans nothing does without it (~9 MB, issue 14)

    return {k: tuple(v) for k, v in holidays.list_supported_countries().items()}


@functools.lru_cache(maxsize=512)
def _holidays_of_year(country: str, subdivision: str | None, year: int) -> Mapping[dt.date, str]:
    """Public holidays (observed days included) of one year, cached: the library is slow."""
    import holidays

    table = holidays.country_holidays(country, subdiv=subdivision, years=year)
    return dict(table.items())


class _OpenDays(dict[dt.date, bool]):
    """A calendar's answers by day, each worked out once on first look-up (``__missing__``)
    so that a look-up of a day already seen is a plain dict look-up."""

    __slots__ = ("_compute",)

    def __init__(self, compute: Callable[[dt.date], bool]) -> None:
        super().__init__()
        self._compute = compute

    def __missing__(self, day: dt.date) -> bool:
        found = self[day] = self._compute(day)
        return found

    def __reduce__(self) -> tuple[Any, ...]:
        return (_OpenDays, (self._compute,))


@dataclass(frozen=True, slots=True)
class ClosedSpan:
    """A run of days closed by clinic closures or public holidays, with their reasons.

    Days closed only because the clinic does not open on that weekday are not spans.
    """

    first: dt.date
    last: dt.date
    reasons: tuple[str, ...]
    """Each closure's reason or holiday's name, once, in order of first appearance."""


@dataclass(frozen=True, slots=True)
class ClinicCalendar:
    """Open weekdays, public holidays by country and region, and clinic closures.

    Args:
        open_weekdays: days the clinic sees patients (default Monday to Friday).
        country: ISO 3166-1 alpha-2 code for public holidays (``None``: no holidays).
        subdivision: the state, province or nation within ``country`` (e.g. ``"CA"``
            in the US, ``"ENG"`` in GB), as the ``holidays`` library names them.
        closures: clinic closures (single days or inclusive date ranges).

    Examples:
        >>> import datetime as dt
        >>> cal = ClinicCalendar(country="US", subdivision="NY")
        >>> cal.is_open(dt.date(2026, 12, 25))
        False
        >>> cal.closed_reason(dt.date(2026, 12, 25))
        'public holiday: Christmas Day'
    """

    open_weekdays: frozenset[Weekday] = _WEEKDAYS_MON_FRI
    country: str | None = None
    subdivision: str | None = None
    closures: tuple[Closure, ...] = ()
    _closed_days: Mapping[dt.date, str] = field(
        default_factory=dict, init=False, repr=False, compare=False, hash=False
    )
    _open_memo: dict[dt.date, bool] = field(
        default_factory=dict, init=False, repr=False, compare=False, hash=False
    )
    """Days already looked up (the calendar is frozen, so an answer never changes)."""

    def __post_init__(self) -> None:
        raw = self.open_weekdays
        if isinstance(raw, str | bytes) or not isinstance(raw, Iterable):
            msg = (
                f"open_weekdays: must be a collection of weekdays (got {raw!r}); e.g. [0, 1, 2, "
                "3, 4]"
            )
            raise InvalidInputError(msg)
        days = frozenset(Weekday.parse(d) for d in raw)
        if not days:
            msg = "open_weekdays: the clinic must be open on at least one weekday (got none)"
            raise InvalidInputError(msg)
        object.__setattr__(self, "open_weekdays", days)
        country, subdivision = self.country, self.subdivision
        if country is not None:
            if not isinstance(country, str) or country.strip().upper() not in _supported():
                msg = (
                    f"country: {country!r} is not a country the holidays library knows; "
                    f"use an ISO 3166-1 alpha-2 code such as 'US', 'GB', 'CA' or 'AU'"
                )
                raise InvalidInputError(msg)
            country = country.strip().upper()
            object.__setattr__(self, "country", country)
        if subdivision is not None:
            if country is None:
                msg = f"subdivision: {subdivision!r} needs a country; set country as well"
                raise InvalidInputError(msg)
            known = _supported()[country]
            match = next((s for s in known if s.upper() == str(subdivision).strip().upper()), None)
            if match is None:
                msg = (
                    f"subdivision: {subdivision!r} is not a subdivision of {country}; "
                    f"use one of {list(known)}"
                )
                raise InvalidInputError(msg)
            object.__setattr__(self, "subdivision", match)
        if isinstance(self.closures, str | bytes) or not isinstance(self.closures, Iterable):
            msg = f"closures: must be a collection of closures (got {self.closures!r})"
            raise InvalidInputError(msg)
        closures = tuple(sorted((Closure.coerce(c) for c in self.closures), key=_closure_key))
        object.__setattr__(self, "closures", closures)
        closed: dict[dt.date, str] = {}
        for c in closures:
            day = c.start
            while day <= c.end:
                closed.setdefault(day, c.reason)
                day += dt.timedelta(days=1)
        object.__setattr__(self, "_closed_days", closed)
        object.__setattr__(self, "_open_memo", _OpenDays(self._is_open))

    def _closure_or_holiday(self, day: dt.date) -> tuple[str, str] | None:
        """``("clinic closure", reason)`` or ``("public holiday", name)`` for ``day``."""
        reason = self._closed_days.get(day)
        if reason is not None:
            return "clinic closure", reason
        if self.country is not None:
            name = _holidays_of_year(self.country, self.subdivision, day.year).get(day)
            if name is not None:
                return "public holiday", name
        return None

    def closed_spans(self, first: dt.date, last: dt.date) -> tuple[ClosedSpan, ...]:
        """The runs of days from ``first`` to ``last`` closed by a closure or a holiday."""
        spans: list[ClosedSpan] = []
        day = first
        while day <= last:
            found = self._closure_or_holiday(day)
            if found is not None:
                why = found[1]
                if spans and spans[-1].last == day - dt.timedelta(days=1):
                    prev = spans[-1]
                    reasons = prev.reasons if why in prev.reasons else (*prev.reasons, why)
                    spans[-1] = ClosedSpan(prev.first, day, reasons)
                else:
                    spans.append(ClosedSpan(day, day, (why,)))
            day += dt.timedelta(days=1)
        return tuple(spans)

    def closed_reason(self, day: dt.date) -> str | None:
        """Why ``day`` is closed, or ``None`` when the clinic is open."""
        found = self._closure_or_holiday(day)
        if found is not None:
            return f"{found[0]}: {found[1]}"
        if day.weekday() not in self.open_weekdays:
            return f"clinic closed on {day.strftime('%A')}s"
        return None

    def is_open(self, day: dt.date) -> bool:
        """Whether sessions can be booked on ``day``."""
        return self._open_memo[day]

    @property
    def open_lookup(self) -> Callable[[dt.date], bool]:
        """:meth:`is_open` as a plain look-up, for loops over many days (the planner's)."""
        return self._open_memo.__getitem__

    def _is_open(self, day: dt.date) -> bool:
        if day.weekday() not in self.open_weekdays or day in self._closed_days:
            return False
        if self.country is None:
            return True
        return day not in _holidays_of_year(self.country, self.subdivision, day.year)

    def next_open(self, day: dt.date, *, horizon_days: int) -> dt.date | None:
        """The first open day on or after ``day``, looking at most ``horizon_days`` ahead."""
        is_open = self._open_memo.__getitem__
        candidate = day
        if is_open(candidate):
            return candidate
        for _ in range(horizon_days):
            candidate += _ONE_DAY
            if is_open(candidate):
                return candidate
        return None

    def with_closures(self, *closures: object) -> ClinicCalendar:
        """A copy with more closures added (anything :meth:`Closure.coerce` takes)."""
        added = tuple(Closure.coerce(c) for c in closures)
        return ClinicCalendar(
            self.open_weekdays, self.country, self.subdivision, (*self.closures, *added)
        )

    @property
    def summary(self) -> str:
        days = ", ".join(d.name.title() for d in sorted(self.open_weekdays))
        where = self.country or "no public holidays"
        if self.subdivision:
            where += f"-{self.subdivision}"
        closures = "; ".join(
            f"{c.start.isoformat()}"
            + (f" to {c.end.isoformat()}" if c.end != c.start else "")
            + f" ({c.reason})"
            for c in self.closures
        )
        return f"Open {days}; holidays: {where}" + (f"; closures: {closures}" if closures else "")

    def _repr_html_(self) -> str:
        return f"<p class='kap-calendar'>{escape(self.summary)}</p>"

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready form (``from_dict`` reads it back)."""
        return {
            "open_weekdays": sorted(int(d) for d in self.open_weekdays),
            "country": self.country,
            "subdivision": self.subdivision,
            "closures": [
                {"start": c.start.isoformat(), "end": c.end.isoformat(), "reason": c.reason}
                for c in self.closures
            ],
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ClinicCalendar:
        """A calendar from ``to_dict`` output or widget values (validated)."""
        if not isinstance(data, Mapping):
            msg = f"calendar: expected a mapping of settings (got {type(data).__name__})"
            raise InvalidInputError(msg)
        unknown = set(data) - {"open_weekdays", "country", "subdivision", "closures"}
        if unknown:
            msg = (
                f"calendar: unknown settings {sorted(unknown)}; use open_weekdays, "
                f"country, subdivision and closures"
            )
            raise InvalidInputError(msg)
        return cls(
            open_weekdays=data.get("open_weekdays", _WEEKDAYS_MON_FRI),
            country=data.get("country") or None,
            subdivision=data.get("subdivision") or None,
            closures=tuple(data.get("closures") or ()),
        )


def _closure_key(c: Closure) -> tuple[dt.date, dt.date, str]:
    return (c.start, c.end, c.reason)
