"""The front door's drain: it ends only when no connection is left in the door, counting the
ones handed in that its thread has not yet taken in (a connection accepted just before the
drain began)."""

from __future__ import annotations

import socket
from types import SimpleNamespace

from skp.server.frontdoor import FrontDoor


def door(ready=lambda conn, buffered: None) -> FrontDoor:
    return FrontDoor(adapter=None, timeout=5, single=frozenset(), ready=ready,
                     refused=lambda code: None)


def connection() -> tuple[SimpleNamespace, socket.socket]:
    ours, theirs = socket.socketpair()
    return SimpleNamespace(socket=ours, remote_addr="127.0.0.1", close=ours.close), theirs


def test_a_connection_handed_in_but_not_taken_in_holds_the_drain():
    front = door()  # its thread not started: nothing is taken in
    conn, peer = connection()
    with peer, conn.socket:
        assert front.idle(set())
        front.handshake(conn)
        assert not front.idle(set())
    front.stop()


def test_a_drain_waits_until_the_request_on_its_way_in_is_handed_on():
    handed: list[bytes] = []
    front = door(ready=lambda conn, buffered: handed.append(buffered))
    front.start()
    conn, peer = connection()
    with peer:
        head = b"GET /healthz HTTP/1.1\r\nHost: localhost\r\n\r\n"
        front.next_request(conn, head)  # a kept-alive connection with its next head read
        front.drain(timeout=5)
        assert handed == [head]
    front.stop()
    conn.close()
