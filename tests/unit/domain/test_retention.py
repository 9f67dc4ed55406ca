"""Retention deadlines, with dates a person can check against the 2025-2027 calendars."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from skp.domain.calendar import AMSTERDAM, WorkingDayCalendar, local_date
from skp.domain.retention import (
    EXTENSION_DAYS,
    fetch_deadline,
    is_due,
    last_working_day,
    metadata_due,
    on_last_working_day,
    reply_deadline,
    validate_extension,
)

CAL = WorkingDayCalendar()


def at(day, hour=10, minute=0):
    """``day`` at ``hour:minute`` Amsterdam time."""
    return datetime.combine(day, time(hour, minute), tzinfo=AMSTERDAM)


def end_of(day):
    """Midnight Amsterdam time at the end of ``day``."""
    return datetime.combine(day + timedelta(days=1), time(0), tzinfo=AMSTERDAM)


def weekdays_only(day, count):
    """The answer if only weekends counted: shows that a holiday moved the deadline."""
    while count:
        day += timedelta(days=1)
        if day.weekday() < 5:
            count -= 1
    return day


@pytest.mark.parametrize(
    ("received", "last"),
    [
        (date(2026, 3, 2), date(2026, 3, 6)),  # Mon -> Fri, no weekend in between
        (date(2026, 3, 4), date(2026, 3, 10)),  # Wed -> Tue, skips Sat 7 and Sun 8
        (date(2026, 3, 7), date(2026, 3, 12)),  # received Sat: counting starts Mon 9
        (date(2026, 3, 8), date(2026, 3, 12)),  # received Sun: same
    ],
    ids=str,
)
def test_weekends_do_not_count(received, last):
    assert fetch_deadline(at(received), calendar=CAL) == end_of(last)


@pytest.mark.parametrize(
    ("received", "last"),
    [
        # Koningsdag Mon 27 Apr 2026: Tue 28, Wed 29, Thu 30, Fri 1 May.
        (date(2026, 4, 24), date(2026, 5, 1)),
        # Koningsdag Tue 27 Apr 2027: Wed 28, Thu 29, Fri 30, Mon 3 May.
        (date(2027, 4, 26), date(2027, 5, 3)),
        # 5 May 2026 (Tue) is a non-working day although 2026 is no lustrum year.
        (date(2026, 5, 4), date(2026, 5, 11)),
        # 5 May 2025 (Mon), lustrum year: Tue 6, Wed 7, Thu 8, Fri 9.
        (date(2025, 5, 2), date(2025, 5, 9)),
        # 5 May 2027 (Wed) and Hemelvaartsdag Thu 6 May: Fri 7, Mon 10, Tue 11, Wed 12.
        (date(2027, 5, 4), date(2027, 5, 12)),
        # Both Christmas days 2025 (Thu, Fri): Wed 24, Mon 29, Tue 30, Wed 31.
        (date(2025, 12, 23), date(2025, 12, 31)),
        # Eerste Kerstdag Fri 25 Dec 2026: Thu 24, Mon 28, Tue 29, Wed 30.
        (date(2026, 12, 23), date(2026, 12, 30)),
        # Nieuwjaarsdag Thu 1 Jan 2026: Wed 31, Fri 2, Mon 5, Tue 6.
        (date(2025, 12, 30), date(2026, 1, 6)),
        # Nieuwjaarsdag Fri 1 Jan 2027: Mon 4, Tue 5, Wed 6, Thu 7.
        (date(2026, 12, 31), date(2027, 1, 7)),
        # Goede Vrijdag 18 Apr and Tweede Paasdag 21 Apr 2025: Thu 17, Tue 22, Wed 23, Thu 24.
        (date(2025, 4, 16), date(2025, 4, 24)),
        # Received on Goede Vrijdag 3 Apr 2026; Tweede Paasdag Mon 6: Tue 7 .. Fri 10.
        (date(2026, 4, 3), date(2026, 4, 10)),
        # Hemelvaartsdag Thu 14 May 2026: Fri 15, Mon 18, Tue 19, Wed 20.
        (date(2026, 5, 13), date(2026, 5, 20)),
        # Tweede Pinksterdag Mon 25 May 2026: Tue 26, Wed 27, Thu 28, Fri 29.
        (date(2026, 5, 22), date(2026, 5, 29)),
        # Tweede Pinksterdag Mon 9 Jun 2025: Fri 6, Tue 10, Wed 11, Thu 12.
        (date(2025, 6, 5), date(2025, 6, 12)),
    ],
    ids=str,
)
def test_holidays_move_the_deadline(received, last):
    assert fetch_deadline(at(received), calendar=CAL) == end_of(last)
    assert last != weekdays_only(received, 4)


def test_friday_afternoon_message():
    # Fri 20 Nov 2026 15:00: Mon 23, Tue 24, Wed 25, Thu 26; midnight CET is 23:00 UTC.
    deadline = fetch_deadline(at(date(2026, 11, 20), 15), calendar=CAL)
    assert deadline == datetime(2026, 11, 26, 23, 0, tzinfo=UTC)
    assert deadline.tzinfo is UTC


def test_message_received_on_a_holiday():
    # On Koningsdag Mon 27 Apr 2026: Tue 28, Wed 29, Thu 30, Fri 1 May; midnight CEST = 22:00 UTC.
    koningsdag = fetch_deadline(at(date(2026, 4, 27)), calendar=CAL)
    assert koningsdag == datetime(2026, 5, 1, 22, 0, tzinfo=UTC)
    # On Eerste Kerstdag Thu 25 Dec 2025: Mon 29, Tue 30, Wed 31, (1 Jan) Fri 2 Jan 2026.
    christmas = fetch_deadline(at(date(2025, 12, 25)), calendar=CAL)
    assert christmas == datetime(2026, 1, 2, 23, 0, tzinfo=UTC)


def test_day_of_receipt_is_the_amsterdam_date():
    # 23:30 UTC on Thu 5 Mar 2026 is already Fri 6 Mar in Amsterdam: Mon 9 .. Thu 12.
    late = fetch_deadline(datetime(2026, 3, 5, 23, 30, tzinfo=UTC), calendar=CAL)
    assert late == end_of(date(2026, 3, 12))
    # 22:59 UTC is still Thu 5 Mar: Fri 6, Mon 9, Tue 10, Wed 11.
    early = fetch_deadline(datetime(2026, 3, 5, 22, 59, tzinfo=UTC), calendar=CAL)
    assert early == end_of(date(2026, 3, 11))


@pytest.mark.parametrize(
    ("received_at", "deadline"),
    [
        # Sun 29 Mar 2026, summer time starts: before (01:30 CET) and after (12:00 CEST) the
        # switch; Mon 30, Tue 31, Wed 1, Thu 2 Apr; midnight CEST is 22:00 UTC.
        (datetime(2026, 3, 29, 0, 30, tzinfo=UTC), datetime(2026, 4, 2, 22, 0, tzinfo=UTC)),
        (datetime(2026, 3, 29, 10, 0, tzinfo=UTC), datetime(2026, 4, 2, 22, 0, tzinfo=UTC)),
        # Received in winter time (Wed 25 Mar 2026), deadline in summer time (Tue 31 Mar).
        (datetime(2026, 3, 25, 12, 0, tzinfo=UTC), datetime(2026, 3, 31, 22, 0, tzinfo=UTC)),
        # Sun 28 Mar 2027 is both the switch and Eerste Paasdag; Mon 29 is Tweede Paasdag:
        # Tue 30, Wed 31, Thu 1, Fri 2 Apr.
        (datetime(2027, 3, 28, 12, 0, tzinfo=UTC), datetime(2027, 4, 2, 22, 0, tzinfo=UTC)),
        # Sun 25 Oct 2026, summer time ends: 02:30 happens twice (00:30 and 01:30 UTC).
        # Mon 26, Tue 27, Wed 28, Thu 29; midnight CET is 23:00 UTC.
        (datetime(2026, 10, 25, 0, 30, tzinfo=UTC), datetime(2026, 10, 29, 23, 0, tzinfo=UTC)),
        (datetime(2026, 10, 25, 1, 30, tzinfo=UTC), datetime(2026, 10, 29, 23, 0, tzinfo=UTC)),
        # Received in summer time (Wed 21 Oct 2026), deadline in winter time (Tue 27 Oct).
        (datetime(2026, 10, 21, 12, 0, tzinfo=UTC), datetime(2026, 10, 27, 23, 0, tzinfo=UTC)),
        # Sun 31 Oct 2027: Mon 1, Tue 2, Wed 3, Thu 4 Nov.
        (datetime(2027, 10, 31, 12, 0, tzinfo=UTC), datetime(2027, 11, 4, 23, 0, tzinfo=UTC)),
    ],
    ids=lambda value: value.isoformat(),
)
def test_summer_time_changes_give_local_midnight(received_at, deadline):
    result = fetch_deadline(received_at, calendar=CAL)
    assert result == deadline
    assert result.astimezone(AMSTERDAM).time() == time(0)


@pytest.mark.parametrize(
    ("extension", "deadline"),
    [
        (0, datetime(2026, 11, 26, 23, 0, tzinfo=UTC)),  # Thu 26 Nov
        (7, datetime(2026, 12, 3, 23, 0, tzinfo=UTC)),  # Thu 3 Dec
        (14, datetime(2026, 12, 10, 23, 0, tzinfo=UTC)),  # Thu 10 Dec
        (28, datetime(2026, 12, 24, 23, 0, tzinfo=UTC)),  # Thu 24 Dec
    ],
)
def test_each_extension_adds_exactly_its_days(extension, deadline):
    received_at = at(date(2026, 11, 20), 15)
    result = fetch_deadline(received_at, calendar=CAL, extension_days=extension)
    assert result == deadline
    assert result - fetch_deadline(received_at, calendar=CAL) == timedelta(days=extension)


def test_extension_counts_calendar_days_in_local_time():
    # Wed 14 Oct 2026: last working day Tue 20 Oct; +7 days is Tue 27 Oct, after summer time
    # ends, so the interval is 7 days and 1 hour but both ends are local midnight.
    received_at = at(date(2026, 10, 14))
    assert fetch_deadline(received_at, calendar=CAL) == end_of(date(2026, 10, 20))
    extended = fetch_deadline(received_at, calendar=CAL, extension_days=7)
    assert extended == datetime(2026, 10, 27, 23, 0, tzinfo=UTC)
    assert extended - fetch_deadline(received_at, calendar=CAL) == timedelta(days=7, hours=1)


def test_extension_may_end_on_a_holiday():
    # Mon 23 Nov 2026: last working day Fri 27 Nov; +28 calendar days is Fri 25 Dec, which stays.
    deadline = fetch_deadline(at(date(2026, 11, 23)), calendar=CAL, extension_days=28)
    assert deadline == end_of(date(2026, 12, 25))


@pytest.mark.parametrize("days", sorted(EXTENSION_DAYS))
def test_valid_extensions(days):
    assert validate_extension(days) == days


@pytest.mark.parametrize("days", [1, 5, 21, 30, -7, True])
def test_invalid_extension_is_refused(days):
    with pytest.raises(ValueError, match="one of 0, 7, 14, 28"):
        validate_extension(days)
    with pytest.raises(ValueError, match="one of 0, 7, 14, 28"):
        fetch_deadline(at(date(2026, 3, 2)), calendar=CAL, extension_days=days)


def test_royal_decree_day_moves_the_deadline():
    # Wed 13 May 2026, Hemelvaartsdag Thu 14: Fri 15, Mon 18, Tue 19, Wed 20 ...
    received_at = at(date(2026, 5, 13))
    assert fetch_deadline(received_at, calendar=CAL) == end_of(date(2026, 5, 20))
    # ... unless a royal decree equates Fri 15 May to a holiday: Mon 18 .. Thu 21.
    decree = WorkingDayCalendar([date(2026, 5, 15)])
    assert fetch_deadline(received_at, calendar=decree) == end_of(date(2026, 5, 21))


def test_number_of_working_days_is_a_setting():
    received_at = at(date(2026, 3, 2))
    assert fetch_deadline(received_at, calendar=CAL, working_days=5) == end_of(date(2026, 3, 9))
    with pytest.raises(ValueError, match="at least 1"):
        fetch_deadline(received_at, calendar=CAL, working_days=0)


def test_reply_deadline_is_ten_working_days():
    # Mon 2 Mar 2026: Tue 3 .. Fri 6 (4), Mon 9 .. Fri 13 (9), Mon 16 (10).
    assert reply_deadline(at(date(2026, 3, 2)), calendar=CAL) == datetime(
        2026, 3, 16, 23, 0, tzinfo=UTC
    )
    # Fri 19 Dec 2025: Mon 22, Tue 23, Wed 24, Mon 29, Tue 30, Wed 31, Fri 2, Mon 5, Tue 6, Wed 7.
    assert reply_deadline(at(date(2025, 12, 19)), calendar=CAL) == datetime(
        2026, 1, 7, 23, 0, tzinfo=UTC
    )


NAIVE = datetime(2026, 3, 2, 12, 0)  # noqa: DTZ001 - the naive value under test
AWARE = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)


def test_naive_datetimes_are_refused():
    with pytest.raises(ValueError, match="naive"):
        fetch_deadline(NAIVE, calendar=CAL)
    with pytest.raises(ValueError, match="naive"):
        reply_deadline(NAIVE, calendar=CAL)
    with pytest.raises(ValueError, match="now is a naive"):
        is_due(AWARE, NAIVE)
    with pytest.raises(ValueError, match="deadline is a naive"):
        is_due(NAIVE, AWARE)
    with pytest.raises(ValueError, match="received_at is a naive"):
        metadata_due(NAIVE, AWARE, timedelta(days=1))
    with pytest.raises(ValueError, match="now is a naive"):
        metadata_due(AWARE, NAIVE, timedelta(days=1))


def test_is_due_from_the_deadline_instant_on():
    deadline = datetime(2026, 11, 26, 23, 0, tzinfo=UTC)
    assert not is_due(deadline, deadline - timedelta(microseconds=1))
    assert is_due(deadline, deadline)
    assert is_due(deadline, deadline + timedelta(days=1))
    # The same instant written in Amsterdam time.
    assert is_due(deadline, datetime(2026, 11, 27, 0, 0, tzinfo=AMSTERDAM))


def test_metadata_due_after_the_retention_period():
    received_at = datetime(2026, 1, 15, 10, 0, tzinfo=UTC)
    retention = timedelta(days=396)  # 15 Jan 2026 + 396 days = 15 Feb 2027
    due_at = datetime(2027, 2, 15, 10, 0, tzinfo=UTC)
    assert not metadata_due(received_at, due_at - timedelta(microseconds=1), retention)
    assert metadata_due(received_at, due_at, retention)
    assert metadata_due(received_at, due_at + timedelta(days=30), retention)


received_instants = st.datetimes(
    min_value=datetime(2024, 1, 1),  # noqa: DTZ001 - hypothesis wants naive bounds
    max_value=datetime(2030, 12, 31, 23, 59, 59),  # noqa: DTZ001
    timezones=st.just(UTC),
)
calendars = st.frozensets(
    st.dates(min_value=date(2024, 1, 1), max_value=date(2031, 1, 31)), max_size=6
).map(WorkingDayCalendar)


@settings(deadline=None)  # the first look-up of a year builds its holiday table
@given(
    received_at=received_instants,
    working_days=st.integers(min_value=1, max_value=10),
    extension=st.sampled_from(sorted(EXTENSION_DAYS)),
    calendar=calendars,
)
def test_deadline_properties(received_at, working_days, extension, calendar):
    deadline = fetch_deadline(
        received_at, calendar=calendar, working_days=working_days, extension_days=extension
    )
    assert deadline.utcoffset() == timedelta(0)
    assert deadline > received_at
    local = deadline.astimezone(AMSTERDAM)
    assert local.time() == time(0)

    last = local.date() - timedelta(days=1 + extension)
    assert calendar.is_working_day(last)
    receipt = local_date(received_at)
    between = (receipt + timedelta(days=n) for n in range(1, (last - receipt).days + 1))
    assert sum(calendar.is_working_day(day) for day in between) == working_days


@settings(deadline=None)
@given(received_at=received_instants, working_days=st.integers(min_value=1, max_value=10))
def test_reply_deadline_matches_fetch_deadline_without_extension(received_at, working_days):
    assert reply_deadline(received_at, calendar=CAL, working_days=working_days) == fetch_deadline(
        received_at, calendar=CAL, working_days=working_days
    )


def test_the_last_working_day_is_the_day_the_deadline_ends():
    received = datetime(2026, 12, 1, 10, tzinfo=UTC)  # a Tuesday
    deadline = fetch_deadline(received, calendar=CAL)
    assert last_working_day(deadline, calendar=CAL) == date(2026, 12, 7)  # Monday
    for day, warned in ((date(2026, 12, 4), False), (date(2026, 12, 7), True)):
        now = datetime.combine(day, time(8), tzinfo=AMSTERDAM)
        assert on_last_working_day(deadline, now, calendar=CAL) is warned


def test_an_extension_ending_on_a_weekend_warns_on_the_friday_before():
    received = datetime(2026, 12, 1, 10, tzinfo=UTC)
    deadline = fetch_deadline(received, calendar=CAL, extension_days=7)  # ends Monday the 14th
    deadline = deadline - timedelta(days=2)  # as if it ended on Saturday the 12th
    assert last_working_day(deadline, calendar=CAL) == date(2026, 12, 11)
    assert on_last_working_day(deadline, datetime(2026, 12, 11, 12, tzinfo=UTC), calendar=CAL)
    assert not on_last_working_day(deadline, datetime(2026, 12, 10, 12, tzinfo=UTC),
                                   calendar=CAL)
