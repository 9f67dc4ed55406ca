"""Requests as other SOAP stacks write them, to the hub's WSGI application: elements in a
default namespace (JAX-WS, .NET, node-soap), operations the service does not have, envelopes
that break SOAP 1.1's rules. Each gets a fault with a stable code and a request id."""

from __future__ import annotations

import functools
import uuid
from pathlib import Path
from urllib.parse import quote

import pytest
import zeep
from lxml import etree

from skp.client import for_zeep
from skp.domain.admission import Standing
from skp.domain.catalogue import lookup
from skp.domain.examples import example_body
from skp.domain.roles import ROLE_MODULES, Module, Role
from tests.helpers import wsgi_call

SOAP = "http://schemas.xmlsoap.org/soap/envelope/"
SR = "urn:skp:schuldregeling:2.0"
WSDL = Path(__file__).parents[2] / "wsdl"


@pytest.fixture
def pem(app, ca):
    info = app.hub.participants.add(standing=Standing.ACTIVE, name="SHV", role=Role.SHV_FASE2,
                                    modules=ROLE_MODULES[Role.SHV_FASE2])
    pem = ca.issue_cert("shv.skp.test").cert_chain_pems[0].bytes()
    app.hub.participants.add_certificate(info.id, pem)
    return pem.decode()


def call(app, pem, body, **environ):
    return wsgi_call(app, body=body, HTTP_X_SSL_CLIENT_CERT=quote(pem), **environ)


def fault(body: bytes) -> tuple[str, str, dict[str, str]]:
    """(faultcode, faultstring, {child of the detail's Fout: text}) of a fault envelope of
    the schuldregeling service, checking that the two tell the same."""
    found = etree.fromstring(body).find(f"{{{SOAP}}}Body/{{{SOAP}}}Fault")
    assert found is not None, body
    (fout,) = found.find("detail")
    assert fout.tag == f"{{{SR}}}Fout"
    detail = {etree.QName(child).localname: child.text for child in fout}
    assert ("soap:" + detail["Code"], detail["Melding"]) == (
        found.findtext("faultcode"), found.findtext("faultstring"))
    return found.findtext("faultcode"), found.findtext("faultstring"), detail


@functools.cache
def zeep_client(module: Module) -> zeep.Client:
    return zeep.Client(str(WSDL / f"{module}.wsdl"))


def operation(module: Module, name: str, **values) -> etree._Element:
    """The operation element zeep writes for ``name`` (every element prefixed ``ns0:``)."""
    client = zeep_client(module)
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


ENVELOPE_OPEN = f'<S:Envelope xmlns:S="{SOAP}">'
PING = f'<Ping xmlns="{SR}"><Tekst>hoi</Tekst></Ping>'
MUST = ' S:mustUnderstand="1"'


@pytest.mark.parametrize("header", [
    f'<S:Header><Beveiliging xmlns="urn:x"{MUST}/></S:Header>',
    '<S:Header><a xmlns="urn:x"/><b xmlns="urn:x" S:mustUnderstand="true"/></S:Header>',
    f'<S:Header><Beveiliging xmlns="urn:x"{MUST} '
    f'S:actor="http://schemas.xmlsoap.org/soap/actor/next"/></S:Header>',
])
def test_a_header_block_that_must_be_understood_is_a_must_understand_fault(app, pem, header):
    code, headers, body = call(app, pem, f"{ENVELOPE_OPEN}{header}<S:Body>{PING}</S:Body>"
                                         "</S:Envelope>".encode())
    faultcode, message, detail = fault(body)
    assert code.startswith("500")
    assert faultcode == "soap:MustUnderstand"  # SOAP 1.1's own code, in its namespace
    assert "mustUnderstand" in message
    assert detail["RequestId"] == headers["X-Request-Id"]


@pytest.mark.parametrize("header", [
    '<S:Header><Beveiliging xmlns="urn:x"/></S:Header>',
    '<S:Header><Beveiliging xmlns="urn:x" S:mustUnderstand="0"/></S:Header>',
    f'<S:Header><Beveiliging xmlns="urn:x"{MUST} S:actor="urn:another-node"/></S:Header>',
    "<S:Header/>",
])
def test_a_header_block_the_hub_may_ignore_is_ignored(app, pem, header):
    code, _, body = call(app, pem, f"{ENVELOPE_OPEN}{header}<S:Body>{PING}</S:Body>"
                                   "</S:Envelope>".encode())
    assert code.startswith("200"), body


@pytest.mark.parametrize("inside", [
    f"<S:Body>{PING}</S:Body><S:Body>{PING}</S:Body>",
    f"<S:Body>{PING}</S:Body><S:Header/>",
    f"<S:Body>{PING}</S:Body><Nachtrag xmlns='urn:x'/>",
    f"<S:Header/><S:Header/><S:Body>{PING}</S:Body>",
    f"<Vooraf xmlns='urn:x'/><S:Body>{PING}</S:Body>",
    f"<S:Body>{PING}{PING}</S:Body>",
    "<S:Body/>",
])
def test_an_envelope_out_of_soap_order_is_schema_invalid(app, pem, inside):
    code, headers, body = call(app, pem, f"{ENVELOPE_OPEN}{inside}</S:Envelope>".encode())
    faultcode, message, detail = fault(body)
    assert code.startswith("500")
    assert faultcode == "soap:Client.SchemaInvalid"
    assert "one Body" in message
    assert detail["RequestId"] == headers["X-Request-Id"]


@pytest.mark.parametrize("uri", [f" {SR} ", f"{SR} ", "urn:a b"])
def test_a_namespace_uri_with_spaces_is_a_fault_with_a_request_id(app, pem, uri):
    ping = f'<Ping xmlns="{uri}"><Tekst>hoi</Tekst></Ping>'
    code, headers, body = call(app, pem, f"{ENVELOPE_OPEN}<S:Body>{ping}</S:Body>"
                                         "</S:Envelope>".encode())
    faultcode, message, detail = fault(body)
    assert code.startswith("500")
    assert faultcode == "soap:Client.SchemaInvalid"
    assert "namespace URI" in message
    assert detail["RequestId"] == headers["X-Request-Id"]


def test_an_unexpected_error_before_the_service_is_a_fault_with_a_request_id(app, pem,
                                                                             monkeypatch):
    def explode(*args, **kwargs):
        raise RuntimeError("unexpected")

    monkeypatch.setattr(app, "_read", explode)
    code, headers, body = call(app, pem, envelope(unprefixed(kennisgeving())))
    faultcode, _, detail = fault(body)
    assert code.startswith("500")
    assert faultcode == "soap:Server.Error"
    assert detail["RequestId"] == headers["X-Request-Id"]


def logboek(**filter_: str) -> bytes:
    fields = "".join(f"<{name}>{value}</{name}>" for name, value in filter_.items())
    return (f'{ENVELOPE_OPEN}<S:Body><Logboek xmlns="{SR}"><Filter>{fields}</Filter>'
            "</Logboek></S:Body></S:Envelope>").encode()


@pytest.mark.parametrize(("name", "value"), [
    ("Tot", "0001-01-01T00:00:00+01:00"), ("Vanaf", "0001-01-01T00:30:00+00:45"),
    ("Tot", "9999-12-31T23:59:59-01:00"), ("Vanaf", "9999-12-31T23:00:00-14:00"),
    ("Tot", "10000-01-01T00:00:00Z"), ("Vanaf", "-0001-01-01T00:00:00Z"),
])
def test_a_time_no_database_holds_is_schema_invalid(app, pem, name, value):
    code, headers, body = call(app, pem, logboek(**{name: value}),
                               HTTP_SOAPACTION='"Logboek"')
    faultcode, message, detail = fault(body)
    assert code.startswith("500")
    assert faultcode == "soap:Client.SchemaInvalid", message
    assert detail["RequestId"] == headers["X-Request-Id"]


@pytest.mark.parametrize("filter_", [
    {"Vanaf": "0001-01-01T00:00:00Z", "Tot": "9999-12-31T23:59:59Z"},
    {"Vanaf": "0001-01-01T01:00:00+01:00", "Tot": "9999-12-31T22:59:59-01:00"},
    {"Vanaf": "2026-01-01T00:00:00", "Tot": "2026-12-31T00:00:00"},  # no offset: UTC
])
def test_the_edges_of_the_calendar_and_a_time_without_offset_are_searched(app, pem, filter_):
    code, _, body = call(app, pem, logboek(**filter_), HTTP_SOAPACTION='"Logboek"')
    assert code.startswith("200"), body
