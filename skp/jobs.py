"""Scheduled jobs as plain functions; skp/scheduler.py wires them to APScheduler.

The purge deletes what the mailbox no longer may keep (skp.mailbox.purge) and the portal's
sessions that have ended (skp.portal.sessions) and the records of old CSV downloads
(skp.csvexchange), then turns the key epochs (skp.keystore.epochs:
a new KEK when the epoch is over, old ones destroyed) and checkpoints SQLite's WAL, so that
what it deleted leaves the WAL at once. :func:`checkpoint_job` checkpoints between purges too.
The notifications decide and send the units' e-mails (skp.notifications); the acceptance
job advances the running acceptance runs (skp.acceptance.runner).

Each job runs in one place at a time, its leader: with several hub processes on PostgreSQL the
job takes a PostgreSQL advisory lock of its own and skips its turn when another process holds
it. SQLite is the single-process embedded setup; there a lock of the process does the same.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Callable
from typing import TypeVar

from sqlalchemy import text

from skp.csvexchange.downloads import forget
from skp.hub import Hub
from skp.keystore import KeyStore, epochs
from skp.mailbox import PurgeResult
from skp.notifications import Notifier, RunResult
from skp.portal.sessions import end_stale
from skp.store.db import checkpoint

log = logging.getLogger(__name__)

T = TypeVar("T")

#: The advisory lock key of the purge ("skp-purge" in the hub's lock space).
PURGE_LOCK = 0x736B70_01
#: The advisory lock key of the notifications.
NOTIFY_LOCK = 0x736B70_02
#: The advisory lock key of the acceptance runner: one leader drives the runs.
ACCEPTANCE_LOCK = 0x736B70_03

_local_locks = {key: threading.Lock() for key in (PURGE_LOCK, NOTIFY_LOCK, ACCEPTANCE_LOCK)}


def purge_job(hub: Hub) -> PurgeResult | None:
    """Run one purge; None when another process is purging right now."""
    return _as_leader(hub, PURGE_LOCK, "purge", lambda: _purge(hub))


def notify_job(hub: Hub, notifier: Notifier) -> RunResult | None:
    """Decide and send the notifications; None when another process is doing so right now."""
    return _as_leader(hub, NOTIFY_LOCK, "notifications", notifier.run)


def acceptance_job(hub: Hub) -> int | None:
    """Advance the running acceptance runs once (skp.acceptance.runner); the number still
    running, None when another process leads them right now."""
    return _as_leader(hub, ACCEPTANCE_LOCK, "acceptance", hub.acceptance.runner.tick)


def _as_leader(hub: Hub, key: int, name: str, body: Callable[[], T]) -> T | None:
    """``body()`` while holding the job's lock; None, without running it, when it is taken."""
    if hub.engine.dialect.name != "postgresql":
        lock = _local_locks[key]
        if not lock.acquire(blocking=False):
            log.info("%s skipped: another run holds the lock", name, extra={"pid": os.getpid()})
            return None
        try:
            return body()
        finally:
            lock.release()
    with hub.engine.connect() as conn:
        if not conn.execute(text("SELECT pg_try_advisory_lock(:key)"), {"key": key}).scalar():
            conn.rollback()
            log.info("%s skipped: another process holds the lock", name,
                     extra={"pid": os.getpid()})
            return None
        try:
            return body()
        finally:
            conn.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": key})
            conn.commit()


def _purge(hub: Hub) -> PurgeResult:
    log.info("purge started", extra={"pid": os.getpid()})
    result = hub.mailbox.purge()
    now = hub.clock.now()
    ended = end_stale(hub.sessions, now)  # the portal's
    downloads = forget(hub.sessions, now, hub.settings.metadata_retention)
    log.info("purge finished", extra={"pid": os.getpid(), "expired": result.expired,
                                      "contexts": result.contexts,
                                      "metadata": result.metadata, "portal_sessions": ended,
                                      "csv_downloads": downloads})
    if isinstance(hub.keyring, KeyStore):  # a bare KeyRing has no epochs to turn
        epochs.turn(hub.keyring, hub.sessions, hub.settings, now)
    checkpoint_job(hub)
    return result


def checkpoint_job(hub: Hub) -> bool | None:
    """Checkpoint SQLite's WAL into the database file and truncate it (skp.store.db)."""
    done = checkpoint(hub.engine)
    if done is False:
        log.warning("WAL checkpoint incomplete: a reader held it; the next one finishes it")
    return done
