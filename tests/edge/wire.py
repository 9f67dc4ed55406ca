"""Raw HTTP/1.1 over mutual TLS: for requests no HTTP client would send."""

from __future__ import annotations

import re
import socket
import ssl
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

from tests.helpers import PING


@dataclass(frozen=True)
class Exchange:
    """What came back on one connection, and whether the server closed it."""

    data: bytes
    closed: bool

    @property
    def statuses(self) -> list[int]:
        return [int(code) for code in re.findall(rb"^HTTP/1\.[01] (\d{3}) ", self.data, re.M)]


def exchange(port: int, ca_file: Path, data: bytes, *, identity=None,
             source: str | None = None, idle: float = 2.0) -> Exchange:
    """Send ``data`` on a new TLS connection to 127.0.0.1:``port`` (with ``identity``'s client
    certificate, from ``source`` if given) and read until the server closes the connection or
    stays silent for ``idle`` seconds."""
    context = ssl.create_default_context(cafile=str(ca_file))
    if identity is not None:
        context.load_cert_chain(identity.cert, identity.key)
    received = b""
    address = (source, 0) if source else None
    with socket.create_connection(("127.0.0.1", port), timeout=10,
                                  source_address=address) as raw, \
            context.wrap_socket(raw, server_hostname="localhost") as tls:
        tls.sendall(data)
        tls.settimeout(idle)
        try:
            while chunk := tls.recv(65536):
                received += chunk
        except TimeoutError:
            return Exchange(received, closed=False)
        except (ssl.SSLError, ConnectionResetError):
            pass  # closed abruptly, e.g. after a TLS alert: closed all the same
    return Exchange(received, closed=True)


def ping_request(*headers: str, body: bytes = PING, framing: str | None = None,
                 close: bool = False) -> bytes:
    """A Ping request with ``headers`` added; ``framing`` replaces the Content-Length line."""
    lines = ["POST /schuldregeling HTTP/1.1", "Host: localhost",
             "Content-Type: text/xml; charset=utf-8", 'SOAPAction: "Ping"',
             framing if framing is not None else f"Content-Length: {len(body)}", *headers]
    if close:
        lines.append("Connection: close")
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


def certificate_header(identity, name: str = "X-SSL-Client-Cert") -> str:
    """The header a TLS-terminating proxy would send for ``identity`` (URL-encoded PEM)."""
    return f"{name}: {quote(identity.pem.decode())}"
