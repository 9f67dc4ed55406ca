"""The front door's drain: it ends only when no connection is left in the door, counting the
ones handed in that its thread has not yet taken in (a connection accepted just before the
drain began)."""

from __future__ import annotations

import socket
import threading
import time
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


def test_a_connection_handed_in_while_the_door_works_on_another_is_not_lost_to_a_drain():
    # The race of a worker stopping: the door's thread is busy with connection A (a TLS
    # handshake, say) when the accept loop hands in B and the drain begins. The drain must
    # not end before B is handed on, or B is dropped unanswered when the worker exits.
    head = b"GET /healthz HTTP/1.1\r\nHost: localhost\r\n\r\n"
    handed: list[tuple[bytes, bool]] = []  # each head handed on, and whether the drain had ended
    busy, release = threading.Event(), threading.Event()
    front = door(ready=lambda conn, buffered: handed.append((buffered, front._drained.is_set())))
    step = front._step

    def slow_step(item):
        if item.buffer == bytearray(b"A"):
            busy.set()
            release.wait(5)
            return False  # A leaves the door
        return step(item)

    front._step = slow_step  # type: ignore[method-assign]
    front.start()
    a, peer_a = connection()
    b, peer_b = connection()
    with peer_a, peer_b:
        front.next_request(a, b"A")
        assert busy.wait(5)
        front.next_request(b, head)  # handed in while the door's thread works on A
        draining = threading.Thread(target=front.drain, args=(5,))
        draining.start()
        time.sleep(0.2)  # the drain has begun
        release.set()
        draining.join(10)
        assert handed == [(head, False)]  # B was handed on before the drain ended
    front.stop()
    a.close()
    b.close()


def test_a_drain_waits_while_a_request_handed_on_is_not_answered():
    front = door()
    front.start()
    answered = threading.Event()
    draining = threading.Thread(target=front.drain,
                                args=(5, lambda: not answered.is_set()))
    draining.start()
    time.sleep(0.5)
    assert draining.is_alive()  # the door is empty, but an answer is still on its way
    answered.set()
    front.wake()
    draining.join(1)
    assert not draining.is_alive()  # at once, not after the timeout
    front.stop()


def test_a_connection_back_after_the_drains_second_gets_a_second_of_its_own():
    # Its answer went out while the door drained: its client may send another request.
    head = b"GET /healthz HTTP/1.1\r\nHost: localhost\r\n\r\n"
    handed: list[bytes] = []
    front = door(ready=lambda conn, buffered: handed.append(buffered))
    front.start()
    answered = threading.Event()
    draining = threading.Thread(target=front.drain,
                                args=(10, lambda: not answered.is_set()))
    draining.start()
    time.sleep(1.2)  # the drain's second for idle connections is over
    conn, peer = connection()
    with peer:
        front.next_request(conn, b"")  # the answer is sent: the connection is back
        answered.set()
        time.sleep(0.5)
        peer.sendall(head)  # the client's next request, within its own second
        draining.join(5)
        assert not draining.is_alive()
        assert handed == [head]
    front.stop()
    conn.close()
