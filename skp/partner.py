"""The test partner: built-in participants that answer automatically, so an integrator can
test a whole conversation alone, as on the real hub's development environment. Opt-in
(``SKP_TEST_PARTNER``); never for production.

Three partners with fixed ids, each working its mailbox through the ordinary mailbox service
(fetch, answer, confirm) whenever :meth:`TestPartner.work` runs:

- a creditor (SE) in every module a creditor may use: Kennisgeving → Kennisgeving antwoord;
  Saldoverzoek → Saldoverzoek antwoord, alternately matched and non-matched; Betaalvoorstel
  and Heroverweging → Betaalvoorstel antwoord; Betalingsvoorstel → its antwoord; a melding
  bewindvoering → Ontvangstbevestiging;
- the Waarborgfonds (WSK): each kredietbank request → a Gebeurtenis with its result;
- a debt counsellor (SHV fase 2) for creditors under test: a Statusbericht SE sent to it is
  the signal to send that creditor a Kennisgeving and a Saldoverzoek to answer.
"""

from __future__ import annotations

import itertools
import logging
import uuid
from collections.abc import Callable

from skp.demo import DemoParticipant
from skp.domain import matching
from skp.domain.admission import Standing
from skp.domain.catalogue import lookup
from skp.domain.examples import example_body
from skp.domain.roles import ROLE_MODULES, Module, Role
from skp.domain.validation import Body, Header
from skp.errors import NotFound
from skp.mailbox import Delivery, Mailbox, MessageInfo
from skp.participants import Participants

log = logging.getLogger(__name__)


#: A built-in participant with a fixed id (the same kind of record as the demo cast).
Partner = DemoParticipant

SE = Partner("testpartner-se", "Testpartner schuldeiser", Role.SE)
WSK = Partner("testpartner-wsk", "Testpartner Waarborgfonds", Role.WSK)
SHV = Partner("testpartner-shv", "Testpartner schuldhulpverlener", Role.SHV_FASE2)
PARTNERS = (SE, WSK, SHV)

#: Request type → result of the Waarborgfonds.
_FUND_RESULTS = {
    "RegistreerVoorbeoordeling": "PRO_FORMA_AFGEGEVEN",
    "AanvraagBorgstelling": "BORGSTELLING_AFGEGEVEN",
    "AanvraagOvername": "BORGSTELLING_AFGEGEVEN",
    "BeeindigingBorgstelling": "BORGSTELLING_BEEINDIGD",
    "UitbetalingBorgstelling": "BORGSTELLING_UITBETAALD",
}
#: Request type → the creditor's simple answer (example body of that type).
_CREDITOR_ANSWERS = {
    "Kennisgeving": "KennisgevingAntwoord",
    "KennisgevingPubliek": "KennisgevingAntwoord",
    "Betaalvoorstel": "BetaalvoorstelAntwoord",
    "Heroverweging": "BetaalvoorstelAntwoord",
    "Betalingsvoorstel": "BetalingsvoorstelAntwoord",
    "MeldingStartBewind": "Ontvangstbevestiging",
    "MeldingWijzigingBewind": "Ontvangstbevestiging",
    "MeldingEindeBewind": "Ontvangstbevestiging",
}


#: By partner id: the request types that partner answers.
ANSWERS: dict[str, frozenset[str]] = {
    SE.id: frozenset({*_CREDITOR_ANSWERS, matching.REQUEST}),
    WSK.id: frozenset(_FUND_RESULTS),
    SHV.id: frozenset(),
}


def ensure_partners(participants: Participants) -> list[Partner]:
    """Register the partners (without certificates: they act inside the hub) if missing."""
    added = []
    for partner in PARTNERS:
        try:
            participants.get(partner.id)
        except NotFound:
            participants.add(name=partner.name, role=partner.role,
                             modules=ROLE_MODULES[partner.role], participant_id=partner.id,
                             standing=Standing.ACTIVE)
            added.append(partner)
    return added


class TestPartner:
    """Works the partners' mailboxes; keeps only the matched/non-matched alternation."""

    __test__ = False  # not a pytest test class, despite its name

    def __init__(self, mailbox: Mailbox,
                 observe: Callable[[Delivery], None] | None = None) -> None:
        """``observe`` sees each delivery the partners fetch, before they answer it (the
        acceptance runner reads a Saldoverzoek antwoord's Matching there)."""
        self._mailbox = mailbox
        self._matched = itertools.cycle((True, False))
        self._observe = observe

    def work(self) -> int:
        """Fetch, answer and confirm everything waiting for the partners; the number done."""
        done = 0
        for partner in PARTNERS:
            for module in ROLE_MODULES[partner.role]:
                while (delivery := self._mailbox.fetch_next(partner.id, module)) is not None:
                    if self._observe is not None:
                        self._observe(delivery)
                    self._answer(partner, delivery)
                    self._mailbox.confirm(partner.id, delivery.info.id)
                    done += 1
        if done:
            log.info("test partner answered", extra={"messages": done})
        return done

    def _answer(self, partner: Partner, delivery: Delivery) -> None:
        info, code = delivery.info, delivery.info.type_code
        if partner is WSK and code in _FUND_RESULTS:
            body = {**example_body(lookup(info.module, "Gebeurtenis")),
                    "Soort": _FUND_RESULTS[code],
                    "KredietKenmerk": delivery.body.get("KredietKenmerk", "onbekend")}
            self._reply(partner, info, "Gebeurtenis", body)
        elif partner is SE and code == matching.REQUEST:
            self._reply(partner, info, matching.REPLY, self._saldo_answer(delivery.body))
        elif partner is SE and code in _CREDITOR_ANSWERS:
            answer = _CREDITOR_ANSWERS[code]
            self._reply(partner, info, answer, example_body(lookup(info.module, answer)))
        elif partner is SHV and code == "StatusberichtSe":
            self._start_conversation(info)

    def _saldo_answer(self, request: Body) -> Body:
        claims = matching.claim_references(request)
        answer: Body = {"Datum": "2026-01-15"}
        if next(self._matched):
            answer["Matching"] = "GEMATCHT"
            answer["Vorderingen"] = [{"FactuurnummerSEVolgensSHV": claim,
                                      "FactuurnummerSE": f"SE-{claim}"[:50],
                                      "Schuldtype": "OPENSTAAND", "Openstaand": "100.00"}
                                     for claim in claims]
        else:
            answer["Matching"] = "NIET_GEMATCHT"
            answer["OngematchteSchulden"] = {"Totaalvordering": {"Referentie": "TP-TOTAAL",
                                                                 "Bedrag": "250.00"}}
        return answer

    def _start_conversation(self, trigger: MessageInfo) -> None:
        creditor, conversation = trigger.sender_id, str(uuid.uuid4())
        request = example_body(lookup(Module.SCHULDREGELING, "Saldoverzoek"))
        request["Vorderingen"] = [{"FactuurnummerSEVolgensSHV": f"TP-{n}"} for n in (1, 2)]
        for suffix, code, body in (
                ("kg", "Kennisgeving", example_body(lookup(Module.SCHULDREGELING,
                                                           "Kennisgeving"))),
                ("sv", "Saldoverzoek", request)):
            self._send(SHV, Module.SCHULDREGELING, code, body, Header(
                kenmerk=f"tp-{trigger.id}-{suffix}", ontvanger=creditor,
                conversatie_referentienummer=conversation))

    def _reply(self, partner: Partner, original: MessageInfo, code: str, body: Body) -> None:
        self._send(partner, original.module, code, body, Header(
            kenmerk=f"tp-{original.id}", ontvanger=original.sender_id,
            conversatie_referentienummer=original.conversation_id,
            cross_referentienummer=original.id))

    def _send(self, partner: Partner, module: Module, code: str, body: Body,
              header: Header) -> None:
        try:
            self._mailbox.send(partner.id, module, code, header, body)
        except Exception as exc:  # a partner's answer must never stop its mailbox work
            log.warning("test partner could not answer", extra={
                "type": code, "error": type(exc).__name__})
