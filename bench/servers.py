"""Measure the hub's WSGI server: SOAP ``Ping`` over mutual TLS, and where its ceiling is.

Run: ``.venv/bin/python bench/servers.py [--seconds 10] [--clients 8]`` (about 2 x seconds + 5;
``--smoke``: 1 s loads, 2 clients).

Builds a throwaway PKI (trustme) and a hub on a temporary SQLite file with one SHV_FASE2
participant. First it times one Ping inside the app (no server, no TLS, one thread) and its two
parts, the participant lookup and spyne. Then it starts the real skp server
(``skp.server.make_server``) on an ephemeral port of 127.0.0.1 in a thread and drives it with
keep-alive clients, one ``requests.Session`` per thread, in this same process; for comparison
the same cheroot and TLS setup serves a bare WSGI app that answers a fixed 200. For each server
it checks what docs/server.md requires: the peer certificate reaches the app, a client without
a certificate is refused in the handshake, connections are kept alive. Prints figures only.
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import os
import platform
import re
import socket
import ssl
import statistics
import tempfile
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any

import cheroot
import requests
from cheroot import wsgi
from cheroot.ssl.builtin import BuiltinSSLAdapter
from harness import Clients, Pki, make_pki, out, wsgi_environ

from skp import tls
from skp.client import session_for
from skp.config import Settings
from skp.domain.admission import Standing
from skp.domain.roles import ROLE_MODULES, Role
from skp.hub import Hub
from skp.sealing import MemoryKeyRing
from skp.server import HubApp, make_server
from skp.store.db import make_engine, migrate

PING = (b'<?xml version="1.0" encoding="utf-8"?>\n'
        b'<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/"'
        b' xmlns:sr="urn:skp:schuldregeling:2.0"><soapenv:Body>'
        b"<sr:Ping><sr:Tekst>bench</sr:Tekst></sr:Ping></soapenv:Body></soapenv:Envelope>")
HEADERS = {"SOAPAction": '"Ping"', "Content-Type": "text/xml; charset=utf-8"}
Wsgi = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]


class Counting:
    """WSGI middleware: counts requests and TCP connections (distinct client ports), keeps the
    last peer certificate the server put into the environ, and collects cheroot's messages."""

    def __init__(self, app: Wsgi) -> None:
        self.app = app
        self.requests = 0
        self.ports: set[str] = set()
        self.peer_cert: str | None = None
        self.messages: list[str] = []
        self._lock = threading.Lock()

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]
                 ) -> Iterable[bytes]:
        with self._lock:
            self.requests += 1
            self.ports.add(environ["REMOTE_PORT"])
            self.peer_cert = environ.get("SSL_CLIENT_CERT")
        return self.app(environ, start_response)

    def log(self, msg: str = "", level: int = 20, traceback: bool = False) -> None:
        self.messages.append(msg)  # cheroot's error_log hook: refused handshakes land here


def bare_app(environ: dict[str, Any], start_response: Callable[..., Any]) -> list[bytes]:
    """Reads the body and answers a fixed 200: what the server and TLS cost without skp."""
    environ["wsgi.input"].read(int(environ.get("CONTENT_LENGTH") or 0))
    start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", "2")])
    return [b"ok"]


def ping_environ(pem: str, **extra: Any) -> dict[str, Any]:
    """The WSGI environ cheroot builds for a Ping over mutual TLS (the part skp reads)."""
    return wsgi_environ(pem, "/schuldregeling", "Ping", PING, **extra)


def app_cost(hub: Hub, pem: str, seconds: float = 1.0) -> None:
    """CPU time per Ping in the app alone: one thread, no server, no TLS."""
    app = HubApp(hub)
    fingerprint = hashlib.sha256(ssl.PEM_cert_to_DER_cert(pem)).hexdigest()
    caller = hub.participants.identify(fingerprint)
    spyne_env = {"skp.request_id": "bench", "skp.hub": hub, "skp.participant": caller}

    def parsed_ping() -> bytes:
        """What HubApp does after the lookup: parse the request as it is read, then spyne."""
        environ = ping_environ(pem, **spyne_env)
        app._read(environ, "schuldregeling")  # the app's own step, timed alone
        try:
            return b"".join(app.soap["schuldregeling"](environ, lambda *_: None))
        finally:
            environ["skp.spool"].close()

    parts: dict[str, Callable[[], object]] = {
        "whole app (HubApp)": lambda: b"".join(app(ping_environ(pem), lambda *_: None)),
        "  participant lookup": lambda: hub.participants.identify(fingerprint),
        "  parse + spyne Ping": parsed_ping,
    }
    for name, call in parts.items():
        for _ in range(20):
            call()  # warm up
        n, began, cpu = 0, time.perf_counter(), time.process_time()
        while time.perf_counter() - began < seconds:
            call()
            n += 1
        out(f"app cost {name}: {(time.process_time() - cpu) / n * 1e6:.0f} us CPU per Ping "
            f"(1 thread, no server, no TLS)")


@contextlib.contextmanager
def running(server: wsgi.Server) -> Iterator[str]:
    """Serve in a thread; yield the base URL."""
    server.prepare()
    thread = threading.Thread(target=server.serve, daemon=True)
    thread.start()
    try:
        yield f"https://127.0.0.1:{server.bind_addr[1]}"
    finally:
        server.stop()
        thread.join(timeout=10)


def session(pki: Pki) -> requests.Session:
    """The bench participant's keep-alive session; trust_env off (design.md §11)."""
    return session_for(pki.identity("client"))


def load(url: str, pki: Pki, clients: int, seconds: float
         ) -> tuple[float, list[float], int]:
    """``clients`` threads post Ping for ``seconds``: (requests/s, latencies in s, non-200s)."""

    def ping(s: requests.Session, _: int) -> dict[str, float]:
        began = time.perf_counter()
        answer = s.post(url, data=PING, headers=HEADERS, timeout=10)
        if answer.status_code != 200:
            raise RuntimeError(f"HTTP {answer.status_code}")
        return {"Ping": time.perf_counter() - began}

    result = Clients(clients, lambda _: session(pki), ping, lambda s: s.close()).drive(seconds)
    return result.steps_per_second, result.latencies.get("Ping", []), result.errors


def without_certificate(port: int, ca: Path) -> str:
    """Ask /healthz (which needs no identity in the app) with no client certificate."""
    context = tls.client_context(ca)
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=5) as raw, \
                context.wrap_socket(raw, server_hostname="127.0.0.1") as sock:
            sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
            answer = sock.recv(64)  # TLS 1.3: the server's verdict arrives with the first read
    except (ssl.SSLError, OSError) as exc:
        return f"client got {getattr(exc, 'reason', None) or exc}"
    return f"NOT refused: the server answered {answer[:32]!r}"


def measure(name: str, server: wsgi.Server, counter: Counting, pki: Pki,
            args: argparse.Namespace) -> str:
    """Probe the three requirements, load the server, print the figures; return the text of
    the first answer."""
    server.error_log = counter.log  # type: ignore[method-assign]  # cheroot's documented hook
    with running(server) as base:
        url = f"{base}/schuldregeling"
        with session(pki) as s:
            first = s.post(url, data=PING, headers=HEADERS, timeout=10).text
        refused = without_certificate(server.bind_addr[1], pki.ca)
        leaked = counter.requests - 1  # requests the certificate-less client got into the app
        rate, lat, errors = load(url, pki, args.clients, args.seconds)
    got, pem = counter.peer_cert, pki.pem("client").decode()
    same = got is not None and ssl.PEM_cert_to_DER_cert(got) == ssl.PEM_cert_to_DER_cert(pem)
    reasons = {m for msg in counter.messages for m in re.findall(r"\[SSL: (\w+)\]", msg)}
    q = statistics.quantiles(lat, n=100)
    out(f"ping mTLS {name}: {rate:.0f} req/s ({args.clients} clients, {args.seconds:g} s), "
        f"p50 {q[49] * 1000:.1f} ms, p99 {q[98] * 1000:.1f} ms, {errors} non-200")
    out(f"  peer certificate in the app (SSL_CLIENT_CERT): {'yes' if same else 'NO'}")
    # skp's front door logs a refused handshake itself; cheroot's hook sees the bare app's.
    handshake = leaked == 0 and not refused.startswith("NOT")
    out(f"  no client certificate: refused in the handshake: {handshake} "
        f"(server: {', '.join(sorted(reasons)) or '-'}; {refused}; app saw {leaked} requests)")
    out(f"  keep-alive: {len(counter.ports)} TCP connections for {counter.requests} requests")
    return first


def build_hub(d: Path) -> tuple[Hub, Pki, str]:
    """A throwaway PKI in ``d`` and a hub on a SQLite file there with one SHV_FASE2 caller."""
    pki = make_pki(d, ["client"])
    settings = Settings(tls_cert=pki.server_cert, tls_key=pki.server_key,
                        tls_client_ca=pki.ca,
                        max_connections_per_address=1024)  # all clients are on 127.0.0.1
    engine = make_engine(f"sqlite:///{d / 'skp.sqlite3'}")
    migrate(engine)
    hub = Hub.build(settings, engine=engine, keyring=MemoryKeyRing.generate())
    me = hub.participants.add(standing=Standing.ACTIVE, name="Bench SHV", role=Role.SHV_FASE2,
                              modules=ROLE_MODULES[Role.SHV_FASE2])
    hub.participants.add_certificate(me.id, pki.pem("client"))
    return hub, pki, me.id


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--seconds", type=float, default=10.0, help="load per server")
    parser.add_argument("--clients", type=int, default=8, help="concurrent keep-alive clients")
    parser.add_argument("--smoke", action="store_true", help="1 s loads, 2 clients")
    args = parser.parse_args()
    if args.smoke:
        args.seconds, args.clients = 1.0, 2
    with tempfile.TemporaryDirectory(prefix="skp-bench-") as tmp:
        hub, pki, participant_id = build_hub(Path(tmp))
        settings = hub.settings
        out(f"cheroot {cheroot.__version__}, {settings.server_threads} server threads, "
            f"Python {platform.python_version()}, {os.cpu_count()} CPUs, SQLite, "
            f"clients in the same process")
        app_cost(hub, pki.pem("client").decode())

        skp_server = make_server(hub, port=0)
        skp_server.wsgi_app = counter = Counting(skp_server.wsgi_app)
        answer = measure("skp", skp_server, counter, pki, args)
        out(f"  Ping answered as the registered participant: {participant_id in answer}")

        bare = wsgi.Server(("127.0.0.1", 0), counter := Counting(bare_app),
                           numthreads=settings.server_threads)
        bare.ssl_adapter = BuiltinSSLAdapter(str(settings.tls_cert), str(settings.tls_key))
        bare.ssl_adapter.context = tls.server_context(settings.tls_cert, settings.tls_key,
                                                      settings.tls_client_ca)
        measure("bare app", bare, counter, pki, args)
        hub.engine.dispose()


if __name__ == "__main__":
    main()
