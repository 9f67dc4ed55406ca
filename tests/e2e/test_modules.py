"""The other modules over mutual TLS: the Waarborgfonds conversation, and one send and
fetch in each of Schuldinventarisatie, Betalingsregeling and Meldingen bewindvoering."""

from __future__ import annotations

import os

import pytest

from skp.attachments import SEGMENT_BYTES
from skp.domain.catalogue import lookup
from skp.domain.examples import example_body
from skp.domain.roles import Module
from tests.e2e.conftest import header, zeep_body

WSK = Module.WAARBORGFONDS


def body(module, code, **changes):
    mt = lookup(module, code)
    return zeep_body(mt, {**example_body(mt, full=True), **changes})


def fetch_and_confirm(service, message_id):
    fetched = service.HaalBerichtOp(BerichtId=message_id)
    assert service.BevestigOntvangst(BerichtId=message_id).Status == "confirmed"
    return fetched


def test_waarborgfonds_conversation(connect, people, pki):
    bank = connect(pki.people["kredietbank"], WSK)
    fund = connect(pki.people["wsk"], WSK)
    aanvraag = bank.VerstuurAanvraagBorgstelling(
        Header=header(people.wsk), Bericht=body(WSK, "AanvraagBorgstelling",
                                                KredietKenmerk="SK-11789-4"))
    listing = fund.Berichtenlijst()
    assert [m.BerichtId for m in listing.Bericht] == [aanvraag.BerichtId]
    request = fetch_and_confirm(fund, aanvraag.BerichtId)
    assert request.AanvraagBorgstelling.KredietKenmerk == "SK-11789-4"
    assert request.AanvraagBorgstelling.SoortLening == "PL"

    conversation = request.Metadata.ConversatieReferentienummer
    fund.VerstuurGebeurtenis(
        Header=header(people.kredietbank, conversation=conversation, cross=aanvraag.BerichtId),
        Bericht=body(WSK, "Gebeurtenis", Soort="BORGSTELLING_AFGEGEVEN",
                     KredietKenmerk="SK-11789-4"))
    result = bank.Berichtenlijst(Berichttype="Gebeurtenis")
    assert result.Achterstand == 1
    event = fetch_and_confirm(bank, result.Bericht[0].BerichtId)
    assert event.Gebeurtenis.Soort == "BORGSTELLING_AFGEGEVEN"
    assert event.Metadata.CrossReferentienummer == aanvraag.BerichtId
    assert bank.Status(BerichtId=aanvraag.BerichtId).Status == "confirmed"


@pytest.mark.parametrize(("module", "code", "sender", "recipient", "field"), [
    (Module.SCHULDINVENTARISATIE, "Saldoverzoek", "bewind", "se", "Beschikking"),
    (Module.BETALINGSREGELING, "Saldoverzoek", "shv1", "se", "KlantnummerSHV"),
    (Module.MELDINGEN_BEWINDVOERING, "MeldingStartBewind", "bewind", "se", "Beschikking"),
])
def test_send_and_fetch(module, code, sender, recipient, field, connect, people, pki):
    source = connect(pki.people[sender], module)
    target = connect(pki.people[recipient], module)
    sent = body(module, code)
    receipt = getattr(source, f"Verstuur{code}")(
        Header=header(getattr(people, recipient)), Bericht=sent)
    fetched = fetch_and_confirm(target, receipt.BerichtId)
    assert fetched.Metadata.Afzender == getattr(people, sender).id
    assert getattr(getattr(fetched, code), field) == sent[field]


def test_a_document_of_several_segments_over_tls(connect, people, pki):
    """A document larger than a segment, sent and fetched through the TLS server: the answer
    is written as it is sent, with its length announced in advance."""
    module = Module.MELDINGEN_BEWINDVOERING
    document = os.urandom(3 * SEGMENT_BYTES + 12_345)
    source = connect(pki.people["bewind"], module)
    target = connect(pki.people["se"], module)
    receipt = source.VerstuurMeldingStartBewind(
        Header=header(people.se), Bericht=body(module, "MeldingStartBewind",
                                               Beschikking=document))
    assert target.Berichtenlijst().Bericht[0].Grootte > len(document) * 4 // 3
    fetched = fetch_and_confirm(target, receipt.BerichtId)
    assert fetched.MeldingStartBewind.Beschikking == document
    assert target.Berichtenlijst().Achterstand == 0
