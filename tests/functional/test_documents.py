"""Documents: through the SOAP service byte for byte, refused when their base64 is broken;
in the mailbox sealed apart in segments, opened only when whole and unaltered, deleted with
the content."""

from __future__ import annotations

import base64
import datetime as dt
import json
import os
import re
import uuid
from pathlib import Path
from urllib.parse import quote

import pytest
import zeep
from lxml import etree
from sqlalchemy import delete, select, update

from skp import sealing
from skp.attachments import SEGMENT_BYTES
from skp.client import for_zeep
from skp.domain.admission import Standing
from skp.domain.catalogue import lookup
from skp.domain.examples import example_body
from skp.domain.roles import ROLE_MODULES, Module, Role
from skp.errors import IntegrityError, InvalidState
from skp.mailbox.content import aad as _aad
from skp.store.models import Message, MessageSegment
from tests.helpers import send, wsgi_call

MODULE = Module.SCHULDINVENTARISATIE
WSDL = Path(__file__).resolve().parents[2] / "wsdl" / f"{MODULE.value}.wsdl"
#: Several of the 8 KiB chunks spyne reads a request in, with every byte value.
DOCUMENT = os.urandom(300_000) + bytes(range(256))


@pytest.fixture(scope="module")
def soap():
    return zeep.Client(str(WSDL))


@pytest.fixture
def parties(app, ca):
    """Certificate headers of a bewindvoerder and a schuldeiser, and their ids."""
    found = {}
    for name, role in (("bewind", Role.BEWINDVOERDER), ("se", Role.SE)):
        info = app.hub.participants.add(standing=Standing.ACTIVE,
                                        name=name, role=role, modules=ROLE_MODULES[role])
        pem = ca.issue_cert(f"{name}.skp.test").cert_chain_pems[0].bytes()
        app.hub.participants.add_certificate(info.id, pem)
        found[name] = (info.id, quote(pem.decode()))
    return found


def post(app, soap, cert, operation, **arguments):
    element = soap.create_message(soap.service, operation, **arguments)
    body = etree.tostring(element, xml_declaration=True, encoding="utf-8")
    code, _, answer = wsgi_call(app, body=body, PATH_INFO=f"/{MODULE.value}",
                                HTTP_SOAPACTION=f'"{operation}"', HTTP_X_SSL_CLIENT_CERT=cert)
    return code, answer


def saldoverzoek(recipient):
    mt = lookup(MODULE, "Saldoverzoek")
    body = for_zeep(mt, {**example_body(mt, sender_role=Role.BEWINDVOERDER),
                         "Beschikking": DOCUMENT})
    header = {"Kenmerk": f"K-{uuid.uuid4().hex[:12]}", "Ontvanger": recipient,
              "ConversatieReferentienummer": str(uuid.uuid4())}
    return {"Header": header, "Bericht": body}


def test_a_document_survives_send_and_fetch_byte_for_byte(app, soap, parties):
    (_, sender), (recipient, receiver) = parties["bewind"], parties["se"]
    code, answer = post(app, soap, sender, "VerstuurSaldoverzoek",
                        **saldoverzoek(recipient))
    assert code.startswith("200"), answer[:500]
    message_id = re.search(rb"BerichtId>([0-9a-f-]{36})<", answer).group(1).decode()
    code, answer = post(app, soap, receiver, "HaalBerichtOp", BerichtId=message_id)
    assert code.startswith("200")
    text = etree.fromstring(answer).findtext(".//{*}Beschikking")
    assert base64.b64decode(text, validate=True) == DOCUMENT


@pytest.mark.parametrize("text", [b"QUJ", b"QUJD=A==", b"===="])
def test_broken_base64_is_refused_as_before(app, soap, parties, text):
    (_, sender), (recipient, _) = parties["bewind"], parties["se"]
    element = soap.create_message(soap.service, "VerstuurSaldoverzoek",
                                  **saldoverzoek(recipient))
    request = etree.tostring(element, xml_declaration=True, encoding="utf-8")
    broken = re.sub(rb"(Beschikking>)[^<]+", rb"\g<1>" + text, request, count=1)
    code, _, answer = wsgi_call(app, body=broken, PATH_INFO=f"/{MODULE.value}",
                                HTTP_SOAPACTION='"VerstuurSaldoverzoek"',
                                HTTP_X_SSL_CLIENT_CERT=sender)
    assert code.startswith("500")
    assert b"<faultcode>soap:Client.SchemaInvalid</faultcode>" in answer
    assert (b"element VerstuurSaldoverzoek/Bericht/Beschikking has a value of the wrong "
            b"type; see the WSDL") in answer


# --- stored apart, in segments (the mailbox) ----------------------------------------------

MB = Module.MELDINGEN_BEWINDVOERING
#: Three segments of skp.attachments.SEGMENT_BYTES, the last one short.
BIG = os.urandom(2 * SEGMENT_BYTES + 1000)


def melding(mailbox, people, document=BIG, **kwargs):
    body = {**example_body(lookup(MB, "MeldingStartBewind"), sender_role=Role.BEWINDVOERDER),
            "Beschikking": document}
    return send(mailbox, people.bewind, people.se, MB, "MeldingStartBewind", body=body,
                **kwargs).message_id


def segments(sessions, message_id=None):
    query = select(MessageSegment).order_by(MessageSegment.document, MessageSegment.seq)
    if message_id is not None:
        query = query.where(MessageSegment.message_id == message_id)
    with sessions() as session:
        return [(s.message_id, s.document, s.seq, s.data) for s in session.scalars(query)]


def test_a_document_is_sealed_apart_in_segments_and_deleted_on_confirm(mailbox, people,
                                                                        sessions):
    message_id = melding(mailbox, people)
    with sessions() as session:
        row = session.get(Message, message_id)
        assert row.documents == 1
        assert len(row.ciphertext) < 2000  # the body, with a reference to the document
        assert row.size == len(row.ciphertext) - 16 + len(base64.b64encode(BIG))
    stored = segments(sessions, message_id)
    assert [(d, s) for _, d, s, _ in stored] == [(0, 0), (0, 1), (0, 2)]
    assert [len(data) for *_, data in stored] == [SEGMENT_BYTES, SEGMENT_BYTES, 1000]
    assert BIG[:64] not in b"".join(data for *_, data in stored)

    delivery = mailbox.fetch(people.se.id, message_id)
    assert delivery.body["Beschikking"].read() == BIG
    assert mailbox.fetch(people.se.id, message_id).body["Beschikking"].read() == BIG  # again
    mailbox.confirm(people.se.id, message_id)
    assert segments(sessions) == []


def test_fetch_next_opens_the_documents_too(mailbox, people, sessions):
    message_id = melding(mailbox, people)
    delivery = mailbox.fetch_next(people.se.id, MB)
    assert delivery.info.id == message_id
    assert delivery.body["Beschikking"].read() == BIG
    mailbox.confirm(people.se.id, message_id)
    assert mailbox.confirm(people.se.id, message_id).state.value == "confirmed"
    assert segments(sessions) == []


def test_a_repeated_send_stores_no_second_document(mailbox, people, sessions):
    first = melding(mailbox, people, kenmerk="K-DOC-1")
    assert melding(mailbox, people, kenmerk="K-DOC-1") == first
    assert {m for m, *_ in segments(sessions)} == {first}


def test_expiry_deletes_the_documents(mailbox, people, sessions, clock):
    message_id = melding(mailbox, people)
    deadline = mailbox.status(people.bewind.id, message_id=message_id).deadline
    assert mailbox.purge(deadline + dt.timedelta(seconds=1)).expired == 1
    assert segments(sessions) == []


def test_documents_swapped_between_messages_fail_to_open(mailbox, people, sessions):
    a, b = melding(mailbox, people), melding(mailbox, people, document=os.urandom(1000))
    with sessions.begin() as session:
        session.execute(update(MessageSegment).where(MessageSegment.message_id == b)
                        .values(message_id=a, seq=MessageSegment.seq + 10))
        session.execute(update(MessageSegment).where(MessageSegment.message_id == a,
                                                     MessageSegment.seq < 10)
                        .values(message_id=b))
        session.execute(update(MessageSegment).where(MessageSegment.message_id == a)
                        .values(seq=MessageSegment.seq - 10))
    for message_id in (a, b):
        with pytest.raises(IntegrityError):
            mailbox.fetch(people.se.id, message_id)


def test_a_missing_segment_fails_to_open(mailbox, people, sessions):
    message_id = melding(mailbox, people)
    with sessions.begin() as session:
        session.execute(delete(MessageSegment).where(MessageSegment.seq == 2))
    with pytest.raises(IntegrityError):
        mailbox.fetch(people.se.id, message_id)


def test_documents_gone_meanwhile_are_refused_not_half_delivered(mailbox, people, sessions):
    message_id = melding(mailbox, people)
    with sessions.begin() as session:  # as a confirm between the fetch and its segments
        session.execute(delete(MessageSegment))
    with pytest.raises(InvalidState):
        mailbox.fetch(people.se.id, message_id)


def test_a_message_stored_with_its_document_inline_still_opens(mailbox, people, sessions,
                                                                keyring):
    """Messages sent before documents were stored apart hold them as base64 in the body."""
    message_id = melding(mailbox, people, document=b"%PDF-1")
    with sessions.begin() as session:
        row = session.get(Message, message_id)
        body = {**example_body(lookup(MB, "MeldingStartBewind"),
                               sender_role=Role.BEWINDVOERDER),
                "Beschikking": base64.b64encode(BIG).decode()}
        body["Ingangsdatum"] = str(body["Ingangsdatum"])
        payload = json.dumps(body).encode()
        row.size, row.documents = len(payload), 0
        sealed = sealing.seal(payload, _aad(row), keyring)
        row.nonce, row.ciphertext = sealed.nonce, sealed.ciphertext
        row.wrapped_key, row.kek_id = sealed.wrapped_key, sealed.kek_id
        session.execute(delete(MessageSegment))
    assert mailbox.fetch(people.se.id, message_id).body["Beschikking"].read() == BIG
