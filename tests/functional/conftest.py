"""A HubApp called directly as WSGI, behind a trusted proxy that passes client certificates."""

from __future__ import annotations

import pytest
import trustme

from skp.config import Settings
from skp.hub import Hub
from skp.server import HubApp
from tests.helpers import PROXY


@pytest.fixture(scope="module")
def ca():
    return trustme.CA()


@pytest.fixture
def app(engine, sessions, keyring, clock, ca, tmp_path):
    ca.cert_pem.write_to_path(tmp_path / "ca.pem")
    settings = Settings(tls_client_ca=tmp_path / "ca.pem", trusted_proxies=(PROXY,),
                        metrics_clients=(f"{PROXY}/32",))
    return HubApp(Hub.build(settings, engine=engine, keyring=keyring, clock=clock))
