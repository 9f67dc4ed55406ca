"""A reference adapter: a participant's own back-office link, written the way an integrator
would on ``skp.client``, and its variants that each make one classic mistake.

It polls every module of its participant: lists what is pending (page by page), fetches each
message, answers a request it may answer (CrossReferentienummer = the request's hub id, in the
request's conversation, Kenmerk derived from the request so a repeat carries the same one),
and confirms. Messages a person would start from the organisation's own system it takes
from the hub's ``Acceptatiestatus``: what the waiting acceptance step asks it to start. A send
whose connection closes without an answer is sent again unchanged: the hub answers a repeated
Kenmerk with the first receipt.
"""

from __future__ import annotations

import itertools
import threading
import time
import uuid
from pathlib import Path
from typing import Any

import requests

from skp.client import Client, Identity, SkpFault
from skp.domain.acceptance import unprompted
from skp.domain.catalogue import lookup, message_types
from skp.domain.examples import example_body
from skp.domain.roles import Module, Role

#: The classic mistakes, each a variant of the adapter.
MISTAKES = (
    "confirms-without-fetching",  # confirms what it listed, never fetches
    "never-confirms",
    "wrong-cross-reference",  # answers with a CrossReferentienummer of its own
    "new-conversation",  # answers in a conversation of its own
    "new-kenmerk",  # re-sends with a new Kenmerk after a lost receipt
    "gives-up",  # stops polling after the first fault
    "loses-one",  # loses one message of a burst
    "always-matched",  # answers every Saldoverzoek as matched
)

#: The "loses-one" variant loses the message it sees as this many-th: with the script of a
#: creditor in Schuldregeling (7 messages to receive, then the burst) one of the burst.
LOST_AT = 10


class Adapter(threading.Thread):
    def __init__(self, url: str, identity: Identity, role: Role, modules: frozenset[Module],
                 *, mistake: str | None = None,
                 interval: float = 0.05) -> None:
        super().__init__(daemon=True)
        self.role, self.mistake, self.interval = role, mistake, interval
        self._clients = {m: Client(url, m, identity, wsdl=Path(f"wsdl/{m.value}.wsdl"),
                                   timeout=10) for m in sorted(modules)}
        self._answered: set[str] = set()
        self._begun: dict[tuple[str, str, str], str] = {}  # start → its conversation
        self._lost: set[str] = set()
        self._seen: set[str] = set()
        self._not_matched = itertools.cycle((False, True))
        self._halt = threading.Event()
        self.gave_up: SkpFault | None = None
        self.errors: list[BaseException] = []

    def stop(self) -> None:
        self._halt.set()
        self.join(timeout=10)

    def run(self) -> None:
        while not self._halt.is_set():
            try:
                self.poll()
                self.start_what_is_awaited()
            except SkpFault as fault:  # only "gives-up" lets one through
                if self.mistake == "gives-up":
                    self.gave_up = fault
                    return
            except requests.RequestException:
                pass  # the link is down for a moment: try again on the next round
            except Exception as exc:  # a defect of the test itself: keep it for the test
                self.errors.append(exc)
                return
            self._halt.wait(self.interval)

    def poll(self) -> None:
        for module, client in self._clients.items():
            after = None
            while True:
                listing = client.list_pending(after=after, maximum=100)
                for meta in listing.get("Bericht") or []:
                    try:
                        self._work(module, client, meta)
                    except SkpFault:  # this message: a person looks at it; on with the rest
                        if self.mistake == "gives-up":
                            raise
                after = listing.get("Volgende")
                if not after:
                    break

    def _work(self, module: Module, client: Client, meta: dict[str, Any]) -> None:
        message_id = meta["BerichtId"]
        if message_id in self._lost:
            return
        self._seen.add(message_id)
        if self.mistake == "loses-one" and len(self._seen) == LOST_AT:
            self._lost.add(message_id)  # e.g. a crash between listing and storing it
            return
        if self.mistake != "confirms-without-fetching":
            meta, _body = client.fetch(message_id)
        if message_id not in self._answered:
            self._answer(module, client, meta)
            self._answered.add(message_id)
        if self.mistake != "never-confirms":
            client.confirm(message_id)

    def _answer(self, module: Module, client: Client, meta: dict[str, Any]) -> None:
        request = meta["Berichttype"]
        if not unprompted(lookup(module, request)):
            return  # an answer to our own message: a person decides what follows, if anything
        reply = next((r for r in message_types(module) if request in r.answers
                      and self.role in r.senders and not r.code.startswith("GeenMedewerking")),
                     None)
        if reply is None:
            return
        cross = str(uuid.uuid4()) if self.mistake == "wrong-cross-reference" else message_id(meta)
        conversation = (str(uuid.uuid4()) if self.mistake == "new-conversation"
                        else meta["ConversatieReferentienummer"])
        # A Saldoverzoek antwoord alternately matched and not (a full example is not matched).
        full = (reply.code == "SaldoverzoekAntwoord" and next(self._not_matched)
                and self.mistake != "always-matched")
        self._send(client, reply.code, example_body(reply, full=full, sender_role=self.role),
                   recipient=meta["Afzender"], kenmerk=f"re-{meta['BerichtId'][:28]}",
                   conversation=conversation, cross_reference=cross)

    def start_what_is_awaited(self) -> None:
        status = next(iter(self._clients.values())).call("Acceptatiestatus")
        for step in status.get("Stap") or []:
            if step["Uitkomst"] != "waiting":
                continue
            for start in step.get("Starten") or []:
                module, code = Module(start["Module"]), start["Berichttype"]
                key = (step["Stap"], module, code)
                if key in self._begun:
                    continue
                self._begun[key] = str(uuid.uuid4())
                self._send(self._clients[module], code,
                           example_body(lookup(module, code), sender_role=self.role),
                           recipient=start["Ontvanger"], kenmerk=f"st-{uuid.uuid4().hex[:20]}",
                           conversation=self._begun[key])

    def _send(self, client: Client, code: str, body: dict[str, Any], **header: Any) -> None:
        for _ in range(5):
            try:
                client.send(code, body, **header)
                return
            except requests.ConnectionError:  # no receipt: the same message once more
                if self.mistake == "new-kenmerk":
                    header["kenmerk"] = f"nk-{uuid.uuid4().hex[:20]}"
                time.sleep(self.interval)
            except SkpFault:
                if self.mistake == "gives-up":
                    raise
                return  # refused: a real link would put it before a person


def message_id(meta: dict[str, Any]) -> str:
    value: str = meta["BerichtId"]
    return value
