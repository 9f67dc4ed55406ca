"""Who may call what: every operation of a module against every kind of caller.

Each test stages one message M, from its sender to its recipient, then lets one caller call
one operation over mutual TLS with a real zeep client (the WSDL with plain requests):

- ``owner``: the recipient for Berichtenlijst, HaalBerichtOp and BevestigOntvangst; the sender
  for Status, Logboek, Ping, the WSDL and ``Verstuur<Type>``. It succeeds.
- ``counterpart``: M's other party. It shares M's logbook entry and nothing else.
- ``other``: another registered participant, of the owner's role. It finds nothing of M:
  NotFound, empty listings and logbooks. It may send its own message, even with M's Kenmerk.
- ``deactivated``, ``expired`` (by the hub's clock) and ``revoked``: the owner's certificate
  after that change; ``unknown``: a certificate of our CA that nobody registered. They get
  Client.Authentication, whatever the operation.
- ``foreign``: a certificate of another CA. The TLS handshake is refused.

No caller but M's parties gets M's BerichtId, Kenmerk, sender id or recipient id in a response,
unless it put that value in its own request. A refused call changes neither M nor a mailbox.
"""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pytest
import requests
import zeep
from cryptography import x509
from lxml import etree
from zeep.transports import Transport
from zeep.wsdl import Document

from skp.domain.admission import Standing
from skp.domain.catalogue import lookup
from skp.domain.examples import example_body
from skp.domain.roles import Module
from skp.soap.types import namespace
from tests.e2e.conftest import header, session_for, zeep_body
from tests.helpers import send

SR = Module.SCHULDREGELING
SOAP_ENV = "{http://schemas.xmlsoap.org/soap/envelope/}"

#: Per module: a message type, its sender and recipient, and another participant that may send
#: it. ``spare`` is a second Bewindvoerder that the test registers.
SENDS = {
    SR: ("Kennisgeving", "shv", "se", "kredietbank"),
    Module.SCHULDINVENTARISATIE: ("Saldoverzoek", "bewind", "se", "shv1"),
    Module.BETALINGSREGELING: ("Saldoverzoek", "shv1", "se", "kredietbank"),
    Module.MELDINGEN_BEWINDVOERING: ("MeldingStartBewind", "bewind", "se", "spare"),
    Module.WAARBORGFONDS: ("AanvraagBorgstelling", "kredietbank", "wsk", "shv"),
}
#: For the owner of a mailbox operation, a participant of the same role.
PEERS = {"se": "se2", "shv": "kredietbank"}

# What a call gets.
GRANTED, OWN, EMPTY = "granted", "own data", "empty"
NOT_FOUND, AUTHENTICATION, HANDSHAKE = "Client.NotFound", "Client.Authentication", "handshake"
REFUSED = {"deactivated": AUTHENTICATION, "unknown": AUTHENTICATION,
           "expired": AUTHENTICATION, "revoked": AUTHENTICATION, "foreign": HANDSHAKE}
CALLERS = ("owner", "counterpart", "other", *REFUSED)


@dataclass
class Scene:
    """The staged message M, and which participant plays which caller."""

    module: Module
    sender: Any
    recipient: Any
    message_id: str
    kenmerk: str
    keys: dict[str, str]  # owner, counterpart, other -> the cast member playing it
    people: dict[str, Any]  # the same -> participant
    caller: Any = None  # whose certificate calls (the owner's for unknown and foreign)

    def secrets(self) -> tuple[str, ...]:
        return self.message_id, self.kenmerk, self.sender.id, self.recipient.id

    def snapshot(self, hub) -> tuple[str, int]:
        """M's state and its recipient's backlog: what a refused call must not change."""
        return (hub.mailbox.status(self.sender.id, message_id=self.message_id).state.value,
                hub.mailbox.list_pending(self.recipient.id, self.module).backlog)


@dataclass(frozen=True)
class Calls:
    """One caller's way in: a zeep proxy of the module and the requests session under it."""

    service: Any
    session: requests.Session
    url: str


@dataclass(frozen=True)
class Op:
    """An operation: how to call it, whose it is, what the owner gets, what the others get."""

    call: Callable[[Calls, Scene], Any]
    owner: str  # "sender" or "recipient" of M
    granted: Callable[[Any, Scene], bool]  # the result is right for scene.caller
    counterpart: str | None  # what M's other party gets; None: not a case
    other: str
    module: Module = SR
    other_key: str | None = None  # who plays "other" (default: a peer of the owner)
    prepare: Callable[[Any, Scene], Any] = field(default=lambda hub, scene: None)


def ids(result) -> list[str]:
    """The BerichtIds of a listing or logbook (zeep gives a logbook as a bare list)."""
    items = result if result is None or isinstance(result, list) else result.Bericht
    return [item.BerichtId for item in items or []]


def verstuur(module: Module) -> Op:
    """Send the module's type; anyone but M's sender reuses M's Kenmerk (it is per sender)."""
    code, *_, other_key = SENDS[module]
    mt = lookup(module, code)

    def call(calls: Calls, scene: Scene):
        body = zeep_body(mt, example_body(mt, sender_role=scene.caller.role))
        kenmerk = None if scene.caller is scene.sender else scene.kenmerk
        return getattr(calls.service, f"Verstuur{code}")(
            Header=header(scene.recipient, kenmerk=kenmerk), Bericht=body)

    return Op(call, "sender", counterpart=None, other=OWN, module=module, other_key=other_key,
              granted=lambda r, scene: r.BerichtId != scene.message_id and not r.Herhaald)


def wsdl(calls: Calls, scene: Scene):
    response = calls.session.get(f"{calls.url}?wsdl", timeout=10)
    if response.status_code != 200:
        raise zeep.exceptions.Fault("", code=fault_code(response.content))
    return response


def fault_code(content: bytes) -> str:
    return etree.fromstring(content).findtext(f"{SOAP_ENV}Body/{SOAP_ENV}Fault/faultcode")


OPS: dict[str, Op] = {
    **{f"Verstuur{SENDS[m][0]}-{m.value}": verstuur(m) for m in SENDS},
    "Berichtenlijst": Op(
        lambda c, scene: c.service.Berichtenlijst(), "recipient",
        granted=lambda r, scene: ids(r) == [scene.message_id], counterpart=EMPTY, other=EMPTY),
    "Berichtenlijst-Na": Op(
        lambda c, scene: c.service.Berichtenlijst(Na=scene.message_id), "recipient",
        granted=lambda r, scene: ids(r) == [], counterpart=NOT_FOUND, other=NOT_FOUND),
    "HaalBerichtOp": Op(
        lambda c, scene: c.service.HaalBerichtOp(BerichtId=scene.message_id), "recipient",
        granted=lambda r, scene: r.Metadata.BerichtId == scene.message_id
        and r.Kennisgeving is not None, counterpart=NOT_FOUND, other=NOT_FOUND),
    "BevestigOntvangst": Op(
        lambda c, scene: c.service.BevestigOntvangst(BerichtId=scene.message_id), "recipient",
        granted=lambda r, scene: r.BerichtId == scene.message_id and r.Status == "confirmed",
        counterpart=NOT_FOUND, other=NOT_FOUND,
        prepare=lambda hub, scene: hub.mailbox.fetch(scene.recipient.id, scene.message_id)),
    "Status": Op(
        lambda c, scene: c.service.Status(BerichtId=scene.message_id), "sender",
        granted=lambda r, scene: r.BerichtId == scene.message_id
        and r.Kenmerk == scene.kenmerk, counterpart=NOT_FOUND, other=NOT_FOUND),
    "Status-Kenmerk": Op(
        lambda c, scene: c.service.Status(Kenmerk=scene.kenmerk), "sender",
        granted=lambda r, scene: r.BerichtId == scene.message_id,
        counterpart=NOT_FOUND, other=NOT_FOUND),
    "Logboek": Op(
        lambda c, scene: c.service.Logboek(), "sender",
        granted=lambda r, scene: ids(r) == [scene.message_id], counterpart=GRANTED,
        other=EMPTY),
    "Logboek-Tegenpartij": Op(
        lambda c, scene: c.service.Logboek(Filter={"Tegenpartij": scene.recipient.id}),
        "sender", granted=lambda r, scene: ids(r) == [scene.message_id], counterpart=None,
        other=EMPTY),
    "Ping": Op(
        lambda c, scene: c.service.Ping(), "sender",
        granted=lambda r, scene: r.DeelnemerId == scene.caller.id, counterpart=None,
        other=OWN),
    "wsdl": Op(
        wsdl, "sender", granted=lambda r, scene: b"<wsdl:definitions" in r.content,
        counterpart=None, other=OWN),
}


def expected(op: Op, caller: str) -> str | None:
    """What ``caller`` gets from ``op``; None where that caller is not a case."""
    return {"owner": GRANTED, "counterpart": op.counterpart, "other": op.other,
            **REFUSED}[caller]


CELLS = [pytest.param(name, caller, id=f"{name}-{caller}")
         for name, op in OPS.items() for caller in CALLERS if expected(op, caller)]


def stage(hub, pki, people, op: Op) -> Scene:
    """Send M in the operation's module and prepare it (fetched, for a confirmation)."""
    code, sender_key, recipient_key, _ = SENDS[op.module]
    cast = {key: getattr(people, key) for key in ("shv", "se", "se2", "kredietbank", "shv1",
                                                   "bewind", "wsk")}
    if op.other_key == "spare":
        cast["spare"] = hub.participants.add(standing=Standing.ACTIVE,
                                             name="Bewind Twee", role="BEWINDVOERDER",
                                             modules=[op.module])
        hub.participants.add_certificate(cast["spare"].id, identity_of("spare", pki).pem)
    sender, recipient = cast[sender_key], cast[recipient_key]
    receipt = send(hub.mailbox, sender, recipient, op.module, code)
    kenmerk = hub.mailbox.status(sender.id, message_id=receipt.message_id).kenmerk
    owner, counterpart = ((sender_key, recipient_key) if op.owner == "sender"
                          else (recipient_key, sender_key))
    keys = {"owner": owner, "counterpart": counterpart, "other": op.other_key or PEERS[owner]}
    scene = Scene(op.module, sender, recipient, receipt.message_id, kenmerk, keys,
                  {kind: cast[key] for kind, key in keys.items()})
    op.prepare(hub, scene)
    return scene


def identity_of(key: str, pki):
    # pki.revoked is a certificate of our CA that no cast member holds: the spare's.
    return pki.revoked if key == "spare" else pki.people[key]


def become(caller: str, scene: Scene, hub, pki, clock):
    """The certificate ``caller`` presents, after changing the hub as that caller needs."""
    scene.caller = scene.people.get(caller, scene.people["owner"])
    if caller in ("unknown", "foreign"):
        return getattr(pki, caller)
    identity = identity_of(scene.keys.get(caller, scene.keys["owner"]), pki)
    if caller == "deactivated":
        hub.participants.deactivate(scene.caller.id)
    elif caller == "revoked":
        hub.participants.revoke_certificate(identity.fingerprint)
    elif caller == "expired":
        cert = x509.load_pem_x509_certificate(identity.pem)
        clock.set(cert.not_valid_after_utc + dt.timedelta(seconds=1))
    return identity


def calls_for(identity, module: Module, pki, server, exchanges: list) -> Calls:
    """A zeep proxy for ``module`` whose every request and response lands in ``exchanges``."""
    session = session_for(identity, pki.ca_file)
    session.hooks["response"].append(lambda response, *args, **kwargs: exchanges.append(
        (_bytes(response.request.body), response.content)))
    client = zeep.Client(wsdl_document(module), transport=Transport(session=session))
    title = "".join(part.capitalize() for part in module.value.split("-"))
    url = f"{server}/{module.value}"
    return Calls(client.create_service(f"{{{namespace(module)}}}{title}", url), session, url)


@functools.cache
def wsdl_document(module: Module) -> Document:
    """The module's WSDL from wsdl/, parsed once: zeep reads it from disk, not the network."""
    return Document(f"wsdl/{module.value}.wsdl", Transport())


def _bytes(body: bytes | str | None) -> bytes:
    return body.encode() if isinstance(body, str) else body or b""


@dataclass(frozen=True)
class Refusal:
    """A call that did not succeed: its fault code, or "handshake"."""

    code: str


def attempt(call: Callable[[], Any]) -> Any:
    try:
        return call()
    except zeep.exceptions.Fault as fault:
        return Refusal(fault.code.split(":")[-1])
    except requests.exceptions.ConnectionError:  # SSLError included
        return Refusal(HANDSHAKE)


@pytest.fixture
def hub_clock(clock):
    """The hub's clock, set back to where it was after the test."""
    saved = clock.now()
    yield clock
    clock.set(saved)


@pytest.mark.parametrize(("name", "caller"), CELLS)
def test_matrix(name, caller, hub, pki, people, server, hub_clock):
    op = OPS[name]
    outcome = expected(op, caller)
    scene = stage(hub, pki, people, op)
    before = scene.snapshot(hub)
    identity = become(caller, scene, hub, pki, hub_clock)
    exchanges: list[tuple[bytes, bytes]] = []
    calls = calls_for(identity, op.module, pki, server, exchanges)

    result = attempt(lambda: op.call(calls, scene))
    hub_clock.set(dt.datetime.now(dt.UTC))  # back to now, to read M's state

    if outcome in (GRANTED, OWN):
        assert not isinstance(result, Refusal), result
        assert op.granted(result, scene)
    elif outcome == EMPTY:
        assert not isinstance(result, Refusal), result
        assert ids(result) == []
        assert getattr(result, "Achterstand", 0) == 0
    else:
        assert result == Refusal(outcome)
        assert scene.snapshot(hub) == before
    assert len(exchanges) == (0 if outcome == HANDSHAKE else 1)
    if caller not in ("owner", "counterpart"):
        for request, response in exchanges:
            for secret in scene.secrets():
                if secret.encode() not in request:  # the caller may hear its own words back
                    assert secret.encode() not in response, (secret, response[:300])
