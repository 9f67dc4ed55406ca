"""Hostile XML over the wire gets a fault and never reaches a parser that would expand it."""

from __future__ import annotations

import pytest

from tests.e2e.conftest import session_for
from tests.unit.test_xmlsafe import EXTERNAL_DTD, LAUGHS, XXE


def post(server, pki, data):
    session = session_for(pki.people["shv"], pki.ca_file)
    return session.post(f"{server}/schuldregeling", data=data, timeout=10,
                        headers={"Content-Type": "text/xml; charset=utf-8",
                                 "SOAPAction": '"Ping"'})


@pytest.mark.parametrize("document", [LAUGHS, XXE, EXTERNAL_DTD, b"<soap:Envelope",
                                      b"\xff\xfe<\x00a\x00"],
                         ids=["billion-laughs", "xxe", "external-dtd", "truncated",
                              "not-utf8"])
def test_hostile_documents_get_a_schema_fault(document, server, pki, people):
    response = post(server, pki, document)
    assert response.status_code == 500
    assert b"Client.SchemaInvalid" in response.content
    assert b"root:" not in response.content  # nothing of /etc/passwd
    assert b"lollol" not in response.content


def test_wrong_namespace_is_schema_invalid(server, pki, people):
    response = post(server, pki, b'<soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/'
                                 b'soap/envelope/"><soap:Body><Ping xmlns="urn:other"/>'
                                 b"</soap:Body></soap:Envelope>")
    assert response.status_code == 500
    assert b"Client." in response.content
    assert b"Server.Error" not in response.content
