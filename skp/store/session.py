"""One transaction per service call, with database outages turned into ``Unavailable``."""

from __future__ import annotations

import logging
import threading
import weakref
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager, nullcontext
from contextvars import ContextVar
from typing import Any

from sqlalchemy import Connection, Engine
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError
from sqlalchemy.orm import Session, sessionmaker

from skp.errors import Unavailable

log = logging.getLogger(__name__)


#: Execution option that marks a transaction as read-only (see skp.store.db).
READ_ONLY = "skp_read_only"


@contextmanager
def transaction(sessions: sessionmaker[Session], *, read_only: bool = False) -> Iterator[Session]:
    """A session in a transaction: committed on success, rolled back on any error.

    ``read_only`` lets SQLite run it beside a writer instead of queueing for the write lock.

    Connection failures (server gone, connection killed, SQLite busy past its timeout) raise
    :class:`Unavailable`, which callers may retry; nothing of the call was stored.
    """
    engine: Engine = sessions.kw["bind"]
    with _outages(), _writing(engine, read_only), _connect(engine) as connection:
        options: dict[str, Any] = {READ_ONLY: read_only}
        if engine.dialect.name != "sqlite":  # a shared connection may come from `statements`
            options["isolation_level"] = engine.dialect.default_isolation_level
        connection.execution_options(**options)
        with sessions(bind=connection) as session, session.begin():
            yield session


#: SQLite takes one writer at a time. Its busy handler lets a waiting writer sleep up to 100 ms
#: between tries however soon the lock is free, so the writers of one process queue on a lock
#: of their own instead, and each starts the moment the one before it is done.
_sqlite_writers: weakref.WeakKeyDictionary[Engine, threading.RLock] = weakref.WeakKeyDictionary()
_sqlite_writers_guard = threading.Lock()


def _writing(engine: Engine, read_only: bool) -> AbstractContextManager[Any]:
    if read_only or engine.dialect.name != "sqlite":
        return nullcontext()
    with _sqlite_writers_guard:
        return _sqlite_writers.setdefault(engine, threading.RLock())


@contextmanager
def statements(sessions: sessionmaker[Session], *, read_only: bool = True
               ) -> Iterator[Connection]:
    """A plain Core connection on which each statement stands on its own, with outages as in
    `transaction`.

    For the calls every request makes — the identity lookup, listings, one-statement updates —
    where an ORM session with its identity map costs more than the statement itself
    (docs/performance.md). On PostgreSQL each statement is its own transaction (autocommit: no
    round trips for ``BEGIN`` and ``COMMIT``), so use it only where that is enough. SQLite runs
    them in one transaction: deferred for reads, with the write lock for writes.
    """
    engine: Engine = sessions.kw["bind"]
    options = ({READ_ONLY: read_only} if engine.dialect.name == "sqlite"
               else {"isolation_level": "AUTOCOMMIT"})
    with (_outages(), _writing(engine, read_only), _connect(engine) as connection,
          connection.execution_options(**options).begin()):
        yield connection


#: The connection `one_connection` lends to the calls inside it, in this thread.
_lent: ContextVar[Connection | None] = ContextVar("skp_lent_connection", default=None)


@contextmanager
def one_connection(engine: Engine) -> Iterator[None]:
    """Let the `transaction` and `statements` calls inside share one pooled connection, one
    after the other.

    For a request: its identity lookup and its operation check the connection out of the
    pool once, and on PostgreSQL pay the pool's pre-ping round trip once (docs/performance.md).
    """
    with _outages(), engine.connect() as connection:
        token = _lent.set(connection)
        try:
            yield
        finally:
            _lent.reset(token)


def _connect(engine: Engine) -> AbstractContextManager[Connection]:
    """The lent connection when there is one and it is free, else one from the pool."""
    lent = _lent.get()
    if lent is None or lent.engine is not engine or lent.in_transaction():
        return engine.connect()
    return nullcontext(lent)


@contextmanager
def _outages() -> Iterator[None]:
    """Database outages as :class:`Unavailable`."""
    try:
        yield
    except (OperationalError, InterfaceError) as exc:
        log.warning("database unavailable: %s", type(exc.orig).__name__)
        raise Unavailable("the hub's database is unavailable; nothing was stored, "
                          "retry later") from exc
    except DBAPIError as exc:
        if exc.connection_invalidated:
            raise Unavailable("the connection to the hub's database was lost; nothing was "
                              "stored, retry later") from exc
        raise
