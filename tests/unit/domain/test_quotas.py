"""The quota rules: a sliding send window and a mailbox limit, 0 = off."""

from __future__ import annotations

import datetime as dt

import pytest

from skp.domain.quotas import MailboxLimit, SendRate

NOW = dt.datetime(2026, 11, 23, 9, 0, tzinfo=dt.UTC)
MINUTE = dt.timedelta(minutes=1)


def test_the_window_ends_now():
    assert SendRate(600, MINUTE).since(NOW) == NOW - MINUTE


def test_a_zero_rate_is_no_limit():
    assert SendRate(600, MINUTE).on
    assert not SendRate(0, MINUTE).on


@pytest.mark.parametrize(("age", "wait"), [
    (dt.timedelta(0), 60),                         # all sent just now: a whole window
    (dt.timedelta(seconds=45), 15),
    (dt.timedelta(seconds=45, microseconds=1), 15),  # rounded up to whole seconds
    (dt.timedelta(seconds=59, microseconds=999_999), 1),
    (dt.timedelta(seconds=60), 1),                 # never less than a second
])
def test_retry_after_is_when_the_oldest_counted_message_leaves_the_window(age, wait):
    assert SendRate(5, MINUTE).retry_after(NOW, NOW - age) == wait


@pytest.mark.parametrize(("pending", "full"), [(0, False), (2, False), (3, True), (4, True)])
def test_a_mailbox_at_its_limit_is_full(pending, full):
    assert MailboxLimit(3).full(pending) is full


def test_a_zero_mailbox_limit_is_no_limit():
    assert not MailboxLimit(0).on
    assert not MailboxLimit(0).full(10**9)
