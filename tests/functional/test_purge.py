"""Retention: the purge deletes exactly what is due at a frozen ``now`` and keeps metadata."""

from __future__ import annotations

import datetime as dt

import pytest

from skp.domain.calendar import AMSTERDAM
from skp.domain.lifecycle import State
from skp.domain.roles import Module
from skp.errors import InvalidState
from skp.mailbox import LogQuery
from skp.store.models import ClaimContext, Message
from tests.helpers import saldoverzoek, send

SR = Module.SCHULDREGELING


def local(*args):
    return dt.datetime(*args, tzinfo=AMSTERDAM)


def stored(sessions, message_id):
    with sessions() as session:
        return session.get(Message, message_id)


def test_purge_deletes_exactly_what_is_due(mailbox, people, participants, sessions, clock):
    participants.set_extension(people.se2.id, 7)
    # Received Monday 23 Nov 2026: the 4th working day after is Friday 27 Nov.
    queued = send(mailbox, people.shv, people.se, SR, "Kennisgeving").message_id
    fetched = send(mailbox, people.shv, people.se, SR, "Kennisgeving").message_id
    confirmed = send(mailbox, people.shv, people.se, SR, "Kennisgeving").message_id
    extended = send(mailbox, people.shv, people.se2, SR, "Kennisgeving").message_id
    mailbox.fetch(people.se.id, fetched)
    mailbox.fetch(people.se.id, confirmed)
    mailbox.confirm(people.se.id, confirmed)
    assert stored(sessions, queued).deadline_at == local(2026, 11, 28)
    assert stored(sessions, extended).deadline_at == local(2026, 12, 5)

    assert mailbox.purge(local(2026, 11, 27, 23, 59, 59)).expired == 0
    result = mailbox.purge(local(2026, 11, 28))
    assert result.expired == 2
    for message_id in (queued, fetched):
        row = stored(sessions, message_id)
        assert row.state is State.EXPIRED
        assert row.expired_at == local(2026, 11, 28)
        assert row.ciphertext is None and row.wrapped_key is None
        assert row.kenmerk and row.type_code == "Kennisgeving"  # metadata stays
    assert stored(sessions, confirmed).state is State.CONFIRMED
    assert stored(sessions, extended).state is State.QUEUED
    assert mailbox.status(people.shv.id, message_id=queued).state is State.EXPIRED

    assert mailbox.purge(local(2026, 12, 5)).expired == 1
    assert stored(sessions, extended).state is State.EXPIRED
    assert mailbox.purge(local(2026, 12, 5)).expired == 0  # idempotent


def test_nothing_is_delivered_past_the_deadline(mailbox, people, clock):
    receipt = send(mailbox, people.shv, people.se, SR, "Kennisgeving")
    clock.set(receipt.deadline)
    assert mailbox.list_pending(people.se.id, SR).backlog == 0
    assert mailbox.fetch_next(people.se.id, SR) is None
    with pytest.raises(InvalidState, match="deadline"):
        mailbox.fetch(people.se.id, receipt.message_id)


def test_past_the_deadline_fetch_and_confirm_are_refused_alike(mailbox, people, sessions,
                                                                clock):
    """Between the deadline and the purge: the recipient can neither fetch nor confirm, with
    the same fault, and the message stays as it was until the purge expires it."""
    receipt = send(mailbox, people.shv, people.se, SR, "Kennisgeving")
    mailbox.fetch(people.se.id, receipt.message_id)
    clock.set(receipt.deadline)
    refusals = []
    for call in (mailbox.fetch, mailbox.confirm, mailbox.confirm):  # the fast way, the long way
        with pytest.raises(InvalidState) as refused:
            call(people.se.id, receipt.message_id)
        refusals.append((refused.value.code, refused.value.message))
    assert refusals == [("Client.InvalidState", "the message passed its deadline unconfirmed: "
                         "it expired and its content is deleted")] * 3
    assert stored(sessions, receipt.message_id).state is State.FETCHED
    # The sender sees it expired at once, in Status and Logboek, as the recipient was told.
    assert mailbox.status(people.shv.id, message_id=receipt.message_id).state is State.EXPIRED
    assert [m.state for m in mailbox.logbook(people.shv.id, LogQuery())] == [State.EXPIRED]
    assert mailbox.purge(receipt.deadline).expired == 1
    assert mailbox.status(people.shv.id, message_id=receipt.message_id).state is State.EXPIRED
    with pytest.raises(InvalidState) as after_purge:
        mailbox.confirm(people.se.id, receipt.message_id)
    assert (after_purge.value.code, after_purge.value.message) == refusals[0]


def test_purge_runs_in_bounded_batches(mailbox, people, sessions):
    ids = [send(mailbox, people.shv, people.se, SR, "Kennisgeving").message_id
           for _ in range(7)]
    result = mailbox.purge(local(2026, 12, 1), batch_size=3)
    assert result.expired == 7
    assert {stored(sessions, i).state for i in ids} == {State.EXPIRED}


def test_claim_context_ends_with_the_reply_period(mailbox, people, sessions):
    request = send(mailbox, people.shv, people.se, SR, "Saldoverzoek",
                   body=saldoverzoek(["F-1"])).message_id
    with sessions() as session:
        expires = session.get(ClaimContext, request).expires_at
    # 10 working days after Monday 23 Nov 2026: Monday 7 Dec, so the end of that day.
    assert expires == local(2026, 12, 8)
    assert mailbox.purge(local(2026, 12, 7, 23)).contexts == 0
    assert mailbox.purge(local(2026, 12, 8)).contexts == 1
    with sessions() as session:
        assert session.get(ClaimContext, request) is None


def test_metadata_is_deleted_after_the_retention_period(mailbox, people, sessions, settings):
    old = send(mailbox, people.shv, people.se, SR, "Kennisgeving").message_id
    mailbox.fetch(people.se.id, old)
    mailbox.confirm(people.se.id, old)
    received = stored(sessions, old).received_at
    horizon = received + settings.metadata_retention
    assert mailbox.purge(horizon - dt.timedelta(seconds=1)).metadata == 0
    assert stored(sessions, old) is not None
    assert mailbox.purge(horizon).metadata == 1
    assert stored(sessions, old) is None
