"""``skp acceptance`` and ``skp participants activate`` through click's CliRunner: the lifecycle
gate, a run started, driven to its end by the acceptance job with a clock moved past each step's
limit, and its report as JUnit XML and HTML (both parsed)."""

from __future__ import annotations

import datetime as dt

import pytest
from lxml import etree, html

from skp.clock import FrozenClock
from skp.config import Settings
from skp.hub import Hub
from skp.jobs import acceptance_job
from skp.store.acceptance import RunState
from tests.unit.conftest import UUID


@pytest.fixture(autouse=True)
def _migrated(migrated):
    """Every test's ``skp`` runs on a migrated database."""


def add(skp, role="SHV_FASE1", *modules):
    out = skp("participants", "add", "--name", "Schuldhulp Voorbeeld", "--role", role,
              *[arg for m in modules for arg in ("--module", m)])
    return UUID.search(out).group(0), out


def hub_of(env, clock=None):
    return Hub.build(Settings.from_env(env), clock=clock)


def test_a_new_participant_is_registered_and_activate_refuses_it(skp, env):
    participant, out = add(skp, "SHV_FASE1", "schuldinventarisatie")
    assert "registered" in out
    refused = skp("participants", "activate", participant, expect=2)
    assert refused.count("\n") == 1 and "no passed acceptance run" in refused
    assert "--without-acceptance" in refused
    assert "registered" in skp("participants", "show", participant)


def test_activate_without_acceptance_is_audited(skp, env):
    participant, _ = add(skp, "SHV_FASE1", "schuldinventarisatie")
    assert ", active," in skp("participants", "activate", participant, "--without-acceptance")
    hub = hub_of(env)
    trail = hub.organisations.audit_trail()
    assert [(actor, action) for _, actor, action, _ in trail] == [
        ("operator", "participant.activated_without_acceptance")]
    assert participant in trail[0][3]
    hub.engine.dispose()


def test_a_run_is_started_driven_to_its_end_and_reported(skp, env, tmp_path):
    participant, _ = add(skp, "SHV_FASE1", "schuldinventarisatie")
    bad = skp("acceptance", "start", participant, "--routines", "initiating,speed", expect=2)
    assert "'speed' is not a routine" in bad
    out = skp("acceptance", "start", participant, "--routines", "initiating",
              "--routine", "robustness")
    run_id = UUID.search(out).group(0)
    assert "initiating: pending" in out and "robustness: pending" in out
    assert "in acceptance" in skp("participants", "show", participant)
    refused = skp("acceptance", "start", participant, expect=2)
    assert "a run in progress" in refused

    # No adapter answers: every step fails once its limit has passed.
    clock = FrozenClock(dt.datetime.now(dt.UTC))
    hub = hub_of(env, clock)
    while acceptance_job(hub):
        clock.set(clock.now() + dt.timedelta(minutes=16))
    run = hub.acceptance.runs.get(run_id)
    hub.engine.dispose()
    assert run.state is RunState.FAILED
    status = skp("acceptance", "status", run_id)
    assert "expected a Saldoverzoek of module schuldinventarisatie" in status
    assert "registered" in skp("participants", "show", participant)
    assert run_id in skp("acceptance", "status")

    junit, page = tmp_path / "run.xml", tmp_path / "run.html"
    skp("acceptance", "report", run_id, "--junit", junit, "--html", page)
    suites = etree.parse(str(junit)).getroot()
    assert suites.tag == "testsuites"
    assert [s.get("name") for s in suites] == ["initiating", "robustness"]
    cases = suites.findall("testsuite/testcase")
    assert len(cases) == len(run.steps)
    assert sum(int(s.get("tests")) for s in suites) == len(cases)
    failures = suites.findall("testsuite/testcase/failure")
    assert failures and sum(int(s.get("failures")) for s in suites) == len(failures)
    assert all(f.get("message").startswith("expected") and "; seen" in f.get("message")
               for f in failures)

    document = html.parse(str(page)).getroot()
    assert document.get("lang") == "en"
    assert document.findtext(".//title").startswith("Acceptance run")
    assert len(document.findall(".//h1")) == 1
    assert [c.text_content() for c in document.findall(".//caption")] == [
        "Steps of the routine initiating", "Steps of the routine robustness"]
    assert all(th.get("scope") for th in document.findall(".//th"))


def test_unknown_run_and_participant_are_one_line(skp):
    assert skp("acceptance", "status", "nope", expect=2).count("\n") == 1
    assert skp("acceptance", "start", "nope", expect=2).count("\n") == 1
    assert skp("acceptance", "report", "nope", expect=2).count("\n") == 1
