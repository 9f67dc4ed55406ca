"""The front door of a running hub (skp.server.frontdoor, skp.server.listener): what it does
with silent, slow, crowding and malformed connections, over real TLS on 127.0.0.1.

The hub here has short limits (a 1 s head deadline, 3 connections per address, 4 threads), so
each rule shows within a second or two. tests/attack/ runs the same attacks at scale.
"""

from __future__ import annotations

import contextlib
import dataclasses
import http.client
import socket
import ssl
import threading
import time
from collections.abc import Callable, Iterator

import pytest

from skp.config import Settings
from skp.domain.catalogue import lookup
from skp.domain.examples import example_body
from skp.domain.roles import Module
from skp.hub import Hub
from skp.sealing import MemoryKeyRing
from skp.server import HubApp, listener, make_server
from skp.soap.types import namespace
from skp.store.db import make_engine, migrate
from tests.e2e.conftest import session_for
from tests.helpers import PING, header, serving, wait_until

CAP, THREADS, KEEPALIVE = 3, 4, 5
SOAP = b'Content-Type: text/xml; charset=utf-8\r\nSOAPAction: "Ping"\r\n'


@pytest.fixture(scope="module")
def hub(pki, clock, tmp_path_factory):
    settings = Settings(tls_cert=pki.server_cert, tls_key=pki.server_key,
                        tls_client_ca=pki.ca_file, server_threads=THREADS, head_timeout=1,
                        max_connections_per_address=CAP, keepalive_requests=KEEPALIVE)
    engine = make_engine(f"sqlite:///{tmp_path_factory.mktemp('front') / 'skp.sqlite3'}")
    migrate(engine)
    hub = Hub.build(settings, engine=engine, keyring=MemoryKeyRing.generate(), clock=clock)
    yield hub
    engine.dispose()


@pytest.fixture(scope="module")
def address(hub) -> Iterator[tuple[str, int]]:
    with serving(make_server(hub, port=0)) as port:
        yield "127.0.0.1", port


def tcp(address, source: str = "127.0.0.1") -> socket.socket:
    return socket.create_connection(address, timeout=5, source_address=(source, 0))


def tls_to(address, pki, source: str = "127.0.0.1", who: str = "shv") -> ssl.SSLSocket:
    from skp import tls

    identity = pki.people[who]
    context = tls.client_context(pki.ca_file, identity.cert, identity.key)
    return context.wrap_socket(tcp(address, source), server_hostname="localhost")


def ping_head(length: int = len(PING)) -> bytes:
    return (b"POST /schuldregeling HTTP/1.1\r\nHost: localhost\r\n" + SOAP +
            b"Content-Length: %d\r\n\r\n" % length)


def answers(sock: ssl.SSLSocket) -> bytes:
    """All the hub sends until it closes the connection or is quiet for 5 s."""
    data = b""
    with contextlib.suppress(TimeoutError, ssl.SSLError, OSError):
        while chunk := sock.recv(65536):
            data += chunk
    return data


def ping(address, pki, timeout: float = 5) -> float:
    started = time.monotonic()
    with session_for(pki.people["se"], pki.ca_file) as session:
        answer = session.post(f"https://localhost:{address[1]}/schuldregeling", data=PING,
                              timeout=timeout, headers={"Content-Type": "text/xml",
                                                        "SOAPAction": '"Ping"'})
    assert answer.status_code == 200
    return time.monotonic() - started


def test_silent_connections_hold_up_no_one(address, pki, people):
    """More silent TCP connections than threads, from as many addresses: cheroot alone did
    their TLS handshakes on its one selector thread, 10 s each."""
    silent = [tcp(address, f"127.0.0.{20 + i}") for i in range(THREADS * 2)]
    try:
        time.sleep(0.2)
        assert ping(address, pki) < 1
    finally:
        for sock in silent:
            sock.close()


def test_a_silent_connection_is_closed_at_the_handshake_deadline(address):
    with tcp(address, "127.0.0.30") as sock:
        sock.settimeout(5)
        started = time.monotonic()
        assert sock.recv(1) == b""
        assert 0.9 < time.monotonic() - started < 3


def test_a_head_that_does_not_complete_in_time_gets_408(address, pki, people):
    with tls_to(address, pki, "127.0.0.31") as sock:
        sock.settimeout(5)
        sock.sendall(b"POST /schuldregeling HTTP/1.1\r\nHost: local")
        started = time.monotonic()
        answer = answers(sock)
    assert answer.startswith(b"HTTP/1.1 408"), answer[:100]
    assert b"Client.Timeout" in answer and b"X-Request-Id: " in answer
    assert time.monotonic() - started < 3


def test_a_body_that_stops_coming_ends_in_client_timeout(address, pki, people):
    with tls_to(address, pki, "127.0.0.32") as sock:
        sock.settimeout(10)
        sock.sendall(ping_head() + PING[:20])
        answer = answers(sock)
    assert answer.startswith(b"HTTP/1.1 408"), answer[:100]
    assert b"Client.Timeout" in answer and b"Connection: close" in answer


def test_connections_past_the_cap_of_an_address_are_closed_at_once(address, pki, people):
    with contextlib.ExitStack() as stack:
        held = [stack.enter_context(tls_to(address, pki, "127.0.0.40")) for _ in range(CAP)]
        with pytest.raises((ssl.SSLError, OSError)):
            tls_to(address, pki, "127.0.0.40").sendall(b"x")
        tls_to(address, pki, "127.0.0.41").close()  # another address is its own count
        held.pop().close()
        time.sleep(0.2)
        tls_to(address, pki, "127.0.0.40").close()  # a place came free


def test_pipelined_requests_are_answered_each(address, pki, people):
    with tls_to(address, pki, "127.0.0.42") as sock:
        sock.settimeout(5)
        sock.sendall((ping_head() + PING) * 2 + b"GET /healthz HTTP/1.1\r\nHost: x\r\n"
                     b"Connection: close\r\n\r\n")
        answer = answers(sock)
    assert answer.count(b"HTTP/1.1 200 OK") == 3, answer[:300]


def test_a_connection_carries_a_bounded_number_of_requests(address, pki, people):
    from skp import tls

    identity = pki.people["shv"]
    context = tls.client_context(pki.ca_file, identity.cert, identity.key)
    connection = http.client.HTTPSConnection("localhost", address[1], context=context,
                                             timeout=5, source_address=("127.0.0.43", 0))
    seen = []
    for _ in range(KEEPALIVE + 2):
        connection.request("POST", "/schuldregeling", body=PING, headers={
            "Content-Type": "text/xml; charset=utf-8", "SOAPAction": '"Ping"'})
        answer = connection.getresponse()
        answer.read()
        seen.append((answer.status, answer.getheader("Connection"), connection.sock is None))
    connection.close()
    # The last request of a connection is answered and says so; the client connects again.
    assert seen == [(200, None, False)] * (KEEPALIVE - 1) + [(200, "close", True)] + [
        (200, None, False)] * 2


@pytest.mark.parametrize("framing", [
    b"Content-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
    b"Content-Length: 0\r\nContent-Length: 44\r\n\r\n",
    b"Content-Length : 0\r\n\r\n",
    b"X_SSL_Client_Cert: x\r\nContent-Length: 0\r\n\r\n",
], ids=["cl-te", "two-cl", "space-colon", "underscore-cert"])
def test_an_ambiguous_head_is_refused_and_nothing_after_it_is_read(address, pki, people,
                                                                   framing):
    with tls_to(address, pki, "127.0.0.43") as sock:
        sock.settimeout(5)
        sock.sendall(b"POST /schuldregeling HTTP/1.1\r\nHost: localhost\r\n" + framing +
                     b"GET /healthz HTTP/1.1\r\nHost: localhost\r\n\r\n")
        answer = answers(sock)
    assert answer.startswith(b"HTTP/1.1 400"), answer[:100]
    assert answer.count(b"HTTP/1.1 ") == 1
    assert b"Client.BadRequest" in answer and b"Connection: close" in answer


@pytest.mark.parametrize("size", [b"0x4d", b"+4d", b"4_d", b"4d" * 200, b"4d\n"])
def test_a_bad_chunk_size_is_a_fault_with_a_request_id(address, pki, people, size):
    with tls_to(address, pki, "127.0.0.44") as sock:
        sock.settimeout(5)
        sock.sendall(b"POST /schuldregeling HTTP/1.1\r\nHost: localhost\r\n" + SOAP +
                     b"Transfer-Encoding: chunked\r\n\r\n" + size + b"\r\n" + b"a" * 77 +
                     b"\r\n0\r\n\r\n")
        answer = answers(sock)
    assert answer.startswith(b"HTTP/1.1 400"), answer[:100]
    assert b"Client.BadRequest" in answer and b"X-Request-Id: " in answer


def test_a_chunked_ping_is_answered(address, pki, people):
    body = b"".join(b"%x\r\n%s\r\n" % (len(PING[i:i + 50]), PING[i:i + 50])
                    for i in range(0, len(PING), 50))
    with tls_to(address, pki, "127.0.0.45") as sock:
        sock.settimeout(5)
        sock.sendall(b"POST /schuldregeling HTTP/1.1\r\nHost: localhost\r\n" + SOAP +
                     b"Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n" + body +
                     b"0\r\nX-Trailer: t\r\n\r\n")
        answer = answers(sock)
    assert answer.startswith(b"HTTP/1.1 200"), answer[:200]


def test_an_unread_body_closes_the_connection(address, pki, people):
    """/healthz reads no body: a large one's rest must never be taken for a next request."""
    with tls_to(address, pki, "127.0.0.46") as sock:
        sock.settimeout(5)
        body = b"GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n" * 4000
        sock.sendall(b"POST /healthz HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n\r\n"
                     % len(body) + body[:65536])
        answer = answers(sock)
    assert answer.count(b"HTTP/1.1 ") == 1 and b"Connection: close" in answer


@pytest.mark.parametrize("query", ["wsdl=1", "WSDL&x", "x=1"])
def test_only_the_plain_wsdl_query_is_served(address, pki, people, query):
    session = session_for(pki.people["shv"], pki.ca_file)
    url = f"https://localhost:{address[1]}/schuldregeling"
    answer = session.get(f"{url}?{query}", headers={"Host": "evil.example"}, timeout=5)
    assert answer.status_code == 400 and b"Client.BadRequest" in answer.content
    assert session.get(f"{url}?wsdl", timeout=5).status_code == 200


def test_refusals_before_the_app_are_counted_as_faults(address, pki, people):
    with tls_to(address, pki, "127.0.0.47") as sock:
        sock.settimeout(5)
        sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n")
        assert answers(sock).startswith(b"HTTP/1.1 400")
    session = session_for(pki.people["shv"], pki.ca_file)
    metrics = session.get(f"https://localhost:{address[1]}/metrics", timeout=5).text
    assert 'skp_faults_total{code="Client.BadRequest"}' in metrics


def test_a_burst_of_new_connections_waits_in_the_listen_queue(hub):
    """While the acceptor is busy (here: not running), new connections wait in the kernel's
    queue; cheroot's default of 5 dropped the rest, whose SYN the client then sent again after
    a second: a flood of connections delayed everyone's new ones."""
    server = make_server(hub, port=0)
    server.prepare()  # listening, but nothing accepts
    try:
        burst = []
        for _ in range(64):
            sock = socket.socket()
            sock.setblocking(False)
            sock.connect_ex(server.bind_addr)
            burst.append(sock)
        time.sleep(0.5)
        connected = [sock for sock in burst if _established(sock)]
        assert len(connected) == len(burst)
    finally:
        for sock in burst:
            sock.close()
        server.stop()


def _established(sock: socket.socket) -> bool:
    try:
        sock.getpeername()
    except OSError:
        return False
    return True


@contextlib.contextmanager
def stoppable(server) -> Iterator[Callable[[], None]]:
    """``server`` serving in a thread; it yields ``stop()``, which begins the server's stop
    (as SIGTERM does) and returns once its drain has begun. On leaving, the stop has ended."""
    server.prepare()
    thread = threading.Thread(target=server.serve, daemon=True)
    thread.start()
    stopping = threading.Thread(target=server.stop)

    def stop() -> None:
        stopping.start()
        wait_until(lambda: server._front._draining, 5, "the server to drain")

    try:
        yield stop
    finally:
        if stopping.ident is None:
            stopping.start()
        stopping.join(timeout=30)
        thread.join(timeout=10)
    assert not stopping.is_alive()


def test_a_stopping_server_answers_the_next_request_of_a_kept_alive_connection(hub, pki,
                                                                              people):
    # A worker that drains (SIGTERM, or SIGHUP's replacement) keeps an idle kept-alive
    # connection for a moment: the next request of a client in the middle of a series is
    # answered, with Connection: close, instead of meeting a connection closed under it.
    from skp import tls

    identity = pki.people["shv"]
    context = tls.client_context(pki.ca_file, identity.cert, identity.key)
    server = make_server(hub, port=0)
    headers = {"Content-Type": "text/xml; charset=utf-8", "SOAPAction": '"Ping"'}
    with stoppable(server) as stop, contextlib.closing(http.client.HTTPSConnection(
            "localhost", server.bind_addr[1], context=context, timeout=5,
            source_address=("127.0.0.44", 0))) as connection:
        connection.request("POST", "/schuldregeling", body=PING, headers=headers)
        first = connection.getresponse()
        first.read()
        assert first.status == 200 and first.getheader("Connection") is None  # kept alive
        stop()  # the door drains and keeps the idle connection
        connection.request("POST", "/schuldregeling", body=PING, headers=headers)
        second = connection.getresponse()
        second.read()
        assert (second.status, second.getheader("Connection")) == (200, "close")


def test_an_answer_sent_across_the_drain_still_gets_the_next_request_answered(hub, pki,
                                                                               people):
    # An answer whose headers went out before the drain (so without Connection: close) and
    # whose body is still being sent when the drain's second for idle connections is over:
    # its client may send its next request on that connection as soon as it has read it.
    # The drain waits for the answer, and the connection gets its second from then on.
    from skp import tls

    module = Module.MELDINGEN_BEWINDVOERING
    body = example_body(lookup(module, "MeldingStartBewind"))
    body["Beschikking"] = b"\x00" * (3 * 1000 * 1000)  # 4 MB as base64: more than the
    # kernel's socket buffers on 127.0.0.1 hold, so the server sends it only as it is read
    sent = hub.mailbox.send(people.bewind.id, module, "MeldingStartBewind",
                            header(people.se), body)
    identity = pki.people["se"]
    context = tls.client_context(pki.ca_file, identity.cert, identity.key)
    # The reader below pauses 1.5 s: past this module's head deadline of 1 s, which is also
    # how long an answer may wait for its reader before its pace counts; the default is 10 s.
    server = listener.make_server(HubApp(hub), dataclasses.replace(hub.settings,
                                                                   head_timeout=10), port=0)
    fetch = (f'<soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/">'
             f'<soap:Body><HaalBerichtOp xmlns="{namespace(module)}"><BerichtId>{sent.message_id}'
             f"</BerichtId></HaalBerichtOp></soap:Body></soap:Envelope>").encode()
    headers = {"Content-Type": "text/xml; charset=utf-8"}
    with stoppable(server) as stop, contextlib.closing(http.client.HTTPSConnection(
            "localhost", server.bind_addr[1], timeout=10)) as connection:
        raw = socket.socket()
        raw.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        raw.settimeout(10)
        raw.bind(("127.0.0.45", 0))
        raw.connect(server.bind_addr)
        connection.sock = context.wrap_socket(raw, server_hostname="localhost")
        connection.request("POST", f"/{module.value}", body=fetch,
                           headers={**headers, "SOAPAction": '"HaalBerichtOp"'})
        first = connection.getresponse()  # its head; the body waits to be read
        assert first.status == 200 and first.getheader("Connection") is None
        stop()
        time.sleep(1.5)  # past the drain's second for idle connections
        assert len(first.read()) > 4_000_000
        time.sleep(0.2)  # the client thinks a moment before its next request
        connection.request("POST", "/schuldregeling", body=PING,
                           headers={**headers, "SOAPAction": '"Ping"'})
        second = connection.getresponse()
        second.read()
        assert (second.status, second.getheader("Connection")) == (200, "close")


def test_a_connection_handed_on_again_at_once_does_not_hold_the_drain(hub, pki, people):
    # A kept-alive connection back in the door may have its next request read and handed on
    # to a thread before the thread that answered the last one has counted it back. Forced
    # here for each request: the drain must still find nothing in flight once the client is
    # gone, and end at once instead of after SKP_DRAIN_TIMEOUT.
    from skp import tls

    identity = pki.people["shv"]
    context = tls.client_context(pki.ca_file, identity.cert, identity.key)
    server = listener.make_server(HubApp(hub), dataclasses.replace(hub.settings,
                                                                   drain_timeout=120), port=0)
    headers = {"Content-Type": "text/xml; charset=utf-8", "SOAPAction": '"Ping"'}
    with stoppable(server) as stop:
        front, handed_on = server._front, threading.Event()
        ready, next_request = front._ready, front.next_request

        def ready_noted(conn, buffered):
            ready(conn, buffered)
            handed_on.set()

        def back_in_the_door(conn, buffered):  # returns once the next request is handed on
            handed_on.clear()
            next_request(conn, buffered)
            handed_on.wait(timeout=1)

        front._ready, front.next_request = ready_noted, back_in_the_door
        with contextlib.closing(http.client.HTTPSConnection(
                "localhost", server.bind_addr[1], context=context, timeout=5,
                source_address=("127.0.0.46", 0))) as connection:
            for _ in range(3):
                connection.request("POST", "/schuldregeling", body=PING, headers=headers)
                answer = connection.getresponse()
                answer.read()
                assert answer.status == 200
        stop()
        wait_until(server._front._drained.is_set, 10, "the drain to end")


def test_a_drain_that_runs_out_of_time_says_what_it_cut_off(hub, pki, people, caplog):
    from skp import tls

    identity = pki.people["shv"]
    context = tls.client_context(pki.ca_file, identity.cert, identity.key)
    server = listener.make_server(HubApp(hub), dataclasses.replace(
        hub.settings, head_timeout=10, drain_timeout=1), port=0)
    with stoppable(server) as stop, socket.create_connection(
            server.bind_addr, timeout=10, source_address=("127.0.0.47", 0)) as raw, \
            context.wrap_socket(raw, server_hostname="localhost") as tls_socket:
        tls_socket.sendall(b"POST /schuldregeling HTTP/1.1\r\nHost: localhost\r\n" + SOAP
                           + b"Content-Length: %d\r\n\r\n" % len(PING) + PING[:20])
        wait_until(lambda: server._handed == 1, 5, "a thread to read the body")
        stop()  # the rest of the body never comes
        wait_until(lambda: any(getattr(r, "outcome", None) == "drain_timeout"
                               for r in caplog.records), 10, "the drain to time out")
    [record] = [r for r in caplog.records if getattr(r, "outcome", None) == "drain_timeout"]
    assert (record.levelname, record.in_flight, record.timeout) == ("WARNING", 1, 1)
