"""The address book over mutual TLS: ZoekDeelnemers and Deelnemer, as an integrator's system
sees them, and the Kennisgeving / Kennisgeving Publiek rule the book tells senders."""

from __future__ import annotations

import pytest
import zeep
from lxml import etree

from skp.domain.addressbook import PUBLIC_FIELDS
from skp.domain.admission import Standing
from skp.domain.catalogue import lookup
from skp.domain.examples import example_body
from skp.domain.roles import Module, Role
from skp.soap.types import namespace
from tests.e2e.conftest import header, session_for, zeep_body

SR = Module.SCHULDREGELING
SOAP = "http://schemas.xmlsoap.org/soap/envelope/"


def code_of(call, *args, **kwargs):
    with pytest.raises(zeep.exceptions.Fault) as info:
        call(*args, **kwargs)
    return info.value.code.split(":")[-1], info.value.message


def test_a_debt_service_finds_both_units_of_a_creditor(connect, pki, people):
    shv = connect(pki.people["shv"], SR)
    found = shv.ZoekDeelnemers(Naam="energie")
    assert [(d.DeelnemerId, d.Naam, d.Rol, d.GebruiktBsn) for d in found.Deelnemer] == [
        (people.se.id, "Energie BV, unit Noord", "SE", False),
        (people.se2.id, "Energie BV, unit Zuid", "SE", False)]
    assert found.Volgende is None
    entry = found.Deelnemer[0]
    assert sorted(entry.Module) == sorted(m.value for m in people.se.modules)
    assert "Kennisgeving" in entry.Berichttypen.Berichttype
    assert "KennisgevingPubliek" not in entry.Berichttypen.Berichttype


def test_deelnemer_looks_one_up(connect, pki, people):
    shv = connect(pki.people["shv"], SR)
    entry = shv.Deelnemer(DeelnemerId=people.se_bsn.id)
    assert (entry.Naam, entry.GebruiktBsn) == ("Belastingdienst", True)
    assert "KennisgevingPubliek" in entry.Berichttypen.Berichttype
    assert code_of(shv.Deelnemer, DeelnemerId=people.wsk.id)[0] == "Client.NotFound"
    assert code_of(shv.Deelnemer, DeelnemerId="nope")[0] == "Client.SchemaInvalid"
    in_wsk = connect(pki.people["kredietbank"], Module.WAARBORGFONDS)
    assert in_wsk.Deelnemer(DeelnemerId=people.wsk.id).Rol == "WSK"


def test_paging_returns_every_entry_once(connect, pki, people):
    shv = connect(pki.people["shv"], SR)
    everyone = [d.DeelnemerId for d in shv.ZoekDeelnemers(Maximum=500).Deelnemer]
    assert len(everyone) >= 5
    seen, after = [], None
    while True:
        page = shv.ZoekDeelnemers(Maximum=2, Na=after)
        assert len(page.Deelnemer) <= 2
        seen += [d.DeelnemerId for d in page.Deelnemer]
        after = page.Volgende
        if after is None:
            break
    assert seen == everyone and len(set(seen)) == len(seen)


def test_deactivated_and_without_the_module_are_absent(connect, hub, pki, people):
    hub.participants.deactivate(people.se2.id)
    hub.participants.disable_module(people.se.id, SR)
    shv = connect(pki.people["shv"], SR)
    assert shv.ZoekDeelnemers(Naam="energie") is None  # zeep: an empty <Deelnemers/>
    assert [d.DeelnemerId for d in shv.ZoekDeelnemers(
        Naam="energie", Module="betalingsregeling").Deelnemer] == [people.se.id]
    roles = {d.Rol for d in shv.ZoekDeelnemers(Rol="SE").Deelnemer}
    assert roles == {Role.SE.value}


def test_the_answer_holds_only_the_public_fields(server, pki, people):
    session = session_for(pki.people["shv"], pki.ca_file)
    ns = namespace(SR)
    envelope = (f'<soap:Envelope xmlns:soap="{SOAP}"><soap:Body><ZoekDeelnemers xmlns="{ns}">'
                "<Naam>belasting</Naam></ZoekDeelnemers></soap:Body></soap:Envelope>")
    answer = session.post(f"{server}/{SR.value}", data=envelope.encode(), timeout=10,
                          headers={"Content-Type": "text/xml; charset=utf-8",
                                   "SOAPAction": '"ZoekDeelnemers"'})
    assert answer.status_code == 200
    entries = etree.fromstring(answer.content).findall(f".//{{{ns}}}Deelnemer")
    assert len(entries) == 1
    children = [etree.QName(child).localname for child in entries[0]]
    assert set(children) <= set(PUBLIC_FIELDS)  # nothing beyond the public fields
    assert set(PUBLIC_FIELDS) - set(children) == {"KvkNummer", "Vestigingsnummer"}  # unset
    assert children == sorted(children, key=PUBLIC_FIELDS.index)
    assert pki.people["se_bsn"].fingerprint.encode() not in answer.content


@pytest.mark.parametrize(("type_code", "recipient", "use"), [
    ("Kennisgeving", "se_bsn", "KennisgevingPubliek"),
    ("KennisgevingPubliek", "se", "Kennisgeving"),
])
def test_the_kennisgeving_that_fits_the_recipients_bsn(connect, pki, people, type_code,
                                                       recipient, use):
    shv = connect(pki.people["shv"], SR)
    mt = lookup(SR, type_code)
    code, message = code_of(getattr(shv, f"Verstuur{type_code}"),
                            Header=header(getattr(people, recipient)),
                            Bericht=zeep_body(mt, example_body(mt)))
    assert code == "Client.NotAllowed"
    assert f"send {use} instead of {type_code}" in message
    right = lookup(SR, use)
    receipt = getattr(shv, f"Verstuur{use}")(Header=header(getattr(people, recipient)),
                                             Bericht=zeep_body(right, example_body(right)))
    assert receipt.Herhaald is False


def test_the_published_list_is_a_page_for_registered_callers(server, hub, pki, people):
    hub.participants.add(standing=Standing.ACTIVE,
                         name="<script>Incasso & Co</script>", role=Role.SE, modules=[SR])
    page = session_for(pki.people["se"], pki.ca_file).get(f"{server}/deelnemers", timeout=10)
    assert page.status_code == 200
    assert page.headers["Content-Type"] == "text/html; charset=utf-8"
    assert people.se2.id in page.text and "Energie BV, unit Zuid" in page.text
    assert "&lt;script&gt;Incasso &amp; Co&lt;/script&gt;" in page.text
    assert "<script>" not in page.text
    refused = session_for(pki.unknown, pki.ca_file).get(f"{server}/deelnemers", timeout=10)
    assert refused.status_code == 403 and "Client.Authentication" in refused.text
    assert people.se2.id not in refused.text


def test_a_participant_not_active_yet_is_in_no_book_and_reaches_no_one(connect, hub, pki,
                                                                        people):
    """Registered, not yet active, on a hub that runs no test partners: it finds no one, no one
    finds it, and to an active sender it is an unknown recipient."""
    newcomer = hub.participants.add(name="Energie Nieuw", role=Role.SE, modules=[SR])
    hub.participants.add_certificate(newcomer.id, pki.unknown.pem)
    mine = connect(pki.unknown, SR)
    assert mine.Ping().DeelnemerId == newcomer.id  # its certificate works, to be tested
    assert mine.ZoekDeelnemers(Maximum=500) is None  # an empty Deelnemers
    assert code_of(mine.Deelnemer, DeelnemerId=people.shv.id)[0] == "Client.NotFound"
    shv = connect(pki.people["shv"], SR)
    assert newcomer.id not in {d.DeelnemerId for d in shv.ZoekDeelnemers(Maximum=500).Deelnemer}
    assert code_of(shv.Deelnemer, DeelnemerId=newcomer.id)[0] == "Client.NotFound"
    mt = lookup(SR, "Kennisgeving")
    code, message = code_of(shv.VerstuurKennisgeving, Header=header(newcomer),
                            Bericht=zeep_body(mt, example_body(mt)))
    assert (code, message) == ("Client.UnknownRecipient", f"no active participant {newcomer.id}")
    answer = lookup(SR, "StatusberichtSe")
    assert code_of(mine.VerstuurStatusberichtSe, Header=header(people.shv),
                   Bericht=zeep_body(answer, example_body(answer)))[0] == "Client.NotAllowed"
    hub.participants.activate(newcomer.id, without_acceptance=True)
    assert shv.Deelnemer(DeelnemerId=newcomer.id).Naam == "Energie Nieuw"
    assert shv.VerstuurKennisgeving(Header=header(newcomer),
                                    Bericht=zeep_body(mt, example_body(mt))).Herhaald is False
