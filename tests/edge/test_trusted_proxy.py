"""The hub behind the edge, in trusted-proxy mode: the caller is who nginx verified, always.

The hub trusts the certificate header from nginx's address only (``EDGE_SOURCE``), so whatever
reaches the hub in that header decides who the caller is: a client that could put its own
value there, or smuggle a request past nginx's framing, would be served as another
participant. Every attempt here comes from ``shv`` and carries ``se``'s certificate; ``se``
must never be answered, and the hub must never log a request of ``se``'s.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import zeep
from zeep.transports import Transport

from skp.domain.roles import Module
from skp.soap.types import namespace
from tests.e2e.conftest import session_for
from tests.edge.nginx import EDGE_SOURCE
from tests.edge.wire import certificate_header, exchange, ping_request
from tests.helpers import PING


def test_a_zeep_call_through_the_edge_is_served_as_the_caller(edge, people, pki, hub_log):
    session = session_for(pki.people["shv"], pki.ca_file)
    client = zeep.Client("wsdl/schuldregeling.wsdl", transport=Transport(session=session))
    service = client.create_service(f"{{{namespace(Module.SCHULDREGELING)}}}Schuldregeling",
                                    f"{edge.url}/schuldregeling")
    answer = service.Ping(Tekst="via de edge")
    assert (answer.Tekst, answer.DeelnemerId, answer.Naam) == (
        "via de edge", people.shv.id, people.shv.name)
    assert hub_log() == {people.shv.id}


def test_the_hub_takes_the_header_from_the_edges_address(server, people, pki):
    # The counterpart of every test below: from nginx's address, the header decides. So it is
    # the edge's overwriting that keeps a client's own header from deciding.
    port = int(server.rsplit(":", 1)[1])
    seen = exchange(port, pki.ca_file, ping_request(certificate_header(pki.people["se"]),
                                                    close=True),
                    identity=pki.edge, source=EDGE_SOURCE)
    assert seen.statuses == [200]
    assert people.se.id.encode() in seen.data


SPOOFS = {
    "the header itself": [certificate_header],
    "in lower case": [lambda who: certificate_header(who, "x-ssl-client-cert")],
    "with underscores": [lambda who: certificate_header(who, "X_SSL_Client_Cert")],
    "twice": [certificate_header, certificate_header],
    "underscores after the header": [
        certificate_header, lambda who: certificate_header(who, "X_SSL_Client_Cert")],
}


@pytest.mark.parametrize("headers", SPOOFS.values(), ids=SPOOFS)
def test_a_clients_own_certificate_header_never_counts(edge, people, pki, hub_log, headers):
    request = ping_request(*(header(pki.people["se"]) for header in headers), close=True)
    seen = exchange(edge.port, pki.ca_file, request, identity=pki.people["shv"])
    assert seen.statuses == [200]
    assert people.shv.id.encode() in seen.data
    assert people.se.id.encode() not in seen.data
    assert hub_log() == {people.shv.id}


def test_without_a_client_certificate_the_header_gets_nothing(edge, people, pki, hub_log):
    seen = exchange(edge.port, pki.ca_file,
                    ping_request(certificate_header(pki.people["se"]), close=True))
    assert seen.statuses == [400]
    assert b"No required SSL certificate was sent" in seen.data
    assert hub_log() == set()


def smuggled(who) -> bytes:
    """The request a smuggler hopes the hub reads as a second one: a Ping as ``who``."""
    return ping_request(certificate_header(who), close=True)


def chunked(size: bytes, body: bytes = PING) -> bytes:
    return size + b"\r\n" + body + b"\r\n0\r\n\r\n"


#: Ambiguous framings, each hiding a second request (or its header) where nginx's reading and
#: another's could differ. nginx refuses each with 400 (501 for a transfer coding it does not
#: know) and closes the connection: nothing after it is read as a request.
SMUGGLING = {
    "Content-Length and Transfer-Encoding": lambda tail: ping_request(
        "Transfer-Encoding: chunked", framing=f"Content-Length: {5 + len(tail)}",
        body=b"0\r\n\r\n" + tail),
    "Transfer-Encoding and Content-Length": lambda tail: ping_request(
        f"Content-Length: {len(PING) + 9}", framing="Transfer-Encoding: chunked",
        body=chunked(b"%x" % len(PING)) + tail),
    "two different Content-Lengths": lambda tail: ping_request(
        f"Content-Length: {len(PING) + len(tail)}", body=PING + tail),
    "Content-Length with a space before the colon": lambda tail: ping_request(
        framing=f"Content-Length : {len(PING)}", body=PING + tail),
    "chunk size 0x4d": lambda tail: ping_request(
        framing="Transfer-Encoding: chunked", body=chunked(b"0x%x" % len(PING)) + tail),
    "chunk size with a sign": lambda tail: ping_request(
        framing="Transfer-Encoding: chunked", body=chunked(b"+%x" % len(PING)) + tail),
    "chunk size with a space in front": lambda tail: ping_request(
        framing="Transfer-Encoding: chunked", body=chunked(b" %x" % len(PING)) + tail),
    "Transfer-Encoding: chunked, identity": lambda tail: ping_request(
        framing="Transfer-Encoding: chunked, identity", body=chunked(b"%x" % len(PING)) + tail),
    "Transfer-Encoding with a space before the colon": lambda tail: ping_request(
        f"Content-Length: {len(PING)}", framing="Transfer-Encoding : chunked",
        body=PING + tail),
    "a folded Transfer-Encoding": lambda tail: ping_request(
        f"Content-Length: {len(PING)}", framing="Transfer-Encoding:\r\n chunked",
        body=PING + tail),
}


@pytest.mark.parametrize("attempt", SMUGGLING.values(), ids=SMUGGLING)
def test_smuggling_is_refused_and_serves_no_one_else(edge, people, pki, hub_log, attempt):
    seen = exchange(edge.port, pki.ca_file, attempt(smuggled(pki.people["se"])),
                    identity=pki.people["shv"])
    assert people.se.id.encode() not in seen.data
    assert hub_log() <= {people.shv.id}
    assert seen.statuses[:1] in ([400], [501]), seen.data[:200]
    assert seen.closed
    assert len(seen.statuses) == 1


def test_a_certificate_header_in_the_chunked_trailer_is_dropped(edge, people, pki, hub_log):
    # Valid framing: nginx reads the whole body, drops the trailer, and passes the body on with
    # a Content-Length of its own.
    header = certificate_header(pki.people["se"]).encode()
    request = ping_request("Connection: close", framing="Transfer-Encoding: chunked",
                           body=b"%x\r\n" % len(PING) + PING + b"\r\n0\r\n" + header + b"\r\n\r\n")
    seen = exchange(edge.port, pki.ca_file, request, identity=pki.people["shv"])
    assert seen.statuses == [200]
    assert people.shv.id.encode() in seen.data
    assert people.se.id.encode() not in seen.data
    assert hub_log() == {people.shv.id}


def test_a_revoked_certificate_is_refused_by_the_edge(edge, server, hub, people, pki, hub_log):
    # Registered and valid for the hub, which reads no CRL: only the edge's CRL refuses it.
    hub.participants.add_certificate(people.se2.id, pki.revoked.pem)
    session = session_for(pki.revoked, pki.ca_file)
    headers = {"Content-Type": "text/xml; charset=utf-8", "SOAPAction": '"Ping"'}
    direct = session.post(f"{server}/schuldregeling", data=PING, headers=headers)
    assert direct.status_code == 200
    assert people.se2.id in direct.text
    through = session_for(pki.revoked, pki.ca_file).post(
        f"{edge.url}/schuldregeling", data=PING, headers=headers)
    assert through.status_code == 400
    assert "The SSL certificate error" in through.text
    assert people.se2.id not in through.text
    assert "certificate revoked" in edge.error_log()
    assert hub_log() == {people.se2.id}  # the direct call only


def established(source: str, port: int) -> int:
    """TCP connections from ``source`` to 127.0.0.1:``port`` now established (/proc/net/tcp:
    addresses in hex, the IPv4 address's bytes reversed; state 01 is ESTABLISHED)."""

    def hex_ip(ip: str) -> str:
        return "".join(f"{int(octet):02X}" for octet in reversed(ip.split(".")))

    hub = f"{hex_ip('127.0.0.1')}:{port:04X}"
    rows = [row.split() for row in Path("/proc/net/tcp").read_text().splitlines()[1:]]
    return sum(1 for row in rows
               if row[3] == "01" and row[1].split(":")[0] == hex_ip(source) and row[2] == hub)


def test_the_edge_keeps_its_connections_to_the_hub_alive(edge, server, people, pki):
    session = session_for(pki.people["shv"], pki.ca_file)
    for _ in range(5):
        answer = session.post(f"{edge.url}/schuldregeling", data=PING, headers={
            "Content-Type": "text/xml; charset=utf-8", "SOAPAction": '"Ping"'})
        assert answer.status_code == 200
    # Idle now, kept for the next request (keepalive_timeout 5s in the upstream block).
    assert 1 <= established(EDGE_SOURCE, int(server.rsplit(":", 1)[1])) <= 8
