"""Every refusal an integrator can meet, each with its stable code and a request id."""

from __future__ import annotations

import datetime as dt
import uuid

import pytest
import requests
import zeep
from cryptography import x509
from lxml import etree

from skp.domain.admission import Standing
from skp.domain.catalogue import lookup
from skp.domain.examples import example_body
from skp.domain.roles import Module
from tests.e2e.conftest import header, session_for, zeep_body

SR = Module.SCHULDREGELING
CANARY = "CANARY-Pietersen-5521"


def body(code, module=SR, **changes):
    mt = lookup(module, code)
    return zeep_body(mt, {**example_body(mt), **changes})


def fault_of(call, *args, **kwargs):
    with pytest.raises(zeep.exceptions.Fault) as info:
        call(*args, **kwargs)
    fault = info.value
    (fout,) = fault.detail  # the service's fault element, which every operation declares
    ns = etree.QName(fout).namespace
    assert fout.tag == f"{{{ns}}}Fout" and ns.startswith("urn:skp:")
    assert fout.findtext(f"{{{ns}}}Code") == fault.code.split(":")[-1]
    assert fout.findtext(f"{{{ns}}}Melding") == fault.message
    request_id = fout.findtext(f"{{{ns}}}RequestId")
    assert request_id and len(request_id) == 32
    return fault.code.split(":")[-1], fault.message


def ping_with(identity, server, pki):
    session = session_for(identity, pki.ca_file)
    envelope = (b'<soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/">'
                b'<soap:Body><Ping xmlns="urn:skp:schuldregeling:2.0"/></soap:Body>'
                b'</soap:Envelope>')
    return session.post(f"{server}/schuldregeling", data=envelope,
                        headers={"Content-Type": "text/xml; charset=utf-8",
                                 "SOAPAction": '"Ping"'}, timeout=10)


def test_no_client_certificate_is_refused_in_the_handshake(server, pki, people):
    session = requests.Session()
    session.trust_env = False
    session.verify = str(pki.ca_file)
    with pytest.raises(requests.exceptions.ConnectionError):
        session.get(f"{server}/schuldregeling?wsdl", timeout=10)


@pytest.mark.parametrize("identity", ["foreign", "expired"])
def test_certificate_the_handshake_does_not_verify(identity, server, pki, people):
    with pytest.raises(requests.exceptions.ConnectionError):
        ping_with(getattr(pki, identity), server, pki)


def test_unknown_certificate(connect, pki, people):
    code, message = fault_of(connect(pki.unknown, SR).Ping)
    assert code == "Client.Authentication"
    assert "not registered" in message


def test_revoked_certificate(connect, hub, pki, people):
    info = hub.participants.add(standing=Standing.ACTIVE,
                                name="Ingetrokken BV", role="SE", modules=[SR])
    hub.participants.add_certificate(info.id, pki.revoked.pem)
    service = connect(pki.revoked, SR)
    assert service.Ping().DeelnemerId == info.id
    hub.participants.revoke_certificate(pki.revoked.fingerprint)
    assert fault_of(service.Ping)[0] == "Client.Authentication"


def test_certificate_expired_by_the_hubs_clock(connect, clock, pki, people):
    service = connect(pki.people["se"], SR)
    assert service.Ping().DeelnemerId == people.se.id
    cert = x509.load_pem_x509_certificate(pki.people["se"].pem)
    clock.set(cert.not_valid_after_utc + dt.timedelta(seconds=1))
    code, message = fault_of(service.Ping)
    assert code == "Client.Authentication"
    assert "expired" in message


def test_unknown_recipient(connect, pki, people):
    service = connect(pki.people["shv"], SR)
    ghost = type("Ghost", (), {"id": str(uuid.uuid4())})
    code, _ = fault_of(service.VerstuurKennisgeving, Header=header(ghost),
                       Bericht=body("Kennisgeving"))
    assert code == "Client.UnknownRecipient"


def test_role_not_allowed(connect, pki, people):
    service = connect(pki.people["shv"], SR)
    code, message = fault_of(service.VerstuurKennisgevingAntwoord, Header=header(people.se),
                             Bericht=body("KennisgevingAntwoord"))
    assert code == "Client.NotAllowed"
    assert "SHV_FASE2 may not send KennisgevingAntwoord" in message


def test_module_not_enabled(connect, pki, people):
    code, _ = fault_of(connect(pki.people["shv1"], SR).Berichtenlijst)
    assert code == "Client.ModuleNotEnabled"
    code, _ = fault_of(connect(pki.people["se"], Module.WAARBORGFONDS).Berichtenlijst)
    assert code == "Client.ModuleNotEnabled"


def test_schema_invalid_body_says_where_but_not_what(connect, pki, people):
    service = connect(pki.people["shv"], SR)
    klant = body("Kennisgeving")["Klant"]
    code, message = fault_of(
        service.VerstuurKennisgeving, Header=header(people.se),
        Bericht={**body("Kennisgeving"), "Klant": {**klant, "Voorletters": CANARY * 3}})
    assert code == "Client.SchemaInvalid"
    assert "Voorletters" in message and "too long" in message
    assert CANARY not in message


def test_semantically_invalid_body(connect, pki, people):
    shv, se = connect(pki.people["shv"], SR), connect(pki.people["se"], SR)
    request = shv.VerstuurSaldoverzoek(Header=header(people.se), Bericht=body("Saldoverzoek"))
    conversation = shv.Status(BerichtId=request.BerichtId).ConversatieReferentienummer
    code, message = fault_of(
        se.VerstuurSaldoverzoekAntwoord,
        Header=header(people.shv, conversation=conversation, cross=request.BerichtId),
        Bericht={"Datum": "2026-11-24", "Matching": "NIET_GEMATCHT"})
    assert code == "Client.SchemaInvalid"
    assert "OngematchteSchulden" in message


def test_message_over_the_size_limit(connect, pki, people):
    service = connect(pki.people["bewind"], Module.SCHULDINVENTARISATIE)
    big = {**body("Saldoverzoek", Module.SCHULDINVENTARISATIE),
           "Beschikking": b"%PDF" + b"\0" * (4 * 1024 * 1024)}
    code, message = fault_of(service.VerstuurSaldoverzoek, Header=header(people.se),
                             Bericht=big)
    assert code == "Client.TooLarge"
    assert "maximum is 4194304" in message


def test_request_over_the_size_limit_is_not_read(server, hub, pki, people):
    session = session_for(pki.people["shv"], pki.ca_file)
    too_big = b"<" * (hub.settings.max_request_bytes + 1)
    response = session.post(f"{server}/schuldregeling", data=too_big,
                            headers={"Content-Type": "text/xml; charset=utf-8"}, timeout=30)
    assert response.status_code == 500  # with the fault, as every SOAP stack expects it
    assert b"Client.TooLarge" in response.content
    assert response.headers["X-Request-Id"].encode() in response.content
    assert response.headers["Connection"] == "close"


def test_reply_to_a_message_of_someone_else(connect, pki, people):
    shv, se2 = connect(pki.people["shv"], SR), connect(pki.people["se2"], SR)
    request = shv.VerstuurSaldoverzoek(Header=header(people.se), Bericht=body("Saldoverzoek"))
    conversation = shv.Status(BerichtId=request.BerichtId).ConversatieReferentienummer
    code, _ = fault_of(
        se2.VerstuurGeenMedewerking,
        Header=header(people.shv, conversation=conversation, cross=request.BerichtId),
        Bericht=body("GeenMedewerking"))
    assert code == "Client.InvalidReply"


def test_fetch_of_someone_elses_message(connect, pki, people):
    shv, se2 = connect(pki.people["shv"], SR), connect(pki.people["se2"], SR)
    receipt = shv.VerstuurKennisgeving(Header=header(people.se), Bericht=body("Kennisgeving"))
    for operation in (se2.HaalBerichtOp, se2.BevestigOntvangst):
        code, _ = fault_of(operation, BerichtId=receipt.BerichtId)
        assert code == "Client.NotFound"
    code, _ = fault_of(se2.Status, BerichtId=receipt.BerichtId)
    assert code == "Client.NotFound"
