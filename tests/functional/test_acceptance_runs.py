"""Acceptance runs in the database, on SQLite and PostgreSQL: the acceptance job's body
(skp.jobs.acceptance_job) begins and judges steps with a frozen clock, an in-process adapter
works the mailbox through the ordinary mailbox service, one leader holds the lock, and the
run moves the participant through its lifecycle."""

from __future__ import annotations

import datetime as dt
import time

import pytest
from sqlalchemy import select, text

from skp import scheduler
from skp.config import Settings
from skp.domain.acceptance import Routine
from skp.domain.admission import Standing
from skp.domain.roles import Module, Role
from skp.domain.verdicts import Outcome
from skp.errors import NotAllowed
from skp.hub import Hub
from skp.jobs import ACCEPTANCE_LOCK, acceptance_job
from skp.partner import SHV
from skp.store.acceptance import AcceptanceCall, RunState


@pytest.fixture
def hub(engine, sessions, keyring, clock):
    return Hub.build(Settings(acceptance_burst=3), engine=engine, keyring=keyring, clock=clock)


def work(hub, participant, module):
    """An in-process adapter: fetch and confirm everything pending."""
    while (delivery := hub.mailbox.fetch_next(participant.id, module)) is not None:
        hub.mailbox.confirm(participant.id, delivery.info.id)


def test_a_recipient_run_passes_when_everything_is_fetched_and_confirmed(hub, clock):
    creditor = hub.participants.add(name="Energie BV", role=Role.SE,
                                    modules=[Module.SCHULDINVENTARISATIE])
    assert creditor.standing is Standing.REGISTERED
    run = hub.acceptance.runs.start(creditor.id, [Routine.RECIPIENT])
    assert [s.key for s in run.steps] == ["receive-schuldinventarisatie", "burst"]
    with pytest.raises(NotAllowed, match="a run in progress"):
        hub.acceptance.runs.start(creditor.id)  # one run at a time
    assert acceptance_job(hub) == 1  # the partners sent the first step's messages
    waiting = hub.acceptance.runs.get(run.id).steps[0]
    assert waiting.outcome is Outcome.WAITING
    assert waiting.deadline == clock.now() + hub.settings.acceptance_step_limit
    pending = hub.mailbox.list_pending(creditor.id, Module.SCHULDINVENTARISATIE).items
    assert [(m.type_code, m.sender_id) for m in pending] == [("Saldoverzoek", SHV.id)] * 2
    for _ in range(2):  # the step, then the burst
        work(hub, creditor, Module.SCHULDINVENTARISATIE)
        acceptance_job(hub)
    finished = hub.acceptance.runs.get(run.id)
    assert finished.state is RunState.PASSED, [s.lines for s in finished.steps]
    assert hub.participants.get(creditor.id).standing is Standing.ACCEPTED


def test_a_step_unmet_at_its_limit_fails_and_the_run_fails(hub, clock):
    creditor = hub.participants.add(name="Energie BV", role=Role.SE,
                                    modules=[Module.SCHULDINVENTARISATIE])
    run = hub.acceptance.runs.start(creditor.id, [Routine.RECIPIENT])
    acceptance_job(hub)
    clock.set(clock.now() + hub.settings.acceptance_step_limit - dt.timedelta(seconds=1))
    acceptance_job(hub)
    assert hub.acceptance.runs.get(run.id).steps[0].outcome is Outcome.WAITING
    while acceptance_job(hub):
        clock.set(clock.now() + hub.settings.acceptance_step_limit)
    finished = hub.acceptance.runs.get(run.id)
    assert finished.state is RunState.FAILED
    assert [s.outcome for s in finished.steps] == [Outcome.FAILED, Outcome.FAILED]
    with hub.sessions() as session:  # the observed requests go with the run's end
        assert session.scalars(select(AcceptanceCall)).all() == []
    assert finished.steps[0].lines[0].endswith("fetched and confirmed; seen never fetched")
    assert hub.participants.get(creditor.id).standing is Standing.REGISTERED


def test_one_leader_drives_the_runs(hub, engine):
    creditor = hub.participants.add(name="Energie BV", role=Role.SE,
                                    modules=[Module.SCHULDINVENTARISATIE])
    run = hub.acceptance.runs.start(creditor.id, [Routine.RECIPIENT])
    if engine.dialect.name == "postgresql":
        with engine.connect() as holder:
            holder.execute(text("SELECT pg_advisory_lock(:key)"), {"key": ACCEPTANCE_LOCK})
            assert acceptance_job(hub) is None
            assert hub.acceptance.runs.get(run.id).steps[0].outcome is Outcome.PENDING
            holder.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": ACCEPTANCE_LOCK})
            holder.commit()
    assert acceptance_job(hub) == 1
    assert hub.acceptance.runs.get(run.id).steps[0].outcome is Outcome.WAITING


def test_faults_are_answered_once_and_recorded_without_content(hub, sessions):
    creditor = hub.participants.add(name="Energie BV", role=Role.SE,
                                    modules=[Module.SCHULDINVENTARISATIE])
    run = hub.acceptance.runs.start(creditor.id, [Routine.ROBUSTNESS])
    observer = hub.acceptance.observer
    acceptance_job(hub)
    assert hub.acceptance.runs.get(run.id).awaited.key == "lost-receipt"
    assert observer.drop(run.id) is True  # armed for the participant's next send, once
    assert observer.drop(run.id) is False
    hub.clock.set(hub.clock.now() + hub.settings.acceptance_step_limit)  # nothing sent
    acceptance_job(hub)
    assert hub.acceptance.runs.get(run.id).awaited.key == "faults"
    environ: dict = {"skp.operation": "Berichtenlijst"}
    observer.intercept(creditor.id, "Ping", environ)  # not an operation with a fault armed
    assert environ["skp.acceptance.run"] == run.id
    with pytest.raises(Exception, match="on purpose") as raised:
        observer.intercept(creditor.id, "Berichtenlijst", environ)
    assert raised.value.code == "Server.Unavailable"
    observer.intercept(creditor.id, "Berichtenlijst", environ)  # once only
    observer.record(environ, "Server.Unavailable")
    with sessions() as session:
        (call,) = session.scalars(select(AcceptanceCall)).all()
    assert (call.operation, call.outcome, call.message_id) == (
        "Berichtenlijst", "Server.Unavailable", None)
    assert observer.drop(run.id) is False  # the lost receipt was armed only in its own step


def test_the_scheduler_drives_the_runs_every_interval(engine, sessions, keyring, clock):
    settings = Settings(acceptance_interval=dt.timedelta(seconds=3600))
    hub = Hub.build(settings, engine=engine, keyring=keyring, clock=clock)
    creditor = hub.participants.add(name="Energie BV", role=Role.SE,
                                    modules=[Module.SCHULDINVENTARISATIE])
    run = hub.acceptance.runs.start(creditor.id, [Routine.RECIPIENT])
    jobs = scheduler.start(hub)
    try:
        assert jobs.get_job("acceptance").trigger.interval == dt.timedelta(hours=1)
        deadline = time.monotonic() + 30  # generous: a loaded machine
        while hub.acceptance.runs.get(run.id).steps[0].outcome is Outcome.PENDING:
            assert time.monotonic() < deadline, "the first acceptance turn did not run"
            time.sleep(0.05)
    finally:
        jobs.shutdown(wait=True)
