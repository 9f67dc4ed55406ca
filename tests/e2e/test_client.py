"""skp.client against a real hub: every operation, faults, and an ssl.SSLContext identity."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest

from skp import tls
from skp.client import Client, Identity, SkpFault
from skp.domain.catalogue import lookup
from skp.domain.examples import example_body
from skp.domain.roles import Module

SR = Module.SCHULDREGELING
WSDL = Path(__file__).parents[2] / "wsdl" / "schuldregeling.wsdl"


def identity(pki, key):
    person = pki.people[key]
    return Identity(person.cert, person.key, pki.ca_file)


def test_every_operation(server, pki, people):
    shv = Client(server, SR, identity(pki, "shv"), wsdl=WSDL)
    se = Client(server, SR, identity(pki, "se"))  # WSDL fetched from the hub
    assert shv.ping("hoi")["DeelnemerId"] == people.shv.id

    conversation = str(uuid.uuid4())
    receipt = shv.send("Kennisgeving", example_body(lookup(SR, "Kennisgeving")),
                       recipient=people.se.id, kenmerk="CL-1", conversation=conversation)
    pending = se.list_pending()
    assert pending["Achterstand"] == 1
    assert pending["Bericht"][0]["BerichtId"] == receipt["BerichtId"]
    metadata, body = se.fetch(receipt["BerichtId"])
    assert metadata["Berichttype"] == "Kennisgeving"
    assert body["Klant"]["Achternaam"] == "Voorbeeld"
    first = se.confirm(receipt["BerichtId"])
    assert (first["Status"], first["Herhaald"]) == ("confirmed", False)
    again = se.confirm(receipt["BerichtId"])  # a repeat, told apart from the first
    assert (again["Status"], again["Herhaald"]) == ("confirmed", True)
    assert again["BevestigdOp"] == first["BevestigdOp"]
    assert shv.status(kenmerk="CL-1")["Status"] == "confirmed"
    assert [m["BerichtId"] for m in shv.logbook(Richting="Verzonden")] == [receipt["BerichtId"]]
    assert se.logbook(Richting="Verzonden") == []


def test_faults_carry_code_and_request_id(server, pki, people):
    se2 = Client(server, SR, identity(pki, "se2"), wsdl=WSDL)
    with pytest.raises(SkpFault) as info:
        se2.fetch(str(uuid.uuid4()))
    assert info.value.code == "Client.NotFound"
    assert len(info.value.request_id) == 32


def test_an_ssl_context_as_identity(server, pki, people):
    person = pki.people["kredietbank"]
    context = tls.client_context(pki.ca_file, person.cert, person.key)
    client = Client(server, Module.WAARBORGFONDS, context,
                    wsdl=WSDL.with_name("waarborgfonds.wsdl"))
    assert client.ping()["DeelnemerId"] == people.kredietbank.id
