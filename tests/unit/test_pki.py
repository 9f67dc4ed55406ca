"""The development PKI: EC P-256 keys by default, RSA 3072 on request, for the CA and every
certificate it issues, signed by the CA."""

from __future__ import annotations

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from skp import pki
from skp.errors import ConfigError


def key_of(path):
    return serialization.load_pem_private_key(path.read_bytes(), None)


@pytest.mark.parametrize(("kind", "check"), [
    ("ec", lambda k: isinstance(k, ec.EllipticCurvePrivateKey) and k.curve.name == "secp256r1"),
    ("rsa", lambda k: isinstance(k, rsa.RSAPrivateKey) and k.key_size == 3072),
])
def test_every_key_of_the_pki_is_of_the_kind_chosen(tmp_path, kind, check):
    ca, server = pki.init_dev(tmp_path, key=kind)
    client = pki.issue_client(tmp_path, "shv", "Gemeente Voorbeeld")
    for issued in (ca, server, client):
        assert check(key_of(issued.key)), issued.key
        cert = x509.load_pem_x509_certificate(issued.pem)
        assert type(cert.public_key()) is type(key_of(issued.key).public_key())
    ca_cert = x509.load_pem_x509_certificate(ca.pem)
    for issued in (server, client):
        x509.load_pem_x509_certificate(issued.pem).verify_directly_issued_by(ca_cert)


def test_an_unknown_kind_of_key_is_refused(tmp_path):
    with pytest.raises(ConfigError, match="one of ec, rsa"):
        pki.init_dev(tmp_path, key="dsa")
