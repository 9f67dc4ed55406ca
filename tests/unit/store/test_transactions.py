"""On SQLite, reads begin deferred and writes take the write lock at once."""

from __future__ import annotations

import pytest
from sqlalchemy import event

from skp.domain.roles import Role
from skp.errors import AuthenticationError
from skp.participants import Participants
from skp.store.db import make_engine, make_sessions, migrate


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
