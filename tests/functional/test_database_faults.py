"""Database connections killed in the middle of a load (PostgreSQL): callers get
Unavailable, retries with the same Kenmerk succeed, nothing is stored twice or lost."""

from __future__ import annotations

import threading
import time
import uuid
from types import SimpleNamespace

import pytest
from sqlalchemy import func, select, text

from skp.config import Settings
from skp.domain.roles import Module, Role
from skp.errors import Unavailable
from skp.mailbox import Mailbox
from skp.participants import Participants
from skp.store.db import make_engine, make_sessions, migrate
from skp.store.models import Base, Message
from tests.helpers import send

SENDERS, PER_SENDER = 4, 25


@pytest.fixture
def pg(pg_url, pg_engine, clock):
    """The PostgreSQL schema only (a server is needed to terminate connections), emptied
    afterwards; with a debt counsellor and a creditor."""
    migrate(pg_engine)
    participants = Participants(make_sessions(pg_engine), clock)
    people = SimpleNamespace(
        shv=participants.add(name="SHV", role=Role.SHV_FASE2, modules=[Module.SCHULDREGELING]),
        se=participants.add(name="SE", role=Role.SE, modules=[Module.SCHULDREGELING]))
    yield pg_engine, make_sessions(pg_engine), people
    with pg_engine.begin() as conn:
        for table in reversed(Base.metadata.sorted_tables):
            conn.execute(table.delete())


@pytest.mark.postgres
def test_terminated_connections_lose_and_duplicate_nothing(pg, pg_url, keyring, clock):
    engine, sessions, people = pg
    name = f"skp-kill-{uuid.uuid4().hex[:8]}"
    victim = make_engine(pg_url, connect_args={"application_name": name},
                         pool_size=SENDERS, max_overflow=0)
    mailbox = Mailbox(make_sessions(victim), keyring, Settings(), clock)
    unavailable, receipts, errors = [], {}, []
    stop = threading.Event()

    def killer():
        with engine.connect() as admin:
            while not stop.wait(0.05):
                admin.execute(text("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                                   "WHERE application_name = :name"), {"name": name})
                admin.commit()

    def sender(n):
        for i in range(PER_SENDER):
            kenmerk = f"KILL-{n}-{i}"
            for _attempt in range(50):  # a client retries with the same Kenmerk
                try:
                    receipts[kenmerk] = send(mailbox, people.shv, people.se,
                                             Module.SCHULDREGELING, "Kennisgeving",
                                             kenmerk=kenmerk).message_id
                    break
                except Unavailable:
                    unavailable.append(kenmerk)
                    time.sleep(0.01)
                except Exception as exc:  # anything else is a failure of the test
                    errors.append(exc)
                    return

    threads = [threading.Thread(target=killer)]
    threads += [threading.Thread(target=sender, args=(n,)) for n in range(SENDERS)]
    for thread in threads:
        thread.start()
    for thread in threads[1:]:
        thread.join()
    stop.set()
    threads[0].join()
    victim.dispose()

    assert not errors, errors
    assert unavailable, "no connection was terminated: the test proved nothing"
    assert len(receipts) == SENDERS * PER_SENDER
    with sessions() as session:
        stored = dict(session.execute(select(Message.kenmerk, Message.id)).all())
        assert session.scalar(select(func.count()).select_from(Message)) == len(receipts)
    assert stored == receipts  # every receipt is a stored message, each stored once
    # Every message is deliverable, exactly once confirmed.
    mailbox_ok = Mailbox(sessions, keyring, Settings(), clock)
    confirmed = set()
    while (delivery := mailbox_ok.fetch_next(people.se.id, Module.SCHULDREGELING)) is not None:
        mailbox_ok.confirm(people.se.id, delivery.info.id)
        confirmed.add(delivery.info.id)
    assert confirmed == set(receipts.values())
