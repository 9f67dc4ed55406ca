"""Clients of the attack suite: raw connections from a chosen source address, and the
legitimate participant who Pings once a second while an attack runs."""

from __future__ import annotations

import contextlib
import http.client
import socket
import ssl
import threading
import time
from dataclasses import dataclass, field

from skp import tls
from tests.attack.hub import Target
from tests.helpers import PING

#: The legitimate client's address. The attackers' are 127.0.0.10 and up (Linux routes all of
#: 127/8 to the loopback device): an edge in front may use 127.0.0.2 for itself.
LEGITIMATE = "127.0.0.1"
ATTACKERS = tuple(f"127.0.0.{10 + i}" for i in range(3))
SOAP_HEADERS = {"Content-Type": "text/xml; charset=utf-8", "SOAPAction": '"Ping"'}


def tcp(target: Target, source: str, timeout: float = 10) -> socket.socket:
    """A plain TCP connection to ``target`` from ``source``."""
    return socket.create_connection((target.host, target.port), timeout=timeout,
                                    source_address=(source, 0))


def context(target: Target, slug: str = "energie-noord") -> ssl.SSLContext:
    cert, key = target.identity(slug)
    return tls.client_context(target.ca, cert, key)


def connect(target: Target, source: str, slug: str = "energie-noord",
            timeout: float = 10) -> ssl.SSLSocket:
    """A mutual-TLS connection to ``target`` from ``source`` as demo participant ``slug``."""
    return context(target, slug).wrap_socket(tcp(target, source, timeout),
                                             server_hostname="localhost")


def exchange(target: Target, request: bytes, source: str = ATTACKERS[0],
             timeout: float = 10) -> bytes:
    """Send ``request`` on a new connection and read until the server closes it (or goes quiet
    for ``timeout``): everything it answered, also when it answered and closed the connection
    before it took the whole request."""
    with connect(target, source, timeout=timeout) as sock:
        with contextlib.suppress(OSError, ssl.SSLError):  # refused early: the answer counts
            sock.sendall(request)
        answer = b""
        try:
            while chunk := sock.recv(65536):
                answer += chunk
        except (TimeoutError, ssl.SSLError, OSError):
            pass
    return answer


class _Https(http.client.HTTPSConnection):
    """An HTTPS connection from the legitimate client's address."""

    def __init__(self, target: Target) -> None:
        super().__init__(target.host, target.port, timeout=10, source_address=(LEGITIMATE, 0),
                         context=context(target, "shv"))


def _ping(connection: http.client.HTTPSConnection) -> None:
    connection.request("POST", "/schuldregeling", body=PING,
                       headers={**SOAP_HEADERS, "Host": "localhost"})
    response = connection.getresponse()
    response.read()
    if response.status != 200:
        raise AssertionError(f"Ping answered {response.status}")


@dataclass
class Pinger:
    """Pings once a second on a fresh connection and on a kept-alive one, from 127.0.0.1."""

    target: Target
    latencies: list[float] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)
    reconnects: int = 0

    def __post_init__(self) -> None:
        self._stop = threading.Event()
        self._threads = [threading.Thread(target=self._run, args=(kept,), daemon=True)
                         for kept in (False, True)]

    def __enter__(self) -> Pinger:
        for thread in self._threads:
            thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout=30)

    def _run(self, kept: bool) -> None:
        connection = _Https(self.target) if kept else None
        while not self._stop.is_set():
            started = time.monotonic()
            try:
                if connection is None:
                    fresh = _Https(self.target)
                    try:
                        _ping(fresh)
                    finally:
                        fresh.close()
                else:
                    try:
                        _ping(connection)
                    except (http.client.RemoteDisconnected, BrokenPipeError,
                            ConnectionResetError):
                        self.reconnects += 1  # the hub closed the kept-alive connection
                        connection.close()
                        _ping(connection)
                self.latencies.append(time.monotonic() - started)
            except (OSError, AssertionError, http.client.HTTPException) as exc:
                self.failures.append(f"{'kept' if kept else 'fresh'}: {type(exc).__name__}")
                if connection is not None:
                    connection.close()
            self._stop.wait(max(0.0, 1 - (time.monotonic() - started)))
        if connection is not None:
            connection.close()

    @property
    def p99(self) -> float:
        ordered = sorted(self.latencies)
        return ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))] if ordered else 0.0
