"""Every ssl.SSLContext skp builds, with safe defaults in one place.

Server: TLS 1.2 or newer, a client certificate is required and verified against the
configured CA bundle during the handshake. Client: TLS 1.2 or newer, the server is verified
against the given CA (never the environment's bundle), optionally with a client certificate.
"""

from __future__ import annotations

import ssl
from pathlib import Path


def server_context(cert_file: Path, key_file: Path, client_ca_file: Path) -> ssl.SSLContext:
    """The hub's server context: mutual TLS with the participants' CA bundle."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.verify_mode = ssl.CERT_REQUIRED
    context.load_cert_chain(cert_file, key_file)
    context.load_verify_locations(cafile=client_ca_file)
    return context


def client_context(ca_file: Path, cert_file: Path | None = None,
                   key_file: Path | None = None) -> ssl.SSLContext:
    """A client context that trusts only ``ca_file`` and presents the given certificate."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.load_verify_locations(cafile=ca_file)
    if cert_file is not None:
        context.load_cert_chain(cert_file, key_file)
    return context
