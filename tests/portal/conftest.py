"""The portal's fixtures: a hub on SQLite with the demo organisations, the portal on a real
HTTPS listener, a real OpenID Provider (npm oidc-provider, tests/portal/op/broker.mjs) standing
in for the eHerkenning broker, Debian's Chromium driven by Playwright, and the hub's SOAP
server beside the portal with a real SOAP client per demo participant (mutual TLS).

Node.js, the broker's npm packages (``npm ci`` in tests/portal/op) and ``chromium`` are needed;
without them the browser tests skip, except when ``CI`` is set, where they fail (.ci/run
installs them).
"""

from __future__ import annotations

import datetime as dt
import json
import re
import shutil
import socket
import subprocess
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import trustme

from skp.client import Client, Identity
from skp.clock import FrozenClock
from skp.config import PortalSettings, Settings
from skp.demo import CAST, DemoParticipant, add_cast
from skp.domain.roles import Module
from skp.hub import Hub
from skp.portal import create_app
from skp.portal.server import make_portal_server
from skp.sealing import MemoryKeyRing
from skp.server import make_server
from skp.store.db import make_engine, migrate
from tests.helpers import empty, require, serving

OP = Path(__file__).parent / "op"
ROOT = Path(__file__).parents[2]
SCREENSHOTS = ROOT / "var" / "screenshots"
PORTAL = PortalSettings()
LOA3 = "urn:etoegang:core:assurance-class:loa3"
LOA2PLUS = "urn:etoegang:core:assurance-class:loa2plus"
ENERGIE, GEMEENTE = "90000002", "90000001"
NOORD = next(d for d in CAST if d.slug == "energie-noord")
ZUID = next(d for d in CAST if d.slug == "energie-zuid")
SHV = next(d for d in CAST if d.slug == "shv")


def account(label: str, kvk: str, acting: str, service: str, acr: str = LOA3) -> dict:
    return {"label": label, "acr": acr, "claims": {
        PORTAL.claim_legal_subject: kvk, PORTAL.claim_acting_subject: acting,
        PORTAL.claim_service: service}}


#: The broker's accounts: who can log in, with which service and assurance level.
ACCOUNTS = {
    "anna": account("Anna, beheerder Energie BV", ENERGIE, "pseudo-anna", PORTAL.beheer_service),
    "bram": account("Bram, medewerker Energie BV", ENERGIE, "pseudo-bram", PORTAL.portal_service),
    "chris": account("Chris, medewerker Energie BV", ENERGIE, "pseudo-chris",
                     PORTAL.portal_service),
    "laag": account("Lotte, EH2+", ENERGIE, "pseudo-lotte", PORTAL.portal_service, LOA2PLUS),
    "dewi": account("Dewi, beheerder Gemeente", GEMEENTE, "pseudo-dewi", PORTAL.beheer_service),
    "anders": account("Otto, andere dienst", ENERGIE, "pseudo-otto",
                      "urn:etoegang:DV:x:services:9"),
}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Portal:
    url: str
    broker: str
    hub: Hub
    clock: FrozenClock
    settings: Settings


@pytest.fixture(scope="module")
def authority():
    """The CA of the portal's server certificate, and of the participants' client certificates
    when a test runs the SOAP server next to the portal."""
    return trustme.CA(organization_name="skp portal test CA")


@pytest.fixture(scope="module")
def pki(authority, tmp_path_factory):
    directory = tmp_path_factory.mktemp("portal-pki")
    ca = authority
    leaf = ca.issue_cert("localhost", "127.0.0.1")
    leaf.cert_chain_pems[0].write_to_path(directory / "server.pem")
    leaf.private_key_pem.write_to_path(directory / "server.key")
    ca.cert_pem.write_to_path(directory / "ca.pem")
    return directory


@pytest.fixture(scope="module")
def broker(pki, tmp_path_factory) -> Iterator[tuple[str, int]]:
    """The OpenID Provider, as (issuer, portal port): the portal's port is chosen first, for
    the client's redirect URIs."""
    require(shutil.which("node") is not None, "node (apt-get install nodejs)")
    require((OP / "node_modules" / "oidc-provider").is_dir(),
            "the test broker's npm packages (cd tests/portal/op && npm ci)")
    port, portal_port = free_port(), free_port()
    issuer = f"https://localhost:{port}"
    portal = f"https://localhost:{portal_port}"
    config = tmp_path_factory.mktemp("broker") / "config.json"
    config.write_text(json.dumps({
        "port": port, "issuer": issuer, "cert": str(pki / "server.pem"),
        "key": str(pki / "server.key"),
        "client": {"client_id": PORTAL.oidc_client_id,
                   "redirect_uris": [f"{portal}/inloggen/terug"],
                   "post_logout_redirect_uris": [f"{portal}/uitgelogd"]},
        "accounts": ACCOUNTS}))
    process = subprocess.Popen(["node", str(OP / "broker.mjs"), str(config)],  # noqa: S603, S607
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    assert process.stdout is not None
    said = []
    while not said or "listening" not in said[-1]:  # oidc-provider warns first
        said.append(process.stdout.readline())
        if not said[-1]:  # it ended
            pytest.fail("the test broker did not start: " + "".join(said))
    drain = threading.Thread(target=process.stdout.read, daemon=True)  # its later output
    drain.start()
    yield issuer, portal_port
    process.terminate()
    process.wait(timeout=10)
    drain.join(timeout=10)
    process.stdout.close()


@pytest.fixture(scope="module")
def portal(pki, broker, tmp_path_factory) -> Iterator[Portal]:
    issuer, port = broker
    directory = tmp_path_factory.mktemp("portal")
    clock = FrozenClock(dt.datetime.now(dt.UTC))
    settings = Settings(
        tls_cert=pki / "server.pem", tls_key=pki / "server.key", tls_client_ca=pki / "ca.pem",
        portal=PortalSettings(public_url=f"https://localhost:{port}", bind_port=port,
                              secret_file=directory / "secret", oidc_issuer=issuer,
                              oidc_ca=pki / "ca.pem"))
    engine = make_engine(f"sqlite:///{directory / 'skp.sqlite3'}")
    migrate(engine)
    hub = Hub.build(settings, engine=engine, keyring=MemoryKeyRing.generate(), clock=clock)
    with serving(make_portal_server(hub)):
        yield Portal(f"https://localhost:{port}", issuer, hub, clock, settings)
    engine.dispose()


@pytest.fixture
def organisations(portal):
    """The demo organisations' participants; every table is emptied afterwards."""
    portal.clock.set(dt.datetime.now(dt.UTC))
    add_cast(portal.hub.participants)
    yield portal
    empty(portal.hub.engine)


@pytest.fixture(scope="module")
def soap(portal) -> Iterator[str]:
    """The hub's SOAP server over mutual TLS, beside the portal, on the same database."""
    with serving(make_server(portal.hub, port=0)) as port:
        yield f"https://localhost:{port}"


@pytest.fixture
def soap_client(organisations, soap, authority, pki, tmp_path):
    """Makes the SOAP client of a demo participant for a module, with a client certificate
    of ``authority`` that the hub knows."""

    def client(demo: DemoParticipant, module: Module = Module.SCHULDREGELING) -> Client:
        leaf = authority.issue_cert(f"{demo.slug}.skp.test", common_name=demo.slug)
        cert, key = tmp_path / f"{demo.slug}.pem", tmp_path / f"{demo.slug}.key"
        leaf.cert_chain_pems[0].write_to_path(cert)
        leaf.private_key_pem.write_to_path(key)
        organisations.hub.participants.add_certificate(demo.id, leaf.cert_chain_pems[0].bytes())
        return Client(soap, module, Identity(cert, key, pki / "ca.pem"),
                      wsdl=ROOT / "wsdl" / f"{module.value}.wsdl")

    return client


@pytest.fixture(scope="module")
def browser():
    require(shutil.which("chromium") is not None, "chromium (apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(
            executable_path=shutil.which("chromium"),
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                  "--disable-component-update", "--disable-sync", "--no-first-run",
                  "--disable-quic"])
        yield launched
        launched.close()


@pytest.fixture
def page(browser):
    """A fresh browser context (its own cookies). ``bypass_csp`` only so that axe-core can be
    injected; the policy itself is asserted on the headers."""
    context = browser.new_context(ignore_https_errors=True, bypass_csp=True, locale="nl-NL")
    yield context.new_page()
    context.close()


# --- the portal in Flask's test client -------------------------------------------------------

BASE = "https://localhost"


@pytest.fixture
def hub(engine, sessions, keyring, tmp_path):
    """A hub with the demo participants, on the test database."""
    settings = Settings(portal=PortalSettings(secret_file=tmp_path / "secret"))
    # A Tuesday morning in Amsterdam: the deadline is the end of the next Monday.
    hub = Hub.build(settings, engine=engine, keyring=keyring,
                    clock=FrozenClock(dt.datetime(2026, 12, 1, 9, tzinfo=dt.UTC)))
    add_cast(hub.participants)
    return hub


@pytest.fixture
def app(hub):
    return create_app(hub)


def token(client, path="/inloggen"):
    """The CSRF token of the form on ``path``."""
    page = client.get(path, base_url=BASE)
    return re.search(r'name="csrf_token" (?:type="hidden" )?value="([^"]+)"',
                     page.get_data(as_text=True)).group(1)


def logged_in(app, persona):
    """A test client logged in as a demo persona (the development login)."""
    client = app.test_client()
    answer = client.post("/inloggen/ontwikkeling", base_url=BASE,
                         data={"csrf_token": token(client), "persona": persona})
    assert answer.status_code == 302, answer.get_data(as_text=True)
    return client


def employee_id(client):
    with client.session_transaction() as session:
        return session["user"]["employee"]


def employee(app, hub, persona, kvk, *units):
    """A logged-in client of a demo persona linked to ``units``."""
    client = logged_in(app, persona)
    me = next(e for e in hub.organisations.employees(kvk) if e.id == employee_id(client))
    for unit in units:
        hub.organisations.link(kvk, "test", me.id, unit, True)
    return client
