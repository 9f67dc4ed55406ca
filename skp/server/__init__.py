"""The hub's HTTP side: the WSGI application (skp.server.app) on cheroot, wired for a hostile
network (skp.server.listener, skp.server.frontdoor, skp.server.head)."""

from __future__ import annotations

import socket

from skp.hub import Hub
from skp.server.app import HubApp
from skp.server.listener import Server
from skp.server.listener import make_server as _listener

__all__ = ["HubApp", "Server", "make_server"]


def make_server(hub: Hub, *, port: int | None = None,
                listening: socket.socket | None = None) -> Server:
    """A server for ``hub`` with mutual TLS, not yet started; on ``listening`` when given.
    While it serves, it keeps its callers' identities (skp.identities)."""
    return _listener(HubApp(hub), hub.settings, port=port, listening=listening,
                     refused=lambda code: hub.metrics.observe_request(None, 0.0, code),
                     alongside=[hub.participants.identities])
