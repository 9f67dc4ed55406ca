"""Callers' identities, kept by a server process for as long as the register is unchanged.

Every request is identified by its client certificate (skp.participants), and every send
reads its sender and recipient. A server process keeps what it looked up (identities by
fingerprint, participants by id) and uses it only while it knows that the participant
register has not changed since:

- The database counts every change to ``participant``, ``participant_module`` and
  ``certificate`` in ``register_version``, by triggers of its own (migration 0009): whoever
  makes the change, through skp or by hand.
- Each server process reads that count every ``POLL`` seconds on a thread of its own and
  forgets all it kept when the count has moved. A change made through this process's own
  sessions is forgotten at its commit (skp.participants).
- Each process holds a lease, its row in ``identity_lease``: the count it has applied, renewed
  every ``RENEW`` seconds, and only while that count is still the database's. It uses what it
  kept only for ``LEASE`` seconds after the last renewal, so a process that cannot reach the
  database, or whose thread has stopped, soon asks the database on every request again.
- A command that changes the register (``skp certs revoke``, ``skp participants deactivate``,
  ...) waits after its commit until every process with a current lease has applied the change
  (:meth:`Identities.in_force`): usually within ``POLL`` seconds, never much longer than
  ``LEASE``. Once it returns, no process lets in what it took away.

What changes with time alone (a certificate's validity, a revocation dated later) is checked
on every request against what was kept. Only registered certificates are kept, so what a
process keeps is bounded by the register.
"""

from __future__ import annotations

import logging
import math
import threading
import time
import uuid
from typing import Any, Generic, TypeVar

from sqlalchemy import Double, Executable, delete, func, literal, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.sql.expression import FunctionElement

from skp.errors import SkpError
from skp.store.models import IdentityLease, RegisterVersion
from skp.store.session import statements

log = logging.getLogger(__name__)

#: Seconds between two readings of the register's version.
POLL = 0.1
#: Seconds between two renewals of a lease.
RENEW = 1.0
#: Seconds a lease lasts after its renewal.
LEASE = 5.0

T = TypeVar("T")


class Now(FunctionElement[float]):
    """The database's clock, in seconds since 1970: one clock for every process's lease."""

    type = Double()
    inherit_cache = True


@compiles(Now)
def _now_postgresql(element: Any, compiler: Any, **kw: Any) -> str:
    return "CAST(EXTRACT(EPOCH FROM clock_timestamp()) AS DOUBLE PRECISION)"


@compiles(Now, "sqlite")
def _now_sqlite(element: Any, compiler: Any, **kw: Any) -> str:
    return "((julianday('now') - 2440587.5) * 86400.0)"


_VERSION = select(RegisterVersion.version)


class Identities:
    """What a process keeps of the register, in :class:`Kept` stores of its own, used while
    its lease is current and forgotten at every change."""

    def __init__(self, sessions: sessionmaker[Session]) -> None:
        self._sessions = sessions
        self._stores: list[Kept[Any]] = []
        #: Moves each time all is forgotten: a lookup begun before may not be kept.
        self._generation = 0
        self._lock = threading.Lock()
        self._version: int | None = None  # of the register, as last read
        #: When the lease was last renewed (time.monotonic()): never yet, nothing is used.
        self._renewed = -math.inf
        self._process = uuid.uuid4().hex
        self._stopped = threading.Event()
        self._thread: threading.Thread | None = None
        self._failing = False

    def kept(self) -> Kept[T]:
        """A new store of one kind of lookup (callers' certificates, participants by id)."""
        store: Kept[T] = Kept(self)
        self._stores.append(store)
        return store

    def current(self) -> bool:
        """Whether the lease is current: what is kept may be used."""
        return time.monotonic() < self._renewed + LEASE

    def generation(self) -> int:
        """Read before a lookup, and given to :meth:`Kept.keep` with its result."""
        return self._generation

    def forget(self) -> None:
        """Forget all that was kept: the register has changed."""
        with self._lock:
            self._generation += 1
            for store in self._stores:
                store._items = {}

    def start(self) -> None:
        """Start watching the register (a server process): from the first renewed lease on,
        lookups are kept."""
        self._stopped.clear()
        self._thread = threading.Thread(target=self._watch, name="skp-identities",
                                        daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Stop keeping, and give the lease back."""
        thread, self._thread = self._thread, None
        if thread is None:
            return
        self._stopped.set()
        thread.join()
        self._renewed = -math.inf
        self.forget()
        try:
            with statements(self._sessions, read_only=False) as connection:
                connection.execute(delete(IdentityLease).where(
                    IdentityLease.process == self._process))
        except SkpError:
            pass  # the lease ends by itself

    def in_force(self, *, timeout: float | None = None) -> int:
        """Wait until every process with a current lease has applied the register as it is
        now; the number of processes that had not yet when ``timeout`` (a lease and a second)
        passed (0: all had)."""
        deadline = time.monotonic() + (LEASE + 1.0 if timeout is None else timeout)
        with statements(self._sessions) as connection:
            version = connection.execute(_VERSION).scalar_one()
        behind = (select(func.count()).select_from(IdentityLease)
                  .where(IdentityLease.version < version,
                         IdentityLease.renewed_at > Now() - LEASE))
        while True:
            with statements(self._sessions) as connection:
                waiting: int = connection.execute(behind).scalar_one()
            if not waiting or time.monotonic() >= deadline:
                return waiting
            time.sleep(POLL / 4)

    def _watch(self) -> None:
        ended = False  # the leases of processes long gone: deleted once
        while not self._stopped.is_set():
            try:
                if not ended:
                    with statements(self._sessions, read_only=False) as connection:
                        connection.execute(delete(IdentityLease).where(
                            IdentityLease.renewed_at < Now() - LEASE))
                    ended = True
                self._tick()
                if self._failing:
                    log.info("the register is watched again: identities are kept")
                self._failing = False
            except Exception as exc:
                if not self._failing:
                    log.warning("the register cannot be watched (%s): identities are looked "
                                "up on every request until it can", type(exc).__name__)
                self._failing = True
            self._stopped.wait(POLL)

    def _tick(self) -> None:
        with statements(self._sessions) as connection:
            version = connection.execute(_VERSION).scalar_one()
        if version != self._version:  # nothing kept is used until the lease is renewed
            self.forget()
            self._version, self._renewed = version, -math.inf
        if time.monotonic() - self._renewed < RENEW:
            return
        began = time.monotonic()
        with statements(self._sessions, read_only=False) as connection:
            renewed = connection.execute(self._renewal(version)).first() is not None
        if renewed:  # else the register moved meanwhile: the next tick forgets first
            self._renewed = began

    def _renewal(self, version: int) -> Executable:
        """Renew the lease, with the version applied, only if it is still the register's."""
        insert = (postgresql.insert if self._sessions.kw["bind"].dialect.name == "postgresql"
                  else sqlite.insert)(IdentityLease)
        current = select(literal(self._process), RegisterVersion.version, Now()).where(
            RegisterVersion.version == version)
        statement = insert.from_select(["process", "version", "renewed_at"], current)
        return statement.on_conflict_do_update(
            index_elements=[IdentityLease.process],
            set_={"version": statement.excluded.version,
                  "renewed_at": statement.excluded.renewed_at}).returning(IdentityLease.version)


class Kept(Generic[T]):
    """One kind of lookup a process keeps, by key (:meth:`Identities.kept`)."""

    def __init__(self, identities: Identities) -> None:
        self._identities = identities
        self._items: dict[str, T] = {}

    def get(self, key: str) -> T | None:
        """What was kept for ``key``, if the lease is current."""
        return self._items.get(key) if self._identities.current() else None

    def keep(self, key: str, found: T, generation: int) -> None:
        """Keep a lookup's result, unless all was forgotten since it began
        (:meth:`Identities.generation`) or the register is not watched."""
        identities = self._identities
        with identities._lock:
            if generation == identities._generation and identities._thread is not None:
                self._items[key] = found
