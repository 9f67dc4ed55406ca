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

from envelopes import (
    CONVERSATION,
    KENMERK,
    MESSAGE_ID,
    RECIPIENT,
    Envelopes,
    Template,
    fault_code,
    headers,
    message_ids,
)
from harness import Clients, Connection, Pki

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


def post(connection: Connection, path: str, operation: str, envelope: bytes) -> bytes:
    """One SOAP call; its answer, or :class:`Refused` for any status but 200 (a fault)."""
    status, answer = connection.post(path, headers(operation), envelope)
    if status != 200:
        raise Refused(f"{operation}: HTTP {status} {fault_code(answer)}")
    return answer


# --- Ping ----------------------------------------------------------------------------------

def ping_clients(url: str, pki: Pki, count: int) -> Clients[Connection]:
    """``count`` keep-alive clients posting Ping as the SHV."""
    envelope, path = Envelopes(SR).ping(), f"/{SR.value}"

    def step(connection: Connection, _: int) -> dict[str, float]:
        began = time.perf_counter()
        post(connection, path, "Ping", envelope)
        return {"Ping": time.perf_counter() - began}

    return Clients(count, lambda _: Connection(url, pki.identity("shv")), step,
                   Connection.close)


# --- the mailbox cycle ----------------------------------------------------------------------

@dataclass
class Pair:
    """Client thread *i*: the SHV's connection and creditor *i*'s, and its send envelope
    (split at the Kenmerk)."""

    shv: Connection
    se: Connection
    send: Template
    tag: str

    def close(self) -> None:
        self.shv.close()
        self.se.close()


@dataclass(frozen=True)
class Cycle:
    """send -> list -> fetch -> confirm of a Kennisgeving, the four operations timed."""

    url: str
    path: str
    pki: Pki
    ids: dict[str, str]
    envelopes: Envelopes

    @classmethod
    def of(cls, url: str, pki: Pki, ids: dict[str, str]) -> Cycle:
        return cls(url, f"/{SR.value}", pki, ids, Envelopes(SR))

    def clients(self, count: int) -> Clients[Pair]:
        mt = lookup(SR, "Kennisgeving")
        send = self.envelopes.send("Kennisgeving", example_body(mt))
        listing = self.envelopes.listing()
        fetch = Template.of(self.envelopes.fetch(), MESSAGE_ID)
        confirm = Template.of(self.envelopes.confirm(), MESSAGE_ID)
        run = uuid.uuid4().hex[:8]  # Kenmerken unique across runs on one database
        path = self.path

        def setup(i: int) -> Pair:
            mine = send.replace(RECIPIENT.encode(), self.ids[f"se{i}"].encode()).replace(
                CONVERSATION.encode(), str(uuid.uuid4()).encode())
            return Pair(Connection(self.url, self.pki.identity("shv")),
                        Connection(self.url, self.pki.identity(f"se{i}")),
                        Template.of(mine, KENMERK), f"b{run}-{i}")

        def step(pair: Pair, serial: int) -> dict[str, float]:
            t0 = time.perf_counter()
            sent = message_ids(post(pair.shv, path, "VerstuurKennisgeving",
                                    pair.send.fill(f"{pair.tag}-{serial}")))[0]
            t1 = time.perf_counter()
            pending = message_ids(post(pair.se, path, "Berichtenlijst", listing))
            if pending[:1] != [sent]:
                raise Refused(f"the list shows {pending[:2]}, not the message just sent")
            t2 = time.perf_counter()
            post(pair.se, path, "HaalBerichtOp", fetch.fill(sent))
            t3 = time.perf_counter()
            post(pair.se, path, "BevestigOntvangst", confirm.fill(sent))
            t4 = time.perf_counter()
            return {"send": t1 - t0, "list": t2 - t1, "fetch": t3 - t2, "confirm": t4 - t3}

        return Clients(count, setup, step, Pair.close)
