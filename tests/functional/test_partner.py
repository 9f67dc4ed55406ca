"""The test partner completes each module's conversation with a participant under test."""

from __future__ import annotations

import datetime as dt

import pytest

from skp import partner as tp
from skp.domain.roles import Module
from skp.partner import TestPartner, ensure_partners
from tests.helpers import saldoverzoek, send

SR = Module.SCHULDREGELING


@pytest.fixture
def partner(participants, mailbox):
    assert {p.slug for p in ensure_partners(participants)} == {p.slug for p in tp.PARTNERS}
    assert ensure_partners(participants) == []  # idempotent
    return TestPartner(mailbox)


def as_participant(p):
    return type("P", (), {"id": p.id, "role": p.role})


def answers(mailbox, person, module, code):
    """Fetch and confirm everything of type ``code`` waiting for ``person``."""
    page = mailbox.list_pending(person.id, module, type_code=code)
    bodies = []
    for info in page.items:
        delivery = mailbox.fetch(person.id, info.id)
        mailbox.confirm(person.id, info.id)
        bodies.append((delivery.info, delivery.body))
    return bodies


def test_schuldregeling_with_the_partner_creditor(partner, mailbox, people, clock):
    se = as_participant(tp.SE)
    kennisgeving = send(mailbox, people.shv, se, SR, "Kennisgeving")
    clock.advance(dt.timedelta(seconds=1))  # the partner answers oldest first
    first = send(mailbox, people.shv, se, SR, "Saldoverzoek", body=saldoverzoek(["A", "B"]))
    clock.advance(dt.timedelta(seconds=1))
    second = send(mailbox, people.shv, se, SR, "Saldoverzoek", body=saldoverzoek(["C"]))
    voorstel = send(mailbox, people.shv, se, SR, "Betaalvoorstel")
    assert partner.work() == 4
    assert partner.work() == 0

    [(info, _)] = answers(mailbox, people.shv, SR, "KennisgevingAntwoord")
    assert info.cross_reference_id == kennisgeving.message_id
    replies = {info.cross_reference_id: body
               for info, body in answers(mailbox, people.shv, SR, "SaldoverzoekAntwoord")}
    matched, unmatched = replies[first.message_id], replies[second.message_id]
    assert matched["Matching"] == "GEMATCHT"
    assert [v["FactuurnummerSEVolgensSHV"] for v in matched["Vorderingen"]] == ["A", "B"]
    assert unmatched["Matching"] == "NIET_GEMATCHT"
    assert unmatched["Vorderingen"] == [  # the hub's zero-amount expansion
        {"FactuurnummerSEVolgensSHV": "C", "Openstaand": "0.00", "AutomatischAangevuld": True}]
    [(info, body)] = answers(mailbox, people.shv, SR, "BetaalvoorstelAntwoord")
    assert info.cross_reference_id == voorstel.message_id and body["Akkoord"] is True
    for receipt in (kennisgeving, first, second, voorstel):
        assert mailbox.status(people.shv.id, message_id=receipt.message_id).state == "confirmed"


@pytest.mark.parametrize(("module", "sender", "request_code", "answer_code"), [
    (Module.SCHULDINVENTARISATIE, "shv1", "Saldoverzoek", "SaldoverzoekAntwoord"),
    (Module.BETALINGSREGELING, "shv", "Saldoverzoek", "SaldoverzoekAntwoord"),
    (Module.BETALINGSREGELING, "shv", "Betalingsvoorstel", "BetalingsvoorstelAntwoord"),
    (Module.MELDINGEN_BEWINDVOERING, "bewind", "MeldingStartBewind", "Ontvangstbevestiging"),
    (Module.WAARBORGFONDS, "kredietbank", "AanvraagBorgstelling", "Gebeurtenis"),
])
def test_each_module(partner, mailbox, people, module, sender, request_code, answer_code):
    person = getattr(people, sender)
    target = as_participant(tp.WSK if module is Module.WAARBORGFONDS else tp.SE)
    receipt = send(mailbox, person, target, module, request_code)
    assert partner.work() == 1
    [(info, body)] = answers(mailbox, person, module, answer_code)
    assert info.cross_reference_id == receipt.message_id
    if answer_code == "Gebeurtenis":
        assert body["Soort"] == "BORGSTELLING_AFGEGEVEN"


def test_a_creditor_under_test_gets_a_conversation_to_answer(partner, mailbox, people):
    shv = as_participant(tp.SHV)
    send(mailbox, people.se, shv, SR, "StatusberichtSe")
    assert partner.work() == 1
    [(_, kennisgeving)] = answers(mailbox, people.se, SR, "Kennisgeving")
    [(request, body)] = answers(mailbox, people.se, SR, "Saldoverzoek")
    assert [v["FactuurnummerSEVolgensSHV"] for v in body["Vorderingen"]] == ["TP-1", "TP-2"]
    reply = send(mailbox, people.se, shv, SR, "GeenMedewerking", reply_to=request)
    assert partner.work() == 1
    assert mailbox.status(people.se.id, message_id=reply.message_id).state == "confirmed"
    assert kennisgeving["Klant"]["Achternaam"]
