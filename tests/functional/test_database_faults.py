"""Database connections killed in the middle of a load (PostgreSQL): callers get
Unavailable, retries with the same Kenmerk succeed, nothing is stored twice or lost."""

from __future__ import annotations

import threading
import time
import uuid
from types import SimpleNamespace

import pytest
from sqlalchemy import event, func, select, text

from skp.config import Settings
from skp.domain.admission import Standing
from skp.domain.roles import Module, Role
from skp.errors import Unavailable
from skp.mailbox import Mailbox
from skp.participants import Participants
from skp.store.db import make_engine, make_sessions, migrate, resting
from skp.store.models import Message
from tests.helpers import empty, send

SENDERS, PER_SENDER = 4, 25


@pytest.fixture
def pg(pg_url, pg_engine, clock):
    """The PostgreSQL schema only (a server is needed to terminate connections), emptied
    afterwards; with a debt counsellor and a creditor."""
    migrate(pg_engine)
    participants = Participants(make_sessions(pg_engine), clock)
    people = SimpleNamespace(
        shv=participants.add(standing=Standing.ACTIVE,
                             name="SHV", role=Role.SHV_FASE2, modules=[Module.SCHULDREGELING]),
        se=participants.add(standing=Standing.ACTIVE,
                            name="SE", role=Role.SE, modules=[Module.SCHULDREGELING]))
    yield pg_engine, make_sessions(pg_engine), people
    empty(pg_engine)


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


@pytest.mark.postgres
def test_unavailable_says_what_is_known(pg, pg_url, keyring, clock):
    """A connection killed during the COMMIT of a send, or during a fetch's statement: the
    outcome is unknown and the fault says so; the repeat is safe. Before anything was
    sent to the database: nothing was changed."""
    engine, _, people = pg
    name = f"skp-commit-{uuid.uuid4().hex[:8]}"
    victim = make_engine(pg_url, connect_args={"application_name": name})
    mailbox = Mailbox(make_sessions(victim), keyring, Settings(), clock)
    armed: list[str] = []
    wrote: list[object] = []  # connections whose transaction stored a message

    def kill(connection):
        with engine.connect() as admin:
            admin.execute(text("SELECT pg_terminate_backend(:pid)"),
                          {"pid": connection.connection.dbapi_connection.info.backend_pid})
            admin.commit()

    def before_commit(connection):
        if "commit" in armed and connection in wrote:  # not the parties' read before it
            armed.remove("commit")
            wrote.clear()
            kill(connection)

    def before_statement(connection, _cursor, statement, *_):
        if statement.startswith("INSERT INTO message "):
            wrote.append(connection)
        for kind, prefix in (("insert", "INSERT INTO message "), ("fetch", "UPDATE message")):
            if kind in armed and statement.startswith(prefix):
                armed.remove(kind)
                kill(connection)

    def lost(call, kind):
        armed.append(kind)
        with pytest.raises(Unavailable) as refused:
            call()
        assert not armed
        assert "the outcome is unknown" in refused.value.message, kind
        assert "repeats are safe" in refused.value.message
        assert "nothing was" not in refused.value.message

    def count():
        with engine.connect() as conn:
            return conn.execute(select(func.count()).select_from(Message)).scalar()

    event.listen(resting(victim), "commit", before_commit)
    event.listen(resting(victim), "before_cursor_execute", before_statement)
    try:
        for code, kind in (("Saldoverzoek", "commit"), ("Kennisgeving", "insert")):
            def again(code=code):
                return send(mailbox, people.shv, people.se, Module.SCHULDREGELING, code,
                            kenmerk=f"K-{code}")
            lost(again, kind)
            receipt = again()  # the repeat: one message, whatever the first did
        assert count() == 2
        lost(lambda: mailbox.fetch(people.se.id, receipt.message_id), "fetch")
        assert mailbox.fetch(people.se.id, receipt.message_id).info.id == receipt.message_id
    finally:
        victim.dispose()

    down = make_engine("postgresql+psycopg://postgres@127.0.0.1:9/test",
                       connect_args={"connect_timeout": 2})
    try:
        with pytest.raises(Unavailable) as refused:
            send(Mailbox(make_sessions(down), keyring, Settings(), clock), people.shv,
                 people.se, Module.SCHULDREGELING, "Kennisgeving")
        assert refused.value.message == ("the hub's database is unavailable; nothing was "
                                         "changed, retry later")
    finally:
        down.dispose()
