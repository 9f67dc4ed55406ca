"""The front door: one thread that takes a connection from accept to a complete request head.

cheroot gives a connection to one of its worker threads as soon as it is accepted, and does
the TLS handshake on its one selector thread, so silent or slow clients hold threads or stall
everyone. The front door holds such connections instead, on non-blocking sockets in a selector
of its own: it completes the TLS handshake (``SKP_HEAD_TIMEOUT``), then reads the request head
until its empty line, within the same deadline for the whole head (not per byte) and the limits
of skp.server.head, and only then hands the connection to a worker with the head already read.
A kept-alive connection comes back here between requests. A connection that waits costs a file
descriptor and at most one head's bytes (``head.MAX_HEAD``), not a thread.

A head that breaks a rule of skp.server.head is answered here (400, 414 or 431 with a SOAP
fault and a request id, ``Connection: close``); a head that does not complete in time gets 408.
Both are logged like every request (logger ``skp.request``) with their outcome. Handshake
failures and timeouts are logged on ``skp.server`` with the peer address only.
"""

from __future__ import annotations

import contextlib
import logging
import selectors
import socket
import ssl
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from skp.server import head
from skp.soap.faults import SoapFault

log = logging.getLogger("skp.server")
request_log = logging.getLogger("skp.request")

_READ = 64 * 1024
_TICK = 0.25  # seconds: how often deadlines are checked, and the longest a select waits
#: Seconds a draining door still lets an idle kept-alive connection bring its next request.
_DRAIN_GRACE = 1.0
_END = b"\r\n\r\n"


@dataclass(eq=False)
class _Waiting:
    """A connection in the front door: its deadline, whether its handshake is done, and the
    bytes of the head read so far."""

    conn: Any  # cheroot's HTTPConnection
    deadline: float
    handshaking: bool
    buffer: bytearray = field(default_factory=bytearray)
    searched: int = 0  # the bytes of the buffer searched for the head's end
    kept: bool = False  # kept alive after an answer (not a new connection)
    since: float = field(default_factory=time.monotonic)  # when it came into the door


class FrontDoor:
    """Takes connections to a complete head; ``ready(conn, buffer)`` hands one on, and
    ``refused(code)`` is told the fault code of a head it answered itself."""

    def __init__(self, *, adapter: Any, timeout: float, single: frozenset[str],
                 ready: Callable[[Any, bytes], None], refused: Callable[[str], None]) -> None:
        self._adapter, self._timeout, self._single = adapter, timeout, single
        self._ready, self._refused = ready, refused
        self._selector = selectors.DefaultSelector()
        self._incoming: list[_Waiting] = []
        self._lock = threading.Lock()
        self._wake_r, self._wake_w = socket.socketpair()
        self._wake_r.setblocking(False)
        self._wake_w.setblocking(False)
        self._selector.register(self._wake_r, selectors.EVENT_READ)
        self._stopping = False
        self._draining = False
        self._drain_began = 0.0
        self._busy: Callable[[], bool] = lambda: False
        self._drained = threading.Event()
        self._thread = threading.Thread(target=self._run, name="skp-front-door", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stopping = True
        self.wake()
        if self._thread.ident is not None:
            self._thread.join(timeout=5)
        if not self._thread.is_alive():
            self._selector.close()
            self._wake_r.close()
            self._wake_w.close()

    def drain(self, timeout: float, busy: Callable[[], bool] = lambda: False) -> bool:
        """Before a stop: wait (at most ``timeout`` seconds) until each connection in the
        door has handed on its request or ended, and nothing is ``busy`` (a request handed
        on and not yet answered, whose connection may come back). An idle kept-alive
        connection is closed once :data:`_DRAIN_GRACE` has passed without its next request,
        counted from the drain's start or, for one that came back later, from then. False
        when ``timeout`` passed first."""
        self._busy = busy
        self._drain_began = time.monotonic()
        self._draining = True
        self.wake()
        return self._drained.wait(timeout)

    def handshake(self, conn: Any) -> None:
        """A new connection, its TLS socket not yet handshaken."""
        self._add(_Waiting(conn, time.monotonic() + self._timeout, handshaking=True))

    def next_request(self, conn: Any, buffered: bytes) -> None:
        """A kept-alive connection waiting for its next request; ``buffered`` are the bytes
        of it already read."""
        self._add(_Waiting(conn, time.monotonic() + self._timeout, handshaking=False,
                           buffer=bytearray(buffered), kept=True))

    def _add(self, waiting: _Waiting) -> None:
        waiting.conn.socket.setblocking(False)
        with self._lock:
            self._incoming.append(waiting)
        self.wake()

    def wake(self) -> None:
        """Have the door's thread look again at once: a connection came in, a drain or a stop
        began, or something a drain's ``busy`` watches for has changed."""
        # BlockingIOError: a wake-up is pending already; another OSError: stopped and closed
        with contextlib.suppress(OSError):
            self._wake_w.send(b"\0")

    def _run(self) -> None:
        waiting: set[_Waiting] = set()
        expired = time.monotonic()
        while not self._stopping:
            for key, _ in self._selector.select(_TICK):
                if key.fileobj is self._wake_r:
                    with contextlib.suppress(BlockingIOError):
                        while self._wake_r.recv(4096):
                            pass
                elif not self._guarded(key.data):
                    waiting.discard(key.data)
            with self._lock:
                incoming, self._incoming = self._incoming, []
            for item in incoming:
                waiting.add(item)
                self._selector.register(item.conn.socket, selectors.EVENT_READ, item)
                if not self._guarded(item):  # bytes may be buffered in TLS or already read
                    waiting.discard(item)
            now = time.monotonic()
            if now - expired >= _TICK:  # deadlines are kept to a tick: one pass per tick
                expired = now
                for item in [w for w in waiting if w.deadline <= now]:
                    waiting.discard(item)
                    self._expire(item)
            if self._draining:
                # For a moment an idle kept-alive connection still takes its next request
                # (answered with Connection: close): a client in the middle of a series sends
                # it within milliseconds, and closing at once would meet it on the way.
                # An answer that was still being sent when the drain began brings its
                # connection back later: it gets its moment too.
                since = time.monotonic() - _DRAIN_GRACE
                for item in [w for w in waiting if w.kept and not w.buffer
                             and max(w.since, self._drain_began) <= since]:
                    waiting.discard(item)  # idle between requests: nothing is lost
                    self._close(item)
                if self.idle(waiting) and not self._busy():
                    self._drained.set()
        with self._lock:
            incoming, self._incoming = self._incoming, []
        for item in [*waiting, *incoming]:
            self._close(item)

    def idle(self, waiting: set[_Waiting]) -> bool:
        """Whether no connection is in the front door: none ``waiting`` and none handed in
        since they were taken in. A connection accepted just before a drain may still be on
        its way in while this thread works on others: the drain waits for it too."""
        with self._lock:
            return not waiting and not self._incoming

    def _guarded(self, item: _Waiting) -> bool:
        """:meth:`_step`, with whatever goes wrong closing that connection only."""
        try:
            return self._step(item)
        except Exception as exc:  # the front door must stay open for the rest
            log.error("front door: unexpected error", extra={
                "peer": item.conn.remote_addr, "reason": type(exc).__name__})
            self._close(item)
            return False

    def _step(self, item: _Waiting) -> bool:
        """Move ``item`` on as far as its socket allows; False once it left the front door."""
        sock = item.conn.socket
        if item.handshaking:
            try:
                sock.do_handshake()
            except ssl.SSLWantReadError:
                return self._want(item, selectors.EVENT_READ)
            except ssl.SSLWantWriteError:
                return self._want(item, selectors.EVENT_WRITE)
            except (ssl.SSLError, OSError) as exc:
                log.info("TLS handshake failed", extra={
                    "peer": item.conn.remote_addr, "outcome": "handshake_failed",
                    "reason": getattr(exc, "reason", None) or type(exc).__name__})
                self._close(item)
                return False
            item.handshaking = False
            item.conn.ssl_env = self._adapter.get_environ(sock)
            item.deadline = time.monotonic() + self._timeout  # the head's own deadline
            self._want(item, selectors.EVENT_READ)
        return self._read(item)

    def _read(self, item: _Waiting) -> bool:
        while True:
            try:
                data = item.conn.socket.recv(_READ)
            except (ssl.SSLWantReadError, BlockingIOError):
                break
            except ssl.SSLWantWriteError:
                return self._want(item, selectors.EVENT_WRITE)
            except (ssl.SSLError, OSError):
                data = b""
            if not data:  # the client left
                self._close(item)
                return False
            item.buffer += data
            if len(item.buffer) > head.MAX_HEAD or _END in data:
                break
        if not item.searched and item.buffer.startswith(b"\r\n"):
            del item.buffer[:2]  # one empty line before a request is allowed (RFC 9112 §2.2)
        end = head.end(item.buffer, item.searched)
        if end < 0:
            item.searched = len(item.buffer)
            refusal = head.too_long(item.buffer)
            if refusal is None:
                return True
        else:
            refusal = head.refusal(bytes(item.buffer[:end]), single=self._single)
        if refusal is not None:
            self._answer(item, refusal.status, refusal.message, "Client.BadRequest")
            return False
        self._selector.unregister(item.conn.socket)
        self._ready(item.conn, bytes(item.buffer))
        return False

    def _want(self, item: _Waiting, events: int) -> bool:
        self._selector.modify(item.conn.socket, events, item)
        return True

    def _expire(self, item: _Waiting) -> None:
        if item.handshaking:
            log.info("TLS handshake timed out", extra={
                "peer": item.conn.remote_addr, "outcome": "handshake_timeout"})
        elif item.buffer:
            self._answer(item, "408 Request Timeout", f"send the request head within "
                         f"{self._timeout:g} seconds", "Client.Timeout")
            return
        self._close(item)  # an idle kept-alive connection: closed without a word

    def _answer(self, item: _Waiting, status: str, message: str, code: str) -> None:
        """Answer a refused head, tell ``refused``, close the connection."""
        response = refusal(status, code, message, item.conn.remote_addr)
        with contextlib.suppress(ssl.SSLError, OSError):  # gone: the log line still tells
            item.conn.socket.send(response)  # small: fits an empty socket buffer
        self._refused(code)
        self._close(item)

    def _close(self, item: _Waiting) -> None:
        with contextlib.suppress(KeyError, ValueError):  # not registered, or closed already
            self._selector.unregister(item.conn.socket)
        item.conn.close()


def refusal(status: str, code: str, message: str, peer: str | None) -> bytes:
    """The answer to a request refused before it reached the app: a SOAP fault with a request
    id of its own and ``Connection: close``. It is logged like every request, with ``peer``."""
    request_id = uuid.uuid4().hex
    if code == "Server.Error":
        message = f"an internal error occurred; quote request id {request_id} to the operator"
    body = SoapFault(code, message, request_id).envelope()
    request_log.info("request", extra={
        "request_id": request_id, "participant": None, "peer": peer, "outcome": code,
        "status": status.split()[0], "reason": message})
    return (f"HTTP/1.1 {status}\r\nContent-Type: text/xml; charset=utf-8\r\n"
            f"Content-Length: {len(body)}\r\nX-Request-Id: {request_id}\r\n"
            "Connection: close\r\n\r\n").encode("ascii") + body
