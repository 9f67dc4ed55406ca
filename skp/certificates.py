"""Whether a participant's client certificate can ever authenticate at the hub.

`skp certs add` registers only a certificate that the TLS handshake would accept: a leaf (not a
CA) for client authentication (extended key usage ``clientAuth``), valid now, that chains to a
CA of ``SKP_TLS_CLIENT_CA``. The chain is built by ``cryptography``'s path validation with the
certificates that follow the leaf in its file as intermediates. A certificate that expires
within :data:`EXPIRY_WARNING` is accepted with a warning.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import TypeVar

from cryptography import x509
from cryptography.x509.oid import ExtendedKeyUsageOID
from cryptography.x509.verification import (
    Criticality,
    ExtensionPolicy,
    PolicyBuilder,
    Store,
    VerificationError,
)

from skp.errors import AuthenticationError, SchemaInvalid

EXPIRY_WARNING = dt.timedelta(days=30)

E = TypeVar("E", bound=x509.ExtensionType)


def load_bundle(data: bytes) -> list[x509.Certificate]:
    """The certificates of a PEM file (the leaf first) or the one of a DER file;
    SchemaInvalid when it holds none."""
    try:
        if b"-----BEGIN" in data:
            return x509.load_pem_x509_certificates(data)
        return [x509.load_der_x509_certificate(data)]
    except ValueError as exc:
        raise SchemaInvalid("not a PEM or DER X.509 certificate") from exc


def check_client_certificate(leaf: x509.Certificate, intermediates: Sequence[x509.Certificate],
                             cas: Sequence[x509.Certificate], now: dt.datetime) -> list[str]:
    """Raise AuthenticationError when ``leaf`` can never authenticate; return warnings."""
    constraints = _extension(leaf, x509.BasicConstraints)
    if constraints is not None and constraints.ca:
        raise AuthenticationError("this is a CA certificate, not a participant's client "
                                  "certificate")
    usages = _extension(leaf, x509.ExtendedKeyUsage)
    if usages is None or ExtendedKeyUsageOID.CLIENT_AUTH not in usages:
        raise AuthenticationError("this certificate is not for client authentication (its "
                                  "extended key usage lacks clientAuth)")
    if now > leaf.not_valid_after_utc:
        raise AuthenticationError(f"this certificate expired on "
                                  f"{leaf.not_valid_after_utc:%Y-%m-%d}")
    if now < leaf.not_valid_before_utc:
        raise AuthenticationError(f"this certificate is valid only from "
                                  f"{leaf.not_valid_before_utc:%Y-%m-%d %H:%M} UTC")
    if not cas:
        raise AuthenticationError("SKP_TLS_CLIENT_CA holds no CA certificate")
    verifier = (PolicyBuilder().store(Store(list(cas))).time(now)
                .extension_policies(ca_policy=_CA_POLICY, ee_policy=_LEAF_POLICY)
                .build_client_verifier())
    try:
        verifier.verify(leaf, list(intermediates))
    except VerificationError as exc:  # its text names subjects: not repeated here
        raise AuthenticationError("this certificate does not chain to a CA in "
                                  "SKP_TLS_CLIENT_CA") from exc
    left = leaf.not_valid_after_utc - now
    if left < EXPIRY_WARNING:
        return [f"this certificate expires on {leaf.not_valid_after_utc:%Y-%m-%d}, in "
                f"{left.days} days: have the participant's next one registered before then"]
    return []


def _extension(cert: x509.Certificate, kind: type[E]) -> E | None:
    try:
        return cert.extensions.get_extension_for_class(kind).value
    except x509.ExtensionNotFound:
        return None


# The checks of the TLS handshake (OpenSSL), not the Web PKI's stricter profile: a private or
# PKIoverheid CA need not carry every extension a public web CA must.
_CA_POLICY = ExtensionPolicy.permit_all().require_present(
    x509.BasicConstraints, Criticality.AGNOSTIC, None)
_LEAF_POLICY = ExtensionPolicy.permit_all()
