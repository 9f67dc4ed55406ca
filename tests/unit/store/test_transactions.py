"""On SQLite, reads begin deferred and writes take the write lock at once."""

from __future__ import annotations

import threading
import time

import pytest
from sqlalchemy import event

from skp.domain.roles import Role
from skp.errors import AuthenticationError
from skp.participants import Participants
from skp.store.db import make_engine, make_sessions, migrate
from skp.store.session import transaction


def test_reads_do_not_queue_for_the_write_lock(tmp_path, clock):
    engine = make_engine(f"sqlite:///{tmp_path / 'hub.sqlite3'}")
    migrate(engine)
    begins = []
    event.listen(engine, "before_cursor_execute",
                 lambda conn, cursor, statement, *rest: begins.append(statement)
                 if statement.startswith("BEGIN") else None)
    participants = Participants(make_sessions(engine), clock)
    info = participants.add(name="SE", role=Role.SE)
    assert begins == ["BEGIN IMMEDIATE"]
    participants.get(info.id)
    participants.certificates()
    with pytest.raises(AuthenticationError):
        participants.identify("0" * 64)  # a Core connection, not a session
    assert begins == ["BEGIN IMMEDIATE", "BEGIN", "BEGIN", "BEGIN"]
    engine.dispose()


def test_sqlite_writers_of_one_process_take_turns(tmp_path):
    """A writer begins after the one before it committed: it waits on the process's own lock,
    not in SQLite's busy handler."""
    engine = make_engine(f"sqlite:///{tmp_path / 'hub.sqlite3'}")
    migrate(engine)
    sessions = make_sessions(engine)
    trace = []
    event.listen(engine, "before_cursor_execute",
                 lambda conn, cursor, statement, *rest: trace.append(
                     (threading.current_thread().name, statement.split()[0]))
                 if statement.startswith("BEGIN") else None)
    event.listen(engine, "commit", lambda conn: trace.append(
        (threading.current_thread().name, "COMMIT")))
    inside = threading.Event()

    def first():
        with transaction(sessions) as session:
            session.connection()
            inside.set()
            time.sleep(0.3)

    def second():
        inside.wait()
        with transaction(sessions) as session:
            session.connection()

    threads = [threading.Thread(target=f, name=f.__name__) for f in (first, second)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert trace == [("first", "BEGIN"), ("first", "COMMIT"),
                     ("second", "BEGIN"), ("second", "COMMIT")]
    with transaction(sessions) as writer, transaction(sessions, read_only=True) as reader:
        writer.connection()  # a reader inside a writer of the same thread does not wait
        reader.connection()
    engine.dispose()
