"""cheroot, wired for a hostile network: the front door, limits per address, paced I/O.

What cheroot does by itself and what this module changes (docs/server.md, "The front door"):

- Accepting stays on cheroot's selector thread, which now only accepts: at most
  ``SKP_MAX_CONNECTIONS_PER_ADDRESS`` connections per peer address are open at once (the
  trusted proxies excepted), any more are closed at once. The TLS handshake and the reading of
  every request head happen in skp.server.frontdoor, without a worker thread.
- A worker thread gets a connection with its request head read. From then on every read of
  the body and every write of the answer may wait on the client only as long as the exchange
  moves at ``SKP_MIN_TRANSFER_RATE`` bytes a second on average, after a grace of
  ``SKP_HEAD_TIMEOUT`` (skp.server.pacing): a slow body ends in ``Client.Timeout``, a slow
  reader is cut off.
- A chunked body has strict chunk-size lines (hexadecimal, at most 256 bytes) and is read a
  piece at a time, never a whole chunk at once; a malformed one is ``Client.BadRequest``.
- A connection whose request body was not read to its end is closed after the answer instead
  of being kept alive, so its unread bytes can never be taken for a next request.
- cheroot's own error answers carry a SOAP fault and a request id, and its log lines carry no
  request bytes (:func:`server_log`).
"""

from __future__ import annotations

import logging
import re
import socket
import sys
import threading
import time
import traceback
from collections.abc import Callable, Sequence
from typing import Any, Protocol

from cheroot import connections
from cheroot import server as cheroot_server
from cheroot.ssl.builtin import BuiltinSSLAdapter

from skp import logs, tls
from skp.config import Settings
from skp.errors import BadRequest, RequestTimeout
from skp.server import head
from skp.server.frontdoor import FrontDoor, refusal
from skp.server.pacing import Pace, Paced, Reader, Writer
from skp.server.sockets import SharedServer

log = logging.getLogger("skp.server")

_CRLF = b"\r\n"
_CHUNK_LINE = 256
_HEX = re.compile(rb"[0-9A-Fa-f]{1,16}")
_PIECE = 64 * 1024
#: An unread body up to this size is read and dropped so the connection can stay alive.
_DRAIN = 64 * 1024


class _Chunked(cheroot_server.ChunkedRFile):
    """A chunked body read strictly and a piece at a time (RFC 9112 §7.1)."""

    def __init__(self, rfile: Any) -> None:
        super().__init__(rfile, 0, _PIECE)
        self._left = 0

    def _fetch(self) -> None:
        if self.closed:
            return
        if not self._left:
            self._left = self._size()
            if not self._left:
                self._trailer()
                self.closed = True
                return
        piece = self.rfile.read(min(self._left, _PIECE))
        if not piece:
            raise BadRequest("the chunked body ends inside a chunk")
        self._left -= len(piece)
        self.buffer += piece
        if not self._left and self.rfile.read(2) != _CRLF:
            raise BadRequest("a chunk does not end in CRLF")

    def _size(self) -> int:
        line = self.rfile.readline(_CHUNK_LINE)
        size = line.removesuffix(_CRLF).partition(b";")[0].rstrip(b" \t")
        if not line.endswith(_CRLF) or not _HEX.fullmatch(size):
            raise BadRequest(f"a chunk-size line is not a hexadecimal size ending in CRLF "
                             f"within {_CHUNK_LINE} bytes")
        return int(size, 16)

    def _trailer(self) -> None:
        for _ in range(head.MAX_FIELDS):
            line = self.rfile.readline(_CHUNK_LINE)
            if line == _CRLF:
                return
            if not line.endswith(_CRLF):
                break
        raise BadRequest("the trailer of the chunked body is malformed or too long")


class _Request(cheroot_server.HTTPRequest):
    """cheroot's request with strict chunked bodies, no keep-alive over an unread body, and
    faults instead of its plain-text errors."""

    def respond(self) -> None:
        if self.chunked_read:
            self.rfile = _Chunked(self.conn.rfile)
        else:
            length = int(self.inheaders.get(b"Content-Length", 0))
            self.rfile = cheroot_server.KnownLengthRFile(self.conn.rfile, length)
        self.server.gateway(self).respond()
        if self.ready:
            self.ensure_headers_sent()
        if self.chunked_write:
            self.conn.wfile.write(b"0\r\n\r\n")

    def send_headers(self) -> None:
        if (head.DROP_ANSWER.encode(), b"1") in self.outheaders:
            # Acceptance's lost receipt: the connection ends without a byte of the answer.
            self.close_connection = True
            return
        if ((b"Connection", b"close") in self.outheaders or not self._body_read()
                or self.conn.served >= self.server.settings.keepalive_requests):
            self.close_connection = True
        super().send_headers()

    def _body_read(self) -> bool:
        """Whether the body is read to its end: what is left of a small one is read now."""
        if isinstance(self.rfile, _Chunked):
            return bool(self.rfile.closed)
        remaining: int = getattr(self.rfile, "remaining", 0)
        if not remaining:
            return True
        if remaining > _DRAIN:
            return False
        try:
            self.rfile.read(remaining)
        except (RequestTimeout, BadRequest, OSError):
            return False
        return True

    def simple_response(self, status: Any, msg: Any = "") -> None:
        status = str(status)
        code = ("Server.Error" if status.startswith("5") else
                "Client.Timeout" if status.startswith("408") else "Client.BadRequest")
        self.close_connection = True
        self.conn.wfile.write(refusal(status, code, f"the HTTP request was refused: {status}",
                                      self.conn.remote_addr))
        self.server.refused(code)


class _Connection(cheroot_server.HTTPConnection):
    """A connection whose reads and writes keep their pace, counted against its address."""

    RequestHandlerClass = _Request

    def __init__(self, server: Server, sock: Any, makefile: Any = None) -> None:
        super().__init__(server, sock)
        self._grace, self._rate = server.settings.head_timeout, server.settings.min_transfer_rate
        self._closed = False
        self.served = 0  # requests begun on this connection
        self.handed = False  # with a worker thread, its request not yet answered

    def begin(self, buffered: bytes) -> None:
        """A request whose head (and maybe more) the front door read goes to a worker: its
        body and its answer each get a pace of their own."""
        self.served += 1
        self.rfile = Reader(Paced(self.socket, Pace(self._grace, self._rate),
                                    self.remote_addr, buffered))
        self.wfile = Writer(Paced(self.socket, Pace(self._grace, self._rate),
                                    self.remote_addr))

    def unread(self) -> bytes:
        return self.rfile.unread() if isinstance(self.rfile, Reader) else b""

    def close(self) -> None:
        if not self._closed:
            self._closed = True
            self.server.release(self.remote_addr)
        super().close()
        self.server.handed_back(self)


class _Connections(connections.ConnectionManager):
    """cheroot's selector loop, left to accept only; everything else is the front door's."""

    def __init__(self, server: Server, front: FrontDoor) -> None:
        super().__init__(server)
        self._front = front

    def put(self, conn: _Connection) -> None:
        self._front.next_request(conn, conn.unread())

    @property
    def can_add_keepalive_connection(self) -> bool:
        # An idle connection costs the front door a descriptor, no thread; once the server
        # drains, an answer says Connection: close.
        server: Server = self.server
        return not server.draining

    def _from_server_socket(self, server_socket: socket.socket) -> None:
        try:
            sock, address = server_socket.accept()
        except (TimeoutError, BlockingIOError, InterruptedError, ConnectionAbortedError):
            return None
        except OSError as exc:  # out of descriptors, say: let the backlog wait a moment
            log.warning("accept failed", extra={"reason": type(exc).__name__})
            time.sleep(0.05)
            return None
        connections.prevent_socket_inheritance(sock)
        server: Server = self.server
        if not server.admit(address[0]):
            sock.close()
            return None
        try:
            sock.setblocking(False)
            tls = server.ssl_adapter.context.wrap_socket(sock, server_side=True,
                                                         do_handshake_on_connect=False)
        except OSError:  # the client is gone already
            sock.close()
            server.release(address[0])
            return None
        conn = server.ConnectionClass(server, tls)
        conn.remote_addr, conn.remote_port = address[:2]
        self._front.handshake(conn)
        return None


class Alongside(Protocol):
    """What runs for as long as a server does (skp.identities)."""

    def start(self) -> None: ...

    def stop(self) -> None: ...


class Server(SharedServer):
    """cheroot's WSGI server with the front door and the limits per address; on stopping,
    the requests in flight have ``SKP_DRAIN_TIMEOUT`` to finish."""

    ConnectionClass = _Connection
    _connections: connections.ConnectionManager

    def __init__(self, settings: Settings, bind_addr: tuple[str, int], app: Any,
                 refused: Callable[[str], None], alongside: Sequence[Alongside] = ()) -> None:
        # The listen queue as long as the kernel allows (cheroot's default is 5): a burst of
        # new connections waits there while the front door accepts, instead of being dropped.
        super().__init__(bind_addr, app, numthreads=settings.server_threads, server_name="skp",
                         timeout=settings.head_timeout, request_queue_size=socket.SOMAXCONN,
                         shutdown_timeout=settings.drain_timeout)
        self.settings, self.refused = settings, refused
        self._open: dict[str, int] = {}
        self._lock = threading.Lock()
        self._exempt = frozenset(settings.trusted_proxies)
        self._refusals: dict[str, float] = {}
        self.draining = False
        self._handed = 0  # connections with the threads (_Connection.handed)
        self._alongside = alongside

    def prepare(self) -> None:
        super().prepare()
        for each in self._alongside:
            each.start()
        cert_header = head.wsgi_key(self.settings.client_cert_header)
        self._front = FrontDoor(adapter=self.ssl_adapter, timeout=self.settings.head_timeout,
                                single=frozenset({cert_header}), ready=self._ready,
                                refused=self.refused)
        self._connections.close()  # cheroot's own manager: replaced before it ever ran
        self._connections = _Connections(self, self._front)
        self._front.start()

    def drain(self) -> None:
        """The connections accepted before the stop get their request handled (those in
        their handshake or head within ``SKP_HEAD_TIMEOUT``, and idle kept-alive ones if
        their next request comes within a second); every answer from now on says
        ``Connection: close``. An answer still being sent keeps the drain, and its
        connection then gets that second too: its headers went out before the drain, without
        ``Connection: close``, so its client may send another request. All within
        ``SKP_DRAIN_TIMEOUT``; the threads then have what is left of it."""
        began = time.monotonic()
        self.draining = True
        if not self._front.drain(self.settings.drain_timeout, busy=lambda: self._handed > 0):
            log.warning("drain timed out: requests still in flight are cut off", extra={
                "outcome": "drain_timeout", "in_flight": self._handed,
                "timeout": self.settings.drain_timeout})
        self.shutdown_timeout = max(0.1, self.settings.drain_timeout - (time.monotonic() - began))

    def stop(self) -> None:
        super().stop()
        self._front.stop()
        for each in self._alongside:
            each.stop()

    def _ready(self, conn: _Connection, buffered: bytes) -> None:
        conn.begin(buffered)
        conn.handed = True  # until it is back in the door (put_conn), or closed (handed_back)
        with self._lock:
            self._handed += 1
        self.process_conn(conn)

    def put_conn(self, conn: _Connection) -> None:
        # Its flag is cleared before it is in the door again, where its next request may hand
        # it on at once; it is counted back only after: a drain always finds it somewhere.
        handed, conn.handed = conn.handed, False
        super().put_conn(conn)  # into the door again (or closed, once stopped)
        if handed:
            self._answered()

    def handed_back(self, conn: _Connection) -> None:
        """A connection's request is answered and the connection closed."""
        if conn.handed:
            conn.handed = False
            self._answered()

    def _answered(self) -> None:
        with self._lock:
            self._handed -= 1
        if self.draining:
            self._front.wake()

    def admit(self, address: str) -> bool:
        """Count a new connection from ``address``; False when that address has its fill."""
        with self._lock:
            count = self._open.get(address, 0)
            if count >= self.settings.max_connections_per_address and (
                    address not in self._exempt):
                self._log_refusal(address)
                return False
            self._open[address] = count + 1
            return True

    def release(self, address: str | None) -> None:
        """A connection from ``address`` has closed."""
        with self._lock:
            count = self._open.pop(address or "", 0) - 1
            if count > 0:
                self._open[address or ""] = count

    def _log_refusal(self, address: str) -> None:
        """Log a refusal, at most once a minute per address (the lock is held)."""
        now = time.monotonic()
        if now - self._refusals.get(address, -60.0) >= 60:
            if len(self._refusals) > 10_000:
                self._refusals.clear()
            self._refusals[address] = now
            log.warning("connection refused: the address has its fill of connections",
                        extra={"peer": address, "outcome": "too_many_connections",
                               "limit": self.settings.max_connections_per_address})


def make_server(app: Any, settings: Settings, *, port: int | None = None,
                refused: Callable[[str], None] = lambda code: None,
                listening: socket.socket | None = None,
                alongside: Sequence[Alongside] = ()) -> Server:
    """The hub's server for the WSGI ``app``, with mutual TLS, not yet started; ``refused``
    is told the fault code of every request refused before it reached ``app``. It listens on
    ``listening`` when given (a worker's inherited socket: skp.server.sockets). What is
    ``alongside`` starts when the server does and stops after it."""
    server = Server(settings, (settings.bind_host, settings.bind_port if port is None else port),
                    app, refused, alongside)
    server.listening = listening
    # Ours first: it says which file does not load (the adapter loads the pair again).
    context = tls.server_context(settings.tls_cert, settings.tls_key, settings.tls_client_ca)
    adapter = BuiltinSSLAdapter(str(settings.tls_cert), str(settings.tls_key))
    adapter.context = context
    server.ssl_adapter = adapter
    server.error_log = server_log  # type: ignore[method-assign]  # cheroot's hook
    return server


def server_log(msg: str = "", level: int = logging.INFO, traceback: bool = False) -> None:
    """cheroot's own messages into the log: bounded, control characters escaped, and for an
    error only its type and stack, never its message (cheroot's quote request bytes)."""
    if traceback:
        _log_stack(level)
    else:
        log.log(level, logs.bounded(msg, 200))


def _log_stack(level: int) -> None:
    error = sys.exc_info()[1]
    if error is None:
        log.log(level, "cheroot reported an error")
        return
    if isinstance(error, OSError):  # the connection failed: the client left, say
        log.info("connection lost", extra={"outcome": "connection_lost",
                                           "reason": type(error).__name__})
        return
    stack = "".join(traceback.format_tb(error.__traceback__))
    log.log(level, "cheroot: unexpected %s\n%s", type(error).__name__, stack)
