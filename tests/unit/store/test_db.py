"""bytea results on PostgreSQL in binary format; the same bytes back on every backend."""

from __future__ import annotations

import pytest
from psycopg import pq
from sqlalchemy import Integer, LargeBinary, event, literal, select

DATA = bytes(range(256)) * 64


def test_binary_comes_back_byte_for_byte(engine):
    with engine.connect() as conn:
        assert conn.execute(select(literal(DATA, LargeBinary))).scalar_one() == DATA


@pytest.mark.postgres
def test_postgres_sends_bytea_results_in_binary_format(pg_engine):
    formats = []

    def record(conn, cursor, statement, parameters, context, executemany):
        formats.append(cursor.format)

    event.listen(pg_engine, "after_cursor_execute", record)
    try:
        with pg_engine.connect() as conn:
            assert conn.execute(select(literal(DATA, LargeBinary))).scalar_one() == DATA
            conn.execute(select(literal(1, Integer))).scalar_one()
    finally:
        event.remove(pg_engine, "after_cursor_execute", record)
    assert formats[-2:] == [pq.Format.BINARY, pq.Format.TEXT]  # hex text only for the rest
