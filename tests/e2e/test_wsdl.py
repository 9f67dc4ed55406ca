"""The WSDLs integrators download: served bytes equal the checked-in snapshots, the
snapshots equal what the catalogue generates now, and each loads in zeep cleanly."""

from __future__ import annotations

import logging
import warnings
from pathlib import Path

import pytest
import zeep

from skp.config import Settings
from skp.domain.roles import Module
from skp.soap.documents import export
from tests.e2e.conftest import session_for

SNAPSHOTS = Path(__file__).parents[2] / "wsdl"


@pytest.mark.parametrize("module", list(Module))
def test_served_wsdl_equals_the_snapshot(module, server, pki, people):
    session = session_for(pki.people["shv"], pki.ca_file)
    response = session.get(f"{server}/{module}?wsdl", timeout=10)
    assert response.status_code == 200
    assert response.content == (SNAPSHOTS / f"{module}.wsdl").read_bytes(), (
        "the served WSDL differs from wsdl/: run `skp wsdl export` and commit the result")


def test_snapshots_are_current(tmp_path):
    for path in export(tmp_path, Settings().public_url):
        assert path.read_bytes() == (SNAPSHOTS / path.name).read_bytes(), (
            f"{path.name} is stale: run `skp wsdl export` and commit the result")


@pytest.mark.parametrize("module", list(Module))
def test_snapshot_loads_in_zeep_without_warnings(module, caplog):
    caplog.set_level(logging.WARNING)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        client = zeep.Client(str(SNAPSHOTS / f"{module}.wsdl"))
    assert not [r for r in caplog.records if r.name.startswith("zeep")]
    operations = set(next(iter(client.wsdl.services.values())).ports.popitem()[1]
                     .binding._operations)
    assert {"Ping", "Berichtenlijst", "HaalBerichtOp", "BevestigOntvangst", "Status",
            "Logboek"} <= operations
    assert any(name.startswith("Verstuur") for name in operations)


def test_wsdl_needs_a_registered_certificate(server, pki, people):
    session = session_for(pki.unknown, pki.ca_file)
    response = session.get(f"{server}/schuldregeling?wsdl", timeout=10)
    assert response.status_code == 500
    assert b"Client.Authentication" in response.content


def test_unknown_path_and_health(server, pki, people):
    session = session_for(pki.people["shv"], pki.ca_file)
    assert session.get(f"{server}/nergens", timeout=10).status_code == 404
    health = session.get(f"{server}/healthz", timeout=10)
    assert (health.status_code, health.text) == (200, "ok")
