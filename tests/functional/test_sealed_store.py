"""Content at rest: sealed, bound to its metadata, rotatable, and never readable in a dump."""

from __future__ import annotations

import base64
import datetime as dt
import logging
import threading
import uuid

import pytest
from sqlalchemy import select, text, update

from skp.domain.catalogue import lookup
from skp.domain.examples import example_body
from skp.domain.roles import Module, Role
from skp.errors import IntegrityError
from skp.mailbox import Mailbox
from skp.store.models import Base, ClaimContext, Message
from tests.helpers import saldoverzoek, send, send_every_type

SR = Module.SCHULDREGELING
MB = Module.MELDINGEN_BEWINDVOERING
CANARY = "CANARY-7f3a9c-Jansen"


def content(sessions, message_id):
    with sessions() as session:
        row = session.get(Message, message_id)
        return row.nonce, row.ciphertext, row.wrapped_key, row.kek_id


def tamper(sessions, message_id, **values):
    with sessions.begin() as session:
        session.execute(update(Message).where(Message.id == message_id).values(**values))


@pytest.mark.parametrize("column", [
    "kenmerk", "type_code", "sender_id", "recipient_id", "conversation_id",
    "cross_reference_id", "version", "received_at", "size", "module",
])
def test_tampered_metadata_fails_to_open(column, mailbox, people, sessions):
    receipt = send(mailbox, people.shv, people.se, SR, "Kennisgeving")
    message = mailbox.status(people.shv.id, message_id=receipt.message_id)
    reader = people.se
    new = {
        "kenmerk": "ANDER-KENMERK", "type_code": "Saldoverzoek", "sender_id": people.se2.id,
        "recipient_id": people.se2.id, "conversation_id": str(uuid.uuid4()),
        "cross_reference_id": str(uuid.uuid4()), "version": "1.1",
        "received_at": message.received_at + dt.timedelta(seconds=1), "size": message.size + 1,
        "module": Module.SCHULDINVENTARISATIE,
    }[column]
    tamper(sessions, receipt.message_id, **{column: new})
    if column == "recipient_id":
        reader = people.se2
    with pytest.raises(IntegrityError):
        mailbox.fetch(reader.id, receipt.message_id)


@pytest.mark.parametrize("column", ["nonce", "ciphertext", "wrapped_key"])
def test_tampered_content_fails_to_open(column, mailbox, people, sessions):
    receipt = send(mailbox, people.shv, people.se, SR, "Kennisgeving")
    nonce, ciphertext, wrapped_key, _ = content(sessions, receipt.message_id)
    original = {"nonce": nonce, "ciphertext": ciphertext, "wrapped_key": wrapped_key}[column]
    flipped = bytes([original[0] ^ 1]) + original[1:]
    tamper(sessions, receipt.message_id, **{column: flipped})
    with pytest.raises(IntegrityError):
        mailbox.fetch(people.se.id, receipt.message_id)


def test_swapped_rows_fail_to_open(mailbox, people, sessions):
    a = send(mailbox, people.shv, people.se, SR, "Kennisgeving").message_id
    b = send(mailbox, people.shv, people.se, SR, "Kennisgeving").message_id
    sealed_a, sealed_b = content(sessions, a), content(sessions, b)
    names = ("nonce", "ciphertext", "wrapped_key", "kek_id")
    tamper(sessions, a, **dict(zip(names, sealed_b, strict=True)))
    tamper(sessions, b, **dict(zip(names, sealed_a, strict=True)))
    for message_id in (a, b):
        with pytest.raises(IntegrityError):
            mailbox.fetch(people.se.id, message_id)


def test_key_rotation_rewraps_keys_only(mailbox, people, sessions, keyring, settings, clock):
    ids = [send(mailbox, people.shv, people.se, SR, "Kennisgeving").message_id
           for _ in range(3)]
    ids.append(send(mailbox, people.shv, people.se, SR, "Saldoverzoek",
                    body=saldoverzoek(["F-1"])).message_id)
    document = b"%PDF" * 100_000  # stored apart, under the same data key
    melding = {**example_body(lookup(MB, "MeldingStartBewind"), sender_role=Role.BEWINDVOERDER),
               "Beschikking": document}
    ids.append(send(mailbox, people.bewind, people.se, MB, "MeldingStartBewind",
                    body=melding).message_id)
    before = {i: content(sessions, i) for i in ids}

    rotated = keyring.with_new_key()
    new_mailbox = Mailbox(sessions, rotated, settings, clock)
    assert new_mailbox.rewrap_keys(batch_size=2) == 6  # five messages and one claim context
    assert new_mailbox.rewrap_keys() == 0

    with sessions() as session:
        assert set(session.scalars(select(Message.kek_id))) == {rotated.current_id}
        assert set(session.scalars(select(ClaimContext.kek_id))) == {rotated.current_id}
    for i in ids:
        nonce, ciphertext, wrapped_key, _ = content(sessions, i)
        assert (nonce, ciphertext) == before[i][:2]  # ciphertext untouched
        assert wrapped_key != before[i][2]
    # The old ring no longer knows the key the data keys are wrapped with; the new one opens.
    with pytest.raises(IntegrityError):
        mailbox.fetch(people.se.id, ids[0])
    assert new_mailbox.fetch(people.se.id, ids[0]).info.id == ids[0]
    assert new_mailbox.fetch(people.se.id, ids[4]).body["Beschikking"].read() == document
    answer = {"Datum": "2026-11-24", "Matching": "NIET_GEMATCHT",
              "OngematchteSchulden": {"Totaalvordering": {"Referentie": "T", "Bedrag": "1"}}}
    reply = send(new_mailbox, people.se, people.shv, SR, "SaldoverzoekAntwoord", body=answer,
                 reply_to=new_mailbox.status(people.shv.id, message_id=ids[3]))
    lines = new_mailbox.fetch(people.shv.id, reply.message_id).body["Vorderingen"]
    assert [line["FactuurnummerSEVolgensSHV"] for line in lines] == ["F-1"]


def dump(engine):
    """Every value of every table, as the operator with the database would see it."""
    values = []
    with engine.connect() as conn:
        for table in Base.metadata.sorted_tables:
            for record in conn.execute(text(f"SELECT * FROM {table.name}")):
                values.extend(record)
    return values


def test_canary_is_nowhere_in_the_database_or_logs(mailbox, people, engine, caplog):
    caplog.set_level(logging.DEBUG)
    sent = send_every_type(mailbox, people, text=CANARY)
    claims = saldoverzoek([CANARY + "-F1"])
    send(mailbox, people.shv, people.se, SR, "Saldoverzoek", body=claims)
    document = CANARY.encode() * 30_000  # several segments, stored apart
    melding = {**example_body(lookup(MB, "MeldingStartBewind"), sender_role=Role.BEWINDVOERDER),
               "Beschikking": document}
    attached = send(mailbox, people.bewind, people.se, MB, "MeldingStartBewind", body=melding)
    assert mailbox.fetch(people.se.id, attached.message_id).body["Beschikking"].read() == (
        document)

    # The content really holds the canary: a recipient that fetches sees it.
    receipt = sent[(SR, "Kennisgeving")]
    assert CANARY in str(mailbox.fetch(people.se.id, receipt.message_id).body)

    needles = [CANARY.encode(), CANARY.encode().hex().encode(),
               base64.b64encode(CANARY.encode())]
    values = dump(engine)
    assert len(values) > 100
    for value in values:
        if isinstance(value, bytes | memoryview):
            raw = bytes(value)
            assert not any(needle in raw for needle in needles)
        else:
            assert CANARY not in str(value)
    assert CANARY not in caplog.text


@pytest.mark.parametrize("consumers", [4])
def test_concurrent_consumers_take_each_message_once(consumers, mailbox, people):
    ids = {send(mailbox, people.shv, people.se, SR, "Kennisgeving").message_id
           for _ in range(40)}
    taken: list[list[str]] = [[] for _ in range(consumers)]
    errors = []

    def consume(mine):
        try:
            while (delivery := mailbox.fetch_next(people.se.id, SR)) is not None:
                mailbox.confirm(people.se.id, delivery.info.id)
                mine.append(delivery.info.id)
        except Exception as exc:  # collected and asserted below
            errors.append(exc)

    threads = [threading.Thread(target=consume, args=(t,)) for t in taken]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors
    everything = [i for mine in taken for i in mine]
    assert len(everything) == len(set(everything)) == len(ids)
    assert set(everything) == ids
    assert mailbox.list_pending(people.se.id, SR).backlog == 0
