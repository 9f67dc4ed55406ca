"""The development PKI: a CA, the hub's server certificate, participants' client certificates,
the edge's own client certificate and a CRL, made with ``cryptography``. For development and
acceptance only: production uses PKIoverheid certificates and their CAs' CRLs (design.md §3).

Keys are EC P-256 by default, or RSA 3072 (``key="rsa"``) for clients that cannot build a
chain over EC keys, such as mono; every certificate issued later has a key of the CA's kind.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import os
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.asymmetric.types import CertificateIssuerPrivateKeyTypes
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from skp.errors import ConfigError

CA_NAME = "skp development CA"
#: The kinds of key of a dev PKI, the default first.
KEY_KINDS = ("ec", "rsa")
_RSA_BITS = 3072  # NCSC and BSI: as strong as EC P-256 for its lifetime
#: The file names of the edge's own client certificate and of the CRL in a PKI folder.
EDGE, CRL = "edge", "crl.pem"

PrivateKey = ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey


@dataclass(frozen=True)
class Issued:
    """A certificate and its key on disk."""

    cert: Path
    key: Path

    @property
    def pem(self) -> bytes:
        return self.cert.read_bytes()


def init_dev(directory: Path, *, hosts: tuple[str, ...] = ("localhost", "127.0.0.1"),
             force: bool = False, now: dt.datetime | None = None,
             key: str = "ec") -> tuple[Issued, Issued]:
    """Create ``ca.pem``/``ca.key`` and ``server.pem``/``server.key`` in ``directory``, with
    keys of the kind ``key`` (one of :data:`KEY_KINDS`)."""
    ca_path = directory / "ca.pem"
    if ca_path.exists() and not force:
        raise ConfigError(f"{ca_path} exists already; pass --force to replace the dev PKI")
    now = now or dt.datetime.now(dt.UTC)
    directory.mkdir(parents=True, exist_ok=True)
    ca_key = _new_key(key)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, CA_NAME)])
    ca = (_builder(name, name, ca_key.public_key(), now, days=3650)
          .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
          .add_extension(x509.KeyUsage(False, False, False, False, False, True, True, False,
                                       False), critical=True)
          .sign(ca_key, hashes.SHA256()))
    ca_issued = _write(directory, "ca", ca, ca_key)
    sans: list[x509.GeneralName] = []
    for host in hosts:
        try:
            sans.append(x509.IPAddress(ipaddress.ip_address(host)))
        except ValueError:
            sans.append(x509.DNSName(host))
    # Client authentication too, so that `skp health` can present it to the hub's /healthz.
    server = _leaf(directory, "server", hosts[0], [ExtendedKeyUsageOID.SERVER_AUTH,
                                                  ExtendedKeyUsageOID.CLIENT_AUTH], now,
                   extra=x509.SubjectAlternativeName(sans))
    return ca_issued, server


def issue_client(directory: Path, slug: str, name: str, *,
                 now: dt.datetime | None = None, days: int = 825) -> Issued:
    """A client certificate for a participant, signed by the dev CA in ``directory``."""
    return _leaf(directory, slug, name, [ExtendedKeyUsageOID.CLIENT_AUTH],
                 now or dt.datetime.now(dt.UTC), days=days)


def issue_edge(directory: Path, *, now: dt.datetime | None = None) -> Issued:
    """The edge's client certificate towards the hub (``edge.pem``/``edge.key``), signed by the
    dev CA in ``directory``: the hub demands a certificate of its CA bundle in every handshake,
    also from the TLS-terminating proxy in front of it. It is no participant's."""
    return issue_client(directory, EDGE, "skp edge", now=now)


def write_crl(directory: Path, revoked: Iterable[x509.Certificate] = (), *,
              now: dt.datetime | None = None, days: int = 30) -> Path:
    """``crl.pem`` in ``directory``: the dev CA's revocation list of ``revoked``."""
    ca_cert, ca_key = _load_ca(directory)
    path = directory / CRL
    path.write_bytes(revocation_list(ca_cert, ca_key, revoked,
                                     now=now or dt.datetime.now(dt.UTC), days=days))
    return path


def revocation_list(ca_cert: x509.Certificate, ca_key: CertificateIssuerPrivateKeyTypes,
                    revoked: Iterable[x509.Certificate], *, now: dt.datetime,
                    days: int = 30) -> bytes:
    """A PEM CRL of ``ca_cert`` that lists ``revoked``, valid from ``now`` for ``days``."""
    builder = (x509.CertificateRevocationListBuilder().issuer_name(ca_cert.subject)
               .last_update(now - dt.timedelta(minutes=5))
               .next_update(now + dt.timedelta(days=days)))
    for cert in revoked:
        builder = builder.add_revoked_certificate(
            x509.RevokedCertificateBuilder().serial_number(cert.serial_number)
            .revocation_date(now - dt.timedelta(minutes=5)).build())
    return builder.sign(ca_key, hashes.SHA256()).public_bytes(serialization.Encoding.PEM)


def _leaf(directory: Path, slug: str, common_name: str, usages: list[x509.ObjectIdentifier],
          now: dt.datetime, *, days: int = 825,
          extra: x509.ExtensionType | None = None) -> Issued:
    ca_cert, ca_key = _load_ca(directory)
    key = _new_key("rsa" if isinstance(ca_key, rsa.RSAPrivateKey) else "ec")
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
    builder = (_builder(subject, ca_cert.subject, key.public_key(), now, days=days)
               .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
               .add_extension(x509.ExtendedKeyUsage(usages), critical=False))
    if extra is not None:
        builder = builder.add_extension(extra, critical=False)
    return _write(directory, slug, builder.sign(ca_key, hashes.SHA256()), key)


def _new_key(kind: str) -> PrivateKey:
    if kind not in KEY_KINDS:
        raise ConfigError(f"a development key is one of {', '.join(KEY_KINDS)}, not {kind}")
    if kind == "rsa":
        return rsa.generate_private_key(public_exponent=65537, key_size=_RSA_BITS)
    return ec.generate_private_key(ec.SECP256R1())


def _builder(subject: x509.Name, issuer: x509.Name,
             public_key: ec.EllipticCurvePublicKey | rsa.RSAPublicKey,
             now: dt.datetime, *, days: int) -> x509.CertificateBuilder:
    return (x509.CertificateBuilder().subject_name(subject).issuer_name(issuer)
            .public_key(public_key).serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(minutes=5))
            .not_valid_after(now + dt.timedelta(days=days)))


def _load_ca(directory: Path) -> tuple[x509.Certificate, PrivateKey]:
    try:
        cert = x509.load_pem_x509_certificate((directory / "ca.pem").read_bytes())
        key = serialization.load_pem_private_key((directory / "ca.key").read_bytes(), None)
    except (OSError, ValueError) as exc:
        raise ConfigError(f"no development CA in {directory}; run `skp pki init-dev` "
                          "first") from exc
    if not isinstance(key, ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey):
        raise ConfigError(f"{directory / 'ca.key'} is not a development CA key")
    return cert, key


def _write(directory: Path, slug: str, cert: x509.Certificate, key: PrivateKey) -> Issued:
    issued = Issued(directory / f"{slug}.pem", directory / f"{slug}.key")
    issued.cert.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    fd = os.open(issued.key, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as out:
        out.write(key.private_bytes(serialization.Encoding.PEM,
                                    serialization.PrivateFormat.PKCS8,
                                    serialization.NoEncryption()))
    return issued
