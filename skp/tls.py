"""Every ssl.SSLContext skp builds, with safe defaults in one place.

Server (the hub's; the portal's is the same without client certificates): the NCSC "goed"
profile as far as Python's ssl module reaches — TLS 1.3, and TLS 1.2 with ECDHE and AES-GCM or
ChaCha20 only; key exchange on one curve, P-256 (``set_ecdh_curve`` takes a single group); no
session tickets, in either version, so no ticket key is needed and none goes unrotated. The hub
requires a client certificate and verifies it against the configured CA bundle during the
handshake. What Python cannot set (several curves, the acceptable-CA list)
and the CRL check, the edge does: docs/server.md, "The edge".

Client: TLS 1.2 or newer, the server is verified against the given CA (never the environment's
bundle), optionally with a client certificate.

Mail client (the notifications' SMTP, STARTTLS or implicit TLS): TLS 1.2 or newer, the mail
server verified with its host name against the given CA bundle or, by default, the system's.

Pinned client (`skp health`): TLS 1.2 or newer, the server is verified by its certificate
being exactly the one expected (:func:`is_pinned`), not by a CA.
"""

from __future__ import annotations

import ssl
from pathlib import Path

from skp.errors import ConfigError

#: TLS 1.2 suites of the server: forward secret (ECDHE) and AEAD (AES-GCM, ChaCha20-Poly1305).
TLS12_CIPHERS = "ECDHE+AESGCM:ECDHE+CHACHA20"
#: The one key-exchange group of the server: the curve every TLS stack has.
CURVE = "prime256v1"


def server_context(cert_file: Path, key_file: Path, client_ca_file: Path) -> ssl.SSLContext:
    """The hub's server context: mutual TLS with the participants' CA bundle.

    ConfigError names the file that does not load (SKP_TLS_CERT, SKP_TLS_KEY, SKP_TLS_CLIENT_CA).
    """
    context = portal_context(cert_file, key_file)
    context.verify_mode = ssl.CERT_REQUIRED
    try:
        context.load_verify_locations(cafile=client_ca_file)
    except (ssl.SSLError, OSError) as exc:
        raise ConfigError(f"the client CA bundle {client_ca_file} does not load ({_why(exc)}): "
                          "set SKP_TLS_CLIENT_CA to PEM CA certificates") from exc
    return context


def portal_context(cert_file: Path, key_file: Path) -> ssl.SSLContext:
    """The server profile without client certificates: the portal's, where people log in with
    eHerkenning. ConfigError names the certificate or key that does not load."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.set_ciphers(TLS12_CIPHERS)  # TLS 1.3's suites are all AEAD and stay as they are
    context.set_ecdh_curve(CURVE)
    context.options |= ssl.OP_NO_TICKET  # TLS 1.2: resumption by session id only
    context.num_tickets = 0  # TLS 1.3: no tickets at all
    try:
        context.load_cert_chain(cert_file, key_file)
    except (ssl.SSLError, OSError) as exc:
        raise ConfigError(f"the server certificate {cert_file} with its key {key_file} does not "
                          f"load ({_why(exc)}): set SKP_TLS_CERT to a PEM certificate (with its "
                          "chain) and SKP_TLS_KEY to its private key (for the portal: "
                          "SKP_PORTAL_TLS_CERT, SKP_PORTAL_TLS_KEY)") from exc
    return context


def _why(exc: OSError) -> str:
    if isinstance(exc, ssl.SSLError):
        return str(exc.reason or exc.strerror or type(exc).__name__)
    return exc.strerror or type(exc).__name__


def client_context(ca_file: Path, cert_file: Path | None = None,
                   key_file: Path | None = None) -> ssl.SSLContext:
    """A client context that trusts only ``ca_file`` and presents the given certificate."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.load_verify_locations(cafile=ca_file)
    if cert_file is not None:
        context.load_cert_chain(cert_file, key_file)
    return context


def mail_client_context(ca_file: Path | None = None) -> ssl.SSLContext:
    """The context for the mail server: verified against ``ca_file``, else the system's CAs
    (a mail relay usually has a public certificate). ConfigError names SKP_SMTP_CA."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)  # CERT_REQUIRED and check_hostname
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    try:
        if ca_file is None:
            context.load_default_certs()
        else:
            context.load_verify_locations(cafile=ca_file)
    except (ssl.SSLError, OSError) as exc:
        raise ConfigError(f"the mail server's CA bundle {ca_file} does not load ({_why(exc)}): "
                          "set SKP_SMTP_CA to PEM CA certificates") from exc
    return context


def pinned_client_context(cert_file: Path, key_file: Path) -> ssl.SSLContext:
    """A client context presenting the given certificate to a server that the caller verifies
    with :func:`is_pinned` once connected (no CA, no host name)."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE  # the peer is pinned instead
    context.load_cert_chain(cert_file, key_file)
    return context


def is_pinned(connection: ssl.SSLSocket, expected_pem: bytes) -> bool:
    """Whether the peer of ``connection`` presented the first certificate of ``expected_pem``."""
    der = connection.getpeercert(binary_form=True)
    return der is not None and der == ssl.PEM_cert_to_DER_cert(expected_pem.decode("ascii"))
