"""Engines, sessions and migrations for SQLite (embedded default) and PostgreSQL."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from psycopg import pq
from sqlalchemy import Engine, LargeBinary, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker

MIGRATIONS = Path(__file__).parent / "migrations"


def is_sqlite(engine: Engine) -> bool:
    return engine.dialect.name == "sqlite"


def make_engine(url: str, **kwargs: Any) -> Engine:
    """An engine for ``url`` with the settings skp relies on.

    SQLite: WAL, foreign keys on, a busy timeout, and every writing transaction
    ``BEGIN IMMEDIATE`` so concurrent writers queue instead of failing on a lock upgrade.
    PostgreSQL: pre-ping so a restarted server does not hand out dead connections, and
    ``bytea`` results in binary format (:func:`_binary_bytea`).
    """
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30},
                               **kwargs)
        event.listen(engine, "connect", _sqlite_connect)
        event.listen(engine, "begin", _sqlite_begin)
        return engine
    engine = create_engine(url, pool_pre_ping=True, **kwargs)
    if engine.dialect.driver == "psycopg":
        event.listen(engine, "before_cursor_execute", _binary_bytea)
    return engine


def _binary_bytea(_conn: Any, cursor: Any, _statement: str, _parameters: Any, context: Any,
                  _executemany: bool) -> None:
    """Have psycopg receive the results of a statement returning ``bytea`` in binary format.

    In text format a ``bytea`` value (a sealed message) arrives as hex, twice its size, and
    is decoded into a third copy. Only such statements switch: in binary format psycopg returns
    some catalogue types that reflection reads (``int2vector``) as raw bytes.
    """
    statement = getattr(getattr(context, "compiled", None), "statement", None)
    columns = getattr(statement, "exported_columns", ())  # a SELECT's or RETURNING's
    if any(isinstance(column.type, LargeBinary) for column in columns):
        cursor.format = pq.Format.BINARY


def _sqlite_connect(dbapi_connection: Any, _record: Any) -> None:
    dbapi_connection.isolation_level = None  # SQLAlchemy emits BEGIN itself (below)
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


def _sqlite_begin(connection: Any) -> None:
    # A writer takes the write lock at once, so concurrent writers queue instead of failing
    # on a lock upgrade; a read-only transaction (skp.store.session) need not wait for it.
    read_only = connection.get_execution_options().get("skp_read_only", False)
    connection.exec_driver_sql("BEGIN" if read_only else "BEGIN IMMEDIATE")


def make_sessions(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(engine, expire_on_commit=False)


def alembic_config(engine: Engine) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["engine"] = engine
    return config


def migrate(engine: Engine, revision: str = "head") -> None:
    """Bring the database schema to ``revision`` (default: the newest)."""
    command.upgrade(alembic_config(engine), revision)
