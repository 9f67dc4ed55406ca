"""The hub's participants for a benchmark, and the two client workloads over mutual TLS.

One debt service (the demo SHV, ``shv``) sends to eight creditors (``se0`` … ``se7``), and one
administrator (``bewind``) sends the large message. Client thread *i* is the SHV sending to
creditor *i* and creditor *i* working its own mailbox, so the threads never touch each
other's messages.
"""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass

import requests
from envelopes import CONVERSATION, KENMERK, MESSAGE_ID, RECIPIENT, Envelopes, headers, message_ids
from harness import Clients, Pki, session

from skp.demo import CAST
from skp.domain.admission import Standing
from skp.domain.catalogue import lookup
from skp.domain.examples import example_body
from skp.domain.roles import ROLE_MODULES, Module, Role
from skp.hub import Hub

CREDITORS = 8
NAMES = ("shv", "bewind", *(f"se{i}" for i in range(CREDITORS)))
SR = Module.SCHULDREGELING


def register(hub: Hub, pki: Pki) -> dict[str, str]:
    """Add the bench participants with their certificates; their ids by name."""
    people = {"shv": ("Gemeente Voorbeeld, schuldhulpverlening", Role.SHV_FASE2, CAST[0].id),
              "bewind": ("Bewind & Co", Role.BEWINDVOERDER, None)}
    people.update({f"se{i}": (f"Schuldeiser {i}", Role.SE, None) for i in range(CREDITORS)})
    ids = {}
    for name, (title, role, fixed) in people.items():
        info = hub.participants.add(standing=Standing.ACTIVE,
                                    name=title, role=role, modules=ROLE_MODULES[role],
                                    participant_id=fixed)
        hub.participants.add_certificate(info.id, pki.pem(name))
        ids[name] = info.id
    return ids


class Refused(Exception):
    """The hub answered other than expected."""


def post(s: requests.Session, url: str, operation: str, envelope: bytes) -> bytes:
    answer = s.post(url, data=envelope, headers=headers(operation), timeout=60)
    if answer.status_code != 200:
        code = answer.content.split(b"faultcode>", 2)[1][:60] if b"faultcode>" in (
            answer.content) else b"-"
        raise Refused(f"{operation}: HTTP {answer.status_code} {code!r}")
    return answer.content


# --- Ping ----------------------------------------------------------------------------------

def ping_clients(url: str, pki: Pki, count: int) -> Clients[requests.Session]:
    """``count`` keep-alive clients posting Ping as the SHV."""
    envelope = Envelopes(SR).ping()
    target = f"{url}/{SR.value}"

    def step(s: requests.Session, _: int) -> dict[str, float]:
        began = time.perf_counter()
        post(s, target, "Ping", envelope)
        return {"Ping": time.perf_counter() - began}

    return Clients(count, lambda _: session(pki.identity("shv")), step, lambda s: s.close())


# --- the mailbox cycle ----------------------------------------------------------------------

@dataclass
class Pair:
    """Client thread *i*: the SHV's session and creditor *i*'s, and the envelope to send."""

    shv: requests.Session
    se: requests.Session
    send: bytes
    tag: str

    def close(self) -> None:
        self.shv.close()
        self.se.close()


@dataclass(frozen=True)
class Cycle:
    """send -> list -> fetch -> confirm of a Kennisgeving, the four operations timed."""

    url: str
    pki: Pki
    ids: dict[str, str]
    envelopes: Envelopes

    @classmethod
    def of(cls, url: str, pki: Pki, ids: dict[str, str]) -> Cycle:
        return cls(f"{url}/{SR.value}", pki, ids, Envelopes(SR))

    def clients(self, count: int) -> Clients[Pair]:
        mt = lookup(SR, "Kennisgeving")
        send = self.envelopes.send("Kennisgeving", example_body(mt))
        listing, fetch, confirm = (self.envelopes.listing(), self.envelopes.fetch(),
                                   self.envelopes.confirm())
        run = uuid.uuid4().hex[:8]  # Kenmerken unique across runs on one database

        def setup(i: int) -> Pair:
            mine = send.replace(RECIPIENT.encode(), self.ids[f"se{i}"].encode()).replace(
                CONVERSATION.encode(), str(uuid.uuid4()).encode())
            return Pair(session(self.pki.identity("shv")),
                        session(self.pki.identity(f"se{i}")), mine, f"b{run}-{i}")

        def step(pair: Pair, serial: int) -> dict[str, float]:
            t0 = time.perf_counter()
            kenmerk = f"{pair.tag}-{serial}".encode()
            sent = message_ids(post(pair.shv, self.url, "VerstuurKennisgeving",
                                    pair.send.replace(KENMERK.encode(), kenmerk)))[0]
            t1 = time.perf_counter()
            pending = message_ids(post(pair.se, self.url, "Berichtenlijst", listing))
            if pending[:1] != [sent]:
                raise Refused(f"the list shows {pending[:2]}, not the message just sent")
            t2 = time.perf_counter()
            post(pair.se, self.url, "HaalBerichtOp", fetch.replace(MESSAGE_ID.encode(),
                                                                   sent.encode()))
            t3 = time.perf_counter()
            post(pair.se, self.url, "BevestigOntvangst", confirm.replace(MESSAGE_ID.encode(),
                                                                         sent.encode()))
            t4 = time.perf_counter()
            return {"send": t1 - t0, "list": t2 - t1, "fetch": t3 - t2, "confirm": t4 - t3}

        return Clients(count, setup, step, Pair.close)
