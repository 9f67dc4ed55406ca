"""skp's SOAP protocols read and write what spyne's own would: every answer byte for byte
(skp.soap.output; every operation, the fetch of every message type of every module, faults),
and every request into equal objects (skp.soap.protocol.HubSoap11.from_element; the send of
every message type with every field, and the other operations with their arguments)."""

from __future__ import annotations

import re
import uuid
from urllib.parse import quote

import pytest
from lxml import etree
from spyne.model.complex import ComplexModelBase
from sqlalchemy import select

from skp.client import for_zeep
from skp.domain.catalogue import CATALOGUE, message_types
from skp.domain.examples import example_body
from skp.domain.roles import Module
from skp.soap.output import HubOutSoap11
from skp.soap.protocol import HubSoap11, QuietSoap11
from skp.soap.types import namespace
from skp.store.models import Message
from tests.functional.test_soap_requests import zeep_client
from tests.helpers import cast, send, send_every_type, wsgi_call

ENVELOPE = ('<soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/"><soap:Body>'
            '<{op} xmlns="{ns}">{args}</{op}></soap:Body></soap:Envelope>')


@pytest.fixture
def certified(app, ca, people):
    """Every participant of ``people`` with a certificate: its header value, by id."""
    found = {}
    for name in dir(people):
        info = getattr(people, name)
        if getattr(info, "id", None) is None or info.id in found:
            continue
        pem = ca.issue_cert(f"{name.replace('_', '-')}.skp.test").cert_chain_pems[0].bytes()
        app.hub.participants.add_certificate(info.id, pem)
        found[info.id] = quote(pem.decode())
    return found


def both(app, monkeypatch, cert, module, op, args=""):
    """The answer to ``op`` written by skp's protocol and by spyne's: (status, body) each,
    a fault's request id (one per request) left out."""
    body = ENVELOPE.format(op=op, ns=namespace(module), args=args).encode()

    def call():
        code, _, answer = wsgi_call(app, body=body, PATH_INFO=f"/{module.value}",
                                    HTTP_SOAPACTION=f'"{op}"', HTTP_X_SSL_CLIENT_CERT=cert)
        return code, re.sub(rb"<fout:RequestId>[0-9a-f]+<", b"<fout:RequestId><", answer)

    ours = call()
    with monkeypatch.context() as patch:
        patch.setattr(HubOutSoap11, "to_parent", QuietSoap11.to_parent)
        spynes = call()
    return ours, spynes


def test_every_answer_is_written_as_spyne_writes_it(app, engine, people, certified,
                                                    monkeypatch):
    send_every_type(app.hub.mailbox, people)
    for types in CATALOGUE.values():  # and every field, repeated ones twice
        for mt in types.values():
            if not mt.is_reply:
                sender, recipient = cast(people, mt)
                send(app.hub.mailbox, sender, recipient, mt.module, mt.code,
                     body=doubled(example_body(mt, full=True, sender_role=sender.role)))
    with engine.connect() as conn:
        messages = conn.execute(select(Message.id, Message.module, Message.recipient_id,
                                       Message.sender_id, Message.kenmerk)).all()
    compared = 0
    for message in messages:
        recipient, sender = certified[message.recipient_id], certified[message.sender_id]
        module = message.module
        calls = [
            (recipient, "HaalBerichtOp", f"<BerichtId>{message.id}</BerichtId>"),
            (recipient, "Berichtenlijst", ""),
            (sender, "Status", f"<BerichtId>{message.id}</BerichtId>"),
            (sender, "Status", f"<Kenmerk>{message.kenmerk}</Kenmerk>"),
            (sender, "Logboek", ""),
            (sender, "Ping", "<Tekst>hoi</Tekst>"),
            (sender, "Acceptatiestatus", ""),
            (sender, "ZoekDeelnemers", ""),
            (sender, "Deelnemer", f"<DeelnemerId>{message.recipient_id}</DeelnemerId>"),
            (recipient, "HaalBerichtOp", "<BerichtId>nothing-of-yours</BerichtId>"),  # a fault
        ]
        for cert, op, args in calls:
            ours, spynes = both(app, monkeypatch, cert, module, op, args)
            assert ours == spynes, (module, op)
            compared += 1
        ours, _ = both(app, monkeypatch, recipient, module, "BevestigOntvangst",
                       f"<BerichtId>{message.id}</BerichtId>")
        assert ours[0].startswith("200")
        ours, spynes = both(app, monkeypatch, recipient, module, "BevestigOntvangst",
                            f"<BerichtId>{message.id}</BerichtId>")  # the repeat
        assert ours == spynes
    assert len(messages) > sum(len(types) for types in CATALOGUE.values())
    assert compared == 10 * len(messages)


def plain(value):
    """A spyne object as plain values: its type's name and members, recursively."""
    if isinstance(value, ComplexModelBase):
        members = type(value).get_flat_type_info(type(value))
        return type(value).__name__, {key: plain(getattr(value, key, None)) for key in members}
    if isinstance(value, (list, tuple)):
        return [plain(v) for v in value]
    return value


def doubled(value):
    """``value`` with every list in it twice as long: repeated elements read in order."""
    if isinstance(value, dict):
        return {key: doubled(v) for key, v in value.items()}
    if isinstance(value, list):
        return [doubled(v) for v in value * 2]
    return value


def requests(module, recipient):
    """(operation, envelope) of every operation of ``module`` with every argument it takes:
    the send of every message type with every field."""
    client = zeep_client(module)

    def envelope(name, **values):
        message = client.create_message(client.service, name, **values)
        return name, etree.tostring(message)

    for mt in message_types(module):
        header = {"Kenmerk": f"K-{uuid.uuid4().hex[:12]}", "Ontvanger": recipient,
                  "ConversatieReferentienummer": str(uuid.uuid4()),
                  "CrossReferentienummer": str(uuid.uuid4()), "Versie": "2.0"}
        yield envelope(f"Verstuur{mt.code}", Header=header,
                       Bericht=doubled(for_zeep(mt, example_body(mt, full=True))))
    message_id = str(uuid.uuid4())
    yield envelope("Berichtenlijst", Berichttype="Kennisgeving", Na=message_id, Maximum=5)
    yield envelope("HaalBerichtOp", BerichtId=message_id)
    yield envelope("BevestigOntvangst", BerichtId=message_id)
    yield envelope("Status", BerichtId=message_id, Kenmerk="K-1")
    yield envelope("Logboek", Filter={
        "Berichttype": "Kennisgeving", "Richting": "Verzonden", "Tegenpartij": recipient,
        "ConversatieReferentienummer": message_id, "Vanaf": "2026-11-01T00:00:00Z",
        "Tot": "2026-12-01T00:00:00+01:00", "Maximum": 10})
    yield envelope("Ping", Tekst="hoi")
    yield envelope("ZoekDeelnemers", Naam="Energie", KvkNummer="12345678",
                   Vestigingsnummer="123456789012", Rol="SE", Module=module.value,
                   Maximum=3, Na=message_id)
    yield envelope("Deelnemer", DeelnemerId=recipient, Module=module.value)


@pytest.mark.parametrize("module", list(Module))
def test_every_request_is_read_as_spyne_reads_it(app, people, certified, monkeypatch, module):
    read = []
    deserialize = HubSoap11.deserialize

    def keep(self, ctx, message):
        deserialize(self, ctx, message)
        read.append(plain(ctx.in_object))

    monkeypatch.setattr(HubSoap11, "deserialize", keep)
    cert = certified[people.shv.id]
    for name, body in requests(module, people.se.id):
        for spynes in (False, True):
            with monkeypatch.context() as patch:
                if spynes:
                    patch.setattr(HubSoap11, "from_element", QuietSoap11.from_element)
                wsgi_call(app, body=body, PATH_INFO=f"/{module.value}",
                          HTTP_SOAPACTION=f'"{name}"', HTTP_X_SSL_CLIENT_CERT=cert)
        assert len(read) == 2, (name, read)
        ours, spynes = read
        assert ours == spynes, name
        assert ours not in ([], [None]), name
        read.clear()
