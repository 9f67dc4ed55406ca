"""End-to-end fixtures: a real hub over mutual TLS on an ephemeral port, real zeep clients.

The PKI comes from trustme: one CA for the hub's participants (and the server certificate),
and a second, untrusted CA. The hub runs on a SQLite file with a frozen clock set to now. It
trusts one TLS-terminating proxy: the edge of tests/edge/ (nginx), which connects from
``EDGE_SOURCE``; every client of the tests connects from 127.0.0.1 and is never trusted to
pass a certificate in a header.
"""

from __future__ import annotations

import datetime as dt

import pytest
import requests
import trustme
import zeep
from cryptography import x509
from zeep.transports import Transport

from skp.clock import FrozenClock
from skp.config import Settings
from skp.domain.admission import Standing
from skp.domain.roles import ROLE_MODULES, Module, Role
from skp.hub import Hub
from skp.participants import fingerprint
from skp.sealing import MemoryKeyRing
from skp.server import make_server
from skp.soap.types import namespace
from skp.store.db import make_engine, migrate
from tests.edge.nginx import EDGE_SOURCE
from tests.helpers import empty, serving

#: The demo cast: name, role, and whether the creditor uses the BSN.
CAST = {
    "shv": ("Gemeente Voorbeeld SHV", Role.SHV_FASE2, False),
    "se": ("Energie BV, unit Noord", Role.SE, False),
    "se2": ("Energie BV, unit Zuid", Role.SE, False),
    "se_bsn": ("Belastingdienst", Role.SE, True),
    "shv1": ("Schuldhulp Fase 1", Role.SHV_FASE1, False),
    "bewind": ("Bewind & Co", Role.BEWINDVOERDER, False),
    "kredietbank": ("Kredietbank Voorbeeld", Role.SHV_FASE2, False),
    "wsk": ("Waarborgfonds", Role.WSK, False),
}


class Identity:
    """A participant's client certificate on disk."""

    def __init__(self, ca, name, directory, **kwargs):
        leaf = ca.issue_cert(f"{name.replace('_', '-')}.skp.test", common_name=name, **kwargs)
        self.cert = directory / f"{name}.pem"
        self.key = directory / f"{name}.key"
        leaf.cert_chain_pems[0].write_to_path(self.cert)
        leaf.private_key_pem.write_to_path(self.key)
        self.pem = leaf.cert_chain_pems[0].bytes()
        self.fingerprint = fingerprint(x509.load_pem_x509_certificate(self.pem))


@pytest.fixture(scope="session")
def pki(tmp_path_factory):
    directory = tmp_path_factory.mktemp("pki")
    # RSA for the CA and the server, as PKIoverheid's are: RSA key exchange is then possible in
    # principle, so the TLS profile tests (tests/edge/test_tls.py) show that it is refused.
    ca = trustme.CA(organization_name="skp test CA", key_type=trustme.KeyType.RSA)
    rogue = trustme.CA()
    server = ca.issue_cert("localhost", "127.0.0.1", key_type=trustme.KeyType.RSA)
    server.cert_chain_pems[0].write_to_path(directory / "server.pem")
    server.private_key_pem.write_to_path(directory / "server.key")
    ca.cert_pem.write_to_path(directory / "ca.pem")

    class Pki:
        authority = ca
        ca_file = directory / "ca.pem"
        server_cert = directory / "server.pem"
        server_key = directory / "server.key"
        people = {key: Identity(ca, key, directory) for key in CAST}  # noqa: RUF012
        unknown = Identity(ca, "unknown", directory)
        revoked = Identity(ca, "revoked", directory)
        foreign = Identity(rogue, "foreign", directory)
        edge = Identity(ca, "edge", directory)  # the edge's own certificate towards the hub
        expired = Identity(ca, "expired", directory,
                           not_before=dt.datetime(2020, 1, 1, tzinfo=dt.UTC),
                           not_after=dt.datetime(2021, 1, 1, tzinfo=dt.UTC))

    return Pki


@pytest.fixture(scope="module")
def clock():
    return FrozenClock(dt.datetime.now(dt.UTC))


@pytest.fixture(scope="module")
def hub(pki, clock, tmp_path_factory):
    directory = tmp_path_factory.mktemp("hub")
    settings = Settings(tls_cert=pki.server_cert, tls_key=pki.server_key,
                        tls_client_ca=pki.ca_file, server_threads=8,
                        # every test connects from 127.0.0.1, and sessions keep connections
                        # alive: the cap per address is the attack suite's (tests/attack/)
                        max_connections_per_address=64,
                        trusted_proxies=(EDGE_SOURCE,))
    engine = make_engine(f"sqlite:///{directory / 'skp.sqlite3'}")
    migrate(engine)
    hub = Hub.build(settings, engine=engine, keyring=MemoryKeyRing.generate(), clock=clock)
    yield hub
    engine.dispose()


@pytest.fixture(scope="module")
def server(hub):
    with serving(make_server(hub, port=0)) as port:
        yield f"https://localhost:{port}"


@pytest.fixture
def people(hub, pki, clock):
    """The cast registered with their certificates; the database is emptied afterwards."""
    clock.set(dt.datetime.now(dt.UTC))
    registered = {}
    for key, (name, role, uses_bsn) in CAST.items():
        info = hub.participants.add(standing=Standing.ACTIVE,
                                    name=name, role=role, modules=ROLE_MODULES[role],
                                    uses_bsn=uses_bsn)
        hub.participants.add_certificate(info.id, pki.people[key].pem)
        registered[key] = info
    yield type("People", (), registered)
    empty(hub.engine)


def session_for(identity, ca_file):
    session = requests.Session()
    session.trust_env = False  # never the environment's CA bundle (REQUESTS_CA_BUNDLE)
    session.verify = str(ca_file)
    session.cert = (str(identity.cert), str(identity.key))
    return session


_wsdl_cache: dict = {}


@pytest.fixture
def connect(server, pki):
    """connect(identity, module) -> a zeep service proxy for that module at this server."""

    def connect(identity, module: Module):
        session = session_for(identity, pki.ca_file)
        client = zeep.Client(f"wsdl/{module.value}.wsdl", transport=Transport(session=session))
        binding = f"{{{namespace(module)}}}{_title(module)}"
        return client.create_service(binding, f"{server}/{module.value}")

    return connect


def _title(module: Module) -> str:
    return "".join(part.capitalize() for part in module.value.split("-"))


def zeep_body(mt, body):
    """An example body as zeep takes it (see skp.client.for_zeep)."""
    from skp.client import for_zeep

    return for_zeep(mt, body)


def header(recipient, *, kenmerk=None, conversation=None, cross=None):
    import uuid

    return {"Kenmerk": kenmerk or f"K-{uuid.uuid4().hex[:12]}", "Ontvanger": recipient.id,
            "ConversatieReferentienummer": conversation or str(uuid.uuid4()),
            "CrossReferentienummer": cross}


def plain(obj):
    """A zeep result as plain dicts and lists."""
    from zeep.helpers import serialize_object

    return serialize_object(obj, dict)
