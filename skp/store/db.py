"""Engines, sessions and migrations for SQLite (embedded default) and PostgreSQL.

An engine never creates a SQLite file: a wrong path must not leave an empty database behind.
:func:`migrate` creates it (mode 0600, and so its WAL and shared-memory files) and
:func:`check_database` says what is wrong with a database a command is about to use.

SQLite keeps no deleted content behind: ``secure_delete`` overwrites what a delete frees, and
:func:`checkpoint` (after each purge and every ``SKP_WAL_CHECKPOINT_INTERVAL``) copies the WAL
into the database and truncates it, so the old versions of confirmed rows leave the WAL too.
Each new connection also narrows the database, WAL and shared-memory files to mode 0600.
"""

from __future__ import annotations

import os
import sqlite3
import time
import weakref
from pathlib import Path
from typing import Any
from urllib.parse import quote

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from psycopg import pq
from sqlalchemy import Engine, LargeBinary, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import (
    DatabaseError,
    DBAPIError,
    DisconnectionError,
    InterfaceError,
    OperationalError,
)
from sqlalchemy.orm import Session, sessionmaker

from skp.errors import ConfigError, Unavailable

MIGRATIONS = Path(__file__).parent / "migrations"
#: The isolation level of every transaction on PostgreSQL: the server's own default, which the
#: hub's statements (``FOR UPDATE``, ``SKIP LOCKED``, ``ON CONFLICT``) are written for.
ISOLATION = "READ COMMITTED"
#: How a PostgreSQL connection rests in the pool (:func:`make_engine`).
RESTING = "AUTOCOMMIT"
#: Seconds a pooled PostgreSQL connection may rest before it is checked with a round trip.
PING_AFTER = 1.0
_USED = "skp_used"


def is_sqlite(engine: Engine) -> bool:
    return engine.dialect.name == "sqlite"


def make_engine(url: str, **kwargs: Any) -> Engine:
    """An engine for ``url`` with the settings skp relies on.

    SQLite: WAL, foreign keys on, a busy timeout, and every writing transaction
    ``BEGIN IMMEDIATE`` so concurrent writers queue instead of failing on a lock upgrade.
    PostgreSQL: a connection that rested in the pool is checked before it is handed out, so a
    restarted server does not hand out dead connections (:func:`_ping_rested`), and ``bytea``
    results in binary format (:func:`_binary_bytea`). The pool's connections rest in
    autocommit, the mode of `skp.store.session.statements`, the calls of nearly every request,
    which then switch nothing; the engine returned takes them in :data:`ISOLATION`, as does
    `skp.store.session.transaction`, so ``engine.begin()`` is a transaction as usual.
    """
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        path = sqlite_path(parsed.database)
        if path is not None:
            kwargs.setdefault("creator", _opener(path))
        engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30},
                               **kwargs)
        event.listen(engine, "connect", _sqlite_connect)
        event.listen(engine, "begin", _sqlite_begin)
        return engine
    base = create_engine(url, isolation_level=RESTING, **kwargs)
    event.listen(base, "checkout", _ping_rested(base))
    event.listen(base, "checkin", _rested_from)
    if base.dialect.driver == "psycopg":
        event.listen(base, "before_cursor_execute", _binary_bytea)
    engine = base.execution_options(isolation_level=ISOLATION)
    _resting[engine] = base
    return engine


def resting(engine: Engine) -> Engine:
    """``engine`` with its connections as they rest in the pool: on PostgreSQL in autocommit
    (:func:`make_engine`), on SQLite ``engine`` itself. For `skp.store.session`, and for an
    event listener that is to see every statement (one on ``engine`` sees only those of
    connections taken from ``engine``)."""
    return _resting.get(engine, engine)


#: The engine of :func:`resting`, by the engine :func:`make_engine` returned for it.
_resting: weakref.WeakKeyDictionary[Engine, Engine] = weakref.WeakKeyDictionary()


def sqlite_path(database: str | None) -> Path | None:
    """The file of a SQLite URL's database part; None for an in-memory or URI database."""
    if not database or database == ":memory:" or database.startswith("file:"):
        return None
    return Path(database)


def _opener(path: Path) -> Any:
    """Connect to the SQLite file at ``path`` read-write, never creating it."""
    uri = f"file:{quote(str(path), safe='/')}?mode=rw"

    def connect() -> sqlite3.Connection:
        connection = sqlite3.connect(uri, uri=True, check_same_thread=False, timeout=30)
        private(path)
        return connection

    return connect


def _ping_rested(engine: Engine) -> Any:
    """A pool checkout hook: a connection that rested more than :data:`PING_AFTER` seconds
    gets a round trip first (what ``pool_pre_ping`` does before every checkout), and is
    replaced if the server does not answer. One used a moment ago is handed out as it is: a
    busy hub pays no round trip per request, and a connection that broke since then fails the
    request that uses it with ``Server.Unavailable``, and the pool renews every connection it
    opened before the failure (a server restart)."""
    dialect = engine.dialect

    def checkout(dbapi_connection: Any, record: Any, _proxy: Any) -> None:
        if time.monotonic() - record.info.get(_USED, 0.0) <= PING_AFTER:
            return
        try:
            dialect.do_ping(dbapi_connection)
        except dialect.loaded_dbapi.Error as exc:
            raise DisconnectionError("the pooled connection does not answer") from exc

    return checkout


def _rested_from(_dbapi_connection: Any, record: Any) -> None:
    """A pool checkin hook: when the connection was last used."""
    record.info[_USED] = time.monotonic()


def private(path: Path) -> None:
    """Narrow the SQLite database at ``path`` and its ``-wal``/``-shm`` files to mode 0600
    (a file made by an older version or a copy may be readable by others)."""
    for file in (path, path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")):
        try:
            if file.stat().st_mode & 0o077:
                file.chmod(0o600)
        except FileNotFoundError:
            continue


def checkpoint(engine: Engine) -> bool | None:
    """Move a SQLite database's WAL into the file and truncate the WAL to 0 bytes; True when
    it is done, False when a reader kept it from finishing (the next one will). None on
    PostgreSQL, whose WAL the server recycles itself (docs/operations.md)."""
    if not is_sqlite(engine):
        return None
    # On the driver's connection, outside any transaction (it runs in autocommit mode, and a
    # checkpoint cannot finish inside a transaction of its own connection).
    connection = engine.raw_connection()
    try:
        cursor = connection.cursor()
        cursor.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        row = cursor.fetchone()  # (busy, WAL frames, frames checkpointed)
        cursor.close()
    finally:
        connection.close()
    return row is not None and row[0] == 0


def _binary_bytea(_conn: Any, cursor: Any, _statement: str, _parameters: Any, context: Any,
                  _executemany: bool) -> None:
    """Have psycopg receive the results of a statement returning ``bytea`` in binary format.

    In text format a ``bytea`` value (a sealed message) arrives as hex, twice its size, and
    is decoded into a third copy. Only such statements switch: in binary format psycopg returns
    some catalogue types that reflection reads (``int2vector``) as raw bytes. Whether a
    statement returns any is decided once per compiled statement.
    """
    compiled = getattr(context, "compiled", None)
    if compiled is None:
        return
    binary = _returns_bytea.get(compiled)
    if binary is None:
        columns = getattr(compiled.statement, "exported_columns", ())  # a SELECT's, RETURNING's
        binary = _returns_bytea[compiled] = any(
            isinstance(column.type, LargeBinary) for column in columns)
    if binary:
        cursor.format = pq.Format.BINARY


#: Whether a compiled statement returns ``bytea`` (:func:`_binary_bytea`); compiled statements
#: live in the engine's cache, and leave this with it.
_returns_bytea: weakref.WeakKeyDictionary[Any, bool] = weakref.WeakKeyDictionary()


def _sqlite_connect(dbapi_connection: Any, _record: Any) -> None:
    dbapi_connection.isolation_level = None  # SQLAlchemy emits BEGIN itself (below)
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    # What a delete frees is overwritten with zeros, not left in free pages (builds differ).
    cursor.execute("PRAGMA secure_delete=ON")
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
    """Bring the database schema to ``revision`` (default: the newest), creating a SQLite file
    that does not exist yet."""
    path = sqlite_path(engine.url.database) if is_sqlite(engine) else None
    if path is not None and not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        # 0600 like the KEK file; SQLite gives its -wal and -shm files the same mode.
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
    command.upgrade(alembic_config(engine), revision)


def check_database(engine: Engine) -> None:
    """Raise what keeps skp from using this database: there is no such file, it cannot be
    reached (:class:`Unavailable`), it is no database, or it lacks the current schema."""
    where = engine.url.render_as_string(hide_password=True)
    path = sqlite_path(engine.url.database) if is_sqlite(engine) else None
    if path is not None and not path.is_file():
        raise ConfigError(f"there is no SQLite database at {path}: check SKP_DATABASE_URL, "
                          "or create the database with `skp migrate`")
    try:
        with engine.connect() as connection:
            current = MigrationContext.configure(connection).get_current_revision()
    except (OperationalError, InterfaceError) as exc:
        raise Unavailable(f"cannot use the database {where}: {reason(exc)}") from exc
    except DatabaseError as exc:
        raise ConfigError(f"{where} is not a database skp can use ({reason(exc)}): check "
                          "SKP_DATABASE_URL") from exc
    head = ScriptDirectory.from_config(alembic_config(engine)).get_current_head()
    if current is None:
        raise ConfigError(f"the database {where} has no skp schema: run `skp migrate`")
    if current != head:
        raise ConfigError(f"the database {where} has schema version {current}, this skp "
                          f"needs {head}: run `skp migrate`")


def reason(exc: DBAPIError) -> str:
    """The first line of the driver's message about a connection or file: where and why, never
    a statement or its parameters."""
    lines = str(exc.orig).strip().splitlines()
    return lines[0][:200] if lines else type(exc.orig).__name__
