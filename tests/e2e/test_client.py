"""skp.client against a real hub: every operation, faults, and an ssl.SSLContext identity."""

from __future__ import annotations

import uuid
from pathlib import Path
from urllib.parse import urlsplit

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


def connections_to(port: int) -> set[int]:
    """The local ports of this machine's established TCP connections to ``port``."""
    ports = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for line in Path(table).read_text().splitlines()[1:]:
            local, remote, state = line.split()[1:4]
            if state == "01" and int(remote.rsplit(":", 1)[1], 16) == port:
                ports.add(int(local.rsplit(":", 1)[1], 16))
    return ports


def test_a_closed_client_leaves_no_connection_open(server, pki, people):
    port = urlsplit(server).port
    before = connections_to(port)
    with Client(server, SR, identity(pki, "shv"), wsdl=WSDL) as client:
        assert client.ping()["DeelnemerId"] == people.shv.id
        opened = connections_to(port) - before
        assert len(opened) == 1  # kept alive for the next call
    assert not opened & connections_to(port)
