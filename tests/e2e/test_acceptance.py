"""Acceptance from the hub's side, end to end: the reference adapter (tests/e2e/adapter.py, on
skp.client over real mutual TLS against the real server) passes every routine of each role,
and each variant with one classic mistake fails exactly the routine that should catch it, with
a line saying what was expected and what was seen.

The runs are driven by the acceptance job's body (skp.jobs.acceptance_job), called in a loop
as the scheduler would, with short step limits so that a failing step ends quickly.
"""

from __future__ import annotations

import datetime as dt
import time
import uuid
from pathlib import Path

import pytest
import requests

from skp.client import Client
from skp.client import Identity as ClientIdentity
from skp.clock import SystemClock
from skp.config import Settings
from skp.domain.acceptance import Routine
from skp.domain.admission import Standing
from skp.domain.catalogue import lookup
from skp.domain.examples import example_body
from skp.domain.roles import ROLE_MODULES, Module, Role
from skp.domain.verdicts import Outcome
from skp.hub import Hub
from skp.jobs import acceptance_job
from skp.partner import SE as PARTNER
from skp.sealing import MemoryKeyRing
from skp.store.acceptance import RunState
from skp.store.db import make_engine, migrate
from tests.e2e.adapter import Adapter
from tests.e2e.conftest import Identity

LIMIT = dt.timedelta(seconds=6)  # short, with room for a loaded CI machine
PARTNER_SE = PARTNER.id


@pytest.fixture(scope="module")
def clock():
    return SystemClock()


@pytest.fixture(scope="module")
def hub(pki, clock, tmp_path_factory):
    directory = tmp_path_factory.mktemp("acceptance")
    settings = Settings(tls_cert=pki.server_cert, tls_key=pki.server_key,
                        tls_client_ca=pki.ca_file, server_threads=8,
                        max_connections_per_address=64, send_rate=5000,
                        acceptance_step_limit=LIMIT, acceptance_burst=12)
    engine = make_engine(f"sqlite:///{directory / 'skp.sqlite3'}")
    migrate(engine)
    hub = Hub.build(settings, engine=engine, keyring=MemoryKeyRing.generate(), clock=clock)
    yield hub
    engine.dispose()


@pytest.fixture
def participant(hub, pki, tmp_path):
    """register(role, modules) -> (info, client identity): a new participant with its own
    certificate, registered (not yet active)."""

    def register(role: Role, modules=None):
        name = f"p{time.monotonic_ns()}"
        cert = Identity(pki.authority, name, tmp_path)
        info = hub.participants.add(name=f"Adapter {role}", role=role,
                                    modules=ROLE_MODULES[role] if modules is None else modules)
        hub.participants.add_certificate(info.id, cert.pem)
        return info, ClientIdentity(cert.cert, cert.key, pki.ca_file)

    return register


def run_to_end(hub, run_id, adapter, timeout=90.0):
    """Tick the acceptance job until the run ends; the run."""
    deadline = time.monotonic() + timeout
    adapter.start()
    try:
        while time.monotonic() < deadline:
            acceptance_job(hub)
            run = hub.acceptance.runs.get(run_id)
            if run.state is not RunState.RUNNING:
                return run
            time.sleep(0.1)
        raise AssertionError(f"the run did not end within {timeout} s")
    finally:
        adapter.stop()
        assert not adapter.errors, adapter.errors


def accept(hub, server, participant, role, modules=None, mistake=None, routines=None):
    info, identity = participant(role, modules)
    run = hub.acceptance.runs.start(info.id, routines)
    assert hub.participants.get(info.id).standing is Standing.IN_ACCEPTANCE
    adapter = Adapter(server, identity, role, info.modules, mistake=mistake)
    return info, run_to_end(hub, run.id, adapter)


def failures(run):
    return {routine: run.routine_outcome(routine) for routine in run.routines}


#: The routines of each role with every module it may use.
ROUTINES = {
    Role.SE: (Routine.RECIPIENT, Routine.ANSWERING, Routine.ROBUSTNESS),
    Role.WSK: (Routine.RECIPIENT, Routine.ANSWERING, Routine.ROBUSTNESS),
    Role.SHV_FASE2: tuple(Routine),
    Role.BEWINDVOERDER: (Routine.INITIATING, Routine.ROBUSTNESS),
    Role.SHV_FASE1: (Routine.INITIATING, Routine.ROBUSTNESS),
    Role.SHV_OVERIG: (Routine.INITIATING, Routine.ROBUSTNESS),
}


@pytest.mark.parametrize("role", list(ROUTINES))
def test_the_reference_adapter_passes_every_routine_of_its_role(hub, server, participant, role):
    info, run = accept(hub, server, participant, role)
    lines = [line for step in run.steps for line in step.lines]
    assert run.routines == ROUTINES[role]
    assert run.state is RunState.PASSED, lines
    assert all(step.outcome is Outcome.PASSED for step in run.steps)
    assert hub.participants.get(info.id).standing is Standing.ACCEPTED
    hub.participants.activate(info.id)
    assert hub.participants.get(info.id).standing is Standing.ACTIVE


#: The mistake, the routine that must catch it, and what its report line says.
CAUGHT = [
    ("confirms-without-fetching", Routine.RECIPIENT, "fetched before it is confirmed"),
    ("never-confirms", Routine.RECIPIENT, "fetched, never confirmed"),
    ("wrong-cross-reference", Routine.ANSWERING, "refused with Client.InvalidReply"),
    ("new-conversation", Routine.ANSWERING, "refused with Client.InvalidReply"),
    ("new-kenmerk", Routine.ROBUSTNESS, "stored twice"),
    ("gives-up", Routine.ROBUSTNESS, "seen no poll since"),
    ("loses-one", Routine.RECIPIENT, "1 never fetched"),
    ("always-matched", Routine.ANSWERING, "seen GEMATCHT, GEMATCHT"),
]


@pytest.mark.parametrize(("mistake", "routine", "seen"), CAUGHT, ids=[c[0] for c in CAUGHT])
def test_each_mistake_fails_exactly_the_routine_that_catches_it(hub, server, participant,
                                                                mistake, routine, seen):
    info, run = accept(hub, server, participant, Role.SE, {Module.SCHULDREGELING},
                       mistake=mistake)
    outcomes = failures(run)
    assert run.state is RunState.FAILED
    assert outcomes.pop(routine) is Outcome.FAILED
    assert set(outcomes.values()) == {Outcome.PASSED}, [
        (s.key, s.lines) for s in run.steps if s.outcome is Outcome.FAILED]
    lines = [line for step in run.steps if step.routine is routine for line in step.lines]
    assert any(line.startswith("expected") and "; seen" in line and seen in line
               for line in lines), lines
    assert hub.participants.get(info.id).standing is Standing.REGISTERED


def test_acceptatiestatus_shows_the_run_what_is_awaited_and_the_time_left(hub, server,
                                                                         participant):
    info, identity = participant(Role.SHV_FASE1, {Module.SCHULDINVENTARISATIE})
    client = Client(server, Module.SCHULDINVENTARISATIE, identity,
                    wsdl=Path("wsdl/schuldinventarisatie.wsdl"))
    assert client.call("Acceptatiestatus") == {
        "Deelnemerstatus": "registered", "RunId": None, "Uitkomst": None, "GestartOp": None,
        "BeeindigdOp": None, "Verwacht": None, "Routine": [], "Stap": []}
    run = hub.acceptance.runs.start(info.id, [Routine.INITIATING])
    acceptance_job(hub)
    status = client.call("Acceptatiestatus")
    assert (status["Deelnemerstatus"], status["RunId"], status["Uitkomst"]) == (
        "in_acceptance", run.id, "running")
    assert status["Routine"] == [{"Naam": "initiating", "Uitkomst": "waiting"}]
    (step,) = status["Stap"]
    assert step["Uitkomst"] == "waiting" and step["Verwachting"] == status["Verwacht"]
    assert 0 < step["ResterendeSeconden"] <= LIMIT.total_seconds()
    assert step["Starten"] == [{"Module": "schuldinventarisatie", "Berichttype": "Saldoverzoek",
                                "Ontvanger": PARTNER_SE}]
    time.sleep(LIMIT.total_seconds())
    acceptance_job(hub)
    status = client.call("Acceptatiestatus")
    assert (status["Deelnemerstatus"], status["Uitkomst"]) == ("registered", "failed")
    (step,) = status["Stap"]
    assert step["Uitkomst"] == "failed" and step["Starten"] == []
    assert step["Bevinding"][0].startswith("expected a Saldoverzoek of module "
                                           "schuldinventarisatie")


def test_the_lost_receipt_is_a_connection_closed_after_the_commit(hub, server, participant):
    info, identity = participant(Role.SE, {Module.SCHULDREGELING})
    run = hub.acceptance.runs.start(info.id, [Routine.ROBUSTNESS])
    acceptance_job(hub)
    awaited = hub.acceptance.runs.get(run.id).awaited
    assert awaited.key == "lost-receipt"
    (start,) = awaited.starts
    client = Client(server, Module.SCHULDREGELING, identity,
                    wsdl=Path("wsdl/schuldregeling.wsdl"))
    message = {"body": example_body(lookup(start.module, start.type_code)),
               "recipient": start.partner_id, "kenmerk": "K-lost-1",
               "conversation": str(uuid.uuid4())}
    with pytest.raises(requests.ConnectionError, match=r"Connection aborted|RemoteDisconnected"):
        client.send(start.type_code, **message)
    stored = hub.mailbox.status(info.id, kenmerk="K-lost-1")  # committed before the close
    receipt = client.send(start.type_code, **message)  # the same Kenmerk again: answered
    assert (receipt["BerichtId"], receipt["Herhaald"]) == (stored.id, True)
    again = client.send(start.type_code, **message)  # and only once dropped
    assert again["BerichtId"] == stored.id
    acceptance_job(hub)
    lost = next(s for s in hub.acceptance.runs.get(run.id).steps if s.key == "lost-receipt")
    assert lost.outcome is Outcome.PASSED
