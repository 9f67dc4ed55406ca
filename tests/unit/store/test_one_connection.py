"""A request's calls share one pooled connection (`one_connection`), on both databases."""

from __future__ import annotations

import datetime as dt
import uuid

import pytest
from sqlalchemy import event, func, select, text

from skp.domain.roles import Role
from skp.store.db import resting
from skp.store.models import Participant
from skp.store.session import one_connection, statements, transaction


def test_the_calls_inside_check_out_one_connection(engine, sessions):
    checkouts, used = [], set()

    def checkout(dbapi_connection, *_):
        checkouts.append(dbapi_connection)

    event.listen(engine, "checkout", checkout)
    try:
        with one_connection(engine):
            with statements(sessions) as connection:
                used.add(id(connection.connection.dbapi_connection))
                connection.execute(text("SELECT 1"))
            with transaction(sessions) as session:
                used.add(id(session.connection().connection.dbapi_connection))
            with statements(sessions, read_only=False) as connection:
                used.add(id(connection.connection.dbapi_connection))
    finally:
        event.remove(engine, "checkout", checkout)
    assert len(checkouts) == 1
    assert len(used) == 1


def test_a_transaction_after_autocommit_statements_still_rolls_back(engine, sessions):
    """On PostgreSQL `statements` runs in autocommit; a `transaction` after it on the same
    connection must be a transaction again."""

    def count() -> int:
        with statements(sessions) as connection:
            return connection.scalar(select(func.count()).select_from(Participant)) or 0

    before = count()
    with one_connection(engine):
        count()
        with pytest.raises(RuntimeError), transaction(sessions) as session:
            session.add(Participant(id=str(uuid.uuid4()), name="rolled back", role=Role.SE,
                                    created_at=dt.datetime.now(dt.UTC)))
            session.flush()
            raise RuntimeError("undo")
    assert count() == before


def _participant(name: str) -> dict[str, object]:
    return {"id": str(uuid.uuid4()), "name": name, "search_name": name, "role": Role.SE,
            "created_at": dt.datetime.now(dt.UTC)}


def _exists(sessions, participant_id: str) -> bool:
    """Whether another connection sees the participant (what is committed)."""
    with statements(sessions) as connection:
        return connection.scalar(select(func.count()).select_from(Participant).where(
            Participant.id == participant_id)) == 1


def test_statements_after_a_transaction_on_the_same_connection_are_autocommitted(engine,
                                                                                 sessions):
    """`transaction` leaves the lent connection in its isolation level; the `statements` after
    it are back in autocommit on PostgreSQL: each commits itself. (SQLite runs them in one
    transaction.)"""
    row = _participant("committed by itself")
    with one_connection(engine):
        with transaction(sessions) as session:
            session.execute(select(func.count()).select_from(Participant))
        with statements(sessions, read_only=False) as connection:
            connection.execute(Participant.__table__.insert(), row)
            assert _exists(sessions, row["id"]) is (engine.dialect.name == "postgresql")
        assert _exists(sessions, row["id"])


def test_statements_switch_no_isolation_level(engine, sessions):
    """The pool's connections rest as `statements` needs them (skp.store.db): on PostgreSQL in
    autocommit, so a call sets nothing on its connection and none is reset when it is put
    back."""
    switched = []

    def record(_connection, options):
        switched.append(options)

    listened = resting(engine)
    event.listen(listened, "set_connection_execution_options", record)
    try:
        with one_connection(engine):
            with statements(sessions) as connection:
                connection.execute(text("SELECT 1"))
            with statements(sessions, read_only=False) as connection:
                connection.execute(text("SELECT 1"))
    finally:
        event.remove(listened, "set_connection_execution_options", record)
    assert not [options for options in switched if "isolation_level" in options]


def test_the_engine_itself_still_begins_transactions(engine, sessions):
    """Whoever uses the engine directly (migrations, the jobs' lock, scripts) gets transactions
    as usual, although its connections rest in autocommit."""
    row = _participant("rolled back")
    with pytest.raises(RuntimeError), engine.begin() as connection:
        connection.execute(Participant.__table__.insert(), row)
        raise RuntimeError("undo")
    assert not _exists(sessions, row["id"])
