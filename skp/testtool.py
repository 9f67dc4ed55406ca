"""Scripted acceptance routines an integrator runs against a hub, with the test partner.

``skp testtool run --url … --cert … --key … --ca … --as shv|se|kredietbank`` runs, per module
of that role: connectivity, a conversation with the test partner (send each type the role
starts, receive and confirm the answers, follow Status), an idempotent re-send, and each
documented fault. Every step is printed as it finishes and written to a JUnit XML report;
the run passes only when every step passes.
"""

from __future__ import annotations

import enum
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from lxml import etree

from skp import partner
from skp.client import Client, Identity, SkpFault
from skp.domain.catalogue import lookup, message_types
from skp.domain.examples import example_body
from skp.domain.roles import Module, Role


class As(enum.StrEnum):
    """The role the participant under test plays."""

    SHV = "shv"
    SE = "se"
    KREDIETBANK = "kredietbank"


_MODULES = {
    As.SHV: (Module.SCHULDREGELING, Module.SCHULDINVENTARISATIE, Module.BETALINGSREGELING),
    As.SE: (Module.SCHULDREGELING,),
    As.KREDIETBANK: (Module.WAARBORGFONDS,),
}
_ROLES = {As.SHV: {Role.SHV_FASE2}, As.SE: {Role.SE}, As.KREDIETBANK: {Role.SHV_FASE2}}


@dataclass
class Result:
    module: str
    name: str
    seconds: float
    failure: str | None = None


@dataclass
class Run:
    """One run of the routines; ``say`` receives each progress line."""

    url: str
    identity: Identity
    role: As
    wsdl_dir: Path | None = None
    wait: float = 30.0
    say: Callable[[str], None] = print
    results: list[Result] = field(default_factory=list)
    _clients: dict[Module, Client] = field(default_factory=dict)
    _taken: Counter[tuple[Module, str]] = field(default_factory=Counter)

    @property
    def passed(self) -> bool:
        return bool(self.results) and all(r.failure is None for r in self.results)

    def client(self, module: Module) -> Client:
        if module not in self._clients:
            wsdl = self.wsdl_dir / f"{module}.wsdl" if self.wsdl_dir else None
            self._clients[module] = Client(self.url, module, self.identity, wsdl=wsdl)
        return self._clients[module]

    def run(self) -> bool:
        for module in _MODULES[self.role]:
            with self.step(module, "connectivity: Ping"):
                answer = self.client(module).ping("testtool")
                _check(Role(answer["Rol"]) in _ROLES[self.role],
                       f"the certificate belongs to a {answer['Rol']}, not a {self.role}")
                _check(module.value in (answer["Module"] or []),
                       f"module {module} is not enabled for this participant")
            if self.results[-1].failure is not None:
                continue  # without a connection the other routines cannot run
            if self.role is As.SE:
                self._creditor(module)
            else:
                self._requester(module)
            self._faults(module)
        failed = sum(r.failure is not None for r in self.results)
        self.say(f"{len(self.results) - failed} passed, {failed} failed")
        return self.passed

    @contextmanager
    def step(self, module: Module, name: str) -> Iterator[None]:
        started = time.monotonic()
        # A routine may take the same step twice: each is a test case of its own name.
        self._taken[module, name] += 1
        if (taken := self._taken[module, name]) > 1:
            name = f"{name} ({taken})"
        result = Result(module.value, name, 0.0)
        try:
            yield
        except SkpFault as fault:
            result.failure = f"unexpected fault {fault.code}: {fault.message} " \
                             f"(request id {fault.request_id})"
        except Exception as exc:  # every failure becomes a reported step, not a crash
            result.failure = f"{type(exc).__name__}: {exc}"
        result.seconds = time.monotonic() - started
        self.results.append(result)
        mark = "PASS" if result.failure is None else "FAIL"
        self.say(f"[{mark}] {module}: {name} ({result.seconds:.2f} s)"
                 + (f"\n       {result.failure}" if result.failure else ""))

    # --- routines ------------------------------------------------------------------------

    def _requester(self, module: Module) -> None:
        """Send each request type the partner answers; receive and confirm each answer."""
        client = self.client(module)
        target = partner.WSK if module is Module.WAARBORGFONDS else partner.SE
        for code, answer in _REQUESTS[module]:
            with self.step(module, f"send {code}, receive {answer}"):
                body = example_body(lookup(module, code), full=True)
                receipt = self._send(client, code, body, target.id)
                reply = self._await(client, answer, receipt["BerichtId"])
                _check(client.status(receipt["BerichtId"])["Status"] == "confirmed",
                       "the partner confirmed, but Status does not say confirmed")
                if code == "Saldoverzoek" and reply.get("Matching") == "NIET_GEMATCHT":
                    zero = [v for v in reply.get("Vorderingen") or []
                            if v.get("AutomatischAangevuld")]
                    _check(len(zero) == len(body["Vorderingen"]),
                           "a non-matched answer lacks the zero-amount lines")
        with self.step(module, "a repeated Kenmerk returns the first receipt"):
            code = _REQUESTS[module][0][0]
            kenmerk, body = f"tt-{uuid.uuid4().hex[:16]}", example_body(lookup(module, code))
            first = self._send(client, code, body, target.id, kenmerk=kenmerk)
            again = self._send(client, code, body, target.id, kenmerk=kenmerk)
            _check(again["BerichtId"] == first["BerichtId"] and again["Herhaald"],
                   "a repeat with the same Kenmerk made a new message")
            self._await(client, _REQUESTS[module][0][1], first["BerichtId"])

    def _creditor(self, module: Module) -> None:
        """Ask the partner debt counsellor for a conversation and answer it."""
        client = self.client(module)
        with self.step(module, "receive a Kennisgeving and a Saldoverzoek, answer both"):
            self._send(client, "StatusberichtSe", example_body(lookup(module, "StatusberichtSe")),
                       partner.SHV.id)
            for code, answer in (("Kennisgeving", "KennisgevingAntwoord"),
                                 ("Saldoverzoek", "SaldoverzoekAntwoord")):
                metadata, _ = self._receive(client, code, lambda m: True)
                body = ({"Datum": "2026-01-15", "Matching": "NIET_GEMATCHT",
                         "OngematchteSchulden": {"Totaalvordering": {
                             "Referentie": "TT-1", "Bedrag": "10.00"}}}
                        if answer == "SaldoverzoekAntwoord"
                        else example_body(lookup(module, answer)))
                reply = self._send(client, answer, body, metadata["Afzender"],
                                   conversation=metadata["ConversatieReferentienummer"],
                                   cross=metadata["BerichtId"])
                self._until(_confirmed(client, reply["BerichtId"]),
                            f"the partner to confirm your {answer}")

    def _faults(self, module: Module) -> None:
        client, code = self.client(module), self._own_types(module)[0]
        body = example_body(lookup(module, code))
        cases: list[tuple[str, str, Callable[[], Any]]] = [
            ("an unknown recipient", "Client.UnknownRecipient",
             lambda: self._send(client, code, body, str(uuid.uuid4()))),
            ("a Kenmerk of 65 characters", "Client.SchemaInvalid",
             lambda: self._send(client, code, body, self._partner_for(module),
                                kenmerk="K" * 65)),
            ("fetching a message that is not yours", "Client.NotFound",
             lambda: client.fetch(str(uuid.uuid4()))),
        ]
        reply = next((mt for mt in message_types(module)
                      if mt.is_reply and not mt.reply_optional
                      and mt.code in self._own_types(module)), None)
        if reply is not None:
            cases.append(("a reply to a message that does not exist", "Client.InvalidReply",
                          lambda: self._send(client, reply.code,
                                             example_body(lookup(module, reply.code)),
                                             self._partner_for(module),
                                             cross=str(uuid.uuid4()))))
        forbidden = next((mt for mt in message_types(module)
                          if mt.code not in self._own_types(module)), None)
        if forbidden is not None:
            cases.append((f"sending {forbidden.code}, which your role may not send",
                          "Client.NotAllowed",
                          lambda: self._send(client, forbidden.code,
                                             example_body(lookup(module, forbidden.code)),
                                             self._partner_for(module))))
        for name, expected, call in cases:
            with self.step(module, f"fault {expected} for {name}"):
                try:
                    call()
                except SkpFault as fault:
                    _check(fault.code == expected, f"got {fault.code}, expected {expected}")
                    _check(bool(fault.request_id), "the fault carries no RequestId")
                else:
                    raise AssertionError(f"no fault; expected {expected}")

    # --- helpers -------------------------------------------------------------------------

    def _own_types(self, module: Module) -> list[str]:
        roles = _ROLES[self.role]
        return [mt.code for mt in message_types(module) if mt.senders & roles]

    def _partner_for(self, module: Module) -> str:
        if module is Module.WAARBORGFONDS:
            return partner.WSK.id
        return partner.SHV.id if self.role is As.SE else partner.SE.id

    @staticmethod
    def _send(client: Client, code: str, body: dict[str, Any], recipient: str, *,
              kenmerk: str | None = None, conversation: str | None = None,
              cross: str | None = None) -> dict[str, Any]:
        return client.send(code, body, recipient=recipient,
                           kenmerk=kenmerk or f"tt-{uuid.uuid4().hex[:16]}",
                           conversation=conversation or str(uuid.uuid4()),
                           cross_reference=cross)

    def _await(self, client: Client, code: str, original: str) -> dict[str, Any]:
        """Wait for the answer of type ``code`` to ``original``; fetch, confirm, return it."""
        _, body = self._receive(client, code,
                                lambda m: m.get("CrossReferentienummer") == original)
        answer: dict[str, Any] = body
        return answer

    def _receive(self, client: Client, code: str,
                 wanted: Callable[[dict[str, Any]], bool]) -> tuple[dict[str, Any], Any]:
        found: list[dict[str, Any]] = []

        def arrived() -> bool:
            found[:] = [m for m in client.list_pending(code)["Bericht"] or [] if wanted(m)]
            return bool(found)

        self._until(arrived, f"a {code} in your mailbox")
        metadata, body = client.fetch(found[0]["BerichtId"])
        _check(client.confirm(found[0]["BerichtId"])["Status"] == "confirmed",
               "BevestigOntvangst did not confirm")
        return metadata, body

    def _until(self, condition: Callable[[], bool], what: str) -> None:
        deadline = time.monotonic() + self.wait
        while not condition():
            if time.monotonic() > deadline:
                raise AssertionError(f"waited {self.wait:.0f} s for {what}")
            time.sleep(0.25)

    def junit(self) -> bytes:
        """The results as a JUnit XML report."""
        failures = sum(r.failure is not None for r in self.results)
        suites = etree.Element("testsuites", name="skp testtool", tests=str(len(self.results)),
                               failures=str(failures))
        for module in dict.fromkeys(r.module for r in self.results):
            mine = [r for r in self.results if r.module == module]
            suite = etree.SubElement(suites, "testsuite", name=module, tests=str(len(mine)),
                                     failures=str(sum(r.failure is not None for r in mine)),
                                     time=f"{sum(r.seconds for r in mine):.3f}")
            for result in mine:
                case = etree.SubElement(suite, "testcase", classname=module, name=result.name,
                                        time=f"{result.seconds:.3f}")
                if result.failure is not None:
                    etree.SubElement(case, "failure", message=result.failure.splitlines()[0])
        return etree.tostring(suites, xml_declaration=True, encoding="utf-8",
                              pretty_print=True)


#: Per module: (request the tested participant sends, answer the partner returns).
_REQUESTS: dict[Module, list[tuple[str, str]]] = {
    Module.SCHULDREGELING: [("Kennisgeving", "KennisgevingAntwoord"),
                            ("Saldoverzoek", "SaldoverzoekAntwoord"),
                            ("Saldoverzoek", "SaldoverzoekAntwoord"),
                            ("Betaalvoorstel", "BetaalvoorstelAntwoord")],
    Module.SCHULDINVENTARISATIE: [("Saldoverzoek", "SaldoverzoekAntwoord")],
    Module.BETALINGSREGELING: [("Saldoverzoek", "SaldoverzoekAntwoord"),
                               ("Betalingsvoorstel", "BetalingsvoorstelAntwoord")],
    Module.WAARBORGFONDS: [("AanvraagBorgstelling", "Gebeurtenis"),
                           ("RegistreerVoorbeoordeling", "Gebeurtenis")],
}


def _confirmed(client: Client, message_id: str) -> Callable[[], bool]:
    return lambda: bool(client.status(message_id)["Status"] == "confirmed")


def _check(condition: bool, message: str) -> None:
    if not condition:
        raise AssertionError(message)
