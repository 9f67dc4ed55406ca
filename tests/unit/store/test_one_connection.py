"""A request's calls share one pooled connection (`one_connection`), on both databases."""

from __future__ import annotations

import datetime as dt
import uuid

import pytest
from sqlalchemy import event, func, select, text

from skp.domain.roles import Role
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
