"""Small helpers for tests that send messages, call the hub's WSGI application or run one
of its servers."""

from __future__ import annotations

import contextlib
import io
import os
import threading
import time
import uuid
from collections.abc import Iterator
from typing import Any
from wsgiref.util import setup_testing_defaults

import pytest

from skp.domain.catalogue import lookup
from skp.domain.examples import example_body
from skp.domain.roles import Module
from skp.domain.validation import Header


def header(recipient, *, kenmerk=None, conversation=None, cross=None):
    return Header(kenmerk=kenmerk or f"K-{uuid.uuid4().hex[:12]}", ontvanger=recipient.id,
                  conversatie_referentienummer=conversation or str(uuid.uuid4()),
                  cross_referentienummer=cross)


def send(mailbox, sender, recipient, module: Module, code: str, body=None, *, reply_to=None,
         conversation=None, kenmerk=None, text="Voorbeeld"):
    """Send an example (or the given) body; a reply takes its conversation from ``reply_to``."""
    if body is None:
        body = example_body(lookup(module, code), text=text, sender_role=sender.role)
    if reply_to is not None:
        conversation = reply_to.conversation_id
    return mailbox.send(sender.id, module, code,
                        header(recipient, kenmerk=kenmerk, conversation=conversation,
                               cross=reply_to.id if reply_to is not None else None), body)


def saldoverzoek(claims, module=Module.SCHULDREGELING):
    """An example Saldoverzoek body listing ``claims`` (FactuurnummerSEVolgensSHV)."""
    body = example_body(lookup(module, "Saldoverzoek"))
    body["Vorderingen"] = [{"FactuurnummerSEVolgensSHV": c} for c in claims]
    return body


#: Which demo participant plays a role, in order of preference when a type allows several.
ROLE_ORDER = ("SHV_FASE2", "SE", "BEWINDVOERDER", "WSK", "SHV_FASE1", "SHV_OVERIG")


def cast(people, mt):
    """(sender, recipient) demo participants for message type ``mt``."""
    by_role = {"SHV_FASE2": people.shv, "SE": people.se, "BEWINDVOERDER": people.bewind,
               "WSK": people.wsk, "SHV_FASE1": people.shv1, "SHV_OVERIG": people.overig}
    sender = next(by_role[r] for r in ROLE_ORDER if r in mt.senders)
    recipient = next(by_role[r] for r in ROLE_ORDER if r in mt.recipients)
    if mt.recipient_uses_bsn:
        recipient = people.se_bsn
    return sender, recipient


def send_every_type(mailbox, people, *, text="Voorbeeld"):
    """Send one message of every type of every module (originals first for replies).

    Returns {(module, code): receipt}.
    """
    from skp.domain.catalogue import CATALOGUE

    sent = {}

    def send_type(mt, sender, recipient):
        reply_to = None
        if mt.is_reply:
            original = lookup(mt.module, sorted(mt.answers)[0])
            receipt = send_type(original, recipient, sender)
            reply_to = mailbox.status(recipient.id, message_id=receipt.message_id)
        receipt = send(mailbox, sender, recipient, mt.module, mt.code, reply_to=reply_to,
                       text=text)
        sent.setdefault((mt.module, mt.code), receipt)
        return receipt

    for types in CATALOGUE.values():
        for mt in types.values():
            send_type(mt, *cast(people, mt))
    return sent


#: A SOAP Ping to the schuldregeling service.
PING = (b'<soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/"><soap:Body>'
        b'<Ping xmlns="urn:skp:schuldregeling:2.0"><Tekst>hoi</Tekst></Ping>'
        b"</soap:Body></soap:Envelope>")
#: The TLS-terminating proxy address the WSGI tests trust (Settings.trusted_proxies).
PROXY = "10.0.0.5"


def wsgi_call(app, *, body=PING, remote=PROXY, **environ):
    """Call a HubApp as WSGI (by default a Ping from the trusted proxy); the proxy passes a
    client certificate as ``HTTP_X_SSL_CLIENT_CERT=quote(pem)``. Returns (status, headers,
    body)."""
    env = {"REQUEST_METHOD": "POST", "PATH_INFO": "/schuldregeling", "REMOTE_ADDR": remote,
           "CONTENT_TYPE": "text/xml; charset=utf-8", "CONTENT_LENGTH": str(len(body)),
           "HTTP_SOAPACTION": '"Ping"', "wsgi.input": io.BytesIO(body), **environ}
    setup_testing_defaults(env)
    status = []
    chunks = app(env, lambda code, headers, *exc: status.append((code, dict(headers))))
    return status[0][0], status[0][1], b"".join(chunks)


def require(available: bool, what: str) -> None:
    """Skip without ``what``; in CI, where .ci/run installs it, fail instead."""
    if available:
        return
    if os.environ.get("CI"):
        pytest.fail(f"{what} is missing and CI is set: .ci/run should have installed it")
    pytest.skip(f"{what} is missing")


@contextlib.contextmanager
def serving(server: Any) -> Iterator[int]:
    """``server`` (the hub's or the portal's) listening and serving in a thread; its port."""
    server.prepare()
    thread = threading.Thread(target=server.serve, daemon=True)
    thread.start()
    try:
        yield server.bind_addr[1]
    finally:
        server.stop()
        thread.join(timeout=10)


def empty(engine: Any) -> None:
    """Delete every row of every table (children first): a shared database left as found.
    The register's version stays, as the schema's does: its triggers count on it."""
    from skp.store.models import Base, RegisterVersion

    with engine.begin() as conn:
        for table in reversed(Base.metadata.sorted_tables):
            if table is not RegisterVersion.__table__:
                conn.execute(table.delete())


def wait_until(condition: Any, timeout: float, what: str) -> None:
    """Poll ``condition()`` until it is true; fail naming ``what`` after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.1)
