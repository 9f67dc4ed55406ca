"""The probes: each a bounded attack on the hub's front door, returning its figures.

A probe runs for a few seconds (the sustained ones for :data:`SUSTAIN`, longer than the hub's
and nginx's head deadlines, re-opening every connection the server closes) from the attackers'
addresses (clients.ATTACKERS), and raises AssertionError when the target answers what it must
not. Behind nginx some answers are nginx's own (a 400 without a SOAP fault, say) and some attacks
never reach the hub (nginx reads a request whole before it passes it on): each probe checks what
is right for its target. Every byte an attacker sends that could end up in a log carries
:data:`CANARY`.
"""

from __future__ import annotations

import collections
import socket
import ssl
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from skp.domain.roles import Module
from skp.soap.types import namespace
from tests.attack.clients import ATTACKERS, connect, context, exchange, tcp
from tests.attack.hub import Target
from tests.helpers import PING

CANARY = b"CANARY7f3a"
SUSTAIN = 12.0  # seconds: longer than the default SKP_HEAD_TIMEOUT (10)
NS = namespace(Module.SCHULDREGELING)
MB = 1024 * 1024


@dataclass(frozen=True)
class Probe:
    """One row of the table: what the attack is, and how to run it."""

    name: str
    what: str
    run: Callable[[Target], str]


class Tally:
    """Counts what happened to an attack's connections, from many threads."""

    def __init__(self) -> None:
        self._counts: collections.Counter[str] = collections.Counter()
        self._lock = threading.Lock()

    def add(self, what: str, n: int = 1) -> None:
        with self._lock:
            self._counts[what] += n

    def __getitem__(self, what: str) -> int:
        return self._counts[what]


def sustain(count: int, attack: Callable[[str, threading.Event, Tally], None],
            seconds: float = SUSTAIN) -> Tally:
    """``count`` attackers (round robin over the attackers' addresses), each re-running
    ``attack(source, stop, tally)`` until ``seconds`` have passed."""
    stop, tally = threading.Event(), Tally()

    def loop(source: str) -> None:
        while not stop.is_set():
            try:
                attack(source, stop, tally)
            except (OSError, ssl.SSLError):
                tally.add("refused")  # the hub closed it at once (the cap per address)
                stop.wait(0.5)

    threads = [threading.Thread(target=loop, args=(ATTACKERS[i % len(ATTACKERS)],),
                                daemon=True) for i in range(count)]
    for thread in threads:
        thread.start()
    stop.wait(seconds)
    stop.set()
    for thread in threads:
        thread.join(timeout=15)
    return tally


def _hold(stop: threading.Event, tally: Tally, started: float,
          step: Callable[[], bool]) -> None:
    """Repeat ``step`` until it says the hub is done with the connection (False, or an error)
    or the attack ends; a step that times out is tried again. Count how it ended."""
    while not stop.is_set():
        try:
            if not step():
                break
        except TimeoutError:
            continue
        except (OSError, ssl.SSLError):
            break
    else:
        tally.add("held to the end")
        return
    _count_close(tally, started, stop)


def _held(sock: socket.socket, stop: threading.Event, tally: Tally, started: float) -> None:
    """Wait until the hub closes ``sock`` (or the attack ends); count how long it held."""
    sock.settimeout(0.5)
    _hold(stop, tally, started, lambda: bool(sock.recv(65536)))


def _count_close(tally: Tally, started: float, stop: threading.Event) -> None:
    """The server closed a connection: at once (over the cap per address; the attacker then
    waits half a second), or after holding it."""
    held = time.monotonic() - started
    if held < 0.5:
        tally.add("refused")
        stop.wait(0.5)
    else:
        tally.add("closed")
        tally.add("held ms", int(held * 1000))


def silent(target: Target) -> str:
    """Plain TCP connections that never send a byte (no TLS, no certificate)."""
    def attack(source: str, stop: threading.Event, tally: Tally) -> None:
        with tcp(target, source) as sock:
            tally.add("opened")
            _held(sock, stop, tally, time.monotonic())

    tally = sustain(20, attack)
    return _closed(tally)


def _closed(tally: Tally) -> str:
    closed = tally["closed"]
    parts = [f"{tally['opened']} opened"]
    if closed:
        parts.append(f"{closed} closed after {tally['held ms'] / closed / 1000:.1f} s on average")
    if tally["held to the end"]:
        parts.append(f"{tally['held to the end']} held to the end")
    if tally["refused"]:
        parts.append(f"{tally['refused']} closed at once (the cap per address)")
    return ", ".join(parts)


def _hub_logged(target: Target, marker: bytes, attack: Callable[[], Tally]) -> tuple[Tally, int]:
    """Run ``attack``; how often the hub logged ``marker`` meanwhile."""
    before = target.log.read_bytes().count(marker)
    tally = attack()
    return tally, target.log.read_bytes().count(marker) - before


def slowloris(target: Target) -> str:
    """Request heads sent one byte a second, over mutual TLS."""
    def attack(source: str, stop: threading.Event, tally: Tally) -> None:
        with connect(target, source) as sock:
            tally.add("opened")
            started = time.monotonic()
            sock.sendall(b"POST /schuldregeling HTTP/1.1\r\nHost: localhost\r\nX-" + CANARY)
            sock.settimeout(1)

            def step() -> bool:
                sock.sendall(b"a")
                if sock.recv(65536).startswith(b"HTTP/1.1 408"):
                    tally.add("408")
                return False  # answered or closed

            _hold(stop, tally, started, step)

    tally = sustain(16, attack)
    return _closed(tally) + f", {tally['408']} answered 408"


def slow_bodies(target: Target) -> str:
    """Ping heads announcing 1 MB, then 4 body bytes a second."""
    head = (b"POST /schuldregeling HTTP/1.1\r\nHost: localhost\r\nContent-Type: text/xml\r\n"
            b'SOAPAction: "Ping"\r\nContent-Length: 1048576\r\n\r\n<soap:Envelope ')

    def attack(source: str, stop: threading.Event, tally: Tally) -> None:
        with connect(target, source) as sock:
            tally.add("opened")
            started = time.monotonic()
            sock.sendall(head)
            sock.settimeout(1)

            def step() -> bool:
                sock.sendall(CANARY[:4])
                sock.recv(65536)
                return False  # answered or closed

            _hold(stop, tally, started, step)

    tally, timeouts = _hub_logged(target, _TIMEOUT, lambda: sustain(20, attack))
    return _closed(tally) + f", {timeouts} answered 408 Client.Timeout by the hub"


def slow_readers(target: Target) -> str:
    """40 pipelined WSDL requests (5 MB of answers) read at 1 KB a second."""
    request = b"GET /schuldregeling?wsdl HTTP/1.1\r\nHost: localhost\r\n\r\n" * 40

    def attack(source: str, stop: threading.Event, tally: Tally) -> None:
        raw = socket.socket()
        raw.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        raw.settimeout(10)
        raw.bind((source, 0))
        raw.connect((target.host, target.port))
        with context(target).wrap_socket(raw, server_hostname="localhost") as sock:
            tally.add("opened")
            started = time.monotonic()
            sock.sendall(request)
            sock.settimeout(1)

            def step() -> bool:
                data = sock.recv(1024)
                if data:
                    tally.add("bytes read", len(data))
                    stop.wait(1)
                return bool(data)

            _hold(stop, tally, started, step)

    tally, cut = _hub_logged(target, _CUT, lambda: sustain(20, attack))
    return (f"{_closed(tally)}, {cut} answers cut off by the hub (Client.Timeout), "
            f"{tally['bytes read'] // 1024} KB read in all")


_CUT = b"answer not taken up in time"
_TIMEOUT = b"outcome=Client.Timeout"


def header_line(target: Target) -> str:
    """One unfinished 4 MB header line on each of 4 connections."""
    def attack(source: str, stop: threading.Event, tally: Tally) -> None:
        with connect(target, source) as sock:
            sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: localhost\r\nX-" + CANARY + b": ")
            piece, sent = b"a" * 65536, 0
            try:
                while sent < 4 * MB:
                    sock.sendall(piece)
                    sent += len(piece)
            except (OSError, ssl.SSLError):
                pass
            sock.settimeout(2)
            try:
                answer = sock.recv(65536)
            except (OSError, ssl.SSLError):
                answer = b""
            tally.add(answer[9:12].decode() or "no answer")
            tally.add("sent KB", sent // 1024)
        stop.wait(SUSTAIN)  # once per attacker

    tally = sustain(4, attack, seconds=6)
    answers = ", ".join(f"{tally[status]} answered {status}" for status in ("400", "431")
                        if tally[status])
    return (f"4 lines: {answers or 'none answered'}, {tally['no answer']} cut off; "
            f"{tally['sent KB'] // 4} KB of each line sent")


def _post(body: bytes, *, action: bytes = b'"Ping"', path: bytes = b"/schuldregeling",
          extra: bytes = b"") -> bytes:
    return (b"POST " + path + b" HTTP/1.1\r\nHost: localhost\r\nContent-Type: text/xml; "
            b"charset=utf-8\r\nSOAPAction: " + action + b"\r\nContent-Length: %d\r\n" % len(body)
            + extra + b"Connection: close\r\n\r\n" + body)


def _status(answer: bytes) -> str:
    return answer[9:12].decode() if answer.startswith(b"HTTP/1.1 ") else "none"


def _envelope(inner: str) -> bytes:
    return (f'<soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/">'
            f"<soap:Body>{inner}</soap:Body></soap:Envelope>").encode()


def attribute_bomb(target: Target) -> str:
    """A Ping whose <Ping> carries 100 000 attributes, from a registered participant, 3 times."""
    attributes = " ".join(f'a{i}="{CANARY.decode()}"' for i in range(100_000))
    bomb = _post(_envelope(f'<Ping xmlns="{NS}" {attributes}><Tekst>x</Tekst></Ping>'))
    times, statuses = [], []
    for source in ATTACKERS:
        started = time.monotonic()
        answer = exchange(target, bomb, source, timeout=60)
        times.append(time.monotonic() - started)
        statuses.append(_status(answer))
        assert b"Client.SchemaInvalid" in answer, answer[:300]
    return (f"{len(bomb) // 1024} KB each: {'/'.join(statuses)} Client.SchemaInvalid in "
            f"{max(times):.2f} s at most")


_SMUGGLED = b"GET /healthz HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n"
#: Framings that are no framing problem for nginx: it drops a header with an underscore.
_UNDERSCORED = ("X_SSL_Client_Cert", "X_SSL_Client_Cert alone")
FRAMINGS = {
    "Content-Length + Transfer-Encoding":
        b"Content-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
    "two Content-Lengths": b"Content-Length: 0\r\nContent-Length: 44\r\n\r\n",
    "Content-Length :": b"Content-Length : 0\r\n\r\n",
    "Content-Length: +0": b"Content-Length: +0\r\n\r\n",
    "Transfer-Encoding twice": b"Transfer-Encoding: chunked\r\nTransfer-Encoding: identity\r\n"
                               b"\r\n0\r\n\r\n",
    "X_SSL_Client_Cert": b"X-SSL-Client-Cert: a\r\nX_SSL_Client_Cert: " + CANARY +
                         b"\r\nContent-Length: 0\r\n\r\n",
    "X_SSL_Client_Cert alone": b"X_SSL_Client_Cert: " + CANARY + b"\r\nContent-Length: 0\r\n\r\n",
    "folded header": b"X-A: a\r\n " + CANARY + b"\r\nContent-Length: 0\r\n\r\n",
}


def framings(target: Target) -> str:
    """Ambiguous framings and certificate headers, each followed by a smuggled request.

    The bare hub refuses each with its fault. nginx refuses the ambiguous framings with its own
    400, and drops a header with an underscore: the hub then sees a POST without a body (a
    fault of its own; the underscore header would have been its 400 Client.BadRequest) and the
    request after it is a request of its own, unambiguously framed, and answered as such."""
    refused = passed = 0
    for name, framing in FRAMINGS.items():
        request = b"POST /schuldregeling HTTP/1.1\r\nHost: localhost\r\n" + framing + _SMUGGLED
        answer = exchange(target, request)
        if target.edge is not None and name in _UNDERSCORED:
            assert answer.count(b"HTTP/1.1 ") == 2, (name, answer[:200])
            assert b"Client.SchemaInvalid" in answer and b"X-Request-Id" in answer, name
            passed += 1
            continue
        assert answer.count(b"HTTP/1.1 ") == 1, f"{name}: {answer.count(b'HTTP/1.1 ')} answers"
        assert _status(answer) == "400" and b"Connection: close" in answer, (name, answer[:200])
        if target.edge is None:
            assert b"Client.BadRequest" in answer and b"X-Request-Id" in answer, name
        refused += 1
    if target.edge is None:
        return (f"{refused}/{len(FRAMINGS)} refused 400 Client.BadRequest, connection closed, "
                "no smuggled request answered")
    return (f"{refused}/{len(FRAMINGS)} refused 400 by nginx, connection closed, no smuggled "
            f"request answered; {passed} with the underscore header dropped, answered by the "
            "hub as the verified caller (Client.SchemaInvalid: no body), the next request "
            "answered on its own")


def forged_host(target: Target) -> str:
    """WSDL requests with a forged Host, and query strings other than ?wsdl."""
    forged = b"Host: evil.example\r\nConnection: close\r\n\r\n"
    answers = {query: exchange(target, b"GET /schuldregeling" + query + b" HTTP/1.1\r\n" + forged)
               for query in (b"?wsdl=1", b"?wsdl&x", b"?WSDL=", b".wsdl", b"?wsdl")}
    for query, answer in answers.items():
        assert b"evil.example" not in answer, query
        if query != b"?wsdl":
            assert _status(answer) in ("400", "404"), (query, answer[:200])
    assert _status(answers[b"?wsdl"]) == "200"
    statuses = ", ".join(f"{q.decode()} {_status(a)}" for q, a in answers.items())
    return f"{statuses}; the forged Host is in no answer (the WSDL is the snapshot)"


CHUNKS = {
    "0x4d": b"0x4d\r\n",
    "+4d": b"+4d\r\n",
    "4_d": b"4_d\r\n",
    "size with spaces": b" 4d \r\n",
    "300-byte size line": b"4d;" + CANARY * 30 + b"\r\n",
    "1 MB size line": b"4" * MB,
    "no CRLF after data": b"4\r\n" + CANARY[:4] + CANARY + b"\r\n0\r\n\r\n",
}


def bad_chunks(target: Target) -> str:
    """Chunked Pings with malformed chunk sizes."""
    codes = collections.Counter()
    for name, chunk in CHUNKS.items():
        request = (b"POST /schuldregeling HTTP/1.1\r\nHost: localhost\r\nContent-Type: text/xml\r\n"
                   b'SOAPAction: "Ping"\r\nTransfer-Encoding: chunked\r\n\r\n' + chunk +
                   CANARY * 8 + b"\r\n0\r\n\r\n")
        answer = exchange(target, request)
        assert _status(answer) == "400" and b"Connection: close" in answer, (name, answer[:300])
        if target.edge is None:
            assert b"Client.BadRequest" in answer and b"X-Request-Id" in answer, name
        codes[_status(answer)] += 1
    if target.edge is not None:
        return f"{sum(codes.values())}/{len(CHUNKS)} answered 400 by nginx, connection closed"
    return f"{sum(codes.values())}/{len(CHUNKS)} answered 400 Client.BadRequest with a request id"


def long_values(target: Target) -> str:
    """A 1 MB SOAPAction, a 30 KB one (its canary past what the log keeps of it), and
    control bytes in the path (logged escaped)."""
    huge = exchange(target, _post(PING, action=b'"' + CANARY * (MB // len(CANARY)) + b'"'))
    long = exchange(target, _post(PING, action=b'"' + b"a" * 200 + CANARY * 3000 + b'"'))
    escape = exchange(target, _post(PING, path=b"/schuldregeling%1b%5b31m%00"))
    raw = exchange(target, _post(PING, path=b"/schuldregeling\x1b[31m"))
    # nginx: header lines of at most 8 KiB (400), and no %00 or control byte in a path (400).
    assert _status(huge) == ("431" if target.edge is None else "400"), huge[:200]
    assert _status(raw) == "400", raw[:200]
    return (f"1 MB SOAPAction {_status(huge)}, 30 KB SOAPAction {_status(long)}, "
            f"%1b in the path {_status(escape)}, a raw ESC in the path {_status(raw)}")


def corpus(target: Target) -> str:
    """The hostile XML corpus of tests/e2e/test_attacks.py, posted once each."""
    from tests.e2e.test_attacks import corpus as documents

    secret = Path("/nonexistent/secret")
    attacks = documents(8 * MB, "http://127.0.0.1:9", secret)
    refused = 0
    for name, attack in attacks.items():
        body = attack.data
        if attack.chunked:
            body = b"".join(b"%x\r\n%s\r\n" % (len(body[i:i + MB]), body[i:i + MB])
                            for i in range(0, len(body), MB)) + b"0\r\n\r\n"
            framing = b"Transfer-Encoding: chunked\r\n"
        else:
            framing = b"Content-Length: %d\r\n" % len(body)
        request = (attack.method.encode() + b" /schuldregeling HTTP/1.1\r\nHost: localhost\r\n"
                   b'Content-Type: text/xml; charset=utf-8\r\nSOAPAction: "Ping"\r\n' + framing
                   + b"Connection: close\r\n\r\n" + body)
        answer = exchange(target, request, timeout=30)
        if target.edge is not None and attack.code == "Client.TooLarge":
            # client_max_body_size: nginx refuses it, unread, with a 413 of its own.
            assert _status(answer) == "413", (name, answer[:300])
            refused += 1
            continue
        assert _status(answer) == str(attack.status), (name, answer[:300])
        assert b"<faultcode>soap:Client." in answer, name
    faulted = len(attacks) - refused
    return (f"{faulted}/{len(attacks)} answered with their Client fault"
            + (f", {refused} too large refused 413 by nginx" if refused else ""))


PROBES = [
    Probe("silent", "20 plain TCP connections that never send", silent),
    Probe("slowloris", "16 request heads at 1 byte/s", slowloris),
    Probe("slow-bodies", "20 bodies (Content-Length 1 MB) at 4 bytes/s", slow_bodies),
    Probe("slow-readers", "20 readers of 5 MB of answers at 1 KB/s", slow_readers),
    Probe("header-line", "an unfinished 4 MB header line on each of 4 connections", header_line),
    Probe("framing", "CL+TE, two CLs, `Content-Length :`, `+0`, TE twice, underscore and "
          "folded headers, each with a smuggled request", framings),
    Probe("forged-host", "`GET /<module>?wsdl=1` and other queries with a forged Host",
          forged_host),
    Probe("bad-chunks", "`0x4d`, `+4d`, `4_d`, long and unterminated chunk sizes", bad_chunks),
    Probe("long-values", "1 MB and 30 KB SOAPAction, control bytes in the path", long_values),
    Probe("xml-corpus", "the hostile XML corpus (tests/e2e/test_attacks.py)", corpus),
    # Last: a hub without the tag pre-scan stays frozen for minutes after it.
    Probe("attribute-bomb", "a Ping with 100 000 attributes (registered caller), 3x",
          attribute_bomb),
]
