"""When a KEK epoch starts and when its KEK is destroyed."""

from __future__ import annotations

import datetime as dt

import pytest

from skp.domain.calendar import WorkingDayCalendar
from skp.domain.epochs import GRACE, Epoch, ends, plan, shred_deadline
from skp.domain.retention import fetch_deadline, reply_deadline

CAL = WorkingDayCalendar()
T0 = dt.datetime(2026, 11, 23, 9, 0, tzinfo=dt.UTC)  # a Monday
DAY = dt.timedelta(days=1)
A, B = Epoch("kek-a", T0), Epoch("kek-b", T0 + DAY)


def planned(now, *, in_use=None, epochs=(A, B), current="kek-b"):
    return plan(list(epochs), current, now, length=DAY, in_use=in_use or {}, calendar=CAL,
                working_days=4, reply_working_days=10)


def test_the_shred_deadline_is_the_latest_deadline_of_content_received_by_the_end():
    end = T0 + DAY
    deadline = shred_deadline(end, calendar=CAL, working_days=4, reply_working_days=10)
    assert deadline == max(fetch_deadline(end, calendar=CAL, extension_days=28),
                           reply_deadline(end, calendar=CAL))
    assert deadline >= end + dt.timedelta(days=32)


def test_an_epoch_ends_when_the_next_begins():
    assert ends([B, A], "kek-b") == {"kek-a": T0 + DAY}
    assert ends([A], "kek-a") == {}


def test_a_new_epoch_begins_when_the_current_one_is_a_day_old():
    assert not planned(T0 + DAY + DAY - dt.timedelta(seconds=1)).create
    assert planned(T0 + DAY + DAY).create
    assert plan([], "kek-x", T0, length=DAY, in_use={}, calendar=CAL, working_days=4,
                reply_working_days=10).create


def test_an_unused_kek_goes_after_the_grace():
    assert planned(T0 + DAY + GRACE - dt.timedelta(seconds=1)).destroy == {}
    assert planned(T0 + DAY + GRACE).destroy == {"kek-a": "unused"}


def test_a_used_kek_stays_until_its_deadline_and_no_longer():
    end = shred_deadline(T0 + DAY, calendar=CAL, working_days=4, reply_working_days=10)
    assert planned(end - dt.timedelta(seconds=1), in_use={"kek-a": 3}).destroy == {}
    assert planned(end, in_use={"kek-a": 3}).destroy == {"kek-a": "deadline"}


def test_the_current_kek_is_never_destroyed():
    far = T0 + dt.timedelta(days=400)
    assert "kek-b" not in planned(far).destroy
    assert planned(far).create


def test_now_must_be_aware():
    with pytest.raises(ValueError, match="aware"):
        planned(dt.datetime(2026, 11, 23, 9, 0))  # noqa: DTZ001
