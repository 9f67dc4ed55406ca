"""A large document through the SOAP service: sent and fetched byte for byte, and refused
when its base64 is broken."""

from __future__ import annotations

import base64
import os
import re
import uuid
from pathlib import Path
from urllib.parse import quote

import pytest
import zeep
from lxml import etree

from skp.client import for_zeep
from skp.domain.catalogue import lookup
from skp.domain.examples import example_body
from skp.domain.roles import ROLE_MODULES, Module, Role
from tests.helpers import wsgi_call

MODULE = Module.SCHULDINVENTARISATIE
WSDL = Path(__file__).resolve().parents[2] / "wsdl" / f"{MODULE.value}.wsdl"
#: Several of the 8 KiB chunks spyne reads a request in, with every byte value.
DOCUMENT = os.urandom(300_000) + bytes(range(256))


@pytest.fixture(scope="module")
def soap():
    return zeep.Client(str(WSDL))


@pytest.fixture
def parties(app, ca):
    """Certificate headers of a bewindvoerder and a schuldeiser, and their ids."""
    found = {}
    for name, role in (("bewind", Role.BEWINDVOERDER), ("se", Role.SE)):
        info = app.hub.participants.add(name=name, role=role, modules=ROLE_MODULES[role])
        pem = ca.issue_cert(f"{name}.skp.test").cert_chain_pems[0].bytes()
        app.hub.participants.add_certificate(info.id, pem)
        found[name] = (info.id, quote(pem.decode()))
    return found


def post(app, soap, cert, operation, **arguments):
    element = soap.create_message(soap.service, operation, **arguments)
    body = etree.tostring(element, xml_declaration=True, encoding="utf-8")
    code, _, answer = wsgi_call(app, body=body, PATH_INFO=f"/{MODULE.value}",
                                HTTP_SOAPACTION=f'"{operation}"', HTTP_X_SSL_CLIENT_CERT=cert)
    return code, answer


def saldoverzoek(recipient):
    mt = lookup(MODULE, "Saldoverzoek")
    body = for_zeep(mt, {**example_body(mt, sender_role=Role.BEWINDVOERDER),
                         "Beschikking": DOCUMENT})
    header = {"Kenmerk": f"K-{uuid.uuid4().hex[:12]}", "Ontvanger": recipient,
              "ConversatieReferentienummer": str(uuid.uuid4())}
    return {"Header": header, "Bericht": body}


def test_a_document_survives_send_and_fetch_byte_for_byte(app, soap, parties):
    (_, sender), (recipient, receiver) = parties["bewind"], parties["se"]
    code, answer = post(app, soap, sender, "VerstuurSaldoverzoek",
                        **saldoverzoek(recipient))
    assert code.startswith("200"), answer[:500]
    message_id = re.search(rb"BerichtId>([0-9a-f-]{36})<", answer).group(1).decode()
    code, answer = post(app, soap, receiver, "HaalBerichtOp", BerichtId=message_id)
    assert code.startswith("200")
    text = etree.fromstring(answer).findtext(".//{*}Beschikking")
    assert base64.b64decode(text, validate=True) == DOCUMENT


@pytest.mark.parametrize("text", [b"QUJ", b"QUJD=A==", b"===="])
def test_broken_base64_is_refused_as_before(app, soap, parties, text):
    (_, sender), (recipient, _) = parties["bewind"], parties["se"]
    element = soap.create_message(soap.service, "VerstuurSaldoverzoek",
                                  **saldoverzoek(recipient))
    request = etree.tostring(element, xml_declaration=True, encoding="utf-8")
    broken = re.sub(rb"(Beschikking>)[^<]+", rb"\g<1>" + text, request, count=1)
    code, _, answer = wsgi_call(app, body=broken, PATH_INFO=f"/{MODULE.value}",
                                HTTP_SOAPACTION='"VerstuurSaldoverzoek"',
                                HTTP_X_SSL_CLIENT_CERT=sender)
    assert code.startswith("500")
    assert b"<faultcode>soap:Client.SchemaInvalid</faultcode>" in answer
    assert (b"element VerstuurSaldoverzoek/Bericht/Beschikking has a value of the wrong "
            b"type; see the WSDL") in answer
