"""The portal's own HTTPS listener (cheroot, like the hub's), without client certificates."""

from __future__ import annotations

import logging

from cheroot import wsgi
from cheroot.ssl.builtin import BuiltinSSLAdapter

from skp import tls
from skp.hub import Hub
from skp.portal import create_app


def make_portal_server(hub: Hub, *, port: int | None = None) -> wsgi.Server:
    """A cheroot server for the portal of ``hub``, not yet started."""
    settings = hub.settings
    portal = settings.portal
    cert, key = portal.tls_cert or settings.tls_cert, portal.tls_key or settings.tls_key
    server = wsgi.Server((portal.bind_host, portal.bind_port if port is None else port),
                         create_app(hub), numthreads=8, server_name="skp-portal")
    adapter = BuiltinSSLAdapter(str(cert), str(key))
    adapter.context = tls.portal_context(cert, key)
    server.ssl_adapter = adapter
    server.error_log = _server_log  # type: ignore[method-assign]  # cheroot documents this hook
    return server


def _server_log(msg: str = "", level: int = logging.INFO, traceback: bool = False) -> None:
    """cheroot's own messages into the log; never a request's bytes (no traceback text)."""
    logging.getLogger("skp.portal.server").log(level, "%s", msg.splitlines()[0] if msg else "")
