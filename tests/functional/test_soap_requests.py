"""Requests as other SOAP stacks write them, to the hub's WSGI application: elements in a
default namespace (JAX-WS, .NET, node-soap), operations the service does not have, envelopes
that break SOAP 1.1's rules. Each gets a fault with a stable code and a request id."""

from __future__ import annotations

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

SOAP = "http://schemas.xmlsoap.org/soap/envelope/"
SR = "urn:skp:schuldregeling:2.0"
WSDL = Path(__file__).parents[2] / "wsdl"


@pytest.fixture
def pem(app, ca):
    info = app.hub.participants.add(name="SHV", role=Role.SHV_FASE2,
                                    modules=ROLE_MODULES[Role.SHV_FASE2])
    pem = ca.issue_cert("shv.skp.test").cert_chain_pems[0].bytes()
    app.hub.participants.add_certificate(info.id, pem)
    return pem.decode()


def call(app, pem, body, **environ):
    return wsgi_call(app, body=body, HTTP_X_SSL_CLIENT_CERT=quote(pem), **environ)


def fault(body: bytes) -> tuple[str, str, dict[str, str]]:
    """(faultcode, faultstring, {detail child's local name: text}) of a fault envelope."""
    found = etree.fromstring(body).find(f"{{{SOAP}}}Body/{{{SOAP}}}Fault")
    assert found is not None, body
    detail = found.find("detail")
    return (found.findtext("faultcode"), found.findtext("faultstring"),
            {etree.QName(c).localname: c.text for c in (detail if detail is not None else [])})


def operation(module: Module, name: str, **values) -> etree._Element:
    """The operation element zeep writes for ``name`` (every element prefixed ``ns0:``)."""
    client = zeep.Client(str(WSDL / f"{module}.wsdl"))
    message = client.create_message(client.service, name, **values)
    return message.find(f"{{{SOAP}}}Body")[0]


def kennisgeving(**changes) -> etree._Element:
    mt = lookup(Module.SCHULDREGELING, "Kennisgeving")
    header = {"Kenmerk": "K-1", "Ontvanger": str(uuid.uuid4()),
              "ConversatieReferentienummer": str(uuid.uuid4())}
    element = operation(Module.SCHULDREGELING, "VerstuurKennisgeving", Header=header,
                        Bericht=for_zeep(mt, example_body(mt, full=True)))
    for path, text in changes.items():
        element.find(path, {"": SR}).text = text
    return element


def unprefixed(element: etree._Element, parent: etree._Element | None = None) -> etree._Element:
    """``element`` rewritten as JAX-WS, .NET and node-soap write it: in a default namespace."""
    copy = (etree.Element(element.tag, nsmap={None: etree.QName(element).namespace})
            if parent is None else etree.SubElement(parent, element.tag))
    copy.text = element.text
    for child in element:
        unprefixed(child, copy)
    return copy


def envelope(*body: etree._Element, prefix: str = "S") -> bytes:
    env = etree.Element(f"{{{SOAP}}}Envelope", nsmap={prefix: SOAP})
    etree.SubElement(env, f"{{{SOAP}}}Body").extend(body)
    return etree.tostring(env)


POSTCODE = "Bericht/Adreskeuze/Woonadres/Postcode"


@pytest.mark.parametrize("write", [lambda e: e, unprefixed], ids=["prefixed", "default-ns"])
def test_a_schema_fault_names_the_element_by_local_names(app, pem, write):
    code, headers, body = call(app, pem, envelope(write(kennisgeving(**{POSTCODE: "12"}))),
                               HTTP_SOAPACTION='"VerstuurKennisgeving"')
    faultcode, message, detail = fault(body)
    assert code.startswith("500")
    assert faultcode == "soap:Client.SchemaInvalid"
    assert message == ("element VerstuurKennisgeving/Bericht/Adreskeuze/Woonadres/Postcode "
                       "does not have the required format; see the WSDL")
    assert detail["RequestId"] == headers["X-Request-Id"]


def test_a_too_long_value_in_a_default_namespace_names_its_element(app, pem):
    element = unprefixed(kennisgeving(**{"Bericht/Klant/Voorletters": "A" * 500}))
    _, _, body = call(app, pem, envelope(element))
    assert fault(body)[1] == ("element VerstuurKennisgeving/Bericht/Klant/Voorletters is too "
                              "long; see the WSDL")


def test_a_misspelt_operation_is_an_unknown_operation(app, pem):
    element = kennisgeving()
    element.tag = f"{{{SR}}}VerstuurKenisgeving"
    code, headers, body = call(app, pem, envelope(element))
    faultcode, message, detail = fault(body)
    assert code.startswith("500")
    assert faultcode == "soap:Client.UnknownOperation"
    assert message == "the schuldregeling service has no such operation; see its WSDL"
    assert detail["RequestId"] == headers["X-Request-Id"]


def test_another_modules_operation_is_an_unknown_operation_that_names_its_service(app, pem):
    ping = operation(Module.BETALINGSREGELING, "Ping", Tekst="hoi")
    _, _, body = call(app, pem, envelope(unprefixed(ping)))
    faultcode, message, _ = fault(body)
    assert faultcode == "soap:Client.UnknownOperation"
    assert message == ("the operation is one of the betalingsregeling service; send it to "
                       "/betalingsregeling, not to /schuldregeling")


def test_an_element_of_the_service_that_is_no_operation_is_an_unknown_operation(app, pem):
    bericht = kennisgeving().find("Bericht", {"": SR})
    bericht.tag = f"{{{SR}}}Kennisgeving"
    _, _, body = call(app, pem, envelope(bericht))
    assert fault(body)[0] == "soap:Client.UnknownOperation"
