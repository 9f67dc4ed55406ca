"""Dutch working days, checked against the 2025-2027 calendars by hand."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone

import pytest

from skp.domain.calendar import AMSTERDAM, WorkingDayCalendar, end_of_day, local_date

CAL = WorkingDayCalendar()

# Every generally recognised holiday of 2025-2027 that falls on a weekday.
WEEKDAY_HOLIDAYS = [
    date(2025, 1, 1),  # Wed, Nieuwjaarsdag
    date(2025, 4, 18),  # Fri, Goede Vrijdag
    date(2025, 4, 21),  # Mon, Tweede Paasdag
    date(2025, 5, 5),  # Mon, Bevrijdingsdag (lustrum year)
    date(2025, 5, 29),  # Thu, Hemelvaartsdag
    date(2025, 6, 9),  # Mon, Tweede Pinksterdag
    date(2025, 12, 25),  # Thu, Eerste Kerstdag
    date(2025, 12, 26),  # Fri, Tweede Kerstdag
    date(2026, 1, 1),  # Thu, Nieuwjaarsdag
    date(2026, 4, 3),  # Fri, Goede Vrijdag
    date(2026, 4, 6),  # Mon, Tweede Paasdag
    date(2026, 4, 27),  # Mon, Koningsdag
    date(2026, 5, 5),  # Tue, Bevrijdingsdag (not a lustrum year)
    date(2026, 5, 14),  # Thu, Hemelvaartsdag
    date(2026, 5, 25),  # Mon, Tweede Pinksterdag
    date(2026, 12, 25),  # Fri, Eerste Kerstdag
    date(2027, 1, 1),  # Fri, Nieuwjaarsdag
    date(2027, 3, 26),  # Fri, Goede Vrijdag
    date(2027, 3, 29),  # Mon, Tweede Paasdag
    date(2027, 4, 27),  # Tue, Koningsdag
    date(2027, 5, 5),  # Wed, Bevrijdingsdag (not a lustrum year)
    date(2027, 5, 6),  # Thu, Hemelvaartsdag
    date(2027, 5, 17),  # Mon, Tweede Pinksterdag
]


@pytest.mark.parametrize("day", WEEKDAY_HOLIDAYS, ids=str)
def test_weekday_holidays_are_not_working_days(day):
    assert day.weekday() < 5
    assert not CAL.is_working_day(day)


@pytest.mark.parametrize(
    "day",
    [
        date(2026, 3, 2),  # Mon
        date(2026, 3, 6),  # Fri
        date(2026, 4, 2),  # Thu before Goede Vrijdag
        date(2026, 4, 7),  # Tue after Tweede Paasdag
        date(2026, 5, 4),  # Mon before Bevrijdingsdag
        date(2026, 5, 15),  # Fri after Hemelvaartsdag (no royal decree given)
        date(2026, 12, 24),  # Thu, Kerstavond
        date(2026, 12, 31),  # Thu, Oudejaarsdag
    ],
    ids=str,
)
def test_ordinary_weekdays_are_working_days(day):
    assert CAL.is_working_day(day)


def test_weekends_are_not_working_days():
    assert not CAL.is_working_day(date(2026, 3, 7))  # Saturday
    assert not CAL.is_working_day(date(2026, 3, 8))  # Sunday
    assert not CAL.is_working_day(date(2026, 12, 26))  # Saturday, Tweede Kerstdag


def test_koningsdag_moves_to_saturday_when_the_27th_is_a_sunday():
    # 2025: 27 April is a Sunday, so Koningsdag was Saturday 26 April; Monday 28 April is a
    # normal working day (Koningsdag is never moved to the Monday).
    assert date(2025, 4, 27).weekday() == 6
    assert not CAL.is_working_day(date(2025, 4, 26))
    assert CAL.is_working_day(date(2025, 4, 28))


def test_fifth_of_may_every_year():
    for year in range(2024, 2032):
        assert not CAL.is_working_day(date(year, 5, 5)), year


def test_royal_decree_day_is_not_a_working_day():
    decree = WorkingDayCalendar([date(2026, 5, 15)])  # Friday after Hemelvaartsdag
    assert not decree.is_working_day(date(2026, 5, 15))
    assert decree.add_working_days(date(2026, 5, 13), 1) == date(2026, 5, 18)
    assert CAL.add_working_days(date(2026, 5, 13), 1) == date(2026, 5, 15)
    assert decree.extra_non_working_days == frozenset({date(2026, 5, 15)})


def test_calendars_compare_by_their_extra_days():
    assert WorkingDayCalendar() == WorkingDayCalendar([])
    assert WorkingDayCalendar([date(2026, 5, 15)]) == WorkingDayCalendar({date(2026, 5, 15)})
    assert hash(WorkingDayCalendar()) == hash(WorkingDayCalendar(()))


def test_add_working_days_skips_weekend_and_holidays():
    assert CAL.add_working_days(date(2026, 3, 6), 1) == date(2026, 3, 9)  # Fri -> Mon
    assert CAL.add_working_days(date(2026, 3, 7), 1) == date(2026, 3, 9)  # Sat -> Mon
    assert CAL.add_working_days(date(2026, 3, 2), 5) == date(2026, 3, 9)  # Mon -> next Mon
    # Wed 24 Dec 2025: 25/26 Christmas, weekend, 1 Jan 2026 Nieuwjaarsdag.
    assert CAL.add_working_days(date(2025, 12, 24), 4) == date(2026, 1, 2)


@pytest.mark.parametrize("count", [0, -1])
def test_add_working_days_needs_a_positive_count(count):
    with pytest.raises(ValueError, match="at least 1"):
        CAL.add_working_days(date(2026, 3, 2), count)


def test_datetimes_are_refused_where_a_date_is_meant():
    instant = datetime(2026, 3, 2, 12, tzinfo=UTC)
    with pytest.raises(TypeError, match="local_date"):
        CAL.is_working_day(instant)
    with pytest.raises(TypeError, match="local_date"):
        CAL.add_working_days(instant, 1)
    with pytest.raises(TypeError, match="local_date"):
        end_of_day(instant)
    with pytest.raises(TypeError, match="local_date"):
        WorkingDayCalendar([instant])


def test_local_date_is_the_amsterdam_date():
    # 23:30 UTC on Thursday is 00:30 on Friday in Amsterdam (winter, UTC+1).
    assert local_date(datetime(2026, 3, 5, 23, 30, tzinfo=UTC)) == date(2026, 3, 6)
    assert local_date(datetime(2026, 3, 5, 22, 59, tzinfo=UTC)) == date(2026, 3, 5)
    # Summer, UTC+2: 22:30 UTC on 30 June is 00:30 on 1 July.
    assert local_date(datetime(2026, 6, 30, 22, 30, tzinfo=UTC)) == date(2026, 7, 1)
    assert local_date(datetime(2026, 6, 30, 21, 59, tzinfo=UTC)) == date(2026, 6, 30)
    # Any aware zone works: 20:00 in New York (UTC-5) is 02:00 the next day in Amsterdam.
    new_york_winter = timezone(timedelta(hours=-5))
    assert local_date(datetime(2026, 1, 9, 20, 0, tzinfo=new_york_winter)) == date(2026, 1, 10)


def test_local_date_refuses_naive_datetimes():
    with pytest.raises(ValueError, match="naive"):
        local_date(datetime(2026, 3, 5, 12, 0))  # noqa: DTZ001 - the naive value under test


def test_end_of_day_is_next_local_midnight_in_utc():
    assert end_of_day(date(2026, 1, 15)) == datetime(2026, 1, 15, 23, 0, tzinfo=UTC)  # CET
    assert end_of_day(date(2026, 7, 15)) == datetime(2026, 7, 15, 22, 0, tzinfo=UTC)  # CEST
    assert end_of_day(date(2026, 1, 15)).tzinfo is UTC
    local = end_of_day(date(2026, 7, 15)).astimezone(AMSTERDAM)
    assert (local.date(), local.hour, local.minute) == (date(2026, 7, 16), 0, 0)


def test_end_of_day_across_summer_time_changes():
    # Summer time starts Sunday 29 March 2026 (02:00 -> 03:00): that day lasts 23 hours.
    assert end_of_day(date(2026, 3, 28)) == datetime(2026, 3, 28, 23, 0, tzinfo=UTC)
    assert end_of_day(date(2026, 3, 29)) == datetime(2026, 3, 29, 22, 0, tzinfo=UTC)
    assert end_of_day(date(2026, 3, 29)) - end_of_day(date(2026, 3, 28)) == timedelta(hours=23)
    # Summer time ends Sunday 25 October 2026 (03:00 -> 02:00): that day lasts 25 hours.
    assert end_of_day(date(2026, 10, 24)) == datetime(2026, 10, 24, 22, 0, tzinfo=UTC)
    assert end_of_day(date(2026, 10, 25)) == datetime(2026, 10, 25, 23, 0, tzinfo=UTC)
    assert end_of_day(date(2026, 10, 25)) - end_of_day(date(2026, 10, 24)) == timedelta(hours=25)
