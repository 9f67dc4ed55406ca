"""Two `skp serve` processes on one PostgreSQL: the purge runs in one at a time, and once
the deadlines have passed the content is gone and the metadata says expired."""

from __future__ import annotations

import datetime as dt
import itertools
import json
import os
import time

from sqlalchemy import select, text

from skp import pki
from skp.clock import FrozenClock
from skp.config import Settings
from skp.domain.admission import Standing
from skp.domain.lifecycle import State
from skp.domain.roles import ROLE_MODULES, Module, Role
from skp.hub import Hub
from skp.jobs import PURGE_LOCK
from skp.keystore import file as keyfile
from skp.store.db import migrate
from skp.store.models import Message
from tests.helpers import empty, send, wait_until
from tests.system.serving import servers

COUNT = 20


def states(engine):
    with engine.connect() as conn:
        rows = conn.execute(select(Message.state, Message.ciphertext)).all()
    return [(state, ciphertext is None) for state, ciphertext in rows]


def records(log_file):
    lines = log_file.read_text().splitlines()
    return [json.loads(line) for line in lines if line.startswith("{")]


def test_two_servers_share_one_purge(pg_url, pg_engine, tmp_path):
    migrate(pg_engine)
    kek = tmp_path / "kek.json"
    ring = keyfile.create_keyring_file(kek)
    pki.init_dev(tmp_path / "certs")
    # Messages received ten days ago: their four working days are over by now.
    past = FrozenClock(dt.datetime.now(dt.UTC) - dt.timedelta(days=10))
    hub = Hub.build(Settings(), engine=pg_engine, keyring=ring, clock=past)
    shv = hub.participants.add(standing=Standing.ACTIVE, name="SHV", role=Role.SHV_FASE2,
                               modules=ROLE_MODULES[Role.SHV_FASE2])
    se = hub.participants.add(standing=Standing.ACTIVE,
                              name="SE", role=Role.SE, modules=ROLE_MODULES[Role.SE])
    for _ in range(COUNT):
        send(hub.mailbox, shv, se, Module.SCHULDREGELING, "Kennisgeving")

    env = {**os.environ, "SKP_ENVIRONMENT": "production", "SKP_DATABASE_URL": pg_url,
           "SKP_KEK_FILE": str(kek), "SKP_PURGE_INTERVAL": "1",
           "SKP_TLS_CERT": str(tmp_path / "certs/server.pem"),
           "SKP_TLS_KEY": str(tmp_path / "certs/server.key"),
           "SKP_TLS_CLIENT_CA": str(tmp_path / "certs/ca.pem")}
    holder = pg_engine.connect()
    holder.execute(text("SELECT pg_advisory_lock(:key)"), {"key": PURGE_LOCK})
    try:
        with servers(env, tmp_path) as logs:
            # While someone else holds the lock, neither server purges.
            wait_until(lambda: all(any(r["message"].startswith("purge skipped")
                                       for r in records(log)) for log in logs), 60, "skips")
            assert states(pg_engine) == [(State.QUEUED, False)] * COUNT

            holder.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": PURGE_LOCK})
            holder.commit()
            wait_until(lambda: states(pg_engine) == [(State.EXPIRED, True)] * COUNT, 30,
                       "the purge")
            time.sleep(2)  # a few more rounds in both processes
    finally:
        holder.close()

    runs = []
    for log in logs:
        started = None
        for record in records(log):
            if record["message"] == "purge started":
                started = record["timestamp"]
            elif record["message"] == "purge finished":
                runs.append((started, record["timestamp"], record["expired"]))
    assert sum(expired for *_, expired in runs) == COUNT
    runs.sort()
    for (_, end, _), (start, _, _) in itertools.pairwise(runs):
        assert end <= start, "two purges overlapped"
    empty(pg_engine)  # leave the shared database empty
