"""The clinic calendar: open weekdays, public holidays by country and region, closures."""

from __future__ import annotations

import datetime as dt

import holidays
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kaptools.errors import InvalidInputError
from kaptools.scheduling import ClinicCalendar, Closure, Weekday

REGIONS = [("US", "CA"), ("US", "NY"), ("GB", "ENG"), ("GB", "SCT"), ("CA", "ON"), ("AU", "NSW")]


def test_weekends_are_closed_by_default():
    """With no settings the clinic is open Monday to Friday, with no public holidays."""
    cal = ClinicCalendar()
    assert cal.is_open(dt.date(2026, 3, 2))  # Monday
    assert not cal.is_open(dt.date(2026, 3, 7))  # Saturday
    assert "clinic closed on Saturdays" == cal.closed_reason(dt.date(2026, 3, 7))


def test_public_holiday_is_closed_and_named():
    """A public holiday of the clinic's country is closed, with the holiday's name as reason."""
    cal = ClinicCalendar(country="US", subdivision="NY")
    assert not cal.is_open(dt.date(2026, 12, 25))
    assert "public holiday: Christmas Day" == cal.closed_reason(dt.date(2026, 12, 25))


def test_regional_holiday_depends_on_subdivision():
    """Cesar Chavez Day (31 March) closes a California clinic but not a New York one."""
    day = dt.date(2026, 3, 31)
    assert not ClinicCalendar(country="US", subdivision="CA").is_open(day)
    assert ClinicCalendar(country="US", subdivision="NY").is_open(day)


def test_observed_holiday_is_closed():
    """A holiday falling on a weekend closes its observed weekday (Boxing Day 2026 in England)."""
    cal = ClinicCalendar(country="GB", subdivision="ENG")
    assert not cal.is_open(dt.date(2026, 12, 28))


def test_closure_range_is_inclusive_and_keeps_its_reason():
    """A closure closes every day from start to end inclusive and says why."""
    cal = ClinicCalendar(closures=[(dt.date(2026, 3, 2), dt.date(2026, 3, 4), "staff training")])
    assert [False, False, False, True] == [cal.is_open(dt.date(2026, 3, d)) for d in (2, 3, 4, 5)]
    assert "clinic closure: staff training" == cal.closed_reason(dt.date(2026, 3, 3))


def test_single_date_closure_is_accepted():
    """A bare date is a one-day closure."""
    cal = ClinicCalendar(closures=[dt.date(2026, 3, 3)])
    assert not cal.is_open(dt.date(2026, 3, 3))


def test_weekday_names_are_accepted():
    """Open weekdays may be given by name or number."""
    cal = ClinicCalendar(open_weekdays=["mon", "Wednesday", 4])
    assert frozenset({Weekday.MON, Weekday.WED, Weekday.FRI}) == cal.open_weekdays


@pytest.mark.parametrize(
    ("kwargs", "fragment"),
    [
        ({"country": "XX"}, "ISO 3166-1"),
        ({"country": "US", "subdivision": "ZZ"}, "use one of"),
        ({"subdivision": "CA"}, "needs a country"),
        ({"open_weekdays": []}, "at least one weekday"),
        ({"open_weekdays": ["funday"]}, "not a weekday"),
        ({"open_weekdays": "mon"}, "collection of weekdays"),
        ({"closures": [(dt.date(2026, 3, 5), dt.date(2026, 3, 1))]}, "before start"),
        ({"closures": ["soon"]}, "not a closure"),
    ],
)
def test_bad_settings_are_invalid_input_with_a_fix(kwargs, fragment):
    """Each bad calendar setting is an InvalidInputError that says what to use instead."""
    with pytest.raises(InvalidInputError, match=fragment):
        ClinicCalendar(**kwargs)


def test_closure_needs_dates_not_datetimes():
    """A closure made of datetimes is rejected (days, not times, are closed)."""
    with pytest.raises(InvalidInputError, match="must be a date"):
        Closure(dt.datetime(2026, 3, 1, 9), dt.datetime(2026, 3, 2, 9))


def test_calendar_round_trips_through_dict():
    """to_dict / from_dict give back an equal calendar."""
    cal = ClinicCalendar(
        [0, 2, 4], "AU", "NSW", [(dt.date(2026, 1, 5), dt.date(2026, 1, 9), "summer")]
    )
    assert cal == ClinicCalendar.from_dict(cal.to_dict())


def test_from_dict_rejects_unknown_settings():
    """A misspelt setting is an error, not silently ignored."""
    with pytest.raises(InvalidInputError, match="unknown settings"):
        ClinicCalendar.from_dict({"country": "US", "closure": []})


def test_summary_and_html_escape_reasons():
    """The calendar renders itself, escaping closure reasons."""
    cal = ClinicCalendar(closures=[(dt.date(2026, 1, 5), dt.date(2026, 1, 5), "<b>move</b>")])
    assert "<b>" not in cal._repr_html_()
    assert "2026-01-05" in cal.summary


@settings(max_examples=60, deadline=None)
@given(
    region=st.sampled_from(REGIONS),
    weekdays=st.sets(st.integers(0, 6), min_size=1),
    day=st.dates(dt.date(2024, 1, 1), dt.date(2028, 12, 31)),
    closure_start=st.dates(dt.date(2024, 1, 1), dt.date(2028, 12, 31)),
    closure_days=st.integers(0, 20),
)
def test_is_open_matches_the_holidays_library_and_closures(
    region, weekdays, day, closure_start, closure_days
):
    """A day is open exactly when it is an open weekday, not a holiday and not in a closure."""
    country, sub = region
    closure_end = closure_start + dt.timedelta(days=closure_days)
    cal = ClinicCalendar(weekdays, country, sub, [(closure_start, closure_end)])
    expected = (
        day.weekday() in weekdays
        and day not in holidays.country_holidays(country, subdiv=sub, years=day.year)
        and not closure_start <= day <= closure_end
    )
    assert expected == cal.is_open(day)
    assert (cal.closed_reason(day) is None) == cal.is_open(day)
