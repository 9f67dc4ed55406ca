"""Quotas on a real database (SQLite file and PostgreSQL): a sender's send rate and a
recipient's mailbox limit refuse new messages, never repeats, and lose nothing."""

from __future__ import annotations

import datetime as dt
import threading

import pytest
from sqlalchemy import func, select

from skp.config import Settings
from skp.domain.roles import Module
from skp.errors import MailboxFull, QuotaExceeded, RateLimited, UnknownRecipient
from skp.mailbox import Mailbox
from skp.metrics import Metrics
from skp.store.models import Message
from tests.helpers import saldoverzoek, send

SR, SI = Module.SCHULDREGELING, Module.SCHULDINVENTARISATIE
RATE, WINDOW, LIMIT = 4, dt.timedelta(seconds=60), 3


@pytest.fixture
def settings():
    return Settings(send_rate=RATE, send_window=WINDOW, mailbox_limit=LIMIT)


def stored(sessions):
    with sessions() as session:
        return session.scalar(select(func.count()).select_from(Message))


def kennisgeving(mailbox, sender, recipient, **kwargs):
    return send(mailbox, sender, recipient, SR, "Kennisgeving", **kwargs)


def test_a_sender_over_its_rate_is_refused_until_the_window_has_room(mailbox, people, clock,
                                                                     sessions):
    recipients = [people.se, people.se2]
    for n in range(RATE):  # to two recipients: the rate is the sender's
        clock.advance(dt.timedelta(seconds=10))
        kennisgeving(mailbox, people.shv, recipients[n % 2])
    with pytest.raises(RateLimited) as refused:
        kennisgeving(mailbox, people.shv, people.se2)
    # The first of the four was sent 30 seconds ago: it leaves the window in 30 seconds.
    assert refused.value.code == "Client.RateLimited"
    assert refused.value.retry_after == 30
    assert "in 30 seconds" in refused.value.message
    assert "same Kenmerk" in refused.value.message
    assert stored(sessions) == RATE
    # Another sender is not limited by it.
    kennisgeving(mailbox, people.kredietbank, people.se2)

    clock.advance(dt.timedelta(seconds=29))
    with pytest.raises(RateLimited) as again:
        kennisgeving(mailbox, people.shv, people.se2)
    assert again.value.retry_after == 1
    clock.advance(dt.timedelta(seconds=1))
    kennisgeving(mailbox, people.shv, people.se)  # the first has left the window
    with pytest.raises(RateLimited) as third:
        kennisgeving(mailbox, people.shv, people.se)
    assert third.value.retry_after == 10  # the second leaves 10 seconds later


def test_a_repeat_gets_its_receipt_over_the_rate(mailbox, people, sessions):
    first = kennisgeving(mailbox, people.shv, people.se, kenmerk="RATE-1")
    for n in range(RATE - 1):
        kennisgeving(mailbox, people.shv, [people.se, people.se2][n % 2])
    with pytest.raises(RateLimited):
        kennisgeving(mailbox, people.shv, people.se2)
    repeat = kennisgeving(mailbox, people.shv, people.se, kenmerk="RATE-1")
    assert repeat.repeated and repeat.message_id == first.message_id
    assert stored(sessions) == RATE


def test_a_full_mailbox_refuses_new_messages_and_loses_none(mailbox, people, sessions, clock):
    held = [send(mailbox, people.shv, people.se, SR, "Saldoverzoek", saldoverzoek(["F-0"]),
                 kenmerk="FULL-S")]
    held += [kennisgeving(mailbox, people.shv, people.se, kenmerk=f"FULL-{n}")
             for n in range(LIMIT - 1)]
    clock.advance(WINDOW)  # out of the send window: only the mailbox limit is in the way
    with pytest.raises(MailboxFull) as refused:
        kennisgeving(mailbox, people.kredietbank, people.se)
    assert refused.value.code == "Client.MailboxFull"
    assert people.se.id in refused.value.message and "fetch" in refused.value.message
    # Every way of sending is refused: a Saldoverzoek has a transaction of its own.
    with pytest.raises(MailboxFull):
        send(mailbox, people.shv, people.se, SR, "Saldoverzoek", saldoverzoek(["F-1"]))
    # A repeat is answered; other mailboxes, and the recipient's other modules, take messages.
    assert kennisgeving(mailbox, people.shv, people.se, kenmerk="FULL-0").repeated
    assert send(mailbox, people.shv, people.se, SR, "Saldoverzoek", saldoverzoek(["F-0"]),
                kenmerk="FULL-S").repeated
    kennisgeving(mailbox, people.shv, people.se2)
    send(mailbox, people.shv, people.se, SI, "Saldoverzoek")
    assert stored(sessions) == LIMIT + 2

    # Everything held can be fetched and confirmed; a fetched message still counts.
    page = mailbox.list_pending(people.se.id, SR)
    assert {m.id for m in page.items} == {r.message_id for r in held}
    for receipt in held:
        mailbox.fetch(people.se.id, receipt.message_id)
    with pytest.raises(MailboxFull):
        kennisgeving(mailbox, people.shv, people.se)
    mailbox.confirm(people.se.id, held[0].message_id)
    kennisgeving(mailbox, people.shv, people.se)  # a place is free again
    with pytest.raises(MailboxFull):
        kennisgeving(mailbox, people.shv, people.se)
    for receipt in held[1:]:
        mailbox.confirm(people.se.id, receipt.message_id)


def test_a_refusal_for_a_bad_message_comes_before_the_quota(mailbox, people):
    for n in range(RATE):
        kennisgeving(mailbox, people.shv, [people.se, people.se2][n % 2])
    stranger = type("Stranger", (), {"id": "00000000-0000-4000-8000-000000000000"})
    with pytest.raises(UnknownRecipient):
        kennisgeving(mailbox, people.shv, stranger)


def test_expired_messages_leave_the_mailbox(mailbox, people, clock):
    for _ in range(LIMIT):
        kennisgeving(mailbox, people.shv, people.se)
    clock.advance(dt.timedelta(days=30))
    assert mailbox.purge().expired == LIMIT
    kennisgeving(mailbox, people.shv, people.se)


def test_zero_switches_the_quotas_off(sessions, keyring, clock, people):
    mailbox = Mailbox(sessions, keyring, Settings(send_rate=0, mailbox_limit=0), clock)
    for _ in range(max(RATE, LIMIT) + 2):
        kennisgeving(mailbox, people.shv, people.se)
    assert mailbox.list_pending(people.se.id, SR).backlog == max(RATE, LIMIT) + 2


@pytest.mark.parametrize(("rate", "limit", "refusal"), [(RATE, 0, RateLimited),
                                                        (0, LIMIT, MailboxFull)])
def test_each_quota_on_its_own(sessions, keyring, clock, people, rate, limit, refusal):
    mailbox = Mailbox(sessions, keyring, Settings(send_rate=rate, mailbox_limit=limit), clock)
    for _ in range(rate or limit):
        kennisgeving(mailbox, people.shv, people.se)
    with pytest.raises(refusal):
        kennisgeving(mailbox, people.shv, people.se)


def test_refusals_are_counted_by_kind_and_module(sessions, keyring, clock, people, settings):
    metrics = Metrics(sessions, clock)
    mailbox = Mailbox(sessions, keyring, settings, clock, metrics=metrics)
    for _ in range(LIMIT):
        kennisgeving(mailbox, people.shv, people.se)
    with pytest.raises(MailboxFull):
        kennisgeving(mailbox, people.kredietbank, people.se)
    kennisgeving(mailbox, people.shv, people.se2)
    for _ in range(2):
        with pytest.raises(RateLimited):
            kennisgeving(mailbox, people.shv, people.se2)
    refusals = {(s.labels["kind"], s.labels["module"]): s.value
                for family in metrics.registry.collect() if family.name == "skp_quota_refusals"
                for s in family.samples if s.name == "skp_quota_refusals_total"}
    assert refusals[("rate", SR.value)] == 2
    assert refusals[("mailbox", SR.value)] == 1
    assert refusals[("rate", SI.value)] == 0


def test_concurrent_senders_lose_nothing_and_overshoot_by_less_than_their_number(
        sessions, keyring, clock, people):
    """Sends at the same moment do not see each other's rows: together they may pass the
    mailbox limit by fewer than their number (on SQLite, whose writers take turns, never)."""
    threads_n, limit = 6, 10
    mailbox = Mailbox(sessions, keyring, Settings(send_rate=0, mailbox_limit=limit), clock)
    senders = [people.shv, people.kredietbank]
    accepted: list[str] = []
    refused: list[QuotaExceeded] = []
    errors: list[Exception] = []

    def go(n):
        for i in range(5):
            try:
                receipt = kennisgeving(mailbox, senders[n % 2], people.se, kenmerk=f"C-{n}-{i}")
                accepted.append(receipt.message_id)
            except QuotaExceeded as exc:
                refused.append(exc)
            except Exception as exc:  # anything else fails the test
                errors.append(exc)

    threads = [threading.Thread(target=go, args=(n,)) for n in range(threads_n)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not errors, errors
    assert len(accepted) + len(refused) == threads_n * 5
    assert limit <= len(accepted) < limit + threads_n
    if sessions.kw["bind"].dialect.name == "sqlite":
        assert len(accepted) == limit
    assert all(isinstance(r, MailboxFull) for r in refused)
    assert stored(sessions) == len(accepted)
    delivered = set()
    while (delivery := mailbox.fetch_next(people.se.id, SR)) is not None:
        mailbox.confirm(people.se.id, delivery.info.id)
        delivered.add(delivery.info.id)
    assert delivered == set(accepted)
