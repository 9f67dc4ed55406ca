"""A whole Schuldregeling conversation over mutual TLS, as two back-office systems see it."""

from __future__ import annotations

import uuid
from decimal import Decimal

from skp.domain.catalogue import lookup
from skp.domain.examples import example_body
from skp.domain.roles import Module
from tests.e2e.conftest import header, plain, zeep_body

SR = Module.SCHULDREGELING


def body(code, **changes):
    mt = lookup(SR, code)
    return zeep_body(mt, {**example_body(mt), **changes})


def receive(service, code):
    """List, fetch and confirm the one pending message of type ``code``; return it."""
    listing = service.Berichtenlijst(Berichttype=code)
    assert listing.Achterstand == 1
    message_id = listing.Bericht[0].BerichtId
    fetched = service.HaalBerichtOp(BerichtId=message_id)
    assert fetched.Metadata.Berichttype == code
    confirmed = service.BevestigOntvangst(BerichtId=message_id)
    assert confirmed.Status == "confirmed"
    return fetched


def test_schuldregeling_conversation(connect, people, pki):
    shv = connect(pki.people["shv"], SR)
    se = connect(pki.people["se"], SR)
    conversation = str(uuid.uuid4())

    kennisgeving = shv.VerstuurKennisgeving(
        Header=header(people.se, conversation=conversation), Bericht=body("Kennisgeving"))
    claims = [{"FactuurnummerSEVolgensSHV": f"F-{n}"} for n in (1, 2, 3)]
    saldoverzoek = shv.VerstuurSaldoverzoek(
        Header=header(people.se, conversation=conversation),
        Bericht=body("Saldoverzoek", Vorderingen=claims))
    assert shv.Status(BerichtId=saldoverzoek.BerichtId).Status == "queued"

    # The creditor lists its mailbox, fetches and confirms both, then answers without
    # matching: one total amount.
    assert se.Berichtenlijst().Achterstand == 2
    received = receive(se, "Kennisgeving")
    assert received.Kennisgeving.Klant.Achternaam == "Voorbeeld"
    assert received.Metadata.Afzender == people.shv.id
    request = receive(se, "Saldoverzoek")
    assert [v.FactuurnummerSEVolgensSHV for v in request.Saldoverzoek.Vorderingen] == [
        "F-1", "F-2", "F-3"]
    assert shv.Status(BerichtId=saldoverzoek.BerichtId).Status == "confirmed"
    assert shv.Status(Kenmerk=shv.Status(BerichtId=kennisgeving.BerichtId).Kenmerk).Status == (
        "confirmed")

    se.VerstuurSaldoverzoekAntwoord(
        Header=header(people.shv, conversation=conversation, cross=saldoverzoek.BerichtId),
        Bericht={"Datum": "2026-11-24", "Matching": "NIET_GEMATCHT",
                 "OngematchteSchulden": {"Totaalvordering": {"Referentie": "TOT-1",
                                                             "Bedrag": Decimal("4321.00")}}})

    # The SHV gets the answer with a zero-amount line for each claim it listed.
    answer = receive(shv, "SaldoverzoekAntwoord").SaldoverzoekAntwoord
    assert answer.OngematchteSchulden.Totaalvordering.Bedrag == Decimal("4321.00")
    assert [(v.FactuurnummerSEVolgensSHV, v.Openstaand, v.AutomatischAangevuld)
            for v in answer.Vorderingen] == [
        (f"F-{n}", Decimal("0.00"), True) for n in (1, 2, 3)]

    voorstel = shv.VerstuurBetaalvoorstel(Header=header(people.se, conversation=conversation),
                                          Bericht=body("Betaalvoorstel"))
    assert receive(se, "Betaalvoorstel").Betaalvoorstel.TypeSchuldregeling == "SB"
    se.VerstuurBetaalvoorstelAntwoord(
        Header=header(people.shv, conversation=conversation, cross=voorstel.BerichtId),
        Bericht={"Akkoord": True})
    antwoord = receive(shv, "BetaalvoorstelAntwoord")
    assert antwoord.BetaalvoorstelAntwoord.Akkoord is True
    assert antwoord.Metadata.CrossReferentienummer == voorstel.BerichtId

    # The sender saw every stage; the logbook holds the whole conversation, metadata only.
    assert shv.Status(BerichtId=voorstel.BerichtId).Status == "confirmed"
    log = plain(shv.Logboek(Filter={"ConversatieReferentienummer": conversation}))
    assert {m["Berichttype"] for m in log} == {
        "Kennisgeving", "Saldoverzoek", "SaldoverzoekAntwoord", "Betaalvoorstel",
        "BetaalvoorstelAntwoord"}
    assert all(m["Status"] == "confirmed" for m in log)


def test_status_shows_each_stage(connect, people, pki):
    shv = connect(pki.people["shv"], SR)
    se = connect(pki.people["se"], SR)
    receipt = shv.VerstuurKennisgeving(Header=header(people.se), Bericht=body("Kennisgeving"))
    assert shv.Status(BerichtId=receipt.BerichtId).Status == "queued"
    se.HaalBerichtOp(BerichtId=receipt.BerichtId)
    fetched = shv.Status(BerichtId=receipt.BerichtId)
    assert fetched.Status == "fetched" and fetched.OpgehaaldOp is not None
    se.BevestigOntvangst(BerichtId=receipt.BerichtId)
    assert shv.Status(BerichtId=receipt.BerichtId).Status == "confirmed"


def test_repeated_send_returns_the_original_receipt(connect, people, pki):
    shv = connect(pki.people["shv"], SR)
    first = shv.VerstuurKennisgeving(Header=header(people.se, kenmerk="SHV-42"),
                                     Bericht=body("Kennisgeving"))
    again = shv.VerstuurKennisgeving(Header=header(people.se, kenmerk="SHV-42"),
                                     Bericht=body("Kennisgeving"))
    assert again.BerichtId == first.BerichtId
    assert again.Herhaald is True and first.Herhaald is False
