"""Answers written by skp's output protocol (skp.soap.output) are byte for byte the ones
spyne's own serialisation writes: for every operation, the fetch of every message type of
every module, and faults."""

from __future__ import annotations

import re
from urllib.parse import quote

import pytest
from sqlalchemy import select

from skp.domain.catalogue import CATALOGUE
from skp.soap.output import HubOutSoap11
from skp.soap.protocol import QuietSoap11
from skp.soap.types import namespace
from skp.store.models import Message
from tests.helpers import send_every_type, wsgi_call

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
    assert len(messages) >= sum(len(types) for types in CATALOGUE.values())
    assert compared == 10 * len(messages)
