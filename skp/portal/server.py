"""The portal's own HTTPS listener (cheroot, like the hub's), without client certificates."""

from __future__ import annotations

import logging
import socket

from cheroot.ssl.builtin import BuiltinSSLAdapter

from skp import tls
from skp.hub import Hub
from skp.portal import create_app
from skp.server.sockets import SharedServer


def make_portal_server(hub: Hub, *, port: int | None = None,
                       listening: socket.socket | None = None) -> SharedServer:
    """A cheroot server for the portal of ``hub``, not yet started; on ``listening`` when
    given (a worker's inherited socket: skp.server.sockets)."""
    settings = hub.settings
    portal = settings.portal
    cert, key = portal.tls_cert or settings.tls_cert, portal.tls_key or settings.tls_key
    server = SharedServer((portal.bind_host, portal.bind_port if port is None else port),
                          create_app(hub), numthreads=8, server_name="skp-portal",
                          shutdown_timeout=settings.drain_timeout)
    server.listening = listening
    adapter = BuiltinSSLAdapter(str(cert), str(key))
    adapter.context = tls.portal_context(cert, key)
    server.ssl_adapter = adapter
    server.error_log = _server_log  # type: ignore[method-assign]  # cheroot documents this hook
    return server


def _server_log(msg: str = "", level: int = logging.INFO, traceback: bool = False) -> None:
    """cheroot's own messages into the log; never a request's bytes (no traceback text)."""
    logging.getLogger("skp.portal.server").log(level, "%s", msg.splitlines()[0] if msg else "")
