"""The TLS profile of the edge (nginx) and of the bare hub, probed with ``openssl s_client``.

The NCSC "goed" profile: TLS 1.3, and TLS 1.2 with ECDHE and AES-GCM or ChaCha20 only; no
TLS 1.0/1.1, no CBC, no RSA or finite-field DH key exchange. Curves: the edge takes X25519,
P-256 and P-384; the bare hub, whose Python ssl sets a single group, P-256 only
(skp/tls.py). The server certificate is RSA, so that RSA key exchange would be possible if
the cipher list allowed it. Each probe is a whole connection: the handshake with a client
certificate, then ``GET /healthz``, whose ``200`` must come back when the handshake is
accepted; a refusal must be the server's alert, not the client's own lack of a protocol.
"""

from __future__ import annotations

import re
import subprocess
from dataclasses import dataclass
from urllib.parse import urlsplit

import pytest
import trustme

from tests.e2e.conftest import Identity

REQUEST = b"GET /healthz HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n"
#: OpenSSL 3 refuses TLS 1.0/1.1 itself at its default security level: level 0 lets the
#: client offer them, so that the refusal seen is the server's.
OLD = "DEFAULT@SECLEVEL=0"


@dataclass(frozen=True)
class Probe:
    """What one ``openssl s_client`` connection saw."""

    accepted: bool
    protocol: str
    cipher: str
    key_exchange: str
    output: str

    def refused_by_server(self) -> bool:
        return not self.accepted and "alert" in self.output


@pytest.fixture(scope="module")
def ports(edge, server):
    return {"edge": edge.port, "hub": urlsplit(server).port}


@pytest.fixture(scope="module")
def identity(pki, tmp_path_factory):
    """A client certificate with an RSA key, of the RSA CA: TLS 1.2 ties the EC keys of a
    client's chain to the curves the client offers, which would make a probe of one curve
    fail on the certificate rather than on the key exchange."""
    return Identity(pki.authority, "rsa-client", tmp_path_factory.mktemp("rsa"),
                    key_type=trustme.KeyType.RSA)


@pytest.fixture(scope="module")
def probe(ports, pki, identity):
    """probe(target, *s_client options) -> Probe."""

    def probe(name: str, *options: str) -> Probe:
        done = subprocess.run(  # noqa: S603  # our own arguments
            ["openssl", "s_client", "-connect", f"127.0.0.1:{ports[name]}",  # noqa: S607
             "-servername", "localhost", "-CAfile", str(pki.ca_file), "-verify_return_error",
             "-cert", str(identity.cert), "-key", str(identity.key), "-ign_eof", *options],
            input=REQUEST, capture_output=True, timeout=30, check=False)
        out = done.stdout.decode(errors="replace") + done.stderr.decode(errors="replace")
        session = re.search(r"New, (\S+), Cipher is (\S+)", out)
        group = re.search(r"(?:Server|Peer) Temp Key: (.+)", out)
        return Probe(accepted="HTTP/1.1 200" in out,
                     protocol=session.group(1) if session else "",
                     cipher=session.group(2) if session else "",
                     key_exchange=group.group(1) if group else "", output=out)

    return probe


BOTH = ["edge", "hub"]


@pytest.mark.parametrize("target", BOTH)
@pytest.mark.parametrize(("option", "accepted"), [
    ("-tls1", False), ("-tls1_1", False), ("-tls1_2", True), ("-tls1_3", True)])
def test_protocol_versions(probe, target, option, accepted):
    seen = probe(target, option, "-cipher", OLD)
    if accepted:
        assert seen.accepted, seen.output
        assert seen.protocol == {"-tls1_2": "TLSv1.2", "-tls1_3": "TLSv1.3"}[option]
    else:
        assert seen.refused_by_server(), seen.output


@pytest.mark.parametrize("target", BOTH)
@pytest.mark.parametrize(("family", "ciphers", "accepted"), [
    ("ECDHE with AES-GCM", "ECDHE+AESGCM", True),
    ("ECDHE with ChaCha20-Poly1305", "ECDHE+CHACHA20", True),
    ("AES-CBC", "ECDHE+AES:!AESGCM:!AESCCM", False),
    ("RSA key exchange", "kRSA", False),
    ("finite-field DHE", "kDHE", False),
    ("AES-CCM", "ECDHE+AESCCM", False),
])
def test_tls12_cipher_families(probe, target, family, ciphers, accepted):
    seen = probe(target, "-tls1_2", "-cipher", ciphers)
    if accepted:
        assert seen.accepted, f"{family}: {seen.output}"
        assert "ECDHE" in seen.cipher and ("GCM" in seen.cipher or "CHACHA20" in seen.cipher)
    else:
        assert seen.refused_by_server(), f"{family}: {seen.output}"


@pytest.mark.parametrize("target", BOTH)
@pytest.mark.parametrize(("suite", "accepted"), [
    ("TLS_AES_128_GCM_SHA256", True), ("TLS_AES_256_GCM_SHA384", True),
    ("TLS_CHACHA20_POLY1305_SHA256", True), ("TLS_AES_128_CCM_SHA256", False)])
def test_tls13_suites(probe, target, suite, accepted):
    seen = probe(target, "-tls1_3", "-ciphersuites", suite)
    if accepted:
        assert seen.accepted, seen.output
        assert seen.cipher == suite
    else:
        assert seen.refused_by_server(), seen.output


#: OpenSSL's group name -> what s_client prints of the key exchange, and who accepts it.
CURVES = {
    "X25519": ("X25519", {"edge"}),
    "P-256": ("prime256v1", {"edge", "hub"}),
    "P-384": ("secp384r1", {"edge"}),
    "P-521": ("secp521r1", set()),
    "X448": ("X448", set()),
}


@pytest.mark.parametrize("target", BOTH)
@pytest.mark.parametrize("version", ["-tls1_2", "-tls1_3"])
@pytest.mark.parametrize("curve", CURVES)
def test_curves(probe, target, version, curve):
    shown, accepted_by = CURVES[curve]
    seen = probe(target, version, "-groups", curve)
    if target in accepted_by:
        assert seen.accepted, seen.output
        assert shown in seen.key_exchange
    else:
        assert seen.refused_by_server(), seen.output


def tickets(output: str) -> list[int]:
    """The size in bytes of every session ticket s_client received."""
    sizes = []
    for block in output.split("TLS session ticket:")[1:]:
        rows = re.findall(r"^\s+[0-9a-f]{4} - ((?:[0-9a-f]{2}[ -]){1,16})", block, re.MULTILINE)
        sizes.append(sum(len(re.findall(r"[0-9a-f]{2}", row)) for row in rows))
    return sizes


@pytest.mark.parametrize("target", BOTH)
def test_no_session_ticket_in_tls12(probe, target):
    seen = probe(target, "-tls1_2")
    assert seen.accepted, seen.output
    assert tickets(seen.output) == [], "a TLS 1.2 session ticket was issued"


def test_the_edges_tls13_tickets_are_cache_references_not_encrypted_sessions(probe):
    # With session tickets off, OpenSSL's TLS 1.3 "tickets" are the 32-byte ids of sessions in
    # nginx's own cache: no ticket key exists that could go unrotated. A stateless ticket (a
    # session encrypted under a ticket key) is some 200 bytes.
    seen = probe("edge", "-tls1_3")
    assert seen.accepted, seen.output
    assert tickets(seen.output), "expected OpenSSL's stateful TLS 1.3 tickets"
    assert all(size <= 32 for size in tickets(seen.output)), tickets(seen.output)


def test_the_bare_hub_issues_no_tls13_ticket(probe):
    seen = probe("hub", "-tls1_3")
    assert seen.accepted, seen.output
    assert tickets(seen.output) == []


def test_the_edge_sends_the_acceptable_ca_list(probe, pki):
    seen = probe("edge", "-tls1_3")
    names = seen.output.split("Acceptable client certificate CA names")[1].split("Requested")[0]
    assert "O = skp test CA" in names
    assert "trustme" not in names  # the CA of the bundle, not a leaf
