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
from skp.store.db import ISOLATION, RESTING, resting

log = logging.getLogger(__name__)


#: Execution option that marks a transaction as read-only (see skp.store.db).
READ_ONLY = "skp_read_only"


@contextmanager
def transaction(sessions: sessionmaker[Session], *, read_only: bool = False) -> Iterator[Session]:
    """A session in a transaction: committed on success, rolled back on any error.

    ``read_only`` lets SQLite run it beside a writer instead of queueing for the write lock.

    Connection failures (server gone, connection killed, SQLite busy past its timeout) raise
    :class:`Unavailable`, which callers may retry. Its message says what is known: nothing was
    changed when the failure came before the COMMIT; when it came during the COMMIT of a
    writing transaction, the outcome is unknown (the repeat is safe: sends are idempotent by
    Kenmerk, fetches and confirms by nature).
    """
    engine: Engine = sessions.kw["bind"]
    progress = _Progress()
    with _outages(progress), _writing(engine, read_only), _connect(engine) as connection:
        options: dict[str, Any] = {READ_ONLY: read_only}
        if engine.dialect.name != "sqlite":  # the connection rests in autocommit
            options["isolation_level"] = ISOLATION
        connection.execution_options(**options)
        with sessions(bind=connection) as session, session.begin():
            yield session
            progress.uncertain = not read_only  # what follows is the COMMIT


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
    round trips for ``BEGIN`` and ``COMMIT``), so use it only where that is enough; the pool's
    connections rest in autocommit (skp.store.db), so nothing is switched for it. SQLite runs
    them in one transaction: deferred for reads, with the write lock for writes.
    """
    engine: Engine = sessions.kw["bind"]
    sqlite = engine.dialect.name == "sqlite"
    progress = _Progress()
    with _outages(progress), _writing(engine, read_only), _connect(engine) as connection:
        if sqlite:
            connection.execution_options(**{READ_ONLY: read_only})
        elif connection.get_execution_options().get("isolation_level", RESTING) != RESTING:
            connection.execution_options(isolation_level=RESTING)  # lent, after a transaction
        # On PostgreSQL each writing statement commits itself: once one runs, its outcome is
        # unknown if the connection breaks. SQLite commits them all at the end.
        progress.uncertain = not read_only and not sqlite
        with connection.begin():
            yield connection
            progress.uncertain = not read_only


class _Lender:
    """The connection `one_connection` lends: checked out of the pool when first asked for."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.connection: Connection | None = None


#: What `one_connection` lends to the calls inside it, in this thread.
_lent: ContextVar[_Lender | None] = ContextVar("skp_lent_connection", default=None)


@contextmanager
def one_connection(engine: Engine) -> Iterator[None]:
    """Let the `transaction` and `statements` calls inside share one pooled connection, one
    after the other.

    For a request: its identity lookup and its operation check the connection out of the
    pool once, and on PostgreSQL pay at most one round trip to check it (skp.store.db). A
    request that needs no database (a Ping of a caller whose identity its process kept) checks
    out none.
    """
    lender = _Lender(engine)
    token = _lent.set(lender)
    try:
        yield
    finally:
        _lent.reset(token)
        if lender.connection is not None:
            with _outages(_Progress()):
                lender.connection.close()


def _connect(engine: Engine) -> AbstractContextManager[Connection]:
    """The lent connection when there is one and it is free, else one from the pool; either
    as it rested there (skp.store.db.resting)."""
    lender = _lent.get()
    if lender is None or lender.engine is not engine:
        return resting(engine).connect()
    if lender.connection is None:
        lender.connection = resting(engine).connect()
    elif lender.connection.in_transaction():
        return resting(engine).connect()
    return nullcontext(lender.connection)


class _Progress:
    """How far a call got: ``uncertain`` once a change may have become durable (a COMMIT, or a
    writing statement in autocommit, was under way)."""

    uncertain = False


#: What Unavailable says when the change may or may not have been made.
UNKNOWN = ("the connection to the hub's database was lost while the change was being "
           "committed: the outcome is unknown; repeat the call (a send with the same Kenmerk): "
           "repeats are safe")
#: What it says when nothing was changed.
UNCHANGED = "the hub's database is unavailable; nothing was changed, retry later"


@contextmanager
def _outages(progress: _Progress) -> Iterator[None]:
    """Database outages as :class:`Unavailable`, saying whether anything may have changed."""
    try:
        yield
    except DBAPIError as exc:
        if not isinstance(exc, (OperationalError, InterfaceError)) and (
                not exc.connection_invalidated):
            raise
        log.warning("database unavailable: %s", type(exc.orig).__name__,
                    extra={"outcome_unknown": progress.uncertain})
        raise Unavailable(UNKNOWN if progress.uncertain else UNCHANGED) from exc
