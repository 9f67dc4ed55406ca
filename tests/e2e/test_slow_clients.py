"""Slow clients: a request whose body is still arriving takes none of the hub's turns
(``SKP_ACTIVE_REQUESTS``), so other callers are answered meanwhile."""

from __future__ import annotations

import socket
import ssl
from contextlib import ExitStack
from urllib.parse import urlsplit

from skp import tls
from tests.e2e.conftest import session_for
from tests.helpers import PING


def _half_sent(server: str, identity, ca_file) -> ssl.SSLSocket:
    """A connection that sent the headers of a Ping and half its body, and then waits."""
    address = urlsplit(server)
    context = tls.client_context(ca_file, identity.cert, identity.key)
    raw = socket.create_connection((address.hostname, address.port), timeout=10)
    connection = context.wrap_socket(raw, server_hostname=address.hostname)
    connection.sendall(b"POST /schuldregeling HTTP/1.1\r\nHost: localhost\r\n"
                b'Content-Type: text/xml; charset=utf-8\r\nSOAPAction: "Ping"\r\n'
                b"Content-Length: %d\r\n\r\n" % len(PING) + PING[:len(PING) // 2])
    return connection


def test_a_slow_body_holds_up_no_one(server, hub, pki, people):
    slow = hub.settings.active_requests + 1
    with ExitStack() as stack:
        waiting = [stack.enter_context(_half_sent(server, pki.people["shv"], pki.ca_file))
                   for _ in range(slow)]
        with session_for(pki.people["se"], pki.ca_file) as session:
            answer = session.post(f"{server}/schuldregeling", data=PING, timeout=5,
                                  headers={"Content-Type": "text/xml; charset=utf-8",
                                           "SOAPAction": '"Ping"'})
        assert answer.status_code == 200
        assert people.se.id.encode() in answer.content
        for connection in waiting:
            connection.sendall(PING[len(PING) // 2:])
            head = connection.recv(65536)
            assert head.startswith(b"HTTP/1.1 200"), head[:40]
