"""The mailbox service on a real database (SQLite file and PostgreSQL)."""

from __future__ import annotations

import datetime as dt
import threading
import uuid

import pytest
from sqlalchemy import select, text

from skp.config import Settings
from skp.domain.catalogue import lookup
from skp.domain.examples import example_body
from skp.domain.lifecycle import State
from skp.domain.roles import Module
from skp.errors import (
    InvalidReply,
    InvalidState,
    KenmerkConflict,
    NotAllowed,
    NotFound,
    SchemaInvalid,
    TooLarge,
    Unavailable,
    UnknownRecipient,
)
from skp.mailbox import LogQuery, Mailbox
from skp.metrics import NullMetrics
from skp.store.db import make_engine, make_sessions
from skp.store.models import ClaimContext, Message
from tests.functional.test_documents import BIG, melding, segments
from tests.helpers import saldoverzoek, send

SR = Module.SCHULDREGELING


def row(sessions, message_id):
    with sessions() as session:
        return session.get(Message, message_id)


def test_send_list_fetch_confirm(mailbox, people, sessions):
    receipt = send(mailbox, people.shv, people.se, SR, "Kennisgeving")
    assert receipt.deadline > receipt.received_at

    page = mailbox.list_pending(people.se.id, SR)
    assert [m.id for m in page.items] == [receipt.message_id]
    assert page.backlog == 1
    assert page.items[0].type_code == "Kennisgeving"
    assert page.items[0].sender_id == people.shv.id

    delivery = mailbox.fetch(people.se.id, receipt.message_id)
    expected = example_body(lookup(SR, "Kennisgeving"))
    assert delivery.body["Klant"]["Achternaam"] == expected["Klant"]["Achternaam"]
    assert delivery.info.state is State.FETCHED
    again = mailbox.fetch(people.se.id, receipt.message_id)  # repeatable until confirmed
    assert again.body == delivery.body

    info = mailbox.confirm(people.se.id, receipt.message_id)
    assert info.state is State.CONFIRMED
    stored = row(sessions, receipt.message_id)
    assert (stored.ciphertext, stored.nonce, stored.wrapped_key, stored.kek_id) == (
        None, None, None, None)
    assert mailbox.list_pending(people.se.id, SR).backlog == 0
    with pytest.raises(InvalidState):
        mailbox.fetch(people.se.id, receipt.message_id)


def test_send_is_idempotent_on_kenmerk(mailbox, people, sessions):
    first = send(mailbox, people.shv, people.se, SR, "Kennisgeving", kenmerk="SHV-2026-0001")
    second = send(mailbox, people.shv, people.se, SR, "Kennisgeving", kenmerk="SHV-2026-0001")
    assert second.message_id == first.message_id
    assert second.repeated and not first.repeated
    assert second.received_at == first.received_at
    with sessions() as session:
        assert session.scalar(select(Message.id).where(Message.kenmerk == "SHV-2026-0001")
                              .with_only_columns(text("count(*)"))) == 1
    with pytest.raises(KenmerkConflict):
        send(mailbox, people.shv, people.se, SR, "Saldoverzoek", kenmerk="SHV-2026-0001")
    # The same Kenmerk from another sender is another message.
    other = send(mailbox, people.kredietbank, people.se, SR, "Kennisgeving",
                 kenmerk="SHV-2026-0001")
    assert other.message_id != first.message_id


# A Kennisgeving's INSERT skips a used Kenmerk; a Saldoverzoek's transaction loses the race on
# PostgreSQL with an IntegrityError, answered as a repeat too.
@pytest.mark.parametrize("code", ["Kennisgeving", "Saldoverzoek"])
def test_concurrent_repeats_store_one_message(mailbox, people, sessions, code):
    body = saldoverzoek(["F-1"]) if code == "Saldoverzoek" else None
    receipts, errors = [], []

    def go():
        try:
            receipts.append(send(mailbox, people.shv, people.se, SR, code, body, kenmerk="RACE-1"))
        except Exception as exc:
            errors.append(exc)

    threads = [threading.Thread(target=go) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    assert len({r.message_id for r in receipts}) == 1
    assert sum(not r.repeated for r in receipts) == 1
    assert mailbox.list_pending(people.se.id, SR).backlog == 1
    with sessions() as session:
        contexts = session.scalar(select(text("count(*)")).select_from(ClaimContext))
    assert contexts == (code == "Saldoverzoek")


@pytest.mark.parametrize("first, then", [("Kennisgeving", "Saldoverzoek"),
                                         ("Saldoverzoek", "Kennisgeving")])
def test_repeat_and_conflict_on_either_way(mailbox, people, first, then):
    """A Kennisgeving is stored in one statement, a Saldoverzoek in a transaction: each
    answers a repeat of itself and refuses the other's Kenmerk."""
    sent = send(mailbox, people.shv, people.se, SR, first, kenmerk="BOTH-1")
    again = send(mailbox, people.shv, people.se, SR, first, kenmerk="BOTH-1")
    assert (again.message_id, again.received_at, again.deadline) == (
        sent.message_id, sent.received_at, sent.deadline)
    assert again.repeated
    with pytest.raises(KenmerkConflict) as conflict:
        send(mailbox, people.shv, people.se, SR, then, kenmerk="BOTH-1")
    assert conflict.value.message_id == sent.message_id
    with pytest.raises(KenmerkConflict):  # the same type to another recipient
        send(mailbox, people.shv, people.se2, SR, first, kenmerk="BOTH-1")
    assert mailbox.list_pending(people.se.id, SR).backlog == 1
    assert mailbox.list_pending(people.se2.id, SR).backlog == 0


@pytest.mark.parametrize("code", ["Kennisgeving", "Saldoverzoek"])
def test_repeat_is_answered_before_the_checks(mailbox, people, participants, code):
    """A repeat gets its receipt although the message would now be refused: the recipient
    is no longer active, the body is invalid."""
    sent = send(mailbox, people.shv, people.se, SR, code, kenmerk="LATE-1")
    assert send(mailbox, people.shv, people.se, SR, code, kenmerk="LATE-1",
                body={"Onbekend": "x"}).message_id == sent.message_id
    participants.deactivate(people.se.id)
    repeat = send(mailbox, people.shv, people.se, SR, code, kenmerk="LATE-1")
    assert (repeat.message_id, repeat.repeated) == (sent.message_id, True)
    with pytest.raises(UnknownRecipient):  # a new Kenmerk is checked
        send(mailbox, people.shv, people.se, SR, code, kenmerk="LATE-2")


def test_only_the_recipient_fetches_and_confirms(mailbox, people):
    receipt = send(mailbox, people.shv, people.se, SR, "Kennisgeving")
    for intruder in (people.se2, people.shv, people.wsk):
        with pytest.raises(NotFound):
            mailbox.fetch(intruder.id, receipt.message_id)
        with pytest.raises(NotFound):
            mailbox.confirm(intruder.id, receipt.message_id)
        assert mailbox.list_pending(intruder.id, SR).backlog == 0
    with pytest.raises(NotFound):
        mailbox.fetch(people.se.id, "not-a-uuid")
    assert mailbox.fetch(people.se.id, receipt.message_id).info.id == receipt.message_id


def test_confirm_needs_fetch_and_is_idempotent(mailbox, people):
    receipt = send(mailbox, people.shv, people.se, SR, "Kennisgeving")
    with pytest.raises(InvalidState, match="fetch the message before confirming"):
        mailbox.confirm(people.se.id, receipt.message_id)
    mailbox.fetch(people.se.id, receipt.message_id)
    first = mailbox.confirm(people.se.id, receipt.message_id)
    second = mailbox.confirm(people.se.id, receipt.message_id)
    assert first.confirmed_at == second.confirmed_at
    assert second.state is State.CONFIRMED


class Counted(NullMetrics):
    """The mailbox's first fetches and confirms, by message type."""

    def __init__(self) -> None:
        self.fetches: list[str] = []
        self.confirms: list[str] = []

    def fetched(self, module, type_code):
        self.fetches.append(type_code)

    def confirmed(self, module, type_code):
        self.confirms.append(type_code)


def expire(sessions, message_id):
    """Put the message's fetch deadline in the past (the purge has not come by yet)."""
    with sessions.begin() as session:
        session.get(Message, message_id).deadline_at = dt.datetime(2000, 1, 1, tzinfo=dt.UTC)


def test_fetch_many_fetches_those_still_waiting_in_the_order_given_without_documents(
        sessions, keyring, settings, clock, people):
    counted = Counted()
    mailbox = Mailbox(sessions, keyring, settings, clock, metrics=counted)
    queued, fetched, confirmed, expired, others = (
        send(mailbox, people.shv, people.se, SR, "Kennisgeving").message_id for _ in range(5))
    document = melding(mailbox, people)
    mine_elsewhere = send(mailbox, people.shv, people.se2, SR, "Kennisgeving").message_id
    mailbox.fetch(people.se.id, fetched)
    mailbox.fetch(people.se.id, confirmed)
    mailbox.confirm(people.se.id, confirmed)
    expire(sessions, expired)
    counted.fetches.clear()
    asked = [document, expired, fetched, "not-a-uuid", queued, mine_elsewhere, confirmed,
             queued, str(uuid.uuid4())]
    deliveries = mailbox.fetch_many(people.se.id, asked)
    assert [d.info.id for d in deliveries] == [document, fetched, queued]
    assert [d.info.state for d in deliveries] == [State.FETCHED] * 3
    single = mailbox.fetch(people.se.id, queued)  # as a fetch of one delivers it
    assert (deliveries[2].body, deliveries[2].info) == (single.body, single.info)
    assert deliveries[0].body["Beschikking"] is None  # left out, not read
    assert mailbox.fetch(people.se.id, document).body["Beschikking"].read() == BIG
    assert counted.fetches == ["MeldingStartBewind", "Kennisgeving"]  # first fetches only
    assert row(sessions, mine_elsewhere).state is State.QUEUED
    assert row(sessions, others).state is State.QUEUED
    assert mailbox.fetch_many(people.se.id, []) == []


def test_confirm_many_confirms_those_fetched(sessions, keyring, settings, clock, people):
    counted = Counted()
    mailbox = Mailbox(sessions, keyring, settings, clock, metrics=counted)
    fetched, queued, confirmed, expired = (
        send(mailbox, people.shv, people.se, SR, "Kennisgeving").message_id for _ in range(4))
    document = melding(mailbox, people)
    theirs = send(mailbox, people.shv, people.se2, SR, "Kennisgeving").message_id
    for message_id in (fetched, confirmed, expired, document):
        mailbox.fetch(people.se.id, message_id)
    mailbox.fetch(people.se2.id, theirs)
    mailbox.confirm(people.se.id, confirmed)
    expire(sessions, expired)
    counted.confirms.clear()
    asked = [fetched, queued, confirmed, expired, document, theirs, "not-a-uuid", fetched]
    assert mailbox.confirm_many(people.se.id, asked) == 2
    assert sorted(counted.confirms) == ["Kennisgeving", "MeldingStartBewind"]
    for message_id in (fetched, document):
        stored = row(sessions, message_id)
        assert stored.state is State.CONFIRMED and stored.ciphertext is None
    assert segments(sessions, document) == []
    assert [row(sessions, m).state for m in (queued, expired, theirs)] == [
        State.QUEUED, State.FETCHED, State.FETCHED]
    assert mailbox.confirm_many(people.se.id, asked) == 0  # a repeat confirms nothing more


def test_status_shows_each_stage_to_the_sender_only(mailbox, people, clock):
    receipt = send(mailbox, people.shv, people.se, SR, "Saldoverzoek", kenmerk="SV-1")
    assert mailbox.status(people.shv.id, message_id=receipt.message_id).state is State.QUEUED
    clock.advance(dt.timedelta(hours=1))
    mailbox.fetch(people.se.id, receipt.message_id)
    fetched = mailbox.status(people.shv.id, kenmerk="SV-1")
    assert fetched.state is State.FETCHED
    assert fetched.fetched_at == clock.now()
    mailbox.confirm(people.se.id, receipt.message_id)
    assert mailbox.status(people.shv.id, kenmerk="SV-1").state is State.CONFIRMED
    with pytest.raises(NotFound):
        mailbox.status(people.se.id, message_id=receipt.message_id)
    with pytest.raises(NotFound):
        mailbox.status(people.se2.id, kenmerk="SV-1")


def test_unknown_or_inactive_recipient(mailbox, people, participants):
    from types import SimpleNamespace

    ghost = SimpleNamespace(id="5f1b8b9e-0000-4000-8000-000000000000")
    with pytest.raises(UnknownRecipient):
        send(mailbox, people.shv, ghost, SR, "Kennisgeving")
    participants.deactivate(people.se2.id)
    with pytest.raises(UnknownRecipient):
        send(mailbox, people.shv, people.se2, SR, "Kennisgeving")


def test_routing_refusals_reach_the_caller(mailbox, people):
    with pytest.raises(NotAllowed):  # creditor uses the BSN: Kennisgeving Publiek instead
        send(mailbox, people.shv, people.se_bsn, SR, "Kennisgeving")
    with pytest.raises(SchemaInvalid, match="no message type"):
        send(mailbox, people.shv, people.se, Module.WAARBORGFONDS, "Kennisgeving",
             body={})
    with pytest.raises(SchemaInvalid):
        send(mailbox, people.shv, people.se, SR, "Kennisgeving", body={"Onbekend": "x"})


def test_reply_to_a_message_of_someone_else(mailbox, people):
    request = send(mailbox, people.shv, people.se, SR, "Saldoverzoek")
    original = mailbox.status(people.shv.id, message_id=request.message_id)
    with pytest.raises(InvalidReply):
        send(mailbox, people.se2, people.shv, SR, "GeenMedewerking", reply_to=original)
    reply = send(mailbox, people.se, people.shv, SR, "GeenMedewerking", reply_to=original)
    assert mailbox.fetch(people.shv.id, reply.message_id).info.cross_reference_id == (
        request.message_id)


def test_non_matched_reply_gets_zero_amount_lines(mailbox, people, sessions):
    request = send(mailbox, people.shv, people.se, SR, "Saldoverzoek",
                   body=saldoverzoek(["F-1", "F-2", "F-3"]))
    with sessions() as session:
        assert session.get(ClaimContext, request.message_id) is not None
    original = mailbox.fetch(people.se.id, request.message_id).info
    mailbox.confirm(people.se.id, request.message_id)
    answer = {"Datum": "2026-11-24", "Matching": "NIET_GEMATCHT",
              "OngematchteSchulden": {"Totaalvordering": {"Referentie": "TOT-9",
                                                          "Bedrag": "1234.56"}}}
    reply = send(mailbox, people.se, people.shv, SR, "SaldoverzoekAntwoord", body=answer,
                 reply_to=original)

    body = mailbox.fetch(people.shv.id, reply.message_id).body
    assert body["OngematchteSchulden"]["Totaalvordering"]["Bedrag"] == "1234.56"
    assert body["Vorderingen"] == [
        {"FactuurnummerSEVolgensSHV": claim, "Openstaand": "0.00", "AutomatischAangevuld": True}
        for claim in ("F-1", "F-2", "F-3")
    ]
    with sessions() as session:  # the reply ends the sealed claim context
        assert session.get(ClaimContext, request.message_id) is None


def test_matched_reply_is_delivered_as_sent(mailbox, people):
    request = send(mailbox, people.shv, people.se, SR, "Saldoverzoek",
                   body=saldoverzoek(["F-1"]))
    original = mailbox.status(people.shv.id, message_id=request.message_id)
    answer = {"Datum": "2026-11-24", "Matching": "GEMATCHT",
              "Vorderingen": [{"FactuurnummerSEVolgensSHV": "F-1", "Openstaand": "10"}]}
    reply = send(mailbox, people.se, people.shv, SR, "SaldoverzoekAntwoord", body=answer,
                 reply_to=original)
    body = mailbox.fetch(people.shv.id, reply.message_id).body
    assert body["Vorderingen"] == [{"FactuurnummerSEVolgensSHV": "F-1", "Openstaand": "10.00"}]


def test_list_pages_oldest_first_with_type_filter(mailbox, people, clock):
    ids = []
    for i in range(7):
        clock.advance(dt.timedelta(minutes=1))
        code = "Kennisgeving" if i % 2 == 0 else "Saldoverzoek"
        ids.append(send(mailbox, people.shv, people.se, SR, code).message_id)
    seen, after = [], None
    while True:
        page = mailbox.list_pending(people.se.id, SR, limit=3, after=after)
        assert page.backlog == 7
        seen += [m.id for m in page.items]
        if page.next_after is None:
            break
        after = page.next_after
    assert seen == ids
    only = mailbox.list_pending(people.se.id, SR, type_code="Saldoverzoek")
    assert [m.id for m in only.items] == ids[1::2]
    assert only.backlog == 3
    assert mailbox.list_pending(people.se.id, Module.SCHULDINVENTARISATIE).backlog == 0


def test_logbook_shows_own_traffic_only(mailbox, people):
    a = send(mailbox, people.shv, people.se, SR, "Kennisgeving").message_id
    b = send(mailbox, people.shv, people.se2, SR, "Kennisgeving").message_id
    c = send(mailbox, people.shv1, people.se, Module.SCHULDINVENTARISATIE,
             "Saldoverzoek").message_id
    assert {m.id for m in mailbox.logbook(people.shv.id, LogQuery())} == {a, b}
    assert {m.id for m in mailbox.logbook(people.se.id, LogQuery())} == {a, c}
    assert {m.id for m in mailbox.logbook(people.se.id, LogQuery(direction="sent"))} == set()
    assert [m.id for m in mailbox.logbook(
        people.shv.id, LogQuery(counterpart_id=people.se2.id))] == [b]
    assert [m.id for m in mailbox.logbook(
        people.se.id, LogQuery(module=Module.SCHULDINVENTARISATIE))] == [c]


def test_too_large(sessions, keyring, clock, people):
    small = Mailbox(sessions, keyring, Settings(max_message_bytes=300), clock)
    with pytest.raises(TooLarge):
        send(small, people.shv, people.se, SR, "Kennisgeving", text="x" * 150)
    assert small.list_pending(people.se.id, SR).backlog == 0


def test_database_down_is_unavailable(keyring, clock):
    engine = make_engine("postgresql+psycopg://postgres@127.0.0.1:9/test",
                         connect_args={"connect_timeout": 2})
    mailbox = Mailbox(make_sessions(engine), keyring, Settings(), clock)
    with pytest.raises(Unavailable):
        mailbox.list_pending("5f1b8b9e-0000-4000-8000-000000000000", SR)
    engine.dispose()


def test_backlog_is_counted_up_to_the_limit(mailbox, people, monkeypatch):
    monkeypatch.setattr("skp.mailbox.delivery.BACKLOG_COUNT_LIMIT", 3)
    for _ in range(5):
        send(mailbox, people.shv, people.se, SR, "Kennisgeving")
    page = mailbox.list_pending(people.se.id, SR, limit=2)
    assert page.backlog == 3
    assert len(page.items) == 2 and page.next_after is not None
