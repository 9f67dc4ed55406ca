"""Paced socket I/O (skp.server.pacing) over real sockets on 127.0.0.1."""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator

import pytest

from skp.errors import RequestTimeout
from skp.server.pacing import Pace, Paced, Reader, Writer


@pytest.fixture
def pair() -> Iterator[tuple[socket.socket, socket.socket]]:
    """A TCP connection on 127.0.0.1 whose far end has a small receive buffer."""
    with socket.create_server(("127.0.0.1", 0)) as server:
        far = socket.socket()
        far.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        far.connect(server.getsockname())
        near, _ = server.accept()
    with near, far:
        yield near, far


def test_the_bytes_read_ahead_come_first(pair):
    near, far = pair
    far.sendall(b"def")
    reader = Reader(Paced(near, Pace(1, 1000), None, b"abc"))
    assert reader.read(6) == b"abcdef"


def test_a_body_that_stops_coming_times_out_after_the_grace(pair):
    near, far = pair
    far.sendall(b"x" * 100)
    reader = Reader(Paced(near, Pace(0.3, 1000), None))
    started = time.monotonic()
    with pytest.raises(RequestTimeout):
        reader.read(1000)
    assert time.monotonic() - started < 2  # the grace and 100 bytes' worth, not more


def test_a_reader_that_takes_nothing_is_cut_off_though_the_kernel_buffers_megabytes(pair):
    """The socket's buffer takes megabytes at once; counted as moved, they would earn the
    slow reader minutes at 64 KB/s."""
    near, _ = pair
    writer = Writer(Paced(near, Pace(0.5, 64 * 1024), "127.0.0.1"))
    started = time.monotonic()
    with pytest.raises(TimeoutError):
        writer.write(b"x" * (16 * 1024 * 1024))
    assert time.monotonic() - started < 5
