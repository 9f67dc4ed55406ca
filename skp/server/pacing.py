"""Socket reads and writes that keep a pace: how long a request's body or answer may wait on
its client.

Once a request's head is in, its body and its answer must each average ``SKP_MIN_TRANSFER_RATE``
bytes a second after a grace of ``SKP_HEAD_TIMEOUT``: the time spent waiting on the client may
not exceed the grace plus the time its bytes so far would take at that rate. A read past that
is :class:`~skp.errors.RequestTimeout`; a write past it is cut off (``TimeoutError``, which
cheroot takes for a timed-out connection) and logged.
"""

from __future__ import annotations

import array
import fcntl
import io
import logging
import socket
import termios
import time
from typing import Any

from skp.errors import RequestTimeout

log = logging.getLogger("skp.server")


class Pace:
    """How long one direction of an exchange may still wait on its client: a grace plus the
    time its bytes so far would take at the minimum rate, less the time already waited. Bytes
    written count once the peer has them, not while they wait in the socket's buffer."""

    def __init__(self, grace: float, rate: int) -> None:
        self.grace, self.rate = grace, rate
        self.waited, self.moved, self.unsent = 0.0, 0, 0

    def left(self) -> float:
        return self.grace + (self.moved - self.unsent) / self.rate - self.waited


class Paced(io.RawIOBase):
    """A socket read or written within its pace; reads serve ``prefix`` (bytes the front door
    read already) first."""

    def __init__(self, sock: socket.socket, pace: Pace, peer: str | None,
                 prefix: bytes = b"") -> None:
        self._sock, self._pace, self._peer, self.prefix = sock, pace, peer, bytearray(prefix)
        self.hold = False  # reads return "no data" without touching the socket

    def readable(self) -> bool:
        return True

    def writable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int | None:
        if self.hold:
            return None
        if self.prefix:
            n = min(len(buffer), len(self.prefix))
            buffer[:n] = self.prefix[:n]
            del self.prefix[:n]
            return n
        try:
            return self._wait(lambda: self._sock.recv_into(buffer))
        except TimeoutError as exc:
            raise RequestTimeout("the request body did not arrive at the minimum rate; "
                                 "the connection is closed") from exc

    def write(self, data: Any) -> int:
        try:
            sent = self._wait(lambda: self._sock.send(data))
        except TimeoutError:
            log.info("answer not taken up in time", extra={"peer": self._peer,
                                                           "outcome": "Client.Timeout"})
            raise
        self._pace.unsent = _unsent(self._sock)
        return sent

    def _wait(self, io: Any) -> int:
        left = self._pace.left()
        if left <= 0:
            raise TimeoutError("timed out")
        self._sock.settimeout(left)
        started = time.monotonic()
        try:
            moved: int = io()
        finally:
            self._pace.waited += time.monotonic() - started
        self._pace.moved += moved
        return moved


def _unsent(sock: socket.socket) -> int:
    """How many bytes written to ``sock`` its peer has not yet acknowledged (Linux; 0
    elsewhere). The kernel takes megabytes into a socket's buffer: counted as moved, they would
    earn a slow reader minutes."""
    try:
        queued = array.array("i", [0])
        fcntl.ioctl(sock.fileno(), termios.TIOCOUTQ, queued)
    except (OSError, AttributeError):
        return 0
    return queued[0]


class Reader(io.BufferedReader):
    """cheroot's StreamReader over a paced socket."""

    bytes_read = 0

    def __init__(self, raw: Paced) -> None:
        super().__init__(raw)
        self.paced = raw

    def unread(self) -> bytes:
        """The bytes read from the socket but not yet from this reader."""
        self.paced.hold = True
        try:
            rest = b"".join(iter(lambda: self.read1(io.DEFAULT_BUFFER_SIZE), b""))
        finally:
            self.paced.hold = False
        return rest + bytes(self.paced.prefix)


class Writer:
    """cheroot's StreamWriter over a paced socket: every write is sent at once, whole."""

    bytes_written = 0

    def __init__(self, raw: Paced) -> None:
        self._raw = raw

    def write(self, data: bytes) -> int:
        view = memoryview(data)
        while view:
            view = view[self._raw.write(view):]
        return len(data)

    def flush(self) -> None:
        """Nothing is buffered."""

    def close(self) -> None:
        """The connection closes the socket."""
