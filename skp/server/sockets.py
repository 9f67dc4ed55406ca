"""Listening sockets: bound once by the supervisor of ``skp serve``, shared by its workers.

The supervisor (skp.server.supervisor) binds each listening socket before it starts a worker
and keeps it open until it stops, so a connection never finds the port closed while workers
come and go: it waits in the kernel's queue until some worker accepts it. A worker's cheroot
server adopts the socket it inherited instead of binding one (:class:`SharedServer`).
"""

from __future__ import annotations

import socket
from typing import Any

from cheroot import connections, wsgi


def listen(host: str, port: int) -> socket.socket:
    """A TCP socket listening on ``host``:``port`` (0: any free port), passed on to the
    processes the caller starts; the listen queue as long as the kernel allows."""
    family, *_ = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM,
                                    flags=socket.AI_PASSIVE)[0]
    sock = socket.create_server((host, port), family=family, backlog=socket.SOMAXCONN)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)  # as cheroot's own
    sock.set_inheritable(True)
    return sock


def inherited(fd: int) -> socket.socket:
    """The listening socket a worker inherited as file descriptor ``fd``."""
    sock = socket.socket(fileno=fd)
    if sock.type != socket.SOCK_STREAM:
        raise OSError(f"file descriptor {fd} is not a stream socket")
    return sock


class SharedServer(wsgi.Server):
    """cheroot's WSGI server that listens on :attr:`listening` when it is set (a socket other
    processes accept on too) instead of binding a socket of its own."""

    listening: socket.socket | None = None
    _connections: connections.ConnectionManager

    def bind(self, family: Any, type: Any, proto: Any = 0) -> socket.socket:
        if self.listening is None:
            sock: socket.socket = super().bind(family, type, proto)
            return sock
        self.socket = self.listening
        self.bind_addr = self.listening.getsockname()[:2]
        return self.listening

    def stop(self) -> None:
        """Stop gracefully: accept no more, :meth:`drain`, then let the threads finish the
        requests they have (cheroot's ``shutdown_timeout``)."""
        if not self.ready:
            super().stop()
            return
        # Give back this process's hold on the socket at once: while the requests in flight
        # finish, new connections go to the other workers (or, once the supervisor closed it
        # too, are refused) instead of waiting here. cheroot's own stop would wake its accept
        # loop with a connection to itself, which another worker would take.
        self._connections.stop()
        sock, self.socket = self.socket, None
        if sock is not None:
            sock.close()
        self.drain()
        super().stop()

    def drain(self) -> None:
        """Between accepting the last connection and stopping the threads: bring what was
        accepted to the threads (the hub's front door does)."""
