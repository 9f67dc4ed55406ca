"""The edge's limits: what nginx refuses itself, and slow clients that cost the hub nothing."""

from __future__ import annotations

import contextlib
import socket
import ssl

import requests

from tests.e2e.conftest import session_for
from tests.edge.wire import exchange, ping_request
from tests.helpers import PING

HEADERS = {"Content-Type": "text/xml; charset=utf-8", "SOAPAction": '"Ping"'}


def test_a_body_over_the_hubs_limit_is_refused_before_it_is_read(edge, pki, hub, hub_log):
    too_large = hub.settings.max_request_bytes + 1
    seen = exchange(edge.port, pki.ca_file,
                    ping_request(framing=f"Content-Length: {too_large}", body=b"<"),
                    identity=pki.people["shv"], idle=0.5)
    assert seen.statuses == [413]
    assert hub_log() == set()


def test_an_overlong_header_line_and_request_line_are_refused(edge, pki):
    header = exchange(edge.port, pki.ca_file, ping_request("SOAPAction2: " + "a" * 9000),
                      identity=pki.people["shv"])
    assert header.statuses == [400]
    line = exchange(edge.port, pki.ca_file,
                    b"GET /" + b"a" * 9000 + b" HTTP/1.1\r\nHost: localhost\r\n\r\n",
                    identity=pki.people["shv"])
    assert line.statuses == [414]


def test_only_get_and_post_pass(edge, pki):
    session = session_for(pki.people["shv"], pki.ca_file)
    for method in ("PUT", "DELETE", "OPTIONS", "PATCH"):
        assert session.request(method, f"{edge.url}/schuldregeling").status_code == 403, method


def test_metrics_are_not_served_through_the_edge(edge, pki):
    answer = session_for(pki.people["shv"], pki.ca_file).get(f"{edge.url}/metrics")
    assert answer.status_code == 404
    assert "skp_" not in answer.text


def test_slow_bodies_hold_no_hub_thread(edge, hub, people, pki):
    # More connections than the hub has threads, each with a body that never comes: nginx
    # buffers a request whole before it passes it on, so the hub sees none of them.
    context = ssl.create_default_context(cafile=str(pki.ca_file))
    context.load_cert_chain(pki.people["shv"].cert, pki.people["shv"].key)
    with contextlib.ExitStack() as stack:
        for _ in range(hub.settings.server_threads + 4):
            raw = stack.enter_context(socket.create_connection(("127.0.0.1", edge.port)))
            tls = stack.enter_context(context.wrap_socket(raw, server_hostname="localhost"))
            tls.sendall(ping_request(framing="Content-Length: 100000", body=PING[:20]))
        session = session_for(pki.people["se"], pki.ca_file)
        try:
            answer = session.post(f"{edge.url}/schuldregeling", data=PING, headers=HEADERS,
                                  timeout=8)
        except requests.Timeout as exc:  # bounded: the hub's threads were all held
            raise AssertionError("the Ping waited behind the slow bodies") from exc
        assert answer.status_code == 200
        assert people.se.id in answer.text
