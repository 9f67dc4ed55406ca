"""When notifications are due and what they say, with dates a person can check against the
2026 calendar (Christmas on Friday 25 and Saturday 26 December)."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

import pytest

from skp.domain.calendar import AMSTERDAM, WorkingDayCalendar, end_of_day
from skp.domain.notifications import (
    SETTLE,
    Kind,
    compose,
    expiring_today,
    new_messages_window,
    reminder_day,
    reminder_due_at,
    stale_at,
)
from skp.domain.retention import fetch_deadline
from skp.domain.roles import Module

CAL = WorkingDayCalendar()
SR = Module.SCHULDREGELING


def at(day: date, hour: int = 10, minute: int = 0) -> datetime:
    return datetime.combine(day, time(hour, minute), tzinfo=AMSTERDAM)


def test_a_new_messages_notice_waits_for_the_interval():
    now = at(date(2026, 11, 23))
    hour = timedelta(hours=1)
    assert new_messages_window(now, hour, None) == now - SETTLE
    assert new_messages_window(now, hour, now - timedelta(minutes=59)) is None
    assert new_messages_window(now, hour, now - hour) == now - SETTLE
    with pytest.raises(ValueError, match="naive"):
        new_messages_window(now.replace(tzinfo=None), hour, None)


@pytest.mark.parametrize(("deadline_day", "expected"), [
    (date(2026, 11, 27), date(2026, 11, 27)),  # a Friday: that day itself
    (date(2026, 11, 29), date(2026, 11, 27)),  # a Sunday (an extension): the Friday before
    (date(2026, 12, 26), date(2026, 12, 24)),  # Tweede Kerstdag, a Saturday: Thursday
    (date(2026, 12, 28), date(2026, 12, 28)),  # a Monday after Christmas: itself
])
def test_the_reminder_day_is_the_last_working_day_before_the_deadline(deadline_day, expected):
    assert reminder_day(end_of_day(deadline_day), CAL) == expected


def test_the_reminder_day_of_every_fetch_deadline_is_its_last_working_day():
    received = at(date(2026, 12, 21))  # Monday before Christmas: 22, 23, 24, 28 December
    deadline = fetch_deadline(received, calendar=CAL)
    assert reminder_day(deadline, CAL) == date(2026, 12, 28)
    extended = fetch_deadline(received, calendar=CAL, extension_days=7)  # Monday 4 January
    assert reminder_day(extended, CAL) == date(2027, 1, 4)
    bridge = WorkingDayCalendar([date(2026, 12, 28)])
    assert reminder_day(end_of_day(date(2026, 12, 28)), bridge) == date(2026, 12, 24)


def test_the_reminder_goes_out_at_eight_in_amsterdam_summer_and_winter():
    assert reminder_due_at(date(2026, 11, 27)) == datetime(2026, 11, 27, 7, 0, tzinfo=UTC)
    assert reminder_due_at(date(2026, 6, 26)) == datetime(2026, 6, 26, 6, 0, tzinfo=UTC)


def test_expiring_today_counts_only_todays_last_day_after_the_morning():
    friday = date(2026, 11, 27)
    pending = [(SR, "Saldoverzoek", end_of_day(friday), 2),
               (SR, "Saldoverzoek", end_of_day(friday + timedelta(days=2)), 1),  # Sunday
               (SR, "Kennisgeving", end_of_day(friday), 1),
               (SR, "Kennisgeving", end_of_day(friday + timedelta(days=3)), 5)]  # Monday
    assert expiring_today(at(friday, 7, 59), pending, CAL) == {}
    assert expiring_today(at(friday, 8), pending, CAL) == {
        (SR, "Saldoverzoek"): 3, (SR, "Kennisgeving"): 1}
    assert expiring_today(at(friday - timedelta(days=1), 9), pending, CAL) == {}
    past = [(SR, "Saldoverzoek", at(friday, 9), 1)]  # expired already at 10:00
    assert expiring_today(at(friday, 10), past, CAL) == {}


def test_a_mail_says_the_unit_the_counts_and_the_link_only():
    counts = {(SR, "Saldoverzoek"): 2, (Module.BETALINGSREGELING, "Saldoverzoek"): 1}
    mail = compose(Kind.NEW_MESSAGES, "Energie BV", counts, "https://p.example/eenheid/x/berichten")
    assert mail.subject == "3 nieuwe berichten voor Energie BV"
    assert "- Saldoverzoek (Schuldregeling): 2\n" in mail.body
    assert "- Saldoverzoek (Betalingsregeling & Herfinanciering): 1\n" in mail.body
    assert "https://p.example/eenheid/x/berichten" in mail.body
    one = compose(Kind.REMINDER, "Energie BV", {(SR, "Kennisgeving"): 1}, "https://p/x",
                  day=date(2026, 11, 27))
    assert one.subject == ("Herinnering: 1 bericht voor Energie BV verloopt na vrijdag "
                           "27 november 2026")
    assert "verwijdert het Schuldenknooppunt het:" in one.body
    with pytest.raises(ValueError, match="at least one"):
        compose(Kind.NEW_MESSAGES, "Energie BV", {}, "https://p/x")
    with pytest.raises(ValueError, match="its day"):
        compose(Kind.REMINDER, "Energie BV", {(SR, "Kennisgeving"): 1}, "https://p/x")


def test_a_reminder_is_stale_at_the_end_of_its_day_a_notice_after_a_day():
    now = at(date(2026, 11, 27), 8)
    assert stale_at(Kind.REMINDER, now, date(2026, 11, 27)) == end_of_day(date(2026, 11, 27))
    assert stale_at(Kind.NEW_MESSAGES, now) == now + timedelta(days=1)
    with pytest.raises(ValueError):
        stale_at(Kind.REMINDER, now)
