"""The purge job body, called directly, and its scheduler wiring."""

from __future__ import annotations

import datetime as dt
import time

from sqlalchemy import text

from skp import scheduler
from skp.config import Settings
from skp.domain.lifecycle import State
from skp.domain.roles import Module
from skp.hub import Hub
from skp.jobs import PURGE_LOCK, purge_job
from skp.store.models import Message
from tests.helpers import send


def test_purge_job_expires_what_is_due_and_respects_the_lock(engine, sessions, keyring,
                                                             clock, people):
    hub = Hub.build(Settings(), engine=engine, keyring=keyring, clock=clock)
    receipt = send(hub.mailbox, people.shv, people.se, Module.SCHULDREGELING, "Kennisgeving")
    clock.set(receipt.deadline)
    if engine.dialect.name == "postgresql":
        with engine.connect() as holder:
            holder.execute(text("SELECT pg_advisory_lock(:key)"), {"key": PURGE_LOCK})
            assert purge_job(hub) is None
            with sessions() as session:  # not purged (Status shows it expired regardless)
                assert session.get(Message, receipt.message_id).state is State.QUEUED
            holder.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": PURGE_LOCK})
            holder.commit()
    result = purge_job(hub)
    assert result is not None and result.expired == 1
    assert hub.mailbox.status(people.shv.id, message_id=receipt.message_id).state is (
        State.EXPIRED)


def test_scheduler_runs_the_purge_at_once_and_then_every_interval(engine, sessions, keyring,
                                                                 clock, people):
    settings = Settings(purge_interval=dt.timedelta(seconds=3600))
    hub = Hub.build(settings, engine=engine, keyring=keyring, clock=clock)
    receipt = send(hub.mailbox, people.shv, people.se, Module.SCHULDREGELING, "Kennisgeving")
    clock.set(receipt.deadline)
    jobs = scheduler.start(hub)
    try:
        job = jobs.get_job("purge")
        assert job.trigger.interval == dt.timedelta(hours=1)
        checkpoints = jobs.get_job("wal-checkpoint")
        if engine.dialect.name == "sqlite":  # PostgreSQL recycles its WAL itself
            assert checkpoints.trigger.interval == settings.wal_checkpoint_interval
        else:
            assert checkpoints is None
        deadline = time.monotonic() + 10
        while hub.mailbox.status(people.shv.id, message_id=receipt.message_id).state is not (
                State.EXPIRED):
            assert time.monotonic() < deadline, "the first purge did not run"
            time.sleep(0.05)
    finally:
        jobs.shutdown(wait=True)
